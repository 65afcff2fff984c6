"""CLI group ``gridmap complaints``: automatic 督办 (run it from cron), demo requests, KPIs."""
from __future__ import annotations

import datetime as dt
import json

import click

from gridmap import config


@click.group("complaints")
def complaints() -> None:
    """民意诉求 Residents' requests: escalate overdue ones, generate demo requests, print KPIs."""


@complaints.command("escalate")
@click.option("--now", default=None, help="Check as of this ISO time (default: now).")
def escalate_cmd(now: str | None) -> None:
    """Supervise every overdue open request (grid leader → community → street); run it e.g. hourly."""
    from gridmap.cli.main import open_cli_store
    from gridmap.errors import GridmapError
    from gridmap.services import complaints as svc

    at = _when(now)
    store = open_cli_store()
    try:
        out = svc.escalate_overdue(store, settings=config.load(), now=at)
    except GridmapError as exc:
        raise click.ClickException(exc.message) from None
    click.echo(json.dumps(out, ensure_ascii=False))


@complaints.command("synth")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the generator.")
@click.option("--now", default=None, help="Generate up to this ISO time (default: today 00:00).")
def synth_cmd(seed: int, now: str | None) -> None:
    """Replace the store's requests with generated ones (two full years and this year) for its buildings."""
    from gridmap.cli.main import open_cli_store
    from gridmap.services.complaints import policy_from
    from gridmap.synth.complaints import load

    store = open_cli_store()
    policy = policy_from(config.load())
    click.echo(json.dumps(load(store, seed=seed, now=_when(now) if now else None, policy=policy)))


@complaints.command("kpi")
@click.option("--year", type=int, default=None, help="Year (default: the latest complete year).")
def kpi_cmd(year: int | None) -> None:
    """Print the district's headline figures for a year as JSON."""
    from gridmap.cli.main import open_cli_store
    from gridmap.services import complaints as svc

    rep = svc.kpi_report(open_cli_store(), settings=config.load(), year=year)
    click.echo(json.dumps(rep["summary"], ensure_ascii=False, indent=1))


def _when(raw: str | None) -> dt.datetime:
    if not raw:
        return dt.datetime.now().replace(microsecond=0)
    try:
        return dt.datetime.fromisoformat(raw)
    except ValueError:
        raise click.BadParameter(f"{raw!r} is not an ISO time such as 2025-03-01T09:00") from None
