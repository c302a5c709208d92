"""Seller-written Markdown, rendered and then sanitised: no script survives."""

from __future__ import annotations

import html
import re
from functools import lru_cache

import markdown as md
import nh3
from django.utils.safestring import SafeString, mark_safe

_TAGS = {
    "p", "br", "hr", "strong", "em", "b", "i", "u", "s", "a", "ul", "ol", "li",
    "blockquote", "code", "pre", "h2", "h3", "h4", "h5", "h6", "table", "thead",
    "tbody", "tr", "th", "td",
}  # fmt: skip
_ATTRIBUTES = {"a": {"href", "title"}, "th": {"align"}, "td": {"align"}}


# A product page reads its description three or four ways (the page, the meta
# description, the structured data): each process keeps the last few hundred
# conversions, keyed by the text itself, so an edit is a new entry (decision 90).
@lru_cache(maxsize=512)
def _converted(text: str) -> str:
    return md.markdown(text, extensions=["extra", "sane_lists"], output_format="html")


def render_markdown(text: str) -> SafeString:
    return mark_safe(_sanitised(text or ""))


@lru_cache(maxsize=512)
def _sanitised(text: str) -> str:
    return nh3.clean(
        _converted(text),
        tags=_TAGS,
        attributes=_ATTRIBUTES,
        url_schemes={"http", "https", "mailto"},
        link_rel="nofollow noopener noreferrer ugc",
    )


def markdown_plain(text: str, *, limit: int = 160) -> str:
    """Seller-written Markdown as one line of plain text, for a meta description.

    Rendered first (so ``**bold**`` and ``[a link](...)`` read as words), every
    tag dropped, entities decoded, whitespace collapsed, then cut at a word
    boundary to at most ``limit`` characters, an ellipsis included.
    """
    plain = _plain(text or "")
    if len(plain) <= limit:
        return plain
    cut = plain[: limit - 1]
    if plain[limit - 1] != " " and " " in cut:
        cut = cut.rsplit(" ", 1)[0]
    return cut.rstrip(" ,;:.-–—") + "…"


@lru_cache(maxsize=512)
def _plain(text: str) -> str:
    # Block ends become spaces, so paragraphs and list items don't run together.
    rendered = re.sub(r"</(p|li|h[1-6]|blockquote|pre|tr|td|th)>|<br\s*/?>", " ", _converted(text))
    return " ".join(html.unescape(nh3.clean(rendered, tags=set())).split())
