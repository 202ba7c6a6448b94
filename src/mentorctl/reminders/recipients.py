"""Who receives reminders (rostered people, matched pairs, the coordinator) and how the pairs are doing
(their last logged session, inactive pairs, the coordinator's digest). Pure: built from data already read."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, time, timedelta, tzinfo
from typing import TYPE_CHECKING, Any

from mentorctl.errors import ProgrammeError
from mentorctl.programme import Audience, Programme, parse_duration
from mentorctl.reminders.schedule import localize

if TYPE_CHECKING:
    import pandas as pd

COORDINATOR_ID = "coordinator"
SESSION_EVENTS = frozenset({"session", "meeting"})


@dataclass(frozen=True)
class Recipient:
    """Someone a reminder goes to. `id` is the ledger's recipient id (`mentor:M001`, `coordinator`)."""

    id: str
    role: str                                   # mentor | mentee | participant | coordinator
    person_id: str | None
    name: str
    email: str | None
    profile: Mapping[str, Any] = field(default_factory=dict)   # their card (people.person_card): public only
    counterparts: tuple[Mapping[str, Any], ...] = ()             # the cards of the people they are matched with
    pairs: tuple[tuple[str, str], ...] = ()                      # (mentor_id, mentee_id) of their pairs
    zone: tzinfo | None = None                                   # their own time zone (timezones.py), if known
    first_name: str | None = None                                # what packs greet them by (packs.greeting_name)


def _clean(value: Any) -> Any:
    from mentorctl.people import clean

    return clean(value)


def _excluded(programme: Programme, participants: Any) -> dict[str, set[str]]:
    """{"mentor"/"mentee": ids} of the people `design.eligibility` keeps out of the programme."""
    design = programme.design.eligibility
    if not design.mentors and not design.mentees:
        return {}
    import numpy as np

    from mentorctl.errors import MentorctlError
    from mentorctl.matching.prepare import prepare

    try:
        prep = prepare(programme, participants)
    except MentorctlError:
        return {}  # a rule problem: `validate` and `match` report it
    mentors = {str(v) for v in prep.mentors["id"].to_numpy()[np.flatnonzero(~prep.mentor_ok)]}
    mentees = {str(v) for v in prep.mentees["id"].to_numpy()[np.flatnonzero(~prep.mentee_ok)]}
    if prep.peer:  # one roster: whoever fails either side's rules is out
        mentors = mentees = mentors | mentees
    return {"mentor": mentors, "mentee": mentees}


