"""The ``gridmap`` command: a click group whose commands live in the modules listed in :data:`COMMANDS`.

A command's module is imported only when that command runs (or its own ``--help`` is asked for), so
``gridmap --help`` stays quick. Every command runs inside :func:`gridmap.cli.errors.user_errors`:
exit codes 0 ok, 1 failed (the reason on stderr, one line), 2 usage error.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

import click

from gridmap import __version__, config, logs
from gridmap.cli.errors import user_errors
from gridmap.errors import ConfigError

#: command name → ("module:attribute", its one-line summary for ``gridmap --help``); tests/test_readme.py
#: checks each summary against the command's own help
COMMANDS: dict[str, tuple[str, str]] = {
    "serve": (
        "gridmap.cli.server:serve",
        "Serve the web app and API with waitress (a production WSGI server; --debug: Flask's own).",
    ),
    "demo": (
        "gridmap.cli.server:demo",
        "Load the Chengyang demo (real street boundaries, synthetic estates) and serve it.",
    ),
    "settings": (
        "gridmap.cli.admin:settings_cmd",
        "List every setting, its environment variable, current value and meaning.",
    ),
    "migrate": ("gridmap.cli.admin:migrate", "Create or upgrade the store's schema to the newest revision."),
    "init": (
        "gridmap.cli.admin:init_cmd",
        "Set up a store: its schema, and a random secret key written once into the instance file (mode 0600).",
    ),
    "backup": (
        "gridmap.cli.admin:backup",
        "Back up the store into FILE while it runs (SQLite: a database file; PostGIS: pg_dump custom format).",
    ),
    "restore": (
        "gridmap.cli.admin:restore",
        "Replace the store's content with the backup in FILE (stop the server first); an older schema is upgraded.",
    ),
    "grids": ("gridmap.cli.grids:grids", "网格生成与评估 Generate governance grids and evaluate plans."),
    "plan": ("gridmap.cli.plan:plan", "Grid plans: drafts, rebalance, diff, publish, rollback, export/import (方案)."),
    "import": (
        "gridmap.cli.data:import_cmd",
        "Import FILE (GeoJSON, GeoPackage, Shapefile or zipped Shapefile, GeoParquet, CSV with lon/lat or "
        "WKT) into LAYER, validating every row; all or nothing unless --skip-invalid.",
    ),
    "synth": (
        "gridmap.cli.data:synth",
        "Generate the seeded synthetic Chengyang world (real streets, synthetic estates, buildings, people).",
    ),
    "taipei": (
        "gridmap.cli.data:taipei",
        "Import the shipped real Taipei Wanhua set (real buildings inside real 里, used as communities) and "
        "report its real anomalies, such as buildings outside every 里 or straddling two.",
    ),
    "users": (
        "gridmap.cli.users:users",
        "Accounts and their API tokens (roles: admin, planner, street_official, community_official, "
        "grid_leader, department, viewer).",
    ),
    "embed": ("gridmap.cli.users:embed", "Signed, expiring, revocable embed tokens for iframes."),
    "place": (
        "gridmap.cli.placement:place",
        "Place KIND records from FILE (CSV with lon/lat, or GeoJSON/GeoPackage) on buildings.",
    ),
    "coverage": (
        "gridmap.cli.placement:coverage",
        "Steward coverage: buildings without a building leader, grids without a grid leader or "
        "party-member central household, households per steward, party members by role, red-property "
        "coverage vs targets.",
    ),
    "tiles": (
        "gridmap.cli.tiles:tiles",
        "Pre-fill the vector-tile cache: `tiles seed --zoom 11-15` (a progress bar on a terminal).",
    ),
    "complaints": (
        "gridmap.cli.complaints:complaints",
        "民意诉求 Residents' requests: escalate overdue ones, generate demo requests, print KPIs.",
    ),
    "dask": ("gridmap.cli.dask:dask_group", "在 Dask 集群上运行全市任务 Run city-wide jobs on a Dask cluster."),
}


#: command name → the pip extra that brings the optional packages it needs
EXTRAS = {"dask": "dask"}


def load_command(name: str) -> click.Command:
    """The command ``name`` of :data:`COMMANDS`, importing its module; :class:`ConfigError` when a package it
    needs is not installed."""
    module, attr = COMMANDS[name][0].split(":")
    try:
        return getattr(import_module(module), attr)
    except ModuleNotFoundError as exc:
        if (exc.name or "gridmap").split(".")[0] == "gridmap":
            raise
        hint = f": pip install 'gridmap[{EXTRAS[name]}]'" if name in EXTRAS else ""
        raise ConfigError(
            f"gridmap {name} needs the Python package {exc.name!r}, which is not installed{hint}"
        ) from None


class LazyGroup(click.Group):
    """A group listing :data:`COMMANDS` from their summaries and importing a command only to run it."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(set(super().list_commands(ctx)) | set(COMMANDS))

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in COMMANDS and cmd_name not in self.commands:
            self.add_command(load_command(cmd_name), cmd_name)
        return super().get_command(ctx, cmd_name)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        names = self.list_commands(ctx)
        limit = formatter.width - 6 - max(map(len, names))
        summaries = {name: summary for name, (_, summary) in COMMANDS.items()}
        rows = [
            (
                name,
                click.Command(name, help=summaries[name]).get_short_help_str(limit)
                if name in summaries
                else self.commands[name].get_short_help_str(limit),
            )
            for name in names
        ]
        with formatter.section("Commands"):
            formatter.write_dl(rows)

    def invoke(self, ctx: click.Context) -> Any:
        with user_errors():
            return super().invoke(ctx)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="gridmap")
@click.pass_context
def main(ctx: click.Context) -> None:
    """gridmap — 网格化治理: governance grids, red stewards, residents' complaints and maps.

    The store is chosen by GRIDMAP_DATABASE_URL (default sqlite:///gridmap.db).
    """
    if ctx.invoked_subcommand == "settings":  # `gridmap settings --check` reports the problems itself
        return
    start()


def start() -> None:
    """Every command's start: check every GRIDMAP_* variable once (a bad value stops the command, naming the
    variable; an unknown name is warned about with the nearest known one) and configure logging."""
    bad = config.problems()
    if bad:
        raise ConfigError("; ".join(bad))
    for line in config.unknown():
        click.echo(f"Warning: {line}", err=True)
    current = config.load()
    logs.configure(level=current["LOG_LEVEL"], fmt=current["LOG_FORMAT"])
