"""What the API reads and writes, as pydantic models (and so as OpenAPI schemas)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any, Literal
from uuid import UUID

from ninja import Schema
from pydantic import ConfigDict, Field

Kind = Literal["ebook", "music", "video", "bundle"]
Pricing = Literal["fixed", "pwyw", "free"]
Status = Literal["draft", "published", "unlisted", "archived"]


class Error(Schema):
    code: str
    message: str
    fields: dict[str, list[str]] | None = None


class ErrorOut(Schema):
    error: Error


class ProductOut(Schema):
    id: int
    slug: str
    title: str
    kind: str
    description: str
    status: str
    pricing: str
    price: int = Field(description="Minor units: the price, or the minimum (pay what you want).")
    suggested_price: int | None
    currency: str
    release_date: date | None
    tags: list[str]
    url: str = Field(description="The product's public page.")
    created_at: datetime
    updated_at: datetime


class ProductList(Schema):
    items: list[ProductOut]
    next: str | None = Field(description="The cursor of the next page; null on the last one.")


class _ProductWrite(Schema):
    model_config = ConfigDict(extra="forbid")

    title: str = Field(min_length=1, max_length=200)
    slug: str = Field("", max_length=80, description="Left empty, it is made from the title.")
    kind: Kind = "ebook"
    description: str = Field("", max_length=50_000, description="Markdown.")
    pricing: Pricing = "fixed"
    price: int = Field(0, ge=0, le=10**9, description="Minor units (cents).")
    suggested_price: int | None = Field(None, ge=0, le=10**9)
    currency: str | None = Field(None, min_length=3, max_length=3)
    status: Status = "draft"
    release_date: date | None = None
    tags: list[str] = Field(default_factory=list, max_length=10)


class ProductCreate(_ProductWrite):
    """A new product; publishing needs a confirmed email and a file, so new ones are drafts."""


class ProductUpdate(Schema):
    """The fields to change; the others keep their values."""

    model_config = ConfigDict(extra="forbid")

    title: str | None = Field(None, min_length=1, max_length=200)
    slug: str | None = Field(None, max_length=80)
    kind: Kind | None = None
    description: str | None = Field(None, max_length=50_000)
    pricing: Pricing | None = None
    price: int | None = Field(None, ge=0, le=10**9)
    suggested_price: int | None = Field(None, ge=0, le=10**9)
    currency: str | None = Field(None, min_length=3, max_length=3)
    status: Status | None = None
    release_date: date | None = None
    tags: list[str] | None = Field(None, max_length=10)


class FileOut(Schema):
    """A file's description; never where its bytes are."""

    id: int
    role: str = Field(description="deliverable (what buyers get) or preview (public sample).")
    position: int
    filename: str
    size: int = Field(description="Bytes.")
    type: str = Field(description="The detected MIME type.")
    kind: str
    duration_seconds: float | None
    pages: int | None
    sha256: str
    created_at: datetime


class SaleOut(Schema):
    id: int = Field(description="The order item.")
    order: UUID
    product_id: int
    title: str
    currency: str
    list_price: int
    discount: int
    price_paid: int
    platform_fee: int
    seller_share: int
    refunded: int
    status: str = Field(description="The order's status.")
    buyer_email: str
    country: str
    paid_at: datetime


class SaleList(Schema):
    items: list[SaleOut]
    next: str | None


class RefundOut(Schema):
    id: int = Field(description="The refund line: one refund on one of your sales.")
    refund_id: int | None
    sale_id: int
    order: UUID
    product_id: int
    seller_debit: int = Field(description="Minor units taken back from your share.")
    currency: str
    reason: str
    created_at: datetime


class RefundList(Schema):
    items: list[RefundOut]
    next: str | None


class Figures(Schema):
    gross: int
    refunded: int
    fees: int
    dispute_debit: int
    net: int
    orders: int
    units: int
    paid_units: int
    free_units: int
    refunds: int
    disputes: int
    downloads: int
    views: int
    conversion: Decimal | None
    average_price: int | None
    pwyw_units: int
    pwyw_average: int | None
    pwyw_above: int | None


class StatsOut(Schema):
    first_day: date | None
    last_day: date
    timezone: str
    currency: str
    product_id: int | None
    figures: Figures
    previous: Figures | None = Field(description="The period of the same length just before.")


class FollowerOut(Schema):
    id: int
    email: str
    language: str
    followed_at: datetime


