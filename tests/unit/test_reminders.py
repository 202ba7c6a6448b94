"""Reminder schedule, recipients, due/catch-up logic, inactivity, the lock and the crontab seam."""

from __future__ import annotations

import threading
from datetime import date, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pandas as pd
import pytest

from mentorctl import crontab
from mentorctl.errors import ExitCode, LockedError, ProgrammeError
from mentorctl.programme import Programme
from mentorctl.reminders import (
    Directory,
    due_reminders,
    inactive_pairs,
    localize,
    programme_schedule,
    remind_lock,
    reminder_key,
    reminder_times,
    upcoming_reminders,
)

LONDON = ZoneInfo("Europe/London")


def make_programme(tmp_path: Path, reminders: list[dict], *, start: str = "2026-01-05", weeks: int = 26,
                   tz: str = "Europe/London", training: list[dict] | None = None, peer: bool = False) -> Programme:
    data = {
        "programme": {"name": "Test", "timezone": tz, "coordinator": {"name": "Cora", "email": "cora@example.org"}},
        "design": {"start_date": start, "length_weeks": weeks, "type": "peer" if peer else "one-to-one"},
        "rosters": {"participants": "p.csv"} if peer else {"mentors": "mentors.csv", "mentees": "mentees.csv"},
        "reminders": reminders,
        "schedule": {"training": training or []},
        "private": ["salary"],
        "reporting": {"activity": ["activity.csv"]},  # the tests pass the activity log in directly
    }
    programme = Programme.model_validate(data)
    programme._path = tmp_path / "programme.yaml"
    return programme


def roster(role: str, ids: list[str]) -> SimpleNamespace:
    frame = pd.DataFrame({"id": ids, "name": [f"Name {i}" for i in ids],
                          "email": [f"{i.lower()}@example.org" for i in ids],
                          "salary": [1000.0] * len(ids), "_row": range(2, len(ids) + 2)})
    return SimpleNamespace(role=role, frame=frame)


def people(mentors: list[str], mentees: list[str]) -> SimpleNamespace:
    return SimpleNamespace(mentors=roster("mentor", mentors), mentees=roster("mentee", mentees), participants=None)


def matches(pairs: list[tuple[str, str]]) -> pd.DataFrame:
    return pd.DataFrame({"mentor_id": [p[0] for p in pairs], "mentee_id": [p[1] for p in pairs],
                         "mentor_name": [f"Name {p[0]}" for p in pairs], "mentee_name": [f"Name {p[1]}" for p in pairs]})


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=LONDON) if "+" not in text else datetime.fromisoformat(text)


CHECKIN = {"id": "checkin", "every": "2w", "to": "pairs", "template": "checkin.md.j2"}


# --- occurrences -----------------------------------------------------------------------------------------

def test_every_runs_from_start_plus_step_until_before_end(tmp_path):
    programme = make_programme(tmp_path, [CHECKIN])
    times = reminder_times(programme, programme.reminders[0])
    assert len(times) == 12
    assert times[0] == datetime(2026, 1, 19, 9, 0, tzinfo=LONDON)
    assert times[-1] == datetime(2026, 6, 22, 9, 0, tzinfo=LONDON)
    assert all(t.date() < programme.design.end_date for t in times)


def test_every_keeps_local_time_across_dst_and_offset_changes(tmp_path):
    # 2026-03-29: the UK moves to BST; a weekly 09:00 reminder stays at 09:00 local.
    programme = make_programme(tmp_path, [{"id": "w", "every": "1w", "to": "mentors", "template": "t.md.j2",
                                           "time": "09:00"}], start="2026-03-16", weeks=4)
    times = reminder_times(programme, programme.reminders[0])
    assert [t.isoformat() for t in times] == ["2026-03-23T09:00:00+00:00", "2026-03-30T09:00:00+01:00",
                                             "2026-04-06T09:00:00+01:00"]
    assert {t.hour for t in times} == {9}


def test_at_week_13_is_start_plus_12_weeks(tmp_path):
    programme = make_programme(tmp_path, [{"id": "s", "at": "week 13", "to": "everyone", "template": "s.md.j2",
                                           "time": "10:30"}])
    assert reminder_times(programme, programme.reminders[0]) == (datetime(2026, 3, 30, 10, 30, tzinfo=LONDON),)


