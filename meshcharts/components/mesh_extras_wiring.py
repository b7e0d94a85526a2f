"""Wiring of the mesh-extras chart: what it takes from the other releases of its cluster.

* Monitors carry the labels the cluster's Prometheus operator selects (kube-prometheus-stack:
  ``release: <its release>`` by default), or Prometheus never scrapes Istio and Kiali shows no traffic.
* For a Prometheus without an operator (seed 004), the monitors give way to scrape jobs in a Secret.
* A Kiali NetworkPolicy (seed 000) allows egress to the Pod ports Kiali's providers really listen on,
  which can differ from their Service ports (kube-prometheus-stack's Grafana: Service 80, Pod 3000;
  rancher-monitoring's nginx proxies: Prometheus 9090 -> 8081, Grafana 80 -> 8080, from its external type).
* Dashboards go to the namespace and carry the label the Grafana dashboard sidecar watches
  (:mod:`meshcharts.core.grafana_sidecar`); typed ones that it would never load are errors.
* NavLinks open the Service and web root of what they link to (:mod:`.mesh_extras_navlinks`).

This module has no ``COMPONENT_TYPE``: it serves ``mesh_extras.py``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from meshcharts.charts.dashboards import (
    ISTIO_GRAFANA_DASHBOARDS,
    kps_grafana_dashboard_values,
)
from meshcharts.components import mesh_extras_navlinks
from meshcharts.components.base import key_problem as _problem
from meshcharts.core.diagnostics import Diagnostic, Severity
from meshcharts.core.endpoints import Endpoint, choose_provider
from meshcharts.core.grafana_sidecar import DashboardSidecar, rancher_monitoring_sidecar
from meshcharts.core.model import CompositionView, DerivedValue, WiringView

KIALI_SELECTOR = {"matchLabels": {"app.kubernetes.io/name": "kiali"}}
KIALI_INGRESS_PORTS = (20001, 9090)  # UI/API and Kiali's own metrics
ISTIOD_PORTS = (15014, 8080)  # istiod monitoring and the debug endpoints Kiali reads


def monitor_operator(wiring: WiringView) -> Endpoint | None:
    """The Prometheus operator in the stack whose selectors the cluster's monitors are labelled for."""
    operators = wiring.providers("prometheus-operator")
    return operators[0] if operators else None


def operator_selector(wiring: WiringView) -> tuple[str, dict[str, Any]] | None:
    """Who selects monitors in this cluster, and with which labels per kind (None: no operator)."""
    endpoint = monitor_operator(wiring)
    if endpoint is not None:
        return endpoint.source(), {"PodMonitor": endpoint.attributes.get("podMonitor"), "ServiceMonitor": endpoint.attributes.get("serviceMonitor")}
    for endpoint in wiring.providers("prometheus"):
        monitors = endpoint.attributes.get("monitors") or {}
        if monitors.get("mode") == "operator":
            labels = dict(monitors.get("labels") or {})
            return endpoint.source(), {"PodMonitor": labels, "ServiceMonitor": labels}
    return None


def scrape_config_prometheus(wiring: WiringView) -> Endpoint | None:
    """An external Prometheus that is configured with scrape jobs, not monitors."""
    for endpoint in wiring.providers("prometheus"):
        if endpoint.external and (endpoint.attributes.get("monitors") or {}).get("mode") == "scrape-configs":
            return endpoint
    return None


def derive(composition: CompositionView, wiring: WiringView) -> list[DerivedValue]:
    found: list[DerivedValue] = []
    found += _derive_monitors(composition, wiring)
    found += _derive_network_policies(composition, wiring)
    found += _derive_dashboards(composition, wiring)
    found += mesh_extras_navlinks.derive(composition, wiring)
    return found


def _derive_monitors(composition: CompositionView, wiring: WiringView) -> list[DerivedValue]:
    selector = operator_selector(wiring)
    found: list[DerivedValue] = []
    if selector is not None:
        source, labels = selector
        wanted: dict[str, str] = {}
        for kind_labels in labels.values():
            wanted.update(kind_labels or {})
        if wanted and not composition.is_user_set(("monitors", "labels")):
            found.append(DerivedValue(("monitors", "labels"), wanted, f"derived from {source} (its monitor selector)"))
        return found
    prometheus = scrape_config_prometheus(wiring)
    if prometheus is not None:
        reason = f"derived from {prometheus.source()} (monitors.mode: scrape-configs)"
        if not composition.is_user_set(("monitors", "enabled")):
            found.append(DerivedValue(("monitors", "enabled"), False, reason))
        if not composition.is_user_set(("scrapeConfigs", "enabled")):
            found.append(DerivedValue(("scrapeConfigs", "enabled"), True, reason))
        if prometheus.namespace and not composition.is_user_set(("scrapeConfigs", "namespace")):
            found.append(DerivedValue(("scrapeConfigs", "namespace"), prometheus.namespace, reason))
    istiod = wiring.providers("istiod")
    if istiod and not composition.is_user_set(("scrapeConfigs", "istiodNamespace")):
        found.append(DerivedValue(("scrapeConfigs", "istiodNamespace"), istiod[0].namespace, f"derived from {istiod[0].source()}"))
    return found


