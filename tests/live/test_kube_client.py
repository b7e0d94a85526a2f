"""meshcharts' own Kubernetes client against the sandbox's real API servers: client certificates given as
files relative to the kubeconfig or by an exec plugin (a real process), a CA that is not the server's,
a server that accepts connections and never answers, a proxy; and ``meshcharts plan`` as a whole
process loads neither the ``kubernetes`` package nor what it imports (pydantic, urllib3, oauthlib...)."""

from __future__ import annotations

import base64
import contextlib
import json
import shutil
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
from pathlib import Path
from typing import Any

import pytest
import yaml

from meshcharts.core.diagnostics import ConfigError
from meshcharts.deploy.discovery import ClusterUnreachable, discover
from meshcharts.deploy.live import ReleaseStore, api_client, get_json
from tests.live.conftest import LiveClusters
from tests.live.example import ExampleStack, example

pytestmark = pytest.mark.live
__all__ = ["example"]  # the fixture


def _entries(live: LiveClusters) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """The first context's (context, cluster, user) bodies from the live kubeconfig."""
    config = yaml.safe_load(live.kubeconfig.read_text(encoding="utf-8"))
    (context,) = [item["context"] for item in config["contexts"] if item["name"] == live.contexts[0]]
    (cluster,) = [item["cluster"] for item in config["clusters"] if item["name"] == context["cluster"]]
    (user,) = [item["user"] for item in config["users"] if item["name"] == context["user"]]
    return context, cluster, user


def _pem(body: dict[str, Any], key: str, folder: Path) -> bytes:
    """A certificate or key of the live kubeconfig, whether it is given as a file or as data."""
    if body.get(f"{key}-data"):
        return base64.b64decode(body[f"{key}-data"])
    return (folder / body[key]).read_bytes()


def _write(folder: Path, cluster: dict[str, Any], user: dict[str, Any]) -> Path:
    """A one-context kubeconfig ``east`` in ``folder``, mode 0600."""
    document = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "east", "cluster": cluster}],
        "users": [{"name": "east", "user": user}],
        "contexts": [{"name": "east", "context": {"cluster": "east", "user": "east"}}],
        "current-context": "east",
    }
    path = folder / "config"
    path.write_text(yaml.safe_dump(document), encoding="utf-8")
    path.chmod(0o600)
    return path


def _reads_work(kubeconfig: Path) -> None:
    """What plan does first on a cluster: discovery, then helm's release records."""
    api = api_client(str(kubeconfig), "east", "east")
    try:
        facts = discover(api, "east")
        assert facts.version and ("v1", "Namespace") in facts.resources and "kube-system" in facts.namespaces
        ReleaseStore(api, "east").deployed()
    finally:
        api.close()


def test_certificates_given_as_files_relative_to_the_kubeconfig(live_clusters: LiveClusters, tmp_path: Path) -> None:
    _, cluster, user = _entries(live_clusters)
    folder = live_clusters.kubeconfig.parent
    certs = tmp_path / "kube" / "certs"
    certs.mkdir(parents=True)
    (certs / "ca.crt").write_bytes(_pem(cluster, "certificate-authority", folder))
    (certs / "client.crt").write_bytes(_pem(user, "client-certificate", folder))
    (certs / "client.key").write_bytes(_pem(user, "client-key", folder))
    kubeconfig = _write(
        tmp_path / "kube",
        {"server": cluster["server"], "certificate-authority": "certs/ca.crt"},
        {"client-certificate": "certs/client.crt", "client-key": "certs/client.key"},
    )
    _reads_work(kubeconfig)


