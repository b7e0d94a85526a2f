"""A kube-context resolved into what a connection needs, by client-go's clientcmd rules.

Which files: the one given, else each file ``$KUBECONFIG`` lists, else ``~/.kube/config``
(:func:`meshcharts.core.kubeconfig.kubeconfig_files` decides, and reports a file that is no kubeconfig
at its line before anything here reads it). Merged as clientcmd's loader does: for the named maps
(clusters, contexts, users) the first file to set a name wins, and a relative path in a file
(certificate-authority, client-certificate, client-key, tokenFile, an exec command that contains a
path separator) resolves against that file's folder.

Then the context's cluster and user are validated as clientcmd validates them (one auth method of
token or basic; a certificate with its key; an exec plugin with a command, an apiVersion and, for
``client.authentication.k8s.io/v1``, an interactiveMode) and read: files now, so a missing one is a
configuration problem at once and not a failed request later. ``auth-provider`` (gcp, oidc, azure) is
refused: kubectl dropped those in 1.26 for exec plugins.

Every problem is one :class:`KubeconfigProblem` reason; the caller names the context and the files.
Nothing here quotes a token, a password or key material.
"""

from __future__ import annotations

import base64
import binascii
import os
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from meshcharts.core.kubeconfig import kubeconfig_files, read_kubeconfig

#: ExecCredential API versions an exec plugin may speak (client-go's ``apiVersions``).
EXEC_API_VERSIONS = ("client.authentication.k8s.io/v1", "client.authentication.k8s.io/v1beta1")
INTERACTIVE_MODES = ("Never", "IfAvailable", "Always")


class KubeconfigProblem(Exception):
    """Why a context cannot be used, in words that never hold a credential."""


@dataclass(frozen=True)
class ExecConfig:
    """A user's ``exec`` credential plugin, its command already resolved against its file's folder."""

    command: str
    args: tuple[str, ...]
    env: tuple[tuple[str, str], ...]
    api_version: str
    interactive_mode: str
    install_hint: str
    provide_cluster_info: bool
    cluster_config: Any = None  # the cluster's extensions["client.authentication.k8s.io/exec"], passed on as ``config``


@dataclass(frozen=True)
class Settings:
    """Everything a connection to one context's API server needs (credentials included: never print one)."""

    context: str
    server: str
    ca_data: bytes | None = None  # PEM, from certificate-authority(-data)
    insecure: bool = False
    tls_server_name: str | None = None
    proxy_url: str | None = None
    cert_data: bytes | None = field(default=None, repr=False)  # PEM client certificate
    key_data: bytes | None = field(default=None, repr=False)  # PEM client key
    token: str | None = field(default=None, repr=False)
    token_file: str | None = None  # re-read while the client lives (client-go re-reads it too)
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    impersonate: str | None = None
    impersonate_uid: str | None = None
    impersonate_groups: tuple[str, ...] = ()
    impersonate_extra: tuple[tuple[str, tuple[str, ...]], ...] = ()
    exec: ExecConfig | None = None
    namespace: str | None = None

    @property
    def has_static_auth(self) -> bool:
        """A token, basic auth or a client certificate: then an exec plugin is not run (as client-go)."""
        return bool(self.token or self.token_file or self.username or self.password or self.cert_data)


@dataclass
class _Named:
    """One entry of a merged map, with the folder its relative paths resolve against."""

    body: dict[str, Any]
    folder: Path


@dataclass
class Merged:
    """The kubeconfig files merged: clusters, contexts, users by name, and the current context."""

    clusters: dict[str, _Named] = field(default_factory=dict)
    contexts: dict[str, _Named] = field(default_factory=dict)
    users: dict[str, _Named] = field(default_factory=dict)
    current_context: str = ""


def merge(files: list[Path]) -> Merged:
    """The files merged in order: the first to set a name (or the current context) wins."""
    merged = Merged()
    for path in files:
        document = read_kubeconfig(path) or {}  # parsed once per process, shared: read, never changed
        if not isinstance(document, dict):
            continue  # kubeconfig_problems reports it before this is reached
        folder = path.expanduser().absolute().parent
        for key, into, inner in (("clusters", merged.clusters, "cluster"), ("contexts", merged.contexts, "context"), ("users", merged.users, "user")):
            for entry in document.get(key) or []:
                if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
                    continue
                body = entry.get(inner)
                if entry["name"] not in into:
                    into[entry["name"]] = _Named(body if isinstance(body, dict) else {}, folder)
        if not merged.current_context and isinstance(document.get("current-context"), str):
            merged.current_context = document["current-context"]
    return merged


