"""Schema snapshots from the catalog and their comparison by meaning (no migrations here).

``pgwarden.check`` replays migrations and calls these; so do lint and the dashboard.
"""

from pgwarden.schema.diff import AttributeChange, Difference, diff
from pgwarden.schema.snapshot import KINDS, Snapshot, read_snapshot, snapshot_of, take_snapshot

__all__ = [
    "KINDS",
    "AttributeChange",
    "Difference",
    "Snapshot",
    "diff",
    "read_snapshot",
    "snapshot_of",
    "take_snapshot",
]
