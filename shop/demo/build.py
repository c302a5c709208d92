"""The demo data and how it is made: sellers, products, a buyer, a seller's two months.

Everything goes through the real services of every app (uploads are inspected,
orders are paid and fulfilled), so the demo shows what the code does. Running it
again changes nothing.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.files import File
from django.core.files.base import ContentFile
from django.db import transaction
from django.test.utils import override_settings
from django.urls import reverse
from django.utils import timezone

from catalog.attribution import Attribution
from catalog.discovery.services import search_reindex
from catalog.follows.services import confirm_token, follow_confirm, follow_request
from catalog.models import Asset, Product, Seller, Tag
from catalog.services.assets import asset_create
from catalog.services.images import image_store
from delivery.models import Download, Library
from delivery.services import library_get_or_create, library_link_create
from shop.demo import lossless
from shop.demo.covers import make_cover
from shop.demo.funding import demo_campaigns
from shop.funding.models import Campaign
from shop.models import LedgerEntry, Order, OrderItem, Refund
from shop.services import (
    OrderLine,
    checkout_key_new,
    order_create,
    order_fulfil,
    order_item_refund,
)
from shop.stats.models import ProductView

MEDIA_DIR = Path(__file__).resolve().parent / "media"
BUYER_EMAIL = "buyer@example.com"
BUYER_PASSWORD = "demo-buyer-pass"  # noqa: S105 - demo data, printed to the operator
ADMIN_PASSWORD = "demo-admin-pass"  # noqa: S105


@dataclass
class DemoProduct:
    slug: str
    title: str
    kind: str
    pricing: str
    price: int
    files: list[str]
    colors: tuple[str, str]
    description: str
    suggested: int | None = None
    previews: list[str] = field(default_factory=list)
    # Files made at demo time (shop.demo.lossless) instead of read from MEDIA_DIR.
    lossless_album: bool = False
    # Each buyer's PDFs and EPUBs carry their name and order (delivery.stamping).
    stamp_ebooks: bool = False
    # Each tag has its page (/tags/<tag>/), so the demo's tag pages list something.
    tags: list[str] = field(default_factory=list)


@dataclass
class DemoSeller:
    slug: str
    name: str
    email: str
    bio: str
    products: list[DemoProduct]
    is_organization: bool = False


SELLERS = [
    DemoSeller(
        "maelle-durand",
        "Maëlle Durand",
        "maelle@example.com",
        "Writer and small-business nerd in Nantes. Essays about making things and selling them.",
        [
            DemoProduct(
                "field-notes-on-small-shops",
                "Field Notes on Small Shops",
                Product.Kind.EBOOK,
                Product.Pricing.FIXED,
                900,
                ["ebook-field-notes.pdf", "ebook-field-notes.epub"],
                ("#3a1c71", "#d76d77"),
                "An essay on **long tails**, tiny audiences and why a file never runs "
                "out of stock.\n\nIncludes the PDF for reading on a screen and the EPUB for "
                "your e-reader, each made out to you.",
                stamp_ebooks=True,
                tags=["essays", "small-business"],
            ),
            DemoProduct(
                "small-shop-reading-kit",
                "The Small Shop Reading Kit",
                Product.Kind.BUNDLE,
                Product.Pricing.PWYW,
                500,
                ["ebook-field-notes.pdf", "ebook-field-notes.epub", "ebook-recipes.pdf"],
                ("#0f2027", "#2c7744"),
                "Both books in one bundle. Pay what you want, from €5.",
                suggested=1200,
                tags=["essays", "cookbook", "small-business"],
            ),
        ],
    ),
    DemoSeller(
        "les-ondes-douces",
        "Les Ondes Douces",
        "ondes@example.com",
        "Gentle electronic music for trains, rain and late evenings.",
        [
            DemoProduct(
                "night-trains",
                "Night Trains",
                Product.Kind.MUSIC,
                Product.Pricing.FIXED,
                700,
                [
                    "album-01-departure.mp3",
                    "album-02-tunnel.mp3",
                    "album-03-the-long-curve.mp3",
                    "album-04-arrival.mp3",
                ],
                ("#141e30", "#4f6d9c"),
                "Four tracks recorded between two stations. MP3, 96 kbps.",
                previews=["preview-night-trains.mp3"],
                tags=["ambient", "electronic", "trains"],
            ),
            DemoProduct(
                "tide-tables",
                "Tide Tables",
                Product.Kind.MUSIC,
                Product.Pricing.FIXED,
                900,
                [],
                ("#134e5e", "#71b280"),
                "Three tracks, uploaded once in FLAC: pick FLAC, ALAC, MP3 320 or V0, AAC, "
                "Ogg Vorbis or Opus in your library, or download the whole album as one ZIP.",
                lossless_album=True,
                tags=["ambient", "lossless"],
            ),
            DemoProduct(
                "morning-light",
                "Morning Light",
                Product.Kind.MUSIC,
                Product.Pricing.FREE,
                0,
                ["single-morning-light.ogg"],
                ("#f7971e", "#c9a227"),
                "A free single to say hello. Ogg Vorbis.",
                tags=["electronic"],
            ),
        ],
        is_organization=True,
    ),
    DemoSeller(
        "tomas-ibanez",
        "Tomás Ibáñez",
        "tomas@example.com",
        "Cook, filmmaker, and owner of a very small kitchen.",
        [
            DemoProduct(
                "recipes-from-a-tiny-kitchen",
                "Recipes from a Tiny Kitchen",
                Product.Kind.EBOOK,
                Product.Pricing.PWYW,
                300,
                ["ebook-recipes.pdf"],
                ("#b24592", "#f15f79"),
                "Ten recipes that need one pan and no patience. Pay what you want.",
                suggested=600,
                tags=["cookbook"],
            ),
            DemoProduct(
                "harbour-at-dusk",
                "Harbour at Dusk",
                Product.Kind.VIDEO,
                Product.Pricing.FIXED,
                400,
                ["video-harbour.mp4"],
                ("#1f4037", "#99f2c8"),
                "A short film: five seconds of the harbour going quiet. H.264, 320×180.",
                previews=["preview-harbour.mp4"],
                tags=["short-film", "sea"],
            ),
        ],
    ),
]

OWNED_BY_BUYER = ["night-trains", "field-notes-on-small-shops", "tide-tables"]

# Who follows whom; the embed shown in the summary is this seller's album.
FOLLOWED_SELLER = "les-ondes-douces"
FOLLOWERS = [BUYER_EMAIL, "night.owl@example.com", "rail.fan@example.org"]
EMBEDDED_PRODUCT = "night-trains"

# The seller whose dashboard has history: two months of views, sales, a refund
# and downloads, made through the real order path and then dated in the past.
HISTORY_SELLER = "les-ondes-douces"
SELLER_PASSWORD = "demo-seller-pass"  # noqa: S105 - demo data, printed to the operator
HISTORY_DAYS = 60
HISTORY_KEY = "demo-history-"
REFERRERS = ["", "", "bandcamp.com", "mastodon.social", "news.ycombinator.com"]
CAMPAIGNS = [("", ""), ("", ""), ("newsletter", "spring"), ("mastodon", "")]
COUNTRIES = ["FR", "FR", "DE", "BE", "CA", "US", "JP", ""]


@dataclass(frozen=True)
class DemoBuilt:
    """What a run added: how many products are new, and the buyer's library link if any."""

    created: int
    library_link: str
    campaigns: list[Campaign] = field(default_factory=list)