def test_an_exec_plugin_that_hands_out_the_client_certificate(live_clusters: LiveClusters, tmp_path: Path) -> None:
    _, cluster, user = _entries(live_clusters)
    folder = live_clusters.kubeconfig.parent
    credential = {
        "apiVersion": "client.authentication.k8s.io/v1",
        "kind": "ExecCredential",
        "status": {
            "clientCertificateData": _pem(user, "client-certificate", folder).decode(),
            "clientKeyData": _pem(user, "client-key", folder).decode(),
            "expirationTimestamp": "2999-01-01T00:00:00Z",
        },
    }
    (tmp_path / "credential.json").write_text(json.dumps(credential), encoding="utf-8")
    plugin = tmp_path / "plugin.py"
    plugin.write_text(
        "import json, os, sys\n"
        "info = json.loads(os.environ['KUBERNETES_EXEC_INFO'])\n"
        "assert info['spec']['cluster']['server'], info\n"
        f"sys.stdout.write(open({str(tmp_path / 'credential.json')!r}).read())\n",
        encoding="utf-8",
    )
    ca = tmp_path / "ca.crt"
    ca.write_bytes(_pem(cluster, "certificate-authority", folder))
    exec_body = {"apiVersion": "client.authentication.k8s.io/v1", "command": sys.executable, "args": [str(plugin)],
                 "interactiveMode": "Never", "provideClusterInfo": True}
    kubeconfig = _write(tmp_path, {"server": cluster["server"], "certificate-authority": str(ca)}, {"exec": exec_body})
    _reads_work(kubeconfig)
    # No key material left on disk by loading it (ssl only loads certificates from files).
    assert not list(Path(tempfile.gettempdir()).glob("meshcharts-*.pem"))


def test_a_ca_that_is_not_the_servers_is_refused_in_one_line(live_clusters: LiveClusters, tmp_path: Path) -> None:
    _, cluster, user = _entries(live_clusters)
    folder = live_clusters.kubeconfig.parent
    other = ssl.get_default_verify_paths().cafile
    if other is None or not Path(other).is_file():
        pytest.skip("no system CA bundle to stand for a CA that did not sign the sandbox's server certificate")
    shutil.copy(other, tmp_path / "other-ca.pem")
    (tmp_path / "client.crt").write_bytes(_pem(user, "client-certificate", folder))
    (tmp_path / "client.key").write_bytes(_pem(user, "client-key", folder))
    kubeconfig = _write(tmp_path, {"server": cluster["server"], "certificate-authority": "other-ca.pem"},
                        {"client-certificate": "client.crt", "client-key": "client.key"})
    api = api_client(str(kubeconfig), "east", "east")
    with pytest.raises(ClusterUnreachable) as raised:
        discover(api, "east")
    (diagnostic,) = raised.value.diagnostics
    assert diagnostic.message == f"cannot ask the cluster what it serves: {cluster['server']}: TLS: certificate verify failed: unable to get local issuer certificate"


def test_a_hung_api_server_is_a_timeout_not_a_hang(live_clusters: LiveClusters, tmp_path: Path) -> None:
    _, cluster, user = _entries(live_clusters)
    hole = socket.socket()
    hole.bind(("127.0.0.1", 0))
    hole.listen(16)  # the kernel completes the handshake; nothing ever answers
    try:
        folder = live_clusters.kubeconfig.parent
        (tmp_path / "client.crt").write_bytes(_pem(user, "client-certificate", folder))
        (tmp_path / "client.key").write_bytes(_pem(user, "client-key", folder))
        kubeconfig = _write(tmp_path, {"server": f"https://127.0.0.1:{hole.getsockname()[1]}", "insecure-skip-tls-verify": True},
                            {"client-certificate": "client.crt", "client-key": "client.key"})
        api = api_client(str(kubeconfig), "east", "east")
        with pytest.raises(OSError) as raised:
            get_json(api, "/version", timeout=(1, 1))
        assert str(raised.value) == f"https://127.0.0.1:{hole.getsockname()[1]}: connecting timed out after 1s"
    finally:
        hole.close()


def test_a_context_the_kubeconfig_lacks_is_a_config_error(live_clusters: LiveClusters) -> None:
    with pytest.raises(ConfigError) as raised:
        api_client(str(live_clusters.kubeconfig), "no-such-context", "north")
    assert raised.value.diagnostics[0].message.startswith(f"cannot use kube-context 'no-such-context' from {live_clusters.kubeconfig}: no such context")


