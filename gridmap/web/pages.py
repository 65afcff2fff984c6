"""The map pages: the planner's overview ``/`` and a grid's page ``/grids/<code>``; the page frame helpers
(language, navigation) every template uses."""

from __future__ import annotations

import dataclasses
import json
import threading
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import urlencode

from flask import Blueprint, current_app, make_response, render_template, request
from flask_babel import get_locale
from flask_babel import gettext as _
from markupsafe import Markup

from gridmap import clock
from gridmap.domain.complaints import CATEGORIES, STATES
from gridmap.domain.privacy import sees_exact_counts
from gridmap.domain.schema import STEWARD_ROLES
from gridmap.present import render
from gridmap.services.maps import grid as map_grid
from gridmap.services.maps import layers as map_layers
from gridmap.web.access import allow, current_user
from gridmap.web.api import compressed, visible_stats
from gridmap.web.assets import basemap_layers, basemap_shift
from gridmap.web.context import bounds_setting, get_store
from gridmap.web.security import nonce_scripts

bp = Blueprint("pages", __name__)


# -- page frame ------------------------------------------------------------------------------------------
def ui_lang() -> str:
    """``zh-CN`` or ``en``: the page's language attribute."""
    return "en" if str(get_locale()) == "en" else "zh-CN"


def lang_switch_url() -> str:
    args = request.args.to_dict()
    args["lang"] = "zh_CN" if ui_lang() == "en" else "en"
    return f"{request.path}?{urlencode(args)}"


#: top-bar links: (path, label msgid, lowest role that sees it)
NAV = (
    ("/complaints", "待办", "department"),
    ("/", "总览", "public"),
    ("/complaints/new", "反映诉求", "public"),
    ("/kpi", "考核", "public"),
    ("/planner", "网格规划", "planner"),
    ("/embed/tokens", "嵌入令牌", "planner"),
    ("/ogc", "开放数据", "public"),
)


def nav_items() -> list[dict[str, Any]]:
    """Links of the top bar: the pages this app has that the signed-in user may open (a grid leader also
    gets their own grid first)."""
    user = current_user()
    rules = {r.rule for r in current_app.url_map.iter_rules()}
    labels = {
        "待办": _("待办"),
        "总览": _("总览"),
        "反映诉求": _("反映诉求"),
        "考核": _("考核"),
        "网格规划": _("网格规划"),
        "嵌入令牌": _("嵌入令牌"),
        "开放数据": _("开放数据"),
    }
    items = [
        {"url": path, "label": labels[zh], "current": request.path == path}
        for path, zh, role in NAV
        if (path in rules or path + "/" in rules) and user.at_least(role)
    ]
    grids = list((user.scope or {}).get("grids") or []) if user.role == "grid_leader" else []
    if grids and "/grids/<code>" in rules:
        mine = f"/grids/{grids[0]}"
        items.insert(1, {"url": mine, "label": _("我的网格"), "current": request.path == mine})
    for item in items:  # the first link stays in the bar on a phone; the others fold into the menu
        item["primary"] = item is items[0]
    return items


#: roles whose day starts at their work list (我的待办): they land there after signing in
WORK_LIST_ROLES = ("department", "grid_leader", "community_official", "street_official")


def home_of(role: str) -> str:
    """Where a user of ``role`` lands after signing in without a ``next``: 我的待办 or the overview."""
    return "/complaints" if role in WORK_LIST_ROLES else "/"


def nav_user() -> dict[str, Any] | None:
    """The signed-in user for the top bar (name and role label), or None."""
    user = current_user()
    if not user.authenticated:
        return None
    return {"name": user.display_name or user.username, "username": user.username}


@bp.app_context_processor
def _frame() -> dict[str, Any]:
    return {"ui_lang": ui_lang, "lang_switch_url": lang_switch_url, "nav_items": nav_items, "nav_user": nav_user}


# -- strings for the map script ---------------------------------------------------------------------------
def role_names() -> dict[str, str]:
    return {
        "grid_leader": _("网格长"),
        "building_leader": _("楼长"),
        "party_central_household": _("党员中心户"),
        "property_steward": _("物业管家"),
        "volunteer": _("志愿者"),
    }


def layer_names() -> dict[str, str]:
    return {
        "streets": _("街道"),
        "communities": _("社区"),
        "estates": _("小区"),
        "grids": _("网格"),
        "buildings": _("楼栋"),
        "stewards": _("红色管家"),
        "merchants": _("商户"),
        "volunteer_teams": _("志愿服务队"),
        "complaints": _("诉求"),
        "heatmap": _("诉求热力"),
    }


def state_names() -> dict[str, str]:
    """Complaint state labels in the page's language (from the complaints area's states table)."""
    en = ui_lang() == "en"
    return {key: getattr(s, "en" if en else "zh", key) for key, s in STATES.items()}


