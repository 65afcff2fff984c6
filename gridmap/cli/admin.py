"""``gridmap settings`` and ``gridmap migrate``: what the settings are, and the store's schema."""

from __future__ import annotations

import datetime as dt
import os

import click

from gridmap import config, instance
from gridmap.cli.context import cli_store
from gridmap.cli.errors import settings
from gridmap.errors import ConfigError
from gridmap.store import backup as backups
from gridmap.store import redact_url


@click.command("settings")
@click.option(
    "--check", is_flag=True, help="Only check every GRIDMAP_* variable: list the problems, exit 1 when there are any."
)
def settings_cmd(check: bool) -> None:
    """List every setting, its environment variable, current value and meaning."""
    if check:
        bad, strange = config.problems(), config.unknown()
        for line in strange:
            click.echo(f"warning: {line}", err=True)
        for line in bad:
            click.echo(f"error: {line}", err=True)
        if bad or strange:
            raise ConfigError(f"{len(bad)} bad and {len(strange)} unknown GRIDMAP_* variable(s)")
        click.echo(f"all {sum(s.env in os.environ for s in config.SETTINGS)} GRIDMAP_* variables set are valid")
        return
    current = settings()
    for s in config.SETTINGS:
        value = current[s.name]
        if s.name == "SECRET_KEY" and value:
            value = "****"
        if s.name == "DATABASE_URL":
            value = redact_url(str(value))
        click.echo(f"{s.env}={value}\n    {s.help}")


@click.command("init")
@click.option("--rotate", is_flag=True, help="Make a new secret key; the old one keeps verifying for --grace-days.")
@click.option("--grace-days", default=7.0, show_default=True, type=click.FloatRange(0, 365), help="Grace period.")
@click.option(
    "--rotate-links",
    is_flag=True,
    help="Make a new key for residents' status links: links given out before stop opening (the finder still works).",
)
def init_cmd(rotate: bool, grace_days: float, rotate_links: bool) -> None:
    """Set up a store: its schema, and a random secret key written once into the instance file (mode 0600)."""
    current = settings()
    path = instance.path_for(current)
    if rotate_links:
        instance.rotate_links(path)
        click.echo(f"new status-link key in {path}; links given out before no longer open their page")
    if rotate:
        data = instance.rotate(path, grace=dt.timedelta(days=grace_days))
        click.echo(f"new secret key in {path}; the old one verifies until {data['fallbacks'][-1]['until']}")
    elif not rotate_links:
        _, created = instance.ensure(path)
        click.echo(f"secret key {'written to' if created else 'already in'} {path} (mode 0600; keep it with backups)")
    if current.get("SECRET_KEY"):
        click.echo("note: GRIDMAP_SECRET_KEY is set and takes precedence over the instance file", err=True)
    with cli_store() as store:
        click.echo(f"schema at revision {store.schema_revision()} ({redact_url(store.url)})")


@click.command()
@click.argument("file", type=click.Path(dir_okay=False))
def backup(file: str) -> None:
    """Back up the store into FILE while it runs (SQLite: a database file; PostGIS: pg_dump custom format)."""
    out = backups.backup(settings()["DATABASE_URL"], file)
    click.echo(f"{out['kind']} backup at schema revision {out['revision']} written to {file}")


@click.command()
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--yes", is_flag=True, help="Do not ask before replacing the store's content.")
def restore(file: str, yes: bool) -> None:
    """Replace the store's content with the backup in FILE (stop the server first); an older schema is upgraded."""
    url = settings()["DATABASE_URL"]
    if not yes:
        click.confirm(f"replace everything in {redact_url(url)} with {file}?", abort=True)
    out = backups.restore(file, url)
    click.echo(f"restored {out['kind']} backup at revision {out['revision']}; schema now at {out['upgraded_to']}")


@click.command()
def migrate() -> None:
    """Create or upgrade the store's schema to the newest revision."""
    with cli_store() as store:
        click.echo(f"schema at revision {store.schema_revision()} ({redact_url(store.url)})")
