"""The header, footer and filter form kept per process (decision 97): one markup for
every visitor in a language and login state, each visitor's own values joined in."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth import get_user_model
from django.middleware.csrf import _unmask_cipher_token
from django.template import engines
from django.test import Client
from django.utils import translation

from catalog.fragments import _parts, fragment
from tests.factories import ProductFactory

pytestmark = pytest.mark.django_db

TOKEN = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
LANGUAGE_FORM = re.compile(r'<form class="language-form".*?</form>', re.S)
HEADER_SEARCH = re.compile(r'id="site-search-q"[^>]*value="([^"]*)"')


def _header(body: str) -> str:
    return body.split("</header>", 1)[0]


def _footer(body: str) -> str:
    return body.split("<footer", 1)[1]


def test_each_visitor_gets_a_csrf_token_of_their_own():
    first, second = Client(enforce_csrf_checks=True), Client(enforce_csrf_checks=True)
    tokens = []
    for client in (first, second, first):
        form = LANGUAGE_FORM.search(client.get("/").content.decode()).group(0)
        token = TOKEN.search(form).group(1)
        # Each page's token is the visitor's own secret, masked afresh.
        assert _unmask_cipher_token(token) == client.cookies["csrftoken"].value
        tokens.append(token)
    assert len(set(tokens)) == 3
    assert first.cookies["csrftoken"].value != second.cookies["csrftoken"].value
    changed = first.post(
        "/i18n/setlang/", {"language": "fr", "next": "/", "csrfmiddlewaretoken": tokens[0]}
    )
    assert changed.status_code == 302
    refused = second.post(
        "/i18n/setlang/", {"language": "fr", "next": "/", "csrfmiddlewaretoken": tokens[0]}
    )
    assert refused.status_code == 403


def test_the_search_typed_stays_with_its_visitor(client):
    searched = client.get("/search/", {"q": '<b>"lighthouse'}).content.decode()
    assert HEADER_SEARCH.search(_header(searched)).group(1) == "&lt;b&gt;&quot;lighthouse"
    assert HEADER_SEARCH.search(_header(Client().get("/").content.decode())).group(1) == ""
    assert HEADER_SEARCH.search(_header(client.get("/").content.decode())).group(1) == ""


def test_the_cart_count_is_the_visitors_own(client):
    for product in ProductFactory.create_batch(2, pricing="fixed", price=500):
        client.post(f"/cart/add/{product.pk}/")
    mine = _header(client.get("/").content.decode())
    assert '<span class="count" aria-label="2 items">2</span>' in mine
    assert '<span class="count" aria-label="2 articles">2</span>' in _header(
        client.get("/fr/").content.decode()
    )
    others = _header(Client().get("/").content.decode())
    assert 'class="count"' not in others and ">Cart</a>" in others


def test_logged_in_and_anonymous_headers_do_not_mix(client):
    user = get_user_model().objects.create_user("reader", "reader@example.com", "x" * 12)
    logged = Client()
    logged.force_login(user)
    for _ in range(2):
        page = logged.get("/").content.decode()
        header = _header(page)
        assert "Log out" in header and "Log in" not in header
        # The log-out form and the language form carry the page's one token.
        assert TOKEN.search(header).group(1) == TOKEN.search(_footer(page)).group(1)
        anonymous = _header(client.get("/").content.decode())
        assert "Log in" in anonymous and "Log out" not in anonymous
        assert "csrfmiddlewaretoken" not in anonymous


def test_the_language_form_names_the_page_it_is_on(client):
    body = client.get("/tags/none/", {"max": "1", "kind": "<x>"}).content.decode()
    assert client.get("/tags/none/").status_code == 404
    form = LANGUAGE_FORM.search(body).group(0)
    assert 'name="next" value="/tags/none/?max=1&amp;kind=%3Cx%3E"' in form
    home = LANGUAGE_FORM.search(client.get("/fr/").content.decode()).group(0)
    assert 'name="next" value="/fr/"' in home


def test_each_language_has_its_own_header_and_footer(client):
    english, french = client.get("/").content.decode(), client.get("/fr/").content.decode()
    assert ">Cart</a>" in _header(english) and ">Panier</a>" in _header(french)
    assert 'href="/fr/cart/"' in _header(french) and 'href="/cart/"' in _header(english)
    assert '<option value="en" lang="en" selected>' in _footer(english)
    assert '<option value="fr" lang="fr" selected>' in _footer(french)
    assert ">Panier</a>" not in client.get("/").content.decode()


def test_the_filter_form_keeps_each_visitors_typed_values(client):
    ProductFactory(kind="music", pricing="fixed", price=300)
    typed = client.get("/", {"kind": "music", "max": "5", "tag": "<b>", "sort": "price"})
    body = typed.content.decode()
    assert '<option value="music" selected>Music</option>' in body
    assert 'id="filter-max" name="max" type="text" inputmode="decimal" size="6" value="5"' in body
    assert 'name="tag" type="text" size="10" value="&lt;b&gt;"' in body
    assert '<option value="price" selected>' in body
    plain = Client().get("/").content.decode()
    assert " selected>Music" not in plain and 'size="6" value=""' in plain
    assert '<option value="new" selected>' in plain
    french = client.get("/fr/", {"kind": "music"}).content.decode()
    assert '<option value="music" selected>Musique</option>' in french


def test_a_visitors_value_is_joined_in_as_text_never_read_as_a_hole():
    called = []

    def hole(name: str, value: str = ""):
        def fill() -> str:
            called.append(name)
            return value

        return fill

    inputs = {"store_name": "Shop", "payments_test_mode": False, "authenticated": False}
    with translation.override("en"):
        html = fragment(
            "shop/_header.html",
            inputs,
            {
                "search": hole("search", "\x00hole:cart\x00"),
                "cart": hole("cart"),
                "csrf": hole("csrf", "never"),
            },
        )
    assert 'value="\x00hole:cart\x00"' in html
    # Each hole the template has is filled once; an anonymous header has no form to protect.
    assert sorted(called) == ["cart", "search"]


def test_a_template_loaded_again_is_rendered_again():
    inputs = {"store_name": "Shop", "payments_test_mode": False, "authenticated": False}
    holes = {name: str for name in ("search", "cart", "csrf")}
    with translation.override("en"):
        fragment("shop/_header.html", inputs, holes)
        misses = _parts.cache_info().misses
        fragment("shop/_header.html", inputs, holes)
        assert _parts.cache_info().misses == misses
        # What DEBUG's autoreload does when a template file changes.
        for loader in engines["django"].engine.template_loaders:
            loader.reset()
        fragment("shop/_header.html", inputs, holes)
    assert _parts.cache_info().misses == misses + 1
