"""The code passes its linters: ``ruff check`` and ``ruff format --check`` over gridmap/, tests/, bench/ and scripts/,
and ``mypy`` over the gridmap package (settings in pyproject.toml: ``[tool.ruff]``, ``[tool.mypy]``).

A failure prints the findings; ``ruff check --fix`` and ``ruff format`` mend most of what ruff finds.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from mypy import api as mypy_api

ROOT = Path(__file__).resolve().parent.parent
FOLDERS = ["gridmap", "tests", "bench", "scripts"]


def _ruff(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ruff", *args, *FOLDERS],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_ruff_check_is_clean():
    res = _ruff("check", "--no-cache", "--output-format", "concise")
    if res.returncode != 0:
        pytest.fail(f"ruff check found:\n{res.stdout}{res.stderr}", pytrace=False)


def test_ruff_format_is_clean():
    res = _ruff("format", "--check", "--no-cache")
    if res.returncode != 0:
        pytest.fail(f"ruff format would change:\n{res.stdout}{res.stderr}", pytrace=False)


@pytest.mark.slow
def test_mypy_is_clean(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.chdir(ROOT)  # mypy finds the package (``packages`` in pyproject.toml) from here
    stdout, stderr, status = mypy_api.run(
        ["--config-file", str(ROOT / "pyproject.toml"), "--cache-dir", str(ROOT / ".mypy_cache")]
    )
    if status != 0:
        pytest.fail(f"mypy found:\n{stdout}{stderr}", pytrace=False)
