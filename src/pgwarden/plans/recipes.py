"""Expand/contract recipes: each schema change as a sequence of migrations that are safe on their own.

Pure functions: they take what the catalog says about the column and return the steps; no
database access. Every step states its phase (``expand`` or ``contract``) and, where the
application must change before the next step, what must be deployed in between. Identifiers are
quoted with psycopg's ``sql.Identifier`` rules; the new type of ``change-type`` is SQL the user gave
(checked by the parser when the plan is linted).

| recipe        | steps                                                                            |
|---------------|----------------------------------------------------------------------------------|
| rename-column | add new column + two-way sync trigger; backfill; (app: use new) ; drop old column |
| change-type   | add new column + sync trigger; backfill; NOT NULL via validated CHECK; (app) swap |
|               | names in one short transaction; drop old column                                  |
| set-not-null  | CHECK (col IS NOT NULL) NOT VALID; VALIDATE; SET NOT NULL and drop the CHECK      |
| add-fk        | index the referencing column CONCURRENTLY; FOREIGN KEY NOT VALID; VALIDATE        |
"""

from __future__ import annotations

from dataclasses import dataclass

from psycopg import sql

EXPAND = "expand"
CONTRACT = "contract"


@dataclass(frozen=True)
class Column:
    """What the catalog says about a column the recipe works on."""

    schema: str
    table: str
    name: str
    type: str
    not_null: bool


@dataclass(frozen=True)
class Step:
    """One migration file of a plan."""

    slug: str
    phase: str
    up: str
    down: str
    transactional: bool = True
    then_in_app: str | None = None
    irreversible: bool = False


def q(*parts: str) -> str:
    """An identifier (or schema-qualified name) quoted as PostgreSQL needs it."""
    return sql.Identifier(*parts).as_string(None)


def _limit(name: str) -> str:
    """Identifiers are at most 63 bytes; keep generated names inside that."""
    return name[:63]


def rename_column(col: Column, new: str) -> list[Step]:
    """Rename ``col`` to ``new`` without a moment where old or new application code breaks."""
    table, old_q, new_q = q(col.schema, col.table), q(col.name), q(new)
    func = q(col.schema, _limit(f"pgw_sync_{col.table}_{col.name}_{new}"))
    trigger = q(_limit(f"pgw_sync_{col.name}_{new}"))
    check = q(_limit(f"{col.table}_{new}_not_null"))
    sync = f"""CREATE FUNCTION {func}() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        IF NEW.{new_q} IS NULL THEN
            NEW.{new_q} := NEW.{old_q};
        ELSIF NEW.{old_q} IS NULL THEN
            NEW.{old_q} := NEW.{new_q};
        END IF;
    ELSIF NEW.{old_q} IS DISTINCT FROM OLD.{old_q} AND NEW.{new_q} IS NOT DISTINCT FROM OLD.{new_q} THEN
        NEW.{new_q} := NEW.{old_q};
    ELSIF NEW.{new_q} IS DISTINCT FROM OLD.{new_q} AND NEW.{old_q} IS NOT DISTINCT FROM OLD.{old_q} THEN
        NEW.{old_q} := NEW.{new_q};
    END IF;
    RETURN NEW;
END
$$;"""
    steps = [
        Step(
            f"expand_{col.table}_add_{new}",
            EXPAND,
            f"ALTER TABLE {table} ADD COLUMN {new_q} {col.type};\n\n{sync}\n\n"
            f"CREATE TRIGGER {trigger} BEFORE INSERT OR UPDATE ON {table}\n"
            f"    FOR EACH ROW EXECUTE FUNCTION {func}();",
            f"DROP TRIGGER {trigger} ON {table};\nDROP FUNCTION {func}();\nALTER TABLE {table} DROP COLUMN {new_q};",
        ),
        _backfill_step(col, f"{new_q} = {old_q}", f"{new_q} IS DISTINCT FROM {old_q}", new),
    ]
    if col.not_null:
        steps += _not_null_steps(col.schema, col.table, new, check)
    steps.append(
        Step(
            f"contract_{col.table}_drop_{col.name}",
            CONTRACT,
            f"DROP TRIGGER {trigger} ON {table};\nDROP FUNCTION {func}();\n"
            f"-- pgwarden:ignore drop-column contract phase of a planned rename: the application reads {new} now\n"
            f"ALTER TABLE {table} DROP COLUMN {old_q};",
            f"-- {col.name} and its data are gone: restore a backup to get them back",
            irreversible=True,
        )
    )
    steps[-2] = _with_app_step(
        steps[-2],
        f"deploy the application reading and writing {new} instead of "
        f"{col.name} (writes to either are kept in sync until the next step)",
    )
    return steps


