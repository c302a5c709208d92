"""One file in, one `Inspection` out (or `MediaRefused`): the type from the magic bytes,
then the parser for that type confirms it and reads what it can.

These functions run in the current process with no limits of their own; the
shop calls them through `catalog.inspection.inspect_path`, which runs them in
a child process bounded in time and memory.
"""

from __future__ import annotations

import os
from dataclasses import replace

from django.utils.translation import gettext_noop

from catalog.inspection import audio, documents, images, video
from catalog.inspection.claims import claim_mismatch, claimed_mime, name_claims_a_signature
from catalog.inspection.types import Inspection, MediaRefused
from catalog.media import Sniffed, format_name, sniff

_MP4_FAMILY = {
    "audio/mp4",
    "video/mp4",
    "video/x-m4v",
    "video/quicktime",
    "video/3gpp",
    "video/3gpp2",
}
_REFUSED_VIDEO = {"video/x-msvideo", "video/mpeg", "video/x-flv"}
_OPAQUE_ARCHIVES = {
    "application/vnd.rar",
    "application/x-7z-compressed",
    "application/gzip",
    "application/x-bzip2",
    "application/x-xz",
    "application/x-tar",
}


def inspect_file(
    path: str, *, claimed_name: str | None = None, claimed_type: str | None = None
) -> Inspection:
    """Describe the file at `path`, or raise MediaRefused with the reason.

    `claimed_name` and `claimed_type` are what the sender said the file is; a
    contradiction with recognised content is refused, an unproven claim on
    content of unknown type becomes a warning.
    """
    size = os.stat(path).st_size
    if size == 0:
        raise MediaRefused(gettext_noop("The file is empty."))
    with open(path, "rb") as handle:
        sniffed = sniff(handle)
    mismatch = claim_mismatch(sniffed.mime, filename=claimed_name, content_type=claimed_type)
    # A ZIP may turn out to be an EPUB missing its "mimetype" entry: the EPUB
    # reader's reason says more than "not an EPUB", so the claim waits for it.
    if mismatch and sniffed.kind != "other" and sniffed.mime != "application/zip":
        raise MediaRefused(mismatch)
    if sniffed.kind == "other":
        # Formats without magic bytes (Targa...) can only be told by their name;
        # one that would be refused if recognised is refused for what it claims.
        claimed = claimed_mime(claimed_name, claimed_type)
        if claimed is not None and _refused_format(claimed):
            raise MediaRefused(_refusal(claimed))
    found = _read(path, size, sniffed)
    if found.mime != sniffed.mime and found.kind != "other":
        mismatch = claim_mismatch(found.mime, filename=claimed_name, content_type=claimed_type)
    if mismatch and found.kind != "other":
        raise MediaRefused(mismatch)
    if found.kind == "other" and name_claims_a_signature(claimed_name):
        # A buyer must never receive a "book.pdf" that no reader opens.
        claimed = claimed_mime(claimed_name)
        raise MediaRefused(
            mismatch
            or f"The name “{claimed_name}” says {format_name(claimed or '')}, but the content "
            "is not: its type is not recognised. Rename the file or upload the right one."
        )
    if mismatch:
        found = replace(found, warnings=(mismatch, *found.warnings))
    return found


def _refused_format(mime: str) -> bool:
    is_image = mime.startswith("image/") or mime == "application/postscript"
    return (is_image and mime not in images.ACCEPTED) or mime in _REFUSED_VIDEO


def _refusal(mime: str) -> str:
    if mime in _REFUSED_VIDEO:
        return (
            f"{format_name(mime)} is not accepted: browsers cannot play it. "
            "Convert it to MP4 (H.264 and AAC) or WebM."
        )
    return images.refusal(mime)


def _read(path: str, size: int, sniffed: Sniffed) -> Inspection:
    mime = sniffed.mime
    if mime == "application/pdf":
        return documents.inspect_pdf(path)
    if mime == "application/epub+zip":
        return documents.inspect_epub(path, size)
    if mime == "application/zip":
        return documents.inspect_zip(path, size)
    if mime in _OPAQUE_ARCHIVES:
        return Inspection(kind="archive", mime=mime, format=format_name(mime))
    if sniffed.kind == "image":
        return images.inspect_image(path, mime)
    if mime in _REFUSED_VIDEO:
        raise MediaRefused(_refusal(mime))
    if mime in _MP4_FAMILY:
        return _mp4(path, size, mime)
    if mime in ("video/webm", "video/x-matroska"):
        return _matroska(path, size)
    if mime in audio.READERS:
        return _mutagen(path, mime)
    return Inspection(kind="other", mime=mime, format=format_name(mime))


