"""Removing passwords from anything pgwarden prints, logs or records.

Guarantees: every ``scheme://`` URL in a text is parsed before it is printed
(libpq's own parser via ``psycopg.conninfo``); its password is replaced by
``***``. A URL that does not parse cleanly (a raw ``@`` or ``/`` in the password,
a foreign scheme, a bad port) is printed with everything between ``://`` and its
last ``@`` masked. ``password=...`` in keyword/value strings and in query strings
is masked too.
"""

from __future__ import annotations

import re

MASK = "***"
_URL = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://\S+")
_KV_PASSWORD = re.compile(r"(password\s*=\s*)('(?:[^'\\]|\\.)*'|\S+)", re.I)
_QUERY_PASSWORD = re.compile(r"([?&]password=)[^&\s]*", re.I)


def _parses_cleanly(url: str) -> bool:
    from psycopg.conninfo import conninfo_to_dict

    try:
        info = conninfo_to_dict(url)
    except Exception:  # noqa: BLE001 - any parse failure means "mask conservatively"
        return False
    return not any("@" in str(info.get(key) or "") for key in ("host", "hostaddr", "dbname", "port"))


def redact_url(url: str) -> str:
    """``url`` with its password masked (see module guarantees)."""
    scheme, separator, rest = url.partition("://")
    if "@" in rest:
        if _parses_cleanly(url):
            end = min((i for i in (rest.find(c) for c in "/?#") if i != -1), default=len(rest))
            netloc, tail = rest[:end], rest[end:]
            if "@" in netloc:
                userinfo, _, host = netloc.rpartition("@")
                user, colon, _password = userinfo.partition(":")
                netloc = f"{user}:{MASK}@{host}" if colon else netloc
            rest = netloc + tail
        else:
            rest = MASK + rest[rest.rindex("@") :]
    return _QUERY_PASSWORD.sub(rf"\g<1>{MASK}", scheme + separator + rest)


def redact(text: str) -> str:
    """``text`` with every password in a URL or keyword/value connection string replaced by ``***``."""
    text = _URL.sub(lambda match: redact_url(match.group(0)), text)
    return _KV_PASSWORD.sub(rf"\g<1>{MASK}", text)
