"""One API server's HTTP(S) client: a pool of keep-alive connections sharing one TLS context.

Why not the ``kubernetes`` package: meshcharts only sends raw JSON requests, and importing that client
(pydantic, oauthlib, urllib3, dateutil, its generated ApiClient) cost a third of a second of every
``plan``; its urllib3 pool also built a new SSLContext, loading the certificates again, per connection.

Here the :class:`ssl.SSLContext` is built once per client (again only when an exec plugin hands out
a new client certificate), connections are ``http.client`` ones kept alive in a pool of up to
:data:`POOL_SIZE` that several threads share, and each request carries its own (connect, read)
timeout. A kept-alive connection the server closed meanwhile is retried once on a fresh one, for GET
only (a write might have been applied). Failures are :class:`TransportError` (an ``OSError``) with
one line naming the server; HTTP error statuses are returned as they are, for the caller to judge.
"""

from __future__ import annotations

import base64
import http.client
import json
import os
import select
import socket
import ssl
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

from meshcharts.kube.errors import TransportError
from meshcharts.kube.exec_plugin import Credentials, ExecAuthenticator, PluginError, authenticator
from meshcharts.kube.kubeconfig import KubeconfigProblem, Settings
from meshcharts.kube.proxy import Proxy, ProxyProblem, choose

#: Idle keep-alive connections kept per client (plan reads one cluster from several threads).
POOL_SIZE = 16
#: (connect, read) seconds when the caller names none.
DEFAULT_TIMEOUT = (5.0, 20.0)
_STALE = (http.client.RemoteDisconnected, http.client.BadStatusLine, ConnectionResetError, BrokenPipeError, ConnectionAbortedError)


@dataclass(frozen=True)
class Response:
    """An API server's answer: status, reason, headers, the whole body."""

    status: int
    reason: str
    headers: http.client.HTTPMessage
    data: bytes

    def getheader(self, name: str, default: str | None = None) -> str | None:
        return self.headers.get(name, default)


class _TLSConnection(http.client.HTTPSConnection):
    """An HTTPS connection whose TLS server name may differ from the host dialled (``tls-server-name``,
    or the API server's name when tunnelling through a proxy)."""

    def __init__(self, host: str, port: int, *, context: ssl.SSLContext, timeout: float, server_name: str | None) -> None:
        super().__init__(host, port, timeout=timeout, context=context)
        self._tls = context
        self._server_name = server_name

    def connect(self) -> None:
        http.client.HTTPConnection.connect(self)  # TCP, and the proxy's CONNECT tunnel when set
        name = self._server_name or getattr(self, "_tunnel_host", None) or self.host
        self.sock = self._tls.wrap_socket(self.sock, server_hostname=name)


