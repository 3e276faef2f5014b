"""The `mailhunt` command's entry point: the command line imported with SIGINT and SIGTERM held.

Importing the command line (DuckDB, pyarrow, numpy, Typer, Rich, every format and analytic)
takes a large share of a short command's time, and Python's default SIGINT raises
KeyboardInterrupt wherever that import is: a traceback, sometimes inside a C extension's
initialisation. So this module imports nothing heavy; the import runs with both signals only
noted, and a signal that came meanwhile ends the command in one line (exit 130 / 143) before
anything ran. `cli.main` then handles them (see its docstring).
"""

from __future__ import annotations

import signal
import sys
from types import FrameType

HELD = (signal.SIGINT, signal.SIGTERM)


def main(argv: list[str] | None = None) -> int:
    """Import the command line with HELD signals noted, then run it (or report the signal)."""
    noted: list[int] = []

    def note(signum: int, _frame: FrameType | None) -> None:
        noted.append(signum)

    previous = {number: signal.signal(number, note) for number in HELD}
    try:
        from mailhunt import cli  # imported here, under the held signals

        if noted:
            return cli.interrupted(noted[0])
        return cli.main(argv)  # which installs its own handlers at once
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler if handler is not None else signal.SIG_DFL)


if __name__ == "__main__":
    sys.exit(main())
