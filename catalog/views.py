from __future__ import annotations

import secrets

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render

from catalog import selectors
from catalog.attribution import attribution_from_request
from catalog.discovery.params import listing_asked
from catalog.discovery.views import render_listing
from catalog.models import Product
from catalog.money import to_decimal_string


def home(request: HttpRequest) -> HttpResponse:
    asked = listing_asked(request.GET)
    return render_listing(request, "catalog/home.html", asked, {})


def seller(request: HttpRequest, seller: str) -> HttpResponse:
    found = selectors.seller_public(slug=seller)
    if found is None:
        raise Http404("No such seller.")
    asked = listing_asked(request.GET, seller=found)
    return render_listing(request, "catalog/seller.html", asked, {"seller": found})


class _Blank(dict[str, object]):
    """A form's errors or values, a file's metadata: a key the template asks for
    and nobody set is blank. Django's lookup of a missing key falls back to an attribute and then
    a ``dir()`` of the dict, raising twice on the way: about 8 % of the product page."""

    def __missing__(self, key: str) -> str:
        return ""


def product_context(product: Product, **extra: object) -> dict[str, object]:
    """What the product page needs; the checkout view re-renders it with errors."""
    previews = [a for a in product.ordered_assets if a.role == a.Role.PREVIEW]  # type: ignore[attr-defined]
    files = [a for a in product.ordered_assets if a.role == a.Role.DELIVERABLE]  # type: ignore[attr-defined]
    default_amount = ""
    if product.pricing == Product.Pricing.PWYW:
        default_amount = to_decimal_string(
            product.suggested_price or product.price, product.currency
        )
    # product_public read the tags with the product; a product from elsewhere reads them here.
    tags = getattr(product, "listed_tags", None)
    context: dict[str, object] = {
        "product": product,
        "previews": previews,
        "files": files,
        "tags": list(product.tags.all()) if tags is None else tags,
        "form_key": secrets.token_urlsafe(24),
        "form_values": {"email": "", "amount": default_amount},
        "errors": {},
        # The form as every visitor first sees it: the page's parts may be kept (decision 107).
        "form_untouched": "errors" not in extra and "form_values" not in extra,
    }
    context.update(extra)
    for name in ("errors", "form_values"):
        given = context[name]
        assert isinstance(given, dict)
        context[name] = _Blank(given)
    # The page reads each file's title, duration, pages, width and height, most of them unset.
    for asset in (*previews, *files):
        if type(asset.metadata) is dict:
            asset.metadata = _Blank(asset.metadata)
    return context


def product(request: HttpRequest, seller: str, product: str) -> HttpResponse:
    found = selectors.product_public(seller_slug=seller, product_slug=product)
    if found is None:
        raise Http404("No such product.")
    # The product shown, for whoever counts the view once the page is sent (shop.stats).
    request.product_shown = found  # type: ignore[attr-defined]
    context = product_context(found, attribution=attribution_from_request(request))
    return render(request, "catalog/product.html", context)
