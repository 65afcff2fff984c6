from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "services"))
from plan_world import COM, seed

A, B = f"{COM}001", f"{COM}002"
HH = {f"r{i}c{j}": 10 for i in range(3) for j in range(3)} | {"r1c1": 5}


@pytest.fixture
def planner_app(app_factory, sqlite_store):
    seed(sqlite_store, ["AAB", "AAB", "AAB"], HH, bounds=(30, 50))
    return app_factory(sqlite_store)


def test_planner_pages_and_api_need_the_planner_role(planner_app, login):
    client = planner_app.test_client()
    assert client.get("/api/planner/plans").status_code == 401
    login(client, "grid_leader")
    assert client.get("/api/planner/plans").status_code == 403
    assert client.get("/planner").status_code == 403


def test_move_rebalance_diff_publish_over_http(planner_app, login):
    client = planner_app.test_client()
    login(client, "planner")
    page = client.get("/planner")
    assert page.status_code == 200 and "plan-base" in page.get_data(as_text=True)
    draft = client.post("/api/planner/drafts", json={}).get_json()["draft"]
    html = client.get(f"/planner/drafts/{draft}").get_data(as_text=True)
    from gridmap.web.assets import vendor_url

    assert vendor_url("leaflet", "leaflet.js") in html and "/planner/vendor" not in html and "cdn" not in html.lower()
    view = client.get(f"/api/planner/drafts/{draft}").get_json()
    assert view["grids"][A]["households"] == 55 and "above_max" in view["grids"][A]["problems"]
    assert len(view["buildings"]["features"]) == 9
    res = client.post(f"/api/planner/drafts/{draft}/move", json={"buildings": ["r1c1"], "to_grid": B})
    assert res.status_code == 200
    body = res.get_json()
    assert body["grids"][A]["households"] == 50 and body["grids"][B]["households"] == 35
    assert set(body["grids"]) == {A, B}
    assert client.post(f"/api/planner/drafts/{draft}/undo", json={}).get_json()["grids"][A]["households"] == 55
    reb = client.post(f"/api/planner/drafts/{draft}/rebalance", json={}).get_json()
    assert reb["rebalance"]["households_moved"] == 5
    d = client.get(f"/api/planner/diff?old=plan-base&new={reb['plan']}").get_json()
    assert [b["building_id"] for b in d["buildings"]] == ["r1c1"]
    pub = client.post(f"/api/planner/drafts/{draft}/publish", json={"effective_date": "2026-12-01"})
    assert pub.status_code == 200 and pub.get_json()["effective_date"] == "2026-12-01"
    exp = client.get(f"/api/planner/plans/{pub.get_json()['plan']}/export?format=csv")
    assert exp.status_code == 200 and b"r1c1," + B.encode() in exp.data


def test_bad_requests_get_the_json_error_shape(planner_app, login):
    client = planner_app.test_client()
    login(client, "planner")
    draft = client.post("/api/planner/drafts", json={}).get_json()["draft"]
    res = client.post(f"/api/planner/drafts/{draft}/move", json={"buildings": "r1c1", "to_grid": B})
    assert res.status_code == 400 and res.get_json()["error"]["code"] == "invalid_input"
    res = client.post(f"/api/planner/drafts/{draft}/move", json={"buildings": ["zz"], "to_grid": B})
    assert res.status_code == 400 and "zz" in res.get_json()["error"]["message"]
    assert client.get("/api/planner/drafts/nope").status_code == 404
    assert client.post(f"/api/planner/drafts/{draft}/redo", json={}).status_code == 409


def test_import_upload_makes_a_draft(planner_app, login, tmp_path):
    import io

    client = planner_app.test_client()
    login(client, "planner")
    csv = "building_id,grid_code\n" + "\n".join(
        f"r{i}c{j},{B if j == 2 or (i, j) == (1, 1) else A}" for i in range(3) for j in range(3)
    )
    res = client.post(
        "/api/planner/import", data={"file": (io.BytesIO(csv.encode()), "plan.csv")}, content_type="multipart/form-data"
    )
    assert res.status_code == 201, res.get_json()
    assert res.get_json()["moves"] == 1


@pytest.mark.parametrize("fmt", ["csv", "gpkg", "geojson", "shp"])
def test_export_and_import_leave_no_temporary_folder(planner_app, login, tmp_path, monkeypatch, fmt):
    """Every export and import left a gridmap-export-*/gridmap-import-* folder behind (20 exports: 18 MB)."""
    import io
    import tempfile

    temp = tmp_path / "tmp"
    temp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(temp))
    client = planner_app.test_client()
    login(client, "planner")
    plan = client.get("/api/planner/plans").get_json()["plans"][0]["id"]
    exp = client.get(f"/api/planner/plans/{plan}/export?format={fmt}")
    assert exp.status_code == 200 and len(exp.data) > 100
    name = {"csv": "p.csv", "gpkg": "p.gpkg", "geojson": "p.geojson", "shp": "p.zip"}[fmt]
    imp = client.post(
        "/api/planner/import", data={"file": (io.BytesIO(exp.data), name)}, content_type="multipart/form-data"
    )
    assert imp.status_code == 201, imp.get_json()
    assert list(temp.iterdir()) == []
