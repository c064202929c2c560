"""The policy is keyed by the database an environment names, and the strictest environment wins."""

from __future__ import annotations

from pathlib import Path

from pgwarden.config import load_config
from pgwarden.policy import policy_for


def _config(tmp_path: Path, body: str):  # type: ignore[no-untyped-def]
    path = tmp_path / "pgwarden.toml"
    path.write_text(body, encoding="utf-8")
    return load_config(path)


def test_two_spellings_of_one_database_share_the_strictest_policy(tmp_path: Path) -> None:
    config = _config(
        tmp_path,
        """
[environments.prod]
url = "postgresql://app:secret@db.example.com:5432/app?sslmode=require"
protected = true
[environments.reporting]
url = "postgresql://reader@DB.example.com/app"
[environments.other]
url = "postgresql://app@db.example.com:5432/other"
[environments.dev]
url = "embedded"
""",
    )
    reporting = policy_for(config, "reporting")
    assert reporting.protected and reporting.needs_tls and reporting.envs == ("prod", "reporting")
    assert not policy_for(config, "other").protected
    assert not policy_for(config, "dev").protected


def test_allow_insecure_holds_only_when_every_protected_name_says_so(tmp_path: Path) -> None:
    config = _config(
        tmp_path,
        """
[environments.a]
url = "postgresql://u@localhost:5433/app"
protected = true
allow_insecure = true
[environments.b]
url = "postgresql://u@127.0.0.1:5433/app"
protected = true
[environments.c]
url = "postgresql://u@localhost:5433/app"
""",
    )
    assert policy_for(config, "c").needs_tls and policy_for(config, "a").needs_tls
    relaxed = _config(
        tmp_path,
        """
[environments.a]
url = "postgresql://u@localhost:5433/app"
protected = true
allow_insecure = true
[environments.c]
url = "postgresql://u@localhost:5433/app"
""",
    )
    assert policy_for(relaxed, "c").protected and not policy_for(relaxed, "c").needs_tls


def test_environments_with_an_unset_variable_name_no_database_yet(tmp_path: Path) -> None:
    config = _config(
        tmp_path,
        """
[environments.prod]
url = "${PGWARDEN_TEST_NEVER_SET}"
protected = true
[environments.dev]
url = "postgresql://u@localhost/app"
""",
    )
    assert not policy_for(config, "dev").protected
