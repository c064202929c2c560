"""``pgwarden backfill``: the typed entry points the CLI and the migration directive call."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pgwarden.backfill import engine
from pgwarden.backfill.engine import BatchReport, KeyColumn, Throttle
from pgwarden.backfill.spec import DEFAULT_BATCH, BackfillSpec, validate
from pgwarden.backfill.store import BackfillStore
from pgwarden.db import LockRetryPolicy
from pgwarden.errors import BadInput

if TYPE_CHECKING:
    import psycopg

    from pgwarden.config import Config


@dataclass
class BackfillPlan:
    """What a backfill would do (``--dry-run``): nothing is written."""

    table: str
    backfill_id: str
    key_columns: list[str]
    estimated_rows: int
    batch: int
    estimated_batches: int
    resume_from: list[str] | None
    rows_done_before: int
    statement: str


@dataclass
class BackfillResult:
    """What a backfill run did; ``resumed_from`` is the key it continued after (None for a fresh start)."""

    table: str
    backfill_id: str
    key_columns: list[str]
    rows_updated: int
    batches: int
    rows_total: int
    resumed_from: list[str] | None
    seconds: float
    rows_per_second: float
    idempotency_checked: bool
    pauses: list[str] = field(default_factory=list)
    paused_seconds: float = 0.0


def plan(conn: psycopg.Connection[Any], spec: BackfillSpec) -> BackfillPlan:
    """The batch plan and row estimate for ``spec`` on ``conn``'s database (reads only)."""
    validate(spec)
    keys = engine.key_columns(conn, spec.table)
    estimated = engine.estimate_rows(conn, spec)
    progress = BackfillStore(conn).load(spec.backfill_id)
    resume = progress.last_key if progress and progress.status == "running" else None
    statement = (
        engine.next_key_statement(spec, keys, after=resume, limit=spec.batch).as_string(conn)
        + "; "
        + engine.update_statement(spec, keys, after=resume, upto=["<last key of the batch>"] * len(keys)).as_string(
            conn
        )
    )
    done_before = progress.rows_done if progress and resume else 0
    return BackfillPlan(
        str(spec.table),
        spec.backfill_id,
        [k.name for k in keys],
        estimated,
        spec.batch,
        -(-estimated // spec.batch),
        resume,
        done_before,
        statement,
    )


def run(
    conn: psycopg.Connection[Any],
    spec: BackfillSpec,
    *,
    policy: LockRetryPolicy,
    throttle: Throttle | None = None,
    restart: bool = False,
    on_batch: Callable[[BatchReport], None] | None = None,
) -> BackfillResult:
    """Run (or resume) the backfill on ``conn`` (autocommit, used only by it) until every row is done.

    A run whose SET and WHERE match an unfinished earlier run continues after its last committed
    key; ``restart`` starts from the first key instead. See :mod:`pgwarden.backfill.engine`.
    """
    validate(spec)
    keys: list[KeyColumn] = engine.key_columns(conn, spec.table)
    store = BackfillStore(conn)
    earlier = store.load(spec.backfill_id)
    fresh = restart or earlier is None or earlier.status == "done"
    progress = store.start(spec, [k.name for k in keys], restart=fresh)
    estimated = engine.estimate_rows(conn, spec)
    started = time.monotonic()
    stats = engine.run(
        conn,
        spec,
        progress,
        keys,
        policy=policy,
        throttle=throttle or Throttle(),
        estimated_rows=estimated,
        on_batch=on_batch,
    )
    store.finish(spec.backfill_id)
    seconds = time.monotonic() - started
    return BackfillResult(
        str(spec.table),
        spec.backfill_id,
        [k.name for k in keys],
        stats.rows,
        stats.batches,
        progress.rows_done + stats.rows,
        progress.last_key,
        round(seconds, 3),
        round(stats.rows / seconds, 1) if seconds > 0 else 0.0,
        stats.idempotency_checked,
        stats.pauses,
        round(stats.paused_seconds, 3),
    )


def backfill(
    config: Config,
    env_name: str | None,
    spec: BackfillSpec,
    *,
    dry_run: bool = False,
    restart: bool = False,
    throttle: Throttle | None = None,
    on_batch: Callable[[BatchReport], None] | None = None,
) -> BackfillPlan | BackfillResult:
    """``pgwarden backfill`` on an environment: the plan with ``dry_run``, else the run (recorded as an event)."""
    from pgwarden import events
    from pgwarden.db import Intent, connect, resolve_target

    validate(spec)
    target = resolve_target(config, env_name, intent=Intent.READ if dry_run else Intent.SCHEMA_CHANGE)
    with connect(target.url, application_name="pgwarden backfill") as conn:
        if dry_run:
            return plan(conn, spec)
        result = run(
            conn,
            spec,
            policy=LockRetryPolicy.from_config(config, target.env),
            throttle=throttle,
            restart=restart,
            on_batch=on_batch,
        )
        events.record(
            conn,
            "backfill",
            str(spec.table),
            "ok",
            {
                "set": spec.set_clause,
                "where": spec.where,
                "rows": result.rows_updated,
                "batches": result.batches,
                "seconds": result.seconds,
            },
        )
        return result


def run_directive(conn: psycopg.Connection[Any], args: dict[str, str], *, policy: LockRetryPolicy, where: str) -> None:
    """``-- pgwarden:backfill table=… set=… [where=…] [batch=N] [sleep=50ms]`` inside a migration.

    Runs on the migration runner's connection and resumes after the last committed batch when the
    migration is resumed (same table, SET and WHERE).
    """
    from pgwarden.backfill.spec import parse_table
    from pgwarden.directives import require_args
    from pgwarden.errors import MigrationFileError
    from pgwarden.units import parse_duration

    require_args(args, required=("table", "set"), optional=("where", "batch", "sleep"), where=where, name="backfill")
    try:
        batch = int(args.get("batch", DEFAULT_BATCH))
        pause = parse_duration(args.get("sleep", "0s"))
    except ValueError as exc:
        raise MigrationFileError(f"{where}: pgwarden:backfill batch/sleep: {exc}") from None
    spec = BackfillSpec(parse_table(args["table"]), args["set"], args.get("where"), batch, pause)
    try:
        validate(spec)
    except BadInput as exc:
        raise MigrationFileError(f"{where}: {exc.message}") from None
    run(conn, spec, policy=policy)
