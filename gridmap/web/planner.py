"""The planner: pages ``/planner`` (plans, drafts) and the JSON API under ``/api/planner`` that the map
calls (moves by id list from a click or lasso, merge, split, lock, undo/redo, rebalance, diff, publish,
rollback, export, import). Views only parse the request and call :mod:`gridmap.services.plans`."""

from __future__ import annotations

import io
import tempfile
import threading
from pathlib import Path
from typing import Annotated, Any, Literal

from flask import Blueprint, current_app, jsonify, render_template, request, send_file
from pydantic import Field

from gridmap import clock
from gridmap.io.planfiles import MEDIA_TYPES
from gridmap.io.uploads import received
from gridmap.services import plans as svc
from gridmap.web.access import allow, current_user
from gridmap.web.context import get_store, local_date
from gridmap.web.limits import limit
from gridmap.web.openapi import OBJ, describe, op, param
from gridmap.web.schemas import Body, IsoDate, Query, body, distinct, query

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


# -- what the API takes ------------------------------------------------------------------------------
Id = Annotated[str, Field(min_length=1, max_length=64)]
Ids = Annotated[list[Id], Field(max_length=5000)]
Note = Annotated[str, Field(max_length=1000)]
#: the day a plan takes effect; empty or left out: today. Publishing takes effect at once (no scheduling), so
#: a date after today in GRIDMAP_TIMEZONE is refused (docs/planning.md, "Effective date")
EffectiveDate = IsoDate | Literal[""] | None


class StartIn(Body):
    base: Id | None = None
    note: Note | None = None


class DraftQuery(Query):
    community: str | None = Field(None, max_length=12)


class MoveIn(Body):
    buildings: Annotated[list[Id], Field(min_length=1, max_length=5000)]
    to_grid: Id


class MergeIn(Body):
    grids: distinct(Id, min_length=2, max_length=5000)  # type: ignore[valid-type]


class SplitIn(Body):
    grid: Id
    buildings: Ids | None = None


class LockIn(Body):
    grids: Ids
    locked: bool = True


class RebalanceIn(Body):
    allow_new_grids: bool = True
    #: the community on screen; "all" or absent: every community
    community: str | None = Field(None, max_length=12)


class PublishIn(Body):
    effective_date: EffectiveDate = None
    #: why a draft the publish gate holds back goes into force anyway (:mod:`gridmap.services.plans.gate`)
    override_reason: str | None = Field(None, max_length=500)


class RollbackIn(Body):
    plan: Id
    effective_date: EffectiveDate = None


class DiffQuery(Query):
    old: Id
    new: Id


class ExportQuery(Query):
    format: Literal[tuple(MEDIA_TYPES)] = "gpkg"  # type: ignore[valid-type]


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
        "planner/draft.html",
        info=info,
        communities=svc.communities(_store()),
        community=request.args.get("community"),
        today=local_date(clock.now()),  # the latest effective date: publishing takes effect at once
    )


# -- API ---------------------------------------------------------------------------------------
@bp.get("/api/planner/plans")
@allow("planner")
def api_plans():
    return jsonify({"plans": svc.list_plans(_store()), "published": svc.published_plan_id(_store())})


@bp.post("/api/planner/drafts")
@allow("planner")
@body(StartIn)
def api_start(body: StartIn):
    return jsonify(svc.start_draft(_store(), actor=_actor(), base=body.base, note=body.note)), 201


@bp.get("/api/planner/drafts/<draft>")
@allow("planner")
@query(DraftQuery)
def api_draft(draft: str, query: DraftQuery):
    return jsonify(svc.draft_view(_store(), draft, world=world(), community=query.community))


@bp.post("/api/planner/drafts/<draft>/move")
@allow("planner")
@body(MoveIn)
def api_move(draft: str, body: MoveIn):
    return jsonify(svc.move_buildings(_store(), draft, body.buildings, body.to_grid, actor=_actor(), world=world()))


@bp.post("/api/planner/drafts/<draft>/merge")
@allow("planner")
@body(MergeIn)
def api_merge(draft: str, body: MergeIn):
    return jsonify(svc.merge_grids(_store(), draft, body.grids, actor=_actor(), world=world()))


@bp.post("/api/planner/drafts/<draft>/split")
@allow("planner")
@body(SplitIn)
def api_split(draft: str, body: SplitIn):
    return jsonify(svc.split_grid(_store(), draft, body.grid, body.buildings or None, actor=_actor(), world=world()))


@bp.post("/api/planner/drafts/<draft>/lock")
@allow("planner")
@body(LockIn)
def api_lock(draft: str, body: LockIn):
    return jsonify(svc.lock_grids(_store(), draft, body.grids, locked=body.locked, actor=_actor(), world=world()))


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
@body(RebalanceIn)
def api_rebalance(draft: str, body: RebalanceIn):
    community = body.community
    return jsonify(
        svc.rebalance_draft(
            _store(),
            draft,
            actor=_actor(),
            world=world(),
            allow_new_grids=body.allow_new_grids,
            communities=None if community in (None, "", "all") else [community],
        )
    )


