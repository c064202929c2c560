"""pgwarden: run the whole life of a PostgreSQL application database safely."""

__version__ = "0.1.0"
