"""A copy of the bundled example stack on the live clusters, driven through the real CLI.

Every apply test works on its own copy (``meshcharts.yaml`` and ``values/`` of the repository, with the
kube-contexts rewritten to the live clusters'), never on the repository itself. helm runs through a
small wrapper that logs each argv and execs the real binary, so a test can tell which helm commands a
run made (``CliRun.helm_calls``) and what they carried. The live clusters are shared by the whole
session: :meth:`ExampleStack.uninstall` removes the example's releases before a test that needs a
clean start (only those releases, so a real cluster given by ``MESHCHARTS_TEST_KUBECONFIG`` keeps
everything else). On such a cluster that still deletes releases named like the example's in
istio-system, so the apply tests run there only when ``MESHCHARTS_TEST_ALLOW_UNINSTALL=1`` says the
cluster is a scratch one.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import REPO_ROOT
from tests.live.conftest import LIVE_HELM, LiveClusters, helm_for

NAMESPACE = "istio-system"
#: The example's releases on each cluster, in install order.
RELEASES = ("rancher-kiali-server-crd", "rancher-kiali-server", "rancher-tracing", "mesh-extras")
CLUSTERS = ("east", "west")
#: The contexts the bundled meshcharts.yaml names, rewritten to the live clusters' in each copy.
EXAMPLE_CONTEXTS = {"east": "rancher-east", "west": "rancher-west"}
_SEPARATOR = "\x1f"

WRAPPER = """#!/bin/sh
# Logs each helm argv (fields separated by 0x1f, one call a line), then runs the real helm. The line
# goes out in one write: releases run side by side, and their wrappers' writes must not interleave.
sep=$(printf '\\037')
line=
for arg in "$@"; do line="$line$arg$sep"; done
printf '%s\\n' "$line" >> '{log}'
exec '{helm}' "$@"
"""


@dataclass(frozen=True)
class CliRun:
    """One run of the real CLI: exit code, what it printed, and the helm commands it ran."""

    args: tuple[str, ...]
    returncode: int
    stdout: str
    stderr: str
    helm_calls: tuple[tuple[str, ...], ...]

    def json(self) -> Any:
        return json.loads(self.stdout)

    def verbs(self) -> list[str]:
        """The helm verb of each call (``version``, ``upgrade``...)."""
        return [call[0] for call in self.helm_calls if call]

    def __str__(self) -> str:
        return f"meshcharts {' '.join(self.args)} -> {self.returncode}\n--- stdout\n{self.stdout}\n--- stderr\n{self.stderr}"


class ExampleStack:
    """The example stack copied into ``folder/stack``, applied with ``helm`` to the live clusters."""

    def __init__(self, folder: Path, live: LiveClusters, charts: Path, helm: Path, helm_home: Mapping[str, str]) -> None:
        self.folder = folder
        self.root = folder / "stack"
        self.live = live
        # The tests look at the clusters with one helm whatever helm apply runs (helm 4 dropped `list --all`).
        inspector = REPO_ROOT / ".tools" / "helm" / LIVE_HELM / "helm"
        self.real_helm = inspector if os.access(inspector, os.X_OK) else helm
        self.contexts = dict(zip(CLUSTERS, live.contexts))
        self.root.mkdir(parents=True)
        shutil.copyfile(REPO_ROOT / "meshcharts.yaml", self.root / "meshcharts.yaml")
        shutil.copytree(REPO_ROOT / "values", self.root / "values")
        text = (self.root / "meshcharts.yaml").read_text(encoding="utf-8")
        for cluster, context in EXAMPLE_CONTEXTS.items():
            text = text.replace(f"context: {context}\n", f"context: {self.contexts[cluster]}\n")
        (self.root / "meshcharts.yaml").write_text(text, encoding="utf-8")
        self.helm_log = folder / "helm-calls.log"
        wrapper = folder / "bin" / "helm"
        wrapper.parent.mkdir()
        wrapper.write_text(WRAPPER.format(log=self.helm_log, helm=helm), encoding="utf-8")  # the helm apply runs
        wrapper.chmod(0o755)
        self.env = {
            **os.environ,
            **helm_home,
            "KUBECONFIG": str(live.kubeconfig),
            "KUBECACHEDIR": str(Path(helm_home["HELM_CACHE_HOME"]) / "kube"),
            "MESHCHARTS_CHARTS": str(charts),
            "MESHCHARTS_CACHE": str(folder / "cache"),
            "MESHCHARTS_HELM": str(wrapper),
            "COLUMNS": "200",
        }
        for name in ("MESHCHARTS_HELM_VERSION", "MESHCHARTS_LEDGER"):
            self.env.pop(name, None)
        self.started: list[Background] = []

    # -- the stack -------------------------------------------------------------------------------

    def write(self, relative: str, text: str) -> Path:
        path = self.root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        return path

    def edit(self, relative: str, change: Callable[[str], str]) -> Path:
        path = self.root / relative
        return self.write(relative, change(path.read_text(encoding="utf-8")))

    # -- the CLI ---------------------------------------------------------------------------------

    def _calls(self, start: int) -> tuple[tuple[str, ...], ...]:
        if not self.helm_log.exists():
            return ()
        lines = self.helm_log.read_text(encoding="utf-8").splitlines()[start:]
        return tuple(tuple(line.split(_SEPARATOR)[:-1]) for line in lines)

    def _logged(self) -> int:
        return len(self.helm_log.read_text(encoding="utf-8").splitlines()) if self.helm_log.exists() else 0

    def cli(self, *args: str, env: Mapping[str, str] | None = None, timeout: float = 600) -> CliRun:
        """``meshcharts ARGS`` in the stack folder, as a user runs it (a new process)."""
        start = self._logged()
        result = subprocess.run(
            [sys.executable, "-m", "meshcharts", *args],
            cwd=self.root, env={**self.env, **(env or {})}, capture_output=True, text=True, timeout=timeout, check=False,
        )
        return CliRun(tuple(args), result.returncode, result.stdout, result.stderr, self._calls(start))

    def pull(self) -> None:
        run = self.cli("pull")
        assert run.returncode == 0, run

    def apply(self, *args: str, env: Mapping[str, str] | None = None) -> CliRun:
        return self.cli("apply", "--yes", *args, env=env)

    def start(self, *args: str, name: str = "background", env: Mapping[str, str] | None = None) -> Background:
        """``meshcharts ARGS`` in the background, in its own process group (so it can be killed whole)."""
        out = (self.folder / f"{name}.out").open("w")
        err = (self.folder / f"{name}.err").open("w")
        process = subprocess.Popen(
            [sys.executable, "-m", "meshcharts", *args],
            cwd=self.root, env={**self.env, **(env or {})}, stdout=out, stderr=err, start_new_session=True,
        )
        out.close()
        err.close()
        started = Background(process, self.folder / f"{name}.out", self.folder / f"{name}.err")
        self.started.append(started)
        return started

    # -- the clusters, through the real helm -----------------------------------------------------

    def helm(self, cluster: str, *args: str, stdin: str | None = None) -> str:
        result = subprocess.run(
            [str(self.real_helm), *args, "--kube-context", self.contexts[cluster]],
            env=self.env, input=stdin, capture_output=True, text=True, timeout=300, check=False,
        )
        assert result.returncode == 0, f"helm {' '.join(args)} on {cluster}: {result.stderr}"
        return result.stdout

    def values(self, cluster: str, release: str) -> dict[str, Any]:
        """The values the live revision was installed with (``helm get values``)."""
        found: dict[str, Any] = json.loads(self.helm(cluster, "get", "values", release, "-n", NAMESPACE, "-o", "json")) or {}
        return found

    def status(self, cluster: str, release: str) -> dict[str, Any]:
        found: dict[str, Any] = json.loads(self.helm(cluster, "status", release, "-n", NAMESPACE, "-o", "json"))
        return found

    def releases(self, cluster: str) -> dict[str, dict[str, Any]]:
        """The example's releases on ``cluster`` (``helm list --all``), by name."""
        listed = json.loads(self.helm(cluster, "list", "--all", "-n", NAMESPACE, "-o", "json"))
        return {item["name"]: item for item in listed if item["name"] in RELEASES}

    def uninstall(self) -> None:
        """Remove the example's releases from both clusters (and wait until their objects are gone)."""

        def one(cluster: str, release: str) -> None:
            subprocess.run(
                [str(self.real_helm), "uninstall", release, "-n", NAMESPACE, "--wait", "--timeout", "120s",
                 "--kube-context", self.contexts[cluster]],
                env=self.env, capture_output=True, text=True, timeout=180, check=False,
            )

        with ThreadPoolExecutor(max_workers=4) as pool:
            list(pool.map(lambda pair: one(*pair), [(c, r) for c in CLUSTERS for r in RELEASES]))
        for cluster in CLUSTERS:
            assert self.releases(cluster) == {}, f"{cluster} still has example releases"

    # -- the ledger ------------------------------------------------------------------------------

    @property
    def ledger_path(self) -> Path:
        return self.root / "meshcharts.ledger.sqlite"

    def ledger(self, sql: str, *params: Any) -> list[sqlite3.Row]:
        """Rows of the ledger, read-only (a running apply may be writing it)."""
        if not self.ledger_path.exists():
            return []
        connection = sqlite3.connect(f"file:{self.ledger_path}?mode=ro", uri=True, timeout=30)
        connection.row_factory = sqlite3.Row
        try:
            return connection.execute(sql, params).fetchall()
        except sqlite3.OperationalError:  # the first run is still creating its tables
            return []
        finally:
            connection.close()

    def release_rows(self, run: int | None = None) -> list[sqlite3.Row]:
        if run is None:
            return self.ledger("SELECT * FROM meshcharts_releases ORDER BY id")
        return self.ledger("SELECT * FROM meshcharts_releases WHERE run_id = ? ORDER BY id", run)


