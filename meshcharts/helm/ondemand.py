"""A cluster's helm, started only when first asked: what plan holds while it decides whether to call helm.

Plan renders a release with ``helm template`` only when its chart or values changed; an unchanged
release is compared from the manifest helm stored. Building a :class:`~meshcharts.helm.client.HelmClient`
imports pyhelm3, whose package brings pydantic, asyncio and its models (about 0.2 s, a fifth of an
unchanged plan), so plan holds this instead and the client is made, once and thread-safely (plan
renders releases from several threads), on the first render or version asked.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import semver

from meshcharts.core.secrets import ResolvedValues


class OnDemandHelm:
    """The subset of ``HelmClient`` plan uses, for one cluster; the client itself is made on first use."""

    def __init__(self, *, kubeconfig: Path | None, kube_context: str, cluster: str) -> None:
        self._settings: dict[str, Any] = {"kubeconfig": kubeconfig, "kube_context": kube_context, "cluster": cluster}
        self._client: Any = None
        self._lock = threading.Lock()

    @property
    def started(self) -> bool:
        """Whether helm was needed at all (the client was made)."""
        return self._client is not None

    def _helm(self) -> Any:
        with self._lock:
            if self._client is None:
                from meshcharts.helm.client import HelmClient  # lazy: see the module docstring

                self._client = HelmClient(**self._settings)
            return self._client

    def render_for_cluster(
        self, release: str, chart: Path, values: ResolvedValues, *, namespace: str, kube_version: str,
        api_versions: list[str], is_upgrade: bool, component: str | None = None,
    ) -> list[dict[str, Any]]:
        """``HelmClient.render_for_cluster``: ``helm template`` with the cluster's Capabilities."""
        rendered: list[dict[str, Any]] = self._helm().render_for_cluster(
            release, chart, values, namespace=namespace, kube_version=kube_version, api_versions=api_versions,
            is_upgrade=is_upgrade, component=component,
        )
        return rendered

    def version(self) -> semver.Version:
        """``HelmClient.version``: the helm binary's version."""
        found: semver.Version = self._helm().version()
        return found


__all__ = ["OnDemandHelm"]
