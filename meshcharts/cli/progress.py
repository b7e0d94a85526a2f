"""Apply's live view: one line per cluster and release, updated as helm works; and its summary.

On a terminal it is a rich ``Live`` table (:mod:`meshcharts.cli.progress_live`); elsewhere (CI logs, pipes) each change is one plain line,
so a log reads like a story instead of a redrawn screen. The observer is called from apply's worker
threads; rich's Live is thread-safe for updates, and plain lines are written under a lock. The
summary (:func:`summary_lines`, on stdout) says per release what was and was not done.
Imported only when ``apply`` runs, so it may load the deploy stage.
"""

from __future__ import annotations

import threading
import time
from types import TracebackType
from typing import Protocol

import click

from meshcharts.deploy.results import ApplyResult, ReleaseResult


class LiveView(Protocol):
    """A redrawn view of the states (:class:`meshcharts.cli.progress_live.LiveTable` on a terminal)."""

    def start(self) -> None: ...

    def update(self, states: dict[tuple[str, str], tuple[str, float]]) -> None: ...

    def stop(self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None) -> None: ...


class ApplyProgress:
    """An apply observer; use as a context manager around ``apply_project``.

    rich is imported only for the live view on a terminal: in CI logs and pipes (and for every apply
    with nothing to do, which ends in a fraction of a second) its import would be most of the cost.
    """

    def __init__(self, *, live: bool) -> None:
        self.states: dict[tuple[str, str], tuple[str, float]] = {}
        self._lock = threading.Lock()
        self._live: LiveView | None = None
        if live:
            from meshcharts.cli.progress_live import LiveTable

            self._live = LiveTable(time.monotonic())

    def __enter__(self) -> ApplyProgress:
        if self._live is not None:
            self._live.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None) -> None:
        if self._live is not None:
            self._live.update(self.states)
            self._live.stop(kind, error, trace)

    def __call__(self, cluster: str, release: str | None, state: str) -> None:
        with self._lock:
            self.states[(cluster, release or "")] = (state, time.monotonic())
            if self._live is not None:
                self._live.update(self.states)
            else:
                click.echo(f"{cluster}{'/' + release if release else ''}: {state}", err=True)


def summary_lines(result: ApplyResult) -> list[str]:
    """What apply did, for a person: per cluster a verdict, then every release with what happened to it."""
    lines = []
    for name, cluster in result.clusters.items():
        counts: dict[str, int] = {}
        for item in cluster.releases:
            counts[item.status] = counts.get(item.status, 0) + 1
        tally = ", ".join(f"{count} {status}" for status, count in sorted(counts.items()))
        if cluster.error:  # one line: every release of the cluster was skipped for the same reason
            lines.append(f"{name}: not applied ({len(cluster.releases)} releases skipped): {cluster.error}")
            continue
        verdict = "ok" if cluster.ok else "interrupted" if result.interrupted else "failed"
        lines.append(f"{name}: {verdict} ({tally or 'no releases'})")
        width = max((len(item.release) for item in cluster.releases), default=0)
        for item in cluster.releases:
            lines.append(f"  {item.status:<9} {item.release:<{width}}  {_detail(item)}".rstrip())
        for problem in cluster.wiring:
            where = f"{problem.location}: " if problem.location else ""
            lines.append(f"  ! wiring ({problem.severity.value}): {where}{problem.component or ''}: {problem.path + ': ' if problem.path else ''}{problem.message}")
    if result.run_id is None:
        lines.append("No changes: every release matches the stack and its live objects; nothing was run or recorded.")
    else:
        lines.append(f"run {result.run_id} recorded in {result.ledger}")
    return lines


_DONE = {"install": "installed", "upgrade": "upgraded", "recover": "upgraded", "restore": "restored"}


def _detail(item: ReleaseResult) -> str:
    revision = f"revision {item.revision}" if item.revision else ""
    if item.status == "deployed":
        text = f"{_DONE.get(item.action or '', 'deployed')}, {revision} in {item.seconds:.1f}s"
        return f"{text}; {item.note}" if item.note else text
    if item.status == "failed":
        return f"{item.action} failed: {item.error}"
    if item.status == "skipped":
        return item.note or ""
    return revision
