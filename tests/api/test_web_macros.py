"""The shared template macros render what pages rely on (api/templates/macros/)."""

from __future__ import annotations

from datetime import UTC, datetime

from api.web.templating import environment


def render(source: str, **context: object) -> str:
    return environment().from_string(source).render(**context)


ROWS = [("6 Oct", 92), ("13 Oct", None), ("20 Oct", 100)]


def test_a_bar_chart_has_its_data_table_beside_it() -> None:
    html = render('{% from "macros/charts.html" import bar_chart %}'
                  '{{ bar_chart("sla", "Replies within the deadline", rows, unit="%", max_value=100) }}', rows=ROWS)
    assert html.count("<rect") == 2  # no bar for a week with no figure
    assert 'role="img"' in html and 'aria-labelledby="sla-title"' in html
    assert "<caption" in html and "Replies within the deadline</caption>" in html
    assert ">92%<" in html and ">–<" in html and ">100%<" in html
    assert "style=" not in html  # the CSP allows no inline style


def test_a_line_chart_leaves_a_gap_where_there_is_no_figure() -> None:
    html = render('{% from "macros/charts.html" import line_chart %}{{ line_chart("t", "Trend", rows) }}', rows=ROWS)
    assert html.count("<circle") == 2 and "<polyline" in html and html.count('scope="row"') == 3


def test_a_timeline_lists_its_items_with_times() -> None:
    at = datetime(2026, 11, 24, 9, 10, tzinfo=UTC)
    html = render('{% from "macros/timeline.html" import timeline %}{{ timeline(items) }}',
                  items=[{"title": "Escalated to police", "byline": "by R. Patel (SLT)", "at": at,
                          "description": "Crime reference 12/34567/26"}])
    assert "Escalated to police" in html and 'datetime="2026-11-24T09:10:00+00:00"' in html
    assert "24 November 2026 at 9:10am" in html and "by R. Patel (SLT)" in html


def test_tags_word_each_state() -> None:
    html = render('{% from "macros/tags.html" import sla_tag, status_tag %}'
                  '{{ sla_tag("breached") }}{{ sla_tag("due_soon") }}{{ status_tag("submitted") }}')
    assert "Overdue" in html and "govuk-tag--red" in html and "Due soon" in html and "Awaiting decision" in html
