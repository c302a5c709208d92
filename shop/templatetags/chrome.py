"""``{% page_header %}`` and ``{% page_footer %}``: ``base.html``'s kept fragments.

What they show and what is kept is in ``shop/chrome.py``.
"""

from __future__ import annotations

from django import template
from django.utils.safestring import SafeString

from shop import chrome

register = template.Library()


@register.simple_tag(takes_context=True)
def page_header(context: template.Context) -> SafeString:
    return chrome.page_header(context)


@register.simple_tag(takes_context=True)
def page_footer(context: template.Context) -> SafeString:
    return chrome.page_footer(context)
