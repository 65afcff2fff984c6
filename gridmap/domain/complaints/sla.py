"""The clocks of a complaint: the settable :class:`Policy` (working-day calendar, time limits, reopen
window, escalation step), overdue checks and the 督办 level a late request is due.

Pure: no Flask, no store, no files.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Any

from gridmap.domain.complaints.catalogue import CATEGORIES, SLA_DAYS, Category, ComplaintError, _isnull, is_open
from gridmap.domain.workdays import WorkCalendar


@dataclass(frozen=True)
class Policy:
    """The settable rules of the loop (filled from settings by the service layer).

    Parameters
    ----------
    calendar
        Working days (:func:`gridmap.domain.workdays.china_calendar`), counted in its zone (:attr:`zone`).
    sla_days
        Working days allowed per SLA kind.
    reopen_days
        Calendar days after resolution within which an unsatisfied resident reopens the request.
    escalation_step_days
        Working days overdue after which 督办 moves from the community up to the street.
    boundary_m
        A request closer than this to another grid is marked ``needs_confirmation``.
    nearest_m
        A point outside every building is matched to the nearest building within this distance.
    satisfied_min
        Ratings at or above count as satisfied; below, the resident is unsatisfied.
    """

    calendar: WorkCalendar = field(default_factory=WorkCalendar)
    sla_days: Mapping[str, int] = field(default_factory=lambda: SLA_DAYS)
    reopen_days: int = 15
    escalation_step_days: int = 3
    boundary_m: float = 30.0
    nearest_m: float = 60.0
    satisfied_min: int = 4
    categories: Mapping[str, Category] = field(default_factory=lambda: CATEGORIES)

    @property
    def zone(self) -> dt.tzinfo:
        """The service's time zone: where working days, dates and years are counted (the calendar's)."""
        return self.calendar.zone

    def category(self, code: str) -> Category:
        try:
            return self.categories[code]
        except KeyError:
            raise ComplaintError(f"unknown category {code!r}; categories are {', '.join(self.categories)}") from None

    def sla_for(self, category: str) -> int:
        kind = self.category(category).sla_kind
        try:
            return int(self.sla_days[kind])
        except KeyError:
            raise ComplaintError(f"no time limit set for SLA kind {kind!r}") from None


def _within_reopen(record: Mapping[str, Any], at: dt.datetime, policy: Policy) -> bool:
    closed = record.get("closed_at")
    if closed is None or _isnull(closed):
        return True
    return at - closed <= dt.timedelta(days=policy.reopen_days)


def is_overdue(record: Mapping[str, Any], now: dt.datetime) -> bool:
    """Open and past its time limit."""
    due = record.get("due_at")
    return is_open(record["state"]) and due is not None and not _isnull(due) and now > due


def escalation_level_due(record: Mapping[str, Any], now: dt.datetime, policy: Policy) -> int:
    """Which 督办 level an open request should be at now: 0 in time, 1 community, 2 street.

    Level 1 when past ``due_at``; level 2 when more than ``policy.escalation_step_days`` working days
    past it.
    """
    if not is_overdue(record, now):
        return 0
    late = policy.calendar.working_days_between(record["due_at"], now)
    return 2 if late > policy.escalation_step_days else 1


def with_sla(policy: Policy, overrides: Mapping[str, int] | None) -> Policy:
    """``policy`` with some SLA kinds' working days replaced (settings ``COMPLAINT_SLA_DAYS``)."""
    if not overrides:
        return policy
    bad = {k: v for k, v in overrides.items() if not isinstance(v, int) or v < 0}
    if bad:
        raise ComplaintError(f"SLA days must be whole numbers ≥ 0: {bad}")
    return replace(policy, sla_days=MappingProxyType({**policy.sla_days, **overrides}))
