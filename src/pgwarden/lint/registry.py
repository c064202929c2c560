"""The rule registry: every rule's metadata and its check functions, collected from the family modules.

Guarantees: rule ids are unique; ``explain(rule)`` and docs/lint-rules.md are
rendered from the same ``Rule`` objects (single source).
"""

from __future__ import annotations

from functools import cache

from pgwarden.errors import BadInput
from pgwarden.lint.model import FAMILIES, Rule
from pgwarden.lint.rules._util import Checker


@cache
def _load() -> tuple[dict[str, Rule], dict[str, tuple[Checker, ...]]]:
    from pgwarden.lint.rules import (
        columns,
        constraints,
        destructive,
        heavy,
        hygiene,
        index,
        locking,
        partition_directive,
        partitions,
        runtime,
    )

    rules: dict[str, Rule] = {}
    checks: dict[str, list[Checker]] = {}
    for module in (
        index,
        columns,
        constraints,
        destructive,
        heavy,
        partitions,
        partition_directive,
        runtime,
        hygiene,
        locking,
    ):
        for rule in module.RULES:
            if rule.id in rules:
                raise RuntimeError(f"duplicate lint rule id {rule.id}")
            rules[rule.id] = rule
        for kind, fns in module.CHECKERS.items():
            checks.setdefault(kind, []).extend(fns)
    return rules, {k: tuple(v) for k, v in checks.items()}


def all_rules() -> dict[str, Rule]:
    """Every rule by id, in family order."""
    return _load()[0]


def checkers_for(kind: str) -> tuple[Checker, ...]:
    """The check functions interested in a node class name (e.g. "AlterTableStmt")."""
    return _load()[1].get(kind, ())


def get_rule(rule_id: str) -> Rule:
    """The rule with this id; BadInput (exit 2) naming the known ids otherwise."""
    rules = all_rules()
    if rule_id not in rules:
        raise BadInput(f"unknown lint rule {rule_id!r}", hint=f"known rules: {', '.join(rules)}")
    return rules[rule_id]


def explain(rule_id: str) -> str:
    """Plain-text explanation of one rule: why, a bad example, the safe rewrite."""
    rule = get_rule(rule_id)
    lock = f"\nlock: {rule.lock} (blocks {_blocks(rule.lock)})" if rule.lock else ""
    graded = (
        (
            "\ngraded: no finding on tables created earlier in the run; with --env a small table gives a "
            "warning, a large one an error"
        )
        if rule.graded
        else ""
    )
    return (
        f"{rule.id} ({rule.family}, {rule.severity}): {rule.summary}{lock}{graded}\n\n"
        f"Why:\n{_indent(rule.why)}\n\nBad:\n{_indent(rule.bad)}\n\nSafe:\n{_indent(rule.safe)}\n"
    )


def _blocks(lock: str) -> str:
    from pgwarden.lint.model import blocks_of

    return blocks_of(lock)


def _indent(text: str) -> str:
    return "\n".join(f"    {line}" for line in text.splitlines())


def markdown() -> str:
    """docs/lint-rules.md: every rule with why, bad example and safe rewrite (generated from the registry)."""
    out = [
        "# pgwarden lint rules",
        "",
        "Generated from the rule registry (`pgwarden lint --explain RULE` prints the same text). "
        "Regenerate with `python -m pgwarden.lint.registry > docs/lint-rules.md`.",
        "",
        "Severity: **error** makes `pgwarden lint` exit 1 and blocks `migrate up` in a protected environment; "
        "**warning** is reported; **info** is advice. *Graded* rules follow the table's size: no finding for "
        "a table created by a linted file earlier in the run (new, hence empty), with `--env` a warning below "
        "`[lint] small_table_rows` / `small_table_size` and an error above; without `--env` an existing table "
        "(one an earlier, applied file created: *context*) has unknown size, said so, and counts as large.",
        "",
        "Which files are linted and which are context: `--env` (pending there), `--git-base REF`, `--latest N`, "
        "or the automatic choice named on the first output line. Rules marked *needs a database* report only "
        "with an estimate or an execution: `--env` (EXPLAIN on the target) or `--execute` (the migrations "
        "applied on a scratch database).",
        "",
        "Suppress one statement with `-- pgwarden:ignore RULE reason` on the line before it (the reason is "
        'required); disable rules or whole families with `[lint] disable = ["rule-or-family"]`; change a '
        'rule\'s severity with `[lint] severity = { rule = "warning" }`.',
        "",
    ]
    rules = all_rules()
    for family in FAMILIES:
        out.append(f"## {family}")
        out.append("")
        for rule in (r for r in rules.values() if r.family == family):
            marks = (", graded" if rule.graded else "") + (", needs a database" if rule.needs_database else "")
            out.append(f"### `{rule.id}` ({rule.severity}{marks})")
            out.append("")
            out.append(
                f"**{rule.summary}.**" + (f" Lock: {rule.lock} (blocks {_blocks(rule.lock)})." if rule.lock else "")
            )
            out.append("")
            out.append(rule.why)
            out.append("")
            out.extend(["Bad:", "", "```sql", rule.bad, "```", "", "Safe:", "", "```sql", rule.safe, "```", ""])
    return "\n".join(out)


if __name__ == "__main__":
    import sys

    sys.stdout.write(markdown())
