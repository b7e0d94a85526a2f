"""Releases may be ``exported``: ``meshcharts export`` records what it handed to a GitOps engine.

The status column is constrained to the known statuses, so the new one needs the constraint
widened (SQLite rebuilds the table in batch mode; PostgreSQL swaps the constraint).

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-07
"""

from __future__ import annotations

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

_BEFORE = "status IN ('pending', 'deployed', 'unchanged', 'failed', 'skipped', 'recovered', 'interrupted')"
_AFTER = "status IN ('pending', 'deployed', 'unchanged', 'failed', 'skipped', 'recovered', 'interrupted', 'exported')"
_NAME = "ck_meshcharts_releases_status"


def upgrade() -> None:
    with op.batch_alter_table("meshcharts_releases") as batch:
        batch.drop_constraint(_NAME, type_="check")
        batch.create_check_constraint(_NAME, _AFTER)


def downgrade() -> None:
    op.execute("DELETE FROM meshcharts_releases WHERE status = 'exported'")
    with op.batch_alter_table("meshcharts_releases") as batch:
        batch.drop_constraint(_NAME, type_="check")
        batch.create_check_constraint(_NAME, _BEFORE)
