"""Packs: who gets what for each mentoring type, why-matched reasons, private fields, escaping, hashes."""

from __future__ import annotations

import email
import email.policy
from datetime import UTC, datetime
from pathlib import Path

import icalendar
import pytest

from mentorctl.errors import ProgrammeError, RosterError, TemplateError
from mentorctl.matches import read_matches
from mentorctl.packs import (
    build_packs,
    content_hash,
    outgoing_messages,
    participant_zone,
    public_profile,
    write_packs,
)
from mentorctl.programme import load_programme
from mentorctl.roster import load_participants
from mentorctl.templating import builtin_templates_dir, make_environment, render_message, render_template

MARKER = "PRIVATE-MARKER-7f3a"

YAML = """\
programme:
  name: Test Programme
  organisation: Test Org
  timezone: Europe/London
  coordinator: {{name: Robin, email: robin@example.org}}
purpose: Grow people.
goals: [{{name: "Everyone matched", kpi: relationships_formed, target: 3}}]
design: {{type: {type}, start_date: 2027-01-11, length_weeks: 12, checkin_every: 2w}}
rosters:
{rosters}
private: [gender, date_of_birth]
matching:
  scoring:
    - {{name: skills, expr: "overlap(mentor.skills, mentee.goals)", weight: 3, explain: "your skills and goals overlap"}}
    - {{name: same_site, expr: "mentor.location == mentee.location", weight: 1, explain: "you work at the same site"}}
schedule:
  kickoff: {{title: Kick-off, start: "2027-01-11 16:00", duration_minutes: 60, location: Atrium}}
  training:
    - {{title: Mentor training, start: "2027-01-13 10:00", audience: mentors}}
    - {{title: Mentee training, start: "2027-01-14 10:00", audience: mentees}}
onboarding:
  expectations: {{mentors: [Listen well], mentees: [Bring a goal]}}
  resources: [{{title: Guide, url: "https://example.org/guide"}}]
email:
  from: "Mentoring <mentoring@example.org>"
"""

PEOPLE_HEADER = "id,name,email,location,skills,goals,gender,date_of_birth\n"


def person(pid: str, name: str, location: str = "London") -> str:
    return f"{pid},{name},{pid.lower().replace(' ', '.')}@example.org,{location},python;sql,python,{MARKER},{MARKER}\n"


def make_programme(folder: Path, kind: str, pairs: list[tuple[str, str, float, float]]) -> Path:
    """A small programme of `kind` with a matches file of (mentor, mentee, skills, same_site) rows."""
    folder.mkdir(parents=True, exist_ok=True)
    if kind == "peer":
        rosters = "  participants: people.csv"
        ids = sorted({p for pair in pairs for p in pair[:2]})
        (folder / "people.csv").write_text(PEOPLE_HEADER + "".join(person(i, f"Peer {i}") for i in ids))
    else:
        rosters = "  mentors: mentors.csv\n  mentees: mentees.csv"
        mentors = sorted({p[0] for p in pairs})
        mentees = sorted({p[1] for p in pairs})
        (folder / "mentors.csv").write_text(PEOPLE_HEADER + "".join(person(i, f"Mentor {i}") for i in mentors))
        (folder / "mentees.csv").write_text(PEOPLE_HEADER + "".join(person(i, f"Mentee {i}") for i in mentees))
    (folder / "programme.yaml").write_text(YAML.format(type=kind, rosters=rosters))
    lines = ["mentee_id,mentor_id,score,skills,same_site"]
    lines += [f"{b},{a},{s + t},{s},{t}" for a, b, s, t in pairs]
    (folder / "out").mkdir(exist_ok=True)
    (folder / "out" / "matches.csv").write_text("\n".join(lines) + "\n")
    return folder


def render(folder: Path, **kwargs):
    programme = load_programme(folder)
    participants = load_participants(programme)
    matches = read_matches(programme, participants=participants)
    return programme, build_packs(programme, participants, matches, **kwargs)


def by_id(packs, role: str, pid: str):
    return next(p for p in packs.packs if p.role == role and p.person_id == pid)


