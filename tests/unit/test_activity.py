"""Reading, mapping and cleaning activity logs, HR extracts and survey exports."""

from __future__ import annotations

import sys
from datetime import date, datetime
from pathlib import Path

import pandas as pd
import pytest

from mentorctl.activity import ACTIVITY_COLUMNS, load_activity, read_activity, read_hr_extract, read_survey
from mentorctl.activity import EVENTS as EVENT_NAMES
from mentorctl.errors import ActivityError
from mentorctl.programme import load_programme
from mentorctl.report import Period, build_report
from report_fixtures import EVENTS, HEADER, make_programme, write_csv

PERIOD = Period(date(2026, 2, 2), date(2026, 3, 1))
FOREIGN_EVENTS = {"session": "Meeting held", "message": "Chat", "goal_set": "Objective created",
                  "goal_achieved": "Objective met", "assignment_created": "Task assigned",
                  "assignment_completed": "Task done", "survey_response": "Feedback",
                  "training_attended": "Workshop"}
FOREIGN_YAML = """\
  activity:
    - path: export.csv
      dayfirst: true
      columns: {timestamp: When, event: Type, mentor_id: Coach, mentee_id: Coachee,
                duration_minutes: Length, rating: Score, item_id: Ref}
      events:
""" + "".join(f"        {ours}: {theirs}\n" for ours, theirs in FOREIGN_EVENTS.items())


def _kpis(folder: Path) -> dict:
    return build_report(load_programme(folder), period=PERIOD, now=datetime(2026, 3, 10)).kpis


def test_read_activity_returns_the_documented_schema(tmp_path):
    frame = read_activity(load_programme(make_programme(tmp_path / "p")))
    assert list(frame.columns[:7]) == list(ACTIVITY_COLUMNS)
    assert str(frame["timestamp"].dt.tz) == "Europe/London"
    assert frame["timestamp"].is_monotonic_increasing
    assert set(frame["event"].astype(str)) <= set(EVENT_NAMES)
    assert len(frame) == len(EVENTS)
    first = frame.iloc[0]
    assert first["timestamp"] == pd.Timestamp("2026-02-03 10:00", tz="Europe/London")
    assert (first["event"], first["mentor_id"], first["mentee_id"], first["duration_minutes"]) == \
        ("session", "m1", "e1", 60.0)
    assert pd.isna(first["rating"]) and pd.isna(first["item_id"])


def test_foreign_export_with_mapping_gives_the_same_kpis(tmp_path):
    native = _kpis(make_programme(tmp_path / "native"))
    folder = make_programme(tmp_path / "foreign", activity_yaml=FOREIGN_YAML)
    rows = []
    for stamp, event, mentor, mentee, minutes, rating, item in EVENTS:
        when = datetime.fromisoformat(stamp).strftime("%d/%m/%Y %H:%M")
        length = f"{int(minutes) // 60}:{int(minutes) % 60:02d}" if minutes == "90" else minutes  # H:MM too
        rows.append((item, FOREIGN_EVENTS[event], when, mentee, mentor, length, rating))
    write_csv(folder / "export.csv", ["Ref", "Type", "When", "Coachee", "Coach", "Length", "Score"], rows)
    assert _kpis(folder) == native
    assert native["sessions_held"] == 4 and native["mentoring_hours"] == 3.8


def test_excel_export_with_real_dates_gives_the_same_kpis(tmp_path):
    from openpyxl import Workbook

    native = _kpis(make_programme(tmp_path / "native"))
    folder = make_programme(tmp_path / "excel", activity_yaml="  activity: [log.xlsx#Events]\n")
    book = Workbook()
    sheet = book.active
    sheet.title = "Events"
    sheet.append(HEADER)
    for stamp, event, mentor, mentee, minutes, rating, item in EVENTS:
        sheet.append([datetime.fromisoformat(stamp), event, mentor or None, mentee or None,
                      int(minutes) if minutes else None, int(rating) if rating else None, item or None])
    book.save(folder / "log.xlsx")
    assert _kpis(folder) == native


def test_offsets_are_converted_and_naive_times_are_local(tmp_path):
    events = [("2026-07-01T09:00:00Z", "message", "m1", "e1", "", "", ""),
              ("2026-07-01 09:00", "message", "m1", "e1", "", "", "")]
    frame = read_activity(load_programme(make_programme(tmp_path / "p", events=events)))
    # London is UTC+1 in July: 09:00Z is 10:00 local; the naive 09:00 stays 09:00 local
    assert sorted(frame["timestamp"].dt.hour.tolist()) == [9, 10]


