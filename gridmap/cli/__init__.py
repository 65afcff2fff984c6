"""The ``gridmap`` command."""

from gridmap.cli.main import main

__all__ = ["main"]
