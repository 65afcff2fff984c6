"""``gridmap plan …``: drafts, minimal-change rebalance, diff, publish, rollback, export and import."""

from __future__ import annotations

import json
from typing import Any

import click

from gridmap.cli.context import cli_actor, cli_store
from gridmap.cli.progress import bar, progress_option
from gridmap.domain.values import json_value
from gridmap.services import plans as svc


def _run(fn, *args: Any, **kwargs: Any) -> Any:
    """``fn(store, world, …)`` with the store open and the plan world loaded from it."""
    with cli_store() as store:
        return fn(store, svc.load_world(store), *args, **kwargs)


def _echo_json(data: Any) -> None:
    click.echo(json.dumps(data, ensure_ascii=False, indent=2, default=json_value))


@click.group("plan")
def plan() -> None:
    """Grid plans: drafts, rebalance, diff, publish, rollback, export/import (方案)."""


@plan.command("list")
def list_cmd() -> None:
    """List plans (published, superseded, drafts), newest first."""
    rows = _run(lambda store, world: svc.list_plans(store))
    for r in rows:
        click.echo(
            f"{r['id']:<14} {r['status']:<11} {r['effective_date'] or '':<10} "
            f"{r['created_at'] or ''}  {r['note'] or ''}"
        )


@plan.command("draft")
@click.option("--base", default=None, help="Plan to start from (default: the published plan).")
def draft_cmd(base: str | None) -> None:
    """Start a draft; prints its id."""
    info = _run(lambda store, world: svc.start_draft(store, actor=cli_actor(), base=base))
    click.echo(info["draft"])


@plan.command("move")
@click.argument("draft")
@click.argument("buildings", nargs=-1, required=True)
@click.option("--to", "to_grid", required=True, help="Target grid code.")
def move_cmd(draft: str, buildings: tuple[str, ...], to_grid: str) -> None:
    """Move BUILDINGS of DRAFT to grid --to; prints the two grids' checks as JSON."""
    res = _run(
        lambda store, world: svc.move_buildings(store, draft, buildings, to_grid, actor=cli_actor(), world=world)
    )
    _echo_json({"plan": res["plan"], "grids": res["grids"], "check_ms": res["check_ms"]})


@plan.command("rebalance")
@click.option("--draft", default=None, help="Draft to rebalance (default: a new draft from the published plan).")
@click.option("--no-new-grids", is_flag=True, help="Never add a grid; report communities that need one.")
@click.option("--json", "as_json", is_flag=True, help="Print the full report as JSON.")
@progress_option
def rebalance_cmd(draft: str | None, no_new_grids: bool, as_json: bool, progress: bool | None) -> None:
    """Bring every grid within bounds moving as few households as possible (locked grids stay)."""

    def go(store, world):
        d = draft or svc.start_draft(store, actor=cli_actor(), note="rebalance")["draft"]
        with bar(progress, "rebalance", unit="step") as report:
            return d, svc.rebalance_draft(
                store, d, actor=cli_actor(), world=world, allow_new_grids=not no_new_grids, progress=report
            )

    d, res = _run(go)
    report = res["rebalance"]
    if as_json:
        _echo_json({"draft": d, "plan": res["plan"], **report})
        return
    click.echo(
        f"draft {d}: {report['buildings_moved']} buildings, {report['households_moved']} "
        f"households moved; new grids: {', '.join(report['new_grids']) or 'none'}"
    )
    for m in report["moves"]:
        click.echo(f"  {m['building_id']}: {m['from_grid']} → {m['to_grid']}")
    for i in report["infeasible"]:
        click.echo(
            f"  still out of bounds: {i['grid']} {i['households']} households [{i['min']}, {i['max']}] — {i['reason']}"
        )


@plan.command("check")
@click.argument("plan_id")
def check_cmd(plan_id: str) -> None:
    """Check every grid of PLAN_ID (a draft as it stands): bounds, contiguity, tiling, grid leaders; exit 1 on
    problems."""
    checks = _run(lambda store, world: svc.check_plan(svc.load_current(store, plan_id, world=world), world))
    bad = {c: v for c, v in checks.items() if not v["ok"]}
    for code, v in bad.items():
        click.echo(f"{code}: {v['households']} households, {', '.join(v['problems'])}")
    click.echo(f"{len(checks)} grids, {len(bad)} with problems")
    if bad:
        raise SystemExit(1)


