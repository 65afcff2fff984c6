"""/kpi, /api/kpi and /api/kpi.csv over the hand-drawn world with requests of two years."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest

from complaints_world import COM_A, COM_B, G1, G2, G3, STREET, build, lonlat


@pytest.fixture
def world(sqlite_store):
    from gridmap import config
    from gridmap.services import complaints as svc
    from gridmap.web.access import User

    build(sqlite_store)
    pub, staff, s = User(None, "x", "public"), User("u1", "admin", "admin"), config.load()
    # 2024: 4 in G1 (b1), 2 in G3; 2025: 2 in G1, 1 in G2, 3 in G3 (one of them rejected)
    plan = [(2024, 20, 4), (2024, 220, 2), (2025, 20, 2), (2025, 160, 1), (2025, 220, 3)]
    ids = []
    for year, x, n in plan:
        for i in range(n):
            lon, lat = lonlat(x, 20)
            ids.append(
                svc.submit(
                    sqlite_store,
                    {
                        "category": "neighbour_dispute" if i == 0 else "parking",
                        "description": "d",
                        "lon": lon,
                        "lat": lat,
                    },
                    user=pub,
                    settings=s,
                    now=dt.datetime(year, 5, 5 + i, 10),
                )["id"]
            )
    svc.transition(sqlite_store, ids[-1], "rejected", user=staff, settings=s, now=dt.datetime(2025, 5, 20))
    # a dispute in 2025 resolved and evaluated satisfied
    d = ids[6]
    for to in ("dispatched", "responding", "resolved"):
        svc.transition(sqlite_store, d, to, user=staff, settings=s, now=dt.datetime(2025, 5, 5, 15))
    svc.transition(
        sqlite_store,
        d,
        "evaluated",
        user=staff,
        settings=s,
        changes={"rating": 5, "resolved": True},
        now=dt.datetime(2025, 5, 8),
    )
    return sqlite_store


@pytest.fixture
def client(app_factory, world, login):
    c = app_factory(world).test_client()
    login(c, "admin")  # exact figures; what the public sees is tested in test_kpi_small_counts_…
    return c


def test_kpi_json_figures(client):
    rep = client.get("/api/kpi?year=2025").json
    s = rep["summary"]
    assert s["households"] == 1000 and s["complaints"] == 5 and s["complaints_prev"] == 6
    assert s["per_1000"] == pytest.approx(5.0) and s["change"] == pytest.approx(-1 / 6, abs=1e-6)
    assert s["target_met"] is False
    grids = {r["grid"]: r for r in rep["levels"]["grid"]}
    assert grids[G1]["households"] == 250 and grids[G1]["complaints"] == 2 and grids[G1]["complaints_prev"] == 4
    assert grids[G1]["change"] == pytest.approx(-0.5) and grids[G1]["target_met"] is True
    assert grids[G3]["complaints"] == 2 and grids[G3]["per_1000"] == pytest.approx(4.0)
    coms = {r["community"]: r for r in rep["levels"]["community"]}
    assert coms[COM_A]["complaints"] == 3 and coms[COM_B]["households"] == 500
    # disputes 2025: one per (year, place) group → G1, G2, G3 = 3, one resolved
    assert s["dispute_rate"] == pytest.approx(1 / 3)
    assert s["satisfaction_rate"] == 1.0 and s["resolution_rate"] == 1.0
    assert s["response_rate"] == pytest.approx(1 / 5)
    cov = rep["coverage"]["district"][0]
    assert (cov["red"], cov["estates"]) == (3, 4) and cov["coverage"] == 0.75
    assert rep["years"] == [2024, 2025]
    assert client.get("/api/kpi?year=abc").status_code == 400


def test_kpi_csv_and_page(client):
    r = client.get("/api/kpi.csv?year=2025&level=street")
    assert r.status_code == 200 and r.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(r.get_data(as_text=True).lstrip("\ufeff"))))
    assert [x["街道编码"] for x in rows] == [STREET] and rows[0]["诉求数"] == "5"
    assert rows[0]["街道"] == "城阳街道"  # names, not only codes
    en = list(
        csv.DictReader(
            io.StringIO(
                client.get("/api/kpi.csv?year=2025&level=street&headers=en").get_data(as_text=True).lstrip("\ufeff")
            )
        )
    )
    assert en[0]["street code"] == STREET and en[0]["requests"] == "5" and en[0]["street"] == "城阳街道"
    assert client.get("/api/kpi.csv?headers=fr").status_code == 400
    assert client.get("/api/kpi.csv?level=planet").status_code == 400
    page = client.get("/kpi?year=2025").get_data(as_text=True)
    assert 'id="gridmap-svg"' in page and f'data-code="{G2}"' in page and "城阳街道" in page
    assert "75.0%" in page  # red-property coverage card


def test_kpi_small_counts_are_suppressed_for_the_public(app_factory, world, login):
    """Public, viewer: counts 1–4 shown as "<5" and the rates built on them withheld; 0 and ≥ 5 exact."""
    app = app_factory(world)
    for role in (None, "viewer"):
        c = app.test_client()
        if role:
            login(c, role)
        rep = c.get("/api/kpi?year=2025").json
        s = rep["summary"]
        assert (s["complaints"], s["complaints_prev"], s["households"]) == (5, 6, 1000)
        assert s["per_1000"] == pytest.approx(5.0) and s["overdue_open"] in (0, "<5")
        grids = {r["grid"]: r for r in rep["levels"]["grid"]}
        assert grids[G1]["complaints"] == "<5" and grids[G1]["complaints_prev"] == "<5"
        assert grids[G1]["per_1000"] is None and grids[G1]["change"] is None and grids[G1]["target_met"] is None
        assert grids[G1]["households"] == 250  # households are not counts of what residents did
        for row in [s, *(r for rows in rep["levels"].values() for r in rows), *rep["trend"]]:
            for key in kpi_fields():
                assert row.get(key) not in (1, 2, 3, 4), (role, key, row)
        rows = list(
            csv.DictReader(
                io.StringIO(c.get("/api/kpi.csv?year=2025&level=grid").get_data(as_text=True).lstrip("\ufeff"))
            )
        )
        g1 = {r["网格编码"]: r for r in rows}[G1]
        assert g1["诉求数"] == "" and g1["每千户诉求"] == ""  # withheld: empty, never "<5" in a number column
        assert "诉求数" in g1["隐藏的数值"].split(";") and "每千户诉求" in g1["隐藏的数值"].split(";")
        page = c.get("/kpi?year=2025").get_data(as_text=True)
        assert "&lt;5" in page
    # a department (may see personal data) keeps exact figures
    c = app.test_client()
    login(c, "department", {"departments": ["urban_management"]})
    assert {r["grid"]: r for r in c.get("/api/kpi?year=2025").json["levels"]["grid"]}[G1]["complaints"] == 2


def kpi_fields():
    from gridmap.domain import kpi

    return kpi.COUNT_FIELDS


def test_kpi_on_an_empty_store(app_factory, tmp_path):
    from gridmap.store import open_store

    c = app_factory(open_store(f"sqlite:///{tmp_path / 'empty.db'}")).test_client()
    assert c.get("/api/kpi").json["summary"]["complaints"] == 0
    assert c.get("/kpi").status_code == 200 and c.get("/api/kpi.csv").status_code == 200
    assert c.get("/complaints/new").status_code == 200


def test_kpi_csv_reads_with_pandas_as_numbers_and_names(app_factory, demo_store):
    """The CSV a spreadsheet reads (issue 15): Chinese headers, names beside codes, every figure column numeric
    (rates as percentages), a column naming what the small-count rule withheld — for the public too."""
    import pandas as pd

    from gridmap.domain.kpi_csv import CSV_FIGURES

    app = app_factory(demo_store)
    for level, name_col in (("grid", "网格"), ("community", "社区"), ("street", "街道")):
        res = app.test_client().get(f"/api/kpi.csv?level={level}")
        frame = pd.read_csv(io.BytesIO(res.get_data()), encoding="utf-8-sig", dtype={f"{name_col}编码": str})
        assert len(frame) > 0
        codes = frame[f"{name_col}编码"]
        assert codes.str.fullmatch(r"\d+").all()
        assert frame[name_col].notna().all() and not frame[name_col].astype(str).str.fullmatch(r"\d+").any()
        for _key, header, _en, percent in CSV_FIGURES:
            col = frame[header]
            assert pd.api.types.is_numeric_dtype(col), (level, header, col.head())
            if percent:
                assert col.dropna().between(-100, 100_000).all()
        assert "隐藏的数值" in frame.columns
        if level == "grid":  # the demo has grids with 1–4 requests: withheld, empty and flagged
            flagged = frame[frame["隐藏的数值"].fillna("").str.split(";").map(lambda names: "诉求数" in names)]
            assert len(flagged) and flagged["诉求数"].isna().all()
            assert frame.loc[frame["网格"].str.startswith("恒珠社区"), "网格"].str.fullmatch(r"恒珠社区 \d{3}").all()
    street = pd.read_csv(
        io.BytesIO(app.test_client().get("/api/kpi.csv?level=street").get_data()), encoding="utf-8-sig"
    )
    assert "城阳街道" in set(street["街道"])
    assert street["响应率(%)"].max() > 1  # percentages, not fractions


def test_kpi_page_names_axes_partial_month_and_definitions(app_factory, demo_store):
    """Issue 15: street names (not codes) in charts and tables, labelled axes and legends, the running month
    marked partial, each figure defined on the page, a legend under the grid map."""
    import re

    from gridmap import clock

    c = app_factory(demo_store).test_client()
    this_year = clock.local(clock.now(), clock.zone("Asia/Shanghai")).year
    page = c.get(f"/kpi?year={this_year}").get_data(as_text=True)
    streets = demo_store.read("streets", columns=["id", "name"])
    tables = page[page.index('class="gm-table"') :]
    for sid, name in zip(streets["id"], streets["name"]):
        assert name in tables
        assert f">{sid}<" not in page  # no bare street codes in a cell or label
    assert "每千户诉求（件/千户）" in page and "月份" in page  # axis titles
    assert 'class="partial"' in page and 'id="kpi-partial"' in page  # this month drawn hollow, noted
    assert str(this_year - 1) in page and "<rect" in page  # the bar legend names both years
    defs = page[page.index('id="definitions"') :]
    for figure in ("每千户诉求", "纠纷调处率", "响应率", "解决率", "满意率", "超期", "红色物业覆盖率", "&lt;5"):
        assert f"<dt>{figure}</dt>" in defs
    assert "docs/complaints.md" not in page
    legend = page[page.index('class="gm-map-legend"') :]
    assert len(re.findall(r"gm-swatch", legend.split("</figure>")[0])) == 7  # six classes and "no figure"
    last_year = c.get(f"/kpi?year={this_year - 1}").get_data(as_text=True)
    assert 'id="kpi-partial"' not in last_year
