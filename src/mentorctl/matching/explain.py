"""`explain()`: why a person got their match, the best alternatives and why they were not chosen, how many
candidates each eligibility rule removed, and for an unmatched person what would change it.

Only ids, names, scores and rule texts are shown — never field values, so `private:` fields stay private."""

from __future__ import annotations

import ast
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

import numpy as np

from mentorctl.errors import MentorctlError, RuleError
from mentorctl.matching.prepare import Prepared, prepare
from mentorctl.matching.summary import AsDict
from mentorctl.rules import parse_rule

if TYPE_CHECKING:
    import pandas as pd

    from mentorctl.programme import Programme
    from mentorctl.roster import Participants

ALTERNATIVES = 5
_OPS = {ast.Lt: "<", ast.LtE: "<=", ast.Gt: ">", ast.GtE: ">="}


@dataclass(frozen=True)
class ExplainedPair(AsDict):
    """A matched partner or an alternative: its score, the scoring terms (private ones summed into
    "private terms"), and for an alternative why it was not chosen."""

    id: str
    name: str | None
    score: float
    terms: Mapping[str, float]
    why: str | None = field(default=None, metadata={"optional": True})


@dataclass(frozen=True)
class Explanation(AsDict):
    person_id: str
    role: str                                    # mentee | mentor | participant
    name: str | None
    matched: tuple[ExplainedPair, ...]
    alternatives: tuple[ExplainedPair, ...] = ()
    rule_removals: tuple[tuple[str, int], ...] = ()  # (rule, candidates it removed)
    candidates: int = 0                          # people on the other side
    eligible: int = 0                            # of them, eligible for this person
    capacity: int | None = None                  # mentors: capacity
    suggestions: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    wanted: int | None = None                    # mentees: mentors wanted (their demand)
    coverage: Mapping[str, int] = field(default_factory=dict)  # the programme: mentees with 0, 1, 2 … mentors


def explain(programme: Programme, participants: Participants, person_id: str,
            matches: pd.DataFrame | None) -> Explanation:
    """Explain the matching of `person_id` (a mentee, mentor or peer) given the matches file's rows."""
    from mentorctl.matching.solve import _pair_files

    prep = prepare(programme, participants)
    person_id = str(person_id).strip()
    if person_id not in prep.mentee_index and person_id not in prep.mentor_index:
        # an id in any case, an email address or a name one person has: the one resolver (references.py)
        from mentorctl.references import Directory

        frames = [prep.mentees] if prep.peer else [prep.mentees, prep.mentors]
        found = Directory.of_frames(frames).resolve(person_id)
        if not found.ok:
            raise MentorctlError(f"{found.describe('participant')}"
                                 + ("" if found.ambiguous else " of this programme; check the id (see matches.csv)"))
        person_id = found.id or person_id
    matches = matches if matches is not None else _empty_matches()
    _, excluded = _pair_files(programme, prep, None)
    excluded = np.unique(np.concatenate([excluded, _ended_pairs(programme, participants, prep)]))
    if person_id in prep.mentee_index:
        return _explain_mentee(prep, prep.mentee_index[person_id], matches, excluded)
    if person_id in prep.mentor_index:
        return _explain_mentor(prep, prep.mentor_index[person_id], matches)
    raise MentorctlError(f"'{person_id}' is on no roster of this programme; check the id (see matches.csv)")


def _ended_pairs(programme: Programme, participants: Participants, prep: Prepared) -> np.ndarray:
    """Keys (mentee × n_mentors + mentor) of the pairs a running programme ended: they never repeat, so they
    are no alternative (relationships.py)."""
    from datetime import date

    from mentorctl.relationships import is_running, load_lifecycle, match_plan

    if not is_running(programme):
        return np.zeros(0, np.int64)
    plan = match_plan(load_lifecycle(programme, participants, date.max))   # every ending, also one dated ahead
    mentee_of, mentor_of, n_m = prep.mentee_index, prep.mentor_index, len(prep.mentors)
    keys = [mentee_of[a] * n_m + mentor_of[b] for a, b in plan.history if a in mentee_of and b in mentor_of]
    if prep.peer:
        keys += [mentee_of[b] * n_m + mentor_of[a] for a, b in plan.history if b in mentee_of and a in mentor_of]
    return np.array(keys, np.int64)


def _empty_matches() -> pd.DataFrame:
    import pandas as pd

    return pd.DataFrame({"mentee_id": [], "mentor_id": []}, dtype=str)


def _name(frame: pd.DataFrame, index: int) -> str | None:
    value = frame["name"].iloc[index] if "name" in frame.columns else None
    return None if value is None or value != value else str(value)


