"""The layout of one partitioned table: a ``[[partitions]]`` entry merged with command-line options.

Config keeps the raw ``[[partitions]]`` entries; this module is the one place that
validates them (interval, retention, ``schema.table``) into :class:`Layout` objects.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from pydantic import ConfigDict, Field

from pgwarden.config import Config, StrictModel, validate_section
from pgwarden.errors import BadInput, ConfigError
from pgwarden.partition.naming import Interval, Retention, parse_interval, parse_retention
from pgwarden.partition.qualified import QualifiedName


class PartitionSpec(StrictModel):
    """One ``[[partitions]]`` entry as written (config keeps the section raw; it is validated here)."""

    table: str
    key: str
    schema_name: str = Field(default="public", alias="schema")
    interval: str | None = None
    modulus: int | None = Field(default=None, ge=2)
    premake: int = Field(default=3, ge=0)
    past: int = Field(default=0, ge=0)
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

    name: QualifiedName
    key: str
    interval: Interval | None
    modulus: int | None
    premake: int = 3
    retention: Retention | None = None
    retention_mode: str = "detach"
    default_partition: bool = False
    past: int = 0  # periods before the current one that must exist (back-dated rows)

    @property
    def schema(self) -> str:
        return self.name.schema

    @property
    def table(self) -> str:
        return self.name.name

    @property
    def strategy(self) -> str:
        return "hash" if self.modulus else "range"

    @property
    def qualified(self) -> str:
        return str(self.name)


def spec_name(spec: PartitionSpec, *, where: str = "partitions") -> QualifiedName:
    """The table of a ``[[partitions]]`` entry (``table = "app.events"`` or ``schema`` + ``table``)."""
    try:
        name = QualifiedName.parse(spec.table, schema=spec.schema_name)
    except BadInput as exc:
        raise ConfigError(f"{where}.table: {exc.message}") from None
    if name.schema != spec.schema_name and spec.schema_name != "public":
        raise ConfigError(
            f"{where}: table {spec.table!r} names schema {name.schema!r} but schema = "
            f"{spec.schema_name!r}; give the schema once"
        )
    return name


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
    return Layout(
        spec_name(spec, where=where),
        spec.key,
        interval,
        spec.modulus,
        spec.premake,
        retention,
        spec.retention_mode,
        spec.default_partition,
        spec.past,
    )


def configured(config: Config) -> list[Layout]:
    """Every ``[[partitions]]`` entry of the config as a Layout (validated)."""
    return [from_spec(spec, where=f"{config.source}: partitions[{i}]") for i, spec in enumerate(entries(config))]


@dataclass(frozen=True)
class LayoutOptions:
    """Command-line choices that override (or replace) a ``[[partitions]]`` entry."""

    key: str | None = None
    interval: str | None = None
    modulus: int | None = None
    premake: int | None = None
    default_partition: bool | None = None
    past: int | None = None


def entry_for(config: Config | None, name: QualifiedName) -> Layout | None:
    """The ``[[partitions]]`` entry of ``name``, if any."""
    return next((layout for layout in (configured(config) if config else []) if layout.name == name), None)


def layout_for(config: Config | None, table: str | QualifiedName, options: LayoutOptions | None = None) -> Layout:
    """The config entry for ``table`` (if any) overridden by ``options``; BadInput if incomplete."""
    options = options or LayoutOptions()
    name = table if isinstance(table, QualifiedName) else QualifiedName.parse(table)
    base = entry_for(config, name)
    try:
        parsed = parse_interval(options.interval) if options.interval else None
    except ValueError as exc:
        raise BadInput(f"--interval: {exc}") from None
    chosen_key = options.key or (base.key if base else None)
    if not chosen_key:
        raise BadInput(f"{name}: no partition key: pass --key or add a [[partitions]] entry")
    if parsed or options.modulus:
        chosen_interval, chosen_modulus = parsed, options.modulus
    elif base:
        chosen_interval, chosen_modulus = base.interval, base.modulus
    else:
        raise BadInput(f"{name}: pass --interval ('1 day', '1 week', '1 month', '3 months', '1 year') or --modulus N")
    if chosen_interval and chosen_modulus:
        raise BadInput("give --interval or --modulus, not both")
    if chosen_modulus is not None and chosen_modulus < 2:
        raise BadInput("--modulus must be at least 2")
    if options.past is not None and options.past < 0:
        raise BadInput("--past must be 0 or more")
    return Layout(
        name,
        chosen_key,
        chosen_interval,
        chosen_modulus,
        options.premake if options.premake is not None else (base.premake if base else 3),
        base.retention if base else None,
        base.retention_mode if base else "detach",
        options.default_partition
        if options.default_partition is not None
        else (base.default_partition if base else False),
        options.past if options.past is not None else (base.past if base else 0),
    )
