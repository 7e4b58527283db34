"""A small W3C WebDriver client for Debian's chromium + chromedriver (no Selenium needed: its current
releases pin packages newer than ours). Only what the studio tests use."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request

ELEMENT = "element-6066-11e4-a52e-4f735466cecf"  # the W3C web element key
CHROME_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-dev-shm-usage", "--window-size=1600,1200",
]


def find_browser() -> tuple[str, str] | None:
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver")
    return (chromium, driver) if chromium and driver else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class WebDriverError(RuntimeError):
    pass


class Chrome:
    def __init__(self, chromium: str, driver: str, timeout: float = 60.0):
        self.port = _free_port()
        self.profile = tempfile.mkdtemp(prefix="doppel-chrome-")
        self.proc = subprocess.Popen([driver, f"--port={self.port}"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.base = f"http://127.0.0.1:{self.port}"
        deadline = time.monotonic() + timeout
        while True:
            try:
                if self._call("GET", "/status")["ready"]:
                    break
            except (OSError, WebDriverError):
                pass
            if time.monotonic() > deadline:
                self.proc.kill()
                raise WebDriverError("chromedriver did not start")
            time.sleep(0.2)
        caps = {"browserName": "chrome", "goog:chromeOptions": {"binary": chromium, "args": CHROME_ARGS + [f"--user-data-dir={self.profile}"]}}
        self.session = self._call("POST", "/session", {"capabilities": {"alwaysMatch": caps}})["sessionId"]
        self._call("POST", f"/session/{self.session}/timeouts", {"script": 120000, "pageLoad": 60000, "implicit": 0})

    def _call(self, method: str, path: str, body: dict | None = None):
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.base + path, data=data, method=method, headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=180) as r:
                return json.loads(r.read())["value"]
        except urllib.error.HTTPError as e:
            value = json.loads(e.read() or b"{}").get("value", {})
            raise WebDriverError(f"{value.get('error')}: {value.get('message', '')[:300]}") from None

    def _s(self, method: str, path: str, body: dict | None = None):
        return self._call(method, f"/session/{self.session}{path}", body)

    # -- commands --------------------------------------------------------------------------

    def get(self, url: str) -> None:
        self._s("POST", "/url", {"url": url})

    def run(self, script: str, *args):
        """Run JavaScript (a function body; `arguments` holds args) and return its value."""
        return self._s("POST", "/execute/sync", {"script": script, "args": list(args)})

    def run_async(self, script: str, *args):
        """Async JavaScript: the last argument is the callback to call with the result."""
        return self._s("POST", "/execute/async", {"script": script, "args": list(args)})

    def find(self, css: str) -> str:
        return self._s("POST", "/element", {"using": "css selector", "value": css})[ELEMENT]

    def click(self, css: str) -> None:
        self._s("POST", f"/element/{self.find(css)}/click", {})

    def type(self, css: str, text: str, clear: bool = True) -> None:
        el = self.find(css)
        if clear:
            self._s("POST", f"/element/{el}/clear", {})
        self._s("POST", f"/element/{el}/value", {"text": text})

    def text(self, css: str) -> str:
        return self._s("GET", f"/element/{self.find(css)}/text")

    def click_points(self, css: str, points: list[tuple[float, float]]) -> None:
        """Real mouse clicks at element pixel offsets from its top-left corner (one actions call)."""
        el = self.find(css)
        rect = self._s("GET", f"/element/{el}/rect")
        cx, cy = rect["width"] / 2, rect["height"] / 2
        actions = []
        for x, y in points:
            actions += [
                {"type": "pointerMove", "duration": 0, "origin": {ELEMENT: el}, "x": int(round(x - cx)), "y": int(round(y - cy))},
                {"type": "pointerDown", "button": 0},
                {"type": "pointerUp", "button": 0},
                {"type": "pause", "duration": 30},  # distinct clicks, not double clicks
            ]
        self._s("POST", "/actions", {"actions": [{"type": "pointer", "id": "mouse", "parameters": {"pointerType": "mouse"}, "actions": actions}]})
        self._s("DELETE", "/actions")

    def drag(self, css: str, start: tuple[float, float], end: tuple[float, float], steps: int = 5) -> None:
        """Press at `start`, move to `end`, release (element pixel offsets from its top-left corner)."""
        el = self.find(css)
        rect = self._s("GET", f"/element/{el}/rect")
        cx, cy = rect["width"] / 2, rect["height"] / 2

        def move(x, y):
            return {"type": "pointerMove", "duration": 20, "origin": {ELEMENT: el}, "x": int(round(x - cx)), "y": int(round(y - cy))}

        actions = [move(*start), {"type": "pointerDown", "button": 0}]
        for k in range(1, steps + 1):
            actions.append(move(start[0] + (end[0] - start[0]) * k / steps, start[1] + (end[1] - start[1]) * k / steps))
        actions.append({"type": "pointerUp", "button": 0})
        self._s("POST", "/actions", {"actions": [{"type": "pointer", "id": "mouse", "parameters": {"pointerType": "mouse"}, "actions": actions}]})
        self._s("DELETE", "/actions")

    def double_click(self, css: str) -> None:
        el = self.find(css)
        click = [{"type": "pointerDown", "button": 0}, {"type": "pointerUp", "button": 0}]
        actions = [{"type": "pointerMove", "duration": 0, "origin": {ELEMENT: el}, "x": 0, "y": 0}] + click + click
        self._s("POST", "/actions", {"actions": [{"type": "pointer", "id": "mouse", "parameters": {"pointerType": "mouse"}, "actions": actions}]})
        self._s("DELETE", "/actions")

    def keys(self, text: str) -> None:
        actions = []
        for ch in text:
            actions += [{"type": "keyDown", "value": ch}, {"type": "keyUp", "value": ch}]
        self._s("POST", "/actions", {"actions": [{"type": "key", "id": "keyboard", "actions": actions}]})

    def wait(self, script: str, timeout: float = 60.0, what: str = "condition"):
        """Poll a JavaScript expression (a function body returning a value) until it is truthy."""
        deadline = time.monotonic() + timeout
        while True:
            value = self.run(script)
            if value:
                return value
            if time.monotonic() > deadline:
                raise TimeoutError(f"timed out waiting for {what}")
            time.sleep(0.25)

    def quit(self) -> None:
        try:
            self._s("DELETE", "")
        except (OSError, WebDriverError):
            pass
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        shutil.rmtree(self.profile, ignore_errors=True)
