"""OpenAPI 3.1, generated from the routes registered on the Chalice app and the documentation beside each of them.

Paths, methods and path parameters come from `app.routes`; everything else from the `@doc(...)` written under each
`@bp.route(...)`: a summary, the models of the body (JSON or multipart) and of the envelope's `data`, query
parameters, statuses. Bodies are documented by the very models the handler parses them with; answers are checked
against their documented models by tests/functions/test_openapi.py, as is that every route has its `@doc`, and that
the fields documented as required are the ones the handlers refuse to go without. Request bodies carry an example
built from their fields' examples; answers an example built from their schema. /api/v2/docs shows the spec in
Swagger UI (shared/web/docs_ui.py).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from shared.schemas import required_fields

Param = tuple[str, str, str]  # a query parameter: name, JSON type, description
PAGE: Param = ("page", "integer", "Page number, from 1")
LIMIT: Param = ("limit", "integer", "Items per page, 1 to 100")
PAGED: tuple[Param, ...] = (PAGE, LIMIT)
# Response headers (name, JSON type, description): those of the lists that answer a bare array (shared.web.paging).
PAGE_HEADERS: tuple[Param, ...] = (
    ("X-Total-Count", "integer", "How many items the whole list has"),
    ("Link", "string", 'RFC 8288 links to the other pages, path-relative, the other query parameters kept: '
                       '`</api/v2/...?limit=10&page=3>; rel="next"`, with rel first, prev (not on page 1), next (not '
                       'on the last page) and last'))
# Every JSON GET answer (shared.web.middleware): its ETag, and a 304 when If-None-Match names it.
ETAG: Param = ("ETag", "string", "A weak tag of the answer's body: send it back as If-None-Match to get a 304 "
                                 "without a body while the answer is unchanged")
IF_NONE_MATCH = {"name": "If-None-Match", "in": "header", "required": False, "schema": {"type": "string"},
                 "description": "The ETag of an answer already held: 304 (no body) if it is still the answer"}
EMPTY = {"type": "object"}  # `data: {}`
DESCRIPTION = """The VizTube v2 API (contract-compatible with the original), with its fixes and additions. Every answer
uses the envelope `{statusCode, data, message, success}`; an error's `errors` lists what is wrong, naming each
required field a body lacks.

