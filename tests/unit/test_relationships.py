"""relationships.csv: reading (any flavour, ids in any case), state per pair, validation naming the row,
appends that never lose a row and queue up under the lock."""

from __future__ import annotations

import multiprocessing
from datetime import date
from pathlib import Path

import pytest

from mentorctl.programme import load_programme
from mentorctl.relationships import (
    EndReason,
    RelationshipError,
    Status,
    end_pair,
    extend_pair,
    load_lifecycle,
    log_path,
    pause_pair,
    relationship_figures,
)
from mentorctl.roster import load_participants

MENTORS = "id,name,email\nM1,Ann,m1@x.org\nM2,Bob,m2@x.org\nM3,Cy,m3@x.org\n"
MENTEES = "id,name,email\nE1,Eve,e1@x.org\nE2,Fay,e2@x.org\nE3,Gil,e3@x.org\nE4,Hal,e4@x.org\n"
START = date(2027, 3, 1)


@pytest.fixture
def programme(small_programme):
    folder = small_programme("rel", MENTORS, MENTEES)
    (folder / "out").mkdir()
    (folder / "out" / "matches.csv").write_text("mentee_id,mentor_id,score\nE1,M1,1\nE2,M2,1\nE3,M3,1\n")
    return folder


def load(folder: Path, today: date = date(2027, 6, 1)):
    prog = load_programme(folder)
    participants = load_participants(prog)
    return prog, participants, load_lifecycle(prog, participants, today)


def test_pairs_of_matches_csv_start_on_the_programme_start(programme):
    _, _, life = load(programme)
    assert [(r.mentee_id, r.mentor_id, r.start, r.status) for r in life.state.relationships] == [
        ("E1", "M1", START, Status.ACTIVE), ("E2", "M2", START, Status.ACTIVE), ("E3", "M3", START, Status.ACTIVE)]
    assert life.state.relationships[0].planned_end == date(2027, 8, 30)  # 26 weeks


def test_end_pause_extend_are_appended_and_replayed(programme):
    prog, participants, _ = load(programme)
    end_pair(prog, participants, "e1", "m1", EndReason.NOT_A_FIT, on=date(2027, 4, 1), note="chemistry",
             rematch=True)
    pause_pair(prog, participants, "E2", "M2", on=date(2027, 4, 10))
    extend_pair(prog, participants, "E3", "M3", until=date(2027, 10, 1), on=date(2027, 5, 1))
    _, _, life = load(programme)
    state = life.state
    one, two, three = state.relationships
    assert (one.status, one.ended_on, one.end_reason, one.note) == (Status.ENDED, date(2027, 4, 1),
                                                                    EndReason.NOT_A_FIT, "chemistry")
    assert one.ended_early
    assert (two.status, two.paused_on) == (Status.PAUSED, date(2027, 4, 10))
    assert three.planned_end == date(2027, 10, 1)
    assert [(w.person_id, w.since, w.rematch) for w in state.waiting] == [("E1", date(2027, 4, 1), True)]
    # the state on an earlier day replays only the rows up to it
    earlier = life.on(date(2027, 4, 5))
    assert [r.status for r in earlier.relationships] == [Status.ENDED, Status.ACTIVE, Status.ACTIVE]
    # the pairs of matches.csv were written down as start rows, so a new matches.csv cannot lose them
    text = log_path(prog).read_text()
    assert text.splitlines()[0] == "date,action,mentee_id,mentor_id,reason,until,note"
    assert text.count(",start,") == 3 and "2027-04-01,end,E1,M1,not-a-fit,,chemistry" in text
    (programme / "out" / "matches.csv").write_text("mentee_id,mentor_id,score\n")
    _, _, again = load(programme)
    assert [r.key for r in again.state.relationships] == [("E1", "M1"), ("E2", "M2"), ("E3", "M3")]


def test_resume_after_pause(programme):
    prog, participants, _ = load(programme)
    pause_pair(prog, participants, "E2", "M2", on=date(2027, 4, 10))
    pause_pair(prog, participants, "E2", "M2", on=date(2027, 4, 20), resume=True)
    _, _, life = load(programme)
    assert life.state.get("E2", "M2").status is Status.ACTIVE
    assert life.on(date(2027, 4, 15)).get("E2", "M2").status is Status.PAUSED


