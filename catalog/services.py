"""Writes for the catalog."""

from __future__ import annotations

import hashlib
import io
import logging
import os
import re
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime, timedelta
from typing import BinaryIO, NoReturn
from zoneinfo import available_timezones

from django.conf import settings
from django.contrib.auth import get_user_model, password_validation
from django.contrib.auth.models import User
from django.core import signing
from django.core.exceptions import ValidationError
from django.core.files import File
from django.core.files.base import ContentFile
from django.core.validators import URLValidator, validate_email
from django.db import transaction
from django.db.models import Max, ProtectedError
from django.db.models.fields.files import FieldFile
from django.utils import timezone
from django.utils.text import slugify

from catalog import uploads
from catalog.currencies import CURRENCY_CODES
from catalog.inspection import Inspection, image_renditions, inspect_path
from catalog.inspection.types import INSPECTION_FIELDS, RENDITION_SIZES, MediaRefused
from catalog.media import safe_filename, sha256_and_size, sniff
from catalog.models import (
    Asset,
    Product,
    Seller,
    Tag,
    UploadSession,
    _asset_path,
    _preview_path,
)
from catalog.selectors import product_has_sales
from catalog.storage import private_storage

logger = logging.getLogger(__name__)


@transaction.atomic
def asset_create(
    *,
    product: Product,
    file: File,
    original_filename: str,
    role: str = Asset.Role.DELIVERABLE,
    position: int = 0,
    metadata: dict[str, object] | None = None,
) -> Asset:
    """Store a file for a product, described by its content, not its name."""
    original_filename = safe_filename(original_filename)
    asset = Asset(
        product=product, role=role, position=position, original_filename=original_filename
    )
    asset_describe(asset=asset, file=file)
    if metadata:
        asset.metadata = {**asset.metadata, **metadata}
    # Previews go to the public storage (the page's players fetch them), the rest
    # to the private one; `Asset.stored` is whichever field the role uses.
    asset.stored.save(original_filename, file, save=False)
    try:
        asset.save()
    except Exception:
        _storage_delete(asset.stored)
        raise
    return asset


def asset_describe(*, asset: Asset, file: File, content_type: str | None = None) -> Inspection:
    """Fill size, hash, detected type and metadata from the content, or refuse the file.

    The bytes are streamed for the hash, and read by `catalog.inspection` in a
    child process bounded in time and memory (the same code as `manage.py
    inspect_media`), on the file's own path when it has one (an upload's
    temporary file, a file opened from disk), else on a temporary copy.
    `asset.original_filename` and `content_type` (what the browser said) are
    claims: a contradiction with the content refuses the file.

    Raises `MediaRefused` (its `reason` is written for the seller). Returns the
    inspection, whose `cover` holds embedded cover art the caller may offer.
    """
    with _inspectable_copy(file) as (path, digest, size):
        found = inspect_path(
            path,
            claimed_name=asset.original_filename or file.name,
            claimed_type=content_type,
        )
    asset.sha256, asset.size_bytes = digest, size
    asset.kind, asset.mime_type = found.kind, found.mime[:100]
    # Facts from a previous file (an admin replacing it) must not survive.
    kept = {k: v for k, v in (asset.metadata or {}).items() if k not in INSPECTION_FIELDS}
    asset.metadata = {**kept, **found.details()}
    return found


@contextmanager
def _inspectable_copy(file: File) -> Iterator[tuple[str, str, int]]:
    """(path, SHA-256, size) of `file`: its own path when it has one, else a temporary copy.

    Either way the bytes are read in chunks; a copy is hashed while it is written.
    """
    temporary_path = getattr(file, "temporary_file_path", None)
    raw = getattr(file, "file", file)
    name = getattr(raw, "name", None)
    own = temporary_path() if callable(temporary_path) else name
    if isinstance(own, str) and (callable(temporary_path) or _is_open_file_at(raw, own)):
        digest, size = sha256_and_size(file)  # type: ignore[arg-type]
        yield own, digest, size
        return
    hasher, size = hashlib.sha256(), 0
    with tempfile.NamedTemporaryFile(
        prefix="echoppe-inspect-", dir=settings.FILE_UPLOAD_TEMP_DIR
    ) as copy:
        for chunk in file.chunks():
            hasher.update(chunk)
            size += len(chunk)
            copy.write(chunk)
        copy.flush()
        file.seek(0)
        yield copy.name, hasher.hexdigest(), size


