"""Alembic migrations for every table, applied by `ocop-bot db upgrade` and on start."""