**Signing in.** Try out `POST /api/v2/user/login`: its answer sets the `accessToken` and `refreshToken` cookies, which
every call after it sends, and this page fills its access token in as the bearer token (see *Authorize*), as a client
without cookies sends it: `Authorization: Bearer <accessToken>`."""


@dataclass(frozen=True)
class Doc:
    summary: str
    response: Any = None  # the envelope's `data`: a model, [model] for a list, or a JSON schema dict
    body: type[BaseModel] | None = None  # JSON (or urlencoded) body
    form: type[BaseModel] | None = None  # multipart body: the form model's text and file fields
    query: tuple[Param, ...] = ()
    status: int = 200
    public: bool = False
    errors: tuple[int, ...] = ()
    headers: tuple[Param, ...] = ()  # response headers of the success
    raw: tuple[tuple[str, str], ...] = ()  # bodies that are the file itself: (media type, an example body)


# Handler name -> its documentation, filled by `@doc` as the feature modules are imported (the names are the
# operationIds, unique across the app).
DOCS: dict[str, Doc] = {}
_ORIGIN: dict[str, str] = {}  # handler name -> the module.qualname it documents
Handler = TypeVar("Handler", bound=Callable[..., Any])


def doc(summary: str, *, response: Any = None, body: type[BaseModel] | None = None,
        form: type[BaseModel] | None = None, query: tuple[Param, ...] = (), status: int = 200, public: bool = False,
        errors: tuple[int, ...] = (), headers: tuple[Param, ...] = (),
        raw: tuple[tuple[str, str], ...] = ()) -> Callable[[Handler], Handler]:
    """Document the route below: `@bp.route(...)` then `@doc(...)` over the handler, which is returned unchanged.

    Every route answers 400 (and 401 unless `public`); `errors` lists the other statuses it may answer; `headers`
    the headers its success carries (a JSON GET's ETag is added for every such route); `raw` the media types of a
    body that is a file itself, each with an example."""
    def record(handler: Handler) -> Handler:
        name, origin = handler.__name__, f"{handler.__module__}.{handler.__qualname__}"
        # The same handler documented again (its module imported anew) replaces its entry; another one is a clash.
        if _ORIGIN.setdefault(name, origin) != origin:
            raise ValueError(f"{origin} and {_ORIGIN[name]} are both named {name}: operationIds must be unique")
        DOCS[name] = Doc(summary, response, body, form, query, status, public, errors, headers, raw)
        return handler
    return record


def _schema_of(data: Any) -> dict[str, Any]:
    if data is None:
        return {}
    if isinstance(data, list):
        return {"type": "array", "items": _schema_of(data[0])}
    if isinstance(data, tuple):  # one of several shapes (a login: the tokens, or a two-factor challenge)
        return {"anyOf": [_schema_of(d) for d in data]}
    if isinstance(data, type) and issubclass(data, BaseModel):
        return {"$ref": f"#/components/schemas/{data.__name__}"}
    return data


def _model_of(data: Any) -> type[BaseModel] | None:
    if isinstance(data, list | tuple):
        return _model_of(data[0])
    return data if isinstance(data, type) and issubclass(data, BaseModel) else None


def _components() -> dict[str, Any]:
    """The models the routes take (validation) and answer (serialization), and those they nest."""
    inputs = {d.body for d in DOCS.values() if d.body is not None}
    outputs = {m for d in DOCS.values() for r in (d.response if isinstance(d.response, tuple) else (d.response,))
               if (m := _model_of(r)) is not None}
    models = sorted(inputs | outputs, key=lambda m: m.__name__)
    _, top = models_json_schema([(m, "validation" if m in inputs else "serialization") for m in models],
                                ref_template="#/components/schemas/{model}")
    schemas = dict(top.get("$defs", {}))
    schemas["Envelope"] = {"type": "object", "required": ["statusCode", "data", "message", "success"], "properties": {
        "statusCode": {"type": "integer"}, "data": {}, "message": {"type": "string"}, "success": {"type": "boolean"}}}
    schemas["Error"] = {"type": "object", "required": ["statusCode", "data", "success", "errors", "message"],
                        "properties": {"statusCode": {"type": "integer"}, "data": {"type": "null"},
                                       "success": {"const": False}, "errors": {"type": "array",
                                                                               "items": {"type": "string"}},
                                       "message": {"type": "string"}}}
    return schemas


def _form_schema(form: type[BaseModel]) -> dict[str, Any]:
    """A multipart body: the form model's own schema (text fields and binary file fields, what is required, limits
    and examples), inline, as Swagger UI draws a form from it."""
    schema = form.model_json_schema(mode="validation")
    schema.pop("title", None)
    return schema


def body_example(model: type[BaseModel]) -> dict[str, Any]:
    """A body that the model takes: each text field's documented example (file fields have none), under the key the
    body uses (a field's alias where it has one: a notification type, `video.published`, is no Python name)."""
    return {info.alias or name: info.examples[0] for name, info in model.model_fields.items()
            if info.examples and info.examples[0] is not None}


_EXAMPLE_UUID = "0196a5a0-3c1e-7d2a-9f4b-2b8e1c3d4e5f"
_EXAMPLE_NUMBERS = {"views": 42, "width": 1280, "height": 720, "limit": 10, "page": 1, "totalDocs": 1, "totalPages": 1}
_EXAMPLE_STRINGS = {"email": "ada@example.com", "username": "ada", "fullname": "Ada Lovelace",
                    "title": "Guitar lessons, part 1", "description": "Chords for beginners", "content": "Great video!",
                    "name": "Guitar", "processingStatus": "COMPLETED", "method": "PUT", "contentType": "video/mp4",
                    "accessToken": "eyJhbGciOiJIUzI1NiJ9...", "refreshToken": "eyJhbGciOiJIUzI1NiJ9..."}


def example_of(schema: Any, schemas: dict[str, Any], key: str = "", depth: int = 0) -> Any:
    """An example value for `schema` (components resolved): its own example if it has one, else one made up from
    its type, format and the property's name."""
    if not isinstance(schema, dict) or depth > 8:
        return None
    if "$ref" in schema:
        return example_of(schemas[schema["$ref"].rsplit("/", 1)[1]], schemas, key, depth + 1)
    if schema.get("examples"):
        return schema["examples"][0]
    if "const" in schema:
        return schema["const"]
    if "enum" in schema:
        return schema["enum"][0]
    if "allOf" in schema:
        merged: dict[str, Any] = {}
        for part in schema["allOf"]:
            value = example_of(part, schemas, key, depth + 1)
            if isinstance(value, dict):
                merged.update(value)
        return merged
    for combinator in ("anyOf", "oneOf"):
        if combinator in schema:
            choices = [c for c in schema[combinator] if c.get("type") != "null"]
            return example_of(choices[0], schemas, key, depth + 1) if choices else None
    kind = schema.get("type")
    if kind == "object" or "properties" in schema:
        return {name: example_of(prop, schemas, name, depth + 1) for name, prop in schema.get("properties", {}).items()}
    if kind == "array":
        return [example_of(schema.get("items", {}), schemas, key, depth + 1)]
    if kind == "integer":
        return _EXAMPLE_NUMBERS.get(key, 1)
    if kind == "number":
        return 12.5
    if kind == "boolean":
        return False
    if kind == "null":
        return None
    if kind == "string":
        fmt = schema.get("format")
        if key.endswith("PublicId"):
            return f"videos/{_EXAMPLE_UUID}.mp4" if key.startswith("video") else f"images/{_EXAMPLE_UUID}.jpg"
        if fmt == "uuid" or key == "id" or key.endswith("Id"):
            return _EXAMPLE_UUID
        if fmt == "date-time" or key.endswith("At"):
            return "2026-06-14T08:42:08.123Z"
        if key.endswith(("Url", "url")) or key in ("avatar", "coverImage", "thumbnail"):
            media = {"videoFileUrl": f"videos/{_EXAMPLE_UUID}.mp4", "hlsUrl": f"hls/{_EXAMPLE_UUID}/master.m3u8"}
            return f"http://127.0.0.1:8000/api/v2/media/{media.get(key, f'images/{_EXAMPLE_UUID}.jpg')}"
        return _EXAMPLE_STRINGS.get(key, "string")
    return None


def _operation(name: str, path: str, doc: Doc, method: str, schemas: dict[str, Any]) -> dict[str, Any]:
    tag = path.split("/")[3] if path.startswith("/api/v2/") and len(path.split("/")) > 3 else "service"
    params = [{"name": p, "in": "path", "required": True,
               "schema": {"type": "string", "format": "uuid"} if p.endswith("_id") else {"type": "string"}}
              for p in re.findall(r"{(\w+)}", path)]
    params += [{"name": q, "in": "query", "required": False, "schema": {"type": t}, "description": d}
               for q, t, d in doc.query]
    conditional = method == "GET" and doc.response is not None  # a JSON GET: ETag, If-None-Match, 304
    if conditional:
        params.append(IF_NONE_MATCH)
    operation: dict[str, Any] = {"operationId": name, "summary": doc.summary, "tags": [tag]}
    if params:
        operation["parameters"] = params
    content: dict[str, Any] = {}
    if doc.body is not None:
        content["application/json"] = {"schema": _schema_of(doc.body), "example": body_example(doc.body)}
    if doc.form is not None:
        # No media-type example here: it could not hold the files, and a partial one has schemathesis draw the rest
        # (which crashed its generator). The text fields carry their own examples, which Swagger UI fills in.
        content["multipart/form-data"] = {"schema": _form_schema(doc.form)}
    for raw_type, raw_example in doc.raw:  # the file as the whole body (a caption file)
        content[raw_type] = {"schema": {"type": "string"}, "example": raw_example}
    if content:
        needed = bool(doc.raw) or any(required_fields(m) or getattr(m, "one_of_required", ())
                                      for m in (doc.body, doc.form) if m)
        operation["requestBody"] = {"required": needed, "content": content}
    success: dict[str, Any] = {"description": "Success"}
    if doc.response is not None:
        example = {"statusCode": doc.status, "data": example_of(_schema_of(doc.response), schemas),
                   "message": "Success", "success": True}
        success["content"] = {"application/json": {"schema": {"allOf": [
            {"$ref": "#/components/schemas/Envelope"}, {"properties": {"data": _schema_of(doc.response)}}]},
            "example": example}}
    headers = (*doc.headers, ETAG) if conditional else doc.headers
    if headers:
        success["headers"] = {h: {"description": d, "schema": {"type": t}} for h, t, d in headers}
    responses: dict[str, Any] = {str(doc.status): success}
    if conditional:
        responses["304"] = {"description": "Not modified: If-None-Match named this answer's ETag (no body)",
                            "headers": {"ETag": {"description": ETAG[2], "schema": {"type": "string"}}}}
    statuses = set(doc.errors) | ({401} if not doc.public else set()) | {400}
    for status in sorted(statuses):
        message, problems = _ERROR_EXAMPLES.get(status, ("Error", []))
        example = {"statusCode": status, "data": None, "success": False, "errors": problems, "message": message}
        responses[str(status)] = {"description": _ERROR_TEXT.get(status, "Error"), "content": {"application/json": {
            "schema": {"$ref": "#/components/schemas/Error"}, "example": example}}}
    operation["responses"] = responses
    if not doc.public:
        operation["security"] = [{"bearer": []}, {"cookie": []}]
    return operation


_ERROR_TEXT = {400: "Bad request", 401: "Not signed in", 403: "Not allowed", 404: "Not found", 409: "Conflict",
               413: "Too large", 415: "Unsupported media type", 422: "Invalid input", 429: "Too many requests",
               503: "Busy, retry later"}
# An example answer per error status: its message, and its `errors` (the fields a refused body lacks are named there).
_ERROR_EXAMPLES: dict[int, tuple[str, list[str]]] = {
    400: ("Title is required", ["title is required"]),
    401: ("Unauthorized request", []),
    403: ("You are not allowed to do this", []),
    404: ("Video not found", []),
    409: ("username already exists", []),
    413: ("Request body too large", []),
    415: ("Unsupported media type: text/plain", []),
    422: ("Validation failed", ["Full name is required", "fullname is required (not fullName: field names are "
                                                          "case-sensitive)"]),
    429: ("Too many requests: register allows 5 per hour per IP (set RATE_LIMIT_REGISTER to change it); try again in "
          "3599 s", ["register: 5 per hour per IP"]),
    503: ("Service temporarily unavailable", []),
}


def documented_routes(app: Any) -> list[tuple[str, str, str]]:
    """(path, method, handler name) of every API route (the JSON-404 catch-alls are not API)."""
    found = []
    for path, methods in app.routes.items():
        if path.startswith("/{p1}"):
            continue
        for method, entry in methods.items():
            found.append((path, method, entry.view_name))
    return sorted(found)


def build_spec(app: Any) -> dict[str, Any]:
    paths: dict[str, dict[str, Any]] = {}
    schemas = _components()
    routes = documented_routes(app)
    shared_handlers = {name for _, m, name in routes if m == "HEAD"}
    for path, method, name in routes:
        doc = DOCS.get(name) or Doc(name.replace("_", " ").capitalize())
        operation_id = f"{name}_{method.lower()}" if name in shared_handlers and method != "GET" else name
        paths.setdefault(path, {})[method.lower()] = _operation(operation_id, path, doc, method, schemas)
    return {
        "openapi": "3.1.0",
        "info": {"title": "VizTube API", "version": "2.1.0",
                 "description": DESCRIPTION},
        "servers": [{"url": "/"}],
        "paths": paths,
        "components": {"schemas": schemas, "securitySchemes": {
            "bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"},
            "cookie": {"type": "apiKey", "in": "cookie", "name": "accessToken"}}},
    }
