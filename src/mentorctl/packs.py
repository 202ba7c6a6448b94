"""Onboarding packs and welcome emails for every matched participant.

For each person in the matches file: a pack (self-contained print-friendly HTML and Markdown) and a welcome
email (text + HTML alternative, the pack attached, a calendar invitation for the kick-off). Everything is
rendered before anything is sent, so a template error stops the run with nothing sent.

Who gets what: one-to-one and reverse — each mentor (listing all their mentees) and each mentee (their
mentor(s)); group — one per mentee (their mentor and fellow group members) plus one per mentor listing the
whole group; peer — both people of every pair.

Ledger key: `pack:welcome:<role>:<id>:<content-hash>`, the hash over (id, sorted counterpart ids, group ids,
kind), so an edited matches.csv sends a new pack to exactly the people whose match changed.
What a participant sees of another is decided in `people.py` (the privacy policy, one card shape for packs
and reminders): name, email and `onboarding.profile_fields`; private fields never enter a template context.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, tzinfo
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mentorctl.errors import Location, ProgrammeError, RosterError
from mentorctl.people import (
    FIRST_NAME_FIELDS,
    clean,
    norm,
    person_card,
    privacy_policy,
    private_fields,
    public_profile,
)
from mentorctl.programme import MentoringType, Programme
from mentorctl.roster import is_email, records

if TYPE_CHECKING:
    import pandas as pd

    from mentorctl.mail import OutgoingMessage
    from mentorctl.matching.check import BrokenPair
    from mentorctl.roster import Participants
    from mentorctl.templating import RenderedMessage

PACK_KIND = "pack:welcome"
__all__ = ["PACK_KIND", "Pack", "PackSet", "build_packs", "greeting_name", "outgoing_messages", "pack_file_stem",
           "public_profile", "write_packs"]


@dataclass(frozen=True)
class Pack:
    """One participant's rendered pack and welcome message."""

    person_id: str
    role: str                       # mentor | mentee | peer
    name: str
    email: str | None
    counterpart_ids: tuple[str, ...]
    group_ids: tuple[str, ...]
    content_hash: str
    file_stem: str                  # <role>-<id>, made safe: out/packs/<stem>.html|.md, out/outbox/<stem>-welcome.eml
    html: str
    markdown: str
    message: RenderedMessage
    ics: bytes | None

    @property
    def recipient_id(self) -> str:
        return f"{self.role}:{self.person_id}"

    @property
    def key(self) -> str:
        return f"{PACK_KIND}:{self.recipient_id}:{self.content_hash}"


@dataclass(frozen=True)
class PackSet:
    packs: list[Pack]
    without_email: list[str] = field(default_factory=list)     # ids of people with no address (no message)
    invalid_email: list[tuple[str, str]] = field(default_factory=list)
    """(id, the roster's value) of people whose address is not an email address: pack written, no message."""
    broken_pairs: list[BrokenPair] = field(default_factory=list)
    over_capacity: list[str] = field(default_factory=list)      # people with more pairs than places
    excluded: list[str] = field(default_factory=list)           # pairs with someone design.eligibility keeps out
    """Pairs of the matches file (edited by hand) that break a rule: their packs do not claim they meet them."""


# -- profiles: see people.py ---------------------------------------------------------------------------------

_norm = norm
_clean = clean


def first_name(person: Mapping[str, Any]) -> str | None:
    """The name to greet a person by: their `first_name` (or `given_name`, `preferred_name`, `known_as`)
    field when the roster has one and it is filled in; None otherwise (greet them by their name)."""
    fields = {_norm(k): k for k in person if not str(k).startswith("_")}
    for candidate in FIRST_NAME_FIELDS:
        key = fields.get(_norm(candidate))
        if key is not None:
            value = _clean(person[key])
            if value is not None and str(value).strip():
                return str(value).strip()
    return None


def greeting_name(person: Mapping[str, Any]) -> str:
    """First name when the roster has one, else the full name, else the id."""
    return first_name(person) or str(_clean(person.get("name")) or "").strip() or str(person.get("id", ""))


def pack_file_stem(person_id: str, role: str) -> str:
    """The one name of a person's pack files: out/packs/<stem>.html and .md, the attachment
    `welcome-pack-<stem>.html` and out/outbox/<stem>-welcome.eml: `<role>-<id>`, the id made safe
    (`files.safe_file_stem`: never a space, a path separator or `..`). `build_packs` also makes the stems
    unique (`files.dedupe_stems`) when two ids give the same one."""
    from mentorctl.files import safe_file_stem

    return f"{role}-{safe_file_stem(person_id, 'participant')}"


