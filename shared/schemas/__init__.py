"""Pydantic shapes of what the API takes and answers (camelCase on the wire)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, PlainSerializer, ValidationError
from pydantic.alias_generators import to_camel

from shared import errors
from shared.http import iso_timestamp

Timestamp = Annotated[dt.datetime, PlainSerializer(iso_timestamp, return_type=str)]


class Out(BaseModel):
    """Base of every response shape: snake_case in Python, camelCase on the wire."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, from_attributes=True)

    def dump(self) -> dict[str, Any]:
        return self.model_dump(mode="json", by_alias=True)


class In(BaseModel):
    """Base of every request body: strings stay strings (no coercion), unknown keys are ignored."""

    model_config = ConfigDict(strict=True, extra="ignore")


def parse_input(model: type[In], body: dict[str, Any], message: str) -> Any:
    """Validate types; a wrong type is a 422 naming the field, never a 500."""
    try:
        return model.model_validate(body)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            name = ".".join(str(p) for p in err["loc"]) or "body"
            problems.append(f"{name} must be a string" if err["type"].startswith("string") else f"{name}: {err['msg']}")
        raise errors.ValidationFailed(message, errors=problems) from None


__all__ = ["In", "Out", "Timestamp", "parse_input"]
