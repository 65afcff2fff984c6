"""``gridmap place`` and ``gridmap coverage``: thin wrappers over :mod:`gridmap.services.placement`."""

from __future__ import annotations

import json

import click

from gridmap.cli.context import cli_store
from gridmap.cli.progress import bar, progress_option
from gridmap.domain.values import json_value
from gridmap.services import placement as svc

KIND_CHOICE = click.Choice(["households", "stewards", "complaints", "merchants", "facilities"])


@click.command("place")
@click.argument("kind", type=KIND_CHOICE)
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option(
    "--tolerance",
    default=30.0,
    show_default=True,
    type=float,
    help="Metres to the nearest building for a point in no building.",
)
@click.option(
    "--report",
    "report_path",
    type=click.Path(dir_okay=False, writable=True),
    help="Write the unmatched/flagged records (row, id, placement, reason …) to this CSV.",
)
@click.option("--dry-run", is_flag=True, help="Place and report, but write nothing.")
@progress_option
def place(
    kind: str, file: str, tolerance: float, report_path: str | None, dry_run: bool, progress: bool | None
) -> None:
    """Place KIND records from FILE (CSV with lon/lat, or GeoJSON/GeoPackage) on buildings.

    Rules in order: building_id; room code 3-2-501 (with estate_id or community_id); the building
    containing the point; the nearest building within --tolerance metres (flagged); only the community
    (flagged); else rejected with the reason. Placed records are written in one transaction.
    """
    with cli_store() as store, bar(progress, f"place {kind}", unit="rec") as report:
        records = svc.read_records(file)
        result = svc.place_records(
            store,
            kind,
            records,
            tolerance_m=svc.parse_tolerance(tolerance),
            dry_run=dry_run,
            progress=report,
        )
    width = max(len(k) for k in result.summary)
    for k, v in result.summary.items():
        click.echo(f"{k:>{width}}: {v}")
    click.echo(f"{'written':>{width}}: {result.written}{' (dry run)' if dry_run else ''}")
    if result.ignored_columns:
        click.echo(f"ignored columns: {', '.join(result.ignored_columns)}", err=True)
    if report_path:
        result.report.to_csv(report_path, index=False)
        click.echo(f"report: {len(result.report)} flagged or rejected records → {report_path}")
    elif result.summary["rejected"]:
        click.echo(f"{result.summary['rejected']} records rejected; use --report FILE to list them", err=True)


@click.command("coverage")
@click.option("--format", "fmt", type=click.Choice(["text", "json", "csv"]), default="text", show_default=True)
@click.option(
    "--table",
    type=click.Choice(["summary", "buildings", "grids", "party_members", "red_property"]),
    default="summary",
    show_default=True,
    help="Which table to print for --format csv/text.",
)
@click.option(
    "--level",
    type=click.Choice(["estate", "community", "street", "district"]),
    default="community",
    show_default=True,
    help="Red-property coverage level (table red_property).",
)
def coverage(fmt: str, table: str, level: str) -> None:
    """Steward coverage: buildings without a building leader, grids without a grid leader or party-member
    central household, households per steward, party members by role, red-property coverage vs targets."""
    with cli_store() as store:
        rep = svc.coverage_report(store)
    if fmt == "json":
        click.echo(json.dumps(rep.to_json(), ensure_ascii=False, indent=2, default=json_value))
        return
    frame = rep.table(table, level=level)
    if fmt == "csv":
        click.echo(frame.to_csv(index=False), nl=False)
    else:
        click.echo(frame.to_string(index=False))
