"""meshcharts.kube without a cluster: which kubeconfig entry wins, how relative paths resolve, what is
refused and how it is said, exec plugins (real processes written by the test) and the headers a
local HTTP server receives."""

from __future__ import annotations

import base64
import dataclasses
import json
import shutil
import ssl
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from meshcharts.core.diagnostics import ConfigError
from meshcharts.core.reporter import format_diagnostic
from meshcharts.deploy.live import api_client, get_json
from meshcharts.kube import ApiError, load_settings
from meshcharts.kube.proxy import ProxyProblem, choose
from tests.json_server import JsonHandler, serving


def _kubeconfig(path: Path, *, clusters: dict[str, dict[str, Any]] | None = None, users: dict[str, dict[str, Any]] | None = None,
                contexts: dict[str, dict[str, Any]] | None = None, current: str | None = None) -> Path:
    document: dict[str, Any] = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": name, "cluster": body} for name, body in (clusters or {}).items()],
        "users": [{"name": name, "user": body} for name, body in (users or {}).items()],
        "contexts": [{"name": name, "context": body} for name, body in (contexts or {}).items()],
    }
    if current:
        document["current-context"] = current
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(document), encoding="utf-8")
    return path


def _problem(kubeconfig: Path | str | None, context: str) -> str:
    with pytest.raises(ConfigError) as raised:
        api_client(str(kubeconfig) if kubeconfig else None, context, "east")
    (diagnostic,) = raised.value.diagnostics
    assert diagnostic.rule == "cluster.kubeconfig" and diagnostic.cluster == "east"
    return format_diagnostic(dataclasses.replace(diagnostic, hint=None))


def test_the_first_file_to_set_a_name_wins_and_relative_paths_resolve_against_their_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "a" / "certs").mkdir(parents=True)
    (tmp_path / "a" / "certs" / "ca.pem").write_bytes(b"the CA of a")
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "token").write_text("from-b\n", encoding="utf-8")
    first = _kubeconfig(
        tmp_path / "a" / "config",
        clusters={"shared": {"server": "https://first:6443", "certificate-authority": "certs/ca.pem"}},
        contexts={"east": {"cluster": "shared", "user": "ops"}},
        current="east",
    )
    second = _kubeconfig(
        tmp_path / "b" / "config",
        clusters={"shared": {"server": "https://second:6443"}, "other": {"server": "https://other:6443"}},
        users={"ops": {"tokenFile": "token"}},
        contexts={"east": {"cluster": "other", "user": "ops"}, "west": {"cluster": "other", "user": "ops"}},
        current="west",
    )
    monkeypatch.setenv("KUBECONFIG", f"{first}:{tmp_path / 'missing'}:{second}")
    settings = load_settings(None, None)
    assert (settings.context, settings.server, settings.ca_data) == ("east", "https://first:6443", b"the CA of a")
    assert settings.token_file == str(tmp_path / "b" / "token")  # the user came from b: its folder
    assert load_settings(None, "west").server == "https://other:6443"


def test_a_missing_context_names_the_ones_there_are(tmp_path: Path) -> None:
    path = _kubeconfig(tmp_path / "config", clusters={"c": {"server": "https://c"}}, contexts={"east": {"cluster": "c"}, "west": {"cluster": "c"}})
    assert _problem(path, "north") == f"east: cannot use kube-context 'north' from {path}: no such context (the contexts are: east, west)"
    assert _problem(tmp_path / "nowhere", "east").endswith(f"from {tmp_path / 'nowhere'}: the file does not exist")


def test_auth_provider_is_refused_naming_the_context_and_what_to_use(tmp_path: Path) -> None:
    path = _kubeconfig(
        tmp_path / "config", clusters={"c": {"server": "https://c"}}, contexts={"gke": {"cluster": "c", "user": "u"}},
        users={"u": {"auth-provider": {"name": "gcp", "config": {"access-token": "s3cr3t"}}}},
    )
    line = _problem(path, "gke")
    assert line.startswith(f"east: cannot use kube-context 'gke' from {path}: user 'u' uses auth-provider gcp, which kubectl dropped in 1.26")
    assert "gke-gcloud-auth-plugin" in line and "s3cr3t" not in line


def test_token_and_basic_auth_together_are_refused_as_clientcmd_refuses_them(tmp_path: Path) -> None:
    path = _kubeconfig(
        tmp_path / "config", clusters={"c": {"server": "https://c"}}, contexts={"east": {"cluster": "c", "user": "u"}},
        users={"u": {"token": "t0ken", "username": "admin", "password": "pa55"}},
    )
    line = _problem(path, "east")
    assert "more than one authentication method found for user 'u'" in line and "t0ken" not in line and "pa55" not in line


