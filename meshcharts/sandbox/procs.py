"""Processes and listening sockets, read from /proc: what the sandbox started, and where it listens.

kwokctl records each component's pid in ``pids/<binary>.pid``. A pid alone can be stale (the process
died and the number was reused), so a process counts as the sandbox's only while ``/proc/<pid>/exe``
is still the component's binary. Listeners come from ``/proc/net/tcp{,6}`` matched to the process's
socket inodes, which is how ``down`` and the tests prove that nothing is left listening and that
nothing ever listened beyond loopback.
"""

from __future__ import annotations

import ipaddress
import os
import signal
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

_PROC = Path("/proc")
_TCP_LISTEN = "0A"


@dataclass(frozen=True)
class Listener:
    """One listening TCP socket of a process."""

    pid: int
    address: str
    port: int

    @property
    def loopback(self) -> bool:
        return ipaddress.ip_address(self.address).is_loopback

    def __str__(self) -> str:
        host = f"[{self.address}]" if ":" in self.address else self.address
        return f"{host}:{self.port} (pid {self.pid})"


def read_pid(pid_file: Path) -> int | None:
    """The pid in a kwokctl pid file, or None when there is none or it is not a number."""
    try:
        return int(pid_file.read_text().strip())
    except (OSError, ValueError):
        return None


def _state(pid: int) -> str | None:
    """The process's state letter (R, S, Z ...), or None when there is no such process."""
    try:
        stat = (_PROC / str(pid) / "stat").read_text()
    except OSError:
        return None
    # The state letter follows the parenthesised command name, which may itself hold spaces or ")".
    fields = stat.rpartition(")")[2].split()
    return fields[0] if fields else None


def is_gone(pid: int) -> bool:
    """Whether ``pid`` has exited: no such process, or a zombie (its sockets and files are closed)."""
    return _state(pid) in (None, "Z", "X")


def is_alive(pid: int, binary: Path | None = None) -> bool:
    """Whether ``pid`` runs (not a zombie) and, given ``binary``, runs that executable.

    ``binary`` may be a symlink (kwokctl links the cached binaries into each cluster); both sides are
    resolved before comparing. A process whose executable we cannot read counts as not ours (an
    exiting process loses it before its sockets close: to wait for an exit, use :func:`is_gone`).
    """
    if is_gone(pid):
        return False
    if binary is None:
        return True
    try:
        exe = os.readlink(_PROC / str(pid) / "exe")
    except OSError:
        return False
    return Path(exe.removesuffix(" (deleted)")).resolve() == binary.resolve()


def _socket_inodes(pid: int) -> set[str]:
    inodes: set[str] = set()
    fd_dir = _PROC / str(pid) / "fd"
    try:
        entries = list(fd_dir.iterdir())
    except OSError:
        return inodes
    for entry in entries:
        try:
            target = os.readlink(entry)
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[len("socket:[") : -1])
    return inodes


def _decode_address(hex_address: str) -> str:
    """/proc/net/tcp's address: the IP's bytes as host-order 32-bit words in hex."""
    raw = bytes.fromhex(hex_address)
    words = b"".join(raw[i : i + 4][::-1] for i in range(0, len(raw), 4))
    return str(ipaddress.ip_address(words))


def listening_sockets() -> dict[str, tuple[str, int]]:
    """Every listening TCP socket on the machine: inode → (address, port)."""
    sockets: dict[str, tuple[str, int]] = {}
    for table in ("tcp", "tcp6"):
        try:
            lines = (_PROC / "net" / table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if len(fields) < 10 or fields[3] != _TCP_LISTEN:
                continue
            address, port = fields[1].split(":")
            sockets[fields[9]] = (_decode_address(address), int(port, 16))
    return sockets


def listeners(pids: Iterable[int]) -> list[Listener]:
    """The listening TCP sockets held by ``pids``, sorted by port."""
    sockets = listening_sockets()
    found: list[Listener] = []
    for pid in pids:
        for inode in _socket_inodes(pid):
            if inode in sockets:
                address, port = sockets[inode]
                found.append(Listener(pid=pid, address=address, port=port))
    return sorted(found, key=lambda item: (item.port, item.pid))


def port_listening(port: int) -> bool:
    """Whether any process on the machine listens on TCP ``port``."""
    return any(listen_port == port for _, listen_port in listening_sockets().values())


def listeners_on(ports: set[int]) -> list[Listener]:
    """Who listens on ``ports``, whatever process it is (the machine may be shared: a freed port can be
    taken by someone else's server a moment later)."""
    pids = [int(entry.name) for entry in _PROC.iterdir() if entry.name.isdigit()]
    return [item for item in listeners(pids) if item.port in ports]


def wait_gone(processes: dict[int, Path], timeout: float = 15.0) -> list[int]:
    """Wait for the given pid → binary processes (known to be ours) to exit; SIGKILL any left after ``timeout``.

    Only pids whose executable is still the recorded binary are signalled, so a reused pid is never
    touched. Returns the pids that had to be killed.
    """

    def wait(seconds: float) -> bool:
        deadline = time.monotonic() + seconds
        while not all(is_gone(pid) for pid in processes):
            if time.monotonic() > deadline:
                return False
            time.sleep(0.1)
        return True

    if wait(timeout):
        return []
    killed = []
    for pid, binary in processes.items():
        if is_alive(pid, binary):
            try:
                os.kill(pid, signal.SIGKILL)
                killed.append(pid)
            except ProcessLookupError:
                continue
    wait(5.0)
    return killed


def terminate(processes: dict[int, Path], timeout: float) -> list[int]:
    """SIGTERM the given pid → binary processes (ours), SIGKILL what is left after ``timeout``; the pids
    that survived even that (the caller reports them: a survivor is an error, not a shrug)."""
    for pid in processes:
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            continue
    wait_gone(processes, timeout=timeout)
    return [pid for pid in processes if not is_gone(pid)]


def cmdline(pid: int) -> str:
    """The process's argv joined by spaces, or "" when it cannot be read (to tell our process from a
    reused pid running the same executable, such as Python)."""
    try:
        return (_PROC / str(pid) / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
    except OSError:
        return ""