def load_settings(kubeconfig: str | os.PathLike[str] | None, context: str | None) -> Settings:
    """The connection settings of ``context`` (None: the current context) from this kubeconfig setting."""
    if kubeconfig and not Path(kubeconfig).expanduser().exists():
        raise KubeconfigProblem("the file does not exist")
    files = kubeconfig_files(kubeconfig)
    if not files:
        raise KubeconfigProblem("no kubeconfig file found")
    merged = merge(files)
    name = context or merged.current_context
    if not name:
        raise KubeconfigProblem("no context named and no current-context set")
    if name not in merged.contexts:
        known = ", ".join(sorted(merged.contexts)) or "none"
        raise KubeconfigProblem(f"no such context (the contexts are: {known})")
    ctx = merged.contexts[name].body
    cluster_name, user_name = _text(ctx, "cluster"), _text(ctx, "user")
    if cluster_name not in merged.clusters:
        raise KubeconfigProblem(f"the context names cluster {cluster_name!r}, which no file defines" if cluster_name else "the context names no cluster")
    cluster = merged.clusters[cluster_name]
    user = merged.users.get(user_name) if user_name else None
    if user_name and user is None:
        raise KubeconfigProblem(f"the context names user {user_name!r}, which no file defines")
    connection = _cluster(cluster_name, cluster)
    extension = connection.pop("exec_extension")
    auth = _user(user_name, user) if user else {}
    if auth.get("exec") is not None and extension is not None:
        auth["exec"] = replace(auth["exec"], cluster_config=extension)
    return Settings(context=name, namespace=_text(ctx, "namespace") or None, **connection, **auth)


def _cluster(name: str, entry: _Named) -> dict[str, Any]:
    body = entry.body
    server = _text(body, "server")
    if not server:
        raise KubeconfigProblem(f"cluster {name!r} has no server")
    if not server.startswith(("https://", "http://")):
        raise KubeconfigProblem(f"cluster {name!r}: server is not an http(s) URL")
    ca_data = _data(body, "certificate-authority-data", f"cluster {name!r}") or _file(body, "certificate-authority", entry.folder, f"cluster {name!r}")
    insecure = body.get("insecure-skip-tls-verify") is True
    if insecure and ca_data:
        raise KubeconfigProblem(f"cluster {name!r}: specifying a root certificates file with the insecure flag is not allowed")
    exec_extension = None
    for item in body.get("extensions") or []:
        if isinstance(item, dict) and item.get("name") == "client.authentication.k8s.io/exec":
            exec_extension = item.get("extension")
    return {
        "server": server.rstrip("/"),
        "ca_data": ca_data,
        "insecure": insecure,
        "tls_server_name": _text(body, "tls-server-name") or None,
        "proxy_url": _text(body, "proxy-url") or None,
        "exec_extension": exec_extension,
    }


