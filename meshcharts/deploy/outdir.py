"""The folder ``render`` writes into, kept safe: render writes and deletes only its own output.

A stack is often a git checkout that anyone with a pull request can shape, and render runs in CI with
the runner's rights. So:

- the output folder (``charts-out/`` or ``--out``) and every folder above it inside the stack must
  resolve inside the stack; an ``--out`` outside the stack is the user's own choice and is followed,
  but nothing below it may lead out of it;
- each ``<cluster>/`` render writes holds a marker file, and render replaces (deletes) a cluster
  folder only when the marker is in it: a folder or a link it did not write is refused, never touched;
- a cluster folder is built aside (``.<cluster>.xxxxxxxx/``, marked first) and swapped in with two
  renames, rolled back if the second fails; leftovers of a render killed half-way are removed (or, for
  a swap killed between its renames, put back) by the next render, which holds a lock on the folder
  so that it never takes a running render's work for a leftover.
"""

from __future__ import annotations

import fcntl
import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

from meshcharts.core.fs import (
    is_within,
    os_error,
    os_errors,
    refusal,
    require_folder_path,
    resolved,
)

OUTPUT_DIR = "charts-out"
MARKER = ".meshcharts-render"
MARKER_TEXT = "meshcharts render output\n"
_MARKER_BODY = (
    MARKER_TEXT + "# render replaces this folder whole on every run and deletes a folder only when this file is in it.\n"
    "# Edit the stack's values layers, not the files here.\n"
)
_LEFTOVER = re.compile(r"^\.(?P<cluster>[a-z0-9]([-a-z0-9]*[a-z0-9])?)\.(?P<kind>[a-z0-9_]{8}|old)$")
ELSEWHERE = "--out DIR"


def output_folder(stack_root: Path, named: Path | None, command: str = "render") -> Path:
    """The folder to write into, resolved, checked and created (``named`` is ``--out``, if given).

    ``command`` names who writes (render, export) in the refusals."""
    lexical = stack_root / OUTPUT_DIR if named is None else Path(os.path.abspath(named))
    boundary = stack_root if is_within(lexical, stack_root) else lexical
    target = resolved(lexical)
    if not is_within(target, resolved(boundary)):
        link = _first_link(boundary, lexical)
        raise refusal(
            link,
            f"is a link to {resolved(link)}, outside the stack folder {stack_root}; {command} writes only inside the stack: "
            f"remove the link or pass {ELSEWHERE}",
            "render.outside-stack",
        )
    require_folder_path(lexical, f"move it away or pass {ELSEWHERE}")
    with os_errors("create the folder", lexical, writing=True, elsewhere=ELSEWHERE):
        target.mkdir(parents=True, exist_ok=True)
    return target


def _first_link(boundary: Path, lexical: Path) -> Path:
    """The first path from ``boundary`` down to ``lexical`` that is a link (the one that leads out)."""
    for candidate in [*reversed(lexical.parents), lexical]:
        if is_within(candidate, boundary) and candidate != boundary and candidate.is_symlink():
            return candidate
    return lexical


@contextmanager
def locked(folder: Path) -> Iterator[None]:
    """Hold an exclusive lock on the output folder: a second render waits instead of interleaving."""
    with os_errors("lock the folder", folder, writing=True, elsewhere=ELSEWHERE):
        handle = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield
    finally:
        os.close(handle)


def is_ours(folder: Path) -> bool:
    """Whether render wrote this folder: a real folder holding a real marker file that says so."""
    marker = folder / MARKER
    try:
        if folder.is_symlink() or not folder.is_dir() or marker.is_symlink() or not marker.is_file():
            return False
        with marker.open("rb") as handle:
            return handle.read(len(MARKER_TEXT)) == MARKER_TEXT.encode()
    except OSError:
        return False


def clean_leftovers(folder: Path) -> None:
    """Remove what killed renders left behind (ours only); put back an output a killed swap moved aside."""
    with os_errors("clean up leftovers in", folder, writing=True, elsewhere=ELSEWHERE):
        entries = sorted(folder.iterdir())
    for entry in entries:
        match = _LEFTOVER.match(entry.name)
        if match is None or entry.is_symlink() or not entry.is_dir():
            continue
        with os_errors("clean up the leftover", entry, writing=True, elsewhere=ELSEWHERE):
            if not is_ours(entry):
                with suppress(OSError):  # a staging folder killed before its marker was written is empty
                    entry.rmdir()
                continue
            final = folder / match["cluster"]
            if match["kind"] == "old" and not os.path.lexists(final):
                os.replace(entry, final)
            else:
                shutil.rmtree(entry)


def check_replaceable(final: Path, command: str = "render") -> None:
    """Refuse to replace a folder meshcharts did not write (a link, a file, someone's folder)."""
    with os_errors("read", final):
        if final.is_symlink():
            raise refusal(final, f"is a link; {command} writes a real folder here and never follows or deletes links: remove the link", "render.link")
        if not final.exists():
            return
        if not final.is_dir():
            raise refusal(final, f"is a file where {command} writes its folder; move it away", "render.not-a-folder")
    if not is_ours(final):
        raise refusal(
            final,
            f"exists and was not written by meshcharts {command} (it has no {MARKER} file), so {command} will not delete it: "
            f"move it away or pass {ELSEWHERE}",
            "render.not-ours",
        )


def new_staging(folder: Path, cluster: str) -> Path:
    """A fresh, marked folder beside the cluster's, to build its output in."""
    with os_errors("write", folder, writing=True, elsewhere=ELSEWHERE):
        staging = Path(tempfile.mkdtemp(prefix=f".{cluster}.", dir=folder))
        try:
            staging.chmod(0o755)  # mkdtemp's 0700 would hide the output from other readers (CI, GitOps)
            (staging / MARKER).write_text(_MARKER_BODY, encoding="utf-8")
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
    return staging


def swap(staging: Path, final: Path) -> None:
    """Replace ``final`` with ``staging`` in two renames; if the second fails, the first is undone."""
    old = final.with_name(f".{final.name}.old")
    moved = False
    try:
        if final.exists():
            os.replace(final, old)
            moved = True
        os.replace(staging, final)
    except BaseException as exc:
        if moved:
            with suppress(OSError):  # if even this fails, the next render puts .<cluster>.old back
                os.replace(old, final)
        if isinstance(exc, OSError):
            raise os_error(exc, "replace the folder", final, writing=True, elsewhere=ELSEWHERE) from None
        raise
    if moved:
        shutil.rmtree(old, ignore_errors=True)  # what stays is a marked leftover the next render removes


__all__ = ["MARKER", "MARKER_TEXT", "OUTPUT_DIR", "check_replaceable", "clean_leftovers", "is_ours", "locked", "new_staging", "output_folder", "swap"]
