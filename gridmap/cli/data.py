"""``gridmap import`` and ``gridmap synth``: bring real files or a synthetic world into the store."""

from __future__ import annotations

import json
from pathlib import Path

import click
import geopandas as gpd

from gridmap.cli.context import cli_store
from gridmap.cli.errors import settings
from gridmap.cli.progress import bar, progress_option
from gridmap.domain.footprints import OVERLAP_SHARE
from gridmap.domain.schema import IMPORTABLE
from gridmap.errors import InvalidInput
from gridmap.io.validation import STRADDLERS
from gridmap.jobs import Progress
from gridmap.services import tilecache
from gridmap.services.barriers import import_barriers, split_classes
from gridmap.services.demo import WRITE_ORDER
from gridmap.services.importing import ImportRejected, import_file
from gridmap.services.taipei import load_taipei
from gridmap.synth.world import SynthError, generate


@click.command("import")
@click.argument("layer", type=click.Choice(IMPORTABLE))
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--crs",
    default=None,
    help="CRS of the coordinates if the file has none (or to override it): "
    "EPSG:4326, EPSG:4490, EPSG:4549, EPSG:3857 … gcj02 (AMap/Gaode, Tencent) or bd09 (Baidu).",
)
@click.option(
    "--skip-invalid", is_flag=True, help="Write the valid rows and report the rest (default: any error writes nothing)."
)
@click.option(
    "--report",
    "report_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Also save the report as JSON or CSV (by the file suffix).",
)
@click.option("--id-column", default=None, help="Column holding the ids, if it is not called 'id'.")
@click.option("--layer-name", default=None, help="Layer inside a GeoPackage (default: the first).")
@click.option(
    "--merge-overlapping",
    "merge_overlapping",
    type=click.FloatRange(0, 1, min_open=True, max_open=True),
    is_flag=False,
    flag_value=OVERLAP_SHARE,
    default=None,
    help="Buildings: union footprints overlapping by more than this share of the smaller (alone: "
    f"{OVERLAP_SHARE}) into one building, the largest's id kept, the others as aliases.",
)
@click.option(
    "--straddlers",
    type=click.Choice(STRADDLERS),
    default="reject",
    show_default=True,
    help="A building/estate in two communities: reject it, or give it to the community holding most of it "
    "(a warning each).",
)
@click.option(
    "--highways",
    default=None,
    help="Barriers from OpenStreetMap: highway classes kept, comma separated (default GRIDMAP_BARRIER_HIGHWAYS).",
)
@progress_option
def import_cmd(
    layer: str,
    file: Path,
    crs: str | None,
    skip_invalid: bool,
    report_path: Path | None,
    id_column: str | None,
    layer_name: str | None,
    merge_overlapping: float | None,
    straddlers: str,
    highways: str | None,
    progress: bool | None,
) -> None:
    """Import FILE (GeoJSON, GeoPackage, Shapefile or zipped Shapefile, GeoParquet, CSV with lon/lat or
    WKT) into LAYER, validating every row; all or nothing unless --skip-invalid. Barriers also come from
    OpenStreetMap (.osm, .osm.pbf): roads by class, waterways, railways, walls and fences, clipped to the
    district."""
    if layer == "barriers":
        classes = highways if highways is not None else str(settings()["BARRIER_HIGHWAYS"])
        with cli_store() as store:
            try:
                breport = import_barriers(
                    store,
                    file,
                    crs=crs,
                    skip_invalid=skip_invalid,
                    highways=split_classes(classes),
                    gpkg_layer=layer_name,
                    id_column=id_column,
                )
            except ImportRejected as exc:
                _show(exc.report, report_path)
                raise
        _show(breport, report_path)
        return
    with cli_store() as store, bar(progress, f"import {layer}", unit="row") as show:
        try:
            report = import_file(
                store,
                layer,
                file,
                crs=crs,
                skip_invalid=skip_invalid,
                id_column=id_column,
                gpkg_layer=layer_name,
                progress=show,
                straddlers=straddlers,
                merge_overlapping=merge_overlapping,
            )
        except ImportRejected as exc:  # show what was wrong, row by row, before the one-line reason
            _show(exc.report, report_path)
            raise
    _show(report, report_path)