def test_one_to_one_mentor_lists_all_mentees_and_mentee_gets_their_mentor(tmp_path):
    folder = make_programme(tmp_path / "p", "one-to-one", [("M1", "E1", 3, 1), ("M1", "E2", 0, 1), ("M2", "E3", 0, 0)])
    _, packs = render(folder)
    assert sorted((p.role, p.person_id) for p in packs.packs) == [
        ("mentee", "E1"), ("mentee", "E2"), ("mentee", "E3"), ("mentor", "M1"), ("mentor", "M2")]
    m1 = by_id(packs, "mentor", "M1")
    assert m1.counterpart_ids == ("E1", "E2")
    assert "Mentee E1" in m1.html and "Mentee E2" in m1.html and "Mentee E3" not in m1.html
    e1 = by_id(packs, "mentee", "E1")
    assert "Mentor M1" in e1.markdown and "Mentor M2" not in e1.markdown
    # why matched: terms with a positive contribution, largest first
    assert e1.markdown.index("You both work on python") < e1.markdown.index("You both work in London")
    # score 0 from the matcher (no scoring term in common) is not a hand-made pair
    e3 = by_id(packs, "mentee", "E3")
    assert "by hand" not in e3.markdown + e3.html
    assert "you meet all of the programme's matching rules" in e3.markdown
    assert "meet all of the programme" in e3.html and "matching rules" in e3.html
    # role-specific training only
    assert "Mentor training" in m1.markdown and "Mentee training" not in m1.markdown
    assert "Mentee training" in e1.markdown and "Mentor training" not in e1.markdown
    assert e1.message.subject == "Welcome to Test Programme: meet your mentor"
    assert m1.message.subject == "Welcome to Test Programme: meet your mentees"


def test_group_mentee_sees_mentor_and_fellow_members(tmp_path):
    folder = make_programme(tmp_path / "p", "group", [("M1", "E1", 1, 1), ("M1", "E2", 1, 1), ("M1", "E3", 1, 1)])
    _, packs = render(folder)
    assert len(packs.packs) == 4
    e1 = by_id(packs, "mentee", "E1")
    assert e1.counterpart_ids == ("M1",) and e1.group_ids == ("E2", "E3")
    assert "Mentee E2 and Mentee E3" in e1.message.text
    assert "Your mentoring group" in by_id(packs, "mentor", "M1").markdown


def test_peer_both_people_get_a_pack(tmp_path):
    folder = make_programme(tmp_path / "p", "peer", [("P1", "P2", 1, 0)])
    _, packs = render(folder)
    assert sorted((p.role, p.person_id, p.counterpart_ids) for p in packs.packs) == [
        ("peer", "P1", ("P2",)), ("peer", "P2", ("P1",))]
    assert "Peer P2" in by_id(packs, "peer", "P1").message.text
    pack = by_id(packs, "peer", "P1")   # one list of expectations: a peer is both mentor and mentee
    for text in (pack.markdown, pack.html):
        assert "Of each of you (in a peer pair you are both)" in text
        assert "Of mentors" not in text and "Of mentees" not in text
        assert "Listen well" in text and "Bring a goal" in text


def test_reverse_wording(tmp_path):
    folder = make_programme(tmp_path / "p", "reverse", [("M1", "E1", 1, 0)])
    _, packs = render(folder)
    assert "reverse mentor" in by_id(packs, "mentee", "E1").message.subject
    assert "reverse mentor" in by_id(packs, "mentor", "M1").message.text


@pytest.mark.parametrize("kind", ["one-to-one", "group", "peer", "reverse"])
def test_private_fields_never_reach_any_output(tmp_path, kind):
    pairs = [("P1", "P2", 1, 1)] if kind == "peer" else [("M1", "E1", 1, 1), ("M1", "E2", 0, 1)]
    folder = make_programme(tmp_path / "p", kind, pairs)
    programme, packs = render(folder)
    write_packs(programme, packs.packs)
    messages = outgoing_messages(programme, packs.packs, sending=False)
    outputs = [p.html + p.markdown + p.message.text + p.message.html + p.message.subject for p in packs.packs]
    outputs += [m.message.as_string() for m in messages]
    outputs += [f.read_text() for f in (folder / "out" / "packs").iterdir()]
    assert outputs and all(MARKER not in text for text in outputs)
    assert all("gender" not in text.lower() for text in outputs)


