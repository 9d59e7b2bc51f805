"""OpenAPI 3.1 generated from the registered routes and the pydantic models (issue #6 item 3)."""

import copy
import json
import re

from openapi_spec_validator import validate

from shared.openapi import DOCS, documented_routes


def test_the_spec_is_valid_openapi_3_1(client):
    response = client.get("/api/v2/openapi.json")

    assert response.status_code == 200
    spec = response.json_body
    assert spec["openapi"] == "3.1.0"
    validate(spec)


def test_every_route_of_the_app_is_in_the_spec_with_its_own_documentation(client, app):
    spec = client.get("/api/v2/openapi.json").json_body
    routes = documented_routes(app)

    assert len(routes) >= 50
    for path, method, name in routes:
        assert method.lower() in spec["paths"][path], (method, path)
        assert name in DOCS, f"{name} ({method} {path}) has no @doc beside its route (shared/openapi.DOCS)"
    assert not set(DOCS) - {name for _, _, name in routes}, "DOCS describes handlers that do not exist"


def test_schemas_come_from_the_models_with_wire_names(client):
    schemas = client.get("/api/v2/openapi.json").json_body["components"]["schemas"]

    assert {"createdAt", "coverImage", "avatar"} <= set(schemas["PublicUser"]["properties"])
    assert "allowPublicQnA" in schemas["VideoOut"]["properties"]
    assert set(schemas["LoginIn"]["properties"]) == {"email", "username", "password"}


def test_the_docs_page_lists_every_operation_and_needs_nothing_from_outside(client, app):
    page = client.get("/api/v2/docs")

    assert page.status_code == 200 and page.headers["Content-Type"].startswith("text/html")
    text = page.body.decode()
    for path, _, _ in documented_routes(app):
        assert path in text
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", text)  # no CDN, no external asset


def test_what_the_handlers_answer_matches_what_the_spec_documents(client, make_user, make_video, auth):
    from jsonschema import Draft202012Validator

    owner, viewer = make_user(), make_user()
    video = make_video(owner)
    headers = auth(viewer)
    playlist = client.post("/api/v2/playlist", headers={**headers, "Content-Type": "application/json"},
                           body=json.dumps({"name": "mine"})).json_body["data"]
    spec = client.get("/api/v2/openapi.json").json_body
    components = copy.deepcopy(spec["components"])
    for name, shape in components["schemas"].items():
        if name not in ("Envelope", "Error") and "properties" in shape:
            shape["additionalProperties"] = False  # every key answered is documented, not only the required ones
    calls = [
        ("get", "/api/v2/videos/{video_id}", f"/api/v2/videos/{video['id']}"),  # the watch page: VideoDetail
        ("get", "/api/v2/videos", "/api/v2/videos?limit=5"),
        ("get", "/api/v2/dashboard/videos", "/api/v2/dashboard/videos"),
        ("get", "/api/v2/user/c/{username}", f"/api/v2/user/c/{owner['username']}"),
        ("post", "/api/v2/likes/toggle/v/{video_id}", f"/api/v2/likes/toggle/v/{video['id']}"),
        ("post", "/api/v2/playlist/{playlist_id}/{video_id}", f"/api/v2/playlist/{playlist['id']}/{video['id']}"),
        ("delete", "/api/v2/playlist/{playlist_id}/{video_id}", f"/api/v2/playlist/{playlist['id']}/{video['id']}"),
        ("post", "/api/v2/subscriptions/c/{channel_id}", f"/api/v2/subscriptions/c/{owner['id']}"),
    ]

    for method, documented, path in calls:
        response = client.request(method.upper(), path, headers=headers)
        answer = spec["paths"][documented][method]["responses"][str(response.status_code)]
        schema = answer["content"]["application/json"]["schema"]
        problems = [e.message for e in Draft202012Validator({**schema, "components": components})
                    .iter_errors(response.json_body)]
        assert not problems, (method, path, problems)
