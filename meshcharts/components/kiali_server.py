"""The upstream Kiali server chart (kiali-server 1.x and 2.x), and the Kiali key rules every Kiali type shares.

The Kiali charts copy their values into Kiali's config.yaml, so a key the server does not read is
silently ignored: nothing in Helm rejects it. The rules below are the ones the write-ups trip over
(see docs/validation.md for why each is an error or a warning).
"""

from __future__ import annotations

from typing import Any

import semver

from meshcharts.components.base import ComponentType, KeyRule, SchemaLine, key_problem
from meshcharts.core.diagnostics import Diagnostic, Severity
from meshcharts.core.endpoints import Endpoint, Need
from meshcharts.core.kubeapis import RendersApi, Switch
from meshcharts.core.model import Component, CompositionView, WiringView
from meshcharts.core.versions import InvalidVersion, VersionRange, parse_chart_version

KIALI_REPO = "https://kiali.org/helm-charts"

_BEFORE_2 = VersionRange(None, "2.0.0")
_FROM_2 = VersionRange("2.0.0", None)

KIALI_KEY_RULES: tuple[KeyRule, ...] = (
    KeyRule(
        "external_services.prometheus.custom_metrics_url",
        VersionRange("1.22.1", None),
        "Kiali removed custom_metrics_url in 1.22.1; this Kiali ignores it silently",
        "kiali.removed-key",
        replacement="external_services.custom_dashboards.prometheus.url",
    ),
    KeyRule(
        "deployment.accessible_namespaces",
        _FROM_2,
        "Kiali 2.x dropped accessible_namespaces and ignores it",
        "kiali.removed-key",
        replacement="deployment.cluster_wide_access (with deployment.discovery_selectors)",
    ),
    *(
        KeyRule(
            f"external_services.{service}.in_cluster_url",
            _FROM_2,
            "Kiali 2.x renamed in_cluster_url to internal_url (the old key still works, with a deprecation notice)",
            "kiali.deprecated-key",
            severity="warning",
            replacement=f"external_services.{service}.internal_url",
        )
        for service in ("grafana", "tracing")
    ),
    *(
        KeyRule(
            f"external_services.{service}.url",
            _FROM_2,
            "Kiali 2.x renamed url to external_url (the old key still works, with a deprecation notice)",
            "kiali.deprecated-key",
            severity="warning",
            replacement=f"external_services.{service}.external_url",
        )
        for service in ("grafana", "tracing")
    ),
    KeyRule(
        "istio_namespace",
        VersionRange("2.14.0", None),
        "Kiali 2.14 removed istio_namespace (the Istio namespace is autodetected); this value is ignored",
        "kiali.removed-key",
        severity="warning",
    ),
    KeyRule(
        "external_services.istio.root_namespace",
        VersionRange("2.12.0", None),
        "deprecated after Kiali 2.11 and ignored",
        "kiali.deprecated-key",
        severity="warning",
    ),
    *(
        KeyRule(
            f"external_services.{service}.{new}",
            _BEFORE_2,
            f"{new} is a Kiali 2.x key; Kiali 1.x ignores it silently",
            "kiali.unknown-in-version",
            replacement=f"external_services.{service}.{old}",
        )
        for service in ("grafana", "tracing")
        for new, old in (("internal_url", "in_cluster_url"), ("external_url", "url"))
    ),
    KeyRule(
        "deployment.discovery_selectors",
        _BEFORE_2,
        "discovery_selectors is a Kiali 2.x key; Kiali 1.x ignores it silently",
        "kiali.unknown-in-version",
        replacement="deployment.accessible_namespaces",
    ),
    *(
        KeyRule(
            f"deployment.{key}",
            VersionRange("1.43.0", None),
            f"the Kiali charts stopped reading deployment.{key} in 1.43; this value is ignored",
            "kiali.removed-key",
            replacement="deployment.ingress.enabled" if key == "ingress_enabled" else "deployment.ingress.override_yaml",
            scope="chart",
        )
        for key in ("ingress_enabled", "override_ingress_yaml")
    ),
    KeyRule(
        "deployment.verbose_mode",
        VersionRange("1.82.0", None),
        "Kiali 1.82 dropped deployment.verbose_mode; this value is ignored",
        "kiali.removed-key",
        severity="warning",
        replacement="deployment.logger.log_level",
    ),
    *(
        KeyRule(
            f"server.{key}",
            VersionRange("1.46.0", None),
            f"Kiali 1.46 reads server.observability.metrics.{new} instead of server.{key}",
            "kiali.deprecated-key",
            severity="warning",
            replacement=f"server.observability.metrics.{new}",
        )
        for key, new in (("metrics_port", "port"), ("metrics_enabled", "enabled"))
    ),
    KeyRule(
        "deployment.cluster_wide_access",
        VersionRange(None, "1.67.0"),
        "cluster_wide_access exists from Kiali 1.67 on; this Kiali ignores it silently",
        "kiali.unknown-in-version",
        replacement="deployment.accessible_namespaces",
    ),
)

