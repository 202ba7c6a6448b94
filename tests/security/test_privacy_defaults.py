"""What participants see of each other: one policy (people.py) for packs and reminders, private by default."""

from __future__ import annotations

import csv
from pathlib import Path

import yaml

NOT_WANTED = "Zed Nobody"   # a mentor a mentee does not want: the mentor must never see it

MENTORS = ("id,name,email,department,location,skills,capacity,gender\n"
           "M1,Ann Mentor,ann@example.org,Engineering,Leeds,python;sql,2,female\n"
           "M2,Zed Nobody,zed@example.org,Finance,York,budgeting,2,male\n")
MENTEES = ("id,name,email,department,location,goals,preferred_mentors,mentors_i_do_not_want,"
           "mentors to avoid,buddy,gender\n"
           f"E1,Eve Mentee,eve@example.org,Sales,Leeds,python,M1,{NOT_WANTED},M2,zed nobody,female\n"
           "E2,Bo Mentee,bo@example.org,Ops,York,budgeting,M2,,,,male\n")
SCORING = [{"name": "skills", "expr": "overlap(mentor.skills, mentee.goals)", "weight": 3},
           {"name": "same_site", "expr": "mentor.location == mentee.location", "weight": 1},
           {"name": "preference", "expr": "preference(mentee.preferred_mentors, mentor.id)", "weight": 5}]


def programme(small_programme, **extra) -> Path:
    sections = {"matching": {"scoring": SCORING}, "private": ["gender"],
                "programme": {"name": "Privacy", "coordinator": {"name": "Cora", "email": "cora@example.org"}},
                "email": {"from": "Mentoring <m@example.org>"},
                "reminders": [{"id": "checkin", "every": "2w", "to": "pairs", "template": "checkin.md.j2"}]}
    sections.update(extra)
    folder = small_programme("privacy", MENTORS, MENTEES, **sections)
    (folder / "out").mkdir()
    with open(folder / "out" / "matches.csv", "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["mentee_id", "mentee_name", "mentee_email", "mentor_id", "mentor_name", "mentor_email",
                         "score", "skills", "same_site", "preference"])
        writer.writerow(["E1", "Eve Mentee", "eve@example.org", "M1", "Ann Mentor", "ann@example.org", 9, 3, 1, 5])
        writer.writerow(["E2", "Bo Mentee", "bo@example.org", "M2", "Zed Nobody", "zed@example.org", 9, 3, 1, 5])
    return folder


def test_a_mentor_never_sees_a_mentees_lists_of_people(small_programme, run_cli):
    folder = programme(small_programme)
    result = run_cli("packs", folder)
    assert result.exit_code == 0, result.output
    ann = (folder / "out" / "packs" / "mentor-M1.md").read_text(encoding="utf-8")
    eve_card = ann[ann.index("### Eve Mentee"):]
    assert "- Goals: python" in eve_card and "- Location: Leeds" in eve_card
    for hidden in (NOT_WANTED, "Zed", "M2", "Preferred", "avoid", "not want", "Buddy", "Department", "Sales",
                   "female"):
        assert hidden not in eve_card, hidden
    for eml in (folder / "out" / "outbox").glob("*.eml"):
        text = eml.read_text(encoding="utf-8", errors="replace")
        if "ann@example.org" in text.split("\n\n", 1)[0]:
            assert NOT_WANTED not in text and "avoid" not in text.lower()


def test_reminders_show_counterparts_the_same_way_as_packs(small_programme, run_cli, tmp_path):
    from mentorctl.people import person_card, privacy_policy
    from mentorctl.programme import load_programme
    from mentorctl.reminders import Directory, load_matches_for
    from mentorctl.roster import load_participants

    folder = programme(small_programme)
    prog = load_programme(folder)
    people = load_participants(prog)
    directory = Directory(prog, people, load_matches_for(prog, people))
    members = {m.id: m for m in directory.pair_members()}
    in_reminder = members["mentor:M1"].counterparts[0]
    row = people.mentees.frame.set_index("id").loc["E1"].to_dict() | {"id": "E1"}
    in_pack = person_card(row, prog, role="mentee", policy=privacy_policy(prog, people))
    assert in_reminder == in_pack
    assert set(in_reminder["profile"]) == {"name", "email", "location", "goals"}
    assert {"id", "name", "email", "role", "profile", "fields"} <= set(in_reminder)
    # and what the reminder renders
    result = run_cli("remind", folder, "--now", "2027-03-15T10:00")
    assert result.exit_code == 0, result.output
    texts = [p.read_text(encoding="utf-8", errors="replace") for p in (folder / "out" / "outbox").glob("reminder-*")]
    assert texts and not any("female" in t for t in texts)
    to_ann = [t for t in texts if "To: Ann Mentor" in t]
    assert to_ann and not any(NOT_WANTED in t or "Zed" in t for t in to_ann)


