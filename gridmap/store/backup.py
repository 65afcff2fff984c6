"""Backups that restore: one file per store, taken while the server runs, checked against the schema on restore.

* **SQLite**: SQLite's online backup API (``sqlite3.Connection.backup``) copies a consistent snapshot while
  writers keep writing (WAL); the file is an ordinary SQLite database.
* **PostGIS**: ``pg_dump --format=custom`` (one consistent snapshot of the database) and ``pg_restore``;
  the password goes to the tools in ``PGPASSWORD``, never on their command line. The PostGIS extension
  itself is left out of the restore (the target database has it, as every gridmap PostGIS database does).

:func:`restore` reads the schema revision inside the file first: a revision this gridmap does not know (a
newer gridmap wrote it) is refused and the target is left as it was; an older one is restored and then
upgraded by the ordinary migrations (:func:`gridmap.store.open_store`). Restore while the server is stopped.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import tempfile
from pathlib import Path

from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy.engine import URL, make_url

from gridmap.store import open_store, redact_url
from gridmap.store.base import ConflictError, StoreError, StoreUnavailable

SQLITE_MAGIC = b"SQLite format 3\x00"
PGDUMP_MAGIC = b"PGDMP"


def revisions() -> list[str]:
    """The schema revisions this gridmap knows, oldest first (the last is the head)."""
    cfg = Config()
    cfg.set_main_option("script_location", str(Path(__file__).resolve().parent / "migrations"))
    return [s.revision for s in reversed(list(ScriptDirectory.from_config(cfg).walk_revisions()))]


def head_revision() -> str:
    return revisions()[-1]


def kind_of(url: str) -> str:
    scheme = url.split(":", 1)[0].split("+", 1)[0].lower()
    if scheme == "sqlite":
        return "sqlite"
    if scheme in ("postgresql", "postgres"):
        return "postgis"
    raise StoreError(f"no backup for {url.split(':', 1)[0]!r} stores; back up sqlite:/// or postgresql:// stores")


def _sqlite_path(url: str) -> Path:
    path = make_url(url).database
    if not path or path == ":memory:":
        raise StoreError("an in-memory SQLite store has nothing to back up or restore into")
    return Path(path).expanduser()


def _pg(url: str) -> tuple[list[str], dict[str, str]]:
    """Connection options for pg_dump/pg_restore and the environment carrying the password."""
    u: URL = make_url(url)
    args = ["--dbname", u.database or "postgres"]
    if u.host:
        args += ["--host", u.host]
    if u.port:
        args += ["--port", str(u.port)]
    if u.username:
        args += ["--username", u.username]
    env = dict(os.environ)
    if u.password:
        env["PGPASSWORD"] = str(u.password)
    return args, env


def _tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise StoreUnavailable(f"{name} is not installed: install the PostgreSQL client tools (postgresql-client)")
    return found


def _run(cmd: list[str], env: dict[str, str]) -> str:
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        reason = " ".join(done.stderr.split())[:500]
        raise StoreUnavailable(f"{Path(cmd[0]).name} failed: {reason}")
    return done.stdout


def backup(url: str, file: str | Path) -> dict[str, str]:
    """Write a consistent backup of the store at ``url`` into ``file``; returns its kind and schema revision."""
    file = Path(file)
    kind = kind_of(url)
    store = open_store(url, migrate=False)  # only to learn its revision (and that it is reachable)
    try:
        revision = store.schema_revision()
    finally:
        store.close()
    if revision is None:
        raise StoreError(f"the store at {redact_url(url)} has no schema yet: nothing to back up")
    file.parent.mkdir(parents=True, exist_ok=True)
    partial = file.with_name(file.name + ".partial")
    if kind == "sqlite":
        source = sqlite3.connect(f"file:{_sqlite_path(url)}?mode=ro", uri=True, timeout=60)
        target = sqlite3.connect(partial)
        try:
            source.backup(target)
        finally:
            target.close()
            source.close()
    else:
        args, env = _pg(url)
        _run([_tool("pg_dump"), "--format=custom", "--no-owner", "--no-privileges", "--file", str(partial), *args], env)
    partial.replace(file)
    return {"kind": kind, "revision": revision}


def file_kind(file: str | Path) -> str:
    with open(file, "rb") as fh:
        head = fh.read(16)
    if head.startswith(SQLITE_MAGIC):
        return "sqlite"
    if head.startswith(PGDUMP_MAGIC):
        return "postgis"
    raise StoreError(f"{file}: not a gridmap backup (neither a SQLite database nor a pg_dump custom-format file)")


def file_revision(file: str | Path) -> str | None:
    """The schema revision recorded inside a backup file."""
    if file_kind(file) == "sqlite":
        conn = sqlite3.connect(f"file:{Path(file)}?mode=ro", uri=True)
        try:
            row = conn.execute("SELECT version_num FROM alembic_version").fetchone()
        except sqlite3.DatabaseError:
            return None
        finally:
            conn.close()
        return row[0] if row else None
    out = _run([_tool("pg_restore"), "--data-only", "--table=alembic_version", "--file=-", str(file)], dict(os.environ))
    lines = out.splitlines()
    for i, line in enumerate(lines):
        if line.startswith("COPY ") and "alembic_version" in line and i + 1 < len(lines):
            value = lines[i + 1].strip()
            return None if value == "\\." else value
    return None


def check_revision(revision: str | None, file: str | Path) -> None:
    """Refuse a backup without a schema or from a schema newer than this gridmap's."""
    known = revisions()
    if revision is None:
        raise StoreError(f"{file}: the backup holds no gridmap schema (no alembic_version)")
    if revision not in known:
        raise ConflictError(
            f"{file}: the backup is at schema revision {revision!r}, newer than this gridmap knows "
            f"(newest {known[-1]!r}); restore it with the gridmap version that wrote it, or a newer one"
        )


