"""KPIs, goals, breakdowns and writers, checked against figures worked out by hand (tests/report_fixtures.py)."""

from __future__ import annotations

import json
import re
from datetime import date, datetime
from pathlib import Path

import pandas as pd
import pytest

from mentorctl.programme import load_programme
from mentorctl.report import KPI_NAMES, Period, build_report, parse_period
from mentorctl.report.kpis import breakdown
from mentorctl.report.writers import render_html, render_markdown, write_report
from report_fixtures import EVENTS, HEADER, make_programme

NOW = datetime(2026, 3, 10, 12, 0)
PERIOD = Period(date(2026, 2, 2), date(2026, 3, 1))

# Worked out by hand from report_fixtures.EVENTS, over 2026-02-02..2026-03-01 (the 2026-03-05 session is
# after the period). Population: 6 mentors + 6 mentees = 12.
HAND_KPIS = {
    "relationships_formed": 3,            # three rows in matches.csv
    "active_participants": 6,             # events on/after 2026-02-23: m1,e1 (goal), m3,e3, m4, e1, e2
    "participation_rate": round(7 / 12, 3),  # m1,m2,m3,e1,e2,e3 matched + m4 attended training
    "mentoring_hours": 3.8,               # (60 + 45 + 90 + 30) / 60 = 3.75 → 3.8
    "sessions_held": 4,
    "messages_sent": 1,
    "assignments_created": 1,
    "assignments_completed": 1,
    "goals_set": 2,
    "goals_achieved": 1,
    "goal_completion_rate": 0.5,
    "median_days_to_goal": 20.0,          # g1 set 02-04 09:00, achieved 02-24 09:00
    "satisfaction_mean": 4.5,             # survey_response ratings 4 and 5 (no survey export)
    "nps": None,                          # needs a survey export
    "retention_rate": None,               # needs an HR extract
    "promotion_rate": None,
}


def _report(folder: Path, **kwargs):
    return build_report(load_programme(folder), period=kwargs.pop("period", PERIOD), now=NOW, **kwargs)


def test_every_kpi_matches_the_hand_worked_figures(tmp_path):
    report = _report(make_programme(tmp_path / "p"))
    assert set(report.kpis) == set(KPI_NAMES)
    assert report.kpis == HAND_KPIS
    assert report.population == 12
    assert report.participants == 7
    assert report.data_quality.outside_period == 1


def test_survey_and_hr_extract_kpis(tmp_path):
    report = _report(make_programme(tmp_path / "p", survey=True, hr=True))
    assert report.kpis["satisfaction_mean"] == 4.25         # (5 + 4 + 3 + 5) / 4
    assert report.kpis["nps"] == 25.0                       # promoters 10, 9; detractor 6; of 4
    # participants in the HR extract: m1 m2 m3 m4 e1 e2 e3 (7), m2 left on 02-20, m1 promoted on 02-15
    # others employed at the start: e4 e5 e6 x2 (x1 left before the period): e4 left, e5 promoted
    assert report.kpis["retention_rate"] == {"participants": round(6 / 7, 3), "participants_n": 7,
                                             "non_participants": 0.75, "non_participants_n": 4}
    assert report.kpis["promotion_rate"]["participants"] == round(1 / 7, 3)
    assert report.kpis["promotion_rate"]["non_participants"] == 0.25


def test_goals_value_target_met_and_trend(tmp_path):
    report = _report(make_programme(tmp_path / "p", hr=True))
    goals = {g.name: g for g in report.goals}
    hours = goals["Hours delivered"]
    assert (hours.value, hours.target, hours.met) == (3.8, 3.0, True)
    # weekly checkpoints for a 4-week period; hours to date: 60, 105, 195, 225 minutes
    assert [d for d, _ in hours.trend] == [date(2026, 2, 8), date(2026, 2, 15), date(2026, 2, 22), date(2026, 3, 1)]
    assert [v for _, v in hours.trend] == pytest.approx([1.0, 1.75, 3.25, 3.75], abs=0.051)
    assert hours.change == "improving"
    assert goals["Goals reached"].met is False
    assert goals["People stay"].value == round(6 / 7, 3)
    assert goals["People stay"].met is False
    assert report.goals_met == (1, 3)


