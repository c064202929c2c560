"""Parsing of the human units used in configuration: durations and sizes."""

from __future__ import annotations

import re

_DURATION_UNITS = {
    "us": 1e-6,
    "ms": 1e-3,
    "s": 1.0,
    "sec": 1.0,
    "second": 1.0,
    "seconds": 1.0,
    "m": 60.0,
    "min": 60.0,
    "minute": 60.0,
    "minutes": 60.0,
    "h": 3600.0,
    "hour": 3600.0,
    "hours": 3600.0,
    "d": 86400.0,
    "day": 86400.0,
    "days": 86400.0,
}
_SIZE_UNITS = {
    "b": 1,
    "kb": 1024,
    "mb": 1024**2,
    "gb": 1024**3,
    "tb": 1024**4,
    "k": 1024,
    "m": 1024**2,
    "g": 1024**3,
    "t": 1024**4,
}
_NUMBER_UNIT = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$")


def parse_duration(value: str | int | float) -> float:
    """Return seconds for ``"200ms"``, ``"2s"``, ``"5 min"`` or a bare number of seconds.

    Raises ValueError naming the accepted units when the text is not a duration.
    """
    if isinstance(value, int | float):
        return float(value)
    match = _NUMBER_UNIT.match(value)
    unit = match.group(2).lower() if match else ""
    if not match or (unit and unit not in _DURATION_UNITS):
        raise ValueError(f"{value!r} is not a duration (use e.g. 200ms, 2s, 5min, 1h)")
    return float(match.group(1)) * _DURATION_UNITS[unit or "s"]


def parse_size(value: str | int) -> int:
    """Return bytes for ``"10MB"``, ``"4GB"``, ``"512kB"`` or a bare number of bytes."""
    if isinstance(value, int):
        return value
    match = _NUMBER_UNIT.match(value)
    unit = match.group(2).lower() if match else ""
    if not match or (unit and unit not in _SIZE_UNITS):
        raise ValueError(f"{value!r} is not a size (use e.g. 512kB, 10MB, 4GB)")
    return int(float(match.group(1)) * _SIZE_UNITS[unit or "b"])


def postgres_duration(seconds: float) -> str:
    """Format seconds as a PostgreSQL duration setting (whole milliseconds)."""
    return f"{max(0, round(seconds * 1000))}ms"


def human_duration(seconds: float) -> str:
    """A short human duration: ``0.4s``, ``95s``, ``12min``, ``3.5h``, ``2.0d``."""
    if seconds < 10:
        return f"{seconds:.1f}s"
    if seconds < 120:
        return f"{seconds:.0f}s"
    if seconds < 7200:
        return f"{seconds / 60:.0f}min"
    if seconds < 172800:
        return f"{seconds / 3600:.1f}h"
    return f"{seconds / 86400:.1f}d"


def human_size(n_bytes: float) -> str:
    """Format a byte count the way pg_size_pretty does (kB, MB, GB)."""
    size = float(n_bytes)
    for unit in ("bytes", "kB", "MB", "GB", "TB"):
        if abs(size) < 1024 or unit == "TB":
            return f"{size:.0f} {unit}" if unit == "bytes" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} TB"
