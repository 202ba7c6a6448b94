"""Seeded generator of realistic, obviously fictitious rosters (and, via generate_activity, activity logs).

    python scripts/generate_example.py --out programmes/example            # the bundled example (200 mentees)
    python scripts/generate_example.py --out /tmp/big --mentees 50000      # benchmark rosters
    python scripts/generate_example.py --out /tmp/t50k --mentees 50000 --programme tight --seed 11

Mentors are one per 2.5 mentees by default, capacity 1-4, with departments, grades, sites with UTC offsets
and time zones (IANA names), languages, skills, development goals, managers and ranked preferences for some
mentees. Vectorised with numpy so 50,000 mentees take about a second.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pandas as pd

DEPARTMENTS = ["Engineering", "Finance", "Marketing", "Operations", "People", "Sales", "Legal", "Research"]
DEPARTMENT_WEIGHTS = [0.26, 0.12, 0.1, 0.16, 0.06, 0.16, 0.04, 0.1]
SITES = {"London": 0, "Manchester": 0, "Dublin": 0, "Berlin": 1, "Lisbon": 0, "New York": -5, "Toronto": -5,
         "Bangalore": 5.5, "Singapore": 8, "Sydney": 10}
SITE_ZONES = {"London": "Europe/London", "Manchester": "Europe/London", "Dublin": "Europe/Dublin",
              "Berlin": "Europe/Berlin", "Lisbon": "Europe/Lisbon", "New York": "America/New_York",
              "Toronto": "America/Toronto", "Bangalore": "Asia/Kolkata", "Singapore": "Asia/Singapore",
              "Sydney": "Australia/Sydney"}
"""Each site's IANA time zone: packs show "your time" from it, right on both sides of a clock change."""
SITE_WEIGHTS = [0.3, 0.1, 0.06, 0.1, 0.04, 0.14, 0.06, 0.1, 0.06, 0.04]
SITE_LANGUAGE = {"London": "English", "Manchester": "English", "Dublin": "English", "Berlin": "German",
                 "Lisbon": "Portuguese", "New York": "English", "Toronto": "French", "Bangalore": "Hindi",
                 "Singapore": "Mandarin", "Sydney": "English"}
EXTRA_LANGUAGES = ["Spanish", "French", "German", "Mandarin", "Hindi", "Portuguese", "Arabic", "Japanese"]
SKILLS = ["leadership", "public speaking", "negotiation", "python", "data analysis", "budgeting",
          "stakeholder management", "product strategy", "people management", "writing", "career planning",
          "project management", "design thinking", "sales", "coaching", "work-life balance"]
FIRST = ["Ada", "Bo", "Cass", "Dev", "Eli", "Fen", "Gale", "Hal", "Ira", "Jun", "Kai", "Lior", "Mika", "Noor",
         "Oli", "Pax", "Quinn", "Rae", "Sol", "Tam", "Uma", "Vik", "Wren", "Xan", "Yas", "Zed"]
LAST = ["Testwell", "Samplesby", "Mockford", "Placeholder", "Fixture", "Dummington", "Stubbs", "Exampleton",
        "Fakename", "Trialson", "Specimen", "Protoype", "Draftley", "Pilotson"]
GENDERS = ["female", "male", "non-binary", "prefer not to say"]


def _people(rng: np.random.Generator, n: int, prefix: str, id_width: int) -> pd.DataFrame:
    ids = np.char.add(prefix, np.char.zfill(np.arange(1, n + 1).astype(str), id_width))
    first = rng.choice(FIRST, n)
    last = rng.choice(LAST, n)
    names = np.char.add(np.char.add(first, " "), last)
    emails = np.char.add(np.char.add(np.char.lower(np.char.add(np.char.add(first, "."), last)), "."),
                         np.char.add(np.char.lower(ids), "@example.org"))
    sites = rng.choice(list(SITES), n, p=SITE_WEIGHTS)
    return pd.DataFrame({
        "id": ids, "name": names, "email": emails,
        "department": rng.choice(DEPARTMENTS, n, p=DEPARTMENT_WEIGHTS),
        "location": sites, "utc_offset": pd.Series(sites).map(SITES).to_numpy(),
        "timezone": pd.Series(sites).map(SITE_ZONES).to_numpy(),
        "gender": rng.choice(GENDERS, n, p=[0.47, 0.45, 0.04, 0.04]),
    })


def _languages(rng: np.random.Generator, sites: np.ndarray) -> np.ndarray:
    home = pd.Series(sites).map(SITE_LANGUAGE).to_numpy()
    english = np.where((home != "English") & (rng.random(len(sites)) < 0.85), ";English", "")
    extra = np.where(rng.random(len(sites)) < 0.3, np.char.add(";", rng.choice(EXTRA_LANGUAGES, len(sites))), "")
    joined = np.char.add(np.char.add(home.astype(str), english), extra)
    return np.array([";".join(dict.fromkeys(s.split(";"))) for s in joined.tolist()])


def _item_lists(rng: np.random.Generator, n: int, low: int, high: int) -> np.ndarray:
    counts = rng.integers(low, high + 1, n)
    picks = rng.random((n, len(SKILLS))).argsort(axis=1)
    vocabulary = np.array(SKILLS)
    return np.array([";".join(vocabulary[picks[i, :counts[i]]]) for i in range(n)])


