"""`mentorctl validate`: load everything, collect every problem at once."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mentorctl.errors import Finding, Location, ProgrammeError
from mentorctl.programme import Programme, load_programme, programme_warnings
from mentorctl.roster import Participants, Roster, check_participants

if TYPE_CHECKING:
    from mentorctl.timezones import ZoneReading


@dataclass(frozen=True)
class ValidationReport:
    path: str
    programme: Programme | None
    participants: Participants | None
    findings: list[Finding] = field(default_factory=list)

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.level == "error"]

    @property
    def warnings(self) -> list[Finding]:
        return [f for f in self.findings if f.level == "warning"]

    @property
    def ok(self) -> bool:
        return not self.errors

    def summary(self) -> dict[str, Any]:
        """Counts and settings a coordinator checks at a glance."""
        if self.programme is None:
            return {}
        p = self.programme
        info: dict[str, Any] = {
            "name": p.programme.name, "type": p.design.type.value, "start_date": p.design.start_date.isoformat(),
            "last_day": (p.design.end_date - timedelta(days=1)).isoformat(), "length_weeks": p.design.length_weeks,
            "goals": len(p.goals), "eligibility_rules": len(p.matching.eligibility),
            "scoring_terms": len(p.matching.scoring), "reminders": len(p.reminders),
        }
        people = self.participants
        if people is not None:
            if p.is_peer and people.participants is not None:
                info["participants"] = len(people.participants)
            else:
                info["mentors"] = len(people.mentors) if people.mentors is not None else 0
                info["mentees"] = len(people.mentees) if people.mentees is not None else 0
                if people.mentors is not None:
                    info["mentor_places"] = mentor_places(p, people.mentors)
            from mentorctl.people import fields_shown

            for role, names in fields_shown(p, people).items():
                info[f"packs_show_{role}s"] = ", ".join(["name", "email", *names])
        return info

    def as_dict(self) -> dict[str, Any]:
        return {"programme": self.path, "valid": self.ok, "summary": self.summary(),
                "errors": [f.as_dict() for f in self.errors], "warnings": [f.as_dict() for f in self.warnings]}


def mentor_places(programme: Programme, mentors: Roster) -> int:
    """Total mentee places: each mentor's capacity column, or the programme default."""
    from mentorctl.roster import snake_case

    frame = mentors.frame
    column = snake_case(programme.matching.capacity_column)
    default = programme.matching.mentor_capacity
    if column in frame.columns:
        return int(frame[column].fillna(default).sum())
    return default * len(frame)


def validate_programme(path: str | Path = ".", *, require_email: bool = False) -> ValidationReport:
    """Check the definition, the rosters and the rules; never raises for user mistakes."""
    try:
        programme = load_programme(path)
    except ProgrammeError as error:
        findings = [Finding("error", d, error.location) for d in error.details] or [
            Finding("error", error.plain_message, error.location)]
        return ValidationReport(str(path), None, None, findings)
    findings = [Finding("warning", w, Location(programme.path.name)) for w in programme_warnings(programme)]
    participants, roster_findings = check_participants(programme, require_email=require_email)
    findings += roster_findings
    if require_email:
        findings += check_sending(programme)
    if participants is not None:
        rule_findings = check_rules(programme, participants)
        file_findings = check_referenced_files(programme)
        findings += rule_findings + file_findings
        if not any(f.level == "error" for f in rule_findings + file_findings):
            findings += check_matching_inputs(programme, participants)
            findings += check_activity_references(programme, participants)
        findings += check_group_sizes(programme, participants)
        findings += check_profile_fields(programme, participants)
        findings += check_time_zones(programme, participants)
        findings += check_relationships(programme, participants)
        if programme.self_matching is not None and not any(f.level == "error" for f in rule_findings):
            from mentorctl.selfmatch.exports import check_exports

            findings += check_exports(programme, participants)
        if not any(f.level == "error" for f in findings):
            findings += check_edited_matches(programme, participants)
    return ValidationReport(str(programme.path), programme, participants, findings)


