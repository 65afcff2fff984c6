"""CLI group ``gridmap tiles``: pre-fill the vector-tile cache."""

from __future__ import annotations

import json

import click

from gridmap.cli.context import cli_store
from gridmap.cli.errors import settings
from gridmap.cli.progress import bar, progress_option
from gridmap.domain.tiles import MAX_ZOOM
from gridmap.errors import InvalidInput
from gridmap.services import tiles as svc


@click.group("tiles")
def tiles() -> None:
    """Pre-fill the vector-tile cache: `tiles seed --zoom 11-15` (a progress bar on a terminal)."""


def _zooms(text: str) -> range:
    """``"11-15"`` or ``"14"`` → the zoom levels, each within 0..24."""
    lo, _, hi = text.partition("-")
    try:
        zooms = range(int(lo), int(hi or lo) + 1)
    except ValueError:
        raise InvalidInput(f"--zoom 应为 N 或 N-M / --zoom must be N or N-M (e.g. 11-15), not {text!r}") from None
    if not zooms or zooms.start < 0 or zooms.stop - 1 > MAX_ZOOM:
        raise InvalidInput(f"--zoom {text!r}: zoom levels run from 0 to {MAX_ZOOM}, low to high")
    return zooms


@tiles.command("seed")
@click.option("--zoom", "zoom", default="11-15", show_default=True, help="Zoom levels to fill, N or N-M.")
@progress_option
def seed_cmd(zoom: str, progress: bool | None) -> None:
    """Draw every building and grid tile over the buildings' extent at the zoom levels into the cache (tiles
    already cached are kept; zooms deeper than GRIDMAP_TILE_CACHE_MAX_ZOOM are refused: those tiles are drawn per
    request); a progress bar on a terminal; prints the counts as JSON."""
    zooms = _zooms(zoom)
    with cli_store() as store, bar(progress, "tiles", unit="tile") as report:
        out = svc.seed(store, zooms, progress=report, cache_max_zoom=int(settings()["TILE_CACHE_MAX_ZOOM"]))
    click.echo(json.dumps({"zoom": [zooms.start, zooms.stop - 1], **out}))