def change_type(col: Column, new_type: str) -> list[Step]:
    """Change ``col``'s type through a shadow column, backfill and a name swap (no table rewrite under lock)."""
    table, old_q = q(col.schema, col.table), q(col.name)
    shadow = _limit(f"{col.name}_new")
    shadow_q, retired_q = q(shadow), q(_limit(f"{col.name}_old"))
    func = q(col.schema, _limit(f"pgw_sync_{col.table}_{col.name}_type"))
    trigger = q(_limit(f"pgw_sync_{col.name}_type"))
    converted = f"NEW.{old_q}::{new_type}"
    sync = f"""CREATE FUNCTION {func}() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.{shadow_q} := {converted};
    RETURN NEW;
END
$$;"""
    steps = [
        Step(
            f"expand_{col.table}_add_{shadow}",
            EXPAND,
            f"ALTER TABLE {table} ADD COLUMN {shadow_q} {new_type};\n\n{sync}\n\n"
            f"CREATE TRIGGER {trigger} BEFORE INSERT OR UPDATE ON {table}\n"
            f"    FOR EACH ROW EXECUTE FUNCTION {func}();",
            f"DROP TRIGGER {trigger} ON {table};\nDROP FUNCTION {func}();\nALTER TABLE {table} DROP COLUMN {shadow_q};",
        ),
        _backfill_step(
            col, f"{shadow_q} = {old_q}::{new_type}", f"{shadow_q} IS DISTINCT FROM {old_q}::{new_type}", shadow
        ),
    ]
    if col.not_null:
        steps += _not_null_steps(col.schema, col.table, shadow, q(_limit(f"{col.table}_{shadow}_not_null")))
    steps.append(
        _with_app_step(
            Step(
                f"expand_{col.table}_swap_{col.name}",
                EXPAND,
                f"DROP TRIGGER {trigger} ON {table};\nDROP FUNCTION {func}();\n"
                f"-- pgwarden:ignore rename-column swap of a planned type change: the application reads both\n"
                f"ALTER TABLE {table} RENAME COLUMN {old_q} TO {retired_q};\n"
                f"-- pgwarden:ignore rename-column swap of a planned type change: the application reads both\n"
                f"ALTER TABLE {table} RENAME COLUMN {shadow_q} TO {old_q};",
                f"ALTER TABLE {table} RENAME COLUMN {old_q} TO {shadow_q};\n"
                f"ALTER TABLE {table} RENAME COLUMN {retired_q} TO {old_q};",
            ),
            f"deploy the application that reads {col.name} as {new_type} before this swap "
            "(both run the same column name; the swap is two renames in one short transaction)",
        )
    )
    steps.append(
        Step(
            f"contract_{col.table}_drop_{col.name}_old",
            CONTRACT,
            f"-- pgwarden:ignore drop-column contract phase of a planned type change: {col.name} holds {new_type} now\n"
            f"ALTER TABLE {table} DROP COLUMN {retired_q};",
            f"-- the old {col.name} values are gone: restore a backup to get them back",
            irreversible=True,
        )
    )
    return steps


def set_not_null(col: Column) -> list[Step]:
    """SET NOT NULL without a full-table scan under ACCESS EXCLUSIVE: a validated CHECK proves it first."""
    check = q(_limit(f"{col.table}_{col.name}_not_null"))
    return _not_null_steps(col.schema, col.table, col.name, check)


