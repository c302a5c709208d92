#!/usr/bin/env python3
"""Generate the demo media files used by Échoppe's ``manage.py demo`` command.

Everything made here is original: the texts are written in this file, the music
is synthesised note by note, and the cover art and video frames are drawn with
Pillow. The output is deterministic, so running the script again rewrites the
same bytes (files whose content is unchanged are left untouched).

Usage, from the repository root::

    .venv/bin/python shop/demo/media/make_demo_media.py [--out DIR]

Requirements: Python 3.11+, Pillow, mutagen, and an ``ffmpeg`` binary built
with libmp3lame, libvorbis and libx264 (Debian/Ubuntu: ``apt-get install
ffmpeg``). The PDF and EPUB writers use only the standard library.
"""

from __future__ import annotations

import argparse
import array
import hashlib
import html
import io
import math
import random
import re
import shutil
import subprocess
import sys
import tempfile
import uuid
import wave
import zipfile
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from mutagen.id3 import APIC, ID3, TALB, TCON, TDRC, TIT2, TPE1, TPE2, TRCK
from mutagen.oggvorbis import OggVorbis
from PIL import Image, ImageDraw, ImageFont

HERE = Path(__file__).resolve().parent
YEAR = "2026"
LICENCE_NOTE = (
    "Original content generated for the Échoppe demo store; free to use under the project licence."
)

# ---------------------------------------------------------------------------
# Texts
#
# A tiny markup shared by the PDF and EPUB writers: blocks are separated by
# blank lines; "# " starts a chapter, "## " a section, "> " an italic note,
# "- " a bullet item and "1. " a numbered step. Other lines are paragraphs.
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Book:
    slug: str
    title: str
    author: str
    subject: str
    epigraph: str
    body: str
    title_page: bool


FIELD_NOTES = Book(
    slug="field-notes",
    title="Field Notes on Small Shops",
    author="Maëlle Durand",
    subject="An essay on the habits of small shops, online and off.",
    epigraph="A shop is a room that agrees to be interrupted.",
    title_page=True,
    body="""
# I. Before the Sign Turns

Every small shop opens twice. The first opening is private: a key working
against a stiff lock, a light coming on above the counter, the radiator ticking
as it remembers its job. The second opening is public, when the card on the
door is turned around and the street is invited in. Between the two there is
usually a quarter of an hour that nobody sees, and I have come to believe that
it is where a shop is really made.

I spent one winter visiting small shops with a notebook: a bookbinder, a seller
of second-hand records, a woman who sold nothing but buttons, and a stationer
who had kept the same window display for eleven years out of stubbornness and
affection. I asked each of them what they did before opening. Their answers
were almost identical. They tidied what was already tidy. They moved one object
a few centimetres to the left. They counted the float in the till, although
they knew exactly what was in it. Then they looked out of the window for a
while.

The button seller told me that her first customer always arrived within four
minutes of the sign turning, whatever the hour. She had tested it, opening at
nine, at half past nine, and once, after a dentist’s appointment, at ten past
eleven. “It is never the same person,” she said. “It is the street deciding
that I am here.”

What struck me was how much of that early work is invisible and how little of
it is wasted. A department store measures its mornings in deliveries and rotas.
A small shop measures them in attention. The owner is the stock system, the
security guard, the marketing department and usually the only person who knows
where the spare light bulbs are kept. The quiet quarter of an hour is how all
of those people are gathered into one body before the door opens.

# II. The Counter

If the window is the face of a small shop, the counter is its hands.
Everything important happens there: the weighing, the wrapping, the small
negotiations about whether a scratched sleeve deserves a discount. In the
record shop the counter was a door laid across two filing cabinets. In the
bookbinder’s it was a workbench with a cash box screwed to one corner, so that
paying felt like interrupting a craft — which, the binder admitted, it was.

I noticed that the best counters are slightly too small. There is room for one
transaction and perhaps a cup of tea, never for a pile of paperwork. That
constraint does something useful. It means that each customer is dealt with
completely before the next one is served, and it means the owner has to keep
the rest of the business somewhere else: in a drawer, in a ledger, in their
head.

Conversation at the counter follows its own rules. People tell shopkeepers
things they would not tell a neighbour, because a shop is public and private at
once. The stationer knew which of his regular customers were writing letters
to estranged brothers, because they bought the good paper and then came back a
week later for more. He never asked. He simply kept the good paper in stock.

Online, the counter becomes a button, and it is tempting to think that nothing
survives the translation. I am not so sure. A clear price, a description
written by someone who has actually read the book or listened to the record, a
receipt that arrives at once and says thank you in plain words — these are
counter manners too. They are how a small shop online tells you that a person
is still standing behind it.

# III. Closing Up

Closing is the opening in reverse, and it is where the day is judged. The till
is counted properly this time. The window is checked from the pavement, the way
a customer would see it. The button seller turned off her lights one row at a
time, starting with the furthest, so that the shop seemed to walk her to the
door.

Almost everyone I met kept some kind of notebook. The binder recorded the
weather and the number of visitors who touched the marbled papers without
buying them. The record seller wrote down every request he could not fill, and
once a month he went looking for those records on purpose. None of these notes
would satisfy an accountant. All of them were, in a quiet way, a map of the
shop’s friendship with its street.

Small shops are often described as fragile, and in a narrow sense they are: one
bad winter, one new rent, and the card on the door stops turning. But the
habits I watched that winter seemed very durable to me. Tidy what is already
tidy. Keep the counter small. Stock the good paper. Write down what people
asked for. Those habits travel well, from a street to a website and, I suspect,
back again.

When I finished my visits I left the notebook on my desk for a month before
reading it through. The last entry, written outside the stationer’s at dusk,
says only: “Light still on. Somebody is still deciding.” I think that is the
whole of it. A small shop is a light that somebody has decided to leave on for
a little longer than strictly necessary.
""",
)

RECIPES = Book(
    slug="recipes",
    title="Recipes from a Tiny Kitchen",
    author="Tomás Ibáñez",
    subject="Three small recipes for two rings, one pan and no oven.",
    epigraph="Two rings, one pan, no oven, and no excuses.",
    title_page=False,
    body="""
My kitchen is one metre and forty centimetres wide. I measured it on the day I
moved in, because I did not believe the estate agent. It has two electric
rings, a sink that doubles as a draining board and a window that looks straight
at a wall. Everything in this little book was cooked there, with one good pan,
one small pot, a knife and a wooden spoon.

## One-Pan Tomato Rice

> Serves 2 · 25 minutes

- 1 tablespoon olive oil
- 1 onion, finely chopped
- 2 cloves of garlic, sliced
- 1 teaspoon smoked paprika
- 150 g short-grain rice
- 1 tin (400 g) chopped tomatoes
- 350 ml hot vegetable stock
- A handful of parsley, salt and pepper

1. Warm the oil in a wide pan over a medium heat and soften the onion for six
or seven minutes, stirring now and then.
2. Add the garlic and paprika and stir for one minute, until the kitchen smells
like a good decision.
3. Tip in the rice and stir until every grain is glossy, then add the tomatoes
and the stock.
4. Simmer without stirring for about eighteen minutes, until the rice is tender.
If it catches on the bottom, call it socarrat and be proud of it.
5. Rest for five minutes off the heat, scatter with parsley and season.

## Lemon and White Bean Toast

> Serves 1 · 10 minutes

- 1 tin (400 g) white beans, drained
- 1 small lemon, zest and juice
- 1 clove of garlic, crushed
- 2 tablespoons olive oil
- 2 thick slices of good bread
- Chilli flakes and salt

1. Warm the beans gently in the small pot with the garlic, half the oil and a
splash of water.
2. Crush about half of them with the back of a fork, leaving the rest whole.
3. Stir in the lemon zest and juice and season well with salt.
4. Toast the bread in the dry pan, pile the beans on top, and finish with the
rest of the oil and a pinch of chilli.

## Cinnamon Apple in a Mug

> Serves 1 · 8 minutes

- 1 apple, cored and cut into small pieces
- 1 teaspoon butter
- 1 teaspoon brown sugar
- ½ teaspoon ground cinnamon
- 2 tablespoons rolled oats
- A spoonful of yoghurt to serve

1. Melt the butter in the small pot, add the apple, sugar and cinnamon, and cook
for five minutes until soft.
2. Add the oats and stir for another two minutes, until they smell toasted.
3. Spoon everything into your favourite mug and top with the yoghurt. Eat it by
the window, even if the window looks at a wall.

Buen provecho.
""",
)


