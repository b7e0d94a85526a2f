"""Alembic's environment for the ledger: meshcharts passes the connection, already in a transaction.

The ledger opens a write transaction (SQLite ``BEGIN IMMEDIATE``, PostgreSQL under an advisory lock)
and hands its connection in ``config.attributes["connection"]``, so two meshcharts processes that
open a fresh ledger at once migrate it once, and a failed migration leaves nothing half-done.
"""

from __future__ import annotations

from alembic import context

from meshcharts.ledger.schema import VERSION_TABLE

connection = context.config.attributes.get("connection")
if connection is None:
    raise SystemExit("the meshcharts ledger migrates itself when opened: use meshcharts.ledger.open_ledger")

context.configure(connection=connection, version_table=VERSION_TABLE, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
