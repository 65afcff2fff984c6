"""The planner: pages ``/planner`` (plans, drafts) and the JSON API under ``/api/planner`` that the map
calls (moves by id list from a click or lasso, merge, split, lock, undo/redo, rebalance, diff, publish,
rollback, export, import). Views only parse the request and call :mod:`gridmap.services.plans`."""

from __future__ import annotations

import io
import tempfile
import threading
from pathlib import Path
from typing import Any

from flask import Blueprint, current_app, jsonify, render_template, request, send_file

from gridmap.errors import InvalidInput
from gridmap.io.planfiles import MEDIA_TYPES
from gridmap.io.uploads import received
from gridmap.services import plans as svc
from gridmap.web.access import allow, current_user
from gridmap.web.context import get_store
from gridmap.web.limits import limit

bp = Blueprint("planner", __name__)
_LOCK = threading.Lock()


def _store():
    return get_store()


def world() -> svc.PlanWorld:
    """The app's plan world, rebuilt when the data it is made from changed."""
    store = _store()
    stamp = svc.world_stamp(store)
    with _LOCK:
        w = current_app.extensions.get("gridmap_plan_world")
        if w is None or w.stamp != stamp:
            w = svc.load_world(store, settings=current_app.config)
            current_app.extensions["gridmap_plan_world"] = w
        return w


def _actor() -> str:
    return current_user().username


def _body() -> dict[str, Any]:
    data = request.get_json(silent=True)
    if data is None and request.form:
        data = request.form.to_dict()
    if not isinstance(data, dict):
        raise InvalidInput("请求体应为 JSON 对象 / the request body must be a JSON object")
    return data


def _opt_body() -> dict[str, Any]:
    """An optional JSON object body: {} when absent, 400 when it is not an object."""
    data = request.get_json(silent=True)
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise InvalidInput("请求体应为 JSON 对象 / the request body must be a JSON object")
    return data


def _opt_str(data: dict, key: str) -> str | None:
    value = data.get(key)
    if value is not None and not isinstance(value, str):
        raise InvalidInput(f"'{key}' 应为字符串 / '{key}' must be a string")
    return value


def _list(data: dict, key: str) -> list[str]:
    value = data.get(key)
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise InvalidInput(f"'{key}' 应为字符串列表 / '{key}' must be a list of strings")
    return value


def _str(data: dict, key: str) -> str:
    value = data.get(key)
    if not isinstance(value, str) or not value:
        raise InvalidInput(f"缺少 '{key}' / '{key}' is required")
    return value


# -- pages --------------------------------------------------------------------------------------
@bp.get("/planner")
@allow("planner")
def index():
    return render_template(
        "planner/index.html", plans=svc.list_plans(_store()), published=svc.published_plan_id(_store())
    )


@bp.get("/planner/drafts/<draft>")
@allow("planner")
def draft_page(draft: str):
    info = svc.draft_info(_store(), draft)
    return render_template(
        "planner/draft.html", info=info, communities=svc.communities(_store()), community=request.args.get("community")
    )


# -- API ---------------------------------------------------------------------------------------
@bp.get("/api/planner/plans")
@allow("planner")
def api_plans():
    return jsonify({"plans": svc.list_plans(_store()), "published": svc.published_plan_id(_store())})


@bp.post("/api/planner/drafts")
@allow("planner")
def api_start():
    data = _opt_body()
    return jsonify(
        svc.start_draft(_store(), actor=_actor(), base=_opt_str(data, "base"), note=_opt_str(data, "note"))
    ), 201


@bp.get("/api/planner/drafts/<draft>")
@allow("planner")
def api_draft(draft: str):
    return jsonify(svc.draft_view(_store(), draft, world=world(), community=request.args.get("community")))


@bp.post("/api/planner/drafts/<draft>/move")
@allow("planner")
def api_move(draft: str):
    data = _body()
    return jsonify(
        svc.move_buildings(
            _store(), draft, _list(data, "buildings"), _str(data, "to_grid"), actor=_actor(), world=world()
        )
    )


