"""OpenAPI 3.1 generated from the registered routes and the pydantic models (issue #6 item 3)."""

import copy
import json
import re
import uuid

from openapi_spec_validator import validate

from shared.openapi import DOCS, documented_routes
from tests.conftest import multipart, register_form


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


def test_the_docs_page_is_swagger_ui_whose_assets_this_api_serves_itself(client):
    page = client.get("/api/v2/docs")

    assert page.status_code == 200 and page.headers["Content-Type"].startswith("text/html")
    text = page.body.decode()
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", text)  # no CDN, no external asset
    assets = re.findall(r'(?:src|href)="(docs/[^"]+)"', text)
    assert {"docs/swagger-ui.css", "docs/swagger-ui-bundle.js", "docs/viztube-docs.js"} <= set(assets)
    for asset in assets:  # relative to /api/v2/docs
        served = client.get(f"/api/v2/{asset}")
        assert served.status_code == 200 and len(served.body) > 0, asset
        assert served.headers["Content-Type"].split(";")[0] in ("text/css", "text/javascript"), asset
    initializer = client.get("/api/v2/docs/viztube-docs.js").body.decode()
    assert 'url: "openapi.json"' in initializer and "withCredentials: true" in initializer
    assert client.get("/api/v2/docs/..%2Fsecrets.json").status_code == 404
    assert client.get("/api/v2/docs/swagger-ui-bundle.js.map").status_code == 404


def test_request_bodies_document_their_required_fields_limits_and_an_example(client):
    spec = client.get("/api/v2/openapi.json").json_body
    schemas = spec["components"]["schemas"]

    register = spec["paths"]["/api/v2/user/register"]["post"]["requestBody"]
    form = register["content"]["multipart/form-data"]["schema"]
    assert register["required"] is True
    assert set(form["required"]) == {"fullname", "username", "email", "password", "avatar"}
    assert form["properties"]["fullname"] == {"examples": ["Ada Lovelace"], "maxLength": 100, "minLength": 1,
                                              "title": "Fullname", "type": "string"}
    assert form["properties"]["avatar"]["format"] == "binary"
    assert schemas["LoginIn"]["required"] == ["password"]
    assert schemas["LoginIn"]["anyOf"] == [{"required": ["email"]}, {"required": ["username"]}]
    assert schemas["CommentIn"]["properties"]["content"]["maxLength"] == 10_000
    assert schemas["UploadSignIn"]["properties"]["kind"]["enum"] == ["video", "thumbnail", "avatar", "coverImage"]
    login = spec["paths"]["/api/v2/user/login"]["post"]["requestBody"]["content"]["application/json"]
    assert login["example"] == {"email": "ada@example.com", "username": "ada", "password": "Passw0rdX"}
    answer = spec["paths"]["/api/v2/user/login"]["post"]["responses"]["200"]["content"]["application/json"]["example"]
    assert answer["data"]["user"]["username"] == "ada" and answer["success"] is True
    refused = spec["paths"]["/api/v2/user/login"]["post"]["responses"]["422"]["content"]["application/json"]
    assert refused["example"]["success"] is False


def test_a_misspelt_field_is_named_in_the_errors_beside_the_originals_message(client):
    body, headers = register_form(fullname=None, fullName="Ada Lovelace")

    refused = client.post("/api/v2/user/register", body=body, headers=headers)

    assert refused.status_code == 422
    assert refused.json_body["message"] == "Validation failed"  # the contract's message and strings, first
    assert refused.json_body["errors"] == ["Full name is required",
                                           "fullname is required (not fullName: field names are case-sensitive)"]


# ------------------------------------------------------------------ documented required fields = refused absences


def _wire_name_in(answer: dict, name: str) -> bool:
    text = " ".join([answer["message"], *answer["errors"]])
    return re.search(rf"(?<![\w.]){re.escape(name)}(?![\w])", text, re.IGNORECASE) is not None


