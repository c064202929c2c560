"""Comparing two snapshots object by object, by meaning: each difference with its kind and DDL."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from pgwarden.schema.ddl import render
from pgwarden.schema.snapshot import KINDS, Snapshot

# Kinds whose objects live inside a table: when the table itself is missing or unexpected,
# their differences are folded into the table's (its DDL shows them).
IN_TABLE = ("columns", "indexes", "constraints", "triggers", "rules", "policies")
# Kinds every object has one of: only a change is news.
WITH_OBJECT = ("owners",)
ORDER = "order"
Change = Literal["missing", "unexpected", "changed"]
Severity = Literal["drift", "information"]


@dataclass(frozen=True)
class AttributeChange:
    """One attribute of an object that differs: what was expected and what was found."""

    attribute: str
    expected: Any
    actual: Any


@dataclass(frozen=True)
class Difference:
    """An object missing from, unexpected in, or changed in the actual schema.

    ``expected_ddl`` / ``actual_ddl`` are the object's DDL on each side (None where it
    does not exist). ``severity`` is ``information`` for differences that are not
    drift by default (column order).
    """

    kind: str
    name: str
    change: Change
    changes: tuple[AttributeChange, ...] = ()
    attributes: dict[str, Any] | None = None
    expected_ddl: str | None = None
    actual_ddl: str | None = None
    table: str | None = None
    schema: str | None = None
    severity: Severity = "drift"

    def detail(self) -> str:
        """What differs, without the object's name: ``nullable false -> true`` or the missing object's gist."""
        if self.change == "changed":
            return "; ".join(f"{c.attribute} {_show(c.expected)} -> {_show(c.actual)}" for c in self.changes)
        return _summary(self.kind, self.attributes or {})

    def describe(self) -> str:
        """One line for people, e.g. ``column public.users.email: changed: nullable false -> true``."""
        label = f"{SINGULAR.get(self.kind, self.kind)} {self.name}"
        detail = self.detail()
        if self.change == "changed":
            return f"{label}: changed: {detail}"
        return f"{label}: {self.change}" + (f" ({detail})" if detail else "")


SINGULAR = {
    "schemas": "schema",
    "extensions": "extension",
    "tables": "table",
    "columns": "column",
    "partitions": "partition",
    "indexes": "index",
    "constraints": "constraint",
    "sequences": "sequence",
    "views": "view",
    "functions": "function",
    "triggers": "trigger",
    "enums": "enum type",
    "composites": "composite type",
    "domains": "domain",
    "ranges": "range type",
    "servers": "foreign server",
    "event_triggers": "event trigger",
    "rules": "rule",
    "policies": "policy",
    "publications": "publication",
    "comments": "comment",
    "grants": "grant",
    "default_privileges": "default privileges",
    "owners": "owner",
    ORDER: "column order of",
}


def _show(value: Any) -> str:
    if isinstance(value, str):
        text = " ".join(value.split())
        return repr(text if len(text) <= 160 else text[:157] + "...")
    return "null" if value is None else str(value).lower() if isinstance(value, bool) else str(value)


def _summary(kind: str, attributes: dict[str, Any]) -> str:
    if kind == "columns":
        return f"{attributes.get('type')}{'' if attributes.get('nullable') else ' not null'}"
    for key in ("definition", "bound", "labels", "version", "privileges", "comment", "owner", "base_type"):
        if key in attributes:
            return _show(attributes[key])
    return ""


def _columns_by_table(snapshot: Snapshot) -> dict[str, list[str]]:
    by_table: dict[str, list[tuple[int, str]]] = {}
    for key, facts in snapshot.meta.get("columns", {}).items():
        by_table.setdefault(str(facts.get("table")), []).append(
            (int(facts.get("position") or 0), key.rsplit(".", 1)[1])
        )
    return {table: [name for _, name in sorted(columns)] for table, columns in by_table.items()}


def _order_differences(expected: Snapshot, actual: Snapshot, skip: set[str]) -> list[Difference]:
    out: list[Difference] = []
    wanted, found = _columns_by_table(expected), _columns_by_table(actual)
    for table in sorted(set(expected.objects("tables")) & set(actual.objects("tables")) - skip):
        want, have = wanted.get(table, []), found.get(table, [])
        common = set(want) & set(have)
        want, have = [c for c in want if c in common], [c for c in have if c in common]
        if want != have:
            out.append(
                Difference(
                    ORDER,
                    table,
                    "changed",
                    (AttributeChange("columns", want, have),),
                    table=table,
                    schema=table.split(".", 1)[0],
                    severity="information",
                )
            )
    return out


def _difference(
    expected: Snapshot,
    actual: Snapshot,
    kind: str,
    name: str,
    change: Change,
    *,
    changes: tuple[AttributeChange, ...] = (),
    attributes: dict[str, Any] | None = None,
) -> Difference:
    facts = expected.info(kind, name) or actual.info(kind, name)
    return Difference(
        kind,
        name,
        change,
        changes,
        attributes,
        expected_ddl=render(expected, kind, name) if name in expected.objects(kind) else None,
        actual_ddl=render(actual, kind, name) if name in actual.objects(kind) else None,
        table=facts.get("table"),
        schema=facts.get("schema"),
    )


def diff(expected: Snapshot, actual: Snapshot, *, kinds: tuple[str, ...] = KINDS) -> list[Difference]:
    """Every difference between ``expected`` and ``actual``, in kind order then by name.

    Objects inside a table that is itself missing or unexpected are not repeated.
    Columns are compared without their position; a table whose common columns come
    in another order gives one ``order`` difference of severity ``information``.
    Function bodies are compared with whitespace outside literals normalised, views
    and expressions as PostgreSQL deparses them.
    """
    out: list[Difference] = []
    whole_tables: set[str] = set()
    for kind in kinds:
        want, have = expected.objects(kind), actual.objects(kind)
        for name in sorted(set(want) | set(have)):
            before, after = want.get(name), have.get(name)
            if before == after:
                continue
            table = (expected.info(kind, name) or actual.info(kind, name)).get("table")
            if kind in IN_TABLE and table in whole_tables:
                continue
            if kind in WITH_OBJECT and (before is None or after is None):
                continue  # the object itself is missing or unexpected: that difference says it
            if after is not None and before is not None:
                changes = tuple(
                    AttributeChange(k, before.get(k), after.get(k))
                    for k in sorted(set(before) | set(after))
                    if before.get(k) != after.get(k)
                )
                if changes:
                    out.append(_difference(expected, actual, kind, name, "changed", changes=changes))
                continue
            out.append(
                _difference(
                    expected,
                    actual,
                    kind,
                    name,
                    "missing" if after is None else "unexpected",
                    attributes=before if after is None else after,
                )
            )
            if kind == "tables":
                whole_tables.add(name)
    if "columns" in kinds:
        out.extend(_order_differences(expected, actual, whole_tables))
    return out