def test_at_a_date(tmp_path):
    programme = make_programme(tmp_path, [{"id": "s", "at": "2026-02-14", "to": "everyone", "template": "s.md.j2"}])
    assert reminder_times(programme, programme.reminders[0]) == (datetime(2026, 2, 14, 9, 0, tzinfo=LONDON),)


def test_cron_in_programme_timezone_across_dst(tmp_path):
    programme = make_programme(tmp_path, [{"id": "d", "cron": "0 9 * * MON", "to": "coordinator",
                                           "template": "digest.md.j2"}], start="2026-03-20", weeks=2)
    times = reminder_times(programme, programme.reminders[0])
    assert [t.isoformat() for t in times] == ["2026-03-23T09:00:00+00:00", "2026-03-30T09:00:00+01:00"]


def test_cron_at_nonexistent_and_ambiguous_times_fires_once_a_day(tmp_path):
    # 01:30 happens twice on 2026-10-25 in London; 01:30 does not exist on 2026-03-29.
    programme = make_programme(tmp_path, [{"id": "n", "cron": "30 1 * * *", "to": "coordinator",
                                           "template": "d.md.j2"}], start="2026-03-28", weeks=31)
    times = reminder_times(programme, programme.reminders[0])
    by_day = pd.Series([t.date() for t in times]).value_counts()
    assert by_day.max() == 1
    spring = [t for t in times if t.date() == date(2026, 3, 29)]
    assert [t.isoformat() for t in spring] == ["2026-03-29T02:30:00+01:00"]
    autumn = [t for t in times if t.date() == date(2026, 10, 25)]
    assert [t.isoformat() for t in autumn] == ["2026-10-25T01:30:00+01:00"]


def test_cron_in_another_zone_is_local_to_that_zone(tmp_path):
    programme = make_programme(tmp_path, [{"id": "d", "cron": "0 9 * * *", "to": "coordinator",
                                           "template": "d.md.j2"}], tz="America/New_York", weeks=1)
    first = reminder_times(programme, programme.reminders[0])[0]
    assert first.isoformat() == "2026-01-05T09:00:00-05:00"


def test_training_reminder_days_before_and_expires_at_session(tmp_path):
    programme = make_programme(tmp_path, [], training=[
        {"title": "Mentor training", "start": "2026-03-31 14:00", "audience": "mentors"}])
    (item,) = programme_schedule(programme)
    assert item.id == "training-mentor-training"
    # two days before, across the DST change: same local wall-clock time
    assert item.times == (datetime(2026, 3, 29, 14, 0, tzinfo=LONDON),)
    assert item.latest_due(at("2026-03-30T08:00:00"))[0] == item.times[0]
    assert item.latest_due(at("2026-03-31T14:00:00"))[0] is None


def test_localize_moves_a_time_in_the_spring_gap_forward():
    assert localize(datetime(2026, 3, 29, 1, 30), LONDON).isoformat() == "2026-03-29T02:30:00+01:00"


# --- recipients ------------------------------------------------------------------------------------------

def test_directory_audiences_and_private_fields(tmp_path):
    programme = make_programme(tmp_path, [])
    directory = Directory(programme, people(["M1", "M2"], ["E1", "E2", "E3"]), matches([("M1", "E1"), ("M1", "E2")]))
    from mentorctl.programme import Audience

    assert [r.id for r in directory.audience(Audience.MENTORS)] == ["mentor:M1", "mentor:M2"]
    assert len(directory.audience(Audience.EVERYONE)) == 5
    pairs = {r.id: r for r in directory.audience(Audience.PAIRS)}
    assert set(pairs) == {"mentor:M1", "mentee:E1", "mentee:E2"}
    assert [c["id"] for c in pairs["mentor:M1"].counterparts] == ["E1", "E2"]
    assert "salary" not in pairs["mentor:M1"].profile
    assert all("salary" not in c for c in pairs["mentor:M1"].counterparts)
    assert directory.audience(Audience.COORDINATOR)[0].email == "cora@example.org"


def test_peer_pairs_get_both_directions(tmp_path):
    programme = make_programme(tmp_path, [], peer=True)
    everyone = roster("participant", ["P1", "P2", "P3", "P4"])
    directory = Directory(programme, SimpleNamespace(mentors=everyone, mentees=everyone, participants=everyone),
                          matches([("P1", "P2"), ("P3", "P1")]))
    from mentorctl.programme import Audience

    by_id = {r.id: r for r in directory.audience(Audience.PAIRS)}
    assert sorted(c["id"] for c in by_id["participant:P1"].counterparts) == ["P2", "P3"]
    assert len(directory.audience(Audience.EVERYONE)) == 4