def _kiali_policies(composition: CompositionView) -> list[str]:
    policies = composition.get(("networkPolicies",)) or {}
    return [
        name
        for name, policy in policies.items()
        if isinstance(policy, dict)
        and (name == "kiali" or "kiali" in ((policy.get("podSelector") or {}).get("matchLabels") or {}).values())
    ]


def kiali_egress_ports(wiring: WiringView) -> list[int]:
    """The Pod ports Kiali talks to: its Prometheus, Grafana and Jaeger as wired, and istiod."""
    ports: set[int] = set(ISTIOD_PORTS)
    for role, grpc in (("prometheus", None), ("grafana", None), ("tracing", False)):
        endpoint = choose_provider_for(role, wiring, grpc)
        if endpoint is not None:
            ports.add(endpoint.pod_port)
    return sorted(ports)


def choose_provider_for(role: str, wiring: WiringView, grpc: bool | None) -> Endpoint | None:
    return choose_provider(wiring.providers(role), grpc)


def _derive_network_policies(composition: CompositionView, wiring: WiringView) -> list[DerivedValue]:
    found: list[DerivedValue] = []
    for name in _kiali_policies(composition):
        base = ("networkPolicies", name)
        reason = "derived from the endpoints Kiali is wired to (their Pod ports)"
        if not composition.is_user_set(base + ("podSelector",)):
            found.append(DerivedValue(base + ("podSelector",), KIALI_SELECTOR, "the labels every Kiali chart puts on its Pods"))
        if not composition.is_user_set(base + ("egress", "ports")):
            ports = [{"port": port, "protocol": "TCP"} for port in kiali_egress_ports(wiring)]
            found.append(DerivedValue(base + ("egress", "ports"), ports, reason))
        if not composition.is_user_set(base + ("egress", "kubeApiServer")):
            found.append(DerivedValue(base + ("egress", "kubeApiServer"), True, "Kiali reads the Kubernetes API"))
        if not composition.is_user_set(base + ("ingress", "ports")):
            ports = [{"port": port, "protocol": "TCP"} for port in KIALI_INGRESS_PORTS]
            found.append(DerivedValue(base + ("ingress", "ports"), ports, "Kiali's UI and metrics ports"))
    return found


def _derive_dashboards(composition: CompositionView, wiring: WiringView) -> list[DerivedValue]:
    if not composition.get(("dashboards", "items")):
        return []
    grafana = choose_provider_for("grafana", wiring, None)
    if grafana is None:
        return []
    found: list[DerivedValue] = []
    reason = f"derived from {grafana.source()} (the dashboards its sidecar loads)"
    sidecar = grafana_sidecar(grafana, wiring)
    labels = sidecar.wanted_labels() if sidecar else grafana.attributes.get("dashboards")
    if labels and not composition.is_user_set(("dashboards", "sidecarLabels")):
        found.append(DerivedValue(("dashboards", "sidecarLabels"), dict(labels), reason))
    home = sidecar.home(grafana.namespace) if sidecar and grafana.namespace else grafana.namespace
    if home and not composition.is_user_set(("dashboards", "namespace")):
        found.append(DerivedValue(("dashboards", "namespace"), home, reason))
    return found


def grafana_sidecar(grafana: Endpoint, wiring: WiringView) -> DashboardSidecar | None:
    """The dashboard sidecar of the cluster's Grafana: a component's own, or what an external one is."""
    if "sidecar" in grafana.attributes or not grafana.external:
        sidecar = grafana.attributes.get("sidecar")
        return sidecar if isinstance(sidecar, DashboardSidecar) else None
    external = wiring.stack.external.get(grafana.provider.removeprefix("external "))
    if external is None:
        return None
    source = f"{grafana.source()} (rancher-monitoring {external.version})"
    typed = rancher_monitoring_sidecar(external.version or "", grafana.namespace, source) if external.type == "rancher-monitoring" else None
    declared = next(iter(external.grafana_dashboards.items()), None)
    if declared is None:
        return typed
    # the label the stack declares wins; which namespaces are searched only the type can say
    label, value = declared
    return DashboardSidecar(label, value or None, typed.namespaces if typed else None, typed.source if typed else grafana.source())


