"""``gridmap serve`` and ``gridmap demo``: the web app under waitress, and the Chengyang demo behind it."""

from __future__ import annotations

import secrets

import click

from gridmap import instance
from gridmap.cli.context import cli_store
from gridmap.cli.errors import settings
from gridmap.cli.progress import bar, progress_option
from gridmap.domain.credentials import BadPassword, check_password_policy
from gridmap.errors import ConfigError
from gridmap.services.demo import demo_accounts, load_demo
from gridmap.web import create_app
from gridmap.web.server import make_server


@click.command()
@click.option("--host", default=None, help="Address to listen on (default GRIDMAP_HOST, 127.0.0.1).")
@click.option("--port", default=None, type=int, help="Port (default GRIDMAP_PORT, 5000).")
@click.option("--threads", default=None, type=int, help="Worker threads (default GRIDMAP_THREADS, 8).")
@click.option("--debug", is_flag=True, help="Flask's development server in debug mode (never in production).")
def serve(host: str | None, port: int | None, threads: int | None, debug: bool) -> None:
    """Serve the web app and API with waitress (a production WSGI server; --debug: Flask's own)."""
    current = settings()
    if instance.keyring(current) is None and not debug:
        raise ConfigError(
            "no secret key: set GRIDMAP_SECRET_KEY, or run `gridmap init` to write one into "
            f"{instance.path_for(current)} (sessions and embed tokens must survive restarts)"
        )
    app = create_app()
    host, port = host or current["HOST"], port or current["PORT"]
    if debug:
        app.run(host=host, port=port, debug=True, use_reloader=False, threaded=True)
        return
    click.echo(
        f"gridmap serving {current['DATABASE_URL'].split('://', 1)[0]} store at http://{host}:{port}/ "
        f"({threads or current['THREADS']} threads; Ctrl+C stops)",
        err=True,
    )
    make_server(
        app,
        host=host,
        port=port,
        threads=threads or current["THREADS"],
        max_request_body_size=current["MAX_CONTENT_LENGTH"] + 65536,
    ).run()


@click.command()
@click.option("--seed", default=0, show_default=True, help="Seed of the synthetic world.")
@click.option("--no-serve", is_flag=True, help="Only load the demo into the store, do not serve it.")
@click.option(
    "--fresh/--keep", default=True, show_default=True, help="Empty the store first (--keep loads into what is there)."
)
@click.option("--host", default=None, help="Address to listen on.")
@click.option("--port", default=None, type=int, help="Port to listen on.")
@click.option(
    "--password",
    default=None,
    envvar="GRIDMAP_DEMO_PASSWORD",
    show_envvar=True,
    help="Password of the demo accounts (default: a new random one, printed).",
)
@click.option(
    "--accounts/--no-accounts",
    default=True,
    show_default=True,
    help="Create one sign-in account per role (admin, planner, street, community, gridleader, chengguan, viewer).",
)
@progress_option
def demo(
    seed: int,
    no_serve: bool,
    fresh: bool,
    host: str | None,
    port: int | None,
    password: str | None,
    accounts: bool,
    progress: bool | None,
) -> None:
    """Load the Chengyang demo (real street boundaries, synthetic estates) and serve it."""
    if accounts and password is not None:
        try:
            check_password_policy(password)
        except BadPassword as exc:
            raise BadPassword(f"--password: {exc.message}") from None
    path = instance.path_for(settings())
    if not settings().get("SECRET_KEY"):
        _, created = instance.ensure(path)
        click.echo(f"secret key {'written to' if created else 'read from'} {path}", err=True)
    with cli_store() as store:
        with bar(progress, "demo", unit="step") as report:
            summary = load_demo(store, seed=seed, fresh=fresh, progress=report)
        for layer, n in summary.items():
            click.echo(f"{layer:>20}: {n}")
        if accounts:
            password = password or secrets.token_urlsafe(9)
            made = demo_accounts(store, password=password)
            click.echo(f"\ndemo accounts (password for all: {password}):")
            for acc in made:
                scope = "; ".join(f"{k}={','.join(v)}" for k, v in acc["scope"].items()) or "all"
                click.echo(f"  {acc['username']:<11} {acc['role']:<19} {scope}")
    if not no_serve:
        click.get_current_context().invoke(serve, host=host, port=port, threads=None, debug=False)
