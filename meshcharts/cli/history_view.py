"""What ``meshcharts history`` shows, read from the ledger: the document (JSON) and its two tables (text).

Apart from :mod:`meshcharts.cli.history`, which registers the command on every run of the CLI, so that
the ledger's records (and, when the command runs, its database layer and rich) load only for it.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from meshcharts.ledger.records import ReleaseRecord, RunRecord

_STYLE = {
    "succeeded": "green",
    "deployed": "green",
    "unchanged": "dim",
    "skipped": "dim",
    "recovered": "yellow",
    "running": "cyan",
    "pending": "cyan",
    "failed": "red",
    "interrupted": "magenta",
}


class HistoryDocument:
    """What ``history`` shows: the releases asked for and the runs they belong to."""

    def __init__(self, ledger: str, releases: list[ReleaseRecord], runs: list[RunRecord]) -> None:
        self.ledger = ledger
        self.releases = releases
        self.runs = runs

    def as_json(self) -> dict[str, Any]:
        return {
            "ledger": self.ledger,
            "runs": [run.as_json() for run in self.runs],
            "releases": [release.as_json() for release in self.releases],
        }


def history_document(
    ledger_url: str | None, default_dir: Callable[[], Path], *, cluster: str | None, component: str | None, limit: int
) -> HistoryDocument:
    from meshcharts.ledger.store import open_ledger

    directory = None if ledger_url else default_dir()
    with open_ledger(ledger_url, default_dir=directory) as ledger:
        releases = ledger.history(cluster=cluster, component=component, limit=limit)
        ids = sorted({release.run_id for release in releases})
        if cluster is None and component is None:
            ids = sorted(set(ids) | {run.id for run in ledger.runs(limit=limit)})
        runs = ledger.runs(ids=ids) if ids else []
        return HistoryDocument(ledger.url, releases, runs)


def print_text(document: HistoryDocument) -> None:
    """Two rich tables. Piped output gets a wide fixed width: a log should not truncate a name."""
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    console = Console(highlight=False, width=None if sys.stdout.isatty() else 160)
    if not document.runs and not document.releases:
        console.print(f"no runs recorded in {escape(document.ledger)}")
        return
    several = len({run.stack_name for run in document.runs}) > 1
    runs = Table(title=f"Runs ({escape(document.ledger)})", title_justify="left")
    for heading in ("run", "stack", "started", "by", "commit", "outcome", "took", "note"):
        if heading != "stack" or several:
            runs.add_column(heading, no_wrap=heading not in ("by", "note"))
    for run in document.runs:
        cells = [str(run.id), escape(run.stack_name), _when(run.started_at), escape(run.who), (run.git_commit or "-")[:12]]
        cells += [_styled(run.outcome.value), _duration(run.started_at, run.ended_at), escape(run.note or "")]
        runs.add_row(*(cells if several else cells[:1] + cells[2:]))
    console.print(runs)
    if not document.releases:
        console.print("no releases match")
        return
    releases = Table(title="Releases, newest first", title_justify="left")
    # The release name, not only the component: a component may have two (kiali and its CRD chart).
    for heading in ("run", "cluster", "component", "release", "version", "rev", "status", "note"):
        releases.add_column(heading, no_wrap=heading != "note")
    for release in document.releases:
        releases.add_row(
            str(release.run_id), escape(release.cluster), escape(release.component), escape(release.release),
            escape(release.chart_version), str(release.helm_revision or "-"), _styled(release.status.value),
            escape(release.error or release.note or ""),
        )
    console.print(releases)


def _styled(word: str) -> str:
    style = _STYLE.get(word)
    return f"[{style}]{word}[/]" if style else word


def _when(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%SZ")


def _duration(started: datetime, ended: datetime | None) -> str:
    if ended is None:
        return "-"
    seconds = max(0, int((ended - started).total_seconds()))
    return f"{seconds // 60}m{seconds % 60:02d}s" if seconds >= 60 else f"{seconds}s"
