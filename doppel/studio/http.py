"""Request, response and routing for the studio, on the standard library's http.server.

Every request passes its gates before a byte of its body is read: the token (when one is set), the
Host header (a page on another site cannot reach a localhost studio by DNS rebinding), a
Content-Length that is present, a number, and at most MAX_BODY (GETs carry none) and, for POST,
a custom header plus JSON body (a cross-site form cannot send either, so no CSRF). Errors never
show absolute paths: paths inside the workspace are shown relative to it.
"""

from __future__ import annotations

import hmac
import json
import mimetypes
import socket
import traceback
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler
from importlib import resources
from typing import Any, Callable
from urllib.parse import parse_qs, urlsplit

from doppel.core.errors import DoppelError
from doppel.studio.paths import Forbidden, without_absolute_paths

TOKEN_HEADER = "X-Doppel-Token"
TOKEN_COOKIE = "doppel_token"
POST_HEADER = "X-Doppel-Request"  # POSTs must carry it: browsers refuse custom headers cross-site
MAX_BODY = 16 * 1024 * 1024
DRAIN_LIMIT = 1024 * 1024  # after refusing a request, read at most this much of what it still sends
DRAIN_SECONDS = 1.0


class HttpError(Exception):
    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, str]
    headers: Any
    body: bytes = b""

    def json(self) -> dict:
        try:
            data = json.loads(self.body or b"{}")
        except (ValueError, RecursionError) as e:  # RecursionError: nested deeper than the parser goes
            raise HttpError(400, f"body is not JSON ({e})") from e
        if not isinstance(data, dict):
            raise HttpError(400, "body must be a JSON object")
        return data

    def arg(self, name: str, default: str | None = None) -> str:
        value = self.query.get(name, default)
        if value is None:
            raise HttpError(400, f"missing parameter '{name}'")
        return value


@dataclass
class Response:
    body: bytes = b""
    content_type: str = "application/json"
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)


Handler = Callable[[Any, Request], "Response | dict | list | None"]


def json_response(obj: Any, status: int = 200) -> Response:
    return Response(json.dumps(obj, default=_jsonable).encode("utf-8"), "application/json", status)


def _jsonable(o: Any):
    import numpy as np
    from pathlib import Path

    if isinstance(o, np.ndarray):
        return o.tolist()
    if isinstance(o, (np.floating, np.integer)):
        return o.item()
    if isinstance(o, Path):
        return str(o)
    raise TypeError(f"not JSON serialisable: {type(o).__name__}")


def static_file(name: str) -> Response:
    """A file of the bundled front end (doppel/studio/static/), never anything else."""
    if not name or "/" in name or "\\" in name or name.startswith("."):
        raise HttpError(404, "not found")
    res = resources.files("doppel.studio") / "static" / name
    if not res.is_file():
        raise HttpError(404, "not found")
    ctype = mimetypes.guess_type(name)[0] or "application/octet-stream"
    if ctype.startswith("text/") or ctype.endswith("javascript"):
        ctype += "; charset=utf-8"
    return Response(res.read_bytes(), ctype, headers={"Cache-Control": "no-cache"})


