"""The paging headers of the lists that answer a bare array (issue #14): the array stays as v2 clients know it, and
`X-Total-Count` and an RFC 8288 `Link` (first, prev, next, last) say how many there are and where the other pages
are. Both are exposed to browser apps by CORS (shared.web.cors)."""

from __future__ import annotations

from urllib.parse import quote, urlencode

from chalice.app import Request

# What may stand in a URL's path as it is (RFC 3986 pchar and `/`): anything else is %-encoded, a `%` left alone
# because the path arrives %-encoded already.
_PATH_SAFE = "/%:@!$&'()*+,;=-._~"


def _page_url(request: Request, page: int) -> str:
    """The request's own URL, path-relative (the path the client asked for, which behind API Gateway carries the
    stage), with `page` replaced and every other query parameter kept as sent."""
    path = quote((request.context or {}).get("path") or request.path, safe=_PATH_SAFE)
    params = request.query_params
    pairs = [] if params is None else [(name, value) for name in params if name != "page"
                                       for value in params.getlist(name)]
    return f"{path}?{urlencode([*pairs, ('page', str(page))])}"


def page_headers(request: Request, *, page: int, limit: int, total: int) -> dict[str, str]:
    """`X-Total-Count` and `Link` for page `page` of `limit` items out of `total`. `next` is there unless this is
    the last page, `prev` unless it is the first (a page past the end points back at the last one)."""
    last = max(1, -(-total // limit))
    links = {"first": 1, "prev": min(page - 1, last) if page > 1 else None,
             "next": page + 1 if page < last else None, "last": last}
    return {"X-Total-Count": str(total),
            "Link": ", ".join(f'<{_page_url(request, number)}>; rel="{rel}"'
                              for rel, number in links.items() if number is not None)}
