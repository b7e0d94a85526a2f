"""The live checks of ``verify``: each target of :mod:`meshcharts.deploy.verify_targets` against one cluster.

* An address names a Service that exists, serves that port and has ready endpoints behind it (an
  EndpointSlice endpoint with ``conditions.ready`` not false, on the slice port of that Service
  port); an address outside the cluster is one the stack declares under ``external:`` and that resolves.
* The Prometheus objects behind the cluster's Prometheus Service select every ServiceMonitor and
  PodMonitor the stack's releases created (:mod:`meshcharts.deploy.verify_monitors`).
* Every CRD kind a release uses is served: its CustomResourceDefinition exists and is Established.
* Every dashboard ConfigMap exists where, and with the label, the live Grafana's dashboard sidecar looks.

Each problem is a Diagnostic at the values key and file:line that caused it, with what to change.
"""

from __future__ import annotations

import socket
import threading
from typing import Any

from meshcharts.core.diagnostics import Severity
from meshcharts.core.grafana_sidecar import DashboardSidecar, dashboard_sidecar
from meshcharts.deploy.selectors import describe_selector, selector_matches
from meshcharts.deploy.verify_findings import Check, Findings, LiveService, meta_of
from meshcharts.deploy.verify_monitors import check_monitors
from meshcharts.deploy.verify_reads import ClusterReads
from meshcharts.deploy.verify_targets import AddressTarget, ClusterTargets

RESOLVE_TIMEOUT = 5.0  # seconds for one DNS lookup of an external host


def check_cluster(reads: ClusterReads, targets: ClusterTargets, findings: Findings) -> None:
    """Every check of one cluster; raises verify_reads.Unreachable/Forbidden when the cluster stops answering."""
    services: dict[tuple[str, str], LiveService] = {}
    for target in targets.addresses:
        checked = _check_address(reads, target, findings)
        if checked is not None:
            services.setdefault((checked.namespace, checked.name), checked)
    prometheus = _role_services(reads, targets, services, "prometheus", targets.prometheus_services)
    if targets.monitors:
        check_monitors(reads, targets, prometheus, findings)
    _check_crds(reads, targets, findings)
    if targets.dashboards:
        grafana = _role_services(reads, targets, services, "grafana", targets.grafana_services)
        _check_dashboards(reads, targets, grafana, findings)


# --- addresses -----------------------------------------------------------------------------------


def _check_address(reads: ClusterReads, target: AddressTarget, findings: Findings) -> LiveService | None:
    parsed = target.parsed
    where = (target.component, target.path, target.location)
    said = f"{target.description} {target.shown}"
    if not parsed.in_cluster:
        _check_external_host(target, findings)
        return None
    namespace, name, port = target.namespace, str(parsed.service), parsed.port
    subject = f"{target.path} -> Service {namespace}/{name}:{port}"
    service = reads.service(namespace, name)
    if service is None:
        findings.checks.append(Check("address", target.component, subject, False, "no such Service"))
        declared = f"; the stack declares it under external.{target.external.name}" if target.external else ""
        findings.problem_at(where, "verify.service-missing", f"{said}: cluster {findings.cluster} has no Service {name} in namespace {namespace}{declared}",
                         hint=_set_where(target) + ", or install what provides it")
        return None
    spec = service.get("spec") or {}
    selector = dict(spec.get("selector") or {})
    ports = [item for item in spec.get("ports") or [] if isinstance(item, dict)]
    match = next((item for item in ports if item.get("port") == port), None)
    if spec.get("type") == "ExternalName":
        findings.checks.append(Check("address", target.component, subject, True, f"ExternalName {spec.get('externalName')}"))
        return LiveService(namespace, name, selector, True)
    if match is None:
        listed = ", ".join(f"{item.get('port')}" + (f" ({item['name']})" if item.get("name") else "") for item in ports) or "no port"
        findings.checks.append(Check("address", target.component, subject, False, f"ports {listed}"))
        findings.problem_at(where, "verify.service-port", f"{said}: Service {namespace}/{name} serves {listed}, not {port}", hint=_set_where(target))
        return LiveService(namespace, name, selector, False)
    ready, not_ready = _ready_endpoints(reads.endpoint_slices(namespace, name), match)
    target_port = match.get("targetPort")
    if target_port is None:
        target_port = port
    detail = f"targetPort {target_port}: {ready} ready endpoint{'s' if ready != 1 else ''}" + (f", {not_ready} not ready" if not_ready else "")
    findings.checks.append(Check("address", target.component, subject, ready > 0, detail))
    if ready:
        return LiveService(namespace, name, selector, True)
    findings.problem_at(where, "verify.no-ready-endpoints", f"{said}: Service {namespace}/{name} has no ready endpoints on port {port} (targetPort {target_port}){_why_not_ready(reads, namespace, selector)}",
                     hint=f"make its Pods ready, or {_set_where(target)}")
    return LiveService(namespace, name, selector, False)


