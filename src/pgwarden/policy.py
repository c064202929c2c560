"""The safety policy of a database, applied where a command obtains its connection.

Every command gets an environment's database through :func:`pgwarden.db.resolve_target`,
which requires the command's :class:`~pgwarden.guards.Intent` and calls :func:`admit`:
the policy is applied there, once, for every command, so a new command cannot reach a
protected database without passing it.

What a protected database requires (nothing for an unprotected one):

================  ======================================================================
intent            requirement
================  ======================================================================
read              TLS (sslmode require or stronger, session encrypted) unless ``allow_insecure``
records           TLS; typed confirmation or ``--yes`` (no terminal and no ``--yes``: exit 5)
schema change     TLS; confirmation; a verified backup first (taken by the installed backup step)
additive change   TLS; confirmation (only new, empty objects are made and no row can be lost:
                  ``partition maintain`` when no retention drops partitions; a backup would
                  protect nothing, and an hourly schedule must not take one each hour)
data restore      TLS; confirmation (``backup restore`` takes its own safety backup)
apply migrations  TLS; only inside ``pgwarden deploy`` (which confirms and backs up first);
                  ``migrate up`` on its own is refused with ``next: pgwarden deploy --env ...``
destructive       refused whatever the flags (``migrate reset``, ``seed``)
================  ======================================================================

The policy is keyed by the database, not by the environment's name: environments
whose URLs name the same host, port and database (embedded ones: the same data
folder and database) share one policy, the strictest of theirs: protected when any
of them is, and ``allow_insecure`` only when every protected one of them says so.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pgwarden.errors import Refused
from pgwarden.guards import Confirm, Intent, confirm_or_refuse, require_tls, tls_status

if TYPE_CHECKING:
    import psycopg

    from pgwarden.config import Config, Environment
    from pgwarden.db import Target

DatabaseKey = tuple[str, str, str]
"""(host, port, database) of a URL environment; ("embedded", data folder, database) of an embedded one."""

BackupFirst = Callable[["Config", str], str]
"""Takes a verified backup of the named environment and returns its id (raises a PgwardenError otherwise)."""

_LOCAL_HOSTS = {"localhost", "127.0.0.1", "::1", ""}


@dataclass(frozen=True)
class Policy:
    """The rules of one database, merged over every environment that names it."""

    key: DatabaseKey
    envs: tuple[str, ...]
    protected: bool
    allow_insecure: bool

    @property
    def needs_tls(self) -> bool:
        return self.protected and not self.allow_insecure


@dataclass
class Admission:
    """What the policy granted for one database in this process (kept for the command's run)."""

    intents: set[Intent] = field(default_factory=set)
    backup_id: str | None = None


@dataclass
class _Session:
    """What was admitted, per database, in this context (a command's run, or one agent task)."""

    admitted: dict[DatabaseKey, Admission] = field(default_factory=dict)


@dataclass
class _Consent:
    """Consent given on the command line and the prompt to ask for it: process-wide (one command per
    process), so the worker threads of a fleet run see the ``--yes`` of their command."""

    yes: bool = False
    confirm: Confirm | None = None


_session: ContextVar[_Session | None] = ContextVar("pgwarden_policy_session", default=None)
_consent = _Consent()
_backup_first: BackupFirst | None = None
_install_lock = threading.Lock()


def _current() -> _Session:
    session = _session.get()
    if session is None:
        session = _Session()
        _session.set(session)
    return session


def give_consent(yes: bool) -> None:
    """Record that ``--yes`` was given for this command (the CLI's ``--yes`` option calls this)."""
    if yes:
        _consent.yes = True


def set_prompt(confirm: Confirm | None) -> None:
    """The prompt used when a command passes none (the CLI installs it when a person can answer)."""
    _consent.confirm = confirm


def install_backup_step(step: BackupFirst | None) -> None:
    """Install the function that takes a verified backup before a schema change on a protected database.

    The CLI installs the backup package's create-and-verify; without one, a schema
    change on a protected database is refused (exit 5), never run without a backup.
    """
    global _backup_first
    with _install_lock:
        _backup_first = step


@contextmanager
def fresh_session() -> Iterator[None]:
    """Forget admissions for the body (one agent task, one test); consent given inside does not outlive it."""
    global _consent
    token = _session.set(_Session())
    saved, _consent = _consent, _Consent(_consent.yes, _consent.confirm)
    try:
        yield
    finally:
        _session.reset(token)
        _consent = saved


def _url_key(url: str) -> DatabaseKey:
    from psycopg.conninfo import conninfo_to_dict

    try:
        params = conninfo_to_dict(url)
    except Exception:  # noqa: BLE001 - an unparsable URL is reported when connecting
        return ("url", url, "")
    host = str(params.get("host") or params.get("hostaddr") or os.environ.get("PGHOST", ""))
    if host.startswith("/"):
        host = os.path.normpath(host)  # a socket folder
    else:
        host = "localhost" if host.lower() in _LOCAL_HOSTS else host.lower()
    port = str(params.get("port") or os.environ.get("PGPORT") or "5432")
    dbname = str(params.get("dbname") or os.environ.get("PGDATABASE") or params.get("user") or "")
    return (host, port, dbname)


def database_key(config: Config, name: str, env: Environment) -> DatabaseKey:
    """The database an environment names (see :data:`DatabaseKey`)."""
    if env.is_embedded:
        return ("embedded", str((config.state_path / name).resolve()), env.database)
    return _url_key(env.url)


def policy_for(config: Config, name: str) -> Policy:
    """The strictest policy of every environment naming the same database as ``name``.

    Environments whose URL still has an unset ``${VAR}`` are left out (they name no
    database yet).
    """
    env = config.settings.environments[name]
    key = database_key(config, name, env)
    same = []
    for other_name, other in config.settings.environments.items():
        if "${" in other.url and other_name != name:
            continue
        if other_name == name or database_key(config, other_name, other) == key:
            same.append((other_name, other))
    protected = [e for _, e in same if e.protected]
    return Policy(
        key,
        tuple(sorted(n for n, _ in same)),
        bool(protected),
        bool(protected) and all(e.allow_insecure for e in protected),
    )


def _why_protected(policy: Policy, name: str) -> str:
    others = [n for n in policy.envs if n != name and n in policy.envs]
    if not others:
        return f"{name} is protected"
    return f"{name} names the same database as {', '.join(others)} (the strictest policy applies: protected)"


def check_tls(policy: Policy, name: str, conn: psycopg.Connection[Any]) -> str:
    """Refuse (exit 5) when ``policy`` needs TLS and ``conn`` is not encrypted with sslmode require+."""
    if not policy.needs_tls:
        return "not required" if not policy.protected else "allow_insecure = true"
    status = tls_status(conn)
    require_tls(name, status)
    return f"encrypted ({status.version}), sslmode {status.sslmode}"


def admit(
    config: Config,
    target: Target,
    conn: psycopg.Connection[Any],
    intent: Intent,
    *,
    yes: bool = False,
    confirm: Confirm | None = None,
) -> Admission:
    """Apply ``target``'s policy for ``intent`` on the open session ``conn``; raise Refused (exit 5) or return.

    Nothing is changed before this returns. What was granted is remembered for the
    rest of the command, so a second connection to the same database is not asked again.
    """
    policy = policy_for(config, target.env_name)
    session = _current()
    granted = session.admitted.setdefault(policy.key, Admission())
    name = target.env_name
    if policy.protected and intent not in granted.intents:
        if intent is Intent.DESTRUCTIVE:
            raise Refused(
                f"{intent.describe()} is refused on {name}: {_why_protected(policy, name)}; nothing was changed",
                hint="run it against a development environment (--env dev)",
            )
        if intent is Intent.APPLY_MIGRATIONS:
            raise Refused(
                f"applying migrations to {name} outside a deploy is refused: "
                f"{_why_protected(policy, name)}; nothing was changed",
                hint=f"pgwarden deploy --env {name} (preflight, verified backup, apply, post-checks)",
            )
    check_tls(policy, name, conn)
    if not policy.protected or intent is Intent.READ or intent in granted.intents:
        return granted
    confirm_or_refuse(
        f"{intent.describe()} on the protected database of {name}",
        name,
        yes=yes or _consent.yes,
        confirm=confirm or _consent.confirm,
    )
    if intent is Intent.SCHEMA_CHANGE and granted.backup_id is None:
        granted.backup_id = _verified_backup(config, name)
    granted.intents.add(intent)
    if intent is Intent.SCHEMA_CHANGE:
        granted.intents.add(Intent.ADDITIVE_CHANGE)
    return granted


def _verified_backup(config: Config, name: str) -> str:
    step = _backup_first
    if step is None:
        raise Refused(
            f"a schema change on the protected database of {name} needs a verified backup first, "
            "and no backup step is installed; nothing was changed",
            hint="run it through the pgwarden command, or call "
            "pgwarden.policy.install_backup_step() first when using the library",
        )
    return step(config, name)


@contextmanager
def deploying(config: Config, target: Target, backup_id: str | None) -> Iterator[None]:
    """Within the body, ``target``'s database admits applying migrations (the deploy pipeline's grant).

    The deploy pipeline enters this after its own confirmation and verified backup
    (``backup_id``); the grant ends with the body.
    """
    key = policy_for(config, target.env_name).key
    session = _current()
    previous = session.admitted.get(key)
    granted = Admission(set(previous.intents) if previous else set(), backup_id)
    granted.intents |= {Intent.APPLY_MIGRATIONS, Intent.SCHEMA_CHANGE, Intent.ADDITIVE_CHANGE, Intent.RECORDS}
    session.admitted[key] = granted
    try:
        yield
    finally:
        if previous is None:
            session.admitted.pop(key, None)
        else:
            session.admitted[key] = previous
