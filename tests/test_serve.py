"""``gridmap serve`` starts a real server process (waitress) that answers over loopback."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _serve(tmp_path, **settings: str) -> tuple[subprocess.Popen, int]:
    """``gridmap serve`` in a process of its own over a fresh SQLite store, with ``settings`` (GRIDMAP_*) added."""
    port = _free_port()
    env = {
        **os.environ,
        "GRIDMAP_DATABASE_URL": f"sqlite:///{tmp_path / 's.db'}",
        "GRIDMAP_THREADS": "2",
        "GRIDMAP_SECRET_KEY": "serve-test-key",
        "GRIDMAP_LOG_FORMAT": "text",
        "PYTHONPATH": str(ROOT),
        **{f"GRIDMAP_{k}": v for k, v in settings.items()},
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "gridmap", "serve", "--port", str(port)],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    return proc, port


def test_serve_answers_over_loopback(tmp_path):
    proc, port = _serve(tmp_path)
    try:
        deadline, body, headers = time.monotonic() + 90, None, None
        while time.monotonic() < deadline and body is None:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5) as r:
                    body, headers = r.read().decode(), r.headers
            except OSError:
                assert proc.poll() is None, proc.stdout.read()
                time.sleep(0.3)
        assert body is not None, "gridmap serve did not answer within 90 s"
        assert '"status":"ok"' in body.replace(" ", "") and headers["Server"] == "gridmap"
        rid = headers["X-Request-ID"]
    finally:
        proc.terminate()
        out = proc.communicate(timeout=30)[0]
    assert f"http://127.0.0.1:{port}/" in out and "2 threads" in out
    # one access line for the request, with the id the response carried
    access = [line for line in out.splitlines() if "gridmap.access" in line and "/healthz" in line]
    assert len(access) == 1 and f"[{rid}]" in access[0] and "GET /healthz 200" in access[0], out


def test_serve_believes_a_trusted_proxys_forwarded_headers(tmp_path):
    """Behind nginx (``GRIDMAP_TRUSTED_PROXIES``), the real server must see X-Forwarded-For/-Proto: the client's
    address in the log and for /metrics' address rule, HTTPS for HSTS. waitress strips those headers by default,
    so this fails unless ``gridmap serve`` tells it not to (the app decides which proxies to believe)."""
    proc, port = _serve(tmp_path, TRUSTED_PROXIES="127.0.0.1")
    forwarded = {"X-Forwarded-For": "203.0.113.7", "X-Forwarded-Proto": "https", "X-Forwarded-Host": "grid.example"}

    def get(path: str, headers: dict[str, str]) -> tuple[int, Any]:
        req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", headers=headers)
        try:
            with urllib.request.urlopen(req, timeout=10) as r:
                return r.status, r.headers
        except urllib.error.HTTPError as exc:
            return exc.code, exc.headers

    try:
        deadline, ready = time.monotonic() + 90, False
        while time.monotonic() < deadline and not ready:
            try:
                ready = get("/healthz", {})[0] == 200
            except OSError:
                assert proc.poll() is None, proc.stdout.read()
                time.sleep(0.3)
        assert ready, "gridmap serve did not answer within 90 s"
        assert get("/metrics", {})[0] == 200  # loopback itself may read the metrics
        assert get("/metrics", forwarded)[0] == 403  # a client the proxy forwards may not
        status, headers = get("/login", forwarded)
        assert status == 200 and headers["Strict-Transport-Security"] == "max-age=31536000"
        assert "Secure" in headers["Set-Cookie"], headers["Set-Cookie"]
        status, headers = get("/login", {})
        assert "Strict-Transport-Security" not in headers  # plain http from the proxy's own address
    finally:
        proc.terminate()
        out = proc.communicate(timeout=30)[0]
    access = [line for line in out.splitlines() if "gridmap.access" in line and "GET /metrics 403" in line]
    assert len(access) == 1 and "203.0.113.7" in access[0], out
