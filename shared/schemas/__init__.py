"""Pydantic shapes of what the API takes and answers (camelCase on the wire), and the one way a handler parses its
input: `parse_input(Model, body)` or `parse_form(Model, form)` checks the types, then the model's own rules."""

from __future__ import annotations

import datetime as dt
import difflib
from collections.abc import Mapping
from functools import cache
from typing import TYPE_CHECKING, Annotated, Any, ClassVar, TypeVar, get_args

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    ValidationError,
    WithJsonSchema,
)
from pydantic.alias_generators import to_camel

from shared import errors
from shared.media.files import UploadedFile
from shared.wire import iso_timestamp

if TYPE_CHECKING:
    from shared.web.forms import StagedForm

Timestamp = Annotated[dt.datetime, PlainSerializer(iso_timestamp, return_type=str),
                      WithJsonSchema({"type": "string", "format": "date-time"})]


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


_REQUIRED_MARK = "x-viztube-required"  # a field() marker, turned into the schema's `required` by _document_rules


def field(example: Any, *, default: Any = "", required: bool = False, min_length: int | None = None,
          max_length: int | None = None, min_value: int | None = None, choices: tuple[str, ...] = (),
          description: str | None = None) -> Any:
    """An input field as the spec documents it: an example, whether the model's rules require it, its limits.

    The rules themselves stay in the model's validator, with the original's messages (a pydantic `max_length` would
    answer with pydantic's own); the limits given here only document them, and tests/functions/test_openapi.py
    checks the documented ones against what the handlers refuse."""
    extra: dict[str, Any] = {}
    if required:
        extra[_REQUIRED_MARK] = True
    if min_length is not None:
        extra["minLength"] = min_length
    if max_length is not None:
        extra["maxLength"] = max_length
    if choices:
        extra["enum"] = list(choices)
    if min_value is not None:
        extra["minimum"] = min_value
    return Field(default, examples=[example], description=description, json_schema_extra=extra or None)


def _document_rules(schema: dict[str, Any], model: type[BaseModel]) -> None:
    """The model's schema says what its rules require: each required field listed and not nullable (null and blank
    are refused like an absent value), and `one_of_required` as an anyOf of alternatives."""
    required = list(schema.get("required", []))
    for name, prop in schema.get("properties", {}).items():
        if "enum" in prop and prop.get("default") not in prop["enum"]:
            prop.pop("default", None)  # "" or None: not given, which the rules read as their own default
        if prop.pop(_REQUIRED_MARK, False):
            prop.pop("default", None)
            for choice in prop.pop("anyOf", []):  # Text / Count: keep the non-null alternative
                if choice.get("type") != "null":
                    prop.update(choice)
            if prop.get("type") == "string" and prop.get("format") != "binary":
                prop.setdefault("minLength", 1)
            required.append(name)
    if required:
        schema["required"] = required
    groups = getattr(model, "one_of_required", ())
    if groups:
        schema["anyOf"] = [{"required": [name]} for name in groups]


class In(BaseModel):
    """Base of every request body: strings stay strings (no coercion), unknown keys are ignored.

    A model's rules beyond types (what is required, lengths, characters) are its `model_validator(mode="after")`,
    which runs once the types are right and raises the API's own typed error: a 400 or a 422 with the original's
    message. Pydantic wraps only ValueError and AssertionError into its ValidationError; our errors derive from
    neither, so they leave `model_validate` unchanged and reach the client exactly as written. Fields declared with
    `field(..., required=True)` are documented as required, and a refused body names each one it lacks
    (`parse_input`).
    """

    model_config = ConfigDict(strict=True, extra="ignore", json_schema_extra=_document_rules)
    invalid_message: ClassVar[str] = "Validation failed"  # the 422's message when a field has the wrong type
    # Fields of which at least one must be given (a sign-in's email or username): documented as an anyOf.
    one_of_required: ClassVar[tuple[str, ...]] = ()


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
    never a 500; then the model's rules raise their own 400 or 422, whose `errors` also name every required field
    the body lacks (the messages are the original's, "Full name is required"; the names are the wire's)."""
    try:
        return model.model_validate(body)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            name = ".".join(str(p) for p in err["loc"]) or "body"
            problems.append(f"{name} must be a string" if err["type"].startswith("string") else f"{name}: {err['msg']}")
        raise errors.ValidationFailed(message or model.invalid_message, errors=problems) from None
    except errors.AppError as exc:
        said = {e.lower() for e in exc.errors}  # "Password is required" already names `password`
        exc.errors = exc.errors + [m for m in missing_fields(model, body) if m.lower() not in said]
        raise


@cache
def required_fields(model: type[BaseModel]) -> tuple[str, ...]:
    """The fields the model's rules refuse to go without, as its schema lists them."""
    return tuple(name for name, info in model.model_fields.items()
                 if info.is_required() or (isinstance(info.json_schema_extra, dict)
                                           and info.json_schema_extra.get(_REQUIRED_MARK)))


def _given(value: Any) -> bool:
    if isinstance(value, UploadedFile):
        return bool(value.size)
    return value is not None and not (isinstance(value, str) and not value.strip())


def missing_fields(model: type[BaseModel], body: Mapping[str, Any]) -> list[str]:
    """"<field> is required" for each required field (or group of alternatives) absent, null or blank in `body`,
    saying which key was sent instead when one differs only in case or by a character or two (`fullName`)."""
    unknown = [key for key in body if isinstance(key, str) and key not in model.model_fields]
    found = []
    groups = [(name,) for name in required_fields(model)]
    alternatives = getattr(model, "one_of_required", ())
    if alternatives:
        groups.append(alternatives)
    for group in groups:
        if any(_given(body.get(name)) for name in group):
            continue
        near = [key for name in group for key in unknown if key.lower() == name.lower()]
        near = near or [key for name in group for key in difflib.get_close_matches(name, unknown, n=1, cutoff=0.8)]
        label = " or ".join(group)
        found.append(f"{label} is required" + (f" (not {near[0]}: field names are case-sensitive)" if near else ""))
    return found


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


__all__ = ["Count", "File", "FormIn", "In", "OptionalFile", "Out", "Text", "Timestamp", "field", "file_fields",
           "missing_fields", "parse_form", "parse_input", "required_fields", "required_file"]
