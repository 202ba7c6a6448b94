"""Request mode: mentees' picks become requests to mentors, who accept or decline.

The state is one plain JSON file, `.mentorctl/requests.json`, written atomically under a lock
(`.mentorctl/requests.lock`). `advance()` is a pure function of the state, the valid picks, the mentors'
answers, the capacities, the settings and "now"; one run of `mentorctl requests`:

1. adds each new pick as a *waiting* request (in the mentee's rank order);
2. applies the answers in the order they were given (the `submitted` column, else row order), each once:
   an acceptance by a mentor with room *accepts* (once a mentee has as many mentors as they want —
   `matching.mentors_per_mentee` or their own demand column — their other requests are *withdrawn*; until
   then their requests go on); by a mentor already full it is refused (*full*) — so no mentor is ever over capacity,
   whatever the order of answers; a decline *declines*; an answer after the request expired, or to a request
   already closed (withdrawn, because the mentee was matched elsewhere: two acceptances), is reported by row
   and changes nothing;
3. expires requests unanswered for `expire_after_days`, and marks those unanswered for `remind_after_days`
   for a reminder;
4. sends waiting requests — all at once or one at a time in rank order (`requests.send`) — while the mentee
   has fewer than `max_pending_per_mentee` and the mentor fewer than `max_pending_per_mentor` open ones; a
   request to a mentor who is already full closes (*full*) unsent;
5. lists mentees whose requests have all closed without a match: they get a fresh shortlist without those
   mentors (once per batch of closed requests).

In a running programme (relationships.is_running) `step_requests` reads the relationships log as `match`
does (`Running`): a current pair holds its mentor's place and its mentee's, a pair that ended is never
requested again (nor does an accepted request whose relationship ended hold a place or count as a match),
and people who ended without --rematch ask nobody; `save_requests` writes the current pairs with the
accepted ones into matches.csv and appends a `start` row to the log for each accepted pair.

Messages are derived from the state (`request_messages`), each under its own ledger key, so each is sent
exactly once even when a run is interrupted between saving the state and sending.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from mentorctl.errors import Finding, Location, LockedError, MentorctlError

if TYPE_CHECKING:
    from mentorctl.mail import OutgoingMessage
    from mentorctl.programme import Programme, RequestSettings
    from mentorctl.relationships import MatchPlan
    from mentorctl.roster import Participants
    from mentorctl.selfmatch.exports import Answer, Pick

STATE_FILE = "requests.json"
OPEN = ("waiting", "pending")
CLOSED_UNMATCHED = ("declined", "expired", "full")
STATUSES = ("waiting", "pending", "accepted", "declined", "expired", "withdrawn", "full")


@dataclass(frozen=True)
class Request:
    """One mentee's request to one mentor. Times are ISO 8601 in UTC. `round`: a pair's first request is
    round 1; the same mentee may ask the same mentor again only after that request was withdrawn (they were
    matched elsewhere, and that pair ended), with a pick submitted after the withdrawal: round 2, and so on."""

    mentee: str
    mentor: str
    rank: int
    status: str = "waiting"
    created: str = ""
    sent: str | None = None
    reminded: str | None = None
    closed: str | None = None
    note: str | None = None
    round: int = 1

    @property
    def key(self) -> str:
        """The request's reference, shown in its emails and accepted in the answers' `request` column:
        `MENTEE:MENTOR`, then `MENTEE:MENTOR#2` for a later round."""
        return request_key(self.mentee, self.mentor, self.round)


def request_key(mentee: str, mentor: str, round_: int = 1) -> str:
    return f"{mentee}:{mentor}" + (f"#{round_}" if round_ > 1 else "")


@dataclass(frozen=True)
class RequestState:
    """Every request, the answers already applied, and each mentee's shortlists so far."""

    requests: tuple[Request, ...] = ()
    answers_seen: tuple[str, ...] = ()
    shortlists: dict[str, dict[str, Any]] = field(default_factory=dict)  # mentee -> {at, closed, count}

    def taken(self) -> dict[str, int]:
        """Accepted requests per mentor."""
        out: dict[str, int] = {}
        for r in self.requests:
            if r.status == "accepted":
                out[r.mentor] = out.get(r.mentor, 0) + 1
        return out

    def open_per_mentor(self) -> dict[str, int]:
        """Open requests (pending, or waiting to be sent) per mentor: places promised, not yet given."""
        out: dict[str, int] = {}
        for r in self.requests:
            if r.status in OPEN:
                out[r.mentor] = out.get(r.mentor, 0) + 1
        return out

    def closed_pairs(self) -> set[tuple[str, str]]:
        """(mentee, mentor) of requests that declined, expired or found the mentor full: never shown again."""
        return {(r.mentee, r.mentor) for r in self.requests if r.status in CLOSED_UNMATCHED}

    def matched(self) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {}
        for r in self.requests:
            if r.status == "accepted":
                out.setdefault(r.mentee, []).append(r.mentor)
        return out

    def counts(self) -> dict[str, int]:
        return {s: sum(1 for r in self.requests if r.status == s) for s in STATUSES}

    def as_dict(self) -> dict[str, Any]:
        return {"version": 1, "requests": [asdict(r) for r in self.requests],
                "answers_seen": list(self.answers_seen), "shortlists": self.shortlists}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RequestState:
        return cls(tuple(Request(**r) for r in data.get("requests", [])), tuple(data.get("answers_seen", [])),
                   dict(data.get("shortlists", {})))


