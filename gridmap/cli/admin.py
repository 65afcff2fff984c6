"""``gridmap settings`` and ``gridmap migrate``: what the settings are, and the store's schema."""

from __future__ import annotations

import click

from gridmap import config
from gridmap.cli.context import cli_store
from gridmap.cli.errors import settings
from gridmap.store import redact_url


@click.command("settings")
def settings_cmd() -> None:
    """List every setting, its environment variable, current value and meaning."""
    current = settings()
    for s in config.SETTINGS:
        value = current[s.name]
        if s.name == "SECRET_KEY" and value:
            value = "****"
        if s.name == "DATABASE_URL":
            value = redact_url(str(value))
        click.echo(f"{s.env}={value}\n    {s.help}")


@click.command()
def migrate() -> None:
    """Create or upgrade the store's schema to the newest revision."""
    with cli_store() as store:
        click.echo(f"schema at revision {store.schema_revision()} ({redact_url(store.url)})")
