"""A name or Content-Type that contradicts the content gets a message; agreement gets none."""

from __future__ import annotations

import pytest

from catalog.inspection import claim_mismatch


@pytest.mark.parametrize(
    ("content", "filename", "content_type"),
    [
        ("audio/mpeg", "01 – Départ.MP3", "audio/mpeg"),
        ("image/jpeg", "cover.jpeg", "image/jpg"),
        ("video/mp4", "audiobook.m4b", None),  # one MP4 family
        ("audio/ogg; codecs=opus", "track.opus", "audio/ogg"),
        ("application/epub+zip", "book.zip", None),  # an EPUB is a ZIP
        ("application/pdf", "README", "application/octet-stream"),  # nothing claimed
        ("application/pdf", "notes.txt", None),  # an extension with no family
    ],
)
def test_claims_that_agree_or_say_nothing_pass(content, filename, content_type):
    assert claim_mismatch(content, filename=filename, content_type=content_type) is None


def test_a_lying_extension_is_named_with_what_the_content_really_is():
    assert claim_mismatch("application/epub+zip", filename="book.pdf") == (
        "The name “book.pdf” says PDF, but the content is an EPUB ebook. "
        "Rename the file or upload the right one."
    )


def test_a_lying_content_type_is_named_too():
    message = claim_mismatch("image/png", filename="logo", content_type="image/jpeg")
    assert message is not None
    assert message.startswith("The browser sent this file as image/jpeg, which says JPEG")
    assert "a PNG image" in message


def test_content_of_unknown_type_cannot_be_what_its_name_says():
    assert claim_mismatch("application/octet-stream", filename="track.flac") == (
        "The name “track.flac” says FLAC, but the content is not FLAC: its type is not recognised."
    )
