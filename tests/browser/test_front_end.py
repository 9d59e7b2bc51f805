"""Issue #14 point 5: a front end on another origin of the same site (http://localhost:FRONT, served by the test)
against the API (http://localhost:API, COOKIE_SAMESITE=Lax) in a real browser: it signs in with cookies and calls
an authenticated route, reads X-Total-Count; an uploaded video's HLS ladder plays with hls.js (two levels) and its
MP4 with Range requests; its poster loads by <img> and then by a cross-origin fetch."""

import time

import requests

from tests.browser.conftest import shoot
from tests.conftest import png_bytes, video_bytes
from tests.e2e.conftest import signed_in_user


def test_a_front_end_on_another_origin_signs_in_with_cookies_and_reads_the_total(site, page, screenshots):
    headers, user = signed_in_user(site.api, "front")
    for n in range(3):
        requests.post(f"{site.api}/api/v2/tweets", json={"content": f"post {n}"}, headers=headers,
                      timeout=30).raise_for_status()
    page.goto(f"{site.front}/index.html")

    seen = page.evaluate("([api, name, id]) => signInAndList(api, name, 'Passw0rdX', id)",
                         [site.api, user["username"], user["id"]])

    shoot(page, screenshots, "front-end-cookies")
    assert seen["origin"] == site.front != site.api
    assert (seen["login"], seen["me"], seen["username"]) == (200, 200, user["username"])  # the cookie was sent
    assert (seen["list"], seen["xTotalCount"], seen["postsOnThisPage"]) == (200, "3", 2)
    assert 'rel="next"' in seen["link"]
    cookies = {c["name"]: c for c in page.context.cookies(site.api)}
    assert cookies["accessToken"]["sameSite"] == "Lax" and cookies["accessToken"]["httpOnly"]


def _uploaded_video(api: str) -> dict:
    """A 480x360 video (tall enough for the 240p and 360p rungs), published, once its HLS ladder is ready."""
    headers, _ = signed_in_user(api, "media")
    published = requests.post(f"{api}/api/v2/videos", headers=headers, timeout=120,
                              data={"title": "Browser clip", "description": "played by Chromium"},
                              files={"videoFile": ("clip.mp4", video_bytes(seconds=4.0, size="480x360"), "video/mp4"),
                                     "thumbnail": ("thumb.png", png_bytes(64, 48), "image/png")})
    published.raise_for_status()
    video_id = published.json()["data"]["video"]["id"]
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        video = requests.get(f"{api}/api/v2/videos/{video_id}", headers=headers, timeout=30).json()["data"]
        if video["processingStatus"] == "FAILED":
            raise AssertionError(video["processingError"])
        if video["processingStatus"] == "COMPLETED" and video.get("hlsUrl"):
            return video
        time.sleep(0.3)
    raise AssertionError(f"the HLS ladder was not ready in time: {video}")


def test_an_uploaded_video_plays_by_hls_and_by_mp4_ranges_and_its_poster_loads_twice(site, page, screenshots):
    video = _uploaded_video(site.api)
    media: list[tuple[str, int, str | None]] = []
    page.on("requestfinished", lambda r: media.append((r.url, r.response().status, r.headers.get("range")))
            if "/api/v2/media/" in r.url and r.response() else None)
    page.goto(f"{site.front}/index.html")

    hls = page.evaluate("(url) => playHls(url)", video["hlsUrl"])
    shoot(page, screenshots, "front-end-hls")
    mp4 = page.evaluate("(url) => playMp4(url)", video["videoFileUrl"])
    shoot(page, screenshots, "front-end-mp4")
    poster = page.evaluate("(url) => posterTwice(url)", video["posterUrl"])
    shoot(page, screenshots, "front-end-poster", full_page=True)

    assert hls["currentTime"] > 1.0 and sorted(hls["levels"]) == [240, 360]  # two levels offered
    assert any(url.endswith(".m3u8") for url, _, _ in media) and any(".ts" in url or ".m4s" in url
                                                                     for url, _, _ in media)
    assert mp4["currentTime"] > 1.0
    ranged = [(status, rng) for url, status, rng in media if url.split("?")[0] == video["videoFileUrl"].split("?")[0]]
    assert ranged and all(status == 206 and rng and rng.startswith("bytes=") for status, rng in ranged), ranged
    assert poster["img"] is True and poster["width"] > 0
    assert poster["fetch"]["status"] == 200 and poster["fetch"]["bytes"] > 0, poster
