"""Istio's istiod chart, as far as meshcharts manages it: where the proxies send spans (seed 003).

``meshConfig.defaultConfig.tracing.zipkin.address`` must name a zipkin-protocol collector the stack
runs (rancher-tracing's ``zipkin:9411``, the Istio addon's ``zipkin:9411``); istiod itself exposes
metrics on ``istiod:15014`` (``http-monitoring``), which the istiod ServiceMonitor scrapes.
"""

from __future__ import annotations

from typing import Any

from meshcharts.components.base import ComponentType, SchemaLine
from meshcharts.core.endpoints import Endpoint, Need
from meshcharts.core.kubeapis import RendersApi, Switch
from meshcharts.core.model import Component
from meshcharts.core.versions import VersionRange

TRACING = ("meshConfig", "defaultConfig", "tracing")

# istio/istio manifests/charts/istio-control/istio-discovery before 1.14 hard-code the API versions (1.14
# on choose by the cluster's version): with its defaults the 1.13 chart renders both objects below.
_BEFORE_1_14 = VersionRange(None, "1.14.0")
ISTIOD_APIS: tuple[RendersApi, ...] = (
    RendersApi(
        "HorizontalPodAutoscaler",
        (Switch(("pilot", "autoscaleEnabled"), True), Switch(("pilot", "autoscaleMin"), 1), Switch(("pilot", "autoscaleMax"), 5)),
        _BEFORE_1_14,
        api_version="autoscaling/v2beta1",
        fix="set pilot.autoscaleEnabled: false, or use istiod 1.14 or later",
    ),
    RendersApi(
        "PodDisruptionBudget",
        (Switch(("global", "defaultPodDisruptionBudget", "enabled"), True),),
        _BEFORE_1_14,
        api_version="policy/v1beta1",
        fix="set global.defaultPodDisruptionBudget.enabled: false, or use istiod 1.14 or later",
    ),
)


class IstiodType(ComponentType):
    def endpoints(self, component: Component, values: dict[str, Any]) -> list[Endpoint]:
        revision = values.get("revision") or ""
        name = f"istiod-{revision}" if revision else "istiod"
        return [
            Endpoint("istiod", component.name, name, component.namespace, 15014, target_port=15014),
            Endpoint("istiod-debug", component.name, name, component.namespace, 8080, target_port=8080),
        ]

    def needs(self, component: Component, values: dict[str, Any]) -> list[Need]:
        return [
            Need(
                role="zipkin",
                path=TRACING + ("zipkin", "address"),
                description="Istio's trace collector (meshConfig.defaultConfig.tracing.zipkin.address)",
                form="host-port",
                extra=lambda endpoint: {("meshConfig", "enableTracing"): True},
            )
        ]


COMPONENT_TYPE = IstiodType(
    name="istiod",
    chart="istiod",
    repo="https://istio-release.storage.googleapis.com/charts",
    default_release="istiod",
    default_namespace="istio-system",
    description="Istio control plane (meshcharts checks and derives its tracing settings)",
    schema_lines=(SchemaLine("istiod-1.schema.json", VersionRange("1.0.0", "2.0.0"), "istiod 1.x"),),
    rendered_apis=ISTIOD_APIS,
)
