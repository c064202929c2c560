"""``[partition]`` in pgwarden.toml, validated here (config keeps the section raw).

```toml
[partition.thresholds]        # partition advise; each also a flag of the command
rows = 1000000                # a table past this calls for partitioning; also the most rows a partition should hold
size = "10GB"                 # the same for size
monthly_rows = 100000         # growth a month that calls for partitioning
seq_scan_rows = 100000        # sequential scans count on tables from this many rows ...
seq_scans = 50                # ... once there are this many
```
"""

from __future__ import annotations

from dataclasses import fields, replace
from typing import TYPE_CHECKING, Any

from pydantic import Field, ValidationError, field_validator

from pgwarden.config import StrictModel, validate_section
from pgwarden.errors import BadInput
from pgwarden.partition.advise import Thresholds

if TYPE_CHECKING:
    from pgwarden.config import Config


class ThresholdSettings(StrictModel):
    """``[partition.thresholds]`` (every key optional; unset keys keep the defaults of :class:`Thresholds`)."""

    rows: int | None = Field(default=None, ge=1)
    size: str | None = None
    monthly_rows: int | None = Field(default=None, ge=1)
    seq_scan_rows: int | None = Field(default=None, ge=0)
    seq_scans: int | None = Field(default=None, ge=1)

    @field_validator("size")
    @classmethod
    def _size(cls, value: str | None) -> str | None:
        from pgwarden.units import parse_size

        if value is not None:
            parse_size(value)
        return value


class PartitionSettings(StrictModel):
    """``[partition]``."""

    thresholds: ThresholdSettings = Field(default_factory=ThresholdSettings)


def load(config: Config) -> PartitionSettings:
    """The ``[partition]`` section validated; ConfigError names the file and ``partition.<key>``."""
    return validate_section(PartitionSettings, config.settings.partition, source=config.source, key="partition")


def _apply(base: Thresholds, values: ThresholdSettings) -> Thresholds:
    from pgwarden.units import parse_size

    changes: dict[str, Any] = {
        f.name: getattr(values, f.name)
        for f in fields(Thresholds)
        if f.name != "bytes" and getattr(values, f.name, None) is not None
    }
    if values.size is not None:
        changes["bytes"] = parse_size(values.size)
    return replace(base, **changes)


def thresholds(config: Config | None, overrides: dict[str, Any] | None = None) -> Thresholds:
    """The advisor's thresholds: ``overrides`` (command-line flags; None = unset) over
    ``[partition.thresholds]`` over the defaults. BadInput names a bad flag value."""
    limits = _apply(Thresholds(), load(config).thresholds) if config is not None else Thresholds()
    given = {k: v for k, v in (overrides or {}).items() if v is not None}
    try:
        flags = ThresholdSettings.model_validate(given)
    except ValidationError as exc:
        first = exc.errors()[0]
        flag = "--" + str(first["loc"][0]).replace("_", "-")
        raise BadInput(f"{flag}: {first['msg'].removeprefix('Value error, ')}") from None
    return _apply(limits, flags)
