"""Products: what is sold, at what price, in which state, under which tags."""

from __future__ import annotations

import re
from datetime import date

from django.core.files import File
from django.db import transaction
from django.db.models import ProtectedError
from django.utils.text import slugify
from django.utils.translation import gettext

from catalog.currencies import CURRENCY_CODES, chargeable_currencies
from catalog.discovery.services import product_index
from catalog.follows.services import release_published
from catalog.license_format import license_key_normalize, license_pattern_error
from catalog.models import Asset, Product, Seller, Tag, UploadSession
from catalog.selectors import product_has_sales
from catalog.services import CatalogError
from catalog.services.images import image_store, stored_file_delete
from catalog.uploads.services import upload_abort

MAX_TAGS = 10


def tags_normalize(tags: list[str]) -> list[str]:
    """Lower-case slugs, without duplicates, in the order given."""
    found: list[str] = []
    for raw in tags:
        tag = slugify(raw.strip(), allow_unicode=True)[:40].strip("-")
        if raw.strip() and not tag:
            raise CatalogError(
                gettext("“%(strip)s” is not a usable tag.") % {"strip": raw.strip()[:40]},
                field="tags",
            )
        if tag and tag not in found:
            found.append(tag)
    if len(found) > MAX_TAGS:
        raise CatalogError(
            gettext("Up to %(MAX_TAGS)s tags, please.") % {"MAX_TAGS": MAX_TAGS}, field="tags"
        )
    return found


def _product_slug(seller: Seller, wanted: str, title: str, exclude: int | None) -> str:
    others = Product.objects.filter(seller=seller).exclude(pk=exclude or 0)
    if wanted:
        slug = wanted.strip().lower()
        if not re.match(r"^[a-z0-9](?:[a-z0-9-]{0,78}[a-z0-9])?$", slug):
            raise CatalogError(
                gettext("Use lower-case letters, digits and hyphens for the address."), field="slug"
            )
        if others.filter(slug=slug).exists():
            raise CatalogError(gettext("You already have a product at this address."), field="slug")
        return slug
    base = slugify(title)[:70].strip("-") or "product"
    slug, n = base, 1
    while others.filter(slug=slug).exists():
        n += 1
        slug = f"{base}-{n}"
    return slug


def pricing_check(pricing: str, price: int, suggested: int | None) -> tuple[int, int | None]:
    """(price, suggested price) as stored for ``pricing``, or a refusal naming the field."""
    if pricing == Product.Pricing.FREE:
        return 0, None
    if pricing == Product.Pricing.FIXED:
        if price <= 0:
            raise CatalogError(
                gettext("A fixed price must be more than zero (choose “Free” to give it away)."),
                field="price",
            )
        return price, None
    if pricing == Product.Pricing.PWYW:
        if suggested is not None and suggested < price:
            raise CatalogError(
                gettext("The suggested price cannot be below the minimum."), field="suggested_price"
            )
        return price, suggested
    raise CatalogError(gettext("Choose how the product is priced."), field="pricing")


def _check_status(product: Product, status: str, currency: str | None = None) -> None:
    if status not in Product.Status.values:
        raise CatalogError(gettext("Choose a status from the list."), field="status")
    currency = currency or product.currency
    on_sale = (Product.Status.PUBLISHED, Product.Status.UNLISTED)
    if status in on_sale and currency not in chargeable_currencies():
        raise CatalogError(
            gettext(
                "This shop takes payments in %(shop)s only: price the product in %(shop)s "
                "to put it on sale."
            )
            % {"shop": ", ".join(chargeable_currencies())},
            field="currency",
        )
    if status in (Product.Status.PUBLISHED, Product.Status.UNLISTED) and status != product.status:
        # Every missing step at once: a seller should not fix one to meet the next.
        missing = []
        if not product.seller.is_verified:
            missing.append(
                "verify your email address (open the link we sent to "
                f"{product.seller.user.email}, or ask for a new one on your dashboard)"
            )
        has_files = product.pk and product.assets.filter(role=Asset.Role.DELIVERABLE).exists()
        if not has_files:
            missing.append(
                "add at least one file for buyers"
                + (" on the product's Files page" if product.pk else " (save as a draft first)")
            )
        if missing:
            raise CatalogError(
                gettext("Before publishing, %(join)s.") % {"join": " and ".join(missing)},
                field="status",
            )


def _product_fill(
    product: Product,
    *,
    title: str,
    slug: str,
    kind: str,
    description: str,
    pricing: str,
    price: int,
    suggested_price: int | None,
    currency: str,
    status: str,
    release_date: date | None,
    cover: File | None,
    remove_cover: bool,
) -> None:
    title = title.strip()
    if not title:
        raise CatalogError(gettext("Give the product a title."), field="title")
    if kind not in Product.Kind.values:
        raise CatalogError(gettext("Choose what kind of product this is."), field="kind")
    if currency not in CURRENCY_CODES or (
        currency not in chargeable_currencies()
        and currency != (product.currency if product.pk else "")
    ):
        raise CatalogError(gettext("Choose a currency from the list."), field="currency")
    product.price, product.suggested_price = pricing_check(pricing, price, suggested_price)
    _check_status(product, status, currency)
    product.title = title[:200]
    product.slug = _product_slug(product.seller, slug, title, product.pk)
    product.kind = kind
    product.description = description.strip()
    product.pricing = pricing
    product.currency = currency
    product.status = status
    product.release_date = release_date
    if (cover is not None or remove_cover) and product.cover:
        stored_file_delete(field=product.cover)
        product.cover.name = ""
    if cover is not None:
        image_store(field=product.cover, source=cover)


