"""Cross-release wiring: fill what the user left unset from the providers in the same cluster, check what
the user typed against them.

No chart checks one release against another, which is how Kiali ends up pointing at a Prometheus that
does not exist (seed 003), at Jaeger's gRPC port on a server without one, or a ServiceMonitor carries
labels the Prometheus never selects. Each component type says what it provides and needs
(:mod:`meshcharts.core.endpoints`); this module does the matching for every type alike.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from meshcharts.core.diagnostics import Diagnostic, Severity
from meshcharts.core.endpoints import (
    Endpoint,
    Need,
    ParsedAddress,
    choose_provider,
    endpoint_from_url,
    parse_address,
)
from meshcharts.core.model import (
    Cluster,
    CompositionView,
    DerivedValue,
    EnvRef,
    Leaf,
    Stack,
    dotted,
)


@dataclass
class ClusterWiring:
    """Everything one cluster provides: endpoints of its components and of the stack's externals."""

    stack: Stack
    cluster: Cluster
    endpoints: list[Endpoint]
    crds: dict[str, str]  # CRD group -> who provides it
    compositions: Mapping[str, CompositionView]  # the cluster's compositions (first pass while deriving)

    def providers(self, role: str) -> list[Endpoint]:
        return [e for e in self.endpoints if e.role == role]


def build_wiring(stack: Stack, cluster: Cluster, compositions: Mapping[str, CompositionView]) -> ClusterWiring:
    endpoints: list[Endpoint] = []
    crds: dict[str, str] = {group: f"cluster {cluster.name} (crds:)" for group in cluster.crds}
    for name, composition in compositions.items():
        component = composition.component
        values = composition.accepted_values()
        endpoints.extend(component.type.endpoints(component, values))
        for group in component.type.provided_crds(component, values):
            crds.setdefault(group, name)
    for external in stack.external.values():
        if cluster.name not in external.clusters:
            continue
        facts = external.facts
        extra: dict[str, Any] = {
            "public_url": external.public_url,
            "target_port": external.target_port,
            "port_name": facts.port_name if facts else None,
            "attributes": {
                "monitors": external.monitors,
                "dashboards": external.grafana_dashboards,
                "pod_labels": dict(facts.pod_labels) if facts else {},
            },
        }
        endpoint = endpoint_from_url(external.provides, f"external {external.name}", external.url, grpc=bool(external.grpc), **extra)
        if endpoint is not None:
            endpoints.append(endpoint)
        if external.provides == "prometheus" and external.monitors.get("mode") == "operator":
            crds.setdefault("monitoring.coreos.com", f"external {external.name}")
    return ClusterWiring(stack, cluster, endpoints, crds, compositions)


def derive_cluster(stack: Stack, cluster: Cluster, compositions: Mapping[str, CompositionView]) -> dict[str, list[DerivedValue]]:
    """Values to fill in for every component on a cluster (layer 1: any file still overrides them)."""
    wiring = build_wiring(stack, cluster, compositions)
    derived: dict[str, list[DerivedValue]] = {}
    for name, composition in compositions.items():
        component = composition.component
        values = composition.accepted_values()
        found: list[DerivedValue] = []
        for need in component.type.needs(component, values):
            found.extend(_derive_need(composition, need, wiring))
        found.extend(component.type.derive_extra(composition, wiring))
        if found:
            derived[name] = found
    return derived


def _derive_need(composition: CompositionView, need: Need, wiring: ClusterWiring) -> list[DerivedValue]:
    providers = wiring.providers(need.role)
    user_grpc = composition.get(need.grpc_path) if need.grpc_path and composition.is_user_set(need.grpc_path) else None
    if composition.is_user_set(need.path):
        typed = composition.get(need.path)
        endpoint = _match(parse_address(typed, need.form), providers) if isinstance(typed, str) else None
        if endpoint is None or need.grpc_path is None or user_grpc is not None:
            return []
        return [DerivedValue(need.grpc_path, endpoint.grpc, f"derived from {endpoint.source()} ({endpoint.describe()})")]
    endpoint = choose_provider(providers, user_grpc if user_grpc is not None else (need.grpc_default if need.grpc_path else None))
    if endpoint is None:
        return []
    reason = f"derived from {endpoint.source()} ({endpoint.describe()})"
    found = [DerivedValue(need.path, need.render(endpoint), reason)]
    if need.grpc_path and user_grpc is None:
        found.append(DerivedValue(need.grpc_path, endpoint.grpc, reason))
    if need.enable_path and not composition.is_user_set(need.enable_path):
        found.append(DerivedValue(need.enable_path, True, reason))
    if need.public_path and endpoint.public_url and not composition.is_user_set(need.public_path):
        found.append(DerivedValue(need.public_path, endpoint.public_url, reason))
    if need.extra:
        for path, value in need.extra(endpoint).items():
            if not composition.is_user_set(path):
                found.append(DerivedValue(path, value, reason))
    return found


