"""Activity logs, HR extracts and survey exports: read, map to mentorctl's schema, clean, report bad rows.

mentorctl's own event schema (one row per event):

    timestamp, event, mentor_id, mentee_id, duration_minutes, rating, item_id

`event` is one of EVENTS. Another tool's export is mapped onto it with `columns:` (field: heading in the
export), `events:` (mentorctl event: the export's own name, or a list of names), `dayfirst:` and
`date_format:` under `reporting.activity` in programme.yaml. Rows that cannot be read are never silently
dropped: each is returned in a `problems` frame with file, row (1-based, header = row 1), column, value and
what is wrong, and counted in the report.

This module imports pandas at import time; import it only from inside functions or CLI command bodies.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, tzinfo
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from mentorctl import tables
from mentorctl.errors import ActivityError, Finding, Location
from mentorctl.limits import DATE_RANGE, EARLIEST_DATE, LATEST_DATE
from mentorctl.programme import ActivitySource, Programme
from mentorctl.tables import (
    EXCEL_SUFFIXES,
    REFUSED_SUFFIXES,
    TableError,
    normalise_heading,
    read_table,
)

if TYPE_CHECKING:
    from mentorctl.references import Resolution
    from mentorctl.roster import Participants

EVENTS: tuple[str, ...] = (
    "session", "message", "goal_set", "goal_achieved", "assignment_created", "assignment_completed",
    "survey_response", "training_attended",
)
ACTIVITY_COLUMNS: tuple[str, ...] = (
    "timestamp", "event", "mentor_id", "mentee_id", "duration_minutes", "rating", "item_id",
)
PROBLEM_COLUMNS: tuple[str, ...] = ("file", "row", "column", "value", "problem")
HR_FIELDS: tuple[str, ...] = ("employee_id", "left_on", "promoted_on")
SURVEY_FIELDS: tuple[str, ...] = ("participant_id", "satisfaction", "recommend", "pairing_fit", "partner", "submitted")
SURVEY_PAIR_FIELDS: tuple[str, ...] = ("partner", "submitted")
"""Optional survey columns that tie an answer to a pair (relationships.py): in the frame only when the export has them."""

MAX_SESSION_MINUTES = 1440
"""A session longer than a day is taken to be a typing or export error (e.g. seconds in a minutes column)."""
RATING_SCALE = (1, 5)
_AWARE = r"(?:[Zz]|[+-]\d{2}:?\d{2})$"


@dataclass(frozen=True)
class ActivityLog:
    """Cleaned events plus everything needed to say what was not used and why."""

    frame: pd.DataFrame
    """ACTIVITY_COLUMNS (timestamp tz-aware in the programme's zone, event categorical, ids str, numbers
    float) plus `_source` and `_row` (where each event came from), sorted by timestamp."""
    problems: pd.DataFrame
    """One row per problem: file, row, column, value, problem. A row may have several problems."""
    sources: tuple[str, ...] = ()
    rows_read: int = 0
    duplicates: int = 0
    """Events found in more than one source file (overlapping exports): each is counted once."""
    notes: tuple[str, ...] = ()
    """How the files were read, worth a look (e.g. a file that is not UTF-8, read as Windows-1252)."""

    @property
    def bad_rows(self) -> int:
        """How many source rows could not be used (each counted once however many problems it has)."""
        return _bad_rows(self.problems)


@dataclass(frozen=True)
class Table:
    """A cleaned HR extract or survey export."""

    frame: pd.DataFrame
    problems: pd.DataFrame
    source: str
    rows_read: int = 0
    extra_fields: tuple[str, ...] = field(default_factory=tuple)
    notes: tuple[str, ...] = ()
    """How the file was read, worth a look (not UTF-8, a title row skipped): one line each, naming the file."""
    warnings: tuple[Finding, ...] = ()
    """Row warnings on rows that are kept (each naming file, row and column): for the survey, a `submitted`
    date that cannot be read or a `partner` who matches nobody, so the answer cannot be tied to a pair."""

    @property
    def bad_rows(self) -> int:
        return _bad_rows(self.problems)


def _bad_rows(problems: pd.DataFrame) -> int:
    if problems.empty:
        return 0
    return int(problems[["file", "row"]].drop_duplicates().shape[0])


# ---------------------------------------------------------------------------------------------------------
# public API


def read_activity(programme: Programme, paths: Sequence[str | Path] | None = None,
                  participants: Participants | None = None) -> pd.DataFrame:
    """The programme's cleaned activity events as a DataFrame (see `ActivityLog.frame`).

    `paths` overrides the files named under `reporting.activity`. No sources at all gives an empty frame
    with the schema's columns. Unreadable rows are left out here; `load_activity` returns them too.
    """
    return load_activity(programme, paths, participants).frame


def load_activity(programme: Programme, paths: Sequence[str | Path] | None = None,
                  participants: Participants | None = None) -> ActivityLog:
    """Read every activity source, map it to mentorctl's schema and clean it. With `participants`, mentor_id
    and mentee_id hold the rosters' own ids for people written by id or name in any case (see
    `resolve_people`); references that match nobody are left as written."""
    sources = activity_sources(programme, paths)
    frames, problems, names, rows_read, notes = [], [], [], 0, []
    for index, source in enumerate(sources):
        label = _yaml_label(programme, source, index if not paths else None)
        frame, found, name, count = _read_activity_source(programme, source, label, _inherited(programme, source,
                                                                                                label, paths))
        notes += frame.attrs.pop(_NOTES, [])
        frames.append(frame)
        problems.append(found)
        names.append(name)
        rows_read += count
    frame = pd.concat(frames, ignore_index=True) if frames else _empty_activity()
    if frames and len(frames) > 1:
        frame["_source"] = frame["_source"].astype("category")
    duplicates = 0
    if len(frames) > 1 and len(frame):
        # the same event in two exports (overlapping date ranges) is counted once
        key = list(ACTIVITY_COLUMNS)
        first_source = frame.groupby(key, observed=True, dropna=False, sort=False)["_source"].transform("first")
        copied = (frame["_source"] != first_source).to_numpy()
        duplicates = int(copied.sum())
        frame = frame[~copied]
    frame = frame.sort_values("timestamp", kind="stable").reset_index(drop=True)
    if participants is not None:
        resolve_people(frame, {"mentor_id": "mentor", "mentee_id": "mentee"}, participants)
    problem_frame = _concat_problems(problems)
    return ActivityLog(frame=frame, problems=problem_frame, sources=tuple(names), rows_read=rows_read,
                       duplicates=duplicates, notes=tuple(notes))


def activity_sources(programme: Programme, paths: Sequence[str | Path] | None = None) -> list[ActivitySource]:
    """The sources to read: the YAML's, or `paths` (each inheriting the YAML mapping of the source with the
    same file name, or of the only YAML source when there is just one)."""
    configured = list(programme.reporting.activity)
    if not paths:
        return configured
    by_name = {Path(s.path.split("#")[0]).name: s for s in configured}
    chosen = []
    for path in paths:
        text = str(path)
        template = by_name.get(Path(text.split("#")[0]).name) or (configured[0] if len(configured) == 1 else None)
        if template is None:
            chosen.append(ActivitySource(path=text))
        else:
            chosen.append(template.model_copy(update={"path": text}))
    return chosen


def _inherited(programme: Programme, source: ActivitySource, label: str, paths: Sequence[str | Path] | None) -> str:
    """For a file given with --activity that takes the settings of a YAML entry for another file: which one, so
    that a hint naming `reporting.activity[0].dayfirst` says where that setting is."""
    if not paths or not label.endswith("]"):
        return ""
    entry = programme.reporting.activity[int(label.rpartition("[")[2][:-1])]
    given, configured = Path(source.path.split("#")[0]).name, Path(entry.path.split("#")[0]).name
    if given == configured:
        return ""
    return f" (--activity {given} takes the settings of {label}, the entry for {configured})"


def _yaml_label(programme: Programme, source: ActivitySource, index: int | None) -> str:
    """Where this source's settings live in programme.yaml, for messages: `reporting.activity[N]`."""
    configured = list(programme.reporting.activity)
    if index is None:
        name = Path(source.path.split("#")[0]).name
        matches = [i for i, s in enumerate(configured) if Path(s.path.split("#")[0]).name == name]
        index = matches[0] if matches else (0 if len(configured) == 1 else None)
    return f"reporting.activity[{index}]" if index is not None else "reporting.activity (an entry for this file)"


