"""Progress of long work, as library callbacks: one small event type for every operation.

An operation that takes ``progress`` calls it with :class:`Progress` events (from worker
threads, possibly several at once); the callback must be quick and must not raise. The library
never draws anything: the CLI renders events on a terminal (:mod:`ocitool.cli.progress`).
"""

from __future__ import annotations

import io
import threading
from collections.abc import Callable
from typing import IO, Any

from ocitool._record import record
from ocitool.compression import Compression
from ocitool.image.source import Layer

__all__ = ["CountingReader", "Progress", "ProgressCallback", "Tracker", "layer_tracker"]


@record(frozen=True)
class Progress:
    """``done`` of ``total`` bytes in ``phase`` (what is being done: ``layers``, ``writing``,
    ``extracting``...) of ``item`` (a layer's short digest; ``""`` for the whole operation).
    ``total`` is 0 when unknown (a compressed layer's uncompressed size)."""

    phase: str
    done: int
    total: int
    item: str = ""

    @property
    def is_status(self) -> bool:
        """No bytes and no total: a change of state (``Pull complete``), which a CLI without a
        terminal prints as a line, rather than a count."""
        return self.done == 0 and self.total == 0


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


def layer_tracker(layer: Layer, progress: ProgressCallback | None, phase: str) -> Tracker | None:
    """A Tracker of a layer's tar bytes, named by its short digest; None without ``progress``.
    The total is known for an uncompressed layer only (a compressed one's tar size is learnt
    by reading it)."""
    if progress is None:
        return None
    total = layer.descriptor.size if layer.compression is Compression.NONE else 0
    return Tracker(progress, phase, total, layer.digest.hex[:12])


class CountingReader(io.RawIOBase):
    """``inner`` (a binary stream), counting the bytes read into ``tracker``; closing it
    closes ``inner`` and finishes the tracker."""

    def __init__(self, inner: IO[bytes], tracker: Tracker) -> None:
        super().__init__()
        self._inner = inner
        self._tracker = tracker

    def readable(self) -> bool:
        return True

    def read(self, n: int = -1) -> bytes:
        data = self._inner.read(n)
        self._tracker.add(len(data))
        return data

    def readinto(self, buf: Any) -> int:
        data = self.read(len(buf))
        buf[: len(data)] = data
        return len(data)

    def close(self) -> None:
        if not self.closed:
            try:
                self._inner.close()
            finally:
                self._tracker.finish()
        super().close()
