"""The header and footer of every page (``base.html``), kept per process.

Both are fragments (``catalog/fragments.py``, decision 97): what they show
comes from the context as the page was given it (the context processors'
values, or a settings-only context on the 400 page), read here into their
inputs; what belongs to the visitor goes into holes, filled at each request:

- the header: the search typed (``search_query``), the cart's count, and,
  when logged in, the log-out form's CSRF token;
- the footer: the language form's CSRF token and the page's own address.

The CSRF token is read from the context, as ``{% csrf_token %}`` reads it,
and only when a form on the page needs one, so a page sets the CSRF cookie
exactly when it did before.
"""

from __future__ import annotations

from collections.abc import Callable

from django.template import Context
from django.template.defaulttags import CsrfTokenNode
from django.template.loader import render_to_string
from django.utils.html import conditional_escape
from django.utils.safestring import SafeString

from catalog.fragments import fragment

HEADER_TEMPLATE = "shop/_header.html"
FOOTER_TEMPLATE = "shop/_footer.html"
CART_COUNT_TEMPLATE = "shop/_cart_count.html"


def _authenticated(context: Context) -> bool:
    return bool(getattr(context.get("user"), "is_authenticated", False))


def _csrf(context: Context) -> Callable[[], str]:
    return lambda: CsrfTokenNode().render(context)


def _pairs(value: object) -> tuple[tuple[object, ...], ...] | None:
    return None if value is None else tuple(tuple(pair) for pair in value)  # type: ignore[attr-defined]


def _cart(context: Context) -> str:
    size = context.get("cart_size")
    return render_to_string(CART_COUNT_TEMPLATE, {"cart_size": size}) if size else ""


def page_header(context: Context) -> SafeString:
    return fragment(
        HEADER_TEMPLATE,
        {
            "store_name": context.get("store_name"),
            "payments_test_mode": bool(context.get("payments_test_mode")),
            "authenticated": _authenticated(context),
        },
        {
            "search": lambda: conditional_escape(context.get("search_query") or ""),
            "cart": lambda: _cart(context),
            "csrf": _csrf(context),
        },
    )


def page_footer(context: Context) -> SafeString:
    request = context.get("request")
    return fragment(
        FOOTER_TEMPLATE,
        {
            "store_name": context.get("store_name"),
            "site_links": _pairs(context.get("site_links")),
            "language_choices": _pairs(context.get("language_choices")),
            "language_current": context.get("language_current"),
        },
        {
            "csrf": _csrf(context),
            "next": lambda: conditional_escape(request.get_full_path() if request else ""),
        },
    )
