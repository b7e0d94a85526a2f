"""What a sandbox cluster gets through its API once it runs: storage classes and the stack's CRDs.

A real cluster of the stack already has things the stack does not install: a default StorageClass,
the CRDs Rancher brings (``ui.cattle.io``), the Prometheus operator's (``monitoring.coreos.com``) when
an external Prometheus runs with the operator. The sandbox "seeds" those so the same stack file
applies unchanged. Everything goes through the official Kubernetes client (no kubectl), and is
idempotent: create, or replace what is there.
"""

from __future__ import annotations

import time
from dataclasses import replace
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, cast

import yaml
from kubernetes import client, config
from kubernetes.client.exceptions import ApiException
from kubernetes.config.config_exception import ConfigException
from urllib3.exceptions import HTTPError

from meshcharts.core.diagnostics import Diagnostic, InvalidInput, Location
from meshcharts.core.kubeconfig import kubeconfig_problems
from meshcharts.sandbox.kwok import PROVISIONER

_DEFAULT_CLASS_ANNOTATION = "storageclass.kubernetes.io/is-default-class"


def api_client(kubeconfig: Path, context: str) -> client.ApiClient:
    """A client for one context of a kubeconfig file (never the process-wide default configuration).

    The file is the sandbox's own, written by ``up``; one broken since (edited, truncated) is one
    line naming it, not a YAML traceback.
    """
    problems = kubeconfig_problems(kubeconfig)
    if problems:
        raise InvalidInput(replace(problems[0], rule="sandbox.kubeconfig", hint="run `meshcharts sandbox up` again to rewrite it"))
    try:
        return config.new_client_from_config(config_file=str(kubeconfig), context=context, persist_config=False)
    except (ConfigException, OSError, TypeError, ValueError) as exc:
        raise InvalidInput(
            Diagnostic(message=f"cannot use kube-context {context!r}: {exc}", rule="sandbox.kubeconfig", location=Location(str(kubeconfig)),
                       hint="run `meshcharts sandbox up` again to rewrite it")
        ) from None


def server_version(api: client.ApiClient, timeout: float = 3.0) -> str | None:
    """The API server's gitVersion, or None when it does not answer."""
    try:
        info = client.VersionApi(api).get_code(_request_timeout=timeout)
    except (ApiException, HTTPError, OSError):
        return None
    return str(info.git_version)


def wait_ready(api: client.ApiClient, timeout: float = 120.0) -> None:
    """Wait until the API server answers and has the ``default`` namespace and ServiceAccount API.

    kwokctl returns once ``/version`` answers; the controllers that make a namespace usable (the
    ``default`` ServiceAccount, the root CA ConfigMap) follow a moment later.
    """
    core = client.CoreV1Api(api)
    deadline = time.monotonic() + timeout
    last = "no answer"
    while time.monotonic() < deadline:
        try:
            core.read_namespaced_service_account("default", "default", _request_timeout=3)
            return
        except ApiException as exc:
            last = f"{exc.status} {exc.reason}"
        except (HTTPError, OSError) as exc:
            last = str(exc)
        time.sleep(0.5)
    raise InvalidInput(
        Diagnostic(message=f"the API server is not ready after {timeout:.0f}s ({last})", rule="sandbox.not-ready")
    )


def _create_or_replace(
    create: Callable[..., Any], read: Callable[..., Any], replace: Callable[..., Any], name: str, body: Any
) -> None:
    try:
        create(body)
    except ApiException as exc:
        if exc.status != 409:
            raise
        body.metadata.resource_version = read(name).metadata.resource_version
        replace(name, body)


def ensure_storage_classes(api: client.ApiClient, classes: Sequence[str]) -> None:
    """One StorageClass per name, the first the cluster's default, all served by our volume Stage."""
    storage = client.StorageV1Api(api)
    for index, name in enumerate(classes):
        body = client.V1StorageClass(
            metadata=client.V1ObjectMeta(
                name=name, annotations={_DEFAULT_CLASS_ANNOTATION: "true" if index == 0 else "false"}
            ),
            provisioner=PROVISIONER,
            reclaim_policy="Delete",
            volume_binding_mode="Immediate",
            allow_volume_expansion=True,
        )
        _create_or_replace(
            storage.create_storage_class, storage.read_storage_class, storage.replace_storage_class, name, body
        )