def _product_tags(product: Product, tags: list[str]) -> None:
    names = tags_normalize(tags)
    existing = {t.slug: t for t in Tag.objects.filter(slug__in=names)}
    for name in names:
        if name not in existing:
            existing[name], _ = Tag.objects.get_or_create(slug=name)
    product.tags.set([existing[name] for name in names])


@transaction.atomic
def product_create(
    *,
    seller: Seller,
    title: str,
    kind: str,
    pricing: str,
    price: int = 0,
    suggested_price: int | None = None,
    currency: str | None = None,
    slug: str = "",
    description: str = "",
    status: str = Product.Status.DRAFT,
    release_date: date | None = None,
    tags: list[str] | None = None,
    cover: File | None = None,
) -> Product:
    product = Product(seller=seller)
    _product_fill(
        product,
        title=title,
        slug=slug,
        kind=kind,
        description=description,
        pricing=pricing,
        price=price,
        suggested_price=suggested_price,
        currency=currency
        or (seller.currency if seller.currency in chargeable_currencies() else None)
        or chargeable_currencies()[0],
        status=status,
        release_date=release_date,
        cover=cover,
        remove_cover=False,
    )
    product.save()
    _product_tags(product, tags or [])
    product_index(product=product)
    if product.status == Product.Status.PUBLISHED:
        release_published(product=product)
    return product


@transaction.atomic
def product_update(
    *,
    product: Product,
    title: str,
    kind: str,
    pricing: str,
    price: int,
    suggested_price: int | None,
    currency: str,
    slug: str,
    description: str,
    status: str,
    release_date: date | None,
    tags: list[str],
    cover: File | None = None,
    remove_cover: bool = False,
) -> Product:
    """Change a product. Unpublishing or archiving changes what the shop lists,
    never what buyers own: entitlements are not touched here."""
    product = Product.objects.select_for_update().select_related("seller__user").get(pk=product.pk)
    was = product.status
    _product_fill(
        product,
        title=title,
        slug=slug,
        kind=kind,
        description=description,
        pricing=pricing,
        price=price,
        suggested_price=suggested_price,
        currency=currency,
        status=status,
        release_date=release_date,
        cover=cover,
        remove_cover=remove_cover,
    )
    product.save()
    _product_tags(product, tags)
    product_index(product=product)
    if product.status == Product.Status.PUBLISHED and was != product.status:
        release_published(product=product)
    return product


MAX_ACTIVATIONS = 1_000_000


@transaction.atomic
def product_license_set(
    *, product: Product, enabled: bool, pattern: str, max_activations: int | None
) -> Product:
    """Whether each sale comes with a license key, what keys look like and how many
    activations each allows (empty: no limit). Keys already minted keep theirs."""
    pattern = license_key_normalize(pattern)
    error = license_pattern_error(pattern)
    if error is not None:
        raise CatalogError(error, field="license_format")
    if max_activations is not None and not 1 <= max_activations <= MAX_ACTIVATIONS:
        raise CatalogError(
            gettext("Allow from 1 to %(max)s activations, or leave it empty for no limit.")
            % {"max": format(MAX_ACTIVATIONS, ",")},
            field="license_max_activations",
        )
    product = Product.objects.select_for_update().get(pk=product.pk)
    product.license_keys = enabled
    product.license_format = pattern
    product.license_max_activations = max_activations
    product.save(
        update_fields=["license_keys", "license_format", "license_max_activations", "updated_at"]
    )
    return product


@transaction.atomic
def product_status_set(*, product: Product, status: str) -> Product:
    """Publish, unlist or unpublish a product under the same rules as its form.

    Buyers keep what they bought whatever the status.
    """
    product = Product.objects.select_for_update().select_related("seller__user").get(pk=product.pk)
    _check_status(product, status)
    if product.status != status:
        product.status = status
        product.save(update_fields=["status"])
        product_index(product=product)
        if status == Product.Status.PUBLISHED:
            release_published(product=product)
    return product


@transaction.atomic
def product_delete(*, product: Product) -> None:
    """Delete a product nobody has bought, with its files; otherwise refuse."""
    refusal = CatalogError(
        gettext(
            "“%(title)s” has buyers, so it cannot be deleted: archive it "
            "instead. Archived products leave the shop but stay in their "
            "buyers' libraries."
        )
        % {"title": product.title},
        status=409,
    )
    if product_has_sales(product=product):
        raise refusal
    stored = [a.stored for a in product.assets.all()]
    if product.cover:
        stored.append(product.cover)
    for upload in product.uploads.filter(status=UploadSession.Status.RECEIVING):
        upload_abort(upload=upload)
    try:
        with transaction.atomic():
            product.delete()
    except ProtectedError:
        raise refusal from None
    for field in stored:
        stored_file_delete(field=field)
