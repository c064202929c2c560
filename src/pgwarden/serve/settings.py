"""``[serve]`` of the config and the rule for binding beyond this machine.

```toml
[serve]
host = "127.0.0.1"          # loopback by default; any other address needs a token
port = 8765
token = "${DASHBOARD_TOKEN}" # or the PGWARDEN_DASHBOARD_TOKEN environment variable (which wins)
lock_timeout = "200ms"       # every dashboard query, in a read-only transaction
statement_timeout = "2s"
section_timeout = "2.5s"     # a page part that has not answered by then says so
overview_max_age = "10s"     # the overview and /metrics reuse figures up to this old ("0s": always fresh)
```
"""

from __future__ import annotations

import ipaddress
import os
from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict, Field, field_validator

from pgwarden.errors import BadInput, Refused
from pgwarden.units import parse_duration

if TYPE_CHECKING:
    from pgwarden.config import Config

TOKEN_ENV = "PGWARDEN_DASHBOARD_TOKEN"
MIN_TOKEN_LENGTH = 16


class ServeSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    host: str = "127.0.0.1"
    port: int = Field(default=8765, ge=0, le=65535)
    token: str | None = None
    lock_timeout: str = "200ms"
    statement_timeout: str = "2s"
    section_timeout: str = "2.5s"
    overview_max_age: str = "10s"

    @field_validator("lock_timeout", "statement_timeout", "section_timeout", "overview_max_age")
    @classmethod
    def _duration(cls, value: str) -> str:
        parse_duration(value)
        return value

    def seconds(self, name: str) -> float:
        return parse_duration(str(getattr(self, name)))


def load(config: Config) -> ServeSettings:
    """Validate ``[serve]``; ConfigError names file and key."""
    from pgwarden.config import validate_section

    return validate_section(ServeSettings, dict(config.settings.serve), source=config.source, key="serve")


def token_of(settings: ServeSettings) -> str | None:
    """The dashboard token: ``$PGWARDEN_DASHBOARD_TOKEN``, else ``[serve] token``, else None."""
    return os.environ.get(TOKEN_ENV) or settings.token or None


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_bind(host: str, token: str | None) -> None:
    """Refuse (exit 5) to listen beyond loopback without a token; BadInput for a token too short to guess-proof."""
    if token is not None and len(token) < MIN_TOKEN_LENGTH:
        raise BadInput(
            f"the dashboard token is {len(token)} characters; use at least {MIN_TOKEN_LENGTH}",
            hint="e.g. export PGWARDEN_DASHBOARD_TOKEN=$(python -c 'import secrets; print(secrets.token_urlsafe(24))')",
        )
    if not is_loopback(host) and not token:
        raise Refused(
            f"--host {host} serves the dashboard beyond this machine: set {TOKEN_ENV} (or [serve] token)",
            hint="or keep the default --host 127.0.0.1 and use an SSH tunnel",
        )
