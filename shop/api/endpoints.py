"""The operations of ``/api/v1/``: bind input, call one selector or service, answer.

Each names its scope through its ``auth``; ownership goes through the seller
gate (``catalog.access`` / ``shop.access``), so another seller's object is a 404.
"""

from __future__ import annotations

import tempfile
from datetime import date, datetime, timedelta
from typing import Any, BinaryIO, cast

from django.conf import settings
from django.core.files import File
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone
from ninja import Header, Query, Router, Schema, Status
from pydantic import Field

from catalog import access as catalog_access
from catalog import imports as catalog_imports
from catalog.follows.models import Follow
from catalog.follows.services import followers_count
from catalog.models import Asset, ImportJob, Product, Seller, UploadSession
from catalog.request_size import content_length
from catalog.services import CatalogError
from catalog.services import products as product_services
from catalog.uploads import services as upload_services
from catalog.uploads.base import CHUNK_BYTES, CHUNK_MAX_BYTES, READ_BYTES, UploadError
from delivery.licenses import services as license_services
from delivery.licenses.access import access_license_for_seller
from delivery.licenses.models import LicenseKey
from delivery.licenses.selectors import seller_licenses
from shop.api import schemas, scopes
from shop.api.access import TokenAuth
from shop.api.errors import ApiError
from shop.api.paging import LIMIT_DEFAULT, LIMIT_MAX, page_read
from shop.funding.access import access_campaign_for_seller
from shop.funding.selectors import seller_campaign_summaries
from shop.ledger import seller_balance
from shop.models import LedgerEntry, Order, OrderItem, PayoutAccount, SellerTransfer
from shop.stats.facts import Scope
from shop.stats.localtime import day_start, zone
from shop.stats.rollups import book_timezone
from shop.stats.selectors import Figures, PeriodError, book_for, dashboard_read, period_from

router = Router()

CATALOG_READ = TokenAuth(scopes.CATALOG_READ)
CATALOG_WRITE = TokenAuth(scopes.CATALOG_WRITE)
SALES_READ = TokenAuth(scopes.SALES_READ)
FOLLOWERS_READ = TokenAuth(scopes.FOLLOWERS_READ)
LICENSES_VERIFY = TokenAuth(scopes.LICENSES_VERIFY)
LICENSES_READ = TokenAuth(scopes.LICENSES_READ)
LICENSES_WRITE = TokenAuth(scopes.LICENSES_WRITE)

ERRORS: dict[int, type[Schema]] = {
    code: schemas.ErrorOut for code in (400, 401, 403, 404, 405, 413, 415, 422, 429)
}
SOLD = (
    Order.Status.PAID,
    Order.Status.PARTIALLY_REFUNDED,
    Order.Status.REFUNDED,
    Order.Status.DISPUTED,
)


def _binary_body(types: tuple[str, ...]) -> dict[str, Any]:
    """The OpenAPI description of a raw body (a chunk, a ZIP) of one of ``types``."""
    binary = {"schema": {"type": "string", "format": "binary"}}
    return {"requestBody": {"required": True, "content": dict.fromkeys(types, binary)}}


class PageQuery(Schema):
    cursor: str | None = Field(None, max_length=500, description="The previous page's next.")
    limit: int = Field(LIMIT_DEFAULT, ge=1, le=LIMIT_MAX)


class SalesQuery(PageQuery):
    since: date | None = Field(None, description="First day (in your timezone), YYYY-MM-DD.")
    until: date | None = Field(None, description="Last day (in your timezone), YYYY-MM-DD.")
    product: int | None = Field(None, ge=1, description="Only this product's.")


class LicenseQuery(PageQuery):
    product: int | None = Field(None, ge=1, description="Only this product's.")


class StatsQuery(Schema):
    range: str = Field("30d", description="7d, 30d, 12m, all, or custom (with from and to).")
    from_: date | None = Field(None, alias="from")
    to: date | None = None
    product: int | None = Field(None, ge=1)


def _seller(request: HttpRequest) -> Seller:
    return catalog_access.request_seller(request)


def _product(request: HttpRequest, product_id: int) -> Product:
    return catalog_access.access_product_for_seller(request, product_id)


# --- Catalog ---------------------------------------------------------------------