def _explain_mentee(prep: Prepared, i: int, matches: pd.DataFrame, excluded: np.ndarray) -> Explanation:
    n_m = len(prep.mentors)
    pid = prep.mentees["id"].iloc[i]
    role = "participant" if prep.peer else "mentee"
    rows = np.array([i])
    holds = [_holds(prep, rule, rows)[0] for rule in prep.rules.eligibility]
    ok = np.logical_and.reduce(holds) if holds else np.ones(n_m, bool)
    if prep.peer:
        ok[i] = False
    ok &= prep.mentor_ok
    score = prep.source.score(rows, None)[0]
    allowed = ok.copy()
    keys = i * n_m + np.arange(n_m)
    allowed &= ~np.isin(keys, excluded)
    min_score = prep.programme.matching.min_score
    if min_score is not None:
        allowed &= score >= min_score - 1e-9
    removals = [(rule.text, int((prep.mentor_ok & ~h).sum())) for rule, h in zip(prep.rules.eligibility, holds,
                                                                                     strict=True)]
    banned = int((prep.mentor_ok & np.isin(keys, excluded)).sum())
    if banned:
        removals.append(("matching.forbidden / matching.history / relationships.csv (pairs not allowed, made "
                         "before or ended)", banned))
    partner_col, own_col = "mentor_id", "mentee_id"
    mine = matches[matches[own_col] == pid][partner_col].tolist()
    if prep.peer:
        mine += matches[matches[partner_col] == pid][own_col].tolist()
    index = prep.mentor_index
    matched_idx = [index[m] for m in mine if m in index]
    load = _loads(prep, matches)
    matched = [_entry(prep, i, j) for j in matched_idx]
    chosen_score = min((m.score for m in matched), default=None)
    order = np.lexsort((np.arange(n_m), -score))
    alternatives: list[ExplainedPair] = []
    for j in order if prep.mentee_ok[i] else []:  # someone the programme excludes has no alternatives
        if len(alternatives) >= ALTERNATIVES:
            break
        if not allowed[j] or j in matched_idx:
            continue
        entry = _entry(prep, i, int(j))
        cap = int(prep.mentor_cap[j])
        if load[j] >= cap:
            why = f"at capacity ({int(load[j])} of {cap})"
        elif chosen_score is not None and entry.score < chosen_score - 1e-9:
            why = f"lower score ({entry.score:g} < {chosen_score:g})"
        elif chosen_score is not None and abs(entry.score - chosen_score) <= 1e-9:
            why = "same score; the matching as a whole did not need the change"
        elif chosen_score is None and prep.programme.matching.min_group_size:
            why = (f"has room, but no group of at least {prep.programme.matching.min_group_size} "
                   "(matching.min_group_size) could form with them")
        elif chosen_score is None:
            why = "has spare capacity, but a side constraint or an edit of matches.csv prevented it"
        else:
            why = "higher score, not chosen: a side constraint, mentors_per_mentee, or an edited matches.csv"
        alternatives.append(replace(entry, why=why))
    suggestions, notes = [], []
    if not prep.mentee_ok[i]:
        notes.append(prep.mentee_reason[i] or "not eligible for the programme")
    wanted = 1 if prep.peer else int(prep.mentee_cap[i])
    if len(matched_idx) < wanted and prep.mentee_ok[i]:
        if allowed.any():
            full = np.flatnonzero(allowed & (load >= prep.mentor_cap))
            notes.append(f"{int(allowed.sum())} eligible, {len(full)} of them at capacity")
            if len(full):
                best = full[np.lexsort((full, -score[full]))[0]]
                suggestions.append(f"raising the capacity of {prep.mentors['id'].iloc[best]} "
                                   f"(score {score[best]:g}) by one would give this person a mentor")
        suggestions += _relaxations(prep, i, holds, excluded)
    if wanted > 1 and prep.mentee_ok[i]:
        notes.insert(0, f"{len(matched_idx)} of {wanted} mentors wanted")
    candidates = int(prep.mentor_ok.sum()) - (1 if prep.peer and prep.mentor_ok[i] else 0)  # not oneself
    return Explanation(pid, role, _name(prep.mentees, i), tuple(matched), tuple(alternatives), tuple(removals),
                       candidates, int(allowed.sum()), None, tuple(suggestions), tuple(notes), wanted,
                       _coverage(prep, matches))


def _coverage(prep: Prepared, matches: pd.DataFrame) -> dict[str, int]:
    """Mentees the programme admits, by how many mentors the matches file gives them ("0", "1", "2" …)."""
    index = prep.mentee_index
    ids = matches["mentee_id"].tolist() + (matches["mentor_id"].tolist() if prep.peer else [])
    got = np.bincount(np.array([index[x] for x in ids if x in index], np.int64), minlength=len(prep.mentees))
    top = 1 if prep.peer else int(prep.mentee_cap.max(initial=1))
    counts = np.bincount(got[prep.mentee_ok], minlength=top + 1)
    return {str(k): int(c) for k, c in enumerate(counts)}