KIALI_PORT = 20001
KIALI_METRICS_PORT = 9090

HPA_FIX = "set deployment.hpa.api_version: autoscaling/v2, with deployment.hpa.spec in that version's form"


def kiali_hpa(versions: VersionRange, default_api: str) -> RendersApi:
    """Every Kiali chart from 1.29 renders its HPA at ``deployment.hpa.api_version`` once ``deployment.hpa.spec``
    is set; the default was autoscaling/v2beta2 (gone in 1.26) until kiali-server 1.52."""
    return RendersApi(
        "HorizontalPodAutoscaler",
        (Switch(("deployment", "hpa", "spec"), {}),),
        versions,
        api_path=("deployment", "hpa", "api_version"),
        api_default=default_api,
        fix=HPA_FIX,
    )


def kiali_v1beta1_ingress(versions: VersionRange) -> RendersApi:
    """Kiali charts before 1.39 always write networking.k8s.io/v1beta1 (gone in 1.22) for their Ingress,
    which ``deployment.ingress_enabled`` (default true) switches on everywhere but on OpenShift."""
    return RendersApi(
        "Ingress",
        (Switch(("deployment", "ingress_enabled"), True),),
        versions,
        api_version="networking.k8s.io/v1beta1",
        fix="set deployment.ingress_enabled: false; Rancher's proxy, a NavLink or a port-forward reach Kiali without it",
    )


# Found with `helm template` of every kiali-server release in kiali/helm-charts (docs/*.tgz) against
# --kube-version 1.30 with a 1.30 cluster's API versions: 1.29-1.51 default the HPA to v2beta2, 1.52 on
# to autoscaling/v2; 1.39 on pick the Ingress version from the cluster; 2.26 on add a PodDisruptionBudget
# at deployment.pod_disruption_budget.api_version (default policy/v1) once its spec is set.
KIALI_SERVER_APIS: tuple[RendersApi, ...] = (
    kiali_v1beta1_ingress(VersionRange(None, "1.39.0")),
    kiali_hpa(VersionRange("1.29.0", "1.52.0"), "autoscaling/v2beta2"),
    kiali_hpa(VersionRange("1.52.0", None), "autoscaling/v2"),
    RendersApi(
        "PodDisruptionBudget",
        (Switch(("deployment", "pod_disruption_budget", "spec"), {}),),
        VersionRange("2.26.0", None),
        api_path=("deployment", "pod_disruption_budget", "api_version"),
        api_default="policy/v1",
        fix="set deployment.pod_disruption_budget.api_version: policy/v1",
    ),
)
GRPC_DEFAULT_FROM = semver.Version(1, 39, 0)  # Kiali 1.39 switched tracing to gRPC on 16685 by default