def read_hr_extract(programme: Programme, path: str | Path | None = None,
                    participants: Participants | None = None) -> Table | None:
    """The HR extract (employee_id, left_on, promoted_on, other fields), or None when there is none. With
    `participants`, employee_id holds the rosters' own ids (found by id or name, ignoring case)."""
    config = programme.reporting.hr_extract
    export = _read_export(programme, config, path, HR_FIELDS, "employee_id", "reporting.hr_extract.columns")
    if export is None:
        return None
    raw, name, rows, mapped, extra = export
    dayfirst = bool(config.dayfirst) if config else False
    problems: list[pd.DataFrame] = []
    mapped = {k: (v if k in ("left_on", "promoted_on") else _text(v)) for k, v in mapped.items()}
    out = pd.DataFrame({"employee_id": _clean_id(mapped["employee_id"])})
    problems.append(_problems(name, rows, "employee_id", mapped["employee_id"], out["employee_id"].isna(),
                              "no employee_id"))
    date_problem = ("not a day-first date such as 31/01/2026 (`dayfirst: true` is set)" if dayfirst else
                    "not a date such as 2026-01-31: write YYYY-MM-DD, or set "
                    "`reporting.hr_extract.dayfirst: true` in programme.yaml")
    for column in ("left_on", "promoted_on"):
        text = mapped[column]
        given = _text(text) != ""
        parsed = parse_timestamps(text, programme.tz, dayfirst=dayfirst)
        problems.append(_problems(name, rows, column, text, given & parsed.isna(), date_problem))
        out[column] = parsed.dt.normalize()
    dup = out["employee_id"].notna() & out["employee_id"].duplicated(keep="first")
    problems.append(_problems(name, rows, "employee_id", mapped["employee_id"], dup,
                              "employee_id repeated; the first row is used"))
    return _export_table(raw, name, rows, mapped, extra, out, problems, "employee_id", participants)