def _product_out(product: Product) -> dict[str, Any]:
    return {
        "id": product.pk,
        "slug": product.slug,
        "title": product.title,
        "kind": product.kind,
        "description": product.description,
        "status": product.status,
        "pricing": product.pricing,
        "price": product.price,
        "suggested_price": product.suggested_price,
        "currency": product.currency,
        "release_date": product.release_date,
        "tags": [tag.slug for tag in product.tags.all()],
        "url": settings.SITE_URL.rstrip("/") + product.get_absolute_url(),
        "created_at": product.created_at,
        "updated_at": product.updated_at,
    }


@router.get(
    "/products",
    auth=CATALOG_READ,
    response={200: schemas.ProductList, **ERRORS},
    tags=["catalog"],
    summary="Your products, newest first",
)
def product_list(request: HttpRequest, query: Query[PageQuery]) -> dict[str, Any]:
    rows = (
        Product.objects.filter(seller=_seller(request))
        .select_related("seller")
        .prefetch_related("tags")
    )
    page = page_read(
        rows,
        name="products",
        time_field="created_at",
        cursor=query.cursor,
        limit=query.limit,
        time_of=lambda row: row.created_at,
    )
    return {"items": [_product_out(p) for p in page.rows], "next": page.next}


@router.get(
    "/products/{product_id}",
    auth=CATALOG_READ,
    response={200: schemas.ProductOut, **ERRORS},
    tags=["catalog"],
    summary="One of your products",
)
def product_detail(request: HttpRequest, product_id: int) -> dict[str, Any]:
    return _product_out(_product(request, product_id))


def _catalog_refusal(exc: CatalogError) -> ApiError:
    field = exc.field or "__all__"
    return ApiError(
        422, "invalid", "Some fields need a change.", fields={field: [str(exc.message)]}
    )


@router.post(
    "/products",
    auth=CATALOG_WRITE,
    response={201: schemas.ProductOut, **ERRORS},
    tags=["catalog"],
    summary="Create a product (same rules as the product form)",
)
def product_create(request: HttpRequest, payload: schemas.ProductCreate) -> Status:
    try:
        product = product_services.product_create(
            seller=_seller(request),
            title=payload.title,
            slug=payload.slug,
            kind=payload.kind,
            description=payload.description,
            pricing=payload.pricing,
            price=payload.price,
            suggested_price=payload.suggested_price,
            currency=payload.currency,
            status=payload.status,
            release_date=payload.release_date,
            tags=payload.tags,
        )
    except CatalogError as exc:
        raise _catalog_refusal(exc) from None
    return Status(201, _product_out(product))


@router.patch(
    "/products/{product_id}",
    auth=CATALOG_WRITE,
    response={200: schemas.ProductOut, **ERRORS},
    tags=["catalog"],
    summary="Change a product (same rules as the product form)",
)
def product_update(
    request: HttpRequest, product_id: int, payload: schemas.ProductUpdate
) -> dict[str, Any]:
    product = _product(request, product_id)
    current = {
        "title": product.title,
        "slug": product.slug,
        "kind": product.kind,
        "description": product.description,
        "pricing": product.pricing,
        "price": product.price,
        "suggested_price": product.suggested_price,
        "currency": product.currency,
        "status": product.status,
        "release_date": product.release_date,
        "tags": [tag.slug for tag in product.tags.all()],
    }
    changes = payload.model_dump(exclude_unset=True)
    nullable = {"suggested_price", "release_date"}
    refused = sorted(k for k, v in changes.items() if v is None and k not in nullable)
    if refused:
        raise ApiError(
            422,
            "invalid",
            "Some fields need a change.",
            fields={name: ["This field cannot be null."] for name in refused},
        )
    try:
        product = product_services.product_update(product=product, **{**current, **changes})
    except CatalogError as exc:
        raise _catalog_refusal(exc) from None
    return _product_out(product)


@router.get(
    "/products/{product_id}/files",
    auth=CATALOG_READ,
    response={200: list[schemas.FileOut], **ERRORS},
    tags=["catalog"],
    summary="A product's files: what they are, never where",
)
def product_files(request: HttpRequest, product_id: int) -> list[dict[str, Any]]:
    product = _product(request, product_id)
    rows = Asset.objects.filter(product=product).order_by("role", "position", "pk")
    return [_file_out(asset) for asset in rows]


