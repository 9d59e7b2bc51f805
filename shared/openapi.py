"""OpenAPI 3.1, generated from the routes registered on the Chalice app and the documentation beside each of them.

Paths, methods and path parameters come from `app.routes`; everything else from the `@doc(...)` written under each
`@bp.route(...)`: a summary, the models of the body (JSON or multipart) and of the envelope's `data`, query
parameters, statuses. Bodies are documented by the very models the handler parses them with; answers are checked
against their documented models by tests/functions/test_openapi.py, as is that every route has its `@doc`. The docs
page is rendered from the same spec, server-side: no scripts, no CDN, works offline.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from shared.schemas import file_fields

Param = tuple[str, str, str]  # a query parameter: name, JSON type, description
PAGE: Param = ("page", "integer", "Page number, from 1")
LIMIT: Param = ("limit", "integer", "Items per page, 1 to 100")
PAGED: tuple[Param, ...] = (PAGE, LIMIT)
EMPTY = {"type": "object"}  # `data: {}`


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


# Handler name -> its documentation, filled by `@doc` as the feature modules are imported (the names are the
# operationIds, unique across the app).
DOCS: dict[str, Doc] = {}
_ORIGIN: dict[str, str] = {}  # handler name -> the module.qualname it documents
Handler = TypeVar("Handler", bound=Callable[..., Any])


def doc(summary: str, *, response: Any = None, body: type[BaseModel] | None = None,
        form: type[BaseModel] | None = None, query: tuple[Param, ...] = (), status: int = 200, public: bool = False,
        errors: tuple[int, ...] = ()) -> Callable[[Handler], Handler]:
    """Document the route below: `@bp.route(...)` then `@doc(...)` over the handler, which is returned unchanged.

    Every route answers 400 (and 401 unless `public`); `errors` lists the other statuses it may answer."""
    def record(handler: Handler) -> Handler:
        name, origin = handler.__name__, f"{handler.__module__}.{handler.__qualname__}"
        # The same handler documented again (its module imported anew) replaces its entry; another one is a clash.
        if _ORIGIN.setdefault(name, origin) != origin:
            raise ValueError(f"{origin} and {_ORIGIN[name]} are both named {name}: operationIds must be unique")
        DOCS[name] = Doc(summary, response, body, form, query, status, public, errors)
        return handler
    return record


def _schema_of(data: Any) -> dict[str, Any]:
    if data is None:
        return {}
    if isinstance(data, list):
        return {"type": "array", "items": _schema_of(data[0])}
    if isinstance(data, type) and issubclass(data, BaseModel):
        return {"$ref": f"#/components/schemas/{data.__name__}"}
    return data


def _model_of(data: Any) -> type[BaseModel] | None:
    if isinstance(data, list):
        return _model_of(data[0])
    return data if isinstance(data, type) and issubclass(data, BaseModel) else None


def _components() -> dict[str, Any]:
    """The models the routes take (validation) and answer (serialization), and those they nest."""
    inputs = {d.body for d in DOCS.values() if d.body is not None}
    outputs = {m for d in DOCS.values() if (m := _model_of(d.response)) is not None}
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
    """A multipart body: every field a string, the file fields binary."""
    files = set(file_fields(form))
    return {"type": "object", "properties": {
        name: {"type": "string", "format": "binary"} if name in files else {"type": "string"}
        for name in form.model_fields}}


def _operation(name: str, path: str, doc: Doc) -> dict[str, Any]:
    tag = path.split("/")[3] if path.startswith("/api/v2/") and len(path.split("/")) > 3 else "service"
    params = [{"name": p, "in": "path", "required": True,
               "schema": {"type": "string", "format": "uuid"} if p.endswith("_id") else {"type": "string"}}
              for p in re.findall(r"{(\w+)}", path)]
    params += [{"name": q, "in": "query", "required": False, "schema": {"type": t}, "description": d}
               for q, t, d in doc.query]
    operation: dict[str, Any] = {"operationId": name, "summary": doc.summary, "tags": [tag]}
    if params:
        operation["parameters"] = params
    content: dict[str, Any] = {}
    if doc.body is not None:
        content["application/json"] = {"schema": _schema_of(doc.body)}
    if doc.form is not None:
        content["multipart/form-data"] = {"schema": _form_schema(doc.form)}
    if content:
        operation["requestBody"] = {"required": False, "content": content}
    success: dict[str, Any] = {"description": "Success"}
    if doc.response is not None:
        success["content"] = {"application/json": {"schema": {"allOf": [
            {"$ref": "#/components/schemas/Envelope"}, {"properties": {"data": _schema_of(doc.response)}}]}}}
    responses: dict[str, Any] = {str(doc.status): success}
    error = {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
    statuses = set(doc.errors) | ({401} if not doc.public else set()) | {400}
    for status in sorted(statuses):
        responses[str(status)] = {"description": _ERROR_TEXT.get(status, "Error"), **error}
    operation["responses"] = responses
    if not doc.public:
        operation["security"] = [{"bearer": []}, {"cookie": []}]
    return operation


_ERROR_TEXT = {400: "Bad request", 401: "Not signed in", 403: "Not allowed", 404: "Not found", 409: "Conflict",
               413: "Too large", 415: "Unsupported media type", 422: "Invalid input", 429: "Too many requests",
               503: "Busy, retry later"}


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
    routes = documented_routes(app)
    shared_handlers = {name for _, m, name in routes if m == "HEAD"}
    for path, method, name in routes:
        doc = DOCS.get(name) or Doc(name.replace("_", " ").capitalize())
        operation_id = f"{name}_{method.lower()}" if name in shared_handlers and method != "GET" else name
        paths.setdefault(path, {})[method.lower()] = _operation(operation_id, path, doc)
    return {
        "openapi": "3.1.0",
        "info": {"title": "VizTube API", "version": "2.1.0",
                 "description": "The VizTube v2 API (contract-compatible with the original), with its fixes and "
                                "additions. Every answer uses the envelope {statusCode, data, message, success}."},
        "servers": [{"url": "/"}],
        "paths": paths,
        "components": {"schemas": _components(), "securitySchemes": {
            "bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"},
            "cookie": {"type": "apiKey", "in": "cookie", "name": "accessToken"}}},
    }


def render_docs(spec: dict[str, Any]) -> str:
    """The human docs page, from the spec: one section per tag, no external assets."""
    by_tag: dict[str, list[str]] = {}
    for path, operations in spec["paths"].items():
        for method, op in operations.items():
            params = ", ".join(f"{p['name']} ({p['in']})" for p in op.get("parameters", [])) or "—"
            body = ", ".join(op.get("requestBody", {}).get("content", {})) or "—"
            statuses = ", ".join(op["responses"])
            lock = "" if "security" in op else " <span class=pub>public</span>"
            by_tag.setdefault(op["tags"][0], []).append(
                f"<tr><td class=m>{method.upper()}</td><td><code>{html.escape(path)}</code>{lock}<br>"
                f"{html.escape(op['summary'])}</td><td>{html.escape(params)}</td><td>{html.escape(body)}</td>"
                f"<td>{statuses}</td></tr>")
    header = "<tr><th></th><th>route</th><th>parameters</th><th>body</th><th>responses</th></tr>"
    sections = "".join(f"<h2>{html.escape(tag)}</h2><table>{header}{''.join(rows)}</table>"
                       for tag, rows in sorted(by_tag.items()))
    schemas = "".join(f"<details><summary>{html.escape(name)}</summary><pre>{html.escape(json.dumps(schema, indent=2))}"
                      f"</pre></details>" for name, schema in sorted(spec["components"]["schemas"].items()))
    return f"""<!doctype html><html lang=en><head><meta charset=utf-8><title>VizTube API</title><style>
body{{font:15px/1.45 system-ui,sans-serif;margin:2rem auto;max-width:72rem;padding:0 1rem;color:#222}}
table{{border-collapse:collapse;width:100%;margin-bottom:1.5rem}}td,th{{border-bottom:1px solid #ddd;padding:.35rem;
vertical-align:top;text-align:left}}.m{{font-weight:700;width:4.5rem}}.pub{{background:#e6f4ea;border-radius:3px;
padding:0 .3rem;font-size:.8em}}code{{background:#f4f4f4;padding:0 .2rem}}pre{{background:#f8f8f8;padding:.6rem;
overflow:auto}}</style></head><body><h1>{html.escape(spec['info']['title'])} {html.escape(spec['info']['version'])}</h1>
<p>{html.escape(spec['info']['description'])} Machine-readable: <a href="openapi.json">openapi.json</a>
(OpenAPI {spec['openapi']}). Sign in with <code>POST /api/v2/user/login</code>, then send
<code>Authorization: Bearer &lt;accessToken&gt;</code> or the <code>accessToken</code> cookie.</p>
{sections}<h2>Schemas</h2>{schemas}</body></html>"""
