"""A studio workspace built from real clips, and a running studio server over it."""

from __future__ import annotations

import json
import shutil
import threading
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pytest

from doppel.core.workspace import Workspace
from doppel.studio.server import make_server, make_studio


@pytest.fixture
def workspace(src_faces, dst_faces, tmp_path) -> Workspace:
    ws = Workspace(tmp_path / "ws")
    ws.data_src.mkdir(parents=True)
    ws.data_dst.mkdir(parents=True)
    shutil.copytree(src_faces, ws.src_aligned)
    shutil.copytree(dst_faces, ws.dst_aligned)
    ws.model.mkdir()
    return ws


@dataclass
class Running:
    url: str
    studio: object
    root: Path

    def request(self, path: str, body: dict | None = None, headers: dict | None = None, post_header: bool = True):
        """(status, content type, bytes). POSTs carry the studio's anti-CSRF header unless told not to."""
        data = None if body is None else json.dumps(body).encode()
        h = dict(headers or {})
        if body is not None:
            h["Content-Type"] = "application/json"
            if post_header:
                h["X-Doppel-Request"] = "1"
        req = urllib.request.Request(self.url + path, data=data, headers=h, method="POST" if body is not None else "GET")
        try:
            with urllib.request.urlopen(req, timeout=120) as r:
                return r.status, r.headers.get("Content-Type", ""), r.read(), r.headers
        except urllib.error.HTTPError as e:
            return e.code, e.headers.get("Content-Type", ""), e.read(), e.headers

    def json(self, path: str, body: dict | None = None, **kw):
        status, _, data, _ = self.request(path, body, **kw)
        return status, json.loads(data or b"null")


def _start(root: Path, host: str):
    studio = make_studio(root, host=host)
    server = make_server(studio, "127.0.0.1", 0)  # always bind loopback in tests; `host` sets the policy
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
    thread.start()
    return server, Running(f"http://127.0.0.1:{server.server_address[1]}", studio, studio.root)


@pytest.fixture
def studio(workspace):
    server, running = _start(workspace.root, "127.0.0.1")
    yield running
    server.shutdown()
    server.server_close()


@pytest.fixture
def exposed_studio(workspace):
    """A studio configured as if bound to 0.0.0.0: a token is required."""
    server, running = _start(workspace.root, "0.0.0.0")
    yield running
    server.shutdown()
    server.server_close()
