"""``pgwarden backfill``: a batched, resumable UPDATE that keeps every transaction short."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Annotated

import typer

from pgwarden.cli.common import EnvOpt, JsonOpt, YesOpt, console, emit_json, info, load

if TYPE_CHECKING:
    from pgwarden.backfill.engine import BatchReport


@contextmanager
def _progress(enabled: bool, what: str) -> Iterator[Callable[[BatchReport], None] | None]:
    """A progress bar with rows/s and ETA on stderr when it is a terminal (else no callback)."""
    if not enabled:
        yield None
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[rate]} rows/s"),
        TimeRemainingColumn(),
        console=console(stderr=True),
        transient=True,
    ) as bar:
        task = bar.add_task(what, total=None, rate="-")

        def update(report: BatchReport) -> None:
            description = what if report.paused is None else f"{what} ({report.paused})"
            bar.update(
                task,
                completed=report.rows_done,
                total=report.estimated_rows,
                rate=f"{report.rows_per_second:,.0f}",
                description=description,
            )

        yield update


def backfill(
    table_name: Annotated[str, typer.Argument(metavar="TABLE", help="The table to update (schema.table or table).")],
    set_clause: Annotated[
        str, typer.Option("--set", help='Assignments, as after SET: "total = price * qty". Must be idempotent.')
    ],
    where: Annotated[str | None, typer.Option("--where", help="Only rows matching this condition.")] = None,
    batch: Annotated[int, typer.Option("--batch", help="Rows per batch (one short transaction each).")] = 5000,
    sleep: Annotated[str, typer.Option("--sleep", help="Pause between batches, e.g. 50ms.")] = "0s",
    max_lag: Annotated[str, typer.Option("--max-lag", help="Pause while a replica lags more than this.")] = "10s",
    restart: Annotated[
        bool,
        typer.Option(
            "--restart", help="Start from the first key, not where an unfinished run of the same backfill stopped."
        ),
    ] = False,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Show the batch plan and row estimate; change nothing.")
    ] = False,
    env: EnvOpt = None,
    yes: YesOpt = False,
    json: JsonOpt = False,
) -> None:
    """Update a big table in keyset batches: resumable after a crash, throttled, one short transaction a batch."""
    from pgwarden.backfill.api import BackfillPlan
    from pgwarden.backfill.api import backfill as run_backfill
    from pgwarden.backfill.engine import Throttle
    from pgwarden.backfill.spec import BackfillSpec, parse_table
    from pgwarden.errors import BadInput
    from pgwarden.units import human_duration, parse_duration

    try:
        pause, lag = parse_duration(sleep), parse_duration(max_lag)
    except ValueError as exc:
        raise BadInput(f"--sleep/--max-lag: {exc}") from None
    spec = BackfillSpec(parse_table(table_name), set_clause, where, batch, pause)
    config = load()
    with _progress(not json and not dry_run and console(stderr=True).is_terminal, f"backfill {spec.table}") as bar:
        result = run_backfill(
            config, env, spec, dry_run=dry_run, restart=restart, throttle=Throttle(max_lag=lag), on_batch=bar
        )
    if json:
        emit_json(result)
        return
    out = console()
    if isinstance(result, BackfillPlan):
        out.print(
            f"would backfill {result.table}: about {result.estimated_rows:,} row(s) in "
            f"{result.estimated_batches:,} batch(es) of {result.batch:,}, keyset on "
            f"({', '.join(result.key_columns)})",
            markup=False,
        )
        if result.resume_from is not None:
            out.print(
                f"resumes after key ({', '.join(result.resume_from)}): {result.rows_done_before:,} row(s) already done",
                markup=False,
            )
        out.print(f"each batch: {result.statement}", markup=False)
        return
    if result.resumed_from is not None:
        info(f"resumed after key ({', '.join(result.resumed_from)})")
    for pause_reason in dict.fromkeys(result.pauses):
        info(f"paused: {pause_reason}")
    out.print(
        f"backfilled {result.table}: {result.rows_updated:,} row(s) in {result.batches:,} batch(es), "
        f"{human_duration(result.seconds)} ({result.rows_per_second:,.0f} rows/s); "
        f"{result.rows_total:,} row(s) in all",
        markup=False,
    )


def register(app: typer.Typer) -> None:
    """Add ``backfill`` to the root command."""
    app.command(name="backfill")(backfill)