def state_path(programme: Programme) -> Any:
    return programme.state_dir / STATE_FILE


def load_state(programme: Programme) -> RequestState:
    """The saved state, or an empty one. A damaged file is an error naming it (never silently reset)."""
    path = state_path(programme)
    if not path.exists():
        return RequestState()
    try:
        return RequestState.from_dict(json.loads(path.read_text(encoding="utf-8")))
    except (ValueError, TypeError, KeyError) as e:
        raise MentorctlError(f"the request state is damaged ({e}); restore it from a backup or ask for help — "
                             "it records every request sent", location=Location(str(path))) from e


def save_state(programme: Programme, state: RequestState) -> None:
    from mentorctl.files import atomic_write_text

    atomic_write_text(state_path(programme), json.dumps(state.as_dict(), indent=2, sort_keys=True) + "\n")


@contextmanager
def requests_lock(programme: Programme) -> Iterator[None]:
    """Hold `.mentorctl/requests.lock`; a second run at the same time stops with exit code 0."""
    from mentorctl.reminders import remind_lock

    try:
        with remind_lock(programme, "requests"):
            yield
    except LockedError as e:
        raise LockedError("another `mentorctl requests` is running for this programme; this run changes "
                          "nothing") from e


# ------------------------------------------------------------------------------------------------ advance

@dataclass(frozen=True)
class Running:
    """A running programme as request mode counts it: places held by current pairs that no accepted request
    holds already (per mentor, per mentee), and the accepted pairs whose relationship has ended since (they
    hold no place and match nobody)."""

    held_by_mentor: Mapping[str, int] = field(default_factory=dict)
    held_by_mentee: Mapping[str, int] = field(default_factory=dict)
    ended: frozenset[tuple[str, str]] = frozenset()


def running_places(state: RequestState, plan: MatchPlan | None) -> Running:
    """`Running` for this state and match plan (relationships.match_plan; None: not a running programme). An
    accepted pair that is also a current pair of the log holds its places once."""
    if plan is None:
        return Running()
    accepted = {(r.mentee, r.mentor) for r in state.requests if r.status == "accepted"}
    by_mentor: dict[str, int] = {}
    by_mentee: dict[str, int] = {}
    for mentee, mentor in plan.kept:
        if (mentee, mentor) not in accepted:
            by_mentor[mentor] = by_mentor.get(mentor, 0) + 1
            by_mentee[mentee] = by_mentee.get(mentee, 0) + 1
    return Running(by_mentor, by_mentee, frozenset(accepted & set(plan.history)))


def matched_pairs(state: RequestState, running: Running) -> dict[str, list[str]]:
    """The mentors of each mentee matched by an accepted request whose relationship has not ended."""
    return {mentee: kept for mentee, mentors in state.matched().items()
            if (kept := [m for m in mentors if (mentee, m) not in running.ended])}


