"""rancher-monitoring, the kube-prometheus-stack that Rancher installs: an external type, never installed here.

Rancher's chart puts an nginx proxy in front of Prometheus and Grafana (it rewrites paths for Rancher's
service proxy), so the Service ports are not the Pod ports a NetworkPolicy must allow:

* ``rancher-monitoring-prometheus`` 9090 -> Pod port 8081 (``nginx-http``, container prometheus-proxy)
* ``rancher-monitoring-grafana`` 80 -> Pod port 8080 (``nginx-http``, container grafana-proxy)

Found by ``helm template rancher-monitoring`` of every release in rancher/charts (assets/, branch
dev-v2.9) from 100.0.0+up16.6.0 to 104.1.2+up57.0.3, namespace cattle-monitoring-system: the ports
never change; the Prometheus Service's port name is ``nginx-http`` on the up16/up19 lines and
``http-web`` from up40 on, and from 104.1.0 (operator up57) the Prometheus Pods are selected by
``operator.prometheus.io/name`` instead of ``prometheus``. The Pod labels are the Services' selectors.
"""

from __future__ import annotations

from meshcharts.core.externals import ExternalLine, ExternalService, ExternalType
from meshcharts.core.versions import VersionRange

NAMESPACE = "cattle-monitoring-system"
PROMETHEUS = "rancher-monitoring-prometheus"
GRAFANA = "rancher-monitoring-grafana"


def _prometheus(port_name: str, selector_key: str) -> ExternalService:
    return ExternalService(
        provides="prometheus",
        service=PROMETHEUS,
        namespace=NAMESPACE,
        port=9090,
        port_name=port_name,
        target_port=8081,
        target_port_name="nginx-http",
        pod_labels={"app.kubernetes.io/name": "prometheus", selector_key: PROMETHEUS},
    )


_GRAFANA = ExternalService(
    provides="grafana",
    service=GRAFANA,
    namespace=NAMESPACE,
    port=80,
    port_name="nginx-http",
    target_port=8080,
    target_port_name="nginx-http",
    pod_labels={"app.kubernetes.io/name": "grafana", "app.kubernetes.io/instance": "rancher-monitoring"},
)


def _line(minimum: str, below: str, port_name: str, selector_key: str = "prometheus") -> ExternalLine:
    return ExternalLine(VersionRange(minimum, below), (_prometheus(port_name, selector_key), _GRAFANA))


EXTERNAL_TYPE = ExternalType(
    name="rancher-monitoring",
    description="Rancher's monitoring (Prometheus and Grafana behind nginx proxies in cattle-monitoring-system)",
    lines=(
        _line("100.0.0", "100.2.0", "nginx-http"),  # +up16.6.0, +up19.0.3
        _line("100.2.0", "101.0.0", "http-web"),  # +up40.1.2
        _line("101.0.0", "102.0.0", "nginx-http"),  # +up19.0.3
        _line("102.0.0", "104.1.0", "http-web"),  # +up40.1.2, +up45.31.1
        _line("104.1.0", "105.0.0", "http-web", "operator.prometheus.io/name"),  # +up57.0.3
    ),
    example_version="102.0.3+up40.1.2",
)
