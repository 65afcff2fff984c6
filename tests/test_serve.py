"""``gridmap serve`` starts a real server process (waitress) that answers over loopback."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_serve_answers_over_loopback(tmp_path):
    port = _free_port()
    env = {
        **os.environ,
        "GRIDMAP_DATABASE_URL": f"sqlite:///{tmp_path / 's.db'}",
        "GRIDMAP_THREADS": "2",
        "GRIDMAP_SECRET_KEY": "serve-test-key",
        "GRIDMAP_LOG_FORMAT": "text",
        "PYTHONPATH": str(ROOT),
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "gridmap", "serve", "--port", str(port)],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
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