@dataclass(frozen=True)
class Advance:
    """The new state, what happened (one line each), problems with answers (by row), and the mentees who need
    a fresh shortlist."""

    state: RequestState
    events: tuple[str, ...]
    findings: tuple[Finding, ...]
    needs_shortlist: tuple[str, ...]


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="seconds")


def _at(text: str | None) -> datetime:
    assert text is not None
    return datetime.fromisoformat(text)


def answer_key(answer: Answer) -> str:
    when = _iso(answer.submitted) if answer.submitted else f"row {answer.row}"
    return (f"{answer.mentor}|{answer.mentee}|{'accept' if answer.accept else 'decline'}|{when}"
            + (f"|{answer.request}" if answer.request else ""))


def _rounds(requests: dict[str, Request], mentee: str, mentor: str) -> list[Request]:
    """Every request of one pair, oldest round first."""
    return sorted((r for r in requests.values() if r.mentee == mentee and r.mentor == mentor),
                  key=lambda r: r.round)


def answered_request(requests: dict[str, Request], answer: Answer) -> tuple[Request | None, str | None]:
    """The request an answer answers, or None and why not. With a reference (the `request` column) it is
    that request, which must be between the row's mentor and mentee; without one, the latest request of the
    pair that had been sent when the answer was submitted (no `submitted` column: the latest sent)."""
    if answer.request:
        wanted = answer.request.strip().casefold()
        found = next((r for r in requests.values() if r.key.casefold() == wanted), None)
        if found is None:
            return None, f"'{answer.request}' is no request mentorctl sent"
        if (found.mentee, found.mentor) != (answer.mentee, answer.mentor):
            return None, (f"request {found.key} is {found.mentee}'s request to {found.mentor}, but the row names "
                          f"{answer.mentee} and {answer.mentor}")
        return (found, None) if found.sent is not None else (None, f"request {found.key} was never sent")
    sent = [r for r in _rounds(requests, answer.mentee, answer.mentor) if r.sent is not None]
    if answer.submitted is not None:
        sent = [r for r in sent if _at(r.sent) <= answer.submitted] or sent[:1]
    if not sent:
        return None, f"{answer.mentor} answered about {answer.mentee}, but no request was sent to them"
    return sent[-1], None


