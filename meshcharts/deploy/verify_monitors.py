"""verify's monitor checks: the Prometheus objects behind the cluster's Prometheus Services select every
ServiceMonitor and PodMonitor the stack's releases created (found by helm's ``meta.helm.sh/release-name``
annotation), read with the operator's rules (:mod:`meshcharts.deploy.selectors`).

This is the "Kiali shows no traffic" failure: Istio's monitors exist, but no Prometheus selects them.
"""

from __future__ import annotations

from typing import Any

from meshcharts.deploy.selectors import monitor_selection, plain_labels_fix
from meshcharts.deploy.verify_findings import KIALI_NO_TRAFFIC, Check, Findings, LiveService, meta_of
from meshcharts.deploy.verify_reads import ClusterReads
from meshcharts.deploy.verify_targets import ClusterTargets, MonitorSource

RELEASE_NAME = "meta.helm.sh/release-name"
RELEASE_NAMESPACE = "meta.helm.sh/release-namespace"


def _name(item: dict[str, Any]) -> str:
    meta = meta_of(item)
    return f"{meta.get('namespace', '')}/{meta.get('name', '')}"


def _prometheus_behind(reads: ClusterReads, services: list[LiveService]) -> tuple[list[dict[str, Any]], str]:
    """The Prometheus objects whose Pods the cluster's Prometheus Services select, and which Services those were.

    The operator labels a Prometheus' Pods ``prometheus: <name>`` (and ``operator.prometheus.io/name``
    since 0.65); a Service selecting on neither is taken to front every Prometheus of its namespace.
    """
    everything = reads.monitoring_objects("Prometheus")
    if not services:
        return everything, "on the cluster"
    found: dict[str, dict[str, Any]] = {}
    for service in services:
        wanted = service.selector.get("operator.prometheus.io/name") or service.selector.get("prometheus")
        for item in everything:
            meta = meta_of(item)
            if meta.get("namespace") == service.namespace and wanted in (None, meta.get("name")):
                found.setdefault(_name(item), item)
    names = ", ".join(f"{service.namespace}/{service.name}" for service in services)
    return list(found.values()), f"behind Service{'s' if len(services) > 1 else ''} {names}"


def check_monitors(reads: ClusterReads, targets: ClusterTargets, services: list[LiveService], findings: Findings) -> None:
    prometheuses, behind = _prometheus_behind(reads, services)
    namespaces = reads.namespace_labels()
    for source in targets.monitors:
        for kind in source.kinds:
            monitors = [item for item in reads.monitoring_objects(kind) if _of_release(item, source)]
            if not monitors:
                findings.checks.append(Check("monitor", source.component, f"{kind}s of release {source.release}", False, "none on the cluster"))
                findings.problem("verify.monitor-missing", f"release {source.namespace}/{source.release} has no {kind} on the cluster, though its values create one; {KIALI_NO_TRAFFIC}",
                                 component=source.component, location=source.location, hint="run meshcharts apply")
                continue
            for monitor in monitors:
                _check_monitor(monitor, kind, source, prometheuses, behind, namespaces, findings)


def _of_release(item: dict[str, Any], source: MonitorSource) -> bool:
    annotations = meta_of(item).get("annotations") or {}
    return annotations.get(RELEASE_NAME) == source.release and annotations.get(RELEASE_NAMESPACE, source.namespace) == source.namespace


def _check_monitor(monitor: dict[str, Any], kind: str, source: MonitorSource, prometheuses: list[dict[str, Any]], behind: str,
                   namespaces: dict[str, dict[str, str]], findings: Findings) -> None:
    meta = meta_of(monitor)
    namespace = str(meta.get("namespace", ""))
    labels = dict(meta.get("labels") or {})
    subject = f"{kind} {_name(monitor)}"
    if not prometheuses:
        findings.checks.append(Check("monitor", source.component, subject, False, f"no Prometheus object {behind}"))
        findings.problem("verify.no-prometheus", f"no Prometheus object (monitoring.coreos.com/v1) runs {behind}: nothing scrapes {subject}; {KIALI_NO_TRAFFIC}",
                         component=source.component, location=source.location,
                         hint="point the stack at the operator-run Prometheus (its Service), or turn the monitors off and use scrape jobs")
        return
    refusals = []
    for prometheus in prometheuses:
        spec = prometheus.get("spec") or {}
        selection = monitor_selection(spec, str(meta_of(prometheus).get("namespace", "")), kind, namespace, labels, namespaces.get(namespace, {}))
        if selection.selected:
            findings.checks.append(Check("monitor", source.component, subject, True, f"selected by Prometheus {_name(prometheus)}"))
            return
        refusals.append((prometheus, selection))
    prometheus, selection = refusals[0]
    findings.checks.append(Check("monitor", source.component, subject, False, selection.reason))
    spec = prometheus.get("spec") or {}
    missing = plain_labels_fix(spec.get(selection.field), labels) if selection.field.endswith("MonitorSelector") else None
    if missing and source.labels_path:
        hint = f"add {', '.join(f'{key}: {value}' for key, value in missing.items())} to {source.labels_path}"
    else:
        hint = f"change the Prometheus' {selection.field} (spec.{selection.field} of {_name(prometheus)}, set by the values of the release that installs it)"
    findings.problem("verify.monitor-not-selected", f"Prometheus {_name(prometheus)} ({behind}) does not select {subject}: {selection.reason}; {KIALI_NO_TRAFFIC}",
                     component=source.component, path=source.labels_path if missing else "", location=source.location, hint=hint)


__all__ = ["check_monitors"]
