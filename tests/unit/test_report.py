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
from mentorctl.report.kpis import SUPPRESSED, SUPPRESSED_COMPLEMENT, breakdown
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
    assert report.kpis["retention_rate"].as_dict() == {"participants": round(6 / 7, 3), "participants_n": 7,
                                                       "non_participants": 0.75, "non_participants_n": 4}
    assert report.kpis["promotion_rate"].participants == round(1 / 7, 3)
    assert report.kpis["promotion_rate"].non_participants == 0.25
    assert report.as_dict()["kpis"]["retention_rate"] == report.kpis["retention_rate"].as_dict()   # report.json


def test_goals_value_target_met_and_trend(tmp_path):
    report = _report(make_programme(tmp_path / "p", hr=True))
    goals = {g.name: g for g in report.goals}
    hours = goals["Hours delivered"]
    assert (hours.value, hours.target, hours.met) == (3.8, 3.0, True)
    # weekly checkpoints for a 4-week period; hours to date: 60, 105, 195, 225 minutes
    assert [d for d, _ in hours.trend] == [date(2026, 2, 8), date(2026, 2, 15), date(2026, 2, 22), date(2026, 3, 1)]
    assert [v for _, v in hours.trend] == pytest.approx([1.0, 1.75, 3.25, 3.75], abs=0.051)
    assert hours.pace == "met"
    assert goals["Goals reached"].met is False
    assert goals["Goals reached"].pace == "missed"            # the period ends with the programme
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
    assert table.loc["Sales", "satisfaction_mean"] == SUPPRESSED   # only 4 respondents
    assert "IT" not in table.index and "Legal" not in table.index          # small groups are never named
    assert set(table.loc["other groups (each under 5)"].tolist()) == {SUPPRESSED}   # IT + Legal pooled: 4 people


def test_a_lone_small_group_also_hides_the_next_smallest():
    metrics = pd.DataFrame({
        "participant": [True] * 20, "active": [True] * 20, "sessions": [1.0] * 20, "hours": [1.0] * 20,
        "goals_set": [0.0] * 20, "goals_achieved": [0.0] * 20, "satisfaction": [4.0] * 20,
    }, index=[f"p{i}" for i in range(20)])
    values = pd.Series(["A"] * 10 + ["B"] * 8 + ["C"] * 2, index=metrics.index)
    table, hidden = breakdown(metrics, values, 5)
    people = dict(zip(table["group"], table["people"], strict=True))
    # C (2 people) is pooled and hidden; B is hidden too (else total - A - B would reveal C), and marked as
    # hidden only to protect C: it has 8 people
    assert people == {"A": 10, "B": SUPPRESSED_COMPLEMENT, "other groups (each under 5)": SUPPRESSED}
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
    assert any("No activity log is configured" in note.text for note in report.data_quality.notes)


def test_html_is_self_contained_and_shows_the_values(tmp_path):
    folder = make_programme(tmp_path / "p", survey=True, hr=True)
    report = _report(folder)
    html = render_html(report, load_programme(folder))
    assert "Pilot: programme report" in html
    assert "1 of 3 goals met; missed: Goals reached; People stay." in html      # the verdict
    for text in ("58.3%", "3.8", "85.7%", "+25", "4.25", "hidden*", "Activity per week", "<svg"):
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
    kpis = {r[5]: r[2] for r in book["KPIs"].iter_rows(min_row=2, values_only=True)}   # key → value
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
    assert "| Engagement | Sessions held | 4 | 1 |" in render_markdown(report)


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
    assert sorted(items) == ["g 1", "plain"]  # cleaned like every table (tables.as_text): \x0b is a line break
    rejected = [row[3] for row in book["Rejected rows"].iter_rows(min_row=2, values_only=True)]
    assert "garbage" in rejected and "co ffee" in rejected
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
    assert report.kpis["retention_rate"].participants is None     # nobody took part
    goals = {g.name: g for g in report.goals}
    assert goals["People stay"].met is None and goals["Hours delivered"].met is False
    assert report.warnings and "lies entirely outside the programme's dates (2026-02-02..2026-03-01)" in \
        report.warnings[0]
    assert report.warnings[0] in report.data_quality.note_texts
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