def served_site_url(addrport: str) -> str:
    """The shop's address when ``runserver`` listens on ``addrport`` (``8000``, ``host:port``).

    A wildcard address (``0.0.0.0``, ``0``, ``[::]``) listens everywhere but is no
    place to point a browser at: links name the loopback address on the same port.
    """
    host, _, port = addrport.strip().rpartition(":")
    if host in ("", "0", "0.0.0.0"):  # noqa: S104 - a name compared, nothing bound
        host = "127.0.0.1"
    elif host == "[::]":
        host = "[::1]"
    return f"http://{host}:{port}"


def demo_media_missing() -> list[str]:
    """The demo files that are not in ``MEDIA_DIR`` (none in a sound checkout)."""
    return [
        name
        for seller in SELLERS
        for product in seller.products
        for name in [*product.files, *product.previews]
        if not (MEDIA_DIR / name).is_file()
    ]


def demo_build() -> DemoBuilt:
    """Make whatever of the demo is missing; the rest is left as it is."""
    created = 0
    with transaction.atomic():
        _admin()
        for demo_seller in SELLERS:
            seller = _seller(demo_seller)
            for demo_product in demo_seller.products:
                created += _product(seller, demo_product)
    library_link = _buyer()
    _history()
    _followers()
    # The backers are made up: their mails go nowhere.
    with override_settings(EMAIL_BACKEND="django.core.mail.backends.dummy.EmailBackend"):
        campaigns = demo_campaigns()
    # The demo writes products directly (published at once, files attached after):
    # the index is rebuilt once, as `manage.py search_reindex` does.
    search_reindex()
    return DemoBuilt(created=created, library_link=library_link, campaigns=campaigns)