def read_survey(programme: Programme, path: str | Path | None = None,
                participants: Participants | None = None) -> Table | None:
    """The survey export (participant_id, satisfaction 1-5, recommend 0-10, pairing_fit: the answer to the
    fit check after a first session, as text), or None when there is none. With
    `participants`, participant_id holds the rosters' own ids (found by id, email or name, ignoring case).

    When the export has them, `partner` (the other person of the pair the answer is about: the roster's id
    with `participants`, else as written; None when empty) and `submitted` (tz-aware, NaT when empty or
    unreadable) tie each answer to a pair (`relationships.survey_flags`). An unreadable date and, with
    `participants`, a partner who matches nobody are row warnings (`Table.warnings`); the row is kept, since
    its satisfaction and recommend still count for the programme's KPIs."""
    config = programme.reporting.survey
    export = _read_export(programme, config, path, SURVEY_FIELDS, "participant_id", "reporting.survey.columns")
    if export is None:
        return None
    raw, name, rows, mapped, extra = export
    columns = dict(config.columns) if config else {}
    if not any(_has_column(raw, columns, f) for f in ("satisfaction", "recommend", "pairing_fit")):
        raise ActivityError(
            f"has no satisfaction, recommend or pairing_fit column (headings: {_headings(raw)}); "
            "map yours under reporting.survey.columns", location=Location(name))
    headings = {f: _find_column(raw, columns.get(f, f)) or _find_column(raw, f) for f in SURVEY_PAIR_FIELDS}
    submitted = mapped["submitted"]       # as read: a workbook's date cells stay dates
    problems: list[pd.DataFrame] = []
    mapped = {k: _text(v) for k, v in mapped.items()}
    out = pd.DataFrame({"participant_id": _clean_id(mapped["participant_id"])})
    problems.append(_problems(name, rows, "participant_id", mapped["participant_id"],
                              out["participant_id"].isna(), "no participant_id"))
    for column, low, high in (("satisfaction", 1, 5), ("recommend", 0, 10)):
        text = mapped[column]
        value = _numbers(text)
        bad = (text != "") & (value.isna() | (value < low) | (value > high))
        problems.append(_problems(name, rows, column, text, bad, f"must be a number from {low} to {high}"))
        out[column] = value.astype("float64")
    out["pairing_fit"] = mapped["pairing_fit"]   # the fit check's answer, as given (relationships.py reads it)
    bad_dates: dict[int, str] = {}
    if headings["partner"] is not None:
        out["partner"] = _clean_id(mapped["partner"])
    if headings["submitted"] is not None:
        dayfirst, date_format = (config.dayfirst, config.date_format) if config else (False, None)
        out["submitted"] = parse_timestamps(submitted, programme.tz, dayfirst=dayfirst, date_format=date_format)
        bad = (mapped["submitted"] != "") & out["submitted"].isna()
        bad_dates = dict(zip(rows[bad].astype(int), mapped["submitted"][bad], strict=True))
    table = _export_table(raw, name, rows, mapped, extra, out, problems, "participant_id", participants)
    warnings = _survey_pair_warnings(table, headings, bad_dates, participants, config)
    return replace(table, warnings=tuple(warnings)) if warnings else table