def _show(report, path: Path | None) -> None:
    click.echo(report.format(), err=bool(report.errors))
    if path is not None:
        report.write(path)
        click.echo(f"report saved to {path}", err=True)


@click.command("synth")
@click.option(
    "--scale",
    default="demo",
    show_default=True,
    help='demo, district, or JSON of Scale fields, e.g. \'{"base":"district","household_points":1000000}\'.',
)
@click.option("--seed", default=0, show_default=True, type=int, help="Seed: same seed, same world.")
@click.option(
    "--out",
    "out",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Write one GeoParquet/Parquet file per layer into this folder instead of into the store.",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["parquet", "geojson", "gpkg"]),
    default="parquet",
    show_default=True,
    help="File format with --out.",
)
@progress_option
def synth(scale: str, seed: int, out: Path | None, fmt: str, progress: bool | None) -> None:
    """Generate the seeded synthetic Chengyang world (real streets, synthetic estates, buildings, people)."""
    with bar(progress, "synth", unit="step") as report:
        try:
            parsed = json.loads(scale) if scale.strip().startswith("{") else scale
            world = generate(seed=seed, scale=parsed, progress=report)
        except (SynthError, TypeError, ValueError) as exc:
            raise InvalidInput(f"bad --scale {scale!r}: {exc}") from None
    with bar(progress, "write", unit="layer") as report:
        if out is None:
            with cli_store() as store, store.transaction():
                names = [name for name in WRITE_ORDER if name in world]
                for done, name in enumerate(names, start=1):
                    store.write(name, world[name])
                    if report is not None:
                        report(done, len(names))
                tilecache.clear(store)  # a whole world: every cached tile may be stale
        else:
            write_world(world, out, fmt=fmt, progress=report)
    for name, frame in world.items():
        click.echo(f"{name:>20}: {len(frame)}")


def write_world(world: dict, out: Path, *, fmt: str = "parquet", progress: Progress | None = None) -> list[Path]:
    """Write each layer of a generated world to ``out/<layer>.<ext>``."""
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, frame in world.items():
        geo = isinstance(frame, gpd.GeoDataFrame)
        if fmt == "parquet":
            path = out / f"{name}.parquet"
            frame.to_parquet(path, index=False)
        elif fmt == "gpkg":
            path = out / "world.gpkg"
            if geo:
                frame.to_file(path, layer=name, driver="GPKG")
            else:
                path = out / f"{name}.csv"
                frame.to_csv(path, index=False)
        else:
            path = out / (f"{name}.geojson" if geo else f"{name}.csv")
            frame.to_file(path, driver="GeoJSON") if geo else frame.to_csv(path, index=False)
        paths.append(path)
        if progress is not None:
            progress(len(paths), len(world))
    return paths


@click.command("taipei")
@click.option(
    "--strict",
    is_flag=True,
    help="Refuse the whole set on the first layer with errors "
    "(default: write the valid rows and report the anomalies).",
)
@click.option(
    "--report",
    "report_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Also save each layer's report as <layer>.json and <layer>.csv in this folder.",
)
def taipei(strict: bool, report_dir: Path | None) -> None:
    """Import the shipped real Taipei Wanhua set (real buildings inside real 里, used as communities) and
    report its real anomalies, such as buildings outside every 里 or straddling two."""
    with cli_store() as store:
        try:
            reports = load_taipei(store, skip_invalid=not strict)
        except ImportRejected as exc:
            _show(exc.report, None)
            raise InvalidInput(f"{exc.message} (the whole Taipei set was left out)") from None
    for name, report in reports.items():
        click.echo(report.format(limit=50))
        if report_dir is not None:
            report_dir.mkdir(parents=True, exist_ok=True)
            report.write(report_dir / f"{name}.json")
            report.write(report_dir / f"{name}.csv")
    if report_dir is not None:
        click.echo(f"reports saved in {report_dir}", err=True)
