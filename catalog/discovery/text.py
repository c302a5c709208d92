"""Words for the index and the query, and highlighting: pure functions, no ORM.

Both sides go through :func:`words`: folded (lower case, accents and other
combining marks dropped, compatibility forms unified) and cut at anything that
is not a letter or a digit. The database never parses what a visitor typed:
a query becomes a list of such words, each matched as a prefix, all required.
Quotes, ``NEAR``, ``*``, ``-``, ``:`` or parentheses are just separators then.
"""

from __future__ import annotations

import re
import unicodedata

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

# What a visitor may type; the rest is dropped (a search box is not a document).
QUERY_MAX_CHARS = 200
QUERY_MAX_WORDS = 8
WORD_MAX_CHARS = 40

_WORD = re.compile(r"[^\W_]+")


def fold(text: str) -> str:
    """Lower case without accents: "Été à Montréal" -> "ete a montreal"."""
    decomposed = unicodedata.normalize("NFKD", text.replace("\x00", ""))
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


def words(text: str) -> list[str]:
    """The folded words of ``text``, in order."""
    return _WORD.findall(fold(text))


def indexed(text: str) -> str:
    """``text`` as the index stores it: its folded words joined by spaces."""
    return " ".join(words(text))


def query_words(typed: str) -> list[str]:
    """The words a search looks for: at most ``QUERY_MAX_WORDS``, without repeats."""
    found: list[str] = []
    for word in words(typed[:QUERY_MAX_CHARS]):
        word = word[:WORD_MAX_CHARS]
        if word not in found:
            found.append(word)
        if len(found) == QUERY_MAX_WORDS:
            break
    return found


def _matches(word: str, terms: list[str]) -> bool:
    folded = fold(word)
    return any(folded.startswith(term) for term in terms)


def highlight(text: str, terms: list[str]) -> SafeString:
    """``text`` escaped, with each word that starts with a search word in ``<mark>``."""
    if not terms:
        return escape(text)
    out: list[str] = []
    last = 0
    for found in _WORD.finditer(text):
        if _matches(found.group(), terms):
            out.append(escape(text[last : found.start()]))
            out.append(f"<mark>{escape(found.group())}</mark>")
            last = found.end()
    out.append(escape(text[last:]))
    return mark_safe("".join(out))


def excerpt(text: str, terms: list[str], *, width: int = 180) -> SafeString:
    """About ``width`` characters of ``text`` around its first match, highlighted.

    Without a match, the start of the text; cut at spaces, with ellipses where cut.
    """
    start = 0
    for found in _WORD.finditer(text):
        if _matches(found.group(), terms):
            start = max(0, found.start() - width // 3)
            break
    if start:
        space = text.find(" ", start)
        start = space + 1 if 0 <= space < found.start() else start
    end = start + width
    if end < len(text):
        space = text.rfind(" ", start, end)
        end = space if space > start else end
    piece = text[start:end]
    prefix = "… " if start else ""
    suffix = " …" if end < len(text) else ""
    return mark_safe(escape(prefix) + highlight(piece, terms) + escape(suffix))
