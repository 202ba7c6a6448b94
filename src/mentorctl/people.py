"""Who a person is to a template: the public profile, the counterpart card and the privacy policy.

One place decides what participants see of each other, for packs, welcome emails and reminders alike.

The policy (`PrivacyPolicy`), for a counterpart card and for a person's own profile in a message:
- always the name and the email address;
- the fields listed under `onboarding.profile_fields`, in that order — never a `private:` field, even listed;
- when that list is absent: only the fields that non-private scoring terms read (a mentee's `goals`, a mentor's
  `skills`, `location` — the fields "why you were matched" talks about), never a field that holds ids or lists
  of people (`manager_id`, `preferred_mentors`, "mentors I do not want": by name, or because its values are
  ids or names of people on the rosters), nor capacity, ranks or `utc_offset`;
- never a `_` column.

The one shape of a person in every template context (`person_card`):
`{id, name, email, role, profile: {name, email, field: value…}, fields: [{label, name, value}…]}` with the
profile's fields also at the top level (`person.location`), so `recipient.location` and
`recipient.profile.location` both work; packs add `reasons`, `score` and `by_hand` to counterparts.
"""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from mentorctl.errors import Finding, Location

if TYPE_CHECKING:
    from mentorctl.programme import Programme
    from mentorctl.roster import Participants

ALWAYS_SHOWN = ("name", "email")
FIRST_NAME_FIELDS = ("first_name", "given_name", "preferred_name", "known_as")
"""Roster columns that hold the name to greet someone by (packs.greeting_name): never in a card's field list."""
INTERNAL_FIELDS = ("id", "capacity", "utc_offset", "timezone")   # never on a card unless listed
# Field names that hold other people (preferences, exclusions, nominations) or ids: never shown by default.
_PEOPLE_NAME = re.compile(r"(^|_)(id|ids|prefer\w*|preferred\w*|exclu\w*|avoid\w*|block\w*|forbid\w*|"
                          r"not_?want\w*|unwanted|dont_want\w*|do_not\w*|nominat\w*|manager|rank)(_|$)")


def norm(name: str) -> str:
    """A field name compared ignoring case, spaces, underscores and hyphens."""
    return re.sub(r"[^0-9a-z]+", "", str(name).lower())


def _snake(name: str) -> str:
    return re.sub(r"[\s-]+", "_", str(name).strip().lower())


def clean(value: Any) -> Any:
    """A cell as a template shows it: empty cells (NaN, NaT, None) as None, whole floats as ints, numpy
    scalars as Python values."""
    if value is None:
        return None
    if isinstance(value, float):
        if math.isnan(value):
            return None
        return int(value) if value.is_integer() else value
    if hasattr(value, "item") and not isinstance(value, str):  # numpy scalars
        return clean(value.item())
    try:
        import pandas as pd

        if pd.isna(value):
            return None
    except (TypeError, ValueError):
        pass
    return value


def is_internal_field(name: str, programme: Programme) -> bool:
    """Fields kept off cards by default: ids (`*_id`), preferences and exclusions (`preferred_*`,
    `not_wanted`…), ranks (`*_rank`), the capacity column, `utc_offset` and `timezone`."""
    if _PEOPLE_NAME.search(_snake(name)):
        return True
    return norm(name) in {norm(f) for f in (*INTERNAL_FIELDS, programme.matching.capacity_column)}


def scoring_fields(programme: Programme) -> dict[str, set[str]]:
    """{side: field names} read by scoring terms that do not use a private field (side: mentor | mentee)."""
    from mentorctl.errors import RuleError
    from mentorctl.rules import parse_rule, uses_private_field

    found: dict[str, set[str]] = {"mentor": set(), "mentee": set()}
    for term in programme.matching.scoring:
        if uses_private_field(term.expr, programme):
            continue
        try:
            fields = parse_rule(term.expr, f"scoring term {term.name}").fields
        except RuleError:
            continue
        for side, name in fields:
            found.setdefault(side, set()).add(norm(name))
    return found


def _people_valued_fields(participants: Participants | None, programme: Programme) -> set[str]:
    """Fields whose values name people: at least one item (split by the field's list separator) is the id or
    the name of someone on a roster."""
    if participants is None:
        return set()
    rosters = _rosters(participants)
    known: set[str] = set()
    for roster in rosters:
        for column in ("id", "name"):
            if column in roster.frame.columns:
                known |= {str(v).strip().lower() for v in roster.frame[column].dropna() if str(v).strip()}
    found: set[str] = set()
    for roster in rosters:
        for column in (c for c in roster.frame.columns if not str(c).startswith("_")):
            if column in ("id", "name", "email") or roster.frame[column].dtype != object:
                continue
            separator = programme.rosters.separator_for(column)
            for value in roster.frame[column].dropna():
                items = [i.strip().lower() for i in str(value).split(separator)]
                if any(i in known for i in items if i):
                    found.add(norm(column))
                    break
    return found


