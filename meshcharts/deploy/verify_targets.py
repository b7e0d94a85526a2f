"""What ``verify`` checks on one cluster, read from the composed stack alone (no cluster needed).

Per component: every address it was given for another release (Kiali's Prometheus, Grafana and
Jaeger URLs, istiod's zipkin address: the component types' ``needs``), with the file:line that set
it; the CRD kinds its objects need (``required_crds``); the monitors it creates
(ServiceMonitor/PodMonitor); the dashboard ConfigMaps it creates for Grafana's sidecar. The live
half (:mod:`meshcharts.deploy.verify_live`) then asks the cluster about each.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from meshcharts.compose.project import USER_LAYERS, Composition, Project
from meshcharts.core.diagnostics import Location
from meshcharts.core.endpoints import Need, ParsedAddress, parse_address
from meshcharts.core.model import EnvRef, External, Leaf, Stack, dotted
from meshcharts.wiring.engine import build_wiring

MONITOR_KINDS = ("ServiceMonitor", "PodMonitor")
_DERIVED = re.compile(r"^derived from (external|component) (\S+)")


@dataclass(frozen=True)
class AddressTarget:
    """One address a component was given: where it must lead, and who set it."""

    component: str
    consumer_namespace: str
    role: str  # prometheus | grafana | tracing | zipkin ...
    path: str  # the dotted values key
    description: str  # "Kiali's Prometheus"
    shown: str  # the address as shown: userinfo (a password in a URL) left out
    parsed: ParsedAddress
    location: Location | None
    provenance: str  # "values/kiali.yaml:3:5 (values layer)", "derived from external prometheus (...)"
    external: External | None = None  # the stack's external: entry for the same host, if any

    @property
    def namespace(self) -> str:
        """The Service's namespace: the one in the host, else the consumer's own (how a Pod resolves ``svc``)."""
        return self.parsed.namespace or self.consumer_namespace


@dataclass(frozen=True)
class CrdTarget:
    component: str
    group: str
    kind: str
    location: Location | None


@dataclass(frozen=True)
class MonitorSource:
    """A release that creates ServiceMonitors/PodMonitors (found live by helm's release annotations)."""

    component: str
    release: str
    namespace: str
    kinds: tuple[str, ...]
    labels_path: str  # the values key that gives the monitors their labels ("" if none)
    location: Location | None


@dataclass(frozen=True)
class DashboardTarget:
    """A dashboard ConfigMap a release creates for Grafana's dashboard sidecar."""

    component: str
    name: str
    namespace: str
    path: str
    location: Location | None


@dataclass
class ClusterTargets:
    """Everything to verify on one cluster."""

    cluster: str
    addresses: list[AddressTarget] = field(default_factory=list)
    crds: list[CrdTarget] = field(default_factory=list)
    monitors: list[MonitorSource] = field(default_factory=list)
    dashboards: list[DashboardTarget] = field(default_factory=list)
    #: (namespace, Service, port, who says so) of the cluster's Prometheus and Grafana, from the wiring
    #: (used when no address names them: a stack without Kiali still has monitors and dashboards).
    prometheus_services: list[tuple[str, str, int, str]] = field(default_factory=list)
    grafana_services: list[tuple[str, str, int, str]] = field(default_factory=list)


def cluster_targets(project: Project, cluster: str) -> ClusterTargets:
    """The targets of ``cluster`` from its compositions (placeholders for secrets, never their values)."""
    stack = project.stack
    compositions = project.compose_all(cluster)
    targets = ClusterTargets(cluster)
    for composition in compositions:
        if composition.broken:
            continue
        component = composition.component
        values = composition.accepted_values()
        for need in component.type.needs(component, values):
            target = _address(stack, composition, need)
            if target is not None:
                targets.addresses.append(target)
        for group, kinds in sorted(component.type.required_crds(component, values).items()):
            targets.crds.extend(CrdTarget(component.name, group, kind, component.location) for kind in kinds)
        monitor_kinds = tuple(kind for kind in component.type.required_crds(component, values).get("monitoring.coreos.com", ()) if kind in MONITOR_KINDS)
        if monitor_kinds:
            labels_path = ("monitors", "labels") if composition.node(("monitors", "labels")) is not None else ()
            targets.monitors.append(
                MonitorSource(component.name, component.release, component.namespace, monitor_kinds, dotted(labels_path), composition.locate(labels_path) if labels_path else component.location)
            )
        targets.dashboards.extend(_dashboards(composition, values))
    wiring = build_wiring(stack, stack.clusters[cluster], {c.component.name: c for c in compositions})
    for role, found in (("prometheus", targets.prometheus_services), ("grafana", targets.grafana_services)):
        for endpoint in wiring.providers(role):
            if endpoint.namespace:  # an external outside the cluster has none: nothing to look up
                found.append((endpoint.namespace, endpoint.service, endpoint.port, endpoint.source()))
    return targets


def _address(stack: Stack, composition: Composition, need: Need) -> AddressTarget | None:
    """The address at ``need.path`` (or the consumer's built-in default), or None when there is none to check."""
    if _switched_off(composition, need):
        return None
    node = composition.node(need.path)
    if isinstance(node, Leaf) and isinstance(node.value, EnvRef):
        return None  # a secret read at apply time: validate says it cannot be checked; never show it
    value = composition.get(need.path)
    component = composition.component
    location: Location | None
    if value is None:
        if not (need.required and need.default_url):
            return None
        text, location, provenance = need.default_url, component.location, "not set: the consumer's built-in default"
    elif isinstance(value, str):
        text = value
        location, provenance = _blame(stack, composition, need)
    else:
        return None
    parsed = parse_address(text, need.form)
    if parsed is None:
        return None  # not an address at all: validate's wiring.bad-url says so
    external = next((item for item in stack.external.values() if composition.cluster.name in item.clusters and _same_host(item.url, parsed)), None)
    return AddressTarget(
        component=component.name,
        consumer_namespace=component.namespace,
        role=need.role,
        path=dotted(need.path),
        description=need.description,
        shown=_shown(text, need.form),
        parsed=parsed,
        location=location,
        provenance=provenance,
        external=external,
    )


def _switched_off(composition: Composition, need: Need) -> bool:
    """Whether the consumer does not use this address (``enabled: false`` beside it, or at ``need.enable_path``)."""
    section = composition.get(need.path[:-1])
    if isinstance(section, dict) and section.get("enabled") is False:
        return True
    return need.enable_path is not None and composition.get(need.enable_path) is False


def _blame(stack: Stack, composition: Composition, need: Need) -> tuple[Location | None, str]:
    """The file:line that set the value: a layer file's line, else the stack entry the wiring took it from."""
    origin = composition.origin(need.path)
    component = composition.component
    if origin is None:
        return component.location, ""
    if origin.layer in USER_LAYERS or origin.location is not None:
        return origin.location or composition.locate(need.path), origin.describe()
    if origin.layer == "derived":
        match = _DERIVED.match(origin.detail)
        if match and match[1] == "external" and match[2] in stack.external:
            return stack.external[match[2]].location, origin.describe()
        if match and match[1] == "component" and match[2] in stack.components:
            return stack.components[match[2]].location, origin.describe()
    return component.location, origin.describe()


def _same_host(url: str, parsed: ParsedAddress) -> bool:
    declared = parse_address(url)
    if declared is None:
        return False
    if declared.in_cluster and parsed.in_cluster:
        return declared.service == parsed.service and (declared.namespace or "") == (parsed.namespace or "")
    return declared.host == parsed.host


def _shown(text: str, form: str) -> str:
    """The address without userinfo: ``http://user:secret@host`` is shown as ``http://host``."""
    raw = text.strip()
    if form == "host-port" and "://" not in raw:
        return raw.rsplit("@", 1)[-1]
    try:
        parts = urlsplit(raw)
    except ValueError:
        return raw
    if "@" not in parts.netloc:
        return raw
    return parts._replace(netloc=parts.netloc.rsplit("@", 1)[-1]).geturl()


def _dashboards(composition: Composition, values: dict[str, Any]) -> list[DashboardTarget]:
    """mesh-extras' dashboard ConfigMaps (``dashboards.items``), as its chart names and places them."""
    if composition.component.type.name != "mesh-extras":
        return []
    dashboards = values.get("dashboards") or {}
    if not isinstance(dashboards, dict) or not dashboards.get("enabled", True):
        return []
    namespace = dashboards.get("namespace") or composition.component.namespace
    found = []
    for name, item in sorted((dashboards.get("items") or {}).items()):
        if isinstance(item, dict) and item.get("enabled", True) is not False:
            path = ("dashboards", "items", name)
            found.append(DashboardTarget(composition.component.name, name, namespace, dotted(path), composition.locate(path, True)))
    return found