@dataclass(frozen=True)
class Block:
    kind: str  # "h1", "h2", "meta", "li", "ol" or "p"
    text: str
    number: int = 0


_MARKERS = (("# ", "h1"), ("## ", "h2"), ("> ", "meta"), ("- ", "li"))


def parse_text(source: str) -> list[Block]:
    """Parse the little markup used by the texts above into blocks."""
    blocks: list[Block] = []
    for chunk in source.strip().split("\n\n"):
        current: Block | None = None
        for raw in chunk.strip().splitlines():
            line = raw.strip()
            kind, text, number = "", line, 0
            for marker, marker_kind in _MARKERS:
                if line.startswith(marker):
                    kind, text = marker_kind, line[len(marker) :]
                    break
            else:
                numbered = re.match(r"(\d+)\. (.*)", line)
                if numbered:
                    kind, number, text = "ol", int(numbered[1]), numbered[2]
            if kind:
                current = Block(kind, text, number)
                blocks.append(current)
            elif current is None:
                current = Block("p", text)
                blocks.append(current)
            else:
                current = Block(current.kind, f"{current.text} {text}", current.number)
                blocks[-1] = current
    return blocks


def chapters(book: Book) -> list[tuple[str, list[Block]]]:
    """Split a book into (chapter title, blocks) pairs at each "# " heading."""
    result: list[tuple[str, list[Block]]] = []
    for block in parse_text(book.body):
        if block.kind == "h1" or not result:
            result.append((block.text if block.kind == "h1" else book.title, []))
        if block.kind != "h1":
            result[-1][1].append(block)
    return result


# ---------------------------------------------------------------------------
# PDF: a small hand-written PDF 1.4 writer using the standard Type 1 fonts
# (no embedding needed) with WinAnsiEncoding, so text stays selectable.
# ---------------------------------------------------------------------------

PAGE_W, PAGE_H = 420.0, 595.0  # A5, in points
MARGIN_X, MARGIN_TOP, MARGIN_BOTTOM = 54.0, 66.0, 54.0
TEXT_W = PAGE_W - 2 * MARGIN_X
PDF_FONTS = {"R": "Times-Roman", "I": "Times-Italic", "B": "Helvetica-Bold"}
PDF_DATE = "D:20260101000000Z"


def _metrics(groups: dict[int, str]) -> dict[str, int]:
    return {char: width for width, chars in groups.items() for char in chars}


# Advance widths (1/1000 em) of the standard fonts, for the characters we use.
FONT_WIDTHS = {
    "R": _metrics(
        {
            180: "'",
            250: ",. ·",
            278: "ijlt/:;",
            333: "frI!()-[]‘’",
            350: "•",
            389: "sJ",
            408: '"',
            444: "acez?“”éëá",
            500: "0123456789bdghknopquvxy#$*_–ñ",
            556: "FPS",
            564: "+<=>",
            611: "ELTZÉ",
            667: "BCR",
            722: "wADGHKNOQUVXY",
            750: "½",
            778: "m&",
            833: "%",
            889: "M",
            944: "W",
            1000: "—",
        }
    ),
    "I": _metrics(
        {
            214: "'",
            250: ",. ·",
            278: "fijlt/",
            333: "I!()-:;‘’",
            350: "•",
            389: "rsz[]",
            420: '"',
            444: "cekvxyJéë",
            500: "0123456789abdghnopquS#$*?_–áñ",
            556: "LTYZ“”",
            611: "ABEFPRVXÉ",
            667: "wCKN",
            675: "+<=>",
            722: "mDGHOQU",
            750: "½",
            778: "&",
            833: "MW%",
            889: "—",
        }
    ),
    "B": _metrics(
        {
            238: "'",
            278: "ijlI,./ ‘’·",
            333: "ft!()-:;[]",
            350: "•",
            389: "r*",
            474: '"',
            500: "z“”",
            556: "0123456789aceksvxyJ#$_–éëá",
            584: "+<=>",
            611: "bdghnopquFLTZ?ñ",
            667: "EPSVXYÉ",
            722: "ABCDHKNRU&",
            778: "wGOQ",
            833: "M",
            834: "½",
            889: "m%",
            944: "W",
            1000: "—",
        }
    ),
}


def text_width(text: str, font: str, size: float) -> float:
    widths = FONT_WIDTHS[font]
    return sum(widths.get(char, 600) for char in text) * size / 1000


def wrap(text: str, font: str, size: float, width: float) -> list[str]:
    lines: list[str] = []
    line = ""
    for word in text.split():
        candidate = f"{line} {word}" if line else word
        if line and text_width(candidate, font, size) > width:
            lines.append(line)
            line = word
        else:
            line = candidate
    return [*lines, line]


def pdf_string(text: str) -> bytes:
    """Encode text as a PDF literal string in WinAnsiEncoding."""
    raw = text.encode("cp1252")
    return b"(" + raw.replace(b"\\", b"\\\\").replace(b"(", b"\\(").replace(b")", b"\\)") + b")"


def pdf_text_string(text: str) -> bytes:
    """Encode a document-information string as UTF-16BE with a byte-order mark."""
    return b"<FEFF" + text.encode("utf-16-be").hex().upper().encode() + b">"


@dataclass(frozen=True)
class Style:
    font: str
    size: float
    leading: float
    before: float = 0.0
    after: float = 0.0
    align: str = "left"  # "left", "center" or "justify"
    indent: float = 0.0
    colour: str = "0.13 0.12 0.11"
    keep_together: bool = False


STYLES = {
    "title": Style("B", 24, 30, align="center", colour="0.45 0.18 0.12"),
    "inline-title": Style("B", 19, 24, colour="0.45 0.18 0.12"),
    "author": Style("R", 14, 20, before=6, align="center"),
    "inline-author": Style("R", 12.5, 18, before=2),
    "epigraph": Style("I", 11, 15, align="center", colour="0.35 0.33 0.31"),
    "colophon": Style("I", 8.5, 12, align="center", colour="0.45 0.43 0.41"),
    "h1": Style("B", 13, 18, before=14, after=8, colour="0.45 0.18 0.12"),
    "h2": Style("B", 12, 16, before=14, after=2, colour="0.45 0.18 0.12"),
    "meta": Style("I", 10, 14, after=5, colour="0.35 0.33 0.31"),
    "p": Style("R", 11, 15.4, after=5, align="justify"),
    "li": Style("R", 10.5, 13.5, indent=14, keep_together=True),
    "ol": Style("R", 10.5, 13.5, after=3, align="justify", indent=16, keep_together=True),
}


