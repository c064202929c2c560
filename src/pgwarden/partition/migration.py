"""Partition changes as code: the migration file ``partition create`` / ``convert`` write by default, and the
``[[partitions]]`` entry that makes ``maintain`` (and ``check``) know the table.

Guarantees: a migration is written only when the target database (if reachable)
would accept it: the same refusals as the direct commands (foreign keys
referencing the table, views, triggers, a unique constraint that would be widened
without ``widen_unique``, a key of the wrong type); nothing is written otherwise.
The file is a ``transaction:false`` migration with one ``partition-convert``
directive (see :mod:`pgwarden.partition.directive`) and an irreversible down.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from pgwarden.errors import Refused
from pgwarden.partition.directive import render

if TYPE_CHECKING:
    from pgwarden.config import Config
    from pgwarden.partition.spec import Layout

_TEMPLATE = """\
-- Partition {table}: {how} (written by `pgwarden partition {verb}`).
-- `pgwarden migrate up` carries the step out: with plain DDL on an empty table, online on a table with rows
-- (copy in batches while writes go on, then a short swap; an interrupted run resumes on the next `migrate up`).
-- migrate:up transaction:false
{directive}

-- migrate:down irreversible
"""


@dataclass
class MigrationWritten:
    """The migration file written for a partition change, and the config entry to pair it with."""

    path: Path
    directive: str
    entry: str  # the [[partitions]] entry (TOML) for maintain and check
    entry_added: bool = False  # True when --write-config appended it
    checked: bool = False  # the target database was reachable and accepts the change


def describe(layout: Layout) -> str:
    """``range by created_at, 1 month`` / ``hash by id into 8``."""
    if layout.interval:
        return f"range by {layout.key}, {layout.interval.value}"
    return f"hash by {layout.key} into {layout.modulus}"


def preflight(config: Config, env: str | None, layout: Layout, *, widen_unique: bool) -> bool:
    """Refuse (exit 5) what the direct command would refuse; False when the database cannot be checked.

    A table that does not exist yet (created by a pending migration) or an
    unreachable database is not an error: the migration is checked again when it runs.
    """
    from pgwarden.errors import Unreachable
    from pgwarden.partition import ddl
    from pgwarden.partition.create import check_key
    from pgwarden.partition.inspect import find_table, open_session
    from pgwarden.partition.target import resolve

    try:
        conn = open_session(resolve(config, env, changes=False).url)
    except Unreachable:
        return False
    try:
        info = find_table(conn, layout.name)
        if info is None:
            return False
        if info.partitioned:
            raise Refused(f"{layout.name} is already partitioned")
        check_key(info, layout)
        reasons = ddl.refusals(conn, info)
        if reasons:
            raise Refused(
                f"{info.qualified} cannot be partitioned by pgwarden: " + "; ".join(reasons),
                hint="drop or move those objects first (and re-create them afterwards)",
            )
        widened = ddl.widened_uniques(conn, info, [layout.key])
        if widened and not widen_unique:
            raise ddl.widening_refusal(info, widened)
        return True
    finally:
        conn.close()


def write_migration(
    config: Config,
    layout: Layout,
    *,
    verb: str,
    widen_unique: bool = False,
    drop_old: bool = False,
    batch: int | None = None,
) -> MigrationWritten:
    """Write ``migrations/<timestamp>_partition_<table>.sql`` holding the directive for ``layout``."""
    from pgwarden.migrations.api import new

    directive = render(layout, widen_unique=widen_unique, drop_old=drop_old, batch=batch)
    path = new(
        config,
        f"partition_{layout.table}",
        body=_TEMPLATE.format(table=layout.name, how=describe(layout), verb=verb, directive=directive),
    )
    return MigrationWritten(path, directive, config_entry(config, layout))


def config_entry(config: Config | None, layout: Layout) -> str:
    """The ``[[partitions]]`` entry for ``layout`` as TOML (``[[tool.pgwarden.partitions]]`` in pyproject.toml)."""
    header = "[[tool.pgwarden.partitions]]" if config and config.source.name == "pyproject.toml" else "[[partitions]]"
    lines = [header, f"table = {json.dumps(str(layout.name))}", f"key = {json.dumps(layout.key)}"]
    if layout.interval:
        lines.append(f"interval = {json.dumps(layout.interval.value)}")
    else:
        lines.append(f"modulus = {layout.modulus}")
    lines.append(f"premake = {layout.premake}")
    if layout.past:
        lines.append(f"past = {layout.past}")
    if layout.default_partition:
        lines.append("default_partition = true")
    return "\n".join(lines) + "\n"


def add_config_entry(config: Config, layout: Layout) -> bool:
    """Append the entry for ``layout`` to the config file unless one exists; whether it was appended."""
    from pgwarden.partition.spec import entry_for

    if entry_for(config, layout.name) is not None:
        return False
    text = config.source.read_text(encoding="utf-8")
    separator = "" if text.endswith("\n\n") or not text else ("\n" if text.endswith("\n") else "\n\n")
    config.source.write_text(text + separator + config_entry(config, layout), encoding="utf-8")
    return True
