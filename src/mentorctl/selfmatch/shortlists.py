"""Shortlist outputs and emails: out/shortlists.csv/.xlsx, out/no-shortlist.csv, shortlist-summary.json, and
one email per mentee with each suggested mentor's public profile, why they were suggested and how to choose.

Ledger key: `shortlist:<mentee id>:<hash of the mentor ids in order>`, so a re-run sends nothing new and a
changed shortlist (after declines, or with new mentors) sends a new email to that mentee only.
Mentors' email addresses are not shown (mentees choose through the form or by reply, so that requests go
through mentorctl and no mentor is flooded); private fields never enter the template's context.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mentorctl.errors import Finding, Location

if TYPE_CHECKING:
    import pandas as pd

    from mentorctl.mail import OutgoingMessage
    from mentorctl.matching.shortlist import ShortlistResult
    from mentorctl.programme import Programme, SelfMatching
    from mentorctl.relationships import Event, Lifecycle, MatchPlan
    from mentorctl.roster import Participants

SHORTLIST_KIND = "shortlist"
SHORTLISTS = "shortlists.csv"
SHORTLISTS_XLSX = "shortlists.xlsx"
MISSING = "no-shortlist.csv"
SUMMARY = "shortlist-summary.json"
TEMPLATE = "shortlist.md.j2"


def settings_of(programme: Programme) -> SelfMatching:
    """`self_matching` from programme.yaml, or its defaults."""
    from mentorctl.programme import SelfMatching

    return programme.self_matching or SelfMatching()


@dataclass(frozen=True)
class ShortlistInputs:
    """What `shortlist` starts from (the arguments of matching.shortlist.build_shortlists): places taken and
    pairs closed by requests (request mode), the mentees to list (`only`, None = every eligible one) and, in a
    running programme, the match plan (current pairs hold places, ended pairs never shown, only the mentees
    `match` would match are listed); `warnings` are the relationships log's."""

    taken: dict[str, int] | None = None
    exclude: set[tuple[str, str]] | None = None
    only: set[str] | None = None
    plan: MatchPlan | None = None
    warnings: tuple[str, ...] = ()


def shortlist_inputs(programme: Programme, participants: Participants, day: date) -> ShortlistInputs:
    """The inputs of `mentorctl shortlist` on `day`. A running programme (relationships.is_running) is read as
    `match` reads it (load_lifecycle + match_plan, nothing written), so shortlists go to exactly the mentees a
    match would match (newcomers, the waitlist, people marked for rematching), a mentor's room is their
    capacity minus their current pairs, and an ended pair is never offered again. In request mode the mentees
    already matched by an accepted request get none, and mentors' accepted places count once (an accepted pair
    may also be a current pair of the log)."""
    from mentorctl.programme import SelfMatchingMode

    plan, warnings = running_plan(programme, participants, day)
    if settings_of(programme).mode is not SelfMatchingMode.REQUEST:
        return ShortlistInputs(plan=plan, warnings=warnings)
    from mentorctl.selfmatch.requests import load_state

    state = load_state(programme)
    accepted = accepted_outside(state, plan)
    only = None
    if participants.mentees is not None:   # the mentees matched by an accepted request need no list
        only = {str(i) for i in participants.mentees.frame["id"]} - {mentee_id for mentee_id, _ in accepted}
    return ShortlistInputs(places_of(accepted), state.closed_pairs(), only, plan, warnings)


def running_plan(programme: Programme, participants: Participants, day: date
                 ) -> tuple[MatchPlan | None, tuple[str, ...]]:
    """In a running programme (relationships.is_running) the plan `match` would start from on `day` (read as
    cli/match_cmd.py reads it, nothing written) and the log's warnings; else (None, ())."""
    from mentorctl.relationships import match_plan

    running = running_life(programme, participants, day)
    return (None, ()) if running is None else (match_plan(running.life), running.life.warnings)


@dataclass(frozen=True)
class RunningLife:
    """A running programme's lifecycle on a day, with the rows a match would log first (`carried`: starts of
    pairs known only from matches.csv, the waitlist carried from unmatched.csv), not yet written."""

    life: Lifecycle
    carried: tuple[Event, ...]


def running_life(programme: Programme, participants: Participants, day: date) -> RunningLife | None:
    """The lifecycle `match` reads on `day` in a running programme (relationships.is_running), else None."""
    from mentorctl.relationships import (
        carried_waitlist,
        frozen_starts,
        is_running,
        load_lifecycle,
        with_events,
    )

    if not is_running(programme):
        return None
    life = load_lifecycle(programme, participants, day)
    carried = (*frozen_starts(life), *carried_waitlist(life, programme.out_dir / "unmatched.csv"))
    return RunningLife(with_events(life, carried), carried)


