"""A request's body as a dict, whatever form it came in: JSON, urlencoded, or multipart without files."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qs

from chalice.app import Request

from shared import errors
from shared.settings import get_settings
from shared.text import require_storable_tree
from shared.web.forms import read_text_fields
from shared.web.request import FORM_URLENCODED, JSON, MULTIPART, media_type, raw_body


def read_body(request: Request) -> dict[str, Any]:
    """The request's JSON object or urlencoded form as a dict; {} when there is no body.

    Wrong content types are 415, malformed JSON is 400, oversized bodies are 413: never a 500.
    """
    raw = raw_body(request)
    if len(raw) > get_settings().max_json_bytes:
        raise errors.PayloadTooLarge("Request body too large")
    kind = media_type(request)
    if not raw.strip():
        return {}
    if kind in ("", JSON) or kind.endswith("+json"):
        try:
            value = json.loads(raw)
        except (ValueError, UnicodeDecodeError):
            raise errors.BadRequest("Malformed JSON body") from None
        if not isinstance(value, dict):
            raise errors.BadRequest("Request body must be a JSON object")
        require_storable_tree(value)
        return value
    if kind == FORM_URLENCODED:
        try:  # strict: a %-escape that is not UTF-8 is refused, not turned into U+FFFD
            pairs = parse_qs(raw.decode("utf-8"), keep_blank_values=True, strict_parsing=False, errors="strict")
        except UnicodeDecodeError:
            raise errors.BadRequest("Malformed form body: not UTF-8 text") from None
        form = {k: v[0] if len(v) == 1 else v for k, v in pairs.items()}
        require_storable_tree(form)
        return form
    if kind == MULTIPART:
        return read_text_fields(request)  # multipart without files, e.g. update-account
    raise errors.UnsupportedMediaType(f"Unsupported media type: {kind}")
