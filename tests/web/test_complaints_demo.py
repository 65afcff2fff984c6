"""The demo carries years of requests, so /kpi shows real trends; figures recounted from the raw rows."""

from __future__ import annotations

from gridmap import clock, config
from gridmap.services import complaints as svc


def test_demo_has_requests_and_kpis(demo_store, app_factory):
    # the year as the report counts it: Beijing's, not the server's (a UTC server is 8 hours behind on 31 Dec)
    now = clock.local(clock.now(), svc.policy_from(config.load()).zone)
    comp = demo_store.read("complaints", columns=["id", "state", "created_at", "filed_grid_code"])
    years = set(comp["created_at"].dt.year)
    assert {now.year - 2, now.year - 1} <= years and len(comp) > 1000
    assert comp["filed_grid_code"].notna().mean() > 0.9
    rep = svc.kpi_report(demo_store, settings=config.load())
    assert rep["year"] == now.year - 1
    counted = comp[~comp["state"].isin(["rejected", "duplicate"])]
    s = rep["summary"]
    assert s["complaints"] == int((counted["created_at"].dt.year == now.year - 1).sum())
    assert s["complaints_prev"] == int((counted["created_at"].dt.year == now.year - 2).sum())
    assert s["change"] < 0  # the generator's falling trend shows through
    assert sum(r["complaints"] for r in rep["levels"]["grid"]) <= s["complaints"]
    page = app_factory(demo_store).test_client().get("/kpi")
    assert page.status_code == 200 and page.get_data(as_text=True).count("data-code=") > 100
