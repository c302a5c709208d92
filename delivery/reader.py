"""Reading a purchased EPUB in the browser: its spine as pages of sanitised HTML.

Pure functions on an open ``zipfile.ZipFile``, no ORM. The package document
names the reading order (the spine) and the files (the manifest); the
table of contents comes from the EPUB 3 navigation document or the EPUB 2
NCX. Each chapter's body is passed through nh3 with a short list of tags
and attributes: no script, style, form, frame or event handler survives,
and every link is rewritten — to another page of the reader, to an image
served from the book through the same link, to an outside ``http(s)``
address, or dropped. Nothing is extracted to disk.
"""

from __future__ import annotations

import posixpath
import re
import zipfile
from dataclasses import dataclass, field
from urllib.parse import quote, unquote, urlsplit
from xml.etree.ElementTree import Element

import nh3

from catalog.inspection.documents import (
    CONTAINER_CAP,
    PACKAGE_CAP,
    parse_xml,
    read_capped,
)
from catalog.inspection.types import MediaRefused, clean_text

# A chapter or an image larger than this is not shown in the page (download the book).
CHAPTER_CAP = 4 * 1024**2
IMAGE_CAP = 16 * 1024**2
# Raster images only: an SVG is a document that may carry script.
IMAGE_TYPES = frozenset({"image/jpeg", "image/png", "image/gif", "image/webp"})
XHTML_TYPES = frozenset({"application/xhtml+xml", "text/html"})

