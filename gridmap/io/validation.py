"""Check rows of a layer before they are imported, and say exactly what is wrong and how to fix it.

``validate(layer, frame, communities=…, known_ids=…)`` returns the cleaned frame (ids as strings, typed
values, repaired geometry, derived ``community_id``) and a list of :class:`Issue` (row, id, field,
problem, fix, level). Rows with an ``error`` are not importable; ``warning`` rows were repaired. Pure:
the caller supplies what the store already holds.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from shapely.geometry.base import BaseGeometry

from gridmap.domain.geometry import metric_crs
from gridmap.domain.schema import BOOL, DATE, DATETIME, FLOAT, INT, LAYERS, Layer
from gridmap.io.containment import (
    INSIDE_SHARE,
    STRADDLE_SHARE,
    STRADDLERS,
    community_shares,
    containment,
    overlapping_buildings,
)
from gridmap.io.issues import Issue, _issue

__all__ = ["INSIDE_SHARE", "STRADDLE_SHARE", "STRADDLERS", "Issue", "community_shares", "validate"]
OVERLAP_M2 = 1.0  # communities may touch, and overlap by rounding, but not by more than this
SLIVER_M2 = 200.0  # a polygon part smaller than this is a sliver …
SLIVER_THINNESS = 0.02  # … and so is a part thinner than this (4πA/P², 1 for a circle)
NON_NEGATIVE = ("households", "residents", "floors", "units", "members", "party_members")
FAMILY = {"polygon": ("Polygon", "MultiPolygon"), "point": ("Point",), "line": ("LineString", "MultiLineString")}
#: layers whose community is derived from geometry when the file does not give it
DERIVE_COMMUNITY = ("estates", "buildings")


def validate(
    layer: str,
    frame: pd.DataFrame,
    *,
    communities: gpd.GeoDataFrame | None = None,
    known_ids: Mapping[str, set[str]] | None = None,
    straddlers: str = "reject",
) -> tuple[pd.DataFrame, list[Issue]]:
    """Clean ``frame`` for ``layer`` and list its problems (see the module docstring).

    ``frame`` must carry the file's 1-based record numbers in a ``_row`` column. ``communities``: the
    communities already stored (for containment rules); ``known_ids``: ids of parent layers in the store.
    ``straddlers``: ``reject`` (a building in two communities is an error) or ``majority`` (it goes to the
    community holding most of its footprint, with a warning). Overlapping buildings are a warning.
    """
    spec = LAYERS[layer]
    issues: list[Issue] = []
    df = frame.copy()
    _ids(df, issues)
    _values(spec, df, issues)
    if spec.geometry:
        _geometry(spec, spec.geometry, df, issues)
        if layer == "communities":
            _communities(df, communities, issues)
        if layer in ("communities", "estates", "streets"):
            _slivers(df, issues)
        if layer in DERIVE_COMMUNITY:
            containment(layer, df, communities, issues, straddlers=straddlers)
        if layer == "buildings":
            issues += overlapping_buildings(df)
    _required(spec, df, issues)
    _parents(spec, df, known_ids or {}, issues)
    return df, sorted(issues, key=lambda i: (i.row or 0, i.field, i.rule))


def _ids(df: pd.DataFrame, issues: list[Issue]) -> None:
    if "id" not in df:
        return
    ids = df["id"].map(_as_id)
    df["id"] = ids
    issues += _issue(
        df, ids.isna(), "id", "empty id", "give every row a unique id (or pass --id-column)", rule="empty_id"
    )
    dup = ids.notna() & ids.duplicated(keep="first")
    first = df.loc[ids.notna() & ~ids.duplicated(keep="first")].set_index("id")["_row"]
    issues += _issue(
        df,
        dup,
        "id",
        ids[dup].map(lambda i: f"duplicate id {i!r} (first on row {first[i]})"),
        "make ids unique; a re-import updates rows by id",
        rule="duplicate_id",
    )


#: an HTML tag, comment or declaration (``<b``, ``</``, ``<!``, ``<?``) or a character entity (``&lt;``, ``&#60;``)
_MARKUP = re.compile(r"<[A-Za-z!/?]|&(?:#\d+|#x[0-9A-Fa-f]+|[A-Za-z][A-Za-z0-9]*);")


def _has_markup(value: object) -> bool:
    """Names are text: a value that a browser would read as markup is refused at import."""
    return isinstance(value, str) and _MARKUP.search(value) is not None


def _as_id(value) -> str | None:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return None
    if isinstance(value, (float, np.floating)) and float(value).is_integer():
        value = int(value)
    text = str(value).strip()
    return text or None


def _values(spec: Layer, df: pd.DataFrame, issues: list[Issue]) -> None:
    for col in spec.columns:
        if col.name not in df or col.name == "id":
            continue
        raw = df[col.name]
        blank = raw.isna() | (raw.astype(str).str.strip() == "")
        if col.kind in (INT, FLOAT):
            num = pd.to_numeric(raw.where(~blank), errors="coerce")
            bad = ~blank & num.isna()
            if col.kind == INT:
                bad |= num.notna() & (num != np.round(num))
            issues += _issue(
                df,
                bad,
                col.name,
                raw[bad].map(lambda v: f"{v!r} is not a number"),
                f"write {col.name} as a {'whole ' if col.kind == INT else ''}number",
                rule="bad_value",
            )
            df[col.name] = num.where(~bad).astype("Int64" if col.kind == INT else "Float64")
            if col.name in NON_NEGATIVE:
                neg = (num < 0).fillna(False) & ~bad
                issues += _issue(
                    df,
                    neg,
                    col.name,
                    num[neg].map(lambda v, name=col.name: f"negative {name} {v:g}"),
                    f"{col.name} must be 0 or more",
                    rule="negative_value",
                )
        elif col.kind == BOOL:
            text = raw.astype(str).str.strip().str.lower()
            truth = text.map(
                {
                    "true": True,
                    "1": True,
                    "yes": True,
                    "是": True,
                    "t": True,
                    "y": True,
                    "false": False,
                    "0": False,
                    "no": False,
                    "否": False,
                    "f": False,
                    "n": False,
                }
            )
            bad = ~blank & truth.isna()
            issues += _issue(
                df,
                bad,
                col.name,
                raw[bad].map(lambda v: f"{v!r} is not true/false"),
                "write true or false",
                rule="bad_value",
            )
            df[col.name] = truth.where(~blank, None).astype(object)
        elif col.kind in (DATE, DATETIME):
            when = pd.to_datetime(raw.where(~blank), errors="coerce")
            bad = ~blank & when.isna()
            issues += _issue(
                df,
                bad,
                col.name,
                raw[bad].map(lambda v: f"{v!r} is not a date"),
                "write dates as YYYY-MM-DD",
                rule="bad_value",
            )
            df[col.name] = (when.dt.date if col.kind == DATE else when).astype(object).where(when.notna(), None)
        elif col.kind == "str":
            df[col.name] = raw.map(_as_id).astype(object)
            markup = df[col.name].map(_has_markup).astype(bool)
            issues += _issue(
                df,
                markup,
                col.name,
                df.loc[markup, col.name].map(lambda v, name=col.name: f"{name} {v[:60]!r} holds HTML markup"),
                f"write {col.name} as plain text: remove tags such as <…> and entities such as &…;",
                rule="markup_in_text",
            )


def _required(spec: Layer, df: pd.DataFrame, issues: list[Issue]) -> None:
    flagged = {(i.row, i.field) for i in issues}
    for col in spec.columns:
        if not col.required or col.name == "id":
            continue
        missing = df[col.name].isna() if col.name in df else pd.Series(True, index=df.index)
        missing &= ~df["_row"].map(lambda r, name=col.name: (r, name) in flagged)
        what = "household count" if col.name == "households" else col.name
        fix = "fill in the number of households (0 if none)" if col.name == "households" else f"fill in {col.name}"
        if spec.name in DERIVE_COMMUNITY and col.name == "community_id":
            continue  # reported by the containment rule
        issues += _issue(df, missing, col.name, f"missing {what}", fix, rule="missing_value")


def _geometry(spec: Layer, family: str, df: pd.DataFrame, issues: list[Issue]) -> None:
    if "geometry" not in df:
        df["geometry"] = None
    geoms = df["geometry"].to_numpy(dtype=object).copy()  # writable even when pandas hands out a view
    present = geoms.copy()
    present[pd.isna(present)] = None  # NaN as None, which shapely takes for "no geometry"
    missing = pd.isna(geoms) | shapely.is_empty(present)
    if spec.geometry_required:
        issues += _issue(
            df, missing, "geometry", "no geometry", "draw the feature or drop the row", rule="missing_geometry"
        )
    ok = ~missing
    invalid = ok.copy()
    invalid[ok] = ~shapely.is_valid(geoms[ok])
    if invalid.any():
        reasons = [shapely.is_valid_reason(g) for g in geoms[invalid]]
        repaired = np.array([_family_part(shapely.make_valid(g), family) for g in geoms[invalid]], dtype=np.object_)
        lost = shapely.is_empty(repaired)
        inv_idx = np.flatnonzero(invalid)
        issues += _issue(
            df,
            _mask(df, inv_idx[~lost]),
            "geometry",
            pd.Series(
                [f"invalid geometry ({r}), repaired with make_valid" for r, bad in zip(reasons, lost) if not bad],
                index=df.index[inv_idx[~lost]],
            ),
            "check the repaired shape; fix it in the source file",
            level="warning",
            rule="invalid_geometry",
        )
        issues += _issue(
            df,
            _mask(df, inv_idx[lost]),
            "geometry",
            pd.Series(
                [f"invalid geometry ({r}) with nothing left after repair" for r, bad in zip(reasons, lost) if bad],
                index=df.index[inv_idx[lost]],
            ),
            "redraw the feature",
            rule="invalid_geometry",
        )
        repaired[lost] = None
        geoms[invalid] = repaired
    types = np.array([g.geom_type if g is not None and not g.is_empty else "" for g in geoms])
    wrong = ok & ~invalid & ~np.isin(types, FAMILY[family])
    issues += _issue(
        df,
        wrong,
        "geometry",
        pd.Series([f"{t} where a {family} is expected" for t in types[wrong]], index=df.index[wrong]),
        f"give {spec.name} {family} geometries",
        rule="wrong_geometry_type",
    )
    geoms[wrong] = None
    df["geometry"] = geoms


def _mask(df: pd.DataFrame, positions: np.ndarray) -> np.ndarray:
    m = np.zeros(len(df), bool)
    m[positions] = True
    return m


def _family_part(geom: BaseGeometry, family: str) -> BaseGeometry:
    if geom.geom_type in FAMILY[family]:
        return geom
    parts = [
        p
        for p in shapely.get_parts(geom)
        if p.geom_type in FAMILY[family] or (family == "polygon" and p.geom_type == "MultiPolygon")
    ]
    if not parts:
        return shapely.Polygon() if family == "polygon" else shapely.Point()
    return shapely.union_all(parts) if len(parts) > 1 else parts[0]


def _communities(df: pd.DataFrame, stored: gpd.GeoDataFrame | None, issues: list[Issue]) -> None:
    """Overlaps between communities of the file, and with stored communities of other ids."""
    has = df["geometry"].notna().to_numpy()
    if not has.any():
        return
    mine = gpd.GeoDataFrame(df.loc[has, ["id", "_row"]], geometry=list(df.loc[has, "geometry"]), crs=4326)
    others = stored[~stored["id"].isin(mine["id"])] if stored is not None and len(stored) else None
    pool = (
        pd.concat(
            [mine.assign(_file=True), others.assign(_file=False, _row=None)[["id", "_row", "geometry", "_file"]]],
            ignore_index=True,
        )
        if others is not None
        else mine.assign(_file=True)
    )
    pool = gpd.GeoDataFrame(pool, geometry="geometry", crs=4326)
    metric = pool.to_crs(metric_crs(pool.geometry))
    left, right = metric.sindex.query(metric.geometry, predicate="intersects")
    keep = (left != right) & pool["_file"].to_numpy()[left]
    left, right = left[keep], right[keep]
    area = shapely.area(shapely.intersection(metric.geometry.to_numpy()[left], metric.geometry.to_numpy()[right]))
    for a, b, m2 in zip(left, right, area):
        if m2 <= OVERLAP_M2:
            continue
        if pool["_file"].iat[b] and pool["_row"].iat[b] > pool["_row"].iat[a]:
            continue  # reported once, on the later row of the pair
        issues.append(
            Issue(
                int(pool["_row"].iat[a]),
                pool["id"].iat[a],
                "geometry",
                f"overlaps community {pool['id'].iat[b]} by {m2:,.0f} m²",
                "correct the shared boundary so communities do not overlap",
                rule="overlapping_communities",
            )
        )


def _slivers(df: pd.DataFrame, issues: list[Issue]) -> None:
    has = df["geometry"].notna().to_numpy()
    if not has.any():
        return
    g = gpd.GeoSeries(list(df.loc[has, "geometry"]), index=df.index[has], crs=4326)
    parts = g.to_crs(metric_crs(g)).explode(index_parts=False)
    area, perim = parts.area, parts.length
    thin = 4 * np.pi * area / np.maximum(perim, 1e-9) ** 2
    bad = (area < SLIVER_M2) | (thin < SLIVER_THINNESS)
    for k in pd.unique(parts.index[bad.to_numpy()]):
        sub = bad[parts.index == k]
        worst = area[parts.index == k][sub].min()
        is_thin = (thin[parts.index == k][sub] < SLIVER_THINNESS).any()
        row = df.loc[k]
        issues.append(
            Issue(
                int(row["_row"]),
                row.get("id"),
                "geometry",
                f"sliver polygon part ({worst:,.0f} m²{', thin' if is_thin else ''})",
                "delete the sliver or merge it into the neighbouring polygon",
                rule="sliver",
            )
        )


def _parents(spec: Layer, df: pd.DataFrame, known: Mapping[str, set[str]], issues: list[Issue]) -> None:
    for col in spec.columns:
        if not col.ref or col.name not in df:
            continue
        pool = set(known.get(col.ref, set()))
        if col.ref == spec.name and "id" in df:
            pool |= set(df["id"].dropna())
        vals = df[col.name]
        bad = vals.notna() & ~vals.isin(pool)
        issues += _issue(
            df,
            bad,
            col.name,
            vals[bad].map(lambda v, ref=col.ref: f"unknown {ref} id {v!r}"),
            f"import the {col.ref} first or correct {col.name}",
            rule="unknown_parent",
        )
