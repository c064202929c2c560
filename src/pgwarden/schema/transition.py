"""Statements that move one object from its state in one snapshot to its state in another.

Pure functions, no database access. :func:`transition` returns the drops (run first,
in reverse dependency order), the creates and alters (run after, in dependency order)
and, when the change cannot be expressed safely, a reason instead of statements.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pgwarden.schema.ddl import literal, object_word, render
from pgwarden.schema.snapshot import Snapshot


@dataclass(frozen=True)
class Steps:
    """What moves one object: ``drops`` run before every ``creates``; ``cannot`` says why not, if so."""

    drops: list[str] = field(default_factory=list)
    creates: list[str] = field(default_factory=list)
    cannot: str | None = None


def _drop(kind: str, name: str, attrs: dict[str, Any], facts: dict[str, Any]) -> list[str]:
    q, qt = facts.get("q"), facts.get("qtable")
    if kind == "sequences" and facts.get("identity"):
        return []
    if kind == "indexes" and facts.get("constraint"):
        return []
    if kind == "owners":
        return []
    if kind == "comments":
        return [f"COMMENT ON {object_word(str(facts.get('type')))} {q} IS NULL;"]
    simple = {
        "schemas": f"DROP SCHEMA {q};",
        "extensions": f"DROP EXTENSION {q};",
        "enums": f"DROP TYPE {q};",
        "composites": f"DROP TYPE {q};",
        "ranges": f"DROP TYPE {q};",
        "domains": f"DROP DOMAIN {q};",
        "sequences": f"DROP SEQUENCE {q};",
        "servers": f"DROP SERVER {q};",
        "columns": f"ALTER TABLE {qt} DROP COLUMN {q};",
        "partitions": f"ALTER TABLE {facts.get('qparent')} DETACH PARTITION {q};",
        "constraints": f"ALTER TABLE {qt} DROP CONSTRAINT {q};",
        "indexes": f"DROP INDEX {q};",
        "triggers": f"DROP TRIGGER {q} ON {qt};",
        "event_triggers": f"DROP EVENT TRIGGER {q};",
        "rules": f"DROP RULE {q} ON {qt};",
        "policies": f"DROP POLICY {q} ON {qt};",
        "publications": f"DROP PUBLICATION {q};",
    }
    if kind in simple:
        return [simple[kind]]
    if kind == "tables":
        return [f"DROP {'FOREIGN ' if attrs.get('kind') == 'foreign table' else ''}TABLE {q};"]
    if kind == "views":
        return [f"DROP {'MATERIALIZED ' if attrs.get('kind') == 'materialized view' else ''}VIEW {q};"]
    if kind == "functions":
        return [f"DROP {str(attrs.get('kind', 'function')).replace('window ', '').upper()} {q};"]
    return []


def _columns(name: str, before: dict[str, Any], after: dict[str, Any], facts: dict[str, Any]) -> Steps:
    target = f"ALTER TABLE {facts.get('qtable')} ALTER COLUMN {facts.get('q')}"
    out: list[str] = []
    changed = {k for k in set(before) | set(after) if before.get(k) != after.get(k)}
    if changed & {"generated", "options"}:
        return Steps(cannot=f"column {name}: {', '.join(sorted(changed & {'generated', 'options'}))} changed")
    if changed & {"type", "collation"}:
        collate = f' COLLATE "{after["collation"]}"' if after.get("collation") else ""
        out.append(f"{target} TYPE {after.get('type')}{collate};")
    if "default" in changed:
        out.append(
            f"{target} SET DEFAULT {after['default']};"
            if after.get("default") is not None
            else f"{target} DROP DEFAULT;"
        )
    if "nullable" in changed:
        out.append(f"{target} {'DROP' if after.get('nullable') else 'SET'} NOT NULL;")
    if "identity" in changed:
        if before.get("identity") and after.get("identity"):
            out.append(f"{target} SET GENERATED {str(after['identity']).upper()};")
        elif after.get("identity"):
            out.append(f"{target} ADD GENERATED {str(after['identity']).upper()} AS IDENTITY;")
        else:
            out.append(f"{target} DROP IDENTITY;")
    if "storage" in changed:
        out.append(f"{target} SET STORAGE {str(after.get('storage') or 'default').upper()};")
    if "compression" in changed:
        out.append(f"{target} SET COMPRESSION {after.get('compression') or 'default'};")
    if "statistics" in changed:
        out.append(f"{target} SET STATISTICS {after.get('statistics') if after.get('statistics') is not None else -1};")
    return Steps(creates=out)


def _tables(name: str, before: dict[str, Any], after: dict[str, Any], facts: dict[str, Any]) -> Steps:
    q = facts.get("q")
    changed = {k for k in set(before) | set(after) if before.get(k) != after.get(k)}
    cannot = changed - {"row_security", "force_row_security", "options", "persistence", "replica_identity"}
    if cannot or (after.get("replica_identity") == "index" and "replica_identity" in changed):
        return Steps(cannot=f"table {name}: {', '.join(sorted(cannot or {'replica_identity'}))} changed")
    out: list[str] = []
    if "row_security" in changed:
        out.append(f"ALTER TABLE {q} {'ENABLE' if after.get('row_security') else 'DISABLE'} ROW LEVEL SECURITY;")
    if "force_row_security" in changed:
        out.append(f"ALTER TABLE {q} {'' if after.get('force_row_security') else 'NO '}FORCE ROW LEVEL SECURITY;")
    if "persistence" in changed:
        out.append(f"ALTER TABLE {q} SET {'UNLOGGED' if after.get('persistence') == 'unlogged' else 'LOGGED'};")
    if "replica_identity" in changed:
        out.append(f"ALTER TABLE {q} REPLICA IDENTITY {str(after.get('replica_identity') or 'default').upper()};")
    if "options" in changed:
        old = {o.split("=", 1)[0] for o in before.get("options") or []}
        new = after.get("options") or []
        gone = old - {o.split("=", 1)[0] for o in new}
        if gone:
            out.append(f"ALTER TABLE {q} RESET ({', '.join(sorted(gone))});")
        if new:
            out.append(f"ALTER TABLE {q} SET ({', '.join(new)});")
    return Steps(creates=out)


def _enums(name: str, before: dict[str, Any], after: dict[str, Any], facts: dict[str, Any]) -> Steps:
    old, new = list(before.get("labels") or []), list(after.get("labels") or [])
    if [label for label in new if label in old] != old:
        return Steps(cannot=f"enum type {name}: values removed or reordered (PostgreSQL cannot drop an enum value)")
    out = []
    for index, label in enumerate(new):
        if label not in old:
            place = f" AFTER {literal(new[index - 1])}" if index else (f" BEFORE {literal(old[0])}" if old else "")
            out.append(f"ALTER TYPE {facts.get('q')} ADD VALUE {literal(label)}{place};")
    return Steps(creates=out)


def _domains(name: str, before: dict[str, Any], after: dict[str, Any], facts: dict[str, Any]) -> Steps:
    q = facts.get("q")
    changed = {k for k in set(before) | set(after) if before.get(k) != after.get(k)}
    if changed & {"base_type", "collation"}:
        return Steps(cannot=f"domain {name}: base type or collation changed")
    out = []
    if "default" in changed:
        out.append(
            f"ALTER DOMAIN {q} SET DEFAULT {after['default']};"
            if after.get("default") is not None
            else f"ALTER DOMAIN {q} DROP DEFAULT;"
        )
    if "not_null" in changed:
        out.append(f"ALTER DOMAIN {q} {'SET' if after.get('not_null') else 'DROP'} NOT NULL;")
    old, new = set(before.get("constraints") or []), set(after.get("constraints") or [])
    drops = [f"ALTER DOMAIN {q} DROP CONSTRAINT {c.split(' ', 1)[0]};" for c in sorted(old - new)]
    out.extend(f"ALTER DOMAIN {q} ADD CONSTRAINT {c};" for c in sorted(new - old))
    return Steps(drops=drops, creates=out)


def _sequences(name: str, before: dict[str, Any], after: dict[str, Any], facts: dict[str, Any]) -> Steps:
    if facts.get("identity"):
        return Steps(cannot=f"sequence {name}: belongs to an identity column (alter the column)")
    out = [
        f"ALTER SEQUENCE {facts.get('q')} AS {after.get('type')} INCREMENT BY {after.get('increment')} "
        f"MINVALUE {after.get('min')} MAXVALUE {after.get('max')} START WITH {after.get('start')} "
        f"CACHE {after.get('cache')} {'' if after.get('cycle') else 'NO '}CYCLE;"
    ]
    return Steps(creates=out)


def _extensions(name: str, before: dict[str, Any], after: dict[str, Any], facts: dict[str, Any]) -> Steps:
    out = []
    if before.get("schema") != after.get("schema"):
        out.append(f"ALTER EXTENSION {facts.get('q')} SET SCHEMA {after.get('schema')};")
    if before.get("version") != after.get("version"):
        out.append(f"ALTER EXTENSION {facts.get('q')} UPDATE TO {literal(after.get('version'))};")
    return Steps(creates=out)


_ALTERS: dict[str, Callable[[str, dict[str, Any], dict[str, Any], dict[str, Any]], Steps]] = {
    "columns": _columns,
    "tables": _tables,
    "enums": _enums,
    "domains": _domains,
    "sequences": _sequences,
    "extensions": _extensions,
}
# Changed objects of these kinds are dropped and created again.
_RECREATE = (
    "partitions",
    "constraints",
    "indexes",
    "views",
    "triggers",
    "event_triggers",
    "rules",
    "policies",
    "publications",
)
# Changed objects of these kinds are simply stated again (the statement replaces the old state).
_RESTATE = ("comments", "grants", "owners")


def transition(kind: str, name: str, source: Snapshot, target: Snapshot) -> Steps:
    """The statements that turn object ``name`` of ``kind`` from ``source``'s state into ``target``'s."""
    before, after = source.objects(kind).get(name), target.objects(kind).get(name)
    if before is None and after is None:
        return Steps()
    if kind == "default_privileges":
        return Steps(cannot=f"default privileges {name}: write ALTER DEFAULT PRIVILEGES by hand")
    if before is None:
        return Steps(creates=[render(target, kind, name)])
    facts = source.info(kind, name)
    if after is None:
        statements = _drop(kind, name, before, facts)
        return (
            Steps(drops=statements)
            if statements or kind == "owners"
            else Steps(cannot=f"{kind} {name}: no DROP form known")
        )
    target_facts = target.info(kind, name)
    if kind in _ALTERS:
        return _ALTERS[kind](name, before, after, target_facts)
    if kind in _RESTATE:
        return Steps(creates=[render(target, kind, name)])
    if kind == "functions":
        signature_changed = before.get("returns") != after.get("returns") or before.get("kind") != after.get("kind")
        drops = _drop(kind, name, before, facts) if signature_changed else []
        return Steps(drops=drops, creates=[render(target, kind, name)])
    if kind in _RECREATE:
        return Steps(drops=_drop(kind, name, before, facts), creates=[render(target, kind, name)])
    changed = sorted(k for k in set(before) | set(after) if before.get(k) != after.get(k))
    return Steps(cannot=f"{kind} {name}: changed ({', '.join(changed)})")