def check_relationships(programme: Programme, participants: Participants) -> list[Finding]:
    """The relationships log (relationships.csv) against the rosters and matches.csv: every bad row."""
    from datetime import datetime

    from mentorctl.errors import MentorctlError
    from mentorctl.relationships import LOG_FILE, load_lifecycle, log_path

    if not log_path(programme).exists():
        return []
    try:
        life = load_lifecycle(programme, participants, datetime.now(programme.tz).date())
    except MentorctlError as error:
        first = Finding("error", error.plain_message.replace("; fix the row (nothing was written)", "; fix the row"),
                        error.location)
        return [first] + [Finding("error", d, Location(LOG_FILE)) for d in error.details]
    return [Finding("warning", w, Location(LOG_FILE)) for w in life.warnings]


def check_rules(programme: Programme, participants: Participants) -> list[Finding]:
    """Parse every rule and check the fields and types it uses; one finding per bad rule."""
    from mentorctl.errors import RuleError
    from mentorctl.rules import RuleContext, parse_rule, uses_private_field

    matching, design = programme.matching, programme.design.eligibility
    sources = [(t, f"matching.eligibility[{i}]") for i, t in enumerate(matching.eligibility)]
    sources += [(s.expr, f"matching.scoring[{i}] ({s.name})") for i, s in enumerate(matching.scoring)]
    sources += [(m.expr, f"matching.constraints.min_share[{i}] ({m.name})")
                for i, m in enumerate(matching.constraints.min_share)]
    sources += [(t, f"design.eligibility.mentors[{i}]") for i, t in enumerate(design.mentors)]
    sources += [(t, f"design.eligibility.mentees[{i}]") for i, t in enumerate(design.mentees)]
    if not sources or participants.mentors is None or participants.mentees is None:
        return []
    context = RuleContext(participants.mentors.frame, participants.mentees.frame,
                          separator_for=programme.rosters.separator_for,
                          mentor_source=participants.mentors.source, mentee_source=participants.mentees.source)
    findings = []
    rosters = {"mentor": participants.mentors, "mentee": participants.mentees}
    for text, origin in sources:
        try:
            rule = parse_rule(text, origin)
            context.check(rule)
        except RuleError as error:
            findings.append(Finding("error", str(error), Location(programme.path.name)))
            findings += _text_in_number_columns(text, origin, rosters)
            continue
        if origin.startswith("matching.scoring") and uses_private_field(text, programme):
            findings.append(Finding("warning", f"{origin} reads a private field: it counts in the score but is "
                                    "left out of packs, emails and explain", Location(programme.path.name)))
        for side, name in sorted(rule.fields):
            roster = rosters[side]
            if name in roster.frame.columns and roster.frame[name].isna().all():
                findings.append(Finding(
                    "warning", f"{origin}: field {side}.{name} is empty for every {side}, so "
                    f'"{text}" treats it as missing for everyone (see the README on missing values)',
                    Location(roster.source, None, name)))
    return findings


def _text_in_number_columns(text: str, origin: str, rosters: dict) -> list[Finding]:
    """When a rule fails because a field is text, point at the cells that keep a mostly numeric column text."""
    from mentorctl.errors import RuleError
    from mentorctl.roster import ROW_COLUMN
    from mentorctl.rules import parse_rule

    try:
        fields = parse_rule(text, origin).fields
    except RuleError:
        return []
    found = []
    for side, name in sorted(fields):
        roster = rosters[side]
        if name not in roster.frame.columns or roster.frame[name].dtype != object:
            continue
        values = roster.frame[name]
        present = values.notna()
        numeric = values[present].map(lambda v: _is_number(v))
        if numeric.any() and not numeric.all():
            index = numeric.index[~numeric][0]
            found.append(Finding("error", f"'{values[index]}' is not a number, so the column is read as text and "
                                 f"{origin} cannot use it as a number ({int((~numeric).sum())} such cell(s)); fix "
                                 "the cell", Location(roster.source, int(roster.frame.at[index, ROW_COLUMN]), name)))
    return found


def _is_number(value: Any) -> bool:
    try:
        float(str(value))
        return True
    except ValueError:
        return False


def check_matching_inputs(programme: Programme, participants: Participants) -> list[Finding]:
    """What `match` checks before solving: conditions, capacities, pinned/forbidden/history files, pins."""
    from mentorctl.errors import MentorctlError
    from mentorctl.matching import check_inputs

    try:
        warnings = check_inputs(programme, participants)
    except MentorctlError as error:
        return [Finding("error", error.render(), None)]
    return [Finding("warning", w, Location(programme.path.name)) for w in warnings or []]


def check_activity_references(programme: Programme, participants: Participants) -> list[Finding]:
    """People named in activity logs and the survey who match nobody (warnings)."""
    if not (programme.reporting.activity or programme.reporting.survey):
        return []
    from mentorctl.activity import check_references

    return check_references(programme, participants)