class _Recorder(JsonHandler):
    """An API server that records each request's auth headers and wants ``token`` (401 otherwise)."""

    seen: list[dict[str, Any]] = []
    token = ""

    def do_GET(self) -> None:  # noqa: N802  (http.server's name)
        auth = self.headers.get("Authorization", "")
        type(self).seen.append({"auth": auth, "as": self.headers.get("Impersonate-User"), "groups": self.headers.get_all("Impersonate-Group") or []})
        ok = not type(self).token or auth == f"Bearer {type(self).token}"
        self.answer(200 if ok else 401, json.dumps({"path": self.path} if ok else {"kind": "Status", "code": 401}).encode())


@pytest.fixture()
def server() -> Iterator[str]:
    _Recorder.seen, _Recorder.token = [], ""
    with serving(_Recorder) as url:
        yield f"{url}/prefix"


def test_a_token_impersonation_and_the_servers_path_prefix_reach_the_server(tmp_path: Path, server: str) -> None:
    path = _kubeconfig(
        tmp_path / "config", clusters={"c": {"server": server}}, contexts={"east": {"cluster": "c", "user": "u"}},
        users={"u": {"token": "t0ken", "as": "alice", "as-groups": ["ops", "audit"]}},
    )
    api = api_client(str(path), "east", "east")
    assert get_json(api, "/version") == {"path": "/prefix/version"}  # Rancher serves clusters under a path
    assert _Recorder.seen == [{"auth": "Bearer t0ken", "as": "alice", "groups": ["ops", "audit"]}]


def _plugin(tmp_path: Path, output: str, *, exit_code: int = 0) -> Path:
    """An exec plugin: a Python script that counts its runs, records KUBERNETES_EXEC_INFO and prints ``output``."""
    script = tmp_path / "bin" / "plugin.py"
    script.parent.mkdir(parents=True, exist_ok=True)
    script.write_text(
        "import os, sys\n"
        f"with open({str(tmp_path / 'runs')!r}, 'a') as out: out.write(os.environ.get('KUBERNETES_EXEC_INFO', '') + '\\n')\n"
        f"sys.stdout.write({output!r})\nsys.exit({exit_code})\n",
        encoding="utf-8",
    )
    return script


def _exec_config(tmp_path: Path, server: str, exec_body: dict[str, Any]) -> Path:
    return _kubeconfig(tmp_path / "kube" / "config", clusters={"c": {"server": server}}, contexts={"east": {"cluster": "c", "user": "u"}}, users={"u": {"exec": exec_body}})


def _credential(token: str, version: str = "client.authentication.k8s.io/v1") -> str:
    return json.dumps({"apiVersion": version, "kind": "ExecCredential", "status": {"token": token}})


def test_an_exec_plugins_token_is_cached_and_fetched_again_after_a_401(tmp_path: Path, server: str) -> None:
    _plugin(tmp_path, _credential("first"))
    body = {"apiVersion": "client.authentication.k8s.io/v1", "command": sys.executable, "args": [str(tmp_path / "bin" / "plugin.py")],
            "interactiveMode": "Never", "provideClusterInfo": True}
    api = api_client(str(_exec_config(tmp_path, server, body)), "east", "east")
    _Recorder.token = "first"
    assert get_json(api, "/a") == {"path": "/prefix/a"} and get_json(api, "/b") == {"path": "/prefix/b"}
    runs = (tmp_path / "runs").read_text(encoding="utf-8").splitlines()
    assert len(runs) == 1  # cached: one run for both requests
    info = json.loads(runs[0])
    assert info["spec"] == {"interactive": False, "cluster": {"server": server}} and info["apiVersion"] == "client.authentication.k8s.io/v1"
    # The server stops accepting the token: the plugin runs once more and the request is retried once.
    _plugin(tmp_path, _credential("second"))
    _Recorder.token = "second"
    assert get_json(api, "/c") == {"path": "/prefix/c"}
    assert [seen["auth"] for seen in _Recorder.seen[-2:]] == ["Bearer first", "Bearer second"]
    # A plugin whose new token is refused too: the 401 is the answer, not a loop.
    _Recorder.token = "never"
    with pytest.raises(ApiError) as refused:
        get_json(api, "/d")
    assert refused.value.status == 401 and len((tmp_path / "runs").read_text(encoding="utf-8").splitlines()) == 3


