"""Reading a purchased EPUB in the browser: pages in reading order, sanitised, through the gate."""

from __future__ import annotations

import io
import re
import zipfile

import pytest
from django.urls import reverse

from catalog.models import Asset
from delivery import access
from delivery.formats.models import StreamStart
from delivery.services import entitlement_grant, entitlement_revoke, library_link_create
from tests.factories import ProductFactory, add_file, demo_media

pytestmark = pytest.mark.django_db

PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00"
    b"\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N\x00\x00"
    b"\x00\x00IEND\xaeB`\x82"
)
CONTAINER = (
    '<?xml version="1.0"?><container version="1.0" '
    'xmlns="urn:oasis:names:tc:opendocument:xmlns:container"><rootfiles>'
    '<rootfile full-path="OEBPS/content.opf" media-type="application/oebps-package+xml"/>'
    "</rootfiles></container>"
)
PACKAGE = """<?xml version="1.0"?>
<package xmlns="http://www.idpf.org/2007/opf" version="3.0" unique-identifier="id">
  <metadata xmlns:dc="http://purl.org/dc/elements/1.1/">
    <dc:identifier id="id">urn:uuid:1</dc:identifier><dc:title>Hostile Book</dc:title>
    <dc:language>fr</dc:language>
  </metadata>
  <manifest>
    <item id="nav" href="nav.xhtml" media-type="application/xhtml+xml" properties="nav"/>
    <item id="one" href="text/one.xhtml" media-type="application/xhtml+xml"/>
    <item id="two" href="text/two.xhtml" media-type="application/xhtml+xml"/>
    <item id="pic" href="images/dot.png" media-type="image/png"/>
    <item id="vector" href="images/evil.svg" media-type="image/svg+xml"/>
  </manifest>
  <spine><itemref idref="one"/><itemref idref="two"/></spine>
</package>"""
NAV = """<?xml version="1.0"?><html xmlns="http://www.w3.org/1999/xhtml"
 xmlns:epub="http://www.idpf.org/2007/ops"><body><nav epub:type="toc"><ol>
<li><a href="text/one.xhtml">Chapitre un</a></li><li><a href="text/two.xhtml#top">Chapitre deux</a></li>
</ol></nav></body></html>"""
ONE = """<?xml version="1.0"?><html xmlns="http://www.w3.org/1999/xhtml"><head>
<title>HEAD TITLE</title><style>body { display: none }</style>
<script>alert("head")</script></head>
<body onload="alert(1)"><h1 id="main">Le premier chapitre</h1>
<p onclick="steal()">Bonjour <a href="two.xhtml#end">la suite</a>,
<a href="javascript:alert(2)">piège</a>, <a href="https://example.org/x">dehors</a>,
<a href="#main">ici</a>.</p>
<script>alert("body")</script><iframe src="https://evil.example/"></iframe>
<img src="../images/dot.png" alt="un point"/><img src="../images/evil.svg" alt="svg"/>
<img src="data:image/png;base64,AAAA" alt="data"/>
<form action="https://evil.example/"><input name="card"/></form>
</body></html>"""
TWO = """<?xml version="1.0"?><html xmlns="http://www.w3.org/1999/xhtml"><body>
<h2 id="top">Le second chapitre</h2><p id="end">Fin.</p></body></html>"""


def _epub() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(zipfile.ZipInfo("mimetype"), b"application/epub+zip")
        for name, body in {
            "META-INF/container.xml": CONTAINER,
            "OEBPS/content.opf": PACKAGE,
            "OEBPS/nav.xhtml": NAV,
            "OEBPS/text/one.xhtml": ONE,
            "OEBPS/text/two.xhtml": TWO,
            "OEBPS/images/dot.png": PNG,
            "OEBPS/images/evil.svg": '<svg xmlns="http://www.w3.org/2000/svg"><script>x()</script></svg>',
        }.items():
            archive.writestr(name, body)
    return out.getvalue()


@pytest.fixture
def book():
    product = ProductFactory(title="Hostile Book")
    asset = add_file(product, _epub(), "Hostile Book.epub")
    assert asset.mime_type == "application/epub+zip"
    entitlement = entitlement_grant(email="reader@example.com", product=product)
    return entitlement, asset


def _read_url(entitlement, asset) -> str:
    return reverse(
        "delivery:read", args=[access.stream_link_mint(entitlement=entitlement, asset=asset)]
    )


def test_the_library_offers_to_read_an_epub_in_the_browser(client, book):
    entitlement, _asset = book
    token = library_link_create(library=entitlement.library)
    html = client.get(reverse("delivery:library", kwargs={"token": token})).content.decode()
    found = re.search(r'href="(/read/[^"]+/)"[^>]*aria-label="Read Hostile Book.epub', html)
    assert found, html
    page = client.get(found.group(1))
    assert page.status_code == 200
    assert "Le premier chapitre" in page.content.decode()


