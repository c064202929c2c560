"""``pgwarden check`` (drift) and the rendering of ``pgwarden migrate test`` (round trips)."""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape
from rich.text import Text

from pgwarden.cli.common import EnvOpt, JsonOpt, KeepOpt, console, emit_json, info, json_doc, load, table

if TYPE_CHECKING:
    from pgwarden.check.api import DriftResult, EmitResult, RoundTripResult
    from pgwarden.schema.diff import Difference


class Towards(StrEnum):
    live = "live"
    migrations = "migrations"


StrictOrderOpt = Annotated[
    bool | None,
    typer.Option(
        "--strict-order/--no-strict-order", help="Count column order as drift (default: [check] strict_order)."
    ),
]
IgnoreOpt = Annotated[
    list[str] | None,
    typer.Option("--ignore", help="Leave a kind out of the comparison, e.g. --ignore owners (repeatable)."),
]
EmitOpt = Annotated[
    str | None,
    typer.Option(
        "--emit-migration", metavar="NAME", help="Write the drift as SQL: a new migration NAME (see --towards)."
    ),
]
TowardsOpt = Annotated[
    Towards,
    typer.Option(
        "--towards",
        help="live: a migration that makes the migrations match the live database; "
        "migrations: NAME.sql that brings the live database back.",
    ),
]
DdlOpt = Annotated[bool, typer.Option("--ddl/--no-ddl", help="Print each difference's DDL on both sides.")]
AllOpt = Annotated[bool, typer.Option("--all", "--keep-going", help="Test every migration; report every failure.")]


def _ddl_block(label: str, ddl: str | None) -> None:
    out = console()
    out.print(f"    [dim]{label}:[/]" + (" (absent)" if not ddl else ""))
    for line in (ddl or "").splitlines():
        out.print(f"      {escape(line)}")


def _render_differences(title: str, differences: list[Difference], *, ddl: bool) -> None:
    rows = [[d.kind, d.name, d.change, d.detail()] for d in differences]  # table() escapes its cells
    console().print(table(title, ["kind", "object", "change", "detail"], rows))
    if ddl:
        for d in differences:
            console().print(f"  [bold]{escape(d.describe().split(': ', 1)[0])}[/]")
            _ddl_block("expected (migrations)", d.expected_ddl)
            _ddl_block("actual (live)", d.actual_ddl)


def _render_drift(result: DriftResult, ddl: bool) -> None:
    out = console()
    where = f"{escape(result.env)} ({escape(result.database)})"
    if result.drifted:
        _render_differences(
            f"{result.env} ({result.database}): drift against migrations up to {result.version or 'none'}",
            result.differences,
            ddl=ddl,
        )
        out.print(
            f"{len(result.differences)} difference(s); expected = what the migrations build, actual = the live database"
        )
    else:
        out.print(
            f"[green]no drift[/]: {where} matches its migrations up to {escape(result.version or 'none')} "
            f"({result.objects_compared} objects compared)"
        )
    for d in result.information:
        out.print(f"[dim]information[/]: {escape(d.describe())} (not drift; --strict-order makes it drift)")
    for m in result.managed_partitions:
        out.print(
            f"managed partitions (not drift): {escape(m.table)}: {len(m.created)} created, "
            f"{len(m.detached)} detached, {len(m.dropped)} dropped by partition maintain "
            f"({m.differences} difference(s) set aside)"
        )
    if result.ignored:
        listed = ", ".join(f"{escape(k)}: {v}" for k, v in sorted(result.ignored.items()))
        out.print(f"[dim]set aside[/]: {listed}")


def _render_emit(emitted: EmitResult, env: str) -> None:
    out = console()
    out.print(
        f"wrote {escape(str(emitted.path))}: {emitted.statements} statement(s)"
        + (f", {len(emitted.cannot_express)} marked 'cannot express'" if emitted.cannot_express else "")
    )
    for reason in emitted.cannot_express:
        out.print(f"  cannot express: {escape(reason)}")
    if emitted.lint_clean and not emitted.lint_findings:
        out.print("  lint: clean")
    else:
        out.print(f"  lint: {'errors' if not emitted.lint_clean else 'warnings'} remain:")
        for finding in emitted.lint_findings:
            out.print(f"    {escape(finding)}")
    if emitted.towards == "live":
        out.print(
            f"  note: {escape(env)} already has these changes: the new migration is for the other "
            "environments and fresh databases; review it before `migrate up` anywhere"
        )


def check(
    env: EnvOpt = None,
    json: JsonOpt = False,
    strict_order: StrictOrderOpt = None,
    ignore: IgnoreOpt = None,
    emit_migration: EmitOpt = None,
    towards: TowardsOpt = Towards.live,
    ddl: DdlOpt = True,
    keep: KeepOpt = False,
) -> None:
    """Schema drift: compare the live catalog with what the applied migrations build (exit 1 on drift)."""
    from pgwarden.check.api import check as drift_check
    from pgwarden.check.api import emit_migration as emit
    from pgwarden.errors import EXIT_PROBLEMS

    config = load()
    result = drift_check(config, env, strict_order=strict_order, ignore_kinds=tuple(ignore or ()))
    emitted = emit(config, result, emit_migration, towards=towards.value) if emit_migration else None
    if json:
        emit_json({**json_doc(result), "drifted": result.drifted, "emitted": json_doc(emitted) if emitted else None})
    else:
        _render_drift(result, ddl)
        if emitted is not None:
            _render_emit(emitted, result.env)
        if result.pending:
            info(f"note: {len(result.pending)} pending migration(s) not compared: {', '.join(result.pending)}")
    if result.drifted:
        raise typer.Exit(EXIT_PROBLEMS)


def _render_round_trip(result: RoundTripResult) -> None:
    out = console()
    rows = [
        [m.version, m.name, Text(m.outcome, style="green" if m.ok else "red"), f"{m.seconds:.2f}s"]
        for m in result.migrations
    ]
    out.print(table("round trip: up, down, up on a scratch database", ["version", "name", "outcome", "time"], rows))
    for failed in result.failures:
        out.print(f"[red]{escape(failed.version)}_{escape(failed.name)}: {failed.outcome}[/]")
        if failed.error:
            out.print(f"  {escape(failed.error)}")
        for difference in failed.differences:
            out.print(f"  {escape(difference.describe())}")
    counts = ", ".join(f"{v} {k}" for k, v in result.summary.items())
    out.print(f"{counts} ({result.seconds:.1f}s)")


def migrate_test(json: JsonOpt = False, keep_going: AllOpt = False, keep: KeepOpt = False) -> None:
    """On a scratch database: each migration up, down, up again; the schema must match each time (exit 1)."""
    from pgwarden.check.api import round_trip
    from pgwarden.errors import EXIT_PROBLEMS

    result = round_trip(load(), keep_going=keep_going)
    if json:
        emit_json({"ok": not result.failures, **json_doc(result)})
    else:
        _render_round_trip(result)
    if result.failures:
        raise typer.Exit(EXIT_PROBLEMS)


def register(app: typer.Typer) -> None:
    """Add ``check`` to ``app``."""
    app.command()(check)