def _file_out(asset: Asset) -> dict[str, Any]:
    meta = asset.metadata or {}
    duration, pages = meta.get("duration_seconds"), meta.get("pages")
    return {
        "id": asset.pk,
        "role": asset.role,
        "position": asset.position,
        "filename": asset.original_filename,
        "size": asset.size_bytes,
        "type": asset.mime_type,
        "kind": asset.kind,
        "duration_seconds": duration if isinstance(duration, int | float) else None,
        "pages": pages if isinstance(pages, int) else None,
        "sha256": asset.sha256,
        "created_at": asset.created_at,
    }


# --- Sales -------------------------------------------------------------------------


def _day_bounds(
    seller: Seller, since: date | None, until: date | None
) -> tuple[datetime | None, datetime | None]:
    if since is not None and until is not None and since > until:
        raise ApiError(400, "bad_query", "'since' comes after 'until'.")
    tz = zone(book_timezone(seller))
    return (
        day_start(since, tz) if since is not None else None,
        day_start(until + timedelta(days=1), tz) if until is not None else None,
    )


def _filtered(
    request: HttpRequest,
    rows: QuerySet[Any],
    query: SalesQuery,
    *,
    product_field: str,
    time_field: str,
) -> QuerySet[Any]:
    """``rows`` of one of the seller's products and between the query's days, if asked."""
    if query.product is not None:
        rows = rows.filter(**{product_field: _product(request, query.product)})
    start, end = _day_bounds(_seller(request), query.since, query.until)
    if start is not None:
        rows = rows.filter(**{f"{time_field}__gte": start})
    if end is not None:
        rows = rows.filter(**{f"{time_field}__lt": end})
    return rows


@router.get(
    "/sales",
    auth=SALES_READ,
    response={200: schemas.SaleList, **ERRORS},
    tags=["sales"],
    summary="Your sales (one per item bought), newest first",
)
def sale_list(request: HttpRequest, query: Query[SalesQuery]) -> dict[str, Any]:
    rows = _filtered(
        request,
        OrderItem.objects.filter(
            seller=_seller(request), order__status__in=SOLD, order__paid_at__isnull=False
        ).select_related("order"),
        query,
        product_field="product",
        time_field="order__paid_at",
    )
    page = page_read(
        rows,
        name="sales",
        time_field="order__paid_at",
        cursor=query.cursor,
        limit=query.limit,
        time_of=lambda row: row.order.paid_at,
    )
    return {
        "items": [
            {
                "id": item.pk,
                "order": item.order.public_id,
                "product_id": item.product_id,
                "title": item.title,
                "currency": item.order.currency,
                "list_price": item.list_price,
                "discount": item.discount_amount,
                "price_paid": item.unit_price,
                "platform_fee": item.platform_fee,
                "seller_share": item.seller_share,
                "refunded": item.refunded_amount,
                "status": item.order.status,
                "buyer_email": item.order.buyer_email,
                "country": item.order.country,
                "paid_at": item.order.paid_at,
            }
            for item in page.rows
        ],
        "next": page.next,
    }


@router.get(
    "/refunds",
    auth=SALES_READ,
    response={200: schemas.RefundList, **ERRORS},
    tags=["sales"],
    summary="Money taken back from your sales, newest first",
)
def refund_list(request: HttpRequest, query: Query[SalesQuery]) -> dict[str, Any]:
    rows = _filtered(
        request,
        LedgerEntry.objects.filter(
            seller=_seller(request), kind=LedgerEntry.Kind.REFUND
        ).select_related("item__order", "refund"),
        query,
        product_field="item__product",
        time_field="created_at",
    )
    page = page_read(
        rows,
        name="refunds",
        time_field="created_at",
        cursor=query.cursor,
        limit=query.limit,
        time_of=lambda row: row.created_at,
    )
    return {
        "items": [
            {
                "id": entry.pk,
                "refund_id": entry.refund_id,
                "sale_id": entry.item_id,
                "order": entry.item.order.public_id,
                "product_id": entry.item.product_id,
                "seller_debit": -entry.amount,
                "currency": entry.currency,
                "reason": entry.refund.reason if entry.refund is not None else "",
                "created_at": entry.created_at,
            }
            for entry in page.rows
        ],
        "next": page.next,
    }


def _figures(counts: Any, *, per_product: bool) -> dict[str, Any]:
    figures = Figures.of(counts, per_product=per_product)
    return {name: getattr(figures, name) for name in schemas.Figures.model_fields}