def advance(state: RequestState, *, picks: Iterable[Pick], answers: Iterable[Answer], capacity: dict[str, int],
            settings: RequestSettings, now: datetime, answers_source: str = "answers",
            demand: dict[str, int] | None = None, running: Running | None = None) -> Advance:
    """One step of the request process (see the module docs). Pure: returns a new state. `demand`: mentors
    each mentee wants (default 1): requests go on until that many have accepted; only then are the mentee's
    other requests withdrawn. `running`: places held by a running programme's current pairs (they count
    against capacity and demand) and accepted pairs that ended since (they count for neither)."""
    from mentorctl.programme import SendOrder

    stamp = _iso(now)
    requests: dict[str, Request] = {r.key: r for r in state.requests}
    order = [r.key for r in state.requests]
    events: list[str] = []
    findings: list[Finding] = []
    seen = list(state.answers_seen)
    places = running or Running()
    accepted: dict[str, int] = dict(places.held_by_mentee)
    taken: dict[str, int] = dict(places.held_by_mentor)
    for mentee, partners in matched_pairs(state, places).items():
        accepted[mentee] = accepted.get(mentee, 0) + len(partners)
        for mentor in partners:
            taken[mentor] = taken.get(mentor, 0) + 1
    wants = demand or {}
    matched = {m for m, n in accepted.items() if n >= max(1, int(wants.get(m, 1)))}   # every mentor they want
    expire = timedelta(days=settings.expire_after_days)

    def close(key: str, status: str, when: str, note: str | None = None) -> None:
        requests[key] = replace(requests[key], status=status, closed=when, note=note)

    # 1. new picks (a mentee already matched asks nobody new; a pair asks again only after a withdrawal)
    for pick in sorted(picks, key=lambda p: (p.chooser_id, p.rank)):
        if pick.chooser_id in matched:
            continue
        earlier = _rounds(requests, pick.chooser_id, pick.chosen_id)
        if earlier and not (earlier[-1].status == "withdrawn" and earlier[-1].closed is not None
                            and pick.submitted is not None and pick.submitted > _at(earlier[-1].closed)):
            continue
        new = Request(pick.chooser_id, pick.chosen_id, pick.rank, "waiting", stamp,
                      round=earlier[-1].round + 1 if earlier else 1)
        requests[new.key] = new
        order.append(new.key)

    # 2. answers, in the order given
    for answer in answers:
        marker = answer_key(answer)
        if marker in seen:
            continue
        seen.append(marker)
        where = Location(answers_source, answer.row)
        request, problem = answered_request(requests, answer)
        when = answer.submitted or now
        if request is None:
            findings.append(Finding("warning", f"{problem}; answer ignored", where))
            continue
        key = request.key
        newer = [r for r in _rounds(requests, request.mentee, request.mentor) if r.round > request.round]
        if request.status == "pending" and when >= _at(request.sent) + expire:
            close(key, "expired", _iso(_at(request.sent) + expire), "answered after expiry")
            request = requests[key]
        if request.status != "pending":
            what = {"expired": f"the request had expired on {request.closed[:10] if request.closed else '?'}",
                    "withdrawn": f"{answer.mentee} was already matched"
                                 + (f" with {', '.join(m for m in _mentors_of(requests, answer.mentee))}"
                                    if answer.mentee in matched else ""),
                    "accepted": "it was already accepted", "declined": "it was already declined",
                    "full": "the mentor was already full"}.get(request.status, request.status)
            later = f" (it answers request {key}; the newer request is {newer[-1].key})" if newer else ""
            findings.append(Finding("warning", f"{answer.mentor} {'accepted' if answer.accept else 'declined'} "
                                               f"{answer.mentee}'s request after {what}{later}; answer ignored",
                                    where))
            continue
        moment = _iso(when)
        if not answer.accept:
            close(key, "declined", moment)
            events.append(f"{answer.mentor} declined {answer.mentee}")
            continue
        if taken.get(answer.mentor, 0) >= capacity.get(answer.mentor, 0):
            close(key, "full", moment, "accepted when already at capacity")
            findings.append(Finding("warning", f"{answer.mentor} accepted {answer.mentee} but is already at "
                                               f"capacity ({capacity.get(answer.mentor, 0)}); not matched, "
                                               "the mentor is told", where))
            continue
        close(key, "accepted", moment)
        taken[answer.mentor] = taken.get(answer.mentor, 0) + 1
        accepted[answer.mentee] = accepted.get(answer.mentee, 0) + 1
        events.append(f"{answer.mentor} accepted {answer.mentee}")
        if accepted[answer.mentee] < max(1, int(wants.get(answer.mentee, 1))):
            continue   # the mentee wants more mentors: their other requests go on
        matched.add(answer.mentee)
        mentors = ", ".join(_mentors_of(requests, answer.mentee))
        for other in order:
            r = requests[other]
            if r.mentee == answer.mentee and r.status in OPEN:
                close(other, "withdrawn", moment, f"matched with {mentors}")
                if r.sent:
                    events.append(f"{answer.mentee}'s request to {r.mentor} withdrawn")

    # 3. expiry and reminders
    remind = timedelta(days=settings.remind_after_days)
    for key in order:
        r = requests[key]
        if r.status != "pending":
            continue
        sent = _at(r.sent)
        if now >= sent + expire:
            close(key, "expired", _iso(sent + expire))
            events.append(f"{r.mentee}'s request to {r.mentor} expired")
        elif now >= sent + remind and r.reminded is None:
            requests[key] = replace(r, reminded=stamp)
            events.append(f"{r.mentor} reminded of {r.mentee}'s request")

    # 4. send waiting requests within the caps (rank order, then the order picks arrived)
    pending_mentee: dict[str, int] = {}
    pending_mentor: dict[str, int] = {}
    for r in requests.values():
        if r.status == "pending":
            pending_mentee[r.mentee] = pending_mentee.get(r.mentee, 0) + 1
            pending_mentor[r.mentor] = pending_mentor.get(r.mentor, 0) + 1
    per_mentee = 1 if settings.send is SendOrder.IN_ORDER else settings.max_pending_per_mentee
    waiting = sorted((k for k in order if requests[k].status == "waiting"),
                     key=lambda k: (requests[k].rank, order.index(k)))
    for key in waiting:
        r = requests[key]
        if r.mentee in matched:
            close(key, "withdrawn", stamp, "matched")
            continue
        if taken.get(r.mentor, 0) >= capacity.get(r.mentor, 0):
            close(key, "full", stamp, "mentor full before the request was sent")
            continue
        if settings.send is SendOrder.IN_ORDER and any(
                requests[k].mentee == r.mentee and requests[k].status == "waiting" and requests[k].rank < r.rank
                for k in order):
            continue  # an earlier pick still waits
        if pending_mentee.get(r.mentee, 0) >= per_mentee or \
                pending_mentor.get(r.mentor, 0) >= settings.max_pending_per_mentor:
            continue
        requests[key] = replace(r, status="pending", sent=stamp)
        pending_mentee[r.mentee] = pending_mentee.get(r.mentee, 0) + 1
        pending_mentor[r.mentor] = pending_mentor.get(r.mentor, 0) + 1
        events.append(f"request from {r.mentee} sent to {r.mentor} (choice {r.rank})")

    # 5. who needs a fresh shortlist: every request closed, none accepted, new closures since the last list
    shortlists = {k: dict(v) for k, v in state.shortlists.items()}
    needs = []
    by_mentee: dict[str, list[Request]] = {}
    for key in order:
        by_mentee.setdefault(requests[key].mentee, []).append(requests[key])
    for mentee, items in sorted(by_mentee.items()):
        if mentee in matched or any(r.status in OPEN for r in items):
            continue
        closed = sum(1 for r in items if r.status in CLOSED_UNMATCHED)
        if closed and closed > int(shortlists.get(mentee, {}).get("closed", 0)):
            needs.append(mentee)
    new_state = RequestState(tuple(requests[k] for k in order), tuple(seen), shortlists)
    return Advance(new_state, tuple(events), tuple(findings), tuple(needs))