class PdfLayout:
    """Flow styled text blocks onto A5 pages and serialise them as a PDF."""

    def __init__(self, running_title: str) -> None:
        self.running_title = running_title
        self.pages: list[list[bytes]] = []
        self.y = 0.0
        self.new_page()

    def new_page(self) -> None:
        self.pages.append([])
        self.y = PAGE_H - MARGIN_TOP

    @property
    def at_top(self) -> bool:
        return self.y == PAGE_H - MARGIN_TOP

    def space(self, points: float) -> None:
        self.y -= points

    def draw_text(
        self,
        x: float,
        baseline: float,
        text: str,
        style: Style,
        word_space: float = 0.0,
        page: int = -1,
    ) -> None:
        font_index = list(PDF_FONTS).index(style.font) + 1
        self.pages[page].append(
            b"BT %s rg /F%d %.2f Tf %.3f Tw %.2f %.2f Td %s Tj ET"
            % (
                style.colour.encode(),
                font_index,
                style.size,
                word_space,
                x,
                baseline,
                pdf_string(text),
            )
        )

    def rule(self, width: float, after: float = 14.0) -> None:
        x = (PAGE_W - width) / 2
        self.pages[-1].append(
            b"0.72 0.6 0.52 RG 0.8 w %.2f %.2f m %.2f %.2f l S" % (x, self.y, x + width, self.y)
        )
        self.y -= after

    def block(self, text: str, style: Style, marker: str = "", keep_with_next: float = 0.0) -> None:
        width = TEXT_W - style.indent
        lines = wrap(text, style.font, style.size, width)
        if not self.at_top:
            self.y -= style.before
        needed = style.leading * (len(lines) if style.keep_together else min(len(lines), 2))
        needed += keep_with_next
        if self.y - needed < MARGIN_BOTTOM:
            self.new_page()
        left = MARGIN_X + style.indent
        for number, line in enumerate(lines):
            if self.y - style.leading < MARGIN_BOTTOM:
                self.new_page()
            baseline = self.y - style.size
            line_width = text_width(line, style.font, style.size)
            word_space, x = 0.0, left
            if style.align == "center":
                x = left + (width - line_width) / 2
            elif style.align == "justify" and number < len(lines) - 1 and " " in line:
                word_space = (width - line_width) / line.count(" ")
                word_space = word_space if word_space < 6 else 0.0
            if marker and number == 0:
                self.draw_text(left - style.indent + 2, baseline, marker, style)
            self.draw_text(x, baseline, line, style, word_space)
            self.y -= style.leading
        self.y -= style.after

    def decorate(self, skip_first: bool) -> None:
        """Add the running title and page number to every page but the first."""
        header = Style("I", 8.5, 10, colour="0.5 0.48 0.46")
        footer = Style("R", 9, 10, colour="0.5 0.48 0.46")
        for number in range(1 if skip_first else 0, len(self.pages)):
            title_x = (PAGE_W - text_width(self.running_title, header.font, header.size)) / 2
            label = str(number + 1)
            number_x = (PAGE_W - text_width(label, footer.font, footer.size)) / 2
            self.draw_text(title_x, PAGE_H - 38, self.running_title, header, page=number)
            self.draw_text(number_x, 34.0, label, footer, page=number)

    def to_pdf(self, title: str, author: str, subject: str) -> bytes:
        font_ids = {key: 4 + index for index, key in enumerate(PDF_FONTS)}
        first_page = 4 + len(PDF_FONTS)
        page_ids = [first_page + 2 * index for index in range(len(self.pages))]
        fonts = b" ".join(
            b"/F%d %d 0 R" % (index + 1, font_ids[key]) for index, key in enumerate(PDF_FONTS)
        )
        objects: list[bytes] = [
            b"<< /Type /Catalog /Pages 2 0 R /Lang (en)"
            b" /ViewerPreferences << /DisplayDocTitle true >> >>",
            b"<< /Type /Pages /Kids [%s] /Count %d >>"
            % (b" ".join(b"%d 0 R" % page_id for page_id in page_ids), len(page_ids)),
            b"<< /Title %s /Author %s /Subject %s /Creator %s /Producer %s"
            b" /CreationDate (%s) /ModDate (%s) >>"
            % (
                pdf_text_string(title),
                pdf_text_string(author),
                pdf_text_string(subject),
                pdf_text_string("Échoppe demo media generator"),
                pdf_text_string("make_demo_media.py"),
                PDF_DATE.encode(),
                PDF_DATE.encode(),
            ),
        ]
        objects += [
            b"<< /Type /Font /Subtype /Type1 /BaseFont /%s /Encoding /WinAnsiEncoding >>"
            % name.encode()
            for name in PDF_FONTS.values()
        ]
        for page_id, page in zip(page_ids, self.pages, strict=True):
            objects.append(
                b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 %d %d]"
                b" /Resources << /Font << %s >> >> /Contents %d 0 R >>"
                % (int(PAGE_W), int(PAGE_H), fonts, page_id + 1)
            )
            stream = zlib.compress(b"\n".join(page) + b"\n", 9)
            objects.append(
                b"<< /Length %d /Filter /FlateDecode >>\nstream\n%s\nendstream"
                % (len(stream), stream)
            )

        out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
        offsets = []
        for number, body in enumerate(objects, start=1):
            offsets.append(len(out))
            out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
        xref = len(out)
        out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
        out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
        digest = hashlib.md5(bytes(out), usedforsecurity=False).hexdigest().upper().encode()
        out += b"trailer\n<< /Size %d /Root 1 0 R /Info 3 0 R /ID [<%s> <%s>] >>\n" % (
            len(objects) + 1,
            digest,
            digest,
        )
        out += b"startxref\n%d\n%%%%EOF\n" % xref
        return bytes(out)


def make_pdf(book: Book) -> bytes:
    layout = PdfLayout(book.title)
    colophon = f"{book.title} · {book.author} · {YEAR}. {LICENCE_NOTE}"
    if book.title_page:
        layout.space(150)
        layout.block(book.title, STYLES["title"])
        layout.space(8)
        layout.rule(90)
        layout.block(book.author, STYLES["author"])
        layout.space(60)
        layout.block(book.epigraph, STYLES["epigraph"])
        layout.y = MARGIN_BOTTOM + 40
        layout.block(colophon, STYLES["colophon"])
        layout.new_page()
    else:
        layout.block(book.title, STYLES["inline-title"])
        layout.block(book.author, STYLES["inline-author"])
        layout.block(book.epigraph, STYLES["meta"])
        layout.space(4)
    keep = {"h1": 40.0, "h2": 44.0, "meta": 30.0}
    previous, sections = "", 0
    for block in parse_text(book.body):
        style = STYLES[block.kind]
        if block.kind == "h2":
            sections += 1
            if sections > 1 and not layout.at_top:
                layout.new_page()  # each section after the first starts a page
        elif block.kind == "ol" and previous == "li":
            layout.space(5)
        previous = block.kind
        marker = {"li": "•", "ol": f"{block.number}."}.get(block.kind, "")
        layout.block(block.text, style, marker, keep_with_next=keep.get(block.kind, 0.0))
    if not book.title_page:
        layout.space(10)
        layout.block(colophon, STYLES["colophon"])
    layout.decorate(skip_first=True)
    return layout.to_pdf(book.title, book.author, book.subject)


