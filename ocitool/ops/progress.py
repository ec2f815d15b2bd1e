"""Progress of long work, as library callbacks: one small event type for every operation.

An operation that takes ``progress`` calls it with :class:`Progress` events (from worker
threads, possibly several at once); the callback must be quick and must not raise. The library
never draws anything: the CLI renders events on a terminal (:mod:`ocitool.cli.progress`).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["Progress", "ProgressCallback", "Tracker"]


@dataclass(frozen=True)
class Progress:
    """``done`` of ``total`` bytes in ``phase`` (what is being done: ``layers``, ``writing``,
    ``extracting``...) of ``item`` (a layer's short digest; ``""`` for the whole operation).
    ``total`` is 0 when unknown (a compressed layer's uncompressed size)."""

    phase: str
    done: int
    total: int
    item: str = ""


ProgressCallback = Callable[[Progress], None]


class Tracker:
    """Counts bytes of one ``item`` in one ``phase`` and reports them to ``callback`` (None: a
    no-op). Thread-safe; reports at most every ``step`` bytes, and always the first and last."""

    def __init__(
        self,
        callback: ProgressCallback | None,
        phase: str,
        total: int,
        item: str = "",
        *,
        step: int = 1 << 20,
    ) -> None:
        self._callback = callback
        self._phase, self._total, self._item, self._step = phase, total, item, step
        self._done = 0
        self._reported = -1
        self._lock = threading.Lock()
        if callback is not None:
            callback(Progress(phase, 0, total, item))
            self._reported = 0

    def add(self, n: int) -> None:
        """Count ``n`` more bytes done."""
        if self._callback is None or n <= 0:
            return
        with self._lock:
            self._done += n
            if self._done - self._reported < self._step and self._done != self._total:
                return
            self._reported = self._done
            event = Progress(self._phase, self._done, self._total, self._item)
        self._callback(event)

    def finish(self) -> None:
        """Report the last count (a stream that ended before ``total``, or of unknown size)."""
        if self._callback is None:
            return
        with self._lock:
            if self._reported == self._done and self._done == self._total:
                return
            self._reported = self._done
            total = self._total or self._done
            event = Progress(self._phase, self._done, total, self._item)
        self._callback(event)