@router.get(
    "/stats",
    auth=SALES_READ,
    response={200: schemas.StatsOut, **ERRORS},
    tags=["sales"],
    summary="The dashboard's headline figures for a period",
)
def stats(request: HttpRequest, query: Query[StatsQuery]) -> dict[str, Any]:
    seller = _seller(request)
    product = _product(request, query.product) if query.product is not None else None
    tz_name = book_timezone(seller)
    now = timezone.now()
    params = {"range": query.range}
    if query.from_ is not None:
        params["from"] = query.from_.isoformat()
    if query.to is not None:
        params["to"] = query.to.isoformat()
    try:
        period = period_from(params, now.astimezone(zone(tz_name)).date())
    except PeriodError as exc:
        raise ApiError(400, "bad_period", str(exc)) from None
    scope = Scope(seller_id=seller.pk, product_id=product.pk if product else None)
    dashboard = dashboard_read(
        scope=scope, tz_name=tz_name, period=period, now=now, book=book_for(scope, tz_name)
    )
    per_product = product is not None
    return {
        "first_day": period.first,
        "last_day": period.last,
        "timezone": tz_name,
        "currency": settings.STORE_CURRENCY,
        "product_id": product.pk if product else None,
        "figures": _figures(dashboard.current, per_product=per_product),
        "previous": (
            _figures(dashboard.previous, per_product=per_product)
            if dashboard.previous is not None
            else None
        ),
    }


@router.get(
    "/campaigns",
    auth=SALES_READ,
    response={200: list[schemas.CampaignOut], **ERRORS},
    tags=["sales"],
    summary="Your fan-funding campaigns that have pledges, with their totals",
)
def campaign_list(request: HttpRequest) -> list[dict[str, Any]]:
    return [
        {
            "id": c.pk,
            "title": c.title,
            "status": c.status,
            "currency": c.currency,
            "goal": c.goal,
            "pledged": c.pledged,
            "backers": c.backers,
            "collected": c.collected,
            "recovering": c.recovering,
            "failed": c.failed,
            "tiers": c.tiers,
        }
        for c in seller_campaign_summaries(_seller(request))
    ]


@router.get(
    "/campaigns/{campaign_id}/pledges",
    auth=SALES_READ,
    response={200: schemas.PledgeList, **ERRORS},
    tags=["sales"],
    summary="One of your campaigns' pledges, newest first",
)
def pledge_list(request: HttpRequest, campaign_id: int, query: Query[PageQuery]) -> dict[str, Any]:
    campaign = access_campaign_for_seller(request, campaign_id)
    page = page_read(
        campaign.pledges.select_related("tier"),
        name="pledges",
        time_field="created_at",
        cursor=query.cursor,
        limit=query.limit,
        time_of=lambda row: row.created_at,
    )
    return {
        "items": [
            {
                "id": p.pk,
                "number": p.number,
                "tier": p.tier.title,
                "amount": p.amount,
                "currency": p.currency,
                "status": p.status,
                "email": p.email,
                "wall_name": p.wall_name,
                "created_at": p.created_at,
            }
            for p in page.rows
        ],
        "next": page.next,
    }


@router.get(
    "/payouts",
    auth=SALES_READ,
    response={200: schemas.PayoutsOut, **ERRORS},
    tags=["sales"],
    summary="What you are owed, your payout account, and the transfers sent to you",
)
def payout_list(request: HttpRequest, query: Query[PageQuery]) -> dict[str, Any]:
    seller = _seller(request)
    account = PayoutAccount.objects.filter(seller=seller).first()
    page = page_read(
        SellerTransfer.objects.filter(seller=seller),
        name="payouts",
        time_field="created_at",
        cursor=query.cursor,
        limit=query.limit,
        time_of=lambda row: row.created_at,
    )
    return {
        "currency": settings.STORE_CURRENCY,
        "owed": seller_balance(seller=seller),
        "account": {
            "connected": account is not None,
            "details_submitted": bool(account and account.details_submitted),
            "payouts_enabled": bool(account and account.payouts_enabled),
        },
        "items": [
            {
                "id": t.pk,
                "amount": t.amount,
                "currency": t.currency,
                "confirmed": bool(t.stripe_transfer_id),
                "created_at": t.created_at,
            }
            for t in page.rows
        ],
        "next": page.next,
    }