class KialiType(ComponentType):
    """Every Kiali chart: the same config keys, renamed in 2.x; wiring to Prometheus, Grafana, Jaeger."""

    def running_version(self, component: Component, values: dict[str, Any]) -> semver.Version:
        """The Kiali that will run: ``deployment.tag`` when it overrides the image (seed 000 runs v1.44 on the 1.35 chart)."""
        deployment = values.get("deployment") or {}
        tag = deployment.get("tag") or deployment.get("image_version")
        if isinstance(tag, str) and tag not in ("", "latest"):
            try:
                return parse_chart_version(tag).replace(build=None, prerelease=None)
            except InvalidVersion:
                pass
        return self.app_version(component.version)

    def endpoints(self, component: Component, values: dict[str, Any]) -> list[Endpoint]:
        deployment = values.get("deployment") or {}
        instance = deployment.get("instance_name") or "kiali"
        override = values.get("fullnameOverride")
        if instance == "kiali" and override and override != "kiali" and self.app_version(component.version).major < 2:
            instance = override
        server = values.get("server") or {}
        found = [
            Endpoint(
                role="kiali",
                provider=component.name,
                service=instance,
                namespace=component.namespace,
                port=int(server.get("port") or KIALI_PORT),
                path=(server.get("web_root") or "/kiali").rstrip("/"),
                port_name="tcp" if _mapping(values.get("identity")).get("cert_file") else "http",
            )
        ]
        metrics = _mapping(_mapping(server.get("observability")).get("metrics"))
        port = metrics.get("port") or server.get("metrics_port") or KIALI_METRICS_PORT
        if metrics.get("enabled", server.get("metrics_enabled", True)) is not False and isinstance(port, int):
            found.append(Endpoint("kiali-metrics", component.name, instance, component.namespace, port, port_name="http-metrics"))
        return found

    def needs(self, component: Component, values: dict[str, Any]) -> list[Need]:
        return kiali_needs(self.running_version(component, values), values=values)


def _mapping(value: Any) -> dict[str, Any]:
    """A values section as a mapping; anything else (the schema reports it) as empty."""
    return value if isinstance(value, dict) else {}


def kiali_needs(version: semver.Version, prefix: tuple[str, ...] = (), values: dict[str, Any] | None = None) -> list[Need]:
    """Where a Kiali of ``version`` expects Prometheus, Grafana and Jaeger; ``prefix`` for a Kiali
    config nested in another chart's values (the istio-addons chart keeps it under ``kiali.config``).

    Kiali 2.x still reads the 1.x names (with a deprecation notice), so a 2.x values file that uses
    ``in_cluster_url`` is checked there instead of getting a second, derived ``internal_url``."""
    modern = version.major >= 2
    services = prefix + ("external_services",)
    config: Any = values or {}
    for part in services:
        config = (config.get(part) if isinstance(config, dict) else None) or {}

    def keys(service: str) -> tuple[str, str]:
        section = config.get(service) or {}
        if modern and "internal_url" not in section and "in_cluster_url" in section:
            return "in_cluster_url", "url"
        return ("internal_url", "external_url") if modern else ("in_cluster_url", "url")

    (grafana_inner, grafana_outer), (tracing_inner, tracing_outer) = keys("grafana"), keys("tracing")
    return [
        Need(
            role="prometheus",
            path=services + ("prometheus", "url"),
            description="Kiali's Prometheus",
            required=True,
            default_url="http://prometheus.istio-system:9090",
        ),
        Need(
            role="grafana",
            path=services + ("grafana", grafana_inner),
            description="Kiali's Grafana",
            public_path=services + ("grafana", grafana_outer),
        ),
        Need(
            role="tracing",
            path=services + ("tracing", tracing_inner),
            description="Kiali's Jaeger",
            grpc_path=services + ("tracing", "use_grpc"),
            grpc_default=version >= GRPC_DEFAULT_FROM,
            enable_path=services + ("tracing", "enabled"),
            public_path=services + ("tracing", tracing_outer),
            extra=(lambda endpoint: {services + ("tracing", "provider"): "jaeger"}) if version >= semver.Version(1, 75, 0) else None,
        ),
    ]


