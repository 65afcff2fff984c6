"""Find the data shipped with gridmap: ``templates/``, ``geodata/`` (repository root in a checkout,
``gridmap/_data/`` inside an installed wheel) and package folders such as ``static/`` or ``translations/``."""
from __future__ import annotations

from pathlib import Path

_PKG = Path(__file__).resolve().parent


def resource_path(name: str, *, package: bool = False) -> Path:
    """Path of a shipped folder or file ``name`` (e.g. ``"templates"``, ``"geodata/chengyang"``)."""
    candidates = [_PKG / name] if package else [_PKG.parent / name, _PKG / "_data" / name]
    if package:
        candidates.append(_PKG.parent / name)
    for c in candidates:
        if c.exists():
            return c
    return candidates[0]