def _rosters(participants: Any) -> list[Any]:
    """The distinct rosters of `participants` (peer programmes: one)."""
    found: dict[int, Any] = {}
    for name in ("mentors", "mentees", "participants"):
        roster = getattr(participants, name, None)
        if roster is not None:
            found.setdefault(id(roster), roster)
    return list(found.values())


@dataclass(frozen=True)
class PrivacyPolicy:
    """Which fields of a person participants may see (see the module docstring)."""

    private: frozenset[str]                      # normalised `private:` names
    listed: tuple[str, ...] | None               # onboarding.profile_fields as given
    by_side: Mapping[str, frozenset[str]]        # default: normalised fields per side (mentor/mentee)
    people_fields: frozenset[str]                # normalised fields whose values name people
    internal: frozenset[str]                     # normalised internal names (capacity column…)

    def shows(self, name: str, role: str | None = None) -> bool:
        """Whether field `name` of a person with `role` (mentor, mentee, peer, participant; None: any) is shown."""
        key = norm(name)
        if str(name).startswith("_") or key in self.private:
            return False
        if key in {norm(f) for f in ALWAYS_SHOWN}:
            return True
        if self.listed is not None:
            return key in {norm(f) for f in self.listed}
        if key in self.people_fields or key in self.internal or _PEOPLE_NAME.search(_snake(name)):
            return False
        sides = ("mentor",) if role == "mentor" else ("mentee",) if role == "mentee" else ("mentor", "mentee")
        return any(key in self.by_side.get(side, frozenset()) for side in sides)

    def order(self, names: Iterable[str]) -> list[str]:
        """`names` in the order of `profile_fields` when given (name and email first), else as they come."""
        names = list(names)
        if self.listed is None:
            return names
        rank = {norm(f): i for i, f in enumerate([*ALWAYS_SHOWN, *self.listed])}
        return sorted(names, key=lambda n: rank.get(norm(n), -1))


def privacy_policy(programme: Programme, participants: Participants | None = None) -> PrivacyPolicy:
    """The programme's policy; with `participants`, fields whose values name people are recognised too."""
    listed = programme.onboarding.profile_fields
    sides = scoring_fields(programme)
    return PrivacyPolicy(
        private=frozenset(norm(p) for p in programme.private),
        listed=tuple(listed) if listed is not None else None,
        by_side={side: frozenset(names) for side, names in sides.items()},
        people_fields=frozenset(_people_valued_fields(participants, programme)),
        internal=frozenset(norm(f) for f in (*INTERNAL_FIELDS, programme.matching.capacity_column)),
    )


def private_fields(programme: Programme) -> set[str]:
    """The `private:` field names, normalised (case, spaces, underscores and hyphens ignored)."""
    return {norm(p) for p in programme.private}


def public_profile(person: Mapping[str, Any], programme: Programme, *, role: str | None = None,
                   policy: PrivacyPolicy | None = None) -> dict[str, Any]:
    """A person's fields fit for participants to see (name, email and what the policy shows), empty cells as
    None, whole floats as ints, list fields (per `rosters.types`) split into lists."""
    from mentorctl.programme import FieldType

    policy = policy or privacy_policy(programme)
    profile: dict[str, Any] = {}
    for key, value in person.items():
        name = str(key)
        if not policy.shows(name, role):
            continue
        value = clean(value)
        if programme.rosters.types.get(name) is FieldType.LIST and isinstance(value, str):
            separator = programme.rosters.separator_for(name)
            value = [item.strip() for item in value.split(separator) if item.strip()]
        profile[name] = value
    return {name: profile[name] for name in policy.order(profile)}


def shown_fields(profile: Mapping[str, Any], programme: Programme) -> list[dict[str, Any]]:
    """[{label, name, value}] for a card: the profile's fields other than name/email (and a first-name column,
    used for the greeting), non-empty."""
    hidden = {norm(f) for f in ("id", *ALWAYS_SHOWN, *FIRST_NAME_FIELDS)}
    shown = []
    for key, value in profile.items():
        if norm(key) in hidden or value is None or value == "" or value == []:
            continue
        if isinstance(value, str) and programme.rosters.separator_for(key) in value:
            value = [v.strip() for v in value.split(programme.rosters.separator_for(key)) if v.strip()]
        text = ", ".join(str(v) for v in value) if isinstance(value, list) else str(value)
        shown.append({"label": key.replace("_", " ").capitalize(), "name": key, "value": text})
    return shown


