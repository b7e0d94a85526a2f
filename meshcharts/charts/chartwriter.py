"""Writing a generated chart to disk: deterministic bytes, a content-derived version, all or nothing.

Both generated component types (``mesh-extras``, ``istio-addons``) describe their chart as a
:class:`ChartSpec` and hand it to :func:`write_chart`. Everything that could make two runs differ is
pinned here, because ``plan`` and the ledger compare charts by version and digest, and a chart whose
bytes change on every run would show as "changed" forever:

* YAML is dumped with sorted keys (values, schema) and ``\\n`` line endings; files are written in
  sorted order; nothing carries a timestamp, a host path or a random name.
* ``Chart.yaml``'s ``version`` is ``<base>+<first 12 hex of the digest>``. SemVer build metadata is
  what Helm accepts (``helm lint --strict`` passes) and it does not change version precedence, so the
  base still says which values format the chart reads. ``helm.sh/chart`` labels must swap ``+`` for
  ``_`` (labels may not contain ``+``); the templates do.
* The digest covers the templates, the values schema, the packaged files and the chart's *defaults*,
  not ``values.yaml``: a values change is a values change, not a new chart.
* The chart is built in a temporary sibling directory and renamed into place, so a failure never
  leaves a half-written chart where ``helm`` would pick it up.
"""

from __future__ import annotations

import copy
import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

import semver
import yaml

from meshcharts import __version__
from meshcharts.core.versions import parse_chart_version

CHART_API_VERSION = "v2"
DIGEST_ANNOTATION = "meshcharts.dev/digest"
GENERATOR_ANNOTATION = "meshcharts.dev/generated-by"
HELM_SCHEMA_DRAFT = "http://json-schema.org/draft-07/schema#"


class GeneratorError(ValueError):
    """The values or the source a chart is generated from are wrong; ``problems`` lists each finding.

    Each problem is ``(dotted.key.path, message)`` so callers can turn them into diagnostics with
    the file and line that set the key.
    """

    def __init__(self, problems: list[tuple[str, str]]) -> None:
        self.problems = list(problems)
        super().__init__("; ".join(f"{path}: {message}" if path else message for path, message in self.problems))


@dataclass(frozen=True)
class ChartSpec:
    """Everything a generated chart consists of, before it is written.

    ``files`` maps chart-relative POSIX paths (``templates/x.yaml``, ``dashboards/y.json``,
    ``crds/z.yaml``) to their text. ``defaults`` are the values the generator derives (from the
    Istio manifests, say); ``values`` the values the caller gives, merged over them the Helm way
    into ``values.yaml``. ``values_schema`` becomes ``values.schema.json`` (draft-07, the dialect
    Helm 3's validator implements).
    """

    name: str
    description: str
    base_version: str
    files: Mapping[str, str]
    defaults: Mapping[str, Any]
    values: Mapping[str, Any]
    values_schema: Mapping[str, Any]
    app_version: str | None = None
    keywords: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class GeneratedChart:
    """A chart on disk: where, its name and content-derived version, the full digest and its files."""

    path: Path
    name: str
    version: str
    digest: str
    files: tuple[str, ...]
    notes: tuple[str, ...] = field(default=())


# --- values -----------------------------------------------------------------------------------------


def merge_values(base: Mapping[str, Any], overlay: Mapping[str, Any] | None) -> dict[str, Any]:
    """Merge ``overlay`` over ``base`` the way Helm coalesces values: maps merge, lists and scalars
    replace, ``None`` deletes the key. Inputs are not modified."""
    result: dict[str, Any] = copy.deepcopy(dict(base))
    for key, value in (overlay or {}).items():
        if value is None:
            result.pop(key, None)
        elif isinstance(value, Mapping) and isinstance(result.get(key), Mapping):
            result[key] = merge_values(result[key], value)
        else:
            result[key] = _drop_nulls(copy.deepcopy(value))
    return result


def _drop_nulls(value: Any) -> Any:
    """A value set where nothing was below it: its nested ``None`` keys delete nothing, so drop them."""
    if isinstance(value, Mapping):
        return {key: _drop_nulls(item) for key, item in value.items() if item is not None}
    if isinstance(value, list):
        return [_drop_nulls(item) for item in value]
    return value


# --- serialisation ----------------------------------------------------------------------------------


class _BlockDumper(yaml.SafeDumper):
    """SafeDumper that writes multi-line strings as ``|`` blocks (readable ConfigMaps) and indents
    block sequences under their key, as ``kubectl`` and most charts do."""

    def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:  # noqa: D102
        super().increase_indent(flow, False)


def _str_representer(dumper: yaml.SafeDumper, data: str) -> yaml.ScalarNode:
    if "\n" in data:
        return dumper.represent_scalar("tag:yaml.org,2002:str", data, style="|")
    return dumper.represent_scalar("tag:yaml.org,2002:str", data)


_BlockDumper.add_representer(str, _str_representer)


