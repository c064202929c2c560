"""Alembic: Python revisions read through the project's own Alembic in offline mode (nothing connects).

The revision chain comes from the revision files themselves (``revision`` / ``down_revision`` read with
``ast``, nothing imported); the SQL of every revision comes from one ``alembic upgrade base:head --sql``
and one ``alembic downgrade head:base --sql`` run with the project's interpreter
(``$PGWARDEN_ALEMBIC_PYTHON``, else this one), split at Alembic's ``-- Running upgrade A -> B`` markers.
Alembic's own bookkeeping (``alembic_version``) and its BEGIN/COMMIT are left out: pgwarden writes
``alembic_version`` itself, as Alembic does, in each migration's transaction.

A migration's version is its position in the chain (``0001``, ``0002``, ...), its name the revision id
and message; lines of statements are lines of the offline SQL. Branches and merges are refused.
"""

from __future__ import annotations

import ast
import hashlib
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from pgwarden.errors import MigrationFileError
from pgwarden.sources.formats._common import read_text
from pgwarden.sources.model import MigrationFile, Section, Statement
from pgwarden.sources.statements import LineIndex, parse_statements

_MARKER = re.compile(r"^-- Running (?P<direction>upgrade|downgrade) (?P<from>\S*) -> (?P<to>\S*)\s*$", re.M)


@dataclass(frozen=True)
class Revision:
    """One revision file: its id, the one it revises (None for the first), message and file."""

    revision: str
    down_revision: str | None
    message: str
    path: Path


def ini_for(directory: Path) -> Path:
    """The ``alembic.ini`` that names ``directory`` as its script location (beside it or one level up)."""
    for candidate in (directory.parent / "alembic.ini", directory / "alembic.ini"):
        if candidate.is_file():
            return candidate
    raise MigrationFileError(f"{directory}: no alembic.ini beside or above this Alembic folder")


def _literal(tree: ast.Module, name: str, path: Path) -> object:
    for node in tree.body:
        targets = (
            node.targets
            if isinstance(node, ast.Assign)
            else [node.target]
            if isinstance(node, ast.AnnAssign) and node.value is not None
            else []
        )
        value = node.value if isinstance(node, ast.Assign | ast.AnnAssign) else None
        if any(isinstance(t, ast.Name) and t.id == name for t in targets) and value is not None:
            try:
                return ast.literal_eval(value)
            except ValueError:
                raise MigrationFileError(f"{path}:{node.lineno}: {name} is not a plain value") from None
    raise MigrationFileError(f"{path}: no '{name} = ...' in this Alembic revision")


def revisions(directory: Path) -> list[Revision]:
    """The revision files of ``directory/versions`` in chain order (base first)."""
    found: dict[str, Revision] = {}
    for path in sorted((directory / "versions").glob("*.py")):
        text = read_text(path)
        try:
            tree = ast.parse(text, filename=str(path))
        except SyntaxError as exc:
            raise MigrationFileError(f"{path}:{exc.lineno}: {exc.msg}") from None
        revision, down = _literal(tree, "revision", path), _literal(tree, "down_revision", path)
        if not isinstance(revision, str) or not (down is None or isinstance(down, str)):
            raise MigrationFileError(f"{path}: merge revisions (down_revision as a tuple) are not supported yet")
        doc = ast.get_docstring(tree) or ""
        found[revision] = Revision(revision, down or None, doc.splitlines()[0] if doc else path.stem, path)
    chain: list[Revision] = []
    children = {r.down_revision: r for r in found.values()}
    if len(children) != len(found):
        raise MigrationFileError(
            f"{directory / 'versions'}: two revisions revise the same one (a branch); "
            "merge the heads first (alembic merge)"
        )
    current = children.get(None)
    while current is not None:
        chain.append(current)
        current = children.get(current.revision)
    if len(chain) != len(found):
        raise MigrationFileError(
            f"{directory / 'versions'}: revisions not reachable from the base: "
            f"{', '.join(sorted(set(found) - {r.revision for r in chain}))}"
        )
    return chain


def offline_sql(directory: Path, *args: str) -> str:
    """stdout of ``alembic -c <ini> <args> --sql`` run with the project's interpreter (offline: no connection)."""
    ini = ini_for(directory)
    python = os.environ.get("PGWARDEN_ALEMBIC_PYTHON") or sys.executable
    try:
        done = subprocess.run(
            [python, "-m", "alembic", "-c", str(ini), *args, "--sql"],
            cwd=ini.parent,
            capture_output=True,
            text=True,
            timeout=300,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise MigrationFileError(f"{ini}: cannot run alembic with {python}: {exc}") from None
    if done.returncode != 0:
        last = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["no output"]
        raise MigrationFileError(
            f"{ini}: alembic {' '.join(args)} --sql failed: {last[0]}",
            hint="run that command yourself to see the whole error (env.py must work offline)",
        )
    return done.stdout


def _chunks(text: str, direction: str) -> dict[str, str]:
    """Revision id -> its SQL, from offline output split at the ``-- Running`` markers."""
    marks = [m for m in _MARKER.finditer(text) if m["direction"] == direction]
    out = {}
    for i, mark in enumerate(marks):
        end = marks[i + 1].start() if i + 1 < len(marks) else len(text)
        out[mark["to"] if direction == "upgrade" else mark["from"]] = text[mark.end() : end]
    return out


def _own(statements: tuple[Statement, ...]) -> tuple[Statement, ...]:
    """The revision's statements without Alembic's bookkeeping (alembic_version, BEGIN/COMMIT)."""
    kept = [s for s in statements if s.kind != "TransactionStmt" and "alembic_version" not in s.sql]
    return tuple(Statement(s.sql, s.line, s.column, i, s.parsed) for i, s in enumerate(kept, start=1))


def read(directory: Path) -> list[MigrationFile]:
    """Every revision of the Alembic folder ``directory`` as a migration (see the module doc)."""
    chain = revisions(directory)
    if not chain:
        return []
    ups = _chunks(offline_sql(directory, "upgrade", "base:head"), "upgrade")
    downs = _chunks(offline_sql(directory, "downgrade", "head:base"), "downgrade")
    out = []
    for number, revision in enumerate(chain, start=1):
        up_sql = ups.get(revision.revision, "")
        up = Section(
            "up",
            1,
            True,
            False,
            _own(parse_statements(up_sql, source=str(revision.path), lines=LineIndex(up_sql), full_text=up_sql)),
        )
        down_sql = downs.get(revision.revision, "")
        down = Section(
            "down",
            1,
            True,
            False,
            _own(parse_statements(down_sql, source=str(revision.path), lines=LineIndex(down_sql), full_text=down_sql)),
        )
        slug = re.sub(r"[^A-Za-z0-9]+", "_", revision.message).strip("_").lower()[:60]
        checksum = hashlib.sha256(revision.path.read_bytes()).hexdigest()
        out.append(
            MigrationFile(
                f"{number:04d}",
                f"{revision.revision}_{slug}",
                revision.path,
                checksum,
                up,
                down if down.statements else Section("down", 0, True, True, ()),
            )
        )
    return out
