"""``pgwarden partition …``: create, maintain, list, convert online, advise."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import typer

from pgwarden.cli.common import EnvOpt, JsonOpt, YesOpt, console, emit_json, info, load, table

app = typer.Typer(help="Partitioned tables: create, maintain (premake, retention), list, convert online, advise.",
                  no_args_is_help=True)

NowOpt = Annotated[str | None, typer.Option("--now", help="Pretend it is this instant (ISO date/time, UTC).")]
KeyOpt = Annotated[str | None, typer.Option("--key", "-k", help="Partition key column (default: from config).")]
IntervalOpt = Annotated[str | None, typer.Option("--interval", "-i",
                                                 help="'1 day', '1 week', '1 month' or '1 year' (range).")]
ModulusOpt = Annotated[int | None, typer.Option("--modulus", help="Hash partitioning into N partitions.")]
PremakeOpt = Annotated[int | None, typer.Option("--premake", help="Periods to create ahead (default 3 or config).")]
DefaultOpt = Annotated[bool | None, typer.Option("--default/--no-default",
                                                 help="Also create a default partition (default: config or off).")]


def _now(value: str | None) -> datetime | None:
    if value is None:
        return None
    from pgwarden.errors import BadInput
    from pgwarden.partition.naming import as_utc

    try:
        return as_utc(datetime.fromisoformat(value))
    except ValueError:
        raise BadInput(f"--now {value!r}: not an ISO date or date-time (e.g. 2026-11-22 or 2026-11-22T10:00)") from None


def _key_changes(changes: list) -> None:  # type: ignore[type-arg]
    for change in changes:
        info(f"[yellow]note[/]: {change.name} ({', '.join(change.before)}) extended with the partition key: "
             f"({', '.join(change.after)}); uniqueness of ({', '.join(change.before)}) alone is no longer enforced")


@app.command()
def create(table_name: Annotated[str, typer.Argument(metavar="TABLE", help="An existing, empty table.")],
           key: KeyOpt = None, interval: IntervalOpt = None, modulus: ModulusOpt = None, premake: PremakeOpt = None,
           default: DefaultOpt = None, now: NowOpt = None, env: EnvOpt = None, yes: YesOpt = False,
           json: JsonOpt = False) -> None:
    """Turn an empty table's layout into a partitioned table with partitions for now and premake ahead."""
    from pgwarden.partition.create import create as do_create
    from pgwarden.partition.spec import layout_for

    config = load()
    layout = layout_for(config, table_name, key=key, interval=interval, modulus=modulus, premake=premake,
                        default_partition=default)
    result = do_create(config, env, layout, now=_now(now))
    if json:
        emit_json(result)
        return
    _key_changes(result.key_changes)
    console().print(f"{result.table} is now partitioned by {result.strategy} ({result.key}): "
                    f"{', '.join(result.partitions)}" + (f" + {result.default_partition}" if result.default_partition
                                                          else ""))


@app.command()
def maintain(env: EnvOpt = None, now: NowOpt = None,
             tables: Annotated[list[str] | None, typer.Option("--table", "-t", help="Only this table (repeatable).")]
             = None,
             batch: Annotated[int, typer.Option(help="Rows per batch when moving rows out of the default partition.")]
             = 10_000, yes: YesOpt = False, json: JsonOpt = False) -> None:
    """Create upcoming partitions, move rows out of the default partition, apply retention (idempotent)."""
    from pgwarden.errors import ProblemsFound
    from pgwarden.partition.maintain import maintain as do_maintain

    result = do_maintain(load(), env, now=_now(now), tables=tables, batch=batch)
    if json:
        emit_json(result)
    else:
        rows = [[t.table, ", ".join(t.created) or "-", ", ".join(f"{k}: {v}" for k, v in t.moved_rows.items()) or "-",
                 ", ".join(t.detached + t.finalized) or "-", ", ".join(t.dropped) or "-",
                 ", ".join(f"{k} ({v})" for k, v in t.archived.items()) or "-", "; ".join(t.problems) or "ok"]
                for t in result.tables]
        console().print(table(f"partition maintain on {result.env} at {result.now:%Y-%m-%d %H:%M} UTC",
                              ["table", "created", "rows moved from default", "detached", "dropped", "archived",
                               "status"], rows))
    if result.problems:
        raise ProblemsFound(f"partition maintain: {len(result.problems)} problem(s): {result.problems[0]}")


def _bounds_text(part: Any) -> str:
    if part.is_default:
        return "DEFAULT"
    if part.remainder is None and (part.lower or part.upper):
        lower = f"{part.lower:%Y-%m-%d %H:%M}" if part.lower else "MINVALUE"
        upper = f"{part.upper:%Y-%m-%d %H:%M}" if part.upper else "MAXVALUE"
        return f"{lower} .. {upper}"
    return str(part.bound).removeprefix("FOR VALUES ")


