"""Talking to Kubernetes API servers with the standard library: kubeconfig contexts, exec plugins, a pooled client.

:func:`connect` turns a kubeconfig setting and a context into a :class:`KubeClient`, or one
``cluster.kubeconfig`` ConfigError naming the context and the files. The ``kubernetes`` package stays
out of every command but ``sandbox`` (whose seeding uses its typed API): its import alone was a third
of each ``plan``.
"""

from __future__ import annotations

import os

from meshcharts.core.diagnostics import ConfigError, Diagnostic
from meshcharts.kube.errors import ApiError, TransportError
from meshcharts.kube.kubeconfig import KubeconfigProblem, Settings, load_settings
from meshcharts.kube.transport import KubeClient, Response

HINT = "check clusters.<name>.context/kubeconfig in the stack, or run `meshcharts sandbox up` and export KUBECONFIG=$(meshcharts sandbox kubeconfig)"


def connect(kubeconfig: str | os.PathLike[str] | None, context: str, cluster: str) -> KubeClient:
    """A client for ``context`` of this kubeconfig setting (None: $KUBECONFIG, else ~/.kube/config)."""
    where = str(os.path.expanduser(os.fspath(kubeconfig))) if kubeconfig else os.environ.get("KUBECONFIG") or "~/.kube/config"
    try:
        return KubeClient(load_settings(kubeconfig, context))
    except KubeconfigProblem as exc:
        raise ConfigError(
            Diagnostic(message=f"cannot use kube-context {context!r} from {where}: {exc}", rule="cluster.kubeconfig", cluster=cluster, hint=HINT)
        ) from None


__all__ = ["ApiError", "KubeClient", "KubeconfigProblem", "Response", "Settings", "TransportError", "connect", "load_settings"]