def test_pages_follow_the_reading_order_with_the_table_of_contents(client, book):
    entitlement, asset = book
    url = _read_url(entitlement, asset)
    first = client.get(url).content.decode()
    assert "Page 1 of 2" in first and "Chapitre un" in first and "Chapitre deux" in first
    assert f'href="{url}?page=2" rel="next"' in first
    assert 'lang="fr"' in first
    second = client.get(url, {"page": "2"}).content.decode()
    assert "Le second chapitre" in second and "Le premier chapitre" not in second
    assert f'href="{url}?page=1" rel="prev"' in second
    # Past the end: the last page, as every listing here does.
    assert "Le second chapitre" in client.get(url, {"page": "40"}).content.decode()
    refused = client.get(url, {"page": "deux"})
    assert refused.status_code == 400 and "No such page" in refused.content.decode()


def test_the_book_is_counted_as_one_stream_when_opened(client, book):
    entitlement, asset = book
    url = _read_url(entitlement, asset)
    client.get(url)
    client.get(url, {"page": "2"})
    assert StreamStart.objects.filter(entitlement=entitlement, asset=asset).count() == 1


def test_nothing_active_survives_and_links_stay_in_the_book(client, book):
    entitlement, asset = book
    url = _read_url(entitlement, asset)
    html = client.get(url).content.decode()
    article = html[html.index('<article class="reader"') : html.index("</article>")]
    for bad in (
        "<script",
        "alert(",
        "onclick",
        "onload",
        "<iframe",
        "<form",
        "<input",
        "javascript:",
        "display: none",
        "data:image",
        "HEAD TITLE",
        "evil.svg",
    ):
        assert bad not in article, bad
    assert f'href="{url}?page=2#book-end"' in article
    assert 'href="#book-main"' in article and 'id="book-main"' in article
    assert 'href="https://example.org/x"' in article and "nofollow" in article
    image = re.search(r'<img src="([^"]+)" alt="un point"', article)
    assert image and image.group(1).startswith(url + "images/")
    served = client.get(image.group(1))
    assert served.status_code == 200 and served.content == PNG
    assert served["Content-Type"] == "image/png"
    # Only raster images the manifest lists: never the SVG, never another member.
    assert client.get(url + "images/OEBPS/images/evil.svg").status_code == 404
    assert client.get(url + "images/OEBPS/content.opf").status_code == 404
    assert client.get(url + "images/../../etc/passwd").status_code == 404


def test_a_broken_epub_gets_a_page_that_says_so(client):
    product = ProductFactory()
    data = demo_media("ebook-field-notes.epub")
    asset = add_file(product, data[: len(data) // 3], "Cut.epub")
    Asset.objects.filter(pk=asset.pk).update(mime_type="application/epub+zip")
    asset.refresh_from_db()
    entitlement = entitlement_grant(email="reader@example.com", product=product)
    page = client.get(_read_url(entitlement, asset))
    assert page.status_code == 422
    assert "cannot be shown in the browser" in page.content.decode()


def test_only_an_active_purchase_reads_and_the_player_link_does_not_serve_the_epub(client, book):
    entitlement, asset = book
    url = _read_url(entitlement, asset)
    signed = access.stream_link_mint(entitlement=entitlement, asset=asset)
    assert client.get(reverse("delivery:stream", args=[signed])).status_code == 404
    assert client.get(url.replace("/read/", "/read/x")).status_code == 404
    entitlement_revoke(entitlement=entitlement, reason="refund")
    assert client.get(url).status_code == 404


def test_the_demo_ebook_reads_with_its_chapter_titles(client):
    product = ProductFactory()
    asset = add_file(product, demo_media("ebook-field-notes.epub"), "Field Notes.epub")
    entitlement = entitlement_grant(email="reader@example.com", product=product)
    html = client.get(_read_url(entitlement, asset)).content.decode()
    assert "I. Before the Sign Turns" in html and "III. Closing Up" in html
    assert "Every small shop opens twice." in html


def test_the_reader_speaks_french(client, book):
    entitlement, asset = book
    url = "/fr" + _read_url(entitlement, asset)
    html = client.get(url, HTTP_ACCEPT_LANGUAGE="fr").content.decode()
    assert "Page 1 sur 2" in html and "Sommaire" in html


def test_the_reader_never_sends_its_link_on_as_a_referrer(client, book):
    entitlement, asset = book
    page = client.get(_read_url(entitlement, asset))
    assert page["Referrer-Policy"] == "same-origin"  # never to the outside links of a book
    assert "no-store" in page["Cache-Control"]
