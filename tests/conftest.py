"""Shared fixtures: stores for every backend, the app, a live server, signing in, the demo store.

Tests that need PostgreSQL/PostGIS or a real browser skip with the reason when the service is missing —
except under ``CI=true``, where such a skip is a failure.
"""

from __future__ import annotations

import os
import threading
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from gridmap.store import open_store

CI = os.environ.get("CI", "").lower() == "true"
BACKENDS = ["sqlite", "postgis"]


def need(ok: bool, reason: str) -> None:
    """Skip with ``reason`` unless ``ok``; under CI=true fail instead of skipping."""
    if ok:
        return
    if CI:
        pytest.fail(f"required under CI=true: {reason}", pytrace=False)
    pytest.skip(reason)


# -- PostgreSQL/PostGIS -----------------------------------------------------------------------------
def _postgres_admin_url() -> str | None:
    return os.environ.get("GRIDMAP_TEST_POSTGRES_URL")


@contextmanager
def _new_postgis_database() -> Iterator[str]:
    """URL of a new, empty PostGIS database (PostGIS extension installed, no tables), dropped afterwards."""
    admin = _postgres_admin_url()
    need(
        bool(admin),
        "GRIDMAP_TEST_POSTGRES_URL is not set: run the README's test command "
        "(scripts/test.sh), which installs and starts PostgreSQL 15 + PostGIS",
    )
    import sqlalchemy as sa

    name = f"gridmap_test_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    engine = sa.create_engine(admin, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    except Exception as exc:  # server down, bad credentials
        need(False, f"cannot reach PostgreSQL at GRIDMAP_TEST_POSTGRES_URL: {exc}")
    url = sa.engine.make_url(admin).set(database=name).render_as_string(hide_password=False)
    db = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    with db.connect() as conn:
        conn.exec_driver_sql("CREATE EXTENSION IF NOT EXISTS postgis")
    db.dispose()
    try:
        yield url
    finally:
        with engine.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        engine.dispose()


@pytest.fixture(scope="session")
def postgis_url() -> Iterator[str]:
    """URL of an empty PostGIS database for this test session (created here, dropped at the end)."""
    with _new_postgis_database() as url:
        yield url