# --- Followers -----------------------------------------------------------------------


@router.get(
    "/followers",
    auth=FOLLOWERS_READ,
    response={200: schemas.FollowerList, **ERRORS},
    tags=["followers"],
    summary="Your confirmed followers, newest first",
)
def follower_list(request: HttpRequest, query: Query[PageQuery]) -> dict[str, Any]:
    rows = Follow.objects.filter(
        seller=_seller(request), confirmed_at__isnull=False, unsubscribed_at__isnull=True
    )
    page = page_read(
        rows,
        name="followers",
        time_field="confirmed_at",
        cursor=query.cursor,
        limit=query.limit,
        time_of=lambda row: row.confirmed_at,
    )
    return {
        "count": followers_count(seller=_seller(request)),
        "items": [
            {"id": f.pk, "email": f.email, "language": f.language, "followed_at": f.confirmed_at}
            for f in page.rows
        ],
        "next": page.next,
    }


# --- License keys --------------------------------------------------------------------


@router.post(
    "/licenses/verify",
    auth=LICENSES_VERIFY,
    response={200: schemas.LicenseVerifyOut, **ERRORS},
    tags=["licenses"],
    summary="Check a license key, and take an activation if asked",
)
def license_verify(request: HttpRequest, payload: schemas.LicenseVerifyIn) -> dict[str, Any]:
    # Another seller's product, an unknown key and a mistyped one answer alike.
    verdict = license_services.license_verify(
        seller=_seller(request),
        product_id=payload.product,
        key=payload.key,
        activate=payload.activate,
        instance=payload.instance or "",
    )
    license = verdict.license
    return {
        "valid": verdict.valid,
        "reason": verdict.reason,
        "product": payload.product,
        "uses": verdict.uses,
        "max_uses": verdict.max_uses,
        "refunded": bool(license and license.is_refunded),
        "revoked": bool(license and license.is_revoked),
        "activated": verdict.activated,
    }


def _license_out(license: LicenseKey) -> dict[str, Any]:
    return {
        "id": license.pk,
        "product_id": license.product_id,
        "key": license.key,
        "buyer_email": license.entitlement.library.email,
        "uses": license.uses,
        "max_uses": license.max_uses,
        "refunded": license.is_refunded,
        "revoked": license.is_revoked,
        "created_at": license.created_at,
        "last_checked_at": license.last_checked_at,
    }


@router.get(
    "/licenses",
    auth=LICENSES_READ,
    response={200: schemas.LicenseList, **ERRORS},
    tags=["licenses"],
    summary="The license keys you sold, newest first",
)
def license_list(request: HttpRequest, query: Query[LicenseQuery]) -> dict[str, Any]:
    product = _product(request, query.product) if query.product is not None else None
    page = page_read(
        seller_licenses(seller=_seller(request), product=product),
        name="licenses",
        time_field="created_at",
        cursor=query.cursor,
        limit=query.limit,
        time_of=lambda row: row.created_at,
    )
    return {"items": [_license_out(row) for row in page.rows], "next": page.next}


def _license_changed(request: HttpRequest, license_id: int, change: Any) -> dict[str, Any]:
    license = change(license=access_license_for_seller(request, license_id))
    return _license_out(access_license_for_seller(request, license.pk))


@router.post(
    "/licenses/{license_id}/reset",
    auth=LICENSES_WRITE,
    response={200: schemas.LicenseOut, **ERRORS},
    tags=["licenses"],
    summary="Give a key its activations back",
)
def license_reset(request: HttpRequest, license_id: int) -> dict[str, Any]:
    return _license_changed(request, license_id, license_services.license_reset)


@router.post(
    "/licenses/{license_id}/revoke",
    auth=LICENSES_WRITE,
    response={200: schemas.LicenseOut, **ERRORS},
    tags=["licenses"],
    summary="Stop a key from verifying",
)
def license_revoke(request: HttpRequest, license_id: int) -> dict[str, Any]:
    return _license_changed(request, license_id, license_services.license_revoke)


@router.post(
    "/licenses/{license_id}/regenerate",
    auth=LICENSES_WRITE,
    response={200: schemas.LicenseOut, **ERRORS},
    tags=["licenses"],
    summary="Replace a key by a new one (the buyer's library shows it)",
)
def license_regenerate(request: HttpRequest, license_id: int) -> dict[str, Any]:
    return _license_changed(request, license_id, license_services.license_regenerate)


