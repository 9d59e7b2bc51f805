"""What text the API accepts, decided once where text enters (bodies, form fields and filenames, path and query
parameters, stored headers): only characters UTF-8 and PostgreSQL can hold, and one-line fields without
control characters.

PostgreSQL's text cannot hold NUL, and UTF-8 cannot encode a lone surrogate (JSON's "\\ud800"). Letting either
reach the database is worse than an error: pg8000 fails while writing a statement whose reply it has not read,
and the next request on that pooled connection reads the stale reply (issue #10: a correct login answered
"Invalid credentials" after a burst of such input). So they are refused at the edge with a 400 naming the field.
"""

from __future__ import annotations

import re
from typing import Any

from shared import errors

# Control characters (C0, DEL, C1) other than tab and newline: never part of a name, a title or a tag.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def unstorable(value: str) -> str | None:
    """Why `value` cannot be stored (NUL, an unpaired surrogate), or None when it can."""
    if value.isascii():  # the common case, in C: only NUL can be wrong
        return "a NUL character" if "\x00" in value else None
    if "\x00" in value:
        return "a NUL character"
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return "an unpaired surrogate (not valid Unicode)"
    return None


def require_storable(value: str, where: str) -> str:
    """`value` unchanged, or a 400 naming `where` ("field 'title'", "query parameter 'page'", ...)."""
    problem = unstorable(value)
    if problem is not None:
        raise errors.BadRequest(f"The {where} contains {problem}", errors=[f"{where}: contains {problem}"])
    return value


def require_storable_tree(value: Any, path: str = "") -> None:
    """Every key and string anywhere in a decoded JSON value or form (dicts, lists, strings)."""
    if isinstance(value, str):
        require_storable(value, f"field '{path or 'body'}'")
    elif isinstance(value, dict):
        for key, item in value.items():
            name = f"{path}.{key}" if path else str(key)
            require_storable(str(key), f"field name '{name}'")
            require_storable_tree(item, name)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            require_storable_tree(item, f"{path}[{index}]")


def control_character(value: str) -> str | None:
    """The first control character (Unicode category Cc) other than tab or newline in `value`, written like U+001B."""
    found = _CONTROL.search(value)
    return None if found is None else f"U+{ord(found.group()):04X}"


def single_line_problems(value: str | None, label: str) -> list[str]:
    """A one-line field (name, username, title, tag) holds no control characters other than tab and newline."""
    if not value:
        return []
    found = control_character(value)
    return [f"{label} must not contain control characters (found {found})"] if found else []
