"""Benchmark the matching paths a plain flow cannot take: side constraints and peer programmes.

Each row is one generated programme (scripts/generate_example.py rosters), solved by `mentorctl match` from
CLI start to every file written, in its own child process (wall and CPU seconds, that process's peak RSS):
- `side`: the tight benchmark programme (one mentor per three mentees, capacity 1-4, four eligibility rules,
  two scoring terms; about 80 % of mentees can be matched) plus `max_per_mentor` (at most one mentee of a
  department per mentor) and `min_share` (at least 30 % of pairs across sites; the unconstrained optimum has
  about 10 %);
- `peer`: a peer programme (one roster paired with itself: different department, at most 3 hours apart, a
  shared language both ways; shared goals × 3 and the same site as the score).
Status, bound and gap are match-summary.json's: the bound is over every eligible pair, the gap is its
distance to the matching found (0 = proven optimal).

Usage: python benchmarks/bench_side_constraints.py [--side 10000] [--peers 1000 5000] [--timeout 300]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "scripts"))
# wall and CPU seconds and peak RSS of one command, measured by a fresh parent (the machine is shared:
# CPU seconds say what the run costs when other work slows the wall clock)
_MEASURE = ("import json, resource, subprocess, sys, time\n"
            "t = time.perf_counter()\n"
            "code = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE).returncode\n"
            "u = resource.getrusage(resource.RUSAGE_CHILDREN)\n"
            "print(json.dumps({'seconds': time.perf_counter() - t, 'code': code, 'cpu': u.ru_utime + u.ru_stime,\n"
            "                  'peak_mib': u.ru_maxrss / 1024}))\n")


def measure(command: list[str], timeout: float) -> dict:
    try:
        out = subprocess.run([sys.executable, "-c", _MEASURE, *command], capture_output=True, text=True,
                             timeout=timeout, check=True)
    except subprocess.TimeoutExpired:
        return {"seconds": timeout, "cpu": float("nan"), "code": "timeout", "peak_mib": float("nan")}
    return json.loads(out.stdout.strip().splitlines()[-1])

SIDE_CONSTRAINTS = """  constraints:
    max_per_mentor: [{field: department, max: 1}]
    min_share: [{name: cross_site, expr: "mentor.location != mentee.location", share: 0.3}]
"""
PEER_PROGRAMME = """programme: {{name: Peer benchmark, timezone: Europe/London}}
design: {{type: peer, start_date: 2027-01-11}}
rosters: {{participants: people.csv, list_separator: ";"}}
matching:
  eligibility:
    - mentor.department != mentee.department
    - abs(mentor.utc_offset - mentee.utc_offset) <= 3
    - overlap(mentor.languages, mentee.languages) >= 1
  scoring:
    - {{name: goals, expr: "overlap(mentor.goals, mentee.goals)", weight: 3}}
    - {{name: same_site, expr: "mentor.location == mentee.location", weight: 1}}
  time_limit_seconds: {limit}
"""


def write_side(folder: Path, size: int) -> Path:
    """The tight programme with one max_per_mentor and one min_share."""
    from generate_example import write_programme

    write_programme(folder, size, "tight")
    path = folder / "programme.yaml"
    text = path.read_text()
    path.write_text(text.replace("  scoring:\n", SIDE_CONSTRAINTS + "  scoring:\n", 1))
    return folder


def write_peer(folder: Path, size: int, limit: float) -> Path:
    """A peer programme of `size` people (the generator's mentee rosters)."""
    from generate_example import generate_rosters

    folder.mkdir(parents=True, exist_ok=True)
    _, people = generate_rosters(size, max(1, size // 3), seed=11)
    people.drop(columns=["manager_id", "preferred_mentors"]).to_csv(folder / "people.csv", index=False)
    (folder / "programme.yaml").write_text(PEER_PROGRAMME.format(limit=limit))
    return folder


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--side", type=int, nargs="*", default=[10000], help="mentees, side-constraint programme")
    parser.add_argument("--peers", type=int, nargs="*", default=[1000, 5000], help="people, peer programme")
    parser.add_argument("--timeout", type=float, default=300, help="seconds per run before it is stopped")
    parser.add_argument("--time-limit", type=float, default=60, help="matching.time_limit_seconds")
    args = parser.parse_args(argv)
    exe = Path(sys.executable).with_name("mentorctl")
    header = ("programme", "people", "seconds", "CPU s", "peak MiB", "status", "matched", "objective", "bound", "gap",
              "model")
    rows = []
    print(f"# {os.cpu_count()} cores; load average {os.getloadavg()[0]:.1f} at start", file=sys.stderr)
    with tempfile.TemporaryDirectory() as tmp:
        runs = [("side", n, write_side) for n in args.side] + [("peer", n, write_peer) for n in args.peers]
        for kind, size, write in runs:
            folder = Path(tmp) / f"{kind}{size}"
            if kind == "peer":
                write(folder, size, args.time_limit)
            else:
                write(folder, size)
                path = folder / "programme.yaml"
                path.write_text(path.read_text().replace(
                    "  scoring:\n", f"  time_limit_seconds: {args.time_limit:g}\n  scoring:\n", 1))
            measured = measure([str(exe), "match", str(folder), "--force"], args.timeout)
            if measured["code"] != 0:
                row = (kind, f"{size:,}", f"{measured['seconds']:.2f}", "–", "–", f"exit {measured['code']}",
                       "–", "–", "–", "–", "")
            else:
                s = json.loads((folder / "out/match-summary.json").read_text())
                bound = s.get("bound")
                row = (kind, f"{size:,}", f"{measured['seconds']:.2f}", f"{measured['cpu']:.2f}",
                       f"{measured['peak_mib']:,.0f}",
                       s["status"], f"{s['matched']:,}", f"{s['objective_value']:,.1f}",
                       "–" if bound is None else f"{bound:,.1f}", f"{s['gap']:.4%}", s["model"])
                print("  " + s["optimality"], file=sys.stderr)
            rows.append(row)
            print("done " + " | ".join(row), file=sys.stderr, flush=True)
    print(f"# load average {os.getloadavg()[0]:.1f} at the end", file=sys.stderr)
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    for row in rows:
        print("| " + " | ".join(row) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
