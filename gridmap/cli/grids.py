"""CLI group ``gridmap grids``: generate grid plans and report on them."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from gridmap.cli.context import cli_actor, cli_store
from gridmap.cli.errors import settings
from gridmap.cli.progress import bar, progress_option
from gridmap.domain.values import json_value
from gridmap.services import grids as svc

#: problems printed after a generation (all of them are in --report FILE)
SHOW_PROBLEMS = 20


@click.group("grids")
def grids() -> None:
    """网格生成与评估 Generate governance grids and evaluate plans."""


@grids.command("generate")
@click.option("--community", default=None, help="Only this community (12-digit id); others keep their grids.")
@click.option(
    "--min",
    "min_households",
    type=int,
    default=None,
    help="Lower bound of households per grid (default GRIDMAP_MIN_HOUSEHOLDS, 300).",
)
@click.option(
    "--max",
    "max_households",
    type=int,
    default=None,
    help="Upper bound of households per grid (default GRIDMAP_MAX_HOUSEHOLDS, 500).",
)
@click.option("--seed", type=int, default=0, show_default=True, help="Seed: same seed, same plan.")
@click.option("--publish", is_flag=True, help="Publish the new plan at once (default: keep it a draft).")
@click.option(
    "--report",
    "report_out",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Also write the JSON report to this file.",
)
@progress_option
def generate_cmd(community, min_households, max_households, seed, publish, report_out, progress) -> None:
    """Divide every community (or one) into grids and store the plan as a draft."""
    current = settings()
    lo = min_households if min_households is not None else int(current["MIN_HOUSEHOLDS"])
    hi = max_households if max_households is not None else int(current["MAX_HOUSEHOLDS"])
    if lo < 1 or hi < lo:
        raise click.UsageError(f"--min/--max must satisfy 1 <= min <= max, got [{lo}, {hi}]")
    with cli_store() as store, bar(progress, "grids generate", unit="step") as report:
        res = svc.generate(
            store,
            community=community,
            min_households=lo,
            max_households=hi,
            seed=seed,
            publish=publish,
            created_by=cli_actor(),
            progress=report,
        )
    s = res.report["summary"]
    click.echo(
        f"plan {res.plan_id} ({'published' if publish else 'draft'}): {s['grids']} grids, "
        f"{s['households']} households in {s['communities']} communities"
    )
    click.echo(
        f"  in bounds {s['share_in_bounds']:.1%}  CV {s['cv']:.3f}  within ±10% "
        f"{s['share_within_10pct']:.1%}  p95 deviation {s['p95_deviation']:.3f}  contiguous "
        f"{s['contiguous_share']:.1%}  Polsby-Popper {s['polsby_popper_mean']:.2f}"
    )
    click.echo(
        f"  problems: {len(res.report['problems'])}; time {res.timings['total']:.1f} s "
        f"({', '.join(f'{k} {v:.1f}' for k, v in res.timings.items() if k != 'total')})"
    )
    shown = res.report["problems"][:SHOW_PROBLEMS]
    for p in shown:
        click.echo(f"  {p.get('level', 'warning')} {p['kind']}: {p['message']} → {p['fix']}")
    if len(res.report["problems"]) > len(shown):
        click.echo(f"  … and {len(res.report['problems']) - len(shown)} more (see --report FILE)")
    if report_out:
        report_out.write_text(
            json.dumps(res.report, ensure_ascii=False, indent=1, default=json_value), encoding="utf-8"
        )


@grids.command("report")
@click.argument("plan")
@click.option("--format", "fmt", type=click.Choice(["json", "html"]), default="json", show_default=True)
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Write to this file instead of standard output.",
)
def report_cmd(plan: str, fmt: str, out: Path | None) -> None:
    """Evaluation report of plan PLAN (id; a draft as it stands), as JSON or a standalone HTML page."""
    with cli_store() as store:
        text = svc.report_text(store, plan, fmt=fmt)
    if out:
        out.write_text(text, encoding="utf-8")
        click.echo(f"wrote {out}", err=True)
    else:
        sys.stdout.write(text + ("\n" if not text.endswith("\n") else ""))