@pytest.mark.parametrize(("action", "message"), [
    (lambda p, r: end_pair(p, r, "E1", "M2", EndReason.OTHER, on=date(2027, 4, 1)),
     "there is no relationship between mentee E1 and mentor M2"),
    (lambda p, r: end_pair(p, r, "E1", "M1", EndReason.OTHER, on=date(2027, 2, 1)),
     r"end on 2027-02-01 is before the pair E1 – M1 started \(2027-03-01\)"),
    (lambda p, r: extend_pair(p, r, "E1", "M1", until=date(2027, 1, 1), on=date(2027, 4, 1)),
     "2027-01-01 is not after the start"),
])
def test_bad_actions_write_nothing(programme, action, message):
    prog, participants, _ = load(programme)
    with pytest.raises(RelationshipError, match=message) as caught:
        action(prog, participants)
    assert "nothing was written" in str(caught.value)
    assert not log_path(prog).exists()


def test_pause_of_an_ended_pair_is_refused_and_the_log_kept(programme):
    prog, participants, _ = load(programme)
    end_pair(prog, participants, "E1", "M1", EndReason.COMPLETED, on=date(2027, 4, 1))
    before = log_path(prog).read_bytes()
    with pytest.raises(RelationshipError, match="already ended on 2027-04-01"):
        pause_pair(prog, participants, "E1", "M1", on=date(2027, 4, 2))
    assert log_path(prog).read_bytes() == before


def test_hand_edited_log_any_flavour_ids_in_any_case(programme):
    # semicolons, Windows-1252, other headings, lower-case ids: read like a roster
    (programme / "relationships.csv").write_bytes(
        "Date;Action;Mentee;Mentor;Reason;Until;Notes\r\n2027-04-01;END;e1;m1;no-show;;José never came\r\n"
        .encode("cp1252"))
    prog, participants, life = load(programme)
    assert life.state.get("E1", "M1").end_reason is EndReason.NO_SHOW
    pause_pair(prog, participants, "e2", "M2", on=date(2027, 4, 3))
    data = log_path(prog).read_bytes()
    assert data.startswith("Date;Action;Mentee;Mentor;Reason;Until;Notes\r\n2027-04-01;END;e1;m1;no-show;;José"
                           .encode("cp1252"))
    assert data.endswith(b"2027-04-03;pause;E2;M2;;;\r\n")


def test_bad_rows_are_all_reported_with_row_and_column(programme):
    (programme / "relationships.csv").write_text(
        "date,action,mentee_id,mentor_id,reason\n2027-04-01,end,E1,M1,bored\n2027-13-01,pause,E2,M2,\n"
        "2027-04-01,hug,E3,M3,\n")
    with pytest.raises(RelationshipError) as caught:
        load(programme)
    text = str(caught.value)
    assert text.startswith("relationships.csv, row 2, column reason: 'bored' is not a reason for ending")
    assert "row 3, column date: '2027-13-01' is not a date" in text
    assert "row 4, column action: 'hug' is not an action" in text


def test_a_row_referring_to_nobody(programme):
    (programme / "relationships.csv").write_text("date,action,mentee_id,mentor_id\n2027-04-01,start,E9,M1\n")
    with pytest.raises(RelationshipError, match="row 2, column mentee_id: 'E9' is on no roster"):
        load(programme)
    (programme / "relationships.csv").write_text("date,action,mentee_id,mentor_id\n2027-04-01,pause,E4,M1\n")
    with pytest.raises(RelationshipError, match="row 2, column mentee_id: the pair E4 – M1 never started"):
        load(programme)


def test_figures(programme):
    prog, participants, _ = load(programme)
    end_pair(prog, participants, "E1", "M1", EndReason.NOT_A_FIT, on=date(2027, 3, 31), rematch=True)
    end_pair(prog, participants, "E2", "M2", EndReason.COMPLETED, on=date(2027, 8, 30))
    _, _, life = load(programme, date(2027, 9, 10))
    figures = relationship_figures(life.state)
    assert (figures.started, figures.active, figures.ended, figures.ended_completed, figures.ended_early) == \
        (3, 1, 2, 1, 1)
    # durations 30 (E1), 182 (E2) and 193 days (E3, still going on 10 September): median 182
    assert figures.median_duration_days == 182
    # all three are judged (ended or past 30 August); E2 and E3 reached their planned length
    assert figures.reached_planned_length == round(2 / 3, 4)
    assert (figures.waitlist, figures.median_wait_days, figures.rematches) == (1, 163, 1)


def _append_many(folder: str, mentee: str, mentor: str, count: int) -> None:
    prog = load_programme(folder)
    participants = load_participants(prog)
    for n in range(count):
        extend_pair(prog, participants, mentee, mentor, until=date(2027, 10, 1 + n), on=date(2027, 4, 1))