def test_a_relative_exec_command_resolves_against_its_kubeconfigs_folder(tmp_path: Path, server: str) -> None:
    script = _plugin(tmp_path, _credential("t", "client.authentication.k8s.io/v1beta1"))
    launcher = tmp_path / "kube" / "bin" / "launch"
    launcher.parent.mkdir(parents=True)
    launcher.write_text(f"#!/bin/sh\nexec {sys.executable} {script}\n", encoding="utf-8")
    launcher.chmod(0o755)
    body = {"apiVersion": "client.authentication.k8s.io/v1beta1", "command": "./bin/launch"}  # v1beta1: interactiveMode defaults
    api = api_client(str(_exec_config(tmp_path, server, body)), "east", "east")
    assert get_json(api, "/x") == {"path": "/prefix/x"} and _Recorder.seen[-1]["auth"] == "Bearer t"


@pytest.mark.parametrize(
    ("body", "output", "expected"),
    [
        ({"command": "no-such-plugin-anywhere", "installHint": "install it with: brew install no-such-plugin"}, "",
         "exec plugin: executable no-such-plugin-anywhere not found (install it with: brew install no-such-plugin)"),
        ({}, "Login page: <html>", "decoding stdout: not an ExecCredential in JSON"),
        ({}, _credential("t", "client.authentication.k8s.io/v1beta1"),
         "is configured to use API version client.authentication.k8s.io/v1, plugin returned version client.authentication.k8s.io/v1beta1"),
        ({}, json.dumps({"apiVersion": "client.authentication.k8s.io/v1", "kind": "ExecCredential", "status": {"clientCertificateData": "x"}}),
         "returned only certificate or key, not both"),
        ({"interactiveMode": None}, "", "interactiveMode must be specified for user 'u' to use exec authentication plugin"),
        ({"apiVersion": "client.authentication.k8s.io/v1alpha1"}, "", "exec plugin: invalid apiVersion 'client.authentication.k8s.io/v1alpha1'"),
    ],
    ids=["missing-command", "not-json", "wrong-api-version", "cert-without-key", "v1-without-interactive-mode", "unknown-api-version"],
)
def test_a_bad_exec_plugin_is_one_line_naming_the_context(tmp_path: Path, server: str, body: dict[str, Any], output: str, expected: str) -> None:
    script = _plugin(tmp_path, output)
    exec_body = {"apiVersion": "client.authentication.k8s.io/v1", "command": sys.executable, "args": [str(script)], "interactiveMode": "Never", **body}
    exec_body = {key: value for key, value in exec_body.items() if value is not None}
    path = _exec_config(tmp_path, server, exec_body)
    line = _problem(path, "east")
    assert line.startswith(f"east: cannot use kube-context 'east' from {path}: ") and expected in line, line
    assert "\n" not in line


def test_a_failing_exec_plugin_says_its_exit_code(tmp_path: Path, server: str) -> None:
    script = _plugin(tmp_path, "", exit_code=7)
    path = _exec_config(tmp_path, server, {"apiVersion": "client.authentication.k8s.io/v1", "command": sys.executable, "args": [str(script)], "interactiveMode": "Never"})
    assert _problem(path, "east").endswith(f"exec plugin: executable {sys.executable} failed with exit code 7")


def test_proxies_as_go_reads_them(tmp_path: Path) -> None:
    env = {"HTTPS_PROXY": "proxy.corp:3128", "NO_PROXY": "internal.corp,10.0.0.0/8,.svc"}
    assert str(choose("https://api.example.com:6443", None, env)) == "http://proxy.corp:3128"
    for server in ("https://127.0.0.1:6443", "https://localhost:6443", "https://k8s.internal.corp", "https://internal.corp", "https://10.2.3.4:6443", "https://a.svc"):
        assert choose(server, None, env) is None, server
    assert choose("https://api.example.com", None, {}) is None
    assert choose("https://api.example.com", "http://user:pw@proxy:8080", {}).headers["Proxy-Authorization"].startswith("Basic ")  # type: ignore[union-attr]
    with pytest.raises(ProxyProblem, match="SOCKS"):
        choose("https://api.example.com", "socks5://proxy:1080", {})
    path = _kubeconfig(tmp_path / "config", clusters={"c": {"server": "https://c", "proxy-url": "socks5://proxy:1080"}}, contexts={"east": {"cluster": "c"}})
    assert "proxy-url is a SOCKS proxy (socks5://proxy); meshcharts tunnels through http proxies only" in _problem(path, "east")


class _ClosesAfterEachAnswer(JsonHandler):
    """An HTTP/1.1 server that answers as if keeping the connection alive, then closes it (an API server
    or load balancer whose idle timeout ended while the connection sat in the pool)."""

    protocol_version = "HTTP/1.1"
    connections: set[int] = set()

    def do_GET(self) -> None:  # noqa: N802  (http.server's name)
        type(self).connections.add(self.client_address[1])
        self.answer(200, b'{"ok": true}')
        self.close_connection = True