class KubeClient:
    """Requests to one context's API server, thread-safe; :meth:`close` ends its kept-alive connections."""

    def __init__(self, settings: Settings, environ: dict[str, str] | None = None) -> None:
        """Everything that can fail from configuration fails here (KubeconfigProblem), not at the first request:
        the proxy, the exec plugin's first run, certificates that do not load."""
        self.settings = settings
        url = urlsplit(settings.server)
        self.tls = url.scheme == "https"
        self.host = url.hostname or ""
        try:
            self.port = url.port or (443 if self.tls else 80)
        except ValueError:
            raise KubeconfigProblem("the server URL has an invalid port") from None
        self.base_path = url.path.rstrip("/")  # Rancher serves clusters under /k8s/clusters/<id>
        self.server = settings.server
        try:
            self.proxy: Proxy | None = choose(settings.server, settings.proxy_url, environ)
        except ProxyProblem as exc:
            raise KubeconfigProblem(str(exc)) from None
        self._exec: ExecAuthenticator | None = authenticator(settings) if settings.exec is not None and not settings.has_static_auth else None
        self._creds: Credentials | None = None
        if self._exec is not None:
            try:
                self._creds = self._exec.credentials()
            except PluginError as exc:
                raise KubeconfigProblem(str(exc)) from None
        self._lock = threading.Lock()
        self._idle: list[tuple[int, http.client.HTTPConnection]] = []
        self._generation = 0
        self._context = self._tls_context() if self.tls else None

    # -- TLS ---------------------------------------------------------------------------------------

    def _tls_context(self) -> ssl.SSLContext:
        settings = self.settings
        try:
            context = ssl.create_default_context(cadata=settings.ca_data.decode("ascii")) if settings.ca_data else ssl.create_default_context()
        except (ssl.SSLError, UnicodeDecodeError, ValueError):
            raise KubeconfigProblem("the certificate authority is not a PEM certificate") from None
        if settings.insecure:
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        cert, key = settings.cert_data, settings.key_data
        if self._creds is not None and self._creds.cert_data:
            cert, key = self._creds.cert_data, self._creds.key_data
        if cert and key:
            _load_client_certificate(context, cert, key)
        return context

    # -- requests ----------------------------------------------------------------------------------

    def request(
        self, method: str, path: str, *, query: list[tuple[str, str]] | None = None, headers: dict[str, str] | None = None,
        body: Any = None, timeout: tuple[float, float] = DEFAULT_TIMEOUT,
    ) -> Response:
        """One request; the answer whatever its status. A 401 to an exec plugin's credentials runs the
        plugin once more and retries once, as client-go does."""
        target = self.base_path + path + (f"?{urlencode(query)}" if query else "")
        payload = body if isinstance(body, bytes) or body is None else json.dumps(body).encode()
        for attempt in range(2):
            creds = self._current_credentials()
            response = self._round_trip(method, target, self._headers(creds, headers, payload), payload, timeout)
            if response.status != 401 or self._exec is None or creds is None or attempt:
                return response
            self._rotate(creds)
        raise AssertionError("unreachable: the second attempt returns")

    def _current_credentials(self) -> Credentials | None:
        if self._exec is None:
            return None
        try:
            creds = self._exec.credentials()
        except PluginError as exc:
            raise TransportError(f"{self.server}: {exc}") from None
        self._adopt(creds)
        return creds

    def _rotate(self, stale: Credentials) -> None:
        assert self._exec is not None
        try:
            self._adopt(self._exec.refresh(stale))
        except PluginError as exc:
            raise TransportError(f"{self.server}: {exc}") from None

    def _adopt(self, creds: Credentials) -> None:
        """New plugin credentials with another client certificate: a new TLS context, and no old connection reused."""
        stale: list[tuple[int, http.client.HTTPConnection]] = []
        with self._lock:
            old, self._creds = self._creds, creds
            if self.tls and old is not None and (old.cert_data, old.key_data) != (creds.cert_data, creds.key_data):
                try:
                    self._context = self._tls_context()
                except KubeconfigProblem as exc:
                    raise TransportError(f"{self.server}: the exec plugin's new credentials: {exc}") from None
                self._generation += 1
                stale, self._idle = self._idle, []
        for _, connection in stale:
            connection.close()

    def _headers(self, creds: Credentials | None, given: dict[str, str] | None, payload: bytes | None) -> dict[str, Any]:
        settings = self.settings
        headers: dict[str, Any] = {"User-Agent": "meshcharts", "Accept": "application/json"}
        token = creds.token if creds is not None else settings.token
        if not token and settings.token_file:
            try:
                token = Path(settings.token_file).read_text(encoding="utf-8").strip()
            except OSError as exc:
                raise TransportError(f"{self.server}: cannot read tokenFile {settings.token_file}: {exc.strerror or exc}") from None
        if token:
            headers["Authorization"] = f"Bearer {token}"
        elif settings.username or settings.password:
            pair = f"{settings.username or ''}:{settings.password or ''}".encode()
            headers["Authorization"] = "Basic " + base64.b64encode(pair).decode()
        if payload is not None:
            headers["Content-Type"] = "application/json"
        headers.update(given or {})
        return headers

    def _impersonation(self, connection: http.client.HTTPConnection) -> None:
        """Impersonate-* headers (``as``, ``as-uid``, ``as-groups``, ``as-user-extra``): some repeat, so putheader."""
        settings = self.settings
        if settings.impersonate:
            connection.putheader("Impersonate-User", settings.impersonate)
        if settings.impersonate_uid:
            connection.putheader("Impersonate-Uid", settings.impersonate_uid)
        for group in settings.impersonate_groups:
            connection.putheader("Impersonate-Group", group)
        for key, values in settings.impersonate_extra:
            for value in values:
                connection.putheader(f"Impersonate-Extra-{key}", value)

    def _round_trip(self, method: str, target: str, headers: dict[str, Any], payload: bytes | None, timeout: tuple[float, float]) -> Response:
        connect, read = timeout
        for attempt in range(2):
            generation, connection, reused = self._checkout(connect, read, fresh=attempt > 0)
            try:
                connection.putrequest(method, target, skip_accept_encoding=True)
                self._impersonation(connection)
                for name, value in headers.items():
                    connection.putheader(name, value)
                if payload is not None:
                    connection.putheader("Content-Length", str(len(payload)))
                connection.endheaders(payload)
                answer = connection.getresponse()
                data = answer.read()
            except _STALE as exc:
                connection.close()
                if reused and method == "GET" and attempt == 0:
                    continue  # a kept-alive connection the server had closed: once more on a fresh one
                raise TransportError(f"{self.server}: the connection was closed ({_reason(exc)})") from None
            except TimeoutError:
                connection.close()
                raise TransportError(f"{self.server}: read timed out after {read:g}s") from None
            except (OSError, http.client.HTTPException) as exc:
                connection.close()
                raise TransportError(f"{self.server}: {_reason(exc)}") from None
            if answer.will_close:
                connection.close()
            else:
                self._checkin(generation, connection)
            return Response(answer.status, answer.reason, answer.headers, data)
        raise AssertionError("unreachable: the second attempt returns or raises")

    # -- the pool ----------------------------------------------------------------------------------

    def _checkout(self, connect: float, read: float, *, fresh: bool = False) -> tuple[int, http.client.HTTPConnection, bool]:
        """An idle connection the server has not closed (unless ``fresh``), else a new one."""
        while not fresh:
            with self._lock:
                generation, context = self._generation, self._context
                if not self._idle:
                    break
                _, connection = self._idle.pop()
            if connection.sock is None or _dropped(connection.sock):
                connection.close()  # the server closed it while idle (its keep-alive timeout): take the next
                continue
            connection.sock.settimeout(read)
            return generation, connection, True
        with self._lock:
            generation, context = self._generation, self._context
        connection = self._connection(context, connect)
        try:
            connection.connect()
        except TimeoutError:
            connection.close()
            raise TransportError(f"{self.server}: connecting timed out after {connect:g}s" + (f" (through proxy {self.proxy})" if self.proxy else "")) from None
        except (OSError, http.client.HTTPException) as exc:
            connection.close()
            raise TransportError(f"{self.server}: {_reason(exc)}" + (f" (through proxy {self.proxy})" if self.proxy else "")) from None
        assert connection.sock is not None
        connection.sock.settimeout(read)
        return generation, connection, False

    def _connection(self, context: ssl.SSLContext | None, connect: float) -> http.client.HTTPConnection:
        host, port = (self.proxy.host, self.proxy.port) if self.proxy else (self.host, self.port)
        connection: http.client.HTTPConnection
        if context is not None:
            connection = _TLSConnection(host, port, context=context, timeout=connect, server_name=self.settings.tls_server_name)
        else:
            connection = http.client.HTTPConnection(host, port, timeout=connect)
        if self.proxy:
            connection.set_tunnel(self.host, self.port, headers=self.proxy.headers)
        return connection

    def _checkin(self, generation: int, connection: http.client.HTTPConnection) -> None:
        with self._lock:
            if generation == self._generation and len(self._idle) < POOL_SIZE:
                self._idle.append((generation, connection))
                return
        connection.close()

    def close(self) -> None:
        """Close the kept-alive connections (the client stays usable: a next request connects anew)."""
        with self._lock:
            idle, self._idle = self._idle, []
        for _, connection in idle:
            connection.close()