@bp.post("/api/planner/drafts/<draft>/publish")
@allow("planner")
@body(PublishIn)
def api_publish(draft: str, body: PublishIn):
    return jsonify(
        svc.publish(
            _store(),
            draft,
            effective_date=body.effective_date or None,
            actor=_actor(),
            world=world(),
            override_reason=body.override_reason,
        )
    )


@bp.get("/api/planner/drafts/<draft>/review")
@allow("planner")
def api_review(draft: str):
    return jsonify(svc.review(_store(), draft, world=world()))


@bp.post("/api/planner/rollback")
@allow("planner")
@body(RollbackIn)
def api_rollback(body: RollbackIn):
    return jsonify(
        svc.rollback(_store(), body.plan, actor=_actor(), world=world(), effective_date=body.effective_date or None)
    )


@bp.get("/api/planner/diff")
@allow("planner")
@query(DiffQuery)
def api_diff(query: DiffQuery):
    return jsonify(svc.diff(_store(), query.old, query.new, world=world()).as_dict())


@bp.get("/api/planner/plans/<plan_id>/export")
@allow("planner")
@query(ExportQuery)
def api_export(plan_id: str, query: ExportQuery):
    fmt = query.format
    suffix = {"gpkg": ".gpkg", "geojson": ".geojson", "shp": ".zip", "csv": ".csv"}[fmt]
    with tempfile.TemporaryDirectory(prefix="gridmap-export-") as folder:
        tmp = Path(folder) / f"{plan_id}{suffix}"
        svc.export_plan_file(_store(), plan_id, str(tmp), format=fmt, world=world())
        data = io.BytesIO(tmp.read_bytes())  # the folder goes when the block ends; the bytes are sent
    return send_file(data, mimetype=MEDIA_TYPES[fmt], as_attachment=True, download_name=tmp.name)


@bp.post("/api/planner/import")
@allow("planner")
@limit("uploads")
@body(upload="file")
def api_import(body: None, upload: Any):
    with received(upload.stream, upload.filename, allowed=(".gpkg", ".geojson", ".json", ".zip", ".csv")) as path:
        return jsonify(svc.import_plan_file(_store(), str(path), actor=_actor(), world=world())), 201


# -- the OpenAPI description -------------------------------------------------------------------------------
DRAFT = param("draft", schema={"type": "string", "maxLength": 64})
_P: dict[str, Any] = dict(role="planner", tag="planner", ok=OBJ)
_FILE = {"type": "string", "format": "binary"}

for _path, _method, _op in (
    ("/api/planner/plans", "get", op("Plans and the published one", view=api_plans, **_P)),
    (
        "/api/planner/drafts",
        "post",
        op("Start a draft from a plan (default: the published one)", status=201, view=api_start, **_P),
    ),
    (
        "/api/planner/drafts/{draft}",
        "get",
        op("A draft's grids, figures and history", params=(DRAFT,), view=api_draft, **_P),
    ),
    ("/api/planner/drafts/{draft}/move", "post", op("Move buildings to a grid", params=(DRAFT,), view=api_move, **_P)),
    ("/api/planner/drafts/{draft}/merge", "post", op("Merge grids", params=(DRAFT,), view=api_merge, **_P)),
    (
        "/api/planner/drafts/{draft}/split",
        "post",
        op("Split a grid (optionally: these buildings leave it)", params=(DRAFT,), view=api_split, **_P),
    ),
    (
        "/api/planner/drafts/{draft}/lock",
        "post",
        op("Lock or unlock grids against rebalancing", params=(DRAFT,), view=api_lock, **_P),
    ),
    ("/api/planner/drafts/{draft}/undo", "post", op("Undo the last change", params=(DRAFT,), view=api_undo, **_P)),
    ("/api/planner/drafts/{draft}/redo", "post", op("Redo", params=(DRAFT,), view=api_redo, **_P)),
    (
        "/api/planner/drafts/{draft}/rebalance",
        "post",
        op(
            "Minimal-change rebalance of one community of the draft (or all)",
            params=(DRAFT,),
            view=api_rebalance,
            **_P,
        ),
    ),
    (
        "/api/planner/drafts/{draft}/review",
        "get",
        op("What publishing would bring into force", params=(DRAFT,), view=api_review, **_P),
    ),
    ("/api/planner/drafts/{draft}/publish", "post", op("Publish the draft", params=(DRAFT,), view=api_publish, **_P)),
    ("/api/planner/rollback", "post", op("Publish an earlier plan again", view=api_rollback, **_P)),
    ("/api/planner/diff", "get", op("What changed between two plans", view=api_diff, **_P)),
    (
        "/api/planner/plans/{plan_id}/export",
        "get",
        op(
            "Download a plan (gpkg, geojson, zipped shp, csv)",
            role="planner",
            tag="planner",
            view=api_export,
            params=(param("plan_id", schema={"type": "string", "maxLength": 64}),),
            responses={
                "200": {
                    "description": "the file",
                    "content": {media: {"schema": _FILE} for media in MEDIA_TYPES.values()},
                }
            },
        ),
    ),
    ("/api/planner/import", "post", op("Import a plan file as a new draft", status=201, view=api_import, **_P)),
):
    describe(_path, _method, _op)
