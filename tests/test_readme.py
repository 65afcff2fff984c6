"""README stays true: its settings and commands tables list exactly what the code has."""
from __future__ import annotations

import re
from pathlib import Path

import click

from gridmap import config
from gridmap.cli import main

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
    for name, cmd in group.commands.items():
        full = f"{prefix} {name}"
        if isinstance(cmd, click.Group):
            out |= _commands(cmd, full)
        else:
            out.add(full)
    return out


def test_commands_table_matches_code():
    documented = set(re.findall(r"^\| `(gridmap [a-z0-9 -]+?)`", _section("commands"), re.M))
    assert documented == _commands(main)