def test_pace_judges_cumulative_goals_against_the_target_to_date():
    from mentorctl.report.kpis import pace

    assert pace("mentoring_hours", 400, 1000, "at_least", 0.5) == ("behind", 500.0)
    assert pace("mentoring_hours", 600, 1000, "at_least", 0.5) == ("on track", 500.0)
    assert pace("mentoring_hours", 1000, 1000, "at_least", 0.5) == ("met", 1000)
    assert pace("mentoring_hours", 900, 1000, "at_least", 1.0) == ("missed", 1000)
    # a rate is a level, not a sum: no pro-rating, and no "improving" from a cumulative count
    assert pace("participation_rate", 0.5, 0.9, "at_least", 0.5) == ("not met yet", 0.9)
    assert pace("nps", None, 30, "at_least", 0.5) == (None, None)


def test_running_programme_goals_are_on_track_or_behind_with_target_lines(tmp_path):
    folder = make_programme(tmp_path / "p")
    yaml_file = folder / "programme.yaml"
    yaml_file.write_text(yaml_file.read_text().replace("length_weeks: 4", "length_weeks: 8").replace(
        "target: 3}", "target: 6}"))
    report = _report(folder)           # 4 of 8 weeks: half the programme
    hours = next(g for g in report.goals if g.kpi == "mentoring_hours")
    assert report.elapsed == 0.5
    assert (hours.value, hours.expected, hours.pace) == (3.8, 3.0, "on track")
    assert report.verdict.startswith("1 of 3 goals met or on track; behind: Goals reached")
    html = render_html(report, load_programme(folder))
    assert "on track" in html and "improving" not in html and "steady" not in html
    hours_chart = re.search(r'<svg[^>]*aria-label="Mentoring hours to date".*?</svg>', html, re.S).group(0)
    assert 'class="target"' in hours_chart and "target pace" in hours_chart


def test_survey_kpis_have_no_trend_line(tmp_path):
    folder = make_programme(tmp_path / "p", survey=True)
    yaml_file = folder / "programme.yaml"
    yaml_file.write_text(yaml_file.read_text().replace(
        "goals:\n", "goals:\n  - {name: Happy, kpi: satisfaction_mean, target: 4}\n"))
    report = _report(folder)
    happy = next(g for g in report.goals if g.name == "Happy")
    assert happy.trend == [] and happy.pace == "met"
    assert "flat" not in render_markdown(report)


def test_participation_excludes_people_the_programme_excludes(tmp_path):
    folder = make_programme(tmp_path / "p")
    (folder / "mentors.csv").write_text("id,name,department,years\n" + "".join(
        f"{i},Mentor {i},{d},{1 if i == 'm6' else 5}\n" for i, d in
        [("m1", "Sales"), ("m2", "Sales"), ("m3", "Sales"), ("m4", "Sales"), ("m5", "Sales"), ("m6", "Legal")]))
    yaml_file = folder / "programme.yaml"
    yaml_file.write_text(yaml_file.read_text().replace(
        "design: {start_date: 2026-02-02, length_weeks: 4}",
        "design: {start_date: 2026-02-02, length_weeks: 4, eligibility: {mentors: [\"mentor.years >= 3\"]}}"))
    report = _report(folder)
    # m6 is excluded by design.eligibility: 7 of the 11 eligible took part (7/12 before)
    assert report.kpis["participation_rate"] == round(7 / 11, 3)
    assert (report.population, report.excluded) == (11, 1)
    assert "11 eligible people (1 more excluded" in render_html(report, load_programme(folder))


def test_goal_completion_counts_only_achievements_of_goals_set(tmp_path):
    events = [*EVENTS[:-1],
              ("2026-02-25 09:00", "goal_achieved", "m2", "e2", "", "", "g2"),     # g2 was set: counts
              ("2026-02-26 09:00", "goal_achieved", "m3", "e3", "", "", "g9"),     # never set
              ("2026-02-27 09:00", "goal_achieved", "m3", "e3", "", "", "g8")]     # never set
    report = _report(make_programme(tmp_path / "p", events=events))
    assert report.kpis["goals_set"] == 2 and report.kpis["goals_achieved"] == 4
    assert report.kpis["goal_completion_rate"] == 1.0                 # 2 of 2 set, not 4 of 2 = 200 %
    assert any("2 goal achievement(s) match no goal set" in n.text for n in report.data_quality.notes)
    table = report.breakdowns["department"].set_index("group")
    assert table.loc["Sales", "goals_achieved"] == 2