@app.command("list")
def list_(table_name: Annotated[str, typer.Argument(metavar="TABLE")], env: EnvOpt = None,
          json: JsonOpt = False) -> None:
    """Each partition with bounds, rows and size; gaps and overlaps flagged (exit 1 if any)."""
    from pgwarden.errors import ProblemsFound
    from pgwarden.partition.inspect import show
    from pgwarden.units import human_size

    result = show(load(), env, table_name)
    if json:
        emit_json(result)
    else:
        rows = [[p.name, _bounds_text(p), f"{p.rows}" if p.rows_exact else f"~{p.rows}", human_size(p.size_bytes),
                 "; ".join(p.flags)] for p in result.partitions]
        console().print(table(f"{result.table}: {result.strategy} on ({', '.join(result.key)})",
                              ["partition", "bounds", "rows", "size", "flags"], rows))
    if not result.ok:
        raise ProblemsFound(f"{result.table}: {len(result.gaps)} gap(s), {len(result.overlaps)} overlap(s)")


@app.command()
def convert(table_name: Annotated[str, typer.Argument(metavar="TABLE")], key: KeyOpt = None,
            interval: IntervalOpt = None, modulus: ModulusOpt = None, premake: PremakeOpt = None,
            default: DefaultOpt = None,
            batch: Annotated[int, typer.Option(help="Rows copied per batch (one short transaction each).")] = 10_000,
            resume: Annotated[bool, typer.Option("--resume", help="Continue an interrupted conversion.")] = False,
            abort: Annotated[bool, typer.Option("--abort", help="Undo an unfinished conversion.")] = False,
            drop_old: Annotated[bool, typer.Option("--drop-old", help="Drop the original once swapped.")] = False,
            lock_timeout: Annotated[str, typer.Option(help="Longest wait for each short lock.")] = "500ms",
            now: NowOpt = None, env: EnvOpt = None, yes: YesOpt = False, json: JsonOpt = False) -> None:
    """Convert a live table to a partitioned one online (reads and writes go on; resumable)."""
    from pgwarden.errors import BadInput
    from pgwarden.partition.convert import convert as do_convert
    from pgwarden.partition.spec import Layout, layout_for
    from pgwarden.units import parse_duration

    if resume and abort:
        raise BadInput("give --resume or --abort, not both")
    config = load()
    if abort or resume:
        schema, name = table_name.split(".", 1) if "." in table_name else ("public", table_name)
        layout = Layout(schema, name, key or "", None, None)
    else:
        layout = layout_for(config, table_name, key=key, interval=interval, modulus=modulus, premake=premake,
                            default_partition=default)
    if json:
        result = do_convert(config, env, layout, batch=batch, resume=resume, abort=abort, drop_old=drop_old,
                            lock_timeout=parse_duration(lock_timeout), now=_now(now))
        emit_json(result)
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=console(stderr=True), transient=True) as bar:
        task = bar.add_task("copy", total=None)

        def progress(phase: str, done: int, total: int) -> None:
            bar.update(task, description=phase, completed=done, total=total)

        result = do_convert(config, env, layout, batch=batch, resume=resume, abort=abort, drop_old=drop_old,
                            lock_timeout=parse_duration(lock_timeout), now=_now(now), progress=progress)
    if result.action == "aborted":
        console().print(f"aborted: {result.table} is unchanged; the partial copy, trigger and log were removed")
        return
    _key_changes(result.key_changes)
    console().print(f"{result.table} converted: {result.rows_copied} rows copied in {result.batches} batches, "
                    f"{result.rows_replayed} concurrent changes replayed"
                    + (f"; verified {result.verified_rows} rows, checksum equal" if result.checksum_equal else "")
                    + (f"; swap held its lock {result.swap_seconds * 1000:.0f} ms" if result.swap_seconds is not None
                       else "") + f"; {len(result.partitions)} partitions")
    if result.old_table:
        console().print(f"the original is kept as {result.old_table}; drop it when satisfied: "
                        f"DROP TABLE {result.old_table}")


@app.command()
def advise(env: EnvOpt = None,
           min_rows: Annotated[int, typer.Option(help="Row count that calls for partitioning.")] = 1_000_000,
           min_size: Annotated[str, typer.Option(help="Table size that calls for partitioning.")] = "10GB",
           monthly_rows: Annotated[int, typer.Option(help="Monthly growth that calls for partitioning.")] = 100_000,
           json: JsonOpt = False) -> None:
    """Say which tables to partition, by which key and interval, with projected partition sizes."""
    from pgwarden.partition.advise import Thresholds
    from pgwarden.partition.advise import advise as do_advise
    from pgwarden.units import human_size, parse_size

    limits = Thresholds(rows=min_rows, bytes=parse_size(min_size), monthly_rows=monthly_rows)
    result = do_advise(load(), env, thresholds=limits)
    if json:
        emit_json(result)
        return
    if not result.advice:
        console().print("no table needs partitioning yet (thresholds: "
                        f"{min_rows:,} rows, {min_size}, {monthly_rows:,} rows a month)")
        return
    rows = [[a.table, f"{a.rows:,}", human_size(a.size_bytes), "; ".join(a.reasons),
             f"{a.key} ({a.key_source})" if a.key else "-", a.interval or (f"hash x{a.modulus}" if a.modulus else "-"),
             f"~{a.partition_rows:,} rows / {human_size(a.partition_bytes or 0)}" if a.partition_rows else "-"]
            for a in result.advice]
    console().print(table("tables to partition", ["table", "rows", "size", "why", "key", "interval",
                                                  "each partition"], rows))
    for a in result.advice:
        if a.command:
            console().print(f"  {a.command}")
    if not result.pg_stat_statements:
        info("pg_stat_statements is not available: keys chosen from column names, not from your queries")
