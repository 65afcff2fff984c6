"""One error tree: every exception class gridmap defines is a gridmap.errors.GridmapError, of the right kind."""

from __future__ import annotations

import importlib
import inspect
import pkgutil

import pytest

import gridmap
from gridmap import errors
from gridmap.domain.complaints import ComplaintError
from gridmap.domain.partition import PartitionError
from gridmap.store import ConflictError, NotFound, SchemaError, StoreError, StoreUnavailable
from gridmap.store.plans import PlanNotFound

#: modules not imported by the walk, and why
SKIP = {
    "gridmap.__main__": "runs the command line on import",
}
#: exception classes that may stay outside the tree, and why (none today)
OUTSIDE: dict[str, str] = {}


def _modules():
    for info in pkgutil.walk_packages(gridmap.__path__, "gridmap."):
        if info.name in SKIP or ".migrations" in info.name:  # Alembic scripts run against a live connection
            continue
        yield importlib.import_module(info.name)


def test_every_exception_class_in_gridmap_is_a_gridmap_error():
    found, outside = [], []
    for mod in _modules():
        for name, obj in vars(mod).items():
            if inspect.isclass(obj) and issubclass(obj, BaseException) and obj.__module__ == mod.__name__:
                found.append(f"{mod.__name__}.{name}")
                if not issubclass(obj, errors.GridmapError) and found[-1] not in OUTSIDE:
                    outside.append(found[-1])
    assert len(found) > 30  # the walk saw the domain, io, store, services and web errors
    assert not outside, f"exception classes outside gridmap.errors' tree: {outside}"


@pytest.mark.parametrize(
    "cls, kind, status",
    [
        (ConflictError, errors.Conflict, 409),
        (NotFound, errors.NotFoundError, 404),
        (SchemaError, errors.InvalidInput, 400),
        (StoreUnavailable, errors.Unavailable, 503),
        (PlanNotFound, errors.NotFoundError, 404),
        (PartitionError, errors.InvalidInput, 400),
        (ComplaintError, errors.InvalidInput, 400),
    ],
)
def test_each_error_has_the_status_of_its_kind(cls, kind, status):
    err = cls("what went wrong")
    assert isinstance(err, kind) and err.status == kind.status == status and err.code == kind.code
    assert err.message == str(err) == "what went wrong"
    if issubclass(cls, StoreError):
        assert isinstance(err, StoreError)  # still caught by `except StoreError`


def test_former_value_errors_still_are_value_errors():
    # callers that caught ValueError (or LookupError for a missing plan) keep working
    assert isinstance(PartitionError("x"), ValueError) and isinstance(SchemaError("x"), ValueError)
    assert isinstance(PlanNotFound("x"), LookupError)