# --- due and catch-up ------------------------------------------------------------------------------------

def directory_for(programme: Programme) -> Directory:
    return Directory(programme, people(["M1"], ["E1"]), matches([("M1", "E1")]))


def test_nothing_due_before_the_first_occurrence(tmp_path):
    programme = make_programme(tmp_path, [CHECKIN])
    plan = due_reminders(programme, at("2026-01-19T08:59:00"), directory_for(programme))
    assert plan.due == [] and plan.skipped == []


def test_due_at_the_occurrence_for_both_people(tmp_path):
    programme = make_programme(tmp_path, [CHECKIN])
    plan = due_reminders(programme, at("2026-01-19T09:00:00"), directory_for(programme))
    assert sorted(d.key for d in plan.due) == [
        "reminder:checkin:2026-01-19:mentee:E1", "reminder:checkin:2026-01-19:mentor:M1"]


def test_moving_the_time_of_day_never_sends_again_what_went_that_day(tmp_path):
    """An occurrence is the reminder and its local day: 09:00 → 09:30 (or 17:00) is the same occurrence."""
    sent_at_nine = make_programme(tmp_path, [CHECKIN])
    plan = due_reminders(sent_at_nine, at("2026-01-19T09:05:00"), directory_for(sent_at_nine))
    recorded = {d.key: "sent" for d in plan.due}
    assert len(recorded) == 2
    for moved in ("09:30", "17:00", "08:00"):
        programme = make_programme(tmp_path, [{**CHECKIN, "time": moved}])
        later = due_reminders(programme, at("2026-01-19T18:00:00"), directory_for(programme), recorded=recorded)
        assert later.due == [] and later.skipped == [], moved
    # the next fortnight still goes, at the new time
    programme = make_programme(tmp_path, [{**CHECKIN, "time": "09:30"}])
    nxt = due_reminders(programme, at("2026-02-02T09:31:00"), directory_for(programme), recorded=recorded)
    assert {d.occurrence for d in nxt.due} == {at("2026-02-02T09:30:00")} and len(nxt.due) == 2


def test_ledger_keys_of_older_versions_count_as_the_same_occurrence(tmp_path):
    """Keys written with the full date-time (before the day rule) are still recognised: nothing is re-sent."""
    programme = make_programme(tmp_path, [{**CHECKIN, "time": "09:30"}])
    legacy = {"reminder:checkin:2026-01-19T09:00:00+00:00:mentor:M1": "sent",
              "reminder:checkin:2026-01-19T09:00:00+00:00:mentee:E1": "sending"}
    plan = due_reminders(programme, at("2026-01-19T10:00:00"), directory_for(programme), recorded=legacy)
    assert plan.due == []
    assert plan.unknown == ["reminder:checkin:2026-01-19:mentee:E1"]


def test_a_cron_firing_twice_a_day_keeps_both_occurrences_apart(tmp_path):
    twice = {"id": "daily", "cron": "0 9,17 * * *", "to": "pairs", "template": "checkin.md.j2"}
    programme = make_programme(tmp_path, [twice])
    morning = due_reminders(programme, at("2026-01-06T09:10:00"), directory_for(programme))
    recorded = {d.key: "sent" for d in morning.due}
    assert all(":2026-01-06T09:00:" in k for k in recorded)
    evening = due_reminders(programme, at("2026-01-06T17:10:00"), directory_for(programme), recorded=recorded)
    assert len(evening.due) == 2 and all(":2026-01-06T17:00:" in d.key for d in evening.due)


def test_catch_up_sends_only_the_latest_and_skips_older(tmp_path):
    programme = make_programme(tmp_path, [CHECKIN])
    # cron was down from week 2 to week 7: occurrences on 19 Jan, 2 Feb, 16 Feb are due; only 16 Feb goes
    plan = due_reminders(programme, at("2026-02-20T10:00:00"), directory_for(programme))
    assert {d.occurrence.date() for d in plan.due} == {date(2026, 2, 16)}
    assert len(plan.due) == 2
    assert sorted(s.key for s in plan.skipped) == sorted(
        reminder_key("checkin", at(f"2026-{d}T09:00:00"), r) for d in ("01-19", "02-02") for r in ("mentor:M1", "mentee:E1"))


