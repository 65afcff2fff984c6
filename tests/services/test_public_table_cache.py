"""The public counts' cache (issue #18): the table is kept while the store's change counters say the requests
are unchanged — a change from any connection makes a new one at once — and an expired table is still answered
while a new one is made in the background (no request waits for the district's requests to be labelled)."""

from __future__ import annotations

import sqlite3
import time

from gridmap.services.complaints import public


def test_the_table_is_kept_until_a_request_changes_from_any_connection(demo_copy):
    first = public.public_table(demo_copy)
    assert public.public_table(demo_copy) is first  # nothing changed: the kept table, no read of the requests
    with sqlite3.connect(demo_copy.url.split("///", 1)[1]) as other:  # another process, plain SQL
        (cid,) = other.execute("SELECT id FROM complaints WHERE state = 'collected' LIMIT 1").fetchone()
        other.execute("UPDATE complaints SET state = 'dispatched' WHERE id = ?", (cid,))
    second = public.public_table(demo_copy)
    assert second is not first
    assert public.public_table(demo_copy) is second


def test_an_expired_table_is_answered_while_a_new_one_is_made(demo_copy, monkeypatch):
    first = public.public_table(demo_copy)
    monkeypatch.setattr(public, "CACHE_SECONDS", 0.0)
    time.sleep(0.01)
    assert public.public_table(demo_copy) is first  # at once, the kept table …
    deadline = time.monotonic() + 120
    while public._REFRESHING and time.monotonic() < deadline:  # … while the new one is made
        time.sleep(0.05)
    assert not public._REFRESHING
    monkeypatch.setattr(public, "CACHE_SECONDS", 120.0)
    fresh = public.public_table(demo_copy)
    assert fresh is not first and fresh.now > first.now
