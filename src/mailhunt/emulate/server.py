"""Serving the emulator on loopback: uvicorn in a thread, on a port the system picks."""

from __future__ import annotations

import logging
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import h11
import uvicorn

from mailhunt.emulate.app import Emulator


class _DroppedOnPurpose(logging.Filter):
    """uvicorn logs a traceback for every connection the emulator drops on purpose (a
    response shorter than its Content-Length, see app._Dropped): not an error here."""

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        return not isinstance(error, h11.LocalProtocolError)


@contextmanager
def serve(emulator: Emulator, host: str = "127.0.0.1") -> Iterator[str]:
    """Serve `emulator` for the block; yields its base URL (``http://127.0.0.1:PORT``)."""
    # proto named: asyncio sets TCP_NODELAY on accepted sockets only when it is IPPROTO_TCP
    # (else every response waits ~40 ms on the client's delayed ACK)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.bind((host, 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(emulator.app(), log_level="warning", access_log=False, lifespan="off")
    server = uvicorn.Server(config)
    quiet = _DroppedOnPurpose()
    logging.getLogger("uvicorn.error").addFilter(quiet)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the emulator did not start")
        time.sleep(0.01)
    try:
        yield f"http://{host}:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()
        logging.getLogger("uvicorn.error").removeFilter(quiet)
