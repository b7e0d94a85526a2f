"""kube-prometheus-stack: the Prometheus operator, Prometheus, Alertmanager and Grafana (45.x and the current 88.x).

Service names follow the chart's fullname helper: ``<release>-kube-prometheus-stack`` cut to 26
characters (release ``prometheus`` gives ``prometheus-kube-prometheus``), then ``-prometheus``; Grafana
is ``<release>-grafana`` on port 80 (the Pod listens on 3000). With the default
``serviceMonitorSelectorNilUsesHelmValues: true`` Prometheus only picks up monitors labelled
``release: <release>``, which is why Istio's own monitors are never scraped ("Kiali shows no traffic").
Grafana's dashboard sidecar loads ConfigMaps labelled ``grafana_dashboard: "1"`` from Grafana's own
namespace; since 45.12.0 the chart sets ``searchNamespace: ALL`` (prometheus-community/helm-charts#2927).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from meshcharts.components.base import ComponentType, SchemaLine, key_problem
from meshcharts.components.mesh_extras_wiring import grafana_com_dashboards, istio_monitors, monitor_operator
from meshcharts.core.diagnostics import Diagnostic, Severity
from meshcharts.core.endpoints import Endpoint
from meshcharts.core.grafana_sidecar import DashboardSidecar, dashboard_sidecar
from meshcharts.core.kubeapis import RendersApi, Switch
from meshcharts.core.model import Component, CompositionView, DerivedValue, WiringView
from meshcharts.core.versions import VersionRange

CHART_NAME = "kube-prometheus-stack"
SEARCH_ALL_SINCE = VersionRange("45.12.0", None)  # grafana.sidecar.dashboards.searchNamespace: ALL by default

# `helm template` of kube-prometheus-stack 45.1.1 and 88.5.3 with their subcharts (grafana 6.50.7 /
# 12.11.1, kube-state-metrics, node and windows exporters) with every PSP, PDB, HPA and Ingress switch
# on, against a 1.30 cluster's API versions: every removed API is behind a Capabilities check, except
# that 45.x trusts kubeVersionOverride: below 1.21 its PodDisruptionBudgets become policy/v1beta1, below
# 1.19 its Ingresses networking.k8s.io/v1beta1 (88.x no longer does either).
_OVERRIDE = ("kubeVersionOverride",)
_KPS_45 = VersionRange("45.0.0", "46.0.0")


_ENABLED_BY_DEFAULT = {"alertmanager": True, "prometheus": True, "thanosRuler": False}  # 45.x values.yaml


def _kps45(kind: str, api: str, below: str, part: str, *keys: str) -> RendersApi:
    """``<part>.enabled`` and each ``<part>.<key>.enabled`` (all false by default) with an old override."""
    when = (
        Switch(_OVERRIDE, "", "below", below),
        Switch((part, "enabled"), _ENABLED_BY_DEFAULT[part]),
        *(Switch((part, key, "enabled"), False) for key in keys),
    )
    return RendersApi(kind, when, _KPS_45, api_version=api, fix="delete kubeVersionOverride so the chart asks the cluster, or set it to the cluster's version")


KPS_APIS: tuple[RendersApi, ...] = (
    *(_kps45("PodDisruptionBudget", "policy/v1beta1", "1.21", part, "podDisruptionBudget") for part in _ENABLED_BY_DEFAULT),
    *(
        _kps45("Ingress", "networking.k8s.io/v1beta1", "1.19", part, *keys)
        for part, keys in (
            ("alertmanager", ("ingress",)),
            ("alertmanager", ("servicePerReplica", "ingressPerReplica")),
            ("prometheus", ("ingress",)),
            ("prometheus", ("servicePerReplica", "ingressPerReplica")),
            ("prometheus", ("thanosIngress",)),
            ("thanosRuler", ("ingress",)),
        )
    ),
)


def fullname(release: str, values: dict[str, Any]) -> str:
    """The chart's ``kube-prometheus-stack.fullname``: overrides first, then release+name, cut to 26."""
    override = values.get("fullnameOverride")
    if override:
        return str(override)[:26].rstrip("-")
    name = values.get("nameOverride") or CHART_NAME
    base = release if name in release else f"{release}-{name}"
    return base[:26].rstrip("-")


