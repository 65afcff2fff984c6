"""The shape of the code stays what docs/architecture.md says: the import-linter contracts of pyproject.toml
hold (and do catch a forbidden import), no import cycle, no module over 500 lines, and function-level
imports only for optional extras.
"""

from __future__ import annotations

import ast
import importlib.util
import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import grimp
import networkx as nx
import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "gridmap"
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")
CONTRACTS = {
    c["id"]: c["name"]
    for c in tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["importlinter"]["contracts"]
}
MAX_LINES = 500

#: third-party packages a function may import: optional extras (``pip install gridmap[dask]``) and test tools
OPTIONAL = frozenset({"dask", "dask_geopandas", "distributed", "playwright"})
#: function-level imports allowed while other work is pending, one entry per (module, imported module) so
#: that no new one slips in (none left: the store's went to its module tops)
FUNCTION_IMPORTS_PENDING: frozenset[tuple[str, str]] = frozenset()
#: modules over the limit while their split is pending (none left: store/sql.py gave store/values.py its
#: value conversion)
LONG_PENDING: frozenset[str] = frozenset()


def _modules() -> list[Path]:
    return sorted(p for p in PACKAGE.rglob("*.py") if "__pycache__" not in p.parts)


def _rel(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


def _lint_imports(root: Path) -> subprocess.CompletedProcess:
    """``lint-imports`` on the ``gridmap`` package under ``root`` with the pyproject.toml there."""
    env = {**os.environ, "PYTHONPATH": str(root)}
    return subprocess.run(
        [str(LINT_IMPORTS), "--config", str(root / "pyproject.toml"), "--no-cache"],
        check=False,
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def _broken(output: str) -> set[str]:
    """Ids of the contracts ``lint-imports`` reports as BROKEN."""
    return {cid for cid, name in CONTRACTS.items() if f"{name} BROKEN" in " ".join(output.split())}


# -- import-linter contracts ----------------------------------------------------------------------------
def test_import_contracts_hold():
    out = _lint_imports(ROOT)
    text = out.stdout + out.stderr
    assert out.returncode == 0, f"lint-imports found a broken contract:\n{text}"
    assert f"Contracts: {len(CONTRACTS)} kept, 0 broken." in text, text


@pytest.fixture
def copy_of_package(tmp_path: Path) -> Path:
    """The ``gridmap`` package's Python files and pyproject.toml, copied under ``tmp_path``."""
    for src in _modules():
        dst = tmp_path / src.relative_to(ROOT)
        dst.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(src, dst)
    shutil.copyfile(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    return tmp_path


def _add_line(module: Path, line: str) -> None:
    with module.open("a", encoding="utf-8") as f:
        f.write(f"\n{line}\n")


def test_a_web_framework_in_the_domain_breaks_its_contract(copy_of_package: Path):
    _add_line(copy_of_package / "gridmap/domain/codes.py", "import flask  # noqa: E402,F401")
    out = _lint_imports(copy_of_package)
    assert out.returncode != 0
    assert _broken(out.stdout) == {"pure-domain"}, out.stdout


def test_the_domain_importing_the_web_breaks_the_layers(copy_of_package: Path):
    _add_line(copy_of_package / "gridmap/domain/plan.py", "from gridmap.web import access  # noqa: E402,F401")
    out = _lint_imports(copy_of_package)
    assert out.returncode != 0
    assert "layers" in _broken(out.stdout), out.stdout
    assert "gridmap.domain.plan -> gridmap.web.access" in out.stdout


# -- import cycles ----------------------------------------------------------------------------------------
def test_no_import_cycle():
    """Every import counts: at module top, inside functions and under ``if TYPE_CHECKING:``."""
    assert Path(importlib.util.find_spec("gridmap").origin).is_relative_to(PACKAGE), (
        "the gridmap package on sys.path is not this checkout's"
    )
    graph = grimp.build_graph("gridmap", cache_dir=None)
    g = nx.DiGraph()
    for module in graph.modules:
        g.add_node(module)
        g.add_edges_from((module, imported) for imported in graph.find_modules_directly_imported_by(module))
    cycles = []
    for group in nx.strongly_connected_components(g):
        if len(group) > 1:
            path = [a for a, _ in nx.find_cycle(g.subgraph(group))]
            steps = []
            for a, b in zip(path, path[1:] + path[:1]):
                lines = sorted({d["line_number"] for d in graph.get_import_details(importer=a, imported=b)})
                steps.append(f"{a} -> {b} (line {', '.join(map(str, lines))})")
            cycles.append(f"{len(group)} modules {sorted(group)}; e.g.\n    " + "\n    ".join(steps))
    assert not cycles, "import cycles:\n" + "\n".join(cycles)


# -- module size ------------------------------------------------------------------------------------------
def test_no_module_over_500_lines():
    sizes = {_rel(p): len(p.read_text(encoding="utf-8").splitlines()) for p in _modules()}
    over = {m: n for m, n in sizes.items() if n > MAX_LINES and m not in LONG_PENDING}
    assert not over, f"modules over {MAX_LINES} lines (split them along their seams): {over}"
    done = {m for m in LONG_PENDING if sizes.get(m, 0) <= MAX_LINES}
    assert not done, f"pending entries that are no longer over {MAX_LINES} lines (drop them): {sorted(done)}"


# -- function-level imports -------------------------------------------------------------------------------
def _function_imports(path: Path) -> list[tuple[int, str]]:
    """(line, imported module) of every import inside a function (or lambda) of ``path``."""
    found: list[tuple[int, str]] = []

    def walk(node: ast.AST, in_function: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if in_function and isinstance(child, ast.Import):
                found.extend((child.lineno, alias.name) for alias in child.names)
            elif in_function and isinstance(child, ast.ImportFrom):
                found.append((child.lineno, "gridmap" if child.level else child.module or ""))
            walk(child, in_function or isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)))

    walk(ast.parse(path.read_text(encoding="utf-8")), False)
    return found


def test_function_level_imports_only_for_optional_extras():
    """A gridmap module imported inside a function hides a cycle: the code is in the wrong module. Other
    packages are imported at the top too, except the optional extras in :data:`OPTIONAL`."""
    wrong, seen_pending = [], set()
    for path in _modules():
        rel = _rel(path)
        for line, module in _function_imports(path):
            if (rel, module) in FUNCTION_IMPORTS_PENDING:
                seen_pending.add((rel, module))
            elif module.split(".")[0] == "gridmap" or module.split(".")[0] not in OPTIONAL:
                wrong.append(f"{rel}:{line} imports {module} inside a function")
    assert not wrong, "move these imports to the module top:\n" + "\n".join(wrong)
    assert seen_pending == FUNCTION_IMPORTS_PENDING, (
        f"pending entries that no longer occur (drop them): {sorted(FUNCTION_IMPORTS_PENDING - seen_pending)}"
    )
