"""Expand/contract plans: a schema change written as migrations that are each safe on their own."""