def _as_text(value: object) -> str | None:
    return value if isinstance(value, str) else None


def _sound(facts: audio.AudioFacts, mime: str) -> Inspection:
    if not facts.duration_seconds:
        raise MediaRefused(
            gettext_noop("This %(format_name)s holds no sound: its length is 0 seconds."),
            {"format_name": format_name(mime)},
        )
    return Inspection(
        kind="audio",
        mime=mime,
        format=format_name(mime),
        duration_seconds=facts.duration_seconds,
        bitrate=facts.bitrate,
        sample_rate=facts.sample_rate,
        channels=facts.channels,
        codec=facts.codec,
        title=_as_text(facts.tags.get("title")),
        tags=facts.tags,
        cover=facts.cover,
        warnings=tuple(facts.warnings),
    )


def _mutagen(path: str, mime: str) -> Inspection:
    facts = audio.read(path, mime)
    if facts.reader is audio.OggTheora:
        with open(path, "rb") as handle:
            width, height = video.theora_size(handle.read(4096))
        return Inspection(
            kind="video",
            mime="video/ogg",
            format=format_name("video/ogg"),
            duration_seconds=facts.duration_seconds,
            bitrate=facts.bitrate,
            codec="theora",
            width=width,
            height=height,
            title=_as_text(facts.tags.get("title")),
            tags=facts.tags,
            warnings=tuple(facts.warnings),
        )
    if mime in ("application/ogg", "video/ogg"):
        mime = "audio/ogg; codecs=opus" if facts.reader is audio.OggOpus else "audio/ogg"
    return _sound(facts, mime)


def _mp4(path: str, size: int, mime: str) -> Inspection:
    """MP4, M4A, MOV, 3GP: mutagen for the stream and tags, the track boxes for the picture."""
    facts = audio.read(path, mime)
    with open(path, "rb") as handle:
        container = video.mp4_tracks(handle, size)
    picture, sound = container.first("video"), container.first("audio")
    if picture is None and sound is None:
        raise MediaRefused(
            gettext_noop("This %(format_name)s has neither a sound nor a picture track."),
            {"format_name": format_name(mime)},
        )
    if picture is None or mime == "audio/mp4":
        return _sound(facts, "audio/mp4")
    if not facts.duration_seconds:
        raise MediaRefused(
            gettext_noop("This %(format_name)s is empty: its length is 0 seconds."),
            {"format_name": format_name(mime)},
        )
    return Inspection(
        kind="video",
        mime=mime,
        format=format_name(mime),
        duration_seconds=facts.duration_seconds,
        bitrate=facts.bitrate,
        sample_rate=facts.sample_rate if sound else None,
        channels=facts.channels if sound else None,
        codec=picture.codec,
        audio_codec=facts.codec if sound else None,
        width=picture.width,
        height=picture.height,
        title=_as_text(facts.tags.get("title")),
        tags=facts.tags,
        cover=facts.cover,
        warnings=tuple(facts.warnings),
    )


def _matroska(path: str, size: int) -> Inspection:
    with open(path, "rb") as handle:
        container = video.matroska_info(handle, size)
    picture, sound = container.first("video"), container.first("audio")
    webm = container.doc_type == "webm"
    if picture is not None:
        mime = "video/webm" if webm else "video/x-matroska"
    elif sound is not None:
        mime = "audio/webm" if webm else "audio/x-matroska"
    else:
        raise MediaRefused(
            gettext_noop("This Matroska/WebM file has neither a sound nor a picture track.")
        )
    return Inspection(
        kind="video" if picture is not None else "audio",
        mime=mime,
        format=format_name(mime),
        duration_seconds=container.duration_seconds,
        codec=(picture or sound).codec,  # type: ignore[union-attr]
        audio_codec=sound.codec if sound and picture else None,
        width=picture.width if picture else None,
        height=picture.height if picture else None,
        sample_rate=sound.sample_rate if sound else None,
        channels=sound.channels if sound else None,
    )
