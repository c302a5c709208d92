"""Two languages: how a visitor gets one, what is written in it, and what junk changes nothing."""

from __future__ import annotations

import pytest
from django.core import mail
from django.template import Context, Template
from django.test import Client
from django.utils import translation

from catalog.l10n import format_size
from catalog.models import Product
from catalog.money import AmountError, format_money, parse_amount
from catalog.services import CatalogError
from catalog.services.products import product_status_set
from shop import translations
from shop.models import Order
from shop.tasks import send_receipt
from tests.factories import ProductFactory, SellerFactory
from tests.helpers import pay, start_checkout

pytestmark = pytest.mark.django_db

NBSP, NNBSP = "\u00a0", "\u202f"


def test_english_stays_at_the_old_addresses_and_french_lives_under_fr(client, product):
    english = client.get("/").content.decode()
    french = client.get("/fr/").content.decode()
    assert '<html lang="en">' in english and "Made by people, sold by them" in english
    assert '<html lang="fr">' in french and "Fait par des gens, vendu par eux" in french
    assert ">Panier<" in french and ">Cart<" not in french
    page = client.get(f"/fr{product.get_absolute_url()}").content.decode()
    assert "Ajouter au panier" in page
    assert f"Payer 12,50{NBSP}€" in page


def test_public_pages_name_their_other_language_and_a_default(client, product, settings):
    html = client.get(product.get_absolute_url()).content.decode()
    path = product.get_absolute_url()
    assert f'<link rel="alternate" hreflang="en" href="{settings.SITE_URL}{path}">' in html
    assert f'<link rel="alternate" hreflang="fr" href="{settings.SITE_URL}/fr{path}">' in html
    assert f'<link rel="alternate" hreflang="x-default" href="{settings.SITE_URL}{path}">' in html
    french = client.get(f"/fr{path}").content.decode()
    assert f'hreflang="en" href="{settings.SITE_URL}{path}"' in french


def test_a_french_browser_is_sent_to_the_french_page(client, product):
    response = client.get(
        product.get_absolute_url() + "?ref=x", HTTP_ACCEPT_LANGUAGE="fr-FR,fr;q=0.9"
    )
    assert response.status_code == 302
    assert response["Location"] == f"/fr{product.get_absolute_url()}?ref=x"
    assert "Accept-Language" in response["Vary"] and "Cookie" in response["Vary"]


def test_the_switchers_choice_beats_the_browser(client, product):
    response = client.post(
        "/i18n/setlang/", {"language": "en", "next": f"/fr{product.get_absolute_url()}"}
    )
    assert response.status_code == 302
    assert response["Location"] == product.get_absolute_url()
    assert response.cookies["echoppe_language"].value == "en"
    page = client.get(product.get_absolute_url(), HTTP_ACCEPT_LANGUAGE="fr")
    assert page.status_code == 200
    assert '<html lang="en">' in page.content.decode()
    client.post("/i18n/setlang/", {"language": "fr", "next": "/"})
    assert client.get("/")["Location"] == "/fr/"


def test_the_switcher_is_a_labelled_form_on_every_page(client, product):
    for path in ("/", "/cart/", "/library/lost/", product.get_absolute_url()):
        html = client.get(path).content.decode()
        assert 'action="/i18n/setlang/"' in html, path
        assert '<label for="language-select">Language</label>' in html, path
        assert '<option value="fr" lang="fr">Français</option>' in html, path


@pytest.mark.parametrize(
    "junk",
    ["xx", "../../etc/passwd", "fr" * 2000, "zh-hant-tw-x-1", "", "en;q=abc,fr;q="],
)
def test_junk_languages_are_ignored(client, product, junk):
    client.cookies["echoppe_language"] = junk
    response = client.get(
        f"{product.get_absolute_url()}?lang={junk[:50]}", HTTP_ACCEPT_LANGUAGE=junk
    )
    assert response.status_code == 200
    assert '<html lang="en">' in response.content.decode()
    refused = client.post("/i18n/setlang/", {"language": junk, "next": "/"})
    assert refused.status_code == 302
    assert "echoppe_language" not in refused.cookies


def test_back_office_pages_follow_the_cookie(db):
    seller = SellerFactory()
    client = Client()
    client.force_login(seller.user)
    client.cookies["echoppe_language"] = "fr"
    assert client.get("/sell/")["Location"] == "/fr/sell/"
    html = client.get("/fr/sell/").content.decode()
    assert "Vos produits" in html and "Nouveau produit" in html
    # The admin has one address and takes the cookie.
    admin = client.get("/admin/login/").content.decode()
    assert 'lang="fr"' in admin


def test_a_broken_translation_falls_back_to_english(product):
    catalog = translation.trans_real.translation("fr")
    original = catalog._catalog.get("Pay %(amount)s")
    catalog._catalog["Pay %(amount)s"] = "Payer %(montant)s"  # a placeholder that does not exist
    try:
        with translation.override("fr"):
            text = Template(
                "{% load i18n %}{% blocktranslate %}Pay {{ amount }}{% endblocktranslate %}"
            ).render(Context({"amount": "9"}))
    finally:
        catalog._catalog["Pay %(amount)s"] = original
    assert text == "Pay 9"
    with translation.override("fr"):
        assert translation.gettext("A sentence nobody translated") == "A sentence nobody translated"


