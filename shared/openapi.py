"""OpenAPI 3.1, generated from the routes registered on the Chalice app and the pydantic models.

Paths, methods and path parameters come from `app.routes`; request and response schemas from the models
named in DOCS (keyed by handler name: a route without an entry fails the test suite). The docs page is
rendered from the same spec, server-side: no scripts, no CDN, works offline.
"""

from __future__ import annotations

import html
import json
import re
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from shared.schemas import social as s
from shared.schemas import users as u
from shared.schemas import videos as v

PAGE = ("page", "integer", "Page number, from 1")
LIMIT = ("limit", "integer", "Items per page, 1 to 100")


@dataclass(frozen=True)
class Doc:
    summary: str
    data: Any = None  # a model, [model] for a list, or a JSON schema dict
    body: type[BaseModel] | None = None  # JSON (or urlencoded) body
    form: dict[str, str] = field(default_factory=dict)  # multipart fields: name -> "text" | "file"
    query: tuple[tuple[str, str, str], ...] = ()
    status: int = 200
    public: bool = False
    errors: tuple[int, ...] = ()


_OBJ = {"type": "object"}
_TOKENS = {"type": "object", "properties": {"accessToken": {"type": "string"}, "refreshToken": {"type": "string"}}}
_UPLOAD = {"type": "object", "properties": {
    "uploadId": {"type": "string", "format": "uuid"}, "method": {"type": "string"}, "url": {"type": "string"},
    "headers": {"type": "object"}, "fields": {"type": "object"}, "expiresAt": {"type": "string", "format": "date-time"}}}
_PAGED_VIDEOS = {"type": "object", "properties": {
    "docs": {"type": "array", "items": {"$ref": "#/components/schemas/VideoWithOwner"}},
    "totalDocs": {"type": "integer"}, "limit": {"type": "integer"}, "page": {"type": "integer"},
    "totalPages": {"type": "integer"}, "hasNextPage": {"type": "boolean"}, "hasPrevPage": {"type": "boolean"}}}

