"""The command line's one error handler and its lazy command registry (gridmap.cli.errors, gridmap.cli.main)."""

from __future__ import annotations

import json
import subprocess
import sys

import click
import pytest
from click.testing import CliRunner

from gridmap.cli.main import COMMANDS, load_command, main


@pytest.fixture
def run(tmp_path):
    url = f"sqlite:///{tmp_path / 'cli.db'}"

    def invoke(*args: str, env: dict | None = None):
        return CliRunner().invoke(main, list(args), env={"GRIDMAP_DATABASE_URL": url, **(env or {})})

    return invoke


def _one_line_failure(res, *needles: str) -> str:
    assert res.exit_code == 1, res.output
    assert "Traceback" not in res.output and "Traceback" not in res.stderr and res.exception is not None
    assert isinstance(res.exception, SystemExit)  # click's clean exit, not an escaped exception
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), res.stderr
    for needle in needles:
        assert needle in lines[0]
    return lines[0]


def test_a_users_mistakes_are_one_line_on_stderr_and_exit_1(run, tmp_path):
    _one_line_failure(run("grids", "report", "no-such-plan"), "no plan 'no-such-plan'")
    _one_line_failure(run("plan", "export", "no-such-plan", str(tmp_path / "p.gpkg")), "no-such-plan")
    garbage = tmp_path / "households.geojson"
    garbage.write_text("{not json", encoding="utf-8")
    _one_line_failure(run("place", "households", str(garbage)), "cannot read")
    _one_line_failure(run("coverage", env={"GRIDMAP_MAX_HOUSEHOLDS": "many"}), "GRIDMAP_MAX_HOUSEHOLDS='many'")


def test_a_conflict_with_the_store_exits_1(run):
    assert run("users", "add", "li", "--role", "planner", "--no-password").exit_code == 0
    _one_line_failure(run("users", "add", "li", "--role", "planner", "--no-password"), "exists")
    listed = json.loads(run("users", "list", "--json").output)
    assert [u["username"] for u in listed] == ["li"]  # the second add wrote nothing


def test_an_unreachable_database_exits_1_without_its_password(run):
    line = _one_line_failure(
        run("plan", "list", env={"GRIDMAP_DATABASE_URL": "postgresql+psycopg://gridmap:s3cret-pw@127.0.0.1:1/nowhere"}),
        "cannot open the store",
        "127.0.0.1:1",
    )
    assert "s3cret-pw" not in line


def test_usage_errors_exit_2(run):
    assert run("grids", "generate", "--min", "500", "--max", "300").exit_code == 2
    assert run("plan", "no-such-subcommand").exit_code == 2
    assert run("no-such-command").exit_code == 2


def test_an_unwritable_output_path_is_a_users_mistake(run, tmp_path):
    records = tmp_path / "households.csv"
    records.write_text("id,lon,lat\nh1,120.4,36.3\n", encoding="utf-8")
    res = run("place", "households", str(records), "--report", str(records / "report.csv"))  # a file, not a dir
    assert res.exit_code == 1 and "Traceback" not in res.output + res.stderr
    assert res.stderr.strip().splitlines()[-1].startswith("Error: ") and isinstance(res.exception, SystemExit)


def test_help_lists_every_command_without_importing_them():
    code = (
        "import sys\nfrom gridmap.cli.main import main\ntry:\n    main(['--help'])\nexcept SystemExit:\n"
        "    pass\nprint('LOADED', sorted(m for m in sys.modules if m.startswith(('gridmap.services', "
        "'gridmap.web', 'gridmap.store', 'pandas'))))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert "LOADED []" in out
    listed = out.split("Commands:")[1]
    for name in COMMANDS:
        assert f"\n  {name} " in listed


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_registry_summaries_are_the_commands_own(name):
    cmd = load_command(name)
    assert isinstance(cmd, click.Command) and cmd.name == name
    assert cmd.get_short_help_str(limit=1000) == COMMANDS[name][1]