@pytest.mark.parametrize(
    ("amount", "currency", "english", "french"),
    [
        (1250, "EUR", "€12.50", f"12,50{NBSP}€"),
        (123456789, "EUR", "€1,234,567.89", f"1{NNBSP}234{NNBSP}567,89{NBSP}€"),
        (1250, "JPY", "¥1,250", f"1{NNBSP}250{NBSP}JPY"),
        (12500, "KWD", f"KWD{NBSP}12.500", f"12,500{NBSP}KWD"),
        (-50, "EUR", "-€0.50", f"-0,50{NBSP}€"),
    ],
)
def test_money_is_written_for_the_language(amount, currency, english, french):
    with translation.override("en"):
        assert format_money(amount, currency) == english
    with translation.override("fr"):
        assert format_money(amount, currency) == french


def test_sizes_are_written_for_the_language():
    with translation.override("fr"):
        assert format_size(1_500_000) == f"1,5{NBSP}Mo"
        assert format_size(999) == "999 octets"
    with translation.override("en"):
        assert format_size(1_500_000) == "1.5 MB"
        assert format_size(1) == "1 byte"


@pytest.mark.parametrize("language", ["en", "fr"])
def test_both_decimal_marks_are_read_in_both_languages(language):
    with translation.override(language):
        assert parse_amount("12,50", "EUR") == parse_amount("12.50", "EUR") == 1250


def test_a_thousands_separator_is_refused_not_read_as_one_euro():
    with translation.override("en"), pytest.raises(AmountError) as english:
        parse_amount("1,000", "EUR")
    assert "without a thousands separator, as 1000" in str(english.value)
    with translation.override("fr"), pytest.raises(AmountError) as french:
        parse_amount("1,000", "EUR")
    assert "sans séparateur de milliers" in str(french.value) or "1000" in str(french.value)


def test_the_receipt_is_written_in_the_buyers_language_even_from_the_worker(
    client, product, django_capture_on_commit_callbacks
):
    response = client.post(
        f"/fr/checkout/{product.pk}/", {"email": "lea@example.com", "checkout_key": "f" * 24}
    )
    order = Order.objects.get(checkout_key="f" * 24)
    assert response.status_code == 302
    assert order.language == "fr"
    with django_capture_on_commit_callbacks(execute=True):
        pay(client, order)
    receipt = [m for m in mail.outbox if "lea@example.com" in m.to][-1]
    assert receipt.subject == "Votre reçu Échoppe et vos téléchargements"
    assert "Merci pour votre achat" in receipt.body
    assert f"12,50{NBSP}€" in receipt.body
    assert "/fr/library/" in receipt.body
    # The worker has no request and no active language: the order decides.
    mail.outbox.clear()
    from catalog.outbox.services import outbox_add

    again = outbox_add(send_receipt, key=f"test-receipt-again-{order.pk}", order_id=order.pk)
    with translation.override("en"):
        send_receipt.call(outbox_id=again.pk)
    assert mail.outbox[0].subject == "Votre reçu Échoppe et vos téléchargements"


def test_the_seller_is_told_of_a_sale_in_their_own_language(
    client, db, django_capture_on_commit_callbacks
):
    seller = SellerFactory(language="fr")
    product = ProductFactory(seller=seller, title="Trains de nuit")
    start_checkout(client, product, email="fan@example.com")
    with django_capture_on_commit_callbacks(execute=True):
        pay(client, Order.objects.get())
    (sale,) = [m for m in mail.outbox if seller.user.email in m.to]
    assert sale.subject == "Vous avez vendu Trains de nuit"
    assert "Bonne nouvelle" in sale.body
    buyer = [m for m in mail.outbox if "fan@example.com" in m.to][-1]
    assert buyer.subject == "Your Échoppe receipt and downloads"


def test_only_the_currency_the_shop_charges_is_offered(db):
    seller = SellerFactory(currency="USD")
    client = Client()
    client.force_login(seller.user)
    html = client.get("/sell/products/new/").content.decode()
    assert '<option value="EUR" selected>EUR · Euro</option>' in html
    assert 'value="USD"' not in html


def test_a_product_in_another_currency_can_be_neither_published_nor_bought(client, db):
    legacy = ProductFactory(currency="USD", status=Product.Status.DRAFT)
    with pytest.raises(CatalogError, match="takes payments in EUR only"):
        product_status_set(product=legacy, status=Product.Status.PUBLISHED)
    Product.objects.filter(pk=legacy.pk).update(status=Product.Status.PUBLISHED)
    page = client.get(legacy.get_absolute_url()).content.decode()
    assert "a currency this shop does not take payments in yet" in page
    assert 'action="/checkout/' not in page
    response = start_checkout(client, legacy)
    assert response.status_code == 400
    assert "is priced in USD; this shop sells in EUR" in response.content.decode()
    assert not Order.objects.exists()


def test_the_french_catalogue_is_complete_and_up_to_date():
    assert translations.catalogue_problems() == []
    assert translations.makemessages_drift() == []
