"""Ebooks stamped with their buyer: a footer on every PDF page, and the metadata.

``stamp_pdf`` is a pure function on paths (pypdf): every page gets a small
footer in Helvetica, "Licensed to <name or email> — order <number>", as real
text (it can be selected, searched and extracted), and the document
information names the licensee. An encrypted or unreadable PDF raises
:class:`StampRefused`; the caller then delivers the file unstamped and tells
the seller, never the buyer.

The order number comes from commerce, above this layer: it registers the
function that finds it (``stamping_order_number_register``), as the apps
above the catalog add their seller menu entries.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.utils.translation import gettext as _

from delivery.models import Entitlement

_order_number: Callable[[Entitlement], str] | None = None


class StampRefused(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def stamping_order_number_register(function: Callable[[Entitlement], str]) -> None:
    global _order_number
    _order_number = function


def stamp_text(entitlement: Entitlement) -> tuple[str, str]:
    """(licensee, the footer line) for one purchase."""
    library = entitlement.library
    user = library.user
    name = (user.get_full_name().strip() if user is not None else "") or library.email
    number = _order_number(entitlement) if _order_number is not None else ""
    if number:
        line = _("Licensed to %(name)s — order %(number)s") % {"name": name, "number": number}
    else:
        line = _("Licensed to %(name)s") % {"name": name}
    return name, line


def _pdf_string(text: str) -> bytes:
    raw = text.encode("cp1252", "replace")
    return raw.replace(b"\\", b"\\\\").replace(b"(", b"\\(").replace(b")", b"\\)")


def stamp_pdf(source: str, output: str, *, licensee: str, line: str) -> int:
    """Write ``source`` with the footer on every page to ``output``; the page count."""
    from pypdf import PageObject, PdfReader, PdfWriter
    from pypdf.errors import PyPdfError
    from pypdf.generic import DecodedStreamObject, DictionaryObject, NameObject

    try:
        reader = PdfReader(source)
        if reader.is_encrypted:
            raise StampRefused(_("The PDF is encrypted, so it cannot be stamped."))
        writer = PdfWriter(clone_from=reader)
        font = DictionaryObject(
            {
                NameObject("/Type"): NameObject("/Font"),
                NameObject("/Subtype"): NameObject("/Type1"),
                NameObject("/BaseFont"): NameObject("/Helvetica"),
                NameObject("/Encoding"): NameObject("/WinAnsiEncoding"),
            }
        )
        font_ref = writer._add_object(font)
        text = _pdf_string(line)
        overlays: dict[tuple[float, float, float, float], Any] = {}
        for page in writer.pages:
            box = page.mediabox
            key = (float(box.left), float(box.bottom), float(box.width), float(box.height))
            overlay = overlays.get(key)
            if overlay is None:
                overlay = PageObject.create_blank_page(width=box.width, height=box.height)
                overlay[NameObject("/Resources")] = DictionaryObject(
                    {NameObject("/Font"): DictionaryObject({NameObject("/FStamp"): font_ref})}
                )
                stream = DecodedStreamObject()
                size = 7 if key[2] >= 300 else 5
                stream.set_data(
                    b"q 0.35 g BT /FStamp %d Tf %.2f %.2f Td (%s) Tj ET Q"
                    % (size, key[0] + 18, key[1] + 10, text)
                )
                overlay[NameObject("/Contents")] = writer._add_object(stream)
                overlays[key] = overlay
            page.merge_page(overlay)
        writer.add_metadata({"/Licensee": licensee, "/Subject": line})
        with open(output, "wb") as out:
            writer.write(out)
        return len(writer.pages)
    except StampRefused:
        raise
    except (PyPdfError, ValueError, KeyError, TypeError, AttributeError, RecursionError) as error:
        raise StampRefused(
            _("The PDF could not be read to stamp it: %(error)s") % {"error": str(error)[:200]}
        ) from None
