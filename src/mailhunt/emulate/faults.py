"""Faults the emulator injects into API calls, seeded, and the log of every request it saw.

Throttling as both services document it: the Management Activity API answers 429 (and, from
older front ends, 403) with error code ``AF429``; Graph answers 429; both send ``Retry-After``
in seconds (https://learn.microsoft.com/office/office-365-management-api/office-365-management-activity-api-reference#throttling,
https://learn.microsoft.com/graph/throttling). Besides: 5xx, connections dropped mid-response,
and tokens revoked mid-run (the next call gets 401).
"""

from __future__ import annotations

import random
import threading
import time
from dataclasses import dataclass, field
from typing import Literal

Fault = Literal["reset", "throttle", "forbidden-throttle", "server-error", "expire-tokens"]


@dataclass(frozen=True)
class Faults:
    """What to inject, per API request (the token endpoint is never faulted)."""

    seed: int = 1
    throttle: float = 0.0  # chance of a 429 / 403 AF429 (alternating)
    max_throttles: int = 1_000_000
    retry_after: int = 1  # seconds, as the Retry-After header says
    server_error: float = 0.0  # chance of a 500 or 503
    reset: float = 0.0  # chance of the connection dropped mid-response
    expire_tokens_every: int = 0  # every N API requests every issued token is revoked (0: never)


@dataclass(frozen=True)
class Logged:
    """One request as the emulator answered it (monotonic time, seconds)."""

    at: float
    method: str
    host: str
    path: str
    status: int
    publisher: str | None
    retry_after: int | None = None
    fault: Fault | None = None


@dataclass
class FaultPlan:
    """The faults drawn so far and the request log; thread-safe (uvicorn serves in a thread)."""

    faults: Faults
    log: list[Logged] = field(default_factory=list)
    _rng: random.Random = field(init=False)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _throttles: int = 0
    _requests: int = 0

    def __post_init__(self) -> None:
        self._rng = random.Random(f"{self.faults.seed}/faults")

    def draw(self) -> Fault | None:
        """The fault for the next API request, if any."""
        f = self.faults
        with self._lock:
            self._requests += 1
            if f.expire_tokens_every and self._requests % f.expire_tokens_every == 0:
                return "expire-tokens"
            roll = self._rng.random()
            if roll < f.reset:
                return "reset"
            roll -= f.reset
            if roll < f.throttle and self._throttles < f.max_throttles:
                self._throttles += 1
                return "throttle" if self._throttles % 2 else "forbidden-throttle"
            roll -= f.throttle
            if roll < f.server_error:
                return "server-error"
            return None

    def record(self, entry: Logged) -> None:
        with self._lock:
            self.log.append(entry)

    def entries(self) -> list[Logged]:
        with self._lock:
            return list(self.log)


def monotonic() -> float:
    return time.monotonic()
