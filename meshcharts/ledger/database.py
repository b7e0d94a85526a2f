"""The database under a ledger: one engine per URL, transactions, driver errors as one redacted line,
and the schema migrated to this meshcharts' head on open.

SQLite: the file is created 0600 before SQLite touches it (its -wal and -shm files inherit the
mode), WAL so ``history`` reads while ``apply`` writes, a busy timeout, and ``BEGIN IMMEDIATE`` for
every write transaction: in WAL mode a deferred transaction that reads, then writes after another
writer committed, fails at once with SQLITE_BUSY instead of waiting, and a ledger must not lose a
write to that. PostgreSQL: psycopg 3, TCP keepalives so a vanished client is noticed.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event, inspect, text
from sqlalchemy.exc import DBAPIError, SQLAlchemyError

from meshcharts.ledger.errors import ledger_error
from meshcharts.ledger.schema import VERSION_TABLE
from meshcharts.ledger.urls import LedgerURL

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
_WRITE = "meshcharts_write"
_MIGRATION_LOCK = 0x6D6573686C656467  # "meshledg": serialises migrations of one PostgreSQL database


class Database:
    """An engine plus the two ways the ledger uses it: a read transaction and a write transaction."""

    def __init__(self, url: LedgerURL, engine: Engine) -> None:
        self.url = url
        self.engine = engine

    @property
    def backend(self) -> str:
        return self.url.backend

    @contextmanager
    def read(self, action: str) -> Iterator[Connection]:
        with self.errors(action), self.engine.connect() as connection, connection.begin():
            yield connection

    @contextmanager
    def write(self, action: str) -> Iterator[Connection]:
        """One write transaction: committed when the block ends, rolled back if it raises."""
        with self.errors(action), self.engine.connect() as connection:
            connection.execution_options(**{_WRITE: True})
            with connection.begin():
                yield connection

    @contextmanager
    def errors(self, action: str) -> Iterator[None]:
        """Driver and SQLAlchemy errors become one LedgerError line, password scrubbed."""
        try:
            yield
        except SQLAlchemyError as error:
            raise ledger_error(f"ledger {self.url}: {action}: {self.describe(error)}", "ledger.database") from None

    def describe(self, error: BaseException) -> str:
        """The driver's own first line (SQLAlchemy's wrapper adds the SQL and its parameters: not shown)."""
        origin: BaseException = error.orig if isinstance(error, DBAPIError) and error.orig is not None else error
        lines = [line.strip() for line in str(origin).splitlines() if line.strip()]
        return self.url.scrub(" ".join((lines[0] if lines else type(origin).__name__).split()))

    def dispose(self) -> None:
        self.engine.dispose()


def connect(url: LedgerURL, *, busy_timeout: float = 30.0) -> Database:
    """A Database for ``url``, reachable, its schema at this meshcharts' head (migrated if older)."""
    if url.backend == "sqlite":
        assert url.path is not None
        _create_private_file(url, url.path)
        engine = create_engine(url.sqlalchemy_url, connect_args={"timeout": busy_timeout})
        _sqlite_transactions(engine, busy_timeout)
    else:
        engine = create_engine(
            url.sqlalchemy_url,
            pool_size=5,
            max_overflow=20,
            pool_pre_ping=True,
            connect_args=_postgres_connect_args(busy_timeout),
        )
    database = Database(url, engine)
    try:
        with database.errors("cannot connect"), engine.connect():
            pass
        migrate(database)
    except BaseException:
        database.dispose()
        raise
    return database


#: The newest migration's revision. A ledger already there is opened without Alembic, whose import
#: (and the SQL dialects it loads) costs about a third of a second that every apply would pay;
#: tests/test_ledger.py checks this is Alembic's head.
SCHEMA_HEAD = "0002"


def migrate(database: Database) -> None:
    """Bring the schema to head; refuse a schema written by a newer meshcharts (one clear line)."""
    with database.read("reading its schema version") as connection:
        current = _revision(connection)
    if current == SCHEMA_HEAD:
        return
    _migrations().upgrade(database, _MIGRATION_LOCK)


def schema_revision(database: Database) -> str | None:
    """The revision the database is at (None: empty)."""
    with database.read("reading its schema version") as connection:
        return _revision(connection)


def head_revision() -> str | None:
    """The newest revision this meshcharts ships (read from the migration scripts)."""
    head: str | None = _migrations().head()
    return head


def _alembic_config() -> Any:
    """Alembic's configuration for the packaged migrations."""
    return _migrations().alembic_config()


def _revision(connection: Connection) -> str | None:
    """The schema revision recorded in the version table (None: no table yet), read with plain SQL."""
    if not inspect(connection).has_table(VERSION_TABLE):
        return None
    row = connection.execute(text(f"SELECT version_num FROM {VERSION_TABLE}")).first()
    return str(row[0]) if row is not None else None


def _migrations() -> ModuleType:
    """The Alembic half of the ledger (:mod:`meshcharts.ledger.migrate`), loaded only when a schema is
    not at head or a caller asks Alembic itself."""
    return importlib.import_module("meshcharts.ledger.migrate")


def _create_private_file(url: LedgerURL, path: Path) -> None:
    """Create the SQLite file 0600 (owner only: it names hosts, people and values) if it is missing."""
    if path.is_dir():
        raise ledger_error(f"ledger {url}: is a directory", "ledger.url", hint="give a file path")
    if not path.parent.is_dir():
        raise ledger_error(f"ledger {url}: folder {path.parent} does not exist", "ledger.url")
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return
    except OSError as error:
        raise ledger_error(f"ledger {url}: cannot create it: {error.strerror}", "ledger.io") from None
    os.close(descriptor)


def _sqlite_transactions(engine: Engine, busy_timeout: float) -> None:
    """pysqlite's own BEGIN handling off; ours on: BEGIN IMMEDIATE for writes, BEGIN for reads."""

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(f"PRAGMA busy_timeout = {int(busy_timeout * 1000)}")
            cursor.execute("PRAGMA journal_mode = WAL")
            cursor.execute("PRAGMA synchronous = NORMAL")
            cursor.execute("PRAGMA foreign_keys = ON")
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        writes = connection.get_execution_options().get(_WRITE, False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if writes else "BEGIN")


def _postgres_connect_args(timeout: float) -> dict[str, Any]:
    return {
        "connect_timeout": max(1, int(timeout)),
        "application_name": "meshcharts",
        "keepalives": 1,
        "keepalives_idle": 30,
        "keepalives_interval": 10,
        "keepalives_count": 3,
    }
