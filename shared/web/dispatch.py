"""The HTTP edge's dispatcher: a request straight to its Chalice view function, for the production server.

`chalice local`, the test client and Lambda reach the handlers through a Lambda proxy event: the local gateway
matches the route, builds the event, `app(event, context)` parses it back into a Request, runs the middleware and
the view, turns the Response into an event dict (binary bodies base64-encoded) that the WSGI shim decodes again.
This module does the same work without the event, for infra/wsgi.py:

* the route table is compiled once from `app.routes` and matches as chalice.local.RouteMatcher does: the
  templates in sorted order, the first of the path's segment count that fits wins (so literal segments come
  before `{param}` ones), one trailing slash ignored, path parameters left %-encoded (aws/chalice#511);
* `current_request` is a chalice.app.Request with the same attributes the event would have given it (headers,
  query_params, uri_params, method, path = the route template, context with identity.sourceIp and the concrete
  path, raw_body, json_body, stage_vars), set as the app's (thread-local, under the shim) current request;
* the app's http middleware, the view and Chalice's error mapping run as in RestAPIEventHandler: 405 with Allow
  for a known path and another method, 415 against the route's content_types, a ChaliceViewError as its
  {"Code", "Message"} JSON, ChaliceUnhandledError up to the middleware, anything else Chalice's 500, a binary
  response refused (400) unless Accept names a binary type (app.api.binary_types);
* the answer is (status, headers with one line per Set-Cookie, body bytes) as the shim sent them: no base64
  round trip; a file the handler asked the server to stream (shared.media.serving's sendfile header) is handed
  back as (path, start, length).

Routes, middleware and binary types are read once, when the Dispatcher is built (the app is fully wired by
then); routes with an authorizer are refused there, since the local gateway's authorizer emulation is not here.
"""

from __future__ import annotations

import json
import logging
import re
import traceback
from base64 import b64encode
from collections.abc import Callable, Iterable
from typing import Any, NamedTuple, cast
from urllib.parse import parse_qs, urlparse

from chalice.app import (
    CaseInsensitiveMapping,
    Chalice,
    ChaliceError,
    ChaliceUnhandledError,
    ChaliceViewError,
    MiddlewareHandler,
    MultiDict,
    Request,
    Response,
    RouteEntry,
    error_response,
    handle_extra_types,
)

from shared.media.serving import SENDFILE_HEADER
from shared.web.envelope import JSON_CONTENT_TYPE, error_json

# urlparse (which the local gateway applies to the path) treats these specially: a leading `//` starts a netloc,
# `;` starts path parameters, `#` a fragment, and tabs and line breaks are dropped. A path with none of them is
# split on its first `?` instead, with the same result.
_URLPARSE_NEEDED = re.compile(r"^//|[;#\t\r\n]")
_PARTS = re.compile("[,;]")  # how Chalice splits a Content-Type or Accept header into media types
_NO_ROUTE_BODY = error_json(404, "Route not found").encode()


def split_target(target: str) -> tuple[str, str, str]:
    """(the path routes are matched on, the query, requestContext's path) of a request target, as the local gateway
    takes them: urlparse's path and query, and the target up to its first `?`."""
    if _URLPARSE_NEEDED.search(target):
        parsed = urlparse(target)
        return parsed.path, parsed.query, target.split("?")[0]
    path, _, query = target.partition("?")
    return path, query, path


def parse_query(query: str) -> dict[str, list[str]]:
    """parse_qs(query, keep_blank_values=True), as the local gateway parses it; without its unquoting when there is
    nothing to unquote (no `%`, no `+`), which gives the same dict."""
    if "%" in query or "+" in query:
        return parse_qs(query, keep_blank_values=True)
    parsed: dict[str, list[str]] = {}
    for pair in query.split("&"):
        if pair:
            name, _, value = pair.partition("=")
            if name in parsed:
                parsed[name].append(value)
            else:
                parsed[name] = [value]
    return parsed


