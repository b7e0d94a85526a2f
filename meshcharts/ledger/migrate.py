"""Migrating a ledger's schema with Alembic: loaded only when a database is not at this meshcharts' head.

:func:`meshcharts.ledger.database.migrate` reads the recorded revision with plain SQL first; an
empty, older or newer database comes here. Migrations of one PostgreSQL database are serialised with
an advisory lock, and a schema newer than the packaged scripts is refused in one line.
"""

from __future__ import annotations

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, text

from meshcharts.ledger.database import MIGRATIONS, Database
from meshcharts.ledger.errors import ledger_error
from meshcharts.ledger.schema import VERSION_TABLE


def upgrade(database: Database, lock_key: int) -> None:
    """Bring the schema to head, under the database's migration lock."""
    script = ScriptDirectory.from_config(alembic_config())
    head = script.get_current_head()
    with database.write("migrating its schema") as connection:
        if database.backend == "postgresql":
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": lock_key})
        current = revision(connection)
        if current == head:
            return
        known = {item.revision for item in script.walk_revisions()}
        if current is not None and current not in known:
            raise ledger_error(
                f"ledger {database.url} has schema revision {current}, newer than this meshcharts "
                f"knows (up to {head}): it was written by a newer meshcharts",
                "ledger.newer-schema",
                hint="upgrade meshcharts to use this ledger",
            )
        config = alembic_config()
        config.attributes["connection"] = connection
        command.upgrade(config, "head")


def head() -> str | None:
    """The newest revision of the packaged migration scripts."""
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def revision(connection: Connection) -> str | None:
    """The revision Alembic reads from the version table."""
    context = MigrationContext.configure(connection, opts={"version_table": VERSION_TABLE})
    return context.get_current_revision()


def alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("path_separator", "os")
    return config