def _match(parsed: ParsedAddress | None, providers: list[Endpoint]) -> Endpoint | None:
    if parsed is None:
        return None
    for endpoint in providers:
        if _same_service(parsed, endpoint) and parsed.port == endpoint.port:
            return endpoint
    return None


def _same_service(parsed: ParsedAddress, endpoint: Endpoint) -> bool:
    if endpoint.external and not endpoint.namespace:
        return parsed.host == endpoint.service
    return parsed.service == endpoint.service and parsed.namespace in (endpoint.namespace, None)


def check_wiring(stack: Stack, compositions: Sequence[CompositionView], everything: Mapping[str, Sequence[CompositionView]]) -> list[Diagnostic]:
    """Check every composition's needs against its cluster's providers (and each type's own checks).

    ``compositions`` are the ones to judge; ``everything`` holds each of their clusters' compositions,
    since a provider may be a component no changed file touches.
    """
    by_cluster: dict[str, dict[str, CompositionView]] = {}
    for composition in compositions:
        by_cluster.setdefault(composition.cluster.name, {})[composition.component.name] = composition
    found: list[Diagnostic] = []
    for cluster_name, selected in by_cluster.items():
        on_cluster = {c.component.name: c for c in everything[cluster_name]}
        wiring = build_wiring(stack, stack.clusters[cluster_name], on_cluster)
        for composition in selected.values():
            if composition.broken:
                continue
            component = composition.component
            values = composition.accepted_values()
            for need in component.type.needs(component, values):
                found.extend(_check_need(composition, need, wiring))
            found.extend(_check_crds(composition, values, wiring))
            found.extend(component.type.check_extra(composition, wiring))
    return found


def _check_crds(composition: CompositionView, values: dict[str, Any], wiring: ClusterWiring) -> list[Diagnostic]:
    component = composition.component
    found = []
    for group, kinds in component.type.required_crds(component, values).items():
        if group not in wiring.crds:
            found.append(
                _problem(
                    composition,
                    (),
                    f'no matches for kind {"/".join(kinds)} in version {group}/v1: nothing in this cluster installs the {group} CRDs '
                    "(the error `helm install` would give)",
                    "wiring.missing-crds",
                    hint="add a component that installs them, list the group under the cluster's crds: if it is installed outside the stack"
                    + (", declare an operator-run Prometheus under external: (monitors: {mode: operator}), or turn the monitors off" if group == "monitoring.coreos.com" else ""),
                )
            )
    return found


def _check_need(composition: CompositionView, need: Need, wiring: ClusterWiring) -> list[Diagnostic]:
    providers = wiring.providers(need.role)
    value = composition.get(need.path)
    typed = composition.node(need.path)
    if isinstance(typed, Leaf) and isinstance(typed.value, EnvRef):
        return [_problem(composition, need.path, f"{need.description} is a secret read at apply time (!env {typed.value.name}), so meshcharts cannot check where it points", "wiring.unchecked-secret", severity=Severity.WARNING)]
    if value is None and composition.is_user_set(need.path):
        return []  # set, but to a value the schema rejected: the schema's finding says what is wrong
    if value is None:
        if need.required and not providers:
            default = f"; its default {need.default_url} points at no Service the stack creates" if need.default_url else ""
            return [
                _problem(
                    composition,
                    need.path,
                    f"{need.description} is not set and nothing in cluster {composition.cluster.name} provides {need.role}{default}",
                    "wiring.no-provider",
                    hint=f"add a component that provides {need.role}, or declare it under external:",
                )
            ]
        if len({e.provider for e in providers}) > 1:
            names = ", ".join(sorted({e.describe() for e in providers}))
            return [_problem(composition, need.path, f"{need.description} could come from several providers ({names}); set it", "wiring.ambiguous")]
        return []
    if not composition.is_user_set(need.path):
        if need.grpc_path and composition.is_user_set(need.grpc_path):
            endpoint = _match(parse_address(value, need.form), providers)
            if endpoint is not None:
                return _check_grpc(composition, need, endpoint, [e for e in providers if e.service == endpoint.service])
        return []
    parsed = parse_address(value, need.form)
    if parsed is not None and need.form == "host-port" and "://" in str(value):
        best = choose_provider(providers, None)
        return [_problem(composition, need.path, f"{need.description} is host:port, without scheme or path", "wiring.bad-address", hint=f"use {need.render(best)}" if best else None)]
    if parsed is None:
        return [_problem(composition, need.path, f"{need.description}: {value!r} is not an address", "wiring.bad-url")]
    return _compare(composition, need, parsed, providers, wiring)


