"""The production server's dispatcher (shared.web.dispatch) answers every request exactly as the path it replaced,
chalice.local.LocalGateway, did.

The same requests go through three lanes, all on one database and one VIZTUBE_HOME (so one set of secrets and
media files):
* `server`: the real server (`python -m infra.serve`, Granian), i.e. infra.wsgi with the dispatcher;
* `gateway`: infra.wsgi called in this process with its dispatcher swapped for the old path, verbatim: LocalGateway
  (a Lambda event per request) and the shim's reading of the dict it returns (GatewayReference below);
* `inproc`: infra.wsgi called in this process as it is (the dispatcher), to compare header order and case too.
Status, header lines (Set-Cookie lines one by one, CORS, X-Request-Id present, Content-Type, Content-Length...) and
bodies (JSON compared as data, files byte for byte) must match, ignoring only request ids, tokens, timestamps and
the names of what each lane created for itself.
"""

from __future__ import annotations

import gc
import io
import json
import os
import re
import sys
import threading
import time
import uuid
from base64 import b64decode
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.client import HTTPConnection
from types import ModuleType
from typing import Any
from urllib.parse import parse_qs, quote, unquote_to_bytes, urlparse

import pytest
from chalice import BadRequestError
from chalice.app import Request
from chalice.local import LocalGateway, LocalGatewayException, RouteMatcher

from shared.media import serving as media_serving
from shared.web.dispatch import Dispatched, parse_query, split_target
from shared.web.envelope import JSON_CONTENT_TYPE, error_json
from tests.conftest import TEST_HOME, multipart, png_bytes, video_bytes
from tests.e2e.conftest import free_port, running_server

LANES = ("server", "gateway", "inproc")
HOST = "testserver"
# Headers Granian writes itself (the app never sees them): compared nowhere. (`Connection: close` when it answered
# before reading the whole body, the 413.)
SERVER_OWN_HEADERS = {"date", "server", "connection"}


# ----------------------------------------------------------------------------------------- the old request path

class GatewayReference:
    """What infra/wsgi.py did before shared.web.dispatch, moved here unchanged: chalice's LocalGateway (a Lambda
    proxy event built, then parsed back by the app) and the shim's decoding of the dict it answers with."""

    def __init__(self, app: Any, config: Any) -> None:
        local = threading.local()
        self._local = local

        class _Gateway(LocalGateway):
            def _generate_lambda_event(self, *args: Any, **kwargs: Any) -> Any:
                event = super()._generate_lambda_event(*args, **kwargs)
                event["requestContext"]["identity"]["sourceIp"] = getattr(local, "client_ip", "unknown")
                return event

        self._gateway = _Gateway(app, config)

    def dispatch(self, method: str, path: str, headers: dict[str, str], body: bytes | None,
                 client_ip: str) -> Dispatched:
        self._local.client_ip = client_ip
        try:
            response = self._gateway.handle_request(method=method, path=path, headers=headers, body=body)
        except LocalGatewayException as exc:  # deeper than any catch-all route: still a JSON 404
            status = 404 if exc.CODE == 403 else exc.CODE
            text = error_json(status, "Route not found" if status == 404 else "Request refused").encode()
            return Dispatched(status, [("Content-Type", JSON_CONTENT_TYPE), ("Content-Length", str(len(text)))], text)

        out_headers: list[tuple[str, str]] = [(k, str(v)) for k, v in (response.get("headers") or {}).items()]
        for name, values in (response.get("multiValueHeaders") or {}).items():
            out_headers.extend((name, str(v)) for v in values)  # e.g. two Set-Cookie lines
        sendfile = next((v for k, v in out_headers if k == media_serving.SENDFILE_HEADER), None)
        out_headers = [(k, v) for k, v in out_headers if k != media_serving.SENDFILE_HEADER]
        if sendfile:
            file_path, start, file_length = sendfile.rsplit("|", 2)
            return Dispatched(response["statusCode"], out_headers, b"", (file_path, int(start), int(file_length)))

        out = response.get("body")
        if response.get("isBase64Encoded"):
            out = b64decode(out)
        elif out is None:
            out = b""
        elif isinstance(out, str):
            out = out.encode("utf-8")
        out_headers = [(k, v) for k, v in out_headers if k.lower() != "content-length"]
        if not any(k.lower() == "content-type" for k, _ in out_headers):
            out_headers.append(("Content-Type", "application/json"))
        if method != "HEAD":
            out_headers.append(("Content-Length", str(len(out))))
        else:
            length_header = (response.get("headers") or {}).get("Content-Length")
            if length_header:
                out_headers.append(("Content-Length", str(length_header)))
            out = b""
        return Dispatched(response["statusCode"], out_headers, out)


# ------------------------------------------------------------------------------------------------- the lanes