def test_values_that_name_people_are_recognised_whatever_the_heading(small_programme):
    from mentorctl.people import privacy_policy
    from mentorctl.programme import load_programme
    from mentorctl.roster import load_participants

    folder = programme(small_programme, onboarding={})
    prog = load_programme(folder)
    policy = privacy_policy(prog, load_participants(prog))
    assert "buddy" in policy.people_fields            # "zed nobody": a name from the mentors' roster
    assert not policy.shows("buddy", "mentee") and not policy.shows("mentors to avoid", "mentee")
    assert policy.shows("goals", "mentee") and not policy.shows("goals", "mentor")
    assert policy.shows("skills", "mentor") and not policy.shows("department", "mentor")


def test_profile_fields_choose_exactly_and_private_still_wins(small_programme, run_cli):
    folder = programme(small_programme, onboarding={"profile_fields": ["department", "gender", "goals"]})
    assert run_cli("packs", folder).exit_code == 0
    ann = (folder / "out" / "packs" / "mentor-M1.md").read_text(encoding="utf-8")
    card = ann[ann.index("### Eve Mentee"):]
    assert "- Department: Sales" in card and "- Goals: python" in card
    assert "Location" not in card and "female" not in card


def test_a_typo_in_private_is_an_error_with_did_you_mean(small_programme, run_cli):
    folder = programme(small_programme, private=["gendre"])
    result = run_cli("validate", folder)
    assert result.exit_code == 2
    assert "private names 'gendre', which is not a field of any roster (did you mean 'gender'?)" in result.output
    assert "Traceback" not in result.output
    packs = run_cli("packs", folder)
    assert packs.exit_code == 2 and "gendre" in packs.stderr
    assert not (folder / "out" / "packs").exists()


def test_a_typo_in_profile_fields_is_an_error_with_did_you_mean(small_programme, run_cli):
    folder = programme(small_programme, onboarding={"profile_fields": ["locaton"]})
    result = run_cli("validate", folder)
    assert result.exit_code == 2
    assert "onboarding.profile_fields names 'locaton'" in result.output and "did you mean 'location'?" in result.output


def test_validate_prints_what_packs_will_show(small_programme, run_cli):
    folder = programme(small_programme)
    result = run_cli("validate", folder)
    assert result.exit_code == 0, result.output
    shown = {line.split("│")[1].strip(): line.split("│")[2].strip()
             for line in result.output.splitlines() if line.count("│") >= 3}
    assert shown["packs show mentors"] == "name, email, location, skills"
    assert shown["packs show mentees"] == "name, email, location, goals"
    data = __import__("json").loads(run_cli("validate", folder, "--json").output)
    assert data["summary"]["packs_show_mentees"] == "name, email, location, goals"


def test_init_writes_a_profile_fields_list_that_validates(tmp_path, run_cli):
    for kind in ("one-to-one", "peer"):
        assert run_cli("init", f"p-{kind}", "--type", kind, "--dir", tmp_path).exit_code == 0
        data = yaml.safe_load((tmp_path / f"p-{kind}" / "programme.yaml").read_text(encoding="utf-8"))
        assert data["onboarding"]["profile_fields"], kind
        assert "preferred_mentors" not in data["onboarding"]["profile_fields"]
        result = run_cli("validate", tmp_path / f"p-{kind}")
        assert result.exit_code == 0, result.output


def test_a_one_person_private_group_is_never_named_or_recoverable(example_programme, run_cli):
    """One person with a rare value of a private field: no output names the value or gives a count from which
    their outcome can be worked out (match-summary.json, report.json/html/md/xlsx)."""
    import json

    rows = (example_programme / "mentees.csv").read_text(encoding="utf-8").splitlines()
    header = rows[0].split(",")
    gender = header.index("gender")
    cells = rows[1].split(",")
    cells[gender] = "Agender-Unique-Value"
    rows[1] = ",".join(cells)
    (example_programme / "mentees.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    assert run_cli("match", example_programme).exit_code == 0
    summary = json.loads((example_programme / "out" / "match-summary.json").read_text(encoding="utf-8"))
    by_gender = summary["report_by"]["gender"]
    assert "Agender-Unique-Value" not in json.dumps(summary)
    shown = {k: v for k, v in by_gender.items() if isinstance(v["people"], int)}
    hidden = [k for k, v in by_gender.items() if not isinstance(v["people"], int)]
    assert hidden, by_gender
    # the shown groups never add up to the total: the hidden ones cannot be worked out
    assert sum(v["people"] for v in shown.values()) <= summary["people"] - 5 or len(hidden) >= 2
    assert run_cli("report", example_programme).exit_code == 0
    for name in ("report.json", "report.html", "report.md"):
        assert "Agender-Unique-Value" not in (example_programme / "out" / name).read_text(encoding="utf-8"), name
    import zipfile

    with zipfile.ZipFile(example_programme / "out" / "report.xlsx") as book:
        assert not any(b"Agender-Unique-Value" in book.read(n) for n in book.namelist())