def _survey_pair_warnings(table: Table, headings: Mapping[str, str | None], bad_dates: Mapping[int, str],
                          participants: Participants | None, config: Any) -> list[Finding]:
    """Row warnings on the survey's kept rows: an unreadable `submitted` date; with `participants`, a
    `partner` who matches nobody (resolved to roster ids in place, with did-you-mean)."""
    frame, source = table.frame, table.source
    has_partner = headings["partner"] is not None
    unknown: dict[str, Resolution] = {}
    if has_partner and participants is not None:
        unknown = resolve_people(frame, {"partner": None}, participants).get("partner", {})
    partner_of = dict(zip(frame["_row"].astype(int), frame["partner"], strict=True)) if has_partner else {}
    if config is not None and config.date_format:
        wanted = f"not a date in reporting.survey.date_format ('{config.date_format}')"
    elif config is not None and config.dayfirst:
        wanted = "not a day-first date such as 31/01/2026 (reporting.survey.dayfirst is set)"
    else:
        wanted = ("not a date such as 2026-01-31: write YYYY-MM-DD, or set reporting.survey.dayfirst: true "
                  "(or date_format) in programme.yaml")
    found: list[Finding] = []
    for row in frame["_row"].astype(int):
        if row in bad_dates:
            named = partner_of.get(row)
            named = named if isinstance(named, str) and named not in unknown else None
            effect = ("the answer is tied to its pair by the partner column only" if named else
                      "the answer cannot be tied to a pair, so it is not used for follow-ups")
            found.append(Finding("warning", f"'{bad_dates[row]}' is {wanted}; {effect}",
                                 Location(source, row, headings["submitted"])))
        partner = partner_of.get(row)
        if isinstance(partner, str) and partner in unknown:
            found.append(Finding(
                "warning", f"{unknown[partner].describe('person on the rosters')}: the answer is not applied to "
                "any pair's follow-ups; write the partner's id, email or name", Location(source, row,
                                                                                          headings["partner"])))
    return found


def _read_export(programme: Programme, config: Any, path: str | Path | None, fields: tuple[str, ...],
                 required: str, hint: str
                 ) -> tuple[pd.DataFrame, str, pd.Series, dict[str, pd.Series], list[str]] | None:
    """The HR extract or survey file (`path`, else the one programme.yaml names; None when neither) read and
    mapped onto `fields`: (raw cells, display name, row numbers, each field's column, the other fields)."""
    if path is not None:
        location = str(path)
    elif config is not None:
        location = config.path
    else:
        return None
    raw, name, rows = _read_table(programme.resolve(location))
    mapped, extra = _map_columns(raw, dict(config.columns) if config else {}, fields, required=(required,),
                                 source=name, hint=hint)
    return raw, name, rows, mapped, extra


def _export_table(raw: pd.DataFrame, name: str, rows: pd.Series, mapped: dict[str, pd.Series], extra: list[str],
                  out: pd.DataFrame, problems: list[pd.DataFrame], id_column: str,
                  participants: Participants | None) -> Table:
    """The cleaned columns `out` with the other fields and row numbers, less every row with a problem; with
    `participants`, `id_column` holds the rosters' own ids."""
    for column in extra:
        out[column] = mapped[column]
    out["_row"] = rows
    found = _concat_problems(problems)
    keep = ~out["_row"].isin(set(found["row"].tolist()))
    if participants is not None:
        resolve_people(out, {id_column: None}, participants)
    return Table(frame=out[keep].reset_index(drop=True), problems=found, source=name, rows_read=len(out),
                 extra_fields=tuple(extra), notes=tuple(raw.attrs.get(_NOTES, [])))


def resolve_people(frame: pd.DataFrame, columns: Mapping[str, str | None], participants: Participants
                   ) -> dict[str, dict[str, Resolution]]:
    """Replace each reference in `columns` (column → role, None for anyone) by the roster's own id, in place;
    each distinct value is resolved once (references.py). Returns the unresolved ones per column."""
    unresolved: dict[str, dict[str, Resolution]] = {}
    for column, role in columns.items():
        if column not in frame.columns or frame.empty:
            continue
        values = frame[column]
        resolved = {v: participants.resolve(v, role) for v in values.dropna().unique() if str(v).strip()}
        mapping = {v: r.id for v, r in resolved.items() if r.ok and r.id != v}
        if mapping:
            mapped = values.map(mapping)
            frame[column] = mapped.where(mapped.notna(), values)
        unresolved[column] = {str(v): r for v, r in resolved.items() if not r.ok}
    return unresolved


