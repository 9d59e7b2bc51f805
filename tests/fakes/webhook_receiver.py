"""A webhook receiver for tests: a local HTTP server recording each POST, answering the statuses it is told to, and
checking each delivery's signature as a receiver must (tests/functions/test_webhook_endpoints.py over the test
client, tests/e2e/test_community_http.py over the production server)."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class Receiver:
    """A local HTTP server recording each POST; `answers` are the statuses it replies with, in turn (then 200)."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.answers: list[int] = []
        self.answer_body = b"ok"
        self.delay = 0.0
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                receiver.requests.append({"path": self.path, "headers": dict(self.headers), "body": body})
                if receiver.delay:
                    time.sleep(receiver.delay)
                status = receiver.answers.pop(0) if receiver.answers else 200
                self.send_response(status)
                if 300 <= status < 400:
                    self.send_header("Location", "/elsewhere")
                self.send_header("Content-Length", str(len(receiver.answer_body)))
                self.end_headers()
                self.wfile.write(receiver.answer_body)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    def verified(self, secret: str) -> list[dict[str, Any]]:
        """The requests received, each checked as a receiver must: the signature over "<t>." + raw body, and t
        recent (5 minutes, Stripe's default tolerance)."""
        out = []
        for request in self.requests:
            parts = dict(item.split("=", 1) for item in request["headers"]["VizTube-Signature"].split(","))
            expected = hmac.new(secret.encode(), f"{parts['t']}.".encode() + request["body"], hashlib.sha256)
            assert hmac.compare_digest(parts["v1"], expected.hexdigest()), "bad signature"
            assert abs(time.time() - int(parts["t"])) < 300
            assert request["headers"]["Content-Type"] == "application/json"
            out.append(json.loads(request["body"]))
        return out