class Dispatched(NamedTuple):
    """What the shim sends: status, header lines, body; `sendfile` (path, start, length) when it streams a file
    instead (the body is then empty)."""

    status: int
    headers: list[tuple[str, str]]
    body: bytes
    sendfile: tuple[str, int, int] | None = None


class _Match(NamedTuple):
    methods: dict[str, RouteEntry]  # the template's views by method
    captured: dict[str, str]  # its path parameters, as they appear in the path
    resource_path: str  # the template


class DispatchRequest(Request):
    """A chalice.app.Request filled from the parts the shim and the route table already have, not from an event
    dict: the same public attributes, the same raw_body / json_body behaviour (inherited)."""

    def __init__(self, method: str, resource_path: str, concrete_path: str, headers: CaseInsensitiveMapping,
                 query: dict[str, list[str]] | None, uri_params: dict[str, str], body: bytes | None,
                 source_ip: str, match: _Match, binary_types: frozenset[str]) -> None:
        # The attributes of Request.__init__, in its order (to_dict() lists them so).
        self.query_params = None if query is None else MultiDict(query)
        self.headers = headers
        self.uri_params = uri_params
        self.method = method
        self._is_base64_encoded = False  # the body is kept as bytes; the event would carry binary ones in base64
        self._body = body
        self._json_body = None
        self._raw_body = b""
        self.context = {"httpMethod": method, "resourcePath": resource_path, "identity": {"sourceIp": source_ip},
                        "path": concrete_path}
        self.stage_vars = {}
        self.path = resource_path
        self.lambda_context = None  # no Lambda here (nothing in the app reads it)
        self._event_dict = {}  # built by to_original_event, if anything asks
        self._dispatch_headers = headers  # as they came (the middleware may replace self.headers)
        self._dispatch_match = match
        self._dispatch_binary_types = binary_types

    def to_original_event(self) -> dict[str, Any]:
        """The proxy event the local gateway would have built, made on demand."""
        if not self._event_dict:
            query = self.query_params
            event: dict[str, Any] = {
                "requestContext": self.context,
                "headers": dict(self._dispatch_headers),
                "pathParameters": self.uri_params,
                "stageVariables": self.stage_vars,
                "multiValueQueryStringParameters": None if query is None else
                {name: query.getlist(name) for name in query},
            }
            binary = self._dispatch_headers.get("content-type", "") in self._dispatch_binary_types
            if binary and self._body is not None:
                event["body"] = b64encode(self._body).decode("ascii")
                event["isBase64Encoded"] = True
            else:
                event["body"] = self._body
            self._event_dict = event
        return self._event_dict


class RouteTable:
    """app.routes compiled for matching: a dict for paths that are a literal template, and per segment count one
    regular expression whose alternatives are the templates in sorted order (an alternation takes the first
    alternative that matches, which is RouteMatcher's rule)."""

    def __init__(self, routes: dict[str, dict[str, RouteEntry]]) -> None:
        self._routes = routes
        groups: dict[int, list[str]] = {}
        for template in sorted(routes):  # RouteMatcher's order
            groups.setdefault(template.count("/") + 1, []).append(template)
        self._patterns: dict[int, tuple[re.Pattern[str], dict[int, tuple[str, list[str]]]]] = {}
        for count, templates in groups.items():
            alternatives = []
            by_group: dict[int, tuple[str, list[str]]] = {}
            group = 1
            for template in templates:
                names: list[str] = []
                segments = []
                for segment in template.split("/"):
                    if segment.startswith("{") and segment.endswith("}"):
                        names.append(segment[1:-1])
                        segments.append("([^/]*)")
                    else:
                        segments.append(re.escape(segment))
                alternatives.append("(" + "/".join(segments) + ")")
                by_group[group] = (template, names)
                group += 1 + len(names)
            self._patterns[count] = (re.compile("|".join(alternatives)), by_group)
        # A path that is a literal template, when no template sorted before it claims that path (none does today).
        self._literal: dict[str, _Match] = {}
        for template in routes:
            if "{" not in template:
                match = self._match_pattern(template)
                if match is not None and match.resource_path == template:
                    self._literal[template] = match

    def _match_pattern(self, path: str) -> _Match | None:
        compiled = self._patterns.get(path.count("/") + 1)
        if compiled is None:
            return None
        pattern, by_group = compiled
        found = pattern.fullmatch(path)
        if found is None:
            return None
        index = found.lastindex or 0  # the alternative's own group closes last
        template, names = by_group[index]
        captured = dict(zip(names, found.groups()[index:index + len(names)], strict=True))
        return _Match(self._routes[template], captured, template)

    def match(self, path: str) -> _Match | None:
        """The route for a path (without its query), as RouteMatcher.match_route finds it; None if none fits."""
        if path != "/" and path.endswith("/"):  # API Gateway ignores one trailing slash, and so does the matcher
            path = path[:-1]
        literal = self._literal.get(path)
        if literal is not None:
            return _Match(literal.methods, {}, literal.resource_path)
        return self._match_pattern(path)


