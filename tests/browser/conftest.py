"""A real browser against the real server: Debian's Chromium (`make test` installs it) driven by Playwright from PyPI,
headless; the API served as `make run` serves it; a front end on another origin of the same site, served by the
test (http://localhost:FRONT calling http://localhost:API, with COOKIE_SAMESITE=Lax); hls.js from the npm registry.

Screenshots go to pytest's tmp dir (`screenshots` below: kept for the last 3 runs, not committed); each test prints
the paths of its own.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import http.server
import os
import shutil
import tarfile
import tempfile
import threading
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import free_port, running_server, server_env

# hls.js, pinned like a lockfile would pin it: the registry's tarball and its integrity (sha512).
HLS_JS_VERSION = "1.7.4"
HLS_JS_INTEGRITY = "sha512-3GlxGdPvT2YHvQYOt+yOzT/DEior/qJVNIylHA77kgeoBTdQQqi70GwefNEUmHQeNGyjC8U62+bruqW/Tpm+tg=="
HLS_JS_TARBALL = f"https://registry.npmjs.org/hls.js/-/hls.js-{HLS_JS_VERSION}.tgz"
CACHE_DIR = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "viztube-tests"


def chromium_executable() -> str:
    """Debian's Chromium: the binary itself (its /usr/bin/chromium wrapper script only adds flags we set here)."""
    for candidate in ("/usr/lib/chromium/chromium", shutil.which("chromium"), shutil.which("chromium-browser")):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    raise AssertionError("Chromium is not installed: run `make test`, which installs it (apt-get install chromium)")


@dataclass(frozen=True)
class Site:
    """The API and the front end: two origins of one site (localhost, two ports)."""

    api: str
    front: str
    home: Path


@pytest.fixture(scope="session")
def hls_js() -> bytes:
    """hls.min.js from the npm registry's tarball (downloaded once into the user's cache, checked against its
    integrity every time)."""
    tarball = CACHE_DIR / f"hls.js-{HLS_JS_VERSION}.tgz"
    if not tarball.exists():
        CACHE_DIR.mkdir(parents=True, exist_ok=True)
        with urllib.request.urlopen(HLS_JS_TARBALL, timeout=60) as answer:
            data = answer.read()
        partial = tarball.with_suffix(".part")
        partial.write_bytes(data)
        partial.replace(tarball)
    data = tarball.read_bytes()
    algorithm, expected = HLS_JS_INTEGRITY.split("-", 1)
    assert base64.b64encode(hashlib.new(algorithm, data).digest()).decode() == expected, f"{tarball} is corrupt"
    with tarfile.open(tarball) as archive:
        member = archive.extractfile("package/dist/hls.min.js")
        assert member is not None
        return member.read()


@pytest.fixture(scope="session")
def site(hls_js: bytes) -> Iterator[Site]:
    """The API (`python -m infra.serve`, own home and database) and a static front end on another port."""
    scratch = Path(tempfile.mkdtemp(prefix="viztube-browser-"))  # under the run's directory, removed at its end
    front_dir = scratch / "front"
    front_dir.mkdir()
    (front_dir / "hls.min.js").write_bytes(hls_js)
    (front_dir / "index.html").write_text(FRONT_PAGE)
    api_port, front_port = free_port(), free_port()
    api, front = f"http://localhost:{api_port}", f"http://localhost:{front_port}"
    handler = functools.partial(_QuietHandler, directory=str(front_dir))
    front_server = http.server.ThreadingHTTPServer(("127.0.0.1", front_port), handler)
    threading.Thread(target=front_server.serve_forever, daemon=True).start()
    home = scratch / "api-home"
    home.mkdir()
    env = server_env(home, api_port, COOKIE_SAMESITE="Lax", CORS_ORIGINS=front, PUBLIC_URL=api, RATE_LIMITS="off",
                     WEB_CONCURRENCY="1")
    try:
        with running_server(env, home / "server.log"):
            yield Site(api=api, front=front, home=home)
    finally:
        front_server.shutdown()
        front_server.server_close()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    args = ["--host-resolver-rules=MAP localhost 127.0.0.1",  # the servers listen on IPv4 only
            "--autoplay-policy=no-user-gesture-required"]
    if os.geteuid() == 0:
        args.append("--no-sandbox")  # Chromium's sandbox refuses to run as root (a container's CI)
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=chromium_executable(), headless=True, args=args)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    tab = context.new_page()
    # Generous: Swagger UI renders 100+ operations, and `make test` runs this beside another worker on 2 cores.
    tab.set_default_timeout(60_000)
    yield tab
    context.close()


