"""Search and listings (catalog/discovery): the index, ranking, filters, sorts, cursors, bad input."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from catalog.discovery import text
from catalog.discovery.models import SearchDocument
from catalog.discovery.selectors import Filters, listing
from catalog.discovery.services import product_index, search_reindex
from catalog.models import Product, Tag
from catalog.services.products import product_create, product_delete, product_status_set
from catalog.services.sellers import seller_update
from tests.factories import ProductFactory, SellerFactory, add_file

pytestmark = pytest.mark.django_db

on_postgres = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="pg_trgm similarity exists on PostgreSQL only"
)


def _found(q: str, **filters: object) -> list[str]:
    return [p.title for p in listing(Filters(terms=text.query_words(q), **filters)).items]  # type: ignore[arg-type]


def _tagged(product: Product, *slugs: str) -> Product:
    product.tags.set([Tag.objects.get_or_create(slug=s)[0] for s in slugs])
    product_index(product=product)
    return product


# --- Words ----------------------------------------------------------------------


def test_words_are_folded_without_accents_and_operators():
    assert text.words("Été à Montréal — NEAR(\"x\"*) -y: ÉCOLE_ß") == [
        "ete", "a", "montreal", "near", "x", "y", "ecole", "ss",
    ]  # fmt: skip
    assert text.query_words("a " * 50) == ["a"]
    assert len(text.query_words(" ".join(f"w{i}" for i in range(30)))) == text.QUERY_MAX_WORDS
    assert text.query_words("\x00🎵 ☕") == []


def test_highlight_marks_matching_words_and_escapes_everything_else():
    out = text.highlight('<script>alert("Été")</script> étés', ["ete"])
    assert "<script>" not in out
    assert "&lt;script&gt;" in out
    assert "<mark>Été</mark>" in out and "<mark>étés</mark>" in out
    assert "<mark>alert</mark>" not in out


def test_excerpt_starts_near_the_first_match():
    body = "word " * 200 + "lighthouse keeper " + "word " * 200
    out = text.excerpt(body, ["lighthouse"], width=80)
    assert out.startswith("… ") and out.endswith(" …")
    assert "<mark>lighthouse</mark>" in out
    assert len(out) < 140


# --- The index follows the catalog ------------------------------------------------


def test_the_index_follows_create_edit_unpublish_archive_and_delete():
    seller = SellerFactory(display_name="Les Ondes Douces")
    product = product_create(
        seller=seller, title="Night Trains", kind=Product.Kind.MUSIC, pricing="free",
        description="Recorded **between [two stations](https://zzlink.example/)**.",
        tags=["ambient"],
    )  # fmt: skip
    # A draft is not listed.
    assert not SearchDocument.objects.filter(product=product).exists()
    add_file(product)
    product_status_set(product=product, status=Product.Status.PUBLISHED)
    assert _found("stations") == ["Night Trains"]
    assert _found("ambient") == ["Night Trains"]
    assert _found("ondes douces") == ["Night Trains"]
    assert _found("musique") == ["Night Trains"]  # the kind, in French too
    assert _found("zzlink") == []  # a link's target is not a word of the page
    seller_update(
        seller=seller, display_name="Quiet Waves", slug=seller.slug, bio="", links=[],
        currency="EUR", timezone_name="UTC",
    )  # fmt: skip
    assert _found("quiet waves") == ["Night Trains"] and _found("ondes") == []
    product_status_set(product=product, status=Product.Status.UNLISTED)
    assert _found("stations") == []
    product_status_set(product=product, status=Product.Status.PUBLISHED)
    assert _found("stations") == ["Night Trains"]
    product_status_set(product=product, status=Product.Status.ARCHIVED)
    assert _found("stations") == []
    product_status_set(product=product, status=Product.Status.PUBLISHED)
    product_delete(product=product)
    assert _found("stations") == [] and SearchDocument.objects.count() == 0


def test_track_titles_are_searchable_and_reindex_rebuilds_everything():
    product = ProductFactory(title="An Album")
    track = add_file(product, name="01.mp3")
    track.metadata = {"title": "Lighthouse Keeper"}
    track.save()
    assert _found("lighthouse") == []  # written behind the services' back
    assert search_reindex() == 1
    assert _found("lighthouse") == ["An Album"]
    Product.objects.filter(pk=product.pk).update(status=Product.Status.DRAFT)
    assert search_reindex() == 0
    assert _found("lighthouse") == []


# --- Ranking and matching ---------------------------------------------------------


def test_a_word_in_the_title_ranks_above_the_same_word_in_the_description():
    below = ProductFactory(title="Recipes", description="A book about the sea and harbours.")
    above = ProductFactory(title="Harbour Lights", description="Songs.")
    search_reindex()
    assert _found("harbour", sort="relevance") == ["Harbour Lights", "Recipes"]
    assert below.created_at <= above.created_at


def test_a_common_word_is_ranked_among_its_newest_matches(monkeypatch):
    """Past RELEVANCE_CANDIDATES matches, only the newest are ranked: the oldest, best
    match drops out; a filter the candidates cannot fill ranks every match again."""
    from catalog.discovery import selectors

    best = ProductFactory(title="Harbour Harbour Harbour", kind="ebook")
    for i in range(5):
        ProductFactory(title=f"Song {i}", description="harbour", kind="music")
    search_reindex()
    assert _found("harbour", sort="relevance")[0] == best.title
    monkeypatch.setattr(selectors, "RELEVANCE_CANDIDATES", 3)
    capped = listing(Filters(terms=["harbour"], sort="relevance"), per_page=2)
    assert [p.title for p in capped.items] and best.title not in [p.title for p in capped.items]
    assert {p.title for p in capped.items} <= {"Song 2", "Song 3", "Song 4"}
    # Only the oldest is an ebook: the three newest matches hold none, so all are ranked.
    assert _found("harbour", sort="relevance", kind="ebook") == [best.title]


def test_the_newest_floor_is_the_same_for_common_and_rare_words(monkeypatch):
    """The id of the n-th newest match, whichever way the index finds it: among the newest
    documents (a common word) or through every match (a rare one, decision 108)."""
    from catalog.discovery import backends

    monkeypatch.setattr(backends, "FLOOR_WALK", 1)
    made = [
        ProductFactory(title=f"Song {i}", description="harbour" if i < 3 else "") for i in range(6)
    ]
    search_reindex()
    backend = backends.search_backend()
    ids = [p.pk for p in made]
    # "song" is in the newest two documents; "harbour" only in the three oldest.
    assert backend.newest_floor(["song"], 2) == sorted(ids)[-2]
    assert backend.newest_floor(["harbour"], 2) == sorted(ids[:3])[-2]
    assert backend.newest_floor(["harbour"], 3) == min(ids[:3])
    assert backend.newest_floor(["harbour"], 4) is None
    # Fewer matches than asked for: PostgreSQL gives every match's id, for the ranking
    # to join only those (decision 109); FTS5 joins its own matches and gives none.
    every = sorted(ids[:3], reverse=True)
    assert backend.candidates(["harbour"], 4) == (
        every if connection.vendor == "postgresql" else None
    )
    assert backend.candidates(["harbour"], 2) == sorted(ids[:3])[-2]


def test_a_rare_word_ranked_among_its_ids_ranks_as_over_every_match(monkeypatch):
    from catalog.discovery import backends

    ProductFactory(title="Lantern", kind="ebook")
    ProductFactory(title="Lantern Lantern", description="lantern", kind="music")
    ProductFactory(title="Other", description="a lantern", kind="music")
    search_reindex()
    ranked = _found("lantern", sort="relevance")
    assert ranked[0] == "Lantern Lantern" and len(ranked) == 3
    assert _found("lantern", sort="relevance", kind="music") == ["Lantern Lantern", "Other"]
    monkeypatch.setattr(backends.SearchBackend, "candidates", lambda self, terms, count: None)
    monkeypatch.setattr(backends.PostgresBackend, "candidates", lambda self, terms, count: None)
    assert _found("lantern", sort="relevance") == ranked


def test_cards_follow_every_edit_of_what_they_show(client):
    """Cards are cached by a digest of what they show: an edit that bypasses save()
    (so no updated_at) still shows at once, and each language has its own."""
    product = ProductFactory(title="Tidal Book", pricing="fixed", price=700)
    assert "Tidal Book" in client.get("/").content.decode()
    Product.objects.filter(pk=product.pk).update(title="Tidal Atlas", price=900)
    product.seller.__class__.objects.filter(pk=product.seller_id).update(display_name="Marée")
    body = client.get("/").content.decode()
    assert "Tidal Atlas" in body and "Tidal Book" not in body
    assert "9.00" in body and "Marée" in body
    Product.objects.filter(pk=product.pk).update(pricing="free", price=0)
    assert ">Gratuit<" in client.get("/fr/").content.decode().replace("\n", "")
    assert "Free" in client.get("/").content.decode()


def test_a_search_card_highlights_its_own_words_and_excerpt(client):
    ProductFactory(title="Night Trains", description="Long *night* rides north.")
    search_reindex()
    first = client.get("/search/", {"q": "night"}).content.decode()
    second = client.get("/search/", {"q": "trains"}).content.decode()
    assert "<mark>Night</mark> Trains" in first
    assert "Night <mark>Trains</mark>" in second and "<mark>Night</mark>" not in second


def test_every_word_is_required_and_prefixes_match_without_accents():
    ProductFactory(title="Été à Montréal")
    ProductFactory(title="Winter in Montreal")
    search_reindex()
    assert set(_found("montre")) == {"Été à Montréal", "Winter in Montreal"}
    assert _found("ete montreal") == ["Été à Montréal"]
    assert _found("ÉTÉ") == ["Été à Montréal"]


def test_only_published_products_are_found():
    for status in Product.Status.values:
        ProductFactory(title=f"Lantern {status}", status=status)
    search_reindex()
    assert _found("lantern") == ["Lantern published"]


@on_postgres
def test_a_misspelt_search_finds_close_names_on_postgresql():
    ProductFactory(title="Lighthouse Keeper")
    search_reindex()
    found = listing(Filters(terms=text.query_words("lighthuose keper"), sort="relevance"))
    assert found.fuzzy and [p.title for p in found.items] == ["Lighthouse Keeper"]


# --- Filters, sorts, cursors --------------------------------------------------------


def test_filters_by_kind_price_and_tag():
    ProductFactory(title="Free Song", kind="music", pricing="free", price=0)
    ProductFactory(title="Cheap Book", kind="ebook", price=300)
    ProductFactory(title="Dear Book", kind="ebook", price=3000)
    _tagged(ProductFactory(title="Tip Jar", kind="video", pricing="pwyw", price=0), "tips")
    assert _found("", kind="ebook") == ["Dear Book", "Cheap Book"]
    assert _found("", price="free") == ["Free Song"]
    assert _found("", price="pwyw") == ["Tip Jar"]
    assert set(_found("", max_price=500)) == {"Free Song", "Cheap Book", "Tip Jar"}
    assert _found("", tag="tips") == ["Tip Jar"]
    search_reindex()
    assert _found("book", kind="ebook", max_price=500) == ["Cheap Book"]


def _walk(filters: Filters, per_page: int) -> list[int]:
    seen: list[int] = []
    after = ""
    for _ in range(50):
        page = listing(filters, after=after, per_page=per_page)
        seen += [p.pk for p in page.items]
        if not page.has_next:
            return seen
        after = page.next_cursor
    raise AssertionError("the pages never ended")


@pytest.mark.parametrize("sort", ["new", "price", "-price"])
def test_cursor_pages_walk_every_product_once_in_order_even_with_ties(sort):
    same_time = timezone.now() - timedelta(days=1)
    for i in range(11):
        product = ProductFactory(price=100 * (1 + i % 3))
        if i % 2:  # ties on created_at too
            Product.objects.filter(pk=product.pk).update(created_at=same_time)
    order = {"new": ("-created_at", "-id"), "price": ("price", "id"), "-price": ("-price", "-id")}
    expected = list(Product.objects.order_by(*order[sort]).values_list("pk", flat=True))
    assert _walk(Filters(sort=sort), per_page=3) == expected


def test_a_cursor_for_another_sort_or_altered_is_refused():
    from catalog.discovery.selectors import CursorError

    for _ in range(3):
        ProductFactory()
    cursor = listing(Filters(sort="new"), per_page=1).next_cursor
    assert cursor
    with pytest.raises(CursorError):
        listing(Filters(sort="price"), after=cursor)
    with pytest.raises(CursorError):
        listing(Filters(sort="new"), after=cursor[:-2] + "xx")


def test_a_cursor_kept_by_the_process_still_follows_the_secret_key(settings):
    from catalog.discovery.selectors import CursorError

    for _ in range(3):
        ProductFactory()
    cursor = listing(Filters(sort="new"), per_page=1).next_cursor
    # The same place gives the same cursor, which reads back to the same next page.
    assert listing(Filters(sort="new"), per_page=1).next_cursor == cursor
    second = listing(Filters(sort="new"), after=cursor, per_page=1)
    assert listing(Filters(sort="new"), after=cursor, per_page=1).items[0] == second.items[0]
    settings.SECRET_KEY = "another-" + "k" * 50
    with pytest.raises(CursorError):
        listing(Filters(sort="new"), after=cursor, per_page=1)
    assert listing(Filters(sort="new"), per_page=1).next_cursor != cursor


# --- Pages -------------------------------------------------------------------------


def _catalogue() -> None:
    seller = SellerFactory(slug="ondes", display_name="Les Ondes")
    _tagged(ProductFactory(title="Night Trains", kind="music", seller=seller, price=700,
                           description="Four tracks between <b>two</b> stations."), "ambient")  # fmt: skip
    _tagged(ProductFactory(title="Tide Tables", kind="music", seller=seller, price=900), "ambient")
    product_index(product=ProductFactory(title="Field Notes", kind="ebook", price=900))


def test_the_search_page_ranks_highlights_and_filters(client):
    _catalogue()
    page = client.get("/search/", {"q": "trains"}).content.decode()
    assert "<mark>Trains</mark>" in page
    assert "Tide Tables" not in page and "Field Notes" not in page
    assert "&lt;b&gt;" not in page  # Markdown rendered to text, then escaped
    assert 'name="q"' in page and 'value="trains"' in page
    music = client.get("/search/", {"q": "ondes", "kind": "music", "sort": "price"})
    body = music.content.decode()
    assert body.index("Night Trains") < body.index("Tide Tables")


BAD_QUERIES = [
    '"', "'", "NEAR(a b)", "*", "-", ":", "a:b", "(", ")", "()", "AND OR NOT", "🎵🎶",
    "x" * 10_000, "a\x00b", "\x00", "%", "_", "\\", "'; DROP TABLE catalog_product; --",
    "title:night", "^night", "night*", '"night', "night -trains", "{night}", "NEAR/2",
]  # fmt: skip


@pytest.mark.parametrize("query", BAD_QUERIES)
def test_any_search_text_gives_a_page_never_an_error(client, query):
    _catalogue()
    response = client.get("/search/", {"q": query})
    assert response.status_code == 200
    body = response.content.decode()
    assert "<script" not in body.split("</header>", 1)[1].lower()
    if query in ("night*", "^night", '"night', "{night}", "night -trains"):
        # The operators are separators: the words are looked for, all of them.
        assert "<mark>Night</mark>" in body


def test_a_search_with_no_words_says_so(client):
    response = client.get("/search/", {"q": "🎵 ()"})
    assert "There is nothing to search for in that" in response.content.decode()
    empty = client.get("/search/").content.decode()
    assert "Type a word or two" in empty


def test_a_very_long_search_is_cut_and_says_so(client):
    _catalogue()
    response = client.get("/search/", {"q": "night " + "x" * 10_000})
    assert response.status_code == 200
    assert "Only the first 200 characters" in response.content.decode()


def test_a_search_that_finds_nothing_says_so(client):
    _catalogue()
    body = client.get("/search/", {"q": "zeppelin"}).content.decode()
    assert "Nothing matches this search" in body


@pytest.mark.parametrize(
    ("params", "message"),
    [({"after": "garbage"}, "No such page: this link"),
     ({"after": "x" * 5000}, "No such page: this link"),
     ({"page": "-1"}, "No such page:"),
     ({"page": "²"}, "No such page:"),
     ({"q": "night", "page": "21"}, "Results by relevance stop at page 20")],
)  # fmt: skip
def test_a_bad_page_or_cursor_shows_the_first_page_with_a_message(client, params, message):
    _catalogue()
    response = client.get("/search/", {"q": "night", **params})
    body = response.content.decode()
    assert response.status_code == 400
    assert message in body and "<mark>Night</mark> Trains" in body


@pytest.mark.parametrize(
    ("params", "message"),
    [({"kind": "spaceship"}, "There is no such kind of product"),
     ({"price": "cheap"}, "Choose a price from the list"),
     ({"max": "lots"}, "The top price was left out"),
     ({"max": "1e999"}, "The top price was left out")],
)  # fmt: skip
def test_a_filter_that_cannot_be_used_is_left_out_with_a_notice(client, params, message):
    _catalogue()
    response = client.get("/", params)
    body = response.content.decode()
    assert response.status_code == 200 and message in body and "Night Trains" in body


def test_the_next_link_reaches_the_second_page(client):
    for i in range(30):
        ProductFactory(title=f"Item {i:02d}")
    first = client.get("/").content.decode()
    assert "Item 29" in first and "Item 05" not in first

    href = re.search(r'href="(\?after=[^"]+)" rel="next"', first)
    assert href
    second = client.get("/" + href.group(1).replace("&amp;", "&")).content.decode()
    assert "Item 05" in second and "Item 29" not in second
    assert "First page" in second


def test_tag_pages_list_the_tag_link_its_feed_and_are_linked_from_products(client):
    _catalogue()
    response = client.get("/tags/ambient/")
    body = response.content.decode()
    assert response.status_code == 200
    assert "Night Trains" in body and "Tide Tables" in body and "Field Notes" not in body
    assert 'type="application/atom+xml" href="http://testserver/feeds/tags/ambient.atom"' in body
    assert '<link rel="canonical" href="http://testserver/tags/ambient/">' in body
    assert 'hreflang="fr" href="http://testserver/fr/tags/ambient/"' in body
    product = Product.objects.get(title="Night Trains")
    assert 'href="/tags/ambient/"' in client.get(product.get_absolute_url()).content.decode()
    assert client.get("/tags/no-such-tag/").status_code == 404


def test_the_tag_section_of_the_sitemap_points_at_tag_pages(client):
    _catalogue()
    body = client.get("/sitemap-tags.xml").content.decode()
    assert "http://testserver/tags/ambient/" in body


def test_kind_pages_list_one_kind(client):
    _catalogue()
    body = client.get("/music/").content.decode()
    assert "Night Trains" in body and "Field Notes" not in body
    assert "Field Notes" in client.get("/ebooks/").content.decode()
    assert client.get("/spaceships/").status_code == 404


def test_the_seller_page_is_paginated(client):
    seller = SellerFactory(slug="prolific")
    for i in range(30):
        ProductFactory(seller=seller, title=f"Work {i:02d}")
    body = client.get("/@prolific/").content.decode()
    assert body.count('class="card"') == 24
    assert 'rel="next"' in body


@pytest.mark.parametrize("url", ["/", "/search/?q=night", "/tags/ambient/", "/music/", "/@ondes/",
                                 "/search/?q=night&sort=price", "/fr/search/?q=night"])  # fmt: skip
def test_listing_pages_stay_within_six_queries(client, django_assert_max_num_queries, url):
    _catalogue()
    for _ in range(10):
        _tagged(ProductFactory(title="Night Bus", kind="music"), "ambient")
    with django_assert_max_num_queries(6):
        response = client.get(url)
    assert response.status_code == 200 and "Night" in response.content.decode()


def test_the_french_search_page_renders_in_french(client):
    _catalogue()
    body = client.get("/fr/search/", {"q": "trains"}).content.decode()
    assert "<mark>Trains</mark>" in body
    assert "Résultats pour" in body and "Trier par" in body


def test_every_page_has_the_search_box_in_its_header(client):
    header = client.get("/cart/").content.decode().split("</header>", 1)[0]
    assert 'role="search"' in header and 'action="/search/"' in header
    searched = client.get("/search/", {"q": '<b>"x"'}).content.decode().split("</header>", 1)[0]
    assert 'value="&lt;b&gt;&quot;x&quot;"' in searched


def test_the_admin_keeps_the_index(admin_client):
    product = ProductFactory(title="Old Title")
    product_index(product=product)
    response = admin_client.post(
        f"/admin/catalog/product/{product.pk}/change/",
        {
            "seller": product.seller.pk, "slug": product.slug, "title": "Lighthouse",
            "kind": "ebook", "description": "", "pricing": "fixed", "price": "900",
            "suggested_price": "", "currency": "EUR", "status": "published",
            "release_date": "", "audio_formats": "[]", "download_limit": "",
            "assets-TOTAL_FORMS": "0", "assets-INITIAL_FORMS": "0",
            "assets-MIN_NUM_FORMS": "0", "assets-MAX_NUM_FORMS": "1000",
        },
    )  # fmt: skip
    assert response.status_code == 302, re.findall(r"errorlist.{0,300}", response.content.decode())
    assert _found("lighthouse") == ["Lighthouse"] and _found("old") == []


# --- The product page -------------------------------------------------------------


def test_an_album_page_lists_its_tracks_with_durations_and_plays_the_preview_first(client):
    from tests.catalog.seo_helpers import album

    product = album()
    body = client.get(product.get_absolute_url()).content.decode()
    tracks = body.split('<ol class="tracks">', 1)[1].split("</ol>", 1)[0]
    assert tracks.index("Departure") < tracks.index("Tunnel")
    assert "3:07" in tracks and "1:02:05" in tracks
    assert body.index("<audio") < body.index('id="buy-heading"')


def test_an_ebook_page_gives_its_pages_and_a_video_page_its_size(client):
    book = ProductFactory(kind="ebook")
    pdf = add_file(book, name="book.pdf")
    pdf.metadata = {"pages": 212}
    pdf.save()
    assert "212 pages" in client.get(book.get_absolute_url()).content.decode()
    film = ProductFactory(kind="video")
    clip = add_file(film, b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 64, name="film.mp4")
    clip.kind = "video"
    clip.metadata = {"duration_seconds": 65.0, "width": 1920, "height": 1080}
    clip.save()
    page = client.get(film.get_absolute_url()).content.decode()
    assert "1920×1080" in page and "1:05" in page


def test_a_word_the_statistics_call_rare_skips_the_walk_among_the_newest(monkeypatch):
    """On PostgreSQL, after ANALYZE: a word in a few documents goes straight to the index
    (the walk through the newest documents could not find enough of it); a common one
    still walks, and both find the same floor as before (decision 109)."""
    if connection.vendor != "postgresql":
        pytest.skip("pg_stats: PostgreSQL only")
    from django.test.utils import CaptureQueriesContext

    from catalog.discovery import backends

    made = [
        ProductFactory(title=f"Song {i}", description="harbour" if i == 0 else "")
        for i in range(40)
    ]
    search_reindex()
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE discovery_searchdocument")
    backends.lexeme_shares_forget()
    shares = backends.lexeme_shares()
    assert shares is not None and shares.of_prefix("song") == 1.0
    assert shares.of_prefix("so") >= 1.0 and shares.of_prefix("zz") == 0.0
    backend = backends.search_backend()

    def asked(words: list[str], count: int) -> tuple[object, int]:
        """What ``candidates`` gives, and how many walks through the newest it made."""
        with CaptureQueriesContext(connection) as queries:
            found = backend.candidates(words, count)
        return found, sum("AS newest" in q["sql"] for q in queries.captured_queries)

    ids = sorted(p.pk for p in made)
    assert asked(["song"], 3) == (ids[-3], 1)
    assert asked(["harbour"], 3) == ([made[0].pk], 0)
    assert asked(["harb"], 3) == ([made[0].pk], 0)
    # A word ANALYZE never met is rarer than every word it lists.
    assert asked(["zephyrine"], 3) == ([], 0)
    # Both words must be common for the walk: one rare word makes the whole query rare.
    assert asked(["song", "harbour"], 3) == ([made[0].pk], 0)
    # Ranked among those ids: the one match; among none, nothing (and no error).
    assert _found("harbour", sort="relevance") == ["Song 0"]
    from catalog.discovery.selectors import Filters, _page_rows

    empty = _page_rows(Filters(terms=["harbour"]), "relevance", count=3, backend=backend, ids=[])
    assert len(empty) == 0


def test_a_prefix_adds_up_the_shares_of_the_words_it_starts():
    from catalog.discovery.backends import Shares

    shares = Shares.of_pairs(
        {"night": 0.3, "nights": 0.1, "nightfall": 0.05, "nib": 0.2, "zoo": 0.4}.items()
    )
    assert round(shares.of_prefix("night"), 6) == 0.45
    assert round(shares.of_prefix("ni"), 6) == 0.65
    assert shares.of_prefix("nightingale") == 0.0
    assert shares.of_prefix("zoo") == 0.4 and shares.of_prefix("a") == 0.0