# ---------------------------------------------------------------------------
# EPUB 3
# ---------------------------------------------------------------------------

EPUB_CSS = """\
body { font-family: serif; line-height: 1.5; margin: 0 5%; }
h1, h2 { font-family: sans-serif; color: #73301f; }
h1 { font-size: 1.4em; margin: 1.5em 0 1em; }
p { margin: 0 0 0.8em; text-align: justify; }
header.book { text-align: center; margin: 2em 0 3em; }
header.book p.author { font-size: 1.2em; text-align: center; }
.epigraph, .colophon { font-style: italic; text-align: center; }
.colophon { font-size: 0.8em; color: #666; margin-top: 3em; }
"""

XHTML_HEAD = """\
<?xml version="1.0" encoding="utf-8"?>
<!DOCTYPE html>
<html xmlns="http://www.w3.org/1999/xhtml" xmlns:epub="http://www.idpf.org/2007/ops" \
xml:lang="en" lang="en">
<head>
  <meta charset="utf-8"/>
  <title>{title}</title>
  <link rel="stylesheet" type="text/css" href="style.css"/>
</head>
<body>
"""


def _xhtml(title: str, body: list[str]) -> str:
    head = XHTML_HEAD.format(title=html.escape(title))
    return head + "\n".join(body) + "\n</body>\n</html>\n"


def _blocks_to_xhtml(blocks: Sequence[Block]) -> list[str]:
    lines: list[str] = []
    open_list = ""
    for block in blocks:
        tag = {"li": "ul", "ol": "ol"}.get(block.kind, "")
        if open_list and tag != open_list:
            lines.append(f"</{open_list}>")
            open_list = ""
        if tag and not open_list:
            lines.append(f"<{tag}>")
            open_list = tag
        text = html.escape(block.text, quote=False)
        if tag:
            lines.append(f"  <li>{text}</li>")
        elif block.kind == "meta":
            lines.append(f'<p class="epigraph">{text}</p>')
        elif block.kind in ("h1", "h2"):
            lines.append(f"<{block.kind}>{text}</{block.kind}>")
        else:
            lines.append(f"<p>{text}</p>")
    if open_list:
        lines.append(f"</{open_list}>")
    return lines


def make_epub(book: Book) -> bytes:
    parts = chapters(book)
    identifier = uuid.uuid5(uuid.NAMESPACE_URL, f"urn:echoppe-demo:ebook-{book.slug}")
    files: dict[str, str] = {
        "META-INF/container.xml": """\
<?xml version="1.0" encoding="utf-8"?>
<container version="1.0" xmlns="urn:oasis:names:tc:opendocument:xmlns:container">
  <rootfiles>
    <rootfile full-path="OEBPS/content.opf" media-type="application/oebps-package+xml"/>
  </rootfiles>
</container>
""",
        "OEBPS/style.css": EPUB_CSS,
    }
    names = [f"chapter-{number}.xhtml" for number in range(1, len(parts) + 1)]
    for number, (name, (heading, blocks)) in enumerate(zip(names, parts, strict=True), start=1):
        body = [f'<section epub:type="chapter" id="chapter-{number}">']
        if number == 1:
            body += [
                '<header class="book">',
                f"  <h1>{html.escape(book.title)}</h1>",
                f'  <p class="author">{html.escape(book.author)}</p>',
                f'  <p class="epigraph">{html.escape(book.epigraph)}</p>',
                "</header>",
            ]
        body += [f"<h2>{html.escape(heading)}</h2>", *_blocks_to_xhtml(blocks)]
        if number == len(parts):
            body.append(f'<p class="colophon">{html.escape(LICENCE_NOTE)}</p>')
        body.append("</section>")
        files[f"OEBPS/{name}"] = _xhtml(heading, body)
    toc = "\n".join(
        f'    <li><a href="{name}">{html.escape(heading)}</a></li>'
        for name, (heading, _) in zip(names, parts, strict=True)
    )
    files["OEBPS/nav.xhtml"] = _xhtml(
        "Contents",
        [
            '<nav epub:type="toc" id="toc">',
            "  <h1>Contents</h1>",
            "  <ol>",
            toc,
            "  </ol>",
            "</nav>",
        ],
    )
    manifest = "\n".join(
        f'    <item id="chapter-{number}" href="{name}" media-type="application/xhtml+xml"/>'
        for number, name in enumerate(names, start=1)
    )
    spine = "\n".join(
        f'    <itemref idref="chapter-{number}"/>' for number in range(1, len(names) + 1)
    )
    surname, _, given = book.author.rpartition(" ")[::-1]
    files["OEBPS/content.opf"] = f"""\
<?xml version="1.0" encoding="utf-8"?>
<package xmlns="http://www.idpf.org/2007/opf" version="3.0"
         unique-identifier="book-id" xml:lang="en">
  <metadata xmlns:dc="http://purl.org/dc/elements/1.1/">
    <dc:identifier id="book-id">urn:uuid:{identifier}</dc:identifier>
    <dc:title>{html.escape(book.title)}</dc:title>
    <dc:creator id="creator">{html.escape(book.author)}</dc:creator>
    <meta refines="#creator" property="role" scheme="marc:relators">aut</meta>
    <meta refines="#creator" property="file-as">{html.escape(f"{surname}, {given}")}</meta>
    <dc:language>en</dc:language>
    <dc:publisher>Échoppe (demo)</dc:publisher>
    <dc:date>{YEAR}-01-01</dc:date>
    <dc:description>{html.escape(book.subject)}</dc:description>
    <dc:rights>{html.escape(LICENCE_NOTE)}</dc:rights>
    <meta property="dcterms:modified">{YEAR}-01-01T00:00:00Z</meta>
  </metadata>
  <manifest>
    <item id="nav" href="nav.xhtml" media-type="application/xhtml+xml" properties="nav"/>
    <item id="css" href="style.css" media-type="text/css"/>
{manifest}
  </manifest>
  <spine>
{spine}
  </spine>
</package>
"""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        entries = [("mimetype", "application/epub+zip"), *sorted(files.items())]
        for name, content in entries:
            info = zipfile.ZipInfo(name, date_time=(int(YEAR), 1, 1, 0, 0, 0))
            info.create_system = 3
            info.external_attr = 0o100644 << 16
            info.compress_type = zipfile.ZIP_STORED if name == "mimetype" else zipfile.ZIP_DEFLATED
            archive.writestr(info, content.encode("utf-8"), compresslevel=9)
    return buffer.getvalue()


# ---------------------------------------------------------------------------
# Audio: a small additive/wavetable synthesiser in pure Python.
# ---------------------------------------------------------------------------

SAMPLE_RATE = 44100
TABLE_SIZE = 4096


def _wavetable(harmonics: Sequence[tuple[int, float]]) -> list[float]:
    table = [
        sum(amp * math.sin(2 * math.pi * harmonic * i / TABLE_SIZE) for harmonic, amp in harmonics)
        for i in range(TABLE_SIZE)
    ]
    peak = max(abs(value) for value in table)
    return [value / peak for value in table] + [table[0] / peak]  # guard point for interpolation