def test_small_groups_are_suppressed_in_breakdowns(tmp_path):
    report = _report(make_programme(tmp_path / "p", survey=True))
    table = report.breakdowns["department"].set_index("group")
    # Sales: m1-m5 + e1-e3 = 8 people; IT (e4-e6) = 3 and Legal (m6) = 1 are under 5
    assert table.loc["Sales", "people"] == 8
    assert table.loc["Sales", "participants"] == 7
    assert table.loc["Sales", "participation_rate"] == 0.875
    assert table.loc["Sales", "active"] == 6
    assert table.loc["Sales", "sessions_per_participant"] == 1.1   # 8 person-sessions / 7
    assert table.loc["Sales", "satisfaction_mean"] == "<5"         # only 4 respondents
    assert "IT" not in table.index and "Legal" not in table.index          # small groups are never named
    assert set(table.loc["other groups (each under 5)"].tolist()) == {"<5"}   # IT + Legal pooled: 4 people


def test_a_lone_small_group_also_hides_the_next_smallest():
    metrics = pd.DataFrame({
        "participant": [True] * 20, "active": [True] * 20, "sessions": [1.0] * 20, "hours": [1.0] * 20,
        "goals_set": [0.0] * 20, "goals_achieved": [0.0] * 20, "satisfaction": [4.0] * 20,
    }, index=[f"p{i}" for i in range(20)])
    values = pd.Series(["A"] * 10 + ["B"] * 8 + ["C"] * 2, index=metrics.index)
    table, hidden = breakdown(metrics, values, 5)
    people = dict(zip(table["group"], table["people"], strict=True))
    # C (2 people) is pooled and hidden; B is hidden too, else total - A - B would reveal C
    assert people == {"A": 10, "B": "<5", "other groups (each under 5)": "<5"}
    assert hidden > 0


def test_bad_rows_are_counted_with_file_and_row(tmp_path):
    events = [*EVENTS[:3], ("31/02/2026", "session", "m1", "e1", "60", "", ""),
              ("2026-02-06 10:00", "coffee", "m1", "e1", "", "", ""),
              ("2026-02-06 11:00", "session", "zz9", "e1", "60", "", ""),
              ("2026-02-06 12:00", "session", "m1", "e1", "lots", "", "")]
    report = _report(make_programme(tmp_path / "p", events=events))
    problems = report.data_quality.problems
    found = {(r.file, r.row, r.column) for r in problems.itertuples()}
    assert found == {("activity.csv", 5, "timestamp"), ("activity.csv", 6, "event"),
                     ("activity.csv", 7, "mentor_id"), ("activity.csv", 8, "duration_minutes")}
    assert report.data_quality.bad_rows == 4
    assert report.kpis["sessions_held"] == 1        # the good 02-03 session; every bad one was left out
    assert report.kpis["goals_set"] == 1
    markdown = render_markdown(report)
    assert "activity.csv, column timestamp: 1 row(s)" in markdown and "(rows 5; e.g. '31/02/2026')" in markdown


def test_an_empty_log_gives_a_report_that_says_so(tmp_path):
    folder = make_programme(tmp_path / "p", events=[])
    report = _report(folder)
    assert report.is_empty
    assert report.kpis["sessions_held"] == 0 and report.kpis["mentoring_hours"] == 0
    assert report.kpis["relationships_formed"] == 3
    assert report.kpis["median_days_to_goal"] is None
    written = write_report(report, tmp_path / "out", programme=load_programme(folder))
    assert "No activity was recorded" in written["html"].read_text(encoding="utf-8")
    assert "No activity was recorded" in written["md"].read_text(encoding="utf-8")


