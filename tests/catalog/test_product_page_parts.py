"""The product and seller pages' own parts, kept per version of their rows
(catalog/pageparts.py, decision 107), and the follow form (follow_tags.py): what one visitor
sees never reaches another, and an edit shows at once."""

from __future__ import annotations

import re

import pytest
from django.core.cache import cache
from django.test import Client

from catalog import pageparts
from catalog.kept import fronts_forget
from catalog.models import Asset, Product, Seller, Tag
from tests.factories import ProductFactory, UserFactory, add_file

pytestmark = pytest.mark.django_db

_VISITOR = re.compile(r'(name="(?:csrfmiddlewaretoken|checkout_key)" value=")[^"]+')


def _page(client: Client, product: Product, query: str = "", **headers: str) -> str:
    response = client.get(product.get_absolute_url() + query, headers=headers)
    assert response.status_code == 200
    return response.content.decode()


@pytest.fixture
def renders(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The product parts rendered from templates (not taken from a cache), by product title."""
    seen: list[str] = []
    real = pageparts.rendered_parts

    def counting(template, values):
        seen.append(values["product"].title)
        return real(template, values)

    monkeypatch.setattr(pageparts, "rendered_parts", counting)
    return seen


@pytest.fixture
def renders_seller(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The seller parts rendered from templates, by the seller's name."""
    seen: list[str] = []
    real = pageparts.rendered_parts

    def counting(template, values):
        if "seller" in values:
            seen.append(values["seller"].display_name)
        return real(template, values)

    monkeypatch.setattr(pageparts, "rendered_parts", counting)
    return seen


def _product() -> Product:
    product = ProductFactory(
        title="Night Trains",
        pricing=Product.Pricing.PWYW,
        price=500,
        description="**Late** trains.",
    )
    add_file(product, name="a.pdf")
    add_file(product, name="sample.pdf", role=Asset.Role.PREVIEW, position=2)
    product.tags.add(Tag.objects.create(slug="ambient"))
    return product


def test_a_kept_page_is_the_page_rendered(client, renders):
    product = _product()
    first = _page(client, product)
    fronts_forget()
    cache.clear()
    again = _page(Client(), product)
    kept = _page(Client(), product)
    assert renders == ["Night Trains", "Night Trains"]
    # The same page to the byte, the visitor's token and form key aside.
    assert _VISITOR.sub(r"\1", first) == _VISITOR.sub(r"\1", again) == _VISITOR.sub(r"\1", kept)
    assert "<strong>Late</strong> trains." in kept and 'rel="tag">ambient</a>' in kept
    assert '"@type": "Product"' in kept or '"@type":"Product"' in kept
    assert "\x00" not in kept


def test_every_visitor_gets_their_own_token_key_and_attribution(client, renders):
    product = _product()
    first = _page(client, product, "?utm_source=newsletter&utm_campaign=spring")
    other = _page(Client(), product, **{"Referer": "https://blog.example.org/post"})
    assert renders == ["Night Trains"]  # the second visitor's page came from the kept parts
    assert 'name="utm_source" value="newsletter"' in first
    assert 'name="utm_campaign" value="spring"' in first
    assert "newsletter" not in other and "spring" not in other
    assert 'name="ref" value="blog.example.org"' in other
    tokens = [re.search(r'name="checkout_key" value="([^"]+)"', page)[1] for page in (first, other)]
    assert tokens[0] != tokens[1]


def test_the_token_in_a_kept_page_passes_the_csrf_check(client):
    product = _product()
    _page(Client(), product)  # kept by another visitor
    visitor = Client(enforce_csrf_checks=True)
    page = _page(visitor, product)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)[1]
    response = visitor.post(
        f"/checkout/{product.pk}/", {"csrfmiddlewaretoken": token, "email": "", "amount": "9"}
    )
    # Past the CSRF check (403 otherwise) to the form's own answer.
    assert response.status_code == 400
    assert 'role="alert"' in response.content.decode()


