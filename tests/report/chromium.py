"""Headless Chromium driven over its own DevTools protocol, through a pipe (no browser download,
no WebSocket library, no network port): ``--remote-debugging-pipe`` reads commands on file
descriptor 3 and writes replies and events on 4, each a JSON object ended by a NUL byte.

:func:`load` opens a file in a fresh profile and :func:`load_many` several files in one browser
(each in a tab of its own browser context); each reports what its page did: every network
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

    def post(self, method: str, session: str | None = None, **params: Any) -> int:
        """Send a command without waiting; its number, for :meth:`reply`."""
        self._next += 1
        number = self._next
        message: dict[str, Any] = {"id": number, "method": method, "params": params}
        if session:
            message["sessionId"] = session
        os.write(self._to_browser, json.dumps(message).encode() + b"\0")
        return number

    def reply(self, number: int, method: str) -> dict[str, Any]:
        """The result of command ``number``, once it came."""
        with self._ready:
            if not self._ready.wait_for(lambda: number in self._replies, timeout=TIMEOUT):
                raise TimeoutError(f"Chromium did not answer {method}")
            reply = self._replies.pop(number)
        if "error" in reply:
            raise RuntimeError(f"{method}: {reply['error']}")
        return dict(reply.get("result", {}))

    def send(self, method: str, session: str | None = None, **params: Any) -> dict[str, Any]:
        return self.reply(self.post(method, session, **params), method)

    def send_all(
        self, method: str, calls: list[tuple[str | None, dict[str, Any]]]
    ) -> list[dict[str, Any]]:
        """One command per (session, parameters), all sent before any reply is awaited: the
        tabs' renderers work at the same time."""
        numbers = [self.post(method, session, **params) for session, params in calls]
        return [self.reply(number, method) for number in numbers]

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


def _drain(pipe: _Pipe, loads: dict[str, PageLoad], until_load: bool, settle: float) -> None:
    """Record each session's events in its own PageLoad until every page's load event (then
    ``settle`` seconds more), or for ``settle``. A load event counts only after the page's own
    request was seen: a late load event of about:blank is not the page's."""
    deadline = time.monotonic() + TIMEOUT
    waiting = set(loads) if until_load else set()
    quiet_until = deadline if waiting else time.monotonic() + settle
    while time.monotonic() < min(deadline, quiet_until):
        try:
            event = pipe.events.get(timeout=0.05)
        except queue.Empty:
            continue
        session = event.get("sessionId")
        if session not in loads:
            continue  # the browser's own events (Target.*)
        if _record(loads[session], event) and session in waiting and loads[session].requests:
            waiting.discard(session)
            if not waiting:
                quiet_until = time.monotonic() + settle
    if waiting:
        raise TimeoutError("the page did not finish loading")


def _open(pipe: _Pipe, count: int) -> tuple[list[str], list[str]]:
    """``count`` new tabs, each in a new browser context (its own cookies, storage and cache,
    like a fresh profile), attached, with the domains we record enabled: their session ids and
    their contexts' ids."""
    contexts = pipe.send_all("Target.createBrowserContext", [(None, {})] * count)
    targets = pipe.send_all(
        "Target.createTarget",
        [
            (None, {"url": "about:blank", "browserContextId": c["browserContextId"]})
            for c in contexts
        ],
    )
    attached = pipe.send_all(
        "Target.attachToTarget",
        [(None, {"targetId": t["targetId"], "flatten": True}) for t in targets],
    )
    sessions = [str(a["sessionId"]) for a in attached]
    for domain in ("Page", "Network", "Runtime", "Log"):
        pipe.send_all(f"{domain}.enable", [(s, {}) for s in sessions])
    return sessions, [str(c["browserContextId"]) for c in contexts]


def _inspect(
    pipe: _Pipe, loads: dict[str, PageLoad], marker: str, width: int, fast_png: bool
) -> None:
    """Each page's marker, title and a screenshot of the whole page, into its PageLoad."""
    expression = f"JSON.stringify({{marker: {marker} ?? null, title: document.title}})"
    states = pipe.send_all(
        "Runtime.evaluate", [(s, {"expression": expression, "returnByValue": True}) for s in loads]
    )
    sizes = pipe.send_all("Page.getLayoutMetrics", [(s, {}) for s in loads])
    shots = pipe.send_all(
        "Page.captureScreenshot",
        [
            (
                session,
                {
                    "format": "png",
                    "captureBeyondViewport": True,
                    "optimizeForSpeed": fast_png,
                    "clip": {
                        "x": 0,
                        "y": 0,
                        "width": width,
                        "height": min(size["cssContentSize"]["height"], 16000),
                        "scale": 1,
                    },
                },
            )
            for session, size in zip(loads, sizes, strict=True)
        ],
    )
    for result, state, shot in zip(loads.values(), states, shots, strict=True):
        values = json.loads(state["result"]["value"])
        result.marker, result.title = values["marker"], values["title"]
        result.screenshot = base64.b64decode(shot["data"])


def _load_batch(
    pipe: _Pipe, pages: list[Path], *, marker: str, width: int, settle: float, fast_png: bool
) -> list[PageLoad]:
    sessions, contexts = _open(pipe, len(pages))
    _drain(pipe, {s: PageLoad() for s in sessions}, until_load=False, settle=0.3)  # about:blank
    results = {s: PageLoad() for s in sessions}
    pipe.send_all(
        "Page.navigate",
        [(s, {"url": p.resolve().as_uri()}) for s, p in zip(sessions, pages, strict=True)],
    )
    _drain(pipe, results, until_load=True, settle=settle)
    _inspect(pipe, results, marker, width, fast_png)
    _drain(pipe, results, until_load=False, settle=0.2)
    pipe.send_all(
        "Target.disposeBrowserContext", [(None, {"browserContextId": c}) for c in contexts]
    )
    return list(results.values())


def load_many(
    executable: str,
    pages: list[Path],
    profile: Path,
    *,
    marker: str = "window.__xss",
    width: int = 1280,
    height: int = 900,
    settle: float = 1.0,
    batch: int = 8,
    fast_png: bool = False,
) -> list[PageLoad]:
    """Open each of ``pages`` (files) in one headless Chromium, each in a tab of its own browser
    context (``batch`` tabs at a time, every event recorded for the tab it came from), and report
    what each page did, with a screenshot of the whole page (``fast_png``: encoded for speed,
    about twice the bytes). One browser started, not one per page: starting it was most of the
    cost of a page."""
    pipe = _Pipe(executable, profile, width, height)
    try:
        return [
            result
            for start in range(0, len(pages), batch)
            for result in _load_batch(
                pipe,
                pages[start : start + batch],
                marker=marker,
                width=width,
                settle=settle,
                fast_png=fast_png,
            )
        ]
    finally:
        pipe.close()


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
    (result,) = load_many(
        executable, [page], profile, marker=marker, width=width, height=height, settle=settle
    )
    return result
