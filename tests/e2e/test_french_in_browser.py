"""The seller and the buyer journeys in a French browser, without an English word on the way.

A browser whose language is French lands on /fr/; every page is checked for
English words (the data the test types in is French) and photographed under
test-artifacts/ as fr-*.png.
"""

from __future__ import annotations

import re

import pytest
from django.core import mail
from playwright.sync_api import expect

from catalog.models import Asset, Product
from shop.models import Order
from tests.e2e.conftest import ARTIFACTS
from tests.factories import pdf_bytes

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

# Words that only English has (case-sensitive, whole words); titles, names and
# file names in this test are French, so none of these may appear.
ENGLISH = re.compile(
    r"\b(the|The|your|Your|you|and|with|this|This|that|of|to|by|is|are|for|from|Download"
    r"|Order|Cart|Sell|Pay|Log|Files|Price|Buy|Save|Upload|Email|Added|Publish|Edit|Delete"
    r"|Status|Draft|Published|Free|Back|Shop|Library|Receipt|Thank|Checking|Waiting)\b"
)


def english_left(page) -> list[str]:
    # Time zone names ("Isle of Man") are data, as are scripts' JSON.
    text = page.evaluate(
        "(() => { const c = document.body.cloneNode(true);"
        " c.querySelectorAll('script, style, #id_timezone').forEach(e => e.remove());"
        " return c.innerText; })()"
    )
    labels = page.evaluate(
        "[...document.querySelectorAll('[aria-label],[alt],[title],[placeholder]')]"
        ".map(e => [e.getAttribute('aria-label'), e.getAttribute('alt'), e.title,"
        " e.getAttribute('placeholder')].filter(Boolean).join(' ')).join(' ')"
    )
    title = page.title()
    everything = f"{text} {labels} {title}"
    return sorted(
        {everything[max(0, m.start() - 40) : m.end() + 20] for m in ENGLISH.finditer(everything)}
    )


def check(page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"fr-{name}.png"), full_page=True)
    assert page.evaluate("document.documentElement.lang") == "fr", name
    assert english_left(page) == [], f"English words left on {name}: {page.url}"