def _admin() -> None:
    user_model = get_user_model()
    if not user_model.objects.filter(username="admin").exists():
        user_model.objects.create_superuser("admin", "admin@example.com", ADMIN_PASSWORD)


def _seller(demo: DemoSeller) -> Seller:
    user_model = get_user_model()
    user, made = user_model.objects.get_or_create(
        username=demo.slug, defaults={"email": demo.email}
    )
    if made:
        user.set_unusable_password()
        user.save()
    seller, _ = Seller.objects.get_or_create(
        slug=demo.slug,
        defaults={
            "user": user,
            "display_name": demo.name,
            "bio": demo.bio,
            "currency": settings.STORE_CURRENCY,
            "is_organization": demo.is_organization,
        },
    )
    return seller


def _product(seller: Seller, demo: DemoProduct) -> int:
    product = Product.objects.filter(seller=seller, slug=demo.slug).first()
    if product is not None:
        _previews(product, demo)  # demos made before previews existed get them too
        _tags(product, demo)
        return 0
    product = Product.objects.create(
        seller=seller,
        slug=demo.slug,
        title=demo.title,
        kind=demo.kind,
        pricing=demo.pricing,
        price=demo.price,
        suggested_price=demo.suggested,
        currency=settings.STORE_CURRENCY,
        status=Product.Status.PUBLISHED,
        description=demo.description,
        stamp_ebooks=demo.stamp_ebooks,
    )
    cover = make_cover(demo.title, seller.display_name, demo.colors)
    image_store(field=product.cover, source=cover)
    product.save(update_fields=["cover"])
    _upload(product, demo.files, Asset.Role.DELIVERABLE)
    if demo.lossless_album:
        for number in range(1, len(lossless.TRACKS) + 1):
            name, data = lossless.make_track(number, cover_jpeg=cover)
            asset_create(
                product=product,
                file=ContentFile(data, name=name),
                original_filename=name,
                role=Asset.Role.DELIVERABLE,
                position=number,
            )
    _previews(product, demo)
    _tags(product, demo)
    return 1


def _tags(product: Product, demo: DemoProduct) -> None:
    if demo.tags and not product.tags.exists():
        product.tags.set([Tag.objects.get_or_create(slug=slug)[0] for slug in demo.tags])


def _upload(product: Product, names: list[str], role: str) -> None:
    for position, name in enumerate(names, start=1):
        with (MEDIA_DIR / name).open("rb") as handle:
            asset_create(
                product=product,
                file=File(handle, name=name),
                original_filename=name,
                role=role,
                position=position,
            )


def _previews(product: Product, demo: DemoProduct) -> None:
    """The public samples a visitor hears or watches on the product page and in the embed."""
    if not product.assets.filter(role=Asset.Role.PREVIEW).exists():
        _upload(product, demo.previews, Asset.Role.PREVIEW)


def _followers() -> None:
    """Fans of the music seller: the buyer and two more, confirmed as their links would."""
    seller = Seller.objects.get(slug=FOLLOWED_SELLER)
    for email in FOLLOWERS:
        pending = follow_request(seller=seller, email=email)
        if pending is not None:
            follow_confirm(token=confirm_token(pending))


