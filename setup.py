"""Packaging hook: ship the repository's ``geodata/`` and ``templates/`` inside the wheel.

They live at the repository root (one copy for a checkout); ``build_py`` copies them into
``gridmap/_data/`` of the build, where :func:`gridmap.resources.resource_path` finds them once installed.
Everything else is declared in ``pyproject.toml``.
"""
from __future__ import annotations

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

ROOT = Path(__file__).resolve().parent
SHIPPED = ("geodata", "templates")


class BuildPyWithData(build_py):
    def run(self) -> None:
        super().run()
        for name in SHIPPED:
            src = ROOT / name
            if src.is_dir():
                dst = Path(self.build_lib) / "gridmap" / "_data" / name
                shutil.rmtree(dst, ignore_errors=True)
                shutil.copytree(src, dst, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))


setup(cmdclass={"build_py": BuildPyWithData})
