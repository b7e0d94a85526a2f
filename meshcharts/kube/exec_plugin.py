"""Credentials from a kubeconfig ``exec`` plugin (kubelogin, gke-gcloud-auth-plugin, aws eks get-token...).

As client-go's ``plugin/pkg/client/auth/exec`` runs them: the command with its args, the process
environment plus the plugin's ``env``, and ``KUBERNETES_EXEC_INFO`` holding an ExecCredential whose
spec says whether the plugin may talk to the user (``interactiveMode``) and, with
``provideClusterInfo``, which cluster it is for. The plugin prints an ExecCredential of the same
apiVersion whose status holds a token or a client certificate and key; it is cached in-process (one
run per plugin and cluster, shared by every client of the process) until its ``expirationTimestamp``,
and run once more when the API server answers 401 to it.

A failure is a :class:`PluginError` whose text is one line (the plugin's own stderr goes to ours, as
kubectl lets it, so a login prompt or the plugin's explanation reaches the user).
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import threading
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from meshcharts.kube.kubeconfig import ExecConfig, Settings

EXEC_INFO_ENV = "KUBERNETES_EXEC_INFO"


class PluginError(Exception):
    """The exec plugin could not give credentials (one line, never its output)."""


@dataclass(frozen=True)
class Credentials:
    """What a plugin returned: a bearer token, or a client certificate and key (PEM), until ``expires``."""

    token: str = field(default="", repr=False)
    cert_data: bytes = field(default=b"", repr=False)
    key_data: bytes = field(default=b"", repr=False)
    expires: datetime | None = None

    def expired(self, now: datetime) -> bool:
        return self.expires is not None and now >= self.expires


class ExecAuthenticator:
    """One plugin for one cluster: runs it when no credentials are cached or they expired; thread-safe.

    The lock also serializes runs, as client-go's does: an interactive plugin asks the user once.
    """

    def __init__(self, config: ExecConfig, cluster: dict[str, Any] | None) -> None:
        self.config = config
        self.cluster = cluster
        self._lock = threading.Lock()
        self._cached: Credentials | None = None

    def credentials(self) -> Credentials:
        with self._lock:
            if self._cached is None or self._cached.expired(datetime.now(timezone.utc)):
                self._cached = self._run()
            return self._cached

    def refresh(self, stale: Credentials) -> Credentials:
        """Run the plugin again after a 401 to ``stale``, unless another thread already did."""
        with self._lock:
            if self._cached is stale or self._cached is None:
                self._cached = self._run()
            return self._cached

    def _interactive(self) -> bool:
        mode = self.config.interactive_mode
        terminal = sys.stdin is not None and sys.stdin.isatty()
        if mode == "Always" and not terminal:
            raise PluginError(f"exec plugin {self.config.command} cannot support interactive mode: standard input is not a terminal")
        return mode != "Never" and terminal

    def _run(self) -> Credentials:
        config = self.config
        interactive = self._interactive()
        spec: dict[str, Any] = {"interactive": interactive}
        if config.provide_cluster_info and self.cluster is not None:
            spec["cluster"] = self.cluster
        info = {"apiVersion": config.api_version, "kind": "ExecCredential", "spec": spec}
        env = {**os.environ, **dict(config.env), EXEC_INFO_ENV: json.dumps(info)}
        try:
            done = subprocess.run(
                [config.command, *config.args], env=env, stdout=subprocess.PIPE, stdin=None if interactive else subprocess.DEVNULL, check=False
            )
        except FileNotFoundError:
            hint = f" ({config.install_hint.strip()})" if config.install_hint.strip() else ""
            raise PluginError(f"exec plugin: executable {config.command} not found{hint}".replace("\n", " ")) from None
        except OSError as exc:
            raise PluginError(f"exec plugin: cannot run {config.command}: {exc.strerror or exc}") from None
        if done.returncode != 0:
            raise PluginError(f"exec plugin: executable {config.command} failed with exit code {done.returncode}")
        return self._decode(done.stdout)

    def _decode(self, stdout: bytes) -> Credentials:
        where = f"exec plugin {self.config.command}"
        try:
            answer = json.loads(stdout)
        except ValueError:
            raise PluginError(f"{where}: decoding stdout: not an ExecCredential in JSON") from None
        if not isinstance(answer, dict) or answer.get("kind") != "ExecCredential":
            raise PluginError(f"{where}: decoding stdout: not an ExecCredential")
        if answer.get("apiVersion") != self.config.api_version:
            raise PluginError(f"{where} is configured to use API version {self.config.api_version}, plugin returned version {answer.get('apiVersion')}")
        status = answer.get("status")
        if not isinstance(status, dict):
            raise PluginError(f"{where} didn't return a status field")
        token, cert, key = (str(status.get(name) or "") for name in ("token", "clientCertificateData", "clientKeyData"))
        if not (token or cert or key):
            raise PluginError(f"{where} didn't return a token or cert/key pair")
        if bool(cert) != bool(key):
            raise PluginError(f"{where} returned only certificate or key, not both")
        expires = None
        if status.get("expirationTimestamp"):
            try:
                expires = datetime.fromisoformat(str(status["expirationTimestamp"]).replace("Z", "+00:00"))
            except ValueError:
                raise PluginError(f"{where}: expirationTimestamp is not an RFC 3339 time") from None
            if expires.tzinfo is None:
                expires = expires.replace(tzinfo=timezone.utc)
        return Credentials(token=token, cert_data=cert.encode(), key_data=key.encode(), expires=expires)


def cluster_info(settings: Settings) -> dict[str, Any]:
    """The ExecCredential ``spec.cluster`` of client.authentication.k8s.io (v1 and v1beta1 share it)."""
    info: dict[str, Any] = {"server": settings.server}
    if settings.tls_server_name:
        info["tls-server-name"] = settings.tls_server_name
    if settings.insecure:
        info["insecure-skip-tls-verify"] = True
    if settings.ca_data:
        info["certificate-authority-data"] = base64.b64encode(settings.ca_data).decode()
    if settings.proxy_url:
        info["proxy-url"] = settings.proxy_url
    if settings.exec is not None and settings.exec.cluster_config is not None:
        info["config"] = settings.exec.cluster_config
    return info


_CACHE: dict[str, ExecAuthenticator] = {}
_CACHE_LOCK = threading.Lock()


def authenticator(settings: Settings) -> ExecAuthenticator:
    """The process' one authenticator for this plugin and cluster (client-go caches them the same way)."""
    config = settings.exec
    assert config is not None, "no exec plugin in these settings"
    cluster = cluster_info(settings)
    key = json.dumps([config.command, config.args, config.env, config.api_version, config.interactive_mode, config.provide_cluster_info, cluster], sort_keys=True, default=str)
    with _CACHE_LOCK:
        if key not in _CACHE:
            _CACHE[key] = ExecAuthenticator(config, cluster)
        return _CACHE[key]


__all__ = ["Credentials", "ExecAuthenticator", "PluginError", "authenticator", "cluster_info"]
