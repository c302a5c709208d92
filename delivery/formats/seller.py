"""The seller's delivery settings of a product: which formats a lossless file is offered in."""

from __future__ import annotations

from collections.abc import Sequence

from django import forms
from django.contrib import messages
from django.db import transaction
from django.db.models import Count, Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from catalog.access import NotOwned, access_product_for_seller, request_seller, seller_required
from catalog.audio_formats import AUDIO_FORMATS
from catalog.limits import Limited, Rate, limit_hit
from catalog.models import Asset, Product
from catalog.money import CountError, parse_count
from delivery.formats.services import asset_is_lossless
from delivery.formats.tasks import product_update_mail
from delivery.models import Download, Entitlement
from delivery.selectors import libraries_shared_widely


class DeliveryForm(forms.Form):
    def clean_download_limit(self) -> int | None:
        text = (self.cleaned_data.get("download_limit") or "").strip()
        if not text:
            return None
        try:
            return parse_count(text, minimum=1, maximum=10_000, unit=_("downloads"))
        except CountError as exc:
            raise forms.ValidationError(str(exc)) from None

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
    download_limit = forms.CharField(
        label=gettext_lazy("Downloads per buyer and file"),
        required=False,
        max_length=12,
        help_text=gettext_lazy(
            "Empty means unlimited. Resumed downloads within 30 minutes count once. "
            "A change applies to every buyer of this product."
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
def product_delivery_set(
    *, product: Product, formats: list[str], stamp_ebooks: bool, download_limit: int | None
) -> Product:
    """The product's delivery settings; its limit applies to every purchase of it."""
    known = dict(AUDIO_FORMATS)
    product = Product.objects.select_for_update().get(pk=product.pk)
    product.audio_formats = [key for key in known if key in set(formats)]
    product.stamp_ebooks = stamp_ebooks
    product.download_limit = download_limit
    product.save(update_fields=["audio_formats", "stamp_ebooks", "download_limit", "updated_at"])
    Entitlement.objects.filter(product=product).update(download_limit=download_limit)
    return product


@transaction.atomic
def download_count_reset(*, entitlement: Entitlement) -> int:
    """Give a buyer their downloads back: counted downloads stay in the log
    (the sharing flag reads it) but no longer count. The number reset."""
    return Download.objects.filter(entitlement=entitlement, counted=True).update(
        counted=False, number=None
    )


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
            "download_limit": "" if product.download_limit is None else product.download_limit,
        },
    )
    if request.method == "POST" and form.is_valid():
        product_delivery_set(
            product=product,
            formats=form.cleaned_data["audio_formats"],
            stamp_ebooks=form.cleaned_data["stamp_ebooks"],
            download_limit=form.cleaned_data["download_limit"],
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
            "buyers": _buyers(product),
        },
        status=400 if request.method == "POST" else 200,
    )


def _buyers(product: Product) -> Sequence[Entitlement]:
    """Each buyer of the product with their counted downloads and whether their
    library looks shared widely (many networks in 24 hours)."""
    shared = set(libraries_shared_widely(seller=product.seller).values_list("pk", flat=True))
    buyers = list(
        Entitlement.objects.filter(product=product)
        .select_related("library")
        .annotate(download_count=Count("downloads", filter=Q(downloads__counted=True)))
        .order_by("-created_at")[:200]
    )
    for entitlement in buyers:
        entitlement.shared_widely = entitlement.library_id in shared  # type: ignore[attr-defined]
    return buyers


@seller_required
@require_POST
def buyer_downloads_reset(
    request: HttpRequest, product_id: int, entitlement_id: int
) -> HttpResponse:
    try:
        product = access_product_for_seller(request, product_id)
    except NotOwned:
        raise Http404("No such product.") from None
    entitlement = Entitlement.objects.filter(pk=entitlement_id, product=product).first()
    if entitlement is None:
        raise Http404("No such buyer.")
    reset = download_count_reset(entitlement=entitlement)
    messages.success(
        request,
        _("%(email)s has their downloads back (%(count)d reset).")
        % {"email": entitlement.library.email, "count": reset},
    )
    return redirect("delivery:sell_product_delivery", product_id=product.pk)


# One update notice per product a day: buyers are not a mailing list.
UPDATE_NOTICE_RATE = Rate(count=1, seconds=24 * 3600)


@seller_required
@require_POST
def buyers_notify_update(request: HttpRequest, product_id: int) -> HttpResponse:
    """ "Tell past buyers": one email per buyer (a task each), once a day per product."""
    try:
        product = access_product_for_seller(request, product_id)
    except NotOwned:
        raise Http404("No such product.") from None
    try:
        limit_hit(
            scope="update-notice",
            subject=f"product:{product.pk}",
            rate=UPDATE_NOTICE_RATE,
            message=_("Past buyers were told about an update less than a day ago."),
        )
    except Limited as exc:
        messages.warning(
            request, f"{exc.message} {_('Try again in %(wait)s.') % {'wait': exc.wait}}"
        )
        return redirect("delivery:sell_product_delivery", product_id=product.pk)
    ids = list(
        Entitlement.objects.filter(product=product, status=Entitlement.Status.ACTIVE)
        .order_by()  # the default ordering would make rows of one library distinct
        .values_list("library_id", flat=True)
        .distinct()
    )
    product_id_ = product.pk
    transaction.on_commit(
        lambda: [
            product_update_mail.enqueue(library_id=library_id, product_id=product_id_)
            for library_id in ids
        ]
    )
    messages.success(
        request, _("%(count)d buyers will get an email about the update.") % {"count": len(ids)}
    )
    return redirect("delivery:sell_product_delivery", product_id=product.pk)
