"""Which differences are not drift: managed partitions, ignored patterns and kinds, column order.

Nothing is silently dropped: every difference set aside is counted by class, and
the children of a ``[[partitions]]`` table that ``partition maintain`` created or
detached are reported per table in a section of their own.
"""

from __future__ import annotations

import fnmatch
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from pgwarden.schema.diff import Difference
from pgwarden.schema.snapshot import Snapshot

IGNORED_PATTERN = "ignore patterns"
IGNORED_KIND = "ignored kinds"
MANAGED = "managed partitions"
OWN_SCHEMA = "pgwarden's own schema"


@dataclass(frozen=True)
class ManagedPartitions:
    """The children of one ``[[partitions]]`` table that differ from the migrations: expected, not drift."""

    table: str
    created: list[str] = field(default_factory=list)
    detached: list[str] = field(default_factory=list)
    dropped: list[str] = field(default_factory=list)
    differences: int = 0


@dataclass(frozen=True)
class Classified:
    """Differences sorted into drift, information and what was set aside (with counts)."""

    drift: list[Difference]
    information: list[Difference]
    managed: list[ManagedPartitions]
    ignored: dict[str, int]


@dataclass(frozen=True)
class ManagedTable:
    """A ``[[partitions]]`` table (``schema.table``) and how to recognise the names of its children."""

    parent: str
    is_child_name: Callable[[str], bool]


def _children(table: ManagedTable, expected: Snapshot, actual: Snapshot) -> tuple[set[str], ManagedPartitions]:
    parent = table.parent
    schema = parent.split(".", 1)[0]

    def attached(snapshot: Snapshot) -> set[str]:
        return {name for name, attrs in snapshot.objects("partitions").items() if attrs.get("parent") == parent}

    before, after = attached(expected), attached(actual)
    standalone = {
        name
        for name in actual.objects("tables")
        if name not in after and name.split(".", 1)[0] == schema and table.is_child_name(name.split(".", 1)[1])
    }
    report = ManagedPartitions(
        parent,
        created=sorted(after - before),
        detached=sorted((before - after) & standalone | (standalone - before)),
        dropped=sorted(before - after - standalone),
    )
    return before | after | standalone, report


def classify(
    differences: list[Difference],
    expected: Snapshot,
    actual: Snapshot,
    *,
    managed_tables: list[ManagedTable],
    ignore: tuple[str, ...],
    ignore_kinds: tuple[str, ...],
    strict_order: bool,
) -> Classified:
    """Split ``differences``: drift, information (column order unless ``strict_order``), and set aside.

    Set aside (counted in ``ignored``): differences of kinds in ``ignore_kinds``;
    objects whose name or table matches a glob in ``ignore``; objects of children of
    ``managed_tables`` (the ``[[partitions]]`` entries: attached partitions and tables named
    like their partitions).
    The objects of excluded schemas (pgwarden's own) are counted from ``actual``.
    """
    ignored: Counter[str] = Counter()
    for schema, count in actual.excluded.items():
        ignored[OWN_SCHEMA if schema == "pgwarden" else f"schema {schema}"] += count
    children: dict[str, str] = {}
    reports: dict[str, ManagedPartitions] = {}
    for table in managed_tables:
        names, report = _children(table, expected, actual)
        for name in names:
            children[name] = table.parent
        reports[table.parent] = report
    managed_counts: Counter[str] = Counter()
    drift: list[Difference] = []
    information: list[Difference] = []
    for difference in differences:
        owner = difference.table or difference.name
        if difference.kind in ignore_kinds:
            ignored[IGNORED_KIND] += 1
        elif any(
            fnmatch.fnmatchcase(difference.name, p) or (difference.table and fnmatch.fnmatchcase(difference.table, p))
            for p in ignore
        ):
            ignored[IGNORED_PATTERN] += 1
        elif owner in children or difference.name in children:
            ignored[MANAGED] += 1
            managed_counts[children.get(owner) or children[difference.name]] += 1
        elif difference.severity == "information" and not strict_order:
            information.append(difference)
        else:
            drift.append(difference)
    managed = [
        ManagedPartitions(r.table, r.created, r.detached, r.dropped, managed_counts[r.table])
        for r in reports.values()
        if managed_counts[r.table] or r.created or r.detached or r.dropped
    ]
    return Classified(drift, information, managed, dict(ignored))
