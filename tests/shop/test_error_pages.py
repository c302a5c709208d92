"""Error pages in the site's look with a way home; the 500 page needs neither the DB nor context."""

from __future__ import annotations

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.test import Client, RequestFactory

from shop import settings as shop_settings
from shop.errors import server_error

pytestmark = pytest.mark.django_db

FAILING_URLS = "tests.shop.urls_failing"


def exploding_processor(request):
    raise RuntimeError("a context processor that fails")


def test_the_500_page_renders_without_context_processors_or_the_database(
    settings, django_assert_num_queries
):
    settings.STORE_NAME = "Les Ondes"
    settings.SITE_CONTACT_EMAIL = "help@ondes.example"
    settings.TEMPLATES = [
        {
            **settings.TEMPLATES[0],
            "OPTIONS": {"context_processors": ["tests.shop.test_error_pages.exploding_processor"]},
        }
    ]
    with django_assert_num_queries(0):
        response = server_error(RequestFactory().get("/"))
    html = response.content.decode()
    assert response.status_code == 500
    assert "<title>Something went wrong · Les Ondes</title>" in html
    assert '<a class="button" href="/">Back to the shop</a>' in html
    assert 'href="mailto:help@ondes.example"' in html
    assert "--accent: #5b3cc4" in html  # the site's look, inline: no stylesheet to fetch


def test_a_crash_anywhere_answers_with_the_branded_500_page(settings):
    settings.ROOT_URLCONF = FAILING_URLS
    response = Client(raise_request_exception=False).get("/boom/")
    assert response.status_code == 500
    assert "Back to the shop" in response.content.decode()


@pytest.mark.parametrize(
    ("url", "status", "heading"),
    [
        ("/no-such-page/", 404, "Not found"),
        ("/denied/", 403, "Not allowed"),
        ("/suspicious/", 400, "Bad request"),
    ],
)
def test_error_pages_wear_the_site_look_and_lead_home(settings, url, status, heading):
    settings.ROOT_URLCONF = FAILING_URLS
    settings.STORE_NAME = "Les Ondes"
    response = Client().get(url)
    html = response.content.decode()
    assert response.status_code == status
    assert f"<h1>{heading}</h1>" in html
    assert "echoppe/site.css" in html
    assert "· Les Ondes</title>" in html
    assert 'href="/"' in html


def test_an_expired_form_gets_the_branded_page_with_a_way_home(settings):
    settings.STORE_NAME = "Les Ondes"
    response = Client(enforce_csrf_checks=True).post("/cart/", {"email": "fan@example.com"})
    html = response.content.decode()
    assert response.status_code == 403
    assert "This form has expired" in html
    assert "<title>Form expired · Les Ondes</title>" in html
    assert "Back to the shop" in html


def test_the_footer_links_the_operators_pages_when_set(client, settings):
    settings.SITE_CONTACT_EMAIL = "help@ondes.example"
    settings.SITE_CONTACT_URL = "/contact/"
    settings.SITE_TERMS_URL = "https://ondes.example/terms"
    settings.SITE_REFUND_POLICY_URL = "https://ondes.example/refunds"
    footer = client.get("/").content.decode().split('<footer class="site-footer">')[1]
    for href, label in [
        ("/contact/", "Contact"),
        ("mailto:help@ondes.example", "help@ondes.example"),
        ("https://ondes.example/terms", "Terms"),
        ("https://ondes.example/refunds", "Refund policy"),
    ]:
        assert f'<a href="{href}">{label}</a>' in footer


def test_the_footer_has_no_empty_links_when_nothing_is_set(client, settings):
    for name in (
        "SITE_CONTACT_EMAIL",
        "SITE_CONTACT_URL",
        "SITE_TERMS_URL",
        "SITE_REFUND_POLICY_URL",
    ):
        setattr(settings, name, "")
    footer = client.get("/").content.decode().split('<footer class="site-footer">')[1]
    assert "<a " not in footer


@pytest.mark.parametrize("value", ["javascript:alert(1)", "//evil.example/x", "terms.html"])
def test_a_footer_address_that_is_not_a_web_page_is_refused_at_start(monkeypatch, value):
    monkeypatch.setenv("SITE_TERMS_URL", value)
    with pytest.raises(ImproperlyConfigured, match="SITE_TERMS_URL must start with https://"):
        shop_settings.env_url("SITE_TERMS_URL")


def test_a_contact_email_that_is_not_one_is_refused_at_start(monkeypatch):
    monkeypatch.setenv("SITE_CONTACT_EMAIL", "help at example")
    with pytest.raises(ImproperlyConfigured, match="SITE_CONTACT_EMAIL must be an email address"):
        shop_settings.env_email("SITE_CONTACT_EMAIL")
    monkeypatch.setenv("SITE_CONTACT_EMAIL", " help@example.com ")
    assert shop_settings.env_email("SITE_CONTACT_EMAIL") == "help@example.com"
