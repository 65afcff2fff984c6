"""Mutation testing of gridmap's pure domain, one module at a time, with mutmut.

    python scripts/mutation.py codes workdays                # every mutant of each module
    python scripts/mutation.py complaints --sample 150       # a seeded sample of 150 mutants
    python scripts/mutation.py --all --sample 120 --minutes 15 --markdown docs/mutation-table.md

Modules and the unit tests that pin each down are listed in ``pyproject.toml`` under
``[tool.gridmap.mutation.modules]``; the seed under ``[tool.gridmap.mutation]``; mutants judged equivalent (no
test can tell them apart from the original: the reason is given per mutant) under
``[tool.gridmap.mutation.equivalent]``. Each module runs in a scratch copy of the repository (``mutmut`` writes a
``mutants/`` folder and reads its settings from ``pyproject.toml``; the copy gets ``only_mutate`` and the test
selection of that module), so the checkout is never touched. Score = killed / (tried − equivalent); a timeout
counts as killed (the mutant made the tests hang), "no tests" as survived.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
COPY = ["gridmap", "tests", "geodata", "templates", "pyproject.toml", "README.md", "LICENSE"]
KILLED = {1, 3, 36, -24, 24, 152, 255}  # mutmut's exit codes for "killed" and "timeout"


@dataclass
class Result:
    module: str
    total: int
    tried: list[str] = field(default_factory=list)
    killed: list[str] = field(default_factory=list)
    survived: list[str] = field(default_factory=list)
    equivalent: list[str] = field(default_factory=list)
    not_run: list[str] = field(default_factory=list)
    diffs: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def score(self) -> float:
        judged = len(self.killed) + len(self.survived)
        return len(self.killed) / judged if judged else float("nan")


def settings() -> dict:
    with open(ROOT / "pyproject.toml", "rb") as f:
        return tomllib.load(f)["tool"]["gridmap"]["mutation"]


def module_files(module: str) -> list[Path]:
    """The source files of a domain module (``codes`` → codes.py; ``complaints`` → the package's files)."""
    base = ROOT / "gridmap" / "domain"
    if (base / f"{module}.py").is_file():
        return [base / f"{module}.py"]
    if (base / module).is_dir():
        return sorted(p for p in (base / module).glob("*.py") if p.name != "__init__.py")
    raise SystemExit(f"no module gridmap/domain/{module}(.py)")


def mutant_names(files: list[Path]) -> list[str]:
    """Every mutant mutmut makes of these files, by the names ``mutmut run`` takes (generation is deterministic)."""
    from mutmut.mutation.file_mutation import mutate_file_contents

    names: list[str] = []
    for path in files:
        rel = path.relative_to(ROOT)
        mutated = mutate_file_contents(str(rel), path.read_text(encoding="utf-8"))
        prefix = ".".join(rel.with_suffix("").parts)
        names += [n if n.startswith(prefix) else f"{prefix}.{n}" for n in mutated.mutant_names]
    return names


def scratch_copy(module: str, files: list[Path], tests: list[str]) -> Path:
    work = Path(tempfile.mkdtemp(prefix=f"gridmap-mutation-{module}-"))
    for name in COPY:
        src = ROOT / name
        if src.is_dir():
            shutil.copytree(src, work / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        elif src.exists():
            shutil.copy2(src, work / name)
    text = (work / "pyproject.toml").read_text(encoding="utf-8")
    only = json.dumps([str(p.relative_to(ROOT)) for p in files])
    block = f"only_mutate = {only}\npytest_add_cli_args_test_selection = {json.dumps(tests)}\n"
    text = re.sub(r"(\[tool\.mutmut\]\n)", lambda m: m.group(1) + block, text, count=1)
    (work / "pyproject.toml").write_text(text, encoding="utf-8")
    return work


def run_module(
    module: str,
    tests: list[str],
    sample: int | None,
    seed: int,
    minutes: float,
    equivalent: dict[str, str],
    jobs: int,
    show: bool = False,
) -> Result:
    files = module_files(module)
    names = mutant_names(files)
    result = Result(module, total=len(names))
    chosen = (
        sorted(random.Random(f"{seed}:{module}").sample(names, sample)) if sample and sample < len(names) else names
    )
    work = scratch_copy(module, files, tests)
    started = time.monotonic()
    try:
        env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
        cmd = [sys.executable, "-m", "mutmut", "run", "--max-children", str(jobs), *chosen]
        try:
            subprocess.run(
                cmd,
                cwd=work,
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                timeout=minutes * 60,
                check=False,
            )
        except subprocess.TimeoutExpired:
            print(f"  {module}: stopped after {minutes} min; unfinished mutants are listed as not run", file=sys.stderr)
        codes: dict[str, int | None] = {}
        for meta in (work / "mutants").rglob("*.meta"):
            codes.update(json.loads(meta.read_text(encoding="utf-8"))["exit_code_by_key"])
        if show:
            for name in chosen:
                if codes.get(name) is not None and codes[name] not in KILLED and name not in equivalent:
                    diff = subprocess.run(
                        [sys.executable, "-m", "mutmut", "show", name],
                        cwd=work,
                        env=env,
                        capture_output=True,
                        text=True,
                        check=False,
                    )
                    result.diffs[name] = diff.stdout
    finally:
        result.seconds = time.monotonic() - started
        shutil.rmtree(work, ignore_errors=True)
    for name in chosen:
        code = codes.get(name)
        if name in equivalent:
            result.equivalent.append(name)
        elif code is None:
            result.not_run.append(name)
        elif code in KILLED:
            result.killed.append(name)
        else:
            result.survived.append(name)
    result.tried = [n for n in chosen if n not in result.not_run]
    return result


def table(results: list[Result], seed: int, sample: int | None) -> str:
    lines = [
        f"seed {seed}, sample {sample or 'all'} per module",
        "",
        "| module | mutants | tried | killed | survived | equivalent | not run | score | time |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        lines.append(
            f"| `{r.module}` | {r.total} | {len(r.tried)} | {len(r.killed)} | {len(r.survived)} | "
            f"{len(r.equivalent)} | {len(r.not_run)} | {r.score:.0%} | {r.seconds:.0f} s |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    conf = settings()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("modules", nargs="*", help=f"any of: {', '.join(conf['modules'])}")
    parser.add_argument("--all", action="store_true", help="every module listed in pyproject.toml")
    parser.add_argument("--sample", type=int, default=None, help="mutants per module (default: every one)")
    parser.add_argument("--seed", type=int, default=conf["seed"])
    parser.add_argument("--minutes", type=float, default=20.0, help="time limit per module")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 2, help="mutants tested at once")
    parser.add_argument("--survivors", action="store_true", help="list the surviving mutants with their diffs")
    parser.add_argument("--markdown", type=Path, help="also write the table to this file")
    args = parser.parse_args(argv)
    modules = list(conf["modules"]) if args.all else args.modules
    unknown = [m for m in modules if m not in conf["modules"]]
    if not modules or unknown:
        parser.error(f"name modules from: {', '.join(conf['modules'])}" + (f" (unknown: {unknown})" if unknown else ""))
    equivalent = conf.get("equivalent", {})
    results = []
    for module in modules:
        print(f"mutating {module} …", file=sys.stderr)
        r = run_module(
            module,
            conf["modules"][module],
            args.sample,
            args.seed,
            args.minutes,
            equivalent,
            args.jobs,
            show=args.survivors,
        )
        results.append(r)
        for name in r.survived if args.survivors else ():
            print(f"  survived: {name}\n{r.diffs.get(name, '')}", file=sys.stderr)
    out = table(results, args.seed, args.sample)
    print(out)
    if args.markdown:
        args.markdown.write_text(out + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