def _history() -> None:
    """Two months of a small music shop: views from a few places, sales, a refund."""
    if Order.objects.filter(checkout_key__startswith=HISTORY_KEY).exists():
        return
    seller = Seller.objects.select_related("user").get(slug=HISTORY_SELLER)
    products = list(Product.objects.filter(seller=seller).order_by("price"))
    first_files = {
        product.pk: product.assets.filter(role=Asset.Role.DELIVERABLE).order_by("position")[0]
        for product in products
    }
    rng = random.Random(7)  # noqa: S311 - demo data, the same every time
    now = timezone.now()
    views: list[ProductView] = []
    downloads: list[Download] = []
    # Receipts would flood the console: these buyers are made up. One transaction, so
    # that its on-commit emails are sent (to nowhere) inside the override.
    with (
        override_settings(EMAIL_BACKEND="django.core.mail.backends.dummy.EmailBackend"),
        transaction.atomic(),
    ):
        user = seller.user
        user.set_password(SELLER_PASSWORD)
        user.save(update_fields=["password"])
        Seller.objects.filter(pk=seller.pk).update(
            email_verified_at=timezone.now(), timezone="Europe/Paris"
        )
        for back in range(HISTORY_DAYS, 0, -1):
            day = now - timedelta(days=back)
            busy = 1 + (HISTORY_DAYS - back) // 20  # a shop that grows
            for _ in range(rng.randint(2, 6) * busy):
                product = rng.choice(products)
                source, campaign = rng.choice(CAMPAIGNS)
                views.append(
                    ProductView(
                        seller=seller,
                        product=product,
                        at=day + timedelta(minutes=rng.randint(0, 1439)),
                        referrer_host=rng.choice(REFERRERS),
                        utm_source=source,
                        utm_campaign=campaign,
                    )
                )
            for n in range(rng.randint(0, 2) * busy):
                paid_at, items = _past_sale(rng, products, day, now, f"{back}-{n}")
                for item in items:
                    later = timedelta(minutes=rng.randint(1, 600))
                    downloads.append(
                        Download(
                            entitlement=item.entitlement,
                            asset=first_files[item.product_id],
                            at=min(paid_at + later, now),
                            counted=True,
                        )
                    )
        ProductView.objects.bulk_create(views)
        # Counted downloads are numbered per entitlement and file, as the gate reads them.
        numbers: dict[tuple[int, int], int] = {}
        for row in sorted(downloads, key=lambda d: d.at):
            key = (row.entitlement_id, row.asset_id)
            row.number = numbers[key] = numbers.get(key, 0) + 1
        Download.objects.bulk_create(downloads)


def _past_sale(
    rng: random.Random, products: list[Product], day: datetime, now: datetime, key: str
) -> tuple[datetime, list[OrderItem]]:
    """One order through the real path, then dated ``day`` (never after ``now``)."""
    product = rng.choice(products)
    source, campaign = rng.choice(CAMPAIGNS)
    order = order_create(
        lines=[OrderLine(product)],
        email=f"fan-{key}@example.com",
        checkout_key=f"{HISTORY_KEY}{key}",
        provider="test",
        attribution=Attribution(
            ref=rng.choice(REFERRERS), utm_source=source, utm_campaign=campaign
        ),
    )
    if order.status != Order.Status.PAID:
        order = order_fulfil(order_id=order.pk, payment_id=f"demo_{order.public_id.hex}")
    paid_at = day + timedelta(minutes=rng.randint(0, 1439))
    Order.objects.filter(pk=order.pk).update(
        created_at=paid_at, paid_at=paid_at, country=rng.choice(COUNTRIES)
    )
    items = list(OrderItem.objects.filter(order=order).select_related("entitlement"))
    LedgerEntry.objects.filter(item__in=items).update(created_at=paid_at)
    if product.price and rng.random() < 0.06:
        refund = order_item_refund(
            item_id=items[0].pk, amount=product.price // 2, reason="Demo: asked nicely"
        )
        refunded_at = min(paid_at + timedelta(days=1), now)
        Refund.objects.filter(pk=refund.pk).update(created_at=refunded_at)
        LedgerEntry.objects.filter(refund=refund).update(created_at=refunded_at)
    return paid_at, [item for item in items if item.entitlement is not None]


def _buyer() -> str:
    """Give the demo buyer their purchases, paid through the real order path."""
    user_model = get_user_model()
    user = user_model.objects.filter(username="buyer").first()
    if user is None:
        user = user_model.objects.create_user("buyer", BUYER_EMAIL, BUYER_PASSWORD)
    library = library_get_or_create(email=BUYER_EMAIL)
    if library.user_id is None:
        Library.objects.filter(pk=library.pk).update(user=user)
    owned = set(library.entitlements.values_list("product__slug", flat=True))
    bought = False
    for slug in OWNED_BY_BUYER:
        if slug in owned:
            continue
        product = Product.objects.get(slug=slug)
        order = order_create(
            lines=[OrderLine(product)],
            email=BUYER_EMAIL,
            checkout_key=checkout_key_new(),
            user=user,
            provider="test",
        )
        order_fulfil(order_id=order.pk, payment_id=f"demo_{order.public_id.hex}")
        bought = True
    if not bought:
        return ""
    token = library_link_create(library=library)
    return settings.SITE_URL + reverse("delivery:library", kwargs={"token": token})
