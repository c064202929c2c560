"""The memory and CPUs PostgreSQL can really use on this machine, honouring container (cgroup) limits.

Guarantees: memory is the smaller of the host's MemTotal and every cgroup memory limit on the way
from this process's cgroup up to the hierarchy root (v2 ``memory.max``; v1
``memory.limit_in_bytes``, where a huge value means unlimited); CPUs are the smaller of the CPUs this
process may run on (sched_getaffinity) and every CPU quota (v2 ``cpu.max``; v1
``cpu.cfs_quota_us``/``cpu.cfs_period_us``), rounded up. ``root`` lets tests point at a fake tree.
timescaledb-tune reads the host's figures instead (its issue #58); pgwarden does not.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from pathlib import Path

_V1_UNLIMITED = 1 << 60


@dataclass(frozen=True)
class Machine:
    """RAM in bytes and CPUs available to PostgreSQL here, and where each figure came from."""

    ram_bytes: int
    cpus: int
    sources: list[str] = field(default_factory=list)


def _read(path: Path) -> str | None:
    try:
        return path.read_text(encoding="ascii").strip()
    except (OSError, UnicodeDecodeError):
        return None


def _cgroup_paths(root: Path) -> dict[str, str]:
    """Controller -> cgroup path of this process ('' key for the v2 unified hierarchy)."""
    text = _read(root / "proc/self/cgroup") or ""
    out: dict[str, str] = {}
    for line in text.splitlines():
        parts = line.split(":", 2)
        if len(parts) != 3:
            continue
        _, controllers, path = parts
        if controllers == "":
            out[""] = path
        for name in controllers.split(","):
            if name:
                out[name] = path
    return out


def _walk(base: Path, path: str) -> list[Path]:
    """``base/path`` and each parent folder up to ``base`` (only those that exist)."""
    folders = []
    current = base / path.lstrip("/")
    while True:
        if current.is_dir():
            folders.append(current)
        if current == base or base not in current.parents:
            break
        current = current.parent
    if base not in folders and base.is_dir():
        folders.append(base)
    return folders


def _v2_dir(root: Path) -> Path | None:
    for candidate in (root / "sys/fs/cgroup", root / "sys/fs/cgroup/unified"):
        if (candidate / "cgroup.controllers").is_file():
            return candidate
    return None


def cgroup_memory_limit(root: Path = Path("/")) -> tuple[int | None, str | None]:
    """The tightest cgroup memory limit in bytes (None when unlimited) and the file it came from."""
    paths = _cgroup_paths(root)
    best: tuple[int | None, str | None] = (None, None)
    candidates: list[Path] = []
    v2 = _v2_dir(root)
    if v2 is not None and "" in paths:
        candidates += [d / "memory.max" for d in _walk(v2, paths[""])]
    if "memory" in paths:
        candidates += [d / "memory.limit_in_bytes" for d in _walk(root / "sys/fs/cgroup/memory", paths["memory"])]
    for file in candidates:
        text = _read(file)
        if not text or text == "max" or not text.isdigit():
            continue
        value = int(text)
        if value >= _V1_UNLIMITED:
            continue
        if best[0] is None or value < best[0]:
            best = (value, str(file))
    return best


def cgroup_cpu_limit(root: Path = Path("/")) -> tuple[float | None, str | None]:
    """The tightest cgroup CPU quota in CPUs (e.g. 1.5; None when unlimited) and the file it came from."""
    paths = _cgroup_paths(root)
    best: tuple[float | None, str | None] = (None, None)
    quotas: list[tuple[float, str]] = []
    v2 = _v2_dir(root)
    if v2 is not None and "" in paths:
        for folder in _walk(v2, paths[""]):
            text = (_read(folder / "cpu.max") or "").split()
            if len(text) == 2 and text[0] != "max" and text[0].isdigit() and text[1].isdigit() and int(text[1]):
                quotas.append((int(text[0]) / int(text[1]), str(folder / "cpu.max")))
    for controller in ("cpu", "cpuacct"):
        if controller not in paths:
            continue
        for base in (root / "sys/fs/cgroup/cpu", root / "sys/fs/cgroup/cpu,cpuacct"):
            for folder in _walk(base, paths[controller]):
                quota, period = _read(folder / "cpu.cfs_quota_us"), _read(folder / "cpu.cfs_period_us")
                if quota and period and quota.isdigit() and period.isdigit() and int(quota) > 0 and int(period) > 0:
                    quotas.append((int(quota) / int(period), str(folder / "cpu.cfs_quota_us")))
        break
    for value, source in quotas:
        if best[0] is None or value < best[0]:
            best = (value, source)
    return best


def host_memory(root: Path = Path("/")) -> int | None:
    """MemTotal of /proc/meminfo in bytes."""
    for line in (_read(root / "proc/meminfo") or "").splitlines():
        if line.startswith("MemTotal:"):
            return int(line.split()[1]) * 1024
    return None


def detect(root: Path = Path("/")) -> Machine:
    """RAM and CPUs available here (see module guarantees)."""
    sources = []
    ram = host_memory(root)
    if ram is None:
        ram = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
        sources.append(f"RAM {ram} bytes from sysconf")
    else:
        sources.append(f"RAM {ram} bytes from {root / 'proc/meminfo'} (MemTotal)")
    limit, where = cgroup_memory_limit(root)
    if limit is not None and limit < ram:
        ram = limit
        sources.append(f"RAM limited to {limit} bytes by cgroup {where}")
    try:
        cpus = len(os.sched_getaffinity(0)) if root == Path("/") else (os.cpu_count() or 1)
        sources.append(f"{cpus} CPUs from sched_getaffinity")
    except AttributeError:
        cpus = os.cpu_count() or 1
        sources.append(f"{cpus} CPUs from os.cpu_count")
    quota, where = cgroup_cpu_limit(root)
    if quota is not None and math.ceil(quota) < cpus:
        cpus = max(1, math.ceil(quota))
        sources.append(f"CPUs limited to {quota:g} (rounded up to {cpus}) by cgroup {where}")
    return Machine(ram, cpus, sources)
