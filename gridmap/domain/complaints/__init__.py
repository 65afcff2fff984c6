"""The complaint loop as data: categories, departments, states, allowed transitions, SLA clocks, escalation.

民意收集—响应处理—跟踪督促—评估评价. A complaint is a plain dict with the columns of the ``complaints``
layer; every change goes through :func:`apply`, which checks the transitions table and returns the new
record and the event row (``complaint_events``) that records who, when and why. Pure: no Flask, no store,
no files.

* :mod:`.catalogue` — departments, categories, states, the transitions table;
* :mod:`.sla` — the settable :class:`Policy`, time limits, overdue, escalation levels;
* :mod:`.workflow` — new requests, transitions, evaluation, reopening, automatic 督办;
* :mod:`.routing` — location → building → grid → grid leader, category → department; duplicates nearby.

The names below are the package's public API (``from gridmap.domain import complaints as C``).
"""

from gridmap.domain.complaints.catalogue import (
    CATEGORIES,
    CHANNELS,
    DEPARTMENTS,
    SLA_DAYS,
    STATES,
    TRANSITIONS,
    Category,
    ComplaintError,
    Department,
    IllegalTransition,
    State,
    Transition,
    is_open,
)
from gridmap.domain.complaints.replies import MAX_REPLY, check_reply, is_reply_only, latest_reply, reply
from gridmap.domain.complaints.routing import Route, find_duplicates, route
from gridmap.domain.complaints.sla import Policy, escalation_level_due, is_overdue, with_sla
from gridmap.domain.complaints.workflow import (
    MAX_ID,
    MAX_NAME,
    MAX_NOTE,
    MAX_PHONE,
    MOVE_FIELDS,
    PHONE,
    allowed_targets,
    apply,
    check_name,
    check_phone,
    check_text,
    escalate,
    evaluate,
    move_fields,
    new_complaint,
    possible_targets,
    reopen,
    set_due,
    unsatisfied,
    validate_intake,
)

__all__ = [
    "Department",
    "Category",
    "State",
    "Transition",
    "Policy",
    "Route",
    "ComplaintError",
    "IllegalTransition",
    "DEPARTMENTS",
    "CATEGORIES",
    "STATES",
    "TRANSITIONS",
    "SLA_DAYS",
    "CHANNELS",
    "new_complaint",
    "apply",
    "evaluate",
    "unsatisfied",
    "escalate",
    "escalation_level_due",
    "allowed_targets",
    "possible_targets",
    "is_open",
    "is_overdue",
    "route",
    "find_duplicates",
    "reopen",
    "with_sla",
    "MOVE_FIELDS",
    "MAX_NOTE",
    "MAX_NAME",
    "MAX_ID",
    "MAX_PHONE",
    "PHONE",
    "check_text",
    "check_name",
    "check_phone",
    "validate_intake",
    "move_fields",
    "set_due",
    "MAX_REPLY",
    "check_reply",
    "is_reply_only",
    "latest_reply",
    "reply",
]
