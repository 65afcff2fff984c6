"""Prometheus metrics with ``prometheus_client``: one registry per app, served at ``/metrics``.

=========================================  ==========  ======================================================
metric                                     type        labels / meaning
=========================================  ==========  ======================================================
``gridmap_http_requests_total``            counter     ``route`` (the URL rule, not the path), ``method``,
                                                       ``status``
``gridmap_http_request_duration_seconds``  histogram   ``route``, ``method``: time to answer
``gridmap_complaints_open``                gauge       ``state``: open requests by state (read at scrape)
``gridmap_complaints_overdue``             gauge       open requests past their time limit (read at scrape)
``gridmap_job_duration_seconds``           histogram   ``job`` (import, generate, place, rebalance, …),
                                                       ``outcome`` (ok, failed): long jobs run in this process
=========================================  ==========  ======================================================

Who may read them: a client address in ``METRICS_ADDRESSES`` (default loopback; behind a trusted proxy the
real client's), or a signed-in user whose role is at least ``METRICS_ROLE``; everyone else gets 403.
"""

from __future__ import annotations

import ipaddress
import logging
from collections.abc import Iterator
from typing import Any

from flask import Flask, current_app, request
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from gridmap import jobs
from gridmap.config import networks
from gridmap.errors import Forbidden
from gridmap.services.health import complaint_gauges
from gridmap.web.access import current_user
from gridmap.web.context import get_store

EXTENSION = "gridmap_metrics"
log = logging.getLogger(__name__)

#: long jobs of this process, whichever app (or none) started them
JOB_SECONDS = Histogram(
    "gridmap_job_duration_seconds",
    "Duration of long jobs run in this process (import, generate, place, rebalance …)",
    ["job", "outcome"],
    registry=None,
    buckets=(0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800),
)


def _observe_job(job: str, seconds: float, ok: bool) -> None:
    JOB_SECONDS.labels(job=job, outcome="ok" if ok else "failed").observe(seconds)


jobs.listen(_observe_job)


class _Jobs(Collector):
    def describe(self) -> Iterator[Metric]:
        return iter(())

    def collect(self) -> Iterator[Metric]:
        yield from JOB_SECONDS.collect()


class _Complaints(Collector):
    """Open requests by state and the overdue count, read from the app's store at each scrape."""

    def __init__(self, app: Flask) -> None:
        self.app = app

    def describe(self) -> Iterator[Metric]:
        return iter(())  # read from the store at scrape only

    def collect(self) -> Iterator[Metric]:
        try:
            with self.app.app_context():
                figures = complaint_gauges(get_store())
        except Exception as exc:  # the store is down or not migrated: the other metrics are still served
            log.warning("metrics: complaint figures unavailable: %s", exc)
            return
        by_state = GaugeMetricFamily("gridmap_complaints_open", "Open residents' requests by state", labels=["state"])
        for state, n in figures["open_by_state"].items():
            by_state.add_metric([state], n)
        yield by_state
        yield GaugeMetricFamily(
            "gridmap_complaints_overdue", "Open requests past their time limit", value=figures["overdue"]
        )


class Metrics:
    def __init__(self, app: Flask) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "gridmap_http_requests", "HTTP requests answered", ["route", "method", "status"], registry=self.registry
        )
        self.latency = Histogram(
            "gridmap_http_request_duration_seconds",
            "Time to answer an HTTP request",
            ["route", "method"],
            registry=self.registry,
        )
        self.registry.register(_Complaints(app))
        self.registry.register(_Jobs())

    def observe(self, *, route: str, method: str, status: int, seconds: float) -> None:
        self.requests.labels(route=route, method=method, status=str(status)).inc()
        self.latency.labels(route=route, method=method).observe(seconds)


def init_app(app: Flask) -> None:
    app.extensions[EXTENSION] = Metrics(app)


def observe(**kw: Any) -> None:
    """Count one answered request of the current app (called by :mod:`gridmap.web.observe`)."""
    m = current_app.extensions.get(EXTENSION)
    if m is not None:
        m.observe(**kw)


def exposition() -> tuple[bytes, str]:
    return generate_latest(current_app.extensions[EXTENSION].registry), CONTENT_TYPE_LATEST


def require_reader() -> None:
    """403 unless the client's address is in ``METRICS_ADDRESSES`` or the user's role reaches ``METRICS_ROLE``."""
    user = current_user()
    if user.authenticated and user.at_least(str(current_app.config.get("METRICS_ROLE") or "admin")):
        return
    try:
        addr = ipaddress.ip_address(request.remote_addr or "")
    except ValueError:
        addr = None
    allowed = networks(str(current_app.config.get("METRICS_ADDRESSES") or ""))
    if addr is not None and any(addr in net for net in allowed):
        return
    raise Forbidden("指标仅限运维地址或管理员 / metrics are readable only from the operators' addresses or by admins")