class Background:
    """A CLI run in its own process group."""

    def __init__(self, process: subprocess.Popen[bytes], stdout: Path, stderr: Path) -> None:
        self.process = process
        self.stdout_path = stdout
        self.stderr_path = stderr

    @property
    def stderr(self) -> str:
        return self.stderr_path.read_text(encoding="utf-8")

    @property
    def stdout(self) -> str:
        return self.stdout_path.read_text(encoding="utf-8")

    def kill(self) -> None:
        """``kill -9`` the whole process group: meshcharts and the helm it is running, as a lost CI job or host."""
        if self.process.poll() is None:
            try:
                os.killpg(self.process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self.process.wait(timeout=30)

    def wait(self, timeout: float = 600) -> int:
        return self.process.wait(timeout=timeout)


def kubeconfig_with(live: LiveClusters, folder: Path, contexts: Mapping[str, str]) -> Path:
    """The live kubeconfig plus a context per ``contexts`` entry (name -> server URL) with the live user:
    for clusters that refuse, hang or are gone. Written to ``folder/kubeconfig``, mode 0600."""
    config = yaml.safe_load(live.kubeconfig.read_text(encoding="utf-8"))
    user = config["contexts"][0]["context"]["user"]
    for name, server in contexts.items():
        config["clusters"].append({"name": name, "cluster": {"server": server, "insecure-skip-tls-verify": True}})
        config["contexts"].append({"name": name, "context": {"cluster": name, "user": user}})
    kubeconfig = folder / "kubeconfig"
    kubeconfig.write_text(yaml.safe_dump(config), encoding="utf-8")
    kubeconfig.chmod(0o600)
    return kubeconfig


def wait_for(predicate: Callable[[], Any], what: str, timeout: float = 120, interval: float = 0.3) -> Any:
    """Poll until ``predicate`` gives something true; fail naming ``what`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = predicate()
        if found:
            return found
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout:g}s waiting for {what}")


def files_containing(needle: bytes, roots: Iterable[Path], *, since: float, skip: Iterable[Path] = ()) -> list[Path]:
    """Regular files under ``roots`` written at or after ``since`` (epoch seconds) whose bytes hold ``needle``."""
    skipped = [os.path.realpath(path) for path in skip]
    found: list[Path] = []
    seen: set[str] = set()
    for root in roots:
        for folder, dirs, files in os.walk(root, onerror=lambda _: None):
            real = os.path.realpath(folder)
            if any(real == s or real.startswith(s + os.sep) for s in skipped):
                dirs[:] = []
                continue
            for name in files:
                path = os.path.join(folder, name)
                if os.path.realpath(path) in seen:
                    continue
                seen.add(os.path.realpath(path))
                try:
                    info = os.lstat(path)
                    if not os.path.isfile(path) or os.path.islink(path) or info.st_mtime < since or info.st_size > 64 << 20:
                        continue
                    with open(path, "rb") as handle:
                        if needle in handle.read():
                            found.append(Path(path))
                except OSError:
                    continue
    return found


@pytest.fixture()
def example(tmp_path: Path, live_clusters: LiveClusters, standin_charts: Path, helm_home: dict[str, str]) -> Iterator[ExampleStack]:
    """A fresh copy of the example, charts pulled, and clusters without its releases; helm 3.22.0.

    Whatever the test started in the background and left running is killed afterwards.
    """
    if live_clusters.sandbox is None and os.environ.get("MESHCHARTS_TEST_ALLOW_UNINSTALL") != "1":
        pytest.skip(
            "the apply tests uninstall the example's releases (rancher-kiali-server, rancher-tracing, mesh-extras ...) "
            f"in {NAMESPACE} of MESHCHARTS_TEST_KUBECONFIG's clusters; set MESHCHARTS_TEST_ALLOW_UNINSTALL=1 for scratch clusters"
        )
    stack = ExampleStack(tmp_path, live_clusters, standin_charts, helm_for(LIVE_HELM), helm_home)
    stack.uninstall()
    stack.pull()
    try:
        yield stack
    finally:
        for started in stack.started:
            started.kill()


def hang_tracing_on_east(stack: ExampleStack) -> None:
    """East's Jaeger waits for a node that never comes: its helm --wait runs until the timeout."""
    stack.write("values/clusters/east/tracing.yaml", 'nodeSelector: {meshcharts.io/never: "true"}\n')


def fail_kiali_on_east(stack: ExampleStack) -> None:
    """East's Kiali Deployment never goes ready (no node matches): helm --wait fails at the timeout."""
    stack.edit("values/clusters/east/kiali.yaml", lambda text: text + '  node_selector: {meshcharts.io/never: "true"}\n')
