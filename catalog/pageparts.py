"""A page's own parts, kept per version of the rows they show (decision 107).

A product page spent two thirds of its time in Django's template engine on
markup that is the same for every visitor who reads that product in one
language: the title, the description, the machine-readable head (JSON-LD,
OpenGraph, feeds), the cover, the previews, the buy form, the tags and the
track list. A seller page the same for the seller's name, links and bio.
Only a few values are the visitor's own: the CSRF token, the buy form's
idempotency key, the visit's attribution fields, and — after a failed
checkout — the errors and the values typed.

So each such page has a *parts template* rendered with a hole
(``catalog/fragments.py``) for each of the visitor's values and a marker
``{{ hole.part_NAME }}`` where each part starts, split at them, and kept under
a digest of every column of the rows it shows and of what else it reads: the
language, the URL configuration, the site's address, the store's name, the
media address, what the page adds (``Parts.inputs``), and the source of its
templates. An edit of any row (an ``update()`` too) gives a new key, so
nothing is invalidated; old keys expire. The parts are kept twice
(``catalog/kept.py``): per process (no round trip) and in the shared cache for
a day (every process and node renders a version once). A page whose parts
show the visitor's own input (``Parts.keep`` false) is rendered, not kept.

The page's template shows each part with its tag (``{% product_part "title" %}``);
the parts are made once per page.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from django.conf import settings
from django.db.models import Model
from django.db.models.fields.files import FieldFile
from django.template import Context
from django.template.loader import get_template
from django.urls import get_script_prefix, get_urlconf
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import get_language

from catalog.fragments import rendered_parts
from catalog.kept import ProcessFront
from catalog.seo.site import site_root

SECONDS = 24 * 3600

Values = Mapping[str, Any]
Holes = Mapping[str, Callable[[], str]]


def _none(values: Values) -> tuple[object, ...]:
    return ()


def _no_holes(context: Context) -> Holes:
    return {}


def _always(context: Context) -> bool:
    return True


@dataclass(frozen=True, eq=False)
class Parts:
    """One page's parts: ``template`` and the templates it includes (their sources are in
    the key), the parts' ``names`` in order, what the template reads of the page's context
    (``read``; ``root`` and ``store_name`` are added), the rows it shows, what else it
    shows (``inputs``), the visitor's holes, and whether a page's parts may be kept."""

    template: str
    includes: tuple[str, ...]
    names: tuple[str, ...]
    read: tuple[str, ...]
    rows: Callable[[Values], Sequence[Model]]
    inputs: Callable[[Values], tuple[object, ...]] = _none
    holes: Callable[[Context], Holes] = _no_holes
    keep: Callable[[Context], bool] = _always
    size: int = 1024
    front: ProcessFront = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "front", ProcessFront(self.size))

    def version(self, template: Any) -> str:
        return _version(template, self.includes)

    def key(self, values: Values, template: Any) -> str:
        """A digest of everything the parts rendered from ``values`` show."""
        shown = (
            [_row(row) for row in self.rows(values)],
            self.inputs(values),
            values["store_name"],
            values["root"],
            get_language(),
            get_urlconf(),
            get_script_prefix(),
            settings.MEDIA_URL,
        )
        digest = hashlib.blake2b(repr(shown).encode(), digest_size=16).hexdigest()
        return f"parts:{self.template}:{self.version(template)}:{digest}"

    def render(self, context: Context) -> dict[str, SafeString]:
        """Every part for the page being rendered with ``context``."""
        template = get_template(self.template).template  # type: ignore[attr-defined]
        values = {name: context.get(name) for name in self.read}
        values["store_name"] = context.get("store_name")
        values["root"] = site_root(context.get("request"))
        if self.keep(context):
            key = self.key(values, template)
            parts: tuple[str, ...] | None = self.front.get_many([key]).get(key)
            if parts is None:
                parts = rendered_parts(template, values)
                self.front.set_many({key: parts}, SECONDS)
        else:
            parts = rendered_parts(template, values)
        holes = self.holes(context)
        out: dict[str, list[str]] = {name: [] for name in self.names}
        current: list[str] = []  # before the first part: the template's comment
        for index, piece in enumerate(parts):
            if index % 2 == 0:
                current.append(piece)
            elif piece.startswith("part_"):
                current = out[piece.removeprefix("part_")]
            else:
                current.append(holes[piece]())
        return {name: mark_safe("".join(pieces)) for name, pieces in out.items()}

    def part(self, context: Context, name: str) -> SafeString:
        """Part ``name`` of the page being rendered; the parts are made once per page."""
        made = context.render_context.get(self.template)
        if made is None:
            made = context.render_context[self.template] = self.render(context)
        return made[name]


@lru_cache(maxsize=16)
def _version(template: Any, names: tuple[str, ...]) -> str:
    """The sources of ``names``; ``template`` is the compiled parts template, a new object
    once the cached loader is reset (``DEBUG``'s autoreload)."""
    digest = hashlib.blake2b(digest_size=6)
    for name in names:
        digest.update(get_template(name).template.source.encode())  # type: ignore[attr-defined]
    return digest.hexdigest()


def _row(instance: Model) -> tuple[object, ...]:
    """Every column of ``instance`` as read (a file by its name)."""
    values = instance.__dict__
    row = []
    for column in instance._meta.concrete_fields:
        value = values.get(column.attname)
        row.append(value.name if isinstance(value, FieldFile) else value)
    return tuple(row)
