"""Long commands show progress on a terminal and stay quiet in a pipe (issue #16); and what
`gridmap synth --out` writes imports cleanly with `gridmap import`, layer by layer (demo scale)."""

from __future__ import annotations

import os
import pty
import select
import subprocess
import sys
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
from click.testing import CliRunner

from gridmap.cli.main import main
from gridmap.services.demo import WRITE_ORDER
from gridmap.services.importing import IMPORTABLE
from gridmap.store import open_store

ROOT = Path(__file__).resolve().parents[1]


def _env(tmp_path: Path) -> dict[str, str]:
    return {
        **os.environ,
        "GRIDMAP_DATABASE_URL": f"sqlite:///{tmp_path / 'p.db'}",
        "PYTHONPATH": str(ROOT),
        "COLUMNS": "100",
    }


def _on_a_terminal(args: list[str], tmp_path: Path) -> tuple[int, str]:
    """Run ``gridmap ARGS`` with stderr on a pseudo-terminal; its exit code and what the terminal showed."""
    leader, follower = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "gridmap", *args],
        env=_env(tmp_path),
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=follower,
        stdin=subprocess.DEVNULL,
    )
    os.close(follower)
    shown = b""
    while True:
        ready, _, _ = select.select([leader], [], [], 1.0)
        if ready:
            try:
                chunk = os.read(leader, 65536)
            except OSError:  # the child closed the terminal
                break
            if not chunk:
                break
            shown += chunk
        elif proc.poll() is not None:
            break
    os.close(leader)
    return proc.wait(timeout=600), shown.decode("utf-8", "replace")


def _in_a_pipe(args: list[str], tmp_path: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "gridmap", *args],
        env=_env(tmp_path),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=600,
    )


def test_progress_shows_on_a_terminal_and_not_in_a_pipe(tmp_path):
    code, shown = _on_a_terminal(["synth", "--out", str(tmp_path / "a")], tmp_path)
    assert code == 0, shown
    assert "synth: 100%" in shown and "write: 100%" in shown and "|" in shown, shown
    assert "12/12" in shown  # the layers written, counted as they go

    piped = _in_a_pipe(["synth", "--out", str(tmp_path / "b")], tmp_path)
    assert piped.returncode == 0, piped.stderr
    assert "%|" not in piped.stderr and "synth:" not in piped.stderr
    assert "buildings: 3264" in piped.stdout.replace("  ", "")  # the summary still goes to stdout

    quiet = _on_a_terminal(["synth", "--no-progress", "--out", str(tmp_path / "c")], tmp_path)
    assert quiet[0] == 0 and "%|" not in quiet[1] and "synth:" not in quiet[1]


@pytest.mark.parametrize(
    "command",
    [
        "grids generate",
        "demo",
        "synth",
        "plan rebalance",
        "complaints synth",
        "import",
        "place",
        "dask grids",
        "dask place",
    ],
)
def test_every_long_command_has_the_progress_switch(command):
    res = CliRunner().invoke(main, [*command.split(), "--help"])
    assert res.exit_code == 0 and "--progress / --no-progress" in res.output, res.output


def test_the_synthetic_world_imports_cleanly_layer_by_layer(tmp_path, monkeypatch):
    out = tmp_path / "world"
    monkeypatch.setenv("GRIDMAP_DATABASE_URL", f"sqlite:///{tmp_path / 'imported.db'}")
    runner = CliRunner()
    res = runner.invoke(main, ["synth", "--scale", "demo", "--out", str(out), "--format", "geojson"])
    assert res.exit_code == 0, res.output
    imported = []
    for layer in WRITE_ORDER:
        files = [p for p in (out / f"{layer}.geojson", out / f"{layer}.csv") if p.exists()]
        if not files:
            continue
        assert layer in IMPORTABLE
        res = runner.invoke(main, ["import", layer, str(files[0])])
        assert res.exit_code == 0, f"{layer}: {res.output}"
        assert "0 errors" in res.output and "rows rejected" in res.output and "NOTHING WRITTEN" not in res.output
        imported.append(layer)
    assert {"communities", "buildings", "households", "stewards", "party_members"} <= set(imported)
    store = open_store(f"sqlite:///{tmp_path / 'imported.db'}")
    try:
        for layer in imported:
            path = next(p for p in (out / f"{layer}.geojson", out / f"{layer}.csv") if p.exists())
            n = len(gpd.read_file(path)) if path.suffix == ".geojson" else len(pd.read_csv(path))
            assert store.count(layer) == n, layer
    finally:
        store.close()
