"""A sandbox that cannot start says why in one line, and what dies at birth is created again.

The CI run of an earlier submission lost every live test to ``sandbox west did not start: etcd,
kube-apiserver, kube-controller-manager, kwok-controller not running``: another sandbox was being
created on the same machine at the same moment, kwokctl gave both the same free ports, and the second
one's components died on ``bind: address already in use``, a cause nobody could see without the logs.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from meshcharts.core.diagnostics import InvalidInput
from meshcharts.sandbox import ClusterState, Sandbox, SandboxCluster, procs
from tests.conftest import REPO_ROOT
from tests.live.conftest import LiveClusters

pytestmark = pytest.mark.live

_UP = """
import sys
from pathlib import Path
from meshcharts.sandbox import Sandbox, SandboxCluster
Sandbox(Path(sys.argv[1]), [SandboxCluster(sys.argv[2])], nodes=1).up(lambda line: print(line, flush=True))
"""


def _wait(predicate: object, timeout: float = 30.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():  # type: ignore[operator]
            return True
        time.sleep(0.1)
    return False


def test_sandboxes_started_at_the_same_moment_all_run(tmp_path: Path, live_clusters: LiveClusters) -> None:
    live_clusters.require_sandbox()
    names = ("twin-a", "twin-b", "twin-c")
    sandboxes = [Sandbox(tmp_path / name, [SandboxCluster(name)]) for name in names]
    started = [
        subprocess.Popen(
            [sys.executable, "-c", _UP, str(tmp_path / name), name],
            cwd=REPO_ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for name in names
    ]
    try:
        outputs = [process.communicate(timeout=300)[0] for process in started]
        assert [process.returncode for process in started] == [0, 0, 0], outputs
        # Neither had to be created twice: the lock is held until the first one's components all
        # listen (kwokctl returns when the API server answers, before the kwok-controller binds).
        assert not [output for output in outputs if "creating it once more" in output], outputs
        for sandbox in sandboxes:
            (status,) = sandbox.status()
            assert status.state is ClusterState.RUNNING, status.dead
        ports = [{item.port for item in sandbox.status()[0].listeners} for sandbox in sandboxes]
        assert all(ports) and sum(map(len, ports)) == len(set().union(*ports)), ports
    finally:
        for process in started:
            if process.poll() is None:
                process.kill()
        for sandbox in sandboxes:
            sandbox.down()


def _kill_once_at_birth(pid_file: Path, binary_name: str, stop: threading.Event) -> None:
    """Kill the first process that appears in ``pid_file`` running ``binary_name``: a death at birth."""
    while not stop.is_set():
        pid = procs.read_pid(pid_file)
        if pid is not None:
            try:
                exe = os.readlink(f"/proc/{pid}/exe")
            except OSError:
                exe = ""
            if Path(exe).name == binary_name:
                os.kill(pid, signal.SIGKILL)
                return
        time.sleep(0.01)


def test_a_component_that_dies_at_birth_gets_the_cluster_created_once_more(tmp_path: Path, live_clusters: LiveClusters) -> None:
    live_clusters.require_sandbox()
    sandbox = Sandbox(tmp_path / "sandbox", [SandboxCluster("fragile")], nodes=1)
    stop = threading.Event()
    pid_file = sandbox.kwok_workdir / "clusters" / "fragile" / "pids" / "kwok-controller.pid"
    killer = threading.Thread(target=_kill_once_at_birth, args=(pid_file, "kwok", stop), daemon=True)
    killer.start()
    lines: list[str] = []
    try:
        sandbox.up(lines.append)
        assert not killer.is_alive()
        retried = [line for line in lines if "creating it once more" in line]
        assert len(retried) == 1 and retried[0].startswith("sandbox fragile did not start: kwok-controller not running"), lines
        assert sandbox.status()[0].state is ClusterState.RUNNING
    finally:
        stop.set()
        sandbox.down()


@pytest.fixture
def stopped_sandbox(tmp_path: Path, live_clusters: LiveClusters) -> Iterator[Sandbox]:
    """A one-cluster sandbox, created and then stopped the hard way (every process killed)."""
    live_clusters.require_sandbox()
    sandbox = Sandbox(tmp_path / "sandbox", [SandboxCluster("stopped")], nodes=1)
    sandbox.up(lambda line: None)
    try:
        for pid in sandbox.processes():
            os.kill(pid, signal.SIGKILL)
        assert _wait(lambda: sandbox.status()[0].state is ClusterState.STOPPED)
        yield sandbox
    finally:
        sandbox.down()


def test_a_restart_whose_port_was_taken_names_the_component_and_the_cause(stopped_sandbox: Sandbox) -> None:
    config = yaml.safe_load_all((stopped_sandbox.kwok_workdir / "clusters" / "stopped" / "kwok.yaml").read_text())
    options = next(document for document in config if document.get("kind") == "KwokctlConfiguration")["options"]
    squatter = socket.socket()
    squatter.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    squatter.bind(("127.0.0.1", options["kubeControllerManagerPort"]))
    squatter.listen()
    try:
        with pytest.raises(InvalidInput) as raised:
            stopped_sandbox.up(lambda line: None)
        (message,) = [d.message for d in raised.value.diagnostics]
        assert message.startswith("sandbox stopped did not start: kube-controller-manager not running; kube-controller-manager: ")
        assert "address already in use" in message
        assert "`meshcharts sandbox down` and `up` recreate it on free ports" in message
        assert "\n" not in message
    finally:
        squatter.close()
    # The port is free again: the same cluster, its data kept, starts.
    stopped_sandbox.up(lambda line: None)
    assert stopped_sandbox.status()[0].state is ClusterState.RUNNING


def test_a_stopped_cluster_keeps_its_ports_while_another_sandbox_is_created(stopped_sandbox: Sandbox, tmp_path: Path) -> None:
    """A reboot or an OOM killer stops a cluster; a sandbox created meanwhile must not take its ports,
    or the stopped one can never start again (kwokctl hands out the first free ports it finds)."""
    config = yaml.safe_load_all((stopped_sandbox.kwok_workdir / "clusters" / "stopped" / "kwok.yaml").read_text())
    options = next(document for document in config if document.get("kind") == "KwokctlConfiguration")["options"]
    theirs = {value for key, value in options.items() if key.endswith("Port") and type(value) is int}
    newcomer = Sandbox(tmp_path / "newcomer", [SandboxCluster("newcomer")], nodes=1)
    try:
        newcomer.up(lambda line: None)
        ours = {item.port for item in newcomer.status()[0].listeners}
        assert ours and not ours & theirs, (ours, theirs)
        stopped_sandbox.up(lambda line: None)
        assert stopped_sandbox.status()[0].state is ClusterState.RUNNING
    finally:
        newcomer.down()