def test_a_kept_alive_connection_the_server_closed_is_not_an_error(tmp_path: Path) -> None:
    with serving(_ClosesAfterEachAnswer) as url:
        path = _kubeconfig(tmp_path / "config", clusters={"c": {"server": url}}, contexts={"east": {"cluster": "c"}})
        api = api_client(str(path), "east", "east")
        assert [get_json(api, "/version") for _ in range(5)] == [{"ok": True}] * 5
        assert len(_ClosesAfterEachAnswer.connections) == 5  # each on a connection of its own


def _openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


@pytest.fixture()
def pki(tmp_path: Path) -> Path:
    """A CA, a server certificate for the name api.internal only, and a client certificate for alice (openssl)."""
    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed: it makes the certificates of this test's TLS server")
    folder = tmp_path / "pki"
    folder.mkdir()
    _openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.crt", "-days", "2", "-subj", "/CN=test-ca", cwd=folder)
    for name, subject, extension in (("server", "/CN=api.internal", "subjectAltName=DNS:api.internal"), ("client", "/CN=alice", "extendedKeyUsage=clientAuth")):
        _openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", f"{name}.key", "-out", f"{name}.csr", "-subj", subject, cwd=folder)
        (folder / f"{name}.ext").write_text(extension + "\n", encoding="utf-8")
        _openssl("x509", "-req", "-in", f"{name}.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial", "-out", f"{name}.crt",
                 "-days", "2", "-extfile", f"{name}.ext", cwd=folder)
    return folder


class _WhoAmI(JsonHandler):
    """Answers with the common name of the client certificate the TLS handshake presented."""

    def do_GET(self) -> None:  # noqa: N802  (http.server's name)
        peer = self.connection.getpeercert()  # type: ignore[attr-defined]
        names = [value for field in (peer or {}).get("subject", ()) for key, value in field if key == "commonName"]
        self.answer(200, json.dumps({"user": names[0] if names else None}).encode())


def test_tls_server_name_and_client_certificate_data_against_a_tls_server(pki: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH, cafile=str(pki / "ca.crt"))
    context.verify_mode = ssl.CERT_REQUIRED
    context.load_cert_chain(str(pki / "server.crt"), str(pki / "server.key"))
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))  # where the client's key is loaded from, briefly
    (tmp_path / "tmp").mkdir()
    with serving(_WhoAmI, wrap=lambda listening: context.wrap_socket(listening, server_side=True)) as server:
        data = {name: base64.b64encode((pki / name).read_bytes()).decode() for name in ("ca.crt", "client.crt", "client.key")}
        user = {"client-certificate-data": data["client.crt"], "client-key-data": data["client.key"]}
        named = _kubeconfig(tmp_path / "named", clusters={"c": {"server": server, "certificate-authority-data": data["ca.crt"], "tls-server-name": "api.internal"}},
                            users={"u": user}, contexts={"east": {"cluster": "c", "user": "u"}})
        assert get_json(api_client(str(named), "east", "east"), "/") == {"user": "alice"}
        assert list((tmp_path / "tmp").iterdir()) == []  # the key's temporary file is gone
        unnamed = _kubeconfig(tmp_path / "unnamed", clusters={"c": {"server": server, "certificate-authority-data": data["ca.crt"]}},
                              users={"u": user}, contexts={"east": {"cluster": "c", "user": "u"}})
        with pytest.raises(OSError) as refused:
            get_json(api_client(str(unnamed), "east", "east"), "/")
        assert str(refused.value).startswith(f"{server}: TLS: certificate verify failed: IP address mismatch"), refused.value


def test_an_encrypted_client_key_is_one_line_not_a_password_prompt(pki: Path, tmp_path: Path) -> None:
    _openssl("pkey", "-in", "client.key", "-aes256", "-passout", "pass:secret", "-out", "client.enc.key", cwd=pki)
    data = {name: base64.b64encode((pki / name).read_bytes()).decode() for name in ("client.crt", "client.enc.key")}
    path = _kubeconfig(tmp_path / "config", clusters={"c": {"server": "https://127.0.0.1:1"}}, contexts={"east": {"cluster": "c", "user": "u"}},
                       users={"u": {"client-certificate-data": data["client.crt"], "client-key-data": data["client.enc.key"]}})
    assert "the client certificate and key do not load (not PEM, an encrypted key, or the key does not match)" in _problem(path, "east")
