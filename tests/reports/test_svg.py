"""The dashboards' SVG charts: every text escaped, every number in the description, no script."""

from __future__ import annotations

from datetime import date

from lms.reports import svg
from lms.reports.weeks import WeekCount


def test_bar_chart_escapes_labels_and_says_every_value():
    bar = svg.Bar("1.1 <script>x</script>", (50.0, None), ("50%", "no attempts"))
    chart = str(svg.bar_chart("q", "Quiz <figures>", [bar], series=("Facility", "Pass rate"), max_value=100))
    assert "<script>" not in chart and "&lt;script&gt;" in chart and "Quiz &lt;figures&gt;" in chart
    assert "Facility 50%, Pass rate no attempts" in chart
    assert chart.startswith('<svg class="chart" role="img" aria-labelledby="q-title q-desc"')


def test_week_chart_describes_each_week_and_scales_to_the_tallest():
    weeks = [WeekCount(date(2026, 11, 23), 2), WeekCount(date(2026, 11, 30), 0), WeekCount(date(2026, 12, 7), 4, True)]
    chart = str(svg.week_chart(weeks, "w", "Per week", "graded"))
    assert "Week of 23 Nov: 2 graded; Week of 30 Nov: 0 graded; This week so far: 4 graded." in chart
    heights = [float(part.split('height="')[1].split('"')[0]) for part in chart.split("<rect")[1:]]
    assert heights == [52.0, 104.0]  # no column for zero; the tallest is full height


def test_funnel_chart_shares_of_the_first_step():
    chart = str(svg.funnel_chart("f", "Funnel", [("Enrolled", 8), ("Module 1", 2)]))
    assert "Enrolled: 8 (100%); Module 1: 2 (25%)." in chart
    assert str(svg.funnel_chart("e", "Empty", [("Enrolled", 0)])).count("<rect") == 1  # a track, no bar
