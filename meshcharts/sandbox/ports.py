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
  cache), and while kwokctl picks a new cluster's ports, the free ports of every other recorded
  cluster are held by listening sockets on 127.0.0.1, which kwokctl then counts as taken.
"""

from __future__ import annotations

import json
import os
import socket
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from meshcharts.sandbox import procs
from meshcharts.sandbox.build import Progress, cache_root, locked
from meshcharts.sandbox.kwok import cluster_ports

#: How long the lock waits for a new cluster's components to bind their ports.
BIND_TIMEOUT = 60.0


@contextmanager
def taking_ports(cluster_dir: Path, progress: Progress, alive: Callable[[], bool], *, new: bool) -> Iterator[None]:
    """Run a kwokctl create (``new``) or start of the cluster in ``cluster_dir`` inside the block.

    Holds the lock for the block and until the cluster's ports listen (``alive`` says whether all its
    components still run: a dead one will never bind). A new cluster is kept off the ports of every
    other recorded cluster and recorded itself.
    """
    with locked(_lock_path(), progress, "waiting for another sandbox to finish taking its ports"):
        if new:
            with holding_others(cluster_dir):
                yield
            register(cluster_dir)
        else:
            yield
        _wait_bound(cluster_dir, alive)


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


@contextmanager
def holding_others(cluster_dir: Path) -> Iterator[set[int]]:
    """Listen on the free ports of every other recorded cluster while the block runs; the ports held.

    A port that is in use is left alone: its cluster (or someone else) has it, and kwokctl sees it
    taken either way.
    """
    own = cluster_dir.resolve()
    wanted: set[int] = set()
    for folder in registered():
        if folder != own:
            wanted |= cluster_ports(folder)
    held: list[socket.socket] = []
    try:
        for port in sorted(wanted):
            placeholder = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            # As Go's listeners (kwokctl's probe among them) do: a port whose old connections linger in
            # TIME_WAIT is free to them, so it must be free to us too, or it is the one we fail to hold.
            placeholder.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                placeholder.bind(("127.0.0.1", port))
                placeholder.listen(1)
            except OSError:
                placeholder.close()
                continue
            held.append(placeholder)
        yield {item.getsockname()[1] for item in held}
    finally:
        for placeholder in held:
            placeholder.close()
