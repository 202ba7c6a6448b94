"""`mentorctl report`, end to end."""

from __future__ import annotations

import json
import sys
from datetime import date
from pathlib import Path

import pandas as pd

from mentorctl.report import KPI_NAMES
from report_fixtures import EVENTS, HEADER, make_programme, write_csv

SCRIPTS = Path(__file__).resolve().parents[2] / "scripts"


def _output(result) -> str:
    return result.stdout + result.stderr


def test_report_writes_all_files_and_prints_a_summary(tmp_path, run_cli):
    folder = make_programme(tmp_path / "p", hr=True, survey=True)
    result = run_cli("report", folder, "--period", "2026-02-02..2026-03-01")
    assert result.exit_code == 0, _output(result)
    for name in ("report.html", "report.xlsx", "report.md", "report.json"):
        assert (folder / "out" / name).exists()
    assert "Goals: 1 of 3 met" in result.stdout
    assert "Sessions held" in result.stdout and "3.8" in result.stdout
    assert f"Report written to {folder / 'out' / 'report.html'}" in " ".join(result.stdout.split())
    data = json.loads((folder / "out" / "report.json").read_text(encoding="utf-8"))
    assert list(data["kpis"]) == list(KPI_NAMES)
    assert data["period"] == {"start": "2026-02-02", "end": "2026-03-01"}


def test_bad_rows_are_named_on_the_terminal(tmp_path, run_cli):
    events = [*EVENTS[:3], ("not a date", "session", "m1", "e1", "60", "", "")]
    folder = make_programme(tmp_path / "p", events=events)
    result = run_cli("report", folder, "--period", "2026-02-02..2026-03-01")
    assert result.exit_code == 0, _output(result)
    assert "1 row(s) could not be used" in result.stderr
    assert "activity.csv, row 5, column timestamp" in result.stderr


def test_empty_log_warns_but_succeeds(tmp_path, run_cli):
    folder = make_programme(tmp_path / "p", events=[])
    result = run_cli("report", folder, "--period", "2026-02-02..2026-03-01")
    assert result.exit_code == 0, _output(result)
    assert "no activity was recorded" in result.stderr
    assert "No activity was recorded" in (folder / "out" / "report.html").read_text(encoding="utf-8")


def test_activity_out_and_compare_options(tmp_path, run_cli):
    folder = make_programme(tmp_path / "p")
    write_csv(folder / "march.csv", HEADER, [EVENTS[0], EVENTS[4]])
    other = make_programme(tmp_path / "last-year")
    out = tmp_path / "elsewhere"
    result = run_cli("report", folder, "--activity", folder / "march.csv", "--out", out, "--compare", other,
                     "--period", "2026-02-02..2026-03-01")
    assert result.exit_code == 0, _output(result)
    data = json.loads((out / "report.json").read_text(encoding="utf-8"))
    assert data["kpis"]["sessions_held"] == 2                 # only march.csv
    assert data["compare"]["kpis"]["sessions_held"] == 4      # the other cohort's own log
    assert not (folder / "out" / "report.json").exists()


def test_bad_period_is_one_clear_error(tmp_path, run_cli):
    folder = make_programme(tmp_path / "p")
    result = run_cli("report", folder, "--period", "February")
    assert result.exit_code == 2
    assert "Error: --period 'February' must be START..END" in result.stderr
    assert "Traceback" not in _output(result)


def test_missing_activity_file_is_one_clear_error(tmp_path, run_cli):
    folder = make_programme(tmp_path / "p")
    result = run_cli("report", folder, "--activity", folder / "missing.csv")
    assert result.exit_code == 2
    assert "missing.csv: file not found" in result.stderr
    assert "Traceback" not in _output(result)


def test_help_has_an_example(run_cli):
    result = run_cli("report", "--help")
    assert result.exit_code == 0
    assert "Example: mentorctl report" in result.stdout and "--period" in result.stdout


def test_example_programme_with_a_generated_log(example_programme, run_cli):
    """The bundled example's rosters, goals and report_by work with a log from the activity generator."""
    sys.path.insert(0, str(SCRIPTS))
    from generate_activity import generate_activity, write_activity_files

    mentors = pd.read_csv(example_programme / "mentors.csv", dtype=str)
    mentees = pd.read_csv(example_programme / "mentees.csv", dtype=str)
    pairs = pd.DataFrame({"mentor_id": mentors["id"].tolist()[:len(mentees)],
                          "mentee_id": mentees["id"].tolist()[:len(mentors)]})
    write_activity_files(example_programme, *generate_activity(mentors, mentees, pairs, date(2027, 1, 11), 26, 1))
    result = run_cli("report", example_programme)
    assert result.exit_code == 0, _output(result)
    html = (example_programme / "out" / "report.html").read_text(encoding="utf-8")
    assert "By department" in html and "By gender" in html and "<svg" in html
    data = json.loads((example_programme / "out" / "report.json").read_text(encoding="utf-8"))
    assert data["kpis"]["sessions_held"] > 0 and data["data_quality"]["bad_rows"] == 0
    assert data["kpis"]["retention_rate"]["participants"] is not None


def test_out_pointing_at_a_file_is_one_clear_error(tmp_path, run_cli):
    folder = make_programme(tmp_path / "p")
    target = tmp_path / "report.html"
    target.write_text("not a folder", encoding="utf-8")
    result = run_cli("report", folder, "--out", target)
    assert result.exit_code == 2
    assert f"cannot write the report into {target}: it is a file, not a folder" in " ".join(result.stderr.split())
    assert "Traceback" not in _output(result)
    assert target.read_text(encoding="utf-8") == "not a folder"


