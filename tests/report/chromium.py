"""Headless Chromium driven over its own DevTools protocol, through a pipe (no browser download,
no WebSocket library, no network port): ``--remote-debugging-pipe`` reads commands on file
descriptor 3 and writes replies and events on 4, each a JSON object ended by a NUL byte.

:func:`load` opens a file in a fresh profile and reports what the page did: every network
request, console message, log entry (CSP violations are log entries), uncaught exception, the
value of a marker expression, and a PNG screenshot of the whole page.
See https://chromedevtools.github.io/devtools-protocol/ (Target, Page, Network, Runtime, Log).
"""

from __future__ import annotations

import base64
import contextlib
import fcntl
import json
import os
import queue
import shutil
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

CHROMIUM_PATHS = ("/usr/bin/chromium", "/usr/bin/chromium-browser")
# The network is closed on CI and here: without these Chromium floods refused connections
# (updates, sync, field trials) and waits on them.
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-default-apps",
    "--disable-extensions",
    "--mute-audio",
    "--hide-scrollbars",
    "--remote-debugging-pipe",
)
TIMEOUT = 60.0


def chromium() -> str | None:
    """The Chromium executable, or None when it is not installed."""
    for candidate in (os.environ.get("MAILHUNT_CHROMIUM"), *CHROMIUM_PATHS):
        if candidate and Path(candidate).is_file() and os.access(candidate, os.X_OK):
            return candidate
    return shutil.which("chromium")


@dataclass
class PageLoad:
    """What happened while a page loaded."""

    requests: list[str] = field(default_factory=list)  # every URL requested
    console: list[dict[str, Any]] = field(default_factory=list)  # Runtime.consoleAPICalled
    log: list[dict[str, Any]] = field(default_factory=list)  # Log.entryAdded entries
    exceptions: list[dict[str, Any]] = field(default_factory=list)  # Runtime.exceptionThrown
    marker: Any = None  # the value of the marker expression after load
    title: str = ""
    screenshot: bytes = b""


class _Pipe:
    """Commands out on one pipe, replies and events in on another (a reader thread)."""

    def __init__(self, executable: str, profile: Path, width: int, height: int) -> None:
        to_browser_r, self._to_browser = os.pipe()
        self._from_browser, from_browser_w = os.pipe()

        def descriptors() -> None:  # in the child: the pipe ends become fds 3 and 4
            # moved above 4 first: a pipe end may already be fd 3 or 4 (dup2 onto itself would
            # leave it close-on-exec, and placing one could close the other)
            reading = fcntl.fcntl(to_browser_r, fcntl.F_DUPFD, 10)
            writing = fcntl.fcntl(from_browser_w, fcntl.F_DUPFD, 10)
            os.dup2(reading, 3)
            os.dup2(writing, 4)

        self.process = subprocess.Popen(
            [
                executable,
                *FLAGS,
                f"--user-data-dir={profile}",
                f"--window-size={width},{height}",
                "about:blank",
            ],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            preexec_fn=descriptors,  # noqa: PLW1509 - places fds 3 and 4; no thread runs yet
            close_fds=False,
        )
        os.close(to_browser_r)
        os.close(from_browser_w)
        self.events: queue.Queue[dict[str, Any]] = queue.Queue()
        self._replies: dict[int, dict[str, Any]] = {}
        self._ready = threading.Condition()
        self._next = 0
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        buffer = b""
        with os.fdopen(self._from_browser, "rb", buffering=0) as stream:
            while chunk := stream.read(65536):
                buffer += chunk
                *messages, buffer = buffer.split(b"\0")
                for raw in messages:
                    message = json.loads(raw)
                    if "id" in message:
                        with self._ready:
                            self._replies[message["id"]] = message
                            self._ready.notify_all()
                    else:
                        self.events.put(message)

    def send(self, method: str, session: str | None = None, **params: Any) -> dict[str, Any]:
        self._next += 1
        number = self._next
        message: dict[str, Any] = {"id": number, "method": method, "params": params}
        if session:
            message["sessionId"] = session
        os.write(self._to_browser, json.dumps(message).encode() + b"\0")
        with self._ready:
            if not self._ready.wait_for(lambda: number in self._replies, timeout=TIMEOUT):
                raise TimeoutError(f"Chromium did not answer {method}")
            reply = self._replies.pop(number)
        if "error" in reply:
            raise RuntimeError(f"{method}: {reply['error']}")
        return dict(reply.get("result", {}))

    def close(self) -> None:
        with contextlib.suppress(OSError, TimeoutError, RuntimeError):
            self.send("Browser.close")
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        os.close(self._to_browser)


def _record(load: PageLoad, event: dict[str, Any]) -> bool:
    """Note one event; True once the page's load event fired."""
    method, params = event.get("method"), event.get("params", {})
    if method == "Network.requestWillBeSent":
        load.requests.append(params["request"]["url"])
    elif method == "Runtime.consoleAPICalled":
        load.console.append(params)
    elif method == "Log.entryAdded":
        load.log.append(params["entry"])
    elif method == "Runtime.exceptionThrown":
        load.exceptions.append(params["exceptionDetails"])
    return method == "Page.loadEventFired"


def _drain(pipe: _Pipe, load: PageLoad, until_load: bool, settle: float) -> None:
    """Record events until the load event (then ``settle`` seconds more), or for ``settle``."""
    deadline = time.monotonic() + TIMEOUT
    loaded = not until_load
    quiet_until = time.monotonic() + settle if loaded else deadline
    while time.monotonic() < min(deadline, quiet_until):
        try:
            event = pipe.events.get(timeout=0.05)
        except queue.Empty:
            continue
        if _record(load, event) and not loaded:
            loaded = True
            quiet_until = time.monotonic() + settle
    if not loaded:
        raise TimeoutError("the page did not finish loading")


def load(
    executable: str,
    page: Path,
    profile: Path,
    *,
    marker: str = "window.__xss",
    width: int = 1280,
    height: int = 900,
    settle: float = 1.0,
) -> PageLoad:
    """Open ``page`` (a file) in a new headless Chromium with a fresh profile and report what
    happened, with a screenshot of the whole page."""
    pipe = _Pipe(executable, profile, width, height)
    result = PageLoad()
    try:
        target = pipe.send("Target.createTarget", url="about:blank")["targetId"]
        session = pipe.send("Target.attachToTarget", targetId=target, flatten=True)["sessionId"]
        for domain in ("Page", "Network", "Runtime", "Log"):
            pipe.send(f"{domain}.enable", session)
        _drain(pipe, PageLoad(), until_load=False, settle=0.3)  # about:blank's own events
        pipe.send("Page.navigate", session, url=page.resolve().as_uri())
        _drain(pipe, result, until_load=True, settle=settle)
        state = pipe.send(
            "Runtime.evaluate",
            session,
            expression=f"JSON.stringify({{marker: {marker} ?? null, title: document.title}})",
            returnByValue=True,
        )
        values = json.loads(state["result"]["value"])
        result.marker, result.title = values["marker"], values["title"]
        size = pipe.send("Page.getLayoutMetrics", session)["cssContentSize"]
        shot = pipe.send(
            "Page.captureScreenshot",
            session,
            format="png",
            captureBeyondViewport=True,
            clip={
                "x": 0,
                "y": 0,
                "width": width,
                "height": min(size["height"], 16000),
                "scale": 1,
            },
        )
        result.screenshot = base64.b64decode(shot["data"])
        _drain(pipe, result, until_load=False, settle=0.2)
    finally:
        pipe.close()
    return result
