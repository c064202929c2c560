"""Options, console and rendering helpers shared by every command group."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

if TYPE_CHECKING:
    from rich.console import Console

    from pgwarden.config import Config

JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON document on stdout instead of tables.")]
EnvOpt = Annotated[str | None, typer.Option("--env", "-e", help="Environment from the config (default: default_env).")]


def _consent(yes: bool) -> bool:
    """``--yes`` is consent for the safety policy of whatever database the command reaches."""
    from pgwarden.policy import give_consent

    give_consent(yes)
    return yes


YesOpt = Annotated[bool, typer.Option("--yes", "-y", callback=_consent,
                                      help="Confirm without asking (needed in CI for protected envs).")]


class _State:
    config_path: Path | None = None


state = _State()


def load() -> Config:
    """The project's configuration (``--config``, ``$PGWARDEN_CONFIG`` or the nearest pgwarden.toml)."""
    from pgwarden.settings import load as load_settings

    return load_settings(state.config_path)


_consoles: dict[bool, Console] = {}


def console(stderr: bool = False) -> Console:
    """The rich console for results (stdout) or progress and messages (stderr)."""
    if stderr not in _consoles:
        from rich.console import Console

        _consoles[stderr] = Console(stderr=stderr, highlight=False, soft_wrap=False)
    return _consoles[stderr]


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


def table(title: str | None, columns: list[str], rows: list[list[Any]]) -> Any:
    """A rich Table with the given header and rows (values are str()-ed; None shows as '-')."""
    from rich.table import Table

    out = Table(title=title, title_justify="left", show_lines=False)
    for column in columns:
        out.add_column(column)
    for row in rows:
        out.add_row(*["-" if v is None else str(v) for v in row])
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
