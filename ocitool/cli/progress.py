"""Progress on a terminal, as ``docker load`` draws it: one line per layer (or phase) with a bar,
bytes done of the total, the rate, and what is being done.

Fed by the library's :class:`~ocitool.ops.progress.Progress` events. Drawn on stderr only
(never stdout), and only when stderr is a terminal, ``-q`` is not given and no ``CI``
variable is set (:func:`progress_for`).
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TextIO

from ocitool.cli.render import human_size
from ocitool.ops.progress import Progress

__all__ = ["ProgressRenderer", "progress_bar", "progress_for"]

_WIDTH = 50  # docker's bar width
_INTERVAL = 0.1  # seconds between redraws


def _bar(done: int, total: int) -> str:
    # As docker's jsonmessage: "[" + "=" * filled + ">" + spaces + "]"; no bar for an unknown total.
    if total <= 0:
        return ""
    filled = min(_WIDTH, _WIDTH * done // total)
    return "[" + "=" * filled + ">" + " " * (_WIDTH - filled) + "] "


class _Line:
    __slots__ = ("done", "phase", "rate", "started", "total")

    def __init__(self, event: Progress, now: float) -> None:
        self.phase, self.done, self.total = event.phase, event.done, event.total
        self.started = now
        self.rate = 0.0


class ProgressRenderer:
    """A callable taking Progress events; redraws its lines at most 10 times a second (and at
    every item's end). Thread-safe. :meth:`close` draws the final state."""

    def __init__(self, err: TextIO) -> None:
        self._err = err
        self._lines: dict[str, _Line] = {}
        self._drawn = 0
        self._last = 0.0
        self._lock = threading.Lock()

    def __call__(self, event: Progress) -> None:
        now = time.monotonic()
        key = event.item or event.phase
        with self._lock:
            line = self._lines.get(key)
            if line is None:
                line = self._lines[key] = _Line(event, now)
            line.phase, line.done, line.total = event.phase, event.done, event.total
            elapsed = now - line.started
            line.rate = event.done / elapsed if elapsed > 0 else 0.0
            finished = event.total > 0 and event.done >= event.total
            if now - self._last < _INTERVAL and not finished:
                return
            self._last = now
            self._draw()

    def _text(self, key: str, line: _Line) -> str:
        label = f"{key}: {line.phase}" if key != line.phase else line.phase
        amount = human_size(line.done) + (f"/{human_size(line.total)}" if line.total > 0 else "")
        if line.done == 0 and line.total == 0:
            amount = ""  # a status (``Pull complete``), not a count
        rate = f"  {human_size(line.rate)}/s" if line.rate and line.done != line.total else ""
        return f"{label} {_bar(line.done, line.total)}{amount}{rate}".rstrip()

    def _draw(self) -> None:
        out = [f"\x1b[{self._drawn}A"] if self._drawn else []
        out += [f"\r{self._text(key, line)}\x1b[K\n" for key, line in self._lines.items()]
        self._drawn = len(self._lines)
        self._err.write("".join(out))
        self._err.flush()

    def close(self) -> None:
        """Draw the last state of every line (left on screen, as docker leaves them)."""
        with self._lock:
            if self._lines:
                self._draw()


def progress_for(err: TextIO, *, quiet: bool = False) -> ProgressRenderer | None:
    """A renderer on ``err`` when progress should show: ``err`` is a terminal, not ``quiet``,
    and no ``CI`` variable is set; else None (the library then reports nothing)."""
    if quiet or os.environ.get("CI"):
        return None
    isatty = getattr(err, "isatty", None)
    try:
        return ProgressRenderer(err) if isatty is not None and isatty() else None
    except ValueError:  # a closed stream
        return None


@contextmanager
def progress_bar(err: TextIO, *, quiet: bool = False) -> Iterator[ProgressRenderer | None]:
    """:func:`progress_for` for the duration of a command; the last state is drawn at the end,
    even when the work fails."""
    renderer = progress_for(err, quiet=quiet)
    try:
        yield renderer
    finally:
        if renderer is not None:
            renderer.close()
