"""CLI group ``gridmap complaints``: automatic 督办 (run it from cron), demo requests, KPIs."""

from __future__ import annotations

import datetime as dt
import json

import click

from gridmap import clock
from gridmap.cli.context import cli_store
from gridmap.cli.errors import settings, zone_setting
from gridmap.cli.progress import bar, progress_option
from gridmap.services import complaints as svc
from gridmap.synth import complaints as synth_complaints


@click.group("complaints")
def complaints() -> None:
    """民意诉求 Residents' requests: escalate overdue ones, generate demo requests, print KPIs."""


@complaints.command("escalate")
@click.option(
    "--now",
    default=None,
    help="Check as of this ISO time; without an offset it is a time in GRIDMAP_TIMEZONE (default: now).",
)
def escalate_cmd(now: str | None) -> None:
    """Supervise every overdue open request (grid leader → community → street); run it e.g. hourly."""
    at = _when(now)
    with cli_store() as store:
        out = svc.escalate_overdue(store, settings=settings(), now=at)
    click.echo(json.dumps(out, ensure_ascii=False))


@complaints.command("synth")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the generator.")
@click.option(
    "--now",
    default=None,
    help="Generate up to this ISO time; without an offset it is a time in "
    "GRIDMAP_TIMEZONE (default: today 00:00 there).",
)
@progress_option
def synth_cmd(seed: int, now: str | None, progress: bool | None) -> None:
    """Replace the store's requests with generated ones (two full years and this year) for its buildings."""
    policy = svc.policy_from(settings())
    with cli_store() as store, bar(progress, "complaints synth", unit="step") as report:
        out = synth_complaints.load(store, seed=seed, now=_when(now) if now else None, policy=policy, progress=report)
    click.echo(json.dumps(out))


@complaints.command("kpi")
@click.option("--year", type=int, default=None, help="Year (default: the latest complete year).")
def kpi_cmd(year: int | None) -> None:
    """Print the district's headline figures for a year as JSON."""
    with cli_store() as store:
        rep = svc.kpi_report(store, settings=settings(), year=year)
    click.echo(json.dumps(rep["summary"], ensure_ascii=False, indent=1))


def _when(raw: str | None) -> dt.datetime:
    """The moment ``--now`` names (aware UTC): a time without an offset is read in the service's zone."""
    if not raw:
        return clock.now()
    try:
        t = dt.datetime.fromisoformat(raw.strip().replace("Z", "+00:00"))
    except ValueError:
        raise click.BadParameter(f"{raw!r} is not an ISO time such as 2025-03-01T09:00") from None
    if t.tzinfo is None:
        t = clock.at_local(t.date(), t.time(), zone_setting())
    return clock.utc(t)
