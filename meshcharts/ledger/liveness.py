"""Is the process behind a ``running`` run still there? The answer decides crash repair and locks.

PostgreSQL: each run holds a session advisory lock keyed on its id for its whole life, taken in the
same transaction that makes the run visible. The server drops it when the connection dies (kill -9,
lost host), so "can I take that lock?" is an exact answer from any host, with no clocks involved.

SQLite: the ledger is a local file, so the run's ``host`` and ``pid`` say it: a run on this host
whose pid is gone is dead at once. Otherwise (another host sharing the file, or a pid reused) a
heartbeat older than ``stale_after`` seconds is; a background thread beats every few seconds while
the run lives, independent of how long helm takes.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import Any, Protocol

from sqlalchemy import Connection, text

from meshcharts.ledger.database import Database
from meshcharts.ledger.provenance import Identity, process_alive


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def advisory_key(*parts: str) -> int:
    """A signed 64-bit PostgreSQL advisory lock key for ``parts`` (namespaced to meshcharts)."""
    digest = hashlib.sha256("\0".join(("meshcharts", *parts)).encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


class Liveness(Protocol):
    def open_run(self, insert: Callable[[Connection], int]) -> int:
        """Run ``insert`` (which adds the run row and returns its id) so the run is alive once visible."""

    def close_run(self, run_id: int) -> None:
        """The run has ended: let go of whatever marks it alive."""

    def dead_because(self, connection: Connection, run: Any) -> str | None:
        """Why the process behind ``run`` (a runs row) is gone, or None while it lives."""


class SqliteLiveness:
    def __init__(self, database: Database, identity: Identity, stale_after: float) -> None:
        self.database = database
        self.identity = identity
        self.stale_after = timedelta(seconds=stale_after)

    def open_run(self, insert: Callable[[Connection], int]) -> int:
        with self.database.write("starting a run") as connection:
            return insert(connection)

    def close_run(self, run_id: int) -> None:
        return None

    def dead_because(self, connection: Connection, run: Any) -> str | None:
        if run.host == self.identity.host and not process_alive(run.pid):
            return f"process {run.pid} on {run.host} is gone"
        heartbeat: datetime = run.heartbeat_at
        if utcnow() - heartbeat > self.stale_after:
            return f"no heartbeat from {run.who} (pid {run.pid}) since {heartbeat.strftime('%Y-%m-%d %H:%M:%SZ')}"
        return None


_KEEPALIVES = (
    "SET tcp_keepalives_idle = 60",
    "SET tcp_keepalives_interval = 10",
    "SET tcp_keepalives_count = 6",
)


class PostgresLiveness:
    def __init__(self, database: Database) -> None:
        self.database = database
        self._held: dict[int, Connection] = {}
        self._guard = threading.Lock()

    def open_run(self, insert: Callable[[Connection], int]) -> int:
        with self.database.errors("starting a run"):
            connection = self.database.engine.connect()
            try:
                with connection.begin():
                    for setting in _KEEPALIVES:  # the server notices a vanished host in ~2 min, not 2 h
                        connection.execute(text(setting))
                    run_id = insert(connection)
                    connection.execute(text("SELECT pg_advisory_lock(:key)"), {"key": advisory_key("run", str(run_id))})
            except BaseException:
                connection.close()
                raise
        with self._guard:
            self._held[run_id] = connection
        return run_id

    def close_run(self, run_id: int) -> None:
        with self._guard:
            connection = self._held.pop(run_id, None)
        if connection is None:
            return
        with self.database.errors("ending a run"):
            try:
                connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": advisory_key("run", str(run_id))})
                connection.commit()
            finally:
                connection.close()  # closing the session releases the lock even if the unlock failed

    def dead_because(self, connection: Connection, run: Any) -> str | None:
        key = advisory_key("run", str(run.id))
        if not connection.execute(text("SELECT pg_try_advisory_lock(:key)"), {"key": key}).scalar_one():
            return None
        connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": key})
        return f"the database session of {run.who} (pid {run.pid}) is gone"


def liveness_for(database: Database, identity: Identity, stale_after: float) -> Liveness:
    if database.backend == "postgresql":
        return PostgresLiveness(database)
    return SqliteLiveness(database, identity, stale_after)


class Heartbeat:
    """Calls ``beat`` every ``interval`` seconds on a daemon thread until stopped.

    A failed beat (the database briefly locked or unreachable) is retried at the next tick: missing
    one is harmless, the threshold is many intervals long.
    """

    def __init__(self, beat: Callable[[], None], interval: float) -> None:
        self._beat = beat
        self._interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="meshcharts-ledger-heartbeat", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(timeout=max(5.0, self._interval))

    def _loop(self) -> None:
        while not self._stop.wait(self._interval):
            try:
                self._beat()
            except Exception:  # noqa: BLE001 - see the class docstring: the next tick retries
                continue
