"""A local HTTP server that answers JSON: an API server's answers for tests that need no cluster.

Subclass :class:`JsonHandler` (``do_GET`` calls :meth:`JsonHandler.answer`) and run it with
:func:`serving`, which gives the server's base URL for as long as the block runs.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class JsonHandler(BaseHTTPRequestHandler):
    """A request handler that answers with a JSON body and logs nothing."""

    def answer(self, status: int, body: bytes, headers: Mapping[str, str] | None = None) -> None:
        self.send_response(status)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@contextmanager
def serving(handler: type[BaseHTTPRequestHandler], wrap: Callable[[socket.socket], socket.socket] | None = None) -> Iterator[str]:
    """``http://127.0.0.1:PORT`` (``https`` with ``wrap``, which wraps the listening socket in TLS) of a
    threaded server running ``handler``, until the block ends."""
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    if wrap is not None:
        httpd.socket = wrap(httpd.socket)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        yield f"{'https' if wrap else 'http'}://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()
