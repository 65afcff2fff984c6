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
    with tqdm(desc=desc, unit=unit, file=sys.stderr, dynamic_ncols=True, leave=True) as shown:

        def report(done: int, total: int) -> None:
            if shown.total != total:
                shown.total = total
            shown.update(max(0, done - shown.n))

        yield report
