"""Guarded deploys (preflight, verified backup, apply, post-checks, report), seeding and database reset."""
