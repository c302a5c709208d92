"""PDF and EPUB: pages and titles, encryption, broken containers, zip and XML bombs."""

from __future__ import annotations

import io
import struct
import zipfile

import pytest
from pypdf import PdfWriter

from catalog.inspection import MediaRefused, documents, inspect_path
from catalog.inspection.probe import inspect_file
from tests.factories import demo_media, pdf_bytes

CONTAINER = (
    '<?xml version="1.0"?>\n'
    '<container version="1.0" xmlns="urn:oasis:names:tc:opendocument:xmlns:container">'
    '<rootfiles><rootfile full-path="OEBPS/content.opf" media-type="application/oebps-package+xml"/>'
    "</rootfiles></container>"
)
PACKAGE = (
    '<?xml version="1.0"?>\n'
    '<package xmlns="http://www.idpf.org/2007/opf" version="3.0" unique-identifier="id">'
    '<metadata xmlns:dc="http://purl.org/dc/elements/1.1/">'
    '<dc:identifier id="id">urn:uuid:1</dc:identifier><dc:title>Small Shops</dc:title>'
    "<dc:creator>Maëlle Durand</dc:creator><dc:creator>Tomás Ibáñez</dc:creator>"
    "<dc:language>fr</dc:language></metadata><manifest/><spine/></package>"
)


def _write(tmp_path, name: str, data: bytes) -> str:
    path = tmp_path / name
    path.write_bytes(data)
    return str(path)


def _epub(
    entries: dict[str, str | bytes] | None = None,
    *,
    mimetype: bytes | None = b"application/epub+zip",
) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        if mimetype is not None:
            archive.writestr(zipfile.ZipInfo("mimetype"), mimetype, zipfile.ZIP_STORED)
        for name, body in (
            entries or {"META-INF/container.xml": CONTAINER, "OEBPS/content.opf": PACKAGE}
        ).items():
            archive.writestr(name, body)
    return out.getvalue()


def test_a_pdf_gives_pages_title_and_author(tmp_path):
    found = inspect_path(_write(tmp_path, "b.pdf", demo_media("ebook-field-notes.pdf")))
    assert (found.kind, found.mime, found.pages) == ("ebook", "application/pdf", 4)
    assert (found.title, found.authors, found.encrypted) == (
        "Field Notes on Small Shops",
        ("Maëlle Durand",),
        False,
    )


