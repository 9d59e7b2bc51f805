"""The interactive docs page (GET /api/v2/docs): Swagger UI over our own spec, its assets served by our own route
from PyPI's swagger-ui-bundle-v2 (no CDN: the page works offline), and the few lines that configure it.

"Try it out" works both ways a client signs in: the calls carry the browser's cookies (`withCredentials`), so a
login tried on the page sets `accessToken` for the calls after it; and the login's access token is filled in as the
bearer token (the Authorize dialog shows it), as a client without cookies would send it.
"""

from __future__ import annotations

from functools import cache

from swagger_ui_bundle import swagger_ui_path

from shared import errors

# What the page loads, from the package (name -> content type); the initializer is ours (INITIALIZER).
ASSETS = {
    "swagger-ui.css": "text/css; charset=utf-8",
    "swagger-ui-bundle.js": "text/javascript; charset=utf-8",
}
INITIALIZER_NAME = "viztube-docs.js"

PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>VizTube API</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="stylesheet" href="docs/swagger-ui.css">
<style>body{margin:0} .swagger-ui .info{margin:24px 0}</style>
</head>
<body>
<noscript>This page needs JavaScript. The API is described in <a href="openapi.json">openapi.json</a>.</noscript>
<div id="swagger-ui"></div>
<script src="docs/swagger-ui-bundle.js"></script>
<script src="docs/viztube-docs.js"></script>
</body>
</html>
"""

# Relative URLs: the page is /api/v2/docs, wherever the API is mounted (a stage prefix included).
INITIALIZER = """window.addEventListener("load", function () {
  function signedIn(response) {
    var path = new URL(response.url, window.location.href).pathname;
    return response.ok && /\\/user\\/(login|refresh-token)$/.test(path) && response.body && response.body.data
      && response.body.data.accessToken;
  }
  window.ui = SwaggerUIBundle({
    url: "openapi.json",
    dom_id: "#swagger-ui",
    deepLinking: true,
    withCredentials: true,          // "Try it out" sends and keeps the auth cookies
    persistAuthorization: true,     // a bearer token filled in survives a reload
    displayRequestDuration: true,
    defaultModelsExpandDepth: 0,
    presets: [SwaggerUIBundle.presets.apis],
    layout: "BaseLayout",
    responseInterceptor: function (response) {
      var token = signedIn(response);
      if (token) {
        window.ui.preauthorizeApiKey("bearer", token);  // the bearer scheme, for the calls after a login
      }
      return response;
    }
  });
});
"""


def asset(name: str) -> tuple[str, str]:
    """A file the page loads (all text), and its content type; a 404 for any other name."""
    if name == INITIALIZER_NAME:
        return INITIALIZER, "text/javascript; charset=utf-8"
    if name not in ASSETS:
        raise errors.NotFound("No such docs asset")
    return _read(name), ASSETS[name]


@cache
def _read(name: str) -> str:
    return (swagger_ui_path / name).read_text(encoding="utf-8")