def test_an_edit_shows_on_the_next_view_even_through_update(client, renders):
    product = _product()
    _page(client, product)
    Product.objects.filter(pk=product.pk).update(title="Day Trains")  # updated_at unchanged
    assert "Day Trains" in _page(client, product)
    Seller.objects.filter(pk=product.seller_id).update(display_name="Les Ondes")
    assert "Les Ondes" in _page(client, product)
    Asset.objects.filter(product=product, role=Asset.Role.DELIVERABLE).update(
        metadata={"title": "Side A", "duration_seconds": 61}
    )
    page = _page(client, product)
    assert "Side A" in page and "1:01" in page
    Tag.objects.filter(slug="ambient").update(slug="drone")
    assert 'rel="tag">drone</a>' in _page(client, product)
    assert renders == ["Night Trains", "Day Trains", "Day Trains", "Day Trains", "Day Trains"]


def test_each_language_has_its_own_parts(client):
    product = _product()
    english = _page(client, product)
    french = Client().get("/fr" + product.get_absolute_url()).content.decode()
    assert "Try it" in english and "Try it" not in french
    assert "Essayer" in french


def test_typed_values_and_errors_are_shown_but_never_kept(client, renders):
    product = _product()
    response = client.post(
        f"/checkout/{product.pk}/", {"email": "typed@example.com", "amount": "0.01"}
    )
    assert response.status_code == 400
    assert 'value="typed@example.com"' in response.content.decode()
    page = _page(Client(), product)
    assert "typed@example.com" not in page and 'value="5.00"' in page
    # The failed checkout rendered its own parts; the plain page was rendered and kept.
    assert renders == ["Night Trains", "Night Trains"]
    _page(Client(), product)
    assert len(renders) == 2


def test_parts_are_shared_between_processes_through_the_cache(client, renders):
    product = _product()
    _page(client, product)
    fronts_forget()  # as another process, which has kept nothing
    _page(Client(), product)
    assert renders == ["Night Trains"]


def test_a_logged_in_visitor_sees_the_same_product_parts(client, renders):
    product = _product()
    anonymous = _page(Client(), product)
    client.force_login(UserFactory())
    logged_in = _page(client, product)
    assert renders == ["Night Trains"]
    shown = [
        _VISITOR.sub(r"\1", page.split('<div class="product">')[1].split("</main>")[0])
        for page in (anonymous, logged_in)
    ]
    assert shown[0] == shown[1]


def _seller_page(client: Client, seller: Seller) -> str:
    response = client.get(seller.get_absolute_url())
    assert response.status_code == 200
    return response.content.decode()


def test_a_seller_page_keeps_its_parts_and_shows_an_edit_at_once(client, renders_seller):
    product = _product()
    seller = product.seller
    Seller.objects.filter(pk=seller.pk).update(bio="Tapes **from** the coast.")
    seller.refresh_from_db()
    first = _seller_page(client, seller)
    again = _seller_page(Client(), seller)
    assert renders_seller == [seller.display_name]
    assert "<strong>from</strong> the coast." in again and "<title>" + seller.display_name in again
    assert _VISITOR.sub(r"\1", first) == _VISITOR.sub(r"\1", again)
    Seller.objects.filter(pk=seller.pk).update(display_name="Les Ondes", bio="")
    page = _seller_page(client, seller)
    assert "<h1>Les Ondes</h1>" in page and "coast" not in page
    assert renders_seller == [seller.display_name, "Les Ondes"]


def test_the_follow_form_greets_only_its_own_visitor(client):
    seller = _product().seller
    client.force_login(UserFactory(email="fan@example.com"))
    assert "Follow as fan@example.com" in _seller_page(client, seller)
    anonymous = _seller_page(Client(), seller)
    assert "fan@example.com" not in anonymous and 'id="follow-email"' in anonymous
    other = Client()
    other.force_login(UserFactory(email="other@example.com"))
    page = _seller_page(other, seller)
    assert "Follow as other@example.com" in page and "fan@example.com" not in page


def test_a_follow_error_shows_the_address_typed_escaped(client):
    seller = _product().seller
    response = client.post(f"/follow/@{seller.slug}/", {"email": "x<b>@"})
    assert response.status_code == 400
    html = response.content.decode()
    assert 'value="x&lt;b&gt;@"' in html and 'aria-invalid="true"' in html
    assert 'id="follow-error"' in html
    fresh = Client().get(f"/follow/@{seller.slug}/").content.decode()
    assert "x&lt;b&gt;@" not in fresh and 'aria-invalid="true"' not in fresh
