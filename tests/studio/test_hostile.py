"""The studio against a hostile client: the token is checked before anything else, Content-Length before
a byte of the body is read, request fields are names inside the workspace (never paths), and errors
show no absolute paths. A real server on 127.0.0.1, every request bounded by a socket timeout."""

from __future__ import annotations

import json
import socket
from urllib.parse import urlsplit

import pytest

TIMEOUT = 10.0  # a server that waited for a body it should have refused would hit this


def _raw(running, head: str, body: bytes = b"") -> tuple[int, bytes]:
    """Send a hand-made request (headers exactly as given) and read the answer: (status, body)."""
    url = urlsplit(running.url)
    with socket.create_connection((url.hostname, url.port), timeout=TIMEOUT) as sock:
        sock.sendall(head.replace("\n", "\r\n").encode() + b"\r\n" + body)
        data = b""
        while b"\r\n\r\n" not in data or len(data.split(b"\r\n\r\n", 1)[1]) < _length(data):
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
    header, _, payload = data.partition(b"\r\n\r\n")
    return int(header.split()[1]), payload


def _length(data: bytes) -> int:
    for line in data.split(b"\r\n\r\n", 1)[0].split(b"\r\n")[1:]:
        k, _, v = line.partition(b":")
        if k.strip().lower() == b"content-length":
            return int(v)
    return 0


def _post(path: str, length: str | None, token: str | None = None) -> str:
    lines = [f"POST {path} HTTP/1.1", "Host: 127.0.0.1", "X-Doppel-Request: 1", "Content-Type: application/json"]
    if token:
        lines.append(f"X-Doppel-Token: {token}")
    if length is not None:
        lines.append(f"Content-Length: {length}")
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize("length", ["-1", "100000000000", "10", "abc"])
def test_token_is_checked_before_the_body_is_read(exposed_studio, length):
    # The body is never sent: a server that read it first would wait until the client gave up.
    status, body = _raw(exposed_studio, _post("/api/faces/trash", length))
    assert status == 401 and b"token required" in body


@pytest.mark.parametrize("length, status", [("-1", 400), ("abc", 400), ("1e3", 400), (None, 411), (str(17 * 1024 * 1024), 413)])
def test_content_length_is_checked_before_the_body_is_read(exposed_studio, length, status):
    token = exposed_studio.studio.token
    assert _raw(exposed_studio, _post("/api/faces/trash", length, token))[0] == status


def test_a_sane_request_still_works_on_a_raw_connection(exposed_studio):
    token = exposed_studio.studio.token
    body = json.dumps({"dir": "data_src/aligned", "names": []}).encode()
    status, payload = _raw(exposed_studio, _post("/api/faces/trash", str(len(body)), token), body)
    assert status == 200, payload
    get = f"GET /api/info HTTP/1.1\nHost: 127.0.0.1\nX-Doppel-Token: {token}\nContent-Length: 5\n"
    assert _raw(exposed_studio, get, b"hello")[0] == 400  # a GET carries no body


@pytest.mark.parametrize("body", [
    {"options": {"model": "/tmp/doppel-evil-model"}},
    {"options": {"src": "/etc"}},
    {"options": {"dst": "/etc"}},
    {"options": {"config": "/etc/passwd"}},
    {"options": {"pretrained": "/tmp"}},
    {"options": {"pretrained": "../.."}},
    {"options": {"new": True}},
    {"options": {"ct_mode": 3, "--model": "x"}},
    {"model": "/tmp/doppel-evil-model"},
    {"model": "../outside"},
    {"model": ["model"]},
    {"src": "/etc"},
    {"dst": "../../"},
    {"options": "resolution=64"},
])
def test_train_start_takes_names_inside_the_workspace_never_paths(studio, body):
    status, out = studio.json("/api/train/start", body)
    assert status in (400, 403), out
    assert studio.studio.jobs.get("train") is None  # nothing started


def test_a_value_that_looks_like_a_flag_stays_a_value(studio):
    from doppel.studio.api_train import _option_args

    args = _option_args(studio.studio, {"ct_mode": "--model=/tmp/x", "pretrained": "model", "early_stop": True})
    assert args == ["--ct-mode=--model=/tmp/x", "--pretrained=model", "--early-stop"]


def test_errors_show_no_absolute_paths(studio):
    index = studio.root / "data_dst" / "aligned" / "alignments.json"
    data = json.loads(index.read_text())
    data["source"] = "/nowhere/at/all/dst_video.mp4"
    index.write_text(json.dumps(data))
    status, out = studio.json("/api/merge/frames")
    assert status == 400 and "dst_video.mp4" in out["error"] and "/nowhere" not in out["error"]
    index.unlink()
    status, out = studio.json("/api/merge/frames")
    assert status == 400 and "data_dst/aligned/alignments.json" in out["error"], out
    assert str(studio.root) not in out["error"] and "/tmp" not in out["error"]


def test_a_deeply_nested_body_is_a_bad_request(exposed_studio):
    token = exposed_studio.studio.token
    body = b"[" * 200_000 + b"]" * 200_000
    status, payload = _raw(exposed_studio, _post("/api/faces/trash", str(len(body)), token), body)
    assert status == 400 and b"not JSON" in payload


def test_job_errors_show_no_absolute_paths(studio):
    def fail():
        from doppel.core.errors import DoppelError

        raise DoppelError("no model here", studio.root / "xseg", hint=f"see {studio.root.parent}/elsewhere/log.txt")

    job = studio.studio.jobs.start_thread("test-job", fail)
    job.thread.join(10)
    assert job.error.startswith("xseg: no model here") and "log.txt" in job.error and "/" not in job.error
