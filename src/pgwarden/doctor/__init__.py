"""Health checks and tuning advice: ``pgwarden doctor``, ``pgwarden tune``, ``pgwarden metrics``.

Modules: :mod:`thresholds` (named limits and their defaults), :mod:`registry` (check registration,
SQL files under ``sql/``), :mod:`checks` (one small function per check), :mod:`runner` (concurrent
run, report), :mod:`tune` (pgtune formulas) and :mod:`machine` (RAM and CPUs, cgroup aware),
:mod:`metrics` (Prometheus text). Import the submodule you need; this package imports nothing heavy.
"""