DOCS: dict[str, Doc] = {
    "healthcheck": Doc("Service and database health", {"type": "string"}, public=True),
    "register_user": Doc("Create an account", u.PublicUser, status=201, public=True,
                         form={"fullname": "text", "username": "text", "email": "text", "password": "text",
                               "avatar": "file", "coverImage": "file"}, errors=(400, 409, 413, 415, 422, 429)),
    "login_user": Doc("Sign in with email or username; sets the auth cookies", {
        "type": "object", "properties": {"user": {"$ref": "#/components/schemas/PublicUser"},
                                         "accessToken": {"type": "string"}, "refreshToken": {"type": "string"}}},
        body=u.LoginIn, public=True, errors=(401, 422, 429)),
    "refresh_access_token": Doc("Rotate the refresh token (cookie or body)", _TOKENS, public=True, errors=(401, 429),
                                body=None),
    "logout_user": Doc("Sign out this device", _OBJ),
    "change_password": Doc("Change the password; other devices are signed out", _OBJ, body=u.ChangePasswordIn,
                           errors=(400, 422)),
    "current_user_details": Doc("The signed-in user", u.PublicUser),
    "channel_profile": Doc("A channel's profile and subscription counts", u.ChannelProfile, errors=(404,)),
    "update_account": Doc("Change fullname, username or email (partial)", u.PublicUser, body=u.UpdateAccountIn,
                          errors=(409, 422)),
    "update_avatar": Doc("Replace the avatar", u.PublicUser, form={"avatar": "file"}, errors=(400, 413, 415)),
    "update_cover_image": Doc("Replace the cover image", u.PublicUser, form={"coverImage": "file"},
                              errors=(400, 413, 415)),
    "watch_history": Doc("Videos the user watched, newest first", [v.VideoWithOwner], query=(PAGE, LIMIT)),
    "list_videos": Doc("Published videos: search, filter, sort, paginate", _PAGED_VIDEOS, query=(
        PAGE, LIMIT, ("query", "string", "Words to find in titles and descriptions (prefix match)"),
        ("userId", "string", "Only this channel's videos"),
        ("sortBy", "string", "createdAt | views | duration | title"), ("sortType", "string", "asc | desc"))),
    "publish_video": Doc("Publish a video (multipart), or register direct uploads (JSON)", {
        "type": "object", "properties": {"video": {"$ref": "#/components/schemas/VideoOut"}}},
        body=v.VideoRegisterIn, form={"title": "text", "description": "text", "videoFile": "file", "thumbnail": "file"},
        errors=(400, 404, 409, 413, 415, 422, 429, 503)),
    "get_video": Doc("A video; counts the view (once per viewer per hour)", v.VideoOut, errors=(404,)),
    "update_video": Doc("Change title, description or thumbnail", v.VideoOut, body=v.VideoUpdateIn,
                        form={"title": "text", "description": "text", "thumbnail": "file"}, errors=(403, 404)),
    "delete_video": Doc("Delete a video, its comments, likes and media", _OBJ, errors=(403, 404)),
    "toggle_publish_status": Doc("Publish or unpublish", v.VideoOut, errors=(403, 404)),
    "retry_video_processing": Doc("Process a failed video again", v.VideoOut, errors=(403, 404, 409)),
    "sign_upload": Doc("Sign a direct upload to storage", _UPLOAD, body=v.UploadSignIn, status=201,
                       errors=(413, 415, 422, 429)),
    "receive_upload": Doc("The local store's upload endpoint (signed URL, raw bytes)", _OBJ, public=True,
                          errors=(404, 413, 415, 422)),
    "list_comments": Doc("A video's comments, newest first", [s.CommentWithUser], query=(PAGE, LIMIT), errors=(404,)),
    "add_comment": Doc("Comment on a video", s.CommentOut, body=s.ContentIn, status=201, errors=(400, 404, 422)),
    "update_comment": Doc("Edit a comment (its author)", s.CommentOut, body=s.ContentIn, errors=(400, 403, 404)),
    "delete_comment": Doc("Delete a comment (its author or the video's owner)", _OBJ, errors=(403, 404)),
    "create_tweet": Doc("Post to the community tab", s.TweetOut, body=s.ContentIn, status=201, errors=(400, 422)),
    "list_user_tweets": Doc("A user's posts with like counts", [s.TweetWithCount], query=(PAGE, LIMIT),
                            errors=(404,)),
    "update_tweet": Doc("Edit a post", s.TweetOut, body=s.ContentIn, errors=(400, 403, 404)),
    "delete_tweet": Doc("Delete a post", _OBJ, errors=(403, 404)),
    "toggle_video_like": Doc("Like or unlike a video", {"type": "object", "properties": {"liked": {"type": "boolean"}}},
                             errors=(404,)),
    "toggle_comment_like": Doc("Like or unlike a comment", {"type": "object",
                                                             "properties": {"liked": {"type": "boolean"}}}, errors=(404,)),
    "toggle_tweet_like": Doc("Like or unlike a post", {"type": "object", "properties": {"liked": {"type": "boolean"}}},
                             errors=(404,)),
    "liked_videos": Doc("Videos the user liked, newest like first", [v.VideoWithOwner], query=(PAGE, LIMIT)),
    "toggle_subscription": Doc("Subscribe or unsubscribe", {"type": "object",
                                                             "properties": {"subscribed": {"type": "boolean"}}},
                               errors=(400, 404)),
    "list_subscribers": Doc("A channel's subscribers", [s.ChannelBrief], query=(PAGE, LIMIT), errors=(404,)),
    "list_subscribed_channels": Doc("Channels a user follows", [s.ChannelBrief], query=(PAGE, LIMIT), errors=(404,)),
    "create_playlist": Doc("Create a playlist", s.PlaylistOut, body=s.PlaylistIn, status=201, errors=(400, 422)),
    "list_user_playlists": Doc("A user's playlists", [s.PlaylistSummary], query=(PAGE, LIMIT), errors=(404,)),
    "get_playlist": Doc("A playlist with its videos, in the order added", s.PlaylistDetail, query=(PAGE, LIMIT),
                        errors=(404,)),
    "update_playlist": Doc("Rename or describe a playlist", s.PlaylistOut, body=s.PlaylistIn, errors=(400, 403, 404)),
    "delete_playlist": Doc("Delete a playlist", _OBJ, errors=(403, 404)),
    "add_video_to_playlist": Doc("Add a video to a playlist", s.PlaylistOut, errors=(403, 404, 409)),
    "remove_video_from_playlist": Doc("Remove a video from a playlist", _OBJ, errors=(403, 404)),
    "channel_stats": Doc("The caller's channel totals", s.DashboardStats),
    "channel_videos": Doc("The caller's videos, drafts included, with like counts", {
        "type": "object", "properties": {"videos": {"type": "array", "items": {"$ref": "#/components/schemas/VideoOut"}},
                                         "totalVideos": {"type": "integer"}}}, query=(PAGE, LIMIT)),
    "get_media": Doc("A stored file (Range, ETag); private media need their signed URL", None, public=True),
    "get_hls_file": Doc("An HLS master playlist or poster", None, public=True),
    "get_hls_segment": Doc("An HLS rendition playlist or segment", None, public=True),
    "cloudinary_notification": Doc("Cloudinary's eager-HLS notification (signature checked)", _OBJ, public=True,
                                   errors=(401, 404)),
    "prometheus_metrics": Doc("Prometheus metrics", None, public=True),
    "openapi_spec": Doc("This OpenAPI document", None, public=True),
    "api_docs": Doc("Human-readable API documentation", None, public=True),
}

_MODELS: list[type[BaseModel]] = [u.PublicUser, u.ChannelProfile, u.LoginIn, u.ChangePasswordIn, u.UpdateAccountIn,
                                  v.VideoOut, v.VideoWithOwner, v.VideoUpdateIn, v.VideoRegisterIn, v.UploadSignIn,
                                  s.CommentOut, s.CommentWithUser, s.TweetOut, s.TweetWithCount, s.ChannelBrief,
                                  s.PlaylistOut, s.PlaylistSummary, s.PlaylistDetail, s.DashboardStats, s.ContentIn,
                                  s.PlaylistIn]


def _schema_of(data: Any) -> dict[str, Any]:
    if data is None:
        return {}
    if isinstance(data, list):
        return {"type": "array", "items": _schema_of(data[0])}
    if isinstance(data, type) and issubclass(data, BaseModel):
        return {"$ref": f"#/components/schemas/{data.__name__}"}
    return data


def _components() -> dict[str, Any]:
    inputs = {m for d in DOCS.values() for m in [d.body] if m is not None}
    _, top = models_json_schema([(m, "validation" if m in inputs else "serialization") for m in _MODELS],
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
    if doc.form:
        content["multipart/form-data"] = {"schema": {"type": "object", "properties": {
            k: ({"type": "string", "format": "binary"} if kind == "file" else {"type": "string"})
            for k, kind in doc.form.items()}}}
    if content:
        operation["requestBody"] = {"required": False, "content": content}
    success: dict[str, Any] = {"description": "Success"}
    if doc.data is not None:
        success["content"] = {"application/json": {"schema": {"allOf": [
            {"$ref": "#/components/schemas/Envelope"}, {"properties": {"data": _schema_of(doc.data)}}]}}}
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
