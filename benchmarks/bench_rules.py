"""Benchmark rule evaluation: pairs per second per rule kind on synthetic rosters.

    .venv/bin/python benchmarks/bench_rules.py            # 1k x 333 and 10k x 3.3k
    .venv/bin/python benchmarks/bench_rules.py --full     # also 50k x 16.7k (833 M pairs), the matcher's size

Not run by the tests. Blocks of --block mentees against all mentors, as the matcher evaluates them.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd

from mentorctl.rules import RuleContext, parse_rule

RULES = [
    ("text !=", "mentor.department != mentee.department"),
    ("number arithmetic", "mentor.grade >= mentee.grade + 1"),
    ("abs()", "abs(mentor.utc_offset - mentee.utc_offset) <= 3"),
    ("overlap() >= 1", "overlap(mentor.languages, mentee.languages) >= 1"),
    ("id !=", "mentor.id != mentee.manager_id"),
    ("overlap() score", "overlap(mentor.skills, mentee.goals)"),
    ("text ==", "mentor.location == mentee.location"),
    ("preference()", "preference(mentee.preferred_mentors, mentor.id)"),
    ("in list field", "mentee.language in mentor.languages"),
    ("jaccard()", "jaccard(mentor.skills, mentee.goals)"),
]
ELIGIBILITY = RULES[:5]
SCORING = RULES[5:8]


def synthetic(n_mentees: int, n_mentors: int, seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    departments = [f"Dept {i}" for i in range(20)]
    locations = [f"City {i}" for i in range(30)]
    languages = ["English", "French", "German", "Spanish", "Hindi", "Mandarin", "Arabic", "Polish"]
    skills = [f"skill{i}" for i in range(40)]
    mentor_ids = np.array([f"M{i:06d}" for i in range(n_mentors)])

    def lists(vocab: list[str], n: int, low: int, high: int) -> list[str]:
        sizes = rng.integers(low, high + 1, n)
        return [";".join(rng.choice(vocab, size=k, replace=False)) for k in sizes]

    def people(n: int, ids: np.ndarray) -> dict[str, object]:
        return {
            "id": ids, "name": [f"P{i}" for i in range(n)],
            "department": rng.choice(departments, n), "grade": rng.integers(1, 11, n).astype(float),
            "utc_offset": rng.integers(-8, 9, n).astype(float), "languages": lists(languages, n, 1, 3),
            "location": rng.choice(locations, n),
        }

    mentors = pd.DataFrame({**people(n_mentors, mentor_ids), "skills": lists(skills, n_mentors, 2, 5)})
    mentees = pd.DataFrame({
        **people(n_mentees, np.array([f"E{i:06d}" for i in range(n_mentees)])),
        "goals": lists(skills, n_mentees, 1, 3),
        "manager_id": rng.choice(mentor_ids, n_mentees),
        "language": rng.choice(languages, n_mentees),
        "preferred_mentors": [";".join(rng.choice(mentor_ids, size=k, replace=False))
                              for k in rng.integers(0, 6, n_mentees)],
    })
    return mentors, mentees


def run_blocks(ctx: RuleContext, rule, n_mentees: int, block: int) -> float:  # noqa: ANN001
    start = time.perf_counter()
    for first in range(0, n_mentees, block):
        ctx.evaluate_block(rule, np.arange(first, min(first + block, n_mentees)))
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--full", action="store_true", help="also run 50k x 16.7k mentees x mentors")
    parser.add_argument("--block", type=int, default=500, help="mentees per block")
    args = parser.parse_args()
    sizes = [(1_000, 333), (10_000, 3_333)] + ([(50_000, 16_667)] if args.full else [])
    for n_mentees, n_mentors in sizes:
        mentors, mentees = synthetic(n_mentees, n_mentors)
        ctx = RuleContext(mentors, mentees, separator_for=lambda _f: ";")
        pairs = n_mentees * n_mentors
        rules = RULES if not args.full or n_mentees < 50_000 else ELIGIBILITY + SCORING
        print(f"\n{n_mentees:,} mentees x {n_mentors:,} mentors = {pairs / 1e6:,.1f} M pairs, "
              f"blocks of {args.block}")
        print(f"{'rule':<20} {'prepare s':>10} {'evaluate s':>11} {'M pairs/s':>10}")
        total = 0.0
        for label, text in rules:
            rule = parse_rule(text, label)
            start = time.perf_counter()
            ctx.check(rule)
            ctx.evaluate_block(rule, np.arange(1))  # builds encodings and prepared matrices
            prepare = time.perf_counter() - start
            elapsed = run_blocks(ctx, rule, n_mentees, args.block)
            total += prepare + elapsed
            print(f"{label:<20} {prepare:>10.3f} {elapsed:>11.3f} {pairs / elapsed / 1e6:>10.1f}")
        print(f"{'total':<20} {total:>22.3f}")


if __name__ == "__main__":
    main()
