"""What each ``/api`` operation takes: its query string and body as pydantic models, checked before the view.

``@query(Model)`` validates ``request.args``; ``@body(Model)`` validates the JSON body (``form=True``: also a
page's ``application/x-www-form-urlencoded`` form; ``upload="file"``: also a ``multipart/form-data`` file). The view
gets the parsed model as the keyword argument ``query`` / ``body`` (and the uploaded file as ``upload``).

Models derive from :class:`Query` or :class:`Body`: ``extra="forbid"`` (a field the operation does not list is
refused), no NaN or infinity; a JSON body is checked strictly (``"5"`` is not a number), a query string or form
loosely (its values are text). A failure is an :class:`~gridmap.errors.InvalidInput` (400) whose ``detail``
lists ``{"field", "problem"}``; a rule that raises a :class:`~gridmap.errors.GridmapError` inside a validator
keeps its own message. The OpenAPI document (:mod:`gridmap.web.openapi`) is generated from the same models,
through :func:`request_of` — there is no second copy of a request schema.

Put a rule where it is owned (a service's parser, a domain constant) and call it from a validator here or in
the view's module; a model restates no rule.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
import types
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from flask import request
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    PlainValidator,
    ValidationError,
    ValidationInfo,
    WithJsonSchema,
    field_validator,
    model_validator,
)
from pydantic.fields import FieldInfo

from gridmap.errors import GridmapError, InvalidInput
from gridmap.io.safety import loads_json

__all__ = ["Body", "Query", "Flag", "IsoDate", "body", "query", "distinct", "given", "parse", "request_of", "Request"]

FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")
#: the CSRF field a page's form carries (:mod:`gridmap.web.security` checks it): no operation's field, left out
CSRF_FIELD = "csrf_token"

_SMALL = r"(?:[eE]-[0-9]{1,3})?"  # 5e-05 is how Python writes 0.00005
#: a longitude / latitude written as text: a decimal number within ±180 / ±90
LON_TEXT = rf"-?(?:180(?:\.0+)?|(?:1[0-7][0-9]|[1-9]?[0-9])(?:\.[0-9]+)?{_SMALL})"
LAT_TEXT = rf"-?(?:90(?:\.0+)?|[1-8]?[0-9](?:\.[0-9]+)?{_SMALL})"


class Query(BaseModel):
    """Query parameters of one operation (text from the URL, converted to each field's type; a whole number is
    written as digits: ``2024.0`` is not one)."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, frozen=True)

    @field_validator("*", mode="before")
    @classmethod
    def _whole_numbers(cls, value: Any, info: ValidationInfo) -> Any:
        field = cls.model_fields.get(info.field_name or "")
        if isinstance(value, str) and field is not None and int in _kinds(field) and not _WHOLE.fullmatch(value):
            raise InvalidInput(f"应为整数 / {value[:40]!r} is not a whole number")
        return value


_WHOLE = re.compile(r"-?[0-9]+")


