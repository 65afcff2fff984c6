"""pyproject.toml declares what the code imports, and only that.

* every third-party import in ``gridmap/`` is a runtime dependency; an import of an optional extra (``dask``)
  only inside a function or in the modules that exist for that extra (:data:`EXTRA_MODULES`);
* every runtime dependency is imported somewhere in ``gridmap/`` (or loaded by name: :data:`LOADED_BY_NAME`);
* ``tests/`` imports only runtime and ``test`` dependencies, ``bench/`` only runtime and ``bench`` ones;
* ``gridmap`` imports without the extras installed (a subprocess where importing them fails).

Import names map to distributions with :func:`importlib.metadata.packages_distributions` of this environment.
"""

from __future__ import annotations

import ast
import importlib.metadata as metadata
import json
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parents[2]
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
#: modules that exist for an optional extra and import it at their top; nothing else imports them at its top
#: (``gridmap dask …`` is imported only when that command runs)
EXTRA_MODULES = {"dask": ("gridmap/distributed/", "gridmap/cli/dask.py")}
#: runtime dependencies no ``import`` statement names, with the file and text that make the code load them
LOADED_BY_NAME = {"psycopg": ("gridmap/store/__init__.py", "postgresql+psycopg")}


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _dists(requirements: list[str], *, with_extras: bool = True) -> set[str]:
    """Distribution names of ``requirements``, with the ones their extras (``dask[distributed]``) pull in."""
    out: set[str] = set()
    for text in requirements:
        req = Requirement(text)
        out.add(_norm(req.name))
        for extra in req.extras if with_extras else ():
            for sub in metadata.requires(req.name) or []:
                marker = Requirement(sub).marker
                if marker is not None and marker.evaluate({"extra": extra}) and not marker.evaluate({"extra": ""}):
                    out.add(_norm(Requirement(sub).name))
    return out


RUNTIME = _dists(PROJECT["dependencies"])
EXTRAS = {name: _dists(reqs) for name, reqs in PROJECT["optional-dependencies"].items()}
DISTRIBUTIONS = {name: {_norm(d) for d in dists} for name, dists in metadata.packages_distributions().items()}


def _distributions(import_name: str) -> set[str]:
    """The distributions that provide the top-level ``import_name`` (its own name if none is installed)."""
    return DISTRIBUTIONS.get(import_name, {_norm(import_name)})


def _imports(tree: ast.AST) -> list[tuple[str, bool]]:
    """(top-level name, inside a function) of every absolute import, also ``import_module("name…")``."""
    found: list[tuple[str, bool]] = []

    def visit(node: ast.AST, in_function: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.Import):
                found.extend((alias.name.split(".")[0], in_function) for alias in child.names)
            elif isinstance(child, ast.ImportFrom) and child.level == 0 and child.module:
                found.append((child.module.split(".")[0], in_function))
            elif (
                isinstance(child, ast.Call)
                and isinstance(child.func, ast.Name)
                and child.func.id == "import_module"
                and child.args
            ):
                arg = child.args[0]
                if isinstance(arg, ast.JoinedStr) and arg.values:
                    arg = arg.values[0]
                if isinstance(arg, ast.Constant) and isinstance(arg.value, str) and arg.value[:1].isalpha():
                    found.append((arg.value.split(".")[0], in_function))
            visit(child, in_function or isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)))

    visit(tree, False)
    return found


def _third_party(folder: str) -> dict[str, list[tuple[str, bool]]]:
    """File (relative to the repository) → its third-party imports; the folder's own modules are not."""
    base = ROOT / folder
    files = sorted(p for p in base.rglob("*.py") if "__pycache__" not in p.parts)
    local = {"gridmap", "tests", "bench"} | {p.stem for p in files} | {p.parent.name for p in files}
    if folder == "bench":  # benchmarks build their worlds with the tests' world builders (tests/web on sys.path)
        local |= {p.stem for p in (ROOT / "tests").rglob("*_world.py")}
    skip = set(sys.stdlib_module_names) | local | {"__future__"}
    return {
        p.relative_to(ROOT).as_posix(): [(n, f) for n, f in _imports(ast.parse(p.read_bytes())) if n not in skip]
        for p in files
    }