SINE = _wavetable([(1, 1.0)])
WARM = _wavetable([(1, 1.0), (2, 0.22), (3, 0.08)])
BELL = _wavetable([(1, 1.0), (2, 0.3), (3, 0.1), (5, 0.03)])
SOFT_TRIANGLE = _wavetable([(n, (-1) ** k / n**2) for k, n in enumerate((1, 3, 5, 7))])


def hz(midi: float) -> float:
    return 440.0 * 2 ** ((midi - 69) / 12)


class Mix:
    """A stereo float buffer that notes are added into."""

    def __init__(self, seconds: float) -> None:
        count = int(seconds * SAMPLE_RATE)
        self.left = [0.0] * count
        self.right = [0.0] * count

    @property
    def seconds(self) -> float:
        return len(self.left) / SAMPLE_RATE

    def note(
        self,
        start: float,
        freq: float,
        length: float,
        gain: float,
        *,
        pan: float = 0.0,
        table: list[float] = SINE,
        attack: float = 0.01,
        release: float = 0.3,
        decay: float = 0.0,
    ) -> None:
        """Add one note: linear attack, optional exponential decay, linear release."""
        first = int(start * SAMPLE_RATE)
        hold = int(length * SAMPLE_RATE)
        rel = max(1, int(release * SAMPLE_RATE))
        count = min(hold + rel, len(self.left) - first)
        if decay:
            count = min(count, int(decay * SAMPLE_RATE * 7))
        att = max(1, int(attack * SAMPLE_RATE))
        fall = math.exp(-1.0 / (decay * SAMPLE_RATE)) if decay else 1.0
        angle = (pan + 1.0) * math.pi / 4
        gain_left, gain_right = gain * math.cos(angle), gain * math.sin(angle)
        step = freq * TABLE_SIZE / SAMPLE_RATE
        left, right = self.left, self.right
        phase, level = 0.0, 1.0
        for j in range(count):
            env = level
            if j < att:
                env *= j / att
            elif j >= hold:
                env *= 1.0 - (j - hold) / rel
            level *= fall
            index = int(phase)
            sample = (table[index] + (table[index + 1] - table[index]) * (phase - index)) * env
            phase += step
            if phase >= TABLE_SIZE:
                phase -= TABLE_SIZE
            left[first + j] += sample * gain_left
            right[first + j] += sample * gain_right

    def sea_wash(self, gain: float, period: float, seed: int) -> None:
        """Add softly swelling low-passed noise, like small waves on stones."""
        rng = random.Random(seed)  # noqa: S311 - seeded noise for sound, not security
        smooth_left = smooth_right = 0.0
        for i in range(len(self.left)):
            swell = 0.5 - 0.5 * math.cos(2 * math.pi * i / (period * SAMPLE_RATE))
            smooth_left += 0.04 * (rng.uniform(-1, 1) - smooth_left)
            smooth_right += 0.04 * (rng.uniform(-1, 1) - smooth_right)
            self.left[i] += smooth_left * swell * gain
            self.right[i] += smooth_right * swell * gain

    def echo(self, delay: float, feedback: float) -> None:
        """Add a gentle ping-pong echo that widens the sound."""
        offset = int(delay * SAMPLE_RATE)
        left, right = self.left, self.right
        for i in range(offset, len(left)):
            left[i] += feedback * right[i - offset]
            right[i] += feedback * left[i - offset]

    def write_wav(
        self, path: Path, fade_in: float = 0.05, fade_out: float = 1.8, peak: float = 0.8
    ) -> None:
        count = len(self.left)
        top = max(max(map(abs, self.left)), max(map(abs, self.right))) or 1.0
        scale = peak * 32767 / top
        fade_in_count, fade_out_count = int(fade_in * SAMPLE_RATE), int(fade_out * SAMPLE_RATE)
        fade_out_start = count - fade_out_count
        frames = array.array("h", bytes(4 * count))
        for i in range(count):
            gain = scale
            if i < fade_in_count:
                gain *= i / fade_in_count
            if i >= fade_out_start:
                gain *= 0.5 + 0.5 * math.cos(math.pi * (i - fade_out_start) / fade_out_count)
            frames[2 * i] = round(self.left[i] * gain)
            frames[2 * i + 1] = round(self.right[i] * gain)
        if sys.byteorder == "big":
            frames.byteswap()
        with wave.open(str(path), "wb") as out:
            out.setnchannels(2)
            out.setsampwidth(2)
            out.setframerate(SAMPLE_RATE)
            out.writeframes(frames.tobytes())


PITCH_CLASSES = {"C": 0, "C#": 1, "Db": 1, "D": 2, "Eb": 3, "E": 4, "F": 5, "F#": 6, "G": 7}
PITCH_CLASSES |= {"Ab": 8, "A": 9, "Bb": 10, "B": 11}
CHORD_SHAPES = {"": (0, 4, 7), "m": (0, 3, 7), "maj7": (0, 4, 7, 11), "m7": (0, 3, 7, 10)}
CHORD_SHAPES |= {"7": (0, 4, 7, 10), "add9": (0, 4, 7, 14), "m9": (0, 3, 7, 10, 14)}


def parse_chord(name: str) -> tuple[int, tuple[int, ...], int]:
    """Return (root pitch class, intervals, bass pitch class) for e.g. "A/C#"."""
    symbol, _, bass = name.partition("/")
    root = symbol[:2] if symbol[1:2] in ("#", "b") else symbol[:1]
    root_pc = PITCH_CLASSES[root]
    return root_pc, CHORD_SHAPES[symbol[len(root) :]], PITCH_CLASSES[bass] if bass else root_pc


def in_range(pitch_class: int, low: int) -> int:
    """Return the MIDI note of this pitch class in the octave starting at ``low``."""
    return low + (pitch_class - low) % 12


@dataclass(frozen=True)
class Piece:
    slug: str
    title: str
    bpm: float
    progression: tuple[tuple[str, float], ...]
    arpeggio: tuple[int, ...]  # indices into the chord tones, -1 is a rest
    arp_step: float = 0.5  # in beats
    bell_low: int = 64  # lowest MIDI note of the arpeggio
    pad_low: int = 52
    pulse: bool = False  # soft "da-dum" of train wheels
    drone: int = 0  # MIDI note of a low drone, 0 for none
    tail: float = 1.6  # seconds after the last chord starts ringing out

    @property
    def seconds(self) -> float:
        return sum(beats for _, beats in self.progression) * 60 / self.bpm + self.tail