class Body(BaseModel):
    """A request body of one operation: a JSON object checked strictly (``366.0`` is the integer 366, as JSON
    Schema says; ``"366"`` is not)."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, frozen=True, strict=True)

    @model_validator(mode="before")
    @classmethod
    def _integral_floats(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        return {
            k: int(v)
            if isinstance(v, float) and v.is_integer() and k in cls.model_fields and int in _kinds(cls.model_fields[k])
            else v
            for k, v in data.items()
        }


_FLAGS = {"1": True, "true": True, "yes": True, "0": False, "false": False, "no": False}


def _flag(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in _FLAGS:
        return _FLAGS[value.lower()]
    raise InvalidInput(f"应为 {'/'.join(_FLAGS)} / expected one of {', '.join(_FLAGS)}")


#: a yes/no query parameter: ``1``, ``true``, ``yes`` or ``0``, ``false``, ``no`` (any case)
Flag = Annotated[bool, PlainValidator(_flag), WithJsonSchema({"type": "string", "enum": list(_FLAGS)})]

_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def _date(value: str) -> dt.date:
    try:
        if _DATE.fullmatch(value):
            return dt.date.fromisoformat(value)
    except ValueError:
        pass
    raise InvalidInput(f"日期应为 YYYY-MM-DD / {value!r} is not a date YYYY-MM-DD")


#: a calendar date ``YYYY-MM-DD`` (RFC 3339 full-date), nothing looser
IsoDate = Annotated[
    str, Field(strict=True), AfterValidator(_date), WithJsonSchema({"type": "string", "format": "date"})
]


def given(parser: Callable[[str], Any], *, pattern: str | None = None, shape: str = "") -> Callable[[Any], Any]:
    """A query value read by ``parser`` (the rule's owner, e.g. a service's ``parse_bbox``) once it is there
    (an empty value is not a value: leave the parameter out); with ``pattern`` it must also be written that
    way (``shape`` says how, in words)."""
    written = re.compile(pattern) if pattern else None

    def read(value: Any) -> Any:
        if not isinstance(value, str) or value == "":
            raise InvalidInput("应为非空文本 / expected a non-empty value (leave the parameter out instead)")
        out = parser(value)
        if written is not None and not written.fullmatch(value):
            raise InvalidInput(f"格式不符 / {value[:60]!r}: write {shape or pattern}")
        return out

    return read


def _distinct(values: list[Any]) -> list[Any]:
    if len(set(values)) != len(values):
        raise InvalidInput("列表中有重复项 / an item is listed twice")
    return values


def distinct(item: Any, **field: Any) -> Any:
    """A list of ``item`` with no item twice (JSON Schema ``uniqueItems``); ``field``: ``Field`` constraints."""
    return Annotated[list[item], Field(json_schema_extra={"uniqueItems": True}, **field), AfterValidator(_distinct)]


# -- parsing -----------------------------------------------------------------------------------------------
def _problem(err: Mapping[str, Any]) -> str:
    cause = (err.get("ctx") or {}).get("error")
    if isinstance(cause, GridmapError):
        return cause.message
    if err["type"] == "extra_forbidden":
        return "不接受此字段 / not a field of this operation"
    if err["type"] == "missing":
        return "必填 / required"
    if err["type"] in ("literal_error", "enum") and isinstance(err.get("input"), (str, int, float)):
        return f"{str(err['input'])[:40]!r}: {err['msg']}"  # which value is not one of them
    return str(err["msg"])


#: how pydantic names the branch of a union it tried (``str``, ``literal['']``, ``function-after[…]``)
_BRANCH = re.compile(r"^(str|int|float|bool|date|none|list|dict|constrained-str)$|[\[(]")


def _field(loc: tuple[Any, ...], where: str) -> str:
    return ".".join(str(p) for p in loc if not (isinstance(p, str) and _BRANCH.search(p))) or where


#: where a problem is, in both languages
WHERE = {"query": ("参数", "query string"), "body": ("体", "request body")}


def parse(model: type[BaseModel], data: Any, *, where: str, strict: bool | None = None) -> Any:
    """``data`` as ``model``, or :class:`InvalidInput` naming each field and its problem (``where``:
    ``"query"`` or ``"body"``). Of a field's problems, the ones a gridmap rule raised are shown alone."""
    try:
        return model.model_validate(data, strict=strict)
    except ValidationError as exc:
        problems: dict[str, list[tuple[bool, str]]] = {}
        for err in exc.errors(include_url=False):
            own = isinstance((err.get("ctx") or {}).get("error"), GridmapError)
            found = problems.setdefault(_field(err["loc"], where), [])
            if (own, _problem(err)) not in found:
                found.append((own, _problem(err)))
        detail = [
            {"field": name, "problem": text}
            for name, found in problems.items()
            for own, text in found
            if own or not any(o for o, _ in found)
        ]
        summary = "; ".join(f"{d['field']}: {d['problem']}" for d in detail[:5])
        zh, en = WHERE[where]
        raise InvalidInput(f"请求{zh}无效 / invalid {en}: {summary}", detail=detail) from None


def _kinds(field: FieldInfo) -> tuple[Any, ...]:
    """The types a field may hold: ``int | None`` → ``(int, NoneType)``; ``Annotated`` metadata dropped."""

    def plain(t: Any) -> Any:
        return plain(typing.get_args(t)[0]) if typing.get_origin(t) is Annotated else t

    ann = plain(field.annotation)
    options = typing.get_args(ann) if typing.get_origin(ann) in (typing.Union, types.UnionType) else (ann,)
    return tuple(plain(t) for t in options)


def _is_list(model: type[BaseModel], name: str) -> bool:
    field = model.model_fields.get(name)
    return field is not None and any(typing.get_origin(t) is list for t in _kinds(field))


def _fields(model: type[BaseModel], values: Any) -> dict[str, Any]:
    """A werkzeug MultiDict as a dict: a list for list fields, else the one value (given twice: refused)."""
    out: dict[str, Any] = {}
    for key in values:
        got = values.getlist(key)
        if _is_list(model, key):
            out[key] = got
        elif len(got) > 1:
            raise InvalidInput(
                f"参数 {key!r} 重复 / {key!r} is given more than once",
                detail=[{"field": key, "problem": "given more than once"}],
            )
        else:
            out[key] = got[0]
    return out


