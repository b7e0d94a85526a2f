"""Which helm binary meshcharts runs: an explicit one, the checkout's pinned one, PATH's, or the cache's.

Kept apart from the runner so that finding helm (a question ``scripts`` and tests ask too) needs no
pyhelm3 and no event loop.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import semver

from meshcharts.core.diagnostics import ConfigError, Diagnostic

#: Environment variable naming the helm binary to use; wins over everything else.
HELM_ENV = "MESHCHARTS_HELM"

#: Environment variable naming the helm version to pick among installed ones (``3.22.0``, ``4.3.1``).
HELM_VERSION_ENV = "MESHCHARTS_HELM_VERSION"

#: The package's parent folder: a source checkout's root (where ``.ci/install-helm`` links
#: ``.tools/helm/<version>/helm``) when meshcharts runs from one, ``site-packages`` in a wheel install.
PACKAGE_PARENT = Path(__file__).resolve().parent.parent.parent



def _version_key(directory: Path) -> semver.Version | None:
    try:
        return semver.Version.parse(directory.name.removeprefix("v"))
    except ValueError:
        return None


def _is_executable(path: Path) -> bool:
    return path.is_file() and os.access(path, os.X_OK)


def source_checkout(folder: Path = PACKAGE_PARENT) -> Path | None:
    """``folder`` when it is meshcharts' own source tree (never ``site-packages`` of a wheel install)."""
    marker = folder / "pyproject.toml"
    try:
        return folder if marker.is_file() and 'name = "meshcharts"' in marker.read_text(encoding="utf-8") else None
    except OSError:
        return None


def helm_cache_dir() -> Path:
    """Where ``.ci/install-helm`` keeps its binaries, shared by every clone on the machine."""
    explicit = os.environ.get("MESHCHARTS_CACHE")
    if explicit:
        return Path(explicit) / "helm"
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "meshcharts" / "helm"


def _installed(folder: Path, wanted: str | None) -> Path | None:
    """``folder/<version>/helm``: exactly ``wanted``, else the newest helm 3, else the newest."""
    if not folder.is_dir():
        return None
    found = sorted(((key, d / "helm") for d in folder.iterdir() if (key := _version_key(d)) is not None), reverse=True)
    found = [(key, binary) for key, binary in found if _is_executable(binary)]
    if wanted:
        return next((binary for key, binary in found if str(key) == wanted.removeprefix("v")), None)
    helm3 = [binary for key, binary in found if key.major == 3]
    everything = helm3 or [binary for _, binary in found]
    return everything[0] if everything else None


def find_helm(repo_root: Path | None = None) -> Path:
    """The helm binary to run, first found of:

    1. ``$MESHCHARTS_HELM``;
    2. in a source checkout, ``.tools/helm/<version>/helm`` (the helm the tests and CI pin);
    3. ``helm`` on PATH;
    4. the shared cache ``.ci/install-helm`` fills (``~/.cache/meshcharts/helm/<version>/helm``).

    Among installed versions (2 and 4), ``$MESHCHARTS_HELM_VERSION`` picks one exactly; otherwise the
    newest helm 3 wins (helm 4 changed flags and is used when asked for). Raises :class:`ConfigError`
    (rule ``helm.not-found``).
    """
    explicit = os.environ.get(HELM_ENV)
    if explicit:
        path = Path(explicit).expanduser()
        if _is_executable(path):
            return path
        raise ConfigError(
            Diagnostic(
                message=f"{HELM_ENV}={explicit} is not an executable file",
                rule="helm.not-found",
                hint=f"point {HELM_ENV} at a helm binary, or unset it and run .ci/install-helm",
            )
        )
    wanted = os.environ.get(HELM_VERSION_ENV) or None
    checkout = repo_root or source_checkout()
    tools = checkout / ".tools" / "helm" if checkout else None
    local = _installed(tools, wanted) if tools else None
    if local:
        return local
    on_path = shutil.which("helm")
    if on_path and not wanted:
        return Path(on_path)
    cached = _installed(helm_cache_dir(), wanted)
    if cached:
        return cached
    looked = ", ".join(str(place) for place in (tools, "PATH" if not wanted else None, helm_cache_dir()) if place)
    version = f"helm {wanted}" if wanted else "helm"
    raise ConfigError(
        Diagnostic(
            message=f"{version} not found (looked at ${HELM_ENV}, {looked})",
            rule="helm.not-found",
            hint=f"run .ci/install-helm {wanted or ''}".rstrip() + ", or set MESHCHARTS_HELM to a helm 3.10+ binary",
        )
    )