@pytest.fixture(scope="session")
def screenshots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("screenshots")


def shoot(page: Any, screenshots: Path, name: str, **options: Any) -> Path:
    path = screenshots / f"{name}.png"
    page.screenshot(path=str(path), **options)
    print(f"screenshot: {path}")  # the test's artefact, listed in its output (pytest -s, or -rP)
    return path


# The front end: a page with no framework, calling the API as a browser app does (fetch with credentials) and
# playing media (hls.js, a plain <video>, an <img>); the tests drive it through these functions.
FRONT_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>VizTube front end (test)</title>
<style>body{font:15px system-ui,sans-serif;margin:1.5rem} video,img{max-width:480px;display:block;margin:.5rem 0}
pre{background:#f4f4f4;padding:.5rem;white-space:pre-wrap;word-break:break-all}</style>
<script src="hls.min.js"></script></head>
<body><h1>A front end on another origin</h1><pre id="out">(nothing yet)</pre><div id="media"></div>
<script>
function show(title, value) {
  document.getElementById("out").textContent = title + "\\n" + JSON.stringify(value, null, 2);
  return value;
}

async function signInAndList(api, username, password, userId) {
  const login = await fetch(api + "/api/v2/user/login", {method: "POST", credentials: "include",
    headers: {"Content-Type": "application/json"}, body: JSON.stringify({username: username, password: password})});
  const me = await fetch(api + "/api/v2/user/current-user-details", {credentials: "include"});
  const list = await fetch(api + "/api/v2/tweets/user/" + userId + "?limit=2", {credentials: "include"});
  const posts = await list.json();
  return show("signed in with cookies, then two calls carrying them", {
    origin: location.origin, login: login.status, me: me.status, username: (await me.json()).data.username,
    list: list.status, xTotalCount: list.headers.get("X-Total-Count"), link: list.headers.get("Link"),
    postsOnThisPage: posts.data.length});
}

function playHls(url) {
  return new Promise(function (resolve, reject) {
    if (!Hls.isSupported()) { reject(new Error("hls.js: MediaSource is not supported")); return; }
    const video = document.createElement("video");
    video.muted = true; video.controls = true; video.id = "hls";
    document.getElementById("media").appendChild(video);
    const hls = new Hls();
    window.hls = hls;
    hls.on(Hls.Events.ERROR, function (_, data) { if (data.fatal) reject(new Error("hls.js: " + data.details)); });
    hls.on(Hls.Events.MANIFEST_PARSED, function () { video.play().catch(reject); });
    video.addEventListener("timeupdate", function () {
      if (video.currentTime > 1.0) {
        resolve(show("HLS through hls.js", {currentTime: video.currentTime, levels: hls.levels.map(function (l) {
          return l.height; }), level: hls.currentLevel}));
      }
    });
    hls.loadSource(url);
    hls.attachMedia(video);
  });
}

function playMp4(url) {
  return new Promise(function (resolve, reject) {
    const video = document.createElement("video");
    video.muted = true; video.controls = true; video.id = "mp4"; video.src = url;
    document.getElementById("media").appendChild(video);
    video.addEventListener("error", function () { reject(new Error("video error " + video.error.code)); });
    video.addEventListener("timeupdate", function () {
      if (video.currentTime > 1.0) {
        resolve(show("MP4 in a <video>", {currentTime: video.currentTime, duration: video.duration}));
      }
    });
    video.play().catch(reject);
  });
}

async function posterTwice(url) {
  const img = document.createElement("img");
  img.id = "poster";
  const loaded = new Promise(function (resolve) { img.onload = function () { resolve(true); };
    img.onerror = function () { resolve(false); }; });
  img.src = url;
  document.getElementById("media").appendChild(img);
  const byImg = await loaded;
  let byFetch;
  try {
    const answer = await fetch(url, {mode: "cors"});
    byFetch = {status: answer.status, bytes: (await answer.blob()).size,
               contentType: answer.headers.get("Content-Type")};
  } catch (e) {
    byFetch = {error: String(e)};
  }
  return show("the poster, by <img> then by cross-origin fetch", {img: byImg, width: img.naturalWidth,
                                                                      fetch: byFetch});
}
</script></body></html>
"""
