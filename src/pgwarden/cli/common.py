"""Options, console and rendering helpers shared by every command group."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

if TYPE_CHECKING:
    from rich.console import Console

    from pgwarden.config import Config

JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON document on stdout instead of tables.")]
EnvOpt = Annotated[str | None, typer.Option("--env", "-e", help="Environment from the config (default: default_env).")]


def _keep_scratch(keep: bool) -> bool:
    if keep:
        from pgwarden.server import keep_scratch

        keep_scratch()
    return keep


KeepOpt = Annotated[
    bool, typer.Option("--keep", callback=_keep_scratch, help="Leave the embedded scratch server running afterwards.")
]


def _consent(yes: bool) -> bool:
    """``--yes`` is consent for the safety policy of whatever database the command reaches."""
    from pgwarden.policy import give_consent

    give_consent(yes)
    return yes


YesOpt = Annotated[
    bool,
    typer.Option("--yes", "-y", callback=_consent, help="Confirm without asking (needed in CI for protected envs)."),
]


class _State:
    config_path: Path | None = None


state = _State()


def load() -> Config:
    """The project's configuration (``--config``, ``$PGWARDEN_CONFIG`` or the nearest pgwarden.toml)."""
    from pgwarden.settings import load as load_settings

    return load_settings(state.config_path)


_consoles: dict[bool, Console] = {}

# Width given to rich when the stream is not a terminal (a pipe, a CI log, a file): wide enough that no
# table column is ever cut or wrapped. $COLUMNS is ignored there: CI runners set it to 80.
PIPE_WIDTH = 4000


def console(stderr: bool = False) -> Console:
    """The rich console for results (stdout) or progress and messages (stderr).

    Guarantees: on a terminal, text wraps at the terminal's width and table cells fold (never cut
    with an ellipsis); anywhere else (pipes, CI logs, files) lines are never wrapped and tables are
    laid out at :data:`PIPE_WIDTH` columns, so versions, table names and paths print in full.
    """
    if stderr not in _consoles:
        from rich.console import Console

        stream = sys.stderr if stderr else sys.stdout
        terminal = stream.isatty() and not os.environ.get("PGWARDEN_PLAIN")
        if terminal:
            _consoles[stderr] = Console(stderr=stderr, highlight=False, soft_wrap=False)
        else:
            _consoles[stderr] = Console(stderr=stderr, highlight=False, soft_wrap=True, width=PIPE_WIDTH)
    return _consoles[stderr]


def help_settings() -> dict[str, Any]:
    """Click context settings: in a pipe, ``--help`` lists commands without cutting their summaries."""
    if sys.stdout.isatty():
        return {}
    return {"terminal_width": 200, "max_content_width": 200}


def is_terminal(stderr: bool = False) -> bool:
    """Whether results (stdout) or progress (stderr) go to a person's terminal."""
    return bool(console(stderr).is_terminal)


@contextmanager
def progress(description: str, total: int | None = None) -> Iterator[Callable[[int, int | None], None]]:
    """A progress bar on stderr for long work, only when stderr is a terminal.

    Yields ``update(done, total)``; in a pipe or CI log it does nothing (the final result line is
    what gets logged), so callers can always pass it down.
    """
    err = console(stderr=True)
    if not err.is_terminal:

        def ignore(done: int, new_total: int | None = None) -> None:
            return None

        yield ignore
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err,
        transient=True,
    ) as bar:
        task = bar.add_task(description, total=total)

        def update(done: int, new_total: int | None = None) -> None:
            bar.update(task, completed=done, total=new_total if new_total is not None else total)

        yield update


def emit_json(result: Any) -> None:
    """Print ``result`` as one JSON document on stdout."""
    from pgwarden.output import dumps

    sys.stdout.write(dumps(result) + "\n")


def json_doc(result: Any) -> dict[str, Any]:
    """``result`` (a dataclass) as a JSON-ready dict, to extend with computed fields before emit_json."""
    from pgwarden.output import to_jsonable

    doc = to_jsonable(result)
    assert isinstance(doc, dict)
    return doc


@contextmanager
def working(message: str) -> Iterator[None]:
    """Long work without a count: a spinner with ``message`` on a terminal, else ``message`` once on stderr."""
    from rich.markup import escape

    err = console(stderr=True)
    if not err.is_terminal:
        err.print(message, markup=False)
        yield
        return
    with err.status(escape(message)):
        yield


def cell(value: Any) -> str:
    """A value as plain cell text: None is '-', lists and dicts one ``a, b`` / ``key=value`` line.

    Not escaped: :func:`table` escapes its cells.
    """
    if value is None:
        return "-"
    if isinstance(value, dict):
        return ", ".join(f"{k}={cell(v)}" for k, v in value.items())
    if isinstance(value, list | tuple):
        return ", ".join(cell(v) for v in value)
    return " ".join(str(value).split()) if isinstance(value, str) and "\n" in value else str(value)


def table(title: str | None, columns: list[str], rows: list[list[Any]]) -> Any:
    """A rich Table with the given header and rows (values are str()-ed; None shows as '-').

    Text cells are escaped (user text is never read as rich markup; pass a ``rich.text.Text`` for
    styled cells) and never cut: on a terminal a long cell folds onto more lines, elsewhere the
    table is as wide as its content (see console()). Headers are never wrapped or cut.
    """
    from rich.markup import escape
    from rich.table import Table
    from rich.text import Text

    out = Table(title=escape(title) if title else None, title_justify="left", show_lines=False)
    for column in columns:
        out.add_column(escape(column), overflow="fold", min_width=len(column))
    for row in rows:
        out.add_row(*[v if isinstance(v, Text) else "-" if v is None else escape(str(v)) for v in row])
    return out


def info(message: str) -> None:
    """A progress line on stderr (never mixed into --json stdout)."""
    console(stderr=True).print(message)


def is_interactive() -> bool:
    """Whether a person can answer a prompt (stdin and stderr are terminals)."""
    return sys.stdin.isatty() and sys.stderr.isatty()


def prompt_typed(expected: str) -> bool:
    """Ask the person to type ``expected``; True when they did."""
    answer = typer.prompt(f"type {expected!r} to confirm", default="", show_default=False, err=True)
    return bool(answer.strip() == expected)


def typed_confirmation(json: bool = False) -> Callable[[str], bool] | None:
    """The confirmation prompt when a person can answer it, else None (the library then refuses without --yes)."""
    return prompt_typed if is_interactive() and not json else None
