"""Import a file (or a frame) into one layer of the store: read → validate → write, all or nothing.

On any error nothing is written (:class:`ImportRejected` carries the report), unless ``skip_invalid``,
which writes the valid rows and reports the rest. Rows are upserted by id, so importing the same file
again changes nothing. Warnings (repaired geometry, swapped axes) never block an import.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from gridmap import jobs
from gridmap.domain.schema import IMPORTABLE, LAYERS
from gridmap.errors import InvalidInput
from gridmap.io.files import WGS84_NAMES, read_file
from gridmap.io.offsets import offset_hint
from gridmap.io.validation import Issue, validate
from gridmap.jobs import Progress
from gridmap.services import tilecache
from gridmap.services.merging import merge_frame, resolve_aliases
from gridmap.store.base import Store, WriteResult

CHUNK = 5000
REPORT_COLUMNS = ("row", "id", "field", "problem", "fix", "level", "rule")


@dataclass
class ImportReport:
    """What an import did and every problem found, row by row."""

    layer: str
    source: str
    rows_read: int = 0
    issues: list[Issue] = field(default_factory=list)
    written: WriteResult | None = None
    source_crs: str | None = None
    #: barriers: how many of each kind were read (after clipping), and how many lines were left out
    kinds: dict[str, int] = field(default_factory=dict)
    dropped: int = 0

    @property
    def errors(self) -> list[Issue]:
        return [i for i in self.issues if i.level == "error"]

    @property
    def warnings(self) -> list[Issue]:
        return [i for i in self.issues if i.level == "warning"]

    @property
    def rejected_rows(self) -> list[int]:
        return sorted({i.row for i in self.errors if i.row is not None})

    def rows(self) -> list[dict]:
        return [{k: getattr(i, k) for k in REPORT_COLUMNS} for i in self.issues]

    def summary(self) -> dict:
        w = self.written or WriteResult()
        return {
            "layer": self.layer,
            "file": self.source,
            "source_crs": self.source_crs,
            "rows_read": self.rows_read,
            "rows_rejected": len(self.rejected_rows),
            "errors": len(self.errors),
            "warnings": len(self.warnings),
            "inserted": w.inserted,
            "updated": w.updated,
            "unchanged": w.unchanged,
            "written": self.written is not None,
            **({"kinds": dict(self.kinds), "left_out": self.dropped} if self.kinds or self.dropped else {}),
        }

    def write(self, path: str | Path) -> Path:
        """Save the report as JSON (summary + issues) or CSV (issues), chosen by the suffix."""
        path = Path(path)
        if path.suffix.lower() == ".csv":
            with path.open("w", newline="", encoding="utf-8-sig") as fh:
                w = csv.DictWriter(fh, fieldnames=REPORT_COLUMNS)
                w.writeheader()
                w.writerows(self.rows())
        else:
            path.write_text(
                json.dumps({**self.summary(), "issues": self.rows()}, ensure_ascii=False, indent=1), encoding="utf-8"
            )
        return path

    def format(self, *, limit: int | None = 200) -> str:
        """A plain-text table of the issues (the first ``limit``) and a one-line summary."""
        lines = []
        shown = self.issues if limit is None else self.issues[:limit]
        if shown:
            lines.append(f"{'row':>6}  {'level':<7}  {'id':<20}  {'field':<14}  problem → fix")
            for i in shown:
                lines.append(
                    f"{'' if i.row is None else i.row:>6}  {i.level:<7}  {str(i.id or ''):<20.20}  "
                    f"{i.field:<14}  {i.problem} → {i.fix}"
                )
            if len(self.issues) > len(shown):
                lines.append(f"… and {len(self.issues) - len(shown)} more (see the --report file)")
        s = self.summary()
        if self.kinds or self.dropped:
            lines.append(
                f"{self.layer} by kind: "
                + (", ".join(f"{k} {n}" for k, n in self.kinds.items()) or "none")
                + f"; {self.dropped} lines left out (other tags, or outside the district)"
            )
        verdict = "written" if s["written"] else "NOTHING WRITTEN"
        lines.append(
            f"{self.layer}: {s['rows_read']} rows read, {s['errors']} errors, {s['warnings']} warnings, "
            f"{s['rows_rejected']} rows rejected; {verdict}"
            + (
                f" (inserted {s['inserted']}, updated {s['updated']}, unchanged {s['unchanged']})"
                if s["written"]
                else ""
            )
        )
        return "\n".join(lines)


class ImportRejected(InvalidInput):
    """The input has errors and ``skip_invalid`` was not given: nothing was written."""

    def __init__(self, report: ImportReport):
        super().__init__(
            f"{report.source}: {len(report.errors)} errors in {len(report.rejected_rows)} rows; "
            "nothing was written (fix them, or use --skip-invalid to import the valid rows)",
            detail=report.rows(),
        )
        self.report = report


def import_file(
    store: Store,
    layer: str,
    path: str | Path,
    *,
    crs: str | None = None,
    skip_invalid: bool = False,
    id_column: str | None = None,
    gpkg_layer: str | None = None,
    progress: Progress | None = None,
    straddlers: str = "reject",
    merge_overlapping: float | None = None,
) -> ImportReport:
    """Read ``path`` and import it into ``layer`` (see :func:`import_frame`); raises ``ReadError`` for
    an unreadable file or a missing CRS. A file read as WGS84 that sits at the GCJ-02 or BD-09 offset from
    the stored communities gets a ``crs_offset`` warning."""
    _check_layer(layer)
    with jobs.timed("import"):
        return _import_file(
            store, layer, path, crs, gpkg_layer, skip_invalid, id_column, progress, straddlers, merge_overlapping
        )


def _import_file(
    store: Store,
    layer: str,
    path: str | Path,
    crs: str | None,
    gpkg_layer: str | None,
    skip_invalid: bool,
    id_column: str | None,
    progress: Progress | None,
    straddlers: str,
    merge_overlapping: float | None,
) -> ImportReport:
    result = read_file(path, crs=crs, layer=gpkg_layer, geometry=LAYERS[layer].geometry is not None)
    report = ImportReport(layer=layer, source=str(path), source_crs=result.source_crs)
    report.issues += [Issue(None, None, f, p, x, level="warning", rule="swapped_axes") for f, p, x in result.notes]
    if result.source_crs in WGS84_NAMES and isinstance(result.frame, gpd.GeoDataFrame) and len(result.frame):
        hint = offset_hint(result.frame.geometry.to_numpy(), store.read("communities", columns=["id", "geometry"]))
        if hint is not None:
            report.issues.append(Issue(None, None, "geometry", hint[0], hint[1], level="warning", rule="crs_offset"))
    return import_frame(
        store,
        layer,
        result.frame,
        report=report,
        skip_invalid=skip_invalid,
        id_column=id_column,
        progress=progress,
        straddlers=straddlers,
        merge_overlapping=merge_overlapping,
    )


def import_frame(
    store: Store,
    layer: str,
    frame: pd.DataFrame,
    *,
    report: ImportReport | None = None,
    skip_invalid: bool = False,
    id_column: str | None = None,
    progress: Progress | None = None,
    straddlers: str = "reject",
    merge_overlapping: float | None = None,
) -> ImportReport:
    """Validate ``frame`` (EPSG:4326) against ``layer`` and what the store holds, then upsert it in one
    transaction. Errors and not ``skip_invalid``: raise :class:`ImportRejected`, nothing written.

    ``straddlers``: ``reject`` or ``majority`` (see :func:`gridmap.io.validation.validate`).
    ``merge_overlapping``: for buildings, union footprints overlapping by more than this share of the smaller
    into one building (:func:`gridmap.domain.footprints.merge_overlapping`); stored buildings whose ids became
    aliases are removed, and rows naming an alias in a ``building_id`` column are read as the kept building.
    """
    _check_layer(layer)
    spec = LAYERS[layer]
    report = report or ImportReport(layer=layer, source="<frame>")
    df = _columns(spec, frame, id_column)
    report.rows_read = len(df)
    if merge_overlapping is not None:
        if layer != "buildings":
            raise InvalidInput("--merge-overlapping applies to buildings only")
        if not 0 < merge_overlapping < 1:
            raise InvalidInput(f"--merge-overlapping share must be between 0 and 1, not {merge_overlapping}")
    with store.transaction():  # what is checked against is what is written to
        communities = store.read("communities", columns=["id", "geometry"]) if spec.geometry else None
        known = {ref: set(store.read(ref, columns=["id"])["id"]) for ref in _refs(spec)}
        aliases: dict[str, str] = {}
        if merge_overlapping is not None:
            df, aliases, notes = merge_frame(df, merge_overlapping)
            report.issues += notes
        elif "building_id" in df and "buildings" in known:
            df = resolve_aliases(store, df, report)
        clean, issues = validate(layer, df, communities=communities, known_ids=known, straddlers=straddlers)
        report.issues += issues
        if aliases and not (report.errors and not skip_invalid):
            tilecache.before_delete(store, "buildings", sorted(aliases))
            store.delete("buildings", ids=sorted(aliases))  # footprints stored earlier, now parts of others
        if report.errors and not skip_invalid:
            raise ImportRejected(report)
        good = clean[~clean["_row"].isin(report.rejected_rows)].drop(columns="_row")
        if spec.geometry:
            good = gpd.GeoDataFrame(good, geometry="geometry", crs=4326)
        else:
            good = pd.DataFrame(good).drop(columns="geometry", errors="ignore")
        tilecache.before_write(store, layer, good)  # the cached tiles under what changes
        report.written = _write(store, layer, good, progress=progress)
    return report


def _check_layer(layer: str) -> None:
    if layer not in IMPORTABLE:
        raise InvalidInput(f"cannot import layer {layer!r}; importable layers: {', '.join(IMPORTABLE)}")


def _refs(spec) -> Iterable[str]:
    return sorted({c.ref for c in spec.columns if c.ref and c.ref != spec.name})


def _columns(spec, frame: pd.DataFrame, id_column: str | None) -> pd.DataFrame:
    df = pd.DataFrame(frame).copy()
    if id_column:
        if id_column not in df:
            raise InvalidInput(
                f"--id-column {id_column!r} is not a column of the file; columns: {', '.join(map(str, df.columns))}"
            )
        df = df.drop(columns=["id"], errors="ignore").rename(columns={id_column: "id"})
    if "id" in spec.key and "id" not in df:
        raise InvalidInput(
            f"the file has no 'id' column; pass --id-column NAME (columns: {', '.join(map(str, df.columns))})"
        )
    keep = [c for c in spec.column_names if c in df] + (["geometry"] if spec.geometry and "geometry" in df else [])
    df = df[keep].reset_index(drop=True)
    df.insert(0, "_row", np.arange(1, len(df) + 1))
    return df


def _write(store: Store, layer: str, frame: pd.DataFrame, *, progress: Progress | None) -> WriteResult:
    ins = upd = same = 0
    with store.transaction():
        for start in range(0, max(len(frame), 1), CHUNK):
            chunk = frame.iloc[start : start + CHUNK]
            if not len(chunk):
                break
            r = store.write(layer, chunk)
            ins, upd, same = ins + r.inserted, upd + r.updated, same + r.unchanged
            jobs.report(progress, start + len(chunk), len(frame))
    return WriteResult(inserted=ins, updated=upd, unchanged=same)
