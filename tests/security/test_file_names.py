"""File names made from roster values stay inside the output folder, are unique, and have no spaces."""

from __future__ import annotations

import csv
import os
from pathlib import Path

import pytest

from mentorctl.errors import OutputError
from mentorctl.files import MAX_STEM, path_inside, safe_file_stem, unique_file_stems

HOSTILE = ["../../../../../../tmp/escaped", "/etc/evil", "..\\..\\windows", "a/b", "a\\b", "CON", "nul",
           "x" * 300, "José Ñandú", "  spaced id  ", ".hidden", "..", "LPT1.txt"]


@pytest.mark.parametrize("text", [*HOSTILE, "a\x00b", ""])
def test_safe_stems_are_plain_names(text):
    stem = safe_file_stem(text)
    assert stem and len(stem) <= MAX_STEM + 1
    assert all(c.isascii() and (c.isalnum() or c in "-_") for c in stem), stem
    assert not stem.startswith(("-", "_", "."))
    assert stem.split(".")[0].upper() not in {"CON", "NUL", "PRN", "AUX", "LPT1", "COM1"}


def test_names_that_sanitise_alike_stay_apart_whatever_the_order():
    texts = ["a/b", "a\\b", "A b", "a-b", "c"]
    stems = unique_file_stems(texts)
    assert len({s.casefold() for s in stems.values()}) == len(texts)
    assert stems["c"] == "c"
    assert unique_file_stems(list(reversed(texts))) == stems


@pytest.mark.parametrize("name", ["../x.html", "/etc/passwd", "a/b.md", "a\\b", "..", "", "a\x00b"])
def test_path_inside_refuses_paths(tmp_path, name):
    with pytest.raises(OutputError):
        path_inside(tmp_path, name)
    assert path_inside(tmp_path, "ok.html") == tmp_path / "ok.html"


def write_hostile_programme(small_programme) -> Path:
    ids = [*HOSTILE, "a-b"]
    mentors = "id,name,email\n" + "".join(f'"{m}",Mentor {i},m{i}@example.org\n' for i, m in enumerate(ids))
    mentees = "id,name,email\n" + "".join(f'"{m}",Mentee {i},e{i}@example.org\n' for i, m in enumerate(ids))
    folder = small_programme("hostile", mentors, mentees,
                             reminders=[{"id": "checkin", "every": "2w", "to": "pairs", "template": "checkin.md.j2"}],
                             email={"from": "Mentoring <m@example.org>"})
    (folder / "out").mkdir()
    with open(folder / "out" / "matches.csv", "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["mentee_id", "mentee_name", "mentee_email", "mentor_id", "mentor_name", "mentor_email"])
        for i, person in enumerate(ids):
            writer.writerow([person, f"Mentee {i}", f"e{i}@example.org", person, f"Mentor {i}", f"m{i}@example.org"])
    return folder


def all_files(root: Path) -> set[Path]:
    return {Path(d) / f for d, _, files in os.walk(root) for f in files}


def test_hostile_ids_write_only_inside_out(small_programme, run_cli, tmp_path):
    folder = write_hostile_programme(small_programme)
    before = all_files(tmp_path) - all_files(folder / "out")
    result = run_cli("packs", folder)
    assert result.exit_code == 0, result.output
    remind = run_cli("remind", folder, "--now", "2027-03-15T10:00")
    assert remind.exit_code == 0, remind.output
    out = (folder / "out").resolve()
    new = {p.resolve() for p in all_files(tmp_path) - before}
    outside = [p for p in new if out not in p.parents and ".mentorctl" not in p.parts]
    assert outside == []
    assert not Path("/tmp/escaped.html").exists() and not Path("/etc/evil.md").exists()
    people = 2 * (len(HOSTILE) + 1)
    packs = sorted((folder / "out" / "packs").iterdir())
    assert len([p for p in packs if p.suffix == ".html"]) == people      # none overwrote another
    assert len([p for p in packs if p.suffix == ".md"]) == people
    assert all(" " not in p.name and len(p.name) < 100 for p in packs)
    assert all(p.name.startswith(("mentor-", "mentee-")) for p in packs)
    outbox = sorted((folder / "out" / "outbox").glob("*-welcome.eml"))
    assert len(outbox) == people
    reminders = sorted((folder / "out" / "outbox").glob("reminder-*.eml"))
    assert len(reminders) == people and all(" " not in p.name for p in reminders)


def test_same_names_from_run_to_run_and_for_only(small_programme, run_cli):
    folder = write_hostile_programme(small_programme)
    assert run_cli("packs", folder).exit_code == 0
    first = sorted(p.name for p in (folder / "out" / "packs").iterdir())
    for p in (folder / "out" / "packs").iterdir():
        p.unlink()
    assert run_cli("packs", folder, "--only", "a/b").exit_code == 0
    only = sorted(p.name for p in (folder / "out" / "packs").iterdir())
    assert only and set(only) <= set(first)