def _mentors_of(requests: dict[str, Request], mentee: str) -> list[str]:
    return [r.mentor for r in requests.values() if r.mentee == mentee and r.status == "accepted"]


def record_shortlists(state: RequestState, mentees: Iterable[str], now: datetime) -> RequestState:
    """Note that these mentees were sent a (fresh) shortlist now, with how many requests had closed."""
    shortlists = {k: dict(v) for k, v in state.shortlists.items()}
    for mentee in mentees:
        closed = sum(1 for r in state.requests if r.mentee == mentee and r.status in CLOSED_UNMATCHED)
        entry = shortlists.get(mentee, {"count": 0, "first": _iso(now)})
        shortlists[mentee] = {**entry, "at": _iso(now), "closed": closed, "count": int(entry.get("count", 0)) + 1}
    return replace(state, shortlists=shortlists)


# ----------------------------------------------------------------------------------------------- messages

REQUEST_TEMPLATES = {
    "request": "request.md.j2",                  # to the mentor: a mentee asks
    "request-reminder": "request-reminder.md.j2",  # to the mentor: still unanswered
    "request-accepted": "request-accepted.md.j2",  # to the mentee and to the mentor: matched
    "request-withdrawn": "request-withdrawn.md.j2",  # to the mentor: the mentee was matched elsewhere
    "request-full": "request-full.md.j2",        # to the mentor: accepted while already full
}


