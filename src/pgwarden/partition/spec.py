"""The layout of one partitioned table: a ``[[partitions]]`` entry merged with command-line options."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from pydantic import ConfigDict, Field

from pgwarden.config import Config, StrictModel, validate_section
from pgwarden.errors import BadInput, ConfigError
from pgwarden.partition.naming import Interval, Retention, parse_interval, parse_retention


class PartitionSpec(StrictModel):
    """One ``[[partitions]]`` entry as written (config keeps the section raw; it is validated here)."""

    table: str
    key: str
    schema_name: str = Field(default="public", alias="schema")
    interval: str | None = None
    modulus: int | None = Field(default=None, ge=2)
    premake: int = Field(default=3, ge=0)
    retention: str | None = None
    retention_mode: Literal["detach", "drop", "archive"] = "detach"
    default_partition: bool = False

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


def entries(config: Config) -> list[PartitionSpec]:
    """The ``[[partitions]]`` entries validated; ConfigError names the file and ``partitions[i].key``."""
    specs = []
    for index, raw in enumerate(config.settings.partitions):
        spec = validate_section(PartitionSpec, raw, source=config.source, key=f"partitions[{index}]")
        if (spec.interval is None) == (spec.modulus is None):
            raise ConfigError(f"{config.source}: partitions[{index}]: give exactly one of interval or modulus")
        specs.append(spec)
    return specs


@dataclass(frozen=True)
class Layout:
    """How one table is (to be) partitioned."""

    schema: str
    table: str
    key: str
    interval: Interval | None
    modulus: int | None
    premake: int = 3
    retention: Retention | None = None
    retention_mode: str = "detach"
    default_partition: bool = False

    @property
    def strategy(self) -> str:
        return "hash" if self.modulus else "range"

    @property
    def qualified(self) -> str:
        return f"{self.schema}.{self.table}"


def from_spec(spec: PartitionSpec, *, where: str = "partitions") -> Layout:
    """A :class:`Layout` from a config entry; ConfigError names ``where.interval`` / ``where.retention``."""
    try:
        interval = parse_interval(spec.interval) if spec.interval else None
    except ValueError as exc:
        raise ConfigError(f"{where}.interval: {exc}") from None
    try:
        retention = parse_retention(spec.retention) if spec.retention else None
    except ValueError as exc:
        raise ConfigError(f"{where}.retention: {exc}") from None
    if retention and interval is None:
        raise ConfigError(f"{where}.retention: retention needs a range interval, not hash partitions")
    schema, table = spec.schema_name, spec.table
    if "." in table:
        schema, table = table.split(".", 1)
    return Layout(schema, table, spec.key, interval, spec.modulus, spec.premake, retention, spec.retention_mode,
                  spec.default_partition)


def configured(config: Config) -> list[Layout]:
    """Every ``[[partitions]]`` entry of the config as a Layout (validated)."""
    return [from_spec(spec, where=f"{config.source}: partitions[{i}]")
            for i, spec in enumerate(entries(config))]


def layout_for(config: Config | None, table: str, *, key: str | None = None, interval: str | None = None,
               modulus: int | None = None, premake: int | None = None,
               default_partition: bool | None = None) -> Layout:
    """The config entry for ``table`` (if any) overridden by the given options; BadInput if incomplete."""
    schema, name = table.split(".", 1) if "." in table else ("public", table)
    base: Layout | None = None
    for layout in configured(config) if config else []:
        if layout.table == name and layout.schema == schema:
            base = layout
    try:
        parsed = parse_interval(interval) if interval else None
    except ValueError as exc:
        raise BadInput(f"--interval: {exc}") from None
    chosen_key = key or (base.key if base else None)
    if not chosen_key:
        raise BadInput(f"{schema}.{name}: no partition key: pass --key or add a [[partitions]] entry")
    if parsed or modulus:
        chosen_interval, chosen_modulus = parsed, modulus
    elif base:
        chosen_interval, chosen_modulus = base.interval, base.modulus
    else:
        raise BadInput(f"{schema}.{name}: pass --interval ('1 day', '1 week', '1 month', '1 year') or --modulus N")
    if chosen_interval and chosen_modulus:
        raise BadInput("give --interval or --modulus, not both")
    if chosen_modulus is not None and chosen_modulus < 2:
        raise BadInput("--modulus must be at least 2")
    return Layout(schema, name, chosen_key, chosen_interval, chosen_modulus,
                  premake if premake is not None else (base.premake if base else 3),
                  base.retention if base else None, base.retention_mode if base else "detach",
                  default_partition if default_partition is not None else (base.default_partition if base else False))
