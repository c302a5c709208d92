"""The product page's own parts, kept per version of what they show (decision 107).

A product page spent two thirds of its time in Django's template engine on
markup that is the same for every visitor who reads that product in one
language: the title, the description, the machine-readable head (JSON-LD,
OpenGraph, feeds), the cover, the previews, the buy form, the tags and the
track list. Only four values are the visitor's own: the CSRF token, the
form's idempotency key, the visit's attribution fields, and — after a failed
checkout — the errors and the values typed.

So ``catalog/_product.html`` is rendered with a hole (``catalog/fragments.py``)
for each of the first three and a marker where each part starts, split at
them, and kept under a digest of every column of the rows it shows (the
product, its seller, its files, its tags) and of what else it reads: the
language, the URL configuration, the site's address, the store's name,
whether the currency can be charged, the media address, and the source of
its templates. An edit of any row (an ``update()`` too) gives a new key, so
nothing is invalidated; old keys expire. The parts are kept twice
(``catalog/kept.py``): per process (the last 1,024 products shown, no round
trip) and in the shared cache for a day (every process and node renders a
product once). A page with
errors or typed values is rendered, not kept.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from functools import lru_cache
from typing import Any

from django.conf import settings
from django.db.models import Model
from django.db.models.fields.files import FieldFile
from django.template import Context
from django.template.defaulttags import CsrfTokenNode
from django.template.loader import get_template
from django.urls import get_script_prefix, get_urlconf
from django.utils.html import conditional_escape, format_html
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import get_language

from catalog.attribution import Attribution
from catalog.fragments import rendered_parts
from catalog.kept import ProcessFront
from catalog.seo.site import site_root

PARTS_TEMPLATE = "catalog/_product.html"
# What the parts template includes: their sources are in the shared cache's key.
PARTS_TEMPLATES = (PARTS_TEMPLATE, "catalog/_price.html", "seo/_product_head.html")
PARTS = ("title", "description", "head", "content")
# What ``_product.html`` reads of the page's context (``root`` is added).
READ = ("product", "previews", "files", "tags", "errors", "form_values", "store_name")
SECONDS = 24 * 3600
_RENDERED = "catalog.product_page"


@lru_cache(maxsize=8)
def _version(template: Any) -> str:
    """The sources of the parts' templates; ``template`` is the compiled parts template,
    a new object once the cached loader is reset (``DEBUG``'s autoreload)."""
    digest = hashlib.blake2b(digest_size=6)
    for name in PARTS_TEMPLATES:
        digest.update(get_template(name).template.source.encode())  # type: ignore[attr-defined]
    return digest.hexdigest()


def _row(instance: Model) -> tuple[object, ...]:
    """Every column of ``instance`` as read (a file by its name)."""
    values = instance.__dict__
    row = []
    for field in instance._meta.concrete_fields:
        value = values.get(field.attname)
        row.append(value.name if isinstance(value, FieldFile) else value)
    return tuple(row)


def parts_key(values: Mapping[str, Any], template: Any) -> str:
    """The key of a product's parts rendered from ``values``: a digest of everything they
    show."""
    product = values["product"]
    shown = (
        _row(product),
        _row(product.seller),
        [_row(asset) for asset in values["previews"]],
        [_row(asset) for asset in values["files"]],
        [_row(tag) for tag in values["tags"]],
        product.chargeable,
        values["store_name"],
        values["root"],
        get_language(),
        get_urlconf(),
        get_script_prefix(),
        settings.MEDIA_URL,
    )
    digest = hashlib.blake2b(repr(shown).encode(), digest_size=16).hexdigest()
    return f"product-page:{_version(template)}:{digest}"


_KEPT = ProcessFront(1024)


def _kept(key: str, render: Callable[[], tuple[str, ...]]) -> tuple[str, ...]:
    parts: tuple[str, ...] | None = _KEPT.get_many([key]).get(key)
    if parts is None:
        parts = render()
        _KEPT.set_many({key: parts}, SECONDS)
    return parts


def _attribution(value: Attribution | None) -> str:
    if value is None:
        return ""
    return format_html(
        '<input type="hidden" name="ref" value="{}">'
        '<input type="hidden" name="utm_source" value="{}">'
        '<input type="hidden" name="utm_campaign" value="{}">',
        value.ref,
        value.utm_source,
        value.utm_campaign,
    )


def product_parts(context: Context) -> dict[str, SafeString]:
    """The product page's parts (``PARTS``) for the page being rendered with ``context``."""
    template = get_template(PARTS_TEMPLATE).template  # type: ignore[attr-defined]
    values = {name: context.get(name) for name in READ}
    values["root"] = site_root(context.get("request"))
    if context.get("form_untouched"):
        parts = _kept(parts_key(values, template), lambda: rendered_parts(template, values))
    else:
        parts = rendered_parts(template, values)
    holes: dict[str, Callable[[], str]] = {
        "csrf": lambda: CsrfTokenNode().render(context),
        "form_key": lambda: conditional_escape(str(context.get("form_key", ""))),
        "attribution": lambda: _attribution(context.get("attribution")),
    }
    out: dict[str, list[str]] = {name: [] for name in PARTS}
    current: list[str] = []  # before the first part: the template's comment
    for index, piece in enumerate(parts):
        if index % 2 == 0:
            current.append(piece)
        elif piece.startswith("part_"):
            current = out[piece.removeprefix("part_")]
        else:
            current.append(holes[piece]())
    return {name: mark_safe("".join(pieces)) for name, pieces in out.items()}


def product_part(context: Context, name: str) -> SafeString:
    """Part ``name`` of the page being rendered; the parts are made once per page."""
    rendered = context.render_context.get(_RENDERED)
    if rendered is None:
        rendered = context.render_context[_RENDERED] = product_parts(context)
    return rendered[name]
