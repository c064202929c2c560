"""An Alembic project as it is: revisions read through Alembic's offline SQL, alembic_version kept as Alembic does,
and the real Alembic agrees afterwards."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import psycopg
import pytest

from conftest import Project

pytest.importorskip("alembic", reason="the Alembic tests need alembic (pip install alembic; it is in the test extra)")

REVISION = '''"""{message}

Revision ID: {rev}
Revises: {down}
"""
from alembic import op
import sqlalchemy as sa

revision = {rev!r}
down_revision = {down_repr}
branch_labels = None
depends_on = None


def upgrade() -> None:
    {up}


def downgrade() -> None:
    {down_code}
'''


def _alembic_project(root: Path, url: str) -> None:
    subprocess.run([sys.executable, "-m", "alembic", "init", "alembic"], cwd=root, check=True, capture_output=True)
    ini = root / "alembic.ini"
    sa_url = url.replace("postgresql://", "postgresql+psycopg://").replace("%", "%%")
    text = "\n".join(
        f"sqlalchemy.url = {sa_url}" if line.startswith("sqlalchemy.url") else line
        for line in ini.read_text().splitlines()
    )
    ini.write_text(text + "\n")
    revisions = [
        (
            "a1b2c3d4e5f6",
            None,
            "create users",
            "op.create_table('users', sa.Column('id', sa.Integer, primary_key=True), sa.Column('name', sa.Text))",
            "op.drop_table('users')",
        ),
        (
            "0f9e8d7c6b5a",
            "a1b2c3d4e5f6",
            "add email",
            "op.add_column('users', sa.Column('email', sa.Text))",
            "op.drop_column('users', 'email')",
        ),
    ]
    for rev, down, message, up, down_code in revisions:
        (root / "alembic" / "versions" / f"{rev}_{message.replace(' ', '_')}.py").write_text(
            REVISION.format(message=message, rev=rev, down=down or "", down_repr=repr(down), up=up, down_code=down_code)
        )


def _alembic(root: Path, *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "alembic", *args], cwd=root, capture_output=True, text=True, env={**os.environ}
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_alembic_project_status_apply_and_back_to_alembic(project: Project, db: psycopg.Connection[Any]) -> None:
    _alembic_project(project.root, project.url)
    text = project.config_path.read_text().replace(
        'migrations_dir = "migrations"', 'migrations_dir = "alembic"\nmigrations_format = "alembic"'
    )
    project.config_path.write_text(text)
    _alembic(project.root, "upgrade", "a1b2c3d4e5f6")  # the team's own tool applied the first revision
    status = json.loads(project.cli("migrate", "status", "--json", check_exit=0).stdout)
    assert [(m["version"], m["name"], m["state"]) for m in status["migrations"]] == [
        ("0001", "a1b2c3d4e5f6_create_users", "applied"),
        ("0002", "0f9e8d7c6b5a_add_email", "pending"),
    ]
    project.cli("migrate", "up", check_exit=0)
    assert db.execute("SELECT version_num FROM alembic_version").fetchall() == [("0f9e8d7c6b5a",)]
    assert "0f9e8d7c6b5a (head)" in _alembic(project.root, "current")
    _alembic(project.root, "upgrade", "head")  # nothing left to do for Alembic either
    assert db.execute(
        "SELECT count(*) FROM pg_attribute WHERE attrelid = 'users'::regclass AND attname = 'email'"
    ).fetchone() == (1,)
    project.cli("migrate", "down", check_exit=0)
    assert db.execute("SELECT version_num FROM alembic_version").fetchall() == [("a1b2c3d4e5f6",)]
    assert "a1b2c3d4e5f6" in _alembic(project.root, "current")


def test_alembic_env_that_fails_is_one_line(project: Project) -> None:
    _alembic_project(project.root, project.url)
    (project.root / "alembic" / "env.py").write_text("raise RuntimeError('broken env')\n")
    text = project.config_path.read_text().replace(
        'migrations_dir = "migrations"', 'migrations_dir = "alembic"\nmigrations_format = "alembic"'
    )
    project.config_path.write_text(text)
    result = project.cli("migrate", "status", check_exit=2)
    assert "alembic upgrade base:head --sql failed: RuntimeError: broken env" in result.stderr
    assert "Traceback" not in result.stderr
    assert textwrap.dedent(result.stderr).count("\n") <= 3


def test_the_alembic_example_project(tmp_path: Path, db_url: str, db: psycopg.Connection[Any]) -> None:
    import shutil

    from conftest import run_cli

    root = tmp_path / "tableorder_alembic"
    shutil.copytree(Path(__file__).resolve().parent.parent / "examples" / "tableorder_alembic", root)
    config = root / "pgwarden.toml"
    config.write_text(config.read_text().replace('url = "embedded"', f'url = "{db_url}"'))
    env = {"PGWARDEN_CONFIG": str(config)}
    status = json.loads(run_cli("migrate", "status", "--json", cwd=root, env=env).stdout)
    assert [m["state"] for m in status["migrations"]] == ["pending"] * 3
    assert run_cli("migrate", "up", cwd=root, env=env).returncode == 0
    assert db.execute("SELECT version_num FROM alembic_version").fetchall() == [("c7d9e1f3a5b4",)]
    assert db.execute(
        "SELECT count(*) FROM pg_class WHERE relname IN ('stores', 'categories', 'menus', 'orders', "
        "'idx_orders_status')"
    ).fetchone() == (5,)
