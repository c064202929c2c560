"""Comparing two snapshots object by object."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from pgwarden.schema.snapshot import KINDS, Snapshot

# Kinds whose objects live inside a table: their differences are folded into the table's.
_IN_TABLE = ("columns", "indexes", "constraints", "triggers")
Change = Literal["missing", "unexpected", "changed"]


@dataclass(frozen=True)
class AttributeChange:
    """One attribute of an object that differs: what was expected and what was found."""

    attribute: str
    expected: Any
    actual: Any


@dataclass(frozen=True)
class Difference:
    """An object missing from, unexpected in, or changed in the actual schema."""

    kind: str
    name: str
    change: Change
    changes: tuple[AttributeChange, ...] = ()
    attributes: dict[str, Any] | None = None

    def describe(self) -> str:
        """One line for people, e.g. ``column public.users.email: changed: nullable false -> true``."""
        label = f"{_SINGULAR.get(self.kind, self.kind)} {self.name}"
        if self.change == "changed":
            parts = [f"{c.attribute} {_show(c.expected)} -> {_show(c.actual)}" for c in self.changes]
            return f"{label}: changed: " + "; ".join(parts)
        shown = _summary(self.kind, self.attributes or {})
        return f"{label}: {self.change}" + (f" ({shown})" if shown else "")


_SINGULAR = {"schemas": "schema", "extensions": "extension", "tables": "table", "columns": "column",
             "partitions": "partition", "indexes": "index", "constraints": "constraint",
             "sequences": "sequence", "views": "view", "functions": "function", "triggers": "trigger",
             "enums": "enum type"}


def _show(value: Any) -> str:
    if isinstance(value, str):
        text = " ".join(value.split())
        return repr(text if len(text) <= 160 else text[:157] + "...")
    return "null" if value is None else str(value).lower() if isinstance(value, bool) else str(value)


def _summary(kind: str, attributes: dict[str, Any]) -> str:
    if kind == "columns":
        return f"{attributes.get('type')}{'' if attributes.get('nullable') else ' not null'}"
    for key in ("definition", "bound", "labels", "version"):
        if key in attributes:
            return _show(attributes[key])
    return ""


def diff(expected: Snapshot, actual: Snapshot) -> list[Difference]:
    """Every difference between ``expected`` and ``actual``, in kind order then by name.

    Objects inside a table that is itself missing or unexpected are not repeated.
    """
    out: list[Difference] = []
    whole_tables: set[str] = set()
    for kind in KINDS:
        want, have = expected.objects(kind), actual.objects(kind)
        for name in sorted(set(want) | set(have)):
            before, after = want.get(name), have.get(name)
            table = (before or after or {}).get("table")
            if kind in _IN_TABLE and table in whole_tables:
                continue
            if after is None:
                out.append(Difference(kind, name, "missing", attributes=before))
            elif before is None:
                out.append(Difference(kind, name, "unexpected", attributes=after))
            else:
                changes = tuple(AttributeChange(k, before.get(k), after.get(k))
                                for k in sorted(set(before) | set(after)) if before.get(k) != after.get(k))
                if changes:
                    out.append(Difference(kind, name, "changed", changes))
                continue
            if kind == "tables":
                whole_tables.add(name)
    return out
