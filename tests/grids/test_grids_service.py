"""The generate/report use cases and the `gridmap grids` commands on a real SQLite store."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
import shapely
from click.testing import CliRunner

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "unit"))
from gridmap.errors import InvalidInput, NotFoundError
from gridmap.services import grids as svc
from gridmap.services.plans import publishing
from gridmap.store import plans
from grids_worlds import CRS, STEP, X0, Y0, lattice

A, B, EMPTY = "370214001001", "370214001002", "370214001003"


def _load(store, *, bounds_b=(None, None)):
    """Three communities side by side: A and B with 4 x 6 buildings of 40 households (960 each),
    EMPTY with no buildings."""
    wa = lattice([[40] * 6] * 4, community=A)
    wb = lattice([[40] * 6] * 4, community=B)
    wb["buildings"]["geometry"] = wb["buildings"].translate(6 * STEP)
    wb["buildings"]["id"] = "b-" + wb["buildings"]["id"]
    wb["communities"]["geometry"] = wb["communities"].translate(6 * STEP)
    empty = shapely.box(X0 + 12 * STEP, Y0 - 4 * STEP, X0 + 14 * STEP, Y0)
    coms = pd.concat([wa["communities"], wb["communities"]], ignore_index=True)
    coms.loc[len(coms)] = {"id": EMPTY, "name": "空社区", "street_id": "370214001", "geometry": empty}
    coms["min_households"] = [None, bounds_b[0], None]
    coms["max_households"] = [None, bounds_b[1], None]
    coms = gpd.GeoDataFrame(coms, geometry="geometry", crs=CRS)
    region = shapely.union_all(coms.geometry.values)
    with store.transaction():
        store.write(
            "districts",
            gpd.GeoDataFrame([{"id": "370214", "name": "城阳区", "geometry": region}], crs=CRS).to_crs(4326),
        )
        store.write(
            "streets",
            gpd.GeoDataFrame(
                [{"id": "370214001", "name": "城阳街道", "district_id": "370214", "geometry": region}], crs=CRS
            ).to_crs(4326),
        )
        store.write("communities", coms.to_crs(4326))
        blds = pd.concat([wa["buildings"], wb["buildings"]], ignore_index=True).drop(columns="estate_id")
        store.write("buildings", gpd.GeoDataFrame(blds, geometry="geometry", crs=CRS).to_crs(4326))
        store.write(
            "stewards",
            pd.DataFrame(
                [
                    {"id": "s1", "name": "张三", "role": "grid_leader", "building_id": "r0c0", "community_id": A},
                    {"id": "s2", "name": "李四", "role": "building_leader", "building_id": "r0c1", "community_id": A},
                ]
            ),
        )
    return coms


def test_generate_stores_a_draft_plan_that_tiles_every_community(sqlite_store):
    coms = _load(sqlite_store)
    res = svc.generate(sqlite_store, seed=1)
    plan = plans.load_plan(sqlite_store, res.plan_id)
    assert plan.meta["status"] == "draft"
    assert len(plan.assignment) == 48
    # 960 households with bounds 300..500: 2 grids of 480 in A and in B; one empty grid for EMPTY
    sizes = res.report["grids"]
    by_com = {c: sorted(g["households"] for g in sizes if g["community_id"] == c) for c in (A, B, EMPTY)}
    assert by_com == {A: [480, 480], B: [480, 480], EMPTY: [0]}
    grids = plans.load_grids(sqlite_store, res.plan_id).to_crs(CRS)
    for cid, geom in zip(coms["id"], coms.geometry.values):
        mine = grids[grids["community_id"] == cid].geometry.values
        assert shapely.area(shapely.symmetric_difference(shapely.union_all(mine), geom)) < 1e-4 * geom.area
    s = res.report["summary"]
    assert s["contiguous_share"] == 1.0 and s["share_in_bounds"] == 4 / 5  # EMPTY: 0 households
    assert sorted(sqlite_store.read("grid_codes")["code"]) == sorted(plan.codes)
    assert sqlite_store.count("cells") == 48
    leader_grid = plan.assignment["r0c0"]
    row = next(g for g in sizes if g["code"] == leader_grid)
    assert row["grid_leaders"] == 1 and row["buildings_without_leader"] == 11


def test_regenerating_keeps_codes_and_one_community_leaves_the_others(sqlite_store):
    _load(sqlite_store)
    first = svc.generate(sqlite_store, seed=1, publish=True)
    again = svc.generate(sqlite_store, seed=1)
    assert again.plan.same_assignment(first.plan) and again.plan.id != first.plan.id
    only_b = svc.generate(sqlite_store, community=B, min_households=150, max_households=250)
    p = only_b.plan
    assert [c for c in p.codes if c.startswith(A)] == [c for c in first.plan.codes if c.startswith(A)]
    new_b = [c for c in p.codes if c.startswith(B)]
    assert len(new_b) == 5 and all(int(c[12:]) > 2 for c in new_b)  # 001, 002 retired: never reused
    publishing.publish(sqlite_store, only_b.plan_id, actor="planner")
    status = dict(zip(*sqlite_store.read("plans", columns=["id", "status"]).T.values))
    assert status[first.plan_id] == "superseded" and status[only_b.plan_id] == "published"
    codes = sqlite_store.read("grid_codes").set_index("code")
    assert codes.loc[f"{B}001", "retired_plan_id"] == only_b.plan_id
    assert pd.isna(codes.loc[f"{A}001", "retired_plan_id"])


def test_per_community_bounds_override_the_defaults(sqlite_store):
    _load(sqlite_store, bounds_b=(150, 250))
    res = svc.generate(sqlite_store)
    assert sum(1 for g in res.report["grids"] if g["community_id"] == B) == 5  # 960 / 200 → 5 grids


def test_bad_requests_leave_the_store_unchanged(sqlite_store):
    _load(sqlite_store)
    before = sqlite_store.snapshot()
    with pytest.raises(NotFoundError, match="no community"):
        svc.generate(sqlite_store, community="370214001999")
    with pytest.raises(InvalidInput, match="min <= max"):
        svc.generate(sqlite_store, min_households=500, max_households=300)
    with pytest.raises(NotFoundError):
        svc.report_text(sqlite_store, "P404")
    after = sqlite_store.snapshot()
    assert before.keys() == after.keys()
    for k in before:
        pd.testing.assert_frame_equal(before[k], after[k])


def test_cli_generate_and_report(sqlite_store, tmp_path, monkeypatch):
    _load(sqlite_store)
    monkeypatch.setenv("GRIDMAP_DATABASE_URL", sqlite_store.url)
    from gridmap.cli.main import main

    runner = CliRunner()
    out = runner.invoke(main, ["grids", "generate", "--seed", "2", "--min", "300", "--max", "500"])
    assert out.exit_code == 0, out.output
    plan_id = out.output.split()[1]
    rep = runner.invoke(main, ["grids", "report", plan_id, "--format", "json"])
    assert rep.exit_code == 0, rep.output
    data = json.loads(rep.output)
    assert data["plan_id"] == plan_id and data["summary"]["grids"] == 5
    html = tmp_path / "r.html"
    rep = runner.invoke(main, ["grids", "report", plan_id, "--format", "html", "--out", str(html)])
    assert rep.exit_code == 0, rep.output
    text = html.read_text(encoding="utf-8")
    assert text.count("<path ") == 5 and "<svg" in text and "http" not in text.replace("http://www.w3.org/2000/svg", "")
    bad = runner.invoke(main, ["grids", "report", "P999999"])
    assert bad.exit_code == 1 and "no plan" in bad.output
    usage = runner.invoke(main, ["grids", "generate", "--min", "600", "--max", "500"])
    assert usage.exit_code == 2


def test_html_report_escapes_names_and_has_no_scripts(sqlite_store):
    coms = _load(sqlite_store)
    row = coms.iloc[[0]].to_crs(4326).assign(name="<script>alert(1)</script>")
    sqlite_store.write("communities", row)
    res = svc.generate(sqlite_store)
    html = svc.report_text(sqlite_store, res.plan_id, fmt="html")
    assert "<script" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "grid_report" not in html and html.count("<svg") == 2  # the map and the histogram


# -- one publish path, every reader loads a draft, one published-plan lookup -----------------------------
def _publish_rows(store):
    log = store.read("audit_log")
    return log[log["action"] == "plan.publish"].sort_values("at", kind="stable").to_dict("records")


def _a_move(plan):
    """A building and another grid of its community."""
    for b, code in sorted(plan.assignment.items()):
        other = [c for c in plan.grids_in(plan.grid_community[code]) if c != code]
        if other:
            return b, code, other[0]
    raise AssertionError("no community with two grids")


def test_generate_publish_and_plan_publish_write_the_same_audit_row(sqlite_store, monkeypatch):
    _load(sqlite_store)
    monkeypatch.setenv("GRIDMAP_DATABASE_URL", sqlite_store.url)
    from gridmap.cli.main import main

    runner = CliRunner()
    out = runner.invoke(main, ["grids", "generate", "--seed", "2", "--publish"])
    assert out.exit_code == 0, out.output
    first = out.output.split()[1]
    assert plans.published_plan_id(sqlite_store) == first
    draft = runner.invoke(main, ["plan", "draft"]).output.strip()
    b, frm, to = _a_move(plans.load_plan(sqlite_store, first))
    assert runner.invoke(main, ["plan", "move", draft, b, "--to", to]).exit_code == 0
    # the move leaves a grid in pieces: the publish gate refuses it until a reason is given (kept in the row)
    refused = runner.invoke(main, ["plan", "publish", draft, "--date", "2026-09-01"])
    assert refused.exit_code != 0 and "hard failures" in refused.output
    reason = "测试：只移一栋楼 / test: one building moved"
    pub = runner.invoke(main, ["plan", "publish", draft, "--date", "2026-09-01", "--override-reason", reason])
    assert pub.exit_code == 0, pub.output
    second = plans.published_plan_id(sqlite_store)
    generated, published = _publish_rows(sqlite_store)
    assert generated["action"] == published["action"] == "plan.publish"
    assert set(generated["detail"]) == set(published["detail"]) - {"override_reason", "overridden"}
    assert published["detail"]["override_reason"] == reason and published["detail"]["overridden"]
    assert {"draft", "previous", "effective_date", "buildings", "households", "grids_added"} <= set(generated["detail"])
    assert (generated["target"], generated["detail"]["draft"], generated["detail"]["previous"]) == (first, first, None)
    assert generated["detail"]["grids_added"] == 5 and generated["detail"]["buildings"] == 48
    assert (published["target"], published["detail"]["draft"], published["detail"]["previous"]) == (
        second,
        draft,
        first,
    )
    assert published["detail"]["effective_date"] == "2026-09-01" and published["detail"]["buildings"] == 1
    assert generated["actor"] == published["actor"] and generated["actor"].startswith("cli")
    rows = sqlite_store.read("plans").set_index("id")
    assert rows.loc[first, "status"] == "superseded" and rows.loc[second, "status"] == "published"
    assert pd.notna(rows.loc[first, "effective_date"]) and pd.notna(rows.loc[first, "published_at"])


def test_grids_report_reads_a_draft(sqlite_store, monkeypatch):
    _load(sqlite_store)
    base = svc.generate(sqlite_store, seed=1, publish=True)
    monkeypatch.setenv("GRIDMAP_DATABASE_URL", sqlite_store.url)
    from gridmap.cli.main import main

    runner = CliRunner()
    draft = runner.invoke(main, ["plan", "draft"]).output.strip()
    b, frm, to = _a_move(base.plan)
    assert runner.invoke(main, ["plan", "move", draft, b, "--to", to]).exit_code == 0
    out = runner.invoke(main, ["grids", "report", draft])
    assert out.exit_code == 0, out.output
    rep = json.loads(out.output)
    head = plans.current_version(sqlite_store, draft)
    assert head != draft and rep["plan_id"] == head and rep["status"] == "draft"
    assert rep["summary"]["grids"] == 5 and rep["summary"]["buildings"] == 48
    sizes = {g["code"]: g["households"] for g in rep["grids"]}
    before = {g["code"]: g["households"] for g in svc.report(sqlite_store, base.plan_id)["grids"]}
    assert sizes[frm] == before[frm] - 40 and sizes[to] == before[to] + 40  # the moved building's 40
    assert svc.report(sqlite_store, head)["grids"] == rep["grids"]  # the version by its own id, alike
    html = svc.report_text(sqlite_store, draft, fmt="html")
    assert html.count("<path ") == 5  # the draft's grid polygons, drawn from the stored cells


def test_the_published_plan_is_the_newest_published(sqlite_store):
    from gridmap.services import plans as plan_services

    t = pd.Timestamp("2026-01-01 08:00")
    sqlite_store.write(
        "plans",
        pd.DataFrame(
            [
                {"id": "P1", "status": "published", "published_at": t},
                {"id": "P2", "status": "published", "published_at": t + pd.Timedelta(hours=1)},
                {"id": "P0", "status": "published", "published_at": None},
                {"id": "P9", "status": "superseded", "published_at": t + pd.Timedelta(days=9)},
                {"id": "P8", "status": "draft"},
            ]
        ),
    )
    assert plans.published_plan_id(sqlite_store) == "P2"  # newest published_at
    sqlite_store.write(
        "plans", pd.DataFrame([{"id": "P3", "status": "published", "published_at": t + pd.Timedelta(hours=1)}])
    )
    assert plans.published_plan_id(sqlite_store) == "P3"  # same time: the higher id
    assert plan_services.published_plan_id(sqlite_store) == "P3"  # the services ask the same owner
    sqlite_store.write("plans", pd.DataFrame([{"id": p, "status": "superseded"} for p in ("P1", "P2", "P3")]))
    assert plans.published_plan_id(sqlite_store) == "P0"  # without a time it still counts