def _ready_endpoints(slices: list[dict[str, Any]], service_port: dict[str, Any]) -> tuple[int, int]:
    """(ready, not ready) endpoints of the slices for one Service port (slice ports carry the Service port's name).

    ``conditions.ready`` unset counts as ready, as the EndpointSlice API says consumers must read it.
    """
    wanted = service_port.get("name") or ""
    protocol = service_port.get("protocol") or "TCP"
    ready = not_ready = 0
    for item in slices:
        ports = [port for port in item.get("ports") or [] if isinstance(port, dict)]
        if not any((port.get("name") or "") == wanted and (port.get("protocol") or "TCP") == protocol for port in ports):
            continue
        for endpoint in item.get("endpoints") or []:
            conditions = endpoint.get("conditions") if isinstance(endpoint, dict) else None
            if not isinstance(conditions, dict) or conditions.get("ready") is not False:
                ready += 1
            else:
                not_ready += 1
    return ready, not_ready


def _why_not_ready(reads: ClusterReads, namespace: str, selector: dict[str, str]) -> str:
    """Why a Service has no ready endpoint, from its Pods: none selected, or none ready."""
    if not selector:
        return ": it has no selector and no EndpointSlice lists a ready address"
    pods = reads.pods(namespace, selector)
    labels = ",".join(f"{key}={value}" for key, value in sorted(selector.items()))
    if not pods:
        return f": its selector {labels} matches no Pod"
    return f": {len(pods)} Pod{'s' if len(pods) != 1 else ''} labelled {labels}, none ready"


def _check_external_host(target: AddressTarget, findings: Findings) -> None:
    host = target.parsed.host
    where = (target.component, target.path, target.location)
    subject = f"{target.path} -> {host}:{target.parsed.port}"
    if target.external is None:
        findings.problem_at(where, "verify.undeclared-external", f"{target.description} {target.shown} is outside the cluster and not declared under external:, so verify can only check that {host} resolves",
                         severity=Severity.WARNING)
    error = _resolve(host, target.parsed.port)
    findings.checks.append(Check("address", target.component, subject, error is None, error or "resolves"))
    if error is not None:
        findings.problem_at(where, "verify.unresolvable", f"{target.description} {target.shown}: {host} does not resolve from here ({error})",
                         hint=f"check the host name in {target.path}" + (f" and external.{target.external.name}.url" if target.external else ""))


def _resolve(host: str, port: int) -> str | None:
    """None when ``host`` resolves within RESOLVE_TIMEOUT, else why not (a daemon thread: a hung resolver cannot hold the exit)."""
    outcome: list[str | None] = []

    def lookup() -> None:
        try:
            socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
            outcome.append(None)
        except (OSError, UnicodeError) as exc:
            outcome.append(str(exc) or type(exc).__name__)

    thread = threading.Thread(target=lookup, name="meshcharts-verify-dns", daemon=True)
    thread.start()
    thread.join(RESOLVE_TIMEOUT)
    return outcome[0] if outcome else f"no answer within {RESOLVE_TIMEOUT:g}s"


def _set_where(target: AddressTarget) -> str:
    if target.external is not None:
        return f"fix external.{target.external.name}.url in the stack file"
    return f"set {target.path} to the Service that serves it"


def _role_services(reads: ClusterReads, targets: ClusterTargets, live: dict[tuple[str, str], LiveService], role: str,
                   providers: list[tuple[str, str, int, str]]) -> list[LiveService]:
    """The live Services of a role: the ones the addresses name, else the ones the wiring knows of."""
    found = [live[(t.namespace, str(t.parsed.service))] for t in targets.addresses
             if t.role == role and t.parsed.in_cluster and (t.namespace, str(t.parsed.service)) in live]
    if not found:
        for namespace, name, _, _ in providers:
            answer = reads.service(namespace, name)
            if answer is not None:
                found.append(LiveService(namespace, name, dict((answer.get("spec") or {}).get("selector") or {}), True))
    unique: dict[tuple[str, str], LiveService] = {}
    for service in found:
        unique.setdefault((service.namespace, service.name), service)
    return list(unique.values())


# --- CRDs ----------------------------------------------------------------------------------------


