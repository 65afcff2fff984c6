"""A request's own page and a building's card (the phone journeys, issue #14).

* ``/complaints/<rid>?t=<token>`` — the resident's status page (the link shown after filing): steps and
  times, the handling unit, the expected date, and the rating form once it is resolved;
  ``POST /complaints/<rid>/rate`` takes the rating; ``/complaints/track`` finds a request again by its
  number and the last four digits of the phone given.
* ``/complaints/<rid>`` signed in as staff — the request with its history and the moves this user may make
  (staff outside its area get what the privacy rules allow them).
* ``/buildings/<bid>`` — the building card: estate and number, stewards with role and phone, households
  by unit and room with special-group tags, masked for the viewer as the layers API masks them.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, redirect, render_template, request
from flask_babel import gettext as _

from gridmap import clock
from gridmap.domain.complaints import STATES
from gridmap.errors import GridmapError
from gridmap.services import complaints as svc
from gridmap.services.complaints import follow
from gridmap.services.complaints.todo import building_names, moves, waiting
from gridmap.services.maps.building import building_card
from gridmap.web.access import allow, current_user, serve_personal
from gridmap.web.complaints import _audit_read, building_number, layout
from gridmap.web.context import get_store, link_keys, select_locale, status_url
from gridmap.web.limits import limit
from gridmap.web.pages import role_names

bp = Blueprint("follow", __name__)


def tag_names() -> dict[str, str]:
    """Special-group tags of a household, in the page's language."""
    return {
        "elderly_alone": _("独居老人"),
        "disabled": _("残疾人"),
        "low_income": _("低保户"),
        "serious_illness": _("大病患者"),
        "children_in_difficulty": _("困境儿童"),
        "new_citizen": _("新市民"),
    }


@bp.get("/complaints/<rid>")
@allow("public")
def show(rid: str):
    """The resident's status page (with ``?t=``), else the staff page of the request, else the finder."""
    token = request.args.get("t")
    user = current_user()
    if token:
        follow.check_token(link_keys(), rid, token)
        view = follow.resident_view(get_store(), rid, settings=current_app.config["GRIDMAP_SETTINGS"])
        return render_template(
            "complaints/status.html",
            layout=layout(),
            c=view,
            token=token,
            en=select_locale() == "en",
            rated=request.args.get("rated"),
            why=request.args.get("why"),
        )
    if user.role in (*svc.STAFF_ROLES, "department"):
        view = svc.get_complaint(get_store(), rid, user=user)
        _audit_read(f"complaint:{rid}", [view])
        mine = svc.in_scope(user, view, view.get("grid_code"))
        return render_template(
            "complaints/show.html",
            layout=layout(),
            c=view,
            moves=moves(view, "department" if user.role == "department" else "staff") if mine else [],
            wait=waiting(view, clock.now()),
            en=select_locale() == "en",
            states={k: (s.en if select_locale() == "en" else s.zh) for k, s in STATES.items()},
            tel=_tel(view.get("contact_phone")),
            building=building_names(get_store(), [str(view["building_id"])], number=building_number).get(
                str(view["building_id"])
            )
            if view.get("building_id")
            else None,
        )
    return render_template("complaints/track.html", layout=layout(), number=rid, error=None), 200


def _tel(phone: Any) -> str | None:
    """A ``tel:`` target for a phone shown in clear (a masked one has ``*`` and gets no link)."""
    text = str(phone or "")
    return None if not text or "*" in text else "".join(ch for ch in text if ch.isdigit() or ch == "+")


@bp.post("/complaints/<rid>/rate")
@allow("public")
@limit("intake")
def rate(rid: str):
    """The resident's rating from the status page (a form post), then back to the page."""
    token = request.form.get("t", "")
    follow.check_token(link_keys(), rid, token)
    try:
        out = follow.rate(
            get_store(),
            rid,
            rating=request.form.get("rating", ""),
            resolved=request.form.get("resolved", ""),
            note=request.form.get("note") or None,
            settings=current_app.config["GRIDMAP_SETTINGS"],
        )
    except GridmapError as exc:
        view = follow.resident_view(get_store(), rid, settings=current_app.config["GRIDMAP_SETTINGS"])
        return render_template(
            "complaints/status.html", layout=layout(), c=view, token=token, en=select_locale() == "en", error=exc
        ), exc.status
    why = {"why": out["why"]} if out["why"] else {}  # the page says why it was sent back
    return redirect(status_url(rid, rated=out["state"], **why), code=303)


@bp.route("/complaints/track", methods=["GET", "POST"])
@allow("public")
@limit("intake", methods=("POST",))
def track():
    """Find a request by its number and the last four digits of the phone given; on a match, its page."""
    if request.method == "GET":
        return render_template("complaints/track.html", layout=layout(), number=request.args.get("id", ""), error=None)
    number = request.form.get("id", "").strip()
    try:
        cid = follow.find_by_phone(get_store(), number, request.form.get("last4", ""))
    except GridmapError as exc:
        return render_template("complaints/track.html", layout=layout(), number=number, error=exc), exc.status
    return redirect(status_url(cid), code=303)


@bp.get("/buildings/<bid>")
@allow("viewer")
def building(bid: str):
    """The building card, masked for the signed-in user by the privacy rules (the layers API's rule)."""
    card = building_card(get_store(), bid)
    stewards = serve_personal("stewards", card["stewards"], target=f"building:{bid}:stewards")
    households = serve_personal("households", card["households"], target=f"building:{bid}:households")
    units: dict[Any, list[dict[str, Any]]] = {}
    for h in households:
        units.setdefault(h.get("unit"), []).append(h)
    return render_template(
        "buildings/card.html",
        card=card,
        stewards=[s | {"tel": _tel(s.get("phone"))} for s in stewards],
        units=units,
        households_total=len(card["households"]),
        roles=role_names(),
        tags=tag_names(),
    )
