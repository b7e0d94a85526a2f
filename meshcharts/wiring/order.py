"""The releases of one cluster, in the order they must be installed.

Helm installs one release at a time and knows nothing of the others, so the order is ours to get
right: a CRD chart before the release that uses its kinds (rancher-kiali-server-crd first), the
monitoring.coreos.com CRDs (kube-prometheus-stack) before ServiceMonitors and PodMonitors
(mesh-extras) — otherwise helm fails with "no matches for kind PodMonitor" — and whatever a component
lists under ``needs:``. Render, plan and apply all take this order.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from meshcharts.core.diagnostics import ConfigError, Diagnostic
from meshcharts.core.model import CompositionView


@dataclass(frozen=True)
class Release:
    """One ``helm upgrade -i`` on one cluster."""

    cluster: str
    component: str  # the stack component this release belongs to
    name: str  # helm release name
    namespace: str
    chart: str  # chart name, or a path/URL for local and oci charts
    repo: str
    version: str
    prerequisite: bool = False  # a CRD chart installed for the component, not the component itself
    generated: bool = False  # a chart meshcharts writes (charts-out/)

    @property
    def key(self) -> str:
        return f"{self.cluster}/{self.name}"


def releases_for(composition: CompositionView) -> list[Release]:
    """The component's release and the prerequisite releases that go before it."""
    component = composition.component
    cluster = composition.cluster.name
    found = [
        Release(cluster, component.name, prerequisite.release, component.namespace, prerequisite.chart, component.repo, component.version, prerequisite=True)
        for prerequisite in component.type.prerequisites
    ]
    found.append(
        Release(cluster, component.name, component.release, component.namespace, component.chart, component.repo, component.version, generated=component.type.generated)
    )
    return found


def ordered_releases(cluster_compositions: Sequence[CompositionView], cluster: str) -> list[tuple[Release, frozenset[Release]]]:
    """Every release on ``cluster`` in install order, each with the releases that must be installed before it.

    The order and the edges come from one pass over the components (what each needs, which CRDs each
    provides and requires): a component's prerequisite releases come before its own, one after the
    other; a component that needs another (``needs:``, or the CRDs it provides) comes after that
    component's last release. Releases with no path between them may be installed at the same time.
    """
    compositions = {c.component.name: c for c in cluster_compositions}
    component_after = _component_after(compositions)
    chains = {name: releases_for(c) for name, c in compositions.items()}
    ordered: list[tuple[Release, frozenset[Release]]] = []
    for name in _topological(list(compositions), component_after, cluster):
        chain = chains[name]
        for index, release in enumerate(chain):
            before = {chain[index - 1]} if index else {chains[other][-1] for other in component_after[name]}
            ordered.append((release, frozenset(before)))
    return ordered


def install_order(cluster_compositions: Sequence[CompositionView], cluster: str) -> list[Release]:
    """Every release on ``cluster`` (given its compositions), dependencies first; stack order where nothing constrains it."""
    return [release for release, _ in ordered_releases(cluster_compositions, cluster)]


def _component_after(compositions: dict[str, CompositionView]) -> dict[str, set[str]]:
    """Per component, the components whose releases must be installed first."""
    after: dict[str, set[str]] = {name: set(c.component.needs) & set(compositions) for name, c in compositions.items()}
    crd_providers: dict[str, set[str]] = {}
    for name, composition in compositions.items():
        values = composition.accepted_values()
        for group in composition.component.type.provided_crds(composition.component, values):
            crd_providers.setdefault(group, set()).add(name)
    for name, composition in compositions.items():
        values = composition.accepted_values()
        for group in composition.component.type.required_crds(composition.component, values):
            after[name] |= crd_providers.get(group, set()) - {name}
    return after


def _topological(names: list[str], after: dict[str, set[str]], cluster: str) -> list[str]:
    done: list[str] = []
    visiting: list[str] = []

    def visit(name: str) -> None:
        if name in done:
            return
        if name in visiting:
            cycle = visiting[visiting.index(name) :] + [name]
            raise ConfigError(
                Diagnostic(
                    message=f"components depend on each other in a circle: {' -> '.join(cycle)}",
                    rule="order.cycle",
                    cluster=cluster,
                    component=name,
                    path="needs",
                )
            )
        visiting.append(name)
        for before in sorted(after.get(name, ()), key=names.index):
            visit(before)
        visiting.pop()
        done.append(name)

    for name in names:
        visit(name)
    return done