def js_strings() -> dict[str, str]:
    """The strings gridmap.js shows, in the page's language (keys are the Chinese texts)."""
    out = {
        "网格": _("网格"),
        "户数": _("户数"),
        "楼栋": _("楼栋"),
        "社区": _("社区"),
        "网格长": _("网格长"),
        "楼长": _("楼长"),
        "党员中心户": _("党员中心户"),
        "待办诉求": _("待办诉求"),
        "超期": _("超期"),
        "查看网格": _("查看网格"),
        "党员": _("党员"),
        "是": _("是"),
        "诉求": _("诉求"),
        "类别": _("类别"),
        "状态": _("状态"),
        "已等待": _("已等待"),
        "天": _("天"),
        "商户联盟": _("商户联盟"),
        "服务": _("服务"),
        "队员": _("队员"),
        "层数": _("层数"),
        "放大查看楼栋": _("放大查看楼栋"),
        "要素过多，请放大": _("要素过多，请放大"),
        "加载中…": _("加载中…"),
        "网格户数": _("网格户数"),
        "低于下限": _("低于下限"),
        "高于上限": _("高于上限"),
        "超期诉求": _("超期诉求"),
        "搜索网格编码、小区或楼栋": _("搜索网格编码、小区或楼栋"),
        "搜索街道、社区、小区、楼栋或网格": _("搜索街道、社区、小区、楼栋或网格"),
        "区域内待办诉求数；1–4 件显示为 <5，保护个人信息": _("区域内待办诉求数；1–4 件显示为 <5，保护个人信息"),
        "不公开：防止与其他数字相减推算出小数字": _("不公开：防止与其他数字相减推算出小数字"),
        "搜索": _("搜索"),
        "没有找到": _("没有找到"),
        "定位我的位置": _("定位我的位置"),
        "无法定位": _("无法定位"),
        "放大查看诉求点位": _("放大查看诉求点位"),
        "查看办理": _("查看办理"),
        "楼栋卡片": _("楼栋卡片"),
        "geo:1": _("定位被拒绝：请在浏览器设置中允许定位，或在地图上点选位置"),
        "geo:2": _("无法获取您的位置，请在地图上点选"),
        "geo:3": _("定位超时，请重试或在地图上点选"),
    }
    out.update({f"role:{k}": v for k, v in role_names().items()})
    out.update({f"state:{k}": v for k, v in state_names().items()})
    out.update(
        {
            "kind:grid": _("网格"),
            "kind:estate": _("小区"),
            "kind:building": _("楼栋"),
            "kind:street": _("街道"),
            "kind:community": _("社区"),
        }
    )
    out.update(
        {
            "glyph:grid_leader": _("网"),
            "glyph:building_leader": _("楼"),
            "glyph:party_central_household": _("党"),
            "glyph:property_steward": _("物"),
            "glyph:volunteer": _("志"),
            "glyph:merchant": _("商"),
            "glyph:volunteer_team": _("队"),
        }
    )
    return out


# -- maps -------------------------------------------------------------------------------------------------
def map_parts(
    *,
    layers: Sequence[str],
    bounds: Sequence[float] | None,
    controls: Mapping[str, Any],
    focus: str | None = None,
    select_origin: str | None = None,
    basemap: str | None = None,
    hidden: Sequence[str] = (),
    link_grids: bool = True,
    area: str | None = None,
) -> dict[str, Any]:
    """The map of a page as ``head``/``body``/``script`` pieces (scripts carry this request's nonce); ``area``:
    a code the map is limited to (see :class:`gridmap.present.render.MapOptions`; no vector tiles then, which
    would carry the buildings around it)."""
    opts = map_options(
        layers=layers,
        bounds=bounds,
        focus=focus,
        select_origin=select_origin,
        basemap=basemap,
        hidden=hidden,
        link_grids=link_grids,
        area=area,
    )
    lo, hi = bounds_setting()
    parts = _rendered_map(
        opts, names=layer_names(), controls={"legend": {"min": lo, "max": hi, "roles": True}, **controls}
    )
    return {
        "head": nonce_scripts(parts["head"]),
        "body": nonce_scripts(parts["body"]),
        "script": nonce_scripts(parts["script"]),
        "name": parts["name"],
        "strings": js_strings(),
    }


def map_options(
    *,
    layers: Sequence[str],
    bounds: Sequence[float] | None = None,
    focus: str | None = None,
    select_origin: str | None = None,
    basemap: str | None = None,
    hidden: Sequence[str] = (),
    link_grids: bool = True,
    area: str | None = None,
) -> render.MapOptions:
    """The options of a page's map under this app's basemap and vector tile settings."""
    cfg = current_app.config
    base = basemap_layers(cfg, basemap)
    shift = basemap_shift(cfg) if base else None
    return render.MapOptions(
        layers=tuple(layers),
        bounds=bounds,
        basemaps=base,
        shift=shift,
        focus=focus,
        select_origin=select_origin,
        hidden=tuple(hidden),
        link_grids=link_grids,
        area=area,
        tiles={} if shift or area else vector_tiles(),
    )