@bp.post("/api/planner/drafts/<draft>/merge")
@allow("planner")
def api_merge(draft: str):
    return jsonify(svc.merge_grids(_store(), draft, _list(_body(), "grids"), actor=_actor(), world=world()))


@bp.post("/api/planner/drafts/<draft>/split")
@allow("planner")
def api_split(draft: str):
    data = _body()
    ids = _list(data, "buildings") if data.get("buildings") else None
    return jsonify(svc.split_grid(_store(), draft, _str(data, "grid"), ids, actor=_actor(), world=world()))


@bp.post("/api/planner/drafts/<draft>/lock")
@allow("planner")
def api_lock(draft: str):
    data = _body()
    return jsonify(
        svc.lock_grids(
            _store(), draft, _list(data, "grids"), locked=bool(data.get("locked", True)), actor=_actor(), world=world()
        )
    )


@bp.post("/api/planner/drafts/<draft>/undo")
@allow("planner")
def api_undo(draft: str):
    return jsonify(svc.undo(_store(), draft, actor=_actor(), world=world()))


@bp.post("/api/planner/drafts/<draft>/redo")
@allow("planner")
def api_redo(draft: str):
    return jsonify(svc.redo(_store(), draft, actor=_actor(), world=world()))


@bp.post("/api/planner/drafts/<draft>/rebalance")
@allow("planner")
def api_rebalance(draft: str):
    data = _opt_body()
    community = _opt_str(data, "community")  # the community on screen; "all" or absent: every community
    return jsonify(
        svc.rebalance_draft(
            _store(),
            draft,
            actor=_actor(),
            world=world(),
            allow_new_grids=bool(data.get("allow_new_grids", True)),
            communities=None if community in (None, "", "all") else [community],
        )
    )


@bp.post("/api/planner/drafts/<draft>/publish")
@allow("planner")
def api_publish(draft: str):
    data = _opt_body()
    return jsonify(
        svc.publish(
            _store(),
            draft,
            effective_date=_opt_str(data, "effective_date"),
            actor=_actor(),
            world=world(),
            override_reason=_opt_str(data, "override_reason"),
        )
    )


@bp.get("/api/planner/drafts/<draft>/review")
@allow("planner")
def api_review(draft: str):
    return jsonify(svc.review(_store(), draft, world=world()))


@bp.post("/api/planner/rollback")
@allow("planner")
def api_rollback():
    data = _body()
    return jsonify(
        svc.rollback(
            _store(), _str(data, "plan"), actor=_actor(), world=world(), effective_date=_opt_str(data, "effective_date")
        )
    )


@bp.get("/api/planner/diff")
@allow("planner")
def api_diff():
    old, new = request.args.get("old"), request.args.get("new")
    if not old or not new:
        raise InvalidInput("需要 old 和 new 参数 / query parameters 'old' and 'new' are required")
    return jsonify(svc.diff(_store(), old, new, world=world()).as_dict())


@bp.get("/api/planner/plans/<plan_id>/export")
@allow("planner")
def api_export(plan_id: str):
    fmt = request.args.get("format", "gpkg")
    suffix = {"gpkg": ".gpkg", "geojson": ".geojson", "shp": ".zip", "csv": ".csv"}.get(fmt)
    if suffix is None:
        raise InvalidInput("format 应为 gpkg、geojson、shp 或 csv / format must be gpkg, geojson, shp or csv")
    with tempfile.TemporaryDirectory(prefix="gridmap-export-") as folder:
        tmp = Path(folder) / f"{plan_id}{suffix}"
        svc.export_plan_file(_store(), plan_id, str(tmp), format=fmt, world=world())
        data = io.BytesIO(tmp.read_bytes())  # the folder goes when the block ends; the bytes are sent
    return send_file(data, mimetype=MEDIA_TYPES[fmt], as_attachment=True, download_name=tmp.name)


@bp.post("/api/planner/import")
@allow("planner")
@limit("uploads")
def api_import():
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        raise InvalidInput("请上传方案文件 / upload a plan file in field 'file'")
    with received(upload.stream, upload.filename, allowed=(".gpkg", ".geojson", ".json", ".zip", ".csv")) as path:
        return jsonify(svc.import_plan_file(_store(), str(path), actor=_actor(), world=world())), 201
