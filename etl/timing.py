"""Per-stage wall-clock accounting for the pipeline, kept out of the product logic.

`Pipeline` takes a `StageTimer`; the default `NullTimer` costs nothing. `etl bench` passes a real one and
reports where the time of a run went.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

STAGES: tuple[str, ...] = ("read", "validate", "model", "lake", "warehouse", "data_tests")


class StageTimer:
    """Accumulates seconds per stage name; safe to use from the pipeline's helper threads too."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self._lock = threading.Lock()

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        started = time.perf_counter()
        try:
            yield
        finally:
            self.add(name, time.perf_counter() - started)

    def add(self, name: str, seconds: float) -> None:
        with self._lock:
            self.seconds[name] = self.seconds.get(name, 0.0) + seconds


class NullTimer(StageTimer):
    """Times nothing."""

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        yield

    def add(self, name: str, seconds: float) -> None:
        return None