def test_every_builtin_template_hides_private_fields(tmp_path):
    """Render every shipped template with contexts built from a person whose private fields hold a marker."""
    folder = make_programme(tmp_path / "p", "one-to-one", [("M1", "E1", 1, 1)])
    programme = load_programme(folder)
    row = {"id": "E1", "name": "Ana", "email": "ana@example.org", "gender": MARKER, "Date of Birth": MARKER,
           "_row": 2, "location": "Leeds", "manager_id": MARKER, "preferred_mentors": MARKER, "utc_offset": 8}
    profile = public_profile(row, programme)
    assert profile == {"name": "Ana", "email": "ana@example.org", "location": "Leeds"}
    person = {**profile, "role": "mentee", "profile": profile, "fields": [], "reasons": [], "score": 1}
    from datetime import UTC, datetime

    now = datetime(2027, 2, 1, 9, tzinfo=UTC)
    context = {
        "type": "one-to-one", "role": "mentee", "recipient": person, "counterparts": [person], "group": [person],
        "purpose": "", "goals": [], "expectations": {"mentors": [], "mentees": [], "mine": []}, "kickoff": None,
        "training": [], "start_date": programme.design.start_date, "end_date": programme.design.end_date,
        "checkin_every": "2w", "coordinator": None, "resources": [], "pack_file": "E1.html",
        "reminder": {"id": "r", "template": "t", "to": "pairs", "inactive_for": 21}, "occurrence": now,
        "week": 4, "now": now,
        "session": {"title": "T", "start": now, "duration_minutes": 60, "location": None, "url": None,
                    "audience": "everyone"},
        "digest": {"pairs": 1, "not_met": [], "overdue": [], "upcoming_sessions": [], "days_ahead": 14,
                   "escalated": []},
        "subject": "s", "body_html": "",
    }
    env = make_environment(programme)
    participant_facing = ("welcome", "pack", "checkin", "nudge", "survey", "digest", "training", "email_layout")
    names = sorted(p.name for p in builtin_templates_dir().glob("*.j2") if p.name.startswith(participant_facing))
    assert len(names) >= 12
    for name in names:
        if name.endswith((".md.j2", ".txt.j2")) and not name.startswith("pack"):
            rendered = render_message(env, name, context)
            text = rendered.subject + rendered.text + rendered.html
        else:
            text = render_template(env, name, context)
        assert "Ana" in text or name == "email_layout.html.j2" or name == "digest.md.j2"
        assert MARKER not in text, name


def test_names_are_escaped_in_html(tmp_path):
    folder = make_programme(tmp_path / "p", "one-to-one", [("M1", "E1", 1, 1)])
    roster = folder / "mentees.csv"
    roster.write_text(roster.read_text().replace("Mentee E1", "<script>alert(1)</script>"))
    _, packs = render(folder)
    mentor = by_id(packs, "mentor", "M1")
    assert "<script>" not in mentor.html and "&lt;script&gt;alert(1)&lt;/script&gt;" in mentor.html
    assert "<script>" not in mentor.message.html
    assert "<script>alert(1)</script>" in mentor.message.text  # plain text stays text


def test_content_hash_changes_only_with_the_match():
    assert content_hash("E1", ["M1", "M2"]) == content_hash("E1", ["M2", "M1"])
    assert content_hash("E1", ["M1"]) != content_hash("E1", ["M2"])
    assert content_hash("E1", ["M1"]) != content_hash("E2", ["M1"])


def test_only_limits_and_rejects_unknown_ids(tmp_path):
    folder = make_programme(tmp_path / "p", "one-to-one", [("M1", "E1", 1, 1), ("M2", "E2", 1, 1)])
    _, packs = render(folder, only=["E2"])
    assert [(p.role, p.person_id) for p in packs.packs] == [("mentee", "E2")]
    with pytest.raises(RosterError, match="E9"):
        render(folder, only=["E9"])


def test_programme_template_overrides_builtin_and_errors_name_it(tmp_path):
    folder = make_programme(tmp_path / "p", "one-to-one", [("M1", "E1", 1, 1)])
    (folder / "templates").mkdir()
    (folder / "templates" / "welcome.md.j2").write_text("Subject: Hi {{ recipient.name }}\n\nHello\n")
    _, packs = render(folder)
    assert by_id(packs, "mentee", "E1").message.subject == "Hi Mentee E1"
    (folder / "templates" / "welcome.md.j2").write_text("Subject: Hi\n\nHello {{ recipient.nickname }}\n")
    with pytest.raises(TemplateError, match=r"templates/welcome.md.j2, line 3: undefined variable "
                                            r"'recipient.nickname'"):
        render(folder)


