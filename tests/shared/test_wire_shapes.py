"""`Out.shape` (a row mapped straight to the wire keys, for pages) writes exactly the JSON that validating the row
into its model and dumping it writes, for every response shape and any row of the right types (Hypothesis)."""

from __future__ import annotations

import datetime as dt
import types
import typing
import uuid
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

import shared.schemas.security
import shared.schemas.social
import shared.schemas.users
import shared.schemas.videos  # noqa: F401 - every response shape is defined by now
from shared.schemas import Out
from shared.wire import to_json_bytes

TIMES = st.datetimes(min_value=dt.datetime(1970, 1, 1), max_value=dt.datetime(2200, 1, 1),
                     timezones=st.just(dt.UTC))


def _all_shapes(base: type[Out] = Out) -> list[type[Out]]:
    found = []
    for sub in base.__subclasses__():
        found += [sub, *_all_shapes(sub)]
    return sorted(set(found), key=lambda c: c.__qualname__)


def _value(annotation: Any) -> st.SearchStrategy[Any]:
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin is typing.Annotated:
        return _value(args[0])
    if origin in (typing.Union, types.UnionType):
        return st.one_of(*(_value(a) for a in args))
    if origin is list:
        return st.lists(_value(args[0]), max_size=3)
    if origin is dict:
        return st.dictionaries(st.text(max_size=8), _value(args[1]), max_size=3)
    if isinstance(annotation, type) and issubclass(annotation, Out):
        return row_of(annotation)
    return {uuid.UUID: st.uuids(), str: st.text(max_size=20), int: st.integers(-2**53, 2**53), bool: st.booleans(),
            float: st.floats(allow_nan=False, allow_infinity=False), type(None): st.none(),
            dt.datetime: TIMES, Any: st.one_of(st.text(max_size=8), st.integers(), st.none())}[annotation]


def row_of(model: type[Out]) -> st.SearchStrategy[dict[str, Any]]:
    """A row as our SQL gives it: every required field, each optional one present or left out, plus a column the
    shape does not show."""
    required = {n: _value(f.annotation) for n, f in model.model_fields.items() if f.is_required()}
    optional = {n: _value(f.annotation) for n, f in model.model_fields.items() if not f.is_required()}
    return st.fixed_dictionaries({**required, "storage": st.just("local")}, optional=optional)


SHAPES = _all_shapes()


def test_every_response_shape_is_covered():
    names = {c.__name__ for c in SHAPES}
    assert {"VideoWithOwner", "CommentWithUser", "TweetWithCount", "PlaylistSummary", "ChannelBrief",
            "DashboardVideo", "ChannelProfile", "PlaylistDetail"} <= names


@settings(max_examples=400, deadline=None)
@given(data=st.data())
def test_shape_writes_what_the_model_writes(data):
    model = data.draw(st.sampled_from(SHAPES))
    row = data.draw(row_of(model))

    assert to_json_bytes(model.shape(row)) == to_json_bytes(model.model_validate(row).dump()), model.__name__
