"""Headless Chromium for the tests: installed when missing, driven over the DevTools protocol.

CI runs as root on a fresh Debian machine: the first test that needs the browser installs
Debian's ``chromium`` with apt-get (about 40 s, once per machine). The page is opened with
the network cut off (a dead proxy, no name resolution, and DevTools' offline mode), and
everything the console reports is collected: console.error calls, uncaught exceptions
and failed loads (``Log.entryAdded`` at level error).
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

APT_PACKAGE = "chromium"


def chromium_binary() -> str:
    """Path of Chromium; installs Debian's package when it is missing (needs root)."""
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found:
        return found
    if os.geteuid() != 0:
        raise RuntimeError(
            "headless Chromium is needed for the report page test: "
            f"run 'sudo apt-get install -y {APT_PACKAGE}' (make test does it as root)"
        )
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(["apt-get", "update", "-qq"], check=True, env=env)
    subprocess.run(
        ["apt-get", "install", "-y", "-qq", "--no-install-recommends", APT_PACKAGE],
        check=True,
        env=env,
    )
    found = shutil.which("chromium")
    assert found, f"apt-get installed {APT_PACKAGE} but no chromium is on PATH"
    return found


@dataclass
class PageVisit:
    dom: str
    errors: list[str] = field(default_factory=list)
    screenshot: bytes = b""


class _DevTools:
    def __init__(self, url: str) -> None:
        from websockets.sync.client import connect

        self.socket = connect(url, max_size=None, open_timeout=30)
        self.next_id = 0
        self.events: list[dict] = []

    def call(self, method: str, **params: object) -> dict:
        self.next_id += 1
        self.socket.send(json.dumps({"id": self.next_id, "method": method, "params": params}))
        while True:
            message = json.loads(self.socket.recv(timeout=60))
            if message.get("id") == self.next_id:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return message.get("result", {})
            self.events.append(message)

    def drain(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            try:
                self.events.append(json.loads(self.socket.recv(timeout=left)))
            except TimeoutError:
                return

    def close(self) -> None:
        self.socket.close()


def visit(page: Path, *, width: int = 1280, until: str | None = None) -> PageVisit:
    """Open ``page`` offline in headless Chromium; return its DOM, errors and a screenshot.

    The screenshot holds the whole page, or only what lies above the element ``until``
    (a CSS selector).
    """
    binary = chromium_binary()
    profile = Path(tempfile.mkdtemp(prefix="chromium-"))
    process = subprocess.Popen(
        [
            binary,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--disable-extensions",
            "--disable-background-networking",
            "--proxy-server=127.0.0.1:9",  # nothing listens: every request fails
            "--host-resolver-rules=MAP * ~NOTFOUND",
            f"--window-size={width},900",
            f"--user-data-dir={profile}",
            "--remote-debugging-port=0",
            "about:blank",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        port_file = profile / "DevToolsActivePort"
        deadline = time.monotonic() + 60
        while not port_file.exists() or not port_file.read_text().strip():
            assert process.poll() is None, "chromium exited before it opened DevTools"
            assert time.monotonic() < deadline, "chromium did not open DevTools in 60 s"
            time.sleep(0.1)
        port = port_file.read_text().split()[0]
        from urllib.request import urlopen

        with urlopen(f"http://127.0.0.1:{port}/json/list", timeout=30) as answer:
            targets = json.loads(answer.read())
        target = next(t for t in targets if t["type"] == "page")
        tools = _DevTools(target["webSocketDebuggerUrl"])
        try:
            for domain in ("Page", "Runtime", "Log", "Network"):
                tools.call(f"{domain}.enable")
            tools.call(
                "Network.emulateNetworkConditions",
                offline=True,
                latency=0,
                downloadThroughput=-1,
                uploadThroughput=-1,
            )
            tools.call("Page.navigate", url=page.resolve().as_uri())
            for _ in range(600):  # wait for the load event (and the charts in it)
                if any(e.get("method") == "Page.loadEventFired" for e in tools.events):
                    break
                tools.drain(0.1)
            else:
                raise AssertionError(f"{page} did not finish loading in 60 s")
            tools.drain(1.0)  # late console messages
            dom = tools.call(
                "Runtime.evaluate",
                expression="document.documentElement.outerHTML",
                returnByValue=True,
            )["result"]["value"]
            height = (
                f"document.querySelector({json.dumps(until)}).offsetTop"
                if until
                else "document.documentElement.scrollHeight"
            )
            size = tools.call(
                "Runtime.evaluate",
                expression=f"[document.documentElement.scrollWidth, {height}]",
                returnByValue=True,
            )["result"]["value"]
            shot = tools.call(
                "Page.captureScreenshot",
                format="png",
                captureBeyondViewport=True,
                clip={"x": 0, "y": 0, "width": size[0], "height": size[1], "scale": 1},
            )
            return PageVisit(
                dom=dom, errors=_errors(tools.events), screenshot=base64.b64decode(shot["data"])
            )
        finally:
            tools.close()
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
        shutil.rmtree(profile, ignore_errors=True)


def _errors(events: list[dict]) -> list[str]:
    found = []
    for event in events:
        method, params = event.get("method"), event.get("params", {})
        if method == "Runtime.consoleAPICalled" and params.get("type") in {"error", "assert"}:
            found.append(
                " ".join(str(a.get("value", a.get("description"))) for a in params["args"])
            )
        elif method == "Runtime.exceptionThrown":
            found.append(params["exceptionDetails"].get("text", "exception"))
        elif method == "Log.entryAdded" and params["entry"].get("level") == "error":
            entry = params["entry"]
            found.append(f"{entry.get('text')} {entry.get('url', '')}".strip())
        elif method == "Network.loadingFailed":
            found.append(f"failed to load: {params.get('errorText')}")
    return found