def test_a_truncated_pdf_is_refused(tmp_path):
    data = demo_media("ebook-field-notes.pdf")
    with pytest.raises(MediaRefused, match="PDF is damaged or incomplete"):
        inspect_path(_write(tmp_path, "cut.pdf", data[: len(data) // 2]))


def test_the_factory_pdfs_are_valid(tmp_path):
    found = inspect_path(
        _write(tmp_path, "f.pdf", pdf_bytes(b"\x00\xff" * 100, title="T", pages=3))
    )
    assert (found.pages, found.title) == (3, "T")


def _encrypted(user_password: str) -> bytes:
    writer = PdfWriter(clone_from=io.BytesIO(demo_media("ebook-recipes.pdf")))
    writer.encrypt(user_password=user_password, owner_password="owner", algorithm="RC4-128")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def test_a_password_protected_pdf_is_reported_as_encrypted(tmp_path):
    found = inspect_path(_write(tmp_path, "locked.pdf", _encrypted("secret")))
    assert (found.encrypted, found.pages) == (True, None)
    assert any("password" in note for note in found.warnings)


def test_a_pdf_encrypted_only_against_changes_still_shows_its_pages(tmp_path):
    found = inspect_path(_write(tmp_path, "restricted.pdf", _encrypted("")))
    assert (found.encrypted, found.pages, found.title) == (True, 3, "Recipes from a Tiny Kitchen")


def test_an_epub_gives_title_authors_and_language_from_its_package_document(tmp_path):
    demo = inspect_path(_write(tmp_path, "d.epub", demo_media("ebook-field-notes.epub")))
    assert (demo.title, demo.authors, demo.language) == (
        "Field Notes on Small Shops",
        ("Maëlle Durand",),
        "en",
    )
    made = inspect_path(_write(tmp_path, "m.epub", _epub()))
    assert (made.title, made.authors, made.language) == (
        "Small Shops",
        ("Maëlle Durand", "Tomás Ibáñez"),
        "fr",
    )


@pytest.mark.parametrize(
    ("epub", "reason"),
    [
        (_epub({"OEBPS/content.opf": PACKAGE}), "no META-INF/container.xml"),
        (_epub({"META-INF/container.xml": "<container"}), "container.xml is not well-formed XML"),
        (_epub({"META-INF/container.xml": "<container/>"}), "not an OCF container document"),
        (
            _epub({"META-INF/container.xml": CONTAINER}),
            "points to “OEBPS/content.opf”, which is not in the archive",
        ),
        (_epub(mimetype=b"application/zip"), "“mimetype” entry is not application/epub\\+zip"),
        (
            _epub({"META-INF/container.xml": CONTAINER, "OEBPS/content.opf": "<html/>"}),
            "not an OPF <package>",
        ),
    ],
)
def test_a_broken_container_is_refused_with_the_link_that_broke(tmp_path, epub, reason):
    with pytest.raises(MediaRefused, match=reason):
        inspect_path(_write(tmp_path, "broken.epub", epub))


@pytest.mark.parametrize("name", ["book.epub", "book.zip"])
def test_an_epub_without_its_mimetype_entry_is_refused_for_it(tmp_path, name):
    with pytest.raises(MediaRefused, match="This EPUB is broken: it has no “mimetype” entry"):
        inspect_path(_write(tmp_path, name, _epub(mimetype=None)), claimed_name=name)


def test_a_zip_that_is_no_epub_at_all_is_refused_under_an_epub_name(tmp_path):
    document = _epub(
        {"word/document.xml": "<w/>", "[Content_Types].xml": "<Types/>"}, mimetype=None
    )
    with pytest.raises(MediaRefused, match="says EPUB, but the content is a ZIP archive"):
        inspect_path(_write(tmp_path, "novel.epub", document), claimed_name="novel.epub")


ENTITY_BOMB = (
    '<?xml version="1.0"?><!DOCTYPE c [<!ENTITY a "aaaaaaaaaa">'
    + "".join(f'<!ENTITY {chr(98 + i)} "{("&" + chr(97 + i) + ";") * 10}">' for i in range(8))
    + ']><container xmlns="urn:oasis:names:tc:opendocument:xmlns:container">&i;</container>'
)
XXE = (
    '<?xml version="1.0"?><!DOCTYPE c [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
    '<container xmlns="urn:oasis:names:tc:opendocument:xmlns:container">&x;</container>'
)


@pytest.mark.parametrize("container", [ENTITY_BOMB, XXE])
def test_xml_entities_are_refused_before_they_expand(tmp_path, container):
    with pytest.raises(MediaRefused, match="declares XML entities or external references"):
        inspect_path(_write(tmp_path, "e.epub", _epub({"META-INF/container.xml": container})))


def test_a_member_bigger_than_its_cap_is_never_read_whole(tmp_path, monkeypatch):
    monkeypatch.setattr(documents, "CONTAINER_CAP", 1024)
    padded = CONTAINER.replace("<rootfiles>", "<!--" + "x" * 5000 + "--><rootfiles>")
    with pytest.raises(MediaRefused, match="limit is 1,024"):
        inspect_file(
            _write(
                tmp_path,
                "big.epub",
                _epub({"META-INF/container.xml": padded, "OEBPS/content.opf": PACKAGE}),
            )
        )


def _zeros_zip(size: int) -> bytes:
    out = io.BytesIO()
    with (
        zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive,
        archive.open("zeros.bin", "w") as member,
    ):
        chunk = b"\x00" * (1024 * 1024)
        for _ in range(size // len(chunk)):
            member.write(chunk)
    return out.getvalue()


def test_a_zip_bomb_is_refused_from_its_directory(tmp_path, monkeypatch):
    monkeypatch.setattr(documents, "RATIO_FLOOR_BYTES", 1024 * 1024)
    bomb = _zeros_zip(8 * 1024 * 1024)
    assert len(bomb) < 20_000
    with pytest.raises(MediaRefused, match=r"zip bomb: “zeros.bin” claims 8,388,608 bytes"):
        inspect_file(_write(tmp_path, "bomb.zip", bomb))


def test_entries_that_overlap_each_other_are_refused(tmp_path):
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as archive:
        archive.writestr("a.txt", b"a" * 100)
        archive.writestr("b.txt", b"b" * 100)
    data = bytearray(out.getvalue())
    second = data.rfind(b"PK\x01\x02")  # the central directory record of b.txt
    data[second + 42 : second + 46] = struct.pack("<I", 0)  # now it points at a.txt's header
    with pytest.raises(MediaRefused, match="runs into the next entry"):
        inspect_path(_write(tmp_path, "overlap.zip", bytes(data)))


def test_duplicate_names_are_refused_in_an_epub(tmp_path):
    epub = _epub(
        {
            "META-INF/container.xml": CONTAINER,
            "OEBPS/content.opf": PACKAGE,
            "OEBPS/A.xhtml": "1",
            "OEBPS/a.xhtml": "2",
        }
    )
    with pytest.raises(MediaRefused, match=r"two entries named “OEBPS/a.xhtml” \(ignoring case\)"):
        inspect_path(_write(tmp_path, "dup.epub", epub))


def test_a_plain_zip_is_an_archive_with_its_file_count(tmp_path):
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("stems/bass.wav", b"x")
        archive.writestr("stems/drums.wav", b"y")
        archive.writestr("stems/", b"")
    found = inspect_path(_write(tmp_path, "stems.zip", out.getvalue()))
    assert (found.kind, found.mime, found.entries, found.encrypted) == (
        "archive",
        "application/zip",
        2,
        False,
    )
