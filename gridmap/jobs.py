"""Long jobs (import, grid generation, placement, rebalance, synthetic worlds): how they report progress and time.

* **Progress**: a long service takes ``progress: Progress | None`` and calls ``progress(done, total)`` as it
  goes (absolute counts of its own unit: rows, communities, steps). It never draws anything itself: the CLI
  turns the callback into a bar on a terminal (:mod:`gridmap.cli.progress`), the web app passes nothing.
* **Durations**: ``with jobs.timed("import"):`` tells every listener (:func:`listen`; the web app's metrics,
  :mod:`gridmap.web.metrics`) how many seconds the job took, whether it succeeded or failed.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

#: ``progress(done, total)``: ``done`` units of ``total`` are finished
Progress = Callable[[int, int], None]
#: ``listener(job, seconds, ok)``
Listener = Callable[[str, float, bool], None]

_listeners: list[Listener] = []
_lock = threading.Lock()


def report(progress: Progress | None, done: int, total: int) -> None:
    """Call ``progress`` if there is one."""
    if progress is not None:
        progress(done, total)


def listen(listener: Listener) -> None:
    with _lock:
        if listener not in _listeners:
            _listeners.append(listener)


def unlisten(listener: Listener) -> None:
    with _lock:
        if listener in _listeners:
            _listeners.remove(listener)


@contextmanager
def timed(job: str) -> Iterator[None]:
    """Time the block as one run of ``job`` and tell the listeners (a duration, not a timestamp)."""
    start, ok = time.perf_counter(), False
    try:
        yield
        ok = True
    finally:
        seconds = time.perf_counter() - start
        with _lock:
            listeners = list(_listeners)
        for listener in listeners:
            listener(job, seconds, ok)
