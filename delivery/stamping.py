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


# --- EPUB ------------------------------------------------------------------------

_PAGE_ID = "echoppe-licence"
_PAGE = """<?xml version="1.0" encoding="utf-8"?>
<!DOCTYPE html>
<html xmlns="http://www.w3.org/1999/xhtml" xml:lang="{lang}" lang="{lang}">
<head><title>{title}</title></head>
<body><p style="margin-top:40%;text-align:center">{line}</p></body>
</html>
"""


def stamp_epub(source: str, output: str, *, licensee: str, line: str) -> None:
    """Write ``source`` with a page of its own naming the buyer (first in the
    reading order) and ``dc:rights`` in the package metadata to ``output``.

    Every other entry is copied byte for byte; ``mimetype`` stays first and stored.
    """
    import posixpath
    import re
    import zipfile
    from xml.sax.saxutils import escape, quoteattr

    from defusedxml import ElementTree

    try:
        with zipfile.ZipFile(source) as archive:
            container = ElementTree.fromstring(archive.read("META-INF/container.xml"))
            rootfile = next(el for el in container.iter() if el.tag.endswith("rootfile"))
            opf_path = rootfile.get("full-path") or ""
            opf = archive.read(opf_path).decode("utf-8")
            folder = posixpath.dirname(opf_path)
            page_name = posixpath.join(folder, f"{_PAGE_ID}.xhtml")
            rights = (
                f'<dc:rights xmlns:dc="http://purl.org/dc/elements/1.1/">{escape(line)}</dc:rights>'
                f'<meta name="echoppe:licensee" content={quoteattr(licensee)}/>'
            )
            opf, found_metadata = re.subn(r"(</(?:\w+:)?metadata>)", rights + r"\1", opf, count=1)
            item = (
                f'<item id="{_PAGE_ID}" href="{_PAGE_ID}.xhtml" '
                'media-type="application/xhtml+xml"/>'
            )
            opf, found_manifest = re.subn(r"(</(?:\w+:)?manifest>)", item + r"\1", opf, count=1)
            opf, found_spine = re.subn(
                r"(<(?:\w+:)?spine\b[^>]*>)", r'\1<itemref idref="' + _PAGE_ID + '"/>', opf, count=1
            )
            if not (found_metadata and found_manifest and found_spine):
                raise StampRefused(_("The EPUB's package document could not be amended."))
            ElementTree.fromstring(opf.encode("utf-8"))  # still well-formed
            page = _PAGE.format(lang="en", title=escape(_("Licence")), line=escape(line)).encode(
                "utf-8"
            )
            with zipfile.ZipFile(output, "w") as out:
                out.writestr(zipfile.ZipInfo("mimetype"), b"application/epub+zip")
                for info in archive.infolist():
                    if info.filename == "mimetype":
                        continue
                    data = opf.encode("utf-8") if info.filename == opf_path else archive.read(info)
                    out.writestr(info, data, compress_type=info.compress_type)
                out.writestr(page_name, page, compress_type=zipfile.ZIP_DEFLATED)
    except StampRefused:
        raise
    except (KeyError, StopIteration, UnicodeDecodeError, zipfile.BadZipFile, OSError) as error:
        raise StampRefused(
            _("The EPUB could not be read to stamp it: %(error)s") % {"error": str(error)[:200]}
        ) from None
    except Exception as error:  # defusedxml's refusals and parse errors
        raise StampRefused(
            _("The EPUB could not be read to stamp it: %(error)s") % {"error": str(error)[:200]}
        ) from None
