"""Batched, resumable data changes (keyset backfills) that keep every transaction short."""