def grafana_service(release: str, values: dict[str, Any]) -> str:
    grafana = values.get("grafana") or {}
    if grafana.get("fullnameOverride"):
        return str(grafana["fullnameOverride"])[:63].rstrip("-")
    return (release if "grafana" in release else f"{release}-grafana")[:63].rstrip("-")


def grafana_sidecar(component: Component, dashboards: dict[str, Any], namespace: str) -> DashboardSidecar | None:
    """The dashboard sidecar this chart version runs with these values (None: switched off)."""
    if not dashboards.get("enabled", True):
        return None
    default_search = "ALL" if component.version in SEARCH_ALL_SINCE else None
    return dashboard_sidecar(
        dashboards.get("label"),
        dashboards.get("labelValue", "1"),
        dashboards.get("searchNamespace", default_search),
        namespace,
        f"component {component.name}",
    )


def monitor_selector(spec: dict[str, Any], kind: str, release: str) -> dict[str, str] | None:
    """Labels a monitor needs to be picked up: ``{}`` for all, ``None`` when the selector is not plain labels."""
    selector = spec.get(f"{kind}Selector") or {}
    if selector:
        if set(selector) - {"matchLabels"}:
            return None
        return dict(selector.get("matchLabels") or {})
    if spec.get(f"{kind}SelectorNilUsesHelmValues", True):
        return {"release": release}
    return {}


@dataclass(frozen=True)
class ReleaseSelector:
    """A selector the chart replaces by ``release: <release>`` when it is empty and ``<kind>SelectorNilUsesHelmValues`` is true."""

    section: tuple[str, ...]  # where the selector sits: prometheus.prometheusSpec or thanosRuler.thanosRulerSpec
    kind: str  # the key's stem: serviceMonitor -> serviceMonitorSelector, serviceMonitorSelectorNilUsesHelmValues
    objects: str  # what it selects, as the message names it
    enabled: tuple[str, ...]  # the switch that renders the object carrying the selector
    enabled_default: bool
    versions: VersionRange = VersionRange()
    monitor_kind: str | None = None  # the kind of the mesh-extras monitors it selects


# templates/prometheus/prometheus.yaml and templates/thanos-ruler/ruler.yaml of every 45.x and 88.x release:
# `{{- if .Values.prometheus.prometheusSpec.serviceMonitorSelector }}` copies the selector, `{{ else if
# ...serviceMonitorSelectorNilUsesHelmValues }}` writes `matchLabels: {release: <release>}`, and only then `{}`.
# An empty map is false in a Go template, so a typed `{}` (which values.yaml's comment says selects all) still
# gets the release selector while the NilUsesHelmValues key is true, its default. scrapeConfigSelector and its
# key exist from 46.5.0; the ruleSelector of an agent is not rendered (45.x: "agent" in enableFeatures, 88.x: agentMode).
_PROMETHEUS = ("prometheus", "prometheusSpec")
RELEASE_SELECTORS: tuple[ReleaseSelector, ...] = (
    ReleaseSelector(_PROMETHEUS, "serviceMonitor", "ServiceMonitors", ("prometheus", "enabled"), True, monitor_kind="ServiceMonitor"),
    ReleaseSelector(_PROMETHEUS, "podMonitor", "PodMonitors", ("prometheus", "enabled"), True, monitor_kind="PodMonitor"),
    ReleaseSelector(_PROMETHEUS, "probe", "Probes", ("prometheus", "enabled"), True),
    ReleaseSelector(_PROMETHEUS, "rule", "PrometheusRules", ("prometheus", "enabled"), True),
    ReleaseSelector(_PROMETHEUS, "scrapeConfig", "ScrapeConfigs", ("prometheus", "enabled"), True, VersionRange("46.5.0", None)),
    ReleaseSelector(("thanosRuler", "thanosRulerSpec"), "rule", "PrometheusRules", ("thanosRuler", "enabled"), False),
)


