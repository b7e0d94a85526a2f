"""The first ledger schema: runs, releases, their values (stored once per hash) and locks.

Revision ID: 0001
Revises:
Create Date: 2025-01-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

_OUTCOMES = "outcome IN ('running', 'succeeded', 'failed', 'interrupted')"
_STATUSES = "status IN ('pending', 'deployed', 'unchanged', 'failed', 'skipped', 'recovered', 'interrupted')"


def _when(name: str, nullable: bool) -> sa.Column:  # type: ignore[type-arg]
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "meshcharts_runs",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("stack_name", sa.Text, nullable=False),
        sa.Column("stack_path", sa.Text, nullable=False),
        sa.Column("command", sa.Text, nullable=False),
        sa.Column("who", sa.Text, nullable=False),
        sa.Column("host", sa.Text, nullable=False),
        sa.Column("pid", sa.Integer, nullable=False),
        sa.Column("git_commit", sa.Text, nullable=True),
        sa.Column("meshcharts_version", sa.Text, nullable=False),
        sa.Column("outcome", sa.Text, nullable=False),
        _when("started_at", False),
        _when("ended_at", True),
        _when("heartbeat_at", False),
        sa.Column("note", sa.Text, nullable=True),
        sa.CheckConstraint(_OUTCOMES, name="ck_meshcharts_runs_outcome"),
    )
    op.create_index("ix_meshcharts_runs_stack", "meshcharts_runs", ["stack_name", "id"])
    op.create_index("ix_meshcharts_runs_outcome", "meshcharts_runs", ["outcome"])
    op.create_table(
        "meshcharts_value_sets",
        sa.Column("hash", sa.Text, primary_key=True),
        sa.Column("values_json", sa.Text, nullable=False),
    )
    op.create_table(
        "meshcharts_releases",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("run_id", sa.Integer, sa.ForeignKey("meshcharts_runs.id", ondelete="CASCADE"), nullable=False),
        sa.Column("cluster", sa.Text, nullable=False),
        sa.Column("context", sa.Text, nullable=False),
        sa.Column("component", sa.Text, nullable=False),
        sa.Column("release", sa.Text, nullable=False),
        sa.Column("namespace", sa.Text, nullable=False),
        sa.Column("chart", sa.Text, nullable=False),
        sa.Column("chart_version", sa.Text, nullable=False),
        sa.Column("chart_digest", sa.Text, nullable=True),
        sa.Column("values_hash", sa.Text, sa.ForeignKey("meshcharts_value_sets.hash"), nullable=False),
        sa.Column("helm_revision", sa.Integer, nullable=True),
        sa.Column("status", sa.Text, nullable=False),
        _when("started_at", False),
        _when("ended_at", True),
        sa.Column("error", sa.Text, nullable=True),
        sa.Column("note", sa.Text, nullable=True),
        sa.CheckConstraint(_STATUSES, name="ck_meshcharts_releases_status"),
    )
    op.create_index("ix_meshcharts_releases_run", "meshcharts_releases", ["run_id"])
    op.create_index("ix_meshcharts_releases_cluster_component", "meshcharts_releases", ["cluster", "component", "id"])
    op.create_index("ix_meshcharts_releases_status", "meshcharts_releases", ["status"])
    op.create_table(
        "meshcharts_locks",
        sa.Column("stack_name", sa.Text, primary_key=True),
        sa.Column("cluster", sa.Text, primary_key=True),
        sa.Column("run_id", sa.Integer, sa.ForeignKey("meshcharts_runs.id", ondelete="CASCADE"), nullable=False),
        _when("acquired_at", False),
    )


def downgrade() -> None:
    for table in ("meshcharts_locks", "meshcharts_releases", "meshcharts_value_sets", "meshcharts_runs"):
        op.drop_table(table)
