"""The seller's delivery settings of a product: which formats a lossless file is offered in."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from catalog.access import NotOwned, access_product_for_seller, request_seller, seller_required
from catalog.audio_formats import AUDIO_FORMATS
from catalog.models import Asset, Product
from delivery.formats.services import asset_is_lossless


class DeliveryForm(forms.Form):
    audio_formats = forms.MultipleChoiceField(
        label=gettext_lazy("Formats offered for lossless music"),
        choices=AUDIO_FORMATS,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=gettext_lazy(
            "Buyers can always download the file you uploaded. Files that are already "
            "lossy (MP3, AAC, Ogg...) are delivered as they are."
        ),
    )
    stamp_ebooks = forms.BooleanField(
        label=gettext_lazy("Stamp each buyer's PDFs and EPUBs"),
        required=False,
        help_text=gettext_lazy(
            "Every PDF page carries a small footer “Licensed to <name or email> — order <number>” "
            "(an EPUB, a page of its own), "
            "and the document's details name the buyer. It discourages sharing without a "
            "download limit."
        ),
    )


@transaction.atomic
def product_delivery_set(*, product: Product, formats: list[str], stamp_ebooks: bool) -> Product:
    known = dict(AUDIO_FORMATS)
    product = Product.objects.select_for_update().get(pk=product.pk)
    product.audio_formats = [key for key in known if key in set(formats)]
    product.stamp_ebooks = stamp_ebooks
    product.save(update_fields=["audio_formats", "stamp_ebooks", "updated_at"])
    return product


@seller_required
def delivery_settings(request: HttpRequest) -> HttpResponse:
    seller = request_seller(request)
    products = list(Product.objects.filter(seller=seller).prefetch_related("assets"))
    for product in products:
        product.lossless_count = sum(  # type: ignore[attr-defined]
            1
            for asset in product.assets.all()
            if asset.role == Asset.Role.DELIVERABLE and asset_is_lossless(asset)
        )
        labels = dict(AUDIO_FORMATS)
        product.format_labels = [str(labels[k]) for k in product.audio_formats if k in labels]  # type: ignore[attr-defined]
    return render(
        request,
        "delivery/formats/sell_delivery.html",
        {"seller": seller, "products": products, "active": "delivery"},
    )


@seller_required
def product_delivery(request: HttpRequest, product_id: int) -> HttpResponse:
    try:
        product = access_product_for_seller(request, product_id)
    except NotOwned:
        raise Http404("No such product.") from None
    form = DeliveryForm(
        request.POST or None,
        initial={
            "audio_formats": list(product.audio_formats or []),
            "stamp_ebooks": product.stamp_ebooks,
        },
    )
    if request.method == "POST" and form.is_valid():
        product_delivery_set(
            product=product,
            formats=form.cleaned_data["audio_formats"],
            stamp_ebooks=form.cleaned_data["stamp_ebooks"],
        )
        messages.success(request, _("Delivery settings saved."))
        return redirect("delivery:sell_product_delivery", product_id=product.pk)
    return render(
        request,
        "delivery/formats/sell_product_delivery.html",
        {
            "seller": product.seller,
            "product": product,
            "form": form,
            "active": "delivery",
        },
        status=400 if request.method == "POST" else 200,
    )