def _check_dashboards(composition: CompositionView, wiring: WiringView) -> list[Diagnostic]:
    """Typed dashboard namespace and labels against what the cluster's Grafana sidecar really loads."""
    values = composition.accepted_values()  # only what the schema accepted: a wrong type is its finding
    dashboards = values.get("dashboards") or {}
    items = {name: item for name, item in (dashboards.get("items") or {}).items() if isinstance(item, dict) and item.get("enabled", True)}
    grafana = choose_provider_for("grafana", wiring, None)
    if not dashboards.get("enabled", True) or not items or grafana is None:
        return []
    sidecar = grafana_sidecar(grafana, wiring)
    if sidecar is None:
        if "sidecar" not in grafana.attributes:
            return []  # an external Grafana meshcharts knows nothing about
        message = f"the Grafana of {grafana.source()} runs no dashboard sidecar (grafana.sidecar.dashboards.enabled is false); these ConfigMaps are never loaded"
        return [_problem(composition, ("dashboards", "items"), message, "wiring.dashboards")]
    found: list[Diagnostic] = []
    namespace = dashboards.get("namespace") or composition.component.namespace
    if composition.is_user_set(("dashboards", "namespace")) and not sidecar.searches(namespace):
        where = ", ".join(sidecar.namespaces or ())
        found.append(
            _problem(
                composition,
                ("dashboards", "namespace"),
                f"the Grafana sidecar of {sidecar.source} loads dashboard ConfigMaps from namespace{'s' if len(sidecar.namespaces or ()) > 1 else ''} {where} only; dashboards in {namespace} are never loaded",
                "wiring.dashboards-namespace",
                hint=f"use dashboards.namespace: {sidecar.home(grafana.namespace)}, or delete the key: meshcharts derives it",
            )
        )
    base = {**(values.get("commonLabels") or {}), **(dashboards.get("sidecarLabels") or {})}
    seen: set[tuple[str, ...]] = set()
    for name, item in sorted(items.items()):
        own = item.get("labels") or {}
        path = _label_source(composition, name, own, dashboards, sidecar.label)
        if sidecar.selects({**base, **own}) or path in seen or not composition.is_user_set(path):
            continue
        seen.add(path)
        who, verb = (f"dashboard {name}", "carries") if path[:3] == ("dashboards", "items", name) else ("the dashboards", "carry")
        value = {**base, **own}.get(sidecar.label)
        carried = f"{who} {verb} {sidecar.label}={value}" if value is not None else f"{who} {verb} no {sidecar.label} label"
        found.append(
            _problem(
                composition,
                path,
                f"the Grafana sidecar of {sidecar.source} only loads ConfigMaps labelled {sidecar.describe_labels()}; {carried} and would never show up in Grafana",
                "wiring.dashboards-label",
                hint=f'use {sidecar.label}: "{sidecar.wanted_labels()[sidecar.label]}", or delete the key: meshcharts derives it',
            )
        )
    return found


def _label_source(composition: CompositionView, name: str, own: dict[str, Any], dashboards: dict[str, Any], label: str) -> tuple[str, ...]:
    """The values path that decides the sidecar label of one dashboard (or the map that lacks it)."""
    if label in own:
        return ("dashboards", "items", name, "labels", label)
    if label in (dashboards.get("sidecarLabels") or {}):
        return ("dashboards", "sidecarLabels", label)
    if composition.get(("commonLabels", label)) is not None:
        return ("commonLabels", label)
    return ("dashboards", "sidecarLabels")