def test_took_part_is_defined_in_the_report_and_the_docs(tmp_path):
    folder = make_programme(tmp_path / "p", hr=True)
    report = _report(folder)
    definition = "matched in a relationship formed by the end of the period, or with any logged activity"
    assert definition in render_html(report, load_programme(folder))
    assert definition in render_markdown(report)
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    assert "matched or active" not in readme and "or with any logged activity in the period" in readme


def test_cards_use_plain_names_and_units(tmp_path):
    folder = make_programme(tmp_path / "p")
    report = _report(folder)
    html = render_html(report, load_programme(folder))
    assert "<code>mentoring_hours</code>" not in html and "mentoring_hours" not in html
    assert re.search(r'3\.8 <span class="unit">hours</span>', html)
    assert re.search(r'20\.0 <span class="unit">days</span>', html)
    markdown = render_markdown(report)
    assert "`" not in markdown.split("## Data quality")[0]
    assert "3.8 hours" in markdown and "| Mentoring hours |" in markdown


def test_charts_have_axis_titles_whole_number_ticks_value_labels_and_no_empty_axes(tmp_path):
    from mentorctl.report import charts

    svg = charts.bar_chart("Answers", ["1", "2", "3"], {"answers": [1, 3, 2]}, integer=True, value_labels=True,
                           x_title="score", y_title="answers")
    assert 'class="axis"' in svg and ">score</text>" in svg and ">answers</text>" in svg
    ticks = re.findall(r'class="tick"[^>]*>([^<]+)</text>', svg)
    assert ticks[:5] == ["0", "1", "2", "3", "4"]
    assert re.findall(r'class="value"[^>]*>([^<]+)</text>', svg) == ["1", "3", "2"]
    empty = charts.line_chart("Hours", ["a", "b"], {"hours": [0, 0]})
    assert "No data in this period" in empty and 'class="tick"' not in empty


def test_suppression_marks_have_a_footnote_and_never_read_as_scores(tmp_path):
    folder = make_programme(tmp_path / "p", survey=True)
    report = _report(folder)
    html = render_html(report, load_programme(folder))
    assert "&lt;5" not in html and "hidden*" in html
    assert "* Fewer than 5 people" in html and "† At least 5 people" in html
    assert "hidden*" in render_markdown(report) and "<5" not in render_markdown(report)


def test_xlsx_has_number_formats_autofilters_plain_headers_and_fitting_widths(tmp_path):
    from openpyxl import load_workbook

    folder = make_programme(tmp_path / "p", hr=True)
    path = write_report(_report(folder), tmp_path / "out", formats=["xlsx"])["xlsx"]
    book = load_workbook(path)
    sheet = book["KPIs"]
    headers = [c.value for c in sheet[1]]
    assert headers[:4] == ["Area", "Measure", "Value", "Others (did not take part)"]
    rows = {r[1].value: r for r in sheet.iter_rows(min_row=2)}
    assert rows["Participation rate"][2].number_format == "0.0%"
    assert rows["Mentoring hours"][2].number_format == "#,##0.0"
    assert rows["Mentoring hours"][2].value == 3.8
    assert rows["Sessions held"][2].number_format == "#,##0"
    assert sheet.auto_filter.ref.startswith("A1:")
    assert sheet.column_dimensions["B"].width >= len("Assignments completed")
    goals = book["Goals"]
    assert [c.value for c in goals[1]][:6] == ["Goal", "Measure", "Value", "Target", "Target to date", "Status"]
    breakdown_sheet = book["By department"]
    assert [c.value for c in breakdown_sheet[1]][:3] == ["Group", "People", "Participants"]
    assert any(c.number_format == "0.0%" for c in breakdown_sheet["D"][1:])
    assert book["Weekly"]["A1"].value == "Week starting"


def test_retention_cards_show_the_others_as_a_sub_line_and_charts_are_legible(tmp_path):
    from mentorctl.report import charts

    folder = make_programme(tmp_path / "p", hr=True)
    html = render_html(_report(folder), load_programme(folder))
    assert re.search(r'<div class="value">85\.7%</div>\s*<div class="sub">others 75\.0%</div>', html)
    assert "85.7% (others" not in html
    ticks = re.findall(r'<text[^>]*class="(?:tick|legend)"[^>]*>', html)
    assert ticks and all(f'font-size="{charts.FONT_SIZE}"' in t for t in ticks)
    assert not re.search(r"svg \.tick[^}]*font-size", html)          # no CSS shrinking them again
    assert f"minmax(min({charts.MIN_DISPLAY_WIDTH}px, 100%)" in html         # never wider than a phone
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


