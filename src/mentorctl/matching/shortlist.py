"""Self-matching models: balanced shortlists (a b-matching) and the rank-maximal matching of ranked picks.

**Shortlists.** Every mentee gets up to K mentors, chosen together: each shortlist entry is an arc of a flow
network source → mentee (capacity K) → mentor (capacity ⌊exposure × remaining capacity⌋) → sink, so no mentor
is shown to more mentees than they could plausibly take (popular mentors are not flooded). The objective is the
programme's (`matching.objective`: most entries then the best total score, the best total score, or fair), and
the candidate builder and the optimality certificate are the matcher's own (`candidates.build_candidates`,
`flow.certify`, `flow.tighten`): the b-matching is one min-cost flow (`shortlist_network`, solved by
`solve_shortlist_network`) over the candidates kept, and `proven_b_matching` tests every eligible pair left out
against the flow's node potentials, adding any that could improve it, until none can (proven optimal over
every eligible pair).

**Rank-maximal matching.** Given ranked picks, the matching maximises the number of first choices, then of
second choices, …, then the total score: a lexicographic objective solved exactly as a sequence of min-cost
flows (`lexicographic_flow`). After each stage the optimal node potentials (Bellman-Ford on the residual
graph) fix every arc whose reduced cost is not zero — an arc with positive reduced cost carries its lower bound
in every optimal flow, one with negative reduced cost its upper bound (complementary slackness) — so the next
stage optimises over exactly the optimal flows of the previous ones. Every stage's costs are small integers,
so no big tier weights can overflow, whatever the size.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from mentorctl.errors import MentorctlError
from mentorctl.matching.candidates import Candidates, Filters, PairSource
from mentorctl.matching.flow import SCALE, Network, shortest_distances, to_cost

if TYPE_CHECKING:
    import pandas as pd

    from mentorctl.matching.prepare import Prepared
    from mentorctl.programme import Programme
    from mentorctl.relationships import MatchPlan
    from mentorctl.roster import Participants

SHORTLIST_CANDIDATES_PER_SLOT = 4   # candidates kept per shortlist place (at most matching.candidates_per_mentee)
SHORTLIST_MENTEES_PER_MENTOR = 8    # and each mentor's best mentees (at least matching.candidates_per_mentor)
SHORTLIST_COLUMNS = ["mentee_id", "mentee_name", "rank", "mentor_id", "mentor_name", "score", "why"]


# --------------------------------------------------------------------------------------- lexicographic flow

def lexicographic_flow(n_nodes: int, tails: np.ndarray, heads: np.ndarray, caps: np.ndarray,
                       supply: np.ndarray, stage_costs: list[np.ndarray]) -> np.ndarray:
    """Flows (one per arc) meeting `supply` (per node, summing to 0) within `caps`, minimising the first cost
    vector, then the second among those optimal for the first, and so on (exact; see the module docs).
    Raises ValueError when no flow meets the supplies (a caller's bug: include a bypass arc)."""
    from ortools.graph.python import min_cost_flow

    tails, heads = np.asarray(tails, np.int64), np.asarray(heads, np.int64)
    lo = np.zeros(len(tails), np.int64)
    hi = np.asarray(caps, np.int64).copy()
    flows = lo
    for stage, costs in enumerate(stage_costs):
        costs = np.asarray(costs, np.int64)
        unit = int(np.gcd.reduce(np.abs(costs))) if len(costs) and costs.any() else 1
        scaled = costs // unit
        balance = np.asarray(supply, np.int64).copy()
        np.subtract.at(balance, tails, lo)
        np.add.at(balance, heads, lo)
        free = np.flatnonzero(hi > lo)  # arcs fixed by earlier stages only shift the supplies
        solver = min_cost_flow.SimpleMinCostFlow()
        solver.add_arcs_with_capacity_and_unit_cost(tails[free].astype(np.int32), heads[free].astype(np.int32),
                                                    (hi - lo)[free], scaled[free])
        solver.set_nodes_supplies(np.arange(n_nodes, dtype=np.int32), balance)
        status = solver.solve()
        if status != solver.OPTIMAL:
            raise ValueError(f"min-cost flow stage {stage + 1} failed with status {status}")
        flows = lo.copy()
        flows[free] += solver.flows(np.arange(len(free), dtype=np.int32)).astype(np.int64)
        if stage == len(stage_costs) - 1:
            break
        fwd, back = flows < hi, flows > lo
        r_tails = np.concatenate([tails[fwd], heads[back]])
        r_heads = np.concatenate([heads[fwd], tails[back]])
        r_costs = np.concatenate([scaled[fwd], -scaled[back]])
        potential = shortest_distances(n_nodes, r_tails, r_heads, r_costs)
        reduced = scaled + potential[tails] - potential[heads]
        hi = np.where(reduced > 0, lo, hi)
        lo = np.where(reduced < 0, hi, lo)
        hi = np.maximum(hi, lo)
    return flows


# --------------------------------------------------------------------------------------------- shortlists

@dataclass(frozen=True)
class ShortlistSummary:
    """What `shortlist` did, for the terminal and shortlist-summary.json."""

    mentees: int
    shortlisted: int
    entries: int
    size: int
    exposure: float
    total_score: float
    mentors_shown: int
    max_per_mentor: int
    optimality: str
    objective: str
    proven: bool = True             # optimal over every eligible pair (not only the candidates kept)

    def as_dict(self) -> dict[str, Any]:
        from dataclasses import asdict

        return asdict(self)


@dataclass(frozen=True)
class ShortlistResult:
    """`entries`: one row per (mentee, rank) with SHORTLIST_COLUMNS (sorted by mentee, rank); `missing`:
    mentees without a shortlist (participant_id, role, reason); `exposure`: per mentor (mentor_id, remaining,
    cap, shortlists)."""

    entries: pd.DataFrame
    missing: pd.DataFrame
    exposure: pd.DataFrame
    summary: ShortlistSummary
    terms: dict[str, list[dict[str, Any]]] = field(default_factory=dict)   # "mentee\x1fmentor" -> reasons


def exposure_caps(remaining: np.ndarray, exposure: float) -> np.ndarray:
    """⌊exposure × remaining capacity⌋ per mentor (never below the remaining capacity itself)."""
    return np.maximum(np.floor(exposure * remaining + 1e-9).astype(np.int64), remaining)


def build_shortlists(programme: Programme, participants: Participants, *, size: int, exposure: float,
                     taken: dict[str, int] | None = None, exclude: set[tuple[str, str]] | None = None,
                     only: set[str] | None = None, already_shown: dict[str, int] | None = None,
                     promised: dict[str, int] | None = None, plan: MatchPlan | None = None) -> ShortlistResult:
    """Shortlists of up to `size` mentors per mentee (see the module docs).

    `taken`: places already filled per mentor id (accepted requests); `exclude`: (mentee id, mentor id) pairs
    never to show (declined or expired requests); `only`: build shortlists for these mentee ids alone (a
    fresh shortlist after declines); `already_shown`: shortlists per mentor id still open elsewhere, counted
    against the exposure cap; `promised`: open requests per mentor id (request mode) — each counts against
    the exposure cap, and a mentor whose free places are all promised is not shown at all; `plan` (a running
    programme, relationships.match_plan): its current pairs hold their mentors' places, its ended pairs are
    never shown, and only the mentees `match` would match get a shortlist (the others are in `missing`, with
    the reason)."""
    import pandas as pd

    from mentorctl.matching.candidates import Filters, build_candidates
    from mentorctl.matching.prepare import prepare, read_pair_file

    if programme.is_peer:
        raise MentorctlError("self-matching needs mentors and mentees; a peer programme has one roster")
    prep = prepare(programme, participants)
    n_m = len(prep.mentors)
    mentor_index, mentee_index = prep.mentor_index, prep.mentee_index
    used = np.zeros(n_m, np.int64)
    for mentor_id, count in (taken or {}).items():
        if mentor_id in mentor_index:
            used[mentor_index[mentor_id]] += int(count)
    keys = [] if plan is None else [_apply_plan(prep, plan, used)]
    remaining = np.where(prep.mentor_ok, prep.mentor_cap - used, 0).clip(0)
    cap = exposure_caps(remaining, exposure)
    for mentor_id, count in (already_shown or {}).items():
        if mentor_id in mentor_index:
            cap[mentor_index[mentor_id]] = max(0, cap[mentor_index[mentor_id]] - int(count))
    for mentor_id, count in (promised or {}).items():
        if mentor_id in mentor_index:
            at = mentor_index[mentor_id]
            cap[at] = 0 if remaining[at] <= int(count) else max(0, cap[at] - int(count))
    m = programme.matching
    for spec, label in [(m.forbidden, "matching.forbidden")] + [(h, "matching.history") for h in m.history]:
        if spec:
            e, j, _ = read_pair_file(programme, spec, label, prep, ignore_unknown=label == "matching.history")
            keys.append(e * n_m + j)
    for mentee_id, mentor_id in exclude or ():
        if mentee_id in mentee_index and mentor_id in mentor_index:
            keys.append(np.array([mentee_index[mentee_id] * n_m + mentor_index[mentor_id]], np.int64))
    excluded = np.unique(np.concatenate(keys)) if keys else np.zeros(0, np.int64)
    filters = Filters(prep.mentor_ok & (cap > 0), excluded, m.min_score)
    wanted = prep.mentee_ok.copy()
    if only is not None:
        wanted &= prep.mentees["id"].isin(only).to_numpy()
    rows = np.flatnonzero(wanted)
    keep = max(size, min(m.candidates_per_mentee, SHORTLIST_CANDIDATES_PER_SLOT * size))
    cands = build_candidates(prep.source, rows, filters, keep, prep.mentor_ok,
                             per_mentor=max(m.candidates_per_mentor, SHORTLIST_MENTEES_PER_MENTOR))
    e, j, s, proven = proven_b_matching(prep.source, filters, cands, np.where(wanted, size, 0), cap)
    order = np.lexsort((prep.mentors["id"].to_numpy()[j], -np.round(s, 9), e))
    e, j, s = e[order], j[order], s[order]
    first = np.r_[0, np.flatnonzero(np.diff(e)) + 1] if len(e) else np.zeros(0, np.int64)
    rank = np.arange(len(e)) - np.repeat(first, np.diff(np.r_[first, len(e)])) + 1
    reasons = _reasons(programme, prep, e, j)
    entries = pd.DataFrame({
        "mentee_id": prep.mentees["id"].to_numpy()[e], "mentee_name": _column(prep.mentees, "name", e),
        "rank": rank.astype(np.int64), "mentor_id": prep.mentors["id"].to_numpy()[j],
        "mentor_name": _column(prep.mentors, "name", j), "score": np.round(s, 4),
        "why": ["; ".join(r["explain"] for r in rs) for rs in reasons]}, columns=SHORTLIST_COLUMNS)
    terms = {f"{a}\x1f{b}": rs for a, b, rs in zip(entries["mentee_id"], entries["mentor_id"], reasons, strict=True)}
    shown = np.bincount(j, minlength=n_m)
    report = wanted | (~prep.mentee_ok if only is None else ~prep.mentee_ok & prep.mentees["id"].isin(only).to_numpy())
    missing = _missing(prep, cands, report, e)
    exposure_frame = pd.DataFrame({"mentor_id": prep.mentors["id"], "remaining": remaining, "cap": cap,
                                   "shortlists": shown})
    eligible = int(cands.total_eligible)
    optimality = (f"optimal over all {eligible:,} eligible pairs" + ("" if not cands.pruned else
                  f" (proof: no pair left out of the best {keep} per mentee has negative reduced cost)")
                  if proven else f"optimal over the {len(cands.mentee):,} candidate pairs kept (the best {keep} "
                  f"per mentee); the proof over all {eligible:,} eligible pairs did not finish")
    summary = ShortlistSummary(
        mentees=int(wanted.sum()), shortlisted=int(len(np.unique(e))), entries=int(len(e)), size=size,
        exposure=float(exposure), total_score=round(float(s.sum()), 4), mentors_shown=int((shown > 0).sum()),
        max_per_mentor=int(shown.max(initial=0)), optimality=optimality, proven=proven,
        objective="most mentees with a shortlist, then most entries, then total score")
    return ShortlistResult(entries.reset_index(drop=True), missing, exposure_frame, summary, terms)


def shortlist_network(mentee_cap: np.ndarray, mentor_cap: np.ndarray, pair_mentee: np.ndarray,
                      pair_mentor: np.ndarray, pair_score: np.ndarray, cost_bound: int = 0) -> Network:
    """The b-matching as one min-cost flow (matcher's node numbering: 0 source, 1 sink, 2 + mentee,
    2 + n_mentees + mentor). Arcs: the pairs (each its score's cost), then per mentee its first place
    (capacity 1, cost −(B1 + B2)), then per mentee its further places (one arc, cost −B2 each), then each
    mentor to the sink, then a zero-cost bypass source → sink that lets places stay empty. An augmenting path
    or cycle changes the number of mentees with a shortlist and of entries by at most one each, so with B2
    above any path's change in score and B1 above B2 plus it, the optimum has the most mentees with a
    shortlist, then the most entries, then the best total score (exact, without huge tier weights).
    `cost_bound`: the largest |cost| of any pair that may later be tested against this network (the proof);
    B1 and B2 are multiples of the pairs' common cost divisor, which the solver divides out."""
    mentee_cap = np.asarray(mentee_cap, np.int64)
    mentor_cap = np.asarray(mentor_cap, np.int64)
    n_e, n_m, n_p = len(mentee_cap), len(mentor_cap), len(pair_mentee)
    costs = to_cost(np.asarray(pair_score, np.float64))
    n_nodes = 2 + n_e + n_m
    unit = max(1, int(np.gcd.reduce(np.abs(costs)))) if n_p else 1
    swing = unit * ((n_nodes + 1) * (max(int(np.abs(costs).max(initial=0)), int(cost_bound)) + 1) // unit + 1)
    supply = int(min(mentee_cap.sum(), mentor_cap.sum()))   # no flow fills more places than mentors offer
    mentee_nodes = 2 + np.arange(n_e)
    tails = np.concatenate([2 + np.asarray(pair_mentee), np.zeros(2 * n_e, np.int64), 2 + n_e + np.arange(n_m),
                            [0]])
    heads = np.concatenate([2 + n_e + np.asarray(pair_mentor), mentee_nodes, mentee_nodes, np.ones(n_m, np.int64),
                            [1]])
    caps = np.concatenate([np.ones(n_p, np.int64), np.minimum(mentee_cap, 1), np.maximum(mentee_cap - 1, 0),
                           mentor_cap, [supply]])
    place_costs = [np.full(n_e, -(3 * swing + unit)), np.full(n_e, -swing)]   # B2 = swing, B1 = 2 × swing + unit
    return Network(n_e, n_m, 0, tails.astype(np.int32), heads.astype(np.int32), caps.astype(np.int64),
                   np.concatenate([costs, *place_costs, np.zeros(n_m, np.int64), [0]]).astype(np.int64), n_p,
                   bypass=True, supply=supply)


def solve_shortlist_network(net: Network) -> np.ndarray:
    """Optimal flows of every arc of a `shortlist_network`, found without its tier weights (on the pairs'
    own, small costs, which the solver handles faster): the most entries E is a maximum flow and the most
    mentees with a shortlist C a maximum flow through first places only (augmenting paths never lower a
    mentee's load, so some maximum flow covers C mentees); one min-cost flow then sends exactly C units
    through the first places and E − C through the others, so every flow it considers covers C mentees with
    E entries (no flow covers more), and it picks the best score among them: the network's own optimum
    (with the pair costs centred on zero, which every such flow shifts by the same amount)."""
    from dataclasses import replace

    from mentorctl.matching.flow import max_flow_value

    n_e, n_p = net.n_mentees, net.n_pair_arcs
    rest = slice(n_p + n_e, n_p + 2 * n_e)
    pairs = np.ones(n_p, bool)
    entries = max_flow_value(net, pairs)
    first_only = net.caps.copy()
    first_only[rest] = 0
    covered = max_flow_value(replace(net, caps=first_only), pairs)
    extra = net.n_nodes                         # a second source: the places after the first
    tails = net.tails[:-1].astype(np.int64)     # every arc but the bypass
    tails[rest] = extra
    supply = np.zeros(net.n_nodes + 1, np.int64)
    supply[Network.SOURCE], supply[extra], supply[Network.SINK] = covered, entries - covered, -entries
    costs = np.zeros(len(tails), np.int64)
    if n_p:   # every flow here sends E units through exactly one pair each: centring the costs changes nothing
        pair = net.costs[:n_p]
        unit = max(1, int(np.gcd.reduce(np.abs(pair))))
        costs[:n_p] = pair - (int(pair.min()) + int(pair.max())) // 2 // unit * unit
    flows = lexicographic_flow(net.n_nodes + 1, tails, net.heads[:-1], net.caps[:-1], supply, [costs])
    return np.append(flows, net.supply - entries)   # the bypass carries the places left empty


def balanced_b_matching(mentee_cap: np.ndarray, mentor_cap: np.ndarray, pair_mentee: np.ndarray,
                        pair_mentor: np.ndarray, pair_score: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pairs (each at most once) with every mentee i in at most mentee_cap[i] and every mentor j in at most
    mentor_cap[j] pairs, maximising lexicographically: the number of mentees with at least one pair, then
    the number of pairs, then the total score (exact: `shortlist_network`, one min-cost flow). Returns the
    chosen pairs' (mentee, mentor, score)."""
    net = shortlist_network(mentee_cap, mentor_cap, pair_mentee, pair_mentor, pair_score)
    used = solve_shortlist_network(net)[:len(pair_mentee)] > 0
    return (np.asarray(pair_mentee)[used].astype(np.int64), np.asarray(pair_mentor)[used].astype(np.int64),
            np.asarray(pair_score, np.float64)[used])


MAX_PROOF_ROUNDS = 12
PROOF_PAIRS_PER_MENTEE = 30   # improving pairs added per mentee and round (the most negative reduced costs)


def proven_b_matching(source: PairSource, filters: Filters, cands: Candidates, mentee_cap: np.ndarray,
                      mentor_cap: np.ndarray, workers: int | None = None
                      ) -> tuple[np.ndarray, np.ndarray, np.ndarray, bool]:
    """`balanced_b_matching` over the candidates, proven optimal over every eligible pair as the matcher
    proves its flows (`exact`): the flow's certificate (`flow.certify`: node potentials with every residual
    arc's reduced cost ≥ 0) is moved within its valid range (`flow.tighten`) so that a cheap per-mentee
    test — the best pair the mentee lost to pruning against each mentor's potential — rules out most pairs
    left out; the others are evaluated (`_improving_pairs`, on `workers` threads), up to
    PROOF_PAIRS_PER_MENTEE of each mentee with negative reduced cost are added and the flow solved again,
    until no left-out pair has negative reduced cost (proven) or MAX_PROOF_ROUNDS pass.
    Returns (mentee, mentor, score, proven)."""
    from mentorctl.matching.flow import certify, tighten

    e, j, s = cands.mentee.copy(), cands.mentor.copy(), cands.score.copy()
    best_left = np.where(np.isfinite(cands.best_discarded), cands.best_discarded, -np.inf)
    rows = np.flatnonzero(np.isfinite(best_left) & (np.asarray(mentee_cap) > 0))   # mentees with pairs left out
    bound = int(max(abs(cands.score_low), abs(cands.score_high)) * SCALE) + 1      # |cost| of any eligible pair
    n_m = source.n_mentors
    for _ in range(MAX_PROOF_ROUNDS):
        net = shortlist_network(mentee_cap, mentor_cap, e, j, s, cost_bound=bound)
        flows = solve_shortlist_network(net)
        used = flows[:len(e)] > 0
        if not len(rows):
            return e[used], j[used], s[used], True
        cert = certify(net, flows)
        tighten(net, flows, cert)
        mentee_potential = cert.potential[net.mentee_node(np.arange(len(mentee_cap)))]
        head = cert.potential[net.mentor_node(np.arange(n_m))]
        slack = to_cost(best_left[rows]) + mentee_potential[rows]   # no left-out pair of the mentee costs less
        new_e, new_j, new_s = _improving_pairs(source, filters, rows, slack, mentee_potential, head,
                                               np.sort(e * n_m + j), workers)
        if not len(new_e):   # no left-out pair has negative reduced cost: optimal over every eligible pair
            return e[used], j[used], s[used], True
        e, j, s = np.concatenate([e, new_e]), np.concatenate([j, new_j]), np.concatenate([s, new_s])
    return e[used], j[used], s[used], False


def _improving_pairs(source: PairSource, filters: Filters, rows: np.ndarray, slack: np.ndarray,
                     mentee_potential: np.ndarray, head: np.ndarray, have: np.ndarray, workers: int | None
                     ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The eligible pairs of `rows` × every mentor, not among `have` (sorted keys mentee × n_mentors +
    mentor), whose reduced cost (cost + mentee potential − head, the mentor's potential) is negative: up to
    PROOF_PAIRS_PER_MENTEE per mentee, the most negative first.

    A pair (i, j) left out costs at least slack[i] − the mentee's potential, so its reduced cost is at least
    slack[i] − head[j]: mentee i is evaluated only against the mentors with head[j] > slack[i]. Mentees are
    taken from the lowest slack up in bands, each evaluated against the mentors its lowest slack needs (a
    staircase: a new band starts when a quarter fewer mentors are needed), in blocks of mentees of the same
    groups where `PairSource.blocking` rules mentor groups out."""
    import os
    from concurrent.futures import ThreadPoolExecutor

    from mentorctl.matching.candidates import block_rows

    n_m = source.n_mentors
    needed = n_m - np.searchsorted(np.sort(head), slack, side="right")   # mentors with head > slack
    order = np.argsort(slack, kind="stable")
    order = order[needed[order] > 0]
    blocking = source.blocking
    tasks: list[tuple[np.ndarray, np.ndarray]] = []
    begin = 0
    while begin < len(order):
        width = int(needed[order[begin]])
        end = begin + max(1, int(np.searchsorted(-needed[order[begin:]], -(3 * width // 4), side="left")))
        band, cols = rows[order[begin:end]], np.flatnonzero(head > slack[order[begin]])
        if blocking is not None:
            band = band[np.argsort(blocking.mentee_group[band], kind="stable")]
        step = block_rows(len(cols))
        tasks += [(band[at:at + step], cols) for at in range(0, len(band), step)]
        begin = end

    def scan(task: tuple[np.ndarray, np.ndarray]) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        block, cols = task
        if blocking is not None:
            cols = blocking.columns(block, cols)
        if not len(cols):
            return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0), np.zeros(0, np.int64)
        ok, score, _ = source.evaluate(block, cols)
        r, c = np.nonzero(filters.apply(block, ok, score, n_m, cols))
        i, jj, sc = block[r], cols[c], score[r, c]
        reduced = to_cost(sc) + mentee_potential[i] - head[jj]
        bad = reduced < 0
        i, jj, sc, reduced = i[bad], jj[bad], sc[bad], reduced[bad]
        keys = i * n_m + jj
        if len(have):
            new = have[np.searchsorted(have, keys).clip(0, len(have) - 1)] != keys
            i, jj, sc, reduced = i[new], jj[new], sc[new], reduced[new]
        return i, jj, sc, reduced

    threads = max(1, min(workers or os.cpu_count() or 1, len(tasks)))
    with ThreadPoolExecutor(max_workers=threads) as pool:
        found = list(pool.map(scan, tasks))     # in task order: deterministic
    if not found:
        return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0)
    i, jj, sc, reduced = (np.concatenate(part) for part in zip(*found, strict=True))
    by = np.lexsort((jj, reduced, i))
    i, jj, sc = i[by], jj[by], sc[by]
    first = np.r_[0, np.flatnonzero(np.diff(i)) + 1] if len(i) else np.zeros(0, np.int64)
    rank = np.arange(len(i)) - np.repeat(first, np.diff(np.r_[first, len(i)]))
    take = rank < PROOF_PAIRS_PER_MENTEE
    return i[take].astype(np.int64), jj[take].astype(np.int64), sc[take]


def _column(frame: pd.DataFrame, name: str, index: np.ndarray) -> list[Any]:
    import pandas as pd

    if name not in frame.columns:
        return [None] * len(index)
    return [None if pd.isna(v) else v for v in frame[name].to_numpy()[index]]


def _reasons(programme: Programme, prep: Prepared, e: np.ndarray, j: np.ndarray) -> list[list[dict[str, Any]]]:
    """Per pair, the scoring terms that raised its score (largest first), without terms over private fields."""
    from mentorctl.rules import uses_private_field

    if not len(e):
        return []
    terms = prep.source.terms_for_pairs(e, j)
    public = [t for t in programme.matching.scoring if not uses_private_field(t.expr, programme)]
    out: list[list[dict[str, Any]]] = [[] for _ in range(len(e))]
    for term in public:
        values = terms.get(term.name)
        if values is None:
            continue
        for k in np.flatnonzero(np.nan_to_num(values) > 0):
            out[k].append({"name": term.name, "explain": term.explain or term.name.replace("_", " "),
                           "points": round(float(values[k]), 2)})
    for reasons in out:
        reasons.sort(key=lambda r: -r["points"])
    return out


def _apply_plan(prep: Prepared, plan: MatchPlan, used: np.ndarray) -> np.ndarray:
    """A running programme, as `match` sees it: each current (active or paused) pair takes a place of its
    mentor (added to `used`) and is not shown again; a mentee whose current pairs fill their places, or whose
    relationship ended without --rematch (`plan.done`), gets no shortlist (`prep.mentee_ok` off, with the
    reason); ended pairs are never shown. Returns the pair keys (mentee × n_mentors + mentor) to leave out."""
    mentee_of, mentor_of = prep.mentee_index, prep.mentor_index
    n_m = len(prep.mentors)
    keys: list[int] = []
    partners: dict[int, list[str]] = {}
    for mentee_id, mentor_id in plan.kept:
        if mentee_id in mentee_of and mentor_id in mentor_of:
            i, j = mentee_of[mentee_id], mentor_of[mentor_id]
            used[j] += 1
            partners.setdefault(i, []).append(mentor_id)
            keys.append(i * n_m + j)
    keys += [mentee_of[a] * n_m + mentor_of[b] for a, b in plan.history if a in mentee_of and b in mentor_of]
    for i, mentors in partners.items():
        if prep.mentee_ok[i] and len(mentors) >= int(prep.mentee_cap[i]):
            prep.mentee_ok[i] = False
            prep.mentee_reason[i] = (f"has a current mentor ({', '.join(sorted(mentors))}, active or paused): "
                                     "shortlists are for mentees who need one")
    for who, reason in plan.done.items():
        if who in mentee_of and prep.mentee_ok[mentee_of[who]]:
            prep.mentee_ok[mentee_of[who]] = False
            prep.mentee_reason[mentee_of[who]] = reason
    return np.array(keys, np.int64)


def _missing(prep: Prepared, cands: Any, report: np.ndarray, e: np.ndarray) -> pd.DataFrame:
    import pandas as pd

    rows = []
    got = np.bincount(e, minlength=len(prep.mentees))
    for i in np.flatnonzero(report):
        if got[i]:
            continue
        if not prep.mentee_ok[i]:
            reason = prep.mentee_reason[i] or "not eligible for the programme"
        elif cands.rule_eligible[i] == 0:
            reason = "no eligible mentor"
        elif cands.eligible[i] == 0:
            reason = (f"no eligible mentor has room: the {int(cands.rule_eligible[i])} eligible are full, "
                      "forbidden, already declined or expired, or score below min_score")
        else:
            reason = (f"the eligible mentors with room are on as many shortlists as their exposure allows "
                      f"({int(cands.eligible[i])} eligible); raise self_matching.exposure or add mentors")
        rows.append((prep.mentees["id"].iloc[i], "mentee", reason))
    return pd.DataFrame(rows, columns=["participant_id", "role", "reason"])


# ------------------------------------------------------------------------------------- rank-maximal matching

@dataclass(frozen=True)
class RankedMatching:
    """Chosen pairs (indices into the prepared mentees/mentors, and the pick rank 1..N of each)."""

    mentee: np.ndarray
    mentor: np.ndarray
    rank: np.ndarray


def rank_maximal(mentee_cap: np.ndarray, mentor_cap: np.ndarray, pick_mentee: np.ndarray,
                 pick_mentor: np.ndarray, pick_rank: np.ndarray, pick_score: np.ndarray) -> RankedMatching:
    """The matching over the picks with the most first choices, then second choices, …, then the highest
    total score (exact: `lexicographic_flow`). Picks are (mentee, mentor, rank ≥ 1, score) arrays."""
    n_e, n_m = len(mentee_cap), len(mentor_cap)
    n_p = len(pick_mentee)
    source, sink = 0, 1
    tails = np.concatenate([np.full(n_e, source), 2 + pick_mentee, 2 + n_e + np.arange(n_m), [source]])
    heads = np.concatenate([2 + np.arange(n_e), 2 + n_e + pick_mentor, np.full(n_m, sink), [sink]])
    total = int(np.asarray(mentee_cap).sum())
    caps = np.concatenate([mentee_cap, np.ones(n_p, np.int64), mentor_cap, [total]]).astype(np.int64)
    supply = np.zeros(2 + n_e + n_m, np.int64)
    supply[source], supply[sink] = total, -total
    stages = []
    ranks = np.asarray(pick_rank, np.int64)
    for r in range(1, int(ranks.max(initial=0)) + 1):
        costs = np.zeros(len(tails), np.int64)
        costs[n_e:n_e + n_p] = -(ranks == r).astype(np.int64)
        stages.append(costs)
    score_costs = np.zeros(len(tails), np.int64)
    score_costs[n_e:n_e + n_p] = to_cost(pick_score)
    stages.append(score_costs)
    flows = lexicographic_flow(2 + n_e + n_m, tails, heads, caps, supply, stages)
    used = flows[n_e:n_e + n_p] > 0
    return RankedMatching(np.asarray(pick_mentee)[used], np.asarray(pick_mentor)[used], ranks[used])