# --- Uploads (the protocol of catalog/uploads, with a token instead of a session) -----

CHUNK_TYPES = ("application/offset+octet-stream", "application/octet-stream")
UPLOAD_ERRORS = {
    400: "refused",
    404: "not_found",
    409: "conflict",
    410: "expired",
    413: "too_large",
}


def _upload_refusal(exc: CatalogError | UploadError, offset: int | None = None) -> ApiError:
    status = exc.status if exc.status in UPLOAD_ERRORS else 400
    headers = {"Upload-Offset": str(offset)} if offset is not None else None
    return ApiError(status, UPLOAD_ERRORS[status], str(exc.message), headers=headers)


def _upload(request: HttpRequest, product_id: int, upload_id: str) -> UploadSession:
    product = _product(request, product_id)
    upload = catalog_access.access_upload_for_seller(request, upload_id)
    if upload.product_id != product.pk:
        raise catalog_access.NotOwned("No such upload.")
    return upload


def _upload_out(upload: UploadSession) -> dict[str, Any]:
    progress = upload_services.upload_progress(upload=upload)
    parts = progress.get("parts")
    return {
        "id": upload.pk,
        "backend": upload.backend,
        "filename": upload.filename,
        "size": upload.size_bytes,
        "offset": progress.get("offset", 0),
        "status": upload.status,
        "chunk_size": CHUNK_BYTES,
        "part_size": upload.part_size,
        "parts": [{"number": p["number"], "size": p["size"]} for p in parts]
        if parts is not None
        else None,
        "error": upload.error or None,
    }


@router.post(
    "/products/{product_id}/uploads",
    auth=CATALOG_WRITE,
    response={201: schemas.UploadOut, **ERRORS},
    tags=["uploads"],
    summary="Start a resumable upload of a file (its size is reserved from your quota)",
)
def upload_start(request: HttpRequest, product_id: int, payload: schemas.UploadStart) -> Status:
    product = _product(request, product_id)
    try:
        upload = upload_services.upload_create(
            seller=product.seller,
            product=product,
            role=payload.role,
            filename=payload.filename,
            size=payload.size,
        )
    except CatalogError as exc:
        raise _upload_refusal(exc) from None
    return Status(201, _upload_out(upload))


@router.get(
    "/products/{product_id}/uploads/{upload_id}",
    auth=CATALOG_WRITE,
    response={200: schemas.UploadOut, **ERRORS},
    tags=["uploads"],
    summary="Where an upload stands: resume from its offset (or send the missing parts)",
)
def upload_status(request: HttpRequest, product_id: int, upload_id: str) -> dict[str, Any]:
    return _upload_out(_upload(request, product_id, upload_id))


@router.patch(
    "/products/{product_id}/uploads/{upload_id}",
    auth=CATALOG_WRITE,
    response={200: schemas.UploadOut, **ERRORS},
    tags=["uploads"],
    summary="Send one chunk (local storage), at the offset the upload holds",
    openapi_extra=_binary_body(CHUNK_TYPES),
)
def upload_chunk(
    request: HttpRequest,
    product_id: int,
    upload_id: str,
    upload_offset: int = Header(..., alias="Upload-Offset", ge=0, le=2**53 - 1),
) -> dict[str, Any]:
    upload = _upload(request, product_id, upload_id)
    length = content_length(request)
    if length > CHUNK_MAX_BYTES:
        raise ApiError(413, "too_large", f"Chunks up to {CHUNK_MAX_BYTES // 1024**2} MiB, please.")
    try:
        # The request is read as a stream, 1 MiB at a time: a chunk is never held whole.
        upload_services.upload_receive(
            upload=upload, offset=upload_offset, stream=cast(BinaryIO, request), length=length
        )
    except UploadError as exc:
        raise _upload_refusal(exc, exc.offset) from None
    except CatalogError as exc:
        raise _upload_refusal(exc) from None
    return _upload_out(upload)


