"""Generated cover art for the demo products: a soft gradient with the title."""

from __future__ import annotations

import io
import textwrap

from PIL import Image, ImageDraw, ImageFont


def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    for name in ("DejaVuSans-Bold.ttf", "LiberationSans-Bold.ttf"):
        try:
            return ImageFont.truetype(name, size)
        except OSError:
            continue
    return ImageFont.load_default(size=size)


def make_cover(title: str, subtitle: str, colors: tuple[str, str], size: int = 800) -> bytes:
    """A JPEG cover: vertical gradient between two colors, title and subtitle in white."""
    top = Image.new("RGB", (size, size), colors[0])
    bottom = Image.new("RGB", (size, size), colors[1])
    mask = Image.linear_gradient("L").resize((size, size))
    image = Image.composite(bottom, top, mask)
    draw = ImageDraw.Draw(image)
    for i in range(6):
        radius = size // (3 + i)
        cx, cy = size * (0.2 + 0.13 * i), size * (0.25 + 0.07 * (i % 3))
        draw.ellipse(
            (cx - radius, cy - radius, cx + radius, cy + radius),
            outline=(255, 255, 255),
            width=2,
        )
    title_font, sub_font = _font(size // 12), _font(size // 24)
    y = int(size * 0.58)
    for line in textwrap.wrap(title, width=16):
        draw.text((size * 0.08, y), line, font=title_font, fill=(255, 255, 255))
        y += int(size / 10.5)
    draw.text((size * 0.08, y + size * 0.02), subtitle, font=sub_font, fill=(245, 240, 255))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=85, optimize=True, progressive=True)
    return out.getvalue()
