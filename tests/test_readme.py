"""README stays true: its settings and commands tables list exactly what the code has."""

from __future__ import annotations

import re
from pathlib import Path

import click

from gridmap import config
from gridmap.cli.main import main

README = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")


def _section(name: str) -> str:
    m = re.search(rf"<!-- {name}:begin -->(.*?)<!-- {name}:end -->", README, re.S)
    assert m, f"README has no {name} section"
    return m.group(1)


def test_settings_table_matches_code():
    documented = set(re.findall(r"`(GRIDMAP_[A-Z0-9_]+)`", _section("settings")))
    assert documented == {s.env for s in config.SETTINGS}


def _commands(group: click.Group, prefix: str = "gridmap") -> set[str]:
    out = set()
    ctx = click.Context(group)
    for name in group.list_commands(ctx):  # the public listing: gridmap's group loads commands lazily
        cmd = group.get_command(ctx, name)
        full = f"{prefix} {name}"
        if isinstance(cmd, click.Group):
            out |= _commands(cmd, full)
        else:
            out.add(full)
    return out


def test_commands_table_matches_code():
    documented = set(re.findall(r"^\| `(gridmap [a-z0-9 -]+?)`", _section("commands"), re.M))
    assert documented == _commands(main)


def _app_routes() -> set[tuple[str, str, str]]:
    """(methods, path, lowest role) of every route of the app, from its url_map and access rules."""
    from gridmap.web import create_app

    settings = config.load()
    settings["DATABASE_URL"] = "sqlite://"  # in memory: the route table needs no data
    app = create_app(settings)
    grouped: dict[tuple[str, str], list[str]] = {}
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static":
            continue
        role = getattr(app.view_functions[rule.endpoint], "_gridmap_lowest", "?")
        grouped.setdefault((rule.rule, role), []).extend(sorted(rule.methods - {"HEAD", "OPTIONS"}))
    return {(", ".join(sorted(ms)), path, role) for (path, role), ms in grouped.items()}


def test_api_table_matches_the_route_table():
    documented = {
        (m.group(1), m.group(2), m.group(3))
        for m in re.finditer(r"^\| ([A-Z, ]+) \| `([^`]+)` \| ([a-z_?]+) \|", _section("api"), re.M)
    }
    routes = _app_routes()
    assert not routes - documented, (
        "routes missing from README's API table (add a row: method, path, "
        f"lowest role, what): {sorted(routes - documented)}"
    )
    assert not documented - routes, f"README's API table lists routes the app lacks: {sorted(documented - routes)}"