def check_references(programme: Programme, participants: Participants) -> list[Finding]:
    """For `validate`: people named in activity logs and the survey who match nobody on the rosters — one
    warning per file and column, with did-you-mean (their rows are not counted in reports); and the survey's
    row warnings on its partner and submitted columns (those answers are not tied to a pair)."""
    from mentorctl.errors import MentorctlError
    from mentorctl.references import summarise

    findings: list[Finding] = []
    wanted: list[tuple[str, dict[str, str | None]]] = []
    if programme.reporting.activity:
        wanted.append(("activity", {"mentor_id": "mentor", "mentee_id": "mentee"}))
    # the HR extract is not checked: it normally covers every employee (the comparison group), not only these
    if programme.reporting.survey:
        wanted.append(("survey", {"participant_id": None}))
    for what, columns in wanted:
        try:
            table: ActivityLog | Table | None = (load_activity(programme) if what == "activity"
                                                 else read_survey(programme, participants=participants))
        except MentorctlError as error:
            findings.append(Finding("warning", f"cannot check who the {what} names: {error.plain_message}",
                                    error.location))
            continue
        if table is None:
            continue
        if isinstance(table, Table):
            findings += table.warnings      # the survey's partner and submitted columns
        default_source = table.source if isinstance(table, Table) else ""
        frame = table.frame
        for column, role in columns.items():
            if column not in frame.columns:
                continue
            sources = frame["_source"].astype(str) if "_source" in frame.columns else None
            for source in (sorted(set(sources)) if sources is not None else [default_source]):
                part = frame if sources is None else frame[sources == source]
                unknown = resolve_people(part.copy(), {column: role}, participants).get(column, {})
                if not unknown:
                    continue
                rows = {text: part.loc[part[column].astype(str) == text, "_row"].astype(int).tolist()
                        for text in unknown}
                who = role or "person on the rosters"
                findings.append(Finding(
                    "warning", f"{len(unknown)} {column} value(s) match nobody on the rosters, so their rows are "
                    f"not counted: {summarise(rows, unknown, who)}", Location(source, None, column)))
    return findings


def parse_timestamps(values: pd.Series, tz: tzinfo, *, dayfirst: bool = False,
                     date_format: str | None = None) -> pd.Series:
    """Parse date/time text (or Excel datetimes) into tz-aware timestamps in `tz`; NaT where unreadable.

    Naive times are taken as local times in `tz`; times with an offset (or Z) are converted. Without
    `date_format` or `dayfirst` the text must be ISO 8601 (2026-01-31 or 2026-01-31T09:30[:00][+01:00]).
    """
    if isinstance(values.dtype, pd.DatetimeTZDtype):
        return values.dt.tz_convert(tz).dt.as_unit("ns")
    if pd.api.types.is_datetime64_dtype(values.dtype):
        return _localize(values, tz)
    result = pd.Series(pd.NaT, index=values.index, dtype=pd.DatetimeTZDtype("ns", tz))
    if values.dtype == object and pd.api.types.infer_dtype(values, skipna=True) not in ("string", "empty"):
        native = values.map(lambda v: isinstance(v, datetime))
        if native.any():
            stamps = pd.to_datetime(values[native].tolist(), errors="coerce")
            parsed = pd.Series(stamps, index=values.index[native])
            result[native] = (parsed.dt.tz_convert(tz) if parsed.dt.tz is not None
                              else _localize(parsed, tz)).dt.as_unit("ns")
            values = values.where(~native, "")
    text = values.fillna("") if isinstance(values.dtype, pd.StringDtype) else _text(values)
    given = text != ""
    if not given.any():
        return result
    todo = text[given]
    if dayfirst and not date_format:
        # ISO dates (2026-02-03) stay year-month-day in a day-first file: never read as 2 March
        iso = todo.str.match(r"\s*\d{4}-\d{1,2}-\d{1,2}(?:[T ]|$)")
        if iso.any():
            result[todo.index[iso]] = parse_timestamps(todo[iso], tz)
            todo = todo[~iso]
            if todo.empty:
                return result
    parsed = _parse_text(todo, tz, dayfirst=dayfirst, date_format=date_format)
    missing = parsed.isna()
    if missing.any():
        again = todo[missing].str.strip()
        retry = "mixed" if dayfirst and not date_format else date_format
        parsed[missing] = _parse_text(again, tz, dayfirst=dayfirst, date_format=retry)
    result.loc[parsed.index] = parsed
    return result


# ---------------------------------------------------------------------------------------------------------
# activity sources


def _empty_activity() -> pd.DataFrame:
    return pd.DataFrame({
        "timestamp": pd.Series([], dtype=pd.DatetimeTZDtype("ns", "UTC")),
        "event": pd.Categorical([], categories=list(EVENTS)),
        "mentor_id": pd.Series([], dtype="str"),
        "mentee_id": pd.Series([], dtype="str"),
        "duration_minutes": pd.Series([], dtype="float64"),
        "rating": pd.Series([], dtype="float64"),
        "item_id": pd.Series([], dtype="str"),
        "_source": pd.Series([], dtype="str"),
        "_row": pd.Series([], dtype="int64"),
    })


def _event_lookup(events: Mapping[str, str | list[str]], source: str, label: str) -> dict[str, str]:
    lookup = {name.casefold(): name for name in EVENTS}
    for canonical, theirs in events.items():
        if canonical not in EVENTS:
            raise ActivityError(
                f"{label}.events: '{canonical}' is not a mentorctl event; "
                f"the keys are mentorctl's names ({', '.join(EVENTS)}) and the values your export's",
                location=Location(source))
        for name in [theirs] if isinstance(theirs, str) else list(theirs):
            lookup[str(name).strip().casefold()] = canonical
    return lookup


