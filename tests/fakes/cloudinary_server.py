"""A local fake of Cloudinary's upload API, for the real SDK pointed at it with `upload_prefix`.

It verifies every request's signature the way Cloudinary does (SHA-1 over the sorted parameters plus
the API secret), stores uploads in memory (chunked uploads reassembled by X-Unique-Upload-Id), and
answers destroy. Tests read `assets` and `requests` to see what really reached "Cloudinary".
"""

from __future__ import annotations

import base64
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from cloudinary.utils import api_sign_request
from python_multipart.multipart import MultipartParser, parse_options_header

_NOT_SIGNED = {"file", "cloud_name", "resource_type", "api_key", "signature", "signature_algorithm"}


def _parse_multipart(body: bytes, content_type: str) -> tuple[dict[str, str], bytes | None]:
    _, options = parse_options_header(content_type)
    fields: dict[str, str] = {}
    state: dict[str, Any] = {"headers": {}, "data": bytearray(), "field": b"", "value": b"", "file": None}

    def header_end() -> None:
        state["headers"][state["field"].lower()] = state["value"]
        state["field"] = state["value"] = b""

    def part_end() -> None:
        _, disposition = parse_options_header(state["headers"].get(b"content-disposition", b"").decode())
        name = disposition.get(b"name", b"").decode()
        if b"filename" in disposition:
            state["file"] = bytes(state["data"])
        else:
            fields[name] = state["data"].decode()
        state["headers"], state["data"] = {}, bytearray()

    parser = MultipartParser(options[b"boundary"], {
        "on_header_field": lambda d, s, e: state.__setitem__("field", state["field"] + d[s:e]),
        "on_header_value": lambda d, s, e: state.__setitem__("value", state["value"] + d[s:e]),
        "on_header_end": header_end,
        "on_part_data": lambda d, s, e: state["data"].extend(d[s:e]),
        "on_part_end": part_end,
    })
    parser.write(body)
    parser.finalize()
    return fields, state["file"]


def _format_of(data: bytes) -> str:
    if data.startswith(b"\x89PNG"):
        return "png"
    if data.startswith(b"\xff\xd8"):
        return "jpg"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "webp"
    if data.startswith(b"\x1a\x45\xdf\xa3"):
        return "webm" if b"webm" in data[:64] else "mkv"
    if data[4:8] == b"ftyp":
        return "mov" if data[8:12] == b"qt  " else "mp4"
    return "bin"


class FakeCloudinary:
    def __init__(self, cloud_name: str = "demo", api_key: str = "1234", api_secret: str = "s3cr3t") -> None:
        self.cloud_name, self.api_key, self.api_secret = cloud_name, api_key, api_secret
        self.assets: dict[tuple[str, str], dict[str, Any]] = {}
        self.requests: list[dict[str, Any]] = []
        self.fail_uploads = False
        self.video_duration = 2.0  # what the fake reports for any video (real Cloudinary measures it)
        self._chunks: dict[str, bytearray] = {}
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    @property
    def cloudinary_url(self) -> str:
        return f"cloudinary://{self.api_key}:{self.api_secret}@{self.cloud_name}?upload_prefix={self.url}"

    def start(self) -> FakeCloudinary:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def signature_ok(self, params: dict[str, str]) -> bool:
        signed = {k: v for k, v in params.items() if k not in _NOT_SIGNED}
        return api_sign_request(signed, self.api_secret) == params.get("signature")

    def _handle(self, path: str, headers: Any, body: bytes) -> tuple[int, dict[str, Any]]:
        parts = path.strip("/").split("/")  # v1_1/<cloud>/<resource_type>/<action>
        if len(parts) != 4 or parts[0] != "v1_1" or parts[1] != self.cloud_name:
            return 404, {"error": {"message": "not found"}}
        resource_type, action = parts[2], parts[3]
        fields, data = _parse_multipart(body, headers.get("Content-Type", ""))
        ok = self.signature_ok(fields) and fields.get("api_key") == self.api_key
        self.requests.append({"action": action, "resource_type": resource_type, "fields": fields, "signature_ok": ok})
        if not ok:
            return 401, {"error": {"message": "Invalid Signature"}}
        if action == "destroy":
            with self._lock:
                found = self.assets.pop((resource_type, fields["public_id"]), None)
            return 200, {"result": "ok" if found else "not found"}
        if action != "upload":
            return 404, {"error": {"message": "unknown action"}}
        if self.fail_uploads:
            return 500, {"error": {"message": "storage on fire"}}
        content_range = headers.get("Content-Range")
        if content_range:  # upload_large: assemble chunks until the last arrives
            upload_id = headers.get("X-Unique-Upload-Id", "")
            span, total = content_range.split(" ", 1)[1].split("/")
            end = int(span.split("-")[1])
            with self._lock:
                buffer = self._chunks.setdefault(upload_id, bytearray())
                buffer.extend(data or b"")
                if end + 1 < int(total):
                    return 200, {"done": False}
                data = bytes(self._chunks.pop(upload_id))
        public_id = "/".join(filter(None, [fields.get("folder"), fields.get("public_id")]))
        fmt = _format_of(data or b"")
        path_part = f"{self.cloud_name}/{resource_type}/upload/v1700000000/{public_id}.{fmt}"
        asset = {"public_id": public_id, "version": 1700000000, "resource_type": resource_type, "format": fmt,
                 "type": fields.get("type", "upload"), "bytes": len(data or b""),
                 "url": f"http://res.cloudinary.com/{path_part}", "secure_url": f"https://res.cloudinary.com/{path_part}",
                 "data": data}
        if resource_type == "video":
            asset["duration"] = self.video_duration
        with self._lock:
            self.assets[(resource_type, public_id)] = asset
        return 200, {k: v for k, v in asset.items() if k != "data"}

    def _resource(self, path: str, headers: Any) -> tuple[int, dict[str, Any]]:
        """Admin API: GET /v1_1/<cloud>/resources/<resource_type>/<type>/<public_id> with Basic auth."""
        expected = "Basic " + base64.b64encode(f"{self.api_key}:{self.api_secret}".encode()).decode()
        parts = path.strip("/").split("/", 5)
        self.requests.append({"action": "resource", "path": path, "signature_ok": headers.get("Authorization") == expected})
        if headers.get("Authorization") != expected:
            return 401, {"error": {"message": "Invalid credentials"}}
        if len(parts) != 6 or parts[:3] != ["v1_1", self.cloud_name, "resources"]:
            return 404, {"error": {"message": "not found"}}
        asset = self.assets.get((parts[3], parts[5]))
        if asset is None or asset["type"] != parts[4]:
            return 404, {"error": {"message": f"Resource not found - {parts[5]}"}}
        return 200, {k: v for k, v in asset.items() if k != "data"}

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def _send(self, status: int, payload: dict[str, Any]) -> None:
                out = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(out)))
                self.end_headers()
                self.wfile.write(out)

            def do_GET(self) -> None:
                self._send(*fake._resource(self.path.split("?", 1)[0], self.headers))

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                self._send(*fake._handle(self.path, self.headers, body))

            def log_message(self, *args: Any) -> None:
                pass

        return Handler
