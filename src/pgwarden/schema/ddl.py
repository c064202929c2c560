"""DDL of snapshot objects: how each object is created, dropped and changed, rendered as SQL text.

Pure functions over a :class:`~pgwarden.schema.snapshot.Snapshot`; no database access.
Names come quoted from the catalog (``quote_ident``); literals are quoted here.
``render`` gives the object's DDL as it is on one side; ``create``, ``drop`` and
``alter`` give the statements that move one side to the other, or None where a
change cannot be expressed safely (the caller marks it for a person to write).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pgwarden.schema.snapshot import Snapshot

Renderer = Callable[["Snapshot", str, dict[str, Any], dict[str, Any]], str]


def literal(text: Any) -> str:
    """``text`` as an SQL string literal."""
    return "'" + str(text).replace("'", "''") + "'"


def _stmt(text: str) -> str:
    text = text.strip()
    return text if text.endswith(";") else text + ";"


def _column_def(attrs: dict[str, Any], facts: dict[str, Any]) -> str:
    parts = [str(facts.get("q")), str(attrs.get("type"))]
    if attrs.get("collation"):
        parts.append(f'COLLATE "{attrs["collation"]}"')
    if attrs.get("generated"):
        parts.append(f"GENERATED ALWAYS AS ({attrs['generated']}) STORED")
    if attrs.get("identity"):
        parts.append(f"GENERATED {str(attrs['identity']).upper()} AS IDENTITY")
    if attrs.get("default") is not None:
        parts.append(f"DEFAULT {attrs['default']}")
    if attrs.get("nullable") is False:
        parts.append("NOT NULL")
    return " ".join(parts)


def _column_extras(attrs: dict[str, Any], facts: dict[str, Any]) -> list[str]:
    target = f"ALTER TABLE {facts.get('qtable')} ALTER COLUMN {facts.get('q')}"
    out = []
    if attrs.get("storage"):
        out.append(f"{target} SET STORAGE {str(attrs['storage']).upper()};")
    if attrs.get("compression"):
        out.append(f"{target} SET COMPRESSION {attrs['compression']};")
    if attrs.get("statistics") is not None:
        out.append(f"{target} SET STATISTICS {attrs['statistics']};")
    return out


def _table_columns(snapshot: Snapshot, table: str) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    found = [
        (snapshot.info("columns", key), attrs)
        for key, attrs in snapshot.objects("columns").items()
        if snapshot.info("columns", key).get("table") == table
    ]
    found.sort(key=lambda pair: int(pair[0].get("position") or 0))
    return [(attrs, facts) for facts, attrs in found]


def _in_table(snapshot: Snapshot, kind: str, table: str) -> list[str]:
    return sorted(key for key in snapshot.objects(kind) if snapshot.info(kind, key).get("table") == table)


def _table(snapshot: Snapshot, name: str, attrs: dict[str, Any], facts: dict[str, Any]) -> str:
    q = facts.get("q")
    partition = snapshot.objects("partitions").get(name)
    columns = _table_columns(snapshot, name)
    unlogged = "UNLOGGED " if attrs.get("persistence") == "unlogged" else ""
    foreign = attrs.get("kind") == "foreign table"
    if partition is not None:
        head = (
            f"CREATE {unlogged}TABLE {q} PARTITION OF {snapshot.info('partitions', name).get('qparent')} "
            f"{partition.get('bound')}"
        )
    else:
        body = ",\n".join(f"    {_column_def(a, f)}" for a, f in columns)
        head = f"CREATE {'FOREIGN ' if foreign else unlogged}TABLE {q} (\n{body}\n)"
        if attrs.get("inherits"):
            head += f" INHERITS ({', '.join(attrs['inherits'])})"
    if attrs.get("partition_key"):
        head += f" PARTITION BY {attrs['partition_key']}"
    if foreign and attrs.get("server"):
        head += f" SERVER {attrs['server']}"
        if attrs.get("foreign_options"):
            head += f" OPTIONS ({_options(attrs['foreign_options'])})"
    if attrs.get("options"):
        head += f" WITH ({', '.join(attrs['options'])})"
    out = [head + ";"]
    for column_attrs, column_facts in columns:
        out.extend(_column_extras(column_attrs, column_facts))
    if attrs.get("row_security"):
        out.append(f"ALTER TABLE {q} ENABLE ROW LEVEL SECURITY;")
    if attrs.get("force_row_security"):
        out.append(f"ALTER TABLE {q} FORCE ROW LEVEL SECURITY;")
    for kind in ("constraints", "indexes", "triggers", "rules", "policies"):
        for key in _in_table(snapshot, kind, name):
            facts_of = snapshot.info(kind, key)
            if facts_of.get("constraint") or facts_of.get("local") is False or partition is not None:
                continue  # made by its constraint, or inherited from the parent table
            out.append(render(snapshot, kind, key))
    return "\n".join(out)


def _options(options: list[str]) -> str:
    pairs = [option.split("=", 1) for option in options]
    return ", ".join(f"{key} {literal(value)}" for key, value in pairs)


def _column(snapshot: Snapshot, name: str, attrs: dict[str, Any], facts: dict[str, Any]) -> str:
    return "\n".join(
        [f"ALTER TABLE {facts.get('qtable')} ADD COLUMN {_column_def(attrs, facts)};", *_column_extras(attrs, facts)]
    )


def _sequence(snapshot: Snapshot, name: str, attrs: dict[str, Any], facts: dict[str, Any]) -> str:
    if facts.get("identity"):
        return f"-- {name}: the sequence of identity column {attrs.get('owned_by')}"
    text = (
        f"CREATE {'UNLOGGED ' if attrs.get('unlogged') else ''}SEQUENCE {facts.get('q')} AS {attrs.get('type')} "
        f"INCREMENT BY {attrs.get('increment')} MINVALUE {attrs.get('min')} MAXVALUE {attrs.get('max')} "
        f"START WITH {attrs.get('start')} CACHE {attrs.get('cache')}{' CYCLE' if attrs.get('cycle') else ''};"
    )
    if attrs.get("owned_by"):
        text += f"\n-- owned by {attrs['owned_by']}"
    return text


def _domain(snapshot: Snapshot, name: str, attrs: dict[str, Any], facts: dict[str, Any]) -> str:
    text = f"CREATE DOMAIN {facts.get('q')} AS {attrs.get('base_type')}"
    if attrs.get("collation"):
        text += f' COLLATE "{attrs["collation"]}"'
    if attrs.get("default") is not None:
        text += f" DEFAULT {attrs['default']}"
    if attrs.get("not_null"):
        text += " NOT NULL"
    for constraint in attrs.get("constraints") or []:
        text += f" CONSTRAINT {constraint}"
    return text + ";"


def _range(snapshot: Snapshot, name: str, attrs: dict[str, Any], facts: dict[str, Any]) -> str:
    options = [f"SUBTYPE = {attrs.get('subtype')}"]
    for key, label in (
        ("opclass", "SUBTYPE_OPCLASS"),
        ("collation", "COLLATION"),
        ("canonical", "CANONICAL"),
        ("subdiff", "SUBTYPE_DIFF"),
    ):
        if attrs.get(key):
            options.append(f"{label} = {attrs[key]}")
    return f"CREATE TYPE {facts.get('q')} AS RANGE ({', '.join(options)});"


def _view(snapshot: Snapshot, name: str, attrs: dict[str, Any], facts: dict[str, Any]) -> str:
    kind = "MATERIALIZED VIEW" if attrs.get("kind") == "materialized view" else "VIEW"
    with_options = f" WITH ({', '.join(attrs['options'])})" if attrs.get("options") else ""
    return _stmt(f"CREATE {kind} {facts.get('q')}{with_options} AS\n{attrs.get('definition')}")


def _trigger(snapshot: Snapshot, name: str, attrs: dict[str, Any], facts: dict[str, Any]) -> str:
    text = _stmt(str(attrs.get("definition")))
    state = {"disabled": "DISABLE", "replica": "ENABLE REPLICA", "always": "ENABLE ALWAYS"}.get(
        str(attrs.get("enabled"))
    )
    if state:
        text += f"\nALTER TABLE {facts.get('qtable')} {state} TRIGGER {facts.get('q')};"
    return text


def _event_trigger(snapshot: Snapshot, name: str, attrs: dict[str, Any], facts: dict[str, Any]) -> str:
    tags = f" WHEN TAG IN ({', '.join(literal(t) for t in attrs['tags'])})" if attrs.get("tags") else ""
    return (
        f"CREATE EVENT TRIGGER {facts.get('q')} ON {attrs.get('event')}{tags} "
        f"EXECUTE FUNCTION {attrs.get('function')}();"
    )


def _policy(snapshot: Snapshot, name: str, attrs: dict[str, Any], facts: dict[str, Any]) -> str:
    text = (
        f"CREATE POLICY {facts.get('q')} ON {facts.get('qtable')} "
        f"AS {'PERMISSIVE' if attrs.get('permissive') else 'RESTRICTIVE'} FOR {attrs.get('command')} "
        f"TO {', '.join(attrs.get('roles') or ['PUBLIC'])}"
    )
    if attrs.get("using"):
        text += f" USING ({attrs['using']})"
    if attrs.get("with_check"):
        text += f" WITH CHECK ({attrs['with_check']})"
    return text + ";"


def _publication(snapshot: Snapshot, name: str, attrs: dict[str, Any], facts: dict[str, Any]) -> str:
    target = (
        " FOR ALL TABLES"
        if attrs.get("all_tables")
        else (f" FOR TABLE {', '.join(attrs['tables'])}" if attrs.get("tables") else "")
    )
    return (
        f"CREATE PUBLICATION {facts.get('q')}{target} WITH (publish = "
        f"{literal(', '.join(attrs.get('publish') or []))}, publish_via_partition_root = "
        f"{str(bool(attrs.get('via_root'))).lower()});"
    )


def _server(snapshot: Snapshot, name: str, attrs: dict[str, Any], facts: dict[str, Any]) -> str:
    text = f"CREATE SERVER {facts.get('q')}"
    if attrs.get("type"):
        text += f" TYPE {literal(attrs['type'])}"
    if attrs.get("version"):
        text += f" VERSION {literal(attrs['version'])}"
    text += f" FOREIGN DATA WRAPPER {attrs.get('wrapper')}"
    if attrs.get("options"):
        text += f" OPTIONS ({_options(attrs['options'])})"
    return text + ";"


# pg_identify_object's type names -> the words COMMENT ON / GRANT ON / ALTER ... OWNER use.
_OBJECT_WORD = {
    "table column": "COLUMN",
    "table constraint": "CONSTRAINT",
    "foreign-data wrapper": "FOREIGN DATA WRAPPER",
    "server": "SERVER",
    "composite type": "TYPE",
    "enum type": "TYPE",
}


def object_word(type_name: str) -> str:
    """The keyword for an object of pg_identify_object type ``type_name`` (``table column`` -> COLUMN)."""
    return _OBJECT_WORD.get(type_name, type_name.upper())


def _comment(snapshot: Snapshot, name: str, attrs: dict[str, Any], facts: dict[str, Any]) -> str:
    return f"COMMENT ON {object_word(str(facts.get('type')))} {facts.get('q')} IS {literal(attrs.get('comment'))};"


_GRANT_WORD = {
    "table": "TABLE",
    "view": "TABLE",
    "materialized view": "TABLE",
    "foreign table": "TABLE",
    "sequence": "SEQUENCE",
    "function": "FUNCTION",
    "procedure": "PROCEDURE",
    "schema": "SCHEMA",
    "type": "TYPE",
    "domain": "DOMAIN",
    "composite type": "TYPE",
    "enum type": "TYPE",
    "server": "FOREIGN SERVER",
    "foreign-data wrapper": "FOREIGN DATA WRAPPER",
}


def _grant_target(facts: dict[str, Any]) -> tuple[str, str] | None:
    type_name, identity = str(facts.get("type")), str(facts.get("q"))
    if type_name == "table column":
        table, column = identity.rsplit(".", 1)
        return f"({column})", f"TABLE {table}"
    word = _GRANT_WORD.get(type_name)
    return ("", f"{word} {identity}") if word else None


def _grant(snapshot: Snapshot, name: str, attrs: dict[str, Any], facts: dict[str, Any]) -> str:
    target = _grant_target(facts)
    grantee = facts.get("grantee")
    if target is None:
        return f"-- {name}: {attrs.get('privileges')} (no GRANT form known for this object)"
    columns, on = target
    out = [f"REVOKE ALL{columns and ' ' + columns} ON {on} FROM {grantee};"] if facts.get("defaults") != "none" else []
    privileges = [p for p in str(attrs.get("privileges")).split(", ") if p and p != "none"]
    plain = [p for p in privileges if not p.endswith("WITH GRANT OPTION")]
    granting = [p.removesuffix(" WITH GRANT OPTION") for p in privileges if p.endswith("WITH GRANT OPTION")]
    for group, suffix in ((plain, ""), (granting, " WITH GRANT OPTION")):
        if group:
            listed = ", ".join(f"{p}{' ' + columns if columns else ''}" for p in group)
            out.append(f"GRANT {listed} ON {on} TO {grantee}{suffix};")
    return "\n".join(out)


def _owner(snapshot: Snapshot, name: str, attrs: dict[str, Any], facts: dict[str, Any]) -> str:
    return f"ALTER {object_word(str(facts.get('type')))} {facts.get('q')} OWNER TO {attrs.get('owner')};"


def _simple(template: str) -> Renderer:
    def render_one(snapshot: Snapshot, name: str, attrs: dict[str, Any], facts: dict[str, Any]) -> str:
        return template.format(q=facts.get("q"), qtable=facts.get("qtable"), name=name, **attrs)

    return render_one


def _enum(snapshot: Snapshot, name: str, attrs: dict[str, Any], facts: dict[str, Any]) -> str:
    return f"CREATE TYPE {facts.get('q')} AS ENUM ({', '.join(literal(v) for v in attrs.get('labels') or [])});"


def _composite(snapshot: Snapshot, name: str, attrs: dict[str, Any], facts: dict[str, Any]) -> str:
    return f"CREATE TYPE {facts.get('q')} AS ({', '.join(attrs.get('attributes') or [])});"


def _function(snapshot: Snapshot, name: str, attrs: dict[str, Any], facts: dict[str, Any]) -> str:
    if facts.get("ddl"):
        return _stmt(str(facts["ddl"]))
    return f"-- {attrs.get('kind')} {name} returns {attrs.get('returns')} (no DDL rendered for aggregates)"


def _partition(snapshot: Snapshot, name: str, attrs: dict[str, Any], facts: dict[str, Any]) -> str:
    return f"ALTER TABLE {facts.get('qparent')} ATTACH PARTITION {facts.get('q')} {attrs.get('bound')};"


def _default_privileges(snapshot: Snapshot, name: str, attrs: dict[str, Any], facts: dict[str, Any]) -> str:
    return f"-- default privileges {name}: {attrs.get('privileges')}"


RENDERERS: dict[str, Renderer] = {
    "schemas": _simple("CREATE SCHEMA {q};"),
    "extensions": _simple("CREATE EXTENSION IF NOT EXISTS {q} WITH SCHEMA {schema};"),
    "enums": _enum,
    "composites": _composite,
    "domains": _domain,
    "ranges": _range,
    "sequences": _sequence,
    "functions": _function,
    "servers": _server,
    "tables": _table,
    "columns": _column,
    "partitions": _partition,
    "constraints": _simple("ALTER TABLE {qtable} ADD CONSTRAINT {q} {definition};"),
    "indexes": lambda s, n, a, f: _stmt(str(a.get("definition"))),
    "views": _view,
    "triggers": _trigger,
    "event_triggers": _event_trigger,
    "rules": lambda s, n, a, f: _stmt(str(a.get("definition"))),
    "policies": _policy,
    "publications": _publication,
    "comments": _comment,
    "grants": _grant,
    "default_privileges": _default_privileges,
    "owners": _owner,
}


def render(snapshot: Snapshot, kind: str, name: str) -> str:
    """The DDL that creates object ``name`` of ``kind`` as it is in ``snapshot`` (a table with its
    columns, constraints, indexes, triggers, rules and policies)."""
    attrs = snapshot.objects(kind).get(name)
    if attrs is None:
        return ""
    return RENDERERS[kind](snapshot, name, attrs, snapshot.info(kind, name))
