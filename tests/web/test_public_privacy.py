"""No public or embed response carries a personal field: every GET route of the app, requested anonymously
(embed routes with a valid token) over the demo world, is searched for personal columns and values."""
from __future__ import annotations

import re

from gridmap import privacy
from gridmap.services.accounts import issue_embed
from gridmap.web import get_store
from gridmap.web.access import embed_view_of


def _url(rule, ids):
    url = rule.rule
    for m in re.finditer(r"<(?:([^:<>]+):)?([^<>]+)>", rule.rule):
        value = ids.get(m.group(2), "1" if m.group(1) == "int" else "x")
        url = url.replace(m.group(0), value, 1)
    return url


def test_public_and_embed_responses_hold_no_personal_data(demo_copy, app_factory):
    store = demo_copy
    households = store.read("households", columns=["head_name", "phone", "room"], limit=300)
    phones = {p for p in households["phone"].dropna() if len(str(p)) >= 11}
    names = {n for n in households["head_name"].dropna() if len(str(n)) >= 3}
    stewards = store.read("stewards", columns=["name", "phone"], limit=300)
    phones |= {p for p in stewards["phone"].dropna() if len(str(p)) >= 11}
    names |= {n for n in stewards["name"].dropna() if len(str(n)) >= 3}
    complaints = store.read("complaints", columns=["id", "contact_phone", "community_id", "filed_grid_code"])
    phones |= {p for p in complaints["contact_phone"].dropna() if len(str(p)) >= 11}
    assert phones and names, "the demo world should hold personal data to look for"
    grid = str(complaints["filed_grid_code"].dropna().iloc[0])
    ids = {"code": grid, "cid": str(complaints.iloc[0]["id"]), "rid": str(complaints.iloc[0]["id"]),
           "sid": grid[:9], "fmt": "json", "collection_id": "buildings", "layer": "buildings",
           "z": "14", "x": "13677", "y": "6293"}
    app = app_factory(store)
    client = app.test_client()
    checked = 0
    leaks = []
    for rule in app.url_map.iter_rules():
        if "GET" not in rule.methods or rule.endpoint == "static" or rule.endpoint.endswith("openapi") \
                or rule.endpoint == "openapi.openapi_json":  # API descriptions name fields, hold no data
            continue
        view = app.view_functions[rule.endpoint]
        query = {}
        if embed_view_of(view):
            with app.app_context():
                query["token"] = issue_embed(get_store(), app.config["SECRET_KEY"], view=embed_view_of(view))["token"]
        resp = client.get(_url(rule, ids), query_string=query)
        if resp.status_code >= 400 or resp.mimetype in ("application/x-protobuf", "application/vnd.mapbox-vector-tile"):
            continue
        checked += 1
        text = resp.get_data(as_text=True)
        where = f"GET {rule.rule}"
        if resp.is_json:
            found = privacy.personal_fields_in(resp.get_json())
            if found:
                leaks.append(f"{where}: personal fields {found[:5]}")
        hit = [v for v in phones if v in text] + [v for v in names if v in text]
        if hit:
            leaks.append(f"{where}: personal values {hit[:3]}")
    assert checked >= 5
    assert not leaks, "\n".join(leaks)