class FollowerList(Schema):
    count: int = Field(description="Confirmed followers still following.")
    items: list[FollowerOut]
    next: str | None


class PayoutAccountOut(Schema):
    connected: bool = Field(description="A Stripe account is linked.")
    details_submitted: bool
    payouts_enabled: bool


class TransferOut(Schema):
    id: int
    amount: int = Field(description="Minor units.")
    currency: str
    confirmed: bool = Field(description="Stripe has confirmed the transfer.")
    created_at: datetime


class PayoutsOut(Schema):
    currency: str
    owed: int = Field(description="What the shop still owes you, minor units (negative: you owe).")
    account: PayoutAccountOut
    items: list[TransferOut]
    next: str | None


class PledgeOut(Schema):
    id: int
    number: int | None = Field(description="Backer number, once the card is saved.")
    tier: str
    amount: int = Field(description="Minor units.")
    currency: str
    status: str
    email: str
    wall_name: str = Field(description="The name the backer chose to show; empty if none.")
    created_at: datetime


class PledgeList(Schema):
    items: list[PledgeOut]
    next: str | None


class CampaignOut(Schema):
    id: int
    title: str
    status: str
    currency: str
    goal: int
    pledged: int
    backers: int
    collected: int
    recovering: int
    failed: int
    tiers: dict[str, int] = Field(description="Backers per tier.")


class LicenseVerifyIn(Schema):
    model_config = ConfigDict(extra="forbid")

    product: int = Field(ge=1, le=2**63 - 1, description="The product the key was sold with.")
    key: str = Field(min_length=1, max_length=100, description="As the buyer typed it.")
    activate: bool = Field(False, description="Take one activation (counted once per instance).")
    instance: str | None = Field(
        None, max_length=200, description="What is activated: a machine or install id."
    )


class LicenseVerifyOut(Schema):
    valid: bool = Field(description="The key may be used (and, when asked, was activated).")
    reason: str = Field(
        description="Empty when valid; else unknown, revoked, refunded, limit_reached."
    )
    product: int
    uses: int
    max_uses: int | None = Field(description="Null: no limit.")
    refunded: bool = Field(description="The purchase was refunded or disputed.")
    revoked: bool = Field(description="You revoked the key.")
    activated: bool = Field(description="This call took an activation.")


class LicenseOut(Schema):
    id: int
    product_id: int
    key: str
    buyer_email: str
    uses: int
    max_uses: int | None
    refunded: bool
    revoked: bool
    created_at: datetime
    last_checked_at: datetime | None


class LicenseList(Schema):
    items: list[LicenseOut]
    next: str | None


class UploadStart(Schema):
    model_config = ConfigDict(extra="forbid")

    filename: str = Field(min_length=1, max_length=255)
    size: int = Field(ge=1, le=2**53 - 1, description="Bytes; reserved from your quota.")
    role: Literal["deliverable", "preview"] = "deliverable"


class UploadPart(Schema):
    number: int
    size: int


class UploadOut(Schema):
    id: UUID
    backend: str = Field(description="local: PATCH the chunks here; s3: PUT parts to the bucket.")
    filename: str
    size: int
    offset: int = Field(description="Bytes received: send the next chunk from here.")
    status: str
    chunk_size: int = Field(description="local: the chunk size to send (at most 4 times it).")
    part_size: int = Field(description="s3: every part but the last has this size.")
    parts: list[UploadPart] | None = Field(None, description="s3: the parts the bucket holds.")
    error: str | None = None


class PartsIn(Schema):
    model_config = ConfigDict(extra="forbid")

    numbers: list[int] = Field(min_length=1, max_length=100)


class PartsOut(Schema):
    part_size: int
    urls: dict[str, str] = Field(description="Part number → a presigned PUT address.")


class UploadComplete(Schema):
    model_config = ConfigDict(extra="forbid")

    sha256: str | None = Field(
        None, pattern="^[0-9a-fA-F]{64}$", description="Refused unless the file has it."
    )


class ImportOut(Schema):
    id: int
    status: str = Field(
        description="planning, planned (checked, nothing written), queued, running, done, failed."
    )
    dry_run: bool = Field(description="True until started: the plan wrote nothing.")
    filename: str
    total: int
    processed: int
    created: int
    updated: int
    failed: int
    error: str
    plan: dict[str, Any] | None = Field(
        description="Row by row: what will be (or was) done, and each problem."
    )
    created_at: datetime