def _read_activity_source(programme: Programme, source: ActivitySource, label: str,
                          inherited: str = "") -> tuple[pd.DataFrame, pd.DataFrame, str, int]:
    raw, name, rows = _read_table(programme.resolve(source.path))
    for key in source.columns:
        if key not in ACTIVITY_COLUMNS:
            raise ActivityError(
                f"{label}.columns: '{key}' is not a mentorctl field; the keys are "
                f"{', '.join(ACTIVITY_COLUMNS)} and the values the headings in your export",
                location=Location(name))
    mapped, _ = _map_columns(raw, source.columns, ACTIVITY_COLUMNS, required=("timestamp", "event"),
                             source=name, hint=f"{label}.columns")
    lookup = _event_lookup(source.events, name, label)
    text = {f: _text(mapped[f]) for f in ACTIVITY_COLUMNS if f != "timestamp"}
    problems: list[pd.DataFrame] = []
    n = len(raw)

    stamp_raw = mapped["timestamp"]
    timestamp = parse_timestamps(stamp_raw, programme.tz, dayfirst=source.dayfirst,
                                 date_format=source.date_format)
    if raw.attrs.get(_WORKBOOK) and (source.date_format or source.dayfirst):
        # a workbook's date cells arrive as ISO text (tables.py): they are dates whatever the format says
        native = timestamp.isna() & _text(stamp_raw).str.fullmatch(_EXCEL_DATE)
        if native.any():
            timestamp[native] = parse_timestamps(_text(stamp_raw)[native], programme.tz)
    # the problem text is the same for every row (rows are grouped by it); the bad value is in `value`
    hint = (f"does not match `{label}.date_format: \"{source.date_format}\"` in programme.yaml"
            if source.date_format else
            "not a day-first date-time such as 31/01/2026 09:30 (`dayfirst: true` is set for this file)"
            if source.dayfirst else
            "not an ISO date-time such as 2026-01-31 09:30: set "
            f"`{label}.dayfirst: true` or `date_format` in programme.yaml{inherited}")
    if timestamp.isna().any():
        stamp_text = _text(stamp_raw)
        given = stamp_text != ""
        problems.append(_problems(name, rows, "timestamp", stamp_text, ~given, "no timestamp"))
        year = pd.to_numeric(stamp_text.str.extract(r"(?<!\d)(\d{4})(?!\d)", expand=False), errors="coerce")
        outside = given & timestamp.isna() & ((year < EARLIEST_DATE.year) | (year > LATEST_DATE.year))
        problems.append(_problems(name, rows, "timestamp", stamp_text, given & timestamp.isna() & ~outside, hint))
        problems.append(_problems(name, rows, "timestamp", stamp_text, outside,
                                  f"outside the dates mentorctl works with ({DATE_RANGE})"))

    event_text = text["event"]
    codes, uniques = pd.factorize(event_text)
    canonical = np.array([lookup.get(str(u).casefold(), "") for u in uniques] + [""], dtype=object)
    event = pd.Series(canonical[codes], index=raw.index, dtype=object)
    problems.append(_problems(name, rows, "event", event_text, event_text == "", "no event"))
    problems.append(_problems(
        name, rows, "event", event_text, (event_text != "") & (event == ""),
        "unknown event; map it to a mentorctl event under reporting.activity events: "
        f"({', '.join(EVENTS)})"))

    mentor_id, mentee_id = _clean_id(text["mentor_id"]), _clean_id(text["mentee_id"])
    problems.append(_problems(name, rows, "mentor_id", text["mentor_id"], mentor_id.isna() & mentee_id.isna(),
                              "neither mentor_id nor mentee_id is given"))

    duration = _minutes(text["duration_minutes"])
    given = text["duration_minutes"] != ""
    problems.append(_problems(name, rows, "duration_minutes", text["duration_minutes"],
                              given & duration.isna(), "not a duration in minutes (a number >= 0, or H:MM)"))
    problems.append(_problems(
        name, rows, "duration_minutes", text["duration_minutes"],
        given & ((duration < 0) | (duration > MAX_SESSION_MINUTES)),
        f"implausible duration: minutes must be from 0 to {MAX_SESSION_MINUTES} (one day)"))
    rating = _numbers(text["rating"])
    low, high = RATING_SCALE
    problems.append(_problems(name, rows, "rating", text["rating"],
                              (text["rating"] != "") & (rating.isna() | (rating < low) | (rating > high)),
                              f"rating must be a number from {low} to {high}"))
    found = _concat_problems(problems)

    frame = pd.DataFrame({
        "timestamp": timestamp,
        "event": pd.Categorical(event.where(event != "", None), categories=list(EVENTS)),
        "mentor_id": mentor_id,
        "mentee_id": mentee_id,
        "duration_minutes": duration,
        "rating": rating,
        "item_id": _clean_id(text["item_id"]),
        "_source": name,
        "_row": rows,
    })
    if not found.empty:
        bad = np.zeros(int(rows.max()) + 1, dtype=bool)  # by spreadsheet row (blank rows have numbers too)
        bad[found["row"].to_numpy(dtype=np.int64)] = True
        frame = frame[~bad[rows.to_numpy()]]
    frame.attrs[_NOTES] = list(raw.attrs.get(_NOTES, []))
    return frame, found, name, n


