"""Where estates and buildings go in the synthetic world (see :mod:`gridmap.synth.world`).

A metric lattice of square blocks covers the communities; a block whose inner square lies inside one
community (tested in EPSG:4326, the stored CRS) holds one estate, a cluster of village houses or a few
stand-alone buildings. Everything inside a block keeps a margin, so estates never overlap and buildings
lie strictly inside their community. Vectorised with numpy and shapely 2.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import Transformer

from gridmap.synth import names
from gridmap.synth.scale import Scale

METRIC_CRS = "EPSG:4549"
BLOCK_M, BLOCK_MARGIN_M, ESTATE_MARGIN_M = 400.0, 20.0, 12.0
VANKE, LEIXIN = "万科魅力之城", "磊鑫伊顿阳光"


@dataclass(frozen=True)
class Kind:
    """A building type: metres per unit and depth, row pitch, flats per landing, units, floors, bounds."""

    depth: float
    unit_w: float
    pitch_y: float
    gap_x: float
    flats: int
    units: tuple[int, ...]
    floors: tuple[int, int]
    households: tuple[int, int]
    count: tuple[int, int]

    def pairs(self) -> np.ndarray:
        """Every (units, floors) whose households (units × floors × flats) lie within the bounds."""
        return np.array(
            [
                (u, f)
                for u in self.units
                for f in range(self.floors[0], self.floors[1] + 1)
                if self.households[0] <= u * f * self.flats <= self.households[1]
            ]
        )


KINDS = {
    "high": Kind(15, 16, 58, 14, 2, (2, 3, 4), (17, 33), (130, 260), (4, 14)),
    "mid": Kind(12, 14, 32, 10, 2, (2, 3, 4), (5, 11), (24, 72), (6, 20)),
    "low": Kind(10, 12, 22, 8, 2, (1, 2, 3), (2, 3), (6, 18), (8, 30)),
    "village": Kind(10, 12, 22, 10, 1, (1,), (1, 2), (1, 2), (1, 1)),
}
ESTATE_KIND_P = {"high": 0.35, "mid": 0.45, "low": 0.20}
#: Vanke Charm City: (units, floors), 2 flats per landing → 12 × 180 + 176 + 8 × 72 = 2,912 households
VANKE_BUILDINGS = ((3, 30),) * 12 + ((4, 22),) + ((4, 9),) * 8
#: Leixin Eaton Sunshine (no published figures): 4 × 132 + 3 × 156 + 6 × 66 = 1,392 households
LEIXIN_BUILDINGS = ((2, 33),) * 4 + ((3, 26),) * 3 + ((3, 11),) * 6
#: (estate name, street name, buildings, kind of the buildings)
NAMED_ESTATES = ((VANKE, "城阳街道", VANKE_BUILDINGS), (LEIXIN, "夏庄街道", LEIXIN_BUILDINGS))


@dataclass
class Layout:
    """Estates and buildings with their metric footprint parameters (for placing people inside)."""

    estates: pd.DataFrame
    #: one row per building: id, name, estate_id, community_id, kind, units, floors, flats, households,
    #: cx, cy, w, d (metric centre and size), geometry (EPSG:4326)
    buildings: pd.DataFrame
    to_wgs84: Transformer = field(repr=False)

    def frames(self) -> dict[str, gpd.GeoDataFrame]:
        b = self.buildings
        est = gpd.GeoDataFrame(
            self.estates[["id", "name", "community_id", "geometry"]].assign(property_company_id=None),
            geometry="geometry",
            crs=4326,
        )
        cols = ["id", "name", "estate_id", "community_id", "households", "residents", "floors", "units"]
        # synthetic footprints never overlap: no building stands for merged ones (aliases empty)
        bld = gpd.GeoDataFrame(b[cols + ["geometry"]].assign(aliases=None), geometry="geometry", crs=4326)
        return {"estates": est, "buildings": bld}

    def points_in_buildings(self, idx: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """One random point (EPSG:4326) strictly inside each building ``idx`` (positions in the frame)."""
        b = self.buildings
        x = b["cx"].to_numpy()[idx] + rng.uniform(-0.4, 0.4, len(idx)) * b["w"].to_numpy()[idx]
        y = b["cy"].to_numpy()[idx] + rng.uniform(-0.4, 0.4, len(idx)) * b["d"].to_numpy()[idx]
        lon, lat = self.to_wgs84.transform(x, y)
        return shapely.points(lon, lat)

    def points_on_estate_edges(self, idx: np.ndarray, rng: np.random.Generator, inset: float = 4.0) -> np.ndarray:
        """A random point just inside the edge of each estate ``idx`` (street-front shops)."""
        r = np.array(list(self.estates["rect"]))[idx] + (inset, inset, -inset, -inset)
        t = rng.random(len(idx))
        side = rng.integers(4, size=len(idx))
        x = np.where(side < 2, r[:, 0] + t * (r[:, 2] - r[:, 0]), np.where(side == 2, r[:, 0], r[:, 2]))
        y = np.where(side >= 2, r[:, 1] + t * (r[:, 3] - r[:, 1]), np.where(side == 0, r[:, 1], r[:, 3]))
        lon, lat = self.to_wgs84.transform(x, y)
        return shapely.points(lon, lat)


def layout(
    communities: gpd.GeoDataFrame,
    streets: gpd.GeoDataFrame,
    sc: Scale,
    rng: np.random.Generator,
    *,
    weights: np.ndarray,
) -> Layout:
    """Estates and buildings for ``communities`` (see the module docstring)."""
    to_m = Transformer.from_crs(4326, METRIC_CRS, always_xy=True)
    to_g = Transformer.from_crs(METRIC_CRS, 4326, always_xy=True)
    bx, by, bcomm = _blocks(communities, to_m, to_g, rng)
    street_of = pd.Index(streets["id"]).get_indexer(communities["street_id"].to_numpy()[bcomm])
    use = _assign_blocks(bcomm, street_of, streets, sc, rng, weights, len(communities))
    est_rows, parts = [], []
    taken = {n for n, _, _ in NAMED_ESTATES}
    enames = iter(names.estate_names(rng, int((use >= 0).sum()), taken=taken))
    per_comm: dict[int, int] = {}
    for blk in np.flatnonzero(use >= 0):
        c = int(bcomm[blk])
        per_comm[c] = per_comm.get(c, 0) + 1
        cid = communities["id"].iat[c]
        eid = f"{cid}-E{per_comm[c]:02d}"
        named = use[blk] - 1 if use[blk] > 0 else None
        name = NAMED_ESTATES[named][0] if named is not None else next(enames)
        spec = NAMED_ESTATES[named][2] if named is not None else None
        frame, rect = _estate_buildings(bx[blk], by[blk], spec, rng)
        parts.append(frame.assign(estate_id=eid, community_id=cid, name=np.arange(1, len(frame) + 1).astype(str)))
        est_rows.append((eid, name, cid, rect))
    loose = _loose_buildings(bx, by, bcomm, use, sc, rng)
    loose["community_id"] = communities["id"].to_numpy()[loose.pop("comm").to_numpy().astype(int)]
    loose["estate_id"] = None
    loose = loose.sort_values(["community_id", "cy", "cx"], ascending=[True, False, True])
    loose["name"] = (loose.groupby("community_id").cumcount() + 1).astype(str)
    b = pd.concat(parts + ([loose] if len(loose) else []), ignore_index=True)
    b = b.astype({"cx": float, "cy": float, "w": float, "d": float, "units": int, "floors": int, "flats": int})
    b["id"] = np.where(
        b["estate_id"].isna(),
        b["community_id"] + "-B" + b["name"].str.zfill(4),
        b["estate_id"].fillna("") + "-" + b["name"],
    )
    b["households"] = (b["units"] * b["floors"] * b["flats"]).astype(int)
    b["residents"] = np.maximum(b["households"], np.round(b["households"] * rng.uniform(2.2, 2.8, len(b)))).astype(int)
    half = np.c_[b["w"], b["d"]] / 2
    boxes = shapely.box(b["cx"] - half[:, 0], b["cy"] - half[:, 1], b["cx"] + half[:, 0], b["cy"] + half[:, 1])
    b["geometry"] = _to_wgs84(boxes, to_g)
    estates = pd.DataFrame(est_rows, columns=["id", "name", "community_id", "rect"])
    estates["geometry"] = _to_wgs84(shapely.box(*np.array(list(estates["rect"])).T), to_g) if len(estates) else []
    comm_geom = communities.set_index("id").geometry
    inside = shapely.contains_properly(comm_geom.reindex(b["community_id"]).to_numpy(), b["geometry"].to_numpy())
    b = b[inside].reset_index(drop=True)
    return Layout(estates=estates, buildings=b, to_wgs84=to_g)


def _to_wgs84(geoms: np.ndarray, to_g: Transformer) -> np.ndarray:
    return shapely.transform(geoms, lambda xy: np.column_stack(to_g.transform(xy[:, 0], xy[:, 1])))


def _blocks(
    communities: gpd.GeoDataFrame, to_m: Transformer, to_g: Transformer, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Centres (metric) of lattice blocks whose inner square lies inside one community, and that community."""
    minx, miny, maxx, maxy = communities.total_bounds
    (x0, x1), (y0, y1) = to_m.transform([minx, maxx], [miny, maxy])
    off = rng.uniform(0, BLOCK_M, 2)
    xs = np.arange(min(x0, x1) - off[0], max(x0, x1) + BLOCK_M, BLOCK_M)
    ys = np.arange(min(y0, y1) - off[1], max(y0, y1) + BLOCK_M, BLOCK_M)
    gx, gy = (a.ravel() for a in np.meshgrid(xs, ys))
    h = BLOCK_M / 2 - BLOCK_MARGIN_M
    squares = _to_wgs84(shapely.box(gx - h, gy - h, gx + h, gy + h), to_g)
    tree = shapely.STRtree(communities.geometry.values)
    blk, comm = tree.query(squares, predicate="within")
    order = np.argsort(blk)
    return gx[blk[order]], gy[blk[order]], comm[order]


