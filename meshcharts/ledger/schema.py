"""The ledger's tables, as SQLAlchemy Core sees them at run time.

The migrations in ``migrations/versions`` create and change these tables; they do not import this
module (a migration is frozen history, this is the present), and ``tests/test_ledger.py`` checks
that migrating an empty database to head gives exactly this schema.

Every table is prefixed ``meshcharts_`` so a team may point the ledger at a PostgreSQL database that
already holds other tables. Values are stored once per hash in ``meshcharts_value_sets``: a stack
applied daily repeats the same values in most releases.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from sqlalchemy import (
    CheckConstraint,
    Column,
    DateTime,
    Dialect,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    Table,
    Text,
    TypeDecorator,
)

from meshcharts.ledger.records import ReleaseStatus, RunOutcome

VERSION_TABLE = "meshcharts_schema_version"


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes in and out, on PostgreSQL (timestamptz) and SQLite (text, no zone kept)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("the ledger stores aware datetimes only")
        value = value.astimezone(timezone.utc)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc)


def _one_of(column: str, values: Any) -> str:
    return f"{column} IN ({', '.join(repr(item.value) for item in values)})"


metadata = MetaData()

runs = Table(
    "meshcharts_runs",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("stack_name", Text, nullable=False),
    Column("stack_path", Text, nullable=False),
    Column("command", Text, nullable=False),
    Column("who", Text, nullable=False),
    Column("host", Text, nullable=False),
    Column("pid", Integer, nullable=False),
    Column("git_commit", Text, nullable=True),
    Column("meshcharts_version", Text, nullable=False),
    Column("outcome", Text, nullable=False),
    Column("started_at", UTCDateTime, nullable=False),
    Column("ended_at", UTCDateTime, nullable=True),
    Column("heartbeat_at", UTCDateTime, nullable=False),
    Column("note", Text, nullable=True),
    CheckConstraint(_one_of("outcome", RunOutcome), name="ck_meshcharts_runs_outcome"),
    Index("ix_meshcharts_runs_stack", "stack_name", "id"),
    Index("ix_meshcharts_runs_outcome", "outcome"),
)

value_sets = Table(
    "meshcharts_value_sets",
    metadata,
    Column("hash", Text, primary_key=True),
    Column("values_json", Text, nullable=False),
)

releases = Table(
    "meshcharts_releases",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("run_id", Integer, ForeignKey("meshcharts_runs.id", ondelete="CASCADE"), nullable=False),
    Column("cluster", Text, nullable=False),
    Column("context", Text, nullable=False),
    Column("component", Text, nullable=False),
    Column("release", Text, nullable=False),
    Column("namespace", Text, nullable=False),
    Column("chart", Text, nullable=False),
    Column("chart_version", Text, nullable=False),
    Column("chart_digest", Text, nullable=True),
    Column("values_hash", Text, ForeignKey("meshcharts_value_sets.hash"), nullable=False),
    Column("helm_revision", Integer, nullable=True),
    Column("status", Text, nullable=False),
    Column("started_at", UTCDateTime, nullable=False),
    Column("ended_at", UTCDateTime, nullable=True),
    Column("error", Text, nullable=True),
    Column("note", Text, nullable=True),
    CheckConstraint(_one_of("status", ReleaseStatus), name="ck_meshcharts_releases_status"),
    Index("ix_meshcharts_releases_run", "run_id"),
    Index("ix_meshcharts_releases_cluster_component", "cluster", "component", "id"),
    Index("ix_meshcharts_releases_status", "status"),
)

locks = Table(
    "meshcharts_locks",
    metadata,
    Column("stack_name", Text, primary_key=True),
    Column("cluster", Text, primary_key=True),
    Column("run_id", Integer, ForeignKey("meshcharts_runs.id", ondelete="CASCADE"), nullable=False),
    Column("acquired_at", UTCDateTime, nullable=False),
)
