"""The instance file: the secret key ``gridmap init`` (or ``gridmap demo``) generated, kept beside the store.

Sessions, CSRF tokens and embed tokens are signed with the secret key, so it must survive restarts. Where it
comes from, first match wins: ``GRIDMAP_SECRET_KEY``; else the instance file — ``GRIDMAP_INSTANCE_FILE``, by
default beside a SQLite store (``data/gridmap.db`` → ``data/gridmap.instance.json``), else
``gridmap.instance.json`` in the working directory. The file is JSON, created once with mode 0600::

    {"secret_key": "…", "fallbacks": [{"key": "…", "until": "2027-01-31T00:00:00Z"}], "link_key": "…"}

**Rotation** (``gridmap init --rotate``): a new key signs from now on; the old one joins ``fallbacks`` and still
verifies sessions and embed tokens until ``until`` (the grace period), then stops. Keys rotated by hand go in
``GRIDMAP_SECRET_KEY_FALLBACKS`` in the same shape.

**Residents' status links** are signed with ``link_key``, which that rotation leaves alone: a link handed to a
resident keeps working for the life of the request. A file written before link keys existed gets, at its first
rotation, the outgoing secret key as its link key, so links already given out stay valid.
``gridmap init --rotate-links`` makes a new link key (old links stop; residents find their request again by
number and the phone's last four digits). With ``GRIDMAP_SECRET_KEY`` set, links are signed with it (and
verified with its fallbacks while they last).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from gridmap import clock
from gridmap.errors import ConfigError

NAME = "gridmap.instance.json"


@dataclass(frozen=True)
class KeyRing:
    """The key that signs and the old keys that still verify until their time."""

    current: str
    fallbacks: tuple[tuple[str, dt.datetime], ...] = ()
    #: where the key came from: "GRIDMAP_SECRET_KEY", the instance file's path, or "random"
    source: str = ""
    extra: Mapping[str, Any] = field(default_factory=dict)
    #: the key of residents' status links (the instance file's ``link_key``); None: the signing key
    link: str | None = None

    @property
    def link_key(self) -> str:
        """The key that signs residents' status links."""
        return self.link or self.current

    def link_verifying(self, now: dt.datetime | None = None) -> list[str]:
        """Keys that open a status link at ``now``: the link key, then the keys that verify sessions."""
        return [self.link_key] + [k for k in self.verifying(now) if k != self.link_key]

    def verifying(self, now: dt.datetime | None = None) -> list[str]:
        """Keys that verify at ``now``, oldest first and the signing key last (itsdangerous's order)."""
        at = clock.utc(now) if now is not None else clock.now()
        return [key for key, until in self.fallbacks if until > at] + [self.current]


def path_for(settings: Mapping[str, Any]) -> Path:
    """The instance file of the store in ``settings``."""
    if settings.get("INSTANCE_FILE"):
        return Path(str(settings["INSTANCE_FILE"])).expanduser()
    url = str(settings.get("DATABASE_URL") or "")
    if url.startswith("sqlite:"):
        db = unquote(urlsplit(url).path)[1:]  # sqlite:///rel.db → rel.db, sqlite:////abs.db → /abs.db
        if db and db != ":memory:":
            return Path(db).expanduser().with_name(Path(db).stem + ".instance.json")
    return Path(NAME)


def _until(value: Any) -> dt.datetime:
    return clock.utc(dt.datetime.fromisoformat(str(value).replace("Z", "+00:00")))


def read(path: Path) -> dict[str, Any] | None:
    """The instance file's content, None when there is none; :class:`ConfigError` when it is unreadable."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        raise ConfigError(f"instance file {path}: cannot be read ({exc})") from None
    if not isinstance(data, dict) or not isinstance(data.get("secret_key"), str) or not data["secret_key"]:
        raise ConfigError(f"instance file {path}: no secret_key in it")
    return data


def _write(path: Path, data: Mapping[str, Any], *, new: bool) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC
    fd = os.open(tmp, flags, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump(data, fh, indent=1)
        fh.write("\n")
    os.chmod(tmp, 0o600)
    if new and path.exists():  # another process made it meanwhile: theirs stays
        tmp.unlink()
        return
    tmp.replace(path)


def ensure(path: Path) -> tuple[dict[str, Any], bool]:
    """The instance file's content, writing one with a new random key first if there is none.

    Returns ``(data, created)``.
    """
    data = read(path)
    if data is not None:
        return data, False
    fresh = {
        "secret_key": secrets.token_hex(32),
        "fallbacks": [],
        "link_key": secrets.token_hex(32),
        "created_at": clock.iso(clock.now()),
    }
    _write(path, fresh, new=True)
    data = read(path)
    assert data is not None
    return data, True


def rotate(path: Path, *, grace: dt.timedelta, now: dt.datetime | None = None) -> dict[str, Any]:
    """A new signing key; the old one verifies until ``now + grace``; fallbacks past their time are dropped."""
    at = clock.utc(now) if now is not None else clock.now()
    data = read(path)
    if data is None:
        raise ConfigError(f"instance file {path}: there is none to rotate; run gridmap init first")
    kept = [f for f in data.get("fallbacks") or [] if _until(f["until"]) > at]
    kept.append({"key": data["secret_key"], "until": clock.iso(at + grace)})
    # a file from before link keys: its links were signed with the outgoing key, which now signs them for good
    data.setdefault("link_key", data["secret_key"])
    data.update(secret_key=secrets.token_hex(32), fallbacks=kept, rotated_at=clock.iso(at))
    _write(path, data, new=False)
    return data


def rotate_links(path: Path, *, now: dt.datetime | None = None) -> dict[str, Any]:
    """A new key for residents' status links: every link given out before stops opening its page."""
    data = read(path)
    if data is None:
        raise ConfigError(f"instance file {path}: there is none to rotate; run gridmap init first")
    data.update(link_key=secrets.token_hex(32), links_rotated_at=clock.iso(clock.utc(now) if now else clock.now()))
    _write(path, data, new=False)
    return data


def _fallbacks(items: Any) -> tuple[tuple[str, dt.datetime], ...]:
    return tuple((str(f["key"]), _until(f["until"])) for f in items or ())


def keyring(settings: Mapping[str, Any]) -> KeyRing | None:
    """The keys for ``settings``: ``SECRET_KEY`` (with ``SECRET_KEY_FALLBACKS``), else the instance file's;
    None when there is neither."""
    from_env = _fallbacks(settings.get("SECRET_KEY_FALLBACKS"))
    if settings.get("SECRET_KEY"):
        return KeyRing(str(settings["SECRET_KEY"]), from_env, source="GRIDMAP_SECRET_KEY")
    path = path_for(settings)
    data = read(path)
    if data is None:
        return None
    return KeyRing(
        data["secret_key"],
        from_env + _fallbacks(data.get("fallbacks")),
        source=str(path),
        link=str(data["link_key"]) if data.get("link_key") else None,
    )


def random_keyring() -> KeyRing:
    """A key for this process only (tests, ``--debug``): sessions and tokens end when it stops."""
    return KeyRing(secrets.token_hex(32), source="random")
