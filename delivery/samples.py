"""Public samples a library shows beside its purchases, offered by the apps above delivery.

Delivery never imports commerce, so an app that promises a buyer previews of a
product they do not own yet (fan funding: a backer hears the record's sample
tracks from the moment the pledge counts) registers a *source* here from its
``AppConfig.ready()``. A source is asked with the email addresses of the
libraries a holder reaches and answers what to show, read live: when the
promise ends (a cancelled pledge), the samples are gone at the next page view.
Samples are previews, whose bytes are public already (the public storage's
URL); nothing here opens the download gate.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from catalog.models import Asset
from delivery.access import Holder
from delivery.models import Library


@dataclass(frozen=True)
class LibrarySamples:
    title: str
    seller: str
    note: str
    url: str
    assets: Sequence[Asset]


SamplesSource = Callable[[Sequence[str]], list[LibrarySamples]]
_SOURCES: dict[str, SamplesSource] = {}


def library_samples_source_add(*, key: str, source: SamplesSource) -> None:
    _SOURCES[key] = source


def library_samples(*, holder: Holder) -> list[LibrarySamples]:
    """What the sources show the libraries a holder opened (a receipt alone: nothing)."""
    if holder.library_id is not None:
        libraries = Library.objects.filter(pk=holder.library_id)
    elif holder.user_id is not None:
        libraries = Library.objects.filter(user_id=holder.user_id)
    else:
        return []
    emails = list(libraries.values_list("email", flat=True))
    if not emails:
        return []
    found: list[LibrarySamples] = []
    for source in _SOURCES.values():
        found.extend(source(emails))
    return found