def render_piece(piece: Piece, seed: int) -> Mix:
    beat = 60 / piece.bpm
    mix = Mix(piece.seconds)
    rng = random.Random(seed)  # noqa: S311 - seeded for reproducible note velocities
    start = 0.0
    if piece.drone:
        mix.note(0.0, hz(piece.drone), piece.seconds, 0.05, table=WARM, attack=1.5, release=1.0)
    for position, (name, beats) in enumerate(piece.progression):
        last = position == len(piece.progression) - 1
        length = beats * beat + (piece.tail - 0.9 if last else 0.05)
        root, shape, bass = parse_chord(name)
        pad_root = in_range(root, piece.pad_low)
        for index, interval in enumerate(shape[:4]):
            for detune, pan in ((-0.06, -0.45), (0.06, 0.45)):
                mix.note(
                    start,
                    hz(pad_root + interval + detune),
                    length,
                    0.045,
                    pan=pan * (1 if index % 2 else -1),
                    table=WARM,
                    attack=0.35,
                    release=0.9,
                )
        mix.note(
            start,
            hz(in_range(bass, 38)),
            length,
            0.16,
            table=SOFT_TRIANGLE,
            attack=0.03,
            release=0.6,
            decay=2.2,
        )
        bell_root = in_range(root, piece.bell_low)
        tones = [bell_root + interval for interval in shape] + [
            bell_root + 12 + shape[1],
            bell_root + 12 + shape[2],
        ]
        if last:
            for index, tone in enumerate([bell_root, *tones[1:3], bell_root + 12]):
                mix.note(
                    start + index * 0.09,
                    hz(tone),
                    1.0,
                    0.1,
                    pan=-0.4 + 0.25 * index,
                    table=BELL,
                    attack=0.008,
                    decay=0.9,
                )
        else:
            for step in range(int(beats / piece.arp_step)):
                index = piece.arpeggio[step % len(piece.arpeggio)]
                if index < 0:
                    continue
                tone = tones[index % len(tones)]
                velocity = 0.1 * (0.8 + 0.35 * rng.random())
                mix.note(
                    start + step * piece.arp_step * beat,
                    hz(tone),
                    1.0,
                    velocity,
                    pan=-0.6 + 1.2 * (index % len(tones)) / len(tones),
                    table=BELL,
                    attack=0.008,
                    decay=0.5,
                )
        if piece.pulse and not last:
            for bar_beat in range(int(beats)):
                for offset in (0.0, 0.3):
                    mix.note(
                        start + (bar_beat + offset) * beat,
                        62.0,
                        0.2,
                        0.14,
                        attack=0.012,
                        decay=0.09,
                    )
        start += beats * beat
    mix.echo(0.75 * beat, 0.28)
    return mix


ARTIST = "Les Ondes Douces"
ALBUM = "Night Trains"
ALBUM_TRACKS = (
    Piece(
        "album-01-departure",
        "Departure",
        112,
        (("D", 4), ("A/C#", 4), ("Bm", 4), ("G", 2), ("A", 2), ("D", 2)),
        (0, 1, 2, 3, 4, 3, 2, 1),
        pulse=True,
    ),
    Piece(
        "album-02-tunnel",
        "Tunnel",
        88,
        (("Am", 4), ("F", 4), ("Dm", 2), ("E", 2), ("Am", 2)),
        (0, -1, 2, 1, -1, 3, 2, -1),
        bell_low=57,
        pad_low=48,
        pulse=True,
        drone=33,
    ),
    Piece(
        "album-03-the-long-curve",
        "The Long Curve",
        96,
        (("Fmaj7", 4), ("Em7", 4), ("Dm7", 4), ("Bbmaj7", 2), ("Fmaj7", 2)),
        (0, 1, 2, 3, 4, 5, 4, 3, 2, 1, 2, 3),
        bell_low=60,
    ),
    Piece(
        "album-04-arrival",
        "Arrival",
        104,
        (("C", 4), ("D", 4), ("Em", 2), ("C", 2), ("D", 2), ("G", 2)),
        (0, 2, 1, 3, 2, 4, 3, 1),
        bell_low=62,
    ),
)
SINGLE = Piece(
    "single-morning-light",
    "Morning Light",
    120,
    (("E", 4), ("B", 4), ("C#m", 4), ("A", 4), ("E", 2)),
    (0, 2, 4, 2, 1, 3, 5, 3),
    bell_low=68,
    pad_low=56,
)


def draw_cover(size: int = 320) -> bytes:
    """Draw the album cover: a night train crossing a viaduct under the moon."""
    image = Image.new("RGB", (size, size))
    draw = ImageDraw.Draw(image)
    top, middle, low = (14, 20, 48), (52, 38, 88), (196, 112, 92)
    horizon = int(size * 0.72)
    for y in range(size):
        if y < horizon * 0.6:
            colour = _mix_colour(top, middle, y / (horizon * 0.6))
        else:
            colour = _mix_colour(middle, low, min(1.0, (y - horizon * 0.6) / (horizon * 0.4)))
        draw.line([(0, y), (size, y)], fill=colour)
    rng = random.Random(7)  # noqa: S311 - seeded for reproducible star positions
    for _ in range(70):
        x, y = rng.randrange(size), rng.randrange(int(size * 0.55))
        shade = rng.randrange(150, 255)
        draw.point((x, y), fill=(shade, shade, min(255, shade + 20)))
    glow = Image.new("RGBA", image.size, (0, 0, 0, 0))
    glow_draw = ImageDraw.Draw(glow)
    moon_x, moon_y = int(size * 0.72), int(size * 0.24)
    for radius, alpha in ((60, 18), (44, 28), (32, 40)):
        glow_draw.ellipse(
            (moon_x - radius, moon_y - radius, moon_x + radius, moon_y + radius),
            fill=(255, 240, 200, alpha),
        )
    image = Image.alpha_composite(image.convert("RGBA"), glow).convert("RGB")
    draw = ImageDraw.Draw(image)
    draw.ellipse((moon_x - 22, moon_y - 22, moon_x + 22, moon_y + 22), fill=(250, 238, 206))
    hills = [(0, horizon)] + [
        (x, horizon - 18 - 14 * math.sin(x / size * 5.0) - 8 * math.sin(x / size * 13.0))
        for x in range(0, size + 8, 8)
    ]
    draw.polygon([*hills, (size, size), (0, size)], fill=(24, 20, 42))
    deck = int(size * 0.66)
    draw.rectangle((0, deck, size, deck + 6), fill=(18, 14, 30))
    for x in range(-10, size, 40):
        draw.rectangle((x, deck + 6, x + 40, size), fill=(18, 14, 30))
        draw.ellipse((x + 8, deck + 18, x + 32, deck + 64), fill=(34, 28, 56))
        draw.rectangle((x + 8, deck + 41, x + 32, size), fill=(34, 28, 56))
    train_y = deck - 22
    for car in range(5):
        x = 24 + car * 54
        draw.rounded_rectangle((x, train_y, x + 50, deck - 2), radius=5, fill=(30, 26, 50))
        for window in range(4):
            wx = x + 6 + window * 11
            draw.rectangle((wx, train_y + 5, wx + 7, train_y + 11), fill=(255, 214, 130))
    draw.rectangle((0, int(size * 0.82), size, size), fill=(14, 12, 26))
    title_font = ImageFont.load_default(size=int(size * 0.1))
    small_font = ImageFont.load_default(size=int(size * 0.05))
    draw.text(
        (size / 2, size * 0.87), ALBUM.upper(), font=title_font, fill=(250, 232, 196), anchor="mm"
    )
    draw.text((size / 2, size * 0.955), ARTIST, font=small_font, fill=(214, 170, 150), anchor="mm")
    output = io.BytesIO()
    image.save(output, "JPEG", quality=84)
    return output.getvalue()


def tag_mp3(path: Path, piece: Piece, number: int, total: int, cover: bytes | None) -> None:
    tags = ID3()
    tags.add(TIT2(encoding=3, text=piece.title))
    tags.add(TPE1(encoding=3, text=ARTIST))
    tags.add(TPE2(encoding=3, text=ARTIST))
    tags.add(TALB(encoding=3, text=ALBUM))
    tags.add(TRCK(encoding=3, text=f"{number}/{total}"))
    tags.add(TDRC(encoding=3, text=YEAR))
    tags.add(TCON(encoding=3, text="Ambient"))
    if cover:
        tags.add(APIC(encoding=3, mime="image/jpeg", type=3, desc="Cover", data=cover))
    tags.save(path, v2_version=4)