def check_sending(programme: Programme, environ: Mapping[str, str] | None = None) -> list[Finding]:
    """What sending mail needs besides addresses: an email section, an SMTP server, and the environment
    variables it names set (checked in this shell; cron needs them too, see `mentorctl schedule`)."""
    import os

    env = os.environ if environ is None else environ
    where = Location(programme.path.name)
    if programme.email is None or programme.email.smtp is None:
        return [Finding("error", "sending needs an `email:` section with `from:` and `smtp:` (host, port, security)",
                        where)]
    smtp = programme.email.smtp
    return [Finding("error", f"email.smtp.{key} names the environment variable {name}, which is not set here; "
                    f"set it (export {name}=…) before sending", where)
            for key, name in (("username_env", smtp.username_env), ("password_env", smtp.password_env))
            if name and not env.get(name)]


def check_group_sizes(programme: Programme, participants: Participants) -> list[Finding]:
    """A minimum group size no mentor (or not enough mentees) can reach leaves everyone unmatched."""
    from mentorctl.roster import snake_case

    size = programme.matching.min_group_size
    if not size or participants.mentors is None or participants.mentees is None:
        return []
    frame = participants.mentors.frame
    column = snake_case(programme.matching.capacity_column)
    capacity = frame[column].fillna(programme.matching.mentor_capacity) if column in frame.columns else None
    largest = int(capacity.max()) if capacity is not None and len(capacity) else programme.matching.mentor_capacity
    problems = []
    if largest < size:
        problems.append(f"matching.min_group_size is {size} but no mentor has that much capacity (largest "
                        f"{largest}), so nobody can be matched; lower it or raise capacities")
    if len(participants.mentees) < size:
        problems.append(f"matching.min_group_size is {size} but there are only {len(participants.mentees)} "
                        "mentees, so no group can form")
    return [Finding("warning", p, Location(programme.path.name)) for p in problems]


def check_profile_fields(programme: Programme, participants: Participants) -> list[Finding]:
    """Every name under `private:` and `onboarding.profile_fields` must be a roster field (see people.py)."""
    from mentorctl.people import check_privacy_fields

    return check_privacy_fields(programme, participants)


def check_edited_matches(programme: Programme, participants: Participants) -> list[Finding]:
    """Pairs of out/matches.csv (the coordinator may have edited it) that break a rule: one warning each."""
    from mentorctl.errors import MentorctlError
    from mentorctl.matches import default_matches_path, read_matches
    from mentorctl.matching.check import check_pairs

    path = default_matches_path(programme)
    if not path.exists():
        return []
    shown = f"{programme.out_dir.name}/{path.name}"
    try:
        pairs = read_matches(programme, path, participants=participants)
        checked = check_pairs(programme, participants, pairs)
    except MentorctlError as error:
        return [Finding("warning", f"cannot check the matches file: {error.plain_message}", Location(shown))]
    return [Finding("warning", f"pair {b.mentor_id} – {b.mentee_id} breaks "
                    + "; ".join(f'"{r}"' for r in b.rules)
                    + "; its packs will not say it meets the rules (run `mentorctl explain` for alternatives)",
                    Location(shown, b.row)) for b in checked.broken] + \
        [Finding("warning", f"{what}: move a pair or raise the capacity in the roster", Location(shown))
         for what in checked.over_capacity] + \
        [Finding("error", f"{what}: packs would introduce them; remove the row (in a running programme: "
                 "`mentorctl end`) or change design.eligibility", Location(shown)) for what in checked.excluded]


_ZONE_MESSAGES = 30   # distinct timezone values explained one by one, per roster


def _zone_message(text: str, reading: ZoneReading, has_offsets: bool, rows: list[int]) -> str:
    from mentorctl.roster import rows_text
    from mentorctl.timezones import is_offset_only

    where = rows_text(rows)
    if reading.zone is None:
        fallback = ("session times for these people fall back to their utc_offset" if has_offsets else
                    "these people's packs show session times in the programme's time zone only")
        from difflib import get_close_matches
        from zoneinfo import available_timezones

        close = get_close_matches(text, sorted(available_timezones()), n=1, cutoff=0.8)
        hint = f" (did you mean '{close[0]}'?)" if close else ""
        return (f"'{text}' is not an IANA time zone name{hint}{where}: write one (e.g. America/New_York, "
                f"Europe/London) or an offset such as UTC+1; {fallback}")
    if is_offset_only(reading.zone):
        label = reading.how.rsplit(" ", 1)[-1]
        return (f"'{text}' is not an IANA time zone name; read as {reading.how}{where}: times are shown as "
                f"offsets (\"09:00 {label}\"); an IANA name (e.g. Europe/Paris) gives their local time")
    return f"'{text}' is not an IANA time zone name; read as {reading.how}{where}"


