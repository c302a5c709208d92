"""Images through Pillow: a short list of formats, checked before anything is decoded.

Only JPEG, PNG, WebP, GIF and (when this Pillow has libavif) AVIF are opened,
always with `Image.open(formats=[...])` naming the one format the magic bytes
announced, so no other Pillow plugin ever sees the bytes. In particular the EPS
plugin, which hands files to Ghostscript, is unreachable: PostScript is refused
by its magic bytes before Pillow is involved.

The pixel count from the header is checked against `MAX_PIXELS` before
decoding, which stops decompression bombs (a few kilobytes that would unpack
to gigabytes). Renditions are re-encoded from pixels only, so EXIF (GPS,
camera serials), XMP and comments never leave with them.
"""

from __future__ import annotations

import io
import math
import os
import re
import warnings
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import IO

from django.utils.translation import gettext_noop
from PIL import Image, ImageOps, features

from catalog.inspection.types import RENDITION_SIZES, Inspection, MediaRefused, Rendition
from catalog.media import format_name

# 64 megapixels covers any camera sold today (61 MP) and a 8000 x 8000 print
# file; decoded as RGBA it is 256 MB, inside the inspection's memory budget.
MAX_PIXELS = 64_000_000

ACCEPTED: dict[str, str] = {
    "image/jpeg": "JPEG",
    "image/png": "PNG",
    "image/webp": "WEBP",
    "image/gif": "GIF",
}
if features.check("avif"):
    ACCEPTED["image/avif"] = "AVIF"

Source = str | os.PathLike[str] | bytes

_WHY_NOT: dict[str, str] = {
    "application/postscript": (
        "PostScript and EPS files are not accepted: reading them means running the "
        "program inside them (Ghostscript). Export the artwork as PNG, JPEG or PDF."
    ),
    "image/vnd.adobe.photoshop": (
        "Photoshop (PSD) documents are not accepted: they hold layers and data a web page "
        "cannot show. Export a flattened JPEG, PNG or WebP."
    ),
    "image/svg+xml": (
        "SVG images are not accepted: they can carry scripts and links. Export a PNG instead."
    ),
    "image/heic": (
        "HEIC/HEIF photos are not accepted: most browsers cannot show them. "
        "Export the photo as JPEG (most phones can share it that way)."
    ),
}


def accepted_names() -> str:
    names = [format_name(mime).removesuffix(" image") for mime in ACCEPTED]
    return ", ".join(names[:-1]) + " or " + names[-1]


def refusal(mime: str) -> str:
    """Why an image format is not accepted, for the person who sent it."""
    if mime in _WHY_NOT:
        return _WHY_NOT[mime]
    return (
        f"{format_name(mime)} files are not accepted as images: browsers cannot show them. "
        f"Use {accepted_names()}."
    )


@contextmanager
def _stream(source: Source) -> Iterator[IO[bytes]]:
    if isinstance(source, bytes):
        yield io.BytesIO(source)
    else:
        with open(source, "rb") as handle:
            yield handle


def _open(fp: IO[bytes], mime: str, max_pixels: int) -> Image.Image:
    """Read the header only, with the one plugin `mime` names, and check the pixel count."""
    if mime not in ACCEPTED:
        raise MediaRefused(refusal(mime))
    name = format_name(mime)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            image = Image.open(fp, formats=[ACCEPTED[mime]])
    except Image.DecompressionBombError as error:
        raise MediaRefused(_bomb_message(None, max_pixels, error)) from error
    except (Image.UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError) as error:
        raise MediaRefused(
            gettext_noop("This is not a readable %(name)s: its header is damaged."), {"name": name}
        ) from error
    width, height = image.size
    if width <= 0 or height <= 0:
        raise MediaRefused(
            gettext_noop("This %(name)s says it is %(width)s x %(height)s pixels, which is empty."),
            {"name": name, "width": width, "height": height},
        )
    if width * height > max_pixels:
        raise MediaRefused(_bomb_message((width, height), max_pixels))
    return image


def _bomb_message(size: tuple[int, int] | None, max_pixels: int, error: object = None) -> str:
    limit = f"{max_pixels / 1e6:.0f} megapixels"
    counted = re.search(r"\((\d+) pixels\)", str(error or ""))
    if size is None and counted:
        return (
            f"This image is {int(counted.group(1)) / 1e6:,.0f} megapixels once decoded; "
            f"the limit is {limit}. It looks like a decompression bomb."
        )
    if size is None:
        return f"This image would need more than {limit} once decoded, the limit here."
    width, height = size
    return (
        f"This image is {width} x {height} pixels ({width * height / 1e6:.0f} megapixels); "
        f"the limit is {limit}. Export a smaller version."
    )