# -- building -------------------------------------------------------------------------------------------------

def content_hash(person_id: str, counterpart_ids: Iterable[str], group_ids: Iterable[str] = (),
                 kind: str = PACK_KIND) -> str:
    """What a pack is about: the person, whom they are matched with, and the kind (16 hex digits)."""
    text = "\x1f".join([kind, person_id, ",".join(sorted(counterpart_ids)), ",".join(sorted(group_ids))])
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def _people(frame: pd.DataFrame | None) -> dict[str, dict[str, Any]]:
    if frame is None:
        return {}
    return {str(row["id"]): row for row in records(frame)}


def _reasons(programme: Programme, match_row: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The scoring terms that contributed to this pair, largest first: {name, explain, points}."""
    columns = {_norm(c): c for c in match_row}
    reasons: list[dict[str, Any]] = []
    from mentorctl.rules import uses_private_field

    for term in programme.matching.scoring:
        if uses_private_field(term.expr, programme):  # e.g. same_gender: never told to participants
            continue
        column = columns.get(_norm(term.name))
        if column is None:
            continue
        try:
            points = float(match_row[column])
        except (TypeError, ValueError):
            continue
        if math.isnan(points) or points <= 0:
            continue
        reasons.append({"name": term.name, "explain": term.explain or term.name.replace("_", " "),
                        "points": round(points, 2), "expr": term.expr})
    reasons.sort(key=lambda r: -r["points"])
    return reasons


def _session(session: Any, tz: Any) -> dict[str, Any]:
    start = session.start if session.start.tzinfo else session.start.replace(tzinfo=tz, fold=0)
    start = start.astimezone(UTC).astimezone(tz)
    return {"title": session.title, "start": start, "end": start + timedelta(minutes=session.duration_minutes),
            "duration_minutes": session.duration_minutes, "location": session.location, "url": session.url,
            "audience": session.audience.value, "local": None, "local_text": None}


def participant_zone(person: Mapping[str, Any], programme: Programme) -> tzinfo | None:
    """The person's own time zone from a `timezone` field (IANA name, e.g. Asia/Singapore) or a `utc_offset`
    field (hours, e.g. 5.5); None when they have neither, the value is unusable, or the field is private.
    See `timezones.participant_zone`."""
    from mentorctl.timezones import participant_zone as zone_of

    return zone_of(person, frozenset(private_fields(programme)))


def _localised(session: dict[str, Any] | None, zone: tzinfo | None) -> dict[str, Any] | None:
    """The session with `local` ("10:00", or "09:00 UTC−5" when only an offset is known) and `local_text`
    ("your time: 10:00" / "09:00 UTC−5"): its start in the person's zone on the session's own date, or
    None when that is the programme's clock time."""
    from mentorctl.timezones import local_time

    if session is None:
        return None
    local = local_time(session["start"], zone)
    if local is None:
        return {**session, "local": None, "local_text": None}
    return {**session, "local": local.time, "local_text": local.text}


def last_day(programme: Programme) -> date:
    """The programme's last day: `design.end_date` is exclusive (start + length_weeks)."""
    return programme.design.end_date - timedelta(days=1)


def _check_profile_fields(programme: Programme, participants: Participants) -> None:
    """Names under `private:` and `onboarding.profile_fields` must be roster fields (a typo would silently
    show or hide a field); the first problem is raised."""
    from mentorctl.people import check_privacy_fields

    problems = check_privacy_fields(programme, participants)
    if problems:
        raise ProgrammeError(problems[0].message + "; fix programme.yaml",
                             location=Location(str(programme.path)))


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "programme"


def build_packs(programme: Programme, participants: Participants, matches: pd.DataFrame, *,
                only: Sequence[str] | None = None, now: datetime | None = None) -> PackSet:
    """Render every matched participant's pack and welcome message (or only those whose id is in `only`).
    Raises TemplateError on any template problem, RosterError when `only` names nobody matched."""
    from mentorctl.templating import make_environment, render_message, render_template

    kind = programme.design.type
    peer = kind is MentoringType.PEER
    mentors = _people(participants.mentors.frame if participants.mentors is not None else None)
    mentees = _people(participants.mentees.frame if participants.mentees is not None else None)
    if peer and participants.participants is not None:
        mentors = mentees = _people(participants.participants.frame)

    from mentorctl.matching.check import check_pairs
    from mentorctl.reasons import reason_text

    # Who is matched with whom, and why (the scoring terms of the file's row that still hold for the pair:
    # a row the coordinator retyped keeps the columns of the pair it replaced); which pairs break a rule.
    checked = check_pairs(programme, participants, matches)
    broken = checked.broken
    breaking = {(b.mentor_id, b.mentee_id) for b in broken}
    links: dict[tuple[str, str], dict[str, dict[str, Any]]] = {}
    for row in records(matches):
        mentor_id, mentee_id = str(row["mentor_id"]), str(row["mentee_id"])
        terms = checked.terms.get((mentor_id, mentee_id))
        reasons = [r for r in _reasons(programme, row) if terms is None or terms.get(r["name"], 0) > 0]
        score = _clean(row.get("score"))
        # No score (no column, or an empty cell): a pair the coordinator typed in. A score but no reasons:
        # the matcher paired them on the eligibility rules alone, which is not "by hand" — unless the pair
        # breaks a rule, which the matcher never does.
        link = {"reasons": reasons, "score": score, "mentor_id": mentor_id,
                "breaks_rules": (mentor_id, mentee_id) in breaking,
                "by_hand": score is None or (mentor_id, mentee_id) in breaking}
        if peer:
            links.setdefault(("peer", mentor_id), {})[mentee_id] = link
            links.setdefault(("peer", mentee_id), {})[mentor_id] = link
        else:
            links.setdefault(("mentor", mentor_id), {})[mentee_id] = link
            links.setdefault(("mentee", mentee_id), {})[mentor_id] = link

    selected = list(links)
    if only:
        wanted = {str(i) for i in only}
        selected = [k for k in links if k[1] in wanted]
        missing = sorted(wanted - {k[1] for k in selected})
        if missing:
            raise RosterError(f"--only names {', '.join(missing)}, who is not in the matches file; "
                              "check the id or run `mentorctl match` again")
    # File names: `<role>-<id>`, made safe and unique over everyone matched (not only `--only`), so a person's
    # pack keeps its name from run to run.
    from mentorctl.files import dedupe_stems

    stems = dedupe_stems({f"{r}:{i}": pack_file_stem(i, r) for r, i in links})

    _check_profile_fields(programme, participants)
    policy = privacy_policy(programme, participants)
    env = make_environment(programme)
    tz = programme.tz
    type_name = kind.value
    message_template = choose_template(programme, env, f"welcome-{type_name}.md.j2", "welcome.md.j2")
    html_template = choose_template(programme, env, f"pack-{type_name}.html.j2", "pack.html.j2")
    md_template = choose_template(programme, env, f"pack-{type_name}.md.j2", "pack.md.j2")
    kickoff = _session(programme.schedule.kickoff, tz) if programme.schedule.kickoff else None
    coordinator = programme.programme.coordinator
    expectations = programme.onboarding.expectations
    shared = {
        "type": type_name,
        "kickoff": kickoff,
        "coordinator": {"name": coordinator.name, "email": coordinator.email} if coordinator else None,
        "resources": [r.model_dump() for r in programme.onboarding.resources],
        # Goals are KPI targets for the coordinator; participants see them only when asked for.
        "goals": [g.model_dump() for g in programme.goals] if programme.onboarding.show_goals else [],
        "purpose": programme.purpose.strip(),
        "start_date": programme.design.start_date,
        "end_date": last_day(programme),
        "checkin_every": programme.design.checkin_every,
    }
    sessions = [_session(s, tz) for s in programme.schedule.training]
    ics_needed = kickoff is not None
    sender = _sender(programme)
    stamp = now or datetime.now(UTC)

    packs: list[Pack] = []
    without_email: list[str] = []
    invalid_email: list[tuple[str, str]] = []
    for role, person_id in sorted(selected, key=lambda k: (k[0] != "mentor", k[1])):
        directory = mentees if role == "mentor" else mentors
        me_row = (mentors if role == "mentor" else mentees if role == "mentee" else mentors).get(person_id)
        if me_row is None:
            raise RosterError(f"'{person_id}' is in the matches file but not on the {role} roster; "
                              "fix the matches file or the roster", location=Location("matches.csv"))
        me = person_card(me_row, programme, role=role, policy=policy)
        counterparts = []
        for other_id, link in sorted(links[(role, person_id)].items()):
            other_row = directory.get(other_id)
            if other_row is None:
                raise RosterError(f"'{other_id}' is in the matches file but not on the roster; fix one of them",
                                  location=Location("matches.csv"))
            card = person_card(other_row, programme, policy=policy,
                               role="peer" if peer else ("mentee" if role == "mentor" else "mentor"))
            other_name = card["name"]
            side = role if not peer else ("mentor" if link["mentor_id"] == person_id else "mentee")
            reasons = [{key: value for key, value in reason.items() if key != "expr"} | {
                "text": reason_text(reason["expr"], reason["explain"], reader_side=side, reader=me_row,
                                    other=other_row, other_name=str(other_name),
                                    separator_for=programme.rosters.separator_for, peer=peer)}
                for reason in link["reasons"]]
            counterparts.append({**card, **{k: v for k, v in link.items() if k != "mentor_id"}, "reasons": reasons})
        group: list[dict[str, Any]] = []
        if kind is MentoringType.GROUP and role == "mentee":
            fellow_ids = sorted({m for mid in links[(role, person_id)] for m in links.get(("mentor", mid), {})}
                                - {person_id})
            group = [person_card(mentees[f], programme, role="mentee", policy=policy) for f in fellow_ids]
        counterpart_ids = tuple(c["id"] for c in counterparts)
        group_ids = tuple(g["id"] for g in group)
        mine = (expectations.mentors if role == "mentor" else expectations.mentees if role == "mentee"
                else list(dict.fromkeys([*expectations.mentees, *expectations.mentors])))
        audience = {"mentor": {"mentors", "everyone", "pairs"}, "mentee": {"mentees", "everyone", "pairs"}}
        zone = participant_zone(me_row, programme)
        training = [_localised(s, zone) for s in sessions if peer or s["audience"] in audience[role]]
        stem = stems[f"{role}:{person_id}"]
        context: dict[str, Any] = {
            **shared,
            "kickoff": _localised(kickoff, zone),
            "role": role,
            "recipient": {**me, "first_name": greeting_name(me_row)},
            "counterparts": counterparts,
            "group": group,
            "expectations": {"mentors": list(expectations.mentors), "mentees": list(expectations.mentees),
                             "mine": list(mine)},
            "training": training,
            "pack_file": f"{stem}.html",
        }
        html = render_template(env, html_template, context)
        markdown = render_template(env, md_template, context)
        message = render_message(env, message_template, context)
        email = me["email"]
        if not email:
            without_email.append(person_id)
        elif not is_email(email):   # not an address: warned like a missing one, no message
            invalid_email.append((person_id, str(email)))
            email = None
        ics = None
        if ics_needed and email:
            from mentorctl.mail import build_ics

            assert kickoff is not None
            ics = build_ics(uid=f"kickoff-{_slug(programme.programme.name)}@{_domain(sender)}",
                            start=kickoff["start"], end=kickoff["end"], summary=kickoff["title"],
                            location=_ics_location(kickoff), url=kickoff["url"],
                            description=_ics_description(programme, kickoff),
                            organizer=sender, attendees=[_address(context["recipient"]["name"], email)],
                            stamp=stamp)
        packs.append(Pack(person_id=person_id, role=role, name=context["recipient"]["name"], email=email,
                          counterpart_ids=counterpart_ids, group_ids=group_ids,
                          content_hash=content_hash(person_id, counterpart_ids, group_ids),
                          file_stem=stem, html=html, markdown=markdown, message=message, ics=ics))
    return PackSet(packs=packs, without_email=without_email, invalid_email=invalid_email, broken_pairs=broken,
                   over_capacity=checked.over_capacity, excluded=checked.excluded)


def choose_template(programme: Programme, env: Any, *names: str) -> str:
    """The first of `names` in the programme's templates/ folder, else the first built-in one: a programme's
    own `welcome.md.j2` beats the built-in `welcome-one-to-one.md.j2`."""
    from mentorctl.templating import TEMPLATES_FOLDER, template_exists

    own = programme.base_dir / TEMPLATES_FOLDER
    for name in names:
        if (own / name).is_file():
            return name
    return next((n for n in names if template_exists(env, n)), names[-1])


def _ics_location(session: Mapping[str, Any]) -> str | None:
    """The invitation's LOCATION: the place and the join link (calendars show it in the event's header)."""
    parts = [p for p in (session.get("location"), session.get("url")) if p]
    return ", ".join(parts) or None


def _ics_description(programme: Programme, session: Mapping[str, Any]) -> str:
    """The invitation's DESCRIPTION: what it is, where, and the join link on its own line."""
    lines = [f"{programme.programme.name}: {session['title']}"]
    if session.get("location"):
        lines.append(f"Where: {session['location']}")
    if session.get("url"):
        lines.append(f"Join online: {session['url']}")
    return "\n".join(lines)


def _address(name: str | None, email: str) -> str:
    from mentorctl.mail import format_address

    return format_address(name, email)


def _domain(address: str) -> str:
    from email.utils import parseaddr

    return parseaddr(address)[1].rpartition("@")[2] or "localhost"


def _sender(programme: Programme) -> str:
    """email.from, else the coordinator (good enough for a preview), else a placeholder."""
    if programme.email is not None:
        return programme.email.from_
    coordinator = programme.programme.coordinator
    if coordinator is not None:
        return _address(coordinator.name or programme.programme.name, coordinator.email)
    return _address(programme.programme.name, "mentoring@localhost")


# -- writing and sending --------------------------------------------------------------------------------------

def write_packs(programme: Programme, packs: Iterable[Pack]) -> list[Path]:
    """Write `out/packs/<role>-<id>.html` and `.md` (atomically); return the paths. Every file stays inside
    out/packs/ whatever the ids (see files.safe_file_stem)."""
    from mentorctl.files import atomic_write_text, path_inside

    folder = programme.out_dir / "packs"
    written = []
    for pack in packs:
        written.append(atomic_write_text(path_inside(folder, f"{pack.file_stem}.html"), pack.html))
        written.append(atomic_write_text(path_inside(folder, f"{pack.file_stem}.md"), pack.markdown))
    return written


def changed_packs(programme: Programme, packs: Iterable[Pack]) -> set[str]:
    """The keys of the packs whose text differs from the one in out/packs/ (or that have none there yet): read
    before `write_packs`, it tells an outbox preview which people a run actually changes."""
    from mentorctl.files import path_inside

    folder = programme.out_dir / "packs"
    changed = set()
    for pack in packs:
        path = path_inside(folder, f"{pack.file_stem}.md")
        try:
            same = path.read_text(encoding="utf-8") == pack.markdown
        except (OSError, UnicodeDecodeError):
            same = False
        if not same:
            changed.add(pack.key)
    return changed


def outgoing_messages(programme: Programme, packs: Iterable[Pack], *, sending: bool,
                      now: datetime | None = None) -> list[OutgoingMessage]:
    """Welcome emails with the pack and the kick-off invitation attached, one per pack with an address.
    `sending` requires email.from in programme.yaml."""
    from mentorctl.mail import FILE_HEADER, Attachment, OutgoingMessage, build_message, ics_attachment

    if sending and programme.email is None:
        raise ProgrammeError("sending needs an `email:` section (from, smtp) in programme.yaml",
                             location=Location(str(programme.path)))
    sender = _sender(programme)
    reply_to = programme.email.reply_to if programme.email else None
    if reply_to is None and programme.programme.coordinator is not None:
        reply_to = programme.programme.coordinator.email
    prefix = (programme.email.subject_prefix + " ") if programme.email and programme.email.subject_prefix else ""
    out = []
    for pack in packs:
        if not pack.email:
            continue
        attachments = [Attachment(f"welcome-pack-{pack.file_stem}.html", pack.html.encode("utf-8"), "text/html",
                                  {"charset": "utf-8"})]
        if pack.ics is not None:
            attachments.append(ics_attachment(pack.ics, "kickoff.ics"))
        message = build_message(sender=sender, to=_address(pack.name, pack.email),
                                subject=prefix + pack.message.subject, text=pack.message.text,
                                html=pack.message.html, reply_to=reply_to, attachments=attachments, date=now,
                                headers={FILE_HEADER: f"{pack.file_stem}-welcome.eml"})
        out.append(OutgoingMessage(key=pack.key, kind=PACK_KIND, recipient_id=pack.recipient_id, message=message,
                                   content_hash=pack.content_hash))
    return out


def sender_for(programme: Programme) -> str:
    """The From of participant messages: email.from, else the coordinator, else a placeholder."""
    return _sender(programme)