def test_bad_rows_are_reported_with_file_row_column_and_reason(tmp_path):
    events = [EVENTS[0], ("", "session", "m1", "e1", "60", "", ""), ("2026-02-03", "", "m1", "e1", "", "", ""),
              ("2026-02-03", "session", "", "", "60", "", ""), ("2026-02-03", "session", "m1", "e1", "-5", "", ""),
              ("2026-02-03", "survey_response", "", "e1", "", "9", "")]
    log = load_activity(load_programme(make_programme(tmp_path / "p", events=events)))
    got = [(r.file, r.row, r.column, r.problem.split(";")[0]) for r in log.problems.itertuples()]
    assert got == [
        ("activity.csv", 3, "timestamp", "no timestamp"),
        ("activity.csv", 4, "event", "no event"),
        ("activity.csv", 5, "mentor_id", "neither mentor_id nor mentee_id is given"),
        ("activity.csv", 6, "duration_minutes", "implausible duration: minutes must be from 0 to 1440 (one day)"),
        ("activity.csv", 7, "rating", "rating must be a number from 1 to 5"),
    ]
    assert log.bad_rows == 5 and log.rows_read == 6 and len(log.frame) == 1


def test_overlapping_exports_count_each_event_once(tmp_path):
    folder = make_programme(tmp_path / "p", activity_yaml="  activity: [jan.csv, feb.csv]\n")
    write_csv(folder / "jan.csv", HEADER, EVENTS[:6])
    write_csv(folder / "feb.csv", HEADER, EVENTS[4:])
    log = load_activity(load_programme(folder))
    assert log.duplicates == 2
    assert len(log.frame) == len(EVENTS)
    assert _kpis(folder) == _kpis(make_programme(tmp_path / "single"))


def test_command_line_paths_replace_the_configured_ones(tmp_path):
    folder = make_programme(tmp_path / "p")
    write_csv(folder / "other.csv", HEADER, EVENTS[:2])
    frame = read_activity(load_programme(folder), [folder / "other.csv"])
    assert len(frame) == 2


def test_missing_required_column_names_the_file_and_headings(tmp_path):
    folder = make_programme(tmp_path / "p", activity_yaml="  activity: [odd.csv]\n")
    write_csv(folder / "odd.csv", ["date", "what"], [("2026-02-03", "session")])
    with pytest.raises(ActivityError) as caught:
        read_activity(load_programme(folder))
    message = str(caught.value)
    assert "odd.csv" in message and "timestamp" in message and "headings: date, what" in message
    assert "reporting.activity[0].columns" in message


def test_unknown_event_key_in_the_mapping_is_an_error(tmp_path):
    yaml = "  activity:\n    - path: activity.csv\n      events: {meeting: Meeting}\n"
    folder = make_programme(tmp_path / "p", events=EVENTS, activity_yaml=yaml)
    with pytest.raises(ActivityError, match="'meeting' is not a mentorctl event"):
        read_activity(load_programme(folder))


def test_missing_file_is_an_error(tmp_path):
    folder = make_programme(tmp_path / "p", activity_yaml="  activity: [nowhere.csv]\n")
    with pytest.raises(ActivityError, match="nowhere.csv: file not found"):
        read_activity(load_programme(folder))


def test_hr_extract_and_survey_report_bad_values(tmp_path):
    folder = make_programme(tmp_path / "p", survey=True, hr=True)
    write_csv(folder / "hr.csv", ["Employee ID", "left_on", "promoted_on", "Site"],
              [("m1", "2026-13-40", "", "Leeds"), ("m2", "", "", "York"), ("m2", "", "", "York")])
    write_csv(folder / "survey.csv", ["participant_id", "satisfaction", "recommend"],
              [("e1", "6", "10"), ("e2", "4", "eleven"), ("m1", "3", "")])
    programme = load_programme(folder)
    hr = read_hr_extract(programme)
    assert [(r.row, r.column) for r in hr.problems.itertuples()] == [(2, "left_on"), (4, "employee_id")]
    assert hr.frame["employee_id"].tolist() == ["m2"] and hr.extra_fields == ("site",)
    survey = read_survey(programme)
    assert [(r.row, r.column) for r in survey.problems.itertuples()] == [(2, "satisfaction"), (3, "recommend")]
    assert survey.frame["participant_id"].tolist() == ["m1"]


