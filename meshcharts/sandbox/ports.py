"""How sandbox clusters get ports no other sandbox cluster has, whatever stack each is for.

kwokctl hands out the first ports it finds free, counting down from 32766. Three things made two
clusters end up with the same ones, and one of them die on ``bind: address already in use``:

* two sandboxes created at once (two stacks, two CI jobs on one machine) pick the same free ports:
  every kwokctl create and start runs under one per-user lock (:func:`taking_ports`);
* kwokctl returns when the API server answers, but the kwok-controller, controller-manager and
  scheduler bind their ports seconds later, and until then the next kwokctl sees them free: the
  lock is held until every port of the cluster listens, or one of its components died;
* a stopped cluster (every process killed by a reboot, an OOM killer, a test) listens on none of its
  ports, so a cluster created meanwhile would take them and the stopped one could never restart:
  every created cluster is recorded in a per-user registry (``clusters.json`` beside the binaries'
  cache), and a new cluster's ports are chosen here (:func:`choose`), free and no other recorded
  cluster's, and written into its kwokctl configuration (kwokctl picks only ports left at 0).
"""

from __future__ import annotations

import json
import os
import socket
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path

from meshcharts.core.diagnostics import Diagnostic, InvalidInput
from meshcharts.sandbox import procs
from meshcharts.sandbox.build import Progress, cache_root, locked
from meshcharts.sandbox.kwok import cluster_ports

#: How long the lock waits for a new cluster's components to bind their ports.
BIND_TIMEOUT = 60.0

#: The KwokctlConfiguration options of the ports a cluster's components listen on, and where we
#: start counting down from (as kwokctl does: below Linux's ephemeral range, 32768 and up).
PORT_OPTIONS = ("etcdPeerPort", "etcdPort", "kubeApiserverPort", "kwokControllerPort", "kubeControllerManagerPort", "kubeSchedulerPort")
FIRST_PORT = 32766
LAST_PORT = 10001


@contextmanager
def taking_ports(cluster_dir: Path, progress: Progress, alive: Callable[[], bool], *, new: bool) -> Iterator[dict[str, int]]:
    """Run a kwokctl create (``new``) or start of the cluster in ``cluster_dir`` inside the block.

    A new cluster gets its ports (option name -> port, for its kwokctl configuration) from the block's
    value and is recorded; a start gets none (its ports are in its kwok.yaml). The lock is held for
    the block and until the cluster's ports listen (``alive`` says whether all its components still
    run: a dead one never binds).
    """
    with port_lock(progress):
        if new:
            yield choose(cluster_dir)
            register(cluster_dir)
        else:
            yield {}
        _wait_bound(cluster_dir, alive)


def choose(cluster_dir: Path) -> dict[str, int]:
    """Ports for a new cluster: free now, and none that another recorded cluster has (it may be stopped)."""
    return dict(zip(PORT_OPTIONS, free_ports(len(PORT_OPTIONS), own=cluster_dir)))


def free_ports(count: int, own: Path | None = None) -> list[int]:
    """``count`` ports, counting down from :data:`FIRST_PORT`: free now and no recorded cluster's but
    ``own``'s. Call it under :func:`port_lock` and bind them before the lock is released."""
    own_dir = own.resolve() if own is not None else None
    taken = {port for _, port in procs.listening_sockets().values()}
    for folder in registered():
        if folder != own_dir:
            taken |= cluster_ports(folder)
    chosen: list[int] = []
    port = FIRST_PORT
    while len(chosen) < count:
        while port in taken or not _bindable(port):
            port -= 1
            if port < LAST_PORT:
                raise InvalidInput(
                    Diagnostic(message=f"no free port left between {LAST_PORT} and {FIRST_PORT} for the sandbox", rule="sandbox.no-ports")
                )
        chosen.append(port)
        port -= 1
    return chosen


def port_lock(progress: Progress) -> AbstractContextManager[None]:
    """The per-user lock every sandbox holds from choosing its ports until they listen."""
    return locked(_lock_path(), progress, "waiting for another sandbox to finish taking its ports")


def _bindable(port: int) -> bool:
    """Whether a listener could bind ``port`` on loopback and on every address (as kwokctl's own probe)."""
    for address in ("127.0.0.1", "0.0.0.0"):
        probe = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        # As Go's listeners do: a port whose old connections linger in TIME_WAIT is free.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((address, port))
        except OSError:
            return False
        finally:
            probe.close()
    return True


def forget(cluster_dir: Path) -> None:
    """Drop a deleted cluster from the registry."""
    with locked(_lock_path(), lambda _: None, ""):
        unregister(cluster_dir)


def _lock_path() -> Path:
    return cache_root() / "sandbox" / "ports.lock"


def _wait_bound(cluster_dir: Path, alive: Callable[[], bool], timeout: float = BIND_TIMEOUT) -> None:
    wanted = cluster_ports(cluster_dir)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        listening = {port for _, port in procs.listening_sockets().values()}
        if wanted <= listening or not alive():
            return
        time.sleep(0.1)


def registry_path() -> Path:
    return cache_root() / "sandbox" / "clusters.json"


def registered() -> list[Path]:
    """The cluster folders of every sandbox recorded for this user that still exists."""
    try:
        entries = json.loads(registry_path().read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    if not isinstance(entries, list):
        return []
    return [Path(entry) for entry in entries if isinstance(entry, str) and (Path(entry) / "kwok.yaml").is_file()]


def _write(folders: list[Path]) -> None:
    path = registry_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    temporary.write_text(json.dumps(sorted({str(folder) for folder in folders}), indent=1), encoding="utf-8")
    os.replace(temporary, path)


def register(cluster_dir: Path) -> None:
    """Record a cluster created in ``cluster_dir`` (call under the ports lock); forgets vanished ones."""
    _write([*registered(), cluster_dir.resolve()])


def unregister(cluster_dir: Path) -> None:
    """Forget a deleted cluster (call under the ports lock)."""
    gone = cluster_dir.resolve()
    _write([folder for folder in registered() if folder != gone])


def available(port: int) -> bool:
    """Whether ``port`` could be taken now: nobody listens on it and no recorded cluster has it."""
    if any(port == listening for _, listening in procs.listening_sockets().values()):
        return False
    if any(port in cluster_ports(folder) for folder in registered()):
        return False
    return _bindable(port)
