"""What verify's live checks report: each thing looked at (:class:`Check`) and each problem, per cluster.

Shared by the checks of :mod:`meshcharts.deploy.verify_live` (addresses, CRDs, dashboards) and
:mod:`meshcharts.deploy.verify_monitors`, with the Services they found behind Kiali's URLs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from meshcharts.core.diagnostics import Diagnostic, Location, Severity

#: What a monitor nobody scrapes means for the user, in every finding about it.
KIALI_NO_TRAFFIC = "Istio's metrics are never scraped and Kiali shows no traffic"


@dataclass
class Check:
    """One thing verify looked at, for the JSON report and the summary counts."""

    kind: str  # address | monitor | crd | dashboard
    component: str
    subject: str  # what was checked: "external_services.prometheus.url -> Service ns/name:port"
    ok: bool
    detail: str = ""

    def as_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "component": self.component, "subject": self.subject, "ok": self.ok, "detail": self.detail}


@dataclass
class Findings:
    cluster: str
    checks: list[Check] = field(default_factory=list)
    problems: list[Diagnostic] = field(default_factory=list)

    def problem(self, rule: str, message: str, *, component: str | None, path: str = "", location: Location | None = None,
                hint: str | None = None, severity: Severity = Severity.ERROR) -> None:
        self.problems.append(Diagnostic(message=message, rule=rule, location=location, cluster=self.cluster, component=component, path=path, severity=severity, hint=hint))

    def problem_at(self, where: tuple[str, str, Location | None], rule: str, message: str, *, hint: str | None = None, severity: Severity = Severity.ERROR) -> None:
        """A problem at (component, values key, file:line)."""
        component, path, location = where
        self.problem(rule, message, component=component, path=path, location=location, hint=hint, severity=severity)


@dataclass(frozen=True)
class LiveService:
    namespace: str
    name: str
    selector: dict[str, str]
    ok: bool  # exists, has the port and ready endpoints


def meta_of(item: dict[str, Any]) -> dict[str, Any]:
    """An object's metadata (empty when the API server's JSON has none)."""
    return item.get("metadata") or {}


__all__ = ["KIALI_NO_TRAFFIC", "Check", "Findings", "LiveService", "meta_of"]