def dump_yaml(data: Any, *, sort_keys: bool = True) -> str:
    """YAML text for ``data``, stable across runs; ``sort_keys=False`` keeps the given key order
    (used for Kubernetes objects, whose upstream order reads better)."""
    try:
        return yaml.dump(
            data,
            Dumper=_BlockDumper,
            sort_keys=sort_keys,
            default_flow_style=False,
            allow_unicode=True,
            width=100000,
        )
    except yaml.representer.RepresenterError as exc:
        raise GeneratorError([("", f"values hold something that is not plain YAML data: {exc}")]) from exc


def dump_json(data: Any) -> str:
    """Canonical JSON text (sorted keys, two-space indent, trailing newline)."""
    return json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


# --- version and digest -----------------------------------------------------------------------------


def content_digest(spec: ChartSpec) -> str:
    """SHA-256 over what makes the chart behave: metadata, files, schema and generator defaults.

    Each part is length-prefixed so no two different charts can produce the same byte stream.
    """
    hasher = hashlib.sha256()

    def feed(label: str, text: str) -> None:
        data = text.encode("utf-8")
        hasher.update(f"{label}\0{len(data)}\0".encode())
        hasher.update(data)

    feed("name", spec.name)
    feed("description", spec.description)
    feed("appVersion", spec.app_version or "")
    for path in sorted(spec.files):
        feed(f"file:{path}", spec.files[path])
    feed("values.schema.json", dump_json(spec.values_schema))
    feed("defaults", dump_json(spec.defaults))
    return hasher.hexdigest()


def chart_version(base_version: str, digest: str) -> str:
    """``<base>+<12 hex>``; any build metadata already on ``base_version`` is replaced."""
    parsed: semver.Version = parse_chart_version(base_version)
    return str(parsed.replace(build=digest[:12]))


def _chart_yaml(spec: ChartSpec, version: str, digest: str) -> str:
    chart: dict[str, Any] = {
        "apiVersion": CHART_API_VERSION,
        "name": spec.name,
        "description": spec.description,
        "type": "application",
        "version": version,
        "annotations": {DIGEST_ANNOTATION: digest, GENERATOR_ANNOTATION: f"meshcharts {__version__}"},
    }
    if spec.app_version:
        chart["appVersion"] = spec.app_version
    if spec.keywords:
        chart["keywords"] = list(spec.keywords)
    return dump_yaml(chart)


def render_files(spec: ChartSpec) -> tuple[dict[str, str], str, str]:
    """Every file of the chart as text, with the version and digest: what :func:`write_chart` writes."""
    for path in spec.files:
        pure = PurePosixPath(path)
        if pure.is_absolute() or ".." in pure.parts or path in ("Chart.yaml", "values.yaml", "values.schema.json"):
            raise GeneratorError([("", f"generated file path {path!r} is not a plain chart-relative path")])
    digest = content_digest(spec)
    version = chart_version(spec.base_version, digest)
    schema = dict(spec.values_schema)
    schema.setdefault("$schema", HELM_SCHEMA_DRAFT)
    values = merge_values(spec.defaults, spec.values)
    texts = dict(spec.files)
    texts["Chart.yaml"] = _chart_yaml(spec, version, digest)
    texts["values.yaml"] = dump_yaml(values) if values else "{}\n"
    texts["values.schema.json"] = dump_json(schema)
    return dict(sorted(texts.items())), version, digest


# --- writing ----------------------------------------------------------------------------------------


def write_chart(spec: ChartSpec, out_dir: str | os.PathLike[str], *, dir_name: str | None = None) -> GeneratedChart:
    """Write the chart to ``out_dir/<dir_name or spec.name>`` atomically and return what was written.

    When the directory already holds exactly these files it is left untouched (mtimes too), so a
    re-run is a no-op. Otherwise the new chart is built next to it and swapped in with renames; the
    old one is removed only after the new one is in place.
    """
    texts, version, digest = render_files(spec)
    parent = Path(out_dir)
    parent.mkdir(parents=True, exist_ok=True)
    dest = parent / (dir_name or spec.name)
    result = GeneratedChart(dest, spec.name, version, digest, tuple(texts), tuple(spec.notes))
    if _same_content(dest, texts):
        return result
    staging = Path(tempfile.mkdtemp(prefix=f".{dest.name}.new-", dir=parent))
    try:
        os.chmod(staging, 0o755)
        for rel, text in texts.items():
            target = staging / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            with open(target, "w", encoding="utf-8", newline="\n") as handle:
                handle.write(text)
            os.chmod(target, 0o644)
        _swap_into_place(staging, dest, parent, dest.name)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return result


def _swap_into_place(staging: Path, dest: Path, parent: Path, name: str) -> None:
    if not dest.exists():
        os.rename(staging, dest)
        return
    retired = Path(tempfile.mkdtemp(prefix=f".{name}.old-", dir=parent))
    os.rmdir(retired)
    os.rename(dest, retired)
    try:
        os.rename(staging, dest)
    except BaseException:
        os.rename(retired, dest)
        raise
    shutil.rmtree(retired, ignore_errors=True)


def _same_content(dest: Path, texts: Mapping[str, str]) -> bool:
    if not dest.is_dir():
        return False
    present = sorted(p.relative_to(dest).as_posix() for p in dest.rglob("*") if p.is_file())
    if present != sorted(texts):
        return False
    return all((dest / rel).read_text(encoding="utf-8") == text for rel, text in texts.items())
