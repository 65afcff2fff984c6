"""``gridmap users …`` and ``gridmap embed …``: accounts, API tokens and embed tokens from the shell."""

from __future__ import annotations

import json

import click

from gridmap import instance
from gridmap.cli.context import cli_store
from gridmap.cli.errors import settings
from gridmap.domain import credentials as auth
from gridmap.domain.values import json_value
from gridmap.errors import ConfigError, GridmapError
from gridmap.services import accounts


def _run(fn, *args, **kwargs):
    """``fn(store, …)`` with the store open."""
    with cli_store() as store:
        return fn(store, *args, **kwargs)


def _password(value: str | None, prompt: bool) -> str | None:
    if value is None and prompt:
        return click.prompt("密码 / password", hide_input=True, confirmation_prompt=True)
    return value


@click.group("users")
def users() -> None:
    """Accounts and their API tokens (roles: admin, planner, street_official, community_official,
    grid_leader, department, viewer)."""


@users.command("add")
@click.argument("username")
@click.option("--role", required=True, type=click.Choice(auth.ACCOUNT_ROLES))
@click.option(
    "--scope",
    "scope",
    multiple=True,
    metavar="KEY=ID,ID",
    help="grids=<15-digit codes>, communities=<12-digit ids>, streets=<9-digit ids>, departments=<names>; repeatable.",
)
@click.option("--name", "display_name", default=None, help="Display name.")
@click.option(
    "--password",
    default=None,
    help="Password (prompted when omitted; read GRIDMAP_PASSWORD).",
    envvar="GRIDMAP_PASSWORD",
)
@click.option("--no-password", is_flag=True, help="Create an account that signs in only with API tokens.")
def add(
    username: str, role: str, scope: tuple[str, ...], display_name: str | None, password: str | None, no_password: bool
) -> None:
    """Create an account."""
    try:
        scope_map = auth.parse_scope_args(scope)
    except GridmapError as exc:
        raise click.UsageError(exc.message) from None
    password = None if no_password else _password(password, True)
    user = _run(
        accounts.add_user, username=username, role=role, password=password, scope=scope_map, display_name=display_name
    )
    click.echo(f"added {user['username']} ({user['role']}) {json.dumps(user['scope'], ensure_ascii=False)}")


@users.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def list_(as_json: bool) -> None:
    """List accounts (never their password hashes)."""
    rows = _run(accounts.list_users)
    if as_json:
        click.echo(json.dumps(rows, ensure_ascii=False, default=json_value, indent=1))
        return
    for u in rows:
        state = "active" if u.get("active") is not False else "disabled"
        click.echo(
            f"{u['username']:<20} {u['role']:<19} {state:<8} {json.dumps(u.get('scope') or {}, ensure_ascii=False)}"
        )


@users.command("passwd")
@click.argument("username")
@click.option("--password", default=None, help="New password (prompted when omitted).", envvar="GRIDMAP_PASSWORD")
def passwd(username: str, password: str | None) -> None:
    """Set a new password (also unlocks the account)."""
    _run(accounts.set_password, username, _password(password, True))
    click.echo(f"password of {username} changed")


@users.command("role")
@click.argument("username")
@click.option("--role", default=None, type=click.Choice(auth.ACCOUNT_ROLES), help="New role (default: unchanged).")
@click.option(
    "--scope",
    "scope",
    multiple=True,
    metavar="KEY=ID,ID",
    help="New scope, as for `users add` (default: unchanged); repeatable.",
)
def role_cmd(username: str, role: str | None, scope: tuple[str, ...]) -> None:
    """Change an account's role and/or scope; its open sessions end at once."""
    if role is None and not scope:
        raise click.UsageError("give --role, --scope or both")
    try:
        scope_map = auth.parse_scope_args(scope) if scope else None
    except GridmapError as exc:
        raise click.UsageError(exc.message) from None
    user = _run(accounts.set_role, username, role=role, scope=scope_map)
    click.echo(f"{user['username']} is now {user['role']} {json.dumps(user['scope'], ensure_ascii=False)}")


@users.command("disable")
@click.argument("username")
@click.option("--enable", is_flag=True, help="Enable the account again instead.")
def disable(username: str, enable: bool) -> None:
    """Disable an account and revoke its API tokens (or --enable it)."""
    _run(accounts.set_active, username, enable)
    click.echo(f"{username} {'enabled' if enable else 'disabled'}")


@users.command("token")
@click.argument("username")
@click.option("--name", default=None, help="What the token is for.")
@click.option("--days", default=90, show_default=True, type=click.IntRange(1, 366), help="Valid for this many days.")
@click.option("--revoke", "revoke_id", default=None, metavar="TOKEN_ID", help="Revoke this token instead.")
def token(username: str, name: str | None, days: int, revoke_id: str | None) -> None:
    """Issue a bearer API token (printed once; only its hash is stored), or --revoke one."""
    if revoke_id:
        _run(accounts.revoke_api_token, revoke_id)
        click.echo(f"revoked {revoke_id}")
        return
    token_id, secret = _run(accounts.issue_api_token, username, name=name, days=days)
    click.echo(f"{token_id}\t{secret}")
    click.echo("只显示一次 / shown once: Authorization: Bearer <token>", err=True)


@click.group("embed")
def embed() -> None:
    """Signed, expiring, revocable embed tokens for iframes."""


@embed.command("issue")
@click.option("--view", default="map", show_default=True, type=click.Choice(auth.EMBED_VIEWS))
@click.option("--grid", "grids", multiple=True, help="Grid/community/street code prefix; repeatable (none: all).")
@click.option("--layer", "layers", multiple=True, help="Layer shown; repeatable (none: the view's default).")
@click.option("--hours", default=24 * 30, show_default=True, type=float, help="Valid for this many hours.")
@click.option("--by", "actor", default="cli", show_default=True, help="Who issues it (for the audit log).")
def embed_issue(view: str, grids: tuple[str, ...], layers: tuple[str, ...], hours: float, actor: str) -> None:
    """Issue an embed token and print its id and token."""
    ring = instance.keyring(settings())
    if ring is None:
        raise ConfigError(
            "no secret key: set GRIDMAP_SECRET_KEY or run `gridmap init` (embed tokens are signed with the key "
            "the server uses)"
        )
    out = _run(accounts.issue_embed, ring.current, view=view, grids=grids, layers=layers, hours=hours, actor=actor)
    click.echo(f"{out['id']}\t{out['token']}\t(expires {out['expires_at']})")


@embed.command("list")
def embed_list() -> None:
    """List embed tokens (ids, views, scope, expiry, revoked)."""
    for e in _run(accounts.list_embeds):
        click.echo(
            f"{e['id']}\t{e['view']}\t{json.dumps(e.get('scope'), ensure_ascii=False)}\t"
            f"{e['expires_at']}\t{'revoked' if e.get('revoked') else 'valid'}"
        )


@embed.command("revoke")
@click.argument("token_id")
def embed_revoke(token_id: str) -> None:
    """Revoke an embed token: pages using it stop loading at once."""
    _run(accounts.revoke_embed, token_id)
    click.echo(f"revoked {token_id}")