def _check_crds(reads: ClusterReads, targets: ClusterTargets, findings: Findings) -> None:
    if not targets.crds:
        return
    crds = reads.crds()
    for target in targets.crds:
        subject = f"{target.kind} ({target.group})"
        crd = next((item for item in crds if item["group"] == target.group and item["kind"] == target.kind), None)
        if crd is None:
            findings.checks.append(Check("crd", target.component, subject, False, "not installed"))
            findings.problem("verify.crd-missing", f"cluster {findings.cluster} serves no {target.kind} of {target.group}: its CRD is not installed, and this release's {target.kind} objects cannot exist",
                             component=target.component, location=target.location,
                             hint=f"install the release that provides {target.group}, or the CRDs by hand (and list the group under the cluster's crds:)")
            continue
        established = crd["conditions"].get("Established")
        findings.checks.append(Check("crd", target.component, subject, established == "True", f"CRD {crd['name']} Established={established}"))
        if established != "True":
            findings.problem("verify.crd-not-established", f"CRD {crd['name']} ({target.kind}) is not Established (Established={established or 'unset'}): the API server does not serve it",
                             component=target.component, location=target.location, hint=f"see `kubectl describe crd {crd['name']}` for its conditions (NamesAccepted, a conflicting CRD)")


# --- dashboards ----------------------------------------------------------------------------------


def live_sidecar(reads: ClusterReads, service: LiveService) -> tuple[str, DashboardSidecar | None, str] | None:
    """The dashboard sidecar of the Grafana behind a Service: (workload, sidecar or None, RESOURCE); None: no workload found.

    The grafana chart runs it as container ``<name>-sc-dashboard`` with env LABEL, LABEL_VALUE (when
    set), NAMESPACE (when set) and RESOURCE; read as :func:`dashboard_sidecar` reads the chart's values.
    """
    if not service.selector:
        return None
    for kind, workload in reads.workloads(service.namespace):
        template = (workload.get("spec") or {}).get("template") or {}
        if not selector_matches({"matchLabels": service.selector}, dict(meta_of(template).get("labels") or {})):
            continue
        name = f"{kind} {service.namespace}/{meta_of(workload).get('name')}"
        for container in (template.get("spec") or {}).get("containers") or []:
            container_name = str(container.get("name") or "")
            env = {item.get("name"): item["value"] for item in container.get("env") or [] if item.get("value") is not None}
            if container_name.endswith("sc-dashboard") or ("LABEL" in env and "dashboard" in env["LABEL"]):
                sidecar = dashboard_sidecar(env.get("LABEL"), env.get("LABEL_VALUE"), env.get("NAMESPACE"), service.namespace, f"{name} (container {container_name})")
                return name, sidecar, env.get("RESOURCE", "both")
        return name, None, ""
    return None


def _check_dashboards(reads: ClusterReads, targets: ClusterTargets, services: list[LiveService], findings: Findings) -> None:
    found = next((item for item in (live_sidecar(reads, service) for service in services) if item is not None), None)
    if found is None:
        return  # no Grafana workload behind a known Service: the address checks say what is missing
    workload, sidecar, resource = found
    for target in targets.dashboards:
        where = (target.component, target.path, target.location)
        subject = f"ConfigMap {target.namespace}/{target.name}"
        if sidecar is None or resource == "secret":
            why = "runs no dashboard sidecar" if sidecar is None else "has its dashboard sidecar read Secrets only (RESOURCE=secret)"
            findings.checks.append(Check("dashboard", target.component, subject, False, why))
            findings.problem_at(where, "verify.dashboard-not-loaded", f"the Grafana of {workload} {why}: dashboard {target.name} is never loaded",
                             hint="enable grafana.sidecar.dashboards in the values of the release that installs Grafana")
            continue
        config_map = reads.config_map(target.namespace, target.name)
        if config_map is None:
            findings.checks.append(Check("dashboard", target.component, subject, False, "not on the cluster"))
            findings.problem_at(where, "verify.dashboard-missing", f"dashboard ConfigMap {target.namespace}/{target.name} is not on the cluster", hint="run meshcharts apply")
            continue
        labels = dict(meta_of(config_map).get("labels") or {})
        if sidecar.searches(target.namespace) and sidecar.selects(labels):
            findings.checks.append(Check("dashboard", target.component, subject, True, f"loaded by {sidecar.source}"))
            continue
        if not sidecar.searches(target.namespace):
            why = f"it searches namespace{'s' if len(sidecar.namespaces or ()) > 1 else ''} {', '.join(sidecar.namespaces or ())}, not {target.namespace}"
            hint = f"set dashboards.namespace: {sidecar.home(target.namespace)}"
        else:
            why = f"it loads ConfigMaps labelled {sidecar.describe_labels()}; this one carries {describe_selector(labels)}"
            hint = f'set dashboards.sidecarLabels: {{{sidecar.label}: "{sidecar.wanted_labels()[sidecar.label]}"}}'
        findings.checks.append(Check("dashboard", target.component, subject, False, why))
        findings.problem_at(where, "verify.dashboard-not-loaded", f"the dashboard sidecar of {sidecar.source} never loads {subject}: {why}", hint=hint)
