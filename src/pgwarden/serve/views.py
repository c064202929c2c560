"""The data of each page, from the same public functions the CLI calls (no SQL here).

Every function takes the read-only project and the shared section pool and returns a plain dict for its
template; each part of a page is a :class:`~pgwarden.serve.sections.Section`, so a part that fails or
does not answer in time is shown as such while the rest of the page renders.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from pgwarden.agent.store import Snapshot, Store
from pgwarden.serve import adapters
from pgwarden.serve.readonly import ReadOnlyProject
from pgwarden.serve.sections import Section, Sections


def preload() -> None:
    """Import every module the pages call, once, in the calling thread: the section threads then never
    import concurrently (two threads importing one package can see it half initialized)."""
    import psycopg.conninfo  # noqa: F401
    import psycopg.rows  # noqa: F401

    import pgwarden.backup.api  # noqa: F401
    import pgwarden.doctor.metrics  # noqa: F401
    import pgwarden.doctor.runner  # noqa: F401
    import pgwarden.doctor.tune  # noqa: F401
    import pgwarden.events  # noqa: F401
    import pgwarden.migrations.api  # noqa: F401
    import pgwarden.partition.api  # noqa: F401
    import pgwarden.partition.inspect  # noqa: F401
    import pgwarden.partition.spec  # noqa: F401


def _timeout(project: ReadOnlyProject) -> float:
    return project.settings.seconds("section_timeout")


def _store(project: ReadOnlyProject) -> Store:
    return Store.of_project(project.config.state_path)


def _layouts(project: ReadOnlyProject) -> list[Any]:
    from pgwarden.partition.spec import configured

    return list(configured(project.config))


# -- overview ---------------------------------------------------------------------------------------
@dataclass
class EnvRow:
    """One environment on the overview."""

    env: str
    protected: bool
    parts: dict[str, Section] = field(default_factory=dict)
    snapshot: Snapshot | None = None
    drift: dict[str, Any] | None = None

    @property
    def reachable(self) -> bool:
        return self.parts["server"].ok


def _premade_ahead(project: ReadOnlyProject, env: str, now: datetime) -> dict[str, int]:
    """Per managed time-range table, how many partitions start after ``now``."""
    from pgwarden.partition.api import list_partitions as show

    config = project.config_for(env)
    out: dict[str, int] = {}
    for layout in _layouts(project):
        if layout.interval is None:
            continue
        listed = show(config, env, str(layout.name))
        out[str(layout.name)] = sum(1 for p in listed.partitions if p.lower is not None and p.lower > now)
    return out


def _last_verified_full(project: ReadOnlyProject, env: str) -> Any:
    from pgwarden.backup.api import newest_verified_full

    return newest_verified_full(project.config, env)


def overview(project: ReadOnlyProject, sections: Sections) -> dict[str, Any]:
    """Every environment in a row: reachable, version, migrations, pending, drift, backup, doctor, partitions."""
    from pgwarden.migrations.api import status

    now = datetime.now(UTC)
    jobs: dict[str, Callable[[], Any]] = {}
    for env in project.envs:
        jobs[f"{env}/server"] = (lambda e: lambda: adapters.server_version(project.url_for(e)))(env)
        jobs[f"{env}/migrations"] = (lambda e: lambda: status(project.config_for(e), e))(env)
        jobs[f"{env}/backup"] = (lambda e: lambda: _last_verified_full(project, e))(env)
        if _layouts(project):
            jobs[f"{env}/partitions"] = (lambda e: lambda: _premade_ahead(project, e, now))(env)
    found = sections.gather(jobs, _timeout(project), max_age=project.settings.seconds("overview_max_age"))
    store = _store(project)
    rows = []
    for env, settings in project.config.settings.environments.items():
        row = EnvRow(
            env, settings.protected, {k.split("/", 1)[1]: v for k, v in found.items() if k.split("/", 1)[0] == env}
        )
        snaps = store.snapshots(env, limit=1)
        row.snapshot = snaps[-1] if snaps else None
        checked = next((r for r in store.runs(env=env, task="check", limit=5) if r.outcome in ("ok", "failed")), None)
        if checked is not None and "drifted" in checked.details:
            row.drift = {"drifted": checked.details["drifted"], "at": checked.started_at}
        rows.append(row)
    oldest = min((part.at for row in rows for part in row.parts.values() if part.at), default=None)
    return {
        "rows": rows,
        "now": now,
        "has_partitions": bool(_layouts(project)),
        "as_of": datetime.fromtimestamp(oldest, UTC) if oldest else now,
    }


# -- per environment --------------------------------------------------------------------------------
def migrations(project: ReadOnlyProject, sections: Sections, env: str) -> dict[str, Any]:
    from pgwarden.migrations.api import history_of, status

    config = project.config_for(env)
    found = sections.gather(
        {"state": lambda: status(config, env), "history": lambda: history_of(config, env)}, _timeout(project)
    )
    return {"state": found["state"], "history": found["history"]}


def deploys(project: ReadOnlyProject, sections: Sections, env: str) -> dict[str, Any]:
    url = project.url_for(env)
    found = sections.gather({"events": lambda: adapters.recent_events(url, 100)}, _timeout(project))
    runs = _store(project).runs(env=env, limit=50)
    return {"events": found["events"], "runs": runs}


@dataclass
class CalendarDay:
    day: date
    backups: list[str]
    slots: list[str]


def gfs_calendar(decisions: list[Any], today: date, weeks: int = 5) -> list[CalendarDay]:
    """The last ``weeks`` calendar weeks (Monday first, up to today), each day with its backups and the
    retention slots (daily/weekly/monthly) they fill."""
    first = today - timedelta(days=today.weekday() + 7 * (weeks - 1))
    out = []
    for offset in range((today - first).days + 1):
        day = first + timedelta(days=offset)
        mine = [d for d in decisions if d.created_at.astimezone(UTC).date() == day]
        slots = sorted(
            {r.split()[0] for d in mine for r in d.reasons if r.split()[0] in ("daily", "weekly", "monthly")}
        )
        out.append(CalendarDay(day, [d.id for d in mine], slots))
    return out


def backups(project: ReadOnlyProject, sections: Sections, env: str) -> dict[str, Any]:
    from pgwarden.backup.api import Candidate, Policy, list_backups, plan
    from pgwarden.backup.settings import load as backup_settings

    settings = backup_settings(project.config)

    def load() -> dict[str, Any]:
        listed = list_backups(project.config, env)
        decisions = plan(
            [Candidate(b.id, b.created_at, b.verified, b.kind) for b in listed],  # type: ignore[arg-type]
            Policy.of(settings),
        )
        keep = {d.id: d for d in decisions}
        return {
            "backups": [(b, b.kind, keep.get(b.id)) for b in listed],
            "calendar": gfs_calendar(decisions, datetime.now(UTC).date()),
        }

    found = sections.gather({"backups": load}, _timeout(project))
    return {"backups": found["backups"], "keep": settings.keep}


def partitions(project: ReadOnlyProject, sections: Sections, env: str) -> dict[str, Any]:
    from pgwarden.partition.api import list_partitions as show

    config = project.config_for(env)
    now = datetime.now(UTC)
    layouts = _layouts(project)
    found = sections.gather(
        {str(layout.name): (lambda q: lambda: show(config, env, q))(str(layout.name)) for layout in layouts},
        _timeout(project),
    )
    tables = []
    for layout in layouts:
        cutoff = layout.retention.cutoff(now) if layout.retention else None
        tables.append(
            {
                "layout": layout,
                "section": found[str(layout.name)],
                "cutoff": cutoff,
                "timeline": _timeline(found[str(layout.name)], now, cutoff),
            }
        )
    return {"tables": tables, "now": now}


def _timeline(section: Section, now: datetime, cutoff: datetime | None) -> dict[str, Any] | None:
    """Horizontal positions (percent) of each range partition, now and the retention cut-off."""
    if not section.ok:
        return None
    ranged = [p for p in section.value.partitions if p.lower is not None and p.upper is not None]
    if not ranged:
        return None
    start, end = min(p.lower for p in ranged), max(p.upper for p in ranged)
    span = (end - start).total_seconds() or 1.0

    def pos(moment: datetime) -> float:
        return float(round(max(0.0, min(100.0, (moment - start).total_seconds() / span * 100)), 2))

    biggest = max((p.rows for p in ranged), default=0) or 1
    bars = [
        {
            "name": p.name,
            "left": pos(p.lower),
            "width": round(pos(p.upper) - pos(p.lower), 2),
            "rows": p.rows,
            "size": p.size_bytes,
            "fill": round(p.rows / biggest * 100),
            "expired": cutoff is not None and p.upper <= cutoff,
            "future": p.lower > now,
        }
        for p in ranged
    ]
    shown_cutoff = pos(cutoff) if cutoff is not None and start <= cutoff <= end else None  # off the chart: no line
    return {"bars": bars, "now": pos(now), "cutoff": shown_cutoff, "start": start, "end": end}


def trends(snapshots: list[Snapshot]) -> dict[str, Any]:
    """Series for the charts (x = unix seconds): connections, cache hit ratio, database size, and the largest
    tables' total and index sizes."""
    xs = [int(s.taken_at.timestamp()) for s in snapshots]
    metric = [s.data.get("metrics", {}) for s in snapshots]

    def ratio(m: dict[str, float]) -> float | None:
        hit, read = m.get("pg_heap_blocks_hit_total"), m.get("pg_heap_blocks_read_total")
        return round(hit / (hit + read) * 100, 2) if hit is not None and read is not None and hit + read else None

    names = list(dict.fromkeys(t["table"] for s in snapshots[-1:] for t in s.data.get("tables", [])[:5]))

    def series(name: str, column: str) -> list[Any]:
        return [next((t[column] for t in s.data.get("tables", []) if t["table"] == name), None) for s in snapshots]

    tables = {n: series(n, "total_bytes") for n in names}
    indexes = {n: series(n, "index_bytes") for n in names}
    return {
        "x": xs,
        "connections": [m.get("pg_connections") for m in metric],
        "cache_hit": [ratio(m) for m in metric],
        "database_size": [m.get("pg_database_size_bytes") for m in metric],
        "tables": tables,
        "indexes": indexes,
        "counts": {k: [s.data.get("counts", {}).get(k, 0) for s in snapshots] for k in ("ok", "warn", "fail")},
    }


