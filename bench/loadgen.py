"""The load generator the throughput benches share: client threads POSTing Open311 service requests.

Run in a process of its own (the benches start it with ``subprocess``) so that the clients' own work is not
counted as the server's. Each thread ``i`` draws its requests from ``random.Random(i)`` and posts to
``urls[i % len(urls)]`` until ``seconds`` have passed.
"""

from __future__ import annotations

import json
import random
import statistics
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Sequence
from typing import Any

#: a request's form fields from the thread's random source and the thread's number
Body = Callable[[random.Random, int], dict[str, Any]]


def pct(values: Sequence[float]) -> tuple[float, float]:
    """Median and 95th percentile of seconds, in milliseconds."""
    v = sorted(values)
    return (statistics.median(v) * 1000, v[min(len(v) - 1, int(round(0.95 * (len(v) - 1))))] * 1000)


def post_requests(urls: Sequence[str], body: Body, *, seconds: float, clients: int) -> dict[str, Any]:
    """POST ``/open311/v2/requests.json`` from ``clients`` threads for ``seconds``; accepted requests (201),
    their rate, p50/p95 latency of the accepted ones, and the refusals and failures by status or error."""
    stop = time.perf_counter() + seconds
    lat: list[float] = []
    errors: dict[str, int] = {}
    lock = threading.Lock()

    def run(i: int) -> None:
        rng = random.Random(i)
        base = urls[i % len(urls)]
        while time.perf_counter() < stop:
            data = urllib.parse.urlencode(body(rng, i)).encode()
            req = urllib.request.Request(f"{base}/open311/v2/requests.json", data=data, method="POST")
            t = time.perf_counter()
            try:
                with urllib.request.urlopen(req, timeout=60) as r:
                    r.read()
                    ok, key = r.status == 201, str(r.status)
            except urllib.error.HTTPError as exc:
                ok, key = False, str(exc.code)
                exc.read()
            except OSError as exc:
                ok, key = False, type(exc).__name__
            with lock:
                if ok:
                    lat.append(time.perf_counter() - t)
                else:
                    errors[key] = errors.get(key, 0) + 1

    t0 = time.perf_counter()
    threads = [threading.Thread(target=run, args=(i,)) for i in range(clients)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    wall = time.perf_counter() - t0
    p50, p95 = pct(lat) if lat else (float("nan"), float("nan"))
    return {
        "accepted": len(lat),
        "per_second": len(lat) / wall,
        "p50_ms": p50,
        "p95_ms": p95,
        "errors": errors,
        "seconds": wall,
        "clients": clients,
    }


def print_result(result: dict[str, Any]) -> None:
    """The last line of the load process's output: the bench parses it."""
    print(json.dumps(result))