def test_recorded_keys_are_not_due_again_and_failed_are_retried(tmp_path):
    programme = make_programme(tmp_path, [CHECKIN])
    now = at("2026-01-20T10:00:00")
    mentor_key = reminder_key("checkin", at("2026-01-19T09:00:00"), "mentor:M1")
    mentee_key = reminder_key("checkin", at("2026-01-19T09:00:00"), "mentee:E1")
    plan = due_reminders(programme, now, directory_for(programme), recorded={mentor_key: "sent", mentee_key: "failed"})
    assert [d.key for d in plan.due] == [mentee_key]
    plan = due_reminders(programme, now, directory_for(programme), recorded={mentor_key: "sending"})
    assert plan.unknown == [mentor_key] and [d.key for d in plan.due] == [mentee_key]
    plan = due_reminders(programme, now, directory_for(programme), recorded={mentor_key: "sending"},
                         retry_unknown=True)
    assert sorted(d.key for d in plan.due) == sorted([mentor_key, mentee_key])


def test_nothing_due_after_the_programme_ends(tmp_path):
    programme = make_programme(tmp_path, [CHECKIN])
    assert due_reminders(programme, at("2026-07-06T00:00:00"), directory_for(programme)).due == []
    assert len(due_reminders(programme, at("2026-07-05T23:00:00"), directory_for(programme)).due) == 2


def test_pairs_reminder_without_matches_is_a_configuration_error(tmp_path):
    programme = make_programme(tmp_path, [CHECKIN])
    directory = Directory(programme, people(["M1"], ["E1"]), None)
    with pytest.raises(ProgrammeError, match="run `mentorctl match` first"):
        due_reminders(programme, at("2026-01-20T10:00:00"), directory)


def test_upcoming_lists_occurrences_in_window(tmp_path):
    programme = make_programme(tmp_path, [CHECKIN, {"id": "s", "at": "week 4", "to": "everyone", "template": "s.md.j2"}])
    found = upcoming_reminders(programme, at("2026-01-19T09:00:00"), at("2026-02-02T09:00:00"))
    assert [(t.date().isoformat(), item.id) for t, item in found] == [("2026-01-26", "s"), ("2026-02-02", "checkin")]


# --- inactivity ------------------------------------------------------------------------------------------

def activity(rows: list[tuple[str, str, str, str]]) -> pd.DataFrame:
    return pd.DataFrame({"timestamp": pd.to_datetime([r[0] for r in rows], utc=True),
                         "event": [r[1] for r in rows], "mentor_id": [r[2] for r in rows],
                         "mentee_id": [r[3] for r in rows]})


def test_inactive_pairs_are_exactly_those_without_recent_sessions(tmp_path):
    programme = make_programme(tmp_path, [])
    pairs = matches([("M1", "E1"), ("M2", "E2"), ("M3", "E3"), ("M4", "E4"), ("M5", "E5")])
    log = activity([
        ("2026-02-20T10:00:00Z", "session", "M1", "E1"),    # recent: active
        ("2026-01-20T10:00:00Z", "session", "M2", "E2"),    # 36 days before now: inactive
        ("2026-02-25T10:00:00Z", "message", "M3", "E3"),    # not a session: inactive
        ("2026-03-10T10:00:00Z", "session", "M4", "E4"),    # in the future of `now`: ignored → inactive
        ("2026-02-10T12:00:00Z", "session", "M5", "E5"),    # exactly 21 days before now: inactive
    ])
    now = at("2026-03-03T12:00:00")
    found = inactive_pairs(programme, pairs, log, now, timedelta(days=21))
    assert sorted(found["mentor_id"]) == ["M2", "M3", "M4", "M5"]


def test_late_run_judges_inactivity_at_the_occurrence_and_since(tmp_path):
    programme = make_programme(tmp_path, [])
    pairs = matches([("M1", "E1"), ("M2", "E2")])
    log = activity([("2026-01-27T12:00:00Z", "session", "M1", "E1"),    # active when the nudge fell due
                    ("2026-03-04T12:00:00Z", "session", "M2", "E2")])   # inactive then, but met since
    occurrence, late = at("2026-02-16T09:00:00"), at("2026-03-05T10:00:00")
    assert inactive_pairs(programme, pairs, log, late, timedelta(days=21), as_of=occurrence).empty
    assert list(inactive_pairs(programme, pairs, log, occurrence, timedelta(days=21), as_of=occurrence)
                ["mentor_id"]) == ["M2"]