def test_welcome_email_has_pack_and_invitation(tmp_path):
    folder = make_programme(tmp_path / "p", "one-to-one", [("M1", "E1", 1, 1)])
    programme, packs = render(folder)
    [message, _] = outgoing_messages(programme, packs.packs, sending=False)
    parsed = email.message_from_bytes(message.message.as_bytes(), policy=email.policy.default)
    attachments = {a.get_filename(): a for a in parsed.iter_attachments()}
    assert set(attachments) == {"welcome-pack-mentor-M1.html", "kickoff.ics"}
    ics = attachments["kickoff.ics"].get_payload(decode=True).decode()
    assert "DTSTART:20270111T160000Z" in ics and "SUMMARY:Kick-off" in ics and "LOCATION:Atrium" in ics
    assert "mailto:m1@example.org" in ics
    [event] = icalendar.Calendar.from_ical(ics).walk("VEVENT")  # read back by an independent parser
    assert event.decoded("DTSTART") == datetime(2027, 1, 11, 16, 0, tzinfo=UTC)
    assert str(event["SUMMARY"]).startswith("Kick-off") and str(event["LOCATION"]) == "Atrium"
    attendees = event["ATTENDEE"] if isinstance(event["ATTENDEE"], list) else [event["ATTENDEE"]]
    assert "mailto:m1@example.org" in [str(a) for a in attendees]
    assert parsed["Reply-To"] is None or "@" in parsed["Reply-To"]


def test_only_pairs_without_a_score_are_matched_by_hand(tmp_path):
    folder = make_programme(tmp_path / "p", "one-to-one", [("M1", "E1", 0, 0), ("M2", "E2", 0, 0)])
    matches = folder / "out" / "matches.csv"
    # E2's pair typed in by the coordinator: empty score and term cells
    matches.write_text(matches.read_text().replace("E2,M2,0,0,0", "E2,M2,,,"))
    _, packs = render(folder)
    assert "Your coordinator matched you by hand" in by_id(packs, "mentee", "E2").markdown
    assert "Your coordinator matched you by hand" in by_id(packs, "mentor", "M2").html
    assert "by hand" not in by_id(packs, "mentee", "E1").markdown
    # a matches file without a score column at all: every pair was typed in
    matches.write_text("mentee_id,mentor_id\nE1,M1\nE2,M2\n")
    _, packs = render(folder)
    assert all("Your coordinator matched you by hand" in p.markdown for p in packs.packs)
    assert not any("matching rules" in p.markdown for p in packs.packs)


INTERNAL_HEADER = "id,name,email,location,skills,goals,gender,date_of_birth,utc_offset,manager_id,preferred_mentors,capacity,mentor_rank,grade\n"


def internal_person(pid: str, name: str) -> str:
    return f"{pid},{name},{pid.lower()}@example.org,Leeds,python,python,{MARKER},{MARKER},8,M77,M11;M12,3,2,G5\n"


def internal_programme(folder: Path, onboarding_extra: str = "") -> Path:
    make_programme(folder, "one-to-one", [("M1", "E1", 1, 1)])
    (folder / "mentors.csv").write_text(INTERNAL_HEADER + internal_person("M1", "Mentor M1"))
    (folder / "mentees.csv").write_text(INTERNAL_HEADER + internal_person("E1", "Mentee E1"))
    if onboarding_extra:
        yaml_path = folder / "programme.yaml"
        text = yaml_path.read_text()
        yaml_path.write_text(text.replace("onboarding:\n", "onboarding:\n" + onboarding_extra))
    return folder


def card(markdown: str, name: str) -> str:
    """The Markdown lines of one counterpart card."""
    start = markdown.index(f"### {name}")
    return markdown[start:markdown.index("\n## ", start)]


def test_default_cards_show_only_what_scoring_reads_never_ids_or_people(tmp_path):
    """Without onboarding.profile_fields a card shows name, email and the fields the (non-private) scoring
    terms read: the mentor's skills and location, the mentee's goals and location; nothing else."""
    folder = internal_programme(tmp_path / "p")
    programme, packs = render(folder)
    for pack, other, field in ((by_id(packs, "mentor", "M1"), "Mentee E1", "Goals"),
                               (by_id(packs, "mentee", "E1"), "Mentor M1", "Skills")):
        text = card(pack.markdown, other)
        assert "- Location: Leeds" in text and f"- {field}: python" in text
        for hidden in ("Preferred mentors", "M11", "Manager id", "M77", "Capacity", "Utc offset", "rank",
                       "Grade", "G5"):
            assert hidden not in text and hidden not in pack.html, hidden
    profile = public_profile({"id": "E1", "name": "A", "manager_id": "M77", "preferred_mentors": "M11",
                              "capacity": 3, "utc_offset": 8.0, "team_rank": 1, "grade": 4, "location": "Leeds"},
                             programme, role="mentee")
    assert profile == {"name": "A", "location": "Leeds"}


def test_explicit_profile_fields_show_exactly_those_in_that_order(tmp_path):
    folder = internal_programme(tmp_path / "p", "  profile_fields: [grade, capacity, location]\n")
    programme, packs = render(folder)
    text = card(by_id(packs, "mentee", "E1").markdown, "Mentor M1")
    items = [line for line in text.split("Why you were matched")[0].splitlines() if line.startswith("- ")]
    assert items == ["- Email: m1@example.org", "- Grade: G5", "- Capacity: 3", "- Location: Leeds"]


