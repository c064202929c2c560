"""Nothing renamed, nothing weakened: identity sequences keep their names; widening a UNIQUE needs --widen-unique."""

from __future__ import annotations

from datetime import UTC, datetime

from pgwarden.partition import api

SESSIONS = """
CREATE TABLE sessions (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, token text NOT NULL UNIQUE,
                       expires_at timestamptz NOT NULL);
"""


def test_unique_widening_is_refused_with_an_explanation_then_accepted_with_the_flag(project, db) -> None:
    db.execute(SESSIONS)
    refused = project.cli(
        "partition", "create", "sessions", "--key", "expires_at", "--interval", "1 month", "--apply", check_exit=5
    )
    assert "sessions_token_key: UNIQUE (token) would become UNIQUE (token, expires_at)" in refused.stderr
    assert "--widen-unique" in refused.stderr and "lookup table" in refused.stderr
    assert db.execute("SELECT relkind FROM pg_class WHERE relname = 'sessions'").fetchone()[0] == "r"
    project.cli(
        "partition",
        "create",
        "sessions",
        "--key",
        "expires_at",
        "--interval",
        "1 month",
        "--apply",
        "--widen-unique",
        check_exit=0,
    )
    assert db.execute("SELECT relkind FROM pg_class WHERE relname = 'sessions'").fetchone()[0] == "p"


def test_identity_sequence_keeps_its_name_through_create_and_convert(project, db) -> None:
    db.execute(
        SESSIONS
        + """
        CREATE TABLE tokens (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, at timestamptz NOT NULL);
        INSERT INTO tokens (at) SELECT timestamptz '2026-10-01' + g * interval '1 hour' FROM generate_series(1, 900) g;
    """
    )
    config = project.config()
    api.create(
        config,
        None,
        api.layout(config, "sessions", api.LayoutOptions(key="expires_at", interval="1 month")),
        widen_unique=True,
    )
    assert db.execute("SELECT pg_get_serial_sequence('sessions', 'id')").fetchone()[0] == "public.sessions_id_seq"
    layout = api.layout(config, "tokens", api.LayoutOptions(key="at", interval="1 month"))
    api.convert(config, None, layout, api.Tuning(batch=200), drop_old=True, now=datetime(2026, 11, 22, tzinfo=UTC))
    assert db.execute("SELECT pg_get_serial_sequence('tokens', 'id')").fetchone()[0] == "public.tokens_id_seq"
    assert db.execute("INSERT INTO tokens (at) VALUES (now()) RETURNING id").fetchone()[0] == 901
    assert db.execute("SELECT count(*) FROM pg_class WHERE relkind = 'S' AND relname LIKE '%pgw%'").fetchone()[0] == 0
