"""Dev/prod parity: extensions the target uses that the embedded dev server cannot create."""

from __future__ import annotations

from pgwarden.doctor.model import Outcome, ok
from pgwarden.doctor.parity import extension_parity, setup_hint
from pgwarden.doctor.registry import CheckContext, check


@check("extension_parity", "pgwarden")
def extension_parity_check(ctx: CheckContext) -> Outcome:
    """Extensions created in this database that the embedded dev server lacks (uuid-ossp, pgcrypto,
    PostGIS, pg_cron): migrations that create them pass in production and fail on the dev server."""
    parity = extension_parity(ctx.conn)
    evidence = [{"extension": name, "in_this_database": True} for name in parity.installed_missing] + [
        {"extension": name, "in_this_database": False} for name in parity.available_missing
    ]
    if parity.installed_missing:
        return Outcome(
            "warn",
            f"the embedded dev server lacks {', '.join(parity.installed_missing)}, used in this database",
            evidence,
            setup_hint(parity),
        )
    extra = f" ({len(parity.available_missing)} more installable here only)" if parity.available_missing else ""
    return ok(f"every extension this database uses exists on the embedded dev server{extra}", evidence)
