"""``pgwarden init``: a config, a migrations folder and a first migration."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from pgwarden.configfile import CONFIG_FILE
from pgwarden.errors import BadInput, Refused
from pgwarden.sources.formats import Detected, detect

CONFIG_TEMPLATE = """# pgwarden configuration: https://github.com/pgwarden/pgwarden#configuration
migrations_dir = "migrations"
seeds_dir = "seeds"
default_env = "dev"

[environments.dev]
url = "embedded"            # pgwarden runs a local PostgreSQL 18 under .pgwarden/dev/

[environments.prod]
url = "${DATABASE_URL}"     # expanded from the environment when prod is used
protected = true            # confirm, verified backup first, TLS required, no reset/seed

[migrate]
lock_timeout = "2s"         # every migration statement gives up waiting for a lock after this
retries = 8                 # lock timeouts are retried with jittered backoff, then exit 4

[backup]
dir = "backups"
keep = { daily = 7, weekly = 4, monthly = 12 }
"""

FIRST_MIGRATION = """-- migrate:up
CREATE TABLE app_settings (
    key        text PRIMARY KEY,
    value      jsonb NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);

-- migrate:down
DROP TABLE app_settings;
"""

GITIGNORE_LINES = [".pgwarden/", "backups/"]


@dataclass(frozen=True)
class InitResult:
    root: Path
    created: list[Path]
    detected: Detected | None = None


def init(root: Path) -> InitResult:
    """Create pgwarden.toml, migrations/001_create_app_settings.sql and .gitignore entries.

    Refused (exit 5) when a pgwarden.toml already exists: nothing is overwritten.
    """
    try:
        return _init(root.resolve())
    except OSError as exc:
        raise BadInput(f"{exc.filename or root}: cannot create the project: {exc.strerror}") from None


def _init(root: Path) -> InitResult:
    config = root / CONFIG_FILE
    if config.exists():
        raise Refused(
            f"{config} already exists; nothing was changed", hint="edit it, or run `pgwarden init` in a new folder"
        )
    root.mkdir(parents=True, exist_ok=True)
    created = [config]
    found = detect(root) if root.is_dir() else None
    if found is not None:  # an existing project of another tool: point at its files, write no migration
        config.write_text(
            CONFIG_TEMPLATE.replace(
                'migrations_dir = "migrations"\n',
                f'migrations_dir = "{found.migrations_dir}"\n'
                f'migrations_format = "{found.format}"   # detected from {found.evidence}\n',
            ),
            encoding="utf-8",
        )
        return InitResult(root, [*created, *_gitignore(root)], found)
    config.write_text(CONFIG_TEMPLATE, encoding="utf-8")
    migrations = root / "migrations"
    migrations.mkdir(exist_ok=True)
    if not any(migrations.glob("*.sql")):
        first = migrations / "001_create_app_settings.sql"
        first.write_text(FIRST_MIGRATION, encoding="utf-8")
        created.append(first)
    return InitResult(root, [*created, *_gitignore(root)])


def _gitignore(root: Path) -> list[Path]:
    """Add pgwarden's folders to .gitignore; the file when it changed."""
    gitignore = root / ".gitignore"
    existing = gitignore.read_text(encoding="utf-8").splitlines() if gitignore.exists() else []
    missing = [line for line in GITIGNORE_LINES if line not in existing]
    if not missing:
        return []
    with open(gitignore, "a", encoding="utf-8") as handle:
        handle.write(("\n" if existing and existing[-1] else "") + "\n".join(missing) + "\n")
    return [gitignore]
