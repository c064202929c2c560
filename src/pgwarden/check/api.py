"""The public functions of ``check`` (drift) and ``migrate test`` (round trips), for the CLI and callers.

Both replay migrations (``pgwarden.migrations``) and compare catalog snapshots
(``pgwarden.schema``); this package sits above both, beside ``deploy``.
"""

from __future__ import annotations

from pgwarden.check.drift import DriftResult, check, managed_tables
from pgwarden.check.emit import EmitResult, Towards, emit_migration
from pgwarden.check.managed import ManagedPartitions
from pgwarden.check.roundtrip import RoundTrip, RoundTripResult, round_trip
from pgwarden.check.settings import CheckSettings, check_settings

__all__ = [
    "CheckSettings",
    "DriftResult",
    "EmitResult",
    "ManagedPartitions",
    "RoundTrip",
    "RoundTripResult",
    "Towards",
    "check",
    "check_settings",
    "emit_migration",
    "managed_tables",
    "round_trip",
]
