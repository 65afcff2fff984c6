"""Complaint use cases shared by the web views, Open311 and the CLI: submit, route, move, evaluate,
escalate, list and read, and the KPI report. Each takes a store; every write of a use case sits in one
transaction.

``user`` is anything with ``id``, ``role`` and ``scope`` (:class:`gridmap.web.access.User` fits). Scope keys
follow :mod:`gridmap.domain.privacy`: ``grids``, ``communities``, ``streets``, ``departments`` (department codes
such as ``urban_management`` or their Chinese names such as ``城管``).

* :mod:`.records` — the policy from the settings, rows written, JSON shapes for staff and the public;
* :mod:`.intake` — routing, duplicates nearby, submitting;
* :mod:`.workflow` — who may act, transitions, automatic 督办, reading and listing;
* :mod:`.todo` — the staff work list (我的待办): open requests, earliest time limit first, moves as actions;
* :mod:`.follow` — a resident's status link, page and rating;
* :mod:`.report` — the KPI report.

The names below are the package's public API (``from gridmap.services import complaints as svc``).
"""

from gridmap.services.complaints.intake import duplicates_near, map_extent, route_at, route_preview, submit
from gridmap.services.complaints.records import (
    PERSONAL,
    STAFF_ROLES,
    categories_catalogue,
    policy_from,
    public_view,
    staff_view,
)
from gridmap.services.complaints.report import kpi_report, units_of
from gridmap.services.complaints.todo import work_list
from gridmap.services.complaints.workflow import (
    DUE_ROLES,
    complaint_events,
    escalate_overdue,
    events_of,
    get_complaint,
    in_scope,
    list_complaints,
    open_states,
    reply,
    set_due,
    street_of,
    transition,
)

__all__ = [
    "policy_from",
    "submit",
    "transition",
    "escalate_overdue",
    "get_complaint",
    "list_complaints",
    "events_of",
    "duplicates_near",
    "route_preview",
    "route_at",
    "public_view",
    "staff_view",
    "categories_catalogue",
    "street_of",
    "work_list",
    "in_scope",
    "open_states",
    "map_extent",
    "kpi_report",
    "units_of",
    "STAFF_ROLES",
    "PERSONAL",
    "set_due",
    "complaint_events",
    "DUE_ROLES",
    "reply",
]