def test_nobody_is_inactive_before_the_window_has_passed_since_start(tmp_path):
    programme = make_programme(tmp_path, [])
    pairs = matches([("M1", "E1")])
    assert inactive_pairs(programme, pairs, None, at("2026-01-25T09:00:00"), timedelta(days=21)).empty
    assert len(inactive_pairs(programme, pairs, None, at("2026-01-26T09:00:00"), timedelta(days=21))) == 1


def test_nudge_goes_only_to_people_in_inactive_pairs(tmp_path):
    nudge = {"id": "nudge", "every": "1w", "to": "pairs", "when_inactive_for": "21d", "template": "nudge.md.j2"}
    programme = make_programme(tmp_path, [nudge])
    directory = Directory(programme, people(["M1", "M2"], ["E1", "E2", "E3"]),
                          matches([("M1", "E1"), ("M1", "E2"), ("M2", "E3")]))
    log = activity([("2026-02-01T10:00:00Z", "session", "M1", "E1"), ("2026-02-02T10:00:00Z", "session", "M2", "E3")])
    plan = due_reminders(programme, at("2026-02-09T09:00:00"), directory, activity=log)
    by_id = {d.recipient.id: d.recipient for d in plan.due}
    assert set(by_id) == {"mentor:M1", "mentee:E2"}
    assert [c["id"] for c in by_id["mentor:M1"].counterparts] == ["E2"]


def test_an_inactivity_nudge_before_any_match_is_due_to_nobody(tmp_path):
    nudge = {"id": "nudge", "every": "1w", "to": "mentees", "when_inactive_for": "21d", "template": "nudge.md.j2"}
    programme = make_programme(tmp_path, [nudge])
    directory = Directory(programme, people(["M1"], ["E1", "E2"]), None)
    plan = due_reminders(programme, at("2026-02-09T09:00:00"), directory, activity=None)
    assert plan.due == [] and plan.skipped == []


def test_peer_sessions_count_either_way_round(tmp_path):
    programme = make_programme(tmp_path, [], peer=True)
    pairs = matches([("P1", "P2"), ("P3", "P4")])
    log = activity([("2026-02-01T10:00:00Z", "session", "P2", "P1")])
    found = inactive_pairs(programme, pairs, log, at("2026-02-09T09:00:00"), timedelta(days=21))
    assert list(found["mentor_id"]) == ["P3"]


# --- lock ------------------------------------------------------------------------------------------------

def test_second_lock_holder_is_refused_with_exit_code_zero(tmp_path):
    programme = make_programme(tmp_path, [])
    with remind_lock(programme):
        with pytest.raises(LockedError) as caught, remind_lock(programme):
            pass
        assert caught.value.exit_code == ExitCode.OK
        assert "another mentorctl remind is running" in str(caught.value)
    with remind_lock(programme):  # released
        pass


def test_lock_refuses_a_concurrent_thread(tmp_path):
    programme = make_programme(tmp_path, [])
    results: list[str] = []
    entered, release = threading.Event(), threading.Event()

    def holder() -> None:
        with remind_lock(programme):
            entered.set()
            release.wait(10)

    thread = threading.Thread(target=holder)
    thread.start()
    entered.wait(10)
    try:
        with remind_lock(programme):
            results.append("entered")
    except LockedError:
        results.append("locked")
    release.set()
    thread.join()
    assert results == ["locked"]


# --- crontab ---------------------------------------------------------------------------------------------

@pytest.fixture
def crontab_file(tmp_path, monkeypatch) -> Path:
    path = tmp_path / "crontab.txt"
    path.write_text("MAILTO=me@example.org\n0 1 * * * /usr/bin/backup\n")
    monkeypatch.setenv(crontab.CRONTAB_FILE_ENV, str(path))
    return path