def test_no_activity_configured_is_a_note_not_a_crash(tmp_path):
    folder = make_programme(tmp_path / "p", activity_yaml="")
    report = _report(folder)
    assert report.is_empty
    assert any("No activity log is configured" in note for note in report.data_quality.notes)


def test_html_is_self_contained_and_shows_the_values(tmp_path):
    folder = make_programme(tmp_path / "p", survey=True, hr=True)
    report = _report(folder)
    html = render_html(report, load_programme(folder))
    assert "Pilot: programme report" in html
    assert "1 of 3" in html                                  # goals met headline
    for text in ("58.3%", "3.8", "85.7%", "+25", "4.25", "&lt;5", "Activity per week", "<svg"):
        assert text in html, text
    assert not re.search(r"(?i)https?://|<script|<link|\bsrc\s*=|@import|url\(", html)
    assert "@media print" in html
    import xml.etree.ElementTree as ElementTree

    charts = re.findall(r"<svg.*?</svg>", html, re.S)
    assert len(charts) >= 5
    for chart in charts:
        ElementTree.fromstring(chart)        # every inline chart is well-formed markup


def test_writers_produce_all_four_files(tmp_path):
    folder = make_programme(tmp_path / "p", hr=True)
    report = _report(folder)
    written = write_report(report, tmp_path / "out", programme=load_programme(folder))
    assert sorted(p.name for p in written.values()) == ["report.html", "report.json", "report.md", "report.xlsx"]
    data = json.loads(written["json"].read_text(encoding="utf-8"))
    assert list(data["kpis"]) == list(KPI_NAMES)
    assert data["kpis"]["sessions_held"] == 4
    assert data["goals_met"] == {"met": 1, "judged": 3, "total": 3}

    from openpyxl import load_workbook

    book = load_workbook(written["xlsx"])
    assert {"KPIs", "Goals", "Weekly", "Charts", "By department", "Data quality", "Rejected rows",
            "Data"} <= set(book.sheetnames)
    assert len(book["Charts"]._charts) >= 4
    rows = list(book["Data"].iter_rows(values_only=True))
    assert rows[0][:4] == ("timestamp", "event", "mentor_id", "mentee_id")
    assert len(rows) == 1 + 13                                  # 13 events in the period
    assert rows[1][:5] == (datetime(2026, 2, 3, 10, 0), "session", "m1", "e1", 60)
    kpis = {r[1]: r[3] for r in book["KPIs"].iter_rows(min_row=2, values_only=True)}
    assert kpis["mentoring_hours"] == 3.8


def test_formula_like_text_is_neutralised_in_the_data_sheet(tmp_path):
    events = [("2026-02-03 10:00", "session", "m1", "e1", "60", "", "=HYPERLINK(\"x\")")]
    folder = make_programme(tmp_path / "p", events=events)
    written = write_report(_report(folder), tmp_path / "out", formats=("xlsx",))
    from openpyxl import load_workbook

    row = list(load_workbook(written["xlsx"])["Data"].iter_rows(min_row=2, values_only=True))[0]
    assert row[6] == "'=HYPERLINK(\"x\")"


def test_compare_puts_two_cohorts_side_by_side(tmp_path):
    this = make_programme(tmp_path / "this")
    other = make_programme(tmp_path / "other", events=[EVENTS[0]])
    report = _report(this, compare=other)
    assert report.compare is not None
    assert report.compare.kpis["sessions_held"] == 1
    assert report.as_dict()["compare"]["kpis"]["sessions_held"] == 1
    assert "| Engagement | Sessions held (`sessions_held`) | 4 | 1 |" in render_markdown(report)


def test_parse_period():
    default = Period(date(2026, 1, 1), date(2026, 6, 30))
    assert parse_period(None, default) == default
    assert parse_period("2026-02-01..2026-02-28", default) == Period(date(2026, 2, 1), date(2026, 2, 28))
    assert parse_period("..2026-03-31", default) == Period(date(2026, 1, 1), date(2026, 3, 31))
    with pytest.raises(ValueError, match="START..END"):
        parse_period("2026-02-01", default)
    with pytest.raises(ValueError, match="before the start"):
        parse_period("2026-03-01..2026-02-01", default)