_MODULES_AT_EXIT = """
import atexit, json, sys
report = sys.argv.pop(1)
atexit.register(lambda: open(report, "w", encoding="utf-8").write(json.dumps(sorted(sys.modules))))
from meshcharts.cli import main
main()
"""


def test_plan_as_a_whole_process_loads_neither_the_kubernetes_package_nor_what_it_brings(example: ExampleStack, tmp_path: Path) -> None:
    """Importing ``kubernetes.config`` was a third of an unchanged plan's 0.9 s: plan talks to the API
    servers through meshcharts.kube, on the standard library. (Unchanged: a plan that renders a chart
    loads pyhelm3, and pydantic with it.)"""
    assert example.apply().returncode == 0
    report = tmp_path / "modules.json"
    run = subprocess.run([sys.executable, "-c", _MODULES_AT_EXIT, str(report), "plan", "--output", "json"], cwd=example.root, env=example.env,
                         capture_output=True, text=True, timeout=300, check=False)
    assert run.returncode == 0, f"{run.stdout}\n{run.stderr}"
    document = json.loads(run.stdout)
    assert all(cluster["error"] is None for cluster in document["clusters"].values()), document  # every cluster was read
    assert {item["action"] for cluster in document["clusters"].values() for item in cluster["releases"]} == {"unchanged"}
    modules = json.loads(report.read_text(encoding="utf-8"))
    assert "meshcharts.kube.transport" in modules
    brought = ("kubernetes", "pydantic", "urllib3", "requests", "oauthlib", "requests_oauthlib", "dateutil")
    assert [name for name in modules if name.split(".")[0] in brought] == []


class _ConnectProxy:
    """An http proxy on loopback that serves CONNECT tunnels (as squid does for https) and records each target."""

    def __init__(self) -> None:
        self.server = socket.socket()
        self.server.bind(("127.0.0.1", 0))
        self.server.listen(16)
        self.port = int(self.server.getsockname()[1])
        self.targets: list[str] = []
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                client, _ = self.server.accept()
            except OSError:
                return
            threading.Thread(target=self._tunnel, args=(client,), daemon=True).start()

    def _tunnel(self, client: socket.socket) -> None:
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = client.recv(4096)
            if not chunk:
                client.close()
                return
            head += chunk
        verb, target, _ = head.split(b"\r\n", 1)[0].decode().split(" ", 2)
        assert verb == "CONNECT", verb
        self.targets.append(target)
        host, port = target.rsplit(":", 1)
        upstream = socket.create_connection((host, int(port)))
        client.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
        for source, sink in ((client, upstream), (upstream, client)):
            threading.Thread(target=self._pipe, args=(source, sink), daemon=True).start()

    @staticmethod
    def _pipe(source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for end in (source, sink):
                with contextlib.suppress(OSError):
                    end.shutdown(socket.SHUT_RDWR)

    def close(self) -> None:
        self.server.close()


def test_a_clusters_proxy_url_is_a_connect_tunnel(live_clusters: LiveClusters, tmp_path: Path) -> None:
    """The API server reached only through the kubeconfig's proxy-url: TLS to the server inside the tunnel."""
    _, cluster, user = _entries(live_clusters)
    folder = live_clusters.kubeconfig.parent
    proxy = _ConnectProxy()
    try:
        (tmp_path / "ca.crt").write_bytes(_pem(cluster, "certificate-authority", folder))
        (tmp_path / "client.crt").write_bytes(_pem(user, "client-certificate", folder))
        (tmp_path / "client.key").write_bytes(_pem(user, "client-key", folder))
        kubeconfig = _write(tmp_path, {"server": cluster["server"], "certificate-authority": "ca.crt", "proxy-url": f"http://127.0.0.1:{proxy.port}"},
                            {"client-certificate": "client.crt", "client-key": "client.key"})
        _reads_work(kubeconfig)
        target = cluster["server"].removeprefix("https://").rstrip("/")
        assert proxy.targets and set(proxy.targets) == {target}, proxy.targets
    finally:
        proxy.close()
