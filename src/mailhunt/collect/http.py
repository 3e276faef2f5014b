"""HTTP to the Microsoft feeds: one httpx client per pass, retries that honour the services.

- 429, and 403 whose error code is ``AF429`` (the Management Activity API's throttling), wait
  ``Retry-After`` seconds (else an exponential backoff) before the next request;
- 5xx and dropped connections: exponential backoff (``Retry-After`` when given);
- 401 (a token revoked or expired mid-run): the cached token is dropped and one new one asked.

Requests only go to the tenant's cloud hosts (a ``NextPageUri``, ``contentUri`` or
``@odata.nextLink`` naming another host is refused: it would receive our token). Nothing here
logs a header or a body; errors carry the method, the path and the service's error code.
"""

from __future__ import annotations

import email.utils
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol
from urllib.parse import urlsplit

import httpx

from mailhunt.errors import MailhuntError

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 10
MAX_WAIT = 300.0
MARGIN = 0.02  # seconds past Retry-After, so the next request is never early


class CollectError(MailhuntError):
    """A feed could not be read (after retries); the text holds no secret."""


class EndpointTransport(httpx.BaseTransport):
    """Sends every request to one address (the local emulator), keeping the cloud host it was
    meant for in ``Host``: the emulator answers as that host."""

    def __init__(self, endpoint: str) -> None:
        parts = urlsplit(endpoint)
        self._host = parts.hostname or "127.0.0.1"
        self._port = parts.port
        self._inner = httpx.HTTPTransport()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        request.url = request.url.copy_with(scheme="http", host=self._host, port=self._port)
        return self._inner.handle_request(request)

    def close(self) -> None:
        self._inner.close()


def http_client(endpoint: str | None, timeout: float = 60.0) -> httpx.Client:
    transport = EndpointTransport(endpoint) if endpoint else None
    return httpx.Client(transport=transport, timeout=timeout, follow_redirects=False)


class Tokens(Protocol):
    """What the API client needs of authentication (auth.MsalTokens)."""

    def token(self, host: str) -> str: ...

    def invalidate(self, host: str) -> None: ...


@dataclass
class Api:
    """Authenticated requests to one tenant's hosts, retried as the services ask."""

    http: httpx.Client
    tokens: Tokens
    hosts: frozenset[str]
    sleep: Callable[[float], None] = time.sleep
    backoff: float = 1.0
    waited: float = 0.0  # seconds spent waiting on the services (throttling, errors)
    throttled: int = 0

    def request(
        self, method: str, url: str, params: Mapping[str, str] | None = None
    ) -> httpx.Response:
        """The response (2xx, or a 4xx that is not throttling or auth: the caller reads its
        error code); CollectError once retries are spent."""
        host = self._checked(url)
        renewed = False
        last = ""
        for attempt in range(MAX_ATTEMPTS):
            headers = {"Authorization": f"Bearer {self.tokens.token(host)}"}
            try:
                # params=None, not {}: httpx replaces a URL's query (a NextPageUri's) by {}
                response = self.http.request(method, url, params=params or None, headers=headers)
            except httpx.TransportError as error:
                last = f"{type(error).__name__}"
                self._wait(self._backoff(attempt), f"{method} {_path(url)}: {last}")
                continue
            status = response.status_code
            if status == 401 and not renewed:
                self.tokens.invalidate(host)
                renewed = True
                continue
            if status == 429 or (status == 403 and error_code(response) == "AF429"):
                self.throttled += 1
                last = f"throttled ({status} {error_code(response) or ''})".strip()
                self._wait(retry_after(response) or self._backoff(attempt), last)
                continue
            if status >= 500:
                last = f"HTTP {status}"
                self._wait(retry_after(response) or self._backoff(attempt), last)
                continue
            if status == 401:
                raise CollectError(f"{method} {_path(url)}: 401 {error_code(response)}")
            return response
        raise CollectError(f"{method} {_path(url)}: gave up after {MAX_ATTEMPTS} attempts ({last})")

    def _checked(self, url: str) -> str:
        parts = urlsplit(url)
        if parts.scheme != "https" or parts.hostname not in self.hosts:
            raise CollectError(f"refused to send a token to {parts.scheme}://{parts.hostname}")
        return parts.hostname

    def _backoff(self, attempt: int) -> float:
        return float(min(MAX_WAIT, self.backoff * 2**attempt))

    def _wait(self, seconds: float, why: str) -> None:
        seconds = min(MAX_WAIT, seconds)
        log.info("waiting %.2f s: %s", seconds, why)
        self.waited += seconds
        self.sleep(seconds + MARGIN)


def error_code(response: httpx.Response) -> str:
    """The service's error code (``AF429``, ``AF20055``...), or ''."""
    try:
        body: Any = response.json()
    except ValueError:
        return ""
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        return str(body["error"].get("code", ""))[:40]
    return ""


def retry_after(response: httpx.Response) -> float | None:
    """Retry-After in seconds (delta-seconds or an HTTP date), or None."""
    value = response.headers.get("retry-after")
    if not value:
        return None
    if value.strip().isdigit():
        return float(value.strip())
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def _path(url: str) -> str:
    return urlsplit(url).path