def generate_rosters(n_mentees: int = 200, n_mentors: int | None = None, seed: int = 7
                     ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Return (mentors, mentees) DataFrames with the example programme's columns."""
    rng = np.random.default_rng(seed)
    n_mentors = n_mentors or max(1, round(n_mentees / 2.5))
    width = max(4, len(str(max(n_mentees, n_mentors))))
    mentors = _people(rng, n_mentors, "M", width)
    mentors["grade"] = rng.choice([3, 4, 5, 6, 7], n_mentors, p=[0.15, 0.3, 0.3, 0.17, 0.08])
    mentors["languages"] = _languages(rng, mentors["location"].to_numpy())
    mentors["skills"] = _item_lists(rng, n_mentors, 2, 5)
    mentors["capacity"] = rng.choice([1, 2, 3, 4], n_mentors, p=[0.2, 0.35, 0.3, 0.15])
    mentors["years_at_company"] = rng.integers(3, 25, n_mentors)

    mentees = _people(rng, n_mentees, "E", width)
    mentees["grade"] = rng.choice([1, 2, 3, 4, 5], n_mentees, p=[0.2, 0.3, 0.3, 0.15, 0.05])
    mentees["languages"] = _languages(rng, mentees["location"].to_numpy())
    mentees["goals"] = _item_lists(rng, n_mentees, 1, 3)
    has_manager = rng.random(n_mentees) < 0.7
    managers = mentors["id"].to_numpy()[rng.integers(0, n_mentors, n_mentees)]
    mentees["manager_id"] = np.where(has_manager, managers, "")
    ranked = rng.random(n_mentees) < 0.3
    preference_count = rng.integers(1, 4, n_mentees)
    choices = rng.integers(0, n_mentors, (n_mentees, 3))
    mentor_ids = mentors["id"].to_numpy()
    mentees["preferred_mentors"] = [
        ";".join(dict.fromkeys(mentor_ids[choices[i, :preference_count[i]]].tolist())) if ranked[i] else ""
        for i in range(n_mentees)]
    mentees["years_at_company"] = rng.integers(0, 6, n_mentees)
    return mentors, mentees


TIGHT_MATCHING = """matching:
  mentor_capacity: 2
  mentors_per_mentee: 1
  objective: coverage_then_score
  eligibility:
    - mentor.department != mentee.department
    - mentor.grade >= mentee.grade + 1
    - abs(mentor.utc_offset - mentee.utc_offset) <= 3
    - overlap(mentor.languages, mentee.languages) >= 1
  scoring:
    - {name: skills, expr: "overlap(mentor.skills, mentee.goals)", weight: 3}
    - {name: same_site, expr: "mentor.location == mentee.location", weight: 1}
"""


def write_programme(folder: Path, n_mentees: int, kind: str = "loose", seed: int = 11) -> Path:
    """A benchmark programme in `folder`: rosters with one mentor per three mentees (capacity 1-4, so mentor
    places run out: about 80 % of mentees can be matched).

    `loose`: the bundled example's programme.yaml (five eligibility rules, three scoring terms, one of them
    ranked preferences, so few ties). `tight`: four rules (different department, grade at least one higher, at
    most 3 hours apart, a shared language) and two coarse scoring terms (skills overlap × 3, same site): many
    equal scores, places run out, and the optimality proof has the most to do."""
    folder.mkdir(parents=True, exist_ok=True)
    example = (Path(__file__).resolve().parents[1] / "programmes/example/programme.yaml").read_text()
    if kind == "tight":
        start = example.index("\nmatching:\n") + 1
        end = example.index("\nschedule:", start) + 1
        example = example[:start] + TIGHT_MATCHING + "\n" + example[end:]
    elif kind != "loose":
        raise ValueError(f"kind is loose or tight, not {kind!r}")
    (folder / "programme.yaml").write_text(example)
    mentors, mentees = generate_rosters(n_mentees, max(1, n_mentees // 3), seed=seed)
    mentors.to_csv(folder / "mentors.csv", index=False)
    mentees.to_csv(folder / "mentees.csv", index=False)
    return folder


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True, help="folder to write mentors.csv and mentees.csv to")
    parser.add_argument("--mentees", type=int, default=200)
    parser.add_argument("--mentors", type=int, default=None, help="default: mentees / 2.5")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--programme", choices=["loose", "tight"], default=None,
                        help="also write a benchmark programme.yaml (mentors = mentees / 3; see write_programme)")
    args = parser.parse_args(argv)
    if args.programme:
        write_programme(args.out, args.mentees, args.programme, args.seed)
        print(f"wrote a {args.programme} programme with {args.mentees} mentees to {args.out}")
        return 0
    mentors, mentees = generate_rosters(args.mentees, args.mentors, args.seed)
    args.out.mkdir(parents=True, exist_ok=True)
    mentors.to_csv(args.out / "mentors.csv", index=False)
    mentees.to_csv(args.out / "mentees.csv", index=False)
    print(f"wrote {len(mentors)} mentors and {len(mentees)} mentees to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
