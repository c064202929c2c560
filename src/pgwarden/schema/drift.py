"""``pgwarden check``: does a live database still match what its applied migrations build?"""

from __future__ import annotations

from dataclasses import dataclass, field

from pgwarden.config import Config
from pgwarden.db import Intent, connect, resolve_target
from pgwarden.migrations import commands, history
from pgwarden.migrations.plan import current_version
from pgwarden.schema.diff import Difference, diff
from pgwarden.schema.scratch import SCRATCH_ENV, with_scratch_env
from pgwarden.schema.snapshot import snapshot_of, take_snapshot


@dataclass(frozen=True)
class DriftResult:
    """The differences between the live schema and the one its applied migrations build."""

    env: str
    database: str
    version: str | None
    migrations_applied: list[str]
    objects_compared: int
    differences: list[Difference] = field(default_factory=list)
    pending: list[str] = field(default_factory=list)

    @property
    def drifted(self) -> bool:
        return bool(self.differences)


def check(config: Config, env: str | None = None) -> DriftResult:
    """Compare ``env``'s catalog with a scratch database built by the migrations ``env`` has applied.

    The migrations up to the live database's recorded version are applied to a
    fresh scratch database (dropped afterwards); both catalogs are read into
    snapshots and compared object by object. Read-only on ``env``. Expected =
    migrations, actual = live: ``missing`` means the migrations create it and
    the live database lacks it; ``unexpected`` means someone added it by hand.
    """
    from pgwarden.server import scratch_database

    target = resolve_target(config, env, intent=Intent.READ)
    with connect(target.url) as conn:
        applied = history.applied(conn)
        database = conn.info.dbname
        live = take_snapshot(conn)
    version = current_version(applied)
    pending = [f.version for f in commands.pending_files(config, target.env_name)]
    with scratch_database(config, "check") as url:
        steps = []
        if version is not None:
            result = commands.up(with_scratch_env(config, url), SCRATCH_ENV, to=version)
            steps = [s.version for s in result.steps]
        expected = snapshot_of(url)
    return DriftResult(target.env_name, database, version, steps, expected.count(), diff(expected, live),
                       pending)