def test_private_fields_never_shown_even_when_listed(tmp_path):
    folder = internal_programme(tmp_path / "p", "  profile_fields: [location, gender, Date of Birth]\n")
    programme, packs = render(folder)
    write_packs(programme, packs.packs)
    outputs = [p.html + p.markdown + p.message.text + p.message.html for p in packs.packs]
    assert all(MARKER not in text and "- Location: Leeds" in text for text in outputs)
    assert all(MARKER not in f.read_text() for f in (folder / "out" / "packs").iterdir())
    assert public_profile({"id": "E1", "gender": MARKER, "location": "Leeds"}, programme) == {
        "location": "Leeds"}


def test_profile_fields_naming_no_roster_field_is_a_programme_error(tmp_path):
    folder = internal_programme(tmp_path / "p", "  profile_fields: [location, favourite_colour]\n")
    with pytest.raises(ProgrammeError, match="favourite_colour"):
        render(folder)


def test_pack_shows_the_last_day_not_the_exclusive_end_date(tmp_path):
    folder = make_programme(tmp_path / "p", "one-to-one", [("M1", "E1", 1, 1)])
    programme, packs = render(folder)
    assert str(programme.design.end_date) == "2027-04-05"  # start + 12 weeks, exclusive
    pack = by_id(packs, "mentee", "E1")
    assert "to Sunday 4 April 2027" in pack.markdown and "to Sunday 4 April 2027" in pack.html
    assert "5 April" not in pack.markdown + pack.html


def test_goals_only_when_show_goals(tmp_path):
    folder = make_programme(tmp_path / "p", "one-to-one", [("M1", "E1", 1, 1)])
    _, packs = render(folder)
    pack = by_id(packs, "mentee", "E1")
    assert "Grow people." in pack.markdown and "Grow people." in pack.html
    assert "Everyone matched" not in pack.markdown + pack.html + pack.message.text
    yaml_path = folder / "programme.yaml"
    yaml_path.write_text(yaml_path.read_text().replace("onboarding:\n", "onboarding:\n  show_goals: true\n"))
    _, packs = render(folder)
    pack = by_id(packs, "mentee", "E1")
    assert "Everyone matched" in pack.markdown and "Everyone matched" in pack.html


def test_session_times_also_in_the_recipients_own_time_zone(tmp_path):
    folder = internal_programme(tmp_path / "p")  # both have utc_offset 8
    mentors = folder / "mentors.csv"
    mentors.write_text(mentors.read_text().replace(",8,M77", ",0,M77"))
    _, packs = render(folder)
    mentee = by_id(packs, "mentee", "E1")
    # kick-off 16:00 London (UTC in January) is midnight in UTC+8, the next day; only an offset is known,
    # so the time is labelled with it rather than called "your time"
    assert "16:00 (Europe/London) (00:00 UTC+8 on Tuesday 12 January)" in mentee.markdown
    assert "(00:00 UTC+8 on Tuesday 12 January)" in mentee.html
    assert "(00:00 UTC+8 on Tuesday 12 January)" in mentee.message.text
    assert "Mentee training**, Thursday 14 January 2027, 10:00 (Europe/London) (18:00 UTC+8)" in mentee.markdown
    assert "your time" not in mentee.markdown
    mentor = by_id(packs, "mentor", "M1")  # utc_offset 0 = London's clock in January: nothing added
    assert "UTC" not in mentor.markdown + mentor.html + mentor.message.text
    mentees = folder / "mentees.csv"
    lines = mentees.read_text().splitlines()
    mentees.write_text("\n".join([lines[0] + ",timezone", lines[1] + ",Asia/Singapore"]) + "\n")
    _, packs = render(folder)
    assert "(your time: 00:00 on Tuesday 12 January)" in by_id(packs, "mentee", "E1").markdown


