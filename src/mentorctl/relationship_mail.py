"""Messages that follow a relationship's life (relationships.py): who is newly matched, so that welcome packs
go only to them, and the closure message when a pair ends.

Welcomed relationships are remembered in the ledger: after a welcome pack reaches a person, one row per
counterpart it introduced (`welcomed:<role>:<person>:<counterpart>`, status `skipped`: nothing to send) marks
that relationship as welcomed. A person is newly matched when one of their current relationships is not
marked. Closure messages are ordinary sends under `closure:<mentee>:<mentor>:<role>`: once per ended pair and
person, however often `packs` runs.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

    from mentorctl.ledger import Ledger
    from mentorctl.mail import OutgoingMessage
    from mentorctl.packs import Pack
    from mentorctl.programme import Programme
    from mentorctl.relationships import Lifecycle, Relationship
    from mentorctl.roster import Participants

WELCOMED_KIND = "welcomed"
CLOSURE_KIND = "closure"
CLOSURE_TEMPLATE = "closure.md.j2"


def _sides(programme: Programme, mentee_id: str, mentor_id: str) -> list[tuple[str, str, str]]:
    """(role, person, counterpart) for both people of a pair."""
    if programme.is_peer:
        return [("peer", mentee_id, mentor_id), ("peer", mentor_id, mentee_id)]
    return [("mentee", mentee_id, mentor_id), ("mentor", mentor_id, mentee_id)]


def welcomed_key(role: str, person: str, counterpart: str) -> str:
    return f"{WELCOMED_KIND}:{role}:{person}:{counterpart}"


def newly_matched(programme: Programme, pairs: pd.DataFrame, ledger: Ledger | None) -> list[str]:
    """Ids of the people with a relationship in `pairs` that no welcome pack has introduced yet."""
    items = [side for a, b in zip(pairs["mentee_id"].astype(str), pairs["mentor_id"].astype(str), strict=True)
             for side in _sides(programme, a, b)]
    known = ledger.statuses([welcomed_key(*i) for i in items]) if ledger is not None else {}
    return sorted({person for role, person, other in items if welcomed_key(role, person, other) not in known})


def record_welcomed(ledger: Ledger, packs: Iterable[Pack], sent_keys: Iterable[str]) -> int:
    """Mark the relationships each delivered pack introduced; returns how many marks were added."""
    sent = set(sent_keys)
    items = [(welcomed_key("peer" if pack.role == "peer" else pack.role, pack.person_id, other), WELCOMED_KIND,
              pack.person_id) for pack in packs if pack.key in sent for other in pack.counterpart_ids]
    return ledger.mark_skipped(items, reason="welcome pack sent") if items else 0


def closure_messages(programme: Programme, participants: Participants, life: Lifecycle, *,
                     now: datetime | None = None) -> list[OutgoingMessage]:
    """The closure message (templates/closure.md.j2) for both people of every pair that has ended, each
    under its own ledger key; people without an email address (or no longer on a roster) are left out."""
    from mentorctl.mail import FILE_HEADER, OutgoingMessage, build_message, format_address
    from mentorctl.packs import greeting_name, public_profile, sender_for
    from mentorctl.templating import make_environment, render_message

    ended = life.state.ended
    if not ended:
        return []
    people = _directory(participants)
    env = make_environment(programme)
    coordinator = programme.programme.coordinator
    sender = sender_for(programme)
    reply_to = programme.email.reply_to if programme.email else None
    if reply_to is None and coordinator is not None:
        reply_to = coordinator.email
    prefix = (programme.email.subject_prefix + " ") if programme.email and programme.email.subject_prefix else ""
    waiting = {w.person_id for w in life.state.waiting if w.rematch}
    out = []
    for pair in ended:
        for side, (role, person_id, other_id) in enumerate(_sides(programme, pair.mentee_id, pair.mentor_id)):
            me = people.get((_roster_role(role), person_id))
            other = people.get((_roster_role("mentor" if role == "mentee" else "mentee" if role == "mentor"
                                             else "peer"), other_id))
            if me is None:
                continue
            profile = public_profile(me, programme)
            if not profile.get("email"):
                continue
            other_name = (public_profile(other, programme).get("name") if other is not None else None) or other_id
            context = _context(role, person_id, profile, other_id, other_name, pair, person_id in waiting,
                               coordinator)
            context["recipient"]["first_name"] = greeting_name(me)   # greeted as in the welcome pack
            rendered = render_message(env, CLOSURE_TEMPLATE, context)
            # both people of a peer pair have the role `peer`: the second one's key and file name carry their id
            # (the first keeps the key it always had, so a closure sent before is never sent again)
            second_peer = role == "peer" and side == 1
            key = f"{CLOSURE_KIND}:{pair.mentee_id}:{pair.mentor_id}:{role}" + (f":{person_id}" if second_peer else "")
            own = f"-{person_id}" if second_peer else ""
            message = build_message(sender=sender, to=format_address(profile.get("name"), profile["email"]),
                                    subject=prefix + rendered.subject, text=rendered.text, html=rendered.html,
                                    reply_to=reply_to, date=now,
                                    headers={FILE_HEADER: f"closure-{pair.mentee_id}-{pair.mentor_id}-{role}{own}.eml"})
            out.append(OutgoingMessage(key=key, kind=CLOSURE_KIND, recipient_id=person_id, message=message))
    return out


def _roster_role(role: str) -> str:
    return "mentee" if role == "peer" else role


def _directory(participants: Participants) -> dict[tuple[str, str], dict[str, Any]]:
    found: dict[tuple[str, str], dict[str, Any]] = {}
    for role, roster in (("mentor", participants.mentors), ("mentee", participants.mentees)):
        if roster is None:
            continue
        for row in roster.frame.to_dict("records"):
            found[(role, str(row["id"]))] = {str(k): v for k, v in row.items()}
    return found


def _context(role: str, person_id: str, profile: dict[str, Any], other_id: str, other_name: str,
             pair: Relationship, rematch: bool, coordinator: Any) -> dict[str, Any]:
    from mentorctl.relationships import EndReason

    return {
        "recipient": {"id": person_id, "name": profile.get("name") or person_id, "email": profile.get("email"),
                      "role": "participant" if role == "peer" else role},
        "counterpart": {"id": other_id, "name": other_name,
                        "role": "participant" if role == "peer" else ("mentor" if role == "mentee" else "mentee")},
        "relationship": {"start": pair.start, "ended_on": pair.ended_on,
                         "reason": pair.end_reason.value if pair.end_reason else None,
                         "completed": pair.end_reason is EndReason.COMPLETED, "rematch": rematch},
        "coordinator": {"name": coordinator.name, "email": coordinator.email} if coordinator else None,
    }


def welcome_selection(programme: Programme, life: Lifecycle, matches: pd.DataFrame | None,
                      ledger: Ledger | None) -> tuple[pd.DataFrame, list[str]]:
    """The current pairs and the people among them to welcome (newly matched or rematched)."""
    from mentorctl.relationships import Status, pairs_with_status

    pairs = pairs_with_status(life, matches, Status.ACTIVE, Status.PAUSED)
    return pairs, newly_matched(programme, pairs, ledger)
