"""Where each release's chart comes from, and the digest that proves it is the chart that was pinned.

A component's chart is one of: a chart in a repository (name + pinned version, ``repo:`` an https URL),
an ``oci://`` reference, a local directory, a local ``.tgz``, or a chart meshcharts generates
(mesh-extras, istio-addons) into ``charts-out/<cluster>/``. ``meshcharts pull`` copies every repository
and OCI chart into a content-addressed cache and records its sha256 in ``meshcharts.lock`` beside the
stack; ``apply`` installs only a cached archive whose digest matches the lock, so it never fetches a
chart nobody recorded, and a chart that changed upstream under the same version is refused.

Offline, ``$MESHCHARTS_CHARTS`` names a directory of ``<chart>-<version>.tgz`` files that ``pull``
searches before any repository (the sandbox demo and the tests use meshcharts' own stand-in charts
from there: nothing reaches a chart repository).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import yaml

from meshcharts.core.diagnostics import ConfigError, Diagnostic, Location

LOCK_FILE = "meshcharts.lock"
CHARTS_ENV = "MESHCHARTS_CHARTS"


@dataclass(frozen=True)
class ChartRequest:
    """What a release asks for: chart name (or path / oci:// reference), version, repository."""

    chart: str
    version: str
    repo: str

    @property
    def is_remote(self) -> bool:
        """A chart that must be pulled (repository or OCI) rather than read from disk."""
        return self.chart.startswith("oci://") or not (is_local_reference(self.chart))

    @property
    def name(self) -> str:
        """The chart's own name: the last path segment of an OCI or local reference."""
        tail = self.chart.rstrip("/").rsplit("/", 1)[-1]
        return tail.removesuffix(".tgz")

    @property
    def key(self) -> str:
        return f"{self.repo or '-'} {self.chart} {self.version}"


@dataclass(frozen=True)
class LockedChart:
    """One entry of ``meshcharts.lock``: the archive ``pull`` recorded for a request."""

    request: ChartRequest
    digest: str  # sha256 of the .tgz
    source: str  # where pull found it: a repository URL, oci://..., or the offline directory

    def as_yaml(self) -> dict[str, str]:
        return {
            "chart": self.request.chart,
            "version": self.request.version,
            "repo": self.request.repo,
            "digest": f"sha256:{self.digest}",
            "source": self.source,
        }


@dataclass(frozen=True)
class ResolvedChart:
    """A chart ready for helm: a local path, and the digest the ledger and the live record carry."""

    path: Path
    digest: str
    origin: str  # "generated", "local", "cache"


def is_local_reference(chart: str) -> bool:
    """``./dir``, ``/abs``, ``x.tgz``: a chart on disk, relative to the stack folder."""
    return chart.startswith((".", "/")) or chart.endswith(".tgz")


def cache_dir() -> Path:
    """The content-addressed chart cache, shared by every stack on the machine."""
    explicit = os.environ.get("MESHCHARTS_CACHE")
    base = Path(explicit) if explicit else Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "meshcharts"
    return base / "charts"


def file_digest(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def tree_digest(folder: Path) -> str:
    """A digest of a chart directory: every file's relative path and bytes, in a stable order."""
    digest = hashlib.sha256()
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        relative = path.relative_to(folder).as_posix().encode()
        digest.update(len(relative).to_bytes(4, "big") + relative)
        digest.update(file_digest(path).encode())
    return digest.hexdigest()


def offline_dirs() -> list[Path]:
    """``$MESHCHARTS_CHARTS`` (``os.pathsep``-separated) as directories."""
    return [Path(part).expanduser() for part in os.environ.get(CHARTS_ENV, "").split(os.pathsep) if part]


def find_offline(request: ChartRequest, stack_folders: tuple[Path, ...] = ()) -> Path | None:
    """``<chart>-<version>.tgz`` in ``$MESHCHARTS_CHARTS``, then the stack file's ``charts:`` folders; first match wins."""
    file_name = f"{request.name}-{request.version}.tgz"
    for folder in (*offline_dirs(), *stack_folders):
        candidate = folder / file_name
        if candidate.is_file():
            return candidate
    return None


# --- the lock file ---


def read_lock(stack_root: Path) -> dict[str, LockedChart]:
    """``meshcharts.lock`` by request key; a missing file is an empty lock, a broken one a config error."""
    path = stack_root / LOCK_FILE
    if not path.exists():
        return {}
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        entries = document.get("charts") or []
        locked = {}
        for entry in entries:
            request = ChartRequest(str(entry["chart"]), str(entry["version"]), str(entry.get("repo") or ""))
            digest = str(entry["digest"]).removeprefix("sha256:")
            locked[request.key] = LockedChart(request, digest, str(entry.get("source") or ""))
        return locked
    except (OSError, yaml.YAMLError, AttributeError, KeyError, TypeError) as exc:
        raise ConfigError(
            Diagnostic(
                message=f"{LOCK_FILE} cannot be read ({type(exc).__name__}: {exc}); run meshcharts pull to write it anew",
                rule="pull.bad-lock",
                location=Location(str(path)),
            )
        ) from None


def write_lock(stack_root: Path, entries: Iterable[LockedChart]) -> Path:
    """Write ``meshcharts.lock`` atomically (a temp file beside it, then a rename), sorted for stable diffs."""
    path = stack_root / LOCK_FILE
    ordered = sorted(entries, key=lambda entry: entry.request.key)
    text = "# Written by meshcharts pull: the charts apply may install, with their sha256. Commit it.\n"
    text += yaml.safe_dump({"charts": [entry.as_yaml() for entry in ordered]}, sort_keys=False)
    handle, temporary = tempfile.mkstemp(prefix=f".{LOCK_FILE}.", dir=stack_root)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(text)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return path


def store_in_cache(archive: Path) -> tuple[Path, str]:
    """Copy an archive into the cache under its digest; return (cached path, digest)."""
    digest = file_digest(archive)
    target = cache_dir() / f"{digest}.tgz"
    if not target.is_file():
        target.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(prefix=".pull.", dir=target.parent)
        os.close(handle)
        try:
            shutil.copyfile(archive, temporary)
            os.replace(temporary, target)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
    return target, digest


def cached_archive(locked: LockedChart) -> Path | None:
    """The cached archive for a lock entry, only if its bytes still have the recorded digest."""
    path = cache_dir() / f"{locked.digest}.tgz"
    if path.is_file() and file_digest(path) == locked.digest:
        return path
    return None