def accepted_outside(state: Any, plan: MatchPlan | None) -> list[tuple[str, str]]:
    """The accepted requests (mentee, mentor) of a RequestState that the plan does not already count (a pair
    the relationships log knows, current or ended, is the plan's: it holds its place once, or none)."""
    known = set(plan.kept) | set(plan.history) if plan is not None else set()
    return [(mentee_id, mentor_id) for mentee_id, mentors in state.matched().items() for mentor_id in mentors
            if (mentee_id, mentor_id) not in known]


def places_of(pairs: list[tuple[str, str]]) -> dict[str, int]:
    """Pairs per mentor id."""
    out: dict[str, int] = {}
    for _, mentor_id in pairs:
        out[mentor_id] = out.get(mentor_id, 0) + 1
    return out


def write_shortlist_outputs(result: ShortlistResult, out_dir: str | Path) -> dict[str, Path]:
    """shortlists.csv, shortlists.xlsx (Shortlists, Without a shortlist, Exposure), no-shortlist.csv and
    shortlist-summary.json, each written atomically."""
    import pandas as pd

    from mentorctl.files import atomic_write_text, record_output, write_csv
    from mentorctl.xlsx import write_xlsx

    folder = Path(out_dir)
    paths = {"shortlists": folder / SHORTLISTS, "xlsx": folder / SHORTLISTS_XLSX, "missing": folder / MISSING,
             "summary": folder / SUMMARY}
    summary = result.summary.as_dict()
    sheet = pd.DataFrame([(k, str(v)) for k, v in summary.items()], columns=["item", "value"])
    write_xlsx({"Shortlists": result.entries, "Without a shortlist": result.missing, "Exposure": result.exposure,
                "Summary": sheet}, paths["xlsx"])
    write_csv(result.entries, paths["shortlists"])
    write_csv(result.missing, paths["missing"])
    atomic_write_text(paths["summary"], json.dumps(summary, indent=2) + "\n")
    for path in paths.values():
        record_output(path)
    return paths


def read_shortlists(programme: Programme) -> pd.DataFrame | None:
    """out/shortlists.csv as written by `shortlist` (ids as text), or None when there is none yet."""
    import pandas as pd

    path = programme.out_dir / SHORTLISTS
    if not path.exists():
        return None
    frame = pd.read_csv(path, dtype={"mentee_id": str, "mentor_id": str}, keep_default_na=False)
    return frame


def shortlist_hash(mentee_id: str, mentor_ids: list[str]) -> str:
    text = "\x1f".join([SHORTLIST_KIND, mentee_id, ",".join(mentor_ids)])
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


@dataclass(frozen=True)
class Unsent:
    """A mentee whose shortlist is written but not emailed: no address, or one that is not an email address
    (`roster.is_email`), at `where` (the roster file, row and email column)."""

    mentee_id: str
    address: str | None
    where: Location

    def finding(self) -> Finding:
        what = "no email address" if not self.address else f"'{self.address}' is not an email address"
        return Finding("warning", f"{self.mentee_id}: {what}; shortlist written, no email", self.where)

    def as_dict(self) -> dict[str, Any]:
        return {"mentee_id": self.mentee_id, "address": self.address,
                "reason": "no email address" if not self.address else "not an email address",
                "file": self.where.file, "row": self.where.row, "column": self.where.column}


@dataclass(frozen=True)
class ShortlistMessages:
    """The emails, and the mentees left without one (`Unsent`)."""

    outgoing: list[OutgoingMessage]
    unsent: list[Unsent]


