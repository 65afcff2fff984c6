"""CLI group ``gridmap dask``: run city-wide jobs on a Dask cluster (or a LocalCluster on this machine).

Needs the ``dask`` extra (``pip install 'gridmap[dask]'``); without it ``gridmap dask`` says so.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import click
import dask_geopandas
from distributed import Client, LocalCluster

from gridmap.cli.context import cli_actor, cli_store
from gridmap.cli.errors import settings
from gridmap.cli.progress import bar, progress_option
from gridmap.distributed import grids as dask_grids
from gridmap.distributed import placement as dask_placement
from gridmap.errors import InvalidInput, Unavailable
from gridmap.services.placement import load_world


@click.group("dask")
def dask_group() -> None:
    """在 Dask 集群上运行全市任务 Run city-wide jobs on a Dask cluster."""


def check_cluster(scheduler: str | None, local: int | None) -> None:
    if bool(scheduler) == bool(local):
        raise click.UsageError("give exactly one of --scheduler ADDRESS or --local N")


@contextmanager
def dask_client(scheduler: str | None, local: int | None) -> Iterator[Any]:
    """A ``distributed.Client`` on ``scheduler`` or on a LocalCluster of ``local`` worker processes."""
    check_cluster(scheduler, local)
    if scheduler:
        try:
            client = Client(scheduler, timeout=30)
        except OSError as exc:
            raise Unavailable(f"cannot reach the Dask scheduler at {scheduler}: {exc}") from None
        with client:
            yield client
        return
    with (
        LocalCluster(n_workers=local, threads_per_worker=1, processes=True, dashboard_address=None) as cluster,
        Client(cluster) as client,
    ):
        yield client


@dask_group.command("grids")
@click.option("--scheduler", default=None, help="Address of a running scheduler, e.g. tcp://10.0.0.5:8786.")
@click.option("--local", type=int, default=None, help="Start a LocalCluster with this many worker processes.")
@click.option(
    "--min",
    "min_households",
    type=int,
    default=None,
    help="Lower bound of households per grid (default GRIDMAP_MIN_HOUSEHOLDS).",
)
@click.option(
    "--max",
    "max_households",
    type=int,
    default=None,
    help="Upper bound of households per grid (default GRIDMAP_MAX_HOUSEHOLDS).",
)
@click.option("--seed", type=int, default=0, show_default=True, help="Seed: same seed, same plan.")
@click.option("--publish", is_flag=True, help="Publish the new plan at once (default: keep it a draft).")
@progress_option
def grids_cmd(
    scheduler: str | None,
    local: int | None,
    min_households: int | None,
    max_households: int | None,
    seed: int,
    publish: bool,
    progress: bool | None,
) -> None:
    """Generate grids for every community, one Dask task per community (same plan as `gridmap grids generate`)."""
    check_cluster(scheduler, local)
    current = settings()
    lo = min_households if min_households is not None else int(current["MIN_HOUSEHOLDS"])
    hi = max_households if max_households is not None else int(current["MAX_HOUSEHOLDS"])
    if lo < 1 or hi < lo:
        raise click.UsageError(f"--min/--max must satisfy 1 <= min <= max, got [{lo}, {hi}]")
    with (
        cli_store() as store,
        dask_client(scheduler, local) as client,
        bar(progress, "communities", unit="community") as report,
    ):
        res = dask_grids.generate(
            store,
            client=client,
            progress=report,
            min_households=lo,
            max_households=hi,
            seed=seed,
            publish=publish,
            created_by=cli_actor(),
        )
    s = res.report["summary"]
    click.echo(
        f"plan {res.plan_id} ({'published' if publish else 'draft'}): {s['grids']} grids, "
        f"{s['households']} households in {s['communities']} communities; "
        f"time {res.timings['total']:.1f} s"
    )


@dask_group.command("place")
@click.argument("records", metavar="GEOPARQUET")
@click.argument("out", type=click.Path(file_okay=False))
@click.option("--scheduler", default=None, help="Address of a running scheduler, e.g. tcp://10.0.0.5:8786.")
@click.option("--local", type=int, default=None, help="Start a LocalCluster with this many worker processes.")
@click.option(
    "--tolerance",
    type=float,
    default=30.0,
    show_default=True,
    help="Metres within which a point off every building goes to the nearest building (flagged).",
)
@progress_option
def place_cmd(
    records: str, out: str, scheduler: str | None, local: int | None, tolerance: float, progress: bool | None
) -> None:
    """Place GEOPARQUET point records (a file, folder or glob; may exceed memory) on the store's buildings,
    estates, published grids and communities, one Dask task per partition; write the placed rows to OUT as
    GeoParquet and print the counts by outcome (same placement as `gridmap place`)."""
    check_cluster(scheduler, local)
    with cli_store() as store:
        world = load_world(store)
    try:
        frame = dask_geopandas.read_parquet(records)
    except (OSError, ValueError) as exc:
        raise InvalidInput(f"cannot read {records}: {exc}") from None
    with dask_client(scheduler, local) as client:
        placed = dask_placement.place_dask(frame, world, tolerance_m=tolerance, client=client)
        with bar(progress, "partitions", unit="part") as report:
            if report is not None:  # compute the partitions on the cluster first, counting them as they finish
                from distributed import as_completed, futures_of

                placed = client.persist(placed)
                parts = futures_of(placed)
                for done, _ in enumerate(as_completed(parts), start=1):
                    report(done, len(parts))
        placed.to_parquet(out)
        counts = dask_placement.summary(dask_geopandas.read_parquet(out))
    click.echo(" ".join(f"{k}={v}" for k, v in counts.items()) + f"; written to {out}")
