"""The ledger's API for the commands that write it (``apply``) and read it (``history``).

    ledger = open_ledger(url, default_dir=stack_root)       # migrates; repairs dead runs
    with ledger.start_run(name, path, "apply", git_commit(path)) as run:
        with ledger.lock(name, cluster, run, timeout=60):
            rid = run.begin_release(spec)                    # status pending, before helm runs
            ...helm upgrade -i...
            run.finish_release(rid, ReleaseStatus.DEPLOYED, revision=3)
    # leaving the block finishes the run: failed if a release failed or the block raised

Every write is its own short transaction, so a crash loses at most the step helm was in, and that
step stays ``pending`` until the next open marks it ``interrupted``.
"""

from __future__ import annotations

import importlib.metadata
import threading
from collections.abc import Callable
from pathlib import Path
from types import TracebackType

from sqlalchemy import func, select, update

from meshcharts.ledger import query
from meshcharts.ledger.database import Database, connect
from meshcharts.ledger.errors import ledger_error
from meshcharts.ledger.liveness import Heartbeat, Liveness, liveness_for, utcnow
from meshcharts.ledger.locks import ClusterLock
from meshcharts.ledger.provenance import Identity, current_identity
from meshcharts.ledger.records import (
    FINAL_STATUSES,
    LockHolder,
    ReleaseRecord,
    ReleaseSpec,
    ReleaseStatus,
    RunOutcome,
    RunRecord,
)
from meshcharts.ledger.schema import locks, releases, runs
from meshcharts.ledger.urls import resolve_ledger_url
from meshcharts.ledger.values import canonical_json
from meshcharts.ledger.writes import insert_release, insert_run, store_values


def _meshcharts_version() -> str:
    """The installed meshcharts' version, recorded per run so a ledger tells which tool wrote what."""
    try:
        return importlib.metadata.version("meshcharts")
    except importlib.metadata.PackageNotFoundError:  # run from a source tree that was never installed
        return "unknown"


class Ledger:
    """An open ledger. Thread-safe: ``apply`` may record releases of several clusters at once."""

    def __init__(self, database: Database, *, stale_after: float = 60.0, heartbeat_every: float = 5.0) -> None:
        self.database = database
        self.identity: Identity = current_identity()
        self.heartbeat_every = heartbeat_every
        self.liveness: Liveness = liveness_for(database, self.identity, stale_after)
        self._open_runs: dict[int, RunHandle] = {}

    @property
    def url(self) -> str:
        """Where the ledger is, safe to print (password redacted)."""
        return str(self.database.url)

    @property
    def backend(self) -> str:
        return self.database.backend

    def close(self) -> None:
        """Close the database. A run not finished by now is abandoned: it stops looking alive, and
        the next open marks it interrupted."""
        for run in list(self._open_runs.values()):
            run.abandon()
        self.database.dispose()

    def __enter__(self) -> Ledger:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def repair(self) -> list[RunRecord]:
        """Mark runs whose process died ``interrupted``, with their pending releases; those runs."""
        with self.database.read("looking for interrupted runs") as connection:
            running = connection.execute(select(func.count()).select_from(runs).where(runs.c.outcome == RunOutcome.RUNNING.value)).scalar_one()
        if not running:
            return []
        with self.database.write("repairing interrupted runs") as connection:
            repaired = query.repair_dead_runs(connection, self.liveness)
        return self.runs(ids=repaired) if repaired else []

    def start_run(self, stack_name: str, stack_path: Path | str, command: str = "apply", git_commit: str | None = None) -> RunHandle:
        """A new ``running`` run (dead runs are repaired first); finish it, or use it as a context manager."""
        self.repair()
        now = utcnow()
        row = {
            "stack_name": stack_name,
            "stack_path": str(stack_path),
            "command": command,
            "who": self.identity.who,
            "host": self.identity.host,
            "pid": self.identity.pid,
            "git_commit": git_commit,
            "meshcharts_version": _meshcharts_version(),
            "outcome": RunOutcome.RUNNING.value,
            "started_at": now,
            "heartbeat_at": now,
        }
        run_id = self.liveness.open_run(lambda connection: insert_run(connection, row))
        handle = RunHandle(self, run_id, stack_name)
        self._open_runs[run_id] = handle
        return handle

    def lock(
        self,
        stack_name: str,
        cluster: str,
        run: RunHandle,
        timeout: float = 0.0,
        on_wait: Callable[[LockHolder], None] | None = None,
        cancel: threading.Event | None = None,
    ) -> ClusterLock:
        """The stack+cluster lock for ``run``: wait up to ``timeout`` seconds (or until ``cancel``), then raise LockHeld."""
        return ClusterLock(
            self.database,
            self.liveness,
            stack_name=stack_name,
            cluster=cluster,
            run_id=run.id,
            timeout=timeout,
            on_wait=on_wait,
            cancel=cancel,
        )

    def last_deployed(self, stack_name: str, cluster: str, component: str) -> ReleaseRecord | None:
        """The newest release of ``component`` on ``cluster`` that helm deployed or found unchanged."""
        with self.database.read("reading the last deployed release") as connection:
            row = connection.execute(query.select_last_live(stack_name, cluster, component)).first()
        return query.release_record(row) if row is not None else None

    def history(
        self, *, cluster: str | None = None, component: str | None = None, stack_name: str | None = None, limit: int | None = 50
    ) -> list[ReleaseRecord]:
        with self.database.read("reading history") as connection:
            rows = connection.execute(
                query.select_releases(cluster=cluster, component=component, stack_name=stack_name, limit=limit)
            ).all()
        return [query.release_record(row) for row in rows]

    def runs(self, *, ids: list[int] | None = None, stack_name: str | None = None, limit: int | None = None) -> list[RunRecord]:
        """Runs newest first (``ids``: exactly those)."""
        with self.database.read("reading runs") as connection:
            rows = connection.execute(query.select_runs(ids=ids, stack_name=stack_name, limit=limit)).all()
        return [query.run_record(row) for row in rows]

    def run(self, run_id: int) -> RunRecord:
        found = self.runs(ids=[run_id])
        if not found:
            raise ledger_error(f"ledger {self.url} has no run {run_id}", "ledger.no-run")
        return found[0]


