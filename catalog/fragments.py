"""Fragments of a page that every visitor sees alike, rendered once per process.

A page's header, footer and filter form are the same markup for every visitor
who reads the site in one language and one login state, except for a few
small values of their own: the CSRF token of a form, the search typed, the
number of items in the cart, the address of the page itself. Django's
template engine spends more time on those fragments (thirty-odd
``{% translate %}``, a dozen ``{% url %}``, the conditions) than on the rest of
a listing page (decision 97).

So a fragment is rendered from exactly the values it shows (``inputs``, all
hashable), with a *hole* in place of each visitor's value: the template
writes ``{{ hole.csrf }}`` and gets a marker. The output is split at the
markers once and kept; each request joins the literal parts with its own
values (``holes``, HTML already escaped). A visitor's value never enters the
kept parts, so nothing one visitor sees can reach another, and splitting
happens before any visitor's value is joined in, so a value that happens to
look like a marker is just text.

The parts are kept per process (``functools.lru_cache``), keyed by the
template object (a new one after the cached loader is reset, as ``DEBUG``'s
autoreload does), the active language, URL configuration and script prefix
(what ``{% url %}`` and ``{% translate %}`` read), and the inputs. They depend
on no row of the database, so nothing has to be invalidated and no other
process or node needs them: a shared cache would cost a round trip for
something each process renders once.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Hashable, Mapping
from functools import lru_cache
from typing import Any

from django.template.context import make_context
from django.template.loader import get_template
from django.urls import get_script_prefix, get_urlconf
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import get_language

_MARK = "\x00hole:{}\x00"
_SPLIT = re.compile("\x00hole:([a-z_]+)\x00")


class _Holes(dict[str, SafeString]):
    """``{{ hole.name }}``: a marker for any name the template asks for."""

    def __missing__(self, name: str) -> SafeString:
        return mark_safe(_MARK.format(name))


def rendered_parts(template: Any, values: Mapping[str, Any]) -> tuple[str, ...]:
    """``template`` (a compiled one) rendered from ``values`` with a marker for each
    ``{{ hole.name }}``, split at them: literal markup at even places, the holes' names
    at odd ones."""
    context = make_context({**values, "hole": _Holes()}, autoescape=template.engine.autoescape)
    return tuple(_SPLIT.split(template.render(context)))


def filled(parts: tuple[str, ...], holes: Mapping[str, Callable[[], str]]) -> list[str]:
    """``parts`` with each hole's name replaced by its value, called only when present."""
    out = list(parts)
    for index in range(1, len(out), 2):
        out[index] = holes[out[index]]()
    return out


@lru_cache(maxsize=512)
def _parts(
    template: Any, language: str | None, urlconf: Any, prefix: str, inputs: tuple[Any, ...]
) -> tuple[str, ...]:
    return rendered_parts(template, dict(inputs))


def fragment(
    name: str, inputs: Mapping[str, Hashable], holes: Mapping[str, Callable[[], str]]
) -> SafeString:
    """Template ``name`` rendered from ``inputs``, with ``holes`` joined in.

    ``inputs`` must hold every value the template reads other than ``hole``:
    they are the key of the kept parts. Each hole gives its value (HTML, already
    escaped) when called, and is called only when the template has that hole.
    """
    parts = _parts(
        get_template(name).template,  # type: ignore[attr-defined]
        get_language(),
        get_urlconf(),
        get_script_prefix(),
        tuple(sorted(inputs.items())),
    )
    return mark_safe("".join(filled(parts, holes)))


def fragments_forget() -> None:
    """Drop every kept fragment (tests that change templates or translations)."""
    _parts.cache_clear()
