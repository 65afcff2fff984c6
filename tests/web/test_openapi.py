"""The OpenAPI document describes every /api route, and the API holds to it under property-based fuzzing."""

from __future__ import annotations

import re

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from gridmap.services import accounts
from gridmap.web import get_store
from gridmap.web.openapi import document


def flask_to_openapi(rule: str) -> str:
    return re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule)


def api_routes(app) -> set[tuple[str, str]]:
    return {
        (flask_to_openapi(r.rule), m.lower())
        for r in app.url_map.iter_rules()
        if r.rule.startswith("/api/")
        for m in r.methods - {"HEAD", "OPTIONS"}
    }


def test_every_api_route_is_described_and_nothing_else(app):
    described = {(p, m) for p, ops in document()["paths"].items() for m in ops}
    routes = api_routes(app)
    assert routes - described == set(), "undocumented /api routes: add them to gridmap/web/openapi.py"
    assert described - routes == set(), "documented operations the app does not serve"


def test_document_roles_match_the_access_rules(app):
    from gridmap.web.access import lowest_role

    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/"):
            continue
        for m in rule.methods - {"HEAD", "OPTIONS"}:
            op = document()["paths"][flask_to_openapi(rule.rule)][m.lower()]
            assert op["x-gridmap-role"] == lowest_role(app.view_functions[rule.endpoint]), (rule.rule, m)


@pytest.fixture
def fuzz_app(app):
    with app.app_context():
        store = get_store()
        accounts.add_user(store, username="fuzz-admin", role="admin", password=None)
        _, secret = accounts.issue_api_token(store, "fuzz-admin", days=1)
    app.config["FUZZ_TOKEN"] = secret
    return app


def fuzz(app, *, headers: dict[str, str], examples: int, mode: GenerationMode) -> list[str]:
    """Run every operation's generated cases through the app; return the failures (as text)."""
    schema = schemathesis.openapi.from_wsgi("/api/openapi.json", app)
    failures: list[str] = []
    for result in schema.get_all_operations():
        operation = result.ok()

        @given(case=operation.as_strategy(generation_mode=mode))
        @settings(
            max_examples=examples,
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def run(case):
            case.call_and_validate(headers=headers, checks=CHECKS)

        try:
            run()
        except Unsatisfiable:  # negative mode: an operation with no input cannot be given a bad one
            continue
        except Exception as exc:  # collect every operation's failure, not only the first
            failures.append(f"{operation.method.upper()} {operation.path}: {str(exc)[:1500]}")
    return failures


#: zero 5xx; status codes, content types and bodies as documented
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


def test_api_fuzz_as_admin(fuzz_app):
    """Signed in with a bearer token, valid inputs: everything the document promises."""
    auth = {"Authorization": f"Bearer {fuzz_app.config['FUZZ_TOKEN']}"}
    failures = fuzz(fuzz_app, headers=auth, examples=20, mode=GenerationMode.POSITIVE)
    assert not failures, "\n\n".join(failures)


def test_api_fuzz_invalid_input(fuzz_app):
    """Inputs that break the document's constraints: documented errors, never 5xx."""
    auth = {"Authorization": f"Bearer {fuzz_app.config['FUZZ_TOKEN']}"}
    failures = fuzz(fuzz_app, headers=auth, examples=12, mode=GenerationMode.NEGATIVE)
    assert not failures, "\n\n".join(failures)


def test_api_fuzz_anonymous(fuzz_app):
    """Without credentials: refusals are documented errors, never 5xx."""
    failures = fuzz(fuzz_app, headers={}, examples=6, mode=GenerationMode.POSITIVE)
    assert not failures, "\n\n".join(failures)