class RunHandle:
    """A run this process is making: records its releases, beats its heartbeat, ends it once."""

    def __init__(self, ledger: Ledger, run_id: int, stack_name: str) -> None:
        self.ledger = ledger
        self.id = run_id
        self.stack_name = stack_name
        self.finished: RunRecord | None = None
        self._heartbeat = Heartbeat(self._beat, ledger.heartbeat_every)
        self._heartbeat.start()

    def __enter__(self) -> RunHandle:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None) -> None:
        if self.finished is not None:
            return
        if kind is None:
            self.finish()
        elif issubclass(kind, (KeyboardInterrupt, SystemExit)):
            self.finish(RunOutcome.INTERRUPTED, note=f"stopped by {kind.__name__}")
        else:
            self.finish(RunOutcome.FAILED, note=f"stopped by {kind.__name__}")

    def begin_release(self, spec: ReleaseSpec, *, note: str | None = None) -> int:
        """Record ``spec`` as ``pending`` just before helm runs; the release id to finish it with."""
        return self._record(spec, ReleaseStatus.PENDING, revision=None, error=None, note=note, ended=False)

    def record_release(
        self,
        spec: ReleaseSpec,
        status: ReleaseStatus | str,
        *,
        revision: int | None = None,
        error: str | None = None,
        note: str | None = None,
    ) -> int:
        """Record a release that needed no helm call (``unchanged``, ``skipped``) in one step."""
        return self._record(spec, _final(status), revision=revision, error=error, note=note, ended=True)

    def finish_release(
        self,
        release_id: int,
        status: ReleaseStatus | str,
        *,
        revision: int | None = None,
        error: str | None = None,
        note: str | None = None,
    ) -> None:
        """What helm said. ``error`` and ``note`` must carry no secret (they are stored as given)."""
        final = _final(status)
        with self.ledger.database.write("recording a release") as connection:
            changed = connection.execute(
                update(releases)
                .where(releases.c.id == release_id, releases.c.run_id == self.id)
                .values(status=final.value, helm_revision=revision, error=error, note=note, ended_at=utcnow())
            ).rowcount
        if not changed:
            raise ledger_error(f"run {self.id} has no release {release_id}", "ledger.no-release")

    def releases(self) -> list[ReleaseRecord]:
        with self.ledger.database.read("reading a run") as connection:
            rows = connection.execute(query.select_releases(run_id=self.id)).all()
        return [query.release_record(row) for row in rows]

    def finish(self, outcome: RunOutcome | str | None = None, *, note: str | None = None) -> RunRecord:
        """End the run. ``None``: failed if a release failed, else succeeded. Pending releases left
        behind (helm never answered) become ``interrupted``. Its locks are released. Once only."""
        if self.finished is not None:
            return self.finished
        self._heartbeat.stop()
        now = utcnow()
        try:
            with self.ledger.database.write("finishing a run") as connection:
                connection.execute(
                    update(releases)
                    .where(releases.c.run_id == self.id, releases.c.status == ReleaseStatus.PENDING.value)
                    .values(status=ReleaseStatus.INTERRUPTED.value, ended_at=now, note="the run ended before helm answered")
                )
                if outcome is None:
                    failed = connection.execute(
                        select(func.count())
                        .select_from(releases)
                        .where(releases.c.run_id == self.id, releases.c.status == ReleaseStatus.FAILED.value)
                    ).scalar_one()
                    outcome = RunOutcome.FAILED if failed else RunOutcome.SUCCEEDED
                connection.execute(
                    update(runs)
                    .where(runs.c.id == self.id)
                    .values(outcome=RunOutcome(outcome).value, ended_at=now, heartbeat_at=now, note=note)
                )
                connection.execute(locks.delete().where(locks.c.run_id == self.id))
        finally:
            # Even when the write failed: the run then reads as dead, and the next open repairs it.
            self.abandon()
        self.finished = self.ledger.run(self.id)
        return self.finished

    def abandon(self) -> None:
        """Stop looking alive without recording an outcome (the ledger is closing under us)."""
        self._heartbeat.stop()
        self.ledger._open_runs.pop(self.id, None)
        self.ledger.liveness.close_run(self.id)

    def _record(
        self, spec: ReleaseSpec, status: ReleaseStatus, *, revision: int | None, error: str | None, note: str | None, ended: bool
    ) -> int:
        if not spec.values_hash or len(spec.values_hash) > 200:
            raise ledger_error(f"{spec.cluster}/{spec.component}: values_hash must be 1 to 200 characters", "ledger.values")
        document = canonical_json(spec.values, where=f"{spec.cluster}/{spec.component}")
        now = utcnow()
        with self.ledger.database.write("recording a release") as connection:
            store_values(connection, spec.values_hash, document)
            return insert_release(
                connection,
                {
                    "run_id": self.id,
                    "cluster": spec.cluster,
                    "context": spec.context,
                    "component": spec.component,
                    "release": spec.release,
                    "namespace": spec.namespace,
                    "chart": spec.chart,
                    "chart_version": spec.chart_version,
                    "chart_digest": spec.chart_digest,
                    "values_hash": spec.values_hash,
                    "helm_revision": revision,
                    "status": status.value,
                    "started_at": now,
                    "ended_at": now if ended else None,
                    "error": error,
                    "note": note,
                },
            )

    def _beat(self) -> None:
        with self.ledger.database.write("beating the run's heartbeat") as connection:
            connection.execute(
                update(runs).where(runs.c.id == self.id, runs.c.outcome == RunOutcome.RUNNING.value).values(heartbeat_at=utcnow())
            )