def health(project: ReadOnlyProject, sections: Sections, env: str) -> dict[str, Any]:
    from pgwarden.doctor.runner import run_doctor

    config = project.config_for(env)
    found = sections.gather({"doctor": lambda: run_doctor(config, env)}, _timeout(project))
    snaps = _store(project).snapshots(env, limit=500)
    return {"doctor": found["doctor"], "snapshots": len(snaps), "trends": trends(snaps) if snaps else None}


def tune(project: ReadOnlyProject, sections: Sections, env: str) -> dict[str, Any]:
    from pgwarden.doctor.tune import tune as tune_settings

    config = project.config_for(env)
    found = sections.gather({"tune": lambda: tune_settings(config=config, env=env)}, _timeout(project))
    return {"tune": found["tune"]}


@dataclass
class LockNode:
    """A session in the blocking tree: a blocker at the root, the statements waiting for it below."""

    pid: int
    query: str
    state: str | None = None
    waiting_seconds: float | None = None
    transaction_seconds: float | None = None
    application_name: str | None = None
    children: list[LockNode] = field(default_factory=list)


def lock_tree(rows: list[dict[str, Any]]) -> list[LockNode]:
    """Blocked statements (``blocked_queries`` evidence) as trees under the sessions that block them.

    A root is a blocker that waits for nobody; a waiting session appears under each session blocking it.
    """
    waiting = {r["pid"]: r for r in rows}
    info: dict[int, dict[str, Any]] = {}
    for r in rows:
        for b in r.get("blockers") or []:
            info.setdefault(b["pid"], b)

    def node(pid: int, seen: frozenset[int]) -> LockNode:
        if pid in waiting:
            r = waiting[pid]
            out = LockNode(
                pid,
                str(r.get("query") or ""),
                "waiting",
                r.get("waiting_seconds"),
                application_name=r.get("application_name"),
            )
        else:
            b = info.get(pid, {})
            out = LockNode(
                pid,
                str(b.get("query") or ""),
                b.get("state"),
                None,
                b.get("transaction_seconds"),
                b.get("application_name"),
            )
        for child in sorted(p for p, r in waiting.items() if pid in (r.get("blocked_by") or [])):
            if child not in seen:
                out.children.append(node(child, seen | {child}))
        return out

    blockers = {p for r in rows for p in (r.get("blocked_by") or [])}
    roots = sorted(p for p in blockers if p not in waiting or not waiting[p].get("blocked_by"))
    if not roots and rows:  # a cycle (a deadlock about to be broken): start anywhere
        roots = [min(waiting)]
    return [node(pid, frozenset({pid})) for pid in roots]


def locks(project: ReadOnlyProject, sections: Sections, env: str) -> dict[str, Any]:
    from pgwarden.doctor.runner import run_doctor

    config = project.config_for(env)

    def load() -> list[LockNode]:
        report = run_doctor(config, env, checks=["blocked_queries"])
        return lock_tree(report.by_name("blocked_queries").evidence)

    return {"tree": sections.gather({"tree": load}, _timeout(project))["tree"]}
