"""``pgwarden partition …``: create, maintain, list, convert online, advise (parses, calls partition.api, renders)."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any

import typer

from pgwarden.cli.common import EnvOpt, JsonOpt, YesOpt, console, emit_json, info, load, table

if TYPE_CHECKING:
    from pgwarden.partition.api import ConvertResult

app = typer.Typer(
    help="Partitioned tables: create, maintain (premake, retention), list, convert online, advise.",
    no_args_is_help=True,
)

NowOpt = Annotated[str | None, typer.Option("--now", help="Pretend it is this instant (ISO date/time, UTC).")]
KeyOpt = Annotated[str | None, typer.Option("--key", "-k", help="Partition key column (default: from config).")]
IntervalOpt = Annotated[
    str | None,
    typer.Option("--interval", "-i", help="'1 day', '1 week', '1 month', '3 months' (quarter) or '1 year' (range)."),
]
ModulusOpt = Annotated[int | None, typer.Option("--modulus", help="Hash partitioning into N partitions.")]
PremakeOpt = Annotated[int | None, typer.Option("--premake", help="Periods to create ahead (default 3 or config).")]
PastOpt = Annotated[
    int | None,
    typer.Option("--past", help="Periods to create before the current one (for back-dated rows; default 0 or config)."),
]
DefaultOpt = Annotated[
    bool | None,
    typer.Option("--default/--no-default", help="Also create a default partition (default: config or off)."),
]
ApplyOpt = Annotated[
    bool,
    typer.Option(
        "--apply",
        help="Change the database now instead of writing a migration (the default writes one, so every "
        "environment gets the change through `migrate up` / `deploy`).",
    ),
]
WriteConfigOpt = Annotated[
    bool,
    typer.Option(
        "--write-config", help="Also add the table's [[partitions]] entry to the config file (for maintain and check)."
    ),
]
WidenOpt = Annotated[
    bool,
    typer.Option(
        "--widen-unique",
        help="Accept extending UNIQUE constraints with the partition key (their columns alone are "
        "then no longer unique across partitions).",
    ),
]


def _esc(text: object) -> str:
    from rich.markup import escape

    return escape(str(text))


def _now(value: str | None) -> datetime | None:
    if value is None:
        return None
    from pgwarden.errors import BadInput
    from pgwarden.partition.naming import as_utc

    try:
        return as_utc(datetime.fromisoformat(value))
    except ValueError:
        raise BadInput(f"--now {value!r}: not an ISO date or date-time (e.g. 2026-11-22 or 2026-11-22T10:00)") from None


def _key_changes(changes: list[Any]) -> None:
    for change in changes:
        info(
            f"[yellow]note[/]: {_esc(change.name)} ({_esc(', '.join(change.before))}) extended with the partition "
            f"key: ({_esc(', '.join(change.after))}); uniqueness of ({_esc(', '.join(change.before))}) alone is no "
            "longer enforced"
        )


@app.command()
def create(
    table_name: Annotated[str, typer.Argument(metavar="TABLE", help="An existing, empty table.")],
    key: KeyOpt = None,
    interval: IntervalOpt = None,
    modulus: ModulusOpt = None,
    premake: PremakeOpt = None,
    past: PastOpt = None,
    default: DefaultOpt = None,
    widen_unique: WidenOpt = False,
    apply: ApplyOpt = False,
    write_config: WriteConfigOpt = False,
    now: NowOpt = None,
    env: EnvOpt = None,
    yes: YesOpt = False,
    json: JsonOpt = False,
) -> None:
    """Partition an empty table: writes a migration (default) or, with --apply, reshapes it now."""
    from pgwarden.partition import api

    config = load()
    layout = api.layout(config, table_name, api.LayoutOptions(key, interval, modulus, premake, default, past))
    if not apply:
        _migration_written(
            api.write_migration(
                config, env, layout, verb="create", widen_unique=widen_unique, write_config=write_config
            ),
            json,
        )
        return
    result = api.create(config, env, layout, widen_unique=widen_unique, now=_now(now))
    entry, added = api.config_entry(config, layout, write=write_config)
    if json:
        emit_json(result)
        return
    _key_changes(result.key_changes)
    console().print(
        f"{_esc(result.table)} is now partitioned by {result.strategy} ({_esc(result.key)}): "
        f"{_esc(', '.join(result.partitions))}"
        + (f" + {_esc(result.default_partition)}" if result.default_partition else "")
    )
    _next_step_entry(entry, added)


def _migration_written(written: Any, json: bool) -> None:
    if json:
        emit_json(written)
        return
    console().print(f"wrote {_esc(written.path)}:\n  {_esc(written.directive)}")
    if not written.checked:
        info(
            "note: the target database could not check it now (unreachable, or the table does not exist yet); "
            "`migrate up` checks it when it runs"
        )
    console().print("next: review it, then `pgwarden migrate up` (or `pgwarden deploy`) applies it in each environment")
    _next_step_entry(written.entry, written.entry_added)


def _next_step_entry(entry: str, added: bool) -> None:
    if added:
        console().print("added to the config file:\n" + _esc(entry))
    else:
        console().print(
            "add this entry to pgwarden.toml (or pass --write-config) so `partition maintain` keeps "
            "partitions ahead and `check` expects them:\n" + _esc(entry)
        )


@app.command()
def maintain(
    env: EnvOpt = None,
    yes: YesOpt = False,
    now: NowOpt = None,
    tables: Annotated[list[str] | None, typer.Option("--table", "-t", help="Only this table (repeatable).")] = None,
    batch: Annotated[int, typer.Option(help="Rows per batch when moving rows out of the default partition.")] = 10_000,
    json: JsonOpt = False,
) -> None:
    """Create upcoming partitions, move rows out of the default partition, apply retention (idempotent)."""
    from pgwarden.errors import ProblemsFound
    from pgwarden.partition import api

    config = load()
    result = api.maintain(config, env, api.MaintainOptions(_now(now), tuple(tables or ()), batch))
    if json:
        emit_json(result)
    elif not result.tables:
        console().print(
            _esc(
                f"no [[partitions]] entries in {config.source}: nothing to maintain "
                "(add one per partitioned table; `pgwarden partition convert` prints it)"
            )
        )
    else:
        rows = [
            [
                _esc(t.table),
                _esc(", ".join(t.created) or "-"),
                _esc(", ".join(f"{k}: {v}" for k, v in t.moved_rows.items()) or "-"),
                _esc(", ".join(t.detached + t.finalized) or "-"),
                _esc(", ".join(t.dropped) or "-"),
                _esc(", ".join(f"{k} ({v})" for k, v in t.archived.items()) or "-"),
                _esc("; ".join(t.problems) or "ok"),
            ]
            for t in result.tables
        ]
        console().print(
            table(
                f"partition maintain on {_esc(result.env)} at {result.now:%Y-%m-%d %H:%M} UTC",
                ["table", "created", "rows moved from default", "detached", "dropped", "archived", "status"],
                rows,
            )
        )
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
def list_(
    table_name: Annotated[str, typer.Argument(metavar="TABLE")], env: EnvOpt = None, json: JsonOpt = False
) -> None:
    """Each partition with bounds, rows and size; gaps and overlaps flagged (exit 1 if any)."""
    from pgwarden.errors import ProblemsFound
    from pgwarden.partition import api
    from pgwarden.units import human_size

    result = api.list_partitions(load(), env, table_name)
    if json:
        emit_json(result)
    else:
        rows = [
            [
                _esc(p.name),
                _esc(_bounds_text(p)),
                f"{p.rows}" if p.rows_exact else f"~{p.rows}",
                human_size(p.size_bytes),
                _esc("; ".join(p.flags)),
            ]
            for p in result.partitions
        ]
        console().print(
            table(
                f"{_esc(result.table)}: {result.strategy} on ({_esc(', '.join(result.key))})",
                ["partition", "bounds", "rows", "size", "flags"],
                rows,
            )
        )
    if not result.ok:
        raise ProblemsFound(f"{result.table}: {len(result.gaps)} gap(s), {len(result.overlaps)} overlap(s)")


def _with_progress(run: Any) -> ConvertResult:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console(stderr=True),
        transient=True,
    ) as bar:
        task = bar.add_task("copy", total=None)

        def progress(phase: str, done: int, total: int) -> None:
            bar.update(task, description=_esc(phase), completed=done, total=total)

        result: ConvertResult = run(progress)
        return result


def _render_converted(result: ConvertResult) -> None:
    _key_changes(result.key_changes)
    console().print(
        f"{_esc(result.table)} converted: {result.rows_copied} rows copied in {result.batches} batches, "
        f"{result.rows_replayed} concurrent changes replayed"
        + (f"; verified {result.verified_rows} rows, checksum equal" if result.checksum_equal else "")
        + (f"; swap held its lock {result.swap_seconds * 1000:.0f} ms" if result.swap_seconds is not None else "")
        + f"; {len(result.partitions)} partitions"
    )
    if result.drop_old_sql:
        console().print(
            f"the original is kept as {_esc(result.old_table)}; drop it when satisfied: {_esc(result.drop_old_sql)}"
        )


@app.command()
def convert(
    table_name: Annotated[str, typer.Argument(metavar="TABLE")],
    key: KeyOpt = None,
    interval: IntervalOpt = None,
    modulus: ModulusOpt = None,
    premake: PremakeOpt = None,
    past: PastOpt = None,
    default: DefaultOpt = None,
    widen_unique: WidenOpt = False,
    apply: ApplyOpt = False,
    write_config: WriteConfigOpt = False,
    batch: Annotated[int, typer.Option(help="Rows copied per batch (one short transaction each).")] = 10_000,
    resume: Annotated[bool, typer.Option("--resume", help="Continue an interrupted conversion.")] = False,
    abort: Annotated[bool, typer.Option("--abort", help="Undo an unfinished conversion.")] = False,
    drop_old: Annotated[bool, typer.Option("--drop-old", help="Drop the original once swapped.")] = False,
    lock_timeout: Annotated[str, typer.Option(help="Longest wait for each short lock.")] = "500ms",
    now: NowOpt = None,
    env: EnvOpt = None,
    yes: YesOpt = False,
    json: JsonOpt = False,
) -> None:
    """Partition a live table: writes a migration (default) or, with --apply, converts it online now
    (reads and writes go on; resumable with --resume, undone with --abort)."""
    from pgwarden.errors import BadInput
    from pgwarden.partition import api
    from pgwarden.units import parse_duration

    if resume and abort:
        raise BadInput("give --resume or --abort, not both")
    config = load()
    if abort:
        aborted = api.abort(config, env, table_name)
        if json:
            emit_json(aborted)
        else:
            console().print(
                f"aborted: {_esc(aborted.table)} is unchanged; the partial copy, trigger and log were removed"
            )
        return
    tuning = api.Tuning(batch=batch, lock_timeout=parse_duration(lock_timeout))
    if resume:

        def resumed(progress: Any = None) -> ConvertResult:
            return api.resume(config, env, table_name, tuning, drop_old=drop_old, progress=progress)

        result = resumed() if json else _with_progress(resumed)
        if json:
            emit_json(result)
        else:
            _render_converted(result)
        return
    layout = api.layout(config, table_name, api.LayoutOptions(key, interval, modulus, premake, default, past))
    if not apply:
        _migration_written(
            api.write_migration(
                config,
                env,
                layout,
                verb="convert",
                widen_unique=widen_unique,
                drop_old=drop_old,
                batch=batch if batch != 10_000 else None,
                write_config=write_config,
            ),
            json,
        )
        return

    def converted(progress: Any = None) -> ConvertResult:
        return api.convert(
            config, env, layout, tuning, drop_old=drop_old, widen_unique=widen_unique, now=_now(now), progress=progress
        )

    result = converted() if json else _with_progress(converted)
    entry, added = api.config_entry(config, layout, write=write_config)
    if json:
        emit_json(result)
        return
    _render_converted(result)
    _next_step_entry(entry, added)


@app.command()
def advise(
    env: EnvOpt = None,
    min_rows: Annotated[
        int | None,
        typer.Option(
            "--rows",
            "--min-rows",
            help="Rows that call for partitioning; also the most rows a partition should hold [1000000].",
        ),
    ] = None,
    min_size: Annotated[
        str | None,
        typer.Option(
            "--size",
            "--min-size",
            help="Size that calls for partitioning; also the largest a partition should be [10GB].",
        ),
    ] = None,
    monthly_rows: Annotated[
        int | None, typer.Option(help="Monthly growth that calls for partitioning [100000].")
    ] = None,
    seq_scan_rows: Annotated[
        int | None, typer.Option(help="Table rows from which sequential scans count [100000].")
    ] = None,
    seq_scans: Annotated[
        int | None, typer.Option(help="Sequential scans on such a table that call for partitioning [50].")
    ] = None,
    json: JsonOpt = False,
) -> None:
    """Say which tables to partition, by which key and interval (partitions within the thresholds), or what
    must change first. Thresholds: these flags over ``[partition] thresholds`` over the defaults."""
    from pgwarden.partition import api
    from pgwarden.units import human_size

    config = load()
    limits = api.thresholds(
        config,
        {
            "rows": min_rows,
            "size": min_size,
            "monthly_rows": monthly_rows,
            "seq_scan_rows": seq_scan_rows,
            "seq_scans": seq_scans,
        },
    )
    result = api.advise(config, env, thresholds=limits)
    if json:
        emit_json(result)
        return
    if not result.advice:
        console().print(
            "no table needs partitioning yet (thresholds: "
            f"{limits.rows:,} rows, {human_size(limits.bytes)}, {limits.monthly_rows:,} rows a month)"
        )
        return
    rows = [
        [
            _esc(a.table),
            f"{a.rows:,}",
            human_size(a.size_bytes),
            _esc("; ".join(a.reasons)),
            _esc(f"{a.key} ({a.key_source})") if a.key else "-",
            a.interval or (f"hash x{a.modulus}" if a.modulus else "-"),
            f"~{a.partition_rows:,} rows / {human_size(a.partition_bytes or 0)}" if a.partition_rows else "-",
        ]
        for a in result.advice
    ]
    console().print(
        table("tables to partition", ["table", "rows", "size", "why", "key", "interval", "each partition"], rows)
    )
    for a in result.advice:
        if a.command:
            console().print(f"  {_esc(a.command)}")
        for blocker in a.blockers:
            console().print(f"  {_esc(a.table)}: first: {_esc(blocker)}")
    if not result.pg_stat_statements:
        info("pg_stat_statements is not available: keys chosen from column names, not from your queries")
