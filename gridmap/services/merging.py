"""Overlapping footprints at import: merge them into one building (``--merge-overlapping``), and read ids of
merged footprints in other layers' ``building_id`` as the building they were merged into."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from gridmap.domain.footprints import merge_overlapping
from gridmap.domain.geometry import metric_crs
from gridmap.io.validation import Issue
from gridmap.store.base import Store


def merge_frame(df: pd.DataFrame, share: float) -> tuple[pd.DataFrame, dict[str, str], list[Issue]]:
    """Buildings of ``df`` (EPSG:4326, with ``_row``) whose footprints overlap by more than ``share`` become
    one; returns the merged frame, alias id → kept id, and a ``merged_buildings`` warning per building kept."""
    geoms = df["geometry"].to_numpy(dtype=object) if "geometry" in df else np.array([], dtype=object)
    polys = np.fromiter(
        (
            isinstance(g, shapely.Geometry) and not shapely.is_empty(g) and shapely.get_type_id(g) in (3, 6)
            for g in geoms
        ),
        dtype=np.bool_,
        count=len(geoms),
    )
    if polys.sum() < 2:
        return df, {}, []
    sub = df.loc[polys].copy()
    sub["id"] = sub["id"].map(lambda v: None if pd.isna(v) else str(v).strip() or None)
    sub = sub[sub["id"].notna() & ~sub["id"].duplicated(keep=False)]  # duplicate ids are the validator's
    g = gpd.GeoSeries(shapely.make_valid(sub["geometry"].to_numpy(dtype=object)), crs=4326, index=sub.index)
    crs = metric_crs(g)
    work = sub.drop(columns="geometry").assign(geometry=g.to_crs(crs).to_numpy())
    res = merge_overlapping(work, share=share)
    if not res.merged:
        return df, {}, []
    kept = res.frame.set_index("id")
    merged_geoms = gpd.GeoSeries(list(kept["geometry"]), crs=crs, index=kept.index).to_crs(4326)
    aliases = dict(zip(res.aliases["alias"], res.aliases["building_id"]))
    out = df[~df["id"].map(lambda v: None if pd.isna(v) else str(v).strip()).isin(aliases)].copy()
    issues = []
    ids = out["id"].map(lambda v: None if pd.isna(v) else str(v).strip())
    for keep_id, members in res.merged:
        pos = out.index[ids == keep_id][0]
        out.at[pos, "geometry"] = merged_geoms[keep_id]
        for col in ("households", "residents", "floors", "units"):
            if col in out and col in kept and not pd.isna(kept.at[keep_id, col]):
                out.at[pos, col] = kept.at[keep_id, col]
        out.at[pos, "aliases"] = ",".join(members)
        issues.append(
            Issue(
                int(out.at[pos, "_row"]),
                keep_id,
                "geometry",
                f"{len(members) + 1} overlapping footprints merged into this building (the largest): "
                f"{', '.join(members)} kept as aliases"
                + (f"; {out.at[pos, 'households']} households" if "households" in out else ""),
                f"nothing to do: records naming {members[0]}{' …' if len(members) > 1 else ''} place on "
                f"{keep_id}; check the household count (each m² of ground counted once)",
                level="warning",
                rule="merged_buildings",
            )
        )
    return out.reset_index(drop=True), aliases, issues


def stored_aliases(store: Store) -> dict[str, str]:
    """Alias id → building id of every stored building with aliases."""
    return alias_map(store.read("buildings", columns=["id", "aliases"]))


def alias_map(buildings: pd.DataFrame) -> dict[str, str]:
    """Alias id → building id from a frame with ``id`` and ``aliases`` (comma separated)."""
    out: dict[str, str] = {}
    if "aliases" not in buildings:
        return out
    for bid, text in zip(buildings["id"], buildings["aliases"]):
        if isinstance(text, str) and text:
            out.update({a.strip(): str(bid) for a in text.split(",") if a.strip()})
    return out


def resolve_aliases(store: Store, df: pd.DataFrame, report) -> pd.DataFrame:
    """``building_id`` values naming a merged footprint become the building it was merged into (a warning)."""
    amap = stored_aliases(store)
    if not amap:
        return df
    given = df["building_id"].map(lambda v: None if pd.isna(v) else str(v).strip())
    hit = given.isin(amap)
    if not hit.any():
        return df
    out = df.copy()
    out.loc[hit, "building_id"] = given[hit].map(amap)
    for r, old in zip(out.loc[hit, "_row"], given[hit]):
        report.issues.append(
            Issue(
                int(r),
                None,
                "building_id",
                f"building {old} was merged into {amap[old]} (overlapping footprints); read as {amap[old]}",
                "nothing to do; write the building's kept id in later files",
                level="warning",
                rule="building_alias",
            )
        )
    return out
