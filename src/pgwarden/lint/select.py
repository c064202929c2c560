"""Which migration files are new (linted) and which are context (already applied, their tables exist).

The choice is made here, never by the luck of the folder:

- ``pending``: with an environment, the files not applied there are linted; every applied one is context
  (its tables exist and are sized from the live catalog).
- ``git-base REF``: files added or changed since REF (``git diff`` against the working tree, plus
  untracked files) are linted; every earlier file is context (tables exist, size unknown).
- ``latest N``: the last N files (in migration order) are linted; every earlier file is context.
- ``auto`` (plain ``pgwarden lint``): ``git-base`` against the merge base with the branch's upstream
  (or origin/HEAD, main, master) when that finds changed files, else ``latest 1``.

Guarantees: pure functions over the ordered file list plus read-only ``git`` calls; a context file
never makes a table "new"; bad input (unknown ref, N < 1, git missing) raises BadInput (exit 2).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from pgwarden.errors import BadInput

if TYPE_CHECKING:
    import subprocess

AUTO_BASES = ("@{upstream}", "origin/HEAD", "origin/main", "main", "master")


@dataclass(frozen=True)
class Selection:
    """Files to lint and the earlier files that are context, in migration order, with how they were chosen."""

    mode: str  # "paths" | "pending" | "git-base" | "latest"
    linted: tuple[Path, ...]
    context: tuple[Path, ...] = ()
    detail: str = ""
    sized_live: bool = False
    skipped: tuple[Path, ...] = field(default=())

    @property
    def note(self) -> str:
        """One line saying what is linted and why (the first line of ``pgwarden lint`` output)."""
        what = f"linting {len(self.linted)} file(s) ({self.detail})"
        if not self.context:
            return what
        size = "sized from the live catalog" if self.sized_live else "size unknown, graded as large"
        return f"{what}; {len(self.context)} earlier file(s) are context: their tables exist ({size})"


def _split(files: list[Path], linted: set[Path]) -> tuple[tuple[Path, ...], tuple[Path, ...], tuple[Path, ...]]:
    resolved = [f.resolve() for f in files]
    chosen = [f for f, r in zip(files, resolved, strict=True) if r in linted]
    if not chosen:
        return (), (), tuple(files)
    last = max(i for i, r in enumerate(resolved) if r in linted)
    context = tuple(f for i, (f, r) in enumerate(zip(files, resolved, strict=True)) if i < last and r not in linted)
    skipped = tuple(files[last + 1 :])
    return tuple(chosen), context, skipped


def by_latest(files: list[Path], count: int) -> Selection:
    """The last ``count`` files are linted, every earlier one is context."""
    if count < 1:
        raise BadInput(f"--latest {count}: must be 1 or more")
    linted = tuple(files[-count:]) if files else ()
    return Selection(
        "latest",
        linted,
        tuple(files[: len(files) - len(linted)]),
        f"--latest {count}: the last {len(linted)} of {len(files)} in migration order",
    )


def by_pending(files: list[Path], pending: list[Path], env: str) -> Selection:
    """The files pending in ``env`` are linted; the applied (earlier) ones are context sized live."""
    linted, context, skipped = _split(files, {p.resolve() for p in pending})
    return Selection("pending", linted, context, f"pending in {env}", sized_live=True, skipped=skipped)


def _git(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    import subprocess

    try:
        return subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, timeout=30)
    except FileNotFoundError:
        raise BadInput("--git-base needs git, which is not installed", hint="use --latest N instead") from None


def _top(folder: Path) -> Path | None:
    result = _git(["rev-parse", "--show-toplevel"], folder)
    return Path(result.stdout.strip()) if result.returncode == 0 else None


def changed_since(folder: Path, ref: str) -> set[Path]:
    """Files under ``folder`` added or changed since ``ref`` (working tree included) plus untracked ones."""
    top = _top(folder)
    if top is None:
        raise BadInput(f"--git-base {ref}: {folder} is not inside a git repository", hint="use --latest N instead")
    diff = _git(["diff", "--name-only", "--diff-filter=ACMR", "--no-renames", ref, "--", str(folder.resolve())], top)
    if diff.returncode != 0:
        raise BadInput(
            f"--git-base {ref}: git cannot compare with it ({diff.stderr.strip().splitlines()[-1:]})",
            hint="fetch the branch first (e.g. git fetch origin main), or use --latest N",
        )
    untracked = _git(["ls-files", "--others", "--exclude-standard", "--full-name", "--", str(folder.resolve())], top)
    names = diff.stdout.splitlines() + (untracked.stdout.splitlines() if untracked.returncode == 0 else [])
    return {(top / name).resolve() for name in names if name.strip()}


def by_git_base(files: list[Path], ref: str, folder: Path) -> Selection:
    """Files changed since ``ref`` are linted; every earlier file is context."""
    linted, context, skipped = _split(files, changed_since(folder, ref))
    return Selection("git-base", linted, context, f"--git-base {ref}: added or changed since {ref}", skipped=skipped)


def auto_base(folder: Path) -> str | None:
    """The merge base of HEAD with the upstream branch (or origin/HEAD, main, master), None outside git."""
    if _top(folder) is None:
        return None
    for candidate in AUTO_BASES:
        result = _git(["merge-base", "HEAD", candidate], folder)
        if result.returncode == 0 and result.stdout.strip():
            return result.stdout.strip()
    return None


def auto(files: list[Path], folder: Path) -> Selection:
    """Plain ``pgwarden lint``: files changed on this branch when git knows a base, else the latest file."""
    base = auto_base(folder) if files else None
    if base is not None:
        selection = by_git_base(files, base, folder)
        if selection.linted:
            return Selection(
                "git-base",
                selection.linted,
                selection.context,
                f"changed since the merge base {base[:12]} (git); --latest N or --env to choose",
                skipped=selection.skipped,
            )
    latest = by_latest(files, 1) if files else Selection("latest", (), (), "no migration files")
    return Selection(
        "latest",
        latest.linted,
        latest.context,
        "the latest file in migration order (no changed files found with git); "
        "--git-base REF, --latest N or --env to choose",
    )