def request_messages(programme: Programme, participants: Participants, state: RequestState, *,
                     sending: bool = False, now: datetime | None = None) -> list[OutgoingMessage]:
    """Every message the state calls for, each under its own ledger key (the ledger skips those sent)."""
    from mentorctl.mail import FILE_HEADER, OutgoingMessage, build_message, format_address
    from mentorctl.packs import choose_template, greeting_name, public_profile
    from mentorctl.selfmatch.shortlists import message_envelope, profile_lines, settings_of
    from mentorctl.templating import make_environment, render_message

    settings = settings_of(programme)
    sender, reply_to, prefix = message_envelope(programme, sending)
    env = make_environment(programme)
    mentors = {str(r["id"]): {str(k): v for k, v in r.items()} for r in participants.mentors.frame.to_dict("records")} if participants.mentors is not None else {}
    mentees = {str(r["id"]): {str(k): v for k, v in r.items()} for r in participants.mentees.frame.to_dict("records")} if participants.mentees is not None else {}
    coordinator = programme.programme.coordinator
    tz = programme.tz
    out: list[OutgoingMessage] = []

    def person(row: dict[str, Any], *, with_email: bool) -> dict[str, Any]:
        profile = public_profile(row, programme)
        email = profile.get("email")
        if not with_email:
            profile.pop("email", None)
        return {"id": str(row["id"]), "name": profile.get("name") or str(row["id"]),
                "first_name": greeting_name(row), "profile": profile,   # greeted as in the welcome pack
                "fields": profile_lines(profile, programme), "email": email if with_email else None,
                "_address": email}

    def add(kind: str, role: str, to: dict[str, Any], request: Request, context: dict[str, Any]) -> None:
        address = to.pop("_address", None)
        if not address:
            return
        template = choose_template(programme, env, REQUEST_TEMPLATES[kind])
        message = render_message(env, template, context)
        key = f"{kind}:{role}:{request.key}"     # round 1: `kind:role:MENTEE:MENTOR`, as before rounds
        stem = re.sub(r"[^A-Za-z0-9._-]+", "-", key.replace("#", "-r"))
        msg = build_message(sender=sender, to=format_address(to["name"], address), subject=prefix + message.subject,
                            text=message.text, html=message.html, reply_to=reply_to, date=now,
                            headers={FILE_HEADER: f"{stem}.eml"})
        out.append(OutgoingMessage(key=key, kind=kind, recipient_id=f"{role}:{to['id']}", message=msg))

    for r in state.requests:
        if r.mentor not in mentors or r.mentee not in mentees or r.sent is None:
            continue
        deadline = (_at(r.sent) + timedelta(days=settings.requests.expire_after_days)).astimezone(tz).date()
        base = {"programme_name": programme.programme.name, "rank": r.rank, "deadline": deadline,
                "request_id": r.key,
                "answer_url": settings.answer_form_url, "reply_address": settings.reply_to or reply_to,
                "coordinator": {"name": coordinator.name, "email": coordinator.email} if coordinator else None,
                "note": r.note}
        mentor = person(mentors[r.mentor], with_email=r.status == "accepted")
        mentee = person(mentees[r.mentee], with_email=r.status == "accepted")
        add("request", "mentor", dict(mentor), r, {**base, "recipient": mentor, "mentee": mentee})
        if r.reminded:
            add("request-reminder", "mentor", dict(mentor), r, {**base, "recipient": mentor, "mentee": mentee})
        if r.status == "accepted":
            add("request-accepted", "mentee", dict(mentee), r,
                {**base, "role": "mentee", "recipient": mentee, "counterpart": mentor})
            add("request-accepted", "mentor", dict(mentor), r,
                {**base, "role": "mentor", "recipient": mentor, "counterpart": mentee})
        elif r.status == "withdrawn":
            add("request-withdrawn", "mentor", dict(mentor), r, {**base, "recipient": mentor, "mentee": mentee})
        elif r.status == "full" and r.note == "accepted when already at capacity":
            add("request-full", "mentor", dict(mentor), r, {**base, "recipient": mentor, "mentee": mentee})
    return out


def requests_frame(state: RequestState) -> Any:
    """The state as a table for out/requests.csv: one row per request."""
    import pandas as pd

    columns = ["request_id", "mentee_id", "mentor_id", "choice", "status", "sent", "reminded", "closed", "note"]
    return pd.DataFrame([(r.key, r.mentee, r.mentor, r.rank, r.status, r.sent, r.reminded, r.closed, r.note)
                         for r in state.requests], columns=columns)


# ------------------------------------------------------------------------------------------- one whole step

@dataclass(frozen=True)
class RequestsStep:
    """One `mentorctl requests` step, computed but not yet saved or sent: the advance, the state after it
    (with fresh shortlists recorded), those shortlists, every warning, the pairs for matches.csv (the
    accepted ones, and in a running programme the current pairs too, with `matched_on`; matches.csv columns
    plus `choice_rank`), the running programme's places and its lifecycle (None when not running)."""

    advance: Advance
    state: RequestState
    fresh: Any                     # ShortlistResult | None
    findings: tuple[Finding, ...]
    pairs: Any                     # pandas DataFrame
    running: Running = field(default_factory=Running)
    life: Any = None               # shortlists.RunningLife | None

    def matched(self) -> dict[str, list[str]]:
        """Mentees matched by an accepted request whose relationship has not ended, with their mentors."""
        return matched_pairs(self.state, self.running)


