"""Turning result dataclasses into JSON documents (for ``--json``)."""

from __future__ import annotations

import dataclasses
import json
from datetime import date, datetime, timedelta
from decimal import Decimal
from enum import Enum
from pathlib import Path
from typing import Any


def to_jsonable(value: Any) -> Any:
    """A structure of dicts, lists, strings and numbers equivalent to ``value``.

    Dataclasses become dicts (properties are not included), datetimes ISO 8601,
    paths strings, timedeltas seconds.
    """
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {
            f.name: to_jsonable(getattr(value, f.name)) for f in dataclasses.fields(value) if not f.name.startswith("_")
        }
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [to_jsonable(v) for v in value]
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, timedelta):
        return value.total_seconds()
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, Enum):
        return value.value
    return value


def dumps(value: Any) -> str:
    """One JSON document for ``value`` (see :func:`to_jsonable`)."""
    return json.dumps(to_jsonable(value), indent=2, default=str)


def sql_statement(text: str) -> str:
    """``text`` as one statement ending in exactly one semicolon (never two), for fixes and hints."""
    return text.rstrip().rstrip(";").rstrip() + ";"


def sql_excerpt(text: str, limit: int | None = None) -> str:
    """A query as one line for a message: whitespace collapsed, trailing semicolons dropped.

    Messages put their own punctuation after it, so a query never adds a second semicolon. Cut to
    ``limit`` characters with ``[...]`` when given (never an ellipsis character).
    """
    line = " ".join(text.split()).rstrip(";").rstrip()
    if limit is not None and len(line) > limit:
        return line[:limit].rstrip() + " [...]"
    return line