def test_two_writers_at_once_lose_nothing(programme):
    prog, participants, _ = load(programme)
    pause_pair(prog, participants, "E3", "M3", on=date(2027, 4, 1))  # freezes the starts first
    context = multiprocessing.get_context("fork")
    workers = [context.Process(target=_append_many, args=(str(programme), e, m, 8))
               for e, m in (("E1", "M1"), ("E2", "M2"))]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(60)
        assert worker.exitcode == 0
    lines = log_path(prog).read_text().splitlines()
    assert len(lines) == 1 + 3 + 1 + 16
    assert sum(",extend,E1,M1," in line for line in lines) == 8
    assert sum(",extend,E2,M2," in line for line in lines) == 8


def test_report_section_follow_up_and_suppression(programme):
    import pandas as pd

    from mentorctl.relationships import relationships_section

    prog, participants, _ = load(programme)
    end_pair(prog, participants, "E1", "M1", EndReason.NOT_A_FIT, on=date(2027, 3, 31))
    _, _, life = load(programme, date(2027, 5, 1))
    activity = pd.DataFrame({"timestamp": pd.to_datetime(["2027-03-04 10:00", "2027-03-11 10:00"]).tz_localize("UTC"),
                             "event": ["session", "session"], "mentee_id": ["E2", "E2"], "mentor_id": ["M2", "M2"]})
    survey = pd.DataFrame({"participant_id": ["E3", "M3", "E2"], "satisfaction": [5.0, 2.0, 4.0],
                           "pairing_fit": ["good fit", "not a fit", "good fit"]})
    section = relationships_section(prog, life.state, activity, survey, min_group_size=5)
    # E2 – M2 met 3 days after the start; E3 – M3 never met; E2 – M2 is quiet since 11 March (> 28 days)
    assert section.median_days_to_first_meeting == 3
    assert [(f.mentee_id, f.reason) for f in section.follow_up] == [
        ("E2", "inactive"), ("E3", "no first meeting"), ("E3", "not a fit"), ("E3", "ratings diverge")]
    # one early ending is a group smaller than 5: hidden in the report, and no pair is named there
    assert section.as_dict()["ended_by_reason"]["not-a-fit"] == "<5"
    assert section.as_dict()["follow_up_pairs"] == 4 and "E3" not in str(section.as_dict())


# --------------------------------------------------------------------------- survey answers tied to a pair

REMATCHED_LOG = ("date,action,mentee_id,mentor_id,reason,until,note\n"
                 "2027-03-01,start,E1,M1,,,\n2027-03-01,start,E2,M3,,,\n"
                 "2027-04-01,end,E1,M1,not-a-fit,,\n2027-04-01,rematch,E1,,,,\n"
                 "2027-04-10,start,E1,M2,,,\n")


@pytest.fixture
def rematched(small_programme):
    """E1 – M1 ended on 1 April, E1 rematched with M2 from 10 April; E2 – M3 runs throughout."""

    made = []

    def make(survey_csv: str, columns: dict[str, str] | None = None, **survey):
        made.append(1)
        folder = small_programme(f"rematched{len(made)}", MENTORS, MENTEES,
                                 reporting={"survey": {"path": "survey.csv", "columns": columns or {}, **survey}})
        (folder / "relationships.csv").write_text(REMATCHED_LOG)
        (folder / "survey.csv").write_text(survey_csv)
        return folder

    return make


def flags(folder: Path):
    from mentorctl.activity import read_survey
    from mentorctl.relationships import survey_flags

    prog, participants, life = load(folder, date(2027, 5, 1))
    table = read_survey(prog, participants=participants)
    found = survey_flags(life.state, table.frame, source=table.source,
                         warned_rows={f.location.row for f in table.warnings})
    return found, table


def test_an_old_not_a_fit_answer_about_the_ended_pair_is_not_applied_to_the_new_pair(rematched):
    # E1 said "not a fit" about M1 (by name); E1 is now with M2: the answer names the old partner
    found, _ = flags(rematched("participant_id,pairing_fit,partner\ne1@x.org,Not a fit,Ann\n"
                               "m1@x.org,not a fit,E1\n"))
    assert found.follow_up == ()
    # M1 has no current pair: nothing to apply it to, nothing to count
    assert found.warnings == ("1 survey answer is about an earlier pair and was not applied to follow-ups "
                              "(survey.csv row 2).",)


