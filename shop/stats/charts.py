"""Bar charts drawn on the server as inline SVG: readable without JavaScript.

The SVG has no viewBox: bars are placed in percentages of the width and in
pixels of a fixed height, so on a phone the bars narrow while the text keeps
its size. The chart is an image with a title and a description (the total
and the busiest period) for screen readers; each bar carries its own
``<title>`` (a tooltip on hover), and the page prints the same numbers in a
table under it.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext

HEIGHT = 200  # px, the whole drawing
TOP = 10  # room for the top tick's label
BOTTOM = 24  # room for the x labels
GUTTER = 13  # percent of the width kept on the left for the value labels
MAX_LABELS = 8


@dataclass(frozen=True, slots=True)
class Point:
    short: str  # under the bar: "3 Mar"
    long: str  # in the tooltip and the table: "Monday 3 March 2025"
    value: int


def nice_step(maximum: int, ticks: int = 4) -> int:
    """A round step (1, 2, 2.5 or 5 times a power of ten) that covers ``maximum`` in ``ticks``."""
    if maximum <= 0:
        return 1
    raw = maximum / ticks
    power = 10 ** math.floor(math.log10(raw))
    for factor in (1, 2, 2.5, 5, 10):
        step = factor * power
        if step >= raw and step == int(step):
            return int(step)
    return int(10 * power)


def _pct(value: float) -> str:
    return f"{value:.3f}%"


def bar_chart(
    *,
    chart_id: str,
    title: str,
    points: Sequence[Point],
    fmt: Callable[[int], str],
    tick_fmt: Callable[[int], str] | None = None,
) -> SafeString:
    """``fmt`` writes a value in full (tooltips, description); ``tick_fmt`` briefly (the axis)."""
    tick_fmt = tick_fmt or fmt
    count = len(points)
    top_value = max((p.value for p in points), default=0)
    step = nice_step(top_value)
    ceiling = max(step * math.ceil(top_value / step), step)
    plot = HEIGHT - TOP - BOTTOM
    total = sum(p.value for p in points)
    busiest = max(points, key=lambda p: p.value) if points and top_value > 0 else None
    description = gettext("Total %(total)s.") % {"total": fmt(total)} + (
        " "
        + gettext("Highest: %(value)s (%(when)s).")
        % {"value": fmt(busiest.value), "when": busiest.long}
        if busiest is not None
        else ""
    )
    parts = [
        f'<svg class="chart" id="{escape(chart_id)}" width="100%" height="{HEIGHT}" '
        f'role="img" aria-labelledby="{escape(chart_id)}-title {escape(chart_id)}-desc" '
        f'xmlns="http://www.w3.org/2000/svg">',
        f'<title id="{escape(chart_id)}-title">{escape(title)}</title>',
        f'<desc id="{escape(chart_id)}-desc">{escape(description)}</desc>',
    ]
    # The values of the grid lines, right-aligned in the left gutter.
    for tick in range(0, ceiling + 1, step):
        y = TOP + plot - plot * tick / ceiling
        parts.append(
            f'<text class="tick" x="{GUTTER - 1.5}%" y="{y + 4:.1f}" text-anchor="end" '
            f'aria-hidden="true">{escape(tick_fmt(tick))}</text>'
        )
    # The plot: a nested drawing, so that its percentages run over the bars' width only.
    parts.append(
        f'<svg x="{GUTTER}%" width="{100 - GUTTER}%" height="{HEIGHT}" overflow="visible">'
    )
    for tick in range(0, ceiling + 1, step):
        y = TOP + plot - plot * tick / ceiling
        parts.append(f'<line class="grid" x1="0" x2="100%" y1="{y:.1f}" y2="{y:.1f}"/>')
    if count:
        slot = 100 / count
        gap = slot * 0.2 if count <= 120 else 0
        label_every = max(1, math.ceil(count / MAX_LABELS))
        for index, point in enumerate(points):
            height = plot * point.value / ceiling
            x = index * slot
            bar_y = TOP + plot - height
            parts.append(
                f'<rect class="bar" x="{_pct(x + gap / 2)}" y="{bar_y:.1f}" '
                f'width="{_pct(slot - gap)}" height="{max(height, 0):.1f}">'
                f"<title>{escape(point.long)}: {escape(fmt(point.value))}</title></rect>"
            )
            if index % label_every == 0:
                anchor = "start" if index == 0 else "middle"
                label_x = x if index == 0 else x + slot / 2
                minor = " minor" if (index // label_every) % 2 else ""
                parts.append(
                    f'<text class="label{minor}" x="{_pct(label_x)}" y="{HEIGHT - 6}" '
                    f'text-anchor="{anchor}" aria-hidden="true">{escape(point.short)}</text>'
                )
    if not total:
        empty = escape(gettext("Nothing in this period yet"))
        parts.append(
            f'<text class="empty" x="50%" y="{TOP + plot / 2:.1f}" text-anchor="middle">'
            f"{empty}</text>"
        )
    parts.append("</svg></svg>")
    # Every piece of text above went through escape().
    return mark_safe("".join(parts))
