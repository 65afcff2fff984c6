"""The OpenAPI document describes every /api route, is generated from the request models the views validate
with, and the API holds to it under property-based fuzzing (schemathesis: no 5xx; status codes, content types
and bodies as documented; valid requests accepted, invalid ones refused)."""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    positive_data_acceptance,
    response_schema_conformance,
    status_code_conformance,
)

from gridmap.services import accounts
from gridmap.web import get_store
from gridmap.web.openapi import document


def flask_to_openapi(rule: str) -> str:
    return re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule)


#: the machine-facing routes described here: gridmap's JSON API, Open311 GeoReport v2 (OGC API – Features and
#: Tiles answer with their own OpenAPI 3.0 document at /ogc/api; their parameters are not yet models)
API_PREFIXES = ("/api/", "/open311/")


def api_rules(app) -> list:
    return [r for r in app.url_map.iter_rules() if r.rule.startswith(API_PREFIXES)]


def api_routes(app) -> set[tuple[str, str]]:
    return {(flask_to_openapi(r.rule), m.lower()) for r in api_rules(app) for m in r.methods - {"HEAD", "OPTIONS"}}


def test_every_api_route_is_described_and_nothing_else(app):
    described = {(p, m) for p, ops in document()["paths"].items() for m in ops}
    routes = api_routes(app)
    assert {p for p, _ in routes} >= {"/api/complaints", "/open311/v2/requests.{fmt}"}
    assert routes - described == set(), "undocumented /api or /open311 routes: describe them (gridmap.web.openapi)"
    assert described - routes == set(), "documented operations the app does not serve"


def test_document_roles_match_the_access_rules(app):
    from gridmap.web.access import lowest_role

    for rule in api_rules(app):
        for m in rule.methods - {"HEAD", "OPTIONS"}:
            op = document()["paths"][flask_to_openapi(rule.rule)][m.lower()]
            assert op["x-gridmap-role"] == lowest_role(app.view_functions[rule.endpoint]), (rule.rule, m)


@pytest.fixture
def fuzz_app(app):
    with app.app_context():
        store = get_store()
        accounts.add_user(store, username="fuzz-admin", role="admin", password=None)
        _, secret = accounts.issue_api_token(store, "fuzz-admin", days=1)
        accounts.add_user(store, username="fuzz-viewer", role="viewer", password=None)
        _, viewer = accounts.issue_api_token(store, "fuzz-viewer", days=1)
        accounts.add_user(
            store, username="fuzz-official", role="street_official", password=None, scope={"streets": ["370214001"]}
        )
        _, staff = accounts.issue_api_token(store, "fuzz-official", days=1)
    app.config["FUZZ_TOKEN"], app.config["FUZZ_VIEWER_TOKEN"], app.config["FUZZ_STAFF_TOKEN"] = secret, viewer, staff
    return app


@dataclass
class Tally:
    """What one fuzz run did: operations run, cases sent, answers by status class, failures (as text)."""

    operations: int = 0
    cases: int = 0
    statuses: Counter = field(default_factory=Counter)
    failures: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        by = ", ".join(f"{k}: {v}" for k, v in sorted(self.statuses.items()))
        return f"{self.operations} operations, {self.cases} cases ({by}), {len(self.failures)} failing operations"