def _explain_mentor(prep: Prepared, j: int, matches: pd.DataFrame) -> Explanation:
    pid = prep.mentors["id"].iloc[j]
    mine = matches[matches["mentor_id"] == pid]["mentee_id"].tolist()
    index = prep.mentee_index
    entries = []
    for m in mine:
        if m in index:
            entries.append(replace(_entry(prep, index[m], j), id=m, name=_name(prep.mentees, index[m])))
    cap = int(prep.mentor_cap[j])
    notes = [f"capacity {cap}, {len(entries)} mentee(s), {max(0, cap - len(entries))} spare"]
    if not prep.mentor_ok[j]:
        notes.insert(0, prep.mentor_reason[j] or "not eligible for the programme")
    return Explanation(pid, "mentor", _name(prep.mentors, j), tuple(entries), capacity=cap, notes=tuple(notes),
                       candidates=len(prep.mentees), coverage=_coverage(prep, matches))


def _holds(prep: Prepared, rule: Any, rows: np.ndarray) -> np.ndarray:
    from mentorctl.matching.sources import _as_bool

    value = _as_bool(prep.ctx.evaluate_block(rule, rows, None))
    if prep.peer:
        value &= _as_bool(prep.ctx.evaluate_block(rule, np.arange(len(prep.mentors)), rows)).T
    return value


def _entry(prep: Prepared, i: int, j: int) -> ExplainedPair:
    """A candidate's score and its terms; terms reading private fields are summed into one "private" entry,
    so their values (an age gap, say) are never shown on their own."""
    from mentorctl.rules import uses_private_field

    terms = {k: float(v[0]) for k, v in prep.source.terms_for_pairs(np.array([i]), np.array([j])).items()}
    hidden = {t.name for t in prep.programme.matching.scoring if uses_private_field(t.expr, prep.programme)}
    shown = {k: round(v, 4) for k, v in terms.items() if k not in hidden}
    if hidden & set(terms):
        shown["private terms"] = round(sum(v for k, v in terms.items() if k in hidden), 4)
    return ExplainedPair(str(prep.mentors["id"].iloc[j]), _name(prep.mentors, j), round(sum(terms.values()), 4),
                         shown)


def _loads(prep: Prepared, matches: pd.DataFrame) -> np.ndarray:
    load = np.zeros(len(prep.mentors), np.int64)
    index = prep.mentor_index
    ids = matches["mentor_id"].tolist() + (matches["mentee_id"].tolist() if prep.peer else [])
    for m in ids:
        if m in index:
            load[index[m]] += 1
    return load


def _relaxations(prep: Prepared, i: int, holds: list[np.ndarray], excluded: np.ndarray) -> list[str]:
    """For each eligibility rule: how many more candidates would be eligible if only it were relaxed."""
    n_m = len(prep.mentors)
    base = prep.mentor_ok & ~np.isin(i * n_m + np.arange(n_m), excluded)
    if prep.peer:
        base[i] = False
    out = []
    for r, rule in enumerate(prep.rules.eligibility):
        others = base.copy()
        for k, h in enumerate(holds):
            if k != r:
                others &= h
        blocked = others & ~holds[r]
        if not blocked.any():
            continue
        from mentorctl.rules import uses_private_field

        text = None if uses_private_field(rule.text, prep.programme) else _threshold_text(prep, rule, i, blocked)
        out.append(text or f"{int(blocked.sum())} more would be eligible without the rule `{rule.text}`")
    return out


def _threshold_text(prep: Prepared, rule: Any, i: int, blocked: np.ndarray) -> str | None:
    """`3 mentors would be eligible if `abs(a - b) <= 3` allowed 4` for a numeric comparison rule."""
    try:
        node = ast.parse(rule.text.strip(), mode="eval").body
    except SyntaxError:
        return None
    if not (isinstance(node, ast.Compare) and len(node.ops) == 1 and type(node.ops[0]) in _OPS):
        return None
    text = rule.text.strip()
    left, right = ast.get_source_segment(text, node.left), ast.get_source_segment(text, node.comparators[0])
    try:
        diff_rule = parse_rule(f"({left}) - ({right})", f"{rule.origin} (explain)")
        if prep.ctx.check(diff_rule) != "number":
            return None
        diff = np.asarray(prep.ctx.evaluate_block(diff_rule, np.array([i]), None), dtype=np.float64)[0]
    except RuleError:
        return None
    op = _OPS[type(node.ops[0])]
    need = diff if op in ("<", "<=") else -diff      # how far each blocked candidate is beyond the limit
    need = need[blocked & np.isfinite(need)]
    if not len(need):
        return None
    step = float(np.min(need))
    count = int((need <= step + 1e-9).sum())
    who = ("peer" if prep.peer else "mentor") + ("" if count == 1 else "s")
    constant = node.comparators[0]
    if isinstance(constant, ast.Constant) and isinstance(constant.value, int | float):
        limit = constant.value + step if op in ("<", "<=") else constant.value - step
        return f"{count} {who} would be eligible if `{rule.text}` allowed {limit:g}"
    return f"{count} {who} would be eligible if `{rule.text}` were relaxed by {step:g}"
