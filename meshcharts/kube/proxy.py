"""Which proxy, if any, a connection to an API server goes through: the cluster's ``proxy-url``, else the
environment the way Go's ``http.ProxyFromEnvironment`` reads it (client-go's default).

From the environment: ``HTTPS_PROXY`` (or ``https_proxy``) for an https server, ``HTTP_PROXY`` for an
http one; never for ``localhost`` or a loopback address; not for a host ``NO_PROXY`` matches (``*``;
an IP; a CIDR; a domain, which also matches its subdomains; ``.domain`` only its subdomains; each
optionally with ``:port``). A proxy without a scheme is an http proxy, as Go reads it.

meshcharts speaks to an http proxy with a CONNECT tunnel (what every HTTPS client does). A proxy
spoken to over TLS (``https://``) or a SOCKS proxy it cannot use, and says so rather than connecting
around it.
"""

from __future__ import annotations

import base64
import ipaddress
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import unquote, urlsplit


class ProxyProblem(Exception):
    """A proxy is set that meshcharts cannot use (one line, no credentials)."""


@dataclass(frozen=True)
class Proxy:
    """An http proxy to tunnel through, with its Proxy-Authorization header if its URL had userinfo."""

    host: str
    port: int
    headers: dict[str, str] = field(default_factory=dict, repr=False)

    def __str__(self) -> str:
        return f"http://{self.host}:{self.port}"


def choose(server: str, proxy_url: str | None, environ: Mapping[str, str] | None = None) -> Proxy | None:
    """The proxy for ``server`` (an API server URL), or None to connect directly."""
    env = os.environ if environ is None else environ
    target = urlsplit(server)
    if proxy_url:
        return _parse(proxy_url, "proxy-url")
    name = "HTTPS_PROXY" if target.scheme == "https" else "HTTP_PROXY"
    setting = env.get(name) or env.get(name.lower()) or ""
    if not setting or not _use_proxy(target.hostname or "", target.port or (443 if target.scheme == "https" else 80), env):
        return None
    return _parse(setting if "://" in setting else f"http://{setting}", name)


def _parse(url: str, where: str) -> Proxy:
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme.startswith("socks"):
        raise ProxyProblem(f"{where} is a SOCKS proxy ({scheme}://{parts.hostname}); meshcharts tunnels through http proxies only")
    if scheme == "https":
        raise ProxyProblem(f"{where} is a proxy spoken to over TLS (https://{parts.hostname}); meshcharts tunnels through http:// proxies only")
    if scheme != "http" or not parts.hostname:
        raise ProxyProblem(f"{where} is not an http proxy URL")
    headers = {}
    if parts.username is not None:
        pair = f"{unquote(parts.username)}:{unquote(parts.password or '')}"
        headers["Proxy-Authorization"] = "Basic " + base64.b64encode(pair.encode()).decode()
    try:
        port = parts.port or 80
    except ValueError:
        raise ProxyProblem(f"{where} has an invalid port") from None
    return Proxy(parts.hostname, port, headers)


def _use_proxy(host: str, port: int, env: Mapping[str, str]) -> bool:
    """Go's httpproxy ``useProxy``: loopback never, then NO_PROXY."""
    host = host.lower().strip("[]")
    if host == "localhost":
        return False
    address = _ip(host)
    if address is not None and address.is_loopback:
        return False
    for entry in (env.get("NO_PROXY") or env.get("no_proxy") or "").split(","):
        entry = entry.strip().lower()
        if not entry:
            continue
        if entry == "*":
            return False
        if "/" in entry:
            try:
                if address is not None and address in ipaddress.ip_network(entry, strict=False):
                    return False
            except ValueError:
                pass
            continue
        name, _, wanted = entry.rpartition(":") if entry.count(":") == 1 else (entry, "", "")
        if wanted and wanted != str(port):
            continue
        name = name.strip("[]")
        if _ip(name) is not None:
            if address is not None and _ip(name) == address:
                return False
            continue
        if name.startswith("*."):
            name = name[1:]
        if name.startswith("."):
            if host.endswith(name):
                return False
        elif host == name or host.endswith("." + name):
            return False
    return True


def _ip(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


__all__ = ["Proxy", "ProxyProblem", "choose"]