@router.post(
    "/products/{product_id}/uploads/{upload_id}/parts",
    auth=CATALOG_WRITE,
    response={200: schemas.PartsOut, **ERRORS},
    tags=["uploads"],
    summary="Presigned addresses to PUT parts to (S3 storage), 100 at most at a time",
)
def upload_parts(
    request: HttpRequest, product_id: int, upload_id: str, payload: schemas.PartsIn
) -> dict[str, Any]:
    upload = _upload(request, product_id, upload_id)
    try:
        urls = upload_services.upload_presign(upload=upload, numbers=payload.numbers)
    except CatalogError as exc:
        raise _upload_refusal(exc) from None
    return {"part_size": upload.part_size, "urls": {str(n): url for n, url in urls.items()}}


@router.post(
    "/products/{product_id}/uploads/{upload_id}/complete",
    auth=CATALOG_WRITE,
    response={200: schemas.FileOut, **ERRORS},
    tags=["uploads"],
    summary="Check every byte arrived, inspect the file and add it to the product",
)
def upload_complete(
    request: HttpRequest, product_id: int, upload_id: str, payload: schemas.UploadComplete
) -> dict[str, Any]:
    upload = _upload(request, product_id, upload_id)
    try:
        asset = upload_services.upload_finish(upload=upload, sha256=payload.sha256 or "")
    except CatalogError as exc:
        raise _upload_refusal(exc) from None
    return _file_out(asset)


@router.delete(
    "/products/{product_id}/uploads/{upload_id}",
    auth=CATALOG_WRITE,
    response={204: None, **ERRORS},
    tags=["uploads"],
    summary="Give up an upload and remove what arrived",
)
def upload_abort(request: HttpRequest, product_id: int, upload_id: str) -> Status:
    upload_services.upload_abort(upload=_upload(request, product_id, upload_id))
    return Status(204, None)


# --- Catalog imports (the format of catalog/imports.py, as the Import page takes it) ----

ZIP_TYPES = ("application/zip", "application/octet-stream")


def _import_out(job: ImportJob) -> dict[str, Any]:
    return {
        "id": job.pk,
        "status": job.status,
        "dry_run": job.dry_run,
        "filename": job.source_name,
        "total": job.total_rows,
        "processed": job.processed_rows,
        "created": job.created_count,
        "updated": job.updated_count,
        "failed": job.failed_count,
        "error": job.error,
        "plan": job.report or None,
        "created_at": job.created_at,
    }


@router.post(
    "/imports",
    auth=CATALOG_WRITE,
    response={201: schemas.ImportOut, **ERRORS},
    tags=["imports"],
    summary="Send a catalog ZIP: it is checked (a dry run) before anything is written",
    openapi_extra=_binary_body(ZIP_TYPES),
)
def import_create(request: HttpRequest) -> Status:
    length = content_length(request)
    if length <= 0:
        raise ApiError(400, "refused", "Send the catalog ZIP as the body.")
    # Spooled to a temporary file in 1 MiB reads, never held whole in memory.
    with tempfile.TemporaryFile() as spool:
        remaining = length
        while remaining > 0:
            piece = request.read(min(READ_BYTES, remaining))
            if not piece:
                break
            spool.write(piece)
            remaining -= len(piece)
        if remaining:
            raise ApiError(400, "refused", "The body ended before its Content-Length.")
        spool.seek(0)
        file = File(spool, name="catalog.zip")
        file.size = length
        try:
            job = catalog_imports.import_job_upload(
                seller=_seller(request), file=file, filename="catalog.zip"
            )
        except catalog_imports.ImportRefused as exc:
            raise ApiError(400, "refused", str(exc)) from None
    return Status(201, _import_out(job))


@router.get(
    "/imports/{job_id}",
    auth=CATALOG_WRITE,
    response={200: schemas.ImportOut, **ERRORS},
    tags=["imports"],
    summary="An import's plan and progress",
)
def import_status(request: HttpRequest, job_id: int) -> dict[str, Any]:
    job = catalog_access.access_import_for_seller(request, job_id)
    return _import_out(job)


@router.post(
    "/imports/{job_id}/start",
    auth=CATALOG_WRITE,
    response={200: schemas.ImportOut, **ERRORS},
    tags=["imports"],
    summary="Import a checked catalog (the rows without a problem)",
)
def import_start(request: HttpRequest, job_id: int) -> dict[str, Any]:
    job = catalog_access.access_import_for_seller(request, job_id)
    try:
        catalog_imports.import_job_start(job=job)
    except catalog_imports.ImportRefused as exc:
        raise ApiError(409, "conflict", str(exc)) from None
    job.refresh_from_db()
    return _import_out(job)
