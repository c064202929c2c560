"""``pgwarden check --emit-migration NAME``: turn drift into SQL a person reviews, then commits.

Guarantees: only files are written, never the database. ``towards="live"`` writes a
new migration (``<timestamp>_<name>.sql`` in the migrations folder) whose up makes
what the migrations build match the live database and whose down undoes it;
``towards="migrations"`` writes ``<name>.sql`` in the project folder: the SQL that
would bring the live database back to what the migrations build (not a migration:
the migrations already describe that state). What cannot be expressed is written
as a ``-- pgwarden: cannot express:`` comment line and listed in the result. The
file is linted and the result says whether it lints clean.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from pgwarden.check.drift import DriftResult
from pgwarden.config import Config
from pgwarden.errors import BadInput
from pgwarden.schema.diff import ORDER, Difference
from pgwarden.schema.snapshot import KINDS, Snapshot
from pgwarden.schema.transition import transition

Towards = Literal["live", "migrations"]
CANNOT = "-- pgwarden: cannot express:"


@dataclass(frozen=True)
class EmitResult:
    """The file written, how many statements it holds, what it could not express, and its lint verdict."""

    path: Path
    towards: Towards
    statements: int
    cannot_express: list[str] = field(default_factory=list)
    lint_clean: bool = True
    lint_findings: list[str] = field(default_factory=list)


def _script(differences: list[Difference], source: Snapshot, target: Snapshot) -> tuple[list[str], list[str]]:
    drops: dict[str, list[str]] = {}
    creates: dict[str, list[str]] = {}
    cannot: list[str] = []
    for difference in differences:
        if difference.kind == ORDER:
            cannot.append(f"{difference.describe()} (column order: recreate the table by hand if it matters)")
            continue
        steps = transition(difference.kind, difference.name, source, target)
        if steps.cannot:
            cannot.append(steps.cannot)
        drops.setdefault(difference.kind, []).extend(steps.drops)
        creates.setdefault(difference.kind, []).extend(steps.creates)
    statements = [s for kind in reversed(KINDS) for s in drops.get(kind, [])]
    statements += [s for kind in KINDS for s in creates.get(kind, [])]
    return statements, cannot


def _section(statements: list[str], cannot: list[str]) -> str:
    lines = [f"{CANNOT} {reason}" for reason in cannot] + statements
    return "\n".join(lines) if lines else "-- nothing to do"


def _count(statements: list[str]) -> int:
    return sum(
        1
        for s in statements
        for line in s.splitlines()
        if line.strip().endswith(";") and not line.lstrip().startswith("--")
    )


def emit_migration(config: Config, result: DriftResult, name: str, *, towards: Towards = "live") -> EmitResult:
    """Write the differences of ``result`` (a :func:`~pgwarden.check.drift.check` result) as SQL.

    Only the drift is written (not information, not managed or ignored differences).
    Raises BadInput when ``name`` has no letters or digits or the result carries no snapshots.
    """
    from pgwarden.lint.api import lint_paths
    from pgwarden.migrations.api import new

    expected, actual = result._expected, result._actual
    if expected is None or actual is None:
        raise BadInput("this check result carries no snapshots to write a migration from")
    header = (
        f"-- Written by `pgwarden check --emit-migration` from the drift of {result.env} "
        f"({result.database}) against the migrations up to {result.version or 'none'}.\n"
        "-- Review every statement before committing it."
    )
    if towards == "live":
        up, cannot = _script(result.differences, expected, actual)
        down, cannot_down = _script(result.differences, actual, expected)
        path = new(config, name)
        text = f"-- migrate:up\n{header}\n{_section(up, cannot)}\n\n-- migrate:down\n{_section(down, cannot_down)}\n"
    else:
        up, cannot = _script(result.differences, actual, expected)
        slug = "".join(c if c.isalnum() else "_" for c in name.lower()).strip("_")
        if not slug:
            raise BadInput(f"name {name!r} has no letters or digits")
        path = config.root / f"{slug}.sql"
        text = (
            f"{header}\n-- Run on {result.env} to bring it back to what the migrations build.\n{_section(up, cannot)}\n"
        )
    path.write_text(text, encoding="utf-8")
    report = lint_paths([path], config=config)
    findings = [f"{f.location}: {f.severity} [{f.rule}] {f.message}" for f in report.active if f.severity != "info"]
    return EmitResult(path, towards, _count(up), cannot, not report.errors, findings)
