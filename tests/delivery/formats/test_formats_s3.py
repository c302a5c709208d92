"""Renditions on S3 (SeaweedFS): the source is read through the storage seam,
the result stored in the bucket and delivered by a presigned redirect."""

from __future__ import annotations

import pytest
from django.urls import reverse

from catalog.inspection import audio
from delivery.formats.models import Rendition
from delivery.services import entitlement_grant, library_link_create
from tests.delivery.formats.conftest import TAGS, add_flac, needs_ffmpeg
from tests.delivery.test_s3 import fetch

pytestmark = [pytest.mark.django_db, needs_ffmpeg]


def test_a_rendition_is_made_from_and_stored_in_the_bucket(
    on_s3, client, album, flac_bytes, django_capture_on_commit_callbacks, tmp_path
):
    asset = add_flac(album, flac_bytes)
    entitlement = entitlement_grant(email="fan@example.com", product=album)
    token = library_link_create(library=entitlement.library)
    url = reverse("delivery:file", args=[token, entitlement.pk, asset.pk]) + "?format=mp3-320"
    with django_capture_on_commit_callbacks(execute=True):
        client.get(url)
    rendition = Rendition.objects.get()
    assert rendition.status == Rendition.Status.READY, rendition.error
    download = client.get(client.get(url)["Location"])
    assert download.status_code == 302
    status, headers, body = fetch(download["Location"])
    assert status == 200
    assert len(body) == rendition.size_bytes
    assert 'filename="03 Tide Pool.mp3"' in headers["Content-Disposition"]
    path = tmp_path / "got.mp3"
    path.write_bytes(body)
    facts = audio.read(str(path), "audio/mpeg")
    assert facts.duration_seconds == pytest.approx(2.5, abs=0.1)
    assert facts.tags["album"] == TAGS["album"]
    assert facts.cover is not None