def _compare(composition: CompositionView, need: Need, parsed: ParsedAddress, providers: list[Endpoint], wiring: ClusterWiring) -> list[Diagnostic]:
    same_service = [e for e in providers if _same_service(parsed, e)]
    best = choose_provider(providers, None)
    hint = f"use {need.render(best)}" if best else None
    if not same_service:
        if parsed.in_cluster:
            elsewhere = [e for e in wiring.endpoints if e.service == parsed.service and e.namespace != (parsed.namespace or "")]
            if elsewhere and parsed.namespace is not None:
                where = elsewhere[0]
                return [_problem(composition, need.path, f"{need.description}: Service {parsed.service} is in namespace {where.namespace}, not {parsed.namespace}", "wiring.wrong-namespace", hint=f"use {need.render(where)}" if where.role == need.role else None)]
        other = [e for e in wiring.endpoints if _same_service(parsed, e) and e.role != need.role]
        if other:
            kind = other[0]
            return [_problem(composition, need.path, f"{need.description}: {kind.service}.{kind.namespace} is the {kind.role} Service of {kind.source()}, not a {need.role} endpoint", "wiring.wrong-service", hint=hint)]
        if providers:
            return [_problem(composition, need.path, f"{need.description}: {parsed.host} is not a Service anything in the stack creates", "wiring.unknown-host", hint=hint)]
        return [
            _problem(
                composition,
                need.path,
                f"{need.description} points outside the stack ({parsed.host}); declare it under external: so meshcharts can check it",
                "wiring.undeclared-external",
                severity=Severity.WARNING,
            )
        ]
    on_port = [e for e in same_service if e.port == parsed.port]
    if not on_port:
        ports = ", ".join(str(e.port) for e in same_service)
        return [_problem(composition, need.path, f"{need.description}: {parsed.service} listens on port {ports}, not {parsed.port}", "wiring.wrong-port", hint=hint)]
    endpoint = on_port[0]
    found: list[Diagnostic] = []
    if need.form == "url" and not endpoint.grpc and endpoint.path and endpoint.path.rstrip("/") != parsed.path.rstrip("/"):
        found.append(_problem(composition, need.path, f"{need.description}: {endpoint.service} serves under {endpoint.path}, not {parsed.path or '/'}", "wiring.wrong-path", hint=f"use {need.render(endpoint)}"))
    if need.grpc_path is not None:
        found.extend(_check_grpc(composition, need, endpoint, same_service))
    return found


def _check_grpc(composition: CompositionView, need: Need, endpoint: Endpoint, same_service: list[Endpoint]) -> list[Diagnostic]:
    assert need.grpc_path is not None
    flag = composition.get(need.grpc_path)
    if flag is None and composition.is_user_set(need.grpc_path):
        return []  # set to a value the schema rejected, which the schema reports
    uses_grpc = need.grpc_default if flag is None else bool(flag)
    if uses_grpc == endpoint.grpc:
        return []
    where = dotted(need.grpc_path)
    if uses_grpc:
        grpc_ports = [e for e in same_service if e.grpc]
        fix = f"set {where}: false" + (f", or use port {grpc_ports[0].port}" if grpc_ports else "")
        why = "is unset and defaults to true" if flag is None else "is true"
        return [_problem(composition, need.grpc_path if flag is not None else need.path, f"{need.description}: {where} {why}, but {endpoint.service}:{endpoint.port} serves HTTP only", "wiring.grpc-mismatch", hint=fix)]
    return [_problem(composition, need.grpc_path if flag is not None else need.path, f"{need.description}: {endpoint.service}:{endpoint.port} is a gRPC port but {where} is false", "wiring.grpc-mismatch", hint=f"set {where}: true, or use the HTTP port")]


def _problem(composition: CompositionView, path: tuple[str, ...], message: str, rule: str, *, hint: str | None = None, severity: Severity = Severity.ERROR) -> Diagnostic:
    location = composition.locate(path, False) if path and composition.node(path) is not None else composition.component.location
    return Diagnostic(
        message=message,
        rule=rule,
        location=location,
        cluster=composition.cluster.name,
        component=composition.component.name,
        path=dotted(path),
        severity=severity,
        hint=hint,
    )