def grafana_com_dashboards(wiring: WiringView, grafana_provider: str) -> dict[str, Any] | None:
    """kube-prometheus-stack values for the grafana.com dashboards a mesh-extras asks for, when
    ``grafana_provider`` (a component) is the cluster's Grafana; else None."""

    chosen = choose_provider_for("grafana", wiring, None)
    if chosen is None or chosen.provider != grafana_provider:
        return None
    for composition in wiring.compositions.values():
        if composition.component.type.name != "mesh-extras":
            continue
        dashboards = composition.accepted_values().get("dashboards") or {}
        wanted = dashboards.get("grafanaCom")
        if dashboards.get("enabled", True) and wanted:
            revisions = {int(key): value for key, value in (wanted.get("revisions") or {}).items()}
            default = wanted.get("revision")
            # revision: all six Istio dashboards; revisions alone: just the dashboards it names
            boards = [board for board in ISTIO_GRAFANA_DASHBOARDS if default is not None or board.gnet_id in revisions]
            by_id = {board.gnet_id: revisions.get(board.gnet_id, default) for board in boards}
            if not boards or None in by_id.values():
                return None  # nothing usable: the mesh-extras schema reports it where it was written
            return kps_grafana_dashboard_values(
                by_id, datasource=wanted.get("datasource", "Prometheus"), folder=wanted.get("folder", "Istio"), dashboards=boards
            )
    return None


def check_grafana_com(composition: CompositionView, wiring: WiringView) -> list[Diagnostic]:
    """grafana.com IDs need a Grafana that downloads dashboards itself (kube-prometheus-stack's)."""
    dashboards = composition.accepted_values().get("dashboards") or {}
    if not dashboards.get("grafanaCom") or not dashboards.get("enabled", True):
        return []
    grafana = choose_provider_for("grafana", wiring, None)
    if grafana is not None and grafana.attributes.get("values_dashboards"):
        return []
    where = f"the Grafana of cluster {composition.cluster.name} ({grafana.source()})" if grafana else f"cluster {composition.cluster.name} has no Grafana meshcharts knows, and"
    return [
        _problem(
            composition,
            ("dashboards", "grafanaCom"),
            f"{where} loads dashboards from ConfigMaps only; grafana.com IDs work with kube-prometheus-stack's Grafana",
            "wiring.dashboards",
            hint="download the dashboard JSON and list it under dashboards.items.<name>.file",
        )
    ]


def check(composition: CompositionView, wiring: WiringView) -> list[Diagnostic]:
    """Monitors whose labels the cluster's Prometheus never selects; dashboards the Grafana cannot load."""
    found = check_grafana_com(composition, wiring) + _check_dashboards(composition, wiring)
    return found + _check_monitors(composition, wiring) + mesh_extras_navlinks.check(composition, wiring)


@dataclass(frozen=True)
class IstioMonitor:
    """One monitor a mesh-extras renders: its kind and name, the labels it carries, the key that set them."""

    kind: str  # PodMonitor or ServiceMonitor
    name: str
    labels: dict[str, Any]
    path: tuple[str, ...]  # monitors.labels, or monitors.<part>.labels when that was typed


def istio_monitors(composition: CompositionView) -> list[IstioMonitor]:
    """The Istio monitors this mesh-extras renders (none when monitors are off)."""
    monitors = composition.accepted_values().get("monitors") or {}
    if not monitors.get("enabled"):
        return []
    found: list[IstioMonitor] = []
    for part, kind in (("envoy", (monitors.get("envoy") or {}).get("kind", "PodMonitor")), ("istiod", "ServiceMonitor")):
        settings = monitors.get(part) or {}
        if not settings.get("enabled", True):
            continue
        carried = {**(monitors.get("labels") or {}), **(settings.get("labels") or {})}
        path = ("monitors", part, "labels") if composition.is_user_set(("monitors", part, "labels")) else ("monitors", "labels")
        found.append(IstioMonitor(kind, str(settings.get("name", part)), carried, path))
    return found


def _check_monitors(composition: CompositionView, wiring: WiringView) -> list[Diagnostic]:
    selector = operator_selector(wiring)
    if selector is None:
        return []
    source, by_kind = selector
    found: list[Diagnostic] = []
    for monitor in istio_monitors(composition):
        wanted = by_kind.get(monitor.kind)
        carried = monitor.labels
        if wanted is None:
            found.append(_problem(composition, monitor.path, f"{source} selects {monitor.kind}s with an expression meshcharts cannot check; make sure it matches {carried}", "wiring.monitor-selector", Severity.WARNING))
        elif any(carried.get(key) != value for key, value in wanted.items()):
            need = ", ".join(f"{key}={value}" for key, value in wanted.items())
            found.append(
                _problem(
                    composition,
                    monitor.path,
                    f"{source} only selects {monitor.kind}s labelled {need}; the {monitor.name} {monitor.kind} carries {carried or 'no labels'} and would never be scraped (Kiali shows no traffic)",
                    "wiring.monitor-not-selected",
                )
            )
    return found


