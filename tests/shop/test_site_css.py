"""The stylesheet's keyboard focus ring stands out: 3:1 against every surface it can sit on.

WCAG 2.2 (1.4.11 Non-text Contrast) asks 3:1 between the focus indicator and
its adjacent colours. The ring is drawn outside the element (``outline-offset``),
so the adjacent colours are the surfaces around it: the page, cards, panels,
notices, banners — every light background in the stylesheet. Dark fills (a
primary button) are the focused element itself, separated from the ring by the
offset.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

CSS = Path(__file__).resolve().parents[2] / "shop" / "static" / "echoppe" / "site.css"
RULE = re.compile(r"([^{}]+)\{([^{}]*)\}")
HEX = re.compile(r"#(?:[0-9a-fA-F]{6}|[0-9a-fA-F]{3})\b")


def _rules(css: str) -> list[tuple[str, dict[str, str]]]:
    css = re.sub(r"/\*.*?\*/", "", css, flags=re.S)
    rules = []
    for selector, body in RULE.findall(css):
        declarations = {}
        for part in body.split(";"):
            name, sep, value = part.partition(":")
            if sep:
                declarations[name.strip()] = value.strip()
        rules.append((selector.strip(), declarations))
    return rules


def _resolve(value: str, variables: dict[str, str]) -> str:
    return re.sub(r"var\((--[\w-]+)\)", lambda m: variables[m.group(1)], value)


def _luminance(colour: str) -> float:
    digits = colour.lstrip("#")
    if len(digits) == 3:
        digits = "".join(c * 2 for c in digits)
    channels = [int(digits[i : i + 2], 16) / 255 for i in (0, 2, 4)]
    linear = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(a: str, b: str) -> float:
    light, dark = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


def _stylesheet() -> tuple[list[str], set[str]]:
    rules = _rules(CSS.read_text())
    variables = {
        name: value
        for selector, decl in rules
        if selector == ":root"
        for name, value in decl.items()
    }
    rings, surfaces = [], set()
    for selector, decl in rules:
        if ":focus" in selector and "outline" in decl:
            [ring] = HEX.findall(_resolve(decl["outline"], variables))
            assert "outline-offset" in decl, f"{selector}: the ring must sit outside the element"
            rings.append(ring)
        for prop in ("background", "background-color"):
            for colour in HEX.findall(_resolve(decl.get(prop, ""), variables)):
                if _luminance(colour) > 0.4:  # a surface, not a button's own fill
                    surfaces.add(colour.lower())
    return rings, surfaces


def test_the_contrast_ratio_matches_wcags_formula():
    assert contrast("#000", "#fff") == pytest.approx(21)
    assert contrast("#b9a8f5", "#ffffff") == pytest.approx(2.1, abs=0.01)  # the old ring


def test_every_focus_ring_has_3_to_1_against_every_surface():
    rings, surfaces = _stylesheet()
    assert len(rings) >= 2
    assert {"#fff", "#faf9fc", "#fff4cc", "#ece8f5"} <= surfaces
    weak = [
        (ring, surface, round(contrast(ring, surface), 2))
        for ring in rings
        for surface in surfaces
        if contrast(ring, surface) < 3
    ]
    assert not weak, weak
