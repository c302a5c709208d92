from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest

from shop.cart import Cart
from shop.payments.base import test_mode_active


def site_links() -> list[tuple[str, str]]:
    """The operator's pages for the footer, as (label, href), only those set.

    Reads settings only, so the 500 page can show them too.
    """
    email = settings.SITE_CONTACT_EMAIL
    links = [
        ("Contact", settings.SITE_CONTACT_URL),
        (email, f"mailto:{email}" if email else ""),
        ("Terms", settings.SITE_TERMS_URL),
        ("Refund policy", settings.SITE_REFUND_POLICY_URL),
    ]
    return [(label, href) for label, href in links if href]


def storefront(request: HttpRequest) -> dict[str, object]:
    session = getattr(request, "session", None)
    return {
        "store_name": settings.STORE_NAME,
        "site_links": site_links(),
        "payments_test_mode": test_mode_active(),
        "cart_size": len(Cart(session)) if session is not None else 0,
    }
