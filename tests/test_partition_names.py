"""One rule for ``schema.table``: maintain and doctor agree on ``app.events``; hints quote identifiers."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from pgwarden.errors import BadInput
from pgwarden.partition import api
from pgwarden.partition.qualified import QualifiedName


@pytest.mark.parametrize(
    ("text", "schema", "name"),
    [
        ("events", "public", "events"),
        ("app.events", "app", "events"),
        ('"a.b".events', "a.b", "events"),
        ('app."we""ird.t"', "app", 'we"ird.t'),
        ("Orders", "public", "Orders"),
    ],
)
def test_parse(text: str, schema: str, name: str) -> None:
    assert QualifiedName.parse(text) == QualifiedName(schema, name)


@pytest.mark.parametrize("text", ["", "a.b.c", "a.", '"open'])
def test_parse_rejects(text: str) -> None:
    with pytest.raises(BadInput):
        QualifiedName.parse(text)


def test_sql_is_quoted() -> None:
    assert QualifiedName("public", "Orders_pgw_old").sql() == '"public"."Orders_pgw_old"'


def test_maintain_and_doctor_agree_on_a_schema_qualified_table(project, db) -> None:
    from pgwarden.doctor.runner import run_doctor

    db.execute(
        "CREATE SCHEMA app; CREATE TABLE app.events (id bigint, at timestamptz NOT NULL) PARTITION BY RANGE (at)"
    )
    project.write_config('[[partitions]]\ntable = "app.events"\nkey = "at"\ninterval = "1 month"\npremake = 2\n')
    config = project.config()
    check = run_doctor(config, checks=["partitions"]).checks[0]
    assert check.status == "fail" and "app.events: no partition for the current period" in check.summary
    done = api.maintain(config, None, api.MaintainOptions(now=datetime.now(UTC))).tables[0]
    assert done.table == "app.events" and len(done.created) == 3 and not done.problems
    assert db.execute("SELECT count(*) FROM pg_inherits WHERE inhparent = 'app.events'::regclass").fetchone()[0] == 3
    after = run_doctor(config, checks=["partitions"]).checks[0]
    assert after.status == "ok", after.summary


def test_convert_hint_quotes_a_mixed_case_table(project, db) -> None:
    """A table "Orders" must never print a bare Orders_pgw_old (it would name orders_pgw_old)."""
    db.execute("""
        CREATE TABLE "Orders" (id bigint PRIMARY KEY, at timestamptz NOT NULL);
        INSERT INTO "Orders" SELECT g, timestamptz '2026-10-01' + g * interval '1 hour' FROM generate_series(1, 500) g;
        CREATE TABLE orders_pgw_old (keep int);
    """)
    out = project.cli(
        "partition",
        "convert",
        "Orders",
        "--apply",
        "--key",
        "at",
        "--interval",
        "1 month",
        "--now",
        "2026-11-22",
        check_exit=0,
    )
    assert 'DROP TABLE "public"."Orders_pgw_old";' in out.stdout
    assert "DROP TABLE public.Orders_pgw_old" not in out.stdout
    assert db.execute('SELECT count(*) FROM "Orders_pgw_old"').fetchone()[0] == 500
    assert db.execute("SELECT to_regclass('orders_pgw_old') IS NOT NULL").fetchone()[0]


@pytest.mark.parametrize("table", ["chat_messages", "app.events", 'public."Orders"', '"my schema"."we\'ird"'])
def test_directive_render_and_parse_agree(table: str) -> None:
    from pgwarden.partition.directive import parse, render
    from pgwarden.sources.directives import parse_args

    layout = api.layout(None, table, api.LayoutOptions(key="at", interval="3 months", premake=2, past=1))
    line = render(layout, widen_unique=True, batch=500)
    directive = parse(parse_args(line.split("partition-convert", 1)[1], where="m.sql:2"), where="m.sql:2")
    assert directive.table == layout.name and directive.widen_unique and directive.batch == 500
    assert api.layout(None, str(directive.table), directive.options) == layout


@pytest.mark.parametrize(
    ("args", "problem"),
    [
        ({"table": "t", "key": "k"}, "exactly one of interval= or modulus="),
        ({"table": "t", "key": "k", "interval": "2 months"}, "interval"),
        ({"table": "t", "key": "k", "modulus": "1"}, "modulus='1' must be a whole number >= 2"),
        ({"table": "t", "key": "k", "interval": "1 day", "colour": "red"}, "unknown argument 'colour'"),
        ({"key": "k", "interval": "1 day"}, "missing table="),
        ({"table": "a.b.c", "key": "k", "interval": "1 day"}, "expected 'table' or 'schema.table'"),
    ],
)
def test_directive_arguments_are_checked(args: dict[str, str], problem: str) -> None:
    from pgwarden.errors import MigrationFileError
    from pgwarden.partition.directive import parse

    with pytest.raises(
        MigrationFileError, match="m.sql:3: partition-convert: .*" + problem.replace("(", r"\(").replace(")", r"\)")
    ):
        parse(args, where="m.sql:3")