def person_card(person: Mapping[str, Any], programme: Programme, *, role: str,
                policy: PrivacyPolicy | None = None, **extra: Any) -> dict[str, Any]:
    """The one shape of a person in a template context (see the module docstring). `role` is the person's
    role (mentor, mentee, peer, participant, coordinator); `extra` keys are added (reasons, score…)."""
    person_id = clean(person.get("id"))
    profile = public_profile(person, programme, role=role, policy=policy)
    card = {**profile, "id": None if person_id is None else str(person_id),
            "name": profile.get("name") or (str(person_id) if person_id is not None else ""),
            "email": profile.get("email"), "role": role, "profile": profile,
            "fields": shown_fields(profile, programme)}
    card.update(extra)
    return card


# -- checks for validate ------------------------------------------------------------------------------------

def _known_fields(participants: Participants) -> list[str]:
    return sorted({str(c) for roster in _rosters(participants) for c in roster.frame.columns
                   if not str(c).startswith("_")} | {"id", "name", "email"})


def _did_you_mean(name: str, known: list[str]) -> str:
    by_norm = {norm(k): k for k in known}
    close = difflib.get_close_matches(norm(name), list(by_norm), n=1, cutoff=0.6)
    return f" (did you mean '{by_norm[close[0]]}'?)" if close else f"; fields: {', '.join(known)}"


def check_privacy_fields(programme: Programme, participants: Participants) -> list[Finding]:
    """Every name under `private:` and `onboarding.profile_fields` must be a field of some roster: a typo in
    `private:` would otherwise show the real field to everyone."""
    known = _known_fields(participants)
    known_norm = {norm(k) for k in known}
    findings = []
    for key, names in (("private", programme.private), ("onboarding.profile_fields",
                                                         programme.onboarding.profile_fields or [])):
        for name in names:
            if norm(name) not in known_norm:
                findings.append(Finding(
                    "error", f"{key} names '{name}', which is not a field of any roster{_did_you_mean(name, known)}",
                    Location(programme.path.name)))
    return findings


def fields_shown(programme: Programme, participants: Participants) -> dict[str, list[str]]:
    """{role: fields a counterpart sees} (besides name and email), for `validate` to print."""
    policy = privacy_policy(programme, participants)
    shown: dict[str, list[str]] = {}
    for roster in _rosters(participants):
        role = "peer" if programme.is_peer else roster.role
        names = [f for f in roster.fields if f not in ALWAYS_SHOWN and policy.shows(f, role)]
        shown[roster.role] = policy.order(names)
    return shown


# -- small groups in breakdowns -------------------------------------------------------------------------------

def pooled_label(min_group: int) -> str:
    """The one row small groups are pooled into: their values are never shown."""
    return f"other groups (each under {min_group})"


def merge_spellings(labels: Any) -> Any:
    """Group labels (a pandas Series of text) compared as matching compares values (`rules.encodings.normalise`:
    trimmed, spaces collapsed, case-folded): "engineering " joins "Engineering", each group shown in its most
    common spelling (ties: the first in sorted order). Every breakdown goes through it (`pool_small_groups`)."""
    from mentorctl.rules.encodings import normalise

    counts = labels.value_counts()
    best: dict[str, tuple[int, str]] = {}
    for value, count in counts.items():
        key = normalise(str(value))
        if key not in best or (-count, str(value)) < (-best[key][0], best[key][1]):
            best[key] = (int(count), str(value))
    mapping = {value: best[normalise(str(value))][1] for value in counts.index}
    if all(str(k) == v for k, v in mapping.items()):
        return labels
    return labels.map(mapping)


def pool_small_groups(labels: Any, min_group: int) -> tuple[Any, int]:
    """Relabel (a pandas Series of group labels) every group with fewer than `min_group` people as one
    `pooled_label` group, so that no breakdown names a value only a few people have (a one-person group of a
    private field names that person). Returns the labels and how many groups were pooled. Spellings of one value
    are one group (`merge_spellings`).

    The rule for every breakdown (match-summary.json, report.html/json/md/xlsx): the pooled row's counts are
    shown only when it has at least `min_group` people; when it holds a single group (its counts are that
    group's), the next smallest group is hidden too, so the hidden one cannot be worked out from the total."""
    labels = merge_spellings(labels)
    counts = labels.value_counts()
    small = [value for value, count in counts.items() if count < min_group]
    if not small:
        return labels, 0
    return labels.where(~labels.isin(small), pooled_label(min_group)), len(small)


def complement_hidden(counts: Mapping[str, int], min_group: int, pooled: int) -> set[str]:
    """The groups (label → count) whose counts must be hidden: those under `min_group`, and — when that leaves
    exactly one hidden group, unless it is the pooled row of several groups (whose sum may be known) — the next
    smallest as well."""
    hidden = {label for label, count in counts.items() if count < min_group}
    if len(hidden) == 1 and not (pooled >= 2 and hidden == {pooled_label(min_group)}):
        others = {label: count for label, count in counts.items() if label not in hidden}
        if others:
            hidden.add(min(others, key=lambda label: (others[label], str(label))))
    return hidden
