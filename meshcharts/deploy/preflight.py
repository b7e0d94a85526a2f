"""Pre-flight: what would fail on apply, per cluster, judged before any release of any cluster is tried.

helm finds these only at install time, after earlier releases went in ("no matches for kind Gateway in
version networking.istio.io/v1beta1", "chart requires kubeVersion ..."), or never (a PVC waits forever
for a StorageClass the cluster lacks). The checks read what the cluster serves
(:class:`~meshcharts.deploy.discovery.ClusterFacts`) and what each release would apply, in install
order, and make no API call of their own: plan and apply call them with data already read.

Each finding points at the values line that caused it where one did (the key that switched the object
on, the key that names the StorageClass or the namespace), else at the component in the stack file.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import semver

from meshcharts.checks.removed_apis import rendering_key
from meshcharts.compose.project import Composition
from meshcharts.core.diagnostics import Diagnostic, Location
from meshcharts.core.kubeapis import removal
from meshcharts.core.model import Branch, PathT, dotted
from meshcharts.deploy.chartfiles import chart_crds, chart_kube_version, crd_kinds, mapping
from meshcharts.deploy.discovery import ClusterFacts
from meshcharts.deploy.preflight_keys import api_group, object_key, value_key
from meshcharts.helm.constraints import ConstraintError, parse_constraint, parse_version

UNSERVED = "preflight.unserved-kind"
KUBE_VERSION = "preflight.kube-version"
STORAGE_CLASS = "preflight.storage-class"
NAMESPACE = "preflight.namespace"

#: Kinds the prometheus-operator turns into StatefulSets whose PVCs follow ``spec.storage.volumeClaimTemplate``.
_OPERATOR_STORAGE = {("monitoring.coreos.com", "Prometheus"), ("monitoring.coreos.com", "Alertmanager"), ("monitoring.coreos.com", "ThanosRuler")}
_SHOWN_NAMES = 3


@dataclass(frozen=True)
class ReleaseObjects:
    """One release as apply would install it on one cluster: its objects, the chart's kubeVersion, its CRDs."""

    cluster: str
    component: str
    release: str
    namespace: str
    objects: list[dict[str, Any]]  # the manifests helm would apply (rendered with the cluster's Capabilities), hooks excluded
    kube_version: str | None  # the chart's Chart.yaml kubeVersion constraint, if any
    crds: list[dict[str, Any]]  # CRD objects of the chart's crds/ folders (helm installs them first)
    composition: Composition | None  # provenance; None for a prerequisite CRD chart


def preflight(facts: ClusterFacts, releases: Sequence[ReleaseObjects], *, helm: semver.Version | None = None) -> list[Diagnostic]:
    """Every error apply would meet on this cluster, releases judged in their install order.

    ``helm`` is the version of the helm that will install them (``HelmClient.version()``): helm up to
    3.10 reads a chart's kubeVersion slightly differently (:mod:`meshcharts.helm.constraints`);
    None judges as current helms do.

    A kind counts as served when the cluster serves it, or an earlier release (or this release's own
    crds/ folder, which helm installs before the templates) creates a CRD for it. helm installs crds/
    on a release's first install only: a CRD that a newer chart version adds there counts here, though
    an upgrade would not create it. A namespace exists when
    the cluster has it, it is the namespace of this or an earlier release (apply runs helm with
    ``--create-namespace``), or this or an earlier release renders it as a Namespace object.
    """
    by_component = {item.component: item.composition for item in releases if item.composition is not None}
    provided: dict[tuple[str, str], bool] = {}  # (apiVersion, kind) -> namespaced, from earlier releases' CRDs
    namespaces = set(facts.namespaces)
    found: list[Diagnostic] = []
    for index, item in enumerate(releases):
        place = _Place(facts, item, item.composition or by_component.get(item.component), helm)
        kinds = {**provided, **crd_kinds(item.crds)}
        namespaces.add(item.namespace)
        namespaces.update(_namespace_objects(item.objects))
        found += _kube_version(place)
        found += _unserved(place, kinds)
        if facts.storage_classes_listed:  # else the credentials may not list them: nothing to judge by
            found += _storage(place)
        if facts.namespaces_listed:
            found += _namespaces(place, kinds, namespaces, releases[index + 1:])
        provided.update(crd_kinds([*item.crds, *item.objects]))
    return found


@dataclass(frozen=True)
class _Place:
    """A release on a cluster, and how to blame a finding on its values or its component."""

    facts: ClusterFacts
    item: ReleaseObjects
    composition: Composition | None  # the component's, also for its prerequisite releases
    helm: semver.Version | None

    @property
    def values(self) -> Composition | None:
        """The values the release was rendered with: none for a prerequisite (its chart's defaults)."""
        return self.item.composition

    def diagnostic(self, rule: str, message: str, hint: str | None, path: PathT | None, user_set: bool = True) -> Diagnostic:
        """At the key's file:line when a layer set it, else at the component's place in the stack file."""
        composition = self.composition
        location: Location | None = None
        if composition is not None:
            location = composition.component.location
            if path is not None and user_set:
                location = composition.locate(path, isinstance(composition.node(path), Branch))
        return Diagnostic(
            message=message, rule=rule, location=location, cluster=self.facts.cluster,
            component=self.item.component, path=dotted(path) if path else "", hint=hint,
        )


