"""Progress bars for long commands: tqdm on stderr when it is a terminal, nothing in a pipe or under
``--no-progress``.

Services report progress through a :data:`gridmap.jobs.Progress` callback (``progress(done, total)``); this
module is the only one that turns such a callback into a bar::

    @click.command()
    @progress_option
    def cmd(progress: bool | None) -> None:
        with bar(progress, "grids", unit="step") as report:
            service(store, progress=report)
"""

from __future__ import annotations

import shutil
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import click
from tqdm import tqdm

from gridmap.jobs import Progress


def progress_option(f: Callable[..., Any]) -> Callable[..., Any]:
    """``--progress/--no-progress`` (default: a bar when stderr is a terminal)."""
    return click.option(
        "--progress/--no-progress",
        "progress",
        default=None,
        help="Progress bar on stderr (default: only when stderr is a terminal).",
    )(f)


def wanted(progress: bool | None) -> bool:
    return sys.stderr.isatty() if progress is None else bool(progress)


@contextmanager
def bar(progress: bool | None, desc: str, *, unit: str = "it") -> Iterator[Progress | None]:
    """A callback drawing one bar (None when no bar is wanted), closed when the block ends."""
    if not wanted(progress):
        yield None
        return
    size = shutil.get_terminal_size(fallback=(100, 24))  # a terminal without a size (0×0) would hide the bar
    shown: list[tqdm] = []  # made at the first report, when the total is known

    def report(done: int, total: int) -> None:
        if not shown:
            shown.append(
                tqdm(desc=desc, unit=unit, total=total, file=sys.stderr, ncols=min(size.columns, 120), nrows=size.lines)
            )
        b = shown[0]
        if b.total != total:
            b.total = total
        b.update(max(0, done - b.n))

    try:
        yield report
    finally:
        if shown:
            shown[0].close()
