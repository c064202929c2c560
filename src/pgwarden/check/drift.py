"""``pgwarden check``: does a live database still match what its applied migrations build?"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from pgwarden.check.managed import ManagedPartitions, ManagedTable, classify
from pgwarden.check.scratch import SCRATCH_ENV, with_scratch_env
from pgwarden.check.settings import check_settings, with_overrides
from pgwarden.config import Config
from pgwarden.db import Intent, connect, resolve_target
from pgwarden.migrations import api as commands
from pgwarden.migrations import history
from pgwarden.migrations.plan import current_version
from pgwarden.schema.diff import Difference, diff
from pgwarden.schema.snapshot import Snapshot, snapshot_of
from pgwarden.server import scratch_database


@dataclass(frozen=True)
class DriftResult:
    """The differences between the live schema and the one its applied migrations build.

    ``differences`` is the drift (exit 1 when not empty); ``information`` what is
    reported but not drift (column order unless strict); ``managed_partitions`` the
    children ``partition maintain`` created or detached; ``ignored`` counts every
    class of difference set aside, so nothing hides.
    """

    env: str
    database: str
    version: str | None
    migrations_applied: list[str]
    objects_compared: int
    differences: list[Difference] = field(default_factory=list)
    information: list[Difference] = field(default_factory=list)
    managed_partitions: list[ManagedPartitions] = field(default_factory=list)
    ignored: dict[str, int] = field(default_factory=dict)
    pending: list[str] = field(default_factory=list)
    _expected: Snapshot | None = None
    _actual: Snapshot | None = None

    @property
    def drifted(self) -> bool:
        return bool(self.differences)


def managed_tables(config: Config) -> list[ManagedTable]:
    """Every ``[[partitions]]`` entry and the rule for its children's names (from the partition package)."""
    from functools import partial

    from pgwarden.partition.api import is_child_name
    from pgwarden.partition.spec import configured

    return [
        ManagedTable(f"{layout.schema}.{layout.table}", partial(is_child_name, layout)) for layout in configured(config)
    ]


def check(
    config: Config, env: str | None = None, *, strict_order: bool | None = None, ignore_kinds: tuple[str, ...] = ()
) -> DriftResult:
    """Compare ``env``'s catalog with a scratch database built by the migrations ``env`` has applied.

    The migrations up to the live database's recorded version are applied to a
    fresh scratch database (dropped afterwards); both catalogs are read into
    snapshots and compared by meaning. Read-only on ``env``. Expected = migrations,
    actual = live: ``missing`` means the migrations create it and the live database
    lacks it; ``unexpected`` means someone added it by hand. ``[check]`` settings
    apply, with ``strict_order`` / ``ignore_kinds`` from the command line on top.
    """
    settings = with_overrides(check_settings(config), strict_order=strict_order, ignore_kinds=ignore_kinds)
    target = resolve_target(config, env, intent=Intent.READ)
    with connect(target.url) as conn:
        applied = history.applied(conn)
        database = conn.info.dbname
    version = current_version(applied)
    pending = [f.version for f in commands.pending_files(config, target.env_name)]
    with ThreadPoolExecutor(max_workers=1) as pool:
        live_read = pool.submit(snapshot_of, target.url)  # read the live catalog while the scratch is built
        with scratch_database(config, "check") as url:
            steps = []
            if version is not None:
                result = commands.up(with_scratch_env(config, url), SCRATCH_ENV, to=version)
                steps = [s.version for s in result.steps]
            expected = snapshot_of(url)
        live = live_read.result()
    sorted_out = classify(
        diff(expected, live),
        expected,
        live,
        managed_tables=managed_tables(config),
        ignore=tuple(settings.ignore),
        ignore_kinds=tuple(settings.ignore_kinds),
        strict_order=settings.strict_order,
    )
    return DriftResult(
        target.env_name,
        database,
        version,
        steps,
        expected.count(),
        sorted_out.drift,
        sorted_out.information,
        sorted_out.managed,
        sorted_out.ignored,
        pending,
        expected,
        live,
    )
