"""Pages of a list from the ``?page=`` a visitor typed (or edited) in the address bar."""

from __future__ import annotations

from typing import Any

from django.core.paginator import Page, Paginator
from django.utils.translation import gettext

from catalog.money import CountError, parse_count

# Far beyond any list here; a page number is parsed like any other count.
PAGE_MAX = 100_000


def page_of(items: Any, per_page: int, typed: str | None) -> tuple[Page, str]:
    """The page asked for, and "" — or the first page and why the number was refused.

    A number past the last page shows the last page, as Django's ``get_page`` does.
    """
    paginator = Paginator(items, per_page)
    if typed is None or typed == "":
        return paginator.page(1), ""
    try:
        number = parse_count(typed, minimum=1, maximum=PAGE_MAX)
    except CountError as exc:
        return paginator.page(1), gettext(
            "No such page: %(reason)s Pages are numbered from 1, like ?page=2."
        ) % {"reason": exc}
    return paginator.get_page(number), ""