def add_foreign_key(col: Column, ref_schema: str, ref_table: str, ref_column: str, *, has_index: bool) -> list[Step]:
    """A foreign key added NOT VALID then validated (no long SHARE ROW EXCLUSIVE scan), its column indexed first."""
    table = q(col.schema, col.table)
    fk = q(_limit(f"{col.table}_{col.name}_fkey"))
    steps = []
    if not has_index:
        index = q(_limit(f"{col.table}_{col.name}_idx"))
        steps.append(
            Step(
                f"expand_{col.table}_index_{col.name}",
                EXPAND,
                f"CREATE INDEX CONCURRENTLY IF NOT EXISTS {index} ON {table} ({q(col.name)});",
                f"DROP INDEX CONCURRENTLY IF EXISTS {q(col.schema, _limit(f'{col.table}_{col.name}_idx'))};",
                transactional=False,
            )
        )
    steps.append(
        Step(
            f"expand_{col.table}_add_{col.name}_fkey",
            EXPAND,
            f"ALTER TABLE {table} ADD CONSTRAINT {fk} FOREIGN KEY ({q(col.name)})\n"
            f"    REFERENCES {q(ref_schema, ref_table)} ({q(ref_column)}) NOT VALID;",
            f"ALTER TABLE {table} DROP CONSTRAINT {fk};",
        )
    )
    steps.append(
        Step(
            f"expand_{col.table}_validate_{col.name}_fkey",
            EXPAND,
            f"ALTER TABLE {table} VALIDATE CONSTRAINT {fk};",
            f"ALTER TABLE {table} DROP CONSTRAINT {fk};\n"
            f"ALTER TABLE {table} ADD CONSTRAINT {fk} FOREIGN KEY ({q(col.name)})\n"
            f"    REFERENCES {q(ref_schema, ref_table)} ({q(ref_column)}) NOT VALID;",
        )
    )
    return steps


def _not_null_steps(schema: str, table_name: str, column: str, check: str) -> list[Step]:
    table, column_q = q(schema, table_name), q(column)
    return [
        Step(
            f"expand_{table_name}_check_{column}_not_null",
            EXPAND,
            f"ALTER TABLE {table} ADD CONSTRAINT {check} CHECK ({column_q} IS NOT NULL) NOT VALID;",
            f"ALTER TABLE {table} DROP CONSTRAINT {check};",
        ),
        Step(
            f"expand_{table_name}_validate_{column}_not_null",
            EXPAND,
            f"ALTER TABLE {table} VALIDATE CONSTRAINT {check};",
            f"ALTER TABLE {table} DROP CONSTRAINT {check};\n"
            f"ALTER TABLE {table} ADD CONSTRAINT {check} CHECK ({column_q} IS NOT NULL) NOT VALID;",
        ),
        Step(
            f"expand_{table_name}_set_{column}_not_null",
            EXPAND,
            f"-- the validated CHECK lets PostgreSQL skip the full scan\n"
            f"ALTER TABLE {table} ALTER COLUMN {column_q} SET NOT NULL;\n"
            f"ALTER TABLE {table} DROP CONSTRAINT {check};",
            f"ALTER TABLE {table} ADD CONSTRAINT {check} CHECK ({column_q} IS NOT NULL) NOT VALID;\n"
            f"ALTER TABLE {table} ALTER COLUMN {column_q} DROP NOT NULL;",
        ),
    ]


def _backfill_step(col: Column, set_clause: str, where: str, target: str) -> Step:
    """A ``-- pgwarden:backfill`` directive step: batched, resumable, one short transaction a batch."""
    table = f"{q(col.schema)}.{q(col.table)}"
    directive = (
        f"-- pgwarden:backfill table={_quote_arg(table)} set={_quote_arg(set_clause)} "
        f"where={_quote_arg(where)} batch=5000"
    )
    return Step(
        f"expand_{col.table}_backfill_{target}",
        EXPAND,
        directive,
        f"SELECT {sql.Literal(f'nothing to undo: the step that added {target} drops it').as_string(None)};",
        transactional=False,
    )


def _quote_arg(value: str) -> str:
    """A directive argument: single-quoted with '' for a quote when it holds spaces or quotes."""
    if value and all(c.isalnum() or c in '_."' for c in value):
        return value
    return "'" + value.replace("'", "''") + "'"


def _with_app_step(step: Step, text: str) -> Step:
    return Step(step.slug, step.phase, step.up, step.down, step.transactional, text)


def render(step: Step, *, plan: str, number: int, total: int) -> str:
    """The migration file text of ``step``: phase directive, up and down sections, the app step as a comment."""
    up_options = "" if step.transactional else " transaction:false"
    lines = [f"-- pgwarden:phase {step.phase} plan={plan}", f"-- step {number} of {total} of plan {plan}"]
    if step.then_in_app:
        lines.append(f"-- before the next step: {step.then_in_app}")
    lines += [
        f"-- migrate:up{up_options}",
        step.up.strip(),
        "",
        "-- migrate:down irreversible" if step.irreversible else f"-- migrate:down{up_options}",
        step.down.strip(),
        "",
    ]
    return "\n".join(lines)