@dataclass(frozen=True)
class Request:
    """What an operation takes, as declared by :func:`query` and :func:`body` (read by the OpenAPI document)."""

    query: type[Query] | None = None
    #: a :class:`Body`, or a ``RootModel`` of Body models (one of several shapes)
    body: type[BaseModel] | None = None
    #: a form accepted too (``True``: a page's, left out of the document; ``"api"``: the API's own, documented)
    form: bool | Literal["api"] = False
    upload: str | None = None


def request_of(view: Callable) -> Request:
    """The request a view declares (empty when it takes no query parameters and no body)."""
    return getattr(view, "_gridmap_request", Request())


def _declare(view: Callable, wrapper: Callable, **change: Any) -> Callable:
    current = request_of(view)
    wrapper._gridmap_request = Request(**{**current.__dict__, **change})  # type: ignore[attr-defined]
    return wrapper


def query(model: type[Query]) -> Callable:
    """Validate ``request.args`` with ``model``; the view gets ``query=<model instance>``."""

    def decorate(view: Callable) -> Callable:
        @functools.wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            kwargs["query"] = parse(model, _fields(model, request.args), where="query")
            return view(*args, **kwargs)

        return _declare(view, wrapper, query=model)

    return decorate


def body(
    model: type[BaseModel] | None = None, *, form: bool | Literal["api"] = False, upload: str | None = None
) -> Callable:
    """Validate the request body; the view gets ``body=<model instance>`` (and ``upload=`` with ``upload``).

    * ``Content-Type: application/json``: the JSON object, checked strictly against ``model``;
    * a form (``form=True``): its fields, checked loosely (a list field takes the field repeated) — for a page
      of the app whose form posts here without a script; it carries the session's CSRF token, so it is not
      part of the API's document, which describes the JSON body; ``form="api"``: a form is how the API's own
      clients send it (Open311), and the document describes it beside the JSON body;
    * ``multipart/form-data`` with ``upload="file"``: exactly one file in that field and nothing else, handed
      over as ``upload=`` (a werkzeug ``FileStorage``) with ``body=None``;
    * no body at all: an empty object (so a model whose fields are all optional needs none).
    """

    def decorate(view: Callable) -> Callable:
        @functools.wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            kwargs["body"], file = _read_body(model, form=form, upload=upload)
            if upload is not None:
                kwargs["upload"] = file
            return view(*args, **kwargs)

        return _declare(view, wrapper, body=model, form=form, upload=upload)

    return decorate


def _read_body(model: type[BaseModel] | None, *, form: bool | str, upload: str | None) -> tuple[Any, Any]:
    mimetype = request.mimetype
    if upload is not None and mimetype == "multipart/form-data":
        file = request.files.get(upload)
        extra = sorted({*request.form, *request.files} - {upload, CSRF_FIELD})
        if extra:
            raise InvalidInput(
                f"不接受字段 / not fields of this upload: {', '.join(extra)}",
                detail=[{"field": k, "problem": "not a field of this operation"} for k in extra],
            )
        if file is None or not file.filename:
            raise InvalidInput(
                f"请上传文件 / upload a file in the form field {upload!r}",
                detail=[{"field": upload, "problem": "required"}],
            )
        return None, file
    if model is None:
        raise InvalidInput(f"请以 multipart/form-data 上传文件 / upload a file in the form field {upload!r}")
    raw = request.get_data(cache=True)
    if request.is_json:
        data = loads_json(raw) if raw.strip() else {}
        strict = None
    elif form and mimetype in FORM_TYPES:
        data, strict = _fields(model, request.form), False
    elif not raw:
        data, strict = {}, None
    else:
        kinds = "JSON" + (" 或表单 / JSON or a form" if form else "")
        raise InvalidInput(
            f"请求体应为 {kinds} (Content-Type: application/json"
            f"{', application/x-www-form-urlencoded' if form else ''})"
        )
    if not isinstance(data, dict):
        raise InvalidInput(
            "请求体应为 JSON 对象 / the request body must be a JSON object",
            detail=[{"field": "body", "problem": "not an object"}],
        )
    data.pop(CSRF_FIELD, None)  # a page's form (or its script sending the form's fields) carries it
    return parse(model, data, where="body", strict=strict), None
