"""Partition management: naming and bounds, DDL, maintenance, online conversion, advice.

Modules: :mod:`naming` (periods, deterministic names, retention arithmetic),
:mod:`inspect` (catalog reads), :mod:`ddl` (statement builders and lock-bounded
execution), :mod:`create` (``partition create``), :mod:`maintain`
(``partition maintain``), :mod:`archive` (pg_dump of one partition),
:mod:`capture` and :mod:`convert` (``partition convert``), :mod:`advise`.
Import the submodule you need; this package imports nothing heavy.
"""
