"""Migrations that migrate: a store made at the first revision and holding data upgrades in place, and the
revisions build exactly the tables the store's model (``gridmap.domain.schema.LAYERS``) describes.

Both run on every backend (``blank_store_url``: a database of its own with no schema yet).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
import shapely
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from click.testing import CliRunner

from gridmap.cli.main import main as cli
from gridmap.domain.schema import BOOL, DATE, DATETIME, FLOAT, INT, JSON, LAYERS, STR
from gridmap.store import migrations, open_store
from gridmap.store.migrations import ddl

#: a naive value as the released store wrote it: UTC wall time
WHEN = dt.datetime(2026, 3, 4, 9, 30, 15, 123456)
SHAPES = {
    "polygon": shapely.box(120.40, 36.30, 120.41, 36.31),
    "point": shapely.Point(120.405, 36.305),
    "line": shapely.LineString([(120.40, 36.30), (120.41, 36.31)]),
}


SCRIPTS = str(Path(migrations.__file__).resolve().parent)


def _head() -> str:
    return ScriptDirectory(SCRIPTS).get_current_head()


def _session_in_shanghai(url: str) -> str:
    """The same PostgreSQL database, with sessions in UTC+8: a conversion that trusted the session's time
    zone instead of reading the old values as UTC would move every instant by eight hours."""
    if not url.startswith("postgresql"):
        return url
    return (
        sa.engine.make_url(url)
        .update_query_dict({"options": "-c timezone=Asia/Shanghai"})
        .render_as_string(hide_password=False)
    )


def _value(kind: str, column: str, i: int):
    return {
        STR: f"{column}-{i}",
        INT: 40 + i,
        FLOAT: 2.5 + i,
        BOOL: bool(i),
        DATE: dt.date(2026, 5, 1 + i),
        DATETIME: WHEN + dt.timedelta(days=i),
        JSON: {"n": i, "名": ["a", None]},
    }[kind]


def _old_rows(table: sa.Table, dialect: str) -> list[dict]:
    """Two rows for ``table`` as revision 0001 stores them, a value in every column."""
    spec = LAYERS[table.name]
    rows = []
    for i in range(2):
        row = {
            c.name: _value(spec.column(c.name).kind, c.name, i) for c in table.columns if c.name in spec.column_names
        }
        if spec.geometry:
            shape = SHAPES[spec.geometry]
            if dialect == "postgresql":
                row["geometry"] = f"SRID=4326;{shape.wkt}"
            else:
                row["geometry"] = shapely.to_wkb(shape)
                row.update(zip(ddl.BBOX_COLUMNS, shape.bounds))
        rows.append(row)
    return rows


#: layers a revision after 0001 created (empty in an upgraded store)
LATER_LAYERS = {"action_keys"}


def test_a_store_at_the_first_revision_upgrades_in_place_and_keeps_every_row(blank_store_url, monkeypatch):
    old = open_store(blank_store_url, migrate=False)
    old.migrate("0001")
    assert old.schema_revision() == "0001"
    dialect = old.engine.dialect.name
    written = {}
    with old.engine.begin() as conn:
        tables = sa.MetaData()
        tables.reflect(conn, only=lambda name, _: name in LAYERS or name == "gridmap_sequences")
        # every layer of today existed at 0001 but those later revisions added (0007: action_keys)
        assert set(LAYERS) - LATER_LAYERS <= set(tables.tables)
        for name in sorted(set(LAYERS) - LATER_LAYERS):
            written[name] = _old_rows(tables.tables[name], dialect)
            conn.execute(tables.tables[name].insert(), written[name])
        conn.execute(tables.tables["gridmap_sequences"].insert(), [{"name": "complaint", "value": 41}])
    old.close()

    monkeypatch.setenv("GRIDMAP_DATABASE_URL", _session_in_shanghai(blank_store_url))
    res = CliRunner().invoke(cli, ["migrate"])
    assert res.exit_code == 0, res.output
    assert f"schema at revision {_head()}" in res.output

    store = open_store(_session_in_shanghai(blank_store_url), migrate=False)
    try:
        assert store.schema_revision() == _head()
        for name, rows in written.items():
            spec = LAYERS[name]
            back = store.read(name)
            assert len(back) == len(rows), name
            for i, row in enumerate(rows):
                key = tuple(row[k] for k in spec.key)
                got = store.get(name, key if len(key) > 1 else key[0])
                assert got is not None, (name, key)
                for col in spec.column_names:
                    if col not in row:  # a column a later revision added: empty in the old rows
                        assert got[col] is None, (name, col, got[col])
                        continue
                    expect = row[col]
                    if spec.column(col).kind == DATETIME:  # the naive value was UTC
                        expect = expect.replace(tzinfo=dt.UTC)
                        assert back[col].iloc[i] == pd.Timestamp(expect), (name, col)
                    assert got[col] == expect, (name, col, got[col], expect)
                if spec.geometry:
                    assert got["geometry"].equals(SHAPES[spec.geometry]), name
            if spec.geometry:  # the spatial index made at 0001 still answers
                hit = store.read(name, bbox=(120.404, 36.304, 120.406, 36.306), columns=list(spec.key))
                assert len(hit) == 2, name
                assert store.count(name, bbox=(0, 0, 1, 1)) == 0, name
        assert store.next_id("complaint") == 42
        # the upgraded store takes new rows like a new one
        store.write("audit_log", pd.DataFrame([{"id": "new", "at": WHEN, "action": "x.y"}]))
        assert store.get("audit_log", "new")["at"] == WHEN.replace(tzinfo=dt.UTC)
    finally:
        store.close()


def _drift(store) -> list:
    """Differences between the database the revisions built and the store's model."""

    def ours(name, type_, parent_names):
        return not (type_ == "table" and ddl.is_backend_internal(name))

    with store.engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True, "include_name": ours})
        return compare_metadata(ctx, store.metadata)


def test_the_revisions_build_the_model(blank_store_url):
    store = open_store(blank_store_url)
    try:
        assert store.schema_revision() == _head()
        assert _drift(store) == []
    finally:
        store.close()


def test_the_drift_check_sees_a_model_change_without_a_revision(blank_store_url):
    store = open_store(blank_store_url)
    try:
        store.tables["streets"].append_column(sa.Column("colour", sa.Text()))  # no revision made it
        store.tables["audit_log"].c["at"].type = sa.DateTime()  # and a type they changed long ago
        diff = _drift(store)
        assert ("add_column", None, "streets", store.tables["streets"].c["colour"]) in diff
        if store.engine.dialect.name == "postgresql":
            assert any(
                d[0][0] == "modify_type" and d[0][2:4] == ("audit_log", "at") for d in diff if isinstance(d, list)
            )
    finally:
        store.close()


def test_downgrade_to_the_first_revision_and_up_again_keeps_the_instants(blank_store_url):
    store = open_store(blank_store_url)
    try:
        store.write("audit_log", pd.DataFrame([{"id": "a", "at": WHEN, "action": "x.y"}]))
        cfg = Config()
        cfg.set_main_option("script_location", SCRIPTS)
        cfg.attributes["store"] = store
        with store.engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.downgrade(cfg, "0001")
        assert store.schema_revision() == "0001"
        store.migrate()
        assert store.get("audit_log", "a")["at"] == WHEN.replace(tzinfo=dt.UTC)
        assert _drift(store) == []
    finally:
        store.close()
