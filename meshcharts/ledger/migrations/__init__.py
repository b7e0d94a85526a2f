"""Alembic migrations of the ledger schema, run by meshcharts itself on open (no alembic.ini)."""