def _numbers(text: pd.Series) -> pd.Series:
    """Text to float64 (NaN where not a number), converting each distinct value once."""
    codes, uniques = pd.factorize(text)
    values = pd.to_numeric(pd.Series(uniques, dtype=object), errors="coerce").astype("float64").to_numpy()
    return pd.Series(np.append(values, np.nan)[codes], index=text.index)


def _minutes(text: pd.Series) -> pd.Series:
    """Minutes from numbers, or from H:MM / H:MM:SS text; NaN where neither."""
    minutes = _numbers(text)
    clock = minutes.isna() & text.str.contains(":", regex=False)
    if clock.any():
        padded = text[clock].where(text[clock].str.count(":") == 2, text[clock] + ":00")
        minutes[clock] = pd.to_timedelta(padded, errors="coerce").dt.total_seconds() / 60
    return minutes


# ---------------------------------------------------------------------------------------------------------
# tables


_EMPTY_FILE = "is empty (no header row, no data): export it again with its header row"


def _read_table(path: Path) -> tuple[pd.DataFrame, str, pd.Series]:
    """Read a CSV or Excel sheet (`file.xlsx#Sheet`) through tables.py; return its cells (text or None), a
    display name and the spreadsheet row numbers. How it was read (not UTF-8, a title row skipped) is kept in
    `frame.attrs` for the notes."""
    text = str(path)
    sheet: str | None = None
    if "#" in text and Path(text.split("#")[0]).suffix.lower() in EXCEL_SUFFIXES | REFUSED_SUFFIXES:
        text, sheet = text.split("#", 1)
    file = Path(text)
    name = file.name + (f"#{sheet}" if sheet else "")
    if not file.exists():
        raise ActivityError("file not found; check the path in programme.yaml or on the command line",
                            location=Location(str(file)))
    try:
        table = read_table(file, sheet, name)
    except TableError as e:
        raise ActivityError(e.plain_message, location=Location(name)) from e
    if not table.headings:
        raise ActivityError(_EMPTY_FILE, location=Location(name))
    frame = table.frame.loc[:, [bool(h) for h in table.headings]]  # a column without a heading is no field
    frame.attrs[_NOTES] = table.note_lines()
    frame.attrs[_WORKBOOK] = table.is_workbook
    return frame, name, pd.Series(table.rows, index=frame.index)


_NOTES = "mentorctl_notes"
_WORKBOOK = "mentorctl_workbook"
_EXCEL_DATE = r"\d{4}-\d{2}-\d{2}(?: \d{2}:\d{2}:\d{2})?"
"""How tables.py writes a workbook's date and date-time cells."""


def _headings(frame: pd.DataFrame) -> str:
    return ", ".join(str(c) for c in frame.columns) or "none"


def _find_column(frame: pd.DataFrame, wanted: str) -> str | None:
    if wanted in frame.columns:
        return wanted
    normal = normalise_heading(wanted)
    return next((c for c in frame.columns if normalise_heading(c) == normal), None)


def _has_column(frame: pd.DataFrame, columns: Mapping[str, str], field_name: str) -> bool:
    return (_find_column(frame, columns.get(field_name, field_name)) is not None
            or _find_column(frame, field_name) is not None)


def _map_columns(frame: pd.DataFrame, columns: Mapping[str, str], fields: Iterable[str], *,
                 required: Iterable[str], source: str, hint: str) -> tuple[dict[str, pd.Series], list[str]]:
    """Each schema field's column (empty text when absent), and the other columns' field names."""
    mapped: dict[str, pd.Series] = {}
    used: set[str] = set()
    for field_name in fields:
        heading = columns.get(field_name, field_name)
        found = _find_column(frame, heading) or _find_column(frame, field_name)
        if found is None:
            if field_name in required:
                raise ActivityError(
                    f"no column '{heading}' for {field_name} (headings: {_headings(frame)}); "
                    f"map the right heading under {hint}", location=Location(source))
            mapped[field_name] = pd.Series("", index=frame.index, dtype="str")
        else:
            mapped[field_name] = frame[found]
            used.add(found)
    extra = []
    for column in frame.columns:
        if column in used:
            continue
        name = tables.field_name(column)
        if name and name not in mapped:
            mapped[name] = frame[column]
            extra.append(name)
    return mapped, extra