def fuzz(app, *, headers: dict[str, str], examples: int, mode: GenerationMode) -> Tally:
    """Run every operation's generated cases through the app (at most ``examples`` each, derandomized)."""
    schema = schemathesis.openapi.from_wsgi("/api/openapi.json", app)
    tally = Tally()
    sent = {"Accept-Encoding": "identity", **headers}  # the WSGI transport does not undo gzip as HTTP clients do
    for result in schema.get_all_operations():
        operation = result.ok()
        tally.operations += 1

        @given(case=operation.as_strategy(generation_mode=mode))
        @settings(
            max_examples=examples,
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def run(case):
            tally.cases += 1
            response = case.call(headers=sent)
            tally.statuses[f"{response.status_code // 100}xx"] += 1
            case.validate_response(response, CHECKS, headers=sent, transport_kwargs={"headers": dict(sent)})

        try:
            run()
        except Unsatisfiable:  # negative mode: an operation with no input cannot be given a bad one
            continue
        except (Exception, BaseExceptionGroup) as exc:  # every operation's failures, not only the first's
            tally.failures.append(f"{operation.method.upper()} {operation.path}: {str(exc)[:1500]}")
    print(f"fuzz {mode.name.lower()} {sorted(headers) or 'anonymous'}: {tally}")
    return tally


#: operations schemathesis leaves out: the document it reads its cases from
NOT_FUZZED = {("/api/openapi.json", "get")}


def _held(tally: Tally, app) -> None:
    """No check failed, no answer was a 5xx, every documented operation ran."""
    assert not tally.failures, "\n\n".join(tally.failures)
    assert tally.statuses["5xx"] == 0 and tally.cases >= tally.operations, tally
    assert tally.operations == len(api_routes(app) - NOT_FUZZED), tally


#: Schema-valid requests the app may still refuse with 400, and the rule it names: what a JSON Schema cannot
#: say — an order between two numbers, a parameter that depends on the path, whether a referenced area, grid or
#: building exists (in the store, in the draft), a GeoJSON record the layer of the path cannot hold (its
#: required columns). Any other refusal of a valid request fails the run.
DATA_RULES = {
    ("GET", "/api/layers/{layer}"): r"minx<=maxx|filters the buildings layer only",
    ("POST", "/api/embed-tokens"): r"网格范围不存在|区域编码 \d+ 是|嵌入页面需要视图|请填写区域编码",
    ("POST", "/api/place/{kind}"): r"GeoJSON|缺少必填列",
    ("POST", "/api/complaints"): r"building .* does not exist|is not an open request",
    ("GET", "/open311/v2/requests.{fmt}"): r"90 days|before start_date",
    ("POST", "/open311/v2/requests.{fmt}"): r"building .* does not exist|contact_name is",
    ("POST", "/api/planner/drafts/{draft}/move"): r"方案中没有这些楼栋|没有网格",
    ("POST", "/api/planner/drafts/{draft}/merge"): r"没有网格",
    ("POST", "/api/planner/drafts/{draft}/split"): r"没有网格|不在网格|不能为空|无法拆分",
    ("POST", "/api/planner/drafts/{draft}/lock"): r"没有网格",
    # publishing takes effect at once: an effective date after today (a moving bound) is refused
    ("POST", "/api/planner/drafts/{draft}/publish"): r"晚于今天",
    ("POST", "/api/planner/rollback"): r"晚于今天",
}
#: operations taking a file: what is inside it (and its name) is not described, so a refused file is no failure
UPLOADS = {("POST", "/api/place/{kind}"), ("POST", "/api/planner/import")}


@schemathesis.check
def valid_data_accepted(ctx, response, case):
    """schemathesis' positive_data_acceptance, except a refusal :data:`DATA_RULES` names for this operation
    and a refused file (:data:`UPLOADS`)."""
    key = (case.operation.method.upper(), case.operation.path)
    rule = DATA_RULES.get(key)
    if rule and response.status_code == 400 and re.search(rule, response.text):
        return None
    if key in UPLOADS and case.media_type == "multipart/form-data" and response.status_code in (400, 413, 415):
        return None
    return positive_data_acceptance(ctx, response, case)


#: zero 5xx; status codes, content types and bodies as documented; valid input accepted, invalid refused
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    valid_data_accepted,
    negative_data_rejection,
]


def test_api_fuzz_as_admin(fuzz_app):
    """Signed in with a bearer token, valid inputs: everything the document promises."""
    auth = {"Authorization": f"Bearer {fuzz_app.config['FUZZ_TOKEN']}"}
    _held(fuzz(fuzz_app, headers=auth, examples=20, mode=GenerationMode.POSITIVE), fuzz_app)


def test_api_fuzz_invalid_input(fuzz_app):
    """Inputs that break the document's constraints: documented errors, never 5xx."""
    auth = {"Authorization": f"Bearer {fuzz_app.config['FUZZ_TOKEN']}"}
    _held(fuzz(fuzz_app, headers=auth, examples=12, mode=GenerationMode.NEGATIVE), fuzz_app)


def test_api_fuzz_as_viewer_with_a_bearer_token(fuzz_app):
    """A low role's bearer token: what it may not do is a documented 403, what it may do conforms."""
    auth = {"Authorization": f"Bearer {fuzz_app.config['FUZZ_VIEWER_TOKEN']}"}
    _held(fuzz(fuzz_app, headers=auth, examples=4, mode=GenerationMode.POSITIVE), fuzz_app)


def test_api_fuzz_as_staff_with_a_bearer_token(fuzz_app):
    """A staff role (a street official: complaints yes, plans and accounts no): allowed operations conform,
    the others are documented 403s."""
    auth = {"Authorization": f"Bearer {fuzz_app.config['FUZZ_STAFF_TOKEN']}"}
    _held(fuzz(fuzz_app, headers=auth, examples=6, mode=GenerationMode.POSITIVE), fuzz_app)


def test_api_fuzz_anonymous(fuzz_app):
    """Without credentials: refusals are documented errors, never 5xx."""
    _held(fuzz(fuzz_app, headers={}, examples=6, mode=GenerationMode.POSITIVE), fuzz_app)


# -- the document is generated from the request models ------------------------------------------------------
def test_document_is_valid_openapi_and_generated_from_the_view_models(app):
    from openapi_spec_validator import validate

    from gridmap.web.schemas import request_of

    doc = document()
    validate(doc)
    assert doc["openapi"].startswith("3.1")
    for rule in api_rules(app):
        req = request_of(app.view_functions[rule.endpoint])
        for m in rule.methods - {"HEAD", "OPTIONS"}:
            operation = doc["paths"][flask_to_openapi(rule.rule)][m.lower()]
            documented = {p["name"] for p in operation["parameters"] if p["in"] == "query"}
            assert documented == set(req.query.model_fields if req.query else ()), (rule.rule, m)
            content = operation.get("requestBody", {}).get("content", {})
            if req.body is not None:
                assert content["application/json"]["schema"] == {"$ref": f"#/components/schemas/{req.body.__name__}"}
                assert doc["components"]["schemas"][req.body.__name__]  # the model's own JSON Schema
            assert ("multipart/form-data" in content) == (req.upload is not None), (rule.rule, m)
            assert bool(content) == (req.body is not None or req.upload is not None), (rule.rule, m)