def test_generator_output_is_clean_and_reproducible(tmp_path):
    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts"))
    from generate_activity import generate_activity, write_activity_files

    mentors = pd.DataFrame({"id": [f"m{i}" for i in range(1, 7)], "department": ["Sales"] * 5 + ["Legal"]})
    mentees = pd.DataFrame({"id": [f"e{i}" for i in range(1, 7)]})
    matches = pd.DataFrame({"mentor_id": ["m1", "m2", "m3"], "mentee_id": ["e1", "e2", "e3"]})
    first = generate_activity(mentors, mentees, matches, date(2026, 2, 2), 4, seed=3)
    again = generate_activity(mentors, mentees, matches, date(2026, 2, 2), 4, seed=3)
    for a, b in zip(first, again, strict=True):
        pd.testing.assert_frame_equal(a, b)
    activity, hr, survey = first
    assert list(activity.columns) == list(ACTIVITY_COLUMNS)
    assert set(activity["event"]) <= set(EVENT_NAMES) and "session" in set(activity["event"])
    assert set(hr.columns) >= {"employee_id", "left_on", "promoted_on"} and len(hr) == 4 * 12
    folder = make_programme(tmp_path / "p", survey=True, hr=True)
    write_activity_files(folder, activity, hr, survey)
    programme = load_programme(folder)
    log = load_activity(programme)
    assert log.bad_rows == 0 and len(log.frame) == len(activity)
    assert read_hr_extract(programme).bad_rows == 0 and read_survey(programme).bad_rows == 0


def test_implausible_durations_and_ratings_are_rejected_rows(tmp_path):
    events = [EVENTS[0], ("2026-02-03 11:00", "session", "m1", "e1", "1e9", "", ""),
              ("2026-02-03 12:00", "session", "m1", "e1", "1440", "", ""),
              ("2026-02-03 13:00", "session", "m1", "e1", "25:00", "", ""),
              ("2026-02-03 14:00", "survey_response", "", "e1", "", "0", "")]
    log = load_activity(load_programme(make_programme(tmp_path / "p", events=events)))
    got = [(r.row, r.column, r.value) for r in log.problems.itertuples()]
    assert got == [(3, "duration_minutes", "1e9"), (5, "duration_minutes", "25:00"), (6, "rating", "0")]
    assert "from 0 to 1440" in log.problems["problem"].iloc[0]
    assert sorted(log.frame["duration_minutes"].tolist()) == [60.0, 1440.0]     # one day is still plausible


def test_control_characters_make_a_rejected_row_not_a_crash(tmp_path):
    folder = make_programme(tmp_path / "p", events=[EVENTS[0]])
    with (folder / "activity.csv").open("ab") as handle:
        handle.write(b"garbage\x00\x01\n")
    log = load_activity(load_programme(folder))
    assert log.bad_rows == 1 and len(log.frame) == 1
    assert set(log.problems["row"]) == {3} and set(log.problems["file"]) == {"activity.csv"}


@pytest.mark.parametrize("content", [b"", b"\n\n  \n"])
def test_an_empty_file_is_one_clear_error(tmp_path, content):
    folder = make_programme(tmp_path / "p")
    (folder / "activity.csv").write_bytes(content)
    with pytest.raises(ActivityError) as caught:
        read_activity(load_programme(folder))
    message = str(caught.value)
    assert "activity.csv" in message and "is empty" in message and "export it again with its header row" in message
    assert "No columns to parse" not in message


def test_a_header_only_file_is_an_empty_log(tmp_path):
    log = load_activity(load_programme(make_programme(tmp_path / "p", events=[])))
    assert log.rows_read == 0 and log.frame.empty and log.problems.empty


def test_a_wrong_date_format_names_the_setting_and_keeps_the_value_apart(tmp_path):
    events = [EVENTS[0], ("31/01/2026 9:30", "session", "m1", "e1", "60", "", "")]
    log = load_activity(load_programme(make_programme(tmp_path / "p", events=events)))
    problem = log.problems.iloc[0]
    assert (problem["row"], problem["column"], problem["value"]) == (3, "timestamp", "31/01/2026 9:30")
    assert problem["problem"].startswith("not an ISO date-time such as 2026-01-31 09:30")
    assert "`reporting.activity[0].dayfirst: true` or `date_format` in programme.yaml" in problem["problem"]
    yaml = "  activity:\n    - {path: activity.csv, dayfirst: true}\n"
    fixed = load_activity(load_programme(make_programme(tmp_path / "q", events=events, activity_yaml=yaml)))
    days = sorted(fixed.frame["timestamp"].dt.strftime("%Y-%m-%d %H:%M"))
    assert fixed.bad_rows == 0 and days == ["2026-01-31 09:30", "2026-02-03 10:00"]   # ISO stays ISO


def test_rows_after_a_blank_line_are_numbered_as_in_the_spreadsheet(tmp_path):
    """The activity reader used to number rows by position after dropping blank lines (row 4 became row 3)."""
    folder = make_programme(tmp_path / "p", events=[EVENTS[0]])
    with (folder / "activity.csv").open("a", encoding="utf-8") as handle:
        handle.write("\n2026-02-04 10:00,coffee,m1,e1,,,\n")
    log = load_activity(load_programme(folder))
    assert log.problems["row"].tolist() == [4] and log.problems["value"].tolist() == ["coffee"]
    assert log.frame["_row"].tolist() == [2]