def step_requests(programme: Programme, participants: Participants, *, now: datetime) -> RequestsStep:
    """Read the choices and answers, advance the saved state, and build fresh shortlists where needed; in a
    running programme as `match` reads it (see the module docs)."""

    from mentorctl.matching.preferences import apply_plan, valid_picks
    from mentorctl.matching.prepare import prepare
    from mentorctl.matching.shortlist import build_shortlists
    from mentorctl.programme import SelfMatchingMode
    from mentorctl.relationships import match_plan
    from mentorctl.selfmatch.exports import ExportRead, read_answers, read_choices
    from mentorctl.selfmatch.shortlists import (
        accepted_outside,
        places_of,
        read_shortlists,
        running_life,
        settings_of,
    )

    settings = settings_of(programme)
    if settings.mode is not SelfMatchingMode.REQUEST:
        raise MentorctlError("`mentorctl requests` is for self_matching.mode: request (this programme's mode is "
                             f"{settings.mode.value}; its picks are matched by `mentorctl match`)",
                             location=Location(str(programme.path)))
    prep = prepare(programme, participants)
    state = load_state(programme)
    life = running_life(programme, participants, now.date())
    plan = match_plan(life.life) if life is not None else None
    kept_e, kept_j, history = apply_plan(prep, plan)      # people who ended without --rematch: not eligible
    running = running_places(state, plan)
    choices = ExportRead("(no choices yet)")
    if settings.choices is not None and programme.resolve(settings.choices.path.rsplit("#", 1)[0]).exists():
        choices = read_choices(programme, participants)
    valid, problems = valid_picks(prep, choices, read_shortlists(programme), settings.unknown_pick == "error",
                                  history=history, kept=set(zip(kept_e.tolist(), kept_j.tolist(), strict=True)))
    answers = read_answers(programme, participants)
    capacity = {str(m): int(c) if ok else 0
                for m, c, ok in zip(prep.mentors["id"], prep.mentor_cap, prep.mentor_ok, strict=True)}
    demand = {str(e): int(c) for e, c, ok in zip(prep.mentees["id"], prep.mentee_cap, prep.mentee_ok, strict=True)
              if ok}
    valid, served = _without_served(valid, running, demand, plan, choices.source)
    step = advance(state, picks=valid, answers=answers.answers, capacity=capacity, settings=settings.requests,
                   now=now, answers_source=answers.source, demand=demand, running=running)
    new_state, fresh = step.state, None
    running = running_places(new_state, plan)
    if step.needs_shortlist:   # in a running programme, as `shortlist` does (selfmatch/shortlists.py)
        fresh = build_shortlists(programme, participants, size=settings.size, exposure=settings.exposure,
                                 taken=places_of(accepted_outside(new_state, plan)), plan=plan, exclude=new_state.closed_pairs() | {
                                     (r.mentee, r.mentor) for r in new_state.requests if r.status == "accepted"},
                                 only=set(step.needs_shortlist), promised=new_state.open_per_mentor())
        new_state = record_shortlists(new_state, step.needs_shortlist, now)
    pairs = _pairs(programme, prep, new_state, plan, now)
    log = tuple(Finding("warning", w) for w in (life.life.warnings if life is not None else ()))
    findings = (*log, *choices.findings, *problems, *served, *answers.findings, *step.findings)
    return RequestsStep(step, new_state, fresh, findings, pairs, running, life)


def _without_served(picks: list[Pick], running: Running, demand: dict[str, int], plan: MatchPlan | None,
                    source: str) -> tuple[list[Pick], list[Finding]]:
    """The picks of mentees whose current pairs (in the relationships log) already give them every mentor they
    want are ignored, each with a warning by row."""
    if plan is None:
        return picks, []
    mentors: dict[str, list[str]] = {}
    for mentee, mentor in plan.kept:
        mentors.setdefault(mentee, []).append(mentor)
    keep: list[Pick] = []
    findings: list[Finding] = []
    for pick in picks:
        held = running.held_by_mentee.get(pick.chooser_id, 0)
        if held and held >= max(1, demand.get(pick.chooser_id, 1)):
            findings.append(Finding("warning", f"{pick.chooser_id} has a current mentor "
                                               f"({', '.join(sorted(mentors[pick.chooser_id]))}, active or paused); "
                                               "pick ignored", Location(source, pick.row, pick.column)))
        else:
            keep.append(pick)
    return keep, findings


