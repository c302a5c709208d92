"""What a page says about itself to machines: JSON-LD (schema.org), OpenGraph, Twitter cards.

Pure functions over model instances already loaded (the product page's
prefetched files and tags), with absolute URLs built by the caller's ``root``:
no query, no storage call beyond ``url()``. Prices are the server's integer
minor units, written as schema.org's decimal text.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any

from django.core.cache import cache
from django.db.models.fields.files import FieldFile
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext

from catalog.markdown import markdown_plain
from catalog.models import Asset, Product, Seller
from catalog.money import to_decimal_string
from catalog.paths import path_to

SCHEMA = "https://schema.org"
IN_STOCK = f"{SCHEMA}/InStock"
EMBED_WIDTH = 480
EMBED_HEIGHT = 200

# Inside <script>, "</script>", "<!--" and friends end or change the block;
# "&" and the two line separators are escaped too, as Django's json_script does.
_SCRIPT_ESCAPES = {
    ord("<"): "\\u003C",
    ord(">"): "\\u003E",
    ord("&"): "\\u0026",
    0x2028: "\\u2028",
    0x2029: "\\u2029",
}


def json_ld_script(data: Any) -> SafeString:
    """A ``<script type="application/ld+json">`` block, safe for any text inside ``data``.

    A data block, not a script: browsers never run it, so the policy's
    ``script-src 'self'`` does not apply (and nothing inline is allowed for it).
    """
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":")).translate(_SCRIPT_ESCAPES)
    return mark_safe(f'<script type="application/ld+json">{text}</script>')


def iso_duration(seconds: float | int | None) -> str | None:
    """ISO 8601 duration: 187.4 s -> ``PT3M7S``; an hour and more -> ``PT1H2M3S``."""
    if seconds is None:
        return None
    try:
        total = round(float(seconds))
    except (TypeError, ValueError):
        return None
    if not math.isfinite(total) or total < 0:
        return None
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    out = "PT" + (f"{hours}H" if hours else "") + (f"{minutes}M" if minutes else "")
    return out + (f"{secs}S" if secs or out == "PT" else "")


@dataclass(frozen=True)
class ImageInfo:
    url: str
    width: int | None
    height: int | None


def image_size(image: FieldFile) -> tuple[int | None, int | None]:
    """Pixel size of a stored cover, read from its header once and kept in the cache.

    Stored names are never reused (a new cover is a new folder), so the answer
    never goes stale; a file that cannot be read gives no size.
    """
    name = image.name or ""
    key = f"seo:image-size:{name}"
    found = cache.get(key)
    if found is None:
        from PIL import Image, UnidentifiedImageError

        try:
            with image.storage.open(name) as handle, Image.open(handle) as picture:
                found = list(picture.size)
        except (OSError, ValueError, UnidentifiedImageError):
            found = [None, None]
        cache.set(key, found, timeout=None)
    return found[0], found[1]


def cover_info(product: Product, root: str) -> ImageInfo | None:
    if not product.cover:
        return None
    width, height = image_size(product.cover)
    return ImageInfo(url=absolute_to(root, product.cover.url), width=width, height=height)


def absolute_to(root: str, url: str) -> str:
    if url.startswith(("http://", "https://")):
        return url
    if url.startswith("//"):
        return root.split(":", 1)[0] + ":" + url
    return root + url


def price_text(product: Product) -> str:
    return to_decimal_string(product.minimum.amount, product.currency)


def description_text(text: str, limit: int = 300) -> str:
    return markdown_plain(text, limit=limit)


def party_type(seller: Seller) -> str:
    """schema.org's type for the seller: one person, or a group, label or company."""
    return "Organization" if seller.is_organization else "Person"


def _person(seller: Seller, root: str) -> dict[str, Any]:
    return {
        "@type": party_type(seller),
        "name": seller.display_name,
        "url": root + seller.get_absolute_url(),
    }


def _offer(product: Product, url: str) -> dict[str, Any]:
    offer: dict[str, Any] = {
        "@type": "Offer",
        "url": url,
        "price": price_text(product),
        "priceCurrency": product.currency,
        "availability": IN_STOCK,
        "seller": {"@type": party_type(product.seller), "name": product.seller.display_name},
    }
    if product.pricing == Product.Pricing.PWYW:
        # The buyer chooses from the minimum up: schema.org's price range.
        offer["priceSpecification"] = {
            "@type": "PriceSpecification",
            "minPrice": price_text(product),
            "priceCurrency": product.currency,
        }
    return offer