def test_crontab_line_is_absolute_and_marked(tmp_path):
    folder = tmp_path / "my programme"
    folder.mkdir()
    line = crontab.crontab_line(folder)
    assert line.startswith("*/15 * * * * /")
    assert f"remind '{folder.resolve()}' --send" in line
    assert f">> '{folder.resolve()}/logs/remind.log' 2>&1" in line
    assert line.endswith(f"# mentorctl:{folder.resolve()}")


def test_install_twice_leaves_one_line_and_keeps_others(tmp_path, crontab_file):
    folder = tmp_path / "prog"
    folder.mkdir()
    first = crontab.install(folder)
    second = crontab.install(folder)
    text = crontab_file.read_text()
    assert first.changed and not second.changed
    assert text.count("# mentorctl:") == 1
    assert text.startswith("MAILTO=me@example.org\n0 1 * * * /usr/bin/backup\n")
    assert (folder / "logs").is_dir()
    assert crontab.installed_line(folder) == first.line


def test_install_replaces_a_changed_line_and_uninstall_removes_only_ours(tmp_path, crontab_file):
    one, two = tmp_path / "one", tmp_path / "two"
    one.mkdir()
    two.mkdir()
    crontab.install(one)
    crontab.install(two)
    crontab.install(one, when="0 * * * *", send=False)
    text = crontab_file.read_text()
    assert text.count("# mentorctl:") == 2
    assert crontab.installed_line(one).startswith("0 * * * * ")
    assert "--send" not in crontab.installed_line(one)
    assert crontab.uninstall(one).changed
    assert not crontab.uninstall(one).changed
    assert crontab.installed_line(one) is None and crontab.installed_line(two) is not None
    assert "/usr/bin/backup" in crontab_file.read_text()


def test_percent_in_path_is_escaped(tmp_path, crontab_file):
    folder = tmp_path / "100%"
    folder.mkdir()
    line = crontab.install(folder).line
    assert "100\\%" in line and "100%" not in line.replace("100\\%", "")
    crontab.install(folder)
    assert crontab_file.read_text().count("# mentorctl:") == 1


def test_reminder_profiles_hide_private_and_internal_fields(tmp_path):
    from mentorctl.people import person_card

    programme = make_programme(tmp_path, [])
    row = {"id": "E1", "name": "Cat", "salary": 50_000, "manager_id": "M9", "preferred_mentors": "M1;M2",
           "department": "Ops", "_row": 2}
    card = person_card(row, programme, role="mentee")
    assert card["profile"] == {"name": "Cat"}      # no profile_fields and no scoring terms: name and email only
    assert card["id"] == "E1" and card["role"] == "mentee" and card["fields"] == []
    assert "salary" not in card and "manager_id" not in card and "preferred_mentors" not in card


def test_no_training_reminder_after_the_programme_ends(tmp_path):
    training = [{"title": "Late training", "start": "2026-07-10 10:00", "audience": "mentees"},
                {"title": "Early training", "start": "2026-01-20 10:00", "audience": "mentees"}]
    programme = make_programme(tmp_path, [], weeks=26, training=training)  # ends 2026-07-06
    from mentorctl.reminders import training_schedule

    by_title = {item.session.title: item for item in training_schedule(programme)}
    assert by_title["Late training"].times == ()
    assert len(by_title["Early training"].times) == 1


def test_training_reminder_gives_the_session_in_the_recipients_own_time_zone(tmp_path):
    from mentorctl.reminders import DueReminder, message_context
    from mentorctl.templating import make_environment, render_message

    programme = make_programme(tmp_path, [], start="2026-06-01", training=[
        {"title": "Mentee training", "start": "2026-07-15 15:00", "audience": "mentees"}])
    group = people(["M1"], ["E1", "E2"])
    group.mentees.frame["timezone"] = ["America/New_York", None]
    directory = Directory(programme, group, matches([("M1", "E1")]))
    (item,) = programme_schedule(programme)
    env = make_environment(programme)
    texts = {}
    for person in directory.audience(item.to):
        due = DueReminder(key="k", reminder=item, occurrence=item.times[0], recipient=person)
        message = render_message(env, item.template, message_context(programme, due, item.times[0], None))
        texts[person.person_id] = message.text
    # 15:00 in London in July (BST) is 10:00 in New York (EDT): the zone, not a fixed offset, decides
    assert "(your time: 10:00)" in texts["E1"]
    assert "your time" not in texts["E2"]                 # no time zone known: the programme's clock only
