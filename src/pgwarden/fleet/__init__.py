"""Run a per-database command over many databases: parallel, bounded, resumable, in waves."""
