"""Embeddable maps without page chrome, and a demo host page.

``/embed/grids/<code>``, ``/embed/communities/<id>``, ``/embed/streets/<id>``; query: ``layers=`` (comma
separated, see :data:`gridmap.present.render.LAYER_ORDER`), ``basemap=none`` (drop the configured basemap),
``origin=`` (the host page's origin, one of ``EMBED_FRAME_ANCESTORS``), ``token=`` (when
``EMBED_REQUIRE_TOKEN``). A click on a grid or building posts
``{type: "gridmap:select", kind, code, figures}`` to ``window.parent``. Framing is allowed only for the
origins in ``EMBED_FRAME_ANCESTORS`` (``Content-Security-Policy: frame-ancestors``, set by
:mod:`gridmap.web.security` for views marked ``@embed``).
"""

from __future__ import annotations

from flask import Blueprint, current_app, render_template, request

from gridmap.errors import Forbidden, InvalidInput
from gridmap.present import render
from gridmap.services import accounts
from gridmap.services.maps import grid as map_grid
from gridmap.web.access import allow, current_user, embed, embed_claims
from gridmap.web.context import get_store
from gridmap.web.pages import _padded, map_parts

bp = Blueprint("embed", __name__, url_prefix="/embed")

DEFAULT_LAYERS = ("streets", "communities", "grids", "buildings", "stewards", "complaints")


def _store():
    return get_store()


def chosen_layers() -> tuple[str, ...]:
    """Layers from ``?layers=`` (default :data:`DEFAULT_LAYERS`), limited by the embed token's layers."""
    raw = request.args.get("layers")
    layers = tuple(x for x in (raw.split(",") if raw else DEFAULT_LAYERS) if x)
    bad = [x for x in layers if x not in render.LAYER_ORDER]
    if bad:
        raise InvalidInput(f"layers: unknown {bad}; layers are {', '.join(render.LAYER_ORDER)}")
    claims = embed_claims()
    return tuple(x for x in layers if claims is None or claims.allows_layer(x))


def allowed_origins() -> list[str]:
    """Origins named in ``GRIDMAP_EMBED_FRAME_ANCESTORS`` (``'self'`` is this app's own origin) and the embed
    token's own ``origin``."""
    out = []
    for item in (current_app.config.get("EMBED_FRAME_ANCESTORS") or "'self'").split():
        out.append(request.host_url.rstrip("/") if item == "'self'" else item.rstrip("/"))
    claims = embed_claims()
    if claims is not None and claims.origin:
        out.append(claims.origin)
    return out


def target_origin() -> str:
    """Where selections are posted: ``?origin=`` when it is allowed, else the token's origin, else the only
    allowed host, else self."""
    allowed = allowed_origins()
    wanted = (request.args.get("origin") or "").rstrip("/")
    if wanted:
        if wanted not in allowed:
            raise InvalidInput(
                f"origin={wanted} 不在允许嵌入的网站之列：请在签发嵌入令牌时填写它，或加入设置 "
                f"GRIDMAP_EMBED_FRAME_ANCESTORS / origin={wanted!r} may not embed this map: name it when issuing "
                f"the embed token, or add it to the setting GRIDMAP_EMBED_FRAME_ANCESTORS"
            )
        return wanted
    claims = embed_claims()
    if claims is not None and claims.origin:
        return claims.origin
    others = [o for o in allowed if o != request.host_url.rstrip("/") and "*" not in o]
    return others[0] if len(others) == 1 else request.host_url.rstrip("/")


def _check_area(key: str) -> None:
    claims = embed_claims()
    if claims is not None and not claims.allows_grid(key):
        raise Forbidden("此嵌入令牌不含该区域 / this embed token does not cover this area")


def _embed_page(*, title: str, bounds, focus: str | None = None, area: str | None = None):
    basemap = "none" if request.args.get("basemap") == "none" else None
    m = map_parts(
        layers=chosen_layers(),
        bounds=bounds,
        focus=focus,
        select_origin=target_origin(),
        basemap=basemap,
        controls={"search": False, "locate": False, "linkGrids": False},
        link_grids=False,
        area=area,
    )
    return render_template("maps/embed.html", map=m, title=title)


@bp.get("/grids/<code>")
@allow("public")
@embed("grid")
def grid(code: str):
    """One grid, framed by a host page."""
    _check_area(code)
    stats = map_grid.grid_stats(_store(), code)
    return _embed_page(title=code, bounds=_padded(stats["bbox"]), focus=code)


@bp.get("/communities/<cid>")
@allow("public")
@embed("map")
def community(cid: str):
    """One community and its grids, framed by a host page."""
    _check_area(cid)
    a = map_grid.area(_store(), "community", cid)
    return _embed_page(title=a["name"], bounds=a["bbox"], area=cid)  # only the community: data and selection


@bp.get("/streets/<sid>")
@allow("public")
@embed("map")
def street(sid: str):
    """One street and its grids, framed by a host page."""
    _check_area(sid)
    a = map_grid.area(_store(), "street", sid)
    return _embed_page(title=a["name"], bounds=a["bbox"], area=sid)


@bp.get("/tokens")
@allow("planner")
def tokens():
    """Planners and admins issue, list and revoke embed tokens and copy a ready snippet (issue 15)."""
    store = _store()
    coms = store.read("communities", columns=["id", "name"]).sort_values("id")
    streets = store.read("streets", columns=["id", "name"]).sort_values("id")
    return render_template(
        "maps/embed_tokens.html",
        layers=render.LAYER_ORDER,
        default_layers=DEFAULT_LAYERS,
        communities=coms.to_dict("records"),
        streets=streets.to_dict("records"),
        first_grid=map_grid.first_grid(store) or "",
        ancestors=current_app.config.get("EMBED_FRAME_ANCESTORS") or "'self'",
    )


@bp.get("/demo")
@allow("public")
def demo():
    """A host page: the iframe snippet, an embedded map and what a click sends."""
    src = request.args.get("src", "")
    if src and not src.startswith("/embed/"):
        raise InvalidInput("src must be an /embed/… path of this app")
    if not src:
        first = map_grid.first_grid(_store())
        src = f"/embed/grids/{first}?layers=grids,buildings,stewards,complaints" if first else ""
    token = request.args.get("token", "")
    needs_token = bool(current_app.config.get("EMBED_REQUIRE_TOKEN", True)) and not token
    if needs_token and src and current_user().at_least("planner"):
        token = _preview_token(src)  # a planner trying the snippet gets a one-hour token for this view
        needs_token = False
    return render_template(
        "maps/embed_demo.html", src=src if not needs_token else "", token=token, needs_token=needs_token and bool(src)
    )


def _preview_token(src: str) -> str:
    """A one-hour embed token for the ``/embed/...`` path ``src`` (grid views: that grid only)."""
    path = src.split("?", 1)[0].rstrip("/").split("/")
    view = "grid" if path[2:3] == ["grids"] else "map"
    grids = [path[3]] if view == "grid" and len(path) > 3 and path[3].isdigit() else []
    issued = accounts.issue_embed(
        _store(), current_app.config["SECRET_KEY"], view=view, grids=grids, hours=1, actor=current_user().username
    )
    return issued["token"]
