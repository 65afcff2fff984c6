"""The production server's own refusals (waitress: 413, 431, malformed request) come in gridmap's JSON error
shape, over a real socket on loopback."""

from __future__ import annotations

import json
import socket
import threading

import pytest

from gridmap.web.server import make_server


@pytest.fixture
def server(app):
    srv = make_server(
        app, host="127.0.0.1", port=0, threads=2, max_request_header_size=2048, max_request_body_size=4096
    )
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    yield srv.effective_port
    srv.close()
    thread.join(timeout=5)


def _raw(port: int, data: bytes) -> tuple[int, dict[str, str], bytes]:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(data)
        chunks = []
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            chunks.append(chunk)
    head, _, body = b"".join(chunks).partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = dict(line.split(": ", 1) for line in lines[1:])
    return int(lines[0].split()[1]), headers, body


def test_headers_too_large_is_a_json_431(server):
    status, headers, body = _raw(server, b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 5000 + b"\r\n\r\n")
    assert status == 431 and headers["Content-Type"].startswith("application/json")
    err = json.loads(body)["error"]
    assert err["status"] == 431 and err["code"] == "headers_too_large" and err["message"]


def test_body_too_large_is_a_json_413(server):
    status, headers, body = _raw(
        server,
        b"POST /api/complaints HTTP/1.1\r\nHost: x\r\nContent-Type: application/json"
        b"\r\nContent-Length: 100000\r\n\r\n" + b"{" * 100,
    )
    assert status == 413 and headers["Content-Type"].startswith("application/json")
    assert json.loads(body)["error"] == {**json.loads(body)["error"], "status": 413, "code": "too_large"}


def test_the_app_still_answers_through_the_server(server):
    status, headers, body = _raw(server, b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    assert status == 200 and headers["Server"] == "gridmap"