def test_period_restricts_the_window(tmp_path):
    report = _report(make_programme(tmp_path / "p"), period=Period(date(2026, 2, 9), date(2026, 2, 15)))
    assert report.kpis["sessions_held"] == 1            # only the 02-10 session
    assert report.kpis["mentoring_hours"] == 0.8        # 45 minutes


def test_header_of_the_fixture_is_the_documented_schema():
    from mentorctl.activity import ACTIVITY_COLUMNS

    assert tuple(HEADER) == ACTIVITY_COLUMNS


def test_control_characters_never_reach_xlsx_html_or_markdown(tmp_path):
    from openpyxl import load_workbook
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    events = [("2026-02-03 10:00", "session", "m1", "e1", "60", "", "g\x0b1\x1f"),
              ("2026-02-03 11:00", "session", "m1", "e1", "60", "", "plain")]
    folder = make_programme(tmp_path / "p", events=events)
    with (folder / "activity.csv").open("ab") as handle:
        handle.write(b"garbage\x00\x01\n2026-02-04 10:00,co\x0bffee,m1,e1,,,\n")
    report = _report(folder)
    assert report.data_quality.bad_rows == 2
    assert {r for r in report.data_quality.problems["row"]} == {4, 5}
    written = write_report(report, tmp_path / "out", programme=load_programme(folder))
    book = load_workbook(written["xlsx"])                     # would not load with an illegal character
    items = [row[6] for row in book["Data"].iter_rows(min_row=2, values_only=True)]
    assert sorted(items) == ["g1", "plain"]
    rejected = [row[3] for row in book["Rejected rows"].iter_rows(min_row=2, values_only=True)]
    assert "garbage" in rejected and "coffee" in rejected
    for name in ("html", "md"):
        assert not ILLEGAL_CHARACTERS_RE.search(written[name].read_text(encoding="utf-8")), name


def test_implausible_duration_is_rejected_not_counted(tmp_path):
    events = [*EVENTS, ("2026-02-06 10:00", "session", "m1", "e1", "1000000000", "", "")]
    report = _report(make_programme(tmp_path / "p", events=events))
    assert report.kpis["mentoring_hours"] == 3.8 and report.kpis["sessions_held"] == 4
    problem = report.data_quality.summary()[0]
    assert (problem["column"], problem["rows"], problem["example"]) == ("duration_minutes", [16], "1000000000")


def test_a_period_before_the_programme_counts_nothing_and_says_so(tmp_path):
    folder = make_programme(tmp_path / "p", hr=True)
    report = _report(folder, period=Period(date(2020, 1, 1), date(2020, 2, 1)))
    assert report.kpis["relationships_formed"] == 0
    assert report.kpis["participation_rate"] == 0.0 and report.participants == 0
    assert report.kpis["retention_rate"]["participants"] is None     # nobody took part
    goals = {g.name: g for g in report.goals}
    assert goals["People stay"].met is None and goals["Hours delivered"].met is False
    assert report.warnings and "lies entirely outside the programme's dates (2026-02-02..2026-03-01)" in \
        report.warnings[0]
    assert report.warnings[0] in report.data_quality.notes
    html, markdown = render_html(report, load_programme(folder)), render_markdown(report)
    assert '<p class="notice"><strong>Warning:</strong> The period 2020-01-01..2020-02-01 lies' in html
    assert "> **Warning:** The period 2020-01-01..2020-02-01 lies" in markdown
    assert report.as_dict()["warnings"] == report.warnings
    assert _report(folder).warnings == []