@dataclass
class Req:
    method: str
    target: str  # path and query, as sent on the request line
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes | None = None

    def lines(self) -> list[tuple[str, str]]:
        lines = [("Host", HOST), *self.headers]
        if self.body is not None:
            lines.append(("Content-Length", str(len(self.body))))
        return lines


@dataclass
class Answer:
    status: int
    headers: list[tuple[str, str]]
    body: bytes


def over_http(base: str, req: Req) -> Answer:
    """Exactly these header lines, nothing http.client would add on its own."""
    url = urlparse(base)
    conn = HTTPConnection(url.hostname or "127.0.0.1", url.port, timeout=60)
    try:
        conn.putrequest(req.method, req.target, skip_host=True, skip_accept_encoding=True)
        for name, value in req.lines():
            conn.putheader(name, value)
        try:
            conn.endheaders(req.body)
        except (BrokenPipeError, ConnectionResetError):  # answered (413) before the body was all sent
            pass
        response = conn.getresponse()
        return Answer(response.status, response.getheaders(), response.read())
    finally:
        conn.close()


def in_process(application: Callable[..., Any], req: Req) -> Answer:
    """A WSGI call with the environ Granian builds: the process environment, then the request (PATH_INFO decoded to
    latin-1 text, PEP 3333)."""
    path, _, query = req.target.partition("?")
    environ: dict[str, Any] = {**os.environ, "GATEWAY_INTERFACE": "CGI/1.1", "SCRIPT_NAME": "",
                               "SERVER_SOFTWARE": "Granian", "REQUEST_METHOD": req.method,
                               "PATH_INFO": unquote_to_bytes(path).decode("latin-1"), "QUERY_STRING": query,
                               "SERVER_PROTOCOL": "HTTP/1.1", "REMOTE_ADDR": "127.0.0.1", "wsgi.url_scheme": "http",
                               "wsgi.input": io.BytesIO(req.body or b""), "wsgi.errors": sys.stderr}
    for name, value in req.lines():
        key = name.upper().replace("-", "_")
        environ[key if key in ("CONTENT_TYPE", "CONTENT_LENGTH") else f"HTTP_{key}"] = value
    started: dict[str, Any] = {}

    def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> None:
        started.update(status=int(status.split(" ", 1)[0]), headers=headers)

    chunks = application(environ, start_response)
    try:
        body = b"".join(chunks)
    finally:
        close = getattr(chunks, "close", None)
        if close:
            close()
    return Answer(started["status"], list(started["headers"]), body if req.method != "HEAD" else b"")


@pytest.fixture(scope="module")
def shim() -> Iterator[ModuleType]:
    """infra.wsgi, imported in this process as the server imports it, without its background job worker (the
    server's runs the jobs); the cache off in both processes, so that neither answers from what the other wrote."""
    from shared import jobs
    from shared.settings import reset_settings

    saved_env = dict(os.environ)
    saved_threshold = gc.get_threshold()
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(media_serving, "SENDFILE_ENABLED", media_serving.SENDFILE_ENABLED)  # restored afterwards
        patch.setattr(jobs, "start_worker", lambda: None)
        import infra.wsgi as wsgi
    media_serving.SENDFILE_ENABLED = True  # infra.wsgi's setting (the server streams files from disk)
    os.environ.clear()
    os.environ.update({**saved_env, "CACHE": "off"})  # without what loading the Chalice config added
    reset_settings()
    try:
        yield wsgi
    finally:
        media_serving.SENDFILE_ENABLED = False
        os.environ.clear()
        os.environ.update(saved_env)
        reset_settings()
        gc.unfreeze()
        gc.set_threshold(*saved_threshold)


@pytest.fixture(scope="module")
def parity_server(shim: ModuleType) -> Iterator[str]:
    """The real server on this test session's database and VIZTUBE_HOME."""
    env = {**os.environ, "VIZTUBE_HOME": str(TEST_HOME), "PORT": str(free_port()), "HOST": "127.0.0.1",
           "CACHE": "off", "WEB_CONCURRENCY": "1", "WEB_THREADS": "4", "LOG_LEVEL": "WARNING"}
    with running_server(env, TEST_HOME / "parity-server.log") as base:
        yield base


@pytest.fixture
def lanes(shim: ModuleType, parity_server: str) -> dict[str, Callable[[Req], Answer]]:
    reference = GatewayReference(shim.app, shim._config)
    dispatcher = shim._dispatcher

    def through(dispatch: Any) -> Callable[[Req], Answer]:
        def call(req: Req) -> Answer:
            shim._dispatcher = dispatch
            try:
                return in_process(shim.application, req)
            finally:
                shim._dispatcher = dispatcher
        return call

    return {"server": lambda req: over_http(parity_server, req), "gateway": through(reference),
            "inproc": through(dispatcher)}


