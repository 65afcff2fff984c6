"""Benchmark the map pages with a whole synthetic district in a real headless Chromium.

    python bench/bench_pages.py                    # district scale (~100k buildings, 100k complaints)
    python bench/bench_pages.py --scale demo       # quick run on the demo world

What it measures (printed as a Markdown table, for docs/benchmarks.md):

* cold load of the overview ``/`` and of a grid page in headless Chromium (new browser context, empty cache; the
  new window settles ``--settle`` seconds on a blank page first, see :func:`cold_load`):
  time until every visible layer is drawn (``gridmap.idle()``, vector tiles included), and the decoded bytes
  by kind (HTML, API data, vector tiles, static files);
* the peer: folium's default way — every building inlined as GeoJSON in one page — built and loaded the
  same way (``--peer-buildings`` buildings, default 20,000);
* server time per page and per API call, p50/p95, under load from a second process on loopback
  (``--clients`` client processes for ``--seconds`` seconds, against ``gridmap serve`` in its own process),
  with the machine's load average before and after;
* building tiles at ``--tile-zoom`` (13) over the densest area, in process on the SQLite store: the old path
  (drawn for every request with mapbox-vector-tile's encoder alone and the garbage collector on, as before the tile
  cache), drawn with today's encoder without the cache, cold (the tiles emptied from the cache, drawn and kept)
  and warm (the second fetch, from the cache), p50/p95/max over the same tiles in the same run.

The world is built once and kept in ``bench/out/pages-<scale>.db`` (``--db`` to use another file, ``--rebuild``
to redo). The tile cache is emptied before the page loads: the server's warm-up load fills it on demand.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import multiprocessing as mp
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-dev-shm-usage",
]


# -- the world ----------------------------------------------------------------------------------------
def build_world(db: Path, scale: str, complaints: int, seed: int = 0) -> dict[str, float]:
    import geopandas as gpd
    import numpy as np
    import shapely

    from gridmap.services.demo import WRITE_ORDER
    from gridmap.services.grids import generate as make_grids
    from gridmap.store import open_store
    from gridmap.synth.world import generate

    t = {}
    t0 = time.perf_counter()
    world = generate(seed=seed, scale=scale)
    t["synth_s"] = time.perf_counter() - t0
    db.parent.mkdir(parents=True, exist_ok=True)
    if db.exists():
        db.unlink()
    store = open_store(f"sqlite:///{db}")
    t0 = time.perf_counter()
    with store.transaction():
        for name in WRITE_ORDER:
            if name in world and name not in ("complaints", "complaint_events"):
                store.write(name, world[name])
    t["write_s"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    try:
        make_grids(store, publish=True)
        t["grids"] = "gridmap.services.grids"
    except Exception as exc:
        print(f"grids service failed ({type(exc).__name__}: {exc}); using simple sweep grids for the bench", flush=True)
        simple_plan(store, world["buildings"])
        t["grids"] = "simple sweep (grids service failed)"
    t["grids_s"] = time.perf_counter() - t0
    # complaints: points on buildings weighted by households, ~15 % still open, a third of those overdue
    rng = np.random.default_rng(seed)
    b = world["buildings"]
    w = b["households"].to_numpy(float)
    pick = rng.choice(len(b), size=complaints, p=w / w.sum())
    pts = shapely.point_on_surface(b.geometry.to_numpy()[pick])
    now = dt.datetime.utcnow().replace(microsecond=0)
    created = [now - dt.timedelta(hours=int(h)) for h in rng.integers(1, 24 * 120, complaints)]
    is_open = rng.random(complaints) < 0.15
    state = np.where(
        is_open,
        rng.choice(["collected", "dispatched", "responding"], complaints),
        rng.choice(["resolved", "evaluated"], complaints),
    )
    due = [c + dt.timedelta(days=int(d)) for c, d in zip(created, rng.integers(2, 20, complaints))]
    cats = rng.choice(["环境卫生", "物业服务", "噪音", "停车", "市政设施", "邻里纠纷"], complaints)
    frame = gpd.GeoDataFrame(
        {
            "id": [f"bc{i:06d}" for i in range(complaints)],
            "category": cats,
            "state": state,
            "channel": "map",
            "building_id": b["id"].to_numpy()[pick],
            "community_id": b["community_id"].to_numpy()[pick],
            "created_at": created,
            "due_at": due,
        },
        geometry=pts,
        crs=4326,
    )
    t0 = time.perf_counter()
    store.write("complaints", frame)
    t["complaints_s"] = time.perf_counter() - t0
    t["buildings"] = len(b)
    t["complaints"] = complaints
    t["grids"] = store.count("plan_grids")
    store.close()
    return t


def simple_plan(store, buildings, per_grid: int = 400) -> None:
    """A published plan made by sweeping each community's buildings west → east into chunks of about
    ``per_grid`` households (grid polygon: the chunk's convex hull). Only for benchmarking the pages."""
    import geopandas as gpd
    import numpy as np
    import pandas as pd
    import shapely

    now = dt.datetime.utcnow().replace(microsecond=0)
    assign, grids = [], []
    for cid, grp in buildings.groupby("community_id"):
        c = shapely.centroid(grp.geometry.to_numpy())
        order = np.lexsort((shapely.get_y(c), np.round(shapely.get_x(c), 3)))
        hh = grp["households"].to_numpy()[order]
        chunk = (np.cumsum(hh) // per_grid).astype(int)
        for k in np.unique(chunk):
            idx = order[chunk == k]
            code = f"{cid}{len([g for g in grids if g['community_id'] == cid]) + 1:03d}"
            ids = grp["id"].to_numpy()[idx]
            assign += [{"plan_id": "bench", "building_id": b, "grid_code": code} for b in ids]
            hull = shapely.convex_hull(shapely.union_all(grp.geometry.to_numpy()[idx])).buffer(0.00005)
            grids.append(
                {
                    "plan_id": "bench",
                    "code": code,
                    "community_id": cid,
                    "households": int(grp["households"].to_numpy()[idx].sum()),
                    "buildings": len(idx),
                    "geometry": hull,
                }
            )
    with store.transaction():
        store.write(
            "plans",
            pd.DataFrame(
                [{"id": "bench", "status": "published", "created_at": now, "published_at": now, "created_by": "bench"}]
            ),
        )
        store.write("plan_assignments", pd.DataFrame(assign))
        store.write("plan_grids", gpd.GeoDataFrame(grids, geometry="geometry", crs=4326))


# -- the server (a separate process, as `gridmap serve` runs it) ------------------------------------------
def start_server(db: Path, port: int) -> subprocess.Popen:
    env = {
        **os.environ,
        "GRIDMAP_DATABASE_URL": f"sqlite:///{db}",
        "GRIDMAP_SECRET_KEY": "bench",
        "GRIDMAP_PORT": str(port),
        "GRIDMAP_HOST": "127.0.0.1",
        "PYTHONPATH": str(ROOT),
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "gridmap", "serve"],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}/healthz"
    for _ in range(300):
        try:
            urllib.request.urlopen(url, timeout=2).read()
            return proc
        except OSError:
            time.sleep(0.2)
    proc.kill()
    raise RuntimeError("the server did not start")


# -- the browser ---------------------------------------------------------------------------------------
def cold_load(
    browser,
    url: str,
    *,
    viewport,
    wait_js: str,
    timeout_s: float = 120,
    then: str | None = None,
    settle_s: float = 0.0,
) -> dict[str, float]:
    """Open ``url`` in a fresh context (empty cache); time until ``wait_js`` is true; bytes by kind.
    With ``then`` (JavaScript run once the page is drawn, e.g. a zoom), the time and bytes are those from
    running it until ``wait_js`` is true again. ``settle_s``: seconds the new window waits on a blank page
    before the clock starts (headless Chromium starts its own omnibox-popup WebUI renderer with each new
    window: about a second of CPU that otherwise overlaps the page's load on a 2-core machine)."""
    ctx = browser.new_context(viewport=viewport)
    page = ctx.new_page()
    if settle_s > 0:
        page.wait_for_timeout(1000 * settle_s)
    sizes = {"html": 0, "data": 0, "tiles": 0, "static": 0}
    outside = []

    def on_response(resp):
        try:
            body = resp.body()
        except Exception:
            try:
                body = b"\0" * int(resp.request.sizes().get("responseBodySize") or 0)
            except Exception:
                return
        path = resp.url.split("//", 1)[-1].split("/", 1)[-1]
        kind = (
            "data"
            if path.startswith("api/")
            else "tiles"
            if path.startswith("tiles/")
            else "static"
            if path.startswith(("static/", "vendor/"))
            else "html"
        )
        sizes[kind] += len(body)
        if not resp.url.startswith("http://127.0.0.1"):
            outside.append(resp.url)

    page.on("response", on_response)
    cdp = ctx.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.send("Network.setCacheDisabled", {"cacheDisabled": True})
    page.add_init_script("performance.setResourceTimingBufferSize(5000)")
    t0 = time.perf_counter()
    page.goto(url, wait_until="domcontentloaded")
    page.wait_for_function(wait_js, timeout=timeout_s * 1000, polling=50)
    if then:
        for k in sizes:
            sizes[k] = 0
        page.evaluate("performance.clearResourceTimings()")
        t0 = time.perf_counter()
        page.evaluate(then)
        page.wait_for_timeout(200)  # the map schedules its loads 120 ms after a move
        page.wait_for_function(wait_js, timeout=timeout_s * 1000, polling=50)
    elapsed = time.perf_counter() - t0
    # bytes by kind from the page's resource timings (decoded bodies; fetch() bodies included)
    by_kind = page.evaluate(
        """() => {
        const out = {html: 0, data: 0, tiles: 0, static: 0};
        for (const e of performance.getEntriesByType('resource')) {
            const p = new URL(e.name).pathname;
            const k = p.startsWith('/api/') ? 'data' : p.startsWith('/tiles/') ? 'tiles'
                : p.startsWith('/static/') || p.startsWith('/vendor/') ? 'static' : 'html';
            out[k] += e.decodedBodySize || 0;
        }
        return out;
    }"""
    )
    for k, v in by_kind.items():
        sizes[k] = max(sizes[k], v) if k != "html" else sizes[k]
    drawn = page.evaluate(
        "() => window.gridmap ? Object.assign({}, gridmap.drawn, "
        "Object.fromEntries(Object.entries(gridmap.tiled).map(([k, v]) => [k + ' (tiles)', v]))) : null"
    )
    ctx.close()
    return {"seconds": elapsed, **sizes, "outside": len(outside), "drawn": drawn}


def peer_page(db: Path, n: int, out: Path) -> tuple[Path, float, int]:
    """folium's default: ``n`` buildings inlined as GeoJSON in one page (assets from local files)."""
    import folium

    from gridmap.store import open_store
    from gridmap.web.assets import localize_folium

    localize_folium()
    store = open_store(f"sqlite:///{db}")
    t0 = time.perf_counter()
    b = store.read("buildings", columns=["id", "households", "geometry"], limit=n)
    m = folium.Map(tiles=None, prefer_canvas=True)
    folium.GeoJson(b, name="buildings", tooltip=folium.GeoJsonTooltip(["id", "households"])).add_to(m)
    m.fit_bounds([[b.total_bounds[1], b.total_bounds[0]], [b.total_bounds[3], b.total_bounds[2]]])
    html = m.get_root().render()
    build_s = time.perf_counter() - t0
    store.close()
    out.write_text(html, encoding="utf-8")
    return out, build_s, len(html.encode())


# -- load from a second process -------------------------------------------------------------------------
def _worker(args) -> list[tuple[str, float, int]]:
    base, urls, seconds, seed = args
    rnd = random.Random(seed)
    out = []
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        name, url = rnd.choice(urls)
        t0 = time.perf_counter()
        req = urllib.request.Request(base + url, headers={"Accept-Encoding": "gzip"})
        with urllib.request.urlopen(req, timeout=60) as r:
            body = r.read()
        out.append((name, time.perf_counter() - t0, len(body)))
    return out


def load_test(base: str, urls: list[tuple[str, str]], *, clients: int, seconds: float) -> dict[str, dict]:
    with mp.get_context("spawn").Pool(clients) as pool:
        results = pool.map(_worker, [(base, urls, seconds, i) for i in range(clients)])
    by: dict[str, list[float]] = {}
    size: dict[str, int] = {}
    for rows in results:
        for name, s, n in rows:
            by.setdefault(name, []).append(s)
            size[name] = n
    out = {}
    for name, xs in by.items():
        xs.sort()
        out[name] = {
            "n": len(xs),
            "p50_ms": 1000 * statistics.median(xs),
            "p95_ms": 1000 * xs[min(len(xs) - 1, int(0.95 * len(xs)))],
            "bytes": size[name],
        }
    return out


# -- building tiles: old path, new encoder, cold and warm cache ---------------------------------------------
def densest_tiles(store, z: int, n: int) -> list[tuple[int, int, int]]:
    """The ``n`` tiles at zoom ``z`` holding the most buildings (the densest area of the district)."""
    import mercantile
    import shapely

    pts = store.read("buildings", columns=["geometry"]).geometry.to_numpy()
    c = shapely.centroid(pts)
    counts: dict[tuple[int, int, int], int] = {}
    for x, y in zip(shapely.get_x(c), shapely.get_y(c)):
        t = mercantile.tile(float(x), float(y), z)
        counts[(z, t.x, t.y)] = counts.get((z, t.x, t.y), 0) + 1
    return [k for k, _ in sorted(counts.items(), key=lambda kv: -kv[1])[:n]]


def library_encode(layers, z, x, y, **kw):
    """The SQLite encoder before this round: mapbox-vector-tile alone on the prepared features (same bytes)."""
    import mapbox_vector_tile

    from gridmap.present import mvt

    out = [{"name": name, "features": mvt.prepare_layer(f, z, x, y, **kw)} for name, f in layers.items()]
    out = [layer for layer in out if layer["features"]]
    opts = {
        "extents": mvt.EXTENT,
        "y_coord_down": True,
        "on_invalid_geometry": mapbox_vector_tile.encoder.on_invalid_geometry_make_valid,
    }
    return mapbox_vector_tile.encode(out, default_options=opts) if out else b""


def library_grid_codes(store, plan, building_ids):
    """Grid codes as the SQLite path read them before this round: plan_assignments per tile, 5,000 ids a query."""
    import pandas as pd

    parts = [
        store.read(
            "plan_assignments",
            where={"plan_id": plan, "building_id": building_ids[i : i + 5000]},
            columns=["building_id", "grid_code"],
        )
        for i in range(0, len(building_ids), 5000)
    ]
    found = pd.concat(parts, ignore_index=True)
    codes = dict(zip(found["building_id"], found["grid_code"]))
    return [codes.get(b) for b in building_ids]


def tile_rows(db: Path, z: int, n: int) -> tuple[list[tuple[str, dict]], dict]:
    """p50/p95/max ms of building tiles at ``z`` over the ``n`` densest tiles, four ways, in one process."""
    from unittest import mock

    from gridmap.present import mvt
    from gridmap.services import tiles
    from gridmap.store import open_store

    store = open_store(f"sqlite:///{db}")
    keys = densest_tiles(store, z, n)

    def timed(fn) -> dict:
        ms, size = [], 0
        for _, x, y in keys:
            t0 = time.perf_counter()
            data = fn(x, y)
            ms.append(1000 * (time.perf_counter() - t0))
            size = max(size, len(data))
        ms.sort()
        return {
            "n": len(ms),
            "p50_ms": statistics.median(ms),
            "p95_ms": ms[min(len(ms) - 1, int(0.95 * len(ms)))],
            "max_ms": ms[-1],
            "max_kb": size / 1024,
        }

    load = os.getloadavg()
    render = lambda x, y: tiles.render(store, "buildings", z, x, y)  # noqa: E731
    cached = lambda x, y: tiles.tile(store, "buildings", z, x, y)  # noqa: E731
    rows = []
    with (
        mock.patch.object(mvt, "encode", library_encode),
        mock.patch.object(tiles, "_grid_codes", library_grid_codes),
        mock.patch.object(tiles, "_collector_paused", contextlib.nullcontext),
    ):
        rows.append(("old path: drawn per request, mapbox-vector-tile alone, grid codes read per tile", timed(render)))
    rows.append(("drawn per request, today's encoder (no cache)", timed(render)))
    store.drop_cached_tiles([("buildings", z, x, y) for _, x, y in keys])
    rows.append(("cold: emptied from the cache, drawn and kept", timed(cached)))
    rows.append(("warm: the second fetch, from the cache", timed(cached)))
    store.close()
    return rows, {"load_before": load[0], "load_after": os.getloadavg()[0], "tiles": len(keys), "zoom": z}


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--scale", default="district", help="synth scale: district (~100k buildings) or demo")
    ap.add_argument("--complaints", type=int, default=100_000)
    ap.add_argument("--db", type=Path, default=None)
    ap.add_argument("--rebuild", action="store_true")
    ap.add_argument("--port", type=int, default=5077)
    ap.add_argument("--clients", type=int, default=4, help="concurrent client threads of the load test (bounded)")
    ap.add_argument("--seconds", type=float, default=15)
    ap.add_argument("--peer-buildings", type=int, default=20_000)
    ap.add_argument("--runs", type=int, default=3, help="cold loads per page (median reported)")
    ap.add_argument("--skip-pages", action="store_true", help="only the peer and the load test")
    ap.add_argument("--skip-peer", action="store_true", help="no folium peer page")
    ap.add_argument("--skip-load", action="store_true", help="no load test from a second process")
    ap.add_argument("--skip-tiles", action="store_true", help="no building tile rows")
    ap.add_argument(
        "--settle",
        type=float,
        default=1.5,
        help="seconds a new browser window waits before each cold load's clock starts (0: round two's way)",
    )
    ap.add_argument("--tile-zoom", type=int, default=13)
    ap.add_argument("--tiles", type=int, default=40, help="densest tiles timed for the tile rows")
    a = ap.parse_args(argv)
    started_load = os.getloadavg()
    db = a.db or ROOT / "bench" / "out" / f"pages-{a.scale}.db"
    if a.rebuild or not db.exists():
        print("building the world …", flush=True)
        print(json.dumps(build_world(db, a.scale, a.complaints)), flush=True)
    from gridmap.services.maps.grid import first_grid
    from gridmap.store import open_store

    store = open_store(f"sqlite:///{db}")
    facts = {
        "buildings": store.count("buildings"),
        "complaints": store.count("complaints"),
        "grids": store.count("plan_grids"),
    }
    code = first_grid(store)
    # the busiest grid (most buildings) is the worst case for a grid page
    grids = store.read("plan_grids", columns=["code", "buildings"])
    code = str(grids.sort_values("buildings")["code"].iloc[-1]) if len(grids) else code
    from gridmap.services.maps.grid import grid_row

    busiest_bbox = [float(v) for v in grid_row(store, code)["geometry"].bounds]
    store.drop_cached_tiles(None)  # the server's warm-up load fills the tile cache on demand
    store.close()
    print(f"world: {facts}; grid page: {code}", flush=True)

    proc = start_server(db, a.port)
    base = f"http://127.0.0.1:{a.port}"
    rows = []
    load: dict[str, dict] = {}
    load_before = load_after = (0.0, 0.0, 0.0)
    try:
        t0 = time.perf_counter()  # the server's first answers fill its caches (public counts of 100k requests)
        for path in ("/", f"/grids/{code}"):
            urllib.request.urlopen(base + path, timeout=600).read()
        print(f"server warmed in {time.perf_counter() - t0:.1f} s", flush=True)
        from playwright.sync_api import sync_playwright

        idle = "() => window.gridmap && gridmap.sources.length > 0 && gridmap.idle()"
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
            zoom13 = (
                f"() => {{ var b = {json.dumps(busiest_bbox)}; "
                "gridmap.map.setView([(b[1] + b[3]) / 2, (b[0] + b[2]) / 2], 13, {animate: false}); }"
            )
            pages = [
                ("overview /", "/", {"width": 1280, "height": 800}),
                ("overview, then zoom 13 on the busiest grid", "/", {"width": 1280, "height": 800}),
                ("grid page (phone)", f"/grids/{code}", {"width": 390, "height": 844}),
                ("grid page (desktop)", f"/grids/{code}", {"width": 1280, "height": 800}),
            ]
            for label, path, vp in [] if a.skip_pages else pages:
                then = zoom13 if "zoom 13" in label else None
                kw = {"viewport": vp, "wait_js": idle, "then": then, "settle_s": a.settle}
                cold_load(browser, base + path, **kw)  # warm the server
                runs = [cold_load(browser, base + path, **kw) for _ in range(a.runs)]
                med = sorted(runs, key=lambda r: r["seconds"])[len(runs) // 2]
                rows.append((label, med))
                print(label, json.dumps(med, ensure_ascii=False), flush=True)
            if not a.skip_peer:
                with tempfile.TemporaryDirectory() as tmp:
                    peer, build_s, size = peer_page(db, a.peer_buildings, Path(tmp) / "peer.html")
                    # its local asset paths point at the running server (the page itself is opened from a file)
                    html = peer.read_text(encoding="utf-8")
                    peer.write_text(
                        html.replace('src="/', f'src="{base}/').replace('href="/', f'href="{base}/'), encoding="utf-8"
                    )
                    ctx_wait = (
                        "() => document.querySelectorAll('path.leaflet-interactive').length > 0 || "
                        "document.querySelector('canvas.leaflet-zoom-animated') !== null"
                    )
                    res = cold_load(
                        browser,
                        peer.as_uri(),
                        viewport={"width": 1280, "height": 800},
                        wait_js=ctx_wait,
                        settle_s=a.settle,
                    )
                    res.update(html=size, build_s=build_s)
                    rows.append((f"peer: folium inlining {a.peer_buildings:,} buildings", res))
                    print("peer", json.dumps(res), flush=True)
            browser.close()
        import mercantile

        store = open_store(f"sqlite:///{db}")
        from gridmap.services.maps.grid import extent, grid_row

        g = grid_row(store, code)["geometry"]
        ext = extent(store)
        store.close()
        cx, cy = g.centroid.x, g.centroid.y
        view = f"bbox={cx - 0.009},{cy - 0.007},{cx + 0.009},{cy + 0.007}"
        whole = "bbox=" + ",".join(str(v) for v in ext)
        t15 = mercantile.tile(cx, cy, 15)
        t13 = mercantile.tile(cx, cy, 13)
        urls = [
            ("page /", "/"),
            ("page /grids/<code>", f"/grids/{code}"),
            ("api grids z11 (whole district, cached per plan)", f"/api/layers/grids?{whole}&zoom=11"),
            ("api communities z11 (whole district)", f"/api/layers/communities?{whole}&zoom=11"),
            ("api complaints z11 (counts per community)", f"/api/layers/complaints?{whole}&zoom=11"),
            ("api complaints z13 (counts per grid, view)", f"/api/layers/complaints?{view}&zoom=13"),
            ("api complaints z16 (points, 1.5 km view)", f"/api/layers/complaints?{view}&zoom=16"),
            ("api buildings z16 (1.5 km view)", f"/api/layers/buildings?{view}&zoom=16"),
            ("api buildings z16 of one grid", f"/api/layers/buildings?{view}&zoom=16&grid={code}"),
            ("api grid stats", f"/api/grids/{code}/stats"),
            ("tile buildings z13", f"/tiles/buildings/13/{t13.x}/{t13.y}.pbf"),
            ("tile buildings z15", f"/tiles/buildings/15/{t15.x}/{t15.y}.pbf"),
        ]
        if not a.skip_load:
            load_before = os.getloadavg()
            load = load_test(base, urls, clients=a.clients, seconds=a.seconds)
            load_after = os.getloadavg()
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    tiles, tile_facts = ([], {}) if a.skip_tiles else tile_rows(db, a.tile_zoom, a.tiles)

    print()
    print(
        f"World: {facts['buildings']:,} buildings, {facts['grids']:,} grids, {facts['complaints']:,} complaints "
        f"(scale {a.scale}); machine: {os.cpu_count()} CPUs, {sys.platform}; load average (1/5/15 min) "
        f"at the start {started_load[0]:.1f}/{started_load[1]:.1f}/{started_load[2]:.1f}; new windows settle "
        f"{a.settle:g} s before each cold load"
    )
    print()
    print("| cold load (headless Chromium) | time to drawn | HTML | data (API) | vector tiles | static | drawn |")
    print("|---|---:|---:|---:|---:|---:|---|")
    for label, r in rows:
        drawn = r.get("drawn") or {}
        shown = ", ".join(f"{k} {v:,}" for k, v in drawn.items() if v) if drawn else "—"
        extra = f" (built in {r['build_s']:.1f} s)" if "build_s" in r else ""
        print(
            f"| {label}{extra} | {r['seconds']:.2f} s | {r['html'] / 1024:,.0f} KB | {r['data'] / 1024:,.0f} KB "
            f"| {r.get('tiles', 0) / 1024:,.0f} KB | {r['static'] / 1024:,.0f} KB | {shown} |"
        )
    if tiles:
        print()
        print(
            f"Building tiles at z{tile_facts['zoom']}, the {tile_facts['tiles']} densest tiles, in process on SQLite "
            f"(load average {tile_facts['load_before']:.1f} before, {tile_facts['load_after']:.1f} after):"
        )
        print()
        print("| building tiles | tiles | p50 | p95 | max | largest |")
        print("|---|---:|---:|---:|---:|---:|")
        for label, r in tiles:
            print(
                f"| {label} | {r['n']} | {r['p50_ms']:.0f} ms | {r['p95_ms']:.0f} ms | {r['max_ms']:.0f} ms "
                f"| {r['max_kb']:,.0f} KB |"
            )
    if not load:
        return
    print()
    print(f"Load test: load average {load_before[0]:.1f} before, {load_after[0]:.1f} after (1 min)")
    print()
    print(f"| server, {a.clients} clients × {a.seconds:.0f} s from a second process | requests | p50 | p95 | body |")
    print("|---|---:|---:|---:|---:|")
    for name, r in load.items():
        print(f"| {name} | {r['n']:,} | {r['p50_ms']:.0f} ms | {r['p95_ms']:.0f} ms | {r['bytes'] / 1024:,.0f} KB |")


if __name__ == "__main__":
    main()
