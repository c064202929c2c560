"""``pgwarden tune``: recommended server settings with the formula behind each (pgtune).

The formulas are pinned to one version: **pgtune's 2026 formulas** (le0pard/pgtune,
``src/features/configuration/configurationSlice.js`` at commit 01bb644, PostgreSQL 18, Linux), the
revision that added the 4 MB work_mem floor, ``(connections + worker processes) x 3`` as the work_mem
divisor, ``jit = off`` for web/oltp/mixed, ``wal_compression = lz4``, ``huge_pages`` and the NVMe
storage type. Every figure below is integer kB arithmetic exactly as pgtune does it, so results can
be compared with pgtune.leopard.in.ua set to "PostgreSQL 18, Linux".

Guarantees: :func:`recommend` is pure (no database, no machine access); :func:`tune` reads the
machine (cgroup aware, see :mod:`pgwarden.doctor.machine`) only for figures not given, and with an
environment compares with the live ``pg_settings`` and writes the ``ALTER SYSTEM`` commands for the
settings that differ (nothing is executed).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from pgwarden.config import Config

FORMULAS = "pgtune 2026 formulas (le0pard/pgtune configurationSlice.js at commit 01bb644; PostgreSQL 18, Linux)"
Workload = Literal["web", "oltp", "dw", "mixed", "desktop"]
Storage = Literal["ssd", "hdd", "san", "nvme"]
WORKLOADS: tuple[str, ...] = ("web", "oltp", "dw", "mixed", "desktop")
STORAGES: tuple[str, ...] = ("ssd", "hdd", "san", "nvme")

KB = 1
MB = 1024
GB = 1024 * 1024
DEFAULT_CONNECTIONS = {"web": 200, "oltp": 300, "dw": 40, "desktop": 20, "mixed": 100}
DEFAULT_MAX_WORKER_PROCESSES = 8  # PostgreSQL's default, used by the work_mem divisor below 4 CPUs

# A widely copied hand-tuned postgresql.conf "for 4GB RAM" (the figures teams start from).
HAND_TUNED_4GB: dict[str, str] = {
    "max_connections": "100",
    "shared_buffers": "1GB",
    "effective_cache_size": "3GB",
    "work_mem": "16MB",
    "maintenance_work_mem": "256MB",
    "wal_buffers": "64MB",
    "checkpoint_completion_target": "0.9",
    "max_wal_size": "2GB",
    "min_wal_size": "1GB",
    "random_page_cost": "1.1",
    "effective_io_concurrency": "200",
}
# Why pgwarden's 4 GB / web / ssd result differs from the hand-tuned 4GB config, setting by setting.
HAND_TUNED_DIFFERENCES: dict[str, str] = {
    "max_connections": "pgtune sizes a web workload for 200 connections; the hand-tuned config for 100. "
    "Run with --connections 100 to size for 100 (work_mem becomes 9709kB).",
    "work_mem": "the hand-tuned 16MB ignores concurrency: 100 connections x 3 sorts/hashes x 16MB = 4.7 GB, more "
    "than the machine's 4 GB. pgtune divides what shared_buffers leaves by (connections + worker "
    "processes) x 3.",
    "wal_buffers": "3% of shared_buffers capped at one 16MB WAL segment, which is also what PostgreSQL's own "
    "auto-tuning (wal_buffers = -1) gives; the hand-tuned 64MB helps only with very heavy "
    "concurrent writes and costs shared memory.",
    "max_wal_size": "pgtune 2026 uses 4GB for web: fewer forced checkpoints during write bursts, at the cost "
    "of up to 4GB of pg_wal on disk; the hand-tuned 2GB trades more checkpoints for less disk.",
}


@dataclass
class Setting:
    """One recommended setting: value as PostgreSQL writes it, the formula, the hand-tuned 4GB figure."""

    name: str
    value: str
    formula: str
    hand_tuned: str | None = None
    note: str | None = None
    live: str | None = None
    differs: bool | None = None
    restart: bool = False


@dataclass
class TuneResult:
    """Recommendations for a machine and workload; with ``env``, the diff against the live server."""

    formulas: str
    ram_bytes: int
    cpus: int
    storage: str
    workload: str
    connections: int
    machine: list[str]
    settings: list[Setting]
    env: str | None = None
    alter_system: list[str] = field(default_factory=list)
    assumed: list[str] = field(default_factory=list)
    """Profile values not given and assumed (``storage ssd``, ``workload web``), with the option to change each."""
    restart_needed: list[str] = field(default_factory=list)


def format_kb(value: int) -> str:
    """A kB figure as pgtune writes it: GB or MB when it divides exactly, else kB."""
    if value % GB == 0:
        return f"{value // GB}GB"
    if value % MB == 0:
        return f"{value // MB}MB"
    return f"{value}kB"


def _parallel(cpus: int, workload: str) -> list[tuple[str, int, str]]:
    if cpus < 4:
        return []
    per_gather = math.ceil(cpus / 2)
    if workload != "dw":
        per_gather = min(per_gather, 4)
    maintenance = min(math.ceil(cpus / 2), 4)
    return [
        ("max_worker_processes", cpus, "CPUs"),
        ("max_parallel_workers_per_gather", per_gather, "ceil(CPUs / 2)" + ("" if workload == "dw" else ", at most 4")),
        ("max_parallel_workers", cpus, "CPUs"),
        ("max_parallel_maintenance_workers", maintenance, "ceil(CPUs / 2), at most 4"),
    ]


def recommend(
    ram_bytes: int, cpus: int, *, storage: str = "ssd", workload: str = "web", connections: int | None = None
) -> list[Setting]:
    """The settings pgtune's pinned formulas give for this machine and workload (pure arithmetic)."""
    if workload not in WORKLOADS:
        raise ValueError(f"workload must be one of {', '.join(WORKLOADS)}")
    if storage not in STORAGES:
        raise ValueError(f"storage must be one of {', '.join(STORAGES)}")
    ram_kb = ram_bytes // 1024
    conns = connections or DEFAULT_CONNECTIONS[workload]
    out: list[Setting] = []

    def add(name: str, value: str, formula: str, *, restart: bool = False) -> None:
        out.append(Setting(name, value, formula, restart=restart))

    add(
        "max_connections",
        str(conns),
        "--connections" if connections else f"pgtune default for {workload} ({DEFAULT_CONNECTIONS[workload]})",
        restart=True,
    )
    shared = ram_kb // 16 if workload == "desktop" else ram_kb // 4
    add("shared_buffers", format_kb(shared), "RAM / 16 (desktop)" if workload == "desktop" else "RAM / 4", restart=True)
    cache = ram_kb // 4 if workload == "desktop" else ram_kb * 3 // 4
    add("effective_cache_size", format_kb(cache), "RAM / 4 (desktop)" if workload == "desktop" else "RAM x 3 / 4")
    maintenance = ram_kb // 8 if workload == "dw" else ram_kb // 16
    maintenance = min(maintenance, 8 * GB)
    add(
        "maintenance_work_mem",
        format_kb(maintenance),
        ("RAM / 8" if workload == "dw" else "RAM / 16") + ", at most 8GB",
    )
    add("checkpoint_completion_target", "0.9", "constant (PostgreSQL's default since 14)")
    wal = min(3 * shared // 100, 16 * MB)
    if 14 * MB < wal < 16 * MB:
        wal = 16 * MB
    wal = max(wal, 32)
    add(
        "wal_buffers",
        format_kb(wal),
        "3% of shared_buffers, at most 16MB (rounded up to 16MB above 14MB), at least 32kB",
        restart=True,
    )
    add("default_statistics_target", "500" if workload == "dw" else "100", "500 for dw, else 100")
    add("random_page_cost", "4" if storage == "hdd" else "1.1", "4 for hdd, 1.1 for ssd/san/nvme")
    add(
        "effective_io_concurrency",
        str({"hdd": 2, "ssd": 200, "san": 300, "nvme": 1000}[storage]),
        "hdd 2, ssd 200, san 300, nvme 1000 (Linux)",
    )
    parallel = _parallel(cpus, workload)
    workers = parallel[0][1] if parallel else DEFAULT_MAX_WORKER_PROCESSES
    divisor = {"web": 1, "oltp": 1, "dw": 2, "mixed": 2, "desktop": 6}[workload]
    work_mem = math.floor((ram_kb - shared) / ((conns + workers) * 3) / divisor)
    work_mem = max(work_mem, 4 * MB)
    add(
        "work_mem",
        format_kb(work_mem),
        f"(RAM - shared_buffers) / ((max_connections + {workers} worker processes) x 3)"
        + (f" / {divisor}" if divisor > 1 else "")
        + ", at least 4MB",
    )
    huge = "try" if shared >= 2 * GB else "off"
    add("huge_pages", huge, "try when shared_buffers >= 2GB, else off", restart=True)
    min_wal = {"web": 1024, "oltp": 2048, "dw": 4096, "desktop": 100, "mixed": 1024}[workload] * MB
    max_wal = {"web": 4096, "oltp": 8192, "dw": 16384, "desktop": 2048, "mixed": 4096}[workload] * MB
    add("min_wal_size", format_kb(min_wal), f"constant for {workload}")
    add("max_wal_size", format_kb(max_wal), f"constant for {workload}")
    for name, value, formula in parallel:
        add(name, str(value), formula, restart=name == "max_worker_processes")
    if workload in ("web", "oltp", "mixed"):
        add("jit", "off", "off for web/oltp/mixed: JIT slows short queries")
    add("wal_compression", "lz4", "lz4 on PostgreSQL 15+")
    if cpus >= 16:
        add("autovacuum_max_workers", "5" if cpus >= 32 else "4", "4 from 16 CPUs, 5 from 32", restart=True)
    if maintenance >= 2 * GB:
        add("autovacuum_work_mem", format_kb(2 * GB), "2GB when maintenance_work_mem >= 2GB")
    if workload == "desktop":
        add("wal_level", "minimal", "minimal for desktop", restart=True)
        add("max_wal_senders", "0", "0 (required by wal_level = minimal)", restart=True)
    return out


SAME_AS_HAND_TUNED = "same as the hand-tuned 4GB config"


def annotate_hand_tuned(settings: list[Setting], ram_bytes: int) -> None:
    """Fill ``hand_tuned`` and, for a 4 GB machine, why each figure differs from the hand-tuned config (or not)."""
    four_gb = ram_bytes == 4 * 1024**3
    for s in settings:
        s.hand_tuned = HAND_TUNED_4GB.get(s.name)
        if not four_gb:
            continue
        if s.hand_tuned is None:
            s.note = "not in the hand-tuned 4GB config (pgtune addition)"
        elif s.hand_tuned == s.value:
            s.note = SAME_AS_HAND_TUNED
        else:
            s.note = HAND_TUNED_DIFFERENCES.get(s.name, "differs from the hand-tuned 4GB config")


_UNIT_BYTES = {"B": 1, "kB": 1024, "8kB": 8192, "MB": 1024**2, "16MB": 16 * 1024**2, "GB": 1024**3}


def _as_bytes(text: str) -> int | None:
    for suffix, factor in (("GB", 1024**3), ("MB", 1024**2), ("kB", 1024)):
        if text.endswith(suffix) and text[: -len(suffix)].isdigit():
            return int(text[: -len(suffix)]) * factor
    return None


def _live_text(setting: str, unit: str | None) -> str:
    if unit in _UNIT_BYTES and setting.lstrip("-").isdigit() and int(setting) >= 0:
        return format_kb(int(setting) * _UNIT_BYTES[unit] // 1024)
    return setting


def _same(ours: str, setting: str, unit: str | None) -> bool:
    wanted = _as_bytes(ours)
    if wanted is not None and unit in _UNIT_BYTES and setting.lstrip("-").isdigit():
        return int(setting) >= 0 and int(setting) * _UNIT_BYTES[unit] == wanted
    try:
        return float(ours) == float(setting)
    except ValueError:
        return ours.lower() == setting.lower()


_LIVE_SQL = """
SELECT name, setting, unit, context, enumvals
FROM pg_settings WHERE name = ANY(%s)
"""


def compare_live(conn: Any, settings: list[Setting]) -> tuple[list[str], list[str]]:
    """Fill ``live``/``differs`` from pg_settings; return the ALTER SYSTEM commands and restart-only names.

    A value the server cannot take is adapted and explained (wal_compression = lz4 on a server built
    without lz4 becomes pglz).
    """
    from psycopg import sql

    rows = {r[0]: r for r in conn.execute(_LIVE_SQL, [[s.name for s in settings]]).fetchall()}
    commands: list[str] = []
    restart: list[str] = []
    for s in settings:
        row = rows.get(s.name)
        if row is None:
            s.note = ((s.note + "; ") if s.note else "") + "not a setting of this server version"
            continue
        _, setting, unit, context, enumvals = row
        if enumvals and s.value not in enumvals:
            fallback = "pglz" if s.name == "wal_compression" and "pglz" in enumvals else None
            if fallback is None:
                continue
            s.note = ((s.note + "; ") if s.note else "") + f"this server is built without {s.value}: {fallback}"
            s.value = fallback
        s.live = _live_text(setting, unit)
        s.differs = not _same(s.value, setting, unit)
        if s.differs:
            commands.append(
                sql.SQL("ALTER SYSTEM SET {} = {};")
                .format(sql.Identifier(s.name), sql.Literal(s.value))
                .as_string(conn)
            )
            if context == "postmaster":
                restart.append(s.name)
    if commands:
        commands.append("SELECT pg_reload_conf();")
    return commands, restart


def tune(
    *,
    ram_bytes: int | None = None,
    cpus: int | None = None,
    storage: str | None = None,
    workload: str | None = None,
    connections: int | None = None,
    config: Config | None = None,
    env: str | None = None,
) -> TuneResult:
    """``pgwarden tune``: recommendations for the given (or detected) machine; with ``env``, the live diff.

    ``storage`` and ``workload`` not given are assumed (ssd, web) and listed in ``assumed``.
    """
    from pgwarden.errors import BadInput

    assumed = []
    if storage is None:
        storage = "ssd"
        assumed.append("storage ssd (--storage hdd|san|nvme to change)")
    if workload is None:
        workload = "web"
        assumed.append("workload web (--workload oltp|dw|mixed|desktop to change)")

    machine_notes: list[str] = []
    if ram_bytes is None or cpus is None:
        from pgwarden.doctor.machine import detect

        found = detect()
        machine_notes = found.sources
        ram_bytes = ram_bytes or found.ram_bytes
        cpus = cpus or found.cpus
    if ram_bytes < 256 * 1024**2:
        raise BadInput(f"--ram {ram_bytes} bytes: pgtune's formulas need at least 256MB")
    if cpus < 1:
        raise BadInput("--cpus must be at least 1")
    try:
        settings = recommend(ram_bytes, cpus, storage=storage, workload=workload, connections=connections)
    except ValueError as exc:
        raise BadInput(str(exc)) from None
    annotate_hand_tuned(settings, ram_bytes)
    result = TuneResult(
        FORMULAS, ram_bytes, cpus, storage, workload, int(settings[0].value), machine_notes, settings, assumed=assumed
    )
    if env is not None or config is not None:
        if config is None:
            raise BadInput("--env needs a pgwarden.toml")
        from pgwarden.db import Intent, connect, resolve_target

        target = resolve_target(config, env, intent=Intent.READ)
        result.env = target.env_name
        with connect(target.url) as conn:
            result.alter_system, result.restart_needed = compare_live(conn, settings)
    return result
