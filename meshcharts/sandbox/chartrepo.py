"""The sandbox's chart repository: the pulled charts as a Helm repository served on 127.0.0.1.

Flux's source-controller fetches charts from a Helm repository URL, never from meshcharts' chart
cache, so ``sandbox up --gitops flux`` lays the stack's pulled charts out as one (``<name>-<version>.tgz``
beside an ``index.yaml`` that the real ``helm repo index --url`` writes) and serves that folder with
Python's own static HTTP server, bound to 127.0.0.1 only, in a process of its own that outlives the
command (``sandbox down`` stops it). The port is kept across ``up`` runs while it is free, so a URL
written into a HelmRepository (or a stack's ``export.chartRepository``) stays valid.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from meshcharts.core.diagnostics import Diagnostic, InvalidInput
from meshcharts.sandbox import logs, ports, procs
from meshcharts.sandbox.build import Progress

HOST = "127.0.0.1"
#: How long the server may take to listen before ``up`` gives up on it.
START_TIMEOUT = 30.0


@dataclass(frozen=True)
class ChartArchive:
    """One pulled chart: the file name the repository serves it under and the archive on disk."""

    file_name: str  # <name>-<version>.tgz
    path: Path


@dataclass(frozen=True)
class RepositoryStatus:
    """What ``status`` reports of the chart repository."""

    url: str | None
    folder: Path
    pid: int | None
    running: bool
    charts: tuple[str, ...]

    def as_json(self) -> dict[str, Any]:
        return {"url": self.url, "folder": str(self.folder), "pid": self.pid, "running": self.running, "charts": list(self.charts)}


def _record_path(state_dir: Path) -> Path:
    return state_dir / "chart-repository.json"


def _read_record(state_dir: Path) -> dict[str, Any]:
    try:
        record = json.loads(_record_path(state_dir).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return record if isinstance(record, dict) else {}


def _ours(record: dict[str, Any]) -> int | None:
    """The server's pid while it runs: the recorded pid, still Python, still serving our folder."""
    pid = record.get("pid")
    if not isinstance(pid, int) or not procs.is_alive(pid, Path(str(record.get("exe")))):
        return None
    return pid if str(record.get("folder")) in procs.cmdline(pid) else None


def folder(state_dir: Path) -> Path:
    return state_dir / "charts"


def write_folder(state_dir: Path, charts: Sequence[ChartArchive], helm: Path, url: str) -> Path:
    """Lay out the charts and write ``index.yaml`` for ``url`` with the real helm; the folder.

    Built beside the served folder and swapped in, so the server never serves half an index.
    """
    target = folder(state_dir)
    staging = state_dir / ".charts.new"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    for chart in charts:
        shutil.copyfile(chart.path, staging / chart.file_name)
    result = subprocess.run(
        [str(helm), "repo", "index", str(staging), "--url", url], capture_output=True, text=True, timeout=120, check=False
    )
    if result.returncode != 0:
        raise InvalidInput(
            Diagnostic(message=f"helm repo index of the sandbox's charts failed: {result.stderr.strip()[-300:]}", rule="sandbox.chart-repository")
        )
    old = state_dir / ".charts.old"
    shutil.rmtree(old, ignore_errors=True)
    if target.exists():
        os.replace(target, old)
    os.replace(staging, target)
    shutil.rmtree(old, ignore_errors=True)
    return target


def choose_port(state_dir: Path) -> int:
    """The port served before when it is still free, else a new one (call under :func:`ports.port_lock`)."""
    previous = _read_record(state_dir).get("port")
    if isinstance(previous, int) and ports.available(previous):
        return previous
    return ports.free_ports(1)[0]


def start(state_dir: Path, port: int, log: Path) -> int:
    """Serve :func:`folder` on 127.0.0.1:``port`` in a detached process; its pid once it listens."""
    served = folder(state_dir)
    argv = [sys.executable, "-m", "http.server", str(port), "--bind", HOST, "--directory", str(served)]
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "ab") as out:
        process = subprocess.Popen(argv, cwd=state_dir, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    record = {"pid": process.pid, "exe": os.path.realpath(sys.executable), "port": port, "folder": str(served), "url": f"http://{HOST}:{port}"}
    _record_path(state_dir).write_text(json.dumps(record), encoding="utf-8")
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            break
        if any(item.port == port for item in procs.listeners([process.pid])):
            return process.pid
        time.sleep(0.1)
    process.kill()
    process.wait()
    raise InvalidInput(
        Diagnostic(
            message=f"the sandbox's chart repository did not listen on {HOST}:{port}: {logs.last_error(log) or 'no output'}",
            rule="sandbox.chart-repository",
            hint=f"log in {log}",
        )
    )


def ensure(state_dir: Path, charts: Sequence[ChartArchive], helm: Path, log: Path, progress: Progress) -> str:
    """Write the repository folder and make sure it is served; its URL.

    A running server keeps its port (its URL may be in HelmRepositories already) and serves the
    rewritten folder at once; a dead one is started again, on its old port when that is free.
    """
    state_dir.mkdir(parents=True, exist_ok=True)
    record = _read_record(state_dir)
    running = _ours(record)
    if running is not None:
        url = str(record["url"])
        write_folder(state_dir, charts, helm, url)
        progress(f"chart repository: {url} ({len(charts)} chart(s)), already serving")
        _hint_when_empty(charts, progress)
        return url
    with ports.port_lock(progress):
        port = choose_port(state_dir)
        url = f"http://{HOST}:{port}"
        write_folder(state_dir, charts, helm, url)
        start(state_dir, port, log)
    progress(f"chart repository: {url} ({len(charts)} chart(s)) serving {folder(state_dir)}")
    _hint_when_empty(charts, progress)
    return url


def _hint_when_empty(charts: Sequence[ChartArchive], progress: Progress) -> None:
    if not charts:
        progress("chart repository: no pulled charts yet; `meshcharts pull`, then `sandbox up` again fills it (same URL)")


def status(state_dir: Path) -> RepositoryStatus | None:
    """The repository's state, or None when this sandbox never served one."""
    record = _read_record(state_dir)
    if not record:
        return None
    pid = _ours(record)
    served = folder(state_dir)
    charts = tuple(sorted(path.name for path in served.glob("*.tgz"))) if served.is_dir() else ()
    return RepositoryStatus(record.get("url"), served, record.get("pid") if isinstance(record.get("pid"), int) else None, pid is not None, charts)


def processes(state_dir: Path) -> dict[int, Path]:
    """The server's pid → executable while it runs (for ``down`` and the loopback checks)."""
    record = _read_record(state_dir)
    pid = _ours(record)
    return {pid: Path(str(record["exe"]))} if pid is not None else {}


def stop(state_dir: Path) -> None:
    """Stop the server (SIGTERM, SIGKILL after a grace period); a survivor is an error, not a shrug."""
    leftover = procs.terminate(processes(state_dir), timeout=10.0)
    if leftover:
        raise InvalidInput(Diagnostic(message=f"the sandbox's chart repository server {leftover} survived SIGKILL", rule="sandbox.down"))
    _record_path(state_dir).unlink(missing_ok=True)