# --- the chart's kubeVersion ---------------------------------------------------------------------


def _kube_version(place: _Place) -> list[Diagnostic]:
    constraint = place.item.kube_version
    if not constraint:
        return []
    facts, release = place.facts, place.item.release
    shown = facts.git_version or facts.version
    try:
        parsed = parse_constraint(constraint, place.helm)
    except ConstraintError as error:
        message = f'the chart of {release} declares kubeVersion "{constraint}", which helm cannot read ({error}): it refuses to install it'
        return [place.diagnostic(KUBE_VERSION, message, "pick another chart version", None)]
    version = _cluster_version(facts, place.helm)
    if version is not None and parsed.allows(version, place.helm):
        return []
    message = f'the chart of {release} requires kubeVersion "{constraint}", which excludes cluster {facts.cluster} (Kubernetes {shown})'
    return [place.diagnostic(KUBE_VERSION, message, f"pick a chart version made for Kubernetes {facts.version or shown}", None)]


def _cluster_version(facts: ClusterFacts, helm: semver.Version | None) -> semver.Version | None:
    """The version helm checks: the API server's gitVersion (``v1.27.3-gke.1700`` is a prerelease to it).
    None when neither it nor the plain version parses: helm then refuses every constrained chart."""
    for text in (facts.git_version, facts.version):
        try:
            return parse_version(text, helm)
        except ConstraintError:
            continue
    return None


# --- kinds the cluster does not serve ------------------------------------------------------------


def _unserved(place: _Place, provided: dict[tuple[str, str], bool]) -> list[Diagnostic]:
    missing: dict[tuple[str, str], list[str]] = {}
    for obj in place.item.objects:
        api_version, kind = obj.get("apiVersion"), obj.get("kind")
        if not isinstance(api_version, str) or not isinstance(kind, str):
            continue
        if place.facts.serves(api_version, kind) or (api_version, kind) in provided:
            continue
        missing.setdefault((api_version, kind), []).append(_name(obj))
    return [_unserved_finding(place, api_version, kind, names, provided) for (api_version, kind), names in missing.items()]


def _unserved_finding(place: _Place, api_version: str, kind: str, names: list[str], provided: dict[tuple[str, str], bool]) -> Diagnostic:
    facts = place.facts
    group = api_group(api_version)
    elsewhere = sorted({api for api, served_kind in [*facts.resources, *provided] if served_kind == kind and api_group(api) == group})
    versions = sorted({api.rpartition("/")[2] for api, _ in [*facts.resources, *provided] if api_group(api) == group})
    if elsewhere:
        serves = f"it serves {kind} as {', '.join(elsewhere)}"
    else:
        serves = f"it serves {group or 'the core group'}: {', '.join(versions) or 'none'}"
    message = f"{place.item.release} renders {api_version} {kind} {_names(names)}, which cluster {facts.cluster} does not serve ({serves})"
    removed = removal(api_version, kind)
    if removed is not None:
        message += f"; Kubernetes {removed.removed_in} removed it and the cluster runs {facts.git_version or facts.version}"
    cause = rendering_key(place.values, api_version, kind) if place.values is not None else None
    hint = cause.fix if cause is not None and cause.fix else None
    if hint is None:
        if removed is not None and removed.replacement:
            hint = f"use {removed.replacement}"
        elif elsewhere:
            hint = f"render it as {elsewhere[-1]}"
        elif "." not in group or group.endswith(".k8s.io"):  # a Kubernetes API group: no CRD can add it
            hint = f"Kubernetes {facts.version} does not serve it here (an alpha or beta API must be enabled on the API server): pick a chart version or values made for the cluster"
        else:
            hint = f"install the {group} CRDs before this release (a component earlier in the install order, or on the cluster), or turn off what renders it"
    if cause is not None:
        return place.diagnostic(UNSERVED, message, hint, cause.path, cause.user_set)
    return place.diagnostic(UNSERVED, message, hint, object_key(place.values, api_version, kind, names))


# --- StorageClasses the volume claims name ---------------------------------------------------------


