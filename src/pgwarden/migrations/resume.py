"""Starting or resuming a ``transaction:false`` section: who owns its history row and where it starts.

Guarantees: statements recorded as done are never run again, and must be
unchanged in the file (their checksums are compared one by one; the failed
statement and those after it may be edited); a statement whose runner died while
it ran alone is judged from the catalog (:mod:`outcome`), and when the catalog
cannot tell, nothing runs and the error names the statement and the choices.
"""

from __future__ import annotations

from pgwarden.errors import ProblemsFound
from pgwarden.migrations import history
from pgwarden.migrations.history import AppliedMigration
from pgwarden.migrations.outcome import drop_index, judge
from pgwarden.migrations.runner import ExecutionContext, Tracker
from pgwarden.sources import MigrationFile, Section, statement_checksum


def checksums(section: Section) -> tuple[str, ...]:
    """The checksum of every statement of ``section``, in order."""
    return tuple(statement_checksum(s) for s in section.statements)


def _check_done_unchanged(
    migration: MigrationFile, section: Section, done: int, recorded: tuple[str, ...], *, file_checksum_matches: bool
) -> None:
    if not recorded and not file_checksum_matches:
        raise ProblemsFound(
            f"{migration.path}: edited after it stopped at statement {done + 1}; this history row has no "
            "per-statement checksums, so pgwarden cannot tell which statements already ran",
            hint=f"restore the file, or run `pgwarden migrate repair` to keep statements 1-{done} as done",
        )
    if not recorded:
        return
    current = checksums(section)[:done]
    for index, (now, then) in enumerate(zip(current, recorded[:done], strict=False), start=1):
        if now != then:
            statement = section.statements[index - 1]
            raise ProblemsFound(
                f"{migration.path}:{statement.line}: statement {index} of {migration.label} ({section.direction}) "
                f"was edited after it ran; statements 1-{done} ran as recorded and are not run again",
                hint=f"restore statements 1-{done}; statement {done + 1} and later may be edited; or run "
                "`pgwarden migrate repair` to accept the file as it is now",
            )
    if len(current) < done:
        raise ProblemsFound(
            f"{migration.path}: has {len(current)} statements in its {section.direction} section "
            f"but {done} already ran",
            hint="restore the file as it ran",
        )


def _settle_cut_statement(ctx: ExecutionContext, tracker: Tracker, section: Section) -> None:
    """Decide the statement after ``tracker.done`` when the last run stopped at it (unknown: run it again)."""
    if tracker.done >= len(section.statements):
        return
    statement = section.statements[tracker.done]
    verdict = judge(ctx.conn, statement)
    label = f"{tracker.migration.label} statement {statement.index}"
    if verdict.verdict == "done":
        ctx.reporter.note(f"{label}: already done ({verdict.reason}); continuing after it")
        tracker.mark_done(statement)
    elif verdict.verdict == "rebuild" and verdict.index is not None:
        ctx.reporter.note(f"{label}: {verdict.reason}; dropping it to build it again")
        drop_index(ctx.conn, verdict.index)


def refuse_unknown(
    ctx: ExecutionContext, migration: MigrationFile, section: Section, row: AppliedMigration, done: int
) -> None:
    """ProblemsFound when the last run died inside a statement whose outcome the catalog cannot tell."""
    if row.status not in ("running", "reverting") or done >= len(section.statements):
        return
    statement = section.statements[done]
    verdict = judge(ctx.conn, statement)
    if verdict.verdict != "unknown":
        return
    command = "up" if section.direction == "up" else "down"
    raise ProblemsFound(
        f"{migration.path}:{statement.line}: {migration.label} ({section.direction}) statement {statement.index}: "
        f"outcome unknown: the runner stopped while it ran and {verdict.reason}; nothing was run",
        hint=f"check the database; if it took effect run `pgwarden migrate repair --ran {migration.version}`, if "
        f"not `pgwarden migrate repair --not-ran {migration.version}`; then `pgwarden migrate {command}`",
        details={"version": migration.version, "statement": statement.index, "outcome": "unknown"},
    )


def start_up(ctx: ExecutionContext, migration: MigrationFile, row: AppliedMigration | None) -> Tracker:
    """The Tracker of ``migration``'s up section for this run: a new row, or the stopped run's row taken over."""
    section = migration.up
    if row is None:
        history.record(
            ctx.conn,
            version=migration.version,
            name=migration.name,
            checksum=migration.checksum,
            duration_ms=0,
            transactional=False,
            status="running",
            statements_done=0,
            statements_total=len(section.statements),
            run_id=ctx.run_id,
        )
        return Tracker(ctx.conn, migration, "up", ctx.run_id, 0, ())
    done = row.statements_done
    _check_done_unchanged(
        migration, section, done, row.statement_checksums, file_checksum_matches=row.checksum == migration.checksum
    )
    refuse_unknown(ctx, migration, section, row, done)
    tracker = Tracker(ctx.conn, migration, "up", ctx.run_id, done, checksums(section)[:done])
    tracker.take_over(row.run_id)
    _settle_cut_statement(ctx, tracker, section)
    return tracker


def start_down(ctx: ExecutionContext, migration: MigrationFile, row: AppliedMigration) -> Tracker:
    """The Tracker of ``migration``'s down section: from an applied row, or a stopped revert taken over."""
    section = migration.down
    assert section is not None
    up_sums = row.statement_checksums or checksums(migration.up)
    if row.status == "applied":
        tracker = Tracker(ctx.conn, migration, "down", ctx.run_id, 0, (), row.statements_done, up_sums)
        tracker.take_over(row.run_id)
        return tracker
    done = row.down_done
    _check_done_unchanged(
        migration, section, done, row.down_checksums, file_checksum_matches=row.checksum == migration.checksum
    )
    refuse_unknown(ctx, migration, section, row, done)
    tracker = Tracker(
        ctx.conn, migration, "down", ctx.run_id, done, checksums(section)[:done], row.statements_done, up_sums
    )
    tracker.take_over(row.run_id)
    _settle_cut_statement(ctx, tracker, section)
    return tracker