def tag_ogg(path: Path, piece: Piece) -> None:
    audio = OggVorbis(path)
    for key in list(audio.keys()):
        del audio[key]
    for key, value in (
        ("title", piece.title),
        ("artist", ARTIST),
        ("album", piece.title),
        ("date", YEAR),
        ("genre", "Ambient"),
        ("tracknumber", "1"),
    ):
        audio[key] = [value]
    audio.save()


# ---------------------------------------------------------------------------
# Video: a harbour at dusk, drawn frame by frame and encoded with ffmpeg.
# ---------------------------------------------------------------------------

VIDEO_W, VIDEO_H, FPS, VIDEO_SECONDS = 320, 180, 25, 5.0
HORIZON = 112


def _mix_colour(a: Sequence[int], b: Sequence[int], t: float) -> tuple[int, int, int]:
    red, green, blue = (round(x + (y - x) * t) for x, y in zip(a, b, strict=True))
    return red, green, blue


def _harbour_background() -> Image.Image:
    image = Image.new("RGB", (VIDEO_W, VIDEO_H))
    draw = ImageDraw.Draw(image)
    for y in range(HORIZON):
        draw.line(
            [(0, y), (VIDEO_W, y)],
            fill=_mix_colour((30, 42, 86), (242, 166, 98), (y / HORIZON) ** 1.6),
        )
    for y in range(HORIZON, VIDEO_H):
        colour = _mix_colour((52, 78, 112), (14, 30, 52), (y - HORIZON) / (VIDEO_H - HORIZON))
        draw.line([(0, y), (VIDEO_W, y)], fill=colour)
    return image


def _harbour_frame(background: Image.Image, index: int) -> Image.Image:
    t = index / FPS
    frame = background.convert("RGBA")
    overlay = Image.new("RGBA", frame.size, (0, 0, 0, 0))
    glow = ImageDraw.Draw(overlay)
    sun_x, sun_y = 196, HORIZON - 12 + 9 * t / VIDEO_SECONDS
    for radius, alpha in ((46, 22), (30, 36), (20, 60)):
        glow.ellipse(
            (sun_x - radius, sun_y - radius, sun_x + radius, sun_y + radius),
            fill=(255, 196, 120, alpha),
        )
    glow.ellipse((sun_x - 12, sun_y - 12, sun_x + 12, sun_y + 12), fill=(255, 222, 160, 255))
    frame = Image.alpha_composite(frame, overlay)
    frame.paste(background.crop((0, HORIZON, VIDEO_W, VIDEO_H)), (0, HORIZON))
    draw = ImageDraw.Draw(frame)
    # Far shore, then the sun's shimmering path on the water.
    shore = [
        (x, HORIZON - 4 - 3 * math.sin(x / 23) - 2 * math.sin(x / 7))
        for x in range(0, VIDEO_W + 10, 10)
    ]
    draw.polygon([(0, HORIZON + 1), *shore, (VIDEO_W, HORIZON + 1)], fill=(70, 58, 92))
    for y in range(HORIZON + 2, VIDEO_H, 3):
        half = 3 + (y - HORIZON) * 0.14 + 3 * math.sin(t * 5 + y * 0.7)
        fade = (y - HORIZON) / (VIDEO_H - HORIZON)
        shimmer = _mix_colour((236, 160, 96), (60, 80, 110), 0.2 + 0.5 * fade)
        draw.line([(sun_x - half, y), (sun_x + half, y)], fill=shimmer)
    # Waves drift to the right, faster and larger nearer the viewer.
    for row in range(9):
        wave_y = HORIZON + 5 + row * row * 0.85
        spacing = 26 + row * 6
        shift = (t * (6 + row * 4) + row * 17) % spacing
        colour = _mix_colour((52, 78, 112), (176, 204, 224), 0.25 + row * 0.03)
        for x in range(-spacing, VIDEO_W + spacing, spacing):
            wave_x = x + shift
            draw.line([(wave_x, wave_y), (wave_x + 5 + row, wave_y)], fill=colour)
    # Lighthouse on its rock, with a sweeping beam.
    draw.polygon(
        [(8, HORIZON + 16), (20, HORIZON + 2), (70, HORIZON), (88, HORIZON + 18)], fill=(38, 34, 48)
    )
    base, top = HORIZON + 4, HORIZON - 44
    for band in range(5):
        y0 = base - (base - top) * band / 5
        y1 = base - (base - top) * (band + 1) / 5
        half0, half1 = 8 - 3 * band / 5, 8 - 3 * (band + 1) / 5
        fill = (224, 220, 212) if band % 2 else (178, 52, 46)
        draw.polygon(
            [(48 - half0, y0), (48 + half0, y0), (48 + half1, y1), (48 - half1, y1)], fill=fill
        )
    draw.rectangle((42, top - 9, 54, top), fill=(40, 36, 44))
    draw.polygon([(40, top - 9), (56, top - 9), (48, top - 15)], fill=(150, 40, 36))
    # The lamp turns once every 2.5 s: seen from the side, the beam swings
    # left and right, and the lamp flashes when it faces the viewer.
    turn = 2 * math.pi * t / 2.5
    reach, facing = math.cos(turn), max(0.0, math.sin(turn))
    lamp = (48.0, top - 5.0)
    spread = 5 + 9 * facing
    tip_x = lamp[0] + 280 * reach
    beam = Image.new("RGBA", frame.size, (0, 0, 0, 0))
    beam_alpha = int(40 + 50 * facing)
    beam_shape = [lamp, (tip_x, lamp[1] - spread), (tip_x, lamp[1] + spread + 6 * abs(reach))]
    ImageDraw.Draw(beam).polygon(beam_shape, fill=(255, 240, 190, beam_alpha))
    frame = Image.alpha_composite(frame, beam)
    draw = ImageDraw.Draw(frame)
    lamp_colour = _mix_colour((150, 130, 80), (255, 246, 200), facing)
    draw.rectangle((45, top - 7, 51, top - 2), fill=lamp_colour)
    # The pier, with a lamp post.
    deck_y = HORIZON + 22
    draw.rectangle((238, deck_y, VIDEO_W, deck_y + 4), fill=(58, 40, 32))
    for x in range(244, VIDEO_W, 16):
        draw.rectangle((x, deck_y + 4, x + 3, deck_y + 26), fill=(44, 30, 26))
    draw.line([(300, deck_y), (300, deck_y - 30)], fill=(30, 26, 30), width=2)
    draw.ellipse((296, deck_y - 36, 304, deck_y - 28), fill=(255, 226, 150))
    # A small sailing boat crossing towards the pier, bobbing on the swell.
    boat_x = 92 + 120 * t / VIDEO_SECONDS
    boat_y = HORIZON + 36 + 1.6 * math.sin(2 * math.pi * 0.7 * t)
    tilt = 1.2 * math.sin(2 * math.pi * 0.7 * t + 1)
    draw.polygon(
        [
            (boat_x - 17, boat_y - tilt),
            (boat_x + 17, boat_y + tilt),
            (boat_x + 12, boat_y + 7),
            (boat_x - 12, boat_y + 7),
        ],
        fill=(128, 44, 38),
    )
    draw.line([(boat_x, boat_y), (boat_x, boat_y - 30)], fill=(52, 40, 36), width=1)
    draw.polygon(
        [(boat_x + 1, boat_y - 29), (boat_x + 1, boat_y - 3), (boat_x + 15, boat_y - 3)],
        fill=(242, 236, 222),
    )
    draw.polygon(
        [(boat_x - 1, boat_y - 26), (boat_x - 1, boat_y - 4), (boat_x - 11, boat_y - 4)],
        fill=(220, 212, 198),
    )
    # Two gulls gliding.
    for number, (gx, gy, speed) in enumerate(((60, 40, 9), (140, 28, 6))):
        gull_x, gull_y = gx + speed * t, gy + 2 * math.sin(t * 1.3 + number)
        flap = 3 * math.sin(t * 7 + number * 2)
        wings = [(gull_x - 6, gull_y - flap), (gull_x, gull_y), (gull_x + 6, gull_y - flap)]
        draw.line(wings, fill=(40, 36, 52), width=1)
    return frame.convert("RGB")