def _storage(place: _Place) -> list[Diagnostic]:
    facts = place.facts
    found: list[Diagnostic] = []
    seen: set[tuple[str | None, str]] = set()
    for obj, claim in _claims(place.item.objects):
        spec = mapping(claim.get("spec"))
        annotations = mapping(mapping(claim.get("metadata")).get("annotations"))
        wanted = spec.get("storageClassName", annotations.get("volume.beta.kubernetes.io/storage-class"))
        if wanted == "":  # "" binds to a PersistentVolume without a class: no class is needed
            continue
        if wanted is not None and (not isinstance(wanted, str) or wanted in facts.storage_classes):
            continue
        if wanted is None and facts.default_storage_class is not None:
            continue
        what = f"{obj.get('kind')} {_name(obj)}"
        if (wanted, what) in seen:
            continue
        seen.add((wanted, what))
        has = f"it has: {', '.join(sorted(facts.storage_classes))}" if facts.storage_classes else "it has none"
        if wanted is None:
            message = f"{place.item.release} claims a volume with no StorageClass ({what}), and cluster {facts.cluster} has no default class ({has})"
            found.append(place.diagnostic(STORAGE_CLASS, message, "name a class the cluster has, or mark one as the cluster's default", None))
            continue
        message = f'{place.item.release} claims a volume of StorageClass "{wanted}" ({what}), which cluster {facts.cluster} lacks ({has})'
        key, user_set = value_key(place.values, wanted, ("storage", "class"))
        found.append(place.diagnostic(STORAGE_CLASS, message, "name a class the cluster has, or create that class first", key, user_set))
    return found


def _claims(objects: list[dict[str, Any]]) -> Iterator[tuple[dict[str, Any], dict[str, Any]]]:
    """(object, claim) for every PVC an object is or will make: a PVC, a StatefulSet's volumeClaimTemplates,
    the prometheus-operator's ``spec.storage.volumeClaimTemplate`` (it makes the StatefulSet)."""
    for obj in objects:
        kind, spec = obj.get("kind"), obj.get("spec")
        if kind == "PersistentVolumeClaim" and obj.get("apiVersion") == "v1":
            yield obj, obj
        elif not isinstance(spec, dict):
            continue
        elif kind == "StatefulSet":
            for template in spec.get("volumeClaimTemplates") or []:
                if isinstance(template, dict):
                    yield obj, template
        elif (api_group(str(obj.get("apiVersion", ""))), kind) in _OPERATOR_STORAGE:
            template = mapping(spec.get("storage")).get("volumeClaimTemplate")
            if isinstance(template, dict):
                yield obj, template


# --- namespaces ----------------------------------------------------------------------------------


def _namespaces(place: _Place, provided: dict[tuple[str, str], bool], namespaces: set[str], later: Sequence[ReleaseObjects]) -> list[Diagnostic]:
    missing: dict[str, list[str]] = {}
    for obj in place.item.objects:
        api_version, kind = obj.get("apiVersion"), obj.get("kind")
        if not isinstance(api_version, str) or not isinstance(kind, str) or kind == "Namespace":
            continue
        resource = place.facts.resource(api_version, kind)
        namespaced = resource.namespaced if resource is not None else provided.get((api_version, kind))
        own = mapping(obj.get("metadata")).get("namespace")
        namespace = own or place.item.namespace
        if namespaced is None and not own:
            continue  # a kind nobody serves (reported above) and no namespace of its own
        if namespaced is False or not isinstance(namespace, str) or namespace in namespaces:
            continue
        missing.setdefault(namespace, []).append(f"{kind} {_name(obj)}")
    found = []
    for namespace, objects in missing.items():
        message = f"{place.item.release} puts {_names(objects)} in namespace {namespace}, which does not exist on cluster {place.facts.cluster} and no release creates before it"
        creator = next((other.release for other in later if other.namespace == namespace or namespace in _namespace_objects(other.objects)), None)
        if creator is not None:
            hint = f"release {creator} creates it later: install {place.item.release} after it (needs:), or create the namespace first"
        else:
            hint = "create the namespace first, or name one that exists"
        key, user_set = value_key(place.values, namespace, ("namespace",))
        found.append(place.diagnostic(NAMESPACE, message, hint, key, user_set))
    return found


def _namespace_objects(objects: list[dict[str, Any]]) -> set[str]:
    return {_name(obj) for obj in objects if obj.get("apiVersion") == "v1" and obj.get("kind") == "Namespace"}


# --- shared --------------------------------------------------------------------------------------


def _name(obj: dict[str, Any]) -> str:
    name = mapping(obj.get("metadata")).get("name")
    return str(name) if name else "(unnamed)"


def _names(names: list[str]) -> str:
    shown = ", ".join(names[:_SHOWN_NAMES])
    return shown if len(names) <= _SHOWN_NAMES else f"{shown} and {len(names) - _SHOWN_NAMES} more"


__all__ = [
    "KUBE_VERSION", "NAMESPACE", "STORAGE_CLASS", "UNSERVED",
    "ReleaseObjects", "chart_crds", "chart_kube_version", "crd_kinds", "preflight",
]
