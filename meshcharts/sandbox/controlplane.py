"""A kwokctl cluster's control-plane processes as meshcharts finds them: each component's pid file,
read, and whether that pid still runs the component's binary.

``status``, ``processes``, ``down`` and the restart of a stopped cluster all ask this; a pid counts
only while it runs the right binary (a zombie or a reused number does not), see
:func:`meshcharts.sandbox.procs.is_alive`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from meshcharts.sandbox import procs
from meshcharts.sandbox.kwok import cluster_components


@dataclass(frozen=True)
class Component:
    """One component (etcd, kube-apiserver, ...) of one cluster."""

    name: str
    pid_file: Path
    binary: Path
    pid: int | None  # what the pid file says, None without one
    running: bool  # that pid is alive and runs ``binary``


def components(cluster_dir: Path) -> list[Component] | None:
    """Every component of the kwokctl cluster in ``cluster_dir``; None when kwokctl has no such cluster."""
    found = cluster_components(cluster_dir)
    if found is None:
        return None
    listed = []
    for name, (pid_file, binary) in found.items():
        pid = procs.read_pid(pid_file)
        listed.append(Component(name, pid_file, binary, pid, pid is not None and procs.is_alive(pid, binary)))
    return listed


def live_processes(cluster_dir: Path) -> dict[int, Path]:
    """pid → binary of the cluster's components that are running."""
    return {item.pid: item.binary for item in components(cluster_dir) or [] if item.running and item.pid is not None}


def forget_dead(cluster_dir: Path) -> None:
    """Remove the pid files of dead components, or kwokctl will not start them again.

    kwokctl counts a pid as running while the number exists at all: a zombie nobody has reaped
    yet, or an unrelated process that got the number, would keep a component down forever.
    """
    for component in components(cluster_dir) or []:
        if component.pid is not None and not component.running:
            component.pid_file.unlink(missing_ok=True)


__all__ = ["Component", "components", "forget_dead", "live_processes"]
