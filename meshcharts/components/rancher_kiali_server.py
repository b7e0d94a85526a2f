"""Rancher's packaging of the Kiali 1.35 server chart, with its CRD chart installed first (seed 000).

Rancher versions its charts on its own line and carries the upstream version as build metadata
(``100.0.0+up1.35.0``); a stack that pins ``100.0.0`` alone still means Kiali 1.35, not Kiali 100.
"""

from __future__ import annotations

import semver

from meshcharts.components.base import Prerequisite, SchemaLine
from meshcharts.components.kiali_server import (
    KIALI_KEY_RULES,
    KialiType,
    kiali_hpa,
    kiali_v1beta1_ingress,
)
from meshcharts.core.kubeapis import RendersApi, Switch
from meshcharts.core.versions import VersionRange, parse_chart_version, upstream_version

RANCHER_REPO = "https://charts.rancher.io"
KIALI_OF_RANCHER_LINE = {100: semver.Version(1, 35, 0)}  # the only standalone line: 100.x = Kiali 1.35


# `helm template` of rancher/charts' rancher-kiali-server-100.0.0+up1.35.0.tgz against a 1.30 cluster:
# the defaults already render networking.k8s.io/v1beta1 Ingress; global.rbac.pspEnabled: true adds a
# policy/v1beta1 PodSecurityPolicy; deployment.hpa.spec an autoscaling/v2beta2 HPA.
RANCHER_KIALI_APIS: tuple[RendersApi, ...] = (
    RendersApi(
        "PodSecurityPolicy",
        (Switch(("global", "rbac", "pspEnabled"), False),),
        api_version="policy/v1beta1",
        fix="set global.rbac.pspEnabled: false; Pod Security Admission replaced PodSecurityPolicy",
    ),
    kiali_v1beta1_ingress(VersionRange()),
    kiali_hpa(VersionRange(), "autoscaling/v2beta2"),
)


class RancherKialiType(KialiType):
    def app_version(self, chart_version: str) -> semver.Version:
        parsed = parse_chart_version(chart_version)
        return upstream_version(parsed) or KIALI_OF_RANCHER_LINE.get(parsed.major, KIALI_OF_RANCHER_LINE[100])


COMPONENT_TYPE = RancherKialiType(
    name="rancher-kiali-server",
    chart="rancher-kiali-server",
    repo=RANCHER_REPO,
    default_release="rancher-kiali-server",
    default_namespace="istio-system",
    description="Kiali 1.35 as packaged by Rancher (plus the rancher-kiali-server-crd release)",
    schema_lines=(
        SchemaLine(
            "rancher-kiali-server-100.schema.json",
            VersionRange("100.0.0", "101.0.0"),
            "rancher-kiali-server 100.x (Kiali 1.35)",
        ),
    ),
    prerequisites=(
        Prerequisite(
            chart="rancher-kiali-server-crd",
            release="rancher-kiali-server-crd",
            description="the MonitoringDashboard CRD Kiali reads; must exist before the server release",
        ),
    ),
    key_rules=KIALI_KEY_RULES,
    rendered_apis=RANCHER_KIALI_APIS,
)