def test_your_time_follows_clock_changes_with_a_time_zone_and_labels_offsets(tmp_path):
    from datetime import datetime

    from mentorctl.timezones import local_time, participant_zone, zone_from_name

    london = zone_from_name("Europe/London")
    july = datetime(2027, 7, 5, 15, 0, tzinfo=london)      # 15:00 BST = 14:00 UTC
    january = datetime(2027, 1, 11, 15, 0, tzinfo=london)  # 15:00 GMT
    new_york = participant_zone({"timezone": "America/New_York", "utc_offset": -5})
    assert local_time(july, new_york).text == "your time: 10:00"        # EDT, not 09:00
    assert local_time(january, new_york).text == "your time: 10:00"     # EST
    sydney = participant_zone({"timezone": "Australia/Sydney"})
    assert local_time(july, sydney).text == "your time: 00:00 on Tuesday 6 July"   # AEST (+10) in July
    offset_only = participant_zone({"utc_offset": -5})
    assert local_time(july, offset_only).text == "09:00 UTC\u22125"
    assert local_time(july, participant_zone({"utc_offset": 0})).text == "14:00 UTC+0"
    assert local_time(january, participant_zone({"utc_offset": 0})) is None
    assert local_time(july, participant_zone({"utc_offset": 5.5})).text == "19:30 UTC+5:30"


def test_participant_zone_reads_timezone_or_utc_offset_and_ignores_private_or_bad_values(tmp_path):
    folder = make_programme(tmp_path / "p", "one-to-one", [("M1", "E1", 1, 1)])
    programme = load_programme(folder)
    from datetime import datetime, timedelta

    moment = datetime(2027, 7, 1, 12, tzinfo=programme.tz)
    assert participant_zone({"timezone": "Asia/Kolkata"}, programme).utcoffset(moment) == timedelta(hours=5.5)
    assert participant_zone({"utc_offset": 5.5}, programme).utcoffset(moment) == timedelta(hours=5.5)
    assert participant_zone({"timezone": "Mars/Olympus", "utc_offset": float("nan")}, programme) is None
    assert participant_zone({"name": "A"}, programme) is None
    yaml_path = folder / "programme.yaml"
    yaml_path.write_text(yaml_path.read_text().replace("private: [gender, date_of_birth]",
                                                       "private: [gender, date_of_birth, utc_offset]"))
    assert participant_zone({"utc_offset": 5.5}, load_programme(folder)) is None


# -- emails read well everywhere (issue 14) -------------------------------------------------------------------

def _welcome(folder: Path, role: str = "mentee", pid: str = "E1"):
    programme, packs = render(folder)
    pack = by_id(packs, role, pid)
    [message] = [m for m in outgoing_messages(programme, packs.packs, sending=False) if m.key == pack.key]
    return pack, email.message_from_bytes(message.message.as_bytes(), policy=email.policy.default)


def test_plain_text_part_has_no_markdown_syntax(tmp_path):
    folder = make_programme(tmp_path / "p", "one-to-one", [("M1", "E1", 1, 1)])
    pack, parsed = _welcome(folder)
    text = parsed.get_body(preferencelist=("plain",)).get_content()
    assert "**" not in text and "Mentor M1" in text and "Kick-off:" in text
    assert "<strong>Mentor M1</strong>" in parsed.get_body(preferencelist=("html",)).get_content()


def test_markdown_to_text_drops_syntax_but_keeps_link_targets():
    from mentorctl.templating import markdown_to_text

    text = markdown_to_text("## Next steps\n\n**Kick-off:** see [the guide](https://x.org/g) and *soon*\n- item\n")
    assert text == "Next steps\n----------\n\nKick-off: see the guide (https://x.org/g) and soon\n- item\n"


def test_greeting_uses_the_first_name_when_the_roster_has_one(tmp_path):
    folder = make_programme(tmp_path / "p", "one-to-one", [("M1", "E1", 1, 1)])
    _, parsed = _welcome(folder)
    assert "Hello Mentee E1," in parsed.get_body(preferencelist=("plain",)).get_content()
    mentees = folder / "mentees.csv"
    lines = mentees.read_text().splitlines()
    mentees.write_text("\n".join([lines[0] + ",first_name", lines[1] + ",Ada"]) + "\n")
    pack, parsed = _welcome(folder)
    text = parsed.get_body(preferencelist=("plain",)).get_content()
    assert "Hello Ada," in text and "Hello Mentee E1" not in text
    assert "First name" not in pack.html                   # the greeting column is not a card field


def test_email_addresses_are_links_in_the_html_part(tmp_path):
    folder = make_programme(tmp_path / "p", "one-to-one", [("M1", "E1", 1, 1)])
    _, parsed = _welcome(folder)
    html = parsed.get_body(preferencelist=("html",)).get_content()
    assert '<a href="mailto:m1@example.org">m1@example.org</a>' in html
    assert '<a href="mailto:robin@example.org">robin@example.org</a>' in html


