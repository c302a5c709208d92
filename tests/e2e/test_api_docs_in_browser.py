"""The API's documentation page in Chromium, under the site's own Content-Security-Policy."""

from __future__ import annotations

import pytest

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_the_api_docs_page_lists_every_group_with_no_policy_violation(page, live_server, shot):
    problems: list[str] = []
    page.on(
        "console",
        lambda message: problems.append(message.text) if message.type == "error" else None,
    )
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.on("requestfailed", lambda request: problems.append(f"failed: {request.url}"))
    response = page.goto(live_server.url + "/api/v1/docs")
    assert response is not None and response.status == 200
    assert "content-security-policy" in {k.lower() for k in response.headers}
    page.locator(".swagger-ui .info .title").wait_for()
    groups = {t.strip() for t in page.locator(".opblock-tag").all_inner_texts()}
    assert {"catalog", "sales", "uploads", "licenses", "imports"} <= {g.split()[0] for g in groups}
    # Every operation is listed, and one opens to show its parameters.
    page.locator(".opblock-summary-path", has_text="/api/v1/payouts").first.click()
    page.locator(".opblock.is-open .parameters").first.wait_for()
    shot("api-docs")
    assert problems == []