def _assign_blocks(
    bcomm: np.ndarray,
    street_of: np.ndarray,
    streets: gpd.GeoDataFrame,
    sc: Scale,
    rng: np.random.Generator,
    weights: np.ndarray,
    n_comm: int,
) -> np.ndarray:
    """Use of each block: k>0 named estate k, 0 estate, -1 village houses, -2 loose buildings, -9 empty."""
    use = np.full(len(bcomm), -9)
    for k, (_, street_name, _) in enumerate(NAMED_ESTATES, start=1):
        hit = np.flatnonzero(streets["name"].to_numpy() == street_name)
        cand = np.flatnonzero((street_of == hit[0]) & (use == -9)) if len(hit) else np.empty(0, dtype=np.intp)
        if len(cand):
            use[cand[len(cand) // 2]] = k
    want = np.floor(weights * sc.estates).astype(int)
    for s, n in enumerate(want):
        cand = rng.permutation(np.flatnonzero((street_of == s) & (use == -9)))
        use[cand[: max(0, n - int(((street_of == s) & (use > 0)).sum()))]] = 0
    rural = 1.0 / (weights[street_of] + 0.05)
    n_village = int(np.ceil(sc.village_houses / 110)) if sc.village_houses else 0
    _take(use, -1, n_village, rural, rng)
    _take(use, -2, int(np.ceil(sc.loose_buildings / 6)), weights[street_of], rng)
    covered = np.zeros(n_comm, bool)
    covered[bcomm[use != -9]] = True
    for c in np.flatnonzero(~covered):  # every community gets buildings if it has a block at all
        free = np.flatnonzero((bcomm == c) & (use == -9))
        if len(free):
            use[free[0]] = -1
    return use


def _take(use: np.ndarray, value: int, n: int, weight: np.ndarray, rng: np.random.Generator) -> None:
    free = np.flatnonzero(use == -9)
    if n <= 0 or not len(free):
        return
    p = weight[free] / weight[free].sum()
    use[rng.choice(free, size=min(n, len(free)), replace=False, p=p)] = value


def _estate_buildings(
    cx: float, cy: float, spec: tuple | None, rng: np.random.Generator
) -> tuple[pd.DataFrame, tuple[float, float, float, float]]:
    """Buildings of one estate on a row-major lattice (numbers run west→east, north→south)."""
    kind = "high" if spec else rng.choice(list(ESTATE_KIND_P), p=list(ESTATE_KIND_P.values()))
    k = KINDS[kind]
    avail = BLOCK_M - 2 * BLOCK_MARGIN_M - 2 * ESTATE_MARGIN_M
    slot_w = max(k.units) * k.unit_w + k.gap_x
    cols = int((avail + k.gap_x) // slot_w)
    rows = int((avail - k.depth) // k.pitch_y) + 1
    if spec:
        uf = np.array(spec)
    else:
        n = min(int(rng.integers(k.count[0], k.count[1] + 1)), rows * cols)
        pairs = k.pairs()
        uf = pairs[rng.integers(len(pairs), size=n)]
    n = len(uf)
    used_cols = min(cols, n)
    used_rows = -(-n // used_cols)
    r, c = np.divmod(np.arange(n), used_cols)
    w = uf[:, 0] * k.unit_w
    gw, gh = used_cols * slot_w - k.gap_x, (used_rows - 1) * k.pitch_y + k.depth
    slack_x, slack_y = (avail - gw) / 2, (avail - gh) / 2
    ox = cx + rng.uniform(-slack_x, slack_x) if slack_x > 0 else cx
    oy = cy + rng.uniform(-slack_y, slack_y) if slack_y > 0 else cy
    x = ox - gw / 2 + c * slot_w + slot_w / 2 - k.gap_x / 2
    y = oy + gh / 2 - k.depth / 2 - r * k.pitch_y
    frame = pd.DataFrame(
        {
            "kind": kind,
            "units": uf[:, 0],
            "floors": uf[:, 1],
            "flats": k.flats,
            "cx": x,
            "cy": y,
            "w": w,
            "d": float(k.depth),
        }
    )
    m = ESTATE_MARGIN_M
    rect = (
        float((x - w / 2).min() - m),
        float((y - k.depth / 2).min() - m),
        float((x + w / 2).max() + m),
        float((y + k.depth / 2).max() + m),
    )
    return frame, rect


def _loose_buildings(
    bx: np.ndarray, by: np.ndarray, bcomm: np.ndarray, use: np.ndarray, sc: Scale, rng: np.random.Generator
) -> pd.DataFrame:
    """Village houses (use -1) and stand-alone mid/low-rise buildings (use -2) outside estates."""
    frames = []
    for value, kind, n in ((-1, "village", sc.village_houses), (-2, "mid", sc.loose_buildings)):
        blocks = np.flatnonzero(use == value)
        if not len(blocks) or n <= 0:
            continue
        k = KINDS[kind]
        slot_w = max(k.units) * k.unit_w + k.gap_x
        inner = BLOCK_M - 2 * BLOCK_MARGIN_M - 2 * ESTATE_MARGIN_M
        sx = np.arange(int(inner // slot_w)) * slot_w - inner / 2 + slot_w / 2
        sy = np.arange(int(inner // k.pitch_y)) * k.pitch_y - inner / 2 + k.pitch_y / 2
        lx, ly = (a.ravel() for a in np.meshgrid(sx, sy))
        pick = rng.choice(len(blocks) * len(lx), size=min(n, len(blocks) * len(lx)), replace=False)
        blk, slot = np.divmod(pick, len(lx))
        blk = blocks[blk]
        if kind == "village":
            floors = np.where(rng.random(len(pick)) < 0.85, 1, 2)
            uf = np.c_[np.ones(len(pick), int), floors]
            kinds = np.full(len(pick), "village", dtype=object)
            flats = 1
        else:
            low = rng.random(len(pick)) < 0.4
            pm, pl = KINDS["mid"].pairs(), KINDS["low"].pairs()
            uf = np.where(
                low[:, None], pl[rng.integers(len(pl), size=len(pick))], pm[rng.integers(len(pm), size=len(pick))]
            )
            kinds = np.where(low, "low", "mid").astype(object)
            flats = 2
        frames.append(
            pd.DataFrame(
                {
                    "kind": kinds,
                    "units": uf[:, 0],
                    "floors": uf[:, 1],
                    "flats": flats,
                    "cx": bx[blk] + lx[slot],
                    "cy": by[blk] + ly[slot],
                    "w": uf[:, 0] * np.where(kinds == "low", KINDS["low"].unit_w, k.unit_w),
                    "d": np.where(kinds == "low", KINDS["low"].depth, k.depth).astype(float),
                    "comm": bcomm[blk],
                }
            )
        )
    cols = ["kind", "units", "floors", "flats", "cx", "cy", "w", "d", "comm"]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=cols)
