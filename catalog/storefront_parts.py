"""The product and seller pages' own parts (``catalog/pageparts.py``, decision 107)."""

from __future__ import annotations

from django.template import Context
from django.template.defaulttags import CsrfTokenNode
from django.utils.html import conditional_escape, format_html

from catalog.attribution import Attribution
from catalog.pageparts import Holes, Parts


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


def _product_holes(context: Context) -> Holes:
    return {
        "csrf": lambda: CsrfTokenNode().render(context),
        "form_key": lambda: conditional_escape(str(context.get("form_key", ""))),
        "attribution": lambda: _attribution(context.get("attribution")),
    }


PRODUCT = Parts(
    template="catalog/_product.html",
    includes=("catalog/_product.html", "catalog/_price.html", "seo/_product_head.html"),
    names=("title", "description", "head", "content"),
    read=("product", "previews", "files", "tags", "errors", "form_values"),
    rows=lambda values: (
        values["product"],
        values["product"].seller,
        *values["previews"],
        *values["files"],
        *values["tags"],
    ),
    # Whether checkout can charge the currency: settings, not a row.
    inputs=lambda values: (values["product"].chargeable,),
    holes=_product_holes,
    # A page after a failed checkout shows the errors and the values typed.
    keep=lambda context: bool(context.get("form_untouched")),
)

SELLER = Parts(
    template="catalog/_seller.html",
    includes=("catalog/_seller.html", "seo/_seller_head.html"),
    names=("title", "description", "head", "intro"),
    read=("seller",),
    rows=lambda values: (values["seller"],),
)