TAGS = frozenset(
    {
        *("p", "br", "hr", "div", "span", "section", "article", "aside", "header", "footer"),
        *("h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "pre", "code", "kbd", "samp"),
        *("em", "strong", "i", "b", "u", "s", "small", "sub", "sup", "mark", "abbr", "cite"),
        *("q", "dfn", "time", "ruby", "rt", "rp", "bdi", "bdo", "wbr"),
        *("ul", "ol", "li", "dl", "dt", "dd", "figure", "figcaption", "img", "a"),
        *("table", "caption", "thead", "tbody", "tfoot", "tr", "th", "td", "colgroup", "col"),
    }
)
ATTRIBUTES = {
    "*": {"lang", "dir", "title", "id"},
    "a": {"href"},
    "img": {"src", "alt", "width", "height"},
    "td": {"colspan", "rowspan"},
    "th": {"colspan", "rowspan", "scope"},
    "ol": {"start", "reversed", "type"},
    "abbr": {"title"},
    "time": {"datetime"},
}
# The book's ids never meet the page's own (``main``, ``downloads``...).
ID_PREFIX = "book-"
_BODY = re.compile(rb"<body\b[^>]*>(.*)</body\s*>", re.IGNORECASE | re.DOTALL)


@dataclass(frozen=True, slots=True)
class Chapter:
    path: str
    title: str


@dataclass(frozen=True, slots=True)
class Book:
    title: str
    language: str
    chapters: tuple[Chapter, ...]
    images: dict[str, str] = field(default_factory=dict)

    def page_of(self, path: str) -> int | None:
        """The 1-based page of the spine item at ``path``, if it is one."""
        for number, chapter in enumerate(self.chapters, start=1):
            if chapter.path == path:
                return number
        return None


def _member(archive: zipfile.ZipFile, path: str) -> zipfile.ZipInfo:
    try:
        return archive.getinfo(path)
    except KeyError:
        raise MediaRefused(
            "This book names “%(name)s”, which is not in it.", {"name": clean_text(path)}
        ) from None


def _local(tag: object) -> str:
    return str(tag).rsplit("}", 1)[-1]


def _resolve(base: str, href: str) -> str:
    """``href`` (relative to the member ``base``) as a path inside the archive."""
    joined = posixpath.normpath(posixpath.join(posixpath.dirname(base), unquote(href)))
    return "" if joined.startswith("../") or joined == ".." else joined.lstrip("/")


def book_read(archive: zipfile.ZipFile, fallback_title: str) -> Book:
    """The book's reading order, titles and images; MediaRefused if it cannot be read."""
    container = parse_xml(
        read_capped(archive, _member(archive, "META-INF/container.xml"), CONTAINER_CAP, "EPUB"),
        "EPUB container",
    )
    rootfile = next((el for el in container.iter() if _local(el.tag) == "rootfile"), None)
    package_path = rootfile.get("full-path", "") if rootfile is not None else ""
    if not package_path:
        raise MediaRefused("This book's container names no package document.")
    package = parse_xml(
        read_capped(archive, _member(archive, package_path), PACKAGE_CAP, "EPUB"),
        "EPUB package document",
    )
    manifest: dict[str, tuple[str, str, str]] = {}
    spine: list[str] = []
    title, language, ncx_id = "", "", ""
    for element in package.iter():
        name = _local(element.tag)
        if name == "item" and element.get("id") and element.get("href"):
            manifest[element.get("id", "")] = (
                _resolve(package_path, element.get("href", "")),
                (element.get("media-type") or "").split(";")[0].strip().lower(),
                element.get("properties") or "",
            )
        elif name == "itemref" and element.get("idref") and element.get("linear") != "no":
            spine.append(element.get("idref", ""))
        elif name == "spine":
            ncx_id = element.get("toc") or ""
        elif name == "title" and not title:
            title = clean_text("".join(element.itertext()), 300) or ""
        elif name == "language" and not language:
            language = clean_text("".join(element.itertext()), 35) or ""
    labels = _toc_labels(archive, manifest, ncx_id)
    chapters = []
    for idref in spine:
        path, media_type, _properties = manifest.get(idref, ("", "", ""))
        if path and media_type in XHTML_TYPES and path in archive.NameToInfo:
            chapters.append(Chapter(path, labels.get(path, "")))
    if not chapters:
        raise MediaRefused("This book has no pages to read in its reading order.")
    images = {
        path: media_type
        for path, media_type, _properties in manifest.values()
        if media_type in IMAGE_TYPES and path in archive.NameToInfo
    }
    return Book(title or fallback_title, language, tuple(chapters), images)


def _toc_labels(
    archive: zipfile.ZipFile, manifest: dict[str, tuple[str, str, str]], ncx_id: str
) -> dict[str, str]:
    """Chapter path → its first label in the table of contents (EPUB 3 nav, else NCX)."""
    nav = next((item for item in manifest.values() if "nav" in item[2].split()), None)
    source = nav or manifest.get(ncx_id)
    if source is None or source[0] not in archive.NameToInfo:
        return {}
    try:
        document = parse_xml(
            read_capped(archive, archive.getinfo(source[0]), PACKAGE_CAP, "EPUB"),
            "EPUB table of contents",
        )
    except MediaRefused:
        return {}  # a broken table of contents costs the titles, not the book
    labels: dict[str, str] = {}

    def keep(href: str, text: str) -> None:
        path = _resolve(source[0], urlsplit(href).path)
        label = clean_text(text, 200)
        if path and label and path not in labels:
            labels[path] = label

    if nav is not None:
        for link in (el for el in document.iter() if _local(el.tag) == "a"):
            keep(link.get("href", ""), "".join(link.itertext()))
    else:
        for point in (el for el in document.iter() if _local(el.tag) == "navPoint"):
            text = _first(point, "text")
            content = _first(point, "content")
            if text is not None and content is not None:
                keep(content.get("src", ""), "".join(text.itertext()))
    return labels


def _first(element: Element, name: str) -> Element | None:
    return next((el for el in element.iter() if _local(el.tag) == name), None)


def chapter_html(
    archive: zipfile.ZipFile,
    book: Book,
    number: int,
    *,
    page_url: str,
    image_url: str,
) -> str:
    """Page ``number``'s body as safe HTML. ``page_url`` and ``image_url`` take ``%s``:
    a page number, a path in the book."""
    chapter = book.chapters[number - 1]
    data = read_capped(archive, archive.getinfo(chapter.path), CHAPTER_CAP, "EPUB page")
    found = _BODY.search(data)
    body = (found.group(1) if found else data).decode("utf-8", errors="replace")

    def rewrite(tag: str, attribute: str, value: str) -> str | None:
        if attribute not in ("href", "src"):
            return value
        parts = urlsplit(value.strip())
        if parts.scheme in ("http", "https") and tag == "a":
            return value.strip()
        if parts.scheme or parts.netloc:
            return None  # mailto:, data:, javascript:, //elsewhere...
        target = _resolve(chapter.path, parts.path) if parts.path else chapter.path
        if tag == "img":
            return image_url % quote(target) if target in book.images else None
        page = book.page_of(target)
        if page is None:
            return None
        fragment = f"#{ID_PREFIX}{parts.fragment}" if parts.fragment else ""
        return (page_url % page) + fragment if page != number else (fragment or None)

    return nh3.clean(
        body,
        tags=set(TAGS),
        attributes={tag: set(names) for tag, names in ATTRIBUTES.items()},
        attribute_filter=rewrite,
        url_schemes={"http", "https"},
        link_rel="noopener noreferrer nofollow",
        id_prefix=ID_PREFIX,
    )


def image_read(archive: zipfile.ZipFile, book: Book, path: str) -> tuple[bytes, str]:
    """An image the book's manifest lists, and its type; KeyError for anything else."""
    media_type = book.images[path]
    return read_capped(archive, archive.getinfo(path), IMAGE_CAP, "EPUB image"), media_type
