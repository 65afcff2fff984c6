"""Write the evaluation report of a plan generated for the real Taipei buildings to docs/.

python bench/taipei_report.py            # → docs/taipei_grid_report.html
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench_grids import _write_world, taipei_world
from gridmap.services import grids as svc
from gridmap.store import open_store


def main() -> None:
    out = Path(__file__).resolve().parents[1] / "docs" / "taipei_grid_report.html"
    with tempfile.TemporaryDirectory() as d:
        store = open_store(f"sqlite:///{d}/taipei.db")
        _write_world(store, taipei_world())
        res = svc.generate(store, seed=0)
        html = svc.report_text(store, res.plan_id, fmt="html")
        out.write_text(
            html.replace(
                f"Grid plan report {res.plan_id}", "Grid plan report: Taipei (萬華/中正/大同, real buildings)"
            ),
            encoding="utf-8",
        )
        s = res.report["summary"]
        print(f"{out}: {s['grids']} grids; problems: {len(res.report['problems'])}")
        for p in res.report["problems"]:
            print("  ", p["message"])
        store.close()


if __name__ == "__main__":
    main()
