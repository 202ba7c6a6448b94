"""Benchmark balanced shortlists (`build_shortlists`) on generated rosters (one mentor per three mentees, the
example programme's rules), printing seconds, entries, their total score and the largest exposure per mentor.

Usage: python benchmarks/bench_shortlist.py [--sizes 1000 10000 50000] [--size 5] [--exposure 2]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "scripts"))


def main() -> None:
    from generate_example import write_programme

    from mentorctl.matching.shortlist import build_shortlists
    from mentorctl.programme import load_programme
    from mentorctl.roster import load_participants

    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000, 50000])
    parser.add_argument("--size", type=int, default=5)
    parser.add_argument("--exposure", type=float, default=2.0)
    args = parser.parse_args()
    print("| mentees | mentors | seconds | shortlisted | entries | total score | max per mentor | optimality |")
    print("|---:|---:|---:|---:|---:|---:|---:|---|")
    for n in args.sizes:
        with tempfile.TemporaryDirectory() as tmp:
            folder = write_programme(Path(tmp) / "p", n)
            programme = load_programme(folder)
            participants = load_participants(programme)
            started = time.perf_counter()
            result = build_shortlists(programme, participants, size=args.size, exposure=args.exposure)
            seconds = time.perf_counter() - started
            s = result.summary
            print(f"| {n:,} | {n // 3:,} | {seconds:.1f} | {s.shortlisted:,} of {s.mentees:,} | {s.entries:,} | "
                  f"{s.total_score:,.4f} | {s.max_per_mentor} | {s.optimality} |", flush=True)


if __name__ == "__main__":
    main()
