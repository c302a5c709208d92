"""The seller's license key pages: thin, every key through ``access_license_for_seller``."""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext
from django.views.decorators.http import require_GET, require_POST

from catalog.access import access_product_for_seller, request_seller, seller_required
from catalog.models import Product
from catalog.paging import page_of
from delivery.licenses import services
from delivery.licenses.access import access_license_for_seller
from delivery.licenses.selectors import seller_licenses


@seller_required
@require_GET
def licenses(request: HttpRequest) -> HttpResponse:
    seller = request_seller(request)
    product = None
    if request.GET.get("product"):
        product = access_product_for_seller(request, request.GET["product"])
    page, error = page_of(
        seller_licenses(seller=seller, product=product), 50, request.GET.get("page")
    )
    return render(
        request,
        "licenses/sell_licenses.html",
        {
            "seller": seller,
            "page": page,
            "page_error": error,
            "product": product,
            "products": Product.objects.filter(seller=seller, license_keys=True).order_by("title"),
            "active": "licenses",
        },
        status=400 if error else 200,
    )


@seller_required
@require_GET
def license_detail(request: HttpRequest, license_id: int) -> HttpResponse:
    license = access_license_for_seller(request, license_id)
    return render(
        request,
        "licenses/sell_license.html",
        {
            "seller": license.product.seller,
            "license": license,
            "activations": license.activations.all()[:200],
            "active": "licenses",
        },
    )


ACTIONS = {
    "reset": services.license_reset,
    "revoke": services.license_revoke,
    "restore": services.license_restore,
    "regenerate": services.license_regenerate,
}


@seller_required
@require_POST
def license_action(request: HttpRequest, license_id: int, action: str) -> HttpResponse:
    license = access_license_for_seller(request, license_id)
    if action not in ACTIONS:
        raise Http404("No such action.")
    ACTIONS[action](license=license)
    messages.success(request, _messages()[action])
    return redirect("licenses:sell_license", license_id=license.pk)


def _messages() -> dict[str, str]:
    return {
        "reset": gettext("The activations of this key are reset."),
        "revoke": gettext("This key is revoked: it no longer verifies."),
        "restore": gettext("This key works again."),
        "regenerate": gettext(
            "The buyer has a new key, shown in their library; the old one no longer verifies."
        ),
    }
