from __future__ import annotations

from django import template
from django.db.models.fields.files import FieldFile
from django.utils.safestring import SafeString
from django.utils.translation import gettext

from catalog import storefront_parts
from catalog.l10n import format_number, format_size
from catalog.markdown import markdown_plain, render_markdown
from catalog.money import Money, format_money
from catalog.quotas import human_size
from catalog.seller_menu import MenuEntry
from catalog.seller_menu import seller_menu as menu_entries
from catalog.services.images import SIZED_IMAGE, image_variant

register = template.Library()


@register.filter
def stored_text(value: str) -> str:
    """A sentence the shop wrote and stored in English (marked with ``gettext_noop`` where
    it is written: "Refunded.", a failed payment's reason), in the reader's language; text
    that is not in the catalogue (a seller's own words, Stripe's decline message) as is."""
    return gettext(value) if value else value


@register.filter
def money(value: Money | int, currency: str | None = None) -> str:
    if isinstance(value, Money):
        return str(value)
    return format_money(int(value), currency or "EUR")


@register.filter
def number(value: int | float | None, decimals: int | None = None) -> str:
    """A figure with the language's grouping and decimal marks."""
    if value is None or value == "":
        return ""
    return format_number(value, decimals=None if decimals is None else int(decimals))


@register.filter
def markdown(value: str) -> SafeString:
    return render_markdown(value)


@register.filter
def plain_text(value: str, limit: int = 160) -> str:
    """Markdown as one short line of text (meta descriptions); escaped by the template."""
    return markdown_plain(value, limit=int(limit))


@register.filter
def filesize(value: int) -> str:
    """Bytes as the reader's language writes them: "1.5 MB", "1,5 Mo"."""
    return format_size(int(value or 0))


@register.filter
def storage_size(value: int) -> str:
    """Sizes as the quota messages write them: "50 GB", "3.2 GB"."""
    return human_size(int(value or 0))


@register.filter
def duration(value: float | int | str | None) -> str:
    """Seconds as 3:07 or 1:02:03."""
    try:
        total = round(float(value or 0))
    except (TypeError, ValueError):
        return ""
    hours, rest = divmod(total, 3600)
    minutes, seconds = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{seconds:02d}" if hours else f"{minutes}:{seconds:02d}"


@register.filter
def variant(image: FieldFile, name: str) -> str:
    """URL of another stored size ("600.webp") of a cover or avatar; the image's own URL
    for images stored before sizes existed."""
    if not image:
        return ""
    if not SIZED_IMAGE.search(image.name or ""):
        return image.url
    return image.storage.url(image_variant(image.name or "", name))


@register.simple_tag
def seller_menu() -> list[MenuEntry]:
    """Every seller page, from every app: ``{% seller_menu as entries %}``."""
    return menu_entries()


@register.simple_tag(takes_context=True)
def product_part(context: template.Context, name: str) -> SafeString:
    """One part of the product page, kept per version of its rows (``catalog/pageparts.py``)."""
    return storefront_parts.PRODUCT.part(context, name)


@register.simple_tag(takes_context=True)
def seller_part(context: template.Context, name: str) -> SafeString:
    """One part of the seller page, kept per version of the seller's row."""
    return storefront_parts.SELLER.part(context, name)