def shortlist_messages(programme: Programme, participants: Participants, entries: pd.DataFrame,
                       terms: dict[str, list[dict[str, Any]]], *, now: datetime | None = None,
                       sending: bool = False) -> ShortlistMessages:
    """One email per mentee of `entries` (rendered before anything is sent: a template error stops here)."""
    from mentorctl.mail import FILE_HEADER, OutgoingMessage, build_message, format_address
    from mentorctl.packs import choose_template, greeting_name, public_profile
    from mentorctl.roster import ROW_COLUMN, is_email, records
    from mentorctl.templating import make_environment, render_message

    settings = settings_of(programme)
    sender, reply_to, prefix = message_envelope(programme, sending)
    env = make_environment(programme)
    template = choose_template(programme, env, TEMPLATE)
    mentors = {str(r["id"]): r for r in records(participants.mentors.frame)} if participants.mentors is not None else {}
    mentees = {str(r["id"]): r for r in records(participants.mentees.frame)} if participants.mentees is not None else {}
    stamp = now or datetime.now(UTC)
    deadline = (stamp.astimezone(programme.tz) + timedelta(days=settings.deadline_days)).date() \
        if settings.deadline_days else None
    coordinator = programme.programme.coordinator
    outgoing: list[OutgoingMessage] = []
    unsent: list[Unsent] = []
    for mentee_id, group in entries.groupby("mentee_id", sort=True):
        mentee_id = str(mentee_id)
        me = public_profile(mentees[mentee_id], programme)
        cards: list[dict[str, Any]] = []
        for row in records(group.sort_values("rank")):
            mentor_id = str(row["mentor_id"])
            profile = public_profile(mentors[mentor_id], programme)
            profile.pop("email", None)
            cards.append({"rank": int(row["rank"]), "id": mentor_id, "name": profile.get("name") or mentor_id,
                          "profile": profile, "fields": profile_lines(profile, programme),
                          "reasons": terms.get(f"{mentee_id}\x1f{mentor_id}", [])})
        context: dict[str, Any] = {
            "programme_name": programme.programme.name,
            "recipient": {"id": mentee_id, "name": me.get("name") or mentee_id, "email": me.get("email"),
                          "first_name": greeting_name(mentees[mentee_id])},   # greeted as in the welcome pack
            "mentors": cards,
            "mode": settings.mode.value,
            "max_picks": min(settings.max_picks, len(cards)),
            "form_url": settings.form_url,
            "reply_address": settings.reply_to or reply_to,
            "deadline": deadline,
            "coordinator": {"name": coordinator.name, "email": coordinator.email} if coordinator else None,
        }
        message = render_message(env, template, context)
        email = me.get("email")
        if not email or not is_email(email):
            assert participants.mentees is not None
            unsent.append(Unsent(mentee_id, str(email) if email else None,
                                 participants.mentees.cell(int(mentees[mentee_id][ROW_COLUMN]), "email")))
            continue
        ids = [c["id"] for c in cards]
        digest = shortlist_hash(mentee_id, ids)
        msg = build_message(sender=sender, to=format_address(context["recipient"]["name"], email),
                            subject=prefix + message.subject, text=message.text, html=message.html,
                            reply_to=settings.reply_to or reply_to, date=now,
                            headers={FILE_HEADER: f"{_stem(mentee_id)}-shortlist-{digest[:6]}.eml"})
        outgoing.append(OutgoingMessage(key=f"{SHORTLIST_KIND}:{mentee_id}:{digest}", kind=SHORTLIST_KIND,
                                        recipient_id=f"mentee:{mentee_id}", message=msg, content_hash=digest))
    return ShortlistMessages(outgoing, unsent)


def profile_lines(profile: dict[str, Any], programme: Programme) -> list[dict[str, str]]:
    """[{label, value}] of a public profile's fields other than id, name and email, non-empty; list fields
    (`a;b`) shown as `a, b`."""
    shown = []
    for key, value in profile.items():
        if key in ("id", "name", "email") or value is None or value == "" or value == []:
            continue
        separator = programme.rosters.separator_for(key)
        if isinstance(value, str) and separator in value:
            value = [v.strip() for v in value.split(separator) if v.strip()]
        text = ", ".join(str(v) for v in value) if isinstance(value, list) else str(value)
        shown.append({"label": key.replace("_", " ").capitalize(), "value": text})
    return shown


def message_envelope(programme: Programme, sending: bool) -> tuple[str, str | None, str]:
    """Sender, reply-to and subject prefix, as packs use them."""
    from mentorctl.errors import Location, ProgrammeError
    from mentorctl.mail import format_address

    if sending and programme.email is None:
        raise ProgrammeError("sending needs an `email:` section (from, smtp) in programme.yaml",
                             location=Location(str(programme.path)))
    coordinator = programme.programme.coordinator
    if programme.email is not None:
        sender = programme.email.from_
    elif coordinator is not None:
        sender = format_address(coordinator.name or programme.programme.name, coordinator.email)
    else:
        sender = format_address(programme.programme.name, "mentoring@localhost")
    reply_to = programme.email.reply_to if programme.email else None
    if reply_to is None and coordinator is not None:
        reply_to = coordinator.email
    prefix = (programme.email.subject_prefix + " ") if programme.email and programme.email.subject_prefix else ""
    return sender, reply_to, prefix


def _stem(person_id: str) -> str:
    import re

    return re.sub(r"[^A-Za-z0-9._-]+", "_", person_id).strip("._") or "participant"
