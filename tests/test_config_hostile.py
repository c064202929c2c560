"""Hostile and careless input: each case gives exit 2 with one line naming the file and key, and changes nothing."""

from __future__ import annotations

import pytest

from conftest import Project, run_cli

BAD_CONFIGS = {
    "binary": (b"\x00\xff\xfe\x89PNG\r\n\x1a\n" * 20, "not UTF-8"),
    "nested": (b"a = " + b"[" * 500 + b"]" * 500, "not valid TOML"),
    "huge_timeout": (b'[migrate]\nlock_timeout = "99999999999999999999h"\n', "migrate.lock_timeout"),
    "zero_timeout": (b'[migrate]\nlock_timeout = "0s"\n', "must be above zero"),
    "protected_yes": (b'[environments.test]\nurl = "embedded"\nprotected = "yes"\n', "environments.test.protected"),
    "mysql": (b'[environments.test]\nurl = "mysql://u:secret@h/db"\n', "not a PostgreSQL URL"),
    "port": (b'[environments.test]\nurl = "postgresql://u@h:abc/db"\n', "port 'abc'"),
    "unterminated": (b'[environments.test]\nurl = "${DATABASE_URL"\n', "is not a variable reference"),
    "empty_var": (b'[environments.test]\nurl = "postgresql://${}@h/db"\n', "is not a variable reference"),
    "empty_url": (b'[environments.test]\nurl = ""\n', "empty URL"),
    "escape_env": (b'[environments."../../escape"]\nurl = "embedded"\n', "environment name"),
    "escape_env2": (b'[environments."pw/../../../escape2"]\nurl = "embedded"\n', "environment name"),
}


@pytest.mark.parametrize("case", sorted(BAD_CONFIGS))
def test_bad_config_is_one_line_exit_2(tmp_path, case: str) -> None:  # type: ignore[no-untyped-def]
    content, expected = BAD_CONFIGS[case]
    config = tmp_path / "pgwarden.toml"
    config.write_bytes(b'default_env = "test"\n' + content if case not in ("binary", "nested") else content)
    before = sorted(p.name for p in tmp_path.iterdir())
    result = run_cli("migrate", "status", cwd=tmp_path, env={"PGWARDEN_CONFIG": str(config)}, timeout=60)
    assert result.returncode == 2, (case, result.stdout, result.stderr)
    assert "Traceback" not in result.stderr and "secret" not in result.stderr
    assert expected in result.stderr and str(config) in result.stderr, result.stderr
    assert result.stderr.count("pgwarden: error:") == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == before  # no server folder, nothing written


def test_config_pointing_at_a_folder(tmp_path) -> None:  # type: ignore[no-untyped-def]
    result = run_cli("--config", str(tmp_path), "migrate", "status", cwd=tmp_path, timeout=60)
    assert result.returncode == 2 and "is a folder" in result.stderr and "Traceback" not in result.stderr


def test_long_migration_name_and_unwritable_folders(project: Project) -> None:
    result = project.cli("migrate", "new", "x" * 5000, check_exit=2)
    assert "keep it under 100" in result.stderr and "Traceback" not in result.stderr
    assert list(project.migrations.iterdir()) == []
    for args in (("init", "/proc/1/nope"), ("demo", "--dir", "/proc/nope")):
        bad = project.cli(*args)
        assert bad.returncode == 2, (args, bad.stderr)
        assert "Traceback" not in bad.stderr and "/proc/" in bad.stderr


def test_password_with_raw_at_sign_is_never_printed(tmp_path) -> None:  # type: ignore[no-untyped-def]
    config = tmp_path / "pgwarden.toml"
    config.write_text(
        'default_env = "test"\n[environments.test]\nurl = "postgresql://appuser:S3cret@Passw0rd99@127.0.0.1:1/app"\n',
        encoding="utf-8",
    )
    (tmp_path / "migrations").mkdir()
    for args in (("migrate", "status"), ("migrate", "status", "--json")):
        result = run_cli(*args, cwd=tmp_path, env={"PGWARDEN_CONFIG": str(config)}, timeout=60)
        assert result.returncode == 2, result.stderr
        assert "%40" in result.stderr + result.stdout
        assert "S3cret" not in result.stderr + result.stdout and "Passw0rd99" not in result.stderr + result.stdout


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "cannot connect to postgresql://appuser:S3cret@Passw0rd99@127.0.0.1:1/app: refused",
            "cannot connect to postgresql://***@127.0.0.1:1/app: refused",
        ),
        ("postgresql://u:p%40x@h/db", "postgresql://u:***@h/db"),
        ("postgresql://u:pa/ss@h/db", "postgresql://***@h/db"),
        ("mysql://u:secret@h/db", "mysql://***@h/db"),
        ("postgresql://u@h/db?password=zz", "postgresql://u@h/db?password=***"),
        ("host=h password='x y' user=u", "host=h password=*** user=u"),
        ("postgresql://postgres:@/postgres?host=/tmp/x", "postgresql://postgres:***@/postgres?host=/tmp/x"),
        ("no url here", "no url here"),
    ],
)
def test_redact(text: str, expected: str) -> None:
    from pgwarden.redact import redact

    assert redact(text) == expected