def _pairs(programme: Programme, prep: Any, state: RequestState, plan: MatchPlan | None, now: datetime) -> Any:
    """The pairs for matches.csv: the accepted requests; in a running programme also the current pairs of the
    log (an accepted pair that ended is left out), with `matched_on` (a new pair starts today, or on
    design.start_date if that is later, as `match` starts it)."""
    import numpy as np
    import pandas as pd

    from mentorctl.matching.preferences import pairs_frame

    accepted = {(r.mentee, r.mentor): r.rank for r in state.requests if r.status == "accepted"}
    if plan is None:
        keys = list(accepted)
    else:
        ended = set(plan.history)
        keys = [k for k in plan.kept if k[0] in prep.mentee_index and k[1] in prep.mentor_index]
        keys += [k for k in accepted if k not in set(plan.kept) and k not in ended]
    e = np.array([prep.mentee_index[a] for a, _ in keys], np.int64)
    j = np.array([prep.mentor_index[b] for _, b in keys], np.int64)
    rank = pd.array([accepted.get(k) for k in keys], dtype="Int64")
    frame = pairs_frame(prep, e, j, rank if plan is not None else rank.astype(np.int64))
    if plan is not None:
        first = max(now.date(), programme.design.start_date)
        frame["matched_on"] = [(plan.start.get(k) or first).isoformat() for k in keys]
    return frame


@dataclass(frozen=True)
class SavedRequests:
    """What `save_requests` wrote, and why it left a file alone."""

    paths: tuple[Any, ...]
    warnings: tuple[str, ...]


def save_requests(programme: Programme, participants: Participants, step: RequestsStep) -> SavedRequests:
    """Save a step (`mentorctl requests --send`): the state first (it is what counts), then the tables it
    explains — out/requests.csv, the fresh shortlists merged into out/shortlists.csv, out/matches.csv (unless
    it was edited by hand) — and in a running programme the log's rows: the carried ones before matches.csv is
    rewritten (so that pairs it alone knew outlive it), then a `start` row per newly accepted pair."""
    import pandas as pd

    from mentorctl.files import guard_output, record_output, was_edited, write_csv
    from mentorctl.relationships import append_events, log_path, match_events
    from mentorctl.selfmatch.shortlists import SHORTLISTS, read_shortlists

    out = programme.out_dir
    save_state(programme, step.state)
    write_csv(requests_frame(step.state), out / "requests.csv")
    paths: list[Any] = [state_path(programme), out / "requests.csv"]
    if step.fresh is not None and len(step.fresh.entries):
        old = read_shortlists(programme)
        fresh_ids = set(step.fresh.entries["mentee_id"])
        merged = step.fresh.entries if old is None else pd.concat(
            [old[~old["mentee_id"].isin(fresh_ids)], step.fresh.entries], ignore_index=True)
        merged = merged.sort_values(["mentee_id", "rank"], kind="stable").reset_index(drop=True)
        write_csv(merged, out / SHORTLISTS)
        record_output(out / SHORTLISTS)
        paths.append(out / SHORTLISTS)
    matches = out / "matches.csv"
    if matches.exists() and was_edited(matches):
        return SavedRequests(tuple(paths), (f"{matches} was edited by hand, so it is left as it is; the accepted "
                                            f"pairs are in {out / 'requests.csv'} (status accepted)",))
    if step.life is not None and step.life.carried:
        append_events(programme, participants, step.life.carried, step.life.life.state.today)
    guard_output(matches, force=False)
    write_csv(step.pairs, matches)
    record_output(matches)
    paths.append(matches)
    if step.life is not None:
        day = step.life.life.state.today
        append_events(programme, participants, match_events(step.life.life, step.pairs, (), day), day,
                      matches=step.pairs)
        paths.append(log_path(programme))
    return SavedRequests(tuple(paths), ())