def make_handler(studio) -> type[BaseHTTPRequestHandler]:
    """A request handler class bound to one Studio (its routes, token and allowed hosts)."""

    class StudioHandler(BaseHTTPRequestHandler):
        server_version = "doppel-studio"
        protocol_version = "HTTP/1.1"
        timeout = 60  # seconds a client may stall mid-request before its connection is dropped

        def log_message(self, fmt: str, *args) -> None:  # quiet: errors are answered, not printed
            if studio.verbose:
                super().log_message(fmt, *args)

        def do_GET(self) -> None:
            self._handle("GET")

        def do_POST(self) -> None:
            self._handle("POST")

        def _handle(self, method: str) -> None:
            self._body_read = False
            try:
                response = self._dispatch(method)
            except HttpError as e:
                response = json_response({"error": e.message}, e.status)
            except Forbidden as e:
                response = json_response({"error": e.one_line()}, 403)
            except DoppelError as e:
                response = json_response({"error": e.one_line()}, 400)
            except Exception as e:  # a bug: answer 500 with the message, keep serving
                if studio.verbose:
                    traceback.print_exc()
                response = json_response({"error": f"internal error: {type(e).__name__}: {e}"}, 500)
            if response.status >= 400:
                # The request body may be unread (refused before reading): do not reuse the connection.
                self.close_connection = True
                response.headers["Connection"] = "close"
                if response.content_type == "application/json":
                    response.body = without_absolute_paths(response.body.decode("utf-8", "replace"), studio.root).encode()
            self._send(response)
            if not self._body_read:
                self._drain()

        def _drain(self) -> None:
            """After answering a refused request, read (and drop) a bounded amount of what the client
            still sends: closing with unread data would reset the connection before it reads our answer."""
            try:
                self.wfile.flush()
                self.connection.shutdown(socket.SHUT_WR)
                self.connection.settimeout(DRAIN_SECONDS)
                left = DRAIN_LIMIT
                while left > 0:
                    chunk = self.connection.recv(min(left, 65536))
                    if not chunk:
                        break
                    left -= len(chunk)
            except OSError:
                pass
            self.close_connection = True

        def _read_body(self, method: str) -> bytes:
            """The body, read only after the checks above, and only when its length is declared and sane."""
            if self.headers.get("Transfer-Encoding"):
                raise HttpError(411, "send the body with a Content-Length, not chunked")
            declared = self.headers.get("Content-Length")
            if method != "POST":
                if declared not in (None, "0"):
                    raise HttpError(400, f"{method} requests take no body")
                self._body_read = True
                return b""
            if declared is None:
                raise HttpError(411, "Content-Length required")
            if not declared.strip().isdigit():
                raise HttpError(400, "Content-Length must be a non-negative number")
            length = int(declared)
            if length > MAX_BODY:
                raise HttpError(413, f"request too large (at most {MAX_BODY} bytes)")
            body = self.rfile.read(length)
            self._body_read = True
            if len(body) != length:
                raise HttpError(400, "request body shorter than its Content-Length")
            return body

        def _dispatch(self, method: str) -> Response:
            url = urlsplit(self.path)
            query = {k: v[-1] for k, v in parse_qs(url.query, keep_blank_values=True).items()}
            token_ok = self._check_token(query)  # first: nothing else about an unauthenticated request matters
            self._check_host()
            if method == "POST" and self.headers.get(POST_HEADER) != "1":
                raise HttpError(403, f"POST requests need the {POST_HEADER} header")
            body = self._read_body(method)
            req = Request(method, url.path, query, self.headers, body)
            if method == "GET" and (url.path == "/" or url.path.startswith("/static/")):
                response = static_file("index.html" if url.path == "/" else url.path[len("/static/") :])
                if token_ok == "query":  # remember the token so images and API calls need not repeat it
                    response.headers["Set-Cookie"] = f"{TOKEN_COOKIE}={studio.token}; HttpOnly; SameSite=Strict; Path=/"
                return response
            route = studio.routes.get((method, url.path))
            if route is None:
                raise HttpError(404 if not any(p == url.path for _, p in studio.routes) else 405, "no such endpoint")
            result = route(studio, req)
            if isinstance(result, Response):
                return result
            return json_response(result if result is not None else {"ok": True})

        def _check_host(self) -> None:
            host = (self.headers.get("Host") or "").rsplit(":", 1)[0].strip("[]").lower()
            if studio.allowed_hosts and host not in studio.allowed_hosts:
                raise HttpError(403, "unexpected Host header")

        def _check_token(self, query: dict[str, str]) -> str:
            """'' when no token is needed; otherwise where the valid token came from, or 401."""
            if not studio.token:
                return ""
            candidates = {
                "header": self.headers.get(TOKEN_HEADER),
                "query": query.get("token"),
                "cookie": _cookie(self.headers.get("Cookie"), TOKEN_COOKIE),
            }
            for where, value in candidates.items():
                if value and hmac.compare_digest(value.encode(), studio.token.encode()):
                    return where
            raise HttpError(401, "token required: open the URL printed by 'doppel studio'")

        def _send(self, r: Response) -> None:
            self.send_response(r.status, HTTPStatus(r.status).phrase if r.status in HTTPStatus._value2member_map_ else "")
            self.send_header("Content-Type", r.content_type)
            self.send_header("Content-Length", str(len(r.body)))
            self.send_header("X-Content-Type-Options", "nosniff")
            self.send_header("X-Frame-Options", "DENY")
            self.send_header("Referrer-Policy", "no-referrer")
            for k, v in r.headers.items():
                self.send_header(k, v)
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(r.body)

    return StudioHandler


def _cookie(header: str | None, name: str) -> str | None:
    for part in (header or "").split(";"):
        k, _, v = part.strip().partition("=")
        if k == name:
            return v
    return None