def _is_agent(composition: CompositionView) -> bool:
    """A Prometheus in agent mode, whose ruleSelector the chart leaves out."""
    features = composition.get(_PROMETHEUS + ("enableFeatures",)) or []
    return bool(composition.get(("prometheus", "agentMode"))) or (isinstance(features, list) and "agent" in features)


def _unscraped_monitors(composition: CompositionView, wiring: WiringView, kind: str) -> list[str]:
    """The mesh-extras monitors of ``kind`` on this cluster, labelled for this release's operator, that lack its release label."""
    operator = monitor_operator(wiring)
    release = composition.component.release
    if operator is None or operator.provider != composition.component.name:
        return []
    return [
        f"the {monitor.name} {kind} of component {other.component.name} carries {monitor.labels or 'no labels'}"
        for other in wiring.compositions.values()
        if other.component.type.name == "mesh-extras" and not other.broken
        for monitor in istio_monitors(other)
        if monitor.kind == kind and str(monitor.labels.get("release")) != release
    ]


def empty_selector_findings(composition: CompositionView, wiring: WiringView) -> list[Diagnostic]:
    """A typed ``<kind>Selector: {}`` that the chart still turns into ``release: <release>``, at the selector's line.

    An error when monitors of the stack's own mesh-extras lack that label (Prometheus never scrapes them: Kiali
    shows no traffic); else a warning, since only monitors from outside the stack are left out, against what
    ``{}`` says."""
    release = composition.component.release
    found: list[Diagnostic] = []
    for selector in RELEASE_SELECTORS:
        path = selector.section + (f"{selector.kind}Selector",)
        nil_key = f"{selector.kind}SelectorNilUsesHelmValues"
        if (
            composition.component.version not in selector.versions
            or composition.get(path) != {}
            or not composition.is_user_set(path)
            or not composition.get(selector.enabled, selector.enabled_default)
            or (selector.section == _PROMETHEUS and selector.kind == "rule" and _is_agent(composition))
            or not composition.get(selector.section + (nil_key,), True)
        ):
            continue
        missed = _unscraped_monitors(composition, wiring, selector.monitor_kind) if selector.monitor_kind else []
        default = "" if composition.is_user_set(selector.section + (nil_key,)) else " (its default)"
        message = (
            f"an empty {selector.kind}Selector does not select every {selector.objects[:-1]}: while {nil_key} is true{default}, "
            f"the chart writes matchLabels release: {release} in its place, and only {selector.objects} labelled release={release} are selected"
        )
        if missed:
            message += f"; {'; '.join(missed)} and would never be scraped (Kiali shows no traffic)"
        found.append(
            key_problem(
                composition,
                path,
                message,
                "kps.empty-selector",
                Severity.ERROR if missed else Severity.WARNING,
                hint=f"set {'.'.join(selector.section)}.{nil_key}: false to select all {selector.objects}",
            )
        )
    return found


