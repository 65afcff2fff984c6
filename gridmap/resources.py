"""Find the data shipped with gridmap: ``templates/``, ``geodata/`` (repository root in a checkout,
``gridmap/_data/`` inside an installed wheel) and package folders such as ``static/`` or ``translations/``."""

from __future__ import annotations

from pathlib import Path

_PKG = Path(__file__).resolve().parent


def resource_path(name: str, *, package: bool = False) -> Path:
    """Path of a shipped folder or file ``name`` (e.g. ``"templates"``, ``"geodata/chengyang"``).

    An installed wheel's ``gridmap/_data/`` wins over a sibling folder of the package (which in
    site-packages could belong to someone else); in a checkout only the repository root has it.
    """
    candidates = [_PKG / name] if package else [_PKG / "_data" / name, _PKG.parent / name]
    if package:
        candidates.append(_PKG.parent / name)
    for c in candidates:
        if c.exists():
            return c
    return candidates[0]
