"""`doppel studio WORKSPACE`: a local web app over one workspace.

Bound to 127.0.0.1 by default. Bound to any other address it requires a token (printed at start);
requests without it get 401. Every path comes from the client relative to the workspace and goes
through `doppel.studio.paths.inside`, so nothing outside the workspace can be read or written.
"""

from __future__ import annotations

import ipaddress
import secrets
import threading
from dataclasses import dataclass, field
from http.server import ThreadingHTTPServer
from pathlib import Path

from doppel.core.errors import DoppelError
from doppel.core.workspace import Workspace
from doppel.studio.http import Handler, make_handler
from doppel.studio.jobs import Jobs

LOOPBACK_NAMES = ("127.0.0.1", "localhost", "::1")


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@dataclass
class Studio:
    """What every request handler gets: the workspace root, its token, its routes and running jobs."""

    root: Path
    token: str | None = None
    allowed_hosts: tuple[str, ...] = ()
    verbose: bool = False
    routes: dict[tuple[str, str], Handler] = field(default_factory=dict)
    jobs: Jobs = field(default_factory=Jobs)
    lock: threading.Lock = field(default_factory=threading.Lock)  # one writer at a time per workspace
    cache: dict = field(default_factory=dict)  # loaded models and analyzers, reused across requests

    @property
    def workspace(self) -> Workspace:
        return Workspace(self.root)


def all_routes() -> dict[tuple[str, str], Handler]:
    from doppel.studio import api_faces, api_fix, api_merge, api_train, api_xseg

    routes: dict[tuple[str, str], Handler] = {}
    for module in (api_faces, api_xseg, api_train, api_merge, api_fix):
        routes.update(module.ROUTES)
    return routes


def make_studio(root: str | Path, host: str = "127.0.0.1", token: str | None = None, verbose: bool = False) -> Studio:
    root = Path(root)
    if not root.is_dir():
        raise DoppelError("workspace folder not found", root, hint="Create one with 'doppel workspace init DIR'")
    exposed = not is_loopback(host)
    if exposed and not token:
        token = secrets.token_urlsafe(24)
    allowed = () if exposed else LOOPBACK_NAMES
    return Studio(root.resolve(), token, allowed, verbose, all_routes(), Jobs(root.resolve()))


def make_server(studio: Studio, host: str = "127.0.0.1", port: int = 8765) -> ThreadingHTTPServer:
    try:
        server = ThreadingHTTPServer((host, port), make_handler(studio))
    except OSError as e:
        raise DoppelError(f"cannot listen on {host}:{port} ({e.strerror})", hint="Pick another --port") from e
    server.daemon_threads = True
    return server


def url_of(server: ThreadingHTTPServer, studio: Studio, host: str) -> str:
    port = server.server_address[1]
    shown = "127.0.0.1" if host in ("0.0.0.0", "::", "") else host
    shown = f"[{shown}]" if ":" in shown else shown
    return f"http://{shown}:{port}/" + (f"?token={studio.token}" if studio.token else "")


def serve(root: str | Path, host: str = "127.0.0.1", port: int = 8765, token: str | None = None, verbose: bool = False) -> None:
    studio = make_studio(root, host, token, verbose)
    server = make_server(studio, host, port)
    print(f"doppel studio on {url_of(server, studio, host)}", flush=True)
    if studio.token:
        print(f"token: {studio.token}  (required: bound to {host}, not localhost)", flush=True)
    try:
        server.serve_forever(poll_interval=0.5)
    finally:
        server.server_close()
        from doppel.studio.api_xseg import stop_training

        stop_training(studio, wait=30.0)  # XSeg trains in this process: let it save before we exit
