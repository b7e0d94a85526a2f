"""The inserts the writers share; "insert if absent" is the one place SQLite and PostgreSQL differ."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import Connection, Table
from sqlalchemy.dialects import postgresql, sqlite

from meshcharts.ledger.schema import releases, runs, value_sets


def insert_run(connection: Connection, row: Mapping[str, Any]) -> int:
    return _insert(connection, runs, row)


def insert_release(connection: Connection, row: Mapping[str, Any]) -> int:
    return _insert(connection, releases, row)


def _insert(connection: Connection, table: Table, row: Mapping[str, Any]) -> int:
    key = connection.execute(table.insert().values(**row)).inserted_primary_key
    assert key is not None  # single-row INSERT into a table with an integer primary key
    return int(key[0])


def store_values(connection: Connection, values_hash: str, document: str) -> None:
    """Store a values document under its hash once; later releases with the same hash share the row."""
    dialect = postgresql if connection.dialect.name == "postgresql" else sqlite
    connection.execute(
        dialect.insert(value_sets).values(hash=values_hash, values_json=document).on_conflict_do_nothing(index_elements=["hash"])
    )
