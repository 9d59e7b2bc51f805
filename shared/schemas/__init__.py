"""Pydantic shapes of what the API takes and answers (camelCase on the wire), and the one way a handler parses its
input: `parse_input(Model, body)` or `parse_form(Model, form)` checks the types, then the model's own rules."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import TYPE_CHECKING, Annotated, Any, ClassVar, TypeVar, get_args

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, PlainSerializer, ValidationError, WithJsonSchema
from pydantic.alias_generators import to_camel

from shared import errors
from shared.media.files import UploadedFile
from shared.wire import iso_timestamp

if TYPE_CHECKING:
    from shared.web.forms import StagedForm

Timestamp = Annotated[dt.datetime, PlainSerializer(iso_timestamp, return_type=str)]


class Out(BaseModel):
    """Base of every response shape: snake_case in Python, camelCase on the wire.

    Two ways to put a row on the wire: `Model.model_validate(row).dump()` checks it against the model first (for
    one object built in Python); `Model.shape(row)` maps a row of our own SQL straight to the model's wire keys, for
    pages of rows, where a model per row was a third of a listed page's CPU. Both give the same JSON: the
    conformance test compares them on every shape a page uses, and the OpenAPI suite checks the answers.
    """

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, from_attributes=True)

    def dump(self) -> dict[str, Any]:
        return self.model_dump(mode="json", by_alias=True)

    @classmethod
    def shape(cls, row: Mapping[str, Any]) -> dict[str, Any]:
        """`row` under the model's wire keys, nested shapes shaped, defaults filled in; UUIDs and timestamps are left
        for the wire encoder (which writes them as `dump` does)."""
        plan = cls.__dict__.get("_wire_plan") or _compile_plan(cls)
        out: dict[str, Any] = {}
        for key, name, nested, default in plan:
            value = row[name] if default is _REQUIRED or name in row else default
            if nested is not None and value is not None:
                value = [nested.shape(v) for v in value] if isinstance(value, list) else nested.shape(value)
            out[key] = value
        return out


_REQUIRED = object()
_Plan = list[tuple[str, str, "type[Out] | None", Any]]


def _compile_plan(model: type[Out]) -> _Plan:
    """Per field: its wire key, its name in the row, the nested Out shape (alone, in a list, or optional), its
    default. Computed once per class (on first use) from the model's own fields, so the two ways cannot drift."""
    plan: _Plan = []
    for name, info in model.model_fields.items():
        key = info.serialization_alias or info.alias or name
        candidates = (info.annotation, *get_args(info.annotation))
        nested = next((c for c in candidates for c in (c, *get_args(c))
                       if isinstance(c, type) and issubclass(c, Out)), None)
        plan.append((key, name, nested, _REQUIRED if info.is_required() else info.default))
    type.__setattr__(model, "_wire_plan", plan)
    return plan


class In(BaseModel):
    """Base of every request body: strings stay strings (no coercion), unknown keys are ignored.

    A model's rules beyond types (what is required, lengths, characters) are its `model_validator(mode="after")`,
    which runs once the types are right and raises the API's own typed error: a 400 or a 422 with the original's
    message. Pydantic wraps only ValueError and AssertionError into its ValidationError; our errors derive from
    neither, so they leave `model_validate` unchanged and reach the client exactly as written.
    """

    model_config = ConfigDict(strict=True, extra="ignore")
    invalid_message: ClassVar[str] = "Validation failed"  # the 422's message when a field has the wrong type


class FormIn(In):
    """Base of a multipart form: text fields as in `In`, plus file fields (`File`, `OptionalFile`)."""

    model_config = ConfigDict(arbitrary_types_allowed=True)  # UploadedFile is checked with isinstance


def _null_as_empty(value: Any) -> Any:
    return "" if value is None else value


def _null_as_zero(value: Any) -> Any:
    return 0 if value is None else value


def _none_if_empty(upload: UploadedFile | None) -> UploadedFile | None:
    return upload if upload is not None and upload.size else None


# A text field where absent, null and "" all mean "not given" (the rules treat them alike), typed `str`.
Text = Annotated[str, BeforeValidator(_null_as_empty), WithJsonSchema({"anyOf": [{"type": "string"}, {"type": "null"}]})]
# A number where absent and null mean 0 (the rules refuse both alike), typed `int`.
Count = Annotated[int, BeforeValidator(_null_as_zero),
                  WithJsonSchema({"anyOf": [{"type": "integer"}, {"type": "null"}]})]
_BINARY = WithJsonSchema({"type": "string", "format": "binary"})
# A file part. A field left out arrives as an empty file, as browsers send a file input left empty: both mean
# "no file", and the model's rules refuse it with the field's own message.
File = Annotated[UploadedFile, _BINARY]
# A file part that may be missing: None when absent or empty.
OptionalFile = Annotated[UploadedFile | None, AfterValidator(_none_if_empty), _BINARY]

M = TypeVar("M", bound=In)


def parse_input(model: type[M], body: Mapping[str, Any], message: str | None = None) -> M:
    """The body as `model`: a wrong type is a 422 naming the field (`message`, else the model's `invalid_message`),
    never a 500; then the model's rules raise their own 400 or 422."""
    try:
        return model.model_validate(body)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            name = ".".join(str(p) for p in err["loc"]) or "body"
            problems.append(f"{name} must be a string" if err["type"].startswith("string") else f"{name}: {err['msg']}")
        raise errors.ValidationFailed(message or model.invalid_message, errors=problems) from None


def file_fields(model: type[BaseModel]) -> list[str]:
    """The names of a form model's file fields (the rest are text)."""
    return [name for name, info in model.model_fields.items()
            if info.annotation is UploadedFile or UploadedFile in get_args(info.annotation)]


def parse_form(model: type[M], form: StagedForm) -> M:
    """A staged multipart form as `model`: its text fields, and each file field from the form's files (a text part
    that happens to carry a file field's name is not a file)."""
    files = {name: form.files.get(name) or _empty_file(name, form) for name in file_fields(model)}
    return parse_input(model, {**form.fields, **files})


def _empty_file(name: str, form: StagedForm) -> UploadedFile:
    return UploadedFile(field=name, path=form.directory / name, filename="", declared_type="", size=0)


def required_file(upload: UploadedFile, message: str) -> None:
    """A form's required file: a missing or empty part is a 400 with the field's message."""
    if not upload.size:
        raise errors.BadRequest(message)


__all__ = ["Count", "File", "FormIn", "In", "OptionalFile", "Out", "Text", "Timestamp", "file_fields", "parse_form",
           "parse_input", "required_file"]
