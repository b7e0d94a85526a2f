"""The ports of a stopped sandbox cluster stay its own, so that it can start again.

kwokctl hands out the first ports it finds free, and a stopped cluster (every process killed by a
reboot, an OOM killer, a test) listens on none of its ports: a cluster created meanwhile, for any
stack, would take them, and the stopped one could never restart. So every cluster a sandbox creates
is recorded in a per-user registry (``clusters.json`` beside the binaries' cache), and while kwokctl
picks the ports of a new cluster we hold the free ports of every other recorded cluster with
listening sockets on 127.0.0.1, which kwokctl then counts as taken. All of it happens under the
sandbox's ports lock (:meth:`meshcharts.sandbox.cluster.Sandbox._ports_locked`).
"""

from __future__ import annotations

import json
import os
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from meshcharts.sandbox.build import cache_root
from meshcharts.sandbox.kwok import cluster_ports


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
