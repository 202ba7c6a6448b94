"""Blocking: skip whole blocks of impossible pairs before evaluating the rules (as record linkage does).

An eligibility rule whose fields all have few distinct values on both sides (department, grade, a UTC
offset, a site …) has the same value for every pair drawn from two groups of people who agree on those
fields. So people are grouped by the values of those fields, each such rule is evaluated once per (mentee
group, mentor group) on one representative of each, and the rules are then known for every pair from a small
table: a block of mentees is evaluated only against the mentor groups the table allows, and those rules are
not evaluated again. Exact: a rule's value depends only on the values of the fields it reads.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import pandas as pd

    from mentorctl.rules import Rule, RuleContext

MAX_VALUES = 64          # a field with at most this many distinct values (per side) can define groups
MAX_GROUPS = 4096        # per side
MAX_TABLE = 2_000_000    # mentee groups × mentor groups


@dataclass
class Blocking:
    """Groups of mentees and mentors and which group pairs pass the rules `rules` (indices into the
    eligibility rules, decided by the table and never evaluated per pair)."""

    mentee_group: np.ndarray          # int64 per mentee
    mentor_group: np.ndarray          # int64 per mentor
    allowed: np.ndarray               # bool [mentee groups, mentor groups]
    rules: list[int]
    failing: np.ndarray               # int64 [mentee groups, len(rules)]: mentors failing each blocked rule
    mentor_order: np.ndarray          # mentors sorted by group (stable)
    group_start: np.ndarray           # where each mentor group starts in mentor_order (length groups + 1)

    @property
    def group_sizes(self) -> np.ndarray:
        return np.diff(self.group_start)

    def columns(self, rows: np.ndarray, cols: np.ndarray | None = None) -> np.ndarray:
        """The mentors (sorted) of every mentor group that some mentee of `rows` may pair with, restricted to
        `cols` when given."""
        groups = np.unique(self.mentee_group[rows])
        wanted = self.allowed[groups].any(axis=0)
        if cols is not None:
            return cols[wanted[self.mentor_group[cols]]]
        picked = np.flatnonzero(wanted)
        if len(picked) == len(wanted):
            return np.arange(len(self.mentor_group))
        parts = [self.mentor_order[self.group_start[g]:self.group_start[g + 1]] for g in picked]
        return np.sort(np.concatenate(parts)) if parts else np.zeros(0, np.int64)

    def mask(self, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
        """bool [len(rows), len(cols)]: every blocked rule holds. Row-major (`a[:, index]` would give a
        column-major array, on which every later operation of the block's scan is many times slower)."""
        return np.take(self.allowed[self.mentee_group[rows]], self.mentor_group[cols], axis=1)

    def chunks(self, rows: np.ndarray, cells: int) -> list[np.ndarray]:
        """`rows` sorted by group and cut into chunks of about `cells` evaluated pairs each (a chunk's columns
        are the union of its groups' allowed mentors; a large group is cut on its own)."""
        order = rows[np.argsort(self.mentee_group[rows], kind="stable")]
        groups = self.mentee_group[order]
        bounds = np.flatnonzero(np.diff(groups)) + 1
        sizes = self.group_sizes
        out: list[np.ndarray] = []
        current: list[np.ndarray] = []
        union = np.zeros(self.allowed.shape[1], bool)
        count = 0
        for a, b in zip(np.r_[0, bounds], np.r_[bounds, len(order)], strict=True):
            own = self.allowed[groups[a]]
            step = max(1, cells // max(int(sizes[own].sum()), 1))
            if b - a > step:
                if current:
                    out.append(np.concatenate(current))
                    current, count, union = [], 0, np.zeros_like(union)
                out.extend(order[s:min(b, s + step)] for s in range(a, b, step))
                continue
            joined = union | own
            if current and (count + b - a) * max(int(sizes[joined].sum()), 1) > cells:
                out.append(np.concatenate(current))
                current, count, joined = [], 0, own.copy()
            current.append(order[a:b])
            count += b - a
            union = joined
        if current:
            out.append(np.concatenate(current))
        return out


def _codes(values: pd.Series) -> np.ndarray | None:
    import pandas as pd

    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    if len(uniques) + 1 > MAX_VALUES:
        return None
    codes = codes.astype(np.int64)
    codes[codes < 0] = len(uniques)  # missing: a value of its own
    return codes


def _combine(parts: list[np.ndarray], n: int) -> tuple[np.ndarray, int]:
    if not parts:
        return np.zeros(n, np.int64), 1
    key = np.zeros(n, np.int64)
    for codes in parts:
        key = key * (int(codes.max(initial=0)) + 1) + codes
    _, group = np.unique(key, return_inverse=True)
    return group.astype(np.int64), int(group.max(initial=-1)) + 1


def build_blocking(ctx: RuleContext, rules: list[Rule], mentor_ok: np.ndarray | None = None) -> Blocking | None:
    """Group people by the few-valued fields of the eligibility rules that read only such fields, adding rules
    while the group table stays small. None when no rule qualifies (or blocking would not skip anything)."""
    frames = {"mentor": ctx.frame("mentor"), "mentee": ctx.frame("mentee")}
    codes: dict[tuple[str, str], np.ndarray | None] = {}

    def field_codes(side: str, name: str) -> np.ndarray | None:
        if (side, name) not in codes:
            frame = frames[side]
            codes[(side, name)] = _codes(frame[name]) if name in frame.columns else None
        return codes[(side, name)]

    chosen: list[int] = []
    fields: dict[str, list[str]] = {"mentee": [], "mentor": []}
    groups = {"mentee": (np.zeros(len(frames["mentee"]), np.int64), 1),
              "mentor": (np.zeros(len(frames["mentor"]), np.int64), 1)}
    for index, rule in enumerate(rules):
        needed = sorted(rule.fields)
        if not needed or any(field_codes(side, name) is None for side, name in needed):
            continue
        trial = {side: fields[side] + [n for s, n in needed if s == side and n not in fields[side]]
                 for side in fields}
        combined = {side: _combine([c for n in trial[side] if (c := field_codes(side, n)) is not None],
                                   len(frames[side]))
                    for side in fields}
        g_e, g_m = combined["mentee"][1], combined["mentor"][1]
        if g_e > MAX_GROUPS or g_m > MAX_GROUPS or g_e * g_m > MAX_TABLE:
            continue
        chosen.append(index)
        fields, groups = trial, combined
    if not chosen:
        return None
    (mentee_group, g_e), (mentor_group, g_m) = groups["mentee"], groups["mentor"]
    rep_e = np.unique(mentee_group, return_index=True)[1]
    rep_m = np.unique(mentor_group, return_index=True)[1]
    allowed = np.ones((g_e, g_m), bool)
    sizes = np.bincount(mentor_group if mentor_ok is None else mentor_group[mentor_ok], minlength=g_m)
    failing = np.zeros((g_e, len(chosen)), np.int64)
    for k, index in enumerate(chosen):
        value = np.asarray(ctx.evaluate_block(rules[index], rep_e, rep_m))
        holds = value if value.dtype == bool else np.nan_to_num(value.astype(np.float64)) != 0
        failing[:, k] = (~holds * sizes[None, :]).sum(axis=1)
        allowed &= holds
    order = np.argsort(mentor_group, kind="stable")
    start = np.zeros(g_m + 1, np.int64)
    np.cumsum(np.bincount(mentor_group, minlength=g_m), out=start[1:])
    return Blocking(mentee_group, mentor_group, allowed, chosen, failing, order, start)