def test_empty_activity_file_is_one_clear_error(tmp_path, run_cli):
    folder = make_programme(tmp_path / "p")
    (folder / "activity.csv").write_bytes(b"")
    result = run_cli("report", folder)
    assert result.exit_code == 2
    assert "activity.csv: is empty" in result.stderr and "export it again with its header row" in result.stderr
    assert "No columns to parse" not in _output(result)


def test_control_characters_and_a_wrong_date_format_are_reported_rows(tmp_path, run_cli):
    folder = make_programme(tmp_path / "p", events=[*EVENTS[:3], ("31/01/2026 9:30", "session", "m1", "e1",
                                                                  "60", "", "")])
    with (folder / "activity.csv").open("ab") as handle:
        handle.write(b"garbage\x00\x01\n2026-02-05 10:00,session,m1,e1,30,,x\x0by\n")
    result = run_cli("report", folder, "--period", "2026-02-02..2026-03-01")
    assert result.exit_code == 0, _output(result)
    err = " ".join(result.stderr.split())
    assert "2 row(s) could not be used" in err
    assert ("activity.csv, rows 5, 6, column timestamp ('31/01/2026 9:30'): not an ISO date-time such as "
            "2026-01-31 09:30: set `reporting.activity[0].dayfirst: true` or `date_format` in programme.yaml") in err
    for name in ("report.html", "report.xlsx", "report.md", "report.json"):
        assert (folder / "out" / name).exists()


def test_a_period_outside_the_programme_is_a_warning(tmp_path, run_cli):
    folder = make_programme(tmp_path / "p")
    result = run_cli("report", folder, "--period", "2020-01-01..2020-02-01")
    assert result.exit_code == 0, _output(result)
    assert "0 took part" in " ".join(result.stdout.split())
    assert "Warning: The period 2020-01-01..2020-02-01 lies entirely outside the programme's dates" in \
        " ".join(result.stderr.split())


def test_a_log_whose_every_row_is_rejected_still_writes_the_report_and_exits_1(small_programme, run_cli):
    folder = small_programme("uk", "id,name,email\nM1,Ann,m1@x.org\n", "id,name,email\nE1,Eve,e1@x.org\n",
                             reporting={"activity": ["activity.csv"]})
    (folder / "activity.csv").write_text("timestamp,event,mentor_id,mentee_id\n2027-03-02 10:00,session,M1,E1\n")
    (folder / "uk.csv").write_text("timestamp,event,mentor_id,mentee_id\n"
                                   "21/03/2027 18:30,session,M1,E1\n22/03/2027 18:30,session,M1,E1\n")
    assert run_cli("match", folder).exit_code == 0
    fine = run_cli("report", folder)
    assert fine.exit_code == 0, fine.output
    result = run_cli("report", folder, "--activity", folder / "uk.csv")
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert (folder / "out" / "report.html").exists()
    assert "Error: all 2 row(s) of the activity log (uk.csv) were rejected" in result.stderr
    # the hint names the YAML entry whose settings the --activity file takes
    assert ("`reporting.activity[0].dayfirst: true` or `date_format` in programme.yaml (--activity uk.csv takes "
            "the settings of reporting.activity[0], the entry for activity.csv)") in " ".join(result.stderr.split())


def test_a_report_before_the_programme_starts_judges_no_goal(small_programme, run_cli):
    import json

    folder = small_programme("future", "id,name,email\nM1,Ann,m1@x.org\n", "id,name,email\nE1,Eve,e1@x.org\n",
                             design={"start_date": "2099-03-02"},
                             goals=[{"name": "Pairs meet", "kpi": "sessions_held", "target": 10},
                                    {"name": "Most take part", "kpi": "participation_rate", "target": 0.6}])
    result = run_cli("report", folder)
    assert result.exit_code in (0, 1), result.output
    data = json.loads((folder / "out" / "report.json").read_text())
    verdict = "The programme has not started yet (it starts on 02 March 2099); its 2 goals are judged from then."
    assert data["verdict"] == verdict
    assert "missed" not in result.stdout and data["programme_elapsed"] == 0.0


def test_activity_of_people_design_eligibility_excludes_is_not_counted(tmp_path, run_cli):
    events = [("2026-02-03 10:00", "session", "m1", "e1", "60", "", ""),
              ("2026-02-27 16:00", "survey_response", "", "e1", "", "4", ""),
              ("2026-02-27 17:00", "survey_response", "", "e6", "", "1", "")]   # e6 (IT) is excluded
    folder = make_programme(tmp_path / "p", events=events)
    yaml_file = folder / "programme.yaml"
    yaml_file.write_text(yaml_file.read_text().replace(
        "design: {start_date: 2026-02-02, length_weeks: 4}",
        "design: {start_date: 2026-02-02, length_weeks: 4, eligibility: {mentees: ['mentee.department != \"IT\"']}}"))
    result = run_cli("report", folder, "--period", "2026-02-02..2026-03-01")
    assert result.exit_code == 0, _output(result)
    data = json.loads((folder / "out" / "report.json").read_text())
    assert data["kpis"]["satisfaction_mean"] == 4.0            # e1's rating alone, not e6's 1
    assert data["data_quality"]["events_used"] == 2
    assert "1 event(s) of people design.eligibility excludes are not counted." in data["data_quality"]["notes"]