def _final(status: ReleaseStatus | str) -> ReleaseStatus:
    final = ReleaseStatus(status)
    if final not in FINAL_STATUSES:
        raise ledger_error(f"a release cannot end {final.value}", "ledger.status")
    return final


def open_ledger(
    url: str | None = None,
    *,
    default_dir: Path | None = None,
    stale_after: float = 60.0,
    heartbeat_every: float = 5.0,
    busy_timeout: float = 30.0,
    repair: bool = True,
) -> Ledger:
    """Open (creating and migrating if needed) the ledger at ``url``, or the default file in ``default_dir``.

    ``stale_after``: seconds without a heartbeat after which a SQLite run on another host counts as
    dead. Raises LedgerError (one line, exit 1) for a bad URL, an unreachable database or a schema
    from a newer meshcharts.
    """
    database = connect(resolve_ledger_url(url, default_dir=default_dir), busy_timeout=busy_timeout)
    ledger = Ledger(database, stale_after=stale_after, heartbeat_every=heartbeat_every)
    if repair:
        try:
            ledger.repair()
        except BaseException:
            ledger.close()
            raise
    return ledger


def history(ledger: Ledger, cluster: str | None = None, component: str | None = None, limit: int | None = 50) -> list[ReleaseRecord]:
    """Releases newest first, optionally of one cluster and/or component."""
    return ledger.history(cluster=cluster, component=component, limit=limit)
