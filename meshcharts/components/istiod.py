"""Istio's istiod chart, as far as meshcharts manages it: where the proxies send spans (seed 003).

``meshConfig.defaultConfig.tracing.zipkin.address`` must name a zipkin-protocol collector the stack
runs (rancher-tracing's ``zipkin:9411``, the Istio addon's ``zipkin:9411``); istiod itself exposes
metrics on ``istiod:15014`` (``http-monitoring``), which the istiod ServiceMonitor scrapes.

The older way, ``global.tracer.zipkin.address``, is what the chart writes into the mesh config when
``global.proxy.tracer`` is ``zipkin`` (templates/configmap.yaml, 1.13 to 1.30); ``meshConfig`` is merged
over it. The default tracer was ``zipkin`` up to Istio 1.21 and is ``none`` since 1.22, so the same key
is deprecated-but-working on one istiod and silently ignored on another.
"""

from __future__ import annotations

from typing import Any

import semver

from meshcharts.components.base import ComponentType, SchemaLine
from meshcharts.core.endpoints import Endpoint, Need
from meshcharts.core.kubeapis import RendersApi, Switch
from meshcharts.core.model import Component, KeyRule
from meshcharts.core.versions import VersionRange

TRACING = ("meshConfig", "defaultConfig", "tracing")
LEGACY_ZIPKIN = "global.tracer.zipkin.address"
MESH_ZIPKIN = "meshConfig.defaultConfig.tracing.zipkin.address"
TRACER_NONE_SINCE = semver.Version(1, 22, 0)  # istiod values.yaml: global.proxy.tracer "zipkin" -> "none"

_EVERY_VERSION = VersionRange(None, None)
LEGACY_ZIPKIN_WORKS = KeyRule(
    LEGACY_ZIPKIN,
    _EVERY_VERSION,
    "global.tracer.zipkin.address is the chart's old tracer setting (gone from istiod's values.yaml since 1.18); "
    "the mesh config key wins over it",
    "istiod.deprecated-key",
    severity="warning",
    replacement=MESH_ZIPKIN,
    scope="chart",
)
LEGACY_ZIPKIN_IGNORED = KeyRule(
    LEGACY_ZIPKIN,
    _EVERY_VERSION,
    "istiod reads global.tracer.zipkin.address only when global.proxy.tracer is zipkin (the default before Istio 1.22, "
    "none since); here it is not, so this address is ignored",
    "istiod.ignored-key",
    replacement=MESH_ZIPKIN,
    scope="chart",
)


def proxy_tracer(values: dict[str, Any], version: semver.Version) -> str:
    """The tracer the chart configures: ``global.proxy.tracer`` as set, else the chart default of that release."""
    proxy = ((values.get("global") or {}).get("proxy") or {}) if isinstance(values.get("global"), dict) else {}
    tracer = proxy.get("tracer") if isinstance(proxy, dict) else None
    if isinstance(tracer, str):
        return tracer
    return "none" if version.replace(prerelease=None, build=None) >= TRACER_NONE_SINCE else "zipkin"

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
    def rules_for(self, component: Component, values: dict[str, Any]) -> list[KeyRule]:
        """The legacy zipkin address is a warning where the chart still reads it, an error where it does not."""
        works = proxy_tracer(values, self.app_version(component.version)) == "zipkin"
        dropped = LEGACY_ZIPKIN_IGNORED if works else LEGACY_ZIPKIN_WORKS
        return [rule for rule in super().rules_for(component, values) if rule is not dropped]

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
    key_rules=(LEGACY_ZIPKIN_WORKS, LEGACY_ZIPKIN_IGNORED),
    rendered_apis=ISTIOD_APIS,
)