def check_time_zones(programme: Programme, participants: Participants) -> list[Finding]:
    """`timezone` values that are not IANA names (error-free: a warning naming the cells and how they were
    read — a city's zone, a fixed offset, or nothing), and people known only by an offset when the programme's
    time zone changes its clocks inside the programme: their session times are then shown as offsets
    ("09:00 UTC−5"), which may not be their clock time."""
    import numpy as np

    from mentorctl.packs import last_day
    from mentorctl.roster import row_at
    from mentorctl.timezones import OFFSET_FIELD, TIMEZONE_FIELD, clock_changes, is_offset_only, read_zone

    findings: list[Finding] = []
    offset_only = 0
    for roster in participants.rosters():
        frame = roster.frame
        has_zone = TIMEZONE_FIELD in frame.columns
        offsets = frame[OFFSET_FIELD].notna() if OFFSET_FIELD in frame.columns else None
        if has_zone:
            heading = roster.headings.get(TIMEZONE_FIELD, TIMEZONE_FIELD)
            readings: dict[str, list[int]] = {}
            zoned = []
            for index, value in frame[TIMEZONE_FIELD].items():
                text = "" if value is None or value != value else str(value).strip()
                reading = read_zone(text) if text else None
                zoned.append(reading is not None and reading.zone is not None)
                if reading is not None and reading.zone is not None and is_offset_only(reading.zone):
                    offset_only += 1
                if reading is not None and str(reading.zone) != text:
                    readings.setdefault(text, []).append(row_at(frame, index) or 0)
            for number, (text, rows) in enumerate(readings.items()):
                if number == _ZONE_MESSAGES:
                    findings.append(Finding("warning", f"… and {len(readings) - _ZONE_MESSAGES} more timezone "
                                            "values that are not IANA names", Location(roster.source, None, heading)))
                    break
                findings.append(Finding("warning", _zone_message(text, read_zone(text), offsets is not None, rows),
                                        Location(roster.source, rows[0], heading)))
            if offsets is not None:
                offsets &= ~np.asarray(zoned, bool)   # a readable timezone wins over the offset
        if offsets is not None:
            offset_only += int(offsets.sum())
    changes = clock_changes(programme.tz, programme.design.start_date, last_day(programme))
    if offset_only and changes:
        days = ", ".join(d.isoformat() for d in changes)
        findings.append(Finding(
            "warning", f"{offset_only} participant(s) are known only by a UTC offset (a utc_offset, or a "
            "timezone read as an offset), and "
            f"{programme.programme.timezone} changes its clocks during the programme ({days}): an offset "
            "cannot follow a clock change, so their session times are shown as offsets (\"09:00 UTC\u22125\"); "
            "add a timezone column with IANA names (e.g. America/New_York) for their local time",
            Location(programme.path.name)))
    return findings


def check_referenced_files(programme: Programme) -> list[Finding]:
    """Pinned/forbidden/history CSVs, activity logs and templates named in the YAML must exist."""
    named: list[tuple[str, str]] = []
    m = programme.matching
    named += [("matching.pinned", m.pinned)] if m.pinned else []
    named += [("matching.forbidden", m.forbidden)] if m.forbidden else []
    named += [(f"matching.history[{i}]", h) for i, h in enumerate(m.history)]
    named += [(f"reporting.activity[{i}]", a.path) for i, a in enumerate(programme.reporting.activity)]
    if programme.reporting.hr_extract:
        named.append(("reporting.hr_extract", programme.reporting.hr_extract.path))
    if programme.reporting.survey:
        named.append(("reporting.survey", programme.reporting.survey.path))
    findings = []
    for key, relative in named:
        file = programme.resolve(relative.split("#", 1)[0])
        if not file.exists():
            findings.append(Finding("error", f"{key} names '{relative}', which does not exist ({file})",
                                    Location(programme.path.name)))
    return findings
