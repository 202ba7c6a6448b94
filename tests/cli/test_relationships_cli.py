"""`mentorctl end / pause / resume / extend` and `validate` on the relationships log, end to end."""

from __future__ import annotations

import pytest

MENTORS = "id,name,email\nM1,Ann,m1@x.org\nM2,Bob,m2@x.org\n"
MENTEES = "id,name,email\nE1,Eve,e1@x.org\nE2,Fay,e2@x.org\n"


@pytest.fixture
def programme(small_programme):
    folder = small_programme("rel", MENTORS, MENTEES)
    (folder / "out").mkdir()
    (folder / "out" / "matches.csv").write_text("mentee_id,mentor_id,score\nE1,M1,1\nE2,M2,1\n")
    return folder


def test_end_with_rematch_then_pause_resume_extend(programme, run_cli):
    result = run_cli("end", programme, "e1", "m1", "--reason", "not-a-fit", "--note", "no chemistry",
                     "--on", "2027-04-01", "--rematch")
    assert result.exit_code == 0, result.output
    assert "Ended e1 – m1 on 2027-04-01 (not-a-fit); the mentee will be rematched" in result.stdout
    assert run_cli("pause", programme, "E2", "M2", "--on", "2027-04-02").exit_code == 0
    assert run_cli("resume", programme, "E2", "M2", "--on", "2027-04-09").exit_code == 0
    assert run_cli("extend", programme, "E2", "M2", "--until", "2027-10-01", "--on", "2027-04-10").exit_code == 0
    rows = (programme / "relationships.csv").read_text().splitlines()
    assert rows[3:] == ["2027-04-01,end,E1,M1,not-a-fit,,no chemistry", "2027-04-01,rematch,E1,,,,",
                        "2027-04-02,pause,E2,M2,,,", "2027-04-09,resume,E2,M2,,,",
                        "2027-04-10,extend,E2,M2,,2027-10-01,"]
    assert run_cli("validate", programme).exit_code == 0


@pytest.mark.parametrize(("args", "message"), [
    (("end", "E1", "M2", "--reason", "completed", "--on", "2027-04-01"),
     "Error: there is no relationship between mentee E1 and mentor M2"),
    (("end", "E1", "M1", "--reason", "completed", "--on", "2027-02-01"),
     "Error: end on 2027-02-01 is before the pair E1 – M1 started (2027-03-01); nothing was written"),
    (("end", "E1", "M1", "--reason", "completed", "--on", "1st April"),
     "Error: --on '1st April' is not a date; write YYYY-MM-DD"),
    (("resume", "E1", "M1", "--on", "2027-04-01"), "Error: the pair E1 – M1 is not paused"),
])
def test_bad_input_exits_2_and_writes_nothing(programme, run_cli, args, message):
    result = run_cli(args[0], programme, *args[1:])
    assert result.exit_code == 2
    assert result.stderr.startswith(message)
    assert "Traceback" not in result.output
    assert not (programme / "relationships.csv").exists()


def test_unknown_reason_is_a_usage_error(programme, run_cli):
    result = run_cli("end", programme, "E1", "M1", "--reason", "bored")
    assert result.exit_code == 2
    assert "completed" in result.stderr and "not-a-fit" in result.stderr


def test_pause_of_an_ended_pair(programme, run_cli):
    assert run_cli("end", programme, "E1", "M1", "--reason", "completed", "--on", "2027-04-01").exit_code == 0
    before = (programme / "relationships.csv").read_bytes()
    result = run_cli("pause", programme, "E1", "M1", "--on", "2027-04-05")
    assert result.exit_code == 2
    assert result.stderr.startswith("Error: the pair E1 – M1 already ended on 2027-04-01")
    assert (programme / "relationships.csv").read_bytes() == before


def test_validate_reports_bad_log_rows(programme, run_cli):
    (programme / "relationships.csv").write_text("date,action,mentee_id,mentor_id,reason\n"
                                                 "2027-04-01,end,E1,M1,bored\n2027-04-01,start,E7,M1,\n")
    result = run_cli("validate", programme)
    assert result.exit_code == 2
    assert "relationships.csv, row 2, column reason: 'bored' is not a reason for ending" in result.output
