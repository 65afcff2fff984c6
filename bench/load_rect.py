"""Load the fallback rectangle world into a store (for trying `gridmap grids` without gridmap.synth.world)."""

from __future__ import annotations

import sys

import geopandas as gpd
import shapely

from rect_world import rect_world


def load(store, **kw) -> dict:
    w = rect_world(**kw)
    coms = w["communities"].to_crs("EPSG:4326")
    region = shapely.union_all(coms.geometry.values)
    with store.transaction():
        store.write(
            "districts", gpd.GeoDataFrame([{"id": "370214", "name": "城阳区", "geometry": region}], crs="EPSG:4326")
        )
        store.write(
            "streets",
            gpd.GeoDataFrame(
                [{"id": "370214001", "name": "城阳街道", "district_id": "370214", "geometry": region}], crs="EPSG:4326"
            ),
        )
        store.write("communities", coms)
        store.write("estates", w["estates"].to_crs("EPSG:4326"))
        store.write("buildings", w["buildings"].to_crs("EPSG:4326"))
        store.write("barriers", w["barriers"].to_crs("EPSG:4326"))
    return {k: len(v) for k, v in w.items()}


if __name__ == "__main__":
    from gridmap.store import open_store

    print(load(open_store(sys.argv[1]), communities=int(sys.argv[2]), blocks=6))
