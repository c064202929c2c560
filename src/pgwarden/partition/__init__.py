"""Partition management: naming and bounds, DDL, maintenance, online conversion, advice, partitions as code.

The commands are the typed functions of :mod:`api` (the one entry point). Modules:
:mod:`qualified` (``schema.table``), :mod:`spec` (``[[partitions]]`` -> layouts), :mod:`settings`
(``[partition]``), :mod:`target` (which database), :mod:`naming` (periods, deterministic names,
retention arithmetic), :mod:`inspect` (catalog reads), :mod:`ddl` (statement builders, lock-bounded
execution), :mod:`create`, :mod:`maintain`, :mod:`capture` + :mod:`conversions` + :mod:`convert`
(online conversion), :mod:`advise`, :mod:`directive` + :mod:`migration` (the ``partition-convert``
migration step and the files that carry it). This package imports nothing heavy.
"""