class Directory:
    """Who can receive reminders: rostered people, matched pairs and the coordinator.

    Decisions: `mentors`, `mentees` and `everyone` mean every rostered person of that role (matched or not:
    a survey or training invitation is for everyone taking part); `pairs` means every matched person, each
    with their counterparts; `coordinator` is `programme.coordinator`."""

    def __init__(self, programme: Programme, participants: Any, matches: pd.DataFrame | None):
        from mentorctl.packs import greeting_name
        from mentorctl.people import person_card, privacy_policy, private_fields
        from mentorctl.timezones import participant_zone

        self.programme = programme
        policy = privacy_policy(programme, participants)
        private = frozenset(private_fields(programme))
        self.matches = matches
        self.people: dict[str, Recipient] = {}
        self._by_role: dict[str, list[str]] = {"mentor": [], "mentee": []}
        everyone = participants.participants
        rosters = [("mentor", participants.mentors or everyone), ("mentee", participants.mentees or everyone)]
        self._rows: dict[str, dict[str, Any]] = {}
        excluded = _excluded(programme, participants)
        for side, roster in rosters:
            if roster is None:
                continue
            frame = roster.frame
            for row in frame.to_dict("records"):
                rid = f"{roster.role}:{row['id']}"
                if str(row["id"]) in excluded.get(side, ()):
                    continue  # design.eligibility keeps them out of the programme: no reminders
                self._by_role[side].append(rid)
                if rid not in self.people:
                    self._rows[rid] = row
                    email = _clean(row.get("email"))
                    self.people[rid] = Recipient(
                        id=rid, role=roster.role, person_id=str(row["id"]), name=str(_clean(row.get("name")) or ""),
                        email=email, profile=person_card(row, programme, role=roster.role, policy=policy),
                        zone=participant_zone(row, private), first_name=greeting_name(row))
        self._mentor_role = rosters[0][1].role if rosters[0][1] is not None else "mentor"
        self._mentee_role = rosters[1][1].role if rosters[1][1] is not None else "mentee"

    def person(self, role: str, person_id: str) -> Recipient | None:
        return self.people.get(f"{role}:{person_id}")

    def pair_members(self, pairs: pd.DataFrame | None = None) -> list[Recipient]:
        """Every person in the given pairs (default: all matches), each with the counterparts of those pairs."""
        pairs = self.matches if pairs is None else pairs
        if pairs is None or pairs.empty:
            return []
        collected: dict[str, tuple[list[Mapping[str, Any]], list[tuple[str, str]]]] = {}
        for mentor_id, mentee_id in zip(pairs["mentor_id"], pairs["mentee_id"], strict=True):
            mentor = self.person(self._mentor_role, str(mentor_id))
            mentee = self.person(self._mentee_role, str(mentee_id))
            for me, other in ((mentor, mentee), (mentee, mentor)):
                if me is None:
                    continue
                counterparts, own_pairs = collected.setdefault(me.id, ([], []))
                if other is not None:
                    counterparts.append(other.profile)
                own_pairs.append((str(mentor_id), str(mentee_id)))
        return [replace(p, counterparts=tuple(cps), pairs=tuple(prs))
                for p in (self.people[rid] for rid in collected)
                for cps, prs in [collected[p.id]]]

    def coordinator(self) -> Recipient:
        contact = self.programme.programme.coordinator
        if contact is None:
            raise ProgrammeError("a reminder goes to the coordinator, but programme.coordinator is not set; "
                                 "add programme: coordinator: {name: …, email: …} to programme.yaml")
        profile = {"name": contact.name, "email": contact.email}
        return Recipient(id=COORDINATOR_ID, role="coordinator", person_id=None, name=contact.name or "",
                         email=contact.email, profile={**profile, "id": None, "role": "coordinator",
                                                       "profile": profile, "fields": []})

    def audience(self, to: Audience, inactive: pd.DataFrame | None = None) -> list[Recipient]:
        """Recipients of an audience; with `inactive` pairs given, only people in one of those pairs."""
        if to is Audience.COORDINATOR:
            return [self.coordinator()] if inactive is None or not inactive.empty else []
        if to is Audience.PAIRS or inactive is not None:
            members = self.pair_members(inactive)
            if to is Audience.PAIRS or to is Audience.EVERYONE:
                return members
            side = "mentor" if to is Audience.MENTORS else "mentee"
            wanted = set(self._by_role[side])
            return [m for m in members if m.id in wanted]
        ids: list[str] = []
        if to in (Audience.MENTORS, Audience.EVERYONE):
            ids += self._by_role["mentor"]
        if to in (Audience.MENTEES, Audience.EVERYONE):
            ids += self._by_role["mentee"]
        return [self.people[rid] for rid in dict.fromkeys(ids)]


# --- activity --------------------------------------------------------------------------------------------


def last_sessions(matches: pd.DataFrame, activity: pd.DataFrame | None, now: datetime,
                  peer: bool = False) -> pd.Series:
    """The last logged session at or before `now` of each matched pair (NaT when none), aligned with
    `matches`' rows. In peer programmes a session logged either way round counts."""
    import pandas as pd

    result = pd.Series(pd.NaT, index=matches.index, dtype="datetime64[ns, UTC]")
    if activity is None or activity.empty or matches.empty:
        return result
    stamps = pd.to_datetime(activity["timestamp"], utc=True)
    events = activity["event"].astype(str).str.lower()
    mask = events.isin(SESSION_EVENTS) & (stamps <= pd.Timestamp(now).tz_convert("UTC"))
    log = pd.DataFrame({"a": activity["mentor_id"].astype(str), "b": activity["mentee_id"].astype(str),
                        "t": stamps})[mask.to_numpy()]
    pairs = pd.DataFrame({"a": matches["mentor_id"].astype(str), "b": matches["mentee_id"].astype(str)},
                         index=matches.index)
    if peer:
        for frame in (log, pairs):
            low = frame[["a", "b"]].min(axis=1)
            high = frame[["a", "b"]].max(axis=1)
            frame["a"], frame["b"] = low, high
    last = log.groupby(["a", "b"])["t"].max().rename("last")
    joined = pairs.join(last, on=["a", "b"])
    return joined["last"].astype("datetime64[ns, UTC]")