def test_print_keeps_headings_with_content_and_chart_text_at_least_9pt(tmp_path):
    from mentorctl.report import charts

    folder = make_programme(tmp_path / "p")
    html = render_html(_report(folder), load_programme(folder))
    printed = html[html.index("@media print"):]
    printed = printed[:printed.index("</style>")]
    assert re.search(r"h2, h3 \{ break-after: avoid;", printed)
    assert ".charts { grid-template-columns: 1fr; }" in printed and "max-width: 170mm" in printed
    narrowest_mm = 170             # figures print 170 mm wide on A4 or Letter (182-188 mm inside the margins)
    points = charts.FONT_SIZE * (narrowest_mm / 25.4 * 72) / charts.WIDTH
    assert points >= 9
    assert "attr(href)" not in html                                     # link addresses never printed twice


def test_report_shows_match_coverage_unmatched_and_inactive_pairs(tmp_path):
    folder = make_programme(tmp_path / "p")
    report = _report(folder)
    coverage = report.coverage
    # mentees e1-e3 are matched, e4-e6 are not; in the last 7 days (02-23..03-01) only m1-e1 (goal) and
    # m3-e3 (session) logged something together, so m2-e2 is inactive
    assert (coverage.eligible, coverage.matched, coverage.unmatched) == (6, 3, ["e4", "e5", "e6"])
    assert coverage.inactive_pairs == [("m2", "e2")]
    html = render_html(report, load_programme(folder))
    assert "Mentees matched" in html and "50.0%" in html and "Inactive pairs" in html
    assert "3 of 6 eligible mentees matched (50.0%); 3 unmatched." in render_markdown(report)
    assert report.as_dict()["coverage"]["inactive_pairs"] == 1


REL_MENTORS = "id,name,email\nM1,Ann,m1@x.org\nM2,Bob,m2@x.org\nM3,Cy,m3@x.org\n"
REL_MENTEES = "id,name,email\nE1,Eve,e1@x.org\nE2,Fay,e2@x.org\nE3,Gil,e3@x.org\nE4,Hal,e4@x.org\n"


def test_relationships_section_is_in_every_format_but_the_follow_up_pairs_only_in_follow_up_csv(
        small_programme, tmp_path):
    from openpyxl import load_workbook

    from mentorctl.relationships import EndReason, end_pair
    from mentorctl.roster import load_participants

    folder = small_programme("rel", REL_MENTORS, REL_MENTEES)
    (folder / "out").mkdir()
    (folder / "out" / "matches.csv").write_text("mentee_id,mentor_id,score\nE1,M1,1\nE2,M2,1\nE3,M3,1\n")
    programme = load_programme(folder)
    end_pair(programme, load_participants(programme), "E1", "M1", EndReason.NOT_A_FIT, on=date(2027, 3, 31),
             rematch=True)
    report = build_report(programme, period=Period(date(2027, 3, 1), date(2027, 5, 1)), today=date(2027, 5, 1),
                          now=datetime(2027, 5, 2, 9, 0))
    written = write_report(report, tmp_path / "out", programme=programme)
    # by hand: three pairs from 1 March; E1–M1 ended "not a fit" on 31 March (30 days, early) and E1 waits
    # for a rematch since then (31 days on 1 May); E2–M2 and E3–M3 run 61 days with no meeting logged
    html = written["html"].read_text(encoding="utf-8")
    section = html[html.index("<h2>Relationships</h2>"):]
    section = section[:section.index("</section>")]
    for label, value in (("Relationships started", "3"), ("Active", "2"), ("Ended", "1 (0 completed, 1 early)"),
                         ("Ended by reason", "not-a-fit hidden*"), ("Median duration", "61 days"),
                         ("Waitlist", "1 (median wait 31 days)"), ("Rematches", "1"),
                         ("Pairs for the coordinator to follow up", "2 (see follow-up.csv)")):
        assert f'<th scope="row">{label}</th><td>{value}</td>' in section, label
    book = load_workbook(written["xlsx"])
    rows = {r[0]: (r[1], cell.number_format) for r, cell in zip(
        book["Relationships"].iter_rows(min_row=2, values_only=True), book["Relationships"]["B"][1:],
        strict=True) if r[0]}
    assert rows["Relationships started"] == (3, "#,##0") and rows["Ended early"] == (1, "#,##0")
    assert rows["Ended by reason: not-a-fit"][0] == "hidden*"          # a group under 5: never a number
    assert rows["Median duration (days)"] == (61, "#,##0.0") and rows["Reached the planned length"] == (0, "0.0%")
    assert rows["Median wait (days)"][0] == 31 and rows["Rematches"][0] == 1
    assert rows["Pairs for the coordinator to follow up (follow-up.csv)"][0] == 2
    assert "| Relationships started | 3 |" in written["md"].read_text(encoding="utf-8")
    # the follow-up list names pairs: follow-up.csv only, never report.html/md/json/xlsx
    follow = written["follow_up"].read_text(encoding="utf-8")
    assert "E2,M2,no first meeting" in follow and "E3,M3,no first meeting" in follow
    for name in ("html", "md", "json"):
        assert "no first meeting" not in written[name].read_text(encoding="utf-8"), name
    import zipfile

    with zipfile.ZipFile(written["xlsx"]) as archive:
        assert not any(b"no first meeting" in archive.read(n) for n in archive.namelist())
    # data-quality notes read as sentences in every format (not as the objects that carry them)
    assert "No activity log is configured" in html and "Note(" not in written["md"].read_text(encoding="utf-8")
    assert any("No activity log is configured" in str(c.value) for c in book["Data quality"]["A"])