def _user(name: str, entry: _Named) -> dict[str, Any]:
    body, where = entry.body, f"user {name!r}"
    if body.get("auth-provider"):
        provider = body["auth-provider"].get("name") if isinstance(body["auth-provider"], dict) else None
        raise KubeconfigProblem(
            f"{where} uses auth-provider {provider or '?'!s}, which kubectl dropped in 1.26; use an exec plugin instead "
            "(kubelogin for oidc and azure, gke-gcloud-auth-plugin for gcp)"
        )
    token, token_file = _text(body, "token") or None, _path(body, "tokenFile", entry.folder)
    username, password = _text(body, "username") or None, _text(body, "password") or None
    if (token or token_file) and (username or password):
        raise KubeconfigProblem(f"more than one authentication method found for {where}; found token and basic auth, only one is allowed")
    cert = _data(body, "client-certificate-data", where) or _file(body, "client-certificate", entry.folder, where)
    key = _data(body, "client-key-data", where) or _file(body, "client-key", entry.folder, where)
    if cert and not key:
        raise KubeconfigProblem(f"client-key-data or client-key must be specified for {where} to use the clientCert authentication method")
    if key and not cert:
        raise KubeconfigProblem(f"client-certificate-data or client-certificate must be specified for {where} to use the clientCert authentication method")
    if token_file and not token and not Path(token_file).is_file():
        raise KubeconfigProblem(f"{where}: tokenFile {token_file} cannot be read")
    groups = body.get("as-groups") or []
    extra = body.get("as-user-extra") or {}
    return {
        "cert_data": cert,
        "key_data": key,
        "token": token,
        "token_file": token_file if not token else None,
        "username": username,
        "password": password,
        "impersonate": _text(body, "as") or None,
        "impersonate_uid": _text(body, "as-uid") or None,
        "impersonate_groups": tuple(str(group) for group in groups if group) if isinstance(groups, list) else (),
        "impersonate_extra": tuple((str(k), tuple(str(v) for v in (values or []))) for k, values in extra.items()) if isinstance(extra, dict) else (),
        "exec": _exec(where, body.get("exec"), entry.folder),
    }


def _exec(where: str, body: Any, folder: Path) -> ExecConfig | None:
    if not body:
        return None
    if not isinstance(body, dict):
        raise KubeconfigProblem(f"{where}: exec is not a mapping")
    command = _text(body, "command")
    if not command:
        raise KubeconfigProblem(f"command must be specified for {where} to use exec authentication plugin")
    api_version = _text(body, "apiVersion")
    if not api_version:
        raise KubeconfigProblem(f"apiVersion must be specified for {where} to use exec authentication plugin")
    if api_version not in EXEC_API_VERSIONS:
        raise KubeconfigProblem(f"{where}: exec plugin: invalid apiVersion {api_version!r} (meshcharts speaks {', '.join(EXEC_API_VERSIONS)})")
    mode = _text(body, "interactiveMode")
    if not mode and api_version.endswith("/v1beta1"):
        mode = "IfAvailable"  # clientcmd's default for v1beta1; v1 must say
    if not mode:
        raise KubeconfigProblem(f"interactiveMode must be specified for {where} to use exec authentication plugin")
    if mode not in INTERACTIVE_MODES:
        raise KubeconfigProblem(f"{where}: invalid interactiveMode {mode!r} (one of {', '.join(INTERACTIVE_MODES)})")
    env = []
    for item in body.get("env") or []:
        if not isinstance(item, dict) or not _text(item, "name"):
            raise KubeconfigProblem(f"env variable name must be specified for {where} to use exec authentication plugin")
        env.append((_text(item, "name"), _text(item, "value")))
    if os.sep in command or (os.altsep and os.altsep in command):
        command = str(folder / os.path.expanduser(command))  # an absolute command stays as it is
    return ExecConfig(
        command=command,
        args=tuple(str(arg) for arg in body.get("args") or []),
        env=tuple(env),
        api_version=api_version,
        interactive_mode=mode,
        install_hint=_text(body, "installHint"),
        provide_cluster_info=body.get("provideClusterInfo") is True,
    )


def _text(body: dict[str, Any], key: str) -> str:
    value = body.get(key)
    return value if isinstance(value, str) else ("" if value is None else str(value))


def _path(body: dict[str, Any], key: str, folder: Path) -> str | None:
    """A path from the file, relative ones resolved against the file's folder (clientcmd's ResolvePaths)."""
    text = _text(body, key)
    return str(folder / os.path.expanduser(text)) if text else None


def _file(body: dict[str, Any], key: str, folder: Path, where: str) -> bytes | None:
    path = _path(body, key, folder)
    if path is None:
        return None
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        raise KubeconfigProblem(f"unable to read {key} {path} for {where}: {exc.strerror or exc}") from None


def _data(body: dict[str, Any], key: str, where: str) -> bytes | None:
    text = _text(body, key)
    if not text:
        return None
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise KubeconfigProblem(f"{where}: {key} is not base64") from None


__all__ = ["EXEC_API_VERSIONS", "ExecConfig", "KubeconfigProblem", "Merged", "Settings", "load_settings", "merge"]