def inactive_pairs(programme: Programme, matches: pd.DataFrame, activity: pd.DataFrame | None,
                   now: datetime, window: timedelta, as_of: datetime | None = None) -> pd.DataFrame:
    """Matched pairs with no logged session from `window` before `as_of` (default: now) up to `now`.

    For a reminder occurrence, `as_of` is the occurrence: the pair must have been inactive when it fell due
    and must not have met since (a late run never nudges a pair that was active at the time). A pair's
    clock starts at the programme's start date, so nobody is nudged before `window` has passed."""
    import pandas as pd

    last = last_sessions(matches, activity, now, peer=programme.is_peer)
    start = pd.Timestamp(localize(datetime.combine(programme.design.start_date, time(0)), programme.tz))
    since = last.where(last > start, start.tz_convert("UTC"))   # NaT (never met) counts from the start
    cutoff = pd.Timestamp(as_of or now).tz_convert("UTC") - pd.Timedelta(window)
    return matches[(since <= cutoff).to_numpy()]


# --- digest ----------------------------------------------------------------------------------------------


def digest_context(programme: Programme, directory: Directory, activity: pd.DataFrame | None,
                   now: datetime, days_ahead: int = 14, escalated: Sequence[Mapping[str, Any]] = ()
                   ) -> dict[str, Any]:
    """The coordinator's digest: pairs that have not met, pairs overdue for a session, upcoming sessions, and
    pairs inactive beyond a reminder's `escalate_after` (`escalated`)."""
    import pandas as pd

    not_met: list[dict[str, Any]] = []
    overdue: list[dict[str, Any]] = []
    matches = directory.matches
    if matches is not None and not matches.empty:
        last = last_sessions(matches, activity, now, peer=programme.is_peer)
        limit = pd.Timestamp(now).tz_convert("UTC") - pd.Timedelta(parse_duration(programme.design.checkin_every))
        names = matches.assign(_last=last.to_numpy())
        for row in names.to_dict("records"):
            entry = {"mentor": _clean(row.get("mentor_name")) or row["mentor_id"],
                     "mentee": _clean(row.get("mentee_name")) or row["mentee_id"],
                     "mentor_id": str(row["mentor_id"]), "mentee_id": str(row["mentee_id"])}
            if pd.isna(row["_last"]):
                not_met.append(entry)
            elif row["_last"] < limit:
                last_day = row["_last"].tz_convert(programme.tz).date()
                overdue.append({**entry, "last_session": last_day.isoformat(),
                                "days_since": (now.astimezone(programme.tz).date() - last_day).days})
    named = {_pair_key(p["mentee_id"], p["mentor_id"], programme.is_peer): p for p in not_met + overdue}
    escalated_rows = []
    for pair in escalated:   # each pair once: an escalated pair leaves the not-met and overdue lists
        key = _pair_key(str(pair["mentee_id"]), str(pair["mentor_id"]), programme.is_peer)
        listed = named.pop(key, {})
        escalated_rows.append({"mentor": listed.get("mentor") or pair["mentor_id"],
                               "mentee": listed.get("mentee") or pair["mentee_id"], **dict(pair)})
    not_met = [p for p in not_met if _pair_key(p["mentee_id"], p["mentor_id"], programme.is_peer) in named]
    overdue = [p for p in overdue if _pair_key(p["mentee_id"], p["mentor_id"], programme.is_peer) in named]
    not_met.sort(key=lambda p: (str(p["mentor"]), str(p["mentee"])))
    overdue.sort(key=lambda p: (-p["days_since"], str(p["mentor"]), str(p["mentee"])))
    horizon = now + timedelta(days=days_ahead)
    sessions = []
    for session in programme.schedule.training:
        start = localize(session.start, programme.tz)
        if now <= start <= horizon:
            sessions.append({"title": session.title, "start": start.strftime("%A %d %B %Y, %H:%M"),
                             "location": session.location, "url": session.url,
                             "audience": session.audience.value})
    return {"not_met": not_met, "overdue": overdue, "upcoming_sessions": sessions,
            "escalated": escalated_rows,
            "pairs": 0 if matches is None else len(matches), "days_ahead": days_ahead}


def _pair_key(mentee_id: str, mentor_id: str, peer: bool) -> tuple[str, str]:
    return (min(mentee_id, mentor_id), max(mentee_id, mentor_id)) if peer else (mentee_id, mentor_id)
