"""``pgwarden plan …``: write expand/contract migrations for changes that cannot be done in one safe step."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from pgwarden.cli.common import EnvOpt, JsonOpt, console, emit_json, load

if TYPE_CHECKING:
    from pgwarden.plans.api import PlanResult

app = typer.Typer(
    help="Expand/contract plans: schema changes as a sequence of migrations, each safe on its own.",
    no_args_is_help=True,
)

TableArg = Annotated[str, typer.Argument(metavar="TABLE", help="schema.table or table.")]
ColumnArg = Annotated[str, typer.Argument(metavar="COLUMN")]
DryRunOpt = Annotated[bool, typer.Option("--dry-run", help="Print the files instead of writing them.")]


def _render(result: PlanResult, json: bool) -> None:
    if json:
        emit_json(result)
        return
    out = console()
    verb = "would write" if not result.written else "wrote"
    out.print(
        f"plan {result.plan} ({result.recipe} on {result.table}): {verb} {len(result.files)} migration(s); "
        "deploy them in order, one deploy per phase",
        markup=False,
    )
    for number, planned in enumerate(result.files, start=1):
        mode = "" if planned.transactional else ", transaction:false"
        out.print(f"  {number}. [{planned.phase}{mode}] {planned.path}", markup=False)
        if planned.then_in_app:
            out.print(f"     then, in the application: {planned.then_in_app}", markup=False)
    if not result.written:
        for planned in result.files:
            out.print(f"\n{planned.text}", markup=False)


@app.command("rename-column")
def rename_column(
    table: TableArg,
    old: ColumnArg,
    new: Annotated[str, typer.Argument(metavar="NEW")],
    dry_run: DryRunOpt = False,
    env: EnvOpt = None,
    json: JsonOpt = False,
) -> None:
    """Rename a column with no moment where old or new application code breaks."""
    from pgwarden.plans.api import rename_column as plan

    _render(plan(load(), env, table, old, new, dry_run=dry_run), json)


@app.command("change-type")
def change_type(
    table: TableArg,
    column: ColumnArg,
    new_type: Annotated[str, typer.Argument(metavar="TYPE")],
    dry_run: DryRunOpt = False,
    env: EnvOpt = None,
    json: JsonOpt = False,
) -> None:
    """Change a column's type without rewriting the table under an exclusive lock."""
    from pgwarden.plans.api import change_type as plan

    _render(plan(load(), env, table, column, new_type, dry_run=dry_run), json)


@app.command("set-not-null")
def set_not_null(
    table: TableArg, column: ColumnArg, dry_run: DryRunOpt = False, env: EnvOpt = None, json: JsonOpt = False
) -> None:
    """Make a column NOT NULL without a full scan under ACCESS EXCLUSIVE."""
    from pgwarden.plans.api import set_not_null as plan

    _render(plan(load(), env, table, column, dry_run=dry_run), json)


@app.command("add-fk")
def add_fk(
    table: TableArg,
    column: ColumnArg,
    references: Annotated[str, typer.Argument(metavar="REF_TABLE")],
    ref_column: Annotated[str | None, typer.Argument(metavar="[REF_COLUMN]")] = None,
    dry_run: DryRunOpt = False,
    env: EnvOpt = None,
    json: JsonOpt = False,
) -> None:
    """Add a foreign key without blocking writes while existing rows are checked."""
    from pgwarden.plans.api import add_foreign_key as plan

    _render(plan(load(), env, table, column, references, ref_column, dry_run=dry_run), json)