def _text(values: pd.Series) -> pd.Series:
    """Values as stripped text, '' for empty cells (numbers from Excel lose a trailing .0).

    Works on the distinct values only (factorize, clean, take), so a million-row column of a few thousand
    ids costs a hash pass rather than a million Python calls.
    """
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    cleaned = np.array([_cell(u) for u in uniques] + [""], dtype=object)
    return pd.Series(cleaned[codes], index=values.index, dtype="str")


def _cell(value: object) -> str:
    if isinstance(value, float):
        if value != value:
            return ""
        return str(int(value)) if value.is_integer() else str(value)
    return str(value).strip()


def _clean_id(text: pd.Series) -> pd.Series:
    if not isinstance(text.dtype, pd.StringDtype):
        text = _text(text)
    return text.where(text != "", None)


def _problems(file: str, rows: pd.Series, column: str, values: pd.Series, mask: pd.Series,
              problem: str) -> pd.DataFrame:
    mask_array = np.asarray(mask, dtype=bool)
    if not mask_array.any():
        return pd.DataFrame(columns=list(PROBLEM_COLUMNS))
    return pd.DataFrame({
        "file": file,
        "row": rows.to_numpy()[mask_array],
        "column": column,
        "value": _text(values[mask_array]).to_numpy(),
        "problem": problem,
    })


def _concat_problems(frames: list[pd.DataFrame]) -> pd.DataFrame:
    frames = [f for f in frames if not f.empty]
    if not frames:
        return pd.DataFrame({"file": pd.Series([], dtype="str"), "row": pd.Series([], dtype="int64"),
                             "column": pd.Series([], dtype="str"), "value": pd.Series([], dtype="str"),
                             "problem": pd.Series([], dtype="str")})
    out = pd.concat(frames, ignore_index=True)
    out["row"] = out["row"].astype("int64")
    return out.sort_values(["file", "row"], kind="stable").reset_index(drop=True)


# ---------------------------------------------------------------------------------------------------------
# dates


def _localize(values: pd.Series, tz: tzinfo) -> pd.Series:
    """Attach the programme's zone to wall-clock times. A time in the repeated hour of a fall-back day
    (01:30 on the last Sunday of October in London) is its first occurrence, still summer time; a time in
    the skipped hour of a spring-forward day becomes the first time after the gap (01:30 becomes 02:00 in
    London)."""
    values = _in_range(values)
    first = np.ones(len(values), dtype=bool)  # True = the daylight-saving reading, i.e. the first of the two
    return values.dt.tz_localize(tz, ambiguous=first, nonexistent="shift_forward").dt.as_unit("ns")


def _in_range(values: pd.Series) -> pd.Series:
    """NaT for dates outside `limits.EARLIEST_DATE`..`LATEST_DATE` (pandas cannot hold year 1600 in ns)."""
    years = values.dt.year
    return values.where((years >= EARLIEST_DATE.year) & (years <= LATEST_DATE.year))


def _parse_text(text: pd.Series, tz: tzinfo, *, dayfirst: bool, date_format: str | None) -> pd.Series:
    fmt = date_format or (None if dayfirst else "ISO8601")
    try:
        parsed = pd.to_datetime(text, format=fmt, dayfirst=dayfirst, errors="coerce")
    except (ValueError, TypeError):
        aware = text.str.contains(_AWARE, regex=True)
        out = pd.Series(pd.NaT, index=text.index, dtype=pd.DatetimeTZDtype("ns", tz))
        if aware.all() or not aware.any():  # mixed no further: read the values one by one
            return pd.Series([_parse_one(v, tz, dayfirst, fmt) for v in text], index=text.index,
                             dtype=pd.DatetimeTZDtype("ns", tz))
        out[aware] = _parse_text(text[aware], tz, dayfirst=dayfirst, date_format=date_format)
        out[~aware] = _parse_text(text[~aware], tz, dayfirst=dayfirst, date_format=date_format)
        return out
    if parsed.dt.tz is not None:
        return _in_range(parsed).dt.tz_convert(tz).dt.as_unit("ns")
    return _localize(parsed, tz)


def _parse_one(value: str, tz: tzinfo, dayfirst: bool, fmt: str | None) -> Any:  # a Timestamp or NaT
    try:
        stamp = pd.Timestamp(pd.to_datetime(value, format=fmt, dayfirst=dayfirst))
    except (ValueError, TypeError, OverflowError):
        return pd.NaT
    if not EARLIEST_DATE.year <= stamp.year <= LATEST_DATE.year:
        return pd.NaT
    series = pd.Series([stamp])
    return (series.dt.tz_convert(tz) if stamp.tzinfo is not None else _localize(series, tz)).iloc[0]