def _decode(image: Image.Image, mime: str, max_pixels: int) -> None:
    """Decode the first frame, so damage shows now and not on a product page."""
    if mime == "image/jpeg":
        # Decoding at 1/8 scale still reads every byte of the entropy-coded data.
        image.draft("RGB", (max(1, image.width // 8), max(1, image.height // 8)))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            image.load()
    except Image.DecompressionBombError as error:
        raise MediaRefused(_bomb_message(None, max_pixels, error)) from error
    except MemoryError:
        raise
    except Exception as error:  # Pillow's decoders raise OSError, SyntaxError, ValueError...
        raise MediaRefused(
            gettext_noop("This %(format_name)s is damaged or incomplete (%(short)s)."),
            {"format_name": format_name(mime), "short": _short(error)},
        ) from error


def _short(error: BaseException) -> str:
    text = str(error).strip() or type(error).__name__
    return text[:160]


def _has_location(image: Image.Image) -> bool:
    try:
        return bool(image.getexif().get_ifd(0x8825))
    except Exception:  # a damaged EXIF block is dropped with the rest anyway
        return False


def inspect_image(source: Source, mime: str, *, max_pixels: int = MAX_PIXELS) -> Inspection:
    """Check an image of type `mime` (from `sniff`) and describe it."""
    with _stream(source) as fp:
        image = _open(fp, mime, max_pixels)
        with image:
            frames = getattr(image, "n_frames", 1) if getattr(image, "is_animated", False) else None
            located = _has_location(image)
            width, height = image.size  # before _decode: a JPEG draft shrinks it
            _decode(image, mime, max_pixels)
            notes: tuple[str, ...] = ()
            if located:
                notes = (
                    "The image carries GPS coordinates in its EXIF data; "
                    "the sizes made for pages leave them out.",
                )
            return Inspection(
                kind="image",
                mime=mime,
                format=format_name(mime),
                width=width,
                height=height,
                frames=frames,
                warnings=notes,
            )


def image_size(data: bytes, mime: str, *, max_pixels: int = MAX_PIXELS) -> tuple[int, int]:
    """Check a small in-memory image fully (embedded cover art) and return its size."""
    image = _open(io.BytesIO(data), mime, max_pixels)
    with image:
        size = image.size
        _decode(image, mime, max_pixels)
        return size


def make_renditions(
    source: Source,
    mime: str,
    *,
    sizes: Iterable[int] = RENDITION_SIZES,
    square: bool = False,
    max_pixels: int = MAX_PIXELS,
) -> list[Rendition]:
    """Re-encode an image at each size (fit inside a box, or a centred square) as WebP and JPEG.

    Never enlarges. EXIF orientation is applied to the pixels, then every
    metadata block except the colour profile is left behind.
    """
    sizes = sorted(set(sizes), reverse=True)
    with _stream(source) as fp:
        image = _open(fp, mime, max_pixels)
        with image:
            if mime == "image/jpeg" and sizes:
                image.draft("RGB", (sizes[0], sizes[0]))
            _decode(image, mime, max_pixels)
            icc = image.info.get("icc_profile")
            if sizes:
                # Shrink once, in place, before any copy: a 60-megapixel RGBA
                # image is 240 MB, and each conversion below would double it.
                side = min(image.size) if square else max(image.size)
                scale = sizes[0] / side
                if scale < 1:
                    box = (math.ceil(image.width * scale) + 1, math.ceil(image.height * scale) + 1)
                    image.thumbnail(box, Image.Resampling.LANCZOS, reducing_gap=3.0)
            upright = ImageOps.exif_transpose(image)
            has_alpha = upright.mode in ("RGBA", "LA", "PA") or (
                upright.mode == "P" and "transparency" in upright.info
            )
            pixels = upright.convert("RGBA" if has_alpha else "RGB")
    renditions: list[Rendition] = []
    for size in sizes:
        frame = _fit(pixels, size, square)
        frame.info.clear()
        webp = io.BytesIO()
        frame.save(webp, "WEBP", quality=82, method=4, icc_profile=icc, exif=b"")
        flat = frame
        if frame.mode == "RGBA":
            flat = Image.new("RGB", frame.size, (255, 255, 255))
            flat.paste(frame, mask=frame.getchannel("A"))
        jpeg = io.BytesIO()
        flat.save(
            jpeg, "JPEG", quality=85, optimize=True, progressive=True, icc_profile=icc, exif=b""
        )
        for suffix, mime_out, buffer in (("webp", "image/webp", webp), ("jpg", "image/jpeg", jpeg)):
            renditions.append(
                Rendition(
                    name=f"{size}.{suffix}",
                    mime=mime_out,
                    width=frame.width,
                    height=frame.height,
                    data=buffer.getvalue(),
                )
            )
    return renditions


def _fit(image: Image.Image, size: int, square: bool) -> Image.Image:
    if square:
        side = min(image.width, image.height, size)
        return ImageOps.fit(image, (side, side), Image.Resampling.LANCZOS)
    frame = image.copy()
    frame.thumbnail((size, size), Image.Resampling.LANCZOS)
    return frame