# kiali/helm-charts kiali-server 2.19.0 to 2.29.0: with deployment.cluster_wide_access false the chart looks up
# the namespaces deployment.discovery_selectors.default selects (only that key), always adds its own, creates a
# Role in each and writes them into Kiali's config as `kubernetes.io/metadata.name In [...]`. 2.0.0 to 2.18.x
# create no Role or ClusterRole at all for false (NOTES.txt: "does NOT support"), and the Kiali server (kiali/kiali
# config.go extractAccessibleNamespaceList, 2.0.0 on) then reads only the namespaces discovery_selectors.default
# names. Kiali 1.x is not affected: every kiali-server 1.x chart creates a ClusterRole, and Kiali 1.67-1.89
# (config.go AllNamespacesAccessible) treats "**" in accessible_namespaces, the chart default, as access to
# every namespace whatever cluster_wide_access says; before 1.67 the key does not exist (a key rule above).
ROLES_FROM_SELECTORS = VersionRange("2.19.0", None)
_CLUSTER_WIDE = ("deployment", "cluster_wide_access")


def namespace_access_findings(composition: CompositionView, wiring: WiringView) -> list[Diagnostic]:
    """``cluster_wide_access: false`` without ``discovery_selectors.default``: Kiali sees its own namespace at most."""
    component = composition.component
    if parse_chart_version(component.version).major < 2 or composition.get(_CLUSTER_WIDE, True) is not False:
        return []
    if composition.get(("deployment", "discovery_selectors", "default")):
        return []
    namespaces = sorted({component.namespace} | {endpoint.namespace for endpoint in wiring.providers("istiod")})
    example = (
        "deployment.discovery_selectors.default: [{matchExpressions: [{key: kubernetes.io/metadata.name, operator: In, "
        f"values: [{', '.join(namespaces)}, <the mesh's application namespaces>]}}]}}]"
    )
    if component.version in ROLES_FROM_SELECTORS:
        message = (
            f"cluster_wide_access is false and deployment.discovery_selectors.default is not set: the chart gives Kiali a Role "
            f"in its own namespace {component.namespace} only, so Kiali sees no other namespace of the mesh"
        )
        hint = f"set {example}; the chart creates a Role in each namespace they select when it is installed; or keep cluster_wide_access: true"
    else:
        message = (
            "cluster_wide_access is false and deployment.discovery_selectors.default is not set: Kiali then reads only the "
            f"namespaces those selectors name, so it sees none; kiali-server {component.version} creates no Role for it either"
        )
        hint = f"set {example} and create Roles and RoleBindings for Kiali's ServiceAccount there, since only kiali-server 2.19 and later create them; or keep cluster_wide_access: true"
    return [key_problem(composition, _CLUSTER_WIDE, message, "kiali.no-discovery-selectors", Severity.WARNING, hint)]


class KialiServerType(KialiType):
    """The upstream kiali-server chart: how its 2.x line grants Kiali access to namespaces."""

    def check_extra(self, composition: CompositionView, wiring: WiringView) -> list[Diagnostic]:
        """On 2.x, ``deployment.cluster_wide_access: false`` without ``deployment.discovery_selectors.default``
        (Kiali then sees its own namespace at most)."""
        return namespace_access_findings(composition, wiring)


COMPONENT_TYPE = KialiServerType(
    name="kiali-server",
    chart="kiali-server",
    repo=KIALI_REPO,
    default_release="kiali-server",
    default_namespace="istio-system",
    description="The upstream Kiali server chart, 1.x (1.35-1.89) and 2.x",
    schema_lines=(
        SchemaLine("kiali-server-1.schema.json", VersionRange("1.0.0", "2.0.0"), "kiali-server 1.x"),
        SchemaLine("kiali-server-2.schema.json", VersionRange("2.0.0", "3.0.0"), "kiali-server 2.x"),
    ),
    key_rules=KIALI_KEY_RULES
    + tuple(
        KeyRule(
            f"deployment.{key}",
            VersionRange(None, None),
            f"deployment.{key} is a key of Rancher's Kiali charts; the upstream kiali-server chart ignores it",
            "kiali.unknown-in-chart",
            replacement=f"deployment.{upstream}",
            scope="chart",
        )
        for key, upstream in (("repository", "image_name"), ("tag", "image_version"))
    ),
    rendered_apis=KIALI_SERVER_APIS,
)
