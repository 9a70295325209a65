"""Ctrl-C, noticed even when a database client turns it into an error of its own.

DuckDB answers SIGINT during a statement by interrupting the query and raising `Query interrupted` or a
follow-up `TransactionContext Error`, and the KeyboardInterrupt itself is gone. Such an error must stop the
run, not pass for one failed file while the next file loads. The command line installs `on_sigint`;
the pipeline asks `requested()` when a file fails.
"""

from __future__ import annotations

import signal
import threading
from types import FrameType

_requested = threading.Event()


def install() -> None:
    """Route SIGINT through `on_sigint` (main thread only, as Python requires)."""
    signal.signal(signal.SIGINT, on_sigint)


def on_sigint(signum: int, frame: FrameType | None) -> None:
    _requested.set()
    raise KeyboardInterrupt


def requested() -> bool:
    """Whether Ctrl-C was pressed in this process."""
    return _requested.is_set()


def reset() -> None:
    _requested.clear()
