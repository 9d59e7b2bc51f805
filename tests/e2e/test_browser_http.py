"""Issue #14 points 1 and 3 over real HTTP, through the production server (Granian, the WSGI shim, the dispatcher):
the paging headers readable across origins, ETag and a bodiless 304, media varying on Origin, and the dev server's
warning about a CORS origin the auth cookies cannot reach."""

import re

import requests

from tests.e2e.conftest import SERVER_HOME, signed_in_user

ORIGIN = "https://app.example.com"  # the e2e server's CORS_ORIGINS


def test_a_list_over_http_has_its_total_links_and_etag_and_a_304_keeps_the_cors_headers(server):
    headers, user = signed_in_user(server, "pg")
    for n in range(3):
        requests.post(f"{server}/api/v2/tweets", json={"content": f"post {n}"}, headers=headers,
                      timeout=30).raise_for_status()
    url = f"{server}/api/v2/tweets/user/{user['id']}?limit=2"

    first = requests.get(url, headers={**headers, "Origin": ORIGIN}, timeout=30)
    again = requests.get(url, headers={**headers, "Origin": ORIGIN, "If-None-Match": first.headers["ETag"]},
                         timeout=30)

    assert first.status_code == 200 and len(first.json()["data"]) == 2
    assert first.headers["X-Total-Count"] == "3"
    assert re.search(rf'</api/v2/tweets/user/{user["id"]}\?limit=2&page=2>; rel="next"', first.headers["Link"])
    exposed = {h.strip() for h in first.headers["Access-Control-Expose-Headers"].split(",")}
    assert {"X-Total-Count", "Link", "ETag"} <= exposed
    assert (again.status_code, again.content, again.headers["ETag"]) == (304, b"", first.headers["ETag"])
    assert again.headers["Access-Control-Allow-Origin"] == ORIGIN and again.headers["Vary"] == "Origin"


def test_media_over_http_vary_on_origin_with_or_without_one(server):
    _, user = signed_in_user(server, "md")
    avatar = user["avatar"]

    plain = requests.get(avatar, timeout=30)  # as an <img> asks
    cross = requests.get(avatar, headers={"Origin": ORIGIN}, timeout=30)

    assert plain.status_code == cross.status_code == 200 and plain.content == cross.content
    assert plain.headers["Vary"] == cross.headers["Vary"] == "Origin"
    assert "Access-Control-Allow-Origin" not in plain.headers
    assert cross.headers["Access-Control-Allow-Origin"] == ORIGIN


def test_the_dev_server_warns_at_start_that_cookies_cannot_reach_its_cors_origin(server):
    """The e2e server runs the dev stage on 127.0.0.1 with CORS_ORIGINS=https://app.example.com: another site."""
    log = (SERVER_HOME / "server.log").read_text()

    warnings = [line for line in log.splitlines() if "COOKIE_SAMESITE=Strict" in line]
    assert len(warnings) == 1 and ORIGIN in warnings[0] and "WARNING" in warnings[0]
