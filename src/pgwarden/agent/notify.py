"""Webhook notifications on failure, recovery and dead-man alerts.

The body is generic JSON with a Slack-compatible ``text`` field, so one URL works for Slack, Mattermost,
Discord's Slack endpoint, or any receiver. Guarantees: every string passes through
:func:`pgwarden.db.redact` (no password is ever sent); delivery is best effort with a 5 s timeout and
never fails the agent (the outcome is returned and recorded in the run's details).
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from dataclasses import asdict, dataclass
from datetime import datetime

from pgwarden.db import redact

KINDS = ("failure", "recovery", "dead-man")
_ICON = {"failure": ":red_circle:", "recovery": ":large_green_circle:", "dead-man": ":warning:"}


@dataclass(frozen=True)
class Notification:
    kind: str
    schedule: str
    task: str
    env: str
    summary: str
    at: datetime

    @property
    def text(self) -> str:
        what = {"failure": "failed", "recovery": "recovered", "dead-man": "has not succeeded in time"}[self.kind]
        return f"{_ICON[self.kind]} pgwarden agent: {self.task} on {self.env} {what}: {self.summary}"

    def payload(self) -> dict[str, str]:
        body = {k: (v.isoformat() if isinstance(v, datetime) else str(v)) for k, v in asdict(self).items()}
        body["text"] = self.text
        return {k: redact(v) for k, v in body.items()}


def send(url: str | None, notification: Notification, *, timeout: float = 5.0) -> str:
    """POST ``notification`` to ``url``; returns ``sent``, ``no webhook`` or why it was not delivered."""
    if not url:
        return "no webhook"
    data = json.dumps(notification.payload()).encode()
    request = urllib.request.Request(
        url, data=data, method="POST", headers={"Content-Type": "application/json", "User-Agent": "pgwarden-agent"}
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 (configured URL)
            return "sent" if 200 <= response.status < 300 else f"HTTP {response.status}"
    except (urllib.error.URLError, OSError, ValueError) as exc:
        return redact(f"not delivered: {exc}")