def test_each_documented_required_field_is_one_the_handler_refuses_to_go_without(client, make_user, make_video):
    """For every documented request body: its example is taken (no 400/422); without any one required field (or
    all of an anyOf's alternatives) it is refused with a 400/422 naming that field by its wire name; without any
    one optional field it is still taken; with a field past its documented limit it is refused."""
    from tests.conftest import png_bytes, video_bytes

    spec = client.get("/api/v2/openapi.json").json_body
    schemas = spec["components"]["schemas"]
    user = make_user(password="Passw0rdX")  # the change-password example's old password
    from shared.services.accounts import _start_session

    token = _start_session({k: v for k, v in user.items() if k != "password"}, user_agent="pytest",
                           ip="127.0.0.1").access_token
    auth = {"Authorization": f"Bearer {token}"}
    video = make_video(user)
    json_auth = {**auth, "Content-Type": "application/json"}
    comment = client.post(f"/api/v2/comments/{video['id']}", headers=json_auth,
                          body=json.dumps({"content": "hi"})).json_body["data"]
    tweet = client.post("/api/v2/tweets", headers=json_auth, body=json.dumps({"content": "hi"})).json_body["data"]
    playlist = client.post("/api/v2/playlist", headers=json_auth, body=json.dumps({"name": "l"})).json_body["data"]
    ids = {"video_id": video["id"], "comment_id": comment["id"], "tweet_id": tweet["id"],
           "playlist_id": playlist["id"], "language": "en", "report_id": uuid.uuid4()}
    files = {"videoFile": ("clip.mp4", video_bytes(), "video/mp4"),
             "captionFile": ("en.vtt", b"WEBVTT\n\n00:01.000 --> 00:02.000\nHi\n", "text/vtt")}
    checked = []

    def send(method: str, path: str, kind: str, body: dict) -> dict:
        if kind == "application/json":
            response = client.request(method.upper(), path, headers=json_auth, body=json.dumps(body))
        else:
            fields = {k: v for k, v in body.items() if not isinstance(v, tuple)}
            parts = {k: v for k, v in body.items() if isinstance(v, tuple)}
            payload, headers = multipart(fields, parts)
            response = client.request(method.upper(), path, headers={**auth, **headers}, body=payload)
        return {"status": response.status_code, **(response.json_body or {})}

    for template, operations in spec["paths"].items():
        for method, operation in operations.items():
            for kind, media in operation.get("requestBody", {}).get("content", {}).items():
                schema = media["schema"]
                schema = schemas[schema["$ref"].rsplit("/", 1)[1]] if "$ref" in schema else schema
                path = re.sub(r"{(\w+)}", lambda m: str(ids[m.group(1)]), template)
                if schema.get("type") == "string":  # the file itself as the body (a caption file): its example is taken
                    taken = client.request(method.upper(), path, headers={**auth, "Content-Type": kind},
                                           body=media["example"].encode())
                    assert taken.status_code not in (400, 422), (method, template, kind, taken.json_body)
                    checked.append((method, template, kind))
                    continue
                full = dict(media.get("example", {}))  # a JSON body's; a form's from its fields' own examples
                for name, prop in schema["properties"].items():
                    if prop.get("format") == "binary":
                        full[name] = files.get(name, (f"{name}.png", png_bytes(), "image/png"))
                    elif "example" not in media and prop.get("examples"):
                        full[name] = prop["examples"][0]
                required = list(schema.get("required", []))
                alternatives = [one["required"][0] for one in schema.get("anyOf", [])]

                taken = send(method, path, kind, full)
                assert taken["status"] not in (400, 422), f"{method} {template} {kind}: {taken}"
                for name in required:
                    refused = send(method, path, kind, {k: v for k, v in full.items() if k != name})
                    assert refused["status"] in (400, 422) and _wire_name_in(refused, name), (
                        method, template, kind, name, refused)
                if alternatives:
                    refused = send(method, path, kind, {k: v for k, v in full.items() if k not in alternatives})
                    assert refused["status"] in (400, 422), (method, template, kind, alternatives, refused)
                    assert all(_wire_name_in(refused, name) for name in alternatives), refused
                for name in set(full) - set(required):
                    kept = send(method, path, kind, {k: v for k, v in full.items() if k != name})
                    assert kept["status"] not in (400, 422), (method, template, kind, name, kept)
                for name, prop in schema["properties"].items():  # the documented limits are the enforced ones
                    outside = ([("x" * (prop["maxLength"] + 1))] if "maxLength" in prop else []) + (
                        [prop["minimum"] - 1] if "minimum" in prop else []) + (["bogus"] if "enum" in prop else [])
                    for value in outside:
                        refused = send(method, path, kind, {**full, name: value})
                        assert refused["status"] in (400, 422), (method, template, kind, name, value, refused)
                checked.append((method, template, kind))

    assert len(checked) >= 17, checked  # every route that takes a body, in each content type it takes


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