def _example_path(path: str, operation: dict) -> str:
    for p in operation["parameters"]:
        if p["in"] == "path":
            path = path.replace("{" + p["name"] + "}", str(p["schema"].get("enum", ["x"])[0]))
    return path


def _refused(r) -> str:
    """The fields a 400 names: the API's ``detail``, or the text of GeoReport v2's error list (Open311)."""
    got = r.get_json()
    if isinstance(got, list):
        return " ".join(e["description"] for e in got)
    return " ".join(d["field"] for d in got["error"]["detail"])


def test_fields_an_operation_does_not_list_are_refused(fuzz_app):
    """The allow-list: an unknown query parameter or body member is a 400 naming it, on every operation."""
    c = fuzz_app.test_client()
    auth = {"Authorization": f"Bearer {fuzz_app.config['FUZZ_TOKEN']}"}
    doc = document()
    checked = 0
    for path, ops in doc["paths"].items():
        for method, operation in ops.items():
            url = _example_path(path, operation)
            if any(p["in"] == "query" for p in operation["parameters"]):
                r = c.open(
                    url,
                    method=method.upper(),
                    query_string={"sneaky": "1"},
                    headers=auth,
                    json={} if method != "get" else None,
                )
                assert r.status_code == 400, (method, url, r.get_data(as_text=True))
                assert "sneaky" in _refused(r), (method, url)
                checked += 1
            schema = operation.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema")
            target = schema and doc["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
            if target and target.get("type") == "object":
                r = c.open(url, method=method.upper(), json={"sneaky": 1}, headers=auth)
                assert r.status_code == 400, (method, url, r.get_data(as_text=True))
                assert "sneaky" in _refused(r), (method, url)
                checked += 1
    assert checked >= 30


@pytest.mark.parametrize(
    "method,url,body,field",
    [
        ("GET", "/api/audit?offset=-1", None, "offset"),
        ("GET", "/api/audit?limit=1001", None, "limit"),
        ("GET", "/api/layers/grids?zoom=0.5", None, "zoom"),
        ("GET", "/api/layers/grids?bbox=1e3,0,2e3,1", None, "bbox"),
        ("GET", "/api/layers/grids?state=", None, "state"),
        ("GET", "/api/kpi?year=2024.0", None, "year"),
        ("GET", "/api/planner/diff?old=a", None, "new"),
        ("POST", "/api/tokens", {"days": "5"}, "days"),
        ("POST", "/api/tokens", {"days": True}, "days"),
        ("POST", "/api/embed-tokens", {"hours": 0}, "hours"),
        ("POST", "/api/embed-tokens", {"layers": ["x" * 41]}, "layers.0"),
        ("POST", "/api/planner/drafts/d1/publish", {"effective_date": "2026-02-30"}, "effective_date"),
        ("POST", "/api/planner/drafts/d1/lock", {"grids": ["a"], "locked": "false"}, "locked"),
    ],
)
def test_invalid_input_is_400_with_field_and_problem(fuzz_app, method, url, body, field):
    c = fuzz_app.test_client()
    r = c.open(url, method=method, json=body, headers={"Authorization": f"Bearer {fuzz_app.config['FUZZ_TOKEN']}"})
    assert r.status_code == 400, r.get_data(as_text=True)
    err = r.get_json()["error"]
    assert err["code"] == "invalid_input" and field in err["message"]
    assert [d["field"] for d in err["detail"]] == [field] and err["detail"][0]["problem"]


def test_embed_token_origin_is_kept_as_scheme_and_host_and_a_path_is_refused(fuzz_app):
    """The embed token's origin (main's desktop work) is a field of the model: kept as https://host[:port],
    a path refused with a message naming origin, and nothing stored for the refused one."""
    c = fuzz_app.test_client()
    auth = {"Authorization": f"Bearer {fuzz_app.config['FUZZ_TOKEN']}"}
    ok = c.post("/api/embed-tokens", json={"view": "map", "origin": "https://Dash.Example.gov.cn:8443/"}, headers=auth)
    assert ok.status_code == 201, ok.get_json()
    assert ok.get_json()["origin"] == "https://dash.example.gov.cn:8443"
    before = c.get("/api/embed-tokens", headers=auth).get_json()["embeds"]
    bad = c.post("/api/embed-tokens", json={"view": "map", "origin": "https://dash.example.gov.cn/page"}, headers=auth)
    assert bad.status_code == 400
    assert "origin" in bad.get_json()["error"]["message"]
    assert c.get("/api/embed-tokens", headers=auth).get_json()["embeds"] == before
