"""What a known kind of external service is: its Services, the Pod ports behind them, and the Pod labels.

A stack says ``external.prometheus.type: rancher-monitoring`` (with the chart version Rancher
installed) instead of guessing target ports: Kiali's NetworkPolicy must allow the *Pod* port, and
rancher-monitoring puts an nginx proxy in front of both Prometheus (Service 9090 -> Pod 8081) and Grafana
(Service 80 -> Pod 8080), which nobody guesses. The facts live as data in one module per type under
``meshcharts/components/`` (``EXTERNAL_TYPE``); this module is only their vocabulary.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from meshcharts.core.versions import VersionRange, parse_chart_version


@dataclass(frozen=True)
class ExternalService:
    """One Service of an external installation, as a role it provides."""

    provides: str  # prometheus | grafana | alertmanager ...
    service: str
    namespace: str
    port: int
    port_name: str
    target_port: int  # the Pod's port behind ``port``
    target_port_name: str
    pod_labels: dict[str, str] = field(default_factory=dict)  # labels of the Pods the Service selects


@dataclass(frozen=True)
class ExternalLine:
    """The Services of a range of chart versions that agree on them."""

    versions: VersionRange
    services: tuple[ExternalService, ...]


@dataclass(frozen=True)
class ExternalType:
    """A kind of installation the stack uses but does not install (``external.<name>.type``)."""

    name: str
    description: str
    lines: tuple[ExternalLine, ...]
    example_version: str  # shown in errors, docs and init

    def line_for(self, version: str) -> ExternalLine | None:
        parsed = parse_chart_version(version)
        return next((line for line in self.lines if parsed in line.versions), None)

    def known_versions(self) -> str:
        """The versions meshcharts has facts for, as one phrase: ``>=100.0.0, <105.0.0`` (adjacent lines joined)."""
        spans: list[VersionRange] = []
        for line in self.lines:
            if spans and spans[-1].below is not None and spans[-1].below == line.versions.minimum:
                spans[-1] = VersionRange(spans[-1].minimum, line.versions.below)
            else:
                spans.append(line.versions)
        return "; ".join(str(span) for span in spans)

    def provides(self) -> list[str]:
        return sorted({service.provides for line in self.lines for service in line.services})

    def service(self, version: str, role: str) -> ExternalService | None:
        line = self.line_for(version)
        if line is None:
            return None
        return next((service for service in line.services if service.provides == role), None)


__all__ = ["ExternalLine", "ExternalService", "ExternalType"]
