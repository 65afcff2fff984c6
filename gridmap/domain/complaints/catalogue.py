"""What a complaint can be: departments, categories, states and the transitions table, as data.

Pure: no Flask, no store, no files. The rules that use these tables are in :mod:`.workflow` (state changes),
:mod:`.sla` (time limits and escalation levels) and :mod:`.routing` (where a request goes).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

import pandas as pd

from gridmap.errors import InvalidInput


class ComplaintError(InvalidInput):
    """Input a complaint cannot take (unknown category, empty description, rating out of range …)."""


class IllegalTransition(ComplaintError):
    """A state change the transitions table does not allow."""


@dataclass(frozen=True)
class Department:
    code: str
    zh: str
    en: str


@dataclass(frozen=True)
class Category:
    """A kind of request. ``departments``: who can act, first = lead. ``sla_kind`` picks the time limit
    from :data:`SLA_DAYS`; ``duplicate_radius_m``: open requests of this category closer than this are
    offered for linking; ``dispute``: counts for the dispute-resolution (mediation) rate."""

    code: str
    zh: str
    en: str
    departments: tuple[str, ...]
    sla_kind: str
    duplicate_radius_m: float = 50.0
    dispute: bool = False
    group: str = ""
    keywords: tuple[str, ...] = ()


@dataclass(frozen=True)
class State:
    label: str
    type: str  # "open" | "closed"
    zh: str
    en: str


@dataclass(frozen=True)
class Transition:
    """``by``: kinds of actor that may make it — ``staff`` (grid leader and officials, who may also do
    what a department does), ``department`` (the handling unit), ``system`` (timed escalation),
    ``resident`` (the person who filed it, following their own link: they rate a resolved request)."""

    source: str
    target: str
    by: frozenset[str]
    zh: str
    en: str


def _freeze(items: Iterable[Any], key: str) -> Mapping[str, Any]:
    return MappingProxyType({getattr(i, key): i for i in items})


DEPARTMENTS: Mapping[str, Department] = _freeze(
    [
        Department("police", "公安", "public security (police)"),
        Department("urban_management", "城管", "urban management"),
        Department("civil_affairs", "民政", "civil affairs"),
        Department("judicial_mediation", "司法调解", "judicial mediation"),
        Department("market_supervision", "市场监管", "market supervision"),
        Department("property_company", "物业公司", "property company"),
    ],
    "code",
)

#: default time limits in working days (12345 hotline practice): settable through :class:`Policy`
SLA_DAYS: Mapping[str, int] = MappingProxyType({"consultation": 2, "help": 10, "suggestion": 10, "complaint": 15})

CATEGORIES: Mapping[str, Category] = _freeze(
    [
        Category(
            "parking",
            "停车管理",
            "parking",
            ("urban_management", "police", "property_company"),
            "complaint",
            80,
            group="traffic",
            keywords=("停车", "车位", "parking"),
        ),
        Category(
            "medical",
            "医疗服务",
            "medical services",
            ("civil_affairs", "market_supervision"),
            "help",
            150,
            group="services",
            keywords=("诊所", "医疗", "clinic"),
        ),
        Category(
            "after_school",
            "课后托管",
            "after-school care",
            ("civil_affairs", "market_supervision"),
            "help",
            150,
            group="services",
            keywords=("托管", "学生", "after-school"),
        ),
        Category(
            "fitness",
            "健身休闲",
            "fitness and recreation",
            ("urban_management", "civil_affairs"),
            "suggestion",
            100,
            group="services",
            keywords=("健身", "广场", "fitness"),
        ),
        Category(
            "property_service",
            "物业服务",
            "property service",
            ("property_company", "market_supervision"),
            "complaint",
            30,
            group="property",
            keywords=("物业", "电梯", "lift"),
        ),
        Category(
            "property_dispute",
            "物业纠纷",
            "property dispute",
            ("judicial_mediation", "property_company"),
            "complaint",
            30,
            dispute=True,
            group="property",
            keywords=("物业费", "纠纷"),
        ),
        Category(
            "neighbour_dispute",
            "邻里纠纷",
            "neighbour dispute",
            ("judicial_mediation", "police"),
            "complaint",
            20,
            dispute=True,
            group="disputes",
            keywords=("邻里", "噪音", "dispute"),
        ),
        Category(
            "sanitation",
            "环境卫生",
            "sanitation",
            ("urban_management", "property_company"),
            "complaint",
            50,
            group="environment",
            keywords=("垃圾", "卫生", "rubbish"),
        ),
        Category(
            "safety",
            "安全隐患",
            "safety hazard",
            ("police", "urban_management"),
            "complaint",
            50,
            group="safety",
            keywords=("安全", "消防", "safety"),
        ),
        Category(
            "consultation",
            "政策咨询",
            "policy consultation",
            ("civil_affairs",),
            "consultation",
            0,
            group="consultation",
            keywords=("咨询", "政策"),
        ),
        Category("other", "其他", "other", ("civil_affairs",), "help", 30, group="other"),
    ],
    "code",
)

_OPEN, _CLOSED = "open", "closed"
STATES: Mapping[str, State] = _freeze(
    [
        State("collected", _OPEN, "已受理", "collected"),
        State("dispatched", _OPEN, "已派单", "dispatched"),
        State("responding", _OPEN, "处理中", "responding"),
        State("returned", _OPEN, "已退回", "returned"),
        State("reassigned", _OPEN, "已改派", "reassigned"),
        State("supervised", _OPEN, "督办中", "supervised"),
        State("reopened", _OPEN, "已重办", "reopened"),
        State("resolved", _CLOSED, "已办结", "resolved"),
        State("evaluated", _CLOSED, "已评价", "evaluated"),
        State("rejected", _CLOSED, "不予受理", "rejected"),
        State("duplicate", _CLOSED, "重复件", "duplicate"),
    ],
    "label",
)

_S, _D, _Y, _R = "staff", "department", "system", "resident"


def _t(source: str, target: str, by: Iterable[str], zh: str, en: str) -> Transition:
    return Transition(source, target, frozenset(by), zh, en)


TRANSITIONS: tuple[Transition, ...] = (
    _t("collected", "dispatched", {_S}, "派单", "dispatch"),
    _t("collected", "responding", {_S}, "就地办理", "handle on the spot"),
    _t("collected", "rejected", {_S}, "不予受理", "reject"),
    _t("collected", "duplicate", {_S}, "合并重复件", "mark duplicate"),
    _t("collected", "supervised", {_S, _Y}, "督办", "supervise"),
    _t("dispatched", "responding", {_D}, "签收响应", "respond"),
    _t("dispatched", "returned", {_D}, "退回", "return"),
    _t("dispatched", "duplicate", {_S}, "合并重复件", "mark duplicate"),
    _t("dispatched", "supervised", {_S, _Y}, "督办", "supervise"),
    _t("returned", "reassigned", {_S}, "改派", "reassign"),
    _t("returned", "rejected", {_S}, "不予受理", "reject"),
    _t("returned", "supervised", {_S, _Y}, "督办", "supervise"),
    _t("reassigned", "responding", {_D}, "签收响应", "respond"),
    _t("reassigned", "returned", {_D}, "退回", "return"),
    _t("reassigned", "supervised", {_S, _Y}, "督办", "supervise"),
    _t("responding", "resolved", {_D}, "办结", "resolve"),
    _t("responding", "returned", {_D}, "退回", "return"),
    _t("responding", "supervised", {_S, _Y}, "督办", "supervise"),
    _t("supervised", "supervised", {_S, _Y}, "升级督办", "escalate"),
    _t("supervised", "dispatched", {_S}, "派单", "dispatch"),
    _t("supervised", "responding", {_D}, "签收响应", "respond"),
    _t("supervised", "resolved", {_D}, "办结", "resolve"),
    _t("resolved", "evaluated", {_S, _R}, "回访评价", "evaluate"),
    _t("resolved", "reopened", {_S}, "重新办理", "reopen"),
    _t("evaluated", "reopened", {_S, _R}, "重新办理", "reopen"),
    _t("reopened", "responding", {_D}, "签收响应", "respond"),
    _t("reopened", "resolved", {_D}, "办结", "resolve"),
    _t("reopened", "supervised", {_S, _Y}, "督办", "supervise"),
)
_BY_PAIR: Mapping[tuple[str, str], Transition] = MappingProxyType({(t.source, t.target): t for t in TRANSITIONS})

CHANNELS = ("map", "visit", "phone", "api", "open311", "import")
#: escalation levels of 督办: who chases an overdue request
ESCALATION_LEVELS = ("grid_leader", "community", "street")
MAX_DESCRIPTION = 4000


def is_open(state: str) -> bool:
    """True for states of type ``open``."""
    return _state(state).type == _OPEN


def _state(label: str) -> State:
    try:
        return STATES[label]
    except KeyError:
        raise ComplaintError(f"unknown state {label!r}; states are {', '.join(STATES)}") from None


def _isnull(v: Any) -> bool:
    """None, NaN, NaT or pandas' NA (a scalar); False for anything else, lists and arrays included."""
    try:
        return v is None or bool(pd.isna(v))
    except (TypeError, ValueError):  # an array: pd.isna gives one answer per element
        return False
