"""The ``-- pgwarden:partition-convert`` migration directive: arguments checked before any database is touched.

The argument rules are :func:`pgwarden.partition.directive.parse` (the one parser
``migrate up`` uses too); this module only reports what it finds.
"""

from __future__ import annotations

from typing import Any

from pgwarden.errors import BadInput
from pgwarden.lint.context import StatementContext
from pgwarden.lint.model import Rule
from pgwarden.lint.rules._util import Checker, checkers

_GOOD = (
    "-- migrate:up transaction:false\n"
    "-- pgwarden:partition-convert table=public.events key=created_at interval='1 month' premake=3\n"
    "-- migrate:down irreversible"
)

RULES = [
    Rule(
        "partition-convert-arguments",
        "partitions",
        "error",
        "pgwarden:partition-convert directive with missing or invalid arguments",
        "The directive needs table=, key= and exactly one of interval= ('1 day', '1 week', '1 month', "
        "'3 months', '1 year') or modulus=; otherwise `migrate up` stops at this step (exit 2) "
        "with the migrations before it applied.",
        "-- migrate:up transaction:false\n-- pgwarden:partition-convert table=public.events key=created_at\n"
        "-- migrate:down irreversible",
        _GOOD,
    ),
    Rule(
        "partition-convert-widens-unique",
        "partitions",
        "warning",
        "pgwarden:partition-convert with widen_unique=true",
        "A partitioned table enforces a UNIQUE constraint only together with the partition key, so "
        "widen_unique=true turns UNIQUE (token) into UNIQUE (token, key): the same token may then appear "
        "in two partitions. Keep the uniqueness in a separate lookup table, or accept it knowingly.",
        "-- migrate:up transaction:false\n"
        "-- pgwarden:partition-convert table=sessions key=expires_at interval='1 month' widen_unique=true\n"
        "-- migrate:down irreversible",
        "-- migrate:up transaction:false\n"
        "-- pgwarden:partition-convert table=sessions key=expires_at interval='1 month'\n"
        "-- migrate:down irreversible",
    ),
]

CHECKERS: dict[str, list[Checker]] = {}


@checkers(CHECKERS, "Directive")
def _partition_convert(ctx: StatementContext, node: Any) -> None:
    from pgwarden.partition.directive import NAME, parse

    if node.raw.get("name") != NAME:
        return
    args = {str(k): str(v) for k, v in dict(node.raw.get("args") or {}).items()}
    try:
        directive = parse(args, where=f"{ctx.path}:{ctx.line}")
    except BadInput as exc:
        table, key = args.get("table", "<schema.table>"), args.get("key", "<timestamp column>")
        ctx.report(
            "partition-convert-arguments",
            exc.message.split(": ", 2)[-1],
            rewrite=f"-- pgwarden:partition-convert table={table} key={key} interval='1 month' premake=3",
        )
        return
    if directive.widen_unique:
        ctx.report(
            "partition-convert-widens-unique",
            f"widen_unique=true: unique constraints of {directive.table} will include the partition key "
            f"{directive.options.key}; their columns alone are no longer unique across partitions",
            rewrite=ctx.sql.replace(" widen_unique=true", ""),
        )