@pytest.fixture(params=BACKENDS)
def blank_store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """URL of a database with no schema at all (not migrated), its own for this test — once per backend."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'blank.db'}"
        return
    request.applymarker(pytest.mark.postgis)
    with _new_postgis_database() as url:
        yield url


def _empty(store: Any) -> None:
    from gridmap.domain.schema import LAYERS

    with store.transaction():
        for name in LAYERS:
            store.delete(name)
        store.drop_cached_tiles(None)  # the tile cache is drawn from those layers
    sequences = getattr(store, "sequences", None)
    if sequences is not None:  # the PostGIS database is shared by a session: restart every sequence too
        with store.engine.begin() as conn:
            conn.execute(sequences.delete())


def _make_store(backend: str, request: pytest.FixtureRequest, tmp_path: Path):
    if backend == "sqlite":
        return open_store(f"sqlite:///{tmp_path / 'store.db'}")
    url = request.getfixturevalue("postgis_url")
    try:
        import gridmap.store.postgis  # noqa: F401
    except ImportError as exc:
        need(False, f"the PostGIS backend is not available: {exc}")
    store = open_store(url)
    _empty(store)
    return store


@pytest.fixture(params=BACKENDS)
def store(request: pytest.FixtureRequest, tmp_path: Path):
    """An empty, migrated store — once per backend."""
    if request.param == "postgis":
        request.applymarker(pytest.mark.postgis)
    s = _make_store(request.param, request, tmp_path)
    yield s
    s.close()


#: service-test modules whose ``sqlite_store`` tests run once per backend (SQLite and PostGIS): the pages,
#: APIs and services must behave the same on both (issue #9)
BOTH_BACKENDS = (
    "tests/web/test_pages.py",
    "tests/web/test_api_place.py",
    "tests/web/test_planner_web.py",
    "tests/web/test_open311.py",
    "tests/web/test_complaints_api.py",
    "tests/web/test_replies.py",
    "tests/web/test_kpi_web.py",
    "tests/web/test_public_privacy.py",
    "tests/services/",
)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    path = Path(str(metafunc.module.__file__)).resolve().relative_to(Path(__file__).resolve().parent.parent)
    if "sqlite_store" in metafunc.fixturenames and str(path).startswith(BOTH_BACKENDS):
        metafunc.parametrize("sqlite_store", BACKENDS, indirect=True)


@pytest.fixture
def sqlite_store(request: pytest.FixtureRequest, tmp_path: Path):
    """An empty SQLite store — in the :data:`BOTH_BACKENDS` modules, once per backend."""
    backend = getattr(request, "param", "sqlite")
    if backend == "postgis":
        request.applymarker(pytest.mark.postgis)
    s = _make_store(backend, request, tmp_path)
    yield s
    s.close()


# -- time -------------------------------------------------------------------------------------------
@pytest.fixture
def fixed_now() -> Iterator[Callable[[Any], Any]]:
    """``fixed_now(at)``: from then on (until the test ends or the next call) :func:`gridmap.clock.now`
    returns ``at`` (a datetime or ISO text; naive means UTC) in every thread; returns it as aware UTC."""
    import datetime as _dt
    from contextlib import ExitStack

    from gridmap import clock

    stack = ExitStack()

    def fix(at: Any) -> Any:
        stack.close()
        at = _dt.datetime.fromisoformat(at.replace("Z", "+00:00")) if isinstance(at, str) else at
        return stack.enter_context(clock.frozen(at))

    yield fix
    stack.close()


# -- the app ------------------------------------------------------------------------------------------
@pytest.fixture
def app_factory(tmp_path: Path) -> Callable[..., Any]:
    """Make an app over a given store (default: a fresh SQLite store) with test settings."""
    from gridmap.web import create_app

    def make(store: Any = None, **config: Any):
        settings = {
            "TESTING": True,
            "SECRET_KEY": "test-secret",
            "RATE_LIMIT_ENABLED": False,
            "DATABASE_URL": f"sqlite:///{tmp_path / 'app.db'}",
        }
        settings.update(config)
        return create_app(settings, store=store)

    return make


@pytest.fixture
def app(app_factory, sqlite_store):
    return app_factory(sqlite_store)


def _arm_csrf(client: Any) -> str:
    """Give a test client a CSRF token in its session and send it as ``X-CSRFToken`` on every request,
    as a page of the app does (``<meta name="csrf-token">``). Returns the token."""
    import secrets as _secrets

    from itsdangerous import URLSafeTimedSerializer

    raw = _secrets.token_hex(20)
    with client.session_transaction() as sess:
        sess["csrf_token"] = raw
    token = URLSafeTimedSerializer(client.application.config["SECRET_KEY"], salt="wtf-csrf-token").dumps(raw)
    client.environ_base["HTTP_X_CSRFTOKEN"] = token
    return token


@pytest.fixture
def client(app):
    """A test client that sends a valid CSRF token (like the app's pages); ``app.test_client()`` does not."""
    c = app.test_client()
    _arm_csrf(c)
    return c


@pytest.fixture
def arm_csrf() -> Callable[[Any], str]:
    """``arm_csrf(client)``: make a test client send a valid CSRF token, as the app's pages do."""
    return _arm_csrf


@pytest.fixture
def login() -> Callable[..., dict]:
    """``login(client, role, scope=None)``: create a user with that role in the client's app store and sign in."""

    def do(client: Any, role: str, scope: dict | None = None, *, username: str | None = None) -> dict:
        import pandas as pd

        from gridmap.web import get_store

        app = client.application
        uid = f"u-{role}-{uuid.uuid4().hex[:8]}"
        user = {
            "id": uid,
            "username": username or uid,
            "role": role,
            "scope": scope or {},
            "active": True,
            "display_name": role,
        }
        with app.app_context():
            get_store(app).write("users", pd.DataFrame([user]))
        with client.session_transaction() as sess:
            sess["uid"] = uid
        _arm_csrf(client)
        return user

    return do


class LiveServer:
    def __init__(self, app: Any):
        from werkzeug.serving import make_server

        self.server = make_server("127.0.0.1", 0, app, threaded=True)
        self.port = self.server.server_port
        self.url = f"http://127.0.0.1:{self.port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.thread.join(timeout=5)


@pytest.fixture
def live_server() -> Iterator[Callable[[Any], LiveServer]]:
    """``live_server(app)`` → a server on 127.0.0.1 with ``.url``; stopped after the test."""
    servers: list[LiveServer] = []

    def start(app: Any) -> LiveServer:
        s = LiveServer(app)
        servers.append(s)
        return s

    yield start
    for s in servers:
        s.stop()


# -- a real browser -----------------------------------------------------------------------------------
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]


def chromium_path() -> str | None:
    import shutil

    for candidate in (
        os.environ.get("GRIDMAP_TEST_CHROMIUM"),
        "/usr/bin/chromium",
        shutil.which("chromium"),
        shutil.which("chromium-browser"),
    ):
        if candidate and os.path.exists(candidate):
            return candidate
    return None


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """A headless Debian Chromium driven by Playwright (marker ``browser``)."""
    path = chromium_path()
    need(path is not None, "no Chromium found (apt-get install chromium, or set GRIDMAP_TEST_CHROMIUM)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError as exc:
        need(False, f"playwright is not installed: {exc}")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=path, args=CHROMIUM_ARGS, headless=True)
        yield b
        b.close()


@pytest.fixture(scope="session")
def artifacts() -> Path:
    """Folder for screenshots and other test artefacts."""
    out = Path(os.environ.get("GRIDMAP_TEST_ARTIFACTS", "test-artifacts"))
    out.mkdir(parents=True, exist_ok=True)
    return out


# -- the demo world -----------------------------------------------------------------------------------
@pytest.fixture(scope="session")
def demo_store(tmp_path_factory: pytest.TempPathFactory):
    """A SQLite store holding the seeded demo (read-only: copy it before writing)."""
    from gridmap.services.demo import load_demo

    path = tmp_path_factory.mktemp("demo") / "demo.db"
    s = open_store(f"sqlite:///{path}")
    load_demo(s, seed=0)
    yield s
    s.close()


@pytest.fixture
def demo_copy(demo_store, tmp_path: Path):
    """A writable copy of the demo store."""

    src = demo_store.url.split("///", 1)[1]
    dst = tmp_path / "demo-copy.db"
    import sqlite3

    with sqlite3.connect(src) as a, sqlite3.connect(dst) as b:
        a.backup(b)
    s = open_store(f"sqlite:///{dst}")
    yield s
    s.close()
