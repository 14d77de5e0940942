"""Headless Chromium for the HTML report tests, driven over the DevTools protocol (websockets, already installed
with web3): open a local file with the network off, record every request the page makes and everything it logs,
evaluate JavaScript in it, click, type and take screenshots.

The network is off three ways: the browser resolves no host name (--host-resolver-rules), sends anything it
would fetch to a closed local port (--proxy-server), and the page's network is emulated offline; the only request
a report may make is for its own file://. Chromium is Debian's package (`make setup` installs it, or set CHROMIUM).
"""
from __future__ import annotations

import base64
import itertools
import json
import os
import re
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

from websockets.sync.client import connect

START_TIMEOUT_S = 30.0
LOAD_TIMEOUT_S = 30.0
NO_NETWORK = ["--host-resolver-rules=MAP * ~NOTFOUND", "--proxy-server=http://127.0.0.1:9", "--proxy-bypass-list=<-loopback>"]


def chromium_path() -> str:
    path = os.environ.get("CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
    if not path:
        raise RuntimeError("chromium not found: `make setup` installs it (Debian package), or set CHROMIUM")
    return path


class Browser:
    """One headless Chromium with one page; use as a context manager."""

    def __init__(self, width: int = 1400, height: int = 1000) -> None:
        self.profile = tempfile.mkdtemp(prefix="marginlab-chromium-")
        cmd = [chromium_path(), "--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run",
               "--disable-background-networking", "--disable-component-update", "--disable-sync",
               "--disable-default-apps", "--disable-extensions", "--mute-audio", f"--user-data-dir={self.profile}",
               "--remote-debugging-port=0", f"--window-size={width},{height}", *NO_NETWORK, "about:blank"]
        self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                     text=True)
        url = self._devtools_url()
        self.ids = itertools.count(1)
        self.events: list[dict[str, Any]] = []
        browser = connect(url, max_size=None, open_timeout=START_TIMEOUT_S)
        target = self._send(browser, "Target.createTarget", {"url": "about:blank"})["targetId"]
        browser.close()
        page_url = url.split("/devtools/")[0] + f"/devtools/page/{target}"
        self.ws = connect(page_url, max_size=None, open_timeout=START_TIMEOUT_S)
        for method in ("Page.enable", "Network.enable", "Runtime.enable", "Log.enable"):
            self.send(method)
        self.send("Network.emulateNetworkConditions", {"offline": True, "latency": 0, "downloadThroughput": 0,
                                                       "uploadThroughput": 0})
        self.send("Emulation.setDeviceMetricsOverride", {"width": width, "height": height, "deviceScaleFactor": 1,
                                                         "mobile": False})

    def _devtools_url(self) -> str:
        assert self.proc.stderr is not None
        deadline = time.monotonic() + START_TIMEOUT_S
        seen = []
        while time.monotonic() < deadline:
            line = self.proc.stderr.readline()
            if not line and self.proc.poll() is not None:
                break
            seen.append(line)
            m = re.search(r"DevTools listening on (ws://\S+)", line)
            if m:
                return m.group(1)
        self.close()
        raise RuntimeError("chromium did not start: " + "".join(seen)[-2000:])

    def _send(self, ws: Any, method: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        msg_id = next(self.ids) if hasattr(self, "ids") else 0
        ws.send(json.dumps({"id": msg_id, "method": method, "params": params or {}}))
        while True:
            msg = json.loads(ws.recv(timeout=LOAD_TIMEOUT_S))
            if msg.get("id") == msg_id:
                if "error" in msg:
                    raise RuntimeError(f"{method}: {msg['error']}")
                return dict(msg.get("result", {}))
            if hasattr(self, "events"):
                self.events.append(msg)

    def send(self, method: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        return self._send(self.ws, method, params)

    def open(self, path: Path) -> None:
        """Load a file and wait for its load event; events so far are forgotten."""
        self.events.clear()
        self.send("Page.navigate", {"url": path.resolve().as_uri()})
        deadline = time.monotonic() + LOAD_TIMEOUT_S
        while not any(e.get("method") == "Page.loadEventFired" for e in self.events):
            if time.monotonic() > deadline:
                raise RuntimeError(f"{path} did not load within {LOAD_TIMEOUT_S:.0f} s")
            self.events.append(json.loads(self.ws.recv(timeout=LOAD_TIMEOUT_S)))

    def eval(self, expression: str) -> Any:
        out = self.send("Runtime.evaluate", {"expression": expression, "returnByValue": True, "awaitPromise": True})
        if "exceptionDetails" in out:
            raise RuntimeError(f"{expression[:80]}: {out['exceptionDetails']}")
        return out["result"].get("value")

    def requests(self) -> list[str]:
        return [e["params"]["request"]["url"] for e in self.events if e.get("method") == "Network.requestWillBeSent"]

    def problems(self) -> list[str]:
        """Exceptions, console errors and warnings, and browser log entries (CSP violations land there)."""
        out = []
        for e in self.events:
            method, params = e.get("method"), e.get("params", {})
            if method == "Runtime.exceptionThrown":
                out.append(str(params.get("exceptionDetails")))
            elif method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "warning", "assert"):
                out.append(json.dumps(params.get("args")))
            elif method == "Log.entryAdded" and params.get("entry", {}).get("level") in ("error", "warning"):
                out.append(params["entry"].get("text", ""))
        return out

    def screenshot(self, path: Path, full_page: bool = True) -> Path:
        params: dict[str, Any] = {"format": "png"}
        if full_page:
            size = self.eval("[document.documentElement.scrollWidth, document.documentElement.scrollHeight]")
            params.update(captureBeyondViewport=True, clip={"x": 0, "y": 0, "width": size[0], "height": size[1],
                                                           "scale": 1})
        path.write_bytes(base64.b64decode(self.send("Page.captureScreenshot", params)["data"]))
        return path

    def close(self) -> None:
        try:
            if hasattr(self, "ws"):
                self.ws.close()
        finally:
            if self.proc.poll() is None:
                self.proc.terminate()
                try:
                    self.proc.wait(10)
                except subprocess.TimeoutExpired:
                    self.proc.kill()
                    self.proc.wait(10)
            shutil.rmtree(self.profile, ignore_errors=True)

    def __enter__(self) -> Browser:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
