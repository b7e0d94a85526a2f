"""Apply's live view: one line per cluster and release, updated as helm works; and its summary.

On a terminal it is a rich ``Live`` table; elsewhere (CI logs, pipes) each change is one plain line,
so a log reads like a story instead of a redrawn screen. The observer is called from apply's worker
threads; rich's Live is thread-safe for updates, and plain lines are written under a lock. The
summary (:func:`summary_lines`, on stdout) says per release what was and was not done.
Imported only when ``apply`` runs, so it may load the deploy stage.
"""

from __future__ import annotations

import threading
import time
from types import TracebackType

import click
from rich.console import Console
from rich.live import Live
from rich.table import Table

from meshcharts.deploy.results import ApplyResult, ReleaseResult

STYLES = {"deployed": "green", "unchanged": "dim", "failed": "bold red", "skipped": "yellow"}


class ApplyProgress:
    """An apply observer; use as a context manager around ``apply_project``."""

    def __init__(self, *, live: bool) -> None:
        self.console = Console(stderr=True)
        self.states: dict[tuple[str, str], tuple[str, float]] = {}
        self.started = time.monotonic()
        self._lock = threading.Lock()
        self._live = Live(self._table(), console=self.console, refresh_per_second=4, transient=False) if live else None

    def __enter__(self) -> ApplyProgress:
        if self._live is not None:
            self._live.__enter__()
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None) -> None:
        if self._live is not None:
            self._live.update(self._table())
            self._live.__exit__(kind, error, trace)

    def __call__(self, cluster: str, release: str | None, state: str) -> None:
        with self._lock:
            self.states[(cluster, release or "")] = (state, time.monotonic())
            if self._live is not None:
                self._live.update(self._table())
            else:
                click.echo(f"{cluster}{'/' + release if release else ''}: {state}", err=True)

    def _table(self) -> Table:
        table = Table(title=f"meshcharts apply ({time.monotonic() - self.started:.0f}s)", title_justify="left")
        for column in ("cluster", "release", "state"):
            table.add_column(column)
        for (cluster, release), (state, _) in sorted(self.states.items()):
            table.add_row(cluster, release or "(cluster)", f"[{STYLES.get(state, '')}]{state}[/]" if state in STYLES else state)
        return table


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
