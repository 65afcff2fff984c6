"""Keep C libraries off the user's terminal: METIS prints its complaints (``***Cannot bisect a graph with 0
vertices!``) with C ``printf`` straight to file descriptor 1, past Python's ``sys.stdout``.

``with quiet_fds() as out:`` points descriptors 1 and 2 at a temporary file around the call, flushes C's stdio
buffers before putting them back, and leaves what the library said in ``out.text`` for gridmap's own report.
Process-wide (descriptors are shared by every thread), so calls are serialised by a lock and kept short.
"""

from __future__ import annotations

import ctypes
import os
import sys
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

_LOCK = threading.RLock()
_LIBC = None
_SINK: tuple[int, Any] | None = None  # (pid, the open temporary file)


@dataclass
class Captured:
    """What the C code wrote while descriptors 1 and 2 were redirected."""

    text: str = ""


def _flush_c() -> None:
    global _LIBC
    try:
        if _LIBC is None:
            _LIBC = ctypes.CDLL(None)
        _LIBC.fflush(None)
    except (OSError, AttributeError):  # no C library to flush (unusual platforms): nothing buffered to lose
        pass


def _sink() -> int:
    """This process's sink: one temporary file, opened at the first call and again after a fork (a child
    must not share the file offset with its parent); emptied after every use."""
    global _SINK
    pid = os.getpid()
    if _SINK is None or _SINK[0] != pid:
        _SINK = (pid, tempfile.TemporaryFile(mode="w+b"))
    return _SINK[1].fileno()


@contextmanager
def quiet_fds() -> Iterator[Captured]:
    """Redirect file descriptors 1 and 2 to a temporary file for the duration (see the module docstring)."""
    out = Captured()
    with _LOCK:
        sink = _sink()
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except (AttributeError, ValueError):
                pass
        _flush_c()
        start = os.lseek(sink, 0, os.SEEK_END)  # 0, or where an enclosing call (same thread) has got to
        saved = [os.dup(1), os.dup(2)]
        try:
            os.dup2(sink, 1)
            os.dup2(sink, 2)
            yield out
        finally:
            _flush_c()
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            for fd in saved:
                os.close(fd)
            size = os.lseek(sink, 0, os.SEEK_END) - start
            if size > 0:
                out.text = os.pread(sink, size, start).decode("utf-8", "replace")
                os.ftruncate(sink, start)  # each call hands back only what was said during it
            os.lseek(sink, start, os.SEEK_SET)