def test_cp1252_hr_extract_and_survey_notes_reach_the_report(tmp_path):
    """The HR extract's and survey's "not UTF-8" note was dropped; it is a reading note of the report now, as
    the activity log's (and as a roster's reaches `validate`)."""
    folder = make_programme(tmp_path / "p", survey=True, hr=True)
    for name in ("hr.csv", "survey.csv"):
        with (folder / name).open("ab") as handle:
            handle.write("zoë,,\n".encode("cp1252"))   # one Windows-1252 byte makes the file not UTF-8
    report = build_report(load_programme(folder), period=PERIOD, now=datetime(2026, 3, 10))
    texts = [note.text for note in report.data_quality.notes]
    for name in ("hr.csv", "survey.csv"):
        assert f"{name} is not UTF-8; it was read as cp1252 (Windows/Latin-1): check accented names look right, " \
            "or save it as 'CSV UTF-8'" in texts


def test_workbook_date_cells_are_dates_whatever_the_date_format(tmp_path):
    """An .xlsx export's date cells are dates (read as ISO text by tables.py); `date_format` and `dayfirst`
    are for the cells typed as text."""
    from openpyxl import Workbook

    yaml = ("  activity:\n    - path: export.xlsx\n      date_format: \"%d/%m/%Y %H:%M\"\n")
    folder = make_programme(tmp_path / "p", activity_yaml=yaml)
    book = Workbook()
    sheet = book.active
    sheet.append(HEADER)
    sheet.append([datetime(2026, 2, 3, 10, 0), "session", "m1", "e1", 60, None, None])
    sheet.append(["04/02/2026 11:30", "session", "m1", "e1", 30, None, None])
    book.save(folder / "export.xlsx")
    log = load_activity(load_programme(folder))
    assert log.problems.empty
    assert log.frame["timestamp"].tolist() == [pd.Timestamp("2026-02-03 10:00", tz="Europe/London"),
                                               pd.Timestamp("2026-02-04 11:30", tz="Europe/London")]


def test_survey_partner_and_submitted_tie_an_answer_to_a_pair(small_programme):
    from mentorctl.roster import load_participants

    folder = small_programme(
        "tie", "id,name,email\nM1,Ann Lee,m1@x.org\nM2,Bob Ray,m2@x.org\n", "id,name,email\nE1,Eve,e1@x.org\n"
        "E2,Fay,e2@x.org\n",
        reporting={"survey": {"path": "survey.csv", "date_format": "%d.%m.%Y %H:%M",
                              "columns": {"participant_id": "Email", "pairing_fit": "Fit", "satisfaction": "Rating",
                                          "partner": "Your mentor", "submitted": "Submitted at"}}})
    (folder / "survey.csv").write_text(
        "Email,Fit,Rating,Your mentor,Submitted at\n"
        "e1@x.org,Not a fit,2,Ann Lee (M1),03.04.2027 10:00\n"
        "E2,good fit,4,M2@X.org,\n"
        "e1@x.org,,5,M02,yesterday\n")
    programme = load_programme(folder)
    survey = read_survey(programme, participants=load_participants(programme))
    frame = survey.frame
    # the one resolver: "Name (ID)", an email in any case; an unknown partner is left as written
    assert frame["partner"].tolist() == ["M1", "M2", "M02"]
    assert frame["submitted"].iloc[0] == pd.Timestamp("2027-04-03 10:00", tz=programme.tz)
    assert frame["submitted"].iloc[1:].isna().all()
    assert [str(w) for w in survey.warnings] == [
        "survey.csv, row 4, column Submitted at: 'yesterday' is not a date in reporting.survey.date_format "
        "('%d.%m.%Y %H:%M'); the answer cannot be tied to a pair, so it is not used for follow-ups",
        "survey.csv, row 4, column Your mentor: 'M02' matches no person on the rosters (did you mean 'M2'?): "
        "the answer is not applied to any pair's follow-ups; write the partner's id, email or name"]
    # warnings keep the row: its rating still counts for the programme's satisfaction KPIs
    assert survey.bad_rows == 0 and frame["satisfaction"].tolist() == [2.0, 4.0, 5.0]
    # without the two columns the frame has neither (answers cannot be tied to a pair)
    (folder / "survey.csv").write_text("Email,Fit,Rating\ne1@x.org,Not a fit,2\n")
    legacy = read_survey(programme, participants=load_participants(programme))
    assert {"partner", "submitted"}.isdisjoint(legacy.frame.columns) and legacy.warnings == ()