def harbour_soundtrack() -> Mix:
    mix = Mix(VIDEO_SECONDS + 0.2)
    for index, midi in enumerate((48, 55, 59, 62, 64)):
        pan = -0.4 + 0.2 * index
        mix.note(
            0.0, hz(midi), VIDEO_SECONDS - 0.6, 0.05, pan=pan, table=WARM, attack=1.2, release=0.8
        )
    for start, midi in ((1.0, 76), (2.25, 79), (3.5, 74)):
        mix.note(start, hz(midi), 1.5, 0.06, pan=-0.3, table=BELL, attack=0.008, decay=0.7)
    mix.sea_wash(0.5, period=2.5, seed=11)
    mix.echo(0.4, 0.25)
    return mix


# ---------------------------------------------------------------------------
# Orchestration
# ---------------------------------------------------------------------------

FFMPEG_COMMON = ["-hide_banner", "-loglevel", "error", "-y"]
BITEXACT = ["-map_metadata", "-1", "-fflags", "+bitexact", "-flags:a", "+bitexact"]


def ffmpeg(*args: str) -> None:
    """Run ffmpeg quietly with the given arguments, raising on failure."""
    executable = shutil.which("ffmpeg")
    if executable is None:
        raise SystemExit("ffmpeg is required (e.g. `apt-get install ffmpeg`)")
    subprocess.run([executable, *FFMPEG_COMMON, *args], check=True)  # noqa: S603 - fixed argv


def install(source: Path | bytes, destination: Path) -> None:
    """Move a built file into place, leaving an identical existing file untouched."""
    data = source if isinstance(source, bytes) else source.read_bytes()
    if destination.exists() and destination.read_bytes() == data:
        print(f"unchanged  {destination.name}")
        return
    staging = destination.with_name(f".{destination.name}.tmp")
    staging.write_bytes(data)
    staging.replace(destination)
    print(f"wrote      {destination.name} ({len(data):,} bytes)")


def build_music(out: Path, work: Path) -> None:
    cover = draw_cover()
    for number, piece in enumerate(ALBUM_TRACKS, start=1):
        wav, mp3 = work / f"{piece.slug}.wav", work / f"{piece.slug}.mp3"
        render_piece(piece, seed=number).write_wav(wav)
        ffmpeg(
            *("-i", str(wav), "-c:a", "libmp3lame", "-b:a", "96k", "-ar", "44100", "-ac", "2"),
            *(*BITEXACT, "-id3v2_version", "0", "-write_id3v1", "0", str(mp3)),
        )
        tag_mp3(mp3, piece, number, len(ALBUM_TRACKS), cover if number == 1 else None)
        install(mp3, out / mp3.name)
    wav, ogg = work / f"{SINGLE.slug}.wav", work / f"{SINGLE.slug}.ogg"
    render_piece(SINGLE, seed=99).write_wav(wav)
    ffmpeg(
        "-i",
        str(wav),
        "-c:a",
        "libvorbis",
        "-q:a",
        "3",
        "-ar",
        "44100",
        "-ac",
        "2",
        *BITEXACT,
        str(ogg),
    )
    tag_ogg(ogg, SINGLE)
    install(ogg, out / ogg.name)


def build_video(out: Path, work: Path) -> None:
    background = _harbour_background()
    raw = work / "harbour.rgb"
    with raw.open("wb") as frames:
        for index in range(int(VIDEO_SECONDS * FPS)):
            frames.write(_harbour_frame(background, index).tobytes())
    wav = work / "harbour.wav"
    harbour_soundtrack().write_wav(wav, fade_in=0.3, fade_out=0.8, peak=0.6)
    mp4 = work / "video-harbour.mp4"
    ffmpeg(
        *(
            "-f",
            "rawvideo",
            "-pix_fmt",
            "rgb24",
            "-s",
            f"{VIDEO_W}x{VIDEO_H}",
            "-r",
            str(FPS),
            "-i",
            str(raw),
        ),
        *("-i", str(wav), "-map", "0:v", "-map", "1:a", "-shortest"),
        *(
            "-c:v",
            "libx264",
            "-preset",
            "slow",
            "-crf",
            "23",
            "-pix_fmt",
            "yuv420p",
            "-profile:v",
            "main",
        ),
        *("-g", "50", "-threads", "1", "-flags:v", "+bitexact"),
        *("-c:a", "aac", "-b:a", "64k", "-ar", "44100", "-ac", "2", *BITEXACT),
        *("-metadata", "title=Harbour at Dusk", "-movflags", "+faststart", str(mp4)),
    )
    install(mp4, out / mp4.name)


def build_previews(out: Path, work: Path) -> None:
    """Public samples for the product pages: 8 s of "Tunnel", 2 s of the harbour film."""
    mp3 = work / "preview-night-trains.mp3"
    ffmpeg(
        *("-i", str(out / "album-02-tunnel.mp3"), "-t", "8", "-af", "afade=t=out:st=6:d=2"),
        *("-c:a", "libmp3lame", "-b:a", "96k", "-ar", "44100", "-ac", "2", *BITEXACT),
        *("-metadata", "title=Tunnel (preview)", "-id3v2_version", "3", str(mp3)),
    )
    install(mp3, out / mp3.name)
    mp4 = work / "preview-harbour.mp4"
    ffmpeg(
        *("-i", str(out / "video-harbour.mp4"), "-t", "2", "-c:v", "libx264", "-crf", "28"),
        *("-preset", "slow", "-threads", "1", "-flags:v", "+bitexact", "-pix_fmt", "yuv420p"),
        *("-c:a", "aac", "-b:a", "48k", *BITEXACT, "-movflags", "+faststart", str(mp4)),
    )
    install(mp4, out / mp4.name)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--out", type=Path, default=HERE, help="output folder (default: this script's folder)"
    )
    args = parser.parse_args(argv)
    if shutil.which("ffmpeg") is None:
        parser.error("ffmpeg is required (e.g. `apt-get install ffmpeg`)")
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    install(make_pdf(FIELD_NOTES), out / "ebook-field-notes.pdf")
    install(make_epub(FIELD_NOTES), out / "ebook-field-notes.epub")
    install(make_pdf(RECIPES), out / "ebook-recipes.pdf")
    with tempfile.TemporaryDirectory(prefix="echoppe-demo-media-") as tmp:
        build_music(out, Path(tmp))
        build_video(out, Path(tmp))
        build_previews(out, Path(tmp))
    return 0


if __name__ == "__main__":
    sys.exit(main())
