"""Rancher's Jaeger all-in-one chart (rancher-tracing 100.0.0, Jaeger 1.20).

Its Services have fixed names in the release namespace: ``tracing`` (query UI/API on 16686 under
``/jaeger``, HTTP only: no gRPC query port, so Kiali must set ``use_grpc: false``), ``zipkin`` (9411,
where Istio sends spans) and ``jaeger-collector`` (14268 HTTP, 14250 gRPC).
"""

from __future__ import annotations

from typing import Any

from meshcharts.components.base import ComponentType, KeyRule, SchemaLine
from meshcharts.core.diagnostics import Diagnostic
from meshcharts.core.endpoints import Endpoint
from meshcharts.core.kubeapis import RendersApi, Switch
from meshcharts.core.model import Component, CompositionView, WiringView
from meshcharts.core.versions import VersionRange

QUERY_PORT = 16686
DEFAULT_BASE_PATH = "/jaeger"  # the chart's QUERY_BASE_PATH when contextPath is empty


class RancherTracingType(ComponentType):
    def endpoints(self, component: Component, values: dict[str, Any]) -> list[Endpoint]:
        service = values.get("service") or {}
        zipkin = values.get("zipkin") or {}
        base_path = (values.get("contextPath") or DEFAULT_BASE_PATH).rstrip("/")
        zipkin_port = int(zipkin.get("queryPort") or 9411)
        namespace = component.namespace
        return [
            Endpoint("tracing", component.name, "tracing", namespace, int(service.get("externalPort") or QUERY_PORT), path=base_path, target_port=QUERY_PORT),
            Endpoint("zipkin", component.name, "zipkin", namespace, zipkin_port, target_port=zipkin_port),
            Endpoint("jaeger-collector", component.name, "jaeger-collector", namespace, 14268, target_port=14268),
        ]



    def check_extra(self, composition: CompositionView, wiring: WiringView) -> list[Diagnostic]:
        """The collector listens for zipkin spans on 9411 whatever the Service says."""
        port = composition.get(("zipkin", "queryPort"))
        if port is None or int(port) == 9411:
            return []
        return [
            Diagnostic(
                message=f"the Jaeger container receives zipkin spans on 9411 only (COLLECTOR_ZIPKIN_HTTP_PORT is fixed); a zipkin Service on {port} sends them nowhere",
                rule="tracing.zipkin-port",
                location=composition.locate(("zipkin", "queryPort")),
                cluster=composition.cluster.name,
                component=composition.component.name,
                path="zipkin.queryPort",
                hint="keep zipkin.queryPort: 9411",
            )
        ]


_EVERY_VERSION = VersionRange(None, None)

COMPONENT_TYPE = RancherTracingType(
    name="rancher-tracing",
    chart="rancher-tracing",
    repo="https://charts.rancher.io",
    default_release="rancher-tracing",
    default_namespace="istio-system",
    description="Jaeger all-in-one as packaged by Rancher",
    schema_lines=(
        SchemaLine("rancher-tracing-100.schema.json", VersionRange("100.0.0", "101.0.0"), "rancher-tracing 100.x"),
    ),
    key_rules=(
        KeyRule(
            "jaeger.contextPath",
            _EVERY_VERSION,
            "rancher-tracing reads the top-level contextPath; jaeger.contextPath is ignored (the UI stays on /jaeger, the default)",
            "tracing.ignored-key",
            replacement="contextPath",
        ),
        KeyRule(
            "global.imagePullSecrets",
            _EVERY_VERSION,
            "no rancher-tracing template reads global.imagePullSecrets; it has no effect",
            "tracing.ignored-key",
            severity="warning",
        ),
    ),
    # helm template of rancher-tracing-100.0.0.tgz: only global.rbac.pspEnabled renders a removed API
    rendered_apis=(
        RendersApi(
            "PodSecurityPolicy",
            (Switch(("global", "rbac", "pspEnabled"), False),),
            api_version="policy/v1beta1",
            fix="set global.rbac.pspEnabled: false; Pod Security Admission replaced PodSecurityPolicy",
        ),
    ),
)
