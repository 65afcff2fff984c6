"""``gridmap complaints escalate|kpi`` against a store named by GRIDMAP_DATABASE_URL."""

from __future__ import annotations

import datetime as dt
import json

from click.testing import CliRunner

from complaints_world import build, lonlat
from gridmap import config
from gridmap.cli.main import main
from gridmap.services import complaints as svc
from gridmap.web.access import User


def test_escalate_and_kpi_commands(sqlite_store, monkeypatch):
    build(sqlite_store)
    lon, lat = lonlat(20, 20)
    rec = svc.submit(
        sqlite_store,
        {"category": "consultation", "description": "咨询", "lon": lon, "lat": lat},
        user=User(None, "x", "public"),
        settings=config.load(),
        now=dt.datetime(2025, 3, 3, 9),
    )
    monkeypatch.setenv("GRIDMAP_DATABASE_URL", sqlite_store.url)
    runner = CliRunner()
    r = runner.invoke(main, ["complaints", "escalate", "--now", "2025-03-06T09:00"])
    assert r.exit_code == 0, r.output
    assert json.loads(r.output) == {"checked": 1, "escalated": [rec["id"]], "events": 1}
    assert sqlite_store.get("complaints", rec["id"])["escalation"] == 1
    assert runner.invoke(main, ["complaints", "escalate", "--now", "yesterday"]).exit_code == 2
    k = runner.invoke(main, ["complaints", "kpi", "--year", "2025"])
    assert k.exit_code == 0 and json.loads(k.output)["complaints"] == 1