# ----------------------------------------------------------------------------------------------- comparing

_MASKS = [
    (re.compile(r"eyJ[\w-]+\.[\w-]+\.[\w-]+"), "<jwt>"),
    (re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"), "<uuid>"),
    (re.compile(r"\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:?\d\d)?"), "<time>"),
    (re.compile(r"(expires=)\d+"), r"\1<n>"),
    (re.compile(r"(signature=)[\w%-]+"), r"\1<sig>"),
    (re.compile(r"par[sgi][0-9a-f]{8}"), "<name>"),  # what a lane created for itself (see `own`)
    (re.compile(r"/[0-9a-f]{32}(\.\w+)"), r"/<file>\1"),  # a stored file's random name
]


def _mask(text: str) -> str:
    for pattern, replacement in _MASKS:
        text = pattern.sub(replacement, text)
    return text


def _mask_data(value: Any) -> Any:
    if isinstance(value, str):
        return _mask(value)
    if isinstance(value, dict):
        return {key: _mask_data(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_mask_data(item) for item in value]
    return value


def _header_value(name: str, value: str) -> str:
    if name.lower() == "x-request-id":
        return "<id>" if re.fullmatch(r"[A-Za-z0-9._-]{8,64}", value) else f"<bad id {value!r}>"
    if name.lower() == "set-cookie":  # the token itself, and when it expires
        cookie, _, attributes = value.partition(";")
        cookie_name, _, token = cookie.partition("=")
        attributes = re.sub(r"(Expires=)[^;]+", r"\1<time>", attributes, flags=re.I)
        return f"{cookie_name}={'<token>' if token else ''};{attributes}"
    if name.lower() == "content-length":
        return value  # compared below, after masking changes the body
    return _mask(value)


def normalized(answer: Answer, exact_names: bool) -> dict[str, Any]:
    """The answer with what may differ masked; `exact_names` False (a lane through Granian): names in lower case, and
    no Content-Length on a 304, which Granian drops whatever the app says."""
    headers = [(name if exact_names else name.lower(), _header_value(name, value)) for name, value in answer.headers
               if name.lower() not in SERVER_OWN_HEADERS
               and (exact_names or answer.status != 304 or name.lower() != "content-length")]
    content_type = next((v for k, v in answer.headers if k.lower() == "content-type"), "")
    body: Any = answer.body
    if "json" in content_type and answer.body:
        body = _mask_data(json.loads(answer.body))
    elif content_type.startswith("text/") or "mpegurl" in content_type:
        body = _mask(answer.body.decode())
    if any(k == "content-length" for k, _ in headers) and body is not answer.body:  # masked: compare the shape
        headers = [(k, "<n>" if k.lower() == "content-length" else v) for k, v in headers]
    return {"status": answer.status, "headers": headers, "body": body}


class Parity:
    """Runs cases through every lane and collects the differences."""

    def __init__(self, lanes: dict[str, Callable[[Req], Answer]]) -> None:
        self.lanes = lanes
        self.failures: list[str] = []
        self.count = 0

    def check(self, label: str, request: Req | Callable[[str], Req]) -> dict[str, Answer]:
        answers = {}
        for lane in LANES:
            req = request(lane) if callable(request) else request
            answers[lane] = self.lanes[lane](req)
        reference = answers["gateway"]
        for lane, exact in (("server", False), ("inproc", True)):
            got, want = normalized(answers[lane], exact), normalized(reference, exact)
            diffs = [f"  {part}: {_short(got[part])} != {_short(want[part])}" for part in want if got[part] != want[part]]
            if diffs:
                self.failures.append(f"{label} [{lane} vs gateway]:\n" + "\n".join(diffs))
        self.count += 1
        return answers

    def assert_none(self) -> None:
        assert not self.failures, f"{len(self.failures)} of {self.count} cases differ:\n" + "\n".join(self.failures)


def _short(value: Any, limit: int = 700) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + f"... ({len(text)} characters)"


def own(lane: str) -> str:
    """A name for something a lane creates for itself (masked when compared)."""
    return f"par{lane[0]}{uuid.uuid4().hex[:8]}"


def _json(value: Any) -> bytes:
    return json.dumps(value).encode()


JSON = [("Content-Type", "application/json")]
ORIGIN = [("Origin", "https://app.example.com")]


# ------------------------------------------------------------------------------------------------ the cases

def test_routing_errors_and_cors_match_the_local_gateway(lanes, make_user, auth):
    parity = Parity(lanes)
    user = make_user(username=f"parity{uuid.uuid4().hex[:8]}")
    bearer = [("Authorization", auth(user)["Authorization"])]
    deep = "/" + "/".join(["x"] * 13)

    for label, req in [
        ("healthcheck", Req("GET", "/api/v2/healthcheck")),
        ("healthcheck, trailing slash", Req("GET", "/api/v2/healthcheck/")),
        ("healthcheck, an allowed Origin", Req("GET", "/api/v2/healthcheck", ORIGIN)),
        ("healthcheck, another Origin", Req("GET", "/api/v2/healthcheck", [("Origin", "https://evil.example")])),
        ("healthcheck, a request id", Req("GET", "/api/v2/healthcheck", [("X-Request-Id", "parity-request-0001")])),
        ("healthcheck, a bad request id", Req("GET", "/api/v2/healthcheck", [("X-Request-Id", "bad id!")])),
        ("healthcheck, HEAD (GET only: 405)", Req("HEAD", "/api/v2/healthcheck")),
        ("OPTIONS preflight", Req("OPTIONS", "/api/v2/user/login",
                                  [*ORIGIN, ("Access-Control-Request-Method", "POST")])),
        ("OPTIONS, another origin", Req("OPTIONS", "/api/v2/videos", [("Origin", "https://evil.example")])),
        ("unknown path: JSON 404", Req("GET", "/api/v2/nope")),
        ("unknown path, HEAD", Req("HEAD", "/api/v2/nope")),
        ("unknown path, POST JSON", Req("POST", "/api/v2/nope", JSON, b"{}")),
        ("unknown path, CORS", Req("GET", "/api/v2/nope/at/all", ORIGIN)),
        ("root", Req("GET", "/")),
        ("deeper than every catch-all", Req("GET", deep)),
        ("double slash (urlparse takes a netloc)", Req("GET", "//api/v2/healthcheck")),
        ("empty segment", Req("GET", "/api//v2/healthcheck")),
        ("%-encoded UTF-8, unknown path", Req("GET", "/api/v2/n%C3%B6pe/%E2%9C%93")),
        ("%-encoded UTF-8 path parameter", Req("GET", "/api/v2/user/c/%C3%A9l%C3%A8ve", bearer)),
        ("%-encoded slash in a parameter", Req("GET", "/api/v2/user/c/a%2Fb", bearer)),
        ("not UTF-8 in a parameter", Req("GET", "/api/v2/user/c/%FF%FE", bearer)),
        ("wrong method: 405 with Allow", Req("PUT", "/api/v2/healthcheck", JSON, b"{}")),
        ("wrong method on a template", Req("PUT", f"/api/v2/videos/{uuid.uuid4()}", JSON, b"{}")),
        ("wrong method, CORS", Req("DELETE", "/api/v2/videos", ORIGIN)),
        ("unknown method", Req("PURGE", "/api/v2/nope")),
        ("415: text/plain", Req("POST", "/api/v2/user/login", [("Content-Type", "text/plain")], b"x")),
        ("415, CORS", Req("POST", "/api/v2/user/login", [*ORIGIN, ("Content-Type", "text/csv")], b"x")),
        ("415: JSON to an upload-only route", Req("PATCH", "/api/v2/user/update-avatar", [*bearer, *JSON], b"{}")),
        ("bad JSON: 400", Req("POST", "/api/v2/user/login", JSON, b'{"username": ')),
        ("JSON with a charset", Req("POST", "/api/v2/user/login", [("Content-Type", "application/json; charset=utf-8")],
                                    _json({"username": user["username"], "password": "wrong"}))),
        ("no Content-Type: taken as JSON", Req("POST", "/api/v2/user/login", [], b"{}")),
        ("form login", Req("POST", "/api/v2/user/login", [("Content-Type", "application/x-www-form-urlencoded")],
                           b"username=nobody&password=x")),
        ("413 before reading", Req("POST", "/api/v2/user/login", JSON, b"{" + b" " * (2 * 1024 * 1024) + b"}")),
        ("401 without a token", Req("GET", "/api/v2/user/current-user-details")),
        ("current user", Req("GET", "/api/v2/user/current-user-details", bearer)),
        ("current user, CORS", Req("GET", "/api/v2/user/current-user-details", [*bearer, *ORIGIN])),
        ("current user by cookie", Req("GET", "/api/v2/user/current-user-details",
                                       [("Cookie", f"accessToken={bearer[0][1][7:]}; other=1")])),
        ("channel profile", Req("GET", f"/api/v2/user/c/{user['username']}", bearer)),
        ("feed with a query", Req("GET", "/api/v2/videos?page=1&limit=5&sortBy=createdAt&sortType=desc")),
        ("blank query values", Req("GET", "/api/v2/videos?page=&limit&query=")),
        ("a repeated query parameter", Req("GET", "/api/v2/videos?page=1&page=2")),
        ("an out-of-range page", Req("GET", "/api/v2/videos?page=0")),
        ("%-encoded UTF-8 query", Req("GET", "/api/v2/videos?query=%C3%A9t%C3%A9+%E2%9C%93")),
        ("a bare ?", Req("GET", "/api/v2/videos?")),
        ("not a UUID", Req("GET", "/api/v2/videos/not-a-uuid")),
        ("an unknown video", Req("GET", f"/api/v2/videos/{uuid.uuid4()}")),
        ("openapi", Req("GET", "/api/v2/openapi.json")),
        ("docs", Req("GET", "/api/v2/docs")),
        ("watch history", Req("GET", "/api/v2/user/watch-history", bearer)),
        ("dashboard", Req("GET", "/api/v2/dashboard/stats", bearer)),
        ("liked videos", Req("GET", "/api/v2/likes/videos", bearer)),
        ("JSON route asked for HTML only", Req("GET", "/api/v2/healthcheck", [("Accept", "text/html")])),
    ]:
        parity.check(label, req)
    parity.assert_none()


def test_accounts_cookies_and_uploads_match_the_local_gateway(lanes, make_user, auth, sign_in):
    parity = Parity(lanes)
    users = {lane: make_user(username=own(lane)) for lane in LANES}
    bearer = {lane: [("Authorization", auth(users[lane])["Authorization"])] for lane in LANES}
    refresh = {lane: sign_in(users[lane])["X-Refresh-Token"] for lane in LANES}

    def register(lane: str) -> Req:
        name = own(lane)
        body, headers = multipart({"fullname": "Parity User", "username": name, "email": f"{name}@example.com",
                                   "password": "Passw0rdX"}, {"avatar": ("me.png", png_bytes(3, 3), "image/png"),
                                                              "coverImage": ("c.png", png_bytes(), "image/png")})
        return Req("POST", "/api/v2/user/register", list(headers.items()), body)

    def register_json(lane: str) -> Req:
        name = own(lane)
        return Req("POST", "/api/v2/user/register", JSON, _json({"fullname": "J", "username": name,
                                                               "email": f"{name}@example.com", "password": "Passw0rdX"}))

    def login(lane: str, form: bool = False) -> Req:
        if form:
            return Req("POST", "/api/v2/user/login", [("Content-Type", "application/x-www-form-urlencoded")],
                       f"username={users[lane]['username']}&password=Secret123".encode())
        return Req("POST", "/api/v2/user/login", [*JSON, *ORIGIN],
                   _json({"username": users[lane]["username"], "password": "Secret123"}))

    def upload(lane: str, field_name: str, route: str) -> Req:
        body, headers = multipart(files={field_name: ("x.png", png_bytes(4, 4), "image/png")})
        return Req("PATCH", route, [*bearer[lane], *headers.items()], body)

    parity.check("register (multipart, two files)", register)
    parity.check("register (JSON, no avatar)", register_json)
    parity.check("register, a field missing", Req("POST", "/api/v2/user/register", JSON, _json({"username": "x"})))
    parity.check("login: two Set-Cookie lines, CORS", login)
    parity.check("login by form", lambda lane: login(lane, form=True))
    parity.check("update account (JSON)", lambda lane: Req("PATCH", "/api/v2/user/update-account",
                                                           [*bearer[lane], *JSON], _json({"fullname": "Renamed"})))
    parity.check("update account (form)", lambda lane: Req(
        "PATCH", "/api/v2/user/update-account",
        [*bearer[lane], ("Content-Type", "application/x-www-form-urlencoded")], b"fullname=Form+Name"))
    parity.check("update avatar (multipart)", lambda lane: upload(lane, "avatar", "/api/v2/user/update-avatar"))
    parity.check("update cover (multipart)", lambda lane: upload(lane, "coverImage", "/api/v2/user/update-cover-image"))
    parity.check("multipart with the wrong field", lambda lane: upload(lane, "nope", "/api/v2/user/update-avatar"))
    parity.check("multipart without a boundary", lambda lane: Req(
        "PATCH", "/api/v2/user/update-avatar", [*bearer[lane], ("Content-Type", "multipart/form-data")], b"x"))
    parity.check("refresh by body", lambda lane: Req("POST", "/api/v2/user/refresh-token", JSON,
                                                     _json({"refreshToken": refresh[lane]})))
    parity.check("refresh replayed", lambda lane: Req("POST", "/api/v2/user/refresh-token", JSON,
                                                      _json({"refreshToken": refresh[lane]})))
    parity.check("tweet", lambda lane: Req("POST", "/api/v2/tweets", [*bearer[lane], *JSON],
                                           _json({"content": f"hello from {own(lane)}"})))
    parity.check("playlist", lambda lane: Req("POST", "/api/v2/playlist", [*bearer[lane], *JSON],
                                              _json({"name": own(lane), "description": "d"})))

    def sign_upload(lane: str) -> Req:
        return Req("POST", "/api/v2/uploads", [*bearer[lane], *JSON],
                   _json({"kind": "thumbnail", "contentType": "image/png", "size": len(png_bytes(5, 5))}))

    signed = parity.check("sign a direct upload", sign_upload)

    def put_upload(lane: str) -> Req:
        url = urlparse(json.loads(signed[lane].body)["data"]["url"])
        return Req("PUT", f"{url.path}?{url.query}", [("Content-Type", "image/png")], png_bytes(5, 5))

    parity.check("raw upload (PUT, the file as the body)", put_upload)
    parity.check("raw upload, bad signature", lambda lane: Req(
        "PUT", f"/api/v2/uploads/{uuid.uuid4()}?expires=1&signature=x", [("Content-Type", "image/png")], b"x"))
    parity.check("logout: cookies cleared", lambda lane: Req("POST", "/api/v2/user/logout", bearer[lane]))
    parity.check("after logout", lambda lane: Req("GET", "/api/v2/user/current-user-details", bearer[lane]))
    parity.assert_none()


@pytest.fixture
def published_video(parity_server: str, make_user: Any, auth: Any) -> dict[str, Any]:
    """A real video published through the server, processed by its job worker (HLS included)."""
    owner = make_user(username=f"parvid{uuid.uuid4().hex[:8]}")
    headers = auth(owner)
    body, form = multipart({"title": "parity clip", "description": "d"},
                           {"videoFile": ("clip.mp4", video_bytes("mp4", seconds=2, size="160x120"), "video/mp4"),
                            "thumbnail": ("t.png", png_bytes(6, 6, extra=3000), "image/png")})
    answer = over_http(parity_server, Req("POST", "/api/v2/videos", [*headers.items(), *form.items()], body))
    assert answer.status == 200, answer.body
    video = json.loads(answer.body)["data"]["video"]
    deadline = time.monotonic() + 90
    while video["processingStatus"] == "PROCESSING" and time.monotonic() < deadline:
        time.sleep(0.5)
        reply = over_http(parity_server, Req("GET", f"/api/v2/videos/{video['id']}", list(headers.items())))
        video = json.loads(reply.body)["data"]
    assert video["processingStatus"] == "COMPLETED", video
    return {"video": video, "owner": owner, "headers": list(headers.items())}


def test_media_ranges_and_head_match_the_local_gateway(lanes, published_video, make_user, auth):
    parity = Parity(lanes)
    video = published_video["video"]
    bearer = published_video["headers"]
    viewers = {lane: [("Authorization", auth(make_user(username=own(lane)))["Authorization"])] for lane in LANES}
    file_path = urlparse(video["videoFileUrl"]).path
    thumb_path = urlparse(video["thumbnailUrl"]).path
    size = (TEST_HOME / "media" / file_path.split("/api/v2/media/", 1)[1]).stat().st_size
    etag = next(v for k, v in lanes["gateway"](Req("HEAD", file_path)).headers if k == "ETag")

    cases = [
        ("video file", Req("GET", file_path, [("Accept", "*/*")])),
        ("video file, no Accept (taken as */*)", Req("GET", file_path)),
        ("video file, Accept names its type", Req("GET", file_path, [("Accept", "video/mp4")])),
        ("video file, Accept JSON only: 400", Req("GET", file_path, [("Accept", "application/json")])),
        ("video file, CORS", Req("GET", file_path, [*ORIGIN, ("Accept", "*/*")])),
        ("range: 206", Req("GET", file_path, [("Range", "bytes=100-1099")])),
        ("suffix range", Req("GET", file_path, [("Range", "bytes=-500")])),
        ("open range", Req("GET", file_path, [("Range", f"bytes={size - 10}-")])),
        ("range past the end: 416", Req("GET", file_path, [("Range", f"bytes={size + 10}-")])),
        ("multi-range: whole file", Req("GET", file_path, [("Range", "bytes=0-1,5-6")])),
        ("If-Range mismatch: whole file", Req("GET", file_path, [("Range", "bytes=0-9"), ("If-Range", '"x"')])),
        ("If-None-Match: 304", Req("GET", file_path, [("If-None-Match", etag)])),
        ("HEAD", Req("HEAD", file_path)),
        ("HEAD with a range", Req("HEAD", file_path, [("Range", "bytes=0-99")])),
        ("POST to media: 405", Req("POST", file_path, JSON, b"{}")),
        ("thumbnail (PNG)", Req("GET", thumb_path)),
        ("unknown media file", Req("GET", "/api/v2/media/videos/nope.mp4")),
        ("media folder not served", Req("GET", "/api/v2/media/secrets/x.txt")),
        ("video detail", Req("GET", f"/api/v2/videos/{video['id']}", bearer)),
        ("feed", Req("GET", "/api/v2/videos?limit=5")),
        ("comments page", Req("GET", f"/api/v2/comments/{video['id']}?page=1&limit=10")),
        ("channel videos", Req("GET", "/api/v2/dashboard/videos", bearer)),
    ]
    if video.get("posterUrl"):
        cases.append(("HLS poster", Req("GET", urlparse(video["posterUrl"]).path)))
    if video.get("hlsUrl"):
        master = urlparse(video["hlsUrl"]).path
        cases.append(("HLS master playlist", Req("GET", master)))
        playlist = lanes["gateway"](Req("GET", master)).body.decode()
        rendition = next(line for line in playlist.splitlines() if line and not line.startswith("#"))
        rendition_path = master.rsplit("/", 1)[0] + "/" + rendition.split("?")[0]
        cases.append(("HLS rendition playlist", Req("GET", rendition_path)))
        segments = lanes["gateway"](Req("GET", rendition_path)).body.decode()
        segment = next(line for line in segments.splitlines() if line and not line.startswith("#"))
        cases.append(("HLS segment (video/mp2t)", Req("GET", rendition_path.rsplit("/", 1)[0] + "/" + segment)))
    for label, req in cases:
        parity.check(label, req)
    parity.check("comment", lambda lane: Req("POST", f"/api/v2/comments/{video['id']}", [*bearer, *JSON],
                                             _json({"content": f"nice {own(lane)}"})))
    parity.check("comments page, 3 comments", Req("GET", f"/api/v2/comments/{video['id']}"))
    parity.check("like toggle", lambda lane: Req("POST", f"/api/v2/likes/toggle/v/{video['id']}", viewers[lane]))
    parity.check("like toggled back", lambda lane: Req("POST", f"/api/v2/likes/toggle/v/{video['id']}", viewers[lane]))
    parity.check("%-encoded title search", Req("GET", f"/api/v2/videos?query={quote('parity clip')}"))
    parity.assert_none()


def test_the_media_bodies_are_the_files_bytes(lanes, published_video):
    """Beyond lane agreement: the bytes really are the file's, whole and ranged (the server streams them)."""
    file_path = urlparse(published_video["video"]["videoFileUrl"]).path
    data = (TEST_HOME / "media" / file_path.split("/api/v2/media/", 1)[1]).read_bytes()
    for lane in LANES:
        whole = lanes[lane](Req("GET", file_path))
        part = lanes[lane](Req("GET", file_path, [("Range", "bytes=1000-4999")]))
        assert (whole.status, whole.body) == (200, data), lane
        assert (part.status, part.body) == (206, data[1000:5000]), lane



# ------------------------------------------------------------------------------- what the handlers are given

def test_the_route_table_matches_as_chalices_route_matcher(shim):
    """Every template, its literal spelling, and 100,000 paths made of the routes' own segments and odd ones."""
    import random

    routes = shim.app.routes
    matcher = RouteMatcher(list(routes))
    table = shim._dispatcher.routes
    segments = sorted({s for t in routes for s in t.split("/")} | {"", "x", "%C3%A9", "~x", "a-b", "{p1}", "%2F"})
    rng = random.Random(12)
    paths = {"/", "//", "/api/v2/healthcheck/", "/api/v2/healthcheck//", *routes,
             *(t.replace("{", "").replace("}", "") for t in routes)}
    while len(paths) < 100_000:
        head = rng.choice(list(routes)).split("/")[:rng.randint(1, 6)]
        tail = [rng.choice(segments) for _ in range(rng.randint(0, 9))]
        paths.add("/".join(head + tail) or "/")
    paths |= {"/a;b/c", "/a/b;c", "/a/b;c?d=1", "/api/v2/healthcheck#x", "/api/v2/he\talthcheck", "//x/api/v2/healthcheck",
              "/api/v2/videos?a=b#c?d", "/api/v2/user/c/x;y"}
    for path in paths:
        route_path, query, concrete = split_target(path)
        assert (route_path, query) == (urlparse(path).path, urlparse(path).query), path
        assert concrete == path.split("?")[0], path
        try:
            found = matcher.match_route(path)
        except ValueError:
            assert table.match(route_path) is None, path
            continue
        got = table.match(route_path)
        assert got is not None and got.resource_path == found.route, path
        names = [s[1:-1] for s in found.route.split("/") if s.startswith("{") and s.endswith("}")]
        # RouteMatcher's dict keeps what earlier templates captured before failing; the template's own agree.
        assert got.captured == {name: found.captured[name] for name in names}, path


def test_queries_parse_as_the_gateway_parses_them():
    import random

    rng = random.Random(7)
    pieces = ["a", "b", "page", "", "=", "&", "&&", "x=1", "%20", "+", "%C3%A9", "%zz", ";", "é", "==", "?", "#"]
    queries = {"".join(rng.choice(pieces) for _ in range(rng.randint(1, 8))) for _ in range(20_000)}
    for query in queries | {"page=1&limit=10", "a&a=&a=2", "=x", "&", "a=b=c"}:
        assert parse_query(query) == parse_qs(query, keep_blank_values=True), query


def _snapshot(request: Any) -> dict[str, Any]:
    """Everything a handler can read from current_request."""
    try:
        json_body = request.json_body
    except BadRequestError as exc:
        json_body = f"BadRequestError: {exc}"
    params = request.query_params
    return {"type": isinstance(request, Request), "method": request.method,
            "path": request.path, "headers": dict(request.headers), "context": request.context,
            "query_params": None if params is None else {k: params.getlist(k) for k in params},
            "uri_params": request.uri_params, "stage_vars": request.stage_vars, "raw_body": request.raw_body,
            "json_body": json_body, "to_dict": request.to_dict(), "event": request.to_original_event()}


def test_handlers_see_the_same_current_request(shim, lanes, make_user, auth):
    """Through the gateway and through the dispatcher, the request a handler reads is the same (after the same
    middleware), but for the path parameters RouteMatcher leaks from templates it tried first (see the route
    table test), which appear in no handler's arguments."""
    user = make_user(username=f"parity{uuid.uuid4().hex[:8]}")
    bearer = [("Authorization", auth(user)["Authorization"])]
    body, form = multipart({"fullname": "F"}, {"avatar": ("a.png", png_bytes(), "image/png")})
    requests = [
        Req("GET", "/api/v2/videos?page=1&limit=5&query=%C3%A9t%C3%A9&query=x&blank=&bare", bearer),
        Req("GET", "/api/v2/videos/"),
        Req("GET", f"/api/v2/videos/{uuid.uuid4()}", [*bearer, ("Accept", "application/json"), ("X-Custom", "1")]),
        Req("GET", "/api/v2/videos/x/y/z"),
        Req("GET", "/api/v2/user/c/%C3%A9l%C3%A8ve%20x"),
        Req("GET", "//api/v2/healthcheck?a=1"),
        Req("GET", "/"),
        Req("POST", "/api/v2/user/login", [("Content-Type", "application/json; charset=utf-8")], b'{"username": "u"}'),
        Req("POST", "/api/v2/user/login", JSON, b'{"username": '),
        Req("POST", "/api/v2/user/login", [("Content-Type", "application/x-www-form-urlencoded")], b"a=1&b=2"),
        Req("PATCH", "/api/v2/user/update-account", [*bearer, *form.items()], body),
        Req("POST", "/api/v2/webhooks/cloudinary", [("Content-Type", "application/octet-stream")], b"\x00\xffbinary"),
        Req("PUT", "/api/v2/healthcheck", JSON, b"{}"),
        Req("DELETE", "/api/v2/nope", ORIGIN),
    ]
    for req in requests:
        seen = {}
        for lane in ("gateway", "inproc"):
            lanes[lane](req)
            seen[lane] = _snapshot(shim.app.current_request)
        want, got = seen["gateway"], seen["inproc"]
        own_names = {s[1:-1] for s in want["path"].split("/") if s.startswith("{")}
        for snapshot in (want, want["to_dict"], want["event"]):
            key = "pathParameters" if snapshot is want["event"] else "uri_params"
            snapshot[key] = {k: v for k, v in snapshot[key].items() if k in own_names}
        assert got == want, req


def test_targets_no_server_sends_are_answered_as_the_gateway_did(shim):
    """Targets request_path never produces from Granian's PATH_INFO (it %-encodes `[`, `;`, `#`...), but another server
    could pass on raw (RAW_URI): the dispatcher still answers them as the gateway did."""
    reference = GatewayReference(shim.app, shim._config)
    for target in ["//[x/y", "//x]/y?a=1", "/a;b/c", "/api/v2/user/c/x;y", "/api/v2/healthcheck#frag",
                   "/api/v2/videos?a=b#c?d", "/api/v2/health\tcheck", "//host", "//host/", "/api/v2/videos?%zz=%C3"]:
        for method in ("GET", "HEAD", "OPTIONS", "PATCH"):
            got = shim._dispatcher.dispatch(method, target, {"host": HOST}, None, "127.0.0.1")
            want = reference.dispatch(method, target, {"host": HOST}, None, "127.0.0.1")
            assert normalized(Answer(got.status, got.headers, got.body), True) == \
                normalized(Answer(want.status, want.headers, want.body), True), (method, target)