@pytest.fixture
def french(browser, live_server):
    context = browser.new_context(locale="fr-FR", viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(15_000)
    yield page
    context.close()


def test_a_french_seller_opens_a_shop_and_publishes(french, live_server):
    page = french
    page.goto(live_server.url + "/")
    page.wait_for_url(re.compile("/fr/$"))
    check(page, "home-empty")
    page.get_by_role("link", name="Vendre", exact=True).click()
    page.wait_for_url(re.compile("/fr/sell/signup/"))
    check(page, "seller-signup")
    page.get_by_label("Votre nom ou celui de votre boutique").fill("Les Ondes Douces")
    page.get_by_label("E-mail").fill("ondes@example.com")
    page.get_by_label("Mot de passe").fill("trains-de-nuit-tranquilles")
    page.get_by_role("button", name="Créer ma boutique").click()
    page.wait_for_url(re.compile("/fr/sell/$"))
    check(page, "seller-dashboard-empty")

    # The verification mail is French, and its link leads to the French page.
    (verify,) = [m for m in mail.outbox if "ondes@example.com" in m.to]
    assert verify.subject == "Confirmez votre e-mail pour Échoppe"
    assert "Merci de confirmer que cette adresse est bien la vôtre" in verify.body
    link = re.search(r"http://testserver(/fr/sell/verify/\S+/)", verify.body).group(1)
    page.goto(live_server.url + link)
    expect(page.get_by_role("heading", name="E-mail confirmé")).to_be_visible()
    check(page, "seller-verified")

    page.get_by_role("link", name="Aller à mes produits").click()
    page.get_by_role("link", name="Nouveau produit", exact=True).first.click()
    page.get_by_label("Titre").fill("Carnets de terrain")
    page.get_by_role("textbox", name="Prix", exact=True).fill("7,50")
    check(page, "seller-product-new")
    page.get_by_role("button", name="Enregistrer comme brouillon").click()
    page.wait_for_url(re.compile(r"/fr/sell/products/\d+/files/"))
    product = Product.objects.get()
    assert product.price == 750

    # The uploader speaks French too (Django's JavaScript catalogue).
    page.get_by_label("Choisir des fichiers").set_input_files(
        [{"name": "carnets.pdf", "mimeType": "application/pdf", "buffer": pdf_bytes(b"x" * 5000)}]
    )
    page.get_by_role("button", name="Envoyer").click()
    row = page.locator(".upload-row", has_text="carnets.pdf")
    row.get_by_text(re.compile("Ajouté")).wait_for(timeout=60_000)
    assert Asset.objects.filter(product=product).count() == 1
    check(page, "seller-files-uploaded")
    page.reload()
    page.get_by_role("button", name="Publier").click()
    page.get_by_text("Publié", exact=True).first.wait_for()
    check(page, "seller-files-published")
    page.goto(live_server.url + "/fr/sell/profile/")
    assert page.get_by_label("Langue de vos e-mails").input_value() == "fr"
    check(page, "seller-profile")
    page.get_by_role("link", name="Tableau de bord", exact=True).first.click()
    page.get_by_role("heading", name="Tableau de bord").wait_for()
    check(page, "seller-dashboard")


def test_a_french_buyer_buys_and_downloads(french, live_server):
    from tests.factories import ProductFactory, SellerFactory, add_file

    seller = SellerFactory(display_name="Maëlle Durand")
    product = ProductFactory(seller=seller, title="Carnets de terrain", price=1250)
    add_file(product, pdf_bytes(b"y" * 2000), "carnets.pdf")
    page = french
    page.goto(live_server.url + product.get_absolute_url())
    page.wait_for_url(re.compile("/fr/@"))
    expect(page.get_by_role("button", name="Payer 12,50\u00a0€")).to_be_visible()
    check(page, "product")

    page.get_by_label("Votre e-mail").fill("pas-une-adresse")
    page.get_by_role("button", name="Payer 12,50\u00a0€").click()
    expect(page.get_by_text("Saisissez une adresse e-mail valide").first).to_be_visible()
    check(page, "product-error")

    page.get_by_label("Votre e-mail").fill("lea@example.com")
    page.get_by_role("button", name="Payer 12,50\u00a0€").click()
    page.wait_for_url(re.compile("/fr/pay/test/"))
    check(page, "test-payment")
    page.get_by_role("button", name="Payer 12,50\u00a0€").click()
    page.wait_for_url(re.compile("/fr/orders/"))
    expect(page.get_by_role("heading", name="Merci\u202f!")).to_be_visible()
    check(page, "receipt")
    order = Order.objects.get()
    assert (order.status, order.language) == (Order.Status.PAID, "fr")
    with page.expect_download() as info:
        page.get_by_role("link", name="Télécharger carnets.pdf").click()
    assert info.value.suggested_filename == "carnets.pdf"

    (receipt,) = [m for m in mail.outbox if "lea@example.com" in m.to]
    assert receipt.subject == "Votre reçu Échoppe et vos téléchargements"
    library = re.search(r"http://testserver(/fr/library/[^\s]+/)", receipt.body).group(1)
    page.goto(live_server.url + library)
    expect(page.get_by_role("heading", name="Votre bibliothèque")).to_be_visible()
    check(page, "library")

    # The switcher takes the buyer back to the same page in English, and remembers it.
    page.get_by_label("Langue").select_option("en")
    page.get_by_role("button", name="Changer").click()
    page.wait_for_url(re.compile(r"/library/"))
    assert page.evaluate("document.documentElement.lang") == "en"
    assert "/fr/" not in page.url
    expect(page.get_by_role("heading", name="Your library")).to_be_visible()
    page.goto(live_server.url + product.get_absolute_url())
    expect(page.get_by_role("button", name="Pay €12.50")).to_be_visible()