def breadcrumbs(root: str, trail: list[tuple[str, str]]) -> dict[str, Any]:
    return {
        "@context": SCHEMA,
        "@type": "BreadcrumbList",
        "itemListElement": [
            {"@type": "ListItem", "position": n, "name": name, "item": root + path}
            for n, (name, path) in enumerate(trail, start=1)
        ],
    }


def _tracks(files: list[Asset]) -> list[Asset]:
    return [a for a in files if a.kind == "audio" or a.mime_type.startswith("audio/")]


def _work(
    product: Product,
    *,
    url: str,
    files: list[Asset],
    previews: list[Asset],
    cover: ImageInfo | None,
    root: str,
    offer: dict[str, Any],
) -> dict[str, Any] | None:
    """The creative work behind the product: album, book or film."""
    base: dict[str, Any] = {"@context": SCHEMA, "name": product.title, "url": url}
    if cover:
        base["image"] = cover.url
    if product.kind == Product.Kind.MUSIC:
        tracks = _tracks(files)
        recordings = []
        for position, track in enumerate(tracks, start=1):
            recording: dict[str, Any] = {
                "@type": "MusicRecording",
                "name": track.metadata.get("title") or track.original_filename,
                "position": position,
                "byArtist": {"@type": "MusicGroup", "name": product.seller.display_name},
            }
            duration = iso_duration(track.metadata.get("duration_seconds"))
            if duration:
                recording["duration"] = duration
            recordings.append(recording)
        album = {
            **base,
            "@type": "MusicAlbum",
            "byArtist": {
                "@type": "MusicGroup",
                "name": product.seller.display_name,
                "url": root + product.seller.get_absolute_url(),
            },
            "numTracks": len(recordings),
            "track": recordings,
            "albumReleaseType": f"{SCHEMA}/"
            + ("SingleRelease" if len(recordings) == 1 else "AlbumRelease"),
            "offers": offer,
        }
        total = sum(float(t.metadata.get("duration_seconds") or 0) for t in tracks)
        if total:
            album["duration"] = iso_duration(total)
        return album
    if product.kind == Product.Kind.EBOOK:
        book = {
            **base,
            "@type": "Book",
            "bookFormat": f"{SCHEMA}/EBook",
            "author": _person(product.seller, root),
            "offers": offer,
        }
        pages = [a.metadata.get("pages") for a in files if a.metadata.get("pages")]
        if pages:
            book["numberOfPages"] = int(max(pages))
        return book
    if product.kind == Product.Kind.VIDEO:
        videos = [a for a in files if a.kind == "video" or a.mime_type.startswith("video/")]
        film: dict[str, Any] = {
            **base,
            "@type": "VideoObject",
            "description": description_text(product.description) or product.title,
            "uploadDate": (product.release_date or product.created_at.date()).isoformat(),
            "creator": _person(product.seller, root),
            "embedUrl": root + embed_path(product),
            "offers": offer,
        }
        if cover:
            film["thumbnailUrl"] = cover.url
        if videos:
            facts = videos[0].metadata
            duration = iso_duration(facts.get("duration_seconds"))
            if duration:
                film["duration"] = duration
            if facts.get("width") and facts.get("height"):
                film["width"], film["height"] = int(facts["width"]), int(facts["height"])
        playable = [p for p in previews if p.player == "video"]
        if playable:
            film["contentUrl"] = absolute_to(root, playable[0].public_file.url)
        return film
    return None


def embed_path(product: Product) -> str:
    return path_to("seo:embed", seller=product.seller.slug, product=product.slug)


