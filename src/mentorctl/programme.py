"""The programme definition (programme.yaml): typed models, loading and friendly validation errors.

Every section of a mentoring programme lives here, so that `mentorctl init`, the README reference and the
code cannot drift apart: purpose and goals, design, rosters, matching, schedule, onboarding, reminders,
email and reporting.
"""

from __future__ import annotations

import difflib
import re
from datetime import date, datetime, timedelta
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    field_validator,
    model_validator,
)

from mentorctl import limits
from mentorctl.choices import MentoringType
from mentorctl.errors import Location, ProgrammeError

PROGRAMME_FILE = "programme.yaml"

#: The KPIs `mentorctl report` computes, in report order; goals name one of them.
KPI_NAMES: tuple[str, ...] = (
    "relationships_formed", "active_participants", "participation_rate", "mentoring_hours", "sessions_held",
    "messages_sent", "assignments_created", "assignments_completed",
    "goals_set", "goals_achieved", "goal_completion_rate", "median_days_to_goal",
    "satisfaction_mean", "nps",
    "retention_rate", "promotion_rate",
)


def _default_roles() -> dict[Literal["mentor", "mentee"], list[str]]:
    return {"mentor": ["mentor"], "mentee": ["mentee"]}


class StrictModel(BaseModel):
    """Base for every section: unknown keys are errors."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True, use_enum_values=False, allow_inf_nan=False)


class Enrolment(StrEnum):
    OPEN = "open"
    CLOSED = "closed"


class Intake(StrEnum):
    COHORT = "cohort"
    ROLLING = "rolling"


class Objective(StrEnum):
    COVERAGE_THEN_SCORE = "coverage_then_score"
    SCORE = "score"
    FAIR = "fair"


class Audience(StrEnum):
    MENTORS = "mentors"
    MENTEES = "mentees"
    PAIRS = "pairs"
    EVERYONE = "everyone"
    COORDINATOR = "coordinator"


class FieldType(StrEnum):
    TEXT = "text"
    NUMBER = "number"
    INTEGER = "integer"
    LIST = "list"
    DATE = "date"
    EMAIL = "email"
    BOOL = "bool"


_DURATION = re.compile(r"^\s*(\d+)\s*(w|d|h|m|weeks?|days?|hours?|minutes?)\s*$", re.IGNORECASE)


def parse_duration(text: str) -> timedelta:
    """Parse a duration such as `2w`, `21d`, `12h`, `30m` (or `2 weeks`), at most `limits.MAX_DURATION_DAYS`."""
    match = _DURATION.match(str(text))
    if not match:
        raise ValueError(f"'{text}' is not a duration; write e.g. 2w, 21d, 12h or 30m")
    digits, unit = match.group(1), match.group(2).lower()[0]
    per_day = {"w": 1 / 7, "d": 1, "h": 24, "m": 1440}[unit]
    if len(digits) > 9 or int(digits) / per_day > limits.MAX_DURATION_DAYS:
        raise ValueError(f"'{text}' is longer than mentorctl's limit of {limits.MAX_DURATION_DAYS:,} days")
    amount = int(digits)
    return {"w": timedelta(weeks=amount), "d": timedelta(days=amount), "h": timedelta(hours=amount),
            "m": timedelta(minutes=amount)}[unit]


Duration = Annotated[str, Field(description="a duration: 2w, 21d, 12h, 30m")]


def _check_duration(value: str | None) -> str | None:
    """A duration that is readable, within the limit and longer than zero (`0w` would repeat for ever)."""
    if value is not None and parse_duration(value) <= timedelta(0):
        raise ValueError(f"'{value}' is zero; a duration must be longer than zero (e.g. 2w)")
    return value


def _check_offset(value: str | None) -> str | None:
    """A readable duration within the limit; zero is allowed (e.g. `after_match: 0d`)."""
    if value is not None:
        parse_duration(value)
    return value


def _check_day(value: date) -> date:
    if not limits.in_date_range(value):
        raise ValueError(f"{value.isoformat()} is outside the dates mentorctl works with ({limits.DATE_RANGE})")
    return value


def _check_moment(value: datetime) -> datetime:
    _check_day(value.date())
    return value


def check_template_name(value: str) -> str:
    """A template is named by its file name (or a path inside templates/), never a path outside the programme."""
    parts = re.split(r"[/\\]", value)
    if not value.strip() or Path(value).is_absolute() or value.startswith(("/", "\\")) or ".." in parts \
            or re.match(r"^[A-Za-z]:", value):
        raise ValueError(f"template '{value}' must be a file name in the programme's templates/ folder (or a "
                         "built-in template such as checkin.md.j2), not a path outside it")
    return value


def _check_date_format(value: str | None) -> str | None:
    """A strptime format whose directives Python knows (`%Q` would make every date unreadable)."""
    if value is None:
        return value
    from datetime import UTC

    if "%" not in value:
        raise ValueError(f"date_format '{value}' has no %-directive; write e.g. '%d/%m/%Y %H:%M'")
    sample = datetime(2027, 1, 31, 9, 30, 45, tzinfo=UTC)
    try:
        datetime.strptime(sample.strftime(value), value)
    except ValueError as e:
        if "directive" in str(e) or "stray" in str(e):
            raise ValueError(f"date_format '{value}' is not a strftime format ({e}); write e.g. "
                             "'%d/%m/%Y %H:%M'") from None
    return value


_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
LINK_SCHEMES = ("http", "https", "mailto")


def _one_line(value: str | None) -> str | None:
    """Values that go into email headers (sender, reply-to, subjects) or calendar lines: no line breaks or
    other control characters, which could add fake header lines."""
    if value is not None and _CONTROL.search(value):
        shown = "a line break" if re.search(r"[\r\n]", value) else "a control character"
        raise ValueError(f"contains {shown}; this value goes into email headers, where it could add fake "
                         "header lines: keep it on one line")
    return value


def _check_link(value: str | None) -> str | None:
    """Only http, https and mailto URLs become links in packs, emails and invitations."""
    if value is None:
        return value
    from urllib.parse import urlsplit

    text = value.strip()
    scheme = urlsplit(text).scheme.lower() if ":" in text else ""
    if scheme not in LINK_SCHEMES or _CONTROL.search(text) or " " in text:
        raise ValueError(f"'{_CONTROL.sub('?', text)[:80]}' is not an http, https or mailto link (no spaces or line "
                         "breaks); only those become links in packs and emails: write e.g. https://…")
    return text


class Contact(StrictModel):
    name: str | None = Field(None, description="person's name")
    email: str = Field(description="email address")

    _one_line = field_validator("name", "email")(_one_line)


class ProgrammeInfo(StrictModel):
    name: str = Field(description="the programme's name, shown in packs, emails and reports")
    organisation: str | None = Field(None, description="who runs it")
    timezone: str = Field("UTC", description="IANA time zone for every date and time, e.g. Europe/London")
    coordinator: Contact | None = Field(None, description="who participants contact; receives digests")

    _one_line = field_validator("name", "organisation")(_one_line)

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as e:
            raise ValueError(f"'{value}' is not an IANA time zone (e.g. Europe/London, America/New_York)") from e
        return value


class Goal(StrictModel):
    name: str = Field(description="what the programme wants to achieve")
    kpi: str | None = Field(None, description="the KPI that measures it (a name from `mentorctl report`)")
    target: float | None = Field(None, description="numeric target for the KPI (rates as 0-1)")
    direction: Literal["at_least", "at_most"] = Field("at_least", description="met when value >= or <= target")
    description: str | None = Field(None, description="longer text for packs and reports")


class ParticipantEligibility(StrictModel):
    mentors: list[str] = Field(default_factory=list, description="rules over `mentor.<field>` every mentor must meet")
    mentees: list[str] = Field(default_factory=list, description="rules over `mentee.<field>` every mentee must meet")


class Design(StrictModel):
    type: MentoringType = Field(MentoringType.ONE_TO_ONE, description="one-to-one | group | peer | reverse")
    start_date: date = Field(description="first day of the programme (YYYY-MM-DD)")
    length_weeks: int = Field(26, gt=0, le=520, description="how long the programme runs")
    enrolment: Enrolment = Field(Enrolment.CLOSED, description="open (people join any time) or closed (one intake)")
    signup: str = Field("application form", description="how people sign up (form, nomination, HR extract…)")
    checkin_every: Duration = Field("2w", description="how often pairs are expected to meet")
    intake: Intake = Field(Intake.COHORT, description="cohort (every pair runs start_date to the end) or rolling "
                           "(evergreen: each pair runs relationship_length from its own start)")
    relationship_length: Duration | None = Field(None, description="rolling intake: how long each pair runs, "
                                                 "e.g. 12w")
    eligibility: ParticipantEligibility = Field(default_factory=ParticipantEligibility,
                                                description="who may take part")

    _duration = field_validator("checkin_every", "relationship_length")(_check_duration)
    _start_day = field_validator("start_date")(_check_day)

    @model_validator(mode="after")
    def _rolling_length(self) -> Design:
        if self.intake is Intake.ROLLING and not self.relationship_length:
            raise ValueError("a rolling intake needs relationship_length (how long each pair runs, e.g. 12w)")
        return self

    @property
    def end_date(self) -> date:
        return self.start_date + timedelta(weeks=self.length_weeks)


class ColumnSource(StrictModel):
    """A field read from several columns: joined, the first one filled in, or ticked columns as one list."""

    join: list[str] | None = Field(None, description="headings whose cells are joined into one text "
                                   "(with `separator`), e.g. [First name, Last name]")
    first_non_empty: list[str] | None = Field(
        None, description="headings tried in order; the field is the first cell filled in (a question a form "
        "repeats in each section: [Goals, Goals_2, Goals_3])")
    list_: str | list[str] | None = Field(
        None, alias="list", description="columns read as one list field, one item per ticked column (an "
        "availability grid): a heading pattern where * is the item (\"Availability [*]\") or a list of headings")
    separator: str = Field(" ", description="what `join` puts between the parts")

    @model_validator(mode="after")
    def _one_way(self) -> ColumnSource:
        given = [k for k, v in (("join", self.join), ("first_non_empty", self.first_non_empty),
                                ("list", self.list_)) if v]
        if len(given) != 1:
            raise ValueError("give exactly one of join, first_non_empty, list (with the headings to read)"
                             + (f"; got {', '.join(given)}" if given else ""))
        return self

    @property
    def how(self) -> Literal["join", "first_non_empty", "list"]:
        return "join" if self.join else "first_non_empty" if self.first_non_empty else "list"

    @property
    def headings(self) -> list[str]:
        value = self.join or self.first_non_empty or self.list_ or []
        return [value] if isinstance(value, str) else list(value)


ColumnSpec = str | list[str] | ColumnSource
ValueMap = dict[str, str | list[str]]


class RosterSettings(StrictModel):
    """How the columns of a roster map to fields (for every roster, or one role's roster)."""

    columns: dict[str, ColumnSpec] = Field(
        default_factory=dict,
        description="field: heading in your file; a list of headings is joined with spaces (first + last "
        "name); or {join: [...]}, {first_non_empty: [...]}, {list: \"Pattern [*]\"}. A heading that repeats is "
        "reached as 'Heading_2', 'Heading_3'")
    types: dict[str, FieldType] = Field(default_factory=dict,
                                        description="declared field types: text, number, integer, list, date, email, bool")
    ranks: dict[str, list[str | int | float]] = Field(
        default_factory=dict,
        description="ordered values of a text field (e.g. grade: [AA, AO, EO]); adds <field>_rank, 1 = first")
    values: dict[str, ValueMap] = Field(
        default_factory=dict,
        description="free-text answers mapped to values before ranks apply: field: {value: [answer, ...]}; "
        "'*' as an answer takes every other one; an answer no mapping covers is an error")
    list_separators: dict[str, Annotated[str, Field(min_length=1)]] = Field(
        default_factory=dict, description="per-field separator overrides")


class RosterFile(RosterSettings):
    """A roster file with mappings of its own (they add to, and override, those for every roster)."""

    path: str = Field(description="CSV, or Excel as `file.xlsx#Sheet`")


ROLE_KEYS: dict[str, str] = {"mentor": "mentors", "mentee": "mentees", "participant": "participants"}


class Rosters(RosterSettings):
    mentors: str | RosterFile | None = Field(
        None, description="mentor roster: CSV, or Excel as `file.xlsx#Sheet`; or {path: ..., columns: ..., "
        "types: ..., ranks: ..., values: ..., list_separators: ...} with mappings for this roster only")
    mentees: str | RosterFile | None = Field(None, description="mentee roster (a path, or a path with mappings)")
    participants: str | RosterFile | None = Field(
        None, description="one roster for everyone (peer programmes, or with role_column)")
    role_column: str | None = Field(None, description="heading telling mentors from mentees in `participants`")
    roles: dict[Literal["mentor", "mentee"], list[str]] = Field(
        default_factory=_default_roles,
        description="values of role_column meaning mentor / mentee (case-insensitive)")
    list_separator: str = Field(";", min_length=1, description="separator of list fields (languages, skills…)")

    @model_validator(mode="after")
    def _some_roster(self) -> Rosters:
        if not (self.mentors or self.mentees or self.participants):
            raise ValueError("name at least one roster: mentors and mentees, or participants")
        if self.role_column and not self.participants:
            raise ValueError("role_column needs a `participants` roster holding both roles")
        return self

    def separator_for(self, field: str) -> str:
        return self.list_separators.get(field, self.list_separator)

    def file_of(self, role: str) -> str | None:
        """The file (`path#Sheet`) of a role's roster: mentor, mentee or participant."""
        value = getattr(self, ROLE_KEYS[role])
        return value.path if isinstance(value, RosterFile) else value

    def settings_for(self, role: str) -> RosterSettings:
        """The mappings that apply to a role's roster: those for every roster, then the role's own on top."""
        own = getattr(self, ROLE_KEYS[role])
        if not isinstance(own, RosterFile):
            return RosterSettings(columns=self.columns, types=self.types, ranks=self.ranks, values=self.values,
                                  list_separators=self.list_separators)
        return RosterSettings(columns={**self.columns, **own.columns}, types={**self.types, **own.types},
                              ranks={**self.ranks, **own.ranks}, values={**self.values, **own.values},
                              list_separators={**self.list_separators, **own.list_separators})

    def own_columns(self, role: str) -> set[str]:
        """Fields mapped under this role's own `columns:` (they must be found in its file)."""
        own = getattr(self, ROLE_KEYS[role])
        return set(own.columns) if isinstance(own, RosterFile) else set()


class ScoringTerm(StrictModel):
    name: str = Field(description="short name, shown in matches.csv and explanations")
    expr: str = Field(description="expression over mentor.<field> and mentee.<field>; true=1, false=0")
    weight: float = Field(1.0, ge=-limits.MAX_WEIGHT, le=limits.MAX_WEIGHT,
                          description="multiplies the expression's value")
    explain: str | None = Field(None, description="sentence for packs, e.g. 'you share skills'")


class MaxPerMentor(StrictModel):
    field: str = Field(description="mentee field, e.g. department")
    max: int = Field(ge=1, le=limits.MAX_CAPACITY,
                     description="at most this many of one mentor's mentees share a value of the field")


class MinShare(StrictModel):
    name: str = Field(description="name shown in the summary")
    expr: str = Field(description="pair expression, e.g. mentor.location != mentee.location")
    share: float = Field(ge=0, le=1, description="minimum share of matched pairs satisfying expr (0-1)")


class Constraints(StrictModel):
    max_per_mentor: list[MaxPerMentor] = Field(default_factory=list, description="diversity within a mentor's group")
    min_share: list[MinShare] = Field(default_factory=list, description="minimum share of pairs satisfying an expression")


class Matching(StrictModel):
    mentor_capacity: int = Field(2, ge=1, le=limits.MAX_CAPACITY,
                                 description="mentees per mentor; a roster column `capacity` overrides it")
    capacity_column: str = Field("capacity", description="roster field holding each mentor's own capacity")
    mentors_per_mentee: int = Field(1, ge=1, le=limits.MAX_CAPACITY,
                                    description="how many mentors each mentee gets; a mentee roster "
                                    "column `mentors_wanted` overrides it per mentee")
    mentors_wanted_column: str = Field("mentors_wanted", description="mentee field holding how many mentors each "
                                       "mentee wants (empty: mentors_per_mentee)")
    min_group_size: int | None = Field(None, ge=1, le=limits.MAX_CAPACITY,
                                       description="group programmes: a mentor leads no group or at least this many")
    eligibility: list[str] = Field(default_factory=list, description="rules every pair must satisfy")
    scoring: list[ScoringTerm] = Field(default_factory=list, description="weighted terms summed into a pair's score")
    objective: Objective = Field(Objective.COVERAGE_THEN_SCORE, description="coverage_then_score | score | fair")
    min_score: float | None = Field(None, ge=-limits.MAX_WEIGHT, le=limits.MAX_WEIGHT,
                                    description="pairs scoring below this are not allowed")
    balance: float = Field(0, ge=0, le=limits.MAX_WEIGHT, description="spread mentees across mentors: a mentor's 2nd, 3rd … mentee "
                           "costs 1, 2 … × balance score points, so a mentee goes to a less-loaded mentor unless "
                           "the busier one scores more than that much better (0 = off; coverage comes first)")
    pinned: str | None = Field(None, description="CSV of pairs that must be matched (mentor_id, mentee_id)")
    forbidden: str | None = Field(None, description="CSV of pairs that must never be matched")
    history: list[str] = Field(default_factory=list, description="CSVs of earlier cohorts' pairs not to repeat")
    constraints: Constraints = Field(default_factory=Constraints, description="side constraints (solved with CP-SAT)")
    candidates_per_mentee: int = Field(40, ge=1, le=limits.MAX_CANDIDATES, description="best candidates kept per mentee before the optimality proof")
    candidates_per_mentor: int = Field(0, ge=0, le=limits.MAX_CANDIDATES, description="best mentees kept per mentor too (keeps coverage when popular mentors are scarce)")
    time_limit_seconds: float = Field(60, gt=0, le=limits.MAX_TIME_LIMIT_SECONDS,
                                      description="CP-SAT time limit (side constraints only)")
    seed: int = Field(0, ge=0, le=limits.MAX_SEED, description="solver random seed")

    @field_validator("history", mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value


class Session(StrictModel):
    title: str = Field(description="what the session is")
    start: datetime = Field(description="when it starts (YYYY-MM-DD HH:MM, in the programme's time zone)")
    duration_minutes: int = Field(60, gt=0, le=limits.MAX_SESSION_MINUTES, description="how long")
    location: str | None = Field(None, description="room or address")
    url: str | None = Field(None, description="video-call link")
    audience: Audience = Field(Audience.EVERYONE, description="mentors | mentees | everyone")

    _one_line = field_validator("title", "location")(_one_line)
    _link = field_validator("url")(_check_link)
    _start_moment = field_validator("start")(_check_moment)


class TrainingReminders(StrictModel):
    enabled: bool = Field(True, description="remind attendees of each training session")
    days_before: int = Field(2, ge=0, le=365, description="how many days before the session")
    template: str = Field("training.md.j2", description="template of the reminder")

    _template = field_validator("template")(check_template_name)


class Schedule(StrictModel):
    kickoff: Session | None = Field(None, description="the first meeting; sent as a calendar invitation with packs")
    training: list[Session] = Field(default_factory=list, description="onboarding and training sessions")
    training_reminders: TrainingReminders = Field(default_factory=TrainingReminders,
                                                  description="automatic reminders before training sessions")

    @model_validator(mode="after")
    def _kickoff_for_everyone(self) -> Schedule:
        if self.kickoff is not None and self.kickoff.audience is not Audience.EVERYONE:
            raise ValueError("the kick-off is for everyone (its invitation goes with every welcome pack); "
                             "`audience` applies to training sessions: remove it from schedule.kickoff")
        return self


class Resource(StrictModel):
    title: str
    url: str
    description: str | None = None

    _one_line = field_validator("title")(_one_line)
    _link = field_validator("url")(_check_link)


class Expectations(StrictModel):
    mentors: list[str] = Field(default_factory=list, description="what is expected of mentors")
    mentees: list[str] = Field(default_factory=list, description="what is expected of mentees")


class Onboarding(StrictModel):
    expectations: Expectations = Field(default_factory=Expectations, description="role expectations in the packs")
    resources: list[Resource] = Field(default_factory=list, description="links included in every pack")
    profile_fields: list[str] | None = Field(
        None,
        description="fields a participant sees of the people they are matched with (packs, emails, reminders), "
        "besides name and email; default: the fields non-private scoring terms read, never ids or lists of people",
    )
    show_goals: bool = Field(False, description="list the programme's goals (KPI targets) in participant packs")


class Reminder(StrictModel):
    id: str = Field(description="unique name; the ledger records each occurrence under it")
    every: Duration | None = Field(None, description="repeat from the start date until the end: 1w, 2w, 10d")
    at: str | None = Field(None, description="once: `week 13` or a date YYYY-MM-DD")
    cron: str | None = Field(None, description="cron expression in the programme's time zone, e.g. '0 9 * * MON'")
    time: str = Field("09:00", description="time of day for every/at reminders (HH:MM)")
    to: Audience = Field(description="mentors | mentees | pairs | everyone | coordinator")
    template: str = Field(description="template file name, e.g. checkin.md.j2")
    when_inactive_for: Duration | None = Field(None, description="only pairs with no logged session for this long")
    escalate_after: Duration | None = Field(
        None, description="with when_inactive_for: pairs inactive this long are listed in the coordinator's "
        "digest (digest.escalated)")
    after_match: Duration | None = Field(None, description="once per pair, this long after it started, e.g. 10d")
    before_end: Duration | None = Field(None, description="once per pair, this long before its planned end, e.g. 14d")
    after_first_session: Duration | None = Field(
        None, description="once per pair, this long after its first logged session (e.g. 1d: a pairing-fit check)")
    unless: Literal["session"] | None = Field(
        None, description="`session`: skip pairs that have logged a session since they started")

    _durations = field_validator("every", "when_inactive_for", "escalate_after")(_check_duration)
    _offsets = field_validator("after_match", "before_end", "after_first_session")(_check_offset)
    _template = field_validator("template")(check_template_name)

    @property
    def pair_event(self) -> bool:
        """Triggered per pair by its relationship (after_match, before_end, after_first_session)."""
        return bool(self.after_match or self.before_end or self.after_first_session)

    @model_validator(mode="after")
    def _one_trigger(self) -> Reminder:
        triggers = ("every", "at", "cron", "after_match", "before_end", "after_first_session")
        given = [k for k in triggers if getattr(self, k)]
        if len(given) != 1:
            raise ValueError(f"reminder '{self.id}' needs exactly one of {', '.join(triggers)} "
                             f"(has {given or 'none'})")
        if self.pair_event and self.to not in (Audience.PAIRS, Audience.MENTORS, Audience.MENTEES):
            raise ValueError(f"reminder '{self.id}' is sent per pair ({given[0]}): `to` must be pairs, mentors "
                             "or mentees")
        if self.escalate_after and not self.when_inactive_for:
            raise ValueError(f"reminder '{self.id}': escalate_after needs when_inactive_for")
        if not re.fullmatch(r"\d{1,2}:\d{2}", self.time):
            raise ValueError(f"time '{self.time}' is not HH:MM")
        if self.at and not re.fullmatch(r"(?i)week\s+\d{1,4}|\d{4}-\d{2}-\d{2}", self.at.strip()):
            raise ValueError(f"at '{self.at}' must be 'week N' or a date YYYY-MM-DD")
        if self.at and re.fullmatch(r"\d{4}-\d{2}-\d{2}", self.at.strip()):
            try:
                day = date.fromisoformat(self.at.strip())
            except ValueError:
                raise ValueError(f"at '{self.at}' is not a date that exists; write YYYY-MM-DD") from None
            _check_day(day)
        if re.fullmatch(r"(?i)week\s+0+", (self.at or "").strip()):
            raise ValueError(f"at '{self.at}': weeks count from 1 (week 1 starts on the start date)")
        if self.cron:
            check_cron(self.cron)
        return self


def count_occurrences(reminder: Reminder, start: date, end: date) -> int:
    """How many times an `every` or `cron` reminder fires from `start` to `end`, counted up to one more
    than `limits.MAX_REMINDER_OCCURRENCES` (enough to tell it is too many)."""
    if reminder.every:
        step = parse_duration(reminder.every)
        return int((end - start) / step) if step > timedelta(0) else 0
    if not reminder.cron:
        return 1
    from croniter import CroniterBadDateError, croniter

    iterator = croniter(reminder.cron, datetime.combine(start, datetime.min.time()))
    stop = datetime.combine(end, datetime.min.time())
    count = 0
    try:
        while count <= limits.MAX_REMINDER_OCCURRENCES and iterator.get_next(datetime) < stop:
            count += 1
    except (CroniterBadDateError, ValueError, OverflowError):
        pass
    return count


def check_cron(expression: str) -> None:
    """A cron expression of five fields (minute hour day month weekday) that fires at least once."""
    from croniter import CroniterBadDateError, croniter

    fields = expression.split()
    if len(fields) != 5:
        extra = "; mentorctl has no seconds or years field" if len(fields) in (6, 7) else ""
        raise ValueError(f"cron '{expression}' is not a cron expression of five fields (minute hour day month "
                         f"weekday, e.g. '0 9 * * MON'): it has {len(fields)}{extra}")
    if not croniter.is_valid(expression):
        raise ValueError(f"cron '{expression}' is not a cron expression (e.g. '0 9 * * MON')")
    try:
        croniter(expression, datetime(2000, 1, 1)).get_next(datetime)
    except (CroniterBadDateError, ValueError, OverflowError):
        raise ValueError(f"cron '{expression}' never fires (e.g. 30 February); check the day and month "
                         "fields") from None


class SmtpSettings(StrictModel):
    host: str = Field(description="SMTP server")
    port: int = Field(587, ge=1, le=65535, description="587 for starttls, 465 for ssl, 25 for none")
    security: Literal["starttls", "ssl", "none"] = Field("starttls", description="starttls | ssl | none")
    username_env: str | None = Field(None, description="NAME of the environment variable holding the user name")
    password_env: str | None = Field(None, description="NAME of the environment variable holding the password")
    per_minute: int = Field(60, ge=1, le=100_000, description="rate limit: messages per minute")
    timeout_seconds: float = Field(30, gt=0, le=3600, description="network timeout")


class Email(StrictModel):
    from_: str = Field(alias="from", description='sender, e.g. "Mentoring Team <mentoring@example.org>"')
    reply_to: str | None = Field(None, description="where replies go")
    smtp: SmtpSettings | None = Field(None, description="server used by --send")
    subject_prefix: str | None = Field(None, description="prepended to every subject, e.g. [Mentoring]")

    _one_line = field_validator("from_", "reply_to", "subject_prefix")(_one_line)


class ActivitySource(StrictModel):
    path: str = Field(description="CSV or Excel export of activity")
    columns: dict[str, str] = Field(default_factory=dict, description="mentorctl field: heading in the export")
    events: dict[str, str | list[str]] = Field(
        default_factory=dict, description="mentorctl event: the export's own event name (or a list of names)")
    dayfirst: bool = Field(False, description="dates are written day first (31/01/2026)")
    date_format: str | None = Field(None, description="strftime format of the timestamp, when not ISO")

    _date_format = field_validator("date_format")(_check_date_format)


class HrExtract(StrictModel):
    path: str = Field(description="CSV/Excel: employee_id, left_on, promoted_on, any breakdown fields")
    columns: dict[str, str] = Field(default_factory=dict, description="field: heading in the extract")
    dayfirst: bool = False


class SurveyExport(StrictModel):
    path: str = Field(description="CSV/Excel: participant_id, satisfaction (1-5), recommend (0-10), pairing_fit "
                      "(good fit / still deciding / not a fit: flags the pair for follow-up); optional partner "
                      "(the other person's id, email or name) and submitted (date or date-time), which tie an "
                      "answer to a pair")
    columns: dict[str, str] = Field(default_factory=dict, description="field: heading in the export")
    dayfirst: bool = Field(False, description="submitted dates are written day first (31/01/2026)")
    date_format: str | None = Field(None, description="strftime format of submitted, when not ISO")

    _date_format = field_validator("date_format")(_check_date_format)


class Reporting(StrictModel):
    report_by: list[str] = Field(default_factory=list, description="roster fields to break results down by")
    activity: list[ActivitySource] = Field(default_factory=list, description="activity-log exports")
    hr_extract: HrExtract | None = Field(None, description="HR outcomes for retention and promotion")
    survey: SurveyExport | None = Field(None, description="survey export")
    min_group_size: int = Field(5, ge=1, le=1_000_000, description="breakdown groups smaller than this are shown as '<N'")
    active_window_days: int = Field(30, ge=1, le=limits.MAX_DURATION_DAYS,
                                    description="active = any activity in this many final days")

    @field_validator("activity", mode="before")
    @classmethod
    def _paths_as_sources(cls, value: Any) -> Any:
        if isinstance(value, str | dict):
            value = [value]
        return [{"path": v} if isinstance(v, str) else v for v in value]


class SelfMatchingMode(StrEnum):
    MENTEE_PREFERS = "mentee-prefers"
    REQUEST = "request"


class SendOrder(StrEnum):
    ALL = "all"
    IN_ORDER = "in_order"


class ChoiceExport(StrictModel):
    path: str = Field(description="CSV or Excel (`file.xlsx#Sheet`) export of the mentees' choice form")
    mentee: str = Field("mentee", description="heading of the column with the mentee's id or email")
    picks: list[str] | str = Field(
        default_factory=lambda: ["choice 1", "choice 2", "choice 3"],
        description="headings of the ranked picks (first choice first), or one heading whose cells list the "
                    "picks separated by `;`; a pick is a mentor's id, email or name")
    submitted: str | None = Field(None, description="heading of the timestamp column: when a mentee answered "
                                                    "twice, the later row counts")


class AnswerExport(StrictModel):
    path: str = Field(description="CSV or Excel export of the mentors' answer form")
    mentor: str = Field("mentor", description="heading of the column with the mentor's id or email")
    mentee: str = Field("mentee", description="heading of the column with the mentee's id, email or name")
    answer: str = Field("answer", description="heading of the accept / decline column (yes/no, accept/decline)")
    submitted: str | None = Field(None, description="heading of the timestamp column (answers count in that "
                                                    "order, and an answer after expiry is refused)")
    request: str | None = Field(None, description="heading of the column with the request reference from the "
                                                  "request email (e.g. E1:M1); the answer then applies to that "
                                                  "request only")


class MentorRankings(StrictModel):
    path: str = Field(description="CSV or Excel: each mentor's ranking of mentees (two-sided preferences)")
    mentor: str = Field("mentor", description="heading of the column with the mentor's id or email")
    picks: list[str] | str = Field(
        default_factory=lambda: ["choice 1", "choice 2", "choice 3"],
        description="headings of the ranked mentees, or one heading listing them separated by `;`")


class RequestSettings(StrictModel):
    send: SendOrder = Field(SendOrder.ALL, description="all: every pick is requested at once; in_order: one at "
                                                       "a time, the next pick when the previous one declines "
                                                       "or expires")
    max_pending_per_mentor: int = Field(5, ge=1, description="requests a mentor has open at once; more wait")
    max_pending_per_mentee: int = Field(3, ge=1, description="requests a mentee has open at once")
    remind_after_days: int = Field(7, ge=1, description="remind a mentor of an unanswered request after this")
    expire_after_days: int = Field(14, ge=1, description="an unanswered request expires after this")

    @model_validator(mode="after")
    def _order(self) -> RequestSettings:
        if self.remind_after_days >= self.expire_after_days:
            raise ValueError(f"remind_after_days ({self.remind_after_days}) must be less than expire_after_days "
                             f"({self.expire_after_days})")
        return self


class SelfMatching(StrictModel):
    mode: SelfMatchingMode = Field(SelfMatchingMode.MENTEE_PREFERS,
                                   description="mentee-prefers: `match` honours ranked picks; request: mentees "
                                               "request mentors, who accept or decline (`mentorctl requests`)")
    size: int = Field(5, ge=1, le=50, description="mentors on each mentee's shortlist")
    exposure: float = Field(2.0, ge=1, le=100, description="a mentor appears on at most exposure × remaining "
                                                            "capacity shortlists (no flooding)")
    max_picks: int = Field(3, ge=1, le=20, description="ranked picks a mentee may make from the shortlist")
    form_url: str | None = Field(None, description="link to the choice form, shown in the shortlist email")
    reply_to: str | None = Field(None, description="address mentees reply to with their picks (when no form)")
    answer_form_url: str | None = Field(None, description="request mode: link to the mentors' accept / decline "
                                                          "form, shown in each request email")
    deadline_days: int | None = Field(None, ge=1, description="days mentees have to choose (shown in the email)")
    unknown_pick: Literal["warning", "error"] = Field(
        "warning", description="a pick not on the mentee's shortlist or of an ineligible mentor: warning "
                               "(ignored) or error (exit 2)")
    choices: ChoiceExport | None = Field(None, description="the mentees' choice form export")
    answers: AnswerExport | None = Field(None, description="request mode: the mentors' answer form export")
    mentor_rankings: MentorRankings | None = Field(None, description="mentors' rankings of mentees (two-sided)")
    stable: bool = Field(False, description="with mentor_rankings: find a stable matching (deferred "
                                            "acceptance) instead of the rank-maximal one")
    requests: RequestSettings = Field(default_factory=RequestSettings, description="request mode settings")


class Programme(StrictModel):
    """A whole mentoring programme, as written in programme.yaml."""

    programme: ProgrammeInfo = Field(description="name, organisation, time zone, coordinator")
    purpose: str = Field("", description="why the programme exists, in a sentence or two")
    goals: list[Goal] = Field(default_factory=list, description="goals, each with a KPI and a numeric target")
    design: Design = Field(description="type, dates, enrolment, eligibility")
    rosters: Rosters = Field(description="where the people are, and how their columns map to fields")
    matching: Matching = Field(default_factory=Matching, description="rules, scores, capacity, objective")
    schedule: Schedule = Field(default_factory=Schedule, description="kick-off and training sessions")
    onboarding: Onboarding = Field(default_factory=Onboarding, description="expectations and resources for packs")
    reminders: list[Reminder] = Field(default_factory=list, description="reminders sent by `mentorctl remind`")
    email: Email | None = Field(None, description="sender and SMTP server (secrets via environment variables)")
    reporting: Reporting = Field(default_factory=Reporting, description="activity logs and breakdowns for reports")
    self_matching: SelfMatching | None = Field(None, description="shortlists, mentees' choices and requests "
                                                                 "(`mentorctl shortlist`, `requests`)")
    private: list[str] = Field(default_factory=list,
                               description="fields usable by rules and reports, never shown in packs or emails")

    _path: Path = PrivateAttr(default=Path(PROGRAMME_FILE))

    @model_validator(mode="after")
    def _consistent(self) -> Programme:
        ids = [r.id for r in self.reminders]
        duplicates = sorted({i for i in ids if ids.count(i) > 1})
        if duplicates:
            raise ValueError(f"reminder ids must be unique: {', '.join(duplicates)}")
        inactive = [r.id for r in self.reminders if r.when_inactive_for]
        if inactive and not self.reporting.activity:
            raise ValueError(f"reminder(s) {', '.join(inactive)} use when_inactive_for, which reads sessions from "
                             "an activity log: name one under reporting.activity, or remove when_inactive_for")
        sessions = [r.id for r in self.reminders if r.after_first_session or r.unless]
        if sessions and not self.reporting.activity:
            raise ValueError(f"reminder(s) {', '.join(sessions)} use after_first_session or unless: session, "
                             "which read sessions from an activity log: name one under reporting.activity")
        if self.design.type is MentoringType.PEER and not (self.rosters.participants or self.rosters.mentors):
            raise ValueError("a peer programme needs a `participants` roster")
        for reminder in self.reminders:
            if count_occurrences(reminder, self.design.start_date, self.design.end_date) > \
                    limits.MAX_REMINDER_OCCURRENCES:
                raise ValueError(f"reminder '{reminder.id}' would fire more than {limits.MAX_REMINDER_OCCURRENCES:,} "
                                 "times over the programme (mentorctl's limit per reminder); repeat it less often")
        return self

    @property
    def path(self) -> Path:
        return self._path

    @property
    def base_dir(self) -> Path:
        return self._path.parent

    @property
    def out_dir(self) -> Path:
        return self.base_dir / "out"

    @property
    def state_dir(self) -> Path:
        """Where mentorctl keeps its own state (ledger, lock)."""
        return self.base_dir / ".mentorctl"

    @property
    def tz(self):  # noqa: ANN201 - zoneinfo.ZoneInfo
        from zoneinfo import ZoneInfo

        return ZoneInfo(self.programme.timezone)

    @property
    def is_peer(self) -> bool:
        return self.design.type is MentoringType.PEER

    def resolve(self, relative: str | Path) -> Path:
        """A path from the YAML, relative to the programme folder (an Excel `#Sheet` suffix is kept)."""
        path = Path(relative).expanduser()
        return path if path.is_absolute() else self.base_dir / path


def find_programme_file(path: str | Path = ".") -> Path:
    """Accept a programme folder or its programme.yaml; return the YAML file's path."""
    candidate = Path(path)
    if candidate.is_dir():
        candidate = candidate / PROGRAMME_FILE
    if not candidate.exists():
        hint = "run `mentorctl init NAME` to create one, or pass the programme folder"
        raise ProgrammeError(f"no programme found at {candidate}; {hint}")
    return candidate


def load_programme(path: str | Path = ".") -> Programme:
    """Read and validate programme.yaml (safe_load); errors name the line and key and suggest fixes."""
    file = find_programme_file(path)
    try:
        if not file.is_file():
            raise ProgrammeError("is not a regular file; programme.yaml must be a text file",
                                 location=Location(str(file)))
        if file.stat().st_size > limits.MAX_PROGRAMME_BYTES:
            raise ProgrammeError(f"is larger than mentorctl's limit of {limits.MAX_PROGRAMME_BYTES // limits.MIB} "
                                 "MiB for programme.yaml; is it the right file?", location=Location(str(file)))
        text = file.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as e:
        raise ProgrammeError(f"cannot read it: {e}", location=Location(str(file))) from e
    try:
        data, lines = _read_yaml(text, file)
    except _ImpossibleDate as e:
        raise ProgrammeError(_impossible_date_message(text, e), location=Location(str(file))) from e
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        problem = getattr(e, "problem", None) or str(e)
        raise ProgrammeError(f"{where}not valid YAML ({problem}); check indentation and quoting there",
                             location=Location(str(file))) from e
    if not isinstance(data, dict):
        raise ProgrammeError("must be a YAML mapping (keys such as programme:, design:, rosters:)",
                             location=Location(str(file)))
    try:
        programme = Programme.model_validate(data)
    except ValidationError as e:
        raise ProgrammeError(f"{len(e.errors())} problem(s) in the programme definition",
                             location=Location(str(file)), details=_friendly_errors(e, lines)) from e
    programme._path = file.resolve()
    return programme


def _read_yaml(text: str, file: Path) -> tuple[Any, dict[tuple, int]]:
    """programme.yaml's data and the line of each key, once the text passed every check (`_check_yaml_shape`,
    duplicate keys, impossible dates, `_check_folded_rules`); parsed once, then composed once.

    Through libyaml when PyYAML has it (2 ms, against 80 ms for the pure-Python parser, on every command);
    a text it refuses, or that fails a check, is read again by the pure-Python parser, so every message is
    the one it has always given."""
    if _FastUniqueKeyLoader is not None:
        try:
            return _parse_yaml(text, file, yaml.CSafeLoader, _FastUniqueKeyLoader)
        except (yaml.YAMLError, ProgrammeError):
            pass
    return _parse_yaml(text, file, yaml.SafeLoader, _UniqueKeyLoader)


def _parse_yaml(text: str, file: Path, parser: Any, loader_class: Any) -> tuple[Any, dict[tuple, int]]:
    _check_yaml_shape(text, file, parser)
    loader = loader_class(text)
    try:
        root = loader.get_single_node()
        data = loader.construct_document(root) if root is not None else None
    finally:
        loader.dispose()
    lines = _key_lines(root)
    _check_folded_rules(root, text, file)
    return data, lines


def _check_yaml_shape(text: str, file: Path, parser: Any = yaml.SafeLoader) -> None:
    """Refuse, before anything is built, YAML that would explode or recurse: more alias uses than
    `limits.MAX_YAML_ALIASES`, more than `limits.MAX_YAML_VALUES` values once aliases are expanded (alias
    bombs), or nesting deeper than `limits.MAX_YAML_DEPTH`. The event parser is iterative and every count is
    a number, so this pass itself cannot recurse or grow."""
    aliases = 0
    sizes: dict[str, int] = {}           # anchor → values it expands to
    stack: list[list[Any]] = [[0, None]]  # per open collection: [values inside, anchor]

    def refuse(event: yaml.Event, what: str) -> ProgrammeError:
        line = f"line {event.start_mark.line + 1}: " if event.start_mark is not None else ""
        return ProgrammeError(f"{line}{what}", location=Location(str(file)))

    for event in yaml.parse(text, Loader=parser):
        if isinstance(event, yaml.AliasEvent):
            aliases += 1
            if aliases > limits.MAX_YAML_ALIASES:
                raise refuse(event, f"uses more than {limits.MAX_YAML_ALIASES} YAML aliases (*name), "
                             "mentorctl's limit for programme.yaml: write the values out")
            stack[-1][0] += sizes.get(event.anchor or "", 1)
        elif isinstance(event, yaml.ScalarEvent):
            stack[-1][0] += 1
            if event.anchor:
                sizes[event.anchor] = 1
        elif isinstance(event, yaml.CollectionStartEvent):
            stack.append([0, event.anchor])
            if len(stack) - 1 > limits.MAX_YAML_DEPTH:
                raise refuse(event, f"nested more than {limits.MAX_YAML_DEPTH} levels deep (mentorctl's limit "
                             "for programme.yaml); check the brackets and indentation there")
        elif isinstance(event, yaml.CollectionEndEvent):
            count, anchor = stack.pop()
            if anchor:
                sizes[anchor] = count + 1
            stack[-1][0] += count + 1
        if stack[-1][0] > limits.MAX_YAML_VALUES:
            raise refuse(event, f"expands to more than {limits.MAX_YAML_VALUES:,} values once its aliases "
                         "(*name) are filled in, mentorctl's limit for programme.yaml: write the values out")


_RULE_KEYS = {"eligibility", "scoring", "expr"}


def _check_folded_rules(root: yaml.Node | None, text: str, file: Path) -> None:
    """Refuse the common indentation slip under a rules list: with the first `- rule` less indented than the
    next ones, YAML folds the next `- rule` lines into the first rule's plain text (one rule
    'a == b - c >= d'), which often still parses as arithmetic. A rule spanning several lines with a
    continuation line that starts with '- ' is that slip."""
    source = text.splitlines()

    def walk(node: yaml.Node, rule: bool) -> None:
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                name = str(key.value)
                walk(value, rule or name in _RULE_KEYS or "rules" in name)
        elif isinstance(node, yaml.SequenceNode):
            for item in node.value:
                walk(item, rule)
        elif rule and isinstance(node, yaml.ScalarNode) and not node.style \
                and node.end_mark.line > node.start_mark.line:
            for number in range(node.start_mark.line + 1, min(node.end_mark.line + 1, len(source))):
                line = source[number].strip()
                if line == "-" or line.startswith("- "):
                    raise ProgrammeError(f"line {number + 1}: this line looks like a new list item but YAML folded "
                                         "it into the rule above; indent the '-' like the first rule",
                                         location=Location(str(file)))

    if root is not None:
        walk(root, False)


class _ImpossibleDate(yaml.YAMLError):
    """A plain scalar shaped like a YAML date (2027-18-01, 2027-02-30) that is no real day; PyYAML raises
    a bare ValueError for it while constructing, which would be a traceback."""

    def __init__(self, node: yaml.ScalarNode, reason: str):
        super().__init__(reason)
        self.node = node
        self.reason = reason


def _impossible_date_message(text: str, error: _ImpossibleDate) -> str:
    """'line N: design.start_date: '2027-18-01' is not a date (month must be in 1..12); write YYYY-MM-DD'."""
    mark = error.node.start_mark
    found: list[tuple] = []

    def walk(node: yaml.Node, prefix: tuple) -> None:
        if found:
            return
        if node.start_mark.index == mark.index and isinstance(node, yaml.ScalarNode):
            found.append(prefix)
        elif isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                walk(key, prefix)
                walk(value, (*prefix, key.value))
        elif isinstance(node, yaml.SequenceNode):
            for index, item in enumerate(node.value):
                walk(item, (*prefix, index))

    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError:
        root = None
    if root is not None:
        walk(root, ())
    key = ".".join(str(p) for p in found[0]) + ": " if found and found[0] else ""
    return (f"line {mark.line + 1}: {key}'{error.node.value}' is not a date ({error.reason}); "
            "write YYYY-MM-DD")


class _UniqueKeys(yaml.constructor.SafeConstructor):
    """A SafeConstructor that refuses a key given twice in one mapping (the second would silently win), and
    turns an impossible date into a clear error instead of a traceback."""

    def construct_yaml_timestamp(self, node: yaml.ScalarNode) -> date | datetime:
        try:
            return super().construct_yaml_timestamp(node)
        except (ValueError, OverflowError) as e:
            raise _ImpossibleDate(node, str(e)) from e

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict:
        seen: dict[Any, int] = {}
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                raise yaml.constructor.ConstructorError(
                    None, None, "YAML merge keys (<<) are not supported in programme.yaml; write the keys out",
                    key_node.start_mark)
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"'{key}' is given twice (first on line {seen[key]}); the second would silently "
                    "replace the first: merge them", key_node.start_mark)
            seen[key] = key_node.start_mark.line + 1
        return super().construct_mapping(node, deep=deep)


class _UniqueKeyLoader(_UniqueKeys, yaml.SafeLoader):
    """yaml.SafeLoader with `_UniqueKeys`."""


def _timestamp(loader: _UniqueKeyLoader, node: yaml.ScalarNode) -> date | datetime:
    return loader.construct_yaml_timestamp(node)


_UniqueKeyLoader.add_constructor("tag:yaml.org,2002:timestamp", _timestamp)

_FastUniqueKeyLoader: Any = None
if getattr(yaml, "__with_libyaml__", False):
    class _FastUniqueKeyLoader(_UniqueKeys, yaml.CSafeLoader):  # type: ignore[no-redef]
        """yaml.CSafeLoader (libyaml's parser) with `_UniqueKeys`."""

    _FastUniqueKeyLoader.add_constructor("tag:yaml.org,2002:timestamp", _timestamp)


def programme_warnings(programme: Programme) -> list[str]:
    """Things that are allowed but probably a mistake."""
    warnings = []
    last_day = programme.design.end_date - timedelta(days=1)
    for session in programme.schedule.training:
        if session.start.date() > last_day:
            warnings.append(f"training '{session.title}' on {session.start.date()} is after the programme's last day "
                            f"({last_day}); its reminder will not be sent")
    for reminder in programme.reminders:
        week = re.fullmatch(r"(?i)week\s+(\d+)", (reminder.at or "").strip())
        on_date = re.fullmatch(r"\d{4}-\d{2}-\d{2}", (reminder.at or "").strip())
        if on_date and not programme.design.start_date <= date.fromisoformat(on_date.group(0)) <= last_day:
            warnings.append(f"reminder '{reminder.id}' is on {on_date.group(0)}, outside the programme "
                            f"({programme.design.start_date} to {last_day}); it will never be sent")
        if week and int(week.group(1)) > programme.design.length_weeks:
            warnings.append(f"reminder '{reminder.id}' is at week {week.group(1)} but the programme lasts "
                            f"{programme.design.length_weeks} weeks; it will never be sent")
    for goal in programme.goals:
        if goal.target is None:
            warnings.append(f"goal '{goal.name}' has no numeric target, so the report cannot say whether it is met")
        if goal.kpi is None:
            warnings.append(f"goal '{goal.name}' names no KPI")
        elif goal.kpi.split(".")[0] not in KPI_NAMES:
            close = difflib.get_close_matches(goal.kpi, KPI_NAMES, n=1)
            hint = f"did you mean '{close[0]}'? " if close else ""
            warnings.append(f"goal '{goal.name}' names an unknown KPI '{goal.kpi}'; {hint}"
                            f"KPIs: {', '.join(KPI_NAMES)}")
    return warnings


def _key_lines(root: yaml.Node | None) -> dict[tuple, int]:
    """Map each key path in the YAML (its composed root node) to its 1-based line number, for error
    messages."""
    lines: dict[tuple, int] = {}

    def walk(node: yaml.Node, prefix: tuple) -> None:
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                path = (*prefix, key.value)
                lines[path] = key.start_mark.line + 1
                walk(value, path)
        elif isinstance(node, yaml.SequenceNode):
            for index, item in enumerate(node.value):
                lines[(*prefix, index)] = item.start_mark.line + 1
                walk(item, (*prefix, index))

    if root is not None:
        walk(root, ())
    return lines


_SECRET_KEYS = {"password", "username", "user", "pass", "secret", "token"}


def _model_at(loc: tuple) -> type[BaseModel] | None:
    """The model class that owns the key at `loc` (for did-you-mean suggestions)."""
    model: Any = Programme
    for part in loc[:-1]:
        if isinstance(part, int) or model is None:
            continue
        field = model.model_fields.get(part) or next(
            (f for f in model.model_fields.values() if f.alias == part), None)
        if field is None:
            return None
        model = _inner_model(field.annotation)
    return model


def _inner_model(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in getattr(annotation, "__args__", ()) or ():
        found = _inner_model(arg)
        if found:
            return found
    return None


def _friendly_errors(error: ValidationError, lines: dict[tuple, int]) -> list[str]:
    messages = []
    for item in error.errors():
        loc = tuple(item["loc"])
        dotted = ".".join(str(p) for p in loc) or "(top level)"
        line = lines.get(loc) or lines.get(loc[:-1])
        where = f"line {line}: " if line else ""
        kind = item["type"]
        if kind == "extra_forbidden":
            key = str(loc[-1])
            model = _model_at(loc)
            names = [f.alias or n for n, f in model.model_fields.items()] if model else []
            close = difflib.get_close_matches(key, names, n=1, cutoff=0.6)
            text = f"{where}{dotted}: unknown key"
            if key.lower() in _SECRET_KEYS:
                text += "; secrets never go in programme.yaml: name an environment variable with username_env/password_env"
            elif close:
                text += f"; did you mean '{close[0]}'?"
            elif names:
                text += f"; expected one of: {', '.join(sorted(names))}"
        elif kind == "missing":
            text = f"{where}{dotted}: required but missing"
        elif kind == "finite_number":
            text = f"{where}{dotted}: {item.get('input')!r} is not a finite number; write an ordinary number"
        elif kind == "int_parsing_size":
            text = f"{where}{dotted}: {item.get('input')!r} is far too large; see the limit in the reference"
        elif kind in ("float_parsing", "int_parsing", "float_type", "int_type"):
            got = item.get("input")
            percent = " (a rate is written 0-1: 60% is 0.6)" if isinstance(got, str) and got.strip().endswith("%") else ""
            text = f"{where}{dotted}: {got!r} is not a number{percent}"
        elif kind.startswith(("date_", "datetime_")):
            text = (f"{where}{dotted}: {item.get('input')!r} is not a date; write YYYY-MM-DD"
                    f"{' HH:MM' if kind.startswith('datetime') else ''}")
        elif kind == "string_type" and isinstance(item.get("input"), dict) and any(
                str(p) in ("eligibility", "expr", "mentors", "mentees") for p in loc):
            text = (f"{where}{dotted}: YAML read this rule as a mapping because it contains ': '; "
                    "put the whole rule in quotes")
        else:
            msg = item["msg"].removeprefix("Value error, ")
            got = item.get("input")
            shown = f" (got {got!r})" if got is not None and not isinstance(got, dict | list) \
                and str(got) not in msg else ""
            text = f"{where}{dotted}: {msg}{shown}"
        messages.append(text)
    return messages