def test_kickoff_join_link_is_in_the_invitation_description_and_location(tmp_path):
    folder = make_programme(tmp_path / "p", "one-to-one", [("M1", "E1", 1, 1)])
    yaml_file = folder / "programme.yaml"
    yaml_file.write_text(yaml_file.read_text().replace(
        "location: Atrium}", "location: Atrium, url: \"https://meet.example.org/k\"}"))
    _, parsed = _welcome(folder)
    ics = next(a for a in parsed.iter_attachments() if a.get_filename() == "kickoff.ics")
    text = ics.get_payload(decode=True).decode().replace("\r\n ", "")
    [event] = icalendar.Calendar.from_ical(ics.get_payload(decode=True)).walk("VEVENT")
    assert "Atrium" in str(event["LOCATION"]) and "https://meet.example.org/k" in str(event["LOCATION"])
    assert "https://meet.example.org/k" in str(event["DESCRIPTION"])
    location = next(line for line in text.splitlines() if line.startswith("LOCATION:"))
    description = next(line for line in text.splitlines() if line.startswith("DESCRIPTION:"))
    assert "Atrium" in location and "https://meet.example.org/k" in location
    assert "https://meet.example.org/k" in description


def test_empty_sections_are_left_out(tmp_path):
    folder = make_programme(tmp_path / "p", "one-to-one", [("M1", "E1", 1, 1)])
    _, packs = render(folder)
    assert "What is expected" in by_id(packs, "mentee", "E1").markdown
    yaml_file = folder / "programme.yaml"
    yaml_file.write_text(yaml_file.read_text().replace(
        "  expectations: {mentors: [Listen well], mentees: [Bring a goal]}\n", "").replace(
        "purpose: Grow people.\n", ""))
    _, packs = render(folder)
    pack = by_id(packs, "mentee", "E1")
    for text in (pack.markdown, pack.html):
        assert "What is expected" not in text and "About the programme" not in text


def test_pack_file_names_have_no_spaces(tmp_path):
    from mentorctl.packs import pack_file_stem

    assert pack_file_stem("E 1/x", "mentee") == "mentee-E-1-x"
    assert pack_file_stem("A B", "mentor") == "mentor-A-B"
    folder = make_programme(tmp_path / "p", "one-to-one", [("A B", "A B", 1, 1)])
    programme, packs = render(folder)
    written = write_packs(programme, packs.packs)
    assert written and all(" " not in p.name for p in written)
    names = {a.get_filename() for m in outgoing_messages(programme, packs.packs, sending=False)
             for a in m.message.iter_attachments()}
    assert names and all(" " not in n for n in names)


def test_printed_pack_does_not_repeat_links_whose_text_is_the_address(tmp_path):
    folder = make_programme(tmp_path / "p", "one-to-one", [("M1", "E1", 1, 1)])
    _, packs = render(folder)
    html = by_id(packs, "mentee", "E1").html
    assert 'a[href^="http"]::after' not in html and 'a.titled[href^="http"]::after' in html


# -- what packs say to the reader (issue 14) ------------------------------------------------------------------

def test_why_you_were_matched_is_written_to_the_reader_and_names_what_is_shared(tmp_path):
    folder = make_programme(tmp_path / "p", "one-to-one", [("M1", "E1", 6, 1)])
    (folder / "mentors.csv").write_text(PEOPLE_HEADER + "M1,Mentor M1,m1@example.org,London,"
                                        "Data Analysis;negotiation;python,x,x,x\n")
    (folder / "mentees.csv").write_text(PEOPLE_HEADER + "E1,Mentee E1,e1@example.org,London,x,"
                                        "data analysis;negotiation;chess,x,x\n")
    _, packs = render(folder)
    for role, pid in (("mentee", "E1"), ("mentor", "M1")):
        pack = by_id(packs, role, pid)
        assert "You both work on Data Analysis and negotiation" in pack.markdown
        assert "You both work in London" in pack.html
        assert "your skills and goals overlap" not in pack.markdown.lower()


def test_reason_text_for_each_term_shape():
    from mentorctl.reasons import reason_text

    def text(expr, reader_side="mentee", reader=None, other=None):
        return reason_text(expr, "the coordinator's words", reader_side=reader_side, reader=reader or {},
                           other=other or {}, other_name="Ada", separator_for=lambda _f: ";")

    langs = {"languages": "English;French"}
    assert text("overlap(mentor.languages, mentee.languages)", reader=langs,
                other={"languages": "French;German"}) == "You both speak French"
    assert text("mentor.grade == mentee.grade", reader={"grade": 5.0}, other={"grade": 5}) == \
        "You have the same grade: 5"
    assert text("mentor.department == mentee.department", reader={"department": "Finance"},
                other={"department": "Finance"}) == "You are both in Finance"
    assert text("preference(mentee.preferred, mentor.id)") == "You asked for Ada"
    assert text("preference(mentee.preferred, mentor.id)", reader_side="mentor") == "Ada asked for you"
    assert text("mentor.grade - mentee.grade") == "The coordinator's words"            # unknown shape
    assert text("overlap(mentor.skills, mentee.goals)", reader={"goals": "a"}, other={"skills": "b"}) == \
        "The coordinator's words"                                                   # nothing shared


