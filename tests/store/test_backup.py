"""Backups that restore (issue #16): `gridmap backup` while requests keep coming in, `gridmap restore` into a
new store gives the same rows, on SQLite (online backup API) and PostGIS (pg_dump/pg_restore); a backup from a
newer schema is refused, one from an older schema is upgraded."""

from __future__ import annotations

import sqlite3
import sys
import threading
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "web"))
from complaints_world import build, lonlat
from conftest import BACKENDS, _new_postgis_database
from gridmap import config
from gridmap.cli.main import main
from gridmap.services import complaints as svc
from gridmap.store import backup as backups
from gridmap.store import open_store
from gridmap.store.base import StoreError
from gridmap.web.access import User

PUB = User(None, "anon", "public")


@pytest.fixture(params=BACKENDS)
def urls(request, tmp_path):
    """``(source, target)``: two empty databases of one backend."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'live.db'}", f"sqlite:///{tmp_path / 'restored.db'}"
        return
    request.applymarker(pytest.mark.postgis)
    with _new_postgis_database() as a, _new_postgis_database() as b:
        yield a, b


def _submit(store, i: int) -> str:
    lon, lat = lonlat(20, 20)
    data = {"category": "parking", "description": f"备份中 {i}", "lon": lon, "lat": lat}
    return svc.submit(store, data, user=PUB, settings=config.load())["id"]


def _rows(store, layer: str, key: list[str]) -> pd.DataFrame:
    frame = pd.DataFrame(store.read(layer)).drop(columns=["geometry"], errors="ignore")
    return frame.sort_values(key).reset_index(drop=True).astype(str)


def _cli(url: str, *args: str, monkeypatch) -> object:
    monkeypatch.setenv("GRIDMAP_DATABASE_URL", url)
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def test_a_backup_under_load_restores_the_same_rows(urls, tmp_path, monkeypatch):
    live_url, new_url = urls
    live = open_store(live_url)
    build(live)
    for i in range(5):
        _submit(live, i)
    before = set(live.read("complaints", columns=["id"])["id"])
    stop, written, failures = threading.Event(), [], []

    def keep_submitting(worker: int) -> None:
        k = 0
        while not stop.is_set() or k < 3:  # at least three each, most of them while the backup runs
            try:
                written.append(_submit(live, 1000 * (worker + 1) + k))
            except Exception as exc:
                failures.append(exc)
                return
            k += 1

    workers = [threading.Thread(target=keep_submitting, args=(w,)) for w in range(3)]
    for t in workers:
        t.start()
    file = tmp_path / "gridmap.backup"
    res = _cli(live_url, "backup", str(file), monkeypatch=monkeypatch)
    stop.set()
    for t in workers:
        t.join()
    assert res.exit_code == 0, res.output
    assert not failures, failures
    assert len(written) >= 9

    res = _cli(new_url, "restore", str(file), "--yes", monkeypatch=monkeypatch)
    assert res.exit_code == 0, res.output
    restored = open_store(new_url)
    try:
        ids = set(restored.read("complaints", columns=["id"])["id"])
        after = set(live.read("complaints", columns=["id"])["id"])
        # a consistent snapshot: everything there before the backup, nothing that was never written
        assert before <= ids <= after
        # every request restored is the same row, with exactly its own events
        got = _rows(restored, "complaints", ["id"])
        want = _rows(live, "complaints", ["id"])
        assert got.equals(want[want["id"].isin(ids)].reset_index(drop=True))
        ev_got = _rows(restored, "complaint_events", ["complaint_id", "seq"])
        ev_want = _rows(live, "complaint_events", ["complaint_id", "seq"])
        assert ev_got.equals(ev_want[ev_want["complaint_id"].isin(ids)].reset_index(drop=True))
        for layer in ("buildings", "communities", "plan_assignments", "plans"):
            assert restored.count(layer) == live.count(layer) > 0, layer
        assert restored.schema_revision() == backups.head_revision()
        # the restored store takes new requests (its id sequences came along)
        new_id = _submit(restored, 99)
        assert new_id not in ids
    finally:
        restored.close()
        live.close()


def test_restore_refuses_a_newer_schema_and_upgrades_an_older_one(tmp_path, monkeypatch):
    src = f"sqlite:///{tmp_path / 'a.db'}"
    store = open_store(src)
    build(store)
    n = store.count("buildings")
    store.close()
    newer = tmp_path / "newer.backup"
    assert _cli(src, "backup", str(newer), monkeypatch=monkeypatch).exit_code == 0
    with sqlite3.connect(newer) as conn:
        conn.execute("UPDATE alembic_version SET version_num = '9999'")
    target_url = f"sqlite:///{tmp_path / 'target.db'}"
    target = open_store(target_url)
    build(target)
    target.close()
    before = (tmp_path / "target.db").read_bytes()
    res = _cli(target_url, "restore", str(newer), "--yes", monkeypatch=monkeypatch)
    assert res.exit_code == 1 and "'9999'" in res.stderr and "newer" in res.stderr
    assert (tmp_path / "target.db").read_bytes() == before  # left as it was

    older = tmp_path / "older.backup"
    old_url = f"sqlite:///{tmp_path / 'old.db'}"
    old = open_store(old_url, migrate=False)
    old.migrate("0002")  # a store an older gridmap left
    old.close()
    with sqlite3.connect(tmp_path / "old.db") as conn:
        assert conn.execute("SELECT version_num FROM alembic_version").fetchone()[0] == "0002"
    assert _cli(old_url, "backup", str(older), monkeypatch=monkeypatch).exit_code == 0
    res = _cli(target_url, "restore", str(older), "--yes", monkeypatch=monkeypatch)
    assert res.exit_code == 0, res.output
    assert "revision 0002" in res.output and f"now at {backups.head_revision()}" in res.output
    restored = open_store(target_url)
    try:
        assert restored.schema_revision() == backups.head_revision() and restored.count("buildings") == 0
    finally:
        restored.close()
    assert n > 0


def test_restore_refuses_what_is_not_a_backup_of_that_backend(tmp_path):
    junk = tmp_path / "junk.bin"
    junk.write_bytes(b"hello")
    with pytest.raises(StoreError, match="not a gridmap backup"):
        backups.restore(junk, f"sqlite:///{tmp_path / 'x.db'}")
    db = tmp_path / "s.db"
    open_store(f"sqlite:///{db}").close()
    with pytest.raises(StoreError, match="sqlite backup"):
        backups.restore(db, "postgresql+psycopg://u@127.0.0.1:1/none")
