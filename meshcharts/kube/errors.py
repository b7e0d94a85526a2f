"""The two ways a request to an API server fails: it never got an answer, or the answer was an error.

Callers in ``meshcharts.deploy`` catch ``OSError`` for "the cluster did not answer" (a refused
connection, a timeout, a TLS handshake the server's certificate fails) and :class:`ApiError` for "the
cluster answered no" (403, 404, 409...), and report each in one line: so a transport failure is an
``OSError`` whose text is already that line, and an HTTP error keeps the status, reason and body.
"""

from __future__ import annotations


class TransportError(OSError):
    """No HTTP answer from the API server: connect or read failed, timed out, or TLS refused it.

    ``str()`` is one line naming the server and what happened, never a credential.
    """


class ApiError(Exception):
    """The API server answered with an HTTP error status (the body is its ``Status`` object, as text)."""

    def __init__(self, status: int, reason: str, body: str | None = None) -> None:
        super().__init__(f"{status} {reason}")
        self.status = status
        self.reason = reason
        self.body = body


__all__ = ["ApiError", "TransportError"]