def _load_client_certificate(context: ssl.SSLContext, cert: bytes, key: bytes) -> None:
    """ssl loads a certificate only from a file: a private (0600) temporary one, unlinked at once."""
    handle, name = tempfile.mkstemp(prefix="meshcharts-", suffix=".pem")
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(cert.rstrip(b"\n") + b"\n" + key)
        # An encrypted key would make OpenSSL ask for its password on the terminal (kubectl cannot read
        # one either): no password is given, so it fails here instead, in one line.
        context.load_cert_chain(name, password=lambda: b"")
    except ssl.SSLError:
        raise KubeconfigProblem("the client certificate and key do not load (not PEM, an encrypted key, or the key does not match)") from None
    finally:
        Path(name).unlink(missing_ok=True)


def _dropped(sock: socket.socket) -> bool:
    """Whether an idle kept-alive socket was closed by the server: readable with nothing asked means EOF
    (or a stray byte, equally unusable), the check urllib3 makes before reusing a connection."""
    try:
        readable, _, _ = select.select([sock], [], [], 0)
    except (OSError, ValueError):
        return True
    return bool(readable)


def _reason(exc: BaseException) -> str:
    """One line for a connection failure: the system's own words, without Python's ``[Errno N]`` decoration."""
    if isinstance(exc, ssl.SSLCertVerificationError):
        return f"TLS: certificate verify failed: {exc.verify_message}" if exc.verify_message else "TLS: certificate verify failed"
    if isinstance(exc, ssl.SSLError):
        return f"TLS: {exc.reason or exc}"
    if isinstance(exc, socket.gaierror):
        return f"cannot resolve the host: {exc.strerror or exc}"
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror  # the system's words: "Connection refused", "No route to host"
    text = str(exc).splitlines()[0] if str(exc) else ""
    return text or type(exc).__name__


__all__ = ["DEFAULT_TIMEOUT", "POOL_SIZE", "KubeClient", "Response"]
