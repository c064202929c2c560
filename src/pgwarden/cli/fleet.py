"""``pgwarden fleet up|status``: one migration command over many databases, in parallel and resumable."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated

import typer

from pgwarden.cli.common import JsonOpt, console, emit_json, info, json_doc, load, table

if TYPE_CHECKING:
    from pgwarden.fleet.run import FleetResult, TargetOutcome

app = typer.Typer(
    help="Run a migration command over every database of [fleet]: parallel, in waves, resumable.", no_args_is_help=True
)

ParallelOpt = Annotated[
    int | None, typer.Option("--parallel", "-p", min=1, max=256, help="Targets at once (default: [fleet] parallel, 4).")
]
ResumeOpt = Annotated[bool, typer.Option("--resume", help="Run only the targets the last run did not finish ok.")]


def _progress(json: bool) -> Callable[[TargetOutcome], None] | None:
    if json:
        return None

    def done(outcome: TargetOutcome) -> None:
        info(f"{outcome.name}: {outcome.status}" + (f" ({outcome.detail})" if outcome.detail else ""))

    return done


def _render(result: FleetResult, json: bool) -> None:
    if json:
        emit_json({**json_doc(result), "counts": result.counts, "exit_code": result.exit_code})
    else:
        rows = [[t.name, t.status, t.version, t.applied or "", f"{t.seconds:.2f}s", t.detail] for t in result.targets]
        console().print(
            table(
                f"fleet {result.command} ({result.parallel} at a time" + (", resumed" if result.resumed else "") + ")",
                ["target", "status", "version", "applied", "time", "detail"],
                rows,
            )
        )
        versions: dict[str, int] = {}
        for t in result.targets:
            versions[t.version or "none"] = versions.get(t.version or "none", 0) + 1
        console().print(
            ", ".join(f"{n} {s}" for s, n in sorted(result.counts.items()))
            + "; by version: "
            + ", ".join(f"{v}: {n}" for v, n in sorted(versions.items()))
            + f"; {result.seconds:.1f}s",
            markup=False,
        )
    if result.exit_code:
        raise typer.Exit(result.exit_code)


@app.command("up")
def up(
    parallel: ParallelOpt = None,
    resume: ResumeOpt = False,
    waves: Annotated[
        str | None,
        typer.Option(
            "--waves",
            help="Cumulative waves, e.g. 1,5%,25%,100%: each runs only if the one before stayed under --max-failures.",
        ),
    ] = None,
    max_failures: Annotated[
        int, typer.Option("--max-failures", min=0, help="Failed targets a wave may have (default 0).")
    ] = 0,
    stop_on_error: Annotated[
        bool, typer.Option("--stop-on-error", help="Start no new target after the first failure.")
    ] = False,
    json: JsonOpt = False,
) -> None:
    """`migrate up` on every target (each with its own runner lock, retries and exactly-once history)."""
    from pgwarden.fleet.run import migrate_up, run

    result = run(
        load(),
        "migrate up",
        migrate_up,
        parallel=parallel,
        resume=resume,
        waves=waves,
        max_failures=max_failures,
        stop_on_error=stop_on_error,
        on_done=_progress(json),
    )
    _render(result, json)


@app.command("status")
def status(parallel: ParallelOpt = None, json: JsonOpt = False) -> None:
    """`migrate status` on every target, with counts by version (exit 1 when any target is behind or failed)."""
    from pgwarden.fleet.run import migrate_status, run

    _render(run(load(), "migrate status", migrate_status, parallel=parallel), json)