def test_hand_edited_pair_that_breaks_a_rule_is_not_said_to_meet_the_rules(tmp_path, run_cli):
    folder = make_programme(tmp_path / "p", "one-to-one", [("M1", "E1", 0, 0), ("M2", "E2", 0, 0)])
    yaml_file = folder / "programme.yaml"
    yaml_file.write_text(yaml_file.read_text().replace(
        "matching:\n", "matching:\n  eligibility: [\"mentor.location == mentee.location\"]\n"))
    (folder / "mentees.csv").write_text(PEOPLE_HEADER + person("E1", "Mentee E1")
                                        + person("E2", "Mentee E2", location="Paris"))
    _, packs = render(folder)
    assert [(b.mentor_id, b.mentee_id, b.row) for b in packs.broken_pairs] == [("M2", "E2", 3)]
    assert "meet all of the programme" in by_id(packs, "mentee", "E1").markdown
    for role, pid in (("mentee", "E2"), ("mentor", "M2")):
        pack = by_id(packs, role, pid)
        assert "matching rules" not in pack.markdown + pack.html
        assert "matched you by hand" in pack.markdown
    result = run_cli("packs", folder)
    assert result.exit_code == 0, result.output
    assert 'row 3: pair M2 – E2 breaks "mentor.location == mentee.location"' in result.stderr
    result = run_cli("validate", folder)
    assert 'M2 – E2 breaks "mentor.location == mentee.location"' in result.output + result.stderr
    assert "matches.csv, row 3" in result.output + result.stderr


def test_the_example_rosters_name_each_persons_time_zone():
    import sys

    import pandas as pd

    from mentorctl.timezones import zone_from_name

    repo = Path(__file__).resolve().parents[2]
    sys.path.insert(0, str(repo / "scripts"))
    try:
        from generate_example import generate_rosters
    finally:
        sys.path.pop(0)
    for name in ("mentors.csv", "mentees.csv"):
        frame = pd.read_csv(repo / "programmes" / "example" / name)
        assert frame["timezone"].map(lambda z: zone_from_name(z) is not None).all(), name
    mentors, mentees = generate_rosters(20)
    assert "timezone" in mentors.columns and "timezone" in mentees.columns
    new_york = mentees[mentees["location"] == "New York"]
    assert (new_york["timezone"] == "America/New_York").all()


def test_a_retyped_pair_never_claims_the_reasons_of_the_row_it_replaced(tmp_path, run_cli):
    folder = make_programme(tmp_path / "p", "one-to-one", [("M1", "E1", 3, 1), ("M2", "E2", 3, 1)])
    (folder / "mentees.csv").write_text(PEOPLE_HEADER + person("E1", "Mentee E1")
                                        + person("E2", "Mentee E2", location="Paris").replace(",python,", ",history,"))
    # the coordinator moved E2 to M1 by retyping the mentor id; the score columns still say skills 3, same site 1
    (folder / "out" / "matches.csv").write_text("mentee_id,mentor_id,score,skills,same_site\nE1,M1,4,3,1\n"
                                                "E2,M1,4,3,1\n")
    _, packs = render(folder)
    e1, e2 = by_id(packs, "mentee", "E1"), by_id(packs, "mentee", "E2")
    assert "You both work on python" in e1.markdown and "You both work in London" in e1.markdown
    assert "You both work on" not in e2.markdown + e2.html and "You both work in" not in e2.markdown + e2.html
    assert "You were paired because you meet all of the programme's matching rules" in e2.markdown
    yaml_file = folder / "programme.yaml"
    yaml_file.write_text(yaml_file.read_text().replace("matching:\n", "matching:\n  mentor_capacity: 1\n"))
    result = run_cli("packs", folder)
    assert result.exit_code == 0, result.output
    assert "Warning: matches file: mentor M1 has 2 mentees in the file but capacity 1." in result.stderr
    result = run_cli("validate", folder)
    assert "mentor M1 has 2 mentees in the file but capacity 1: move a pair or raise the capacity" in \
        " ".join((result.stdout + result.stderr).split())
