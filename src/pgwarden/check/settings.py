"""The ``[check]`` section of pgwarden.toml, validated here (config.py keeps it raw).

```toml
[check]
ignore = ["public.tmp_*", "legacy.*"]   # glob patterns on object or table names: never drift
ignore_kinds = ["owners"]               # whole kinds left out of the comparison
strict_order = false                    # column order counts as drift
```
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pydantic import Field, ValidationError, field_validator

from pgwarden.config import StrictModel, validate_section
from pgwarden.errors import BadInput
from pgwarden.schema.snapshot import KINDS

if TYPE_CHECKING:
    from pgwarden.config import Config


class CheckSettings(StrictModel):
    """What ``check`` and ``migrate test`` leave out or treat strictly."""

    ignore: list[str] = Field(default_factory=list)
    ignore_kinds: list[str] = Field(default_factory=list)
    strict_order: bool = False

    @field_validator("ignore_kinds")
    @classmethod
    def _known_kinds(cls, value: list[str]) -> list[str]:
        unknown = [kind for kind in value if kind not in KINDS]
        if unknown:
            raise ValueError(f"unknown kind {unknown[0]!r} (known: {', '.join(KINDS)})")
        return value

    @field_validator("ignore")
    @classmethod
    def _patterns(cls, value: list[str]) -> list[str]:
        if any(not pattern.strip() for pattern in value):
            raise ValueError("empty pattern")
        return value


def check_settings(config: Config) -> CheckSettings:
    """The validated ``[check]`` section of ``config``; ConfigError names the file and ``check.<key>``."""
    return validate_section(CheckSettings, config.settings.check or {}, source=config.source, key="check")


def with_overrides(
    settings: CheckSettings, *, strict_order: bool | None = None, ignore_kinds: tuple[str, ...] = ()
) -> CheckSettings:
    """``settings`` with command-line options applied on top (validated like the file)."""
    merged = {
        "ignore": settings.ignore,
        "ignore_kinds": list(dict.fromkeys([*settings.ignore_kinds, *ignore_kinds])),
        "strict_order": settings.strict_order if strict_order is None else strict_order,
    }
    try:
        return CheckSettings.model_validate(merged)
    except ValidationError as exc:
        raise BadInput(f"--ignore: {exc.errors()[0]['msg'].removeprefix('Value error, ')}") from None


__all__ = ["CheckSettings", "check_settings", "with_overrides"]
