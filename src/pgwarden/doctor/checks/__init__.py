"""The health checks, one small function each, registered in report order by importing these modules."""

from pgwarden.doctor.checks import (  # noqa: F401 - importing registers the checks
    activity,
    indexes,
    maintenance,
    parity,
    partitions,
    project,
    statements,
    tables,
)
