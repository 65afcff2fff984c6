"""A CQL2 filter sent to /ogc on PostGIS runs in SQL: the query log (SQLAlchemy's ``before_cursor_execute``) shows the
attribute and spatial conditions in the WHERE clause of the statements that count and page the buildings, and no
statement reads the buildings without them (nothing is filtered row by row in Python)."""

from __future__ import annotations

from urllib.parse import quote

import pytest
import sqlalchemy as sa

from gridmap.store import open_store
from tests.web import scale_world as W

pytestmark = pytest.mark.postgis


@pytest.fixture
def pg(postgis_url):
    store = open_store(postgis_url)
    from tests.conftest import _empty

    _empty(store)
    yield store
    store.close()


def test_a_cql2_filter_runs_in_the_postgis_query(pg, app_factory):
    W.load(pg)
    client = app_factory(pg).test_client()
    log: list[tuple[str, object]] = []

    def record(conn, cursor, statement, parameters, context, executemany):
        log.append((statement, parameters))

    engines = {id(pg.engine): pg.engine, id(pg.read_engine): pg.read_engine}.values()
    for engine in engines:
        sa.event.listen(engine, "before_cursor_execute", record)
    try:
        box = f"BBOX({W.X0 - 0.001}, {W.Y0 - 0.001}, {W.X0 + 0.003}, {W.Y0 + 0.003})"
        text = f"households >= 100 AND S_INTERSECTS(geometry, {box})"
        resp = client.get(f"/ogc/collections/buildings/items?limit=1&filter={quote(text)}")
    finally:
        for engine in engines:
            sa.event.remove(engine, "before_cursor_execute", record)
    assert resp.status_code == 200, resp.get_data(as_text=True)
    body = resp.get_json()
    assert (body["numberMatched"], [f["id"] for f in body["features"]]) == (2, ["b15"])
    on_buildings = [(s, p) for s, p in log if "FROM buildings" in s]
    assert len(on_buildings) == 2  # one count, one page
    for statement, params in on_buildings:
        where = statement.split("WHERE", 1)[1]
        assert "buildings.households >= %(households_1)s" in where, statement
        assert "ST_Intersects(buildings.geometry, ST_GeomFromEWKT(" in where, statement
        assert "buildings.geometry && ST_MakeEnvelope(" in where, statement  # the GiST index first
        assert params["households_1"] == 100
    page = next(s for s, _ in on_buildings if "count(" not in s)
    assert "LIMIT" in page and "ORDER BY buildings.id" in page