def _is_open_file_at(handle: object, path: str) -> bool:
    """Whether `path` names the very file `handle` has open (not one that shares its name)."""
    try:
        opened = os.fstat(handle.fileno())  # type: ignore[attr-defined]
        named = os.stat(path)
    except (AttributeError, OSError, ValueError, io.UnsupportedOperation):
        return False
    return (opened.st_dev, opened.st_ino) == (named.st_dev, named.st_ino)


# --- The seller's side: accounts, products, files, uploads -------------------
#
# Everything below is called by views that already passed the ownership gate
# (catalog/access.py); these functions check the rules of the catalog itself.


class CatalogError(Exception):
    """A refusal a person can act on; ``field`` names the form field it concerns."""

    def __init__(self, message: str, *, field: str | None = None, status: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        self.status = status


# Seller addresses are /@<slug>/; these would let a shop pass for the site itself.
RESERVED_SLUGS = frozenset(
    """about account accounts admin administrator api billing checkout contact dashboard
    echoppe help home library login logout media new official orders pay payments privacy
    root search security sell seller sellers settings shop signup static staff store support
    system tags terms upload uploads www""".split()  # noqa: SIM905 - a word list reads better
)
SLUG_RE = re.compile(r"^[a-z0-9](?:[a-z0-9-]{1,58}[a-z0-9])$")
MAX_LINKS = 5
MAX_TAGS = 10
EMAIL_VERIFY_SALT = "catalog.email-verify"


def _describe(asset: Asset, file: File, content_type: str | None = None) -> object:
    """Inspect through `asset_describe`, turning its refusal into a CatalogError."""
    try:
        return asset_describe(asset=asset, file=file, content_type=content_type)
    except MediaRefused as exc:
        raise CatalogError(exc.reason or "This file could not be read.", field="file") from exc


# What a public preview may be: types every browser shows itself, and nothing a
# browser would run (an SVG or HTML preview served from the shop's own origin could).
PREVIEW_TYPES = {
    "application/pdf": "pdf",
    "application/epub+zip": "epub",
    "image/jpeg": "jpg",
    "image/png": "png",
    "image/webp": "webp",
}


def _preview_name(asset: Asset) -> str:
    """The stored name of a preview, its extension from the detected type, not the
    seller's file name (the public storage serves by extension)."""
    mime = asset.mime_type.split(";")[0].strip()
    if mime in PREVIEW_TYPES:
        return f"preview.{PREVIEW_TYPES[mime]}"
    if mime.startswith(("audio/", "video/")) and asset.kind in ("audio", "video"):
        known = {"audio/mpeg": "mp3", "audio/mp4": "m4a", "video/quicktime": "mov"}
        suffix = known.get(mime) or mime.split("/", 1)[1].removeprefix("x-")
        suffix = {"matroska": "mkv", "wave": "wav", "vnd.wave": "wav"}.get(suffix, suffix)
        return f"preview.{suffix if suffix.isalnum() else 'bin'}"
    raise CatalogError(
        f"A public preview must be audio, video, a PDF, an EPUB or an image; this file is "
        f"{asset.mime_type}. Add it as a file for buyers instead.",
        field="file",
    )


def _offer_cover(product: Product, inspection: object) -> None:
    """Embedded cover art (an album's) becomes the cover of a product that has none;
    the seller can replace it on the product page."""
    art = getattr(inspection, "cover", None)
    if art is None or product.cover:
        return
    try:
        image_store(field=product.cover, source=art.data)
    except CatalogError:
        return  # art the image reader refuses is simply not offered
    Product.objects.filter(pk=product.pk).update(cover=product.cover.name)


def image_store(*, field: FieldFile, source: File | bytes) -> None:
    """Store a cover or avatar as re-encoded sizes, never as uploaded.

    Each size of ``RENDITION_SIZES`` is written as WebP and JPEG beside each
    other (``<folder>/1200.webp``, ``<folder>/1200.jpg``, ...) without EXIF,
    GPS or other metadata; the field names the largest JPEG, and
    ``image_variant`` finds the others.
    """
    if isinstance(source, bytes):
        data: str | bytes = source
        head = io.BytesIO(source)
    else:
        path = getattr(source, "temporary_file_path", None)
        data = path() if callable(path) else source.read()
        source.seek(0)
        head = source  # type: ignore[assignment]
    mime = sniff(head).mime  # type: ignore[arg-type]
    try:
        renditions = image_renditions(data, mime)
    except MediaRefused as exc:
        raise CatalogError(exc.reason, field=field.field.name) from exc
    folder = f"{field.field.name}s/{uuid.uuid4().hex}"
    storage = field.storage
    for rendition in renditions:
        storage.save(f"{folder}/{rendition.name}", ContentFile(rendition.data))
    field.name = f"{folder}/{renditions[0].name.split('.')[0]}.jpg"


SIZED_IMAGE = re.compile(r"/\d+\.jpg$")


def image_variant(name: str, variant: str) -> str:
    """The stored name of another size of an image stored by ``image_store``."""
    folder, _, _ = name.rpartition("/")
    return f"{folder}/{variant}"


def _storage_delete(field: FieldFile) -> None:
    name = field.name
    if name:
        storage = field.storage
        names = [name]
        if SIZED_IMAGE.search(name):  # the other sizes stored beside it by image_store
            names = [
                image_variant(name, f"{size}.{suffix}")
                for size in RENDITION_SIZES
                for suffix in ("webp", "jpg")
            ]

        def delete_all() -> None:
            for stored in names:
                storage.delete(stored)

        transaction.on_commit(delete_all)


# --- Sellers -----------------------------------------------------------------


def slug_check(slug: str) -> str:
    slug = (slug or "").strip().lower()
    if not SLUG_RE.match(slug):
        raise CatalogError(
            "Use 3 to 60 lower-case letters, digits and hyphens, starting and ending with a "
            "letter or digit.",
            field="slug",
        )
    if slug in RESERVED_SLUGS:
        raise CatalogError(f"“{slug}” is reserved; choose another address.", field="slug")
    return slug


def _free_seller_slug(name: str) -> str:
    base = slugify(name)[:50].strip("-") or "shop"
    if len(base) < 3 or base in RESERVED_SLUGS:
        base = f"{base}-shop".strip("-")
    candidate, n = base, 1
    while Seller.objects.filter(slug=candidate).exists():
        n += 1
        candidate = f"{base}-{n}"
    return candidate


def _free_username(email: str) -> str:
    user_model = get_user_model()
    base = email[:140]
    candidate, n = base, 1
    while user_model.objects.filter(username=candidate).exists():
        n += 1
        candidate = f"{base}-{n}"
    return candidate


@transaction.atomic
def seller_signup(*, email: str, password: str, display_name: str) -> Seller:
    """A new account and its seller profile; the verification email leaves on commit."""
    display_name = display_name.strip()
    if not display_name:
        raise CatalogError("Enter the name buyers will see.", field="display_name")
    return seller_create(
        user=account_create(email=email, password=password), display_name=display_name
    )


def account_create(*, email: str, password: str) -> User:
    """A new account that logs in with its email (a buyer's, or a seller's to be)."""
    email = email.strip().lower()
    try:
        validate_email(email)
    except ValidationError:
        raise CatalogError("Enter a valid email address.", field="email") from None
    user_model = get_user_model()
    if user_model.objects.filter(email__iexact=email).exists():
        raise CatalogError(
            "An account already uses this address: log in, or reset its password.",
            field="email",
        )
    user = user_model(username=_free_username(email), email=email)
    try:
        password_validation.validate_password(password, user=user)
    except ValidationError as exc:
        raise CatalogError(" ".join(exc.messages), field="password") from None
    user.set_password(password)
    user.save()
    return user


@transaction.atomic
def seller_create(*, user: User, display_name: str) -> Seller:
    """A seller profile for an existing account (sign-up, or a buyer who starts selling)."""
    email = getattr(user, "email", "")
    if not email:
        raise CatalogError("Your account needs an email address first.", field="display_name")
    if Seller.objects.filter(user=user).exists():
        raise CatalogError("This account already has a shop.")
    display_name = display_name.strip()[:120]
    if not display_name:
        raise CatalogError("Enter the name buyers will see.", field="display_name")
    currency = settings.STORE_CURRENCY if settings.STORE_CURRENCY in CURRENCY_CODES else "EUR"
    seller = Seller.objects.create(
        user=user,
        display_name=display_name,
        slug=_free_seller_slug(display_name),
        currency=currency,
        timezone=settings.TIME_ZONE,
    )
    seller_send_verification(seller=seller)
    return seller


def links_check(links: list[str]) -> list[str]:
    cleaned: list[str] = []
    validator = URLValidator(schemes=["http", "https"])
    for link in links:
        link = link.strip()
        if not link:
            continue
        try:
            validator(link)
        except ValidationError:
            raise CatalogError(
                f"“{link[:80]}” is not a web address (it must start with https://).",
                field="links",
            ) from None
        if link not in cleaned:
            cleaned.append(link)
    if len(cleaned) > MAX_LINKS:
        raise CatalogError(f"Up to {MAX_LINKS} links, please.", field="links")
    return cleaned


@transaction.atomic
def seller_update(
    *,
    seller: Seller,
    display_name: str,
    slug: str,
    bio: str,
    links: list[str],
    currency: str,
    timezone_name: str,
    avatar: File | None = None,
    remove_avatar: bool = False,
) -> Seller:
    display_name = display_name.strip()
    if not display_name:
        raise CatalogError("Enter the name buyers will see.", field="display_name")
    slug = slug_check(slug)
    if Seller.objects.filter(slug=slug).exclude(pk=seller.pk).exists():
        raise CatalogError("Another shop already uses this address.", field="slug")
    if currency not in CURRENCY_CODES:
        raise CatalogError("Choose a currency from the list.", field="currency")
    if timezone_name not in available_timezones():
        raise CatalogError("Choose a time zone from the list.", field="timezone")
    seller.display_name = display_name[:120]
    seller.slug = slug
    seller.bio = bio.strip()
    seller.links = links_check(links)
    seller.currency = currency
    seller.timezone = timezone_name
    if (avatar is not None or remove_avatar) and seller.avatar:
        _storage_delete(seller.avatar)
        seller.avatar.name = ""
    if avatar is not None:
        image_store(field=seller.avatar, source=avatar)
    seller.save()
    return seller


def email_verification_token(*, seller: Seller) -> str:
    signer = signing.TimestampSigner(salt=EMAIL_VERIFY_SALT)
    return signer.sign_object({"s": seller.pk, "e": seller.user.email.lower()}, compress=False)


def seller_send_verification(*, seller: Seller) -> None:
    """Email the seller a signed, expiring link (sent once the transaction commits)."""
    from catalog.tasks import send_verification_email

    seller_id = seller.pk
    transaction.on_commit(lambda: send_verification_email.enqueue(seller_id=seller_id))


@transaction.atomic
def seller_verify_email(*, token: str) -> Seller:
    signer = signing.TimestampSigner(salt=EMAIL_VERIFY_SALT)
    try:
        payload = signer.unsign_object(token, max_age=settings.EMAIL_VERIFY_MAX_AGE)
        seller_id, email = int(payload["s"]), str(payload["e"])
    except signing.SignatureExpired:
        raise CatalogError(
            "This verification link has expired: ask for a new one from your dashboard."
        ) from None
    except (signing.BadSignature, ValueError, TypeError, KeyError, UnicodeDecodeError):
        raise CatalogError("This verification link is not valid.") from None
    seller = Seller.objects.select_for_update().select_related("user").filter(pk=seller_id).first()
    if seller is None or seller.user.email.lower() != email:
        raise CatalogError("This verification link is not valid any more.")
    if seller.email_verified_at is None:
        seller.email_verified_at = timezone.now()
        seller.save(update_fields=["email_verified_at"])
    return seller


# --- Products -----------------------------------------------------------------


def tags_normalize(tags: list[str]) -> list[str]:
    """Lower-case slugs, without duplicates, in the order given."""
    found: list[str] = []
    for raw in tags:
        tag = slugify(raw.strip(), allow_unicode=True)[:40].strip("-")
        if raw.strip() and not tag:
            raise CatalogError(f"“{raw.strip()[:40]}” is not a usable tag.", field="tags")
        if tag and tag not in found:
            found.append(tag)
    if len(found) > MAX_TAGS:
        raise CatalogError(f"Up to {MAX_TAGS} tags, please.", field="tags")
    return found


def _product_slug(seller: Seller, wanted: str, title: str, exclude: int | None) -> str:
    others = Product.objects.filter(seller=seller).exclude(pk=exclude or 0)
    if wanted:
        slug = wanted.strip().lower()
        if not re.match(r"^[a-z0-9](?:[a-z0-9-]{0,78}[a-z0-9])?$", slug):
            raise CatalogError(
                "Use lower-case letters, digits and hyphens for the address.", field="slug"
            )
        if others.filter(slug=slug).exists():
            raise CatalogError("You already have a product at this address.", field="slug")
        return slug
    base = slugify(title)[:70].strip("-") or "product"
    slug, n = base, 1
    while others.filter(slug=slug).exists():
        n += 1
        slug = f"{base}-{n}"
    return slug


def _check_pricing(pricing: str, price: int, suggested: int | None) -> tuple[int, int | None]:
    if pricing == Product.Pricing.FREE:
        return 0, None
    if pricing == Product.Pricing.FIXED:
        if price <= 0:
            raise CatalogError(
                "A fixed price must be more than zero (choose “Free” to give it away).",
                field="price",
            )
        return price, None
    if pricing == Product.Pricing.PWYW:
        if suggested is not None and suggested < price:
            raise CatalogError(
                "The suggested price cannot be below the minimum.", field="suggested_price"
            )
        return price, suggested
    raise CatalogError("Choose how the product is priced.", field="pricing")


def _check_status(product: Product, status: str) -> None:
    if status not in Product.Status.values:
        raise CatalogError("Choose a status from the list.", field="status")
    if status in (Product.Status.PUBLISHED, Product.Status.UNLISTED) and status != product.status:
        if not product.seller.is_verified:
            raise CatalogError(
                "Verify your email address before publishing: open the link we sent to "
                f"{product.seller.user.email}, or ask for a new one on your dashboard.",
                field="status",
            )
        has_files = product.pk and product.assets.filter(role=Asset.Role.DELIVERABLE).exists()
        if not has_files:
            raise CatalogError(
                "Add at least one file for buyers before publishing (save as a draft first).",
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
        raise CatalogError("Give the product a title.", field="title")
    if kind not in Product.Kind.values:
        raise CatalogError("Choose what kind of product this is.", field="kind")
    if currency not in CURRENCY_CODES:
        raise CatalogError("Choose a currency from the list.", field="currency")
    product.price, product.suggested_price = _check_pricing(pricing, price, suggested_price)
    _check_status(product, status)
    product.title = title[:200]
    product.slug = _product_slug(product.seller, slug, title, product.pk)
    product.kind = kind
    product.description = description.strip()
    product.pricing = pricing
    product.currency = currency
    product.status = status
    product.release_date = release_date
    if (cover is not None or remove_cover) and product.cover:
        _storage_delete(product.cover)
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
        currency=currency or seller.currency,
        status=status,
        release_date=release_date,
        cover=cover,
        remove_cover=False,
    )
    product.save()
    _product_tags(product, tags or [])
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
    return product


@transaction.atomic
def product_delete(*, product: Product) -> None:
    """Delete a product nobody has bought, with its files; otherwise refuse."""
    refusal = CatalogError(
        f"“{product.title}” has buyers, so it cannot be deleted: archive it instead. "
        "Archived products leave the shop but stay in their buyers' libraries.",
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
        _storage_delete(field)


# --- Files --------------------------------------------------------------------


def asset_next_position(*, product: Product, role: str) -> int:
    last = product.assets.filter(role=role).aggregate(last=Max("position"))["last"]
    return (last or 0) + 1


def asset_upload(*, product: Product, role: str, file: File, original_filename: str) -> Asset:
    """A file sent in one request (the form without JavaScript); big files use uploads."""
    if role not in Asset.Role.values:
        raise CatalogError("Choose whether the file is for buyers or a public preview.")
    asset = Asset(product=product, role=role, original_filename=safe_filename(original_filename))
    inspection = _describe(asset, file, getattr(file, "content_type", None))
    stored_as = asset.original_filename
    if role == Asset.Role.PREVIEW:
        stored_as = _preview_name(asset)
    asset.stored.save(stored_as, file, save=False)
    try:
        with transaction.atomic():
            asset.position = asset_next_position(product=product, role=role)
            asset.save()
            _offer_cover(product, inspection)
    except Exception:
        asset.stored.storage.delete(asset.stored.name or "")
        raise
    return asset


def _renumber(product: Product, role: str) -> None:
    for index, asset in enumerate(
        product.assets.filter(role=role).order_by("position", "id").select_for_update(), start=1
    ):
        if asset.position != index:
            Asset.objects.filter(pk=asset.pk).update(position=index)


@transaction.atomic
def asset_move(*, asset: Asset, delta: int) -> None:
    """Move a file up (-1) or down (+1) among the product's files of the same role."""
    siblings = list(
        Asset.objects.select_for_update()
        .filter(product_id=asset.product_id, role=asset.role)
        .order_by("position", "id")
    )
    index = next(i for i, a in enumerate(siblings) if a.pk == asset.pk)
    target = max(0, min(len(siblings) - 1, index + delta))
    siblings.insert(target, siblings.pop(index))
    for position, sibling in enumerate(siblings, start=1):
        if sibling.position != position:
            Asset.objects.filter(pk=sibling.pk).update(position=position)


@transaction.atomic
def asset_delete(*, asset: Asset) -> None:
    """Remove a file. A deliverable of a product that has buyers stays: they paid for it."""
    if asset.role == Asset.Role.DELIVERABLE and product_has_sales(product=asset.product):
        raise CatalogError(
            f"Buyers already own “{asset.original_filename}”, so it stays. Upload a corrected "
            "version beside it if needed.",
            status=409,
        )
    stored = asset.stored
    product, role = asset.product, asset.role
    asset.delete()
    _storage_delete(stored)
    _renumber(product, role)


# --- Resumable uploads (protocol in catalog/uploads.py) ----------------------------


def _expiry() -> datetime:
    return timezone.now() + timedelta(hours=settings.UPLOAD_EXPIRY_HOURS)


@transaction.atomic
def upload_create(
    *, seller: Seller, product: Product, role: str, filename: str, size: int
) -> UploadSession:
    if product.seller_id != seller.pk:
        raise CatalogError("No such product.", status=404)
    if role not in Asset.Role.values:
        raise CatalogError("Choose whether the file is for buyers or a public preview.")
    if size <= 0:
        raise CatalogError("This file is empty.")
    if size > settings.UPLOAD_MAX_BYTES:
        raise CatalogError(
            f"Files up to {_human_size(settings.UPLOAD_MAX_BYTES)} are accepted; "
            f"this one is {_human_size(size)}.",
            status=413,
        )
    filename = safe_filename(filename)
    upload = UploadSession(
        seller=seller,
        product=product,
        role=role,
        filename=filename,
        size_bytes=size,
        expires_at=_expiry(),
    )
    storage = private_storage()
    if uploads.is_s3(storage):
        upload.backend = UploadSession.Backend.S3
        upload.storage_name = _asset_path(Asset(), filename)
        upload.part_size = uploads.part_size_for(size)
        upload.s3_upload_id = uploads.s3_create(
            storage, upload.storage_name, content_type="application/octet-stream"
        )
    else:
        upload.backend = UploadSession.Backend.LOCAL
        upload.storage_name = f"uploads/{upload.id.hex}.part"
    upload.save()
    return upload


def _check_open(upload: UploadSession) -> None:
    if upload.status == UploadSession.Status.REFUSED:
        raise CatalogError(upload.error or "This file was refused.")
    if upload.status == UploadSession.Status.FINISHING:
        raise CatalogError("This upload is already being finished.", status=409)
    if upload.status != UploadSession.Status.RECEIVING:
        raise CatalogError("This upload is finished.", status=409)
    if upload.expires_at <= timezone.now():
        raise CatalogError("This upload has expired: start it again.", status=410)


def upload_offset(*, upload: UploadSession) -> int:
    """How many bytes have arrived (local: the size of the .part file; S3: the parts)."""
    if upload.status == UploadSession.Status.COMPLETE:
        return upload.size_bytes
    if upload.backend == UploadSession.Backend.LOCAL:
        return uploads.local_offset(uploads.local_path(private_storage(), upload.storage_name))
    return sum(p.size for p in upload_parts(upload=upload))


def upload_receive(*, upload: UploadSession, offset: int, stream: BinaryIO, length: int) -> int:
    """Append one chunk (local backend); return the new offset."""
    _check_open(upload)
    if upload.backend != UploadSession.Backend.LOCAL:
        raise CatalogError("This upload goes straight to the bucket.", status=409)
    path = uploads.local_path(private_storage(), upload.storage_name)
    try:
        offset = uploads.local_append(
            path, offset=offset, stream=stream, length=length, size=upload.size_bytes
        )
    finally:
        UploadSession.objects.filter(pk=upload.pk).update(
            received_bytes=uploads.local_offset(path), expires_at=_expiry()
        )
    return offset


def upload_parts(*, upload: UploadSession) -> list[uploads.Part]:
    if upload.backend != UploadSession.Backend.S3:
        return []
    return uploads.s3_parts(private_storage(), upload.storage_name, upload_id=upload.s3_upload_id)


def upload_presign(*, upload: UploadSession, numbers: list[int]) -> dict[int, str]:
    """Presigned PUT URLs for some parts (S3 backend), at most 100 at a time."""
    _check_open(upload)
    if upload.backend != UploadSession.Backend.S3:
        raise CatalogError("This upload goes through the app, not to a bucket.", status=409)
    count = uploads.part_count(upload.size_bytes, upload.part_size)
    if not numbers or len(numbers) > 100 or any(not 1 <= n <= count for n in numbers):
        raise CatalogError(f"Ask for between 1 and 100 part numbers from 1 to {count}.")
    UploadSession.objects.filter(pk=upload.pk).update(expires_at=_expiry())
    return uploads.s3_presign(
        private_storage(),
        upload.storage_name,
        upload_id=upload.s3_upload_id,
        numbers=sorted(set(numbers)),
        expires=settings.UPLOAD_PRESIGN_SECONDS,
    )


def _discard_received(upload: UploadSession) -> None:
    storage = private_storage()
    if upload.backend == UploadSession.Backend.LOCAL:
        uploads.local_discard(uploads.local_path(storage, upload.storage_name))
    elif upload.s3_upload_id:
        uploads.s3_abort(storage, upload.storage_name, upload_id=upload.s3_upload_id)
    else:  # already joined into one object
        storage.delete(upload.storage_name)


def _place(upload: UploadSession, asset: Asset) -> None:
    """Move the received bytes where the asset keeps them; no copy when avoidable."""
    private = private_storage()
    if upload.role == Asset.Role.DELIVERABLE and upload.backend == UploadSession.Backend.S3:
        asset.file.name = upload.storage_name  # the multipart upload wrote the final key
        return
    target_field = asset.stored
    target = target_field.storage
    if upload.role == Asset.Role.PREVIEW:
        name = _preview_path(asset, _preview_name(asset))
    else:
        name = _asset_path(asset, upload.filename)
    if upload.backend == UploadSession.Backend.LOCAL and not uploads.is_s3(target):
        uploads.local_place(uploads.local_path(private, upload.storage_name), target, name)
    elif upload.backend == UploadSession.Backend.S3 and uploads.is_s3(target):
        uploads.s3_copy(private, upload.storage_name, target, name)
        private.delete(upload.storage_name)
    else:  # mixed storages: stream through, in chunks
        with private.open(upload.storage_name, "rb") as source:
            name = target.save(name, source)
        _discard_received(upload)
    target_field.name = name


def upload_finish(*, upload: UploadSession) -> Asset:
    """Check every byte arrived, inspect the file and make it an asset of the product.

    Runs outside one long transaction: hashing 20 GB takes a while, and SQLite
    would hold its write lock all that time. The status column claims the
    upload so that two finish requests cannot both create an asset.
    """
    if upload.status == UploadSession.Status.COMPLETE and upload.asset_id:
        return upload.asset  # type: ignore[return-value]
    _check_open(upload)
    claimed = UploadSession.objects.filter(
        pk=upload.pk, status=UploadSession.Status.RECEIVING
    ).update(status=UploadSession.Status.FINISHING)
    if not claimed:
        raise CatalogError("This upload is already being finished.", status=409)
    try:
        return _finish(upload)
    except CatalogError:
        raise  # a refusal, already recorded on the upload
    except uploads.UploadError as exc:
        UploadSession.objects.filter(pk=upload.pk).update(status=UploadSession.Status.RECEIVING)
        raise CatalogError(exc.message, status=exc.status) from exc
    except Exception:
        UploadSession.objects.filter(pk=upload.pk).update(status=UploadSession.Status.RECEIVING)
        raise


def _finish(upload: UploadSession) -> Asset:
    storage = private_storage()
    if upload.product_id is None:
        raise CatalogError("This upload is not meant for a product.")
    product = Product.objects.get(pk=upload.product_id)
    if upload.backend == UploadSession.Backend.LOCAL:
        path = uploads.local_path(storage, upload.storage_name)
        received = uploads.local_offset(path)
        if received != upload.size_bytes:
            raise uploads.Incomplete(
                f"{received:,} of {upload.size_bytes:,} bytes have arrived: resume the upload."
            )
    elif upload.s3_upload_id:
        parts = uploads.check_parts(
            upload_parts(upload=upload), size=upload.size_bytes, part_size=upload.part_size
        )
        joined = uploads.s3_complete(
            storage, upload.storage_name, upload_id=upload.s3_upload_id, parts=parts
        )
        # From here the bytes are one object: a retry must not look for parts.
        UploadSession.objects.filter(pk=upload.pk).update(s3_upload_id="")
        upload.s3_upload_id = ""
        if joined != upload.size_bytes:
            storage.delete(upload.storage_name)
            _refuse(upload, f"The bucket holds {joined:,} bytes, not {upload.size_bytes:,}.")
    asset = Asset(product=product, role=upload.role, original_filename=upload.filename)
    opened: File
    if upload.backend == UploadSession.Backend.LOCAL:
        opened = File(open(path, "rb"), name=upload.filename)  # noqa: SIM115 - closed below
    else:
        opened = storage.open(upload.storage_name, "rb")
    try:
        inspection = _describe(asset, opened)
    except CatalogError as exc:
        opened.close()
        _discard_after_refusal(upload)
        _refuse(upload, exc.message)
    finally:
        opened.close()
    if asset.size_bytes != upload.size_bytes:
        _discard_after_refusal(upload)
        _refuse(upload, "The file changed while it was being read; upload it again.")
    if upload.role == Asset.Role.PREVIEW:
        try:
            _preview_name(asset)
        except CatalogError as exc:
            _discard_after_refusal(upload)
            _refuse(upload, exc.message)
    _place(upload, asset)
    with transaction.atomic():
        asset.position = asset_next_position(product=product, role=upload.role)
        asset.save()
        _offer_cover(product, inspection)
        UploadSession.objects.filter(pk=upload.pk).update(
            status=UploadSession.Status.COMPLETE,
            asset=asset,
            received_bytes=upload.size_bytes,
            error="",
        )
    upload.status, upload.asset = UploadSession.Status.COMPLETE, asset
    return asset


def _discard_after_refusal(upload: UploadSession) -> None:
    storage = private_storage()
    if upload.backend == UploadSession.Backend.LOCAL:
        uploads.local_discard(uploads.local_path(storage, upload.storage_name))
    else:
        storage.delete(upload.storage_name)


def _refuse(upload: UploadSession, reason: str) -> NoReturn:
    UploadSession.objects.filter(pk=upload.pk).update(
        status=UploadSession.Status.REFUSED, error=reason[:500]
    )
    upload.status, upload.error = UploadSession.Status.REFUSED, reason[:500]
    raise CatalogError(reason, field="file")


def upload_abort(*, upload: UploadSession) -> None:
    """Give up an upload and remove whatever arrived."""
    if upload.status in (UploadSession.Status.RECEIVING, UploadSession.Status.FINISHING):
        try:
            _discard_received(upload)
        except Exception:  # a vanished multipart upload is already aborted
            logger.warning("could not discard upload %s", upload.pk, exc_info=True)
    if upload.status != UploadSession.Status.COMPLETE:
        UploadSession.objects.filter(pk=upload.pk).delete()


def upload_purge_expired(*, now: datetime | None = None) -> int:
    """Remove expired unfinished uploads with their bytes; return how many."""
    now = now or timezone.now()
    count = 0
    for upload in UploadSession.objects.filter(expires_at__lte=now).exclude(
        status=UploadSession.Status.COMPLETE
    ):
        upload_abort(upload=upload)
        count += 1
    UploadSession.objects.filter(expires_at__lte=now, status=UploadSession.Status.COMPLETE).delete()
    return count


def _human_size(size: int) -> str:
    value = float(size)
    for unit in ("bytes", "KB", "MB", "GB"):
        if value < 1000 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "bytes" else f"{value:.1f} {unit}"
        value /= 1000
    return f"{value:.1f} TB"  # pragma: no cover
