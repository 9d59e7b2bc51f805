"""Issue #14 point 2 in a real browser: /api/v2/docs is Swagger UI, loaded from this API alone (no CDN), and
"Try it out" signs in: the login's cookies are then sent with the calls after it, and its access token is filled in
as the bearer token, each of which is enough on its own."""

import json
import re

from tests.browser.conftest import shoot
from tests.e2e.conftest import signed_in_user


def _try(page, operation: str, body: dict | None = None) -> tuple[str, str]:
    """Open an operation, "Try it out", fill the JSON body, "Execute": its answer's status and body."""
    block = page.locator(f"#operations-user-{operation}")
    if not block.locator(".try-out").count():
        block.locator(".opblock-summary-control").click()
    if block.locator("button.try-out__btn:not(.cancel)").count():
        block.locator("button.try-out__btn:not(.cancel)").click()
    if body is not None:
        block.locator("textarea.body-param__text").fill(json.dumps(body))
    if block.locator("button.btn-clear").count():  # the last call's answer, else read as this one's
        block.locator("button.btn-clear").click()
        block.locator(".live-responses-table").wait_for(state="detached")
    block.locator("button.execute").click()
    status = block.locator(".live-responses-table tbody .response-col_status").first
    status.wait_for()
    body_text = block.locator(".live-responses-table .response-col_description pre").first.inner_text()
    return status.inner_text().strip(), body_text


def test_the_docs_page_renders_offline_and_try_it_out_signs_in_with_cookie_and_bearer(site, page, screenshots):
    _, user = signed_in_user(site.api, "docs")
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))

    page.goto(f"{site.api}/api/v2/docs")
    page.locator(".swagger-ui .info .title").filter(has_text="VizTube API").wait_for()
    page.locator(".opblock").first.wait_for()

    assert page.locator(".opblock").count() >= 50  # every route, grouped by area
    shoot(page, screenshots, "docs-page")
    status, answer = _try(page, "login_user", {"username": user["username"], "password": "Passw0rdX"})
    assert status == "200" and json.loads(answer)["data"]["user"]["username"] == user["username"]
    shoot(page, screenshots, "docs-try-login")
    cookies = {c["name"] for c in page.context.cookies(site.api)}
    assert {"accessToken", "refreshToken"} <= cookies
    authorized = page.evaluate("() => window.ui.authSelectors.authorized().toJS()")
    assert authorized["bearer"]["value"]  # the login's access token, filled in for the calls after it

    status, answer = _try(page, "current_user_details")  # the cookie and the bearer token
    assert status == "200" and json.loads(answer)["data"]["username"] == user["username"]
    page.context.clear_cookies()
    status, answer = _try(page, "current_user_details")  # the bearer token alone
    assert status == "200" and json.loads(answer)["data"]["username"] == user["username"]
    shoot(page, screenshots, "docs-try-current-user")
    page.evaluate("() => window.ui.authActions.logout(['bearer'])")
    status, _ = _try(page, "current_user_details")  # neither: refused
    assert status == "401"

    # Everything the page loaded came from this API (no CDN), and the call it made carried the token.
    assert requested and all(url.startswith(site.api) for url in requested), requested
    assert any(re.search(r"/api/v2/docs/swagger-ui-bundle\.js$", url) for url in requested)
