"""Images: a short list of formats, bombs stopped before decoding, renditions without EXIF."""

from __future__ import annotations

import io
import struct
import zlib

import pytest
from PIL import EpsImagePlugin, Image, ImageFile, features

from catalog.inspection import MediaRefused, image_renditions, inspect_path
from catalog.inspection.images import MAX_PIXELS, inspect_image, make_renditions
from catalog.inspection.probe import inspect_file


def _image(fmt: str, size=(64, 48), mode="RGB", **save) -> bytes:
    out = io.BytesIO()
    Image.new(mode, size, (200, 80, 40) if mode == "RGB" else (200, 80, 40, 128)).save(
        out, fmt, **save
    )
    return out.getvalue()


def _write(tmp_path, name: str, data: bytes) -> str:
    path = tmp_path / name
    path.write_bytes(data)
    return str(path)


def _png_claiming(width: int, height: int) -> bytes:
    """A PNG whose header claims a size; the pixel data is a few bytes."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return (
            struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
        )

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\x00" * 64))
        + chunk(b"IEND", b"")
    )


@pytest.mark.parametrize(
    ("fmt", "suffix", "mime"),
    [
        ("JPEG", "jpg", "image/jpeg"),
        ("PNG", "png", "image/png"),
        ("WEBP", "webp", "image/webp"),
        ("GIF", "gif", "image/gif"),
    ],
)
def test_jpeg_png_webp_and_gif_are_accepted_with_their_size(tmp_path, fmt, suffix, mime):
    found = inspect_path(
        _write(tmp_path, f"cover.{suffix}", _image(fmt)), claimed_name=f"cover.{suffix}"
    )
    assert (found.kind, found.mime, found.width, found.height) == ("image", mime, 64, 48)


@pytest.mark.skipif(not features.check("avif"), reason="this Pillow is built without libavif")
def test_avif_is_accepted_where_pillow_reads_it(tmp_path):
    found = inspect_path(_write(tmp_path, "cover.avif", _image("AVIF")))
    assert (found.mime, found.width) == ("image/avif", 64)


def test_eps_is_refused_without_ever_reaching_ghostscript(tmp_path, monkeypatch):
    def explode(*args, **kwargs):
        raise AssertionError("the EPS plugin was reached")

    monkeypatch.setattr(EpsImagePlugin.EpsImageFile, "_open", explode)
    monkeypatch.setattr(EpsImagePlugin, "Ghostscript", explode)
    eps = b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 10 10\nshowpage\n%%EOF\n"
    with pytest.raises(MediaRefused, match="Ghostscript"):
        inspect_file(_write(tmp_path, "logo.eps", eps), claimed_name="logo.eps")
    # Renamed to pass for a JPEG, it is refused for the lie, still unopened.
    with pytest.raises(MediaRefused, match="PostScript"):
        inspect_file(_write(tmp_path, "logo.jpg", eps), claimed_name="logo.jpg")


def test_pillow_is_only_ever_asked_for_the_format_the_magic_bytes_named(tmp_path, monkeypatch):
    asked = []
    original = Image.open

    def spy(fp, mode="r", formats=None):
        asked.append(formats)
        return original(fp, mode, formats)

    monkeypatch.setattr(Image, "open", spy)
    inspect_image(_write(tmp_path, "a.png", _image("PNG")), "image/png")
    make_renditions(_write(tmp_path, "b.jpg", _image("JPEG")), "image/jpeg", sizes=[32])
    assert asked == [["PNG"], ["JPEG"]]


def test_photoshop_and_tiff_are_refused_with_the_reason(tmp_path):
    psd = b"8BPS\x00\x01" + b"\x00" * 6 + struct.pack(">HIIHH", 3, 10, 10, 8, 3)
    with pytest.raises(MediaRefused, match="Photoshop"):
        inspect_path(_write(tmp_path, "art.psd", psd))
    with pytest.raises(MediaRefused, match=r"TIFF.*not accepted.*JPEG, PNG, WebP"):
        inspect_path(_write(tmp_path, "scan.tif", _image("TIFF")))


def test_a_format_without_magic_bytes_is_refused_for_what_its_name_claims(tmp_path):
    targa = _image("TGA")
    with pytest.raises(MediaRefused, match="Targa"):
        inspect_path(_write(tmp_path, "sprite.tga", targa), claimed_name="sprite.tga")


def test_a_decompression_bomb_is_refused_before_any_pixel_is_decoded(tmp_path, monkeypatch):
    def never(*args, **kwargs):
        raise AssertionError("pixels were decoded")

    monkeypatch.setattr(ImageFile.ImageFile, "load", never)
    bomb = _png_claiming(9_000, 9_000)
    assert len(bomb) < 200
    with pytest.raises(MediaRefused, match=r"9000 x 9000 pixels \(81 megapixels\)"):
        inspect_file(_write(tmp_path, "bomb.png", bomb))
    beyond_pillow = _png_claiming(100_000, 100_000)  # past Pillow's own hard limit too
    with pytest.raises(MediaRefused, match=r"10,000 megapixels.*decompression bomb"):
        inspect_file(_write(tmp_path, "bigger.png", beyond_pillow))


def test_the_pixel_limit_leaves_room_for_real_cameras():
    assert MAX_PIXELS >= 9504 * 6336  # a 61-megapixel full-frame sensor


def test_a_truncated_image_is_refused_as_damaged(tmp_path):
    photo = _image("JPEG", size=(400, 300), quality=95)
    with pytest.raises(MediaRefused, match="JPEG image is damaged or incomplete"):
        inspect_path(_write(tmp_path, "cut.jpg", photo[: len(photo) // 2]))


def _photo_with_gps_and_orientation() -> bytes:
    image = Image.linear_gradient("L").resize((2400, 1600)).convert("RGB")
    exif = Image.Exif()
    exif[0x0112] = 6  # rotated: shown upright it is 1600 x 2400
    exif[0x010F] = "PhoneMaker"
    exif.get_ifd(0x8825)[2] = (48.0, 51.0, 29.0)  # GPSLatitude
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif, quality=90)
    return out.getvalue()


def test_location_data_is_reported_and_left_out_of_every_rendition(tmp_path):
    path = _write(tmp_path, "photo.jpg", _photo_with_gps_and_orientation())
    found = inspect_path(path)
    assert any("GPS" in note for note in found.warnings)
    renditions = image_renditions(path, "image/jpeg")
    assert [r.name for r in renditions] == ["1200.webp", "1200.jpg", "600.webp", "600.jpg"]
    for rendition in renditions:
        decoded = Image.open(io.BytesIO(rendition.data))
        assert decoded.format == {"image/webp": "WEBP", "image/jpeg": "JPEG"}[rendition.mime]
        assert not decoded.getexif(), rendition.name
        assert "xmp" not in decoded.info and "exif" not in decoded.info
        # The EXIF orientation went into the pixels: portrait, fitted in the box.
        assert decoded.size == (rendition.width, rendition.height)
        assert rendition.height == int(rendition.name.split(".")[0])
        assert rendition.width < rendition.height


def test_renditions_never_enlarge_and_can_be_square(tmp_path):
    small = _write(tmp_path, "small.png", _image("PNG", size=(300, 200)))
    fitted = {r.name: (r.width, r.height) for r in image_renditions(small, "image/png")}
    assert fitted["1200.webp"] == (300, 200) and fitted["600.jpg"] == (300, 200)
    square = {
        r.name: (r.width, r.height)
        for r in image_renditions(_photo_with_gps_and_orientation(), "image/jpeg", square=True)
    }
    assert square["1200.webp"] == (1200, 1200) and square["600.jpg"] == (600, 600)


def test_transparency_survives_in_webp_and_is_flattened_on_white_for_jpeg(tmp_path):
    png = _write(tmp_path, "logo.png", _image("PNG", mode="RGBA"))
    made = {
        r.name: Image.open(io.BytesIO(r.data))
        for r in image_renditions(png, "image/png", sizes=[64])
    }
    assert made["64.webp"].mode == "RGBA"
    assert made["64.jpg"].mode == "RGB"
