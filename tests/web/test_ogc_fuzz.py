"""OGC API – Features and Tiles under /ogc hold to their own OpenAPI 3.0 document (``/ogc/api``) under
property-based fuzzing, anonymously and with a bearer token: never a 5xx, and status codes and content types as
documented — over the hand-drawn world of ``scale_world``, on SQLite."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import content_type_conformance, status_code_conformance

from gridmap.services import accounts
from gridmap.web import get_store
from tests.web import scale_world as W

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance]


@pytest.fixture
def ogc_app(sqlite_store, app_factory):
    W.load(sqlite_store)
    app = app_factory(sqlite_store)
    with app.app_context():
        accounts.add_user(get_store(), username="fuzz-viewer", role="viewer", password=None)
        _, secret = accounts.issue_api_token(get_store(), "fuzz-viewer", days=1)
    app.config["FUZZ_TOKEN"] = secret
    return app


def _fuzz(app, headers: dict[str, str], mode: GenerationMode, examples: int) -> tuple[list[str], int]:
    schema = schemathesis.openapi.from_wsgi("/ogc/api", app)
    failures: list[str] = []
    operations = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        operations += 1

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
        except Exception as exc:  # every operation's failure, not only the first
            if type(exc).__name__ == "Unsatisfiable":
                continue
            failures.append(f"{operation.method.upper()} {operation.path}: {str(exc)[:1500]}")
    return failures, operations


@pytest.mark.parametrize("who", ["anonymous", "bearer"])
def test_ogc_fuzz_valid_input(ogc_app, who):
    headers = {"Authorization": f"Bearer {ogc_app.config['FUZZ_TOKEN']}"} if who == "bearer" else {}
    failures, operations = _fuzz(ogc_app, headers, GenerationMode.POSITIVE, examples=15)
    assert operations >= 8, "the /ogc document lists its operations"
    assert not failures, "\n\n".join(failures)


def test_ogc_fuzz_invalid_input(ogc_app):
    failures, _ = _fuzz(ogc_app, {}, GenerationMode.NEGATIVE, examples=10)
    assert not failures, "\n\n".join(failures)


@pytest.mark.parametrize(
    "query", ["households=99999999999999999999999", "filter=households%3D99999999999999999999999&filter-lang=cql2-text"]
)
def test_a_whole_number_beyond_64_bits_is_a_clear_400(ogc_app, query):
    resp = ogc_app.test_client().get(f"/ogc/collections/grids/items?{query}")
    assert resp.status_code == 400, resp.get_data(as_text=True)
    assert "out of range" in resp.get_data(as_text=True)
