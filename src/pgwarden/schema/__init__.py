"""Schema snapshots from the catalog, their comparison, and drift checks against the migrations."""

from pgwarden.schema.diff import AttributeChange, Difference, diff
from pgwarden.schema.snapshot import KINDS, Snapshot, take_snapshot

__all__ = ["KINDS", "AttributeChange", "Difference", "Snapshot", "diff", "take_snapshot"]
