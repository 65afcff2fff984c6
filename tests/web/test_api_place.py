"""POST /api/place/<kind> and GET /api/coverage through the Flask test client; the CLI over the same store."""

from __future__ import annotations

import io
import json

import pytest
from click.testing import CliRunner

from tests.services.test_placement_service import CSV, world_store  # noqa: F401 (fixture)

FC = {
    "type": "FeatureCollection",
    "features": [
        {
            "type": "Feature",
            "properties": {"id": "m1", "name": "超市"},
            "geometry": {"type": "Point", "coordinates": [120.4011, 36.3011]},
        },
        {
            "type": "Feature",
            "properties": {"id": "m2", "name": "远方"},
            "geometry": {"type": "Point", "coordinates": [121.0, 37.0]},
        },
    ],
}


@pytest.fixture
def web(app_factory, world_store):  # noqa: F811
    return app_factory(world_store).test_client()


def test_planner_places_a_geojson_body(web, login, world_store):  # noqa: F811
    login(web, "planner")
    resp = web.post("/api/place/merchants?tolerance=10", data=json.dumps(FC), content_type="application/json")
    assert resp.status_code == 200, resp.get_json()
    body = resp.get_json()
    assert body["summary"]["contained"] == 1 and body["summary"]["rejected"] == 1 and body["written"] == 1
    assert body["unmatched"][0]["id"] == "m2" and "outside every community" in body["unmatched"][0]["reason"]
    assert world_store.get("merchants", "m1")["building_id"] == "A"


def test_csv_upload(web, login, world_store):  # noqa: F811
    login(web, "admin")
    resp = web.post(
        "/api/place/households", data={"file": (io.BytesIO(CSV.encode()), "hh.csv")}, content_type="multipart/form-data"
    )
    assert resp.status_code == 200, resp.get_json()
    assert resp.get_json()["written"] == 4 and world_store.count("households") == 4


@pytest.mark.parametrize("role,status", [(None, 401), ("viewer", 403), ("community_official", 403)])
def test_only_planners_place(web, login, role, status, world_store):  # noqa: F811
    if role:
        login(web, role)
    resp = web.post("/api/place/merchants", data=json.dumps(FC), content_type="application/json")
    assert resp.status_code == status and resp.get_json()["error"]["status"] == status
    assert world_store.count("merchants") == 0


def test_bad_requests_answer_in_the_error_shape(web, login):
    login(web, "planner")
    for url, data in (
        ("/api/place/buildings", json.dumps(FC)),
        ("/api/place/merchants", "{nope"),
        ("/api/place/merchants?tolerance=-3", json.dumps(FC)),
    ):
        resp = web.post(url, data=data, content_type="application/json")
        assert resp.status_code == 400 and resp.get_json()["error"]["code"] == "invalid_input"


def test_coverage_json_and_csv(web, login):
    login(web, "viewer")
    body = web.get("/api/coverage").get_json()
    assert body["summary"]["grids"] == 3 and body["summary"]["residential_buildings"] == 5
    assert body["summary"]["buildings_without_leader"] == 5
    csv = web.get("/api/coverage?format=csv&table=grids")
    assert csv.mimetype == "text/csv" and csv.get_data(as_text=True).splitlines()[0].startswith("code,")
    assert web.get("/api/coverage?format=csv&table=nope").status_code == 400


def test_cli_place_and_coverage(world_store, tmp_path, monkeypatch):  # noqa: F811
    from gridmap.cli.main import main

    monkeypatch.setenv("GRIDMAP_DATABASE_URL", world_store.url)
    src = tmp_path / "hh.csv"
    src.write_text(CSV, encoding="utf-8")
    report = tmp_path / "report.csv"
    runner = CliRunner()
    res = runner.invoke(main, ["place", "households", str(src), "--tolerance", "30", "--report", str(report)])
    assert res.exit_code == 0, res.output
    assert "rejected: 3" in res.output and "written: 4" in res.output
    assert report.read_text(encoding="utf-8").splitlines()[0].startswith("row,id,placement,reason")
    assert world_store.count("households") == 4
    res = runner.invoke(main, ["coverage", "--format", "json"])
    assert res.exit_code == 0 and json.loads(res.output)["summary"]["grids"] == 3
    res = runner.invoke(main, ["coverage", "--format", "csv", "--table", "red_property", "--level", "street"])
    assert res.exit_code == 0 and res.output.startswith("street_id,estates,red_estates,share")
    bad = runner.invoke(main, ["place", "households", str(src), "--tolerance", "-1"])
    assert bad.exit_code == 1 and "tolerance" in bad.output
    assert runner.invoke(main, ["place", "--help"]).exit_code == 0


def test_coverage_of_an_empty_store(client, login):
    login(client, "viewer")
    body = client.get("/api/coverage").get_json()
    assert body["summary"]["grids"] == 0 and body["summary"]["red_property_share"] is None


def _bomb(name: str = "zeros.csv", size: int = 40 * 1024 * 1024) -> bytes:
    import zipfile

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
        zf.writestr(name, b"0" * size)
    return buf.getvalue()


@pytest.mark.parametrize("filename", ["bomb.zip", "bomb.gpkg", "bomb.geojson"])
def test_place_upload_refuses_a_zip_bomb_whatever_its_name(web, login, world_store, filename):  # noqa: F811
    """1.5 MB once inflated to 1.5 GB through /api/place: every upload route now passes the same guard."""
    bomb = _bomb()
    assert len(bomb) < 100_000
    login(web, "planner")
    before = world_store.snapshot(["households"])
    resp = web.post(
        "/api/place/households", data={"file": (io.BytesIO(bomb), filename)}, content_type="multipart/form-data"
    )
    assert resp.status_code == 400, resp.get_data(as_text=True)[:300]
    assert "zip" in resp.get_json()["error"]["message"].lower() or "json" in resp.get_json()["error"]["message"].lower()
    assert world_store.snapshot(["households"])["households"].equals(before["households"])


def test_place_upload_of_an_unknown_type_is_415(web, login):
    login(web, "planner")
    resp = web.post(
        "/api/place/households",
        data={"file": (io.BytesIO(b"MZ\x90\x00"), "tool.exe")},
        content_type="multipart/form-data",
    )
    assert resp.status_code == 415 and resp.get_json()["error"]["code"] == "unsupported_media_type"


def test_uploads_and_exports_leave_no_temporary_folder(web, login, world_store, tmp_path, monkeypatch):  # noqa: F811
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    login(web, "planner")
    assert (
        web.post(
            "/api/place/households",
            data={"file": (io.BytesIO(CSV.encode()), "hh.csv")},
            content_type="multipart/form-data",
        ).status_code
        == 200
    )
    assert (
        web.post(
            "/api/place/households", data={"file": (io.BytesIO(_bomb()), "x.zip")}, content_type="multipart/form-data"
        ).status_code
        == 400
    )
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith("gridmap-")] == []