def test_relationships_are_formed_on_their_first_event_or_the_start_date(tmp_path):
    folder = make_programme(tmp_path / "p")
    with (folder / "out" / "matches.csv").open("a", encoding="utf-8") as handle:
        handle.write("e5,m5,1\n")                              # never logged anything: formed on 2026-02-02
    assert _report(folder).kpis["relationships_formed"] == 4
    # from 02-10: m1-e1 (first event 02-03), m2-e2 (02-05) and m5-e5 (start) were formed before; m3-e3 on 02-25
    later = _report(folder, period=Period(date(2026, 2, 10), date(2026, 3, 1)))
    assert later.kpis["relationships_formed"] == 1
    # but everyone matched by the end of the period took part: 8 matched + m4 (training)
    assert later.kpis["participation_rate"] == round(9 / 12, 3)
    early = _report(folder, period=Period(date(2026, 2, 2), date(2026, 2, 8)))
    assert early.kpis["relationships_formed"] == 3                   # m3-e3 only meets on 02-25
    assert early.kpis["participation_rate"] == round(6 / 12, 3)


@pytest.mark.parametrize(("values", "direction", "expected"), [
    ([0.0, 0.1, 0.3, 0.455, 0.609, 0.612, 0.612], "at_least", "improving"),    # flat at the very end
    ([1.0, 0.989, 0.985, 0.978, 0.97, 0.963, 0.963], "at_least", "worsening"),
    ([1.0, 0.989, 0.985, 0.978, 0.97, 0.963, 0.963], "at_most", "improving"),
    ([0.954] * 7, "at_least", "steady"),
    ([0.95, 0.951, 0.949, 0.952, 0.95, 0.951, 0.953], "at_least", "steady"),    # within half a point
    ([None, None, None, None, None, None, 0.5], "at_least", None),
])
def test_trend_compares_with_a_quarter_of_the_period_earlier(values, direction, expected):
    from mentorctl.report.kpis import checkpoints, trend_change

    period = Period(date(2027, 1, 11), date(2027, 7, 11))
    days = checkpoints(period)
    assert len(days) == len(values)
    assert trend_change(list(zip(days, values, strict=True)), direction, period, "goal_completion_rate") == expected


def test_trend_of_a_count_uses_a_relative_tolerance():
    from mentorctl.report.kpis import trend_change

    period = Period(date(2026, 2, 2), date(2026, 3, 1))
    points = [(date(2026, 2, 8), 1000.0), (date(2026, 2, 15), 1004.0), (date(2026, 2, 22), 1005.0),
              (date(2026, 3, 1), 1009.0)]
    assert trend_change(points, "at_least", period, "sessions_held") == "steady"      # +0.5% since 02-22
    points[-1] = (date(2026, 3, 1), 1100.0)
    assert trend_change(points, "at_least", period, "sessions_held") == "improving"


def test_retention_cards_show_the_others_as_a_sub_line_and_charts_are_legible(tmp_path):
    from mentorctl.report import charts

    folder = make_programme(tmp_path / "p", hr=True)
    html = render_html(_report(folder), load_programme(folder))
    assert re.search(r'<div class="value">85\.7%</div>\s*<div class="sub">others 75\.0%</div>', html)
    assert "85.7% (others" not in html
    ticks = re.findall(r'<text[^>]*class="(?:tick|legend)"[^>]*>', html)
    assert ticks and all(f'font-size="{charts.FONT_SIZE}"' in t for t in ticks)
    assert not re.search(r"svg \.tick[^}]*font-size", html)          # no CSS shrinking them again
    assert f"minmax({charts.MIN_DISPLAY_WIDTH}px" in html
    # the smallest a chart is shown; text then renders at FONT_SIZE * that / WIDTH CSS pixels
    assert charts.FONT_SIZE * charts.MIN_DISPLAY_WIDTH / charts.WIDTH >= 11


def test_out_must_be_a_folder(tmp_path):
    from mentorctl.errors import OutputError

    folder = make_programme(tmp_path / "p")
    target = tmp_path / "a-file"
    target.write_text("keep me", encoding="utf-8")
    for out in (target, target / "sub"):
        with pytest.raises(OutputError, match="not a folder"):
            write_report(_report(folder), out)
    assert target.read_text(encoding="utf-8") == "keep me"
