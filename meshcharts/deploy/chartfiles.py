"""What a chart says of itself before it renders: its ``kubeVersion`` constraint and the CRDs of its crds/ folders.

helm checks the first against the cluster and installs the second before any template. Both are read
from a chart folder or a packaged ``.tgz`` without extracting it: only regular files inside the chart's
own folder are read, each at most :data:`MAX_FILE` bytes, so a hostile archive cannot write anywhere or
fill the memory. As helm does (``Chart.CRDObjects``), subcharts' crds/ folders count too, in
``charts/<name>/`` folders or ``charts/<name>.tgz`` archives. helm leaves out a subchart its
``condition`` turns off; here its CRDs still count, which can hide a missing kind but never invents one.
"""

from __future__ import annotations

import io
import tarfile
from pathlib import Path
from typing import Any

import yaml

from meshcharts.core.diagnostics import Diagnostic, InvalidInput, Location

MAX_FILE = 32 * 1024 * 1024
_MANIFEST_SUFFIXES = (".yaml", ".yml", ".json")
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
RULE = "preflight.chart"


def chart_metadata(chart_path: Path) -> dict[str, Any]:
    """The chart's own Chart.yaml, as a mapping (empty when it is not one)."""
    meta = _yaml_one(_read(Path(chart_path)).get("Chart.yaml"), chart_path, "Chart.yaml")
    return meta if isinstance(meta, dict) else {}


def chart_kube_version(chart_path: Path) -> str | None:
    """The ``kubeVersion`` of the chart's Chart.yaml (not its subcharts': helm checks only the chart's own)."""
    value = chart_metadata(chart_path).get("kubeVersion")
    return str(value) if value not in (None, "") else None


def chart_crds(chart_path: Path) -> list[dict[str, Any]]:
    """The objects of the chart's crds/ folder and of its subcharts', in helm's order (the chart's first)."""
    return _crds(_read(Path(chart_path)), Path(chart_path))


def crd_kinds(objects: list[dict[str, Any]]) -> dict[tuple[str, str], bool]:
    """(apiVersion, kind) -> namespaced, for every served version of every CustomResourceDefinition in ``objects``."""
    kinds: dict[tuple[str, str], bool] = {}
    for obj in objects:
        if obj.get("kind") != "CustomResourceDefinition" or not str(obj.get("apiVersion", "")).startswith("apiextensions.k8s.io/"):
            continue
        spec = mapping(obj.get("spec"))
        group, kind = spec.get("group"), mapping(spec.get("names")).get("kind")
        if not isinstance(group, str) or not isinstance(kind, str):
            continue
        versions = [item.get("name") for item in spec.get("versions") or [] if isinstance(item, dict) and item.get("served", True)]
        if spec.get("version"):  # apiextensions.k8s.io/v1beta1's single version
            versions.append(spec["version"])
        for version in versions:
            if isinstance(version, str):
                kinds[(f"{group}/{version}", kind)] = spec.get("scope", "Namespaced") == "Namespaced"
    return kinds


def mapping(value: Any) -> dict[str, Any]:
    """``value`` when it is a mapping, else an empty one: rendered objects are not checked by a schema."""
    return value if isinstance(value, dict) else {}


def _crds(files: dict[str, bytes], where: Path) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    for name in sorted(files):
        if name.startswith("crds/") and name.lower().endswith(_MANIFEST_SUFFIXES):
            found += [doc for doc in _yaml_all(files[name], where, name) if isinstance(doc, dict)]
    subcharts = sorted({name.split("/")[1] for name in files if name.startswith("charts/") and name.count("/") >= 2})
    for sub in subcharts:
        prefix = f"charts/{sub}/"
        found += _crds({name[len(prefix):]: data for name, data in files.items() if name.startswith(prefix)}, where / prefix)
    for name in sorted(files):
        if name.startswith("charts/") and name.count("/") == 1 and name.endswith(".tgz"):
            found += _crds(_from_archive(io.BytesIO(files[name]), where / name), where / name)
    return found


def _wanted(name: str) -> bool:
    return name == "Chart.yaml" or name.startswith(("crds/", "charts/"))


def _read(path: Path) -> dict[str, bytes]:
    """The chart's Chart.yaml, crds/ and charts/ files by their path inside the chart."""
    try:
        if path.is_dir():
            return _from_folder(path)
        with path.open("rb") as handle:
            return _from_archive(handle, path)
    except OSError as exc:
        raise _unreadable(path, exc.strerror or str(exc)) from None


def _from_folder(root: Path) -> dict[str, bytes]:
    files: dict[str, bytes] = {}
    candidates = [root / "Chart.yaml", *(path for folder in ("crds", "charts") for path in (root / folder).rglob("*"))]
    for path in candidates:
        if path.is_file() and _wanted(path.relative_to(root).as_posix()):
            if path.stat().st_size > MAX_FILE:
                raise _unreadable(path, f"larger than {MAX_FILE} bytes")
            files[path.relative_to(root).as_posix()] = path.read_bytes()
    return files


def _from_archive(handle: Any, where: Path) -> dict[str, bytes]:
    """A packaged chart: members under its one top folder, regular files only, never extracted."""
    files: dict[str, bytes] = {}
    try:
        with tarfile.open(fileobj=handle, mode="r:*") as archive:
            for member in archive:
                top, _, name = member.name.removeprefix("./").partition("/")
                if not member.isfile() or top in ("", ".", "..") or not _wanted(name) or ".." in name.split("/"):
                    continue
                if member.size > MAX_FILE:
                    raise _unreadable(where, f"{member.name} is larger than {MAX_FILE} bytes")
                data = archive.extractfile(member)
                if data is not None:
                    files[name] = data.read()
    except (tarfile.TarError, EOFError, ValueError) as exc:
        raise _unreadable(where, f"not a chart archive ({exc})") from None
    return files


def _yaml_one(data: bytes | None, where: Path, name: str) -> Any:
    if data is None:
        raise _unreadable(Path(where), "it has no Chart.yaml")
    docs = _yaml_all(data, Path(where), name)
    return docs[0] if docs else None


def _yaml_all(data: bytes, where: Path, name: str) -> list[Any]:
    try:
        return [doc for doc in yaml.load_all(data, Loader=_LOADER) if doc is not None]
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f" line {mark.line + 1}" if mark is not None else ""
        raise _unreadable(where, f"{name}{line} is not YAML") from None


def _unreadable(path: Path, reason: str) -> InvalidInput:
    return InvalidInput(Diagnostic(message=f"cannot read the chart: {reason}", rule=RULE, location=Location(str(path))))


__all__ = ["MAX_FILE", "RULE", "chart_crds", "chart_kube_version", "crd_kinds", "mapping"]