def test_report_xlsx_is_valid_for_an_independent_reader_and_its_charts_point_at_real_cells(tmp_path):
    import zipfile
    from xml.etree import ElementTree

    from openpyxl import load_workbook

    folder = make_programme(tmp_path / "p", hr=True, survey=True)
    path = write_report(_report(folder), tmp_path / "out", formats=["xlsx"])["xlsx"]
    with zipfile.ZipFile(path) as archive:
        for name in archive.namelist():
            ElementTree.fromstring(archive.read(name))                  # every part is well-formed XML
    sheets = pd.read_excel(path, sheet_name=None, engine="calamine")     # a second, independent reader
    assert sheets["Data"].shape[0] == 13 and sheets["KPIs"]["Measure"].tolist()[0] == "Relationships formed"
    book = load_workbook(path)
    found = book["Charts"]._charts
    assert len(found) == 5                  # activity, hours, goals, satisfaction, retention (HR extract given)
    for chart in found:
        for series in chart.series:
            sheet_name, cells = series.val.numRef.f.split("!")
            sheet = book[sheet_name.strip("'")]
            first, last = cells.replace("$", "").split(":")
            assert int(last[1:]) <= sheet.max_row and sheet[first].value is not None
            header = series.tx.strRef.f.split("!")[1].replace("$", "")
            assert isinstance(sheet[header].value, str)                # each series is named by its heading
    weeks = book["Weekly"]
    assert weeks["A2"].is_date and weeks["A2"].number_format == "yyyy-mm-dd"
    assert book["Data"]["A2"].number_format == "yyyy-mm-dd hh:mm"
    assert book["Retention"]["B2"].number_format == "0.0%" and book["KPIs"].freeze_panes == "A2"


def test_breakdown_groups_are_compared_like_matching_compares_values():
    metrics = pd.DataFrame({
        "participant": [True] * 12, "active": [True] * 12, "sessions": [1.0] * 12, "hours": [1.0] * 12,
        "goals_set": [0.0] * 12, "goals_achieved": [0.0] * 12, "satisfaction": [4.0] * 12,
    }, index=[f"p{i}" for i in range(12)])
    values = pd.Series(["Engineering"] * 5 + ["engineering ", "ENGINEERING"] + ["Law"] * 5, index=metrics.index)
    table, hidden = breakdown(metrics, values, 5)
    # one group in its most common spelling; Law is not hidden to protect a one-person "group"
    assert dict(zip(table["group"], table["people"], strict=True)) == {"Engineering": 7, "Law": 5}
    assert hidden == 0


def test_coverage_counts_participants_in_a_peer_programme():
    from types import SimpleNamespace

    from mentorctl.report.build import Coverage
    from mentorctl.report.formatting import coverage_lines

    peer = Coverage(eligible=4, matched=4, unmatched=[], pairs=2, inactive_pairs=[], window_days=14,
                    who="participants")
    assert coverage_lines(SimpleNamespace(coverage=peer))[0].startswith("4 of 4 eligible participants matched")
    one_to_one = Coverage(eligible=4, matched=3, unmatched=["E4"], pairs=3, inactive_pairs=[], window_days=14)
    assert coverage_lines(SimpleNamespace(coverage=one_to_one))[0].startswith("3 of 4 eligible mentees matched")