def test_a_new_answer_naming_the_new_partner_flags_the_new_pair(rematched):
    found, _ = flags(rematched("Your email,How is it going?,Who is your mentor?\n"
                               "e1@x.org,Not a fit,M1\n"          # about M1: not applied
                               "E1,Not-a-fit.,bob\n"              # about M2, by name in any case: applied
                               "e2@x.org,good fit,m3@x.org\n",
                               {"participant_id": "Your email", "pairing_fit": "How is it going?",
                                "partner": "Who is your mentor?"}))
    assert [(f.mentee_id, f.mentor_id, f.reason, f.detail) for f in found.follow_up] == [
        ("E1", "M2", "not a fit", "E1 answered 'not a fit'")]
    assert found.warnings == ("1 survey answer is about an earlier pair and was not applied to follow-ups "
                              "(survey.csv row 2).",)


def test_without_a_partner_an_answer_applies_when_submitted_on_or_after_the_pair_started(rematched):
    found, _ = flags(rematched(
        "participant_id,pairing_fit,submitted\n"
        "E1,not a fit,2027-03-20\n"      # before E1 – M2 began (10 April): about M1
        "M2,good fit,2027-04-25\n"       # the later answer by date counts, whatever the row order …
        "M2,not a fit,2027-04-12\n"
        "E2,not a fit,09/04/2027\n"      # day first: 9 April, after E2 – M3 began
        "E2,good fit,\n",                # no partner, no date: cannot be tied
        dayfirst=True))
    assert [(f.mentee_id, f.mentor_id, f.detail) for f in found.follow_up] == [
        ("E2", "M3", "E2 answered 'not a fit' on 2027-04-09")]
    assert found.warnings == (
        "1 survey answer is about an earlier pair and was not applied to follow-ups (survey.csv row 2).",
        "1 survey answer names no partner and has no submitted date, so it cannot be tied to a pair and was not "
        "applied to follow-ups (survey.csv row 6).")


def test_with_partner_and_date_both_must_hold(rematched):
    # names M2, but submitted before E1 – M2 began: not about this pair
    found, _ = flags(rematched("participant_id,pairing_fit,partner,submitted\nE1,not a fit,M2,2027-03-20\n"
                               "E1,not a fit,M2,2027-04-11T09:00\n"))
    assert [(f.mentor_id, f.detail) for f in found.follow_up] == [("M2", "E1 answered 'not a fit' on 2027-04-11")]
    assert found.warnings == ("1 survey answer is about an earlier pair and was not applied to follow-ups "
                              "(survey.csv row 2).",)


def test_an_unknown_partner_is_a_row_warning_with_did_you_mean_and_the_answer_is_not_applied(rematched):
    found, table = flags(rematched("participant_id,pairing_fit,partner\nE2,not a fit,M03\nE1,not a fit,E2\n"))
    assert [str(w) for w in table.warnings] == [
        "survey.csv, row 2, column partner: 'M03' matches no person on the rosters (did you mean 'M3'?): the "
        "answer is not applied to any pair's follow-ups; write the partner's id, email or name"]
    assert found.follow_up == ()
    # row 2 has its own warning and is not counted again; row 3 names someone E1 was never paired with
    assert found.warnings == ("1 survey answer names a partner the person is not paired with and was not "
                              "applied to follow-ups (survey.csv row 3); check the partner column.",)


def test_ratings_diverge_compares_only_answers_about_the_pair(rematched):
    # E1's latest row rates the old pair 1; about M2 (rated 5 by M2) E1 said 4: no divergence
    answers = "participant_id,satisfaction,partner\nE1,4,M2\nM2,5,E1\nE1,1,M1\n"
    found, _ = flags(rematched(answers))
    assert found.follow_up == ()
    # the same answers without the partner column: E1's latest rating (1) is taken for E1 – M2, as before
    legacy, _ = flags(rematched(answers.replace(",partner", ",comment")))
    assert [(f.mentor_id, f.reason, f.detail) for f in legacy.follow_up] == [
        ("M2", "ratings diverge", "satisfaction 1 (E1) vs 5 (M2)")]


def test_without_partner_or_submitted_answers_count_as_before_and_a_warning_says_so(rematched):
    found, _ = flags(rematched("participant_id,pairing_fit,Timestamp\nE1,not a fit,2027-03-20\n"
                               "E2,good fit,2027-03-20\n"))
    assert [(f.mentee_id, f.mentor_id, f.reason) for f in found.follow_up] == [("E1", "M2", "not a fit")]
    assert found.warnings == (
        "survey.csv has no partner or submitted column, so survey answers cannot be tied to a pair: each "
        "person's latest answer counts for their current pair; 1 survey answer comes from someone who had an "
        "earlier pair and may be about it (survey.csv row 2). Add a partner column (the other person's id, "
        "email or name) or a submitted date (its timestamp column may be that date: map it as submitted), "
        "mapped under reporting.survey.columns.",)
