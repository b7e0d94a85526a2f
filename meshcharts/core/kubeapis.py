"""Kubernetes API versions that clusters stopped serving, and the chart values that still render them.

A chart renders whatever ``apiVersion`` its templates say; Helm neither lints nor warns when that API is
gone from the cluster (``helm template`` happily prints a ``policy/v1beta1`` PodSecurityPolicy for 1.30),
and the install fails only against the live API server. Which values switch such an object on is a fact
about one chart version, found by rendering the real chart: each component type lists those facts as
:class:`RendersApi` data, and one rule in the checks stage compares them with the cluster's
``kubernetes:`` version. The removals below are Kubernetes' own (the deprecated API migration guide).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from meshcharts.core.versions import VersionRange

KUBERNETES_VERSION = re.compile(r"^(?P<major>[1-9][0-9]*)\.(?P<minor>0|[1-9][0-9]*)$")


def kubernetes_minor(text: str) -> tuple[int, int]:
    """``"1.30"`` -> ``(1, 30)``; the stack schema has already checked the form."""
    match = KUBERNETES_VERSION.match(str(text).strip())
    if match is None:
        raise ValueError(f"{text!r} is not a Kubernetes version MAJOR.MINOR, e.g. \"1.30\"")
    return int(match.group("major")), int(match.group("minor"))


@dataclass(frozen=True)
class RemovedApi:
    """An ``apiVersion`` of a kind that Kubernetes ``removed_in`` no longer serves.

    ``convertible`` says the object can be moved to ``replacement`` by changing ``apiVersion`` alone
    (same fields), which is what the istio-addons generator does with manifests it copies.
    """

    api_version: str
    kind: str | None  # None: every kind of that group version
    removed_in: str
    replacement: str | None
    convertible: bool = False

    def describe(self) -> str:
        return f"{self.api_version} {self.kind}" if self.kind else self.api_version


REMOVED_APIS: tuple[RemovedApi, ...] = (
    RemovedApi("extensions/v1beta1", "Ingress", "1.22", "networking.k8s.io/v1"),
    RemovedApi("extensions/v1beta1", "PodSecurityPolicy", "1.16", None),
    RemovedApi("extensions/v1beta1", None, "1.16", "apps/v1"),
    RemovedApi("apps/v1beta1", None, "1.16", "apps/v1"),
    RemovedApi("apps/v1beta2", None, "1.16", "apps/v1"),
    RemovedApi("networking.k8s.io/v1beta1", None, "1.22", "networking.k8s.io/v1"),
    RemovedApi("rbac.authorization.k8s.io/v1alpha1", None, "1.22", "rbac.authorization.k8s.io/v1", convertible=True),
    RemovedApi("rbac.authorization.k8s.io/v1beta1", None, "1.22", "rbac.authorization.k8s.io/v1", convertible=True),
    RemovedApi("apiextensions.k8s.io/v1beta1", None, "1.22", "apiextensions.k8s.io/v1"),
    RemovedApi("admissionregistration.k8s.io/v1beta1", None, "1.22", "admissionregistration.k8s.io/v1"),
    RemovedApi("apiregistration.k8s.io/v1beta1", None, "1.22", "apiregistration.k8s.io/v1", convertible=True),
    RemovedApi("scheduling.k8s.io/v1beta1", None, "1.22", "scheduling.k8s.io/v1", convertible=True),
    RemovedApi("coordination.k8s.io/v1beta1", None, "1.22", "coordination.k8s.io/v1", convertible=True),
    RemovedApi("certificates.k8s.io/v1beta1", None, "1.22", "certificates.k8s.io/v1"),
    RemovedApi("storage.k8s.io/v1beta1", "CSIStorageCapacity", "1.27", "storage.k8s.io/v1", convertible=True),
    RemovedApi("storage.k8s.io/v1beta1", None, "1.22", "storage.k8s.io/v1", convertible=True),
    RemovedApi("policy/v1beta1", "PodSecurityPolicy", "1.25", None),
    RemovedApi("policy/v1beta1", "PodDisruptionBudget", "1.25", "policy/v1", convertible=True),
    RemovedApi("batch/v1beta1", "CronJob", "1.25", "batch/v1", convertible=True),
    RemovedApi("batch/v2alpha1", "CronJob", "1.21", "batch/v1", convertible=True),
    RemovedApi("autoscaling/v2beta1", "HorizontalPodAutoscaler", "1.25", "autoscaling/v2"),
    RemovedApi("autoscaling/v2beta2", "HorizontalPodAutoscaler", "1.26", "autoscaling/v2", convertible=True),
    RemovedApi("discovery.k8s.io/v1beta1", "EndpointSlice", "1.25", "discovery.k8s.io/v1"),
    RemovedApi("events.k8s.io/v1beta1", "Event", "1.25", "events.k8s.io/v1"),
    RemovedApi("node.k8s.io/v1beta1", "RuntimeClass", "1.25", "node.k8s.io/v1", convertible=True),
    RemovedApi("flowcontrol.apiserver.k8s.io/v1beta1", None, "1.26", "flowcontrol.apiserver.k8s.io/v1"),
    RemovedApi("flowcontrol.apiserver.k8s.io/v1beta2", None, "1.29", "flowcontrol.apiserver.k8s.io/v1"),
    RemovedApi("flowcontrol.apiserver.k8s.io/v1beta3", None, "1.32", "flowcontrol.apiserver.k8s.io/v1", convertible=True),
)


def removal(api_version: str, kind: str) -> RemovedApi | None:
    """The removal that applies to ``kind`` at ``api_version`` (a kind-specific entry before the group's)."""
    fallback = None
    for entry in REMOVED_APIS:
        if entry.api_version != api_version:
            continue
        if entry.kind == kind:
            return entry
        if entry.kind is None:
            fallback = entry
    return fallback


def served_by(entry: RemovedApi, kubernetes: str) -> bool:
    """Whether a cluster of version ``kubernetes`` still serves ``entry``."""
    return kubernetes_minor(kubernetes) < kubernetes_minor(entry.removed_in)


# --- what a chart renders for which values -----------------------------------------------------------


@dataclass(frozen=True)
class Switch:
    """One condition on a values key, as the chart's template tests it.

    ``test`` is ``"on"`` (Helm's truthiness: true, a non-empty string, map or list, a non-zero number)
    or ``"below"`` (a Kubernetes version string lower than ``bound``, for charts that take a version
    override). ``default`` is the chart's own default, which applies when no layer sets the key.
    """

    path: tuple[str, ...]
    default: Any
    test: str = "on"
    bound: str | None = None

    def holds(self, value: Any) -> bool:
        if self.test == "below":
            return _version_below(value, self.bound or "0.0")
        return helm_truthy(value)


@dataclass(frozen=True)
class RendersApi:
    """In chart versions ``chart_versions``, when every switch holds, the chart renders ``kind`` at
    ``api_version`` (or at the version the values key ``api_path`` holds, ``api_default`` unless set)."""

    kind: str
    when: tuple[Switch, ...]
    chart_versions: VersionRange = VersionRange()
    api_version: str | None = None
    api_path: tuple[str, ...] | None = None
    api_default: str | None = None
    fix: str = ""


def helm_truthy(value: Any) -> bool:
    """What a Go template ``if`` makes of a value (a secret placeholder counts as a non-empty string)."""
    if value is None or value is False:
        return False
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return value != 0
    if isinstance(value, (str, dict, list, tuple)):
        return len(value) > 0
    return True


def _version_below(value: Any, bound: str) -> bool:
    if not isinstance(value, str) or not value.strip():
        return False
    match = re.match(r"^v?(\d+)\.(\d+)", value.strip())
    if match is None:
        return False
    return (int(match.group(1)), int(match.group(2))) < kubernetes_minor(bound)


__all__ = [
    "KUBERNETES_VERSION",
    "REMOVED_APIS",
    "RemovedApi",
    "RendersApi",
    "Switch",
    "helm_truthy",
    "kubernetes_minor",
    "removal",
    "served_by",
]