def restore(file: str | Path, url: str) -> dict[str, str]:
    """Replace the store at ``url`` with the backup in ``file``, then upgrade it to the newest schema.

    Returns the file's revision and the revision after the upgrade. A file of the other backend, without a
    schema or with a newer schema is refused before anything is touched.
    """
    file = Path(file)
    if not file.is_file():
        raise StoreError(f"{file}: no such backup file")
    kind, target = file_kind(file), kind_of(url)
    if kind != target:
        raise StoreError(f"{file} is a {kind} backup; it restores into a {kind} store, not {redact_url(url)}")
    revision = file_revision(file)
    check_revision(revision, file)
    if kind == "sqlite":
        path = _sqlite_path(url)
        path.parent.mkdir(parents=True, exist_ok=True)
        source = sqlite3.connect(f"file:{file}?mode=ro", uri=True)
        dest = sqlite3.connect(path, timeout=60)
        try:
            source.backup(dest)  # replaces every page of the target in one step
        finally:
            dest.close()
            source.close()
    else:
        args, env = _pg(url)
        listing = _run([_tool("pg_restore"), "--list", str(file)], env)
        keep = [line for line in listing.splitlines() if " EXTENSION " not in line]
        with tempfile.NamedTemporaryFile("w", suffix=".list", delete=False) as fh:
            fh.write("\n".join(keep) + "\n")
        try:
            _run(
                [
                    _tool("pg_restore"),
                    "--clean",
                    "--if-exists",
                    "--no-owner",
                    "--no-privileges",
                    "--single-transaction",
                    "--exit-on-error",
                    f"--use-list={fh.name}",
                    *args,
                    str(file),
                ],
                env,
            )
        finally:
            os.unlink(fh.name)
    store = open_store(url)  # the ordinary migrations bring an older schema to the head
    try:
        now = store.schema_revision() or ""
    finally:
        store.close()
    return {"kind": kind, "revision": revision or "", "upgraded_to": now}
