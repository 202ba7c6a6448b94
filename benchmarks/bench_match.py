"""Benchmark `mentorctl match` end to end beside the approaches a coordinator would otherwise use.

For each size and capacity kind, one generated programme (scripts/generate_example.py `write_programme`: one
mentor per three mentees, capacity 1-4, so about 80 % of mentees can be matched):
- `loose`: the bundled example's rules (five eligibility rules, three scoring terms, ranked preferences);
- `tight`: four rules (different department, grade at least one higher, at most 3 hours apart, a shared
  language) and two coarse scoring terms, so many scores tie and the optimality proof has the most to do.

On that same input, each in its own child process (wall seconds and the child's peak RSS):
- mentorctl   `mentorctl match` from CLI start to every file written; optimal over every eligible pair;
- greedy      best score first over each mentee's best `candidates_per_mentee` pairs (spreadsheets, most tools);
- hungarian   scipy's linear_sum_assignment on the capacity-expanded matrix of every eligible pair (mentor
              places as columns; coverage first by a bonus), where it fits (--hungarian-cells);
- stable      stable hospital-resident matching (the `matching` package; both sides rank by score) over the
              best candidates, where it runs;
- milp        a MILP over the best candidates (HiGHS via highspy: binary per pair, coverage bonus + score).
The baselines need the `bench` extra: pip install -e '.[bench]'. Ratios are objective / mentorctl's.

Usage: python benchmarks/bench_match.py [--sizes 1000 10000 50000 100000] [--kinds loose tight]
                                        [--methods mentorctl greedy hungarian stable milp] [--repeat 1]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "scripts"))
METHODS = ["mentorctl", "greedy", "hungarian", "stable", "milp"]
# wall time and peak RSS of one command, measured by a fresh parent so the peak is this command's alone
_MEASURE = ("import json, resource, subprocess, sys, time\n"
            "t = time.perf_counter()\n"
            "code = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE).returncode\n"
            "print(json.dumps({'seconds': time.perf_counter() - t, 'code': code,\n"
            "                  'peak_mib': resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024}))\n")


def speed_probe() -> str:
    """How fast this machine runs right now: a fixed pure-Python loop (10 million additions) in a fresh child.
    A shared machine's speed drifts (the same run measured up to 2× slower in a slow spell); this says which
    spell a table was measured in."""
    code = ("import time\nt = time.perf_counter()\ns = 0\nfor i in range(10_000_000):\n    s += i\n"
            "print(time.perf_counter() - t)")
    seconds = float(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout)
    return f"speed probe (10 M Python additions) {seconds:.2f} s"


def measure(command: list[str], timeout: float) -> dict:
    try:
        out = subprocess.run([sys.executable, "-c", _MEASURE, *command], capture_output=True, text=True,
                             timeout=timeout, check=True)
    except subprocess.TimeoutExpired:
        return {"seconds": timeout, "code": "timeout", "peak_mib": float("nan")}
    return json.loads(out.stdout.strip().splitlines()[-1])


# ------------------------------------------------------------------------------------------ baselines

def _load(folder: Path):  # noqa: ANN202
    from mentorctl.matching.candidates import Filters, build_candidates
    from mentorctl.matching.prepare import prepare
    from mentorctl.programme import load_programme
    from mentorctl.roster import load_participants

    programme = load_programme(folder)
    prep = prepare(programme, load_participants(programme))
    filters = Filters(prep.mentor_ok & (prep.mentor_cap > 0), np.zeros(0, np.int64), programme.matching.min_score)
    rows = np.flatnonzero(prep.mentee_ok)
    cands = build_candidates(prep.source, rows, filters, programme.matching.candidates_per_mentee, prep.mentor_ok)
    return prep, filters, rows, cands


def _result(mentee: np.ndarray, score: np.ndarray, note: str = "") -> dict:
    return {"matched": int(len(np.unique(mentee))), "objective": float(np.sum(score)), "note": note}


def run_greedy(folder: Path, _args: argparse.Namespace) -> dict:
    from mentorctl.matching.exact import greedy

    prep, _, _, cands = _load(folder)
    used = greedy(prep.mentee_cap, np.where(prep.mentor_ok, prep.mentor_cap, 0), cands)
    return _result(cands.mentee[used], cands.score[used],
                   f"best {prep.programme.matching.candidates_per_mentee} candidates per mentee")


def run_hungarian(folder: Path, args: argparse.Namespace) -> dict:
    from scipy.optimize import linear_sum_assignment

    from mentorctl.matching.prepare import prepare
    from mentorctl.programme import load_programme
    from mentorctl.roster import load_participants

    programme = load_programme(folder)
    prep = prepare(programme, load_participants(programme))
    cap = np.where(prep.mentor_ok, prep.mentor_cap, 0)
    slots = np.repeat(np.arange(len(cap)), cap)
    rows = np.repeat(np.flatnonzero(prep.mentee_ok), prep.mentee_cap[prep.mentee_ok])
    if len(rows) * len(slots) > args.hungarian_cells:
        return {"skipped": f"{len(rows):,} × {len(slots):,} expanded matrix > --hungarian-cells"}
    unique_rows = np.unique(rows)
    ok, score, _ = prep.source.evaluate(unique_rows, None, blocked=False) if hasattr(
        prep.source, "blocking") else prep.source.evaluate(unique_rows)
    if programme.matching.min_score is not None:
        ok &= score >= programme.matching.min_score - 1e-9
    position = np.searchsorted(unique_rows, rows)
    bonus = 1e6  # coverage first
    weight = np.where(ok[position][:, slots], score[position][:, slots] + bonus, -1e9)
    del ok
    r, c = linear_sum_assignment(weight, maximize=True)
    chosen = weight[r, c] > 0
    pairs = {(int(rows[a]), int(slots[b])) for a, b in zip(r[chosen], c[chosen], strict=True)}
    mentee = np.array([p[0] for p in pairs], np.int64)
    return _result(mentee, weight[r[chosen], c[chosen]] - bonus,
                   "every eligible pair" + (" (a mentee may get one mentor twice)" if len(pairs) < chosen.sum()
                                            else ""))


def run_stable(folder: Path, _args: argparse.Namespace) -> dict:
    from matching.games import HospitalResident

    prep, _, _, cands = _load(folder)
    order = np.lexsort((cands.mentor, -cands.score, cands.mentee))
    e, m, s = cands.mentee[order], cands.mentor[order], cands.score[order]
    residents: dict[str, list[str]] = {}
    for a, b in zip(e.tolist(), m.tolist(), strict=True):
        residents.setdefault(f"e{a}", []).append(f"m{b}")
    by_mentor = np.lexsort((e, -s, m))
    hospitals: dict[str, list[str]] = {}
    for a, b in zip(m[by_mentor].tolist(), e[by_mentor].tolist(), strict=True):
        hospitals.setdefault(f"m{a}", []).append(f"e{b}")
    capacity = {h: int(prep.mentor_cap[int(h[1:])]) for h in hospitals}
    import threading

    found: dict = {}

    def solve() -> None:  # the package recurses once per proposal: give it a deep stack
        try:
            game = HospitalResident.create_from_dictionaries(residents, hospitals, capacity)
            found["solution"] = game.solve(optimal="resident")
        except RecursionError:
            found["error"] = "RecursionError in the matching package"

    sys.setrecursionlimit(1_000_000)
    threading.stack_size(1024 * 1024 * 1024)
    thread = threading.Thread(target=solve)
    thread.start()
    thread.join()
    if "solution" not in found:
        return {"skipped": found.get("error", "failed")}
    solution = found["solution"]
    score = {(int(a), int(b)): float(c) for a, b, c in zip(e, m, s, strict=True)}
    got_e, got_s = [], []
    for hospital, matched in solution.items():
        for resident in matched:
            got_e.append(int(resident.name[1:]))
            got_s.append(score[(int(resident.name[1:]), int(hospital.name[1:]))])
    return _result(np.array(got_e, np.int64), np.array(got_s), "resident-optimal, best candidates")


def run_milp(folder: Path, args: argparse.Namespace) -> dict:
    import highspy
    from scipy import sparse

    prep, _, _, cands = _load(folder)
    n = len(cands.mentee)
    n_e, n_m = len(prep.mentees), len(prep.mentors)
    bonus = float(np.abs(cands.score).sum() + 1)  # coverage first
    matrix = sparse.vstack([
        sparse.csr_array((np.ones(n), (cands.mentee, np.arange(n))), shape=(n_e, n)),
        sparse.csr_array((np.ones(n), (cands.mentor, np.arange(n))), shape=(n_m, n))]).tocsc()
    upper = np.concatenate([prep.mentee_cap, np.where(prep.mentor_ok, prep.mentor_cap, 0)]).astype(float)
    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    h.setOptionValue("time_limit", float(args.milp_seconds))
    h.setOptionValue("threads", 2)
    lp = highspy.HighsLp()
    lp.num_col_, lp.num_row_ = n, n_e + n_m
    lp.col_cost_ = -(cands.score + bonus)
    lp.col_lower_, lp.col_upper_ = np.zeros(n), np.ones(n)
    lp.row_lower_, lp.row_upper_ = np.full(n_e + n_m, -highspy.kHighsInf), upper
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_, lp.a_matrix_.index_ = matrix.indptr, matrix.indices
    lp.a_matrix_.value_ = matrix.data
    lp.integrality_ = [highspy.HighsVarType.kInteger] * n
    h.passModel(lp)
    h.run()
    status = h.modelStatusToString(h.getModelStatus())
    x = np.asarray(h.getSolution().col_value) > 0.5
    return _result(cands.mentee[x], cands.score[x], f"HiGHS {status}, best candidates")


BASELINES = {"greedy": run_greedy, "hungarian": run_hungarian, "stable": run_stable, "milp": run_milp}


def worker(method: str, folder: Path, args: argparse.Namespace) -> int:
    try:
        result = BASELINES[method](folder, args)
    except ImportError as e:
        result = {"skipped": f"needs the bench extra ({e.name})"}
    except MemoryError:
        result = {"skipped": "out of memory"}
    (folder / f"bench-{method}.json").write_text(json.dumps(result))
    return 0


# ------------------------------------------------------------------------------------------------ main

def run_one(method: str, folder: Path, args: argparse.Namespace) -> dict:
    if method == "mentorctl":
        exe = Path(sys.executable).with_name("mentorctl")
        measured = measure([str(exe), "match", str(folder), "--force"], args.timeout)
        if measured["code"] != 0:
            return {**measured, "skipped": f"exit {measured['code']}"}
        summary = json.loads((folder / "out/match-summary.json").read_text())
        return {**measured, "matched": summary["matched"], "objective": summary["objective_value"],
                "note": "proven optimal over every eligible pair" if (summary.get("proof") or {}).get("proven")
                else summary["optimality"]}
    out = folder / f"bench-{method}.json"
    out.unlink(missing_ok=True)
    command = [sys.executable, __file__, "--worker", method, "--folder", str(folder),
               "--hungarian-cells", str(args.hungarian_cells), "--milp-seconds", str(args.milp_seconds)]
    measured = measure(command, args.timeout)
    if measured["code"] != 0 or not out.exists():
        return {**measured, "skipped": "timeout" if measured["code"] == "timeout" else "failed"}
    return {**measured, **json.loads(out.read_text())}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000, 50000])
    parser.add_argument("--kinds", nargs="+", choices=["loose", "tight"], default=["loose", "tight"])
    parser.add_argument("--methods", nargs="+", choices=METHODS, default=METHODS)
    parser.add_argument("--repeat", type=int, default=1, help="runs of mentorctl per input (the best is shown)")
    parser.add_argument("--timeout", type=float, default=900, help="seconds per run before it is stopped")
    parser.add_argument("--hungarian-cells", type=float, default=1e8, help="largest capacity-expanded matrix")
    parser.add_argument("--milp-seconds", type=float, default=300, help="HiGHS time limit")
    parser.add_argument("--worker", choices=list(BASELINES), help=argparse.SUPPRESS)
    parser.add_argument("--folder", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        return worker(args.worker, args.folder, args)
    from generate_example import write_programme

    # what a normal install leaves: without bytecode (an editable install under PYTHONDONTWRITEBYTECODE) every
    # run would compile mentorctl's modules again, 0.05-0.2 s of each timing
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(REPO / "src")], check=True)
    subprocess.run([sys.executable, "-c", "from mentorctl.matching.kernels import precompile; precompile()"],
                   check=True)   # as `make` does: no run pays numba's first compilation

    header = ("mentees", "capacity", "method", "seconds", "peak MiB", "matched", "objective", "ratio", "note")
    rows = []
    print(f"# {os.cpu_count()} cores; load average {os.getloadavg()[0]:.1f} at start; {speed_probe()}", file=sys.stderr)
    with tempfile.TemporaryDirectory() as tmp:
        for size in sorted(args.sizes):
            for kind in args.kinds:
                folder = write_programme(Path(tmp) / f"{kind}{size}", size, kind)
                base = None
                for method in args.methods:
                    runs = [run_one(method, folder, args) for _ in range(args.repeat if method == "mentorctl" else 1)]
                    result = min(runs, key=lambda r: r["seconds"])
                    if method == "mentorctl" and "objective" in result:
                        base = result["objective"]
                    if "skipped" in result:
                        row = (f"{size:,}", kind, method, "–", "–", "–", "–", "–", result["skipped"])
                    else:
                        ratio = f"{result['objective'] / base:.4f}" if base else "–"
                        row = (f"{size:,}", kind, method, f"{result['seconds']:.2f}", f"{result['peak_mib']:,.0f}",
                               f"{result['matched']:,}", f"{result['objective']:,.1f}", ratio, result.get("note", ""))
                    rows.append(row)
                    print("done " + " | ".join(row), file=sys.stderr, flush=True)
    print(f"load average {os.getloadavg()[0]:.1f} at the end; {speed_probe()}", file=sys.stderr)
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    for row in rows:
        print("| " + " | ".join(row) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