def grid_map_assets() -> list[str]:
    """The scripts and style sheets the map of a grid page loads (the URLs its head names)."""
    return render.asset_urls(render.build_map(map_options(layers=GRID_LAYERS, focus="-")))


_MAPS: OrderedDict[str, dict[str, str]] = OrderedDict()
_MAPS_LOCK = threading.Lock()


def _rendered_map(opts: render.MapOptions, *, names: Mapping[str, str], controls: Mapping[str, Any]) -> dict[str, str]:
    """:func:`render.page_parts` of the map these options make, kept for the next page that asks for the same map
    (folium renders a map in ~25 ms; the pieces depend only on these inputs, the nonce is added per request)."""
    key = json.dumps([dataclasses.asdict(opts), names, controls], sort_keys=True, default=str, ensure_ascii=False)
    with _MAPS_LOCK:
        hit = _MAPS.get(key)
        if hit is not None:
            _MAPS.move_to_end(key)
            return hit
    parts = render.page_parts(render.build_map(opts, names=names, controls=controls))
    with _MAPS_LOCK:
        _MAPS[key] = parts
        while len(_MAPS) > 512:
            _MAPS.popitem(last=False)
    return parts


TILE_RULE = "/tiles/<layer>/<int:z>/<int:x>/<int:y>.pbf"


def vector_tiles() -> dict[str, str]:
    """Tile URL templates of the layers this app serves as vector tiles (buildings), when it does.
    (Tiles are never shifted to GCJ-02, so maps on an AMap basemap draw GeoJSON only.)"""
    if not any(r.rule == TILE_RULE for r in current_app.url_map.iter_rules()):
        return {}
    return {"buildings": "/tiles/buildings/{z}/{x}/{y}.pbf"}


# -- views ------------------------------------------------------------------------------------------------
@bp.get("/")
@allow("public")
def overview():
    """Every grid coloured by households against the bounds, with every layer, search and drill-down."""
    extent = map_grid.extent(get_store())
    m = map_parts(
        layers=render.LAYER_ORDER,
        bounds=extent,
        hidden=("heatmap",),
        controls={"search": True, "locate": False, "linkGrids": True},
    )
    return render_template("maps/overview.html", map=m, empty=extent is None)


#: the layers of a grid page's map
GRID_LAYERS = ("communities", "grids", "buildings", "merchants", "volunteer_teams", "stewards", "complaints")


@bp.get("/grids/<code>")
@allow("public")
def grid_page(code: str):
    """One grid: its buildings and households, stewards by role, open complaints, merchants and teams nearby."""
    detail = map_grid.grid_detail(get_store(), code, bounds=bounds_setting(), now=clock.now())
    user = current_user()
    exact = sees_exact_counts(user)  # the public sees request counts, not the requests (#7)
    detail = dict(detail, stats=visible_stats(detail["stats"]), complaints=detail["complaints"] if exact else None)
    blds = detail["buildings"]
    fit = [float(v) for v in blds.total_bounds] if len(blds) and "geometry" in blds else detail["stats"]["bbox"]
    m = map_parts(  # opens fitted to the grid's buildings (a grid polygon is mostly roads and open ground)
        layers=GRID_LAYERS,
        bounds=_padded(fit, 0.15),
        focus=code,
        controls={"search": False, "locate": True, "linkGrids": True, "cards": user.at_least("viewer")},
    )
    # the grid's own buildings go with the page (the first view draws them without a request), as the API
    # would answer them; "<", ">" and "&" escaped so that no name closes the script element
    seed = map_layers.own_buildings_geojson(blds, zoom=SEED_ZOOM) if len(blds) and "geometry" in blds else None
    if seed is not None:
        seed = seed.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    page = render_template(
        "maps/grid.html",
        map=m,
        seed=Markup(seed) if seed is not None else None,
        d=detail,
        s=detail["stats"],
        roles=role_names(),
        role_order=STEWARD_ROLES,
        states=state_names(),
        cards=user.at_least("viewer"),
        categories=category_names(),
    )
    return compressed(make_response(page))


#: the zoom whose simplification a grid page's own buildings are sent with (finer than the page opens at)
SEED_ZOOM = 17


def category_names() -> dict[str, str]:
    """Complaint category names in the page's language."""
    en = ui_lang() == "en"
    return {key: (c.en if en else c.zh) for key, c in CATEGORIES.items()}


def _padded(bbox: Sequence[float], frac: float = 0.08) -> list[float]:
    minx, miny, maxx, maxy = bbox
    dx, dy = (maxx - minx) * frac, (maxy - miny) * frac
    return [minx - dx, miny - dy, maxx + dx, maxy + dy]