def product_json_ld(
    product: Product, *, files: list[Asset], previews: list[Asset], root: str
) -> list[dict[str, Any]]:
    """Product with its Offer, the work it is (album, book, film), and the breadcrumbs."""
    url = root + product.get_absolute_url()
    cover = cover_info(product, root)
    offer = _offer(product, url)
    item: dict[str, Any] = {
        "@context": SCHEMA,
        "@type": "Product",
        "name": product.title,
        "url": url,
        "sku": str(product.pk),
        "category": product.get_kind_display(),
        "brand": {"@type": "Brand", "name": product.seller.display_name},
        "offers": offer,
    }
    description = description_text(product.description)
    if description:
        item["description"] = description
    if cover:
        item["image"] = cover.url
    found = [item]
    work = _work(
        product, url=url, files=files, previews=previews, cover=cover, root=root, offer=offer
    )
    if work:
        found.append(work)
    found.append(
        breadcrumbs(
            root,
            [
                (gettext("Home"), path_to("catalog:home")),
                (product.seller.display_name, product.seller.get_absolute_url()),
                (product.title, product.get_absolute_url()),
            ],
        )
    )
    return found


def seller_json_ld(seller: Seller, *, root: str) -> list[dict[str, Any]]:
    person: dict[str, Any] = {
        "@context": SCHEMA,
        "@type": party_type(seller),
        "name": seller.display_name,
        "url": root + seller.get_absolute_url(),
    }
    if seller.bio:
        person["description"] = description_text(seller.bio)
    if seller.avatar:
        person["image"] = absolute_to(root, seller.avatar.url)
    if seller.links:
        person["sameAs"] = [str(link) for link in seller.links]
    return [
        person,
        breadcrumbs(
            root,
            [
                (gettext("Home"), path_to("catalog:home")),
                (seller.display_name, seller.get_absolute_url()),
            ],
        ),
    ]


_OG_TYPES = {
    Product.Kind.MUSIC: "music.album",
    Product.Kind.VIDEO: "video.other",
    Product.Kind.EBOOK: "book",
}


def product_meta(
    product: Product, *, previews: list[Asset], root: str, store_name: str
) -> list[tuple[str, str, str]]:
    """OpenGraph and Twitter card tags as (attribute, name, content), in order.

    ``og:type`` stays ``product`` so that the price tags (``product:price:*``)
    are read; the kind of work is in the JSON-LD.
    """
    url = root + product.get_absolute_url()
    description = description_text(product.description, 200) or product.title
    title = gettext("%(title)s by %(seller)s") % {
        "title": product.title,
        "seller": product.seller.display_name,
    }
    tags: list[tuple[str, str, str]] = [
        ("property", "og:site_name", store_name),
        ("property", "og:type", "product"),
        ("property", "og:title", title),
        ("property", "og:description", description),
        ("property", "og:url", url),
        ("property", "product:price:amount", price_text(product)),
        ("property", "product:price:currency", product.currency),
        ("property", "product:availability", "in stock"),
    ]
    cover = cover_info(product, root)
    if cover:
        tags += [
            ("property", "og:image", cover.url),
            ("property", "og:image:alt", gettext("Cover of %(title)s") % {"title": product.title}),
        ]
        if cover.width and cover.height:
            tags += [
                ("property", "og:image:width", str(cover.width)),
                ("property", "og:image:height", str(cover.height)),
            ]
    audio = next((p for p in previews if p.player == "audio"), None)
    video = next((p for p in previews if p.player == "video"), None)
    if audio:
        tags += [
            ("property", "og:audio", absolute_to(root, audio.public_file.url)),
            ("property", "og:audio:type", audio.mime_type.split(";")[0]),
        ]
    if video:
        tags += [
            ("property", "og:video", absolute_to(root, video.public_file.url)),
            ("property", "og:video:type", video.mime_type.split(";")[0]),
        ]
        if video.metadata.get("width") and video.metadata.get("height"):
            tags += [
                ("property", "og:video:width", str(video.metadata["width"])),
                ("property", "og:video:height", str(video.metadata["height"])),
            ]
    card = "player" if (audio or video) else ("summary_large_image" if cover else "summary")
    tags += [
        ("name", "twitter:card", card),
        ("name", "twitter:title", title),
        ("name", "twitter:description", description),
    ]
    if cover:
        tags.append(("name", "twitter:image", cover.url))
    if card == "player":
        tags += [
            ("name", "twitter:player", root + embed_path(product)),
            ("name", "twitter:player:width", str(EMBED_WIDTH)),
            ("name", "twitter:player:height", str(EMBED_HEIGHT)),
        ]
    return tags
