"""Reading an Istio release's ``samples/addons``: the manifests people ``kubectl apply -f``, grouped per addon.

The addons are fully rendered YAML with fixed names, all in ``istio-system`` (see the reference
SERVICES.md files). Each known file is one addon; ``extras/prometheus-operator.yaml`` is its own addon
(``prometheus-operator-monitors``) because its PodMonitor/ServiceMonitor need the monitoring.coreos.com
CRDs, which a cluster without a Prometheus Operator does not have (seed 001 hit exactly that error).
Files meshcharts does not know (loki.yaml, extras/skywalking.yaml ...) are listed as skipped rather than
guessed at.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from meshcharts.charts.chartwriter import GeneratorError


@dataclass(frozen=True)
class AddonKind:
    """A known addon: its name, values key, source file and whether it is on by default."""

    name: str
    values_key: str
    file: str  # relative to samples/addons
    default_enabled: bool
    description: str


KNOWN_ADDONS: tuple[AddonKind, ...] = (
    AddonKind("kiali", "kiali", "kiali.yaml", True, "Kiali, the mesh console"),
    AddonKind("jaeger", "jaeger", "jaeger.yaml", True, "Jaeger all-in-one with the tracing, zipkin and jaeger-collector Services"),
    AddonKind("prometheus", "prometheus", "prometheus.yaml", True, "A single Prometheus configured to scrape Istio"),
    AddonKind("grafana", "grafana", "grafana.yaml", True, "Grafana with Istio's dashboards"),
    AddonKind("zipkin", "zipkin", "extras/zipkin.yaml", False, "Zipkin instead of Jaeger (its tracing and zipkin Services clash with Jaeger's)"),
    AddonKind(
        "prometheus-operator-monitors",
        "prometheusOperatorMonitors",
        "extras/prometheus-operator.yaml",
        False,
        "Istio's sample PodMonitor and ServiceMonitor (need the monitoring.coreos.com CRDs)",
    ),
)

# Kinds whose objects have no namespace; everything else is namespaced (the addons hold nothing exotic).
CLUSTER_SCOPED_KINDS = frozenset(
    {
        "APIService",
        "CSIDriver",
        "ClusterRole",
        "ClusterRoleBinding",
        "CustomResourceDefinition",
        "IngressClass",
        "MutatingWebhookConfiguration",
        "Namespace",
        "PersistentVolume",
        "PodSecurityPolicy",
        "PriorityClass",
        "RuntimeClass",
        "StorageClass",
        "ValidatingWebhookConfiguration",
    }
)

_VERSION_IN_PATH = re.compile(r"^(?:istio-)?(\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?)$")


class _PlainLoader(yaml.SafeLoader):
    """SafeLoader without timestamp resolution: a date-like string in a manifest stays the string it was."""


_PlainLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def load_yaml_documents(text: str) -> list[Any]:
    """All documents of a YAML stream, timestamps left as strings."""
    return list(yaml.load_all(text, Loader=_PlainLoader))  # noqa: S506 - a SafeLoader subclass


def load_yaml(text: str) -> Any:
    """One YAML document, timestamps left as strings."""
    return yaml.load(text, Loader=_PlainLoader)  # noqa: S506 - a SafeLoader subclass


@dataclass(frozen=True)
class ManifestObject:
    """One Kubernetes object of an addon, as parsed."""

    kind: str
    api_version: str
    name: str
    namespace: str | None
    body: dict[str, Any]

    @property
    def cluster_scoped(self) -> bool:
        return self.kind in CLUSTER_SCOPED_KINDS

    @property
    def identity(self) -> tuple[str, str]:
        return (self.kind, self.name)


@dataclass(frozen=True)
class Addon:
    """The objects one addon file creates."""

    kind: AddonKind
    objects: tuple[ManifestObject, ...]

    @property
    def name(self) -> str:
        return self.kind.name

    def services(self) -> list[ManifestObject]:
        return [obj for obj in self.objects if obj.kind == "Service"]


@dataclass(frozen=True)
class AddonSource:
    """Everything read from one ``samples/addons`` directory."""

    root: Path
    addons: dict[str, Addon]
    source_namespace: str
    istio_version: str | None
    skipped: tuple[str, ...]


def find_addons_dir(path: str | Path) -> Path:
    """The ``samples/addons`` directory for ``path``: an Istio release directory or that folder itself."""
    candidate = Path(path).expanduser()
    nested = candidate / "samples" / "addons"
    if nested.is_dir():
        return nested
    if candidate.is_dir() and any((candidate / kind.file).is_file() for kind in KNOWN_ADDONS):
        return candidate
    raise GeneratorError(
        [("source", f"{path} is neither an Istio release directory (with samples/addons) nor an addons directory holding {', '.join(k.file for k in KNOWN_ADDONS)}")]
    )


def _istio_version(addons_dir: Path) -> str | None:
    """The Istio version from the directory names (istio-1.13.9/samples/addons, or a folder named 1.13.9)."""
    for part in reversed(addons_dir.resolve().parts):
        match = _VERSION_IN_PATH.match(part)
        if match:
            return match.group(1)
    return None


def _objects_in(path: Path, relative: str) -> list[ManifestObject]:
    try:
        documents = load_yaml_documents(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise GeneratorError([("source", f"cannot read {relative}: {exc}")]) from exc
    except yaml.YAMLError as exc:
        raise GeneratorError([("source", f"{relative} is not valid YAML: {exc}")]) from exc
    found: list[ManifestObject] = []
    for index, document in enumerate(documents):
        if document is None:
            continue
        items = document.get("items") if isinstance(document, dict) and document.get("kind") == "List" else [document]
        for item in items or []:
            found.append(_manifest_object(item, f"{relative} document {index + 1}"))
    return found


def _manifest_object(item: Any, where: str) -> ManifestObject:
    if not isinstance(item, dict) or not item.get("kind") or not isinstance(item.get("metadata"), dict):
        raise GeneratorError([("source", f"{where} is not a Kubernetes object (kind and metadata are required)")])
    metadata = item["metadata"]
    name = metadata.get("name")
    if not isinstance(name, str) or not name:
        raise GeneratorError([("source", f"{where}: a {item['kind']} without metadata.name")])
    namespace = metadata.get("namespace")
    return ManifestObject(str(item["kind"]), str(item.get("apiVersion", "")), name, str(namespace) if namespace else None, item)


def load_addons(path: str | Path) -> AddonSource:
    """Parse the known addon files under ``path`` (see :func:`find_addons_dir`), grouped per addon."""
    addons_dir = find_addons_dir(path)
    addons: dict[str, Addon] = {}
    for kind in KNOWN_ADDONS:
        file = addons_dir / kind.file
        if file.is_file():
            addons[kind.name] = Addon(kind, tuple(_objects_in(file, kind.file)))
    known = {kind.file for kind in KNOWN_ADDONS}
    skipped = tuple(
        sorted(
            rel
            for rel in (p.relative_to(addons_dir).as_posix() for p in addons_dir.rglob("*") if p.suffix in (".yaml", ".yml"))
            if rel not in known
        )
    )
    namespaces = Counter(obj.namespace for addon in addons.values() for obj in addon.objects if obj.namespace)
    source_namespace = namespaces.most_common(1)[0][0] if namespaces else "istio-system"
    return AddonSource(addons_dir, addons, source_namespace, _istio_version(addons_dir), skipped)


__all__ = [
    "Addon",
    "AddonKind",
    "AddonSource",
    "CLUSTER_SCOPED_KINDS",
    "KNOWN_ADDONS",
    "ManifestObject",
    "find_addons_dir",
    "load_addons",
    "load_yaml",
    "load_yaml_documents",
]