def crd_documents(path: Path, group: str | None = None) -> list[dict[str, Any]]:
    """The CustomResourceDefinitions in one stand-in file; anything else in it is an error.

    With ``group``, every CRD must be of that group: ``<group>.yaml`` is what a stack's ``crds:``
    entry is taken to mean, so a file that defines another group would seed the wrong kinds.
    """
    try:
        documents = [doc for doc in yaml.safe_load_all(path.read_text(encoding="utf-8")) if doc]
    except (OSError, yaml.YAMLError) as exc:
        raise InvalidInput(Diagnostic(message=f"cannot read {path}: {exc}", rule="sandbox.crds")) from exc
    if group is not None and not documents:
        raise InvalidInput(Diagnostic(message=f"{path}: no CustomResourceDefinition of {group} in it", rule="sandbox.crds"))
    for document in documents:
        if not isinstance(document, dict) or document.get("kind") != "CustomResourceDefinition":
            kind = document.get("kind") if isinstance(document, dict) else type(document).__name__
            raise InvalidInput(
                Diagnostic(message=f"{path}: only CustomResourceDefinitions belong here, found {kind}", rule="sandbox.crds")
            )
        spec = document.get("spec")
        found = spec.get("group") if isinstance(spec, dict) else None
        if group is not None and found != group:
            raise InvalidInput(
                Diagnostic(message=f"{path}: a CRD of group {found} in the stand-ins for {group}", rule="sandbox.crds")
            )
    return documents


def apply_crds(api: client.ApiClient, documents: Sequence[dict[str, Any]], timeout: float = 60.0) -> list[str]:
    """Create or replace the CRDs, wait until each is Established; their names."""
    extensions = client.ApiextensionsV1Api(api)
    names: list[str] = []
    for document in documents:
        name = document["metadata"]["name"]
        # The client sends a dict as it is: the stand-in files are manifests, not client models.
        try:
            extensions.create_custom_resource_definition(cast(Any, document))
        except ApiException as exc:
            if exc.status != 409:
                raise InvalidInput(
                    Diagnostic(message=f"CRD {name} was refused: {exc.status} {exc.reason}", rule="sandbox.crds")
                ) from exc
            live = extensions.read_custom_resource_definition(name)
            version = live.metadata.resource_version if live.metadata else None
            replacement = {**document, "metadata": {**document["metadata"], "resourceVersion": version}}
            extensions.replace_custom_resource_definition(name, cast(Any, replacement))
        names.append(name)
    deadline = time.monotonic() + timeout
    pending = list(names)
    while pending and time.monotonic() < deadline:
        pending = [name for name in pending if not crd_established(extensions, name)]
        if pending:
            time.sleep(0.2)
    if pending:
        raise InvalidInput(
            Diagnostic(message=f"CRDs not Established after {timeout:.0f}s: {', '.join(pending)}", rule="sandbox.crds")
        )
    return names


def crd_established(extensions: client.ApiextensionsV1Api, name: str) -> bool:
    """Whether the CRD ``name`` exists and its Established condition is True."""
    try:
        crd = extensions.read_custom_resource_definition(name)
    except ApiException:
        return False
    conditions = (crd.status.conditions if crd.status else None) or []
    return any(condition.type == "Established" and condition.status == "True" for condition in conditions)


def ensure_namespace(api: client.ApiClient, name: str) -> None:
    """Create namespace ``name`` unless it exists."""
    try:
        client.CoreV1Api(api).create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=name)))
    except ApiException as exc:
        if exc.status != 409:
            raise InvalidInput(
                Diagnostic(message=f"namespace {name} was refused: {exc.status} {exc.reason}", rule="sandbox.seed")
            ) from exc