class KubePrometheusStackType(ComponentType):
    def endpoints(self, component: Component, values: dict[str, Any]) -> list[Endpoint]:
        name = fullname(component.release, values)
        namespace = values.get("namespaceOverride") or component.namespace
        found: list[Endpoint] = []
        prometheus = values.get("prometheus") or {}
        if prometheus.get("enabled", True):
            spec = prometheus.get("prometheusSpec") or {}
            port = int((prometheus.get("service") or {}).get("port") or 9090)
            path = str(spec.get("routePrefix") or "/").rstrip("/")
            found.append(Endpoint("prometheus", component.name, f"{name}-prometheus", namespace, port, path=path, target_port=9090))
            found.append(Endpoint("prometheus", component.name, "prometheus-operated", namespace, 9090, path=path, target_port=9090))
        if (values.get("alertmanager") or {}).get("enabled", True):
            found.append(Endpoint("alertmanager", component.name, f"{name}-alertmanager", namespace, 9093, target_port=9093))
        operator = values.get("prometheusOperator") or {}
        if operator.get("enabled", True) and prometheus.get("enabled", True):
            spec = prometheus.get("prometheusSpec") or {}
            found.append(
                Endpoint(
                    "prometheus-operator",
                    component.name,
                    f"{name}-operator",
                    namespace,
                    443 if (operator.get("tls") or {}).get("enabled", True) else 8080,
                    scheme="https",
                    attributes={
                        "serviceMonitor": monitor_selector(spec, "serviceMonitor", component.release),
                        "podMonitor": monitor_selector(spec, "podMonitor", component.release),
                        "release": component.release,
                    },
                )
            )
        grafana = values.get("grafana") or {}
        if grafana.get("enabled", True):
            service = grafana.get("service") or {}
            dashboards = ((grafana.get("sidecar") or {}).get("dashboards") or {})
            grafana_namespace = grafana.get("namespaceOverride") or namespace
            sidecar = grafana_sidecar(component, dashboards, grafana_namespace)
            found.append(
                Endpoint(
                    "grafana",
                    component.name,
                    grafana_service(component.release, values),
                    grafana_namespace,
                    int(service.get("port") or 80),
                    target_port=int(service.get("targetPort") or 3000),
                    attributes={
                        "dashboards": sidecar.wanted_labels() if sidecar else {},
                        "sidecar": sidecar,  # None: no sidecar, no dashboard ConfigMap is loaded
                        "values_dashboards": True,  # grafana.dashboards values work for this Grafana
                    },
                )
            )
        return found

    def derive_extra(self, composition: CompositionView, wiring: WiringView) -> list[DerivedValue]:
        """Istio's grafana.com dashboards a mesh-extras asks for, as this Grafana's own download list."""
        wanted = grafana_com_dashboards(wiring, composition.component.name)
        if not wanted:
            return []
        reason = "derived from the mesh-extras dashboards.grafanaCom of this cluster"
        return [
            DerivedValue(("grafana", key), value, reason)
            for key, value in wanted["grafana"].items()
            if not composition.is_user_set(("grafana", key))
        ]

    def check_extra(self, composition: CompositionView, wiring: WiringView) -> list[Diagnostic]:
        """A fullnameOverride cut to 26 characters (renaming every Service); a typed ``serviceMonitorSelector: {}``
        (or podMonitor, probe, rule, scrapeConfig) that the chart still turns into ``release: <release>``."""
        return self._fullname_findings(composition) + empty_selector_findings(composition, wiring)

    @staticmethod
    def _fullname_findings(composition: CompositionView) -> list[Diagnostic]:
        """A fullnameOverride longer than 26 characters is cut silently, renaming every Service."""
        override = composition.get(("fullnameOverride",))
        if not override or len(str(override)) <= 26:
            return []
        return [
            Diagnostic(
                message=f"fullnameOverride is cut to 26 characters by the chart: Services are named {fullname(composition.component.release, {'fullnameOverride': override})}-*, not {override}-*",
                rule="kps.fullname-truncated",
                location=composition.locate(("fullnameOverride",)),
                cluster=composition.cluster.name,
                component=composition.component.name,
                path="fullnameOverride",
                severity=Severity.WARNING,
            )
        ]

    def provided_crds(self, component: Component, values: dict[str, Any]) -> set[str]:
        crds = values.get("crds") or {}
        return {"monitoring.coreos.com"} if crds.get("enabled", True) else set()


COMPONENT_TYPE = KubePrometheusStackType(
    name="kube-prometheus-stack",
    chart="kube-prometheus-stack",
    repo="https://prometheus-community.github.io/helm-charts",
    default_release="kube-prometheus-stack",
    default_namespace="monitoring",
    description="Prometheus operator, Prometheus, Alertmanager and Grafana",
    schema_lines=(
        SchemaLine("kube-prometheus-stack-45.schema.json", VersionRange("45.0.0", "46.0.0"), "kube-prometheus-stack 45.x"),
        SchemaLine("kube-prometheus-stack-88.schema.json", VersionRange("88.0.0", "89.0.0"), "kube-prometheus-stack 88.x"),
    ),
    rendered_apis=KPS_APIS,
)
