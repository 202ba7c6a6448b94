"""The self-matching funnel for reports: shortlisted → requested → accepted (declined, expired), days to
match, the share of first choices, and how evenly requests spread over mentors.

Request mode reads the request state (`.mentorctl/requests.json`); mentee-prefers mode reads
out/shortlists.csv and the `choices` of out/match-summary.json. Pure counting; no names, only numbers.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from datetime import datetime
from statistics import median
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mentorctl.programme import Programme
    from mentorctl.selfmatch.requests import RequestState


@dataclass(frozen=True)
class Funnel:
    """Counts are of mentees unless named otherwise; `spread` is over mentors who received requests."""

    mode: str
    shortlisted: int
    chose: int | None                  # mentees who made at least one pick
    requested: int | None              # request mode: mentees with a request sent
    requests_sent: int | None
    accepted: int                      # mentees matched
    declined: int | None               # requests declined
    expired: int | None                # requests expired
    withdrawn: int | None
    mentor_full: int | None            # acceptances refused because the mentor was full
    days_to_match_median: float | None
    days_to_match_max: float | None
    first_choice_share: float | None
    by_choice: dict[str, int]
    requests_per_mentor_max: int | None
    requests_per_mentor_median: float | None
    mentors_requested: int | None
    top_decile_share: float | None     # share of requests received by the busiest 10% of those mentors

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def rows(self) -> list[tuple[str, str]]:
        """(label, value) rows for the report's table, skipping what this mode does not have."""
        def pct(v: float | None) -> str:
            return "—" if v is None else f"{v:.0%}"

        rows = [("Mentees shortlisted", f"{self.shortlisted:,}")]
        if self.chose is not None:
            rows.append(("Mentees who chose", f"{self.chose:,}"))
        if self.requested is not None:
            rows += [("Mentees who sent requests", f"{self.requested:,}"),
                     ("Requests sent", f"{self.requests_sent:,}")]
        rows.append(("Mentees matched", f"{self.accepted:,}"))
        for label, value in (("Requests declined", self.declined), ("Requests expired", self.expired),
                             ("Requests withdrawn (matched elsewhere)", self.withdrawn),
                             ("Acceptances refused (mentor full)", self.mentor_full)):
            if value is not None:
                rows.append((label, f"{value:,}"))
        if self.days_to_match_median is not None:
            rows.append(("Days to match (median / longest)",
                         f"{self.days_to_match_median:g} / {self.days_to_match_max:g}"))
        rows.append(("Matched with their first choice", pct(self.first_choice_share)))
        if self.by_choice:
            rows.append(("Matches by choice", ", ".join(f"{k}: {v}" for k, v in self.by_choice.items())))
        if self.requests_per_mentor_max is not None:
            rows.append(("Requests per mentor (median / most)",
                         f"{self.requests_per_mentor_median:g} / {self.requests_per_mentor_max}"))
            rows.append(("Mentors who received requests", f"{self.mentors_requested:,}"))
            rows.append(("Share of requests to the busiest 10% of them", pct(self.top_decile_share)))
        return rows


def request_funnel(state: RequestState, shortlisted: int) -> Funnel:
    """The funnel of a request round."""
    sent = [r for r in state.requests if r.sent]
    accepted = [r for r in state.requests if r.status == "accepted"]
    days = []
    for r in accepted:
        start = state.shortlists.get(r.mentee, {}).get("first") or min(
            (q.sent for q in sent if q.mentee == r.mentee and q.sent), default=r.sent)
        if start and r.closed:
            days.append(round((datetime.fromisoformat(r.closed) - datetime.fromisoformat(start)).total_seconds()
                              / 86400, 1))
    per_mentor: dict[str, int] = {}
    for r in sent:
        per_mentor[r.mentor] = per_mentor.get(r.mentor, 0) + 1
    counts = sorted(per_mentor.values(), reverse=True)
    top = max(1, len(counts) // 10) if counts else 0
    by_choice: dict[str, int] = {}
    for r in accepted:
        by_choice[str(r.rank)] = by_choice.get(str(r.rank), 0) + 1

    def status(name: str) -> int:
        return sum(1 for r in state.requests if r.status == name)

    return Funnel(
        mode="request", shortlisted=max(shortlisted, len(state.shortlists)),
        chose=len({r.mentee for r in state.requests}), requested=len({r.mentee for r in sent}),
        requests_sent=len(sent), accepted=len({r.mentee for r in accepted}), declined=status("declined"),
        expired=status("expired"), withdrawn=status("withdrawn"),
        mentor_full=sum(1 for r in state.requests if r.status == "full" and r.sent),
        days_to_match_median=float(median(days)) if days else None, days_to_match_max=max(days) if days else None,
        first_choice_share=round(by_choice.get("1", 0) / len(accepted), 4) if accepted else None,
        by_choice=dict(sorted(by_choice.items(), key=lambda kv: int(kv[0]))),
        requests_per_mentor_max=counts[0] if counts else None,
        requests_per_mentor_median=float(median(counts)) if counts else None,
        mentors_requested=len(counts) if counts else None,
        top_decile_share=round(sum(counts[:top]) / sum(counts), 4) if counts else None)


def programme_funnel(programme: Programme) -> Funnel | None:
    """The funnel of the programme's self-matching, or None when it does none (or has not started)."""
    from mentorctl.programme import SelfMatchingMode
    from mentorctl.selfmatch.requests import load_state, state_path
    from mentorctl.selfmatch.shortlists import read_shortlists

    settings = programme.self_matching
    if settings is None:
        return None
    shortlists = read_shortlists(programme)
    shortlisted = int(shortlists["mentee_id"].nunique()) if shortlists is not None else 0
    if settings.mode is SelfMatchingMode.REQUEST:
        if not state_path(programme).exists() and shortlists is None:
            return None
        return request_funnel(load_state(programme), shortlisted)
    summary_path = programme.out_dir / "match-summary.json"
    choices = None
    if summary_path.exists():
        try:
            choices = json.loads(summary_path.read_text(encoding="utf-8")).get("choices")
        except ValueError:
            choices = None
    if shortlists is None and choices is None:
        return None
    by_rank = {k: int(v) for k, v in (choices or {}).get("by_rank", {}).items()}
    matched = sum(by_rank.values())
    return Funnel(
        mode="mentee-prefers", shortlisted=shortlisted,
        chose=None if choices is None else int(choices.get("mentees_with_picks", 0)), requested=None,
        requests_sent=None, accepted=matched, declined=None, expired=None, withdrawn=None, mentor_full=None,
        days_to_match_median=None, days_to_match_max=None,
        first_choice_share=round(by_rank.get("1", 0) / matched, 4) if matched else None, by_choice=by_rank,
        requests_per_mentor_max=None, requests_per_mentor_median=None, mentors_requested=None,
        top_decile_share=None)
