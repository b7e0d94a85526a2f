"""Flux's real source-controller and helm-controller per sandbox cluster, as local processes on loopback.

``sandbox up --gitops flux`` proves exported HelmReleases against the engine itself, so each sandbox
cluster gets the two controllers Flux runs in a real cluster, here as processes of this machine
(kwok schedules pods on fake nodes: a controller in a pod would never run). They take no
``--kubeconfig`` flag: ``KUBECONFIG`` names a kubeconfig of that one cluster and ``RUNTIME_NAMESPACE``
the namespace Flux calls its own (``flux-system``). Everything they listen on is 127.0.0.1:
``--metrics-addr``/``--health-addr`` on a port the kernel picks, source-controller's artifact server
(``--storage-addr``, whose default ``:9090`` would listen on every interface) on a port chosen like the
sandbox's others, and advertised as the same address, since helm-controller fetches the artifacts from
there. Leader election is off: one controller of each per cluster, nothing to elect.

State lives in ``<sandbox>/flux/clusters/<cluster>/``: a JSON record per controller (pid, executable, the
fingerprint of what it was started with), its log, source-controller's storage, the one-cluster
kubeconfig. ``up`` restarts a controller that died or whose cluster changed (a recreated cluster has
a new API server address and certificates); ``down`` stops them all by pid.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from meshcharts.core.diagnostics import Diagnostic, InvalidInput
from meshcharts.sandbox import logs, ports, procs
from meshcharts.sandbox.build import Progress
from meshcharts.sandbox.fluxbuild import FluxBuild
from meshcharts.sandbox.spec import ComponentStatus

HOST = "127.0.0.1"
RUNTIME_NAMESPACE = "flux-system"
SOURCE_CONTROLLER = "source-controller"
HELM_CONTROLLER = "helm-controller"
CONTROLLERS = (SOURCE_CONTROLLER, HELM_CONTROLLER)
#: How long a controller may take to listen before ``up`` calls it failed.
START_TIMEOUT = 90.0


@dataclass(frozen=True)
class ClusterFlux:
    """Where one sandbox cluster's controllers keep their state."""

    state_dir: Path  # <sandbox>/flux/clusters/<cluster>

    @property
    def kubeconfig(self) -> Path:
        return self.state_dir / "kubeconfig"

    @property
    def storage(self) -> Path:
        return self.state_dir / "storage"

    def record_path(self, controller: str) -> Path:
        return self.state_dir / f"{controller}.json"

    def log_path(self, controller: str) -> Path:
        return self.state_dir / "logs" / f"{controller}.log"

    def record(self, controller: str) -> dict[str, Any]:
        try:
            record = json.loads(self.record_path(controller).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        return record if isinstance(record, dict) else {}

    def pid(self, controller: str) -> int | None:
        """The controller's pid while it runs (the recorded pid, still running the recorded binary)."""
        record = self.record(controller)
        pid = record.get("pid")
        if isinstance(pid, int) and procs.is_alive(pid, Path(str(record.get("exe")))):
            return pid
        return None

    def statuses(self) -> list[ComponentStatus]:
        found = []
        for controller in CONTROLLERS:
            record = self.record(controller)
            if record:
                pid = record.get("pid")
                found.append(ComponentStatus(controller, pid if isinstance(pid, int) else None, self.pid(controller) is not None))
        return found

    def processes(self) -> dict[int, Path]:
        found = {}
        for controller in CONTROLLERS:
            pid = self.pid(controller)
            if pid is not None:
                found[pid] = Path(str(self.record(controller)["exe"]))
        return found


def write_cluster_kubeconfig(merged: Path, context: str, target: Path) -> bytes:
    """A kubeconfig holding only ``context`` of the sandbox's merged one, as its current context (0600)."""
    document = yaml.safe_load(merged.read_text(encoding="utf-8"))
    entry = next(item for item in document["contexts"] if item["name"] == context)
    single = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [item for item in document["clusters"] if item["name"] == entry["context"]["cluster"]],
        "users": [item for item in document["users"] if item["name"] == entry["context"]["user"]],
        "contexts": [entry],
        "current-context": context,
    }
    data = yaml.safe_dump(single, sort_keys=False).encode()
    target.parent.mkdir(parents=True, exist_ok=True)
    temporary = target.with_name(f".{target.name}.tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
    os.replace(temporary, target)
    return data


def _environment(cluster: ClusterFlux) -> dict[str, str]:
    env = dict(os.environ)
    env.update({"KUBECONFIG": str(cluster.kubeconfig), "RUNTIME_NAMESPACE": RUNTIME_NAMESPACE, "HOME": str(cluster.state_dir / "home")})
    # Fetches go to 127.0.0.1 (the chart repository, source-controller's artifacts): never via a proxy.
    for key in ("NO_PROXY", "no_proxy"):
        env[key] = ",".join(part for part in (env.get(key, ""), "127.0.0.1", "localhost") if part)
    return env


def controller_argv(build: FluxBuild, cluster: ClusterFlux, controller: str, storage_port: int | None) -> list[str]:
    """The command line of one controller: loopback addresses only, every namespace watched."""
    argv = [
        str(build.binaries[controller]),
        "--watch-all-namespaces",
        f"--metrics-addr={HOST}:0",
        f"--health-addr={HOST}:0",
        "--enable-leader-election=false",
    ]
    if controller == SOURCE_CONTROLLER:
        argv += [
            f"--storage-path={cluster.storage}",
            f"--storage-addr={HOST}:{storage_port}",
            f"--storage-adv-addr={HOST}:{storage_port}",
        ]
    return argv


def _start(build: FluxBuild, cluster: ClusterFlux, controller: str, fingerprint: str, storage_port: int | None) -> None:
    """Start one controller detached and wait until it listens (on the storage port, for source-controller)."""
    argv = controller_argv(build, cluster, controller, storage_port)
    log = cluster.log_path(controller)
    log.parent.mkdir(parents=True, exist_ok=True)
    (cluster.state_dir / "home").mkdir(exist_ok=True)
    with open(log, "ab") as out:
        process = subprocess.Popen(
            argv, cwd=cluster.state_dir, env=_environment(cluster), stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    record = {"pid": process.pid, "exe": str(build.binaries[controller].resolve()), "fingerprint": fingerprint, "storage_port": storage_port}
    cluster.record_path(controller).write_text(json.dumps(record), encoding="utf-8")
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline and process.poll() is None:
        listening = {item.port for item in procs.listeners([process.pid])}
        if (storage_port in listening) if storage_port is not None else listening:
            return
        time.sleep(0.2)
    if process.poll() is None:
        process.kill()
    process.wait()
    raise InvalidInput(
        Diagnostic(
            message=f"Flux {controller} of sandbox {cluster.state_dir.name} did not start: {logs.last_error(log) or 'no output'}",
            rule="sandbox.flux",
            cluster=cluster.state_dir.name,
            hint=f"log in {log}",
        )
    )


def ensure_cluster(build: FluxBuild, cluster: ClusterFlux, kubeconfig: bytes, progress: Progress) -> None:
    """Both controllers of one cluster running, started with this kubeconfig and these binaries."""
    name = cluster.state_dir.name
    fingerprint = hashlib.sha256(kubeconfig + "\n".join(str(path) for path in build.binaries.values()).encode()).hexdigest()
    current = [cluster.pid(controller) is not None and cluster.record(controller).get("fingerprint") == fingerprint for controller in CONTROLLERS]
    if all(current):
        progress(f"sandbox {name}: Flux source-controller and helm-controller already running")
        return
    stop_cluster(cluster)
    cluster.storage.mkdir(parents=True, exist_ok=True)
    with ports.port_lock(progress):
        (storage_port,) = ports.free_ports(1)
        _start(build, cluster, SOURCE_CONTROLLER, fingerprint, storage_port)
    _start(build, cluster, HELM_CONTROLLER, fingerprint, None)
    progress(f"sandbox {name}: Flux source-controller (artifacts on {HOST}:{storage_port}) and helm-controller started")


def stop_cluster(cluster: ClusterFlux) -> None:
    """Stop one cluster's controllers (SIGTERM, SIGKILL after a grace period) and forget them."""
    leftover = procs.terminate(cluster.processes(), timeout=15.0)
    if leftover:
        raise InvalidInput(
            Diagnostic(message=f"Flux controllers {leftover} of sandbox {cluster.state_dir.name} survived SIGKILL", rule="sandbox.down")
        )
    for controller in CONTROLLERS:
        cluster.record_path(controller).unlink(missing_ok=True)


def stop_all(clusters_dir: Path, keep: Sequence[str] = ()) -> None:
    """Stop the controllers of every cluster folder under ``clusters_dir`` except ``keep``; remove them."""
    if not clusters_dir.is_dir():
        return
    for folder in sorted(entry for entry in clusters_dir.iterdir() if entry.is_dir() and entry.name not in keep):
        stop_cluster(ClusterFlux(folder))
        shutil.rmtree(folder, ignore_errors=True)