def _media_types(header: str) -> list[str]:
    return [part.strip() for part in _PARTS.split(header.lower())]


class _TypeSet:
    """chalice.app._matches_content_type against a fixed list of types, with the list lower-cased once and the answers
    for the (few) header values seen remembered."""

    MEMORY = 256  # header values remembered; past that, computed each time (clients choose what they send)

    def __init__(self, types: Iterable[str]) -> None:
        self.types = frozenset(t.lower() for t in types)
        self.anything = "*/*" in self.types
        self._seen: dict[str, bool] = {}

    def matches(self, header: str) -> bool:
        known = self._seen.get(header)
        if known is not None:
            return known
        found = self.anything or "*/*" in header.lower() or any(part in self.types for part in _media_types(header))
        if len(self._seen) < self.MEMORY:
            self._seen[header] = found
        return found


_JSON_TYPES = _TypeSet(["application/json"])


def _cors_headers(entry: RouteEntry) -> dict[str, Any] | None:
    return None if entry.cors is None else entry.cors.get_access_control_headers()


class Dispatcher:
    """Runs requests through a Chalice app's routes, middleware and views, as API Gateway + Lambda would and the
    local gateway does, minus the event. Build it once the app is fully wired; it holds no per-request state (the
    request is the app's current_request)."""

    def __init__(self, app: Chalice) -> None:
        for template, methods in app.routes.items():
            for method, entry in methods.items():
                if entry.authorizer is not None:
                    raise ValueError(f"{method} {template} has an authorizer: the dispatcher does not run "
                                     "authorizers (chalice local emulates them); serve this app another way")
        self._app = app
        self._log: logging.Logger = app.log
        self.routes = RouteTable(app.routes)
        self._binary = _TypeSet(app.api.binary_types)
        self._binary_listed = frozenset(app.api.binary_types)  # as the event converter compares a request's type
        self._content_types = {id(entry): _TypeSet(entry.content_types)
                               for methods in app.routes.values() for entry in methods.values()}
        # RestAPIEventHandler's chain: its global error handler, then the app's http middleware, then the view.
        handler: Callable[[Request], Response] = self._view
        for middleware in reversed([self._global_error_handler, *app._get_middleware_handlers("http")]):
            handler = MiddlewareHandler(handler=middleware, next_handler=handler)
        self._handler = handler

    # ---------------------------------------------------------------------------------------------- the request

    def dispatch(self, method: str, path: str, headers: dict[str, str], body: bytes | None,
                 client_ip: str) -> Dispatched:
        """One request. `path`: %-encoded, with its query (as the shim's request_path gives it); `headers`: the
        request's, names in any case; `body`: None when there is none (or the shim staged it to disk)."""
        try:
            route_path, query_string, concrete_path = split_target(path)
        except ValueError:  # urlparse refuses the netloc of a `//` path (e.g. a lone `[`): the gateway found no route
            route_path, query_string, concrete_path = "", "", ""
        match = self.routes.match(route_path) if route_path else None
        if match is None:  # deeper than any catch-all route; the shim answered the gateway's 403 so
            return Dispatched(404, [("Content-Type", JSON_CONTENT_TYPE), ("Content-Length", str(len(_NO_ROUTE_BODY)))],
                              _NO_ROUTE_BODY)
        if method == "OPTIONS" and "OPTIONS" not in match.methods:  # the gateway's own answer, without a body
            return self._lines(method, 200, self._options_headers(match.methods), {}, b"")
        query = parse_query(query_string) if query_string else None
        request = DispatchRequest(method, match.resource_path, concrete_path, CaseInsensitiveMapping(headers),
                                  query or None, match.captured, body, client_ip, match, self._binary_listed)
        self._app.current_request = request
        return self._finish(method, self._handler(request))

    def _view(self, _request: Request) -> Response:
        """RestAPIEventHandler._main_rest_api_handler. Like it, this reads the request the dispatcher made (the
        app's current_request), whatever the middleware passes on."""
        request = cast(DispatchRequest, self._app.current_request)
        match = request._dispatch_match
        method = request.context["httpMethod"]
        entry = match.methods.get(method)
        if entry is None:
            return error_response(error_code="MethodNotAllowedError", message=f"Unsupported method: {method}",
                                  http_status_code=405, headers={"Allow": ", ".join(match.methods)})
        arguments = {name: match.captured[name] for name in entry.view_args}
        cors_headers = _cors_headers(entry)  # taken before the checks, so that their errors carry them too
        if entry.content_types:
            content_type = request.headers.get("content-type", "application/json")
            if not self._content_types[id(entry)].matches(content_type):
                return error_response(error_code="UnsupportedMediaType",
                                      message=f"Unsupported media type: {content_type}",
                                      http_status_code=415, headers=cors_headers)
        response = self._call_view(entry.view_function, arguments)
        if cors_headers is not None:
            for name, value in cors_headers.items():
                if name not in response.headers:
                    response.headers[name] = value
        content_type = _header(response.headers, "content-type", None)
        if self._binary.matches("application/json" if content_type is None else content_type):
            accept = request.headers.get("accept")
            if accept is None or not self._binary.matches(accept):
                content_type = "" if content_type is None else content_type
                return error_response(
                    error_code="BadRequest",
                    message=(f"Request did not specify an Accept header with {content_type}, The response has a "
                             f"Content-Type of {content_type}. If a response has a binary Content-Type then the "
                             "request must specify an Accept header that matches."),
                    http_status_code=400, headers=cors_headers)
        return response

    def _call_view(self, view_function: Callable[..., Any], arguments: dict[str, str]) -> Response:
        """RestAPIEventHandler._get_view_function_response."""
        try:
            response = view_function(**arguments)
            if not isinstance(response, Response):
                response = Response(body=response)
            for header, value in response.headers.items():
                if "\n" in value:
                    raise ChaliceError(f"Bad value for header '{header}': {value!r}")
        except ChaliceUnhandledError:
            raise  # the middleware maps it
        except ChaliceViewError as exc:
            response = Response(body={"Code": exc.__class__.__name__, "Message": str(exc)},
                                status_code=exc.STATUS_CODE)
        except Exception:
            response = self._unhandled_exception_to_response()
        return response

    def _global_error_handler(self, request: Request, get_response: Callable[[Request], Response]) -> Response:
        try:
            return get_response(request)
        except Exception:
            return self._unhandled_exception_to_response()

    def _unhandled_exception_to_response(self) -> Response:
        """RestAPIEventHandler._unhandled_exception_to_response: called while the exception is handled."""
        path = getattr(self._app.current_request, "path", "unknown")
        self._log.error("Caught exception for path %s", path, exc_info=True)
        if self._app.debug:
            return Response(body="".join(traceback.format_exc()), headers={"Content-Type": "text/plain"},
                            status_code=500)
        return Response(body={"Code": "InternalServerError", "Message": "An internal server error occurred."},
                        headers={}, status_code=500)

    @staticmethod
    def _options_headers(methods: dict[str, RouteEntry]) -> dict[str, Any]:
        """LocalGateway._autogen_options_headers (the shim answers OPTIONS itself, so this is for completeness)."""
        with_cors = [method for method, entry in methods.items() if entry.cors is not None]
        if not with_cors:
            return {"Access-Control-Allow-Methods": "OPTIONS"}
        headers: dict[str, Any] = methods[with_cors[0]].cors.get_access_control_headers()
        headers["Access-Control-Allow-Methods"] = ",".join([*with_cors, "OPTIONS"])
        return headers

    # --------------------------------------------------------------------------------------------- the response

    def _finish(self, method: str, response: Response) -> Dispatched:
        """Response.to_dict(binary_types), then the shim's reading of that dict, in one step."""
        body = response.body
        if not isinstance(body, (str, bytes)):
            body = json.dumps(body, separators=(",", ":"), default=handle_extra_types)
        single: dict[str, Any] = {}
        multi: dict[str, list[Any]] = {}
        for name, value in response.headers.items():
            if isinstance(value, list):
                multi[name] = value
            else:
                single[name] = value
        if isinstance(body, str):
            content_type = _header(single, "content-type", "")
            if content_type and self._binary.matches(content_type) and not _JSON_TYPES.matches(content_type):
                # to_dict base64-encodes a binary response, and refuses to when its body is text
                raise ValueError(f"Expected bytes type for body with binary Content-Type. Got {type(body)} type body "
                                 "instead.")
            body = body.encode("utf-8")
        return self._lines(method, response.status_code, single, multi, body)

    @staticmethod
    def _lines(method: str, status: int, single: dict[str, Any], multi: dict[str, list[Any]],
               body: bytes) -> Dispatched:
        """What the shim made of the gateway's {statusCode, headers, multiValueHeaders, body} dict: one line per
        value (single-valued headers first), the first sendfile header taken out of them; then, unless a file is
        streamed, Content-Length set from the body (HEAD: kept from the handler's), Content-Type defaulted."""
        pairs = [(name, str(value)) for name, value in single.items()]
        for name, values in multi.items():
            pairs.extend((name, str(value)) for value in values)  # e.g. two Set-Cookie lines
        sendfile: str | None = None
        lines: list[tuple[str, str]] = []  # all but the sendfile header
        body_lines: list[tuple[str, str]] = []  # and without Content-Length
        typed = False
        for name, value in pairs:
            if name == SENDFILE_HEADER:
                sendfile = value if sendfile is None else sendfile
                continue
            lines.append((name, value))
            lowered = name.lower()
            if lowered != "content-length":
                body_lines.append((name, value))
                typed = typed or lowered == "content-type"
        if sendfile:
            file_path, start, length = sendfile.rsplit("|", 2)
            return Dispatched(status, lines, b"", (file_path, int(start), int(length)))
        if not typed:
            body_lines.append(("Content-Type", "application/json"))
        if method != "HEAD":
            body_lines.append(("Content-Length", str(len(body))))
        else:
            declared = single.get("Content-Length")
            if declared:
                body_lines.append(("Content-Length", str(declared)))
            body = b""
        return Dispatched(status, body_lines, body)


def _header(headers: dict[str, Any], lowered_name: str, default: Any) -> Any:
    """CaseInsensitiveMapping(headers).get(lowered_name, default), without building the mapping."""
    value = default
    for name, header_value in headers.items():
        if name.lower() == lowered_name:
            value = header_value  # the last one, as the mapping keeps it
    return value


__all__ = ["DispatchRequest", "Dispatched", "Dispatcher", "RouteTable", "parse_query", "split_target"]
