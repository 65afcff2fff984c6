"""The ``gridmap`` command: a click group; command modules register themselves through :data:`COMMANDS`.

Exit codes: 0 ok, 1 failed (the reason on stderr), 2 usage error.
"""
from __future__ import annotations

import os
import sys
from importlib import import_module

import click

from gridmap import __version__, config
from gridmap.store import redact_url

#: extra commands or groups, as "module:attribute"; a module that is not importable is skipped with a warning
COMMANDS: list[str] = [
    "gridmap.cli.grids:grids",
    "gridmap.cli.plan:plan",
    "gridmap.cli.data:import_cmd",
    "gridmap.cli.data:synth",
    "gridmap.cli.data:taipei",
    "gridmap.cli.users:users",
    "gridmap.cli.users:embed",
    "gridmap.cli.placement:place",
    "gridmap.cli.placement:coverage",
    "gridmap.cli.complaints:complaints",
    "gridmap.cli.dask:dask_group",
]


def store_url() -> str:
    return config.load()["DATABASE_URL"]


def open_cli_store():
    """The store named by GRIDMAP_DATABASE_URL, or a clean click error saying why it cannot be opened."""
    from gridmap.store import StoreError, open_store

    url = store_url()
    try:
        return open_store(url)
    except StoreError as exc:
        raise click.ClickException(str(exc)) from None
    except Exception as exc:  # driver errors: unreachable server, bad path …
        raise click.ClickException(f"cannot open the store at {redact_url(url)}: {exc}") from None


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="gridmap")
def main() -> None:
    """gridmap — 网格化治理: governance grids, red stewards, residents' complaints and maps.

    The store is chosen by GRIDMAP_DATABASE_URL (default sqlite:///gridmap.db).
    """


@main.command()
@click.option("--host", default=None, help="Address to listen on (default GRIDMAP_HOST, 127.0.0.1).")
@click.option("--port", default=None, type=int, help="Port (default GRIDMAP_PORT, 5000).")
@click.option("--threads", default=None, type=int, help="Worker threads (default GRIDMAP_THREADS, 8).")
@click.option("--debug", is_flag=True, help="Flask's development server in debug mode (never in production).")
def serve(host: str | None, port: int | None, threads: int | None, debug: bool) -> None:
    """Serve the web app and API with waitress (a production WSGI server; --debug: Flask's own)."""
    from gridmap.web import create_app

    settings = config.load()
    app = create_app()
    host, port = host or settings["HOST"], port or settings["PORT"]
    if debug:
        app.run(host=host, port=port, debug=True, use_reloader=False, threaded=True)
        return
    from waitress import serve as waitress_serve

    click.echo(f"gridmap serving {settings['DATABASE_URL'].split('://', 1)[0]} store at http://{host}:{port}/ "
               f"({threads or settings['THREADS']} threads; Ctrl+C stops)", err=True)
    waitress_serve(app, host=host, port=port, threads=threads or settings["THREADS"], ident="gridmap",
                   max_request_body_size=settings["MAX_CONTENT_LENGTH"] + 65536)


@main.command()
@click.option("--seed", default=0, show_default=True, help="Seed of the synthetic world.")
@click.option("--no-serve", is_flag=True, help="Only load the demo into the store, do not serve it.")
@click.option("--fresh/--keep", default=True, show_default=True,
              help="Empty the store first (--keep loads into what is there).")
@click.option("--host", default=None, help="Address to listen on.")
@click.option("--port", default=None, type=int, help="Port to listen on.")
@click.option("--password", default=None, envvar="GRIDMAP_DEMO_PASSWORD", show_envvar=True,
              help="Password of the demo accounts (default: a new random one, printed).")
@click.option("--accounts/--no-accounts", default=True, show_default=True,
              help="Create one sign-in account per role (admin, planner, street, community, gridleader, "
                   "chengguan, viewer).")
def demo(seed: int, no_serve: bool, fresh: bool, host: str | None, port: int | None, password: str | None,
         accounts: bool) -> None:
    """Load the Chengyang demo (real street boundaries, synthetic estates) and serve it."""
    import secrets

    from gridmap.services.demo import demo_accounts, load_demo
    from gridmap.errors import GridmapError

    if accounts and password is not None:
        from gridmap.domain.credentials import check_password_policy

        try:
            check_password_policy(password)
        except GridmapError as exc:
            raise click.ClickException(f"--password: {exc}") from None
    store = open_cli_store()
    summary = load_demo(store, seed=seed, fresh=fresh)
    for layer, n in summary.items():
        click.echo(f"{layer:>20}: {n}")
    if accounts:
        password = password or secrets.token_urlsafe(9)
        try:
            made = demo_accounts(store, password=password)
        except GridmapError as exc:
            store.close()
            raise click.ClickException(f"demo accounts: {exc}") from None
        click.echo(f"\ndemo accounts (password for all: {password}):")
        for acc in made:
            scope = "; ".join(f"{k}={','.join(v)}" for k, v in acc["scope"].items()) or "all"
            click.echo(f"  {acc['username']:<11} {acc['role']:<19} {scope}")
    store.close()
    if not no_serve:
        ctx = click.get_current_context()
        ctx.invoke(serve, host=host, port=port, threads=None, debug=False)


@main.command("settings")
def settings_cmd() -> None:
    """List every setting, its environment variable, current value and meaning."""
    current = config.load()
    for s in config.SETTINGS:
        value = current[s.name]
        if s.name == "SECRET_KEY" and value:
            value = "****"
        if s.name == "DATABASE_URL":
            value = redact_url(str(value))
        click.echo(f"{s.env}={value}\n    {s.help}")


@main.command()
def migrate() -> None:
    """Create or upgrade the store's schema to the newest revision."""
    store = open_cli_store()
    click.echo(f"schema at revision {store.schema_revision()} ({redact_url(store.url)})")
    store.close()


def _register() -> None:
    for target in COMMANDS:
        module, attr = target.split(":")
        try:
            cmd = getattr(import_module(module), attr)
        except ImportError as exc:  # pragma: no cover - a broken optional module must not kill the CLI
            print(f"gridmap: warning: command {target} unavailable: {exc}", file=sys.stderr)
            continue
        main.add_command(cmd)


_register()
