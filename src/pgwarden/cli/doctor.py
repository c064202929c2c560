"""Top-level commands ``doctor``, ``tune`` and ``metrics``: parse, call pgwarden.doctor, render."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer

from pgwarden.cli.common import EnvOpt, JsonOpt, cell, console, emit_json, load, table

if TYPE_CHECKING:
    from pgwarden.doctor.model import CheckResult, DoctorReport
    from pgwarden.doctor.tune import TuneResult

_STYLE = {"ok": "green", "warn": "yellow", "fail": "red", "error": "magenta"}
_EVIDENCE_ROWS = 5


def _is_nested(value: Any) -> bool:
    return isinstance(value, list) and any(isinstance(v, dict) for v in value)


def _render_evidence(evidence: list[dict[str, Any]]) -> None:
    """Scalar fields as a table; lists of records (e.g. a blocked query's blockers) as indented lines."""
    out = console()
    shown = evidence[:_EVIDENCE_ROWS]
    keys = list(dict.fromkeys(k for row in shown for k in row))
    nested = [k for k in keys if any(_is_nested(row.get(k)) for row in shown)]
    columns = [k for k in keys if k not in nested]
    out.print(table(None, columns, [[cell(row.get(c)) for c in columns] for row in shown]))
    for row in shown:
        for key in nested:
            label = f"{columns[0]} {row.get(columns[0])}" if columns else "row"
            for item in row.get(key) or []:
                text = ", ".join(f"{k}={cell(v)}" for k, v in item.items()) if isinstance(item, dict) else cell(item)
                out.print(f"      {label} {key}: {text}", markup=False)
    if len(evidence) > _EVIDENCE_ROWS:
        out.print(f"      [dim]... {len(evidence) - _EVIDENCE_ROWS} more (see --json)[/]")


def _render_check(result: CheckResult) -> None:
    from rich.markup import escape

    out = console()
    style = _STYLE[result.status]
    out.print(f"[{style}]{result.status.upper():5}[/] [bold]{result.name}[/]: {escape(result.summary)}")
    if result.status == "ok":
        return
    out.print(f"      [dim]why: {escape(result.why)}[/]")
    if result.evidence:
        _render_evidence(result.evidence)
    for line in result.fix:
        out.print(f"      fix: {line}", markup=False, highlight=False)


def _render_report(report: DoctorReport) -> None:
    for result in report.checks:
        _render_check(result)
    c = report.counts
    console().print(
        f"\n{report.database} (PostgreSQL {report.server_version}"
        + (f", env {report.env}" if report.env else "")
        + f"): {c['ok']} ok, {c['warn']} warn, "
        f"{c['fail']} fail, {c['error']} error in {report.seconds:.2f}s"
    )


def doctor(
    env: EnvOpt = None,
    check: Annotated[list[str] | None, typer.Option("--check", help="Run only this check (repeatable).")] = None,
    list_checks: Annotated[bool, typer.Option("--list", help="List the checks and thresholds.")] = False,
    json: JsonOpt = False,
) -> None:
    """Health checks: each says ok, warn or fail with its evidence and the fix; exit 1 if any fails."""
    if list_checks:
        _list_checks(json)
        return
    from pgwarden.doctor.runner import run_doctor

    config = load()
    report = run_doctor(config, env, checks=check or None)
    if json:
        emit_json(report)
    else:
        _render_report(report)
    raise typer.Exit(report.exit_code)


def _list_checks(json: bool) -> None:
    from pgwarden.doctor.registry import all_checks
    from pgwarden.doctor.thresholds import THRESHOLDS

    checks = all_checks()
    if json:
        emit_json(
            {
                "checks": [{"name": c.name, "category": c.category, "why": c.why} for c in checks.values()],
                "thresholds": list(THRESHOLDS),
            }
        )
        return
    console().print(
        table("checks", ["check", "category", "why"], [[c.name, c.category, c.why] for c in checks.values()])
    )
    console().print(
        table(
            "thresholds ([doctor] thresholds = {...})",
            ["name", "default", "check", "meaning"],
            [[t.name, t.default, t.check, t.doc] for t in THRESHOLDS],
        )
    )


def _render_tune(result: TuneResult) -> None:
    from rich.markup import escape

    from pgwarden.doctor.tune import SAME_AS_HAND_TUNED
    from pgwarden.units import human_size

    out = console()
    out.print(
        f"{human_size(result.ram_bytes)} RAM, {result.cpus} CPUs, {result.storage}, {result.workload}, "
        f"{result.connections} connections  [dim]({result.formulas})[/]"
    )
    for note in result.machine:
        out.print(f"  [dim]{escape(note)}[/]")
    if result.assumed:
        out.print(f"  assumed: {'; '.join(result.assumed)}", markup=False)
    columns = ["setting", "value", "formula", "hand-tuned 4GB"]
    if result.env:
        columns.insert(2, "live")
    rows = []
    for s in result.settings:
        row = [s.name, s.value, s.formula, s.hand_tuned]
        if result.env:
            row.insert(2, (s.live or "-") + (" *" if s.differs else ""))
        rows.append(row)
    out.print(table(None, columns, rows))
    notes = [(s.name, s.note) for s in result.settings if s.note and s.note != SAME_AS_HAND_TUNED]
    if notes:
        out.print("notes:")
        for name, note in notes:
            out.print(f"  {name}: {note}", markup=False)
    if result.env:
        if not result.alter_system:
            out.print(f"environment {result.env} already matches every recommendation")
            return
        out.print(f"\nto apply on {result.env} (* = differs; review first, nothing was changed):")
        for command in result.alter_system:
            out.print(f"  {command}", markup=False, highlight=False)
        if result.restart_needed:
            out.print(f"  then restart PostgreSQL for: {', '.join(result.restart_needed)}")


def tune(
    ram: Annotated[
        str | None,
        typer.Option(
            "--ram", help="Memory for PostgreSQL, e.g. 4GB (default: this machine's, honouring cgroup limits)."
        ),
    ] = None,
    cpus: Annotated[int | None, typer.Option("--cpus", help="CPUs (default: this machine's, cgroup aware).")] = None,
    storage: Annotated[
        str | None, typer.Option("--storage", help="ssd, hdd, san or nvme (default: ssd, said so in the output).")
    ] = None,
    workload: Annotated[
        str | None,
        typer.Option("--workload", help="web, oltp, dw, mixed or desktop (default: web, said so in the output)."),
    ] = None,
    connections: Annotated[
        int | None, typer.Option("--connections", help="Expected max_connections (default: pgtune's for the workload).")
    ] = None,
    env: EnvOpt = None,
    json: JsonOpt = False,
) -> None:
    """Recommended settings with the formula behind each; with --env, the diff against the live server."""
    from pgwarden.doctor.tune import tune as run_tune
    from pgwarden.errors import BadInput
    from pgwarden.units import parse_size

    try:
        ram_bytes = parse_size(ram) if ram else None
    except ValueError as exc:
        raise BadInput(f"--ram: {exc}") from None
    config = load() if env is not None else None
    result = run_tune(
        ram_bytes=ram_bytes,
        cpus=cpus,
        storage=storage,
        workload=workload,
        connections=connections,
        config=config,
        env=env,
    )
    if json:
        emit_json(result)
    else:
        _render_tune(result)


def metrics(
    env: EnvOpt = None,
    with_checks: Annotated[
        bool, typer.Option("--with-checks", help="Also run doctor and export each check's status.")
    ] = False,
    json: JsonOpt = False,
) -> None:
    """Key figures in the Prometheus text format (for a textfile collector or a scrape wrapper)."""
    from pgwarden.doctor.metrics import collect, render

    collected = collect(load(), env, with_checks=with_checks)
    if json:
        emit_json(collected)
        return
    typer.echo(render(collected), nl=False)


def register(app: typer.Typer) -> None:
    """Add ``doctor``, ``tune`` and ``metrics`` to ``app``."""
    app.command()(doctor)
    app.command()(tune)
    app.command()(metrics)