def _undeclared(folder: str, allowed: set[str]) -> list[str]:
    return sorted(
        f"{path}: {name} (distribution {' or '.join(sorted(_distributions(name)))})"
        for path, names in _third_party(folder).items()
        for name, _ in names
        if not _distributions(name) & allowed
    )


def _extra_of(path: str) -> str | None:
    return next((extra for extra, prefixes in EXTRA_MODULES.items() if path.startswith(prefixes)), None)


def test_gridmap_imports_only_declared_dependencies():
    wrong = []
    for path, names in _third_party("gridmap").items():
        extra = _extra_of(path)
        for name, in_function in names:
            dists = _distributions(name)
            if dists & RUNTIME:
                continue
            optional = {e for e, members in EXTRAS.items() if dists & members and e not in ("test", "bench")}
            if optional and (in_function or extra in optional):
                continue
            where = "inside a function" if in_function else "at module top"
            wrong.append(
                f"{path}: {name} {where} (distribution {' or '.join(sorted(dists))}"
                + (f", extra {sorted(optional)})" if optional else ", not declared)")
            )
    assert not wrong, "imports that are no runtime dependency:\n" + "\n".join(wrong)


def test_every_runtime_dependency_is_used():
    used = {d for names in _third_party("gridmap").values() for name, _ in names for d in _distributions(name)}
    for dist, (path, text) in LOADED_BY_NAME.items():
        assert text in (ROOT / path).read_text(encoding="utf-8"), f"{path} no longer loads {dist} by {text!r}"
        used.add(dist)
    unused = _dists(PROJECT["dependencies"], with_extras=False) - used
    assert unused == set(), "runtime dependencies gridmap/ never imports (move them to an extra)"


def test_modules_of_an_extra_are_imported_only_there():
    """Only the extra's own modules import them at their top, so the rest works without the extra."""
    names = {p.removesuffix(".py").removesuffix("/").replace("/", ".") for ps in EXTRA_MODULES.values() for p in ps}
    wrong = []
    for path in _third_party("gridmap"):
        if _extra_of(path):
            continue
        tree = ast.parse((ROOT / path).read_bytes())
        for node in tree.body:
            modules = (
                [a.name for a in node.names]
                if isinstance(node, ast.Import)
                else [node.module or ""]
                if isinstance(node, ast.ImportFrom)
                else []
            )
            if isinstance(node, ast.ImportFrom):
                modules += [f"{node.module}.{a.name}" for a in node.names]
            wrong += [f"{path}: {m}" for m in modules if any(m == n or m.startswith(n + ".") for n in names)]
    assert not wrong


@pytest.mark.parametrize(("folder", "extra"), [("tests", "test"), ("bench", "bench")])
def test_tests_and_benchmarks_import_declared_dependencies(folder: str, extra: str):
    undeclared = _undeclared(folder, RUNTIME | EXTRAS[extra])
    assert not undeclared, (
        f"imports in {folder}/ missing from [project] dependencies or the {extra!r} extra:\n" + "\n".join(undeclared)
    )


_WITHOUT_EXTRAS = """
import importlib, importlib.abc, json, pkgutil, sys
blocked = set(json.loads(sys.argv[1]))
class Missing(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in blocked:
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
sys.meta_path.insert(0, Missing())
import gridmap
skip = tuple(json.loads(sys.argv[2]))
failed = {}
for info in pkgutil.walk_packages(gridmap.__path__, "gridmap."):
    if info.name.startswith(skip):
        continue
    try:
        importlib.import_module(info.name)
    except Exception as exc:
        failed[info.name] = repr(exc)
print(json.dumps(failed))
"""


def test_gridmap_imports_without_the_extras():
    optional = set().union(*(EXTRAS[e] for e in EXTRA_MODULES)) - RUNTIME
    blocked = sorted(name for name, dists in DISTRIBUTIONS.items() if dists <= optional)
    assert {"dask", "distributed", "dask_geopandas"} <= set(blocked)
    skip = [p.removesuffix(".py").removesuffix("/").replace("/", ".") for ps in EXTRA_MODULES.values() for p in ps]
    skip += ["gridmap.__main__", "gridmap.store.migrations"]  # they run the CLI / a migration when imported
    res = subprocess.run(
        [sys.executable, "-c", _WITHOUT_EXTRAS, json.dumps(blocked), json.dumps(skip)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert res.returncode == 0, res.stderr
    assert json.loads(res.stdout.splitlines()[-1]) == {}
