"""Small server-rendered SVG charts: columns over weeks, horizontal bars (one or two series), a funnel.

Each chart is an inline ``<svg role="img">`` named by its ``<title>`` and described by a ``<desc>`` that
says every number, so a screen reader gets the data even without the table the page puts next to it.
No script, no stylesheet: presentation attributes only (the Content-Security-Policy forbids inline
styles). The viewBox is phone-wide (360 units) and the element is ``width="100%"``, so a chart scales to
its column at any width and stays legible at 360 px. Every text is escaped here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

WIDTH = 360
INK, MUTED, AXIS = "#1b1f24", "#545d68", "#8a949e"
# Dark enough against white for graphics (WCAG 1.4.11, 3:1); the values are always written as text too.
SERIES_COLOURS = ("#1d4ed8", "#166534")
LABEL_CHARS = 52  # a longer row label is cut with an ellipsis in the picture (the table has it whole)


def number(value: float | int | None, suffix: str = "") -> str:
    """12345 -> "12,345"; 41.25 -> "41.3"; None -> "–" (nothing to show)."""
    if value is None:
        return "–"
    if isinstance(value, float) and not value.is_integer():
        return f"{value:,.1f}{suffix}"
    return f"{int(value):,}{suffix}"


def _short(text: str) -> str:
    return text if len(text) <= LABEL_CHARS else text[: LABEL_CHARS - 1].rstrip() + "…"


def _open(chart_id: str, title: str, desc: str, height: int) -> list[str]:
    return [f'<svg class="chart" role="img" aria-labelledby="{chart_id}-title {chart_id}-desc" '
            f'viewBox="0 0 {WIDTH} {height}" width="100%" preserveAspectRatio="xMinYMin meet" '
            f'xmlns="http://www.w3.org/2000/svg">',
            f'<title id="{chart_id}-title">{escape(title)}</title>',
            f'<desc id="{chart_id}-desc">{escape(desc)}</desc>']


def _text(x: float, y: float, content: str, *, size: int = 12, fill: str = INK, anchor: str = "start",
          weight: str | None = None) -> str:
    bold = f' font-weight="{weight}"' if weight else ""
    return (f'<text x="{x:.1f}" y="{y:.1f}" font-size="{size}" fill="{fill}" text-anchor="{anchor}"{bold}>'
            f'{escape(content)}</text>')


def column_chart(chart_id: str, title: str, columns: Sequence[tuple[str, int]], *, what: str,
                 label_every: int = 3, axis_labels: Sequence[str] | None = None) -> Markup:
    """Counts per period as columns, oldest first: ``columns`` are (label, count), the labels as the
    description says them. Every count is written above its column; every ``label_every``-th label
    (counting back from the last) below the axis, from ``axis_labels`` when given (shorter ones)."""
    height, base, tallest = 176, 138, 104
    top = max((count for _label, count in columns), default=0) or 1
    step = WIDTH / max(len(columns), 1)
    desc = "; ".join(f"{label}: {count:,} {what}" for label, count in columns) + "."
    parts = _open(chart_id, title, desc, height)
    parts.append(f'<line x1="0" y1="{base + 0.5}" x2="{WIDTH}" y2="{base + 0.5}" stroke="{AXIS}" stroke-width="1"/>')
    last = len(columns) - 1
    for n, (label, count) in enumerate(columns):
        x = n * step
        bar = round(count * tallest / top, 1)
        if count:
            parts.append(f'<rect x="{x + step * 0.15:.1f}" y="{base - bar:.1f}" width="{step * 0.7:.1f}" '
                         f'height="{bar:.1f}" fill="{SERIES_COLOURS[0]}"/>')
        parts.append(_text(x + step / 2, base - bar - 4, number(count), size=11, anchor="middle"))
        if (last - n) % label_every == 0:
            parts.append(_text(x + step / 2, base + 16, axis_labels[n] if axis_labels else label, size=10,
                               fill=MUTED, anchor="middle"))
    parts.append("</svg>")
    return Markup("".join(parts))


def week_chart(weeks: Sequence, chart_id: str, title: str, what: str, attribute: str = "count") -> Markup:
    """Counts per week as columns (``weeks``: lms/reports/weeks.py WeekCount, or objects with ``label``,
    ``current`` and ``attribute``). A template global: ``{{ week_chart(board.weeks, 'graded-chart', ...) }}``.
    The description says "Week of 30 Nov: 3 graded; ...; This week so far: 1 graded."."""
    columns = [("This week so far" if w.current else f"Week of {w.label}", getattr(w, attribute)) for w in weeks]
    labels = [w.label for w in weeks]
    return column_chart(chart_id, title, columns, what=what, label_every=1 if len(weeks) <= 8 else 3,
                        axis_labels=labels)


@dataclass(frozen=True)
class Bar:
    """One row of a bar chart: its label, a value per series (None: nothing to show) and how each is written."""

    label: str
    values: tuple[float | None, ...]
    texts: tuple[str, ...]


def bar_chart(chart_id: str, title: str, rows: Sequence[Bar], *, series: Sequence[str] = (),
              max_value: float | None = None, desc: str | None = None) -> Markup:
    """Horizontal bars, one group per row; with two ``series`` names, a legend names the colours (the
    value texts say the numbers either way). ``max_value`` fixes the scale (100 for percentages)."""
    count = max(len(series), 1)
    legend = 22 if len(series) > 1 else 0
    row_height = 20 + 16 * count + 6
    height = legend + row_height * len(rows) + 4
    longest = WIDTH - 84
    top = max_value or max((v for row in rows for v in row.values if v is not None), default=0) or 1
    if desc is None:
        desc = "; ".join(row.label + ": " + ", ".join(f"{name} {text}" if name else text
                                                    for name, text in zip(series or ("",), row.texts, strict=False))
                         for row in rows) + "."
    parts = _open(chart_id, title, desc, max(height, 24))
    if legend:
        x = 0.0
        for n, name in enumerate(series):
            parts.append(f'<rect x="{x:.1f}" y="4" width="12" height="12" fill="{SERIES_COLOURS[n % 2]}"/>')
            parts.append(_text(x + 17, 14.5, name, size=12))
            x += 17 + 7 * len(name) + 18
    for n, row in enumerate(rows):
        y = legend + n * row_height
        parts.append(_text(0, y + 14, _short(row.label), size=12))
        for s, (value, text) in enumerate(zip(row.values, row.texts, strict=True)):
            bar_y = y + 20 + s * 16
            length = 0.0 if value is None else round(max(value, 0) * longest / top, 1)
            parts.append(f'<rect x="0" y="{bar_y}" width="{longest}" height="12" fill="#eef1f4"/>')
            if length:
                parts.append(f'<rect x="0" y="{bar_y}" width="{length}" height="12" '
                             f'fill="{SERIES_COLOURS[s % 2]}"/>')
            parts.append(_text(longest + 6, bar_y + 10.5, text, size=11))
    parts.append("</svg>")
    return Markup("".join(parts))


def funnel_chart(chart_id: str, title: str, steps: Sequence[tuple[str, int]]) -> Markup:
    """How many remain at each step, as centred bars scaled to the first step (100%)."""
    first = steps[0][1] if steps else 0
    row_height = 40
    height = row_height * len(steps) + 4
    desc = "; ".join(f"{label}: {count:,} ({number(_pct(count, first), '%')})" for label, count in steps) + "."
    parts = _open(chart_id, title, desc, max(height, 24))
    for n, (label, count) in enumerate(steps):
        y = n * row_height
        share = _pct(count, first)
        parts.append(_text(0, y + 14, _short(label), size=12))
        parts.append(_text(WIDTH, y + 14, f"{count:,} ({number(share, '%')})", size=12, anchor="end",
                           weight="600"))
        width = round((share or 0) * WIDTH / 100, 1)
        parts.append(f'<rect x="0" y="{y + 20}" width="{WIDTH}" height="14" fill="#eef1f4"/>')
        if width:
            parts.append(f'<rect x="{(WIDTH - width) / 2:.1f}" y="{y + 20}" width="{width}" height="14" '
                         f'fill="{SERIES_COLOURS[0]}"/>')
    parts.append("</svg>")
    return Markup("".join(parts))


def _pct(part: int, whole: int) -> float | None:
    return round(100 * part / whole, 1) if whole else None