@plan.command("diff")
@click.argument("old")
@click.argument("new")
@click.option("--json", "as_json", is_flag=True, help="Full diff as JSON.")
def diff_cmd(old: str, new: str, as_json: bool) -> None:
    """What changes from plan OLD to plan NEW (drafts as they stand): buildings, households, stewards, open
    complaints."""
    d = _run(lambda store, world: svc.diff(store, old, new, world=world))
    if as_json:
        _echo_json(d.as_dict())
        return
    for k, v in d.summary().items():
        click.echo(f"{k:>16}: {v}")


@plan.command("publish")
@click.argument("draft")
@click.option("--date", "effective", default=None, help="Effective date YYYY-MM-DD (default today).")
@click.option(
    "--override-reason",
    default=None,
    help="Publish despite hard failures (a grid in pieces, a gap, a fixable grid above max); the reason is audited.",
)
def publish_cmd(draft: str, effective: str | None, override_reason: str | None) -> None:
    """Publish DRAFT; the current published plan becomes superseded. A draft with hard failures is refused
    unless --override-reason says why."""
    out = _run(
        lambda store, world: svc.publish(
            store, draft, effective_date=effective, actor=cli_actor(), world=world, override_reason=override_reason
        )
    )
    click.echo(f"published {out['plan']} effective {out['effective_date']} (was {out['previous']})")


@plan.command("rollback")
@click.argument("plan_id")
@click.option("--date", "effective", default=None, help="Effective date YYYY-MM-DD (default today).")
def rollback_cmd(plan_id: str, effective: str | None) -> None:
    """Publish a new version equal to the earlier plan PLAN_ID."""
    out = _run(
        lambda store, world: svc.rollback(store, plan_id, actor=cli_actor(), world=world, effective_date=effective)
    )
    click.echo(f"published {out['plan']} = {plan_id} (was {out['previous']})")


@plan.command("undo")
@click.argument("draft")
def undo_cmd(draft: str) -> None:
    """Undo the last change of DRAFT."""
    out = _run(lambda store, world: svc.undo(store, draft, actor=cli_actor(), world=world))
    click.echo(out["plan"])


@plan.command("redo")
@click.argument("draft")
def redo_cmd(draft: str) -> None:
    """Redo the last undone change of DRAFT."""
    out = _run(lambda store, world: svc.redo(store, draft, actor=cli_actor(), world=world))
    click.echo(out["plan"])


@plan.command("lock")
@click.argument("draft")
@click.argument("grids", nargs=-1, required=True)
@click.option("--unlock", is_flag=True, help="Unlock instead.")
def lock_cmd(draft: str, grids: tuple[str, ...], unlock: bool) -> None:
    """Lock GRIDS of DRAFT (rebalance and moves leave them alone)."""
    _run(lambda store, world: svc.lock_grids(store, draft, grids, locked=not unlock, actor=cli_actor(), world=world))
    click.echo(("unlocked " if unlock else "locked ") + " ".join(grids))


@plan.command("export")
@click.argument("plan_id")
@click.argument("path", type=click.Path(dir_okay=False))
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["gpkg", "geojson", "shp", "csv"]),
    default=None,
    help="Default from the suffix: .gpkg .geojson .zip (Shapefile) .csv",
)
def export_cmd(plan_id: str, path: str, fmt: str | None) -> None:
    """Write PLAN_ID (a draft: as it stands) to PATH (GeoPackage, GeoJSON, zipped Shapefile or CSV)."""
    out = _run(lambda store, world: svc.export_plan_file(store, plan_id, path, format=fmt, world=world))
    click.echo(out)


@plan.command("import")
@click.argument("path", type=click.Path(dir_okay=False))
@click.option("--format", "fmt", type=click.Choice(["gpkg", "geojson", "shp", "csv"]), default=None)
def import_cmd(path: str, fmt: str | None) -> None:
    """Read a plan file into a new draft (from the published plan); prints the draft id."""
    out = _run(lambda store, world: svc.import_plan_file(store, path, format=fmt, actor=cli_actor(), world=world))
    click.echo(f"{out['draft']} ({out['moves']} buildings differ from the published plan)")
