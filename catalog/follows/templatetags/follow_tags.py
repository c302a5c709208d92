"""``{% follow_form %}``: the follow form of a seller, kept per process (decision 107).

The form's markup depends on the seller's name and address, the language, and
whether the visitor is signed in with an address (decision 97's fragments);
the CSRF token, the visitor's address, the address typed and an error
message are holes, filled at each request.
"""

from __future__ import annotations

from django import template
from django.template.defaulttags import CsrfTokenNode
from django.utils.html import conditional_escape
from django.utils.safestring import SafeString

from catalog.fragments import fragment

register = template.Library()


@register.simple_tag(takes_context=True)
def follow_form(context: template.Context) -> SafeString:
    seller = context["seller"]
    user = context.get("user")
    user_email = getattr(user, "email", "") if getattr(user, "is_authenticated", False) else ""
    error = context.get("error") or ""
    return fragment(
        "follows/_follow_form.html",
        {
            "seller_name": seller.display_name,
            "seller_slug": seller.slug,
            "signed_in": bool(user_email),
            "has_error": bool(error),
        },
        {
            "csrf": lambda: CsrfTokenNode().render(context),
            "user_email": lambda: conditional_escape(user_email),
            "email": lambda: conditional_escape(context.get("email") or ""),
            "error": lambda: conditional_escape(error),
        },
    )
