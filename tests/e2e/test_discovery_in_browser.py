"""Being found and followed, in Chromium: the embed on another site, follow by a mailed link."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.core import mail
from playwright.sync_api import expect

from catalog.follows.models import Follow
from tests.catalog.seo_helpers import album

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def other_site() -> Iterator[tuple[str, dict[str, str]]]:
    """A blog on another origin (127.0.0.1 on its own port) serving whatever page is set."""
    pages: dict[str, str] = {}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = pages.get(self.path, "").encode()
            self.send_response(200 if body else 404)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", pages
    server.shutdown()
    server.server_close()


def test_the_embed_works_on_another_site_and_other_pages_refuse_to_be_framed(
    page, live_server, other_site, shot
):
    product = album()
    shop = live_server.url
    origin, pages = other_site
    assert origin != shop
    oembed = page.request.get(
        f"{shop}/oembed", params={"url": shop + product.get_absolute_url()}
    ).json()
    pages["/post.html"] = (
        "<!doctype html><html><head><title>A blog</title></head><body>"
        "<h1>My new album is out</h1>"
        f"{oembed['html']}"
        f'<iframe name="product" src="{shop}{product.get_absolute_url()}" width="600" height="300">'
        "</iframe></body></html>"
    )
    refusals: list[str] = []
    page.on("console", lambda msg: refusals.append(msg.text))
    page.goto(origin + "/post.html")
    embed = page.frame_locator("iframe[title='Night Trains']")
    buy = embed.get_by_role("link", name=re.compile("^Buy"))
    buy.wait_for()
    assert buy.get_attribute("href") == shop + product.get_absolute_url()
    assert buy.get_attribute("target") == "_blank"
    assert embed.locator("audio[controls]").count() == 1
    expect(embed.get_by_text("€7.00")).to_be_visible()
    shot("discovery-embed-on-another-site")
    # The product page itself is refused inside the blog's frame (Chromium says so in the console).
    framed = page.frame(name="product")
    assert framed is not None

    def refused() -> bool:
        return any("frame-ancestors" in text or "X-Frame-Options" in text for text in refusals)

    for _ in range(50):
        if refused():
            break
        page.wait_for_timeout(100)
    assert refused(), refusals
    assert framed.locator("h1", has_text="Night Trains").count() == 0
    # Opening "Buy" leads to the shop in a new tab.
    with page.context.expect_page() as opened:
        buy.click()
    shop_page = opened.value
    shop_page.wait_for_load_state()
    assert shop_page.url == shop + product.get_absolute_url()


def test_a_fan_follows_a_seller_and_confirms_by_the_mailed_link(page, live_server, shot):
    product = album()
    seller = product.seller
    page.goto(live_server.url + seller.get_absolute_url())
    page.get_by_label("Your email").fill("fan@example.com")
    shot("discovery-seller-follow")
    page.get_by_role("button", name="Follow", exact=True).click()
    expect(page.get_by_role("heading", name="Check your email")).to_be_visible()
    (message,) = mail.outbox
    link = re.search(r"http://testserver(/follow/confirm/\S+/)", message.body).group(1)
    page.goto(live_server.url + link)
    page.get_by_role("button", name="Yes, follow").click()
    expect(page.get_by_role("heading", name=f"You follow {seller.display_name}")).to_be_visible()
    shot("discovery-follow-confirmed")
    assert Follow.objects.get(email="fan@example.com").active
    # On a phone: the form and the embed still fit.
    page.set_viewport_size({"width": 390, "height": 800})
    page.goto(live_server.url + seller.get_absolute_url())
    box = page.get_by_label("Your email").bounding_box()
    assert box is not None and box["x"] + box["width"] <= 390
    shot("discovery-seller-follow-phone")
    page.goto(live_server.url + f"/embed/@{seller.slug}/{product.slug}/")
    expect(page.get_by_role("link", name=re.compile("^Buy"))).to_be_visible()
    shot("discovery-embed-phone")
