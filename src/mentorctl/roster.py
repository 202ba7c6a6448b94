"""Reading rosters (CSV or Excel) into DataFrames of participants, checking everything a coordinator can get
wrong and saying where: file, row and column."""

from __future__ import annotations

import re
from collections.abc import Hashable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from mentorctl import tables
from mentorctl.errors import Finding, Location, RosterError, shorten
from mentorctl.limits import MAX_CAPACITY
from mentorctl.programme import FieldType, Programme
from mentorctl.tables import Table, TableError, unique_headings

# re-exported under their old names: other modules read tables through these too
from mentorctl.tables import decode_text as decode_text
from mentorctl.tables import field_name as snake_case
from mentorctl.tables import normalise_heading as normalise_heading
from mentorctl.tables import sniff_delimiter as sniff_delimiter
from mentorctl.tables import split_sheet as split_sheet

if TYPE_CHECKING:
    import pandas as pd

    from mentorctl.references import Directory, Resolution

REQUIRED_FIELDS = ("id", "name")
ROW_COLUMN = "_row"
RawTable = tuple[list[str], list[list[Any]], list[int]]  # headings, rows of cells, spreadsheet row numbers

EXCEL_SUFFIXES = tables.EXCEL_SUFFIXES
_EMAIL = re.compile(r"^[^@\s<>(),;:\"]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9-]+)+$")
_EMAIL_LINES = re.compile(f"(?:{_EMAIL.pattern[1:-1]}\n)*{_EMAIL.pattern[1:-1]}")  # cells joined one a line
_INNER_SPACE = re.compile(r"[^\S\n]+")
_MAYBE_NUMBER = re.compile(r"[\s+\-.\u2212\d]")
_NUMBER = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")
_ALIASES = {
    "id": ["id", "participantid", "personid", "employeeid", "employeenumber", "staffid", "studentid"],
    "name": ["name", "fullname", "yourname", "participantname", "displayname"],
    "email": ["email", "emailaddress", "e-mail", "mail", "workemail", "emailaddr"],
}
_MAX_CELL_MESSAGES = 5
_TRUTH = {"true": True, "yes": True, "y": True, "1": True, "false": False, "no": False, "n": False, "0": False}


def records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """The rows of a frame as dicts keyed by column name (our frames' column names are always str)."""
    return cast("list[dict[str, Any]]", frame.to_dict("records"))


def row_at(frame: pd.DataFrame, label: Hashable) -> int:
    """The source row number (the `_row` column) of the row labelled `label`."""
    return int(cast(int, frame.at[label, ROW_COLUMN]))  # pandas-stubs types a cell as any scalar; _row is int



def is_email(value: Any) -> bool:
    return isinstance(value, str) and bool(_EMAIL.match(value.strip()))


@dataclass(frozen=True)
class Roster:
    """The people of one role, one row each; columns are field names (see docs/ARCHITECTURE.md)."""

    role: str
    source: str
    frame: pd.DataFrame
    types: dict[str, FieldType] = field(default_factory=dict)
    headings: dict[str, str] = field(default_factory=dict)
    """Each field's heading(s) in the source file, for messages."""

    @property
    def fields(self) -> list[str]:
        return [c for c in self.frame.columns if not str(c).startswith("_")]

    def cell(self, row: int, name: str) -> Location:
        """Where field `name` of the person on source row `row` is (the file, the row, the column heading)."""
        return Location(self.source, row, self.headings.get(name, name))

    def row_of(self, index: int) -> int:
        return int(self.frame[ROW_COLUMN].iloc[index])

    def __len__(self) -> int:
        return len(self.frame)


@dataclass(frozen=True)
class Participants:
    """Everyone in a programme: mentors and mentees (the same roster for peer programmes)."""

    programme: Programme
    mentors: Roster | None
    mentees: Roster | None
    participants: Roster | None = None
    warnings: list[Finding] = field(default_factory=list)
    _directories: dict = field(default_factory=dict, init=False, repr=False, compare=False)

    def directory(self, role: str | None = None) -> Directory:
        """Everyone of a role ("mentor", "mentee"; None: everyone), found by id or name (references.py)."""
        from mentorctl.references import Directory

        if role not in self._directories:
            rosters = self.rosters() if role is None else [r for r in (
                self.mentors if role == "mentor" else self.mentees,) if r is not None]
            self._directories[role] = Directory.of_frames([r.frame for r in rosters])
        return self._directories[role]

    def resolve(self, reference: Any, role: str | None = None) -> Resolution:
        """Who a reference in another file means: an id or a name, ignoring case and surrounding spaces."""
        return self.directory(role).resolve(reference)

    def rosters(self) -> list[Roster]:
        seen, out = set(), []
        for roster in (self.mentors, self.mentees, self.participants):
            if roster is not None and id(roster) not in seen:
                seen.add(id(roster))
                out.append(roster)
        return out


class FindingCollector:
    def __init__(self) -> None:
        self.findings: list[Finding] = []
        self.missing: dict[Path, str] = {}  # roster files not found: path → how programme.yaml names it
        self.closest: dict[tuple[str, str], list[str]] = {}  # (role, field) → headings a missing mapping may mean
        self.for_sending: set[int] = set()   # ids of the findings that are errors only for sending mail

    def error(self, message: str, file: str | None = None, row: int | None = None, column: str | None = None,
              *, full: str | None = None) -> None:
        self.findings.append(Finding("error", message, Location(file, row, column), full=full))

    def warning(self, message: str, file: str | None = None, row: int | None = None, column: str | None = None,
                *, full: str | None = None) -> None:
        self.findings.append(Finding("warning", message, Location(file, row, column), full=full))

    def sending_error(self, message: str, file: str | None = None, row: int | None = None,
                      column: str | None = None) -> None:
        """An error only for sending mail (a missing or invalid address under `require_email`): the rosters
        are still usable, so every other check still runs."""
        self.error(message, file, row, column)
        self.for_sending.add(id(self.findings[-1]))

    @property
    def has_errors(self) -> bool:
        return bool(self.missing) or any(f.level == "error" for f in self.findings)

    @property
    def has_blocking_errors(self) -> bool:
        """Errors that leave the rosters unusable (all but `sending_error`s)."""
        return bool(self.missing) or any(f.level == "error" and id(f) not in self.for_sending
                                         for f in self.findings)


def load_participants(programme: Programme, *, require_email: bool = False) -> Participants:
    """Read every roster of the programme; raise RosterError listing every error, keep warnings."""
    participants, findings = check_participants(programme, require_email=require_email)
    errors = [f for f in findings if f.level == "error"]
    if len(errors) == 1:  # one problem: one line
        raise RosterError(errors[0].message, location=errors[0].location)
    if errors or participants is None:
        raise RosterError(f"{len(errors)} problem(s) in the rosters; fix them and run again",
                          details=[str(f) for f in errors])
    return participants


def check_participants(programme: Programme, *, require_email: bool = False
                       ) -> tuple[Participants | None, list[Finding]]:
    """Read and check every roster; return the participants (None when unusable) and all findings."""
    out = FindingCollector()
    spec = programme.rosters
    mentors = mentees = everyone = None
    unfound: dict[str, dict[str, list[str]]] = {}  # role → mappings for every roster this file lacks
    if source := spec.file_of("participant"):
        everyone = _read_roster(programme, source, "participant", out, require_email,
                                unfound.setdefault("participant", {}))
        if everyone is not None and spec.role_column:
            mentors, mentees = _split_roles(programme, everyone, spec.role_column, out)
        elif everyone is not None and programme.is_peer:
            mentors = mentees = everyone
        elif everyone is not None:
            out.error("a `participants` roster in a non-peer programme needs `rosters.role_column` naming the "
                      "column that tells mentors from mentees", source)
    if mentor_file := spec.file_of("mentor"):
        mentors = _read_roster(programme, mentor_file, "mentor", out, require_email,
                               unfound.setdefault("mentor", {}))
    if mentee_file := spec.file_of("mentee"):
        mentees = _read_roster(programme, mentee_file, "mentee", out, require_email,
                               unfound.setdefault("mentee", {}))
    read = [r for r in (everyone, mentors, mentees) if r is not None]
    if read and len(read) == len([s for s in (spec.participants, spec.mentors, spec.mentees) if s]):
        _report_unfound(programme, unfound, out)
    if programme.is_peer and everyone is None:
        everyone = mentors or mentees
        mentors = mentees = everyone
    if not programme.is_peer:
        if mentors is None and not out.has_blocking_errors:
            out.error("no mentor roster: set `rosters.mentors` (or `participants` with `role_column`)",
                      str(programme.path.name))
        if mentees is None and not out.has_blocking_errors:
            out.error("no mentee roster: set `rosters.mentees` (or `participants` with `role_column`)",
                      str(programme.path.name))
        same_file = mentors is not None and mentees is not None and mentors.source == mentees.source \
            and not spec.role_column  # one extract for both sides, split by design.eligibility: deliberate
        if mentors is not None and mentees is not None and mentors is not mentees and not same_file:
            both = sorted(set(mentors.frame["id"]) & set(mentees.frame["id"]))
            if both:
                shown = ", ".join(both[:10]) + (" …" if len(both) > 10 else "")
                out.warning(f"{len(both)} person(s) are on both the mentor and the mentee roster: {shown}; "
                            "they may be matched as both (never with themselves)", mentees.source)
    if not out.has_blocking_errors and mentors is not None and mentees is not None:
        _resolve_reference_lists(programme, {"mentor": mentors, "mentee": mentees}, out)
    if out.missing:  # one line for every missing roster file
        out.findings.insert(0, Finding("error", missing_file_message(programme, list(out.missing)),
                                       Location(next(iter(out.missing.values())) if len(out.missing) == 1 else None)))
    out.findings = list(dict.fromkeys(out.findings))  # one extract read as both rosters: say each problem once
    if out.has_blocking_errors:
        return None, out.findings
    result = Participants(programme, mentors, mentees, everyone,
                          warnings=[f for f in out.findings if f.level == "warning"])
    return result, out.findings


def reference_lists(programme: Programme) -> dict[tuple[str, str], tuple[str, str]]:
    """List fields the rules read as lists of people: (side, field) → (the other side, `id` or `name`), from
    `preference(mentee.choices, mentor.id)` and `mentor.id in / not in mentee.not_wanted`."""
    import ast

    from mentorctl.errors import RuleError
    from mentorctl.rules import parse_rule

    matching = programme.matching
    texts = [*matching.eligibility, *(s.expr for s in matching.scoring),
             *(m.expr for m in matching.constraints.min_share)]
    found: dict[tuple[str, str], tuple[str, str]] = {}

    def field_of(node: ast.AST) -> tuple[str, str] | None:
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) \
                and node.value.id in ("mentor", "mentee"):
            return node.value.id, node.attr
        return None

    for text in texts:
        try:
            tree = parse_rule(text, "rule").tree
        except RuleError:
            continue  # validate reports it
        for node in ast.walk(tree):
            pairs = []
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "preference" \
                    and len(node.args) == 2:
                pairs.append((node.args[0], node.args[1]))
            if isinstance(node, ast.Compare) and len(node.ops) == 1 and isinstance(node.ops[0], ast.In | ast.NotIn):
                pairs.append((node.comparators[0], node.left))
            for list_node, item_node in pairs:
                owner, item = field_of(list_node), field_of(item_node)
                if owner and item and item[1] in ("id", "name") and owner[1] not in ("id", "name") \
                        and (owner[0] != item[0] or programme.is_peer):
                    found.setdefault(owner, item)
    return found


def _resolve_reference_lists(programme: Programme, rosters: dict[str, Roster], out: FindingCollector) -> None:
    """Items of preference / "not wanted" lists become the roster's own id (or name) of the person they mean:
    written by id or name, in any case and spacing. An item that matches nobody, or a name two people share,
    is a warning with did-you-mean (it counts for nobody)."""
    from mentorctl.references import Directory

    for (side, name), (other, attr) in reference_lists(programme).items():
        roster, target = rosters[side], rosters[other]
        if name not in roster.frame.columns:
            continue
        directory = Directory.of_frames([target.frame])
        name_of = dict(zip(target.frame["id"], target.frame["name"], strict=True)) if attr == "name" else {}
        separator = programme.rosters.separator_for(name)
        problems: dict[str, list[int]] = {}
        resolutions = {}
        cells = []
        for cell, row in zip(roster.frame[name].tolist(), roster.frame[ROW_COLUMN].tolist(), strict=True):
            items = split_list(cell, separator)
            if not items:
                cells.append(cell)
                continue
            resolved: list[str] = []
            for item in items:
                found = directory.resolve(item)
                if found.ok:
                    resolved.append(str(found.id) if attr == "id" else str(name_of.get(found.id) or item))
                else:
                    resolved.append(item)
                    problems.setdefault(found.text, []).append(int(row))
                    resolutions[found.text] = found
            cells.append(separator.join(r for r in resolved if r is not None))
        roster.frame[name] = cells
        who = "participant" if programme.is_peer else other
        heading = roster.headings.get(name, name)   # messages name the column as the file heads it
        for number, (text, rows) in enumerate(problems.items()):
            if number == 10:
                out.warning(f"… and {len(problems) - 10} more items of {name} that match no {who}",
                            roster.source, None, heading)
                break
            out.warning(f"{resolutions[text].describe(who)}{rows_text(rows)}: this item of {name} counts for "
                        "nobody; fix it in the roster", roster.source, rows[0], heading)


def _split_roles(programme: Programme, everyone: Roster, role_column: str, out: FindingCollector
                 ) -> tuple[Roster | None, Roster | None]:
    import pandas as pd

    column = snake_case(_mapped_field_for(programme, role_column))
    frame = everyone.frame
    if column not in frame.columns:
        out.error(f"role column '{role_column}' not found; fields found: "
                  f"{', '.join(everyone.fields)}", everyone.source)
        return None, None
    values = frame[column].map(lambda v: "" if pd.isna(v) else str(v).strip().lower())
    roles = {role: {v.strip().lower() for v in names} for role, names in programme.rosters.roles.items()}
    is_mentor = values.isin(roles.get("mentor", set()))
    is_mentee = values.isin(roles.get("mentee", set()))
    for index in frame.index[~(is_mentor | is_mentee)]:
        out.warning(f"role '{str(frame.at[index, column])}' is neither a mentor value "
                    f"({', '.join(sorted(roles.get('mentor', [])))}) nor a mentee value "
                    f"({', '.join(sorted(roles.get('mentee', [])))}); this person is left out "
                    "(set `rosters.roles`)", everyone.source, row_at(frame, index),
                    role_column)
    mentors = Roster("mentor", everyone.source, frame[is_mentor].reset_index(drop=True), everyone.types,
                     everyone.headings)
    mentees = Roster("mentee", everyone.source, frame[is_mentee].reset_index(drop=True), everyone.types,
                     everyone.headings)
    for roster in (mentors, mentees):
        if len(roster) == 0:
            out.error(f"no {roster.role}s: no row has a {roster.role} value in column "
                      f"'{role_column}' (values found: "
                      f"{', '.join(sorted(set(values) - {''}))[:200]}); set `rosters.roles`", everyone.source)
    return mentors, mentees


def _mapped_field_for(programme: Programme, heading: str) -> str:
    """The field a heading ends up as (respecting the columns: mapping)."""
    for name, source in programme.rosters.settings_for("participant").columns.items():
        how, sources, _ = _spec_of(source)
        if how == "one" and normalise_heading(sources[0]) == normalise_heading(heading):
            return name
    return heading


def _report_unfound(programme: Programme, unfound: dict[str, dict[str, list[str]]], out: FindingCollector) -> None:
    """A mapping for every roster that no roster has is an error (it would silently vanish); one that only some
    rosters have is fine (a mentor-only question)."""
    from mentorctl.programme import ROLE_KEYS

    roles = list(unfound)
    names = {n for role in roles for n in unfound[role]}
    for name in sorted(names):
        if not all(name in unfound[role] for role in roles):
            continue
        sources = unfound[roles[0]][name]
        files = [file for role in roles if (file := programme.rosters.file_of(role))]
        hints = []
        for role in roles:
            table_hint = out.closest.get((role, name))
            if table_hint:
                hints.append(f"did you mean {' or '.join(repr(c) for c in table_hint)} "
                             f"({ROLE_KEYS[role]})?")
        shown = " + ".join(repr(shorten(s)) for s in sources)
        out.error(f"rosters.columns.{name}: no heading {shown} in {' or '.join(dict.fromkeys(files))}; "
                  + (" ".join(hints) + " " if hints else "")
                  + "fix the heading, or map it under the roster that has it "
                  f"(rosters.mentors: {{path: ..., columns: {{{name}: ...}}}})", programme.path.name,
                  full=f"rosters.columns.{name}: no heading {' + '.join(map(repr, sources))} in "
                  f"{' or '.join(dict.fromkeys(files))}" + ("; " + " ".join(hints) if hints else ""))


def missing_file_message(programme: Programme, paths: list[Path]) -> str:
    """Roster file(s) not found, and what to do: the programme folder's README.md when it has one (it says where
    data kept outside the repository comes from), else check the path."""
    import os

    shown = [os.path.normpath(p) for p in paths]
    what = (f"file not found (looked at {shown[0]})" if len(shown) == 1 else
            f"{len(shown)} roster files not found (looked at {', '.join(shown)})")
    readme = programme.base_dir / "README.md"
    if readme.is_file():
        try:
            where = readme.relative_to(Path.cwd())
        except ValueError:
            where = readme
        return (f"{what}; {where} says where this data comes from and how to get it "
                "(or fix the path under `rosters:` in programme.yaml)")
    return f"{what}; check the path under `rosters:` in programme.yaml (paths are relative to the programme folder)"


def read_table(path: Path, sheet: str | None, source: str, out: FindingCollector) -> RawTable | None:
    """A table (tables.read_table) as (headings, rows of cells, spreadsheet row numbers), its notes and any
    error added to `out` as findings; None when it cannot be read."""
    table = read_roster_table(path, sheet, source, out)
    if table is None:
        return None
    cells = table.frame.to_numpy(dtype=object).tolist() if len(table.headings) else []
    return list(table.headings), cells, table.rows.tolist()


def read_roster_table(path: Path, sheet: str | None, source: str, out: FindingCollector) -> Table | None:
    """tables.read_table with its notes and error as findings (a roster's messages for a missing file)."""
    if not path.exists():
        out.error(f"file not found (looked at {path}); check the path under `rosters:` in programme.yaml "
                  "(paths are relative to the programme folder)", source)
        return None
    try:
        table = tables.read_table(path, sheet, source)
    except TableError as e:
        out.error(e.plain_message, source)
        return None
    out.findings.extend(table.notes)
    return table


_TICKED = {"1", "yes", "y", "true", "x", "✓", "✔", "☑", "ticked", "checked", "available", "on"}
_UNTICKED = {"0", "no", "n", "false", "-", "–", "none", "off", "unavailable", "not available", "unticked"}
@dataclass(frozen=True)
class _Column:
    """How one field is read from the table."""

    how: str                       # one | join | first_non_empty | list
    positions: tuple[int, ...]
    labels: tuple[str, ...] = ()   # list: the item each column stands for
    separator: str = " "


class _Headings:
    """A table's headings, found by name (case-, space-, underscore-insensitive). A heading that repeats (forms
    repeat a question in each section) is reached as written for its first copy and as `Heading_2`, `Heading_3`
    for the others."""

    def __init__(self, headings: list[str]) -> None:
        self.headings = headings
        self.lookup: dict[str, int] = {}
        self.display: list[str] = [u if h else "" for h, u in zip(headings, unique_headings(headings), strict=True)]
        counts: dict[str, int] = {}
        copies = []
        for index, heading in enumerate(headings):
            if not heading:
                continue
            norm = normalise_heading(heading)
            counts[norm] = counts.get(norm, 0) + 1
            if counts[norm] == 1:
                self.lookup.setdefault(norm, index)
            else:
                copies.append((f"{norm}{counts[norm]}", index))
        for key, index in copies:  # a real heading wins over a copy's name
            self.lookup.setdefault(key, index)
        self.repeated = {norm for norm, count in counts.items() if count > 1}

    def find(self, wanted: str) -> int | None:
        return self.lookup.get(normalise_heading(wanted))

    def closest(self, wanted: str) -> list[str]:
        """Headings a mistyped or shortened name probably means: similar spelling, or containing it."""
        import difflib

        names = [d for d in self.display if d]
        lowered = {n.lower(): n for n in names}
        key = " ".join(str(wanted).lower().split())
        close = difflib.get_close_matches(key, list(lowered), n=3, cutoff=0.6)
        contained = [n for n in lowered if key and (key in n or n in key) and n not in close][:3 - len(close)]
        return [lowered[c] for c in close + contained]

    def match(self, pattern: str) -> list[tuple[int, str]]:
        """Columns whose heading fits a pattern where `*` stands for any text (the item's label)."""
        parts = [r"\s+".join(re.escape(w) for w in piece.split()) for piece in pattern.split("*")]
        regex = re.compile(r"\s*" + r"\s*(.*?)\s*".join(parts) + r"\s*", re.IGNORECASE)
        found = []
        for index, heading in enumerate(self.headings):
            hit = regex.fullmatch(" ".join(str(heading).split())) if heading else None
            if hit:
                label = " ".join(g.strip() for g in hit.groups() if g and g.strip()) or heading
                found.append((index, label))
        return found

    def listing(self) -> str:
        return ", ".join(repr(shorten(h, 40)) for h in self.display if h) or "(none)"


def _spec_of(value: Any) -> tuple[str, list[str], str]:
    """A `columns:` entry as (how, headings, separator)."""
    from mentorctl.programme import ColumnSource

    if isinstance(value, ColumnSource):
        return value.how, value.headings, value.separator
    if isinstance(value, str):
        return "one", [value], " "
    return "join", list(value), " "


def _resolve_columns(programme: Programme, role: str, headings: list[str], source: str, out: FindingCollector,
                     unfound: dict[str, list[str]]) -> dict[str, _Column] | None:
    """Map each field name to the columns it is read from. Mappings for every roster that this file does not
    have are put in `unfound` (an error when no roster has them); a role's own mapping must be found."""
    from mentorctl.programme import ROLE_KEYS

    settings = programme.rosters.settings_for(role)
    own = programme.rosters.own_columns(role)
    index = _Headings(headings)
    fields: dict[str, _Column] = {}
    consumed: set[int] = set()
    ok = True
    for name, wanted in settings.columns.items():
        how, sources, separator = _spec_of(wanted)
        key = f"rosters.{ROLE_KEYS[role]}.columns.{name}" if name in own else f"rosters.columns.{name}"
        positions: list[int] = []
        labels: list[str] = []
        missing: list[str] = []
        for heading in sources:
            if how == "list" and "*" in heading:
                hits = index.match(heading)
                positions += [i for i, _ in hits]
                labels += [label for _, label in hits]
                missing += [] if hits else [heading]
                continue
            position = index.find(heading)
            if position is None:
                missing.append(heading)
            else:
                positions.append(position)
                labels.append(headings[position])
        if missing and (positions or name in own or programme.rosters.participants):
            for heading in missing:
                close = index.closest(heading.replace("*", ""))
                hint = f"did you mean {' or '.join(repr(c) for c in close)}? " if close else ""
                what = "no heading fits the pattern" if "*" in heading else "no heading"
                full = (f"{key}: {what} {heading!r} in this file; {hint}headings: "
                        f"{', '.join(repr(h) for h in index.display if h)}")
                out.error(f"{key}: {what} '{shorten(heading)}' in this file; {hint}"
                          f"headings: {index.listing()}", source, full=full)
            ok = False
            continue
        if missing:
            unfound.setdefault(name, sources)
            close = [c for s in missing for c in index.closest(s.replace("*", ""))][:3]
            if close:
                out.closest[(role, name)] = close
            continue
        fields[snake_case(name)] = _Column(how, tuple(positions), tuple(labels), separator)
        if how != "join":  # a heading joined into a combined field (e.g. a name) stays a field too
            consumed.update(positions)
    for position, heading in enumerate(headings):
        if not heading:
            continue
        canonical = next((c for c, aliases in _ALIASES.items()
                          if c not in fields and normalise_heading(heading) in aliases), None)
        if position in consumed:  # mapped to a field already; may still give id, name or email (`id: Name`)
            if canonical:
                fields[canonical] = _Column("one", (position,))
            continue
        name = canonical or snake_case(heading)
        if name in fields:
            name = _unique(name, fields)
        fields[name] = _Column("one", (position,))
    mapped_positions = {p for c in fields.values() if c.how != "one" for p in c.positions} | consumed
    for norm in sorted(index.repeated):
        copies = [i for i, h in enumerate(headings) if h and normalise_heading(h) == norm]
        if any(i in mapped_positions for i in copies):
            continue  # the coordinator mapped them
        names = [index.display[i] for i in copies]
        field_names = [n for n, c in fields.items() if c.how == "one" and c.positions[0] in copies]
        out.warning(f"heading '{shorten(headings[copies[0]])}' appears {len(copies)} times (a form section each?): "
                    f"read as fields {', '.join(field_names)}; to read one field from whichever copy is filled "
                    f"in, map it as {{first_non_empty: [{', '.join(repr(shorten(n, 30)) for n in names)}]}}",
                    source, full=f"heading {headings[copies[0]]!r} appears {len(copies)} times: read as fields "
                    f"{', '.join(field_names)}; map it as {{first_non_empty: [{', '.join(map(repr, names))}]}}")
    if "name" not in fields:
        first = next((index.find(k) for k in ("firstname", "givenname", "forename") if index.find(k) is not None),
                     None)
        last = next((index.find(k) for k in ("lastname", "surname", "familyname") if index.find(k) is not None),
                    None)
        if first is not None:
            fields["name"] = _Column("join", (first,) + ((last,) if last is not None else ()))
    for required in REQUIRED_FIELDS:
        if required not in fields and required not in unfound:
            hint = (f"add a column '{required}', or map one under `rosters.columns:` "
                    f"(e.g. {required}: \"Your Heading\")")
            out.error(f"missing required column '{required}': {hint}. Columns found: {index.listing()}", source)
            ok = False
        elif required not in fields:
            sources = unfound.pop(required)
            close = [c for s in sources for c in index.closest(s)][:3]
            hint = f"; did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
            out.error(f"missing required column '{required}': `rosters.columns` maps {required} to "
                      f"{' + '.join(repr(shorten(s)) for s in sources)}, which is not a heading here{hint} "
                      f"Columns found: {index.listing()}", source)
            ok = False
    return fields if ok else None


def _unique(name: str, taken: dict) -> str:
    number = 2
    while f"{name}_{number}" in taken:
        number += 1
    return f"{name}_{number}"


def _ticked(value: str | None, label: str) -> list[str]:
    """The items one grid cell gives: its column's label when ticked (1, yes, x, ✓, the label itself), none when
    empty or unticked (0, no), and `label option` for each option of a checkbox-grid cell ("Morning, Evening")."""
    if value is None:
        return []
    text = value.strip().lower()
    if text in _UNTICKED:
        return []
    if text in _TICKED or text == label.strip().lower():
        return [label]
    number = _numeric(text)
    if number is not None:
        return [label] if number else []
    separator = ";" if ";" in value else ","
    return [f"{label} {part.strip()}" for part in value.split(separator) if part.strip()]


def _combine(column: _Column, parts: tuple[str | None, ...], list_separator: str) -> str | None:
    """One field from the (clean) cells of the several columns it is read from."""
    if column.how == "first_non_empty":
        return next((p for p in parts if p), None)
    if column.how == "list":
        items = [item.replace(list_separator, " ") for part, label in zip(parts, column.labels, strict=True)
                 for item in _ticked(part, label)]
        return list_separator.join(dict.fromkeys(items)) or None
    joined = [p for p in parts if p]
    return column.separator.join(joined) if joined else None


def _read_roster(programme: Programme, spec: str, role: str, out: FindingCollector, require_email: bool,
                 unfound: dict[str, list[str]] | None = None) -> Roster | None:
    import numpy as np
    import pandas as pd

    relative, sheet = split_sheet(spec)
    path = programme.resolve(relative)
    if not path.exists():
        out.missing.setdefault(path, spec)  # reported together, once per file (see check_participants)
        return None
    table = read_roster_table(path, sheet, spec, out)
    if table is None:
        return None
    headings = list(table.headings)
    if not headings or not len(table):
        out.error("has no people in it (no data rows under the header); add at least one row", spec)
        return None
    fields = _resolve_columns(programme, role, headings, spec, out, {} if unfound is None else unfound)
    if fields is None:
        return None
    separator_for = programme.rosters.separator_for
    cells = [table.frame.iloc[:, i].to_numpy(dtype=object) for i in range(len(headings))]
    data: dict[str, pd.Series] = {}
    for name, column in fields.items():
        if column.how == "one":
            data[name] = pd.Series(cells[column.positions[0]].copy(), dtype=object)
        else:
            separator = separator_for(name)
            data[name] = pd.Series([_combine(column, parts, separator)
                                    for parts in zip(*(cells[p] for p in column.positions), strict=True)],
                                   dtype=object)
    data[ROW_COLUMN] = pd.Series(table.rows.astype(np.int64))
    frame = pd.DataFrame(data)  # built at once: a 168-column grid never makes pandas warn
    heading_of = {name: " + ".join(headings[p] for p in column.positions[:3])
                  + (f" + {len(column.positions) - 3} more" if len(column.positions) > 3 else "")
                  for name, column in fields.items()}
    settings = programme.rosters.settings_for(role)
    listed = {name for name, column in fields.items() if column.how == "list"}
    _normalise_lists(programme, settings, frame, listed)
    reported = _map_values(settings, frame, heading_of, spec, out, listed)
    types = _convert_types(programme, settings, frame, heading_of, spec, out, role, listed, reported)
    _add_ranks(settings, frame, heading_of, spec, out, types, reported)
    _check_ids(frame, spec, heading_of, out)
    _check_emails(frame, spec, heading_of, out, require_email)
    return Roster(role, spec, frame, types, heading_of)


def _is_list(settings: Any, name: str, listed: set[str]) -> bool:
    return name in listed or name in settings.list_separators or settings.types.get(name) is FieldType.LIST


def _normalise_lists(programme: Programme, settings: Any, frame: pd.DataFrame, listed: set[str]) -> None:
    """A roster's own list separator (`rosters.mentors.list_separators`) becomes the programme's for the field,
    so rules and packs split every roster's lists the same way."""
    for field_name, separator in settings.list_separators.items():
        name = snake_case(field_name)
        target = programme.rosters.separator_for(name)
        if name in frame.columns and name not in listed and separator != target:
            frame[name] = frame[name].map(lambda v, s=separator, t=target: v if v is None else t.join(
                item.strip() for item in str(v).split(s) if item.strip()) or None)


def rows_text(rows: list[int], shown: int = 8) -> str:
    """` (rows 3, 7 and 2 more)` for a value on several rows; empty for one (the location names its row)."""
    if len(rows) < 2:
        return ""
    text = ", ".join(str(r) for r in rows[:shown])
    return f" (rows {text}" + (f" and {len(rows) - shown} more)" if len(rows) > shown else ")")


def _map_values(settings: Any, frame: pd.DataFrame, heading_of: dict[str, str], source: str,
                out: FindingCollector, listed: set[str]) -> dict[str, set[str]]:
    """`rosters.values`: each answer becomes its value (case- and space-insensitive; items of list fields one by
    one). An answer no entry covers is an error, once per distinct answer with its rows; returns them per
    field (so ranks does not report them again)."""
    reported: dict[str, set[str]] = {}
    for field_name, mapping in settings.values.items():
        name = snake_case(field_name)
        if name not in frame.columns:
            continue
        lookup: dict[str, str] = {}
        other: str | None = None
        for value, answers in mapping.items():
            lookup[_answer_key(value)] = str(value)
            for answer in [answers] if isinstance(answers, str) else answers:
                if str(answer).strip() == "*":
                    other = str(value)
                else:
                    lookup[_answer_key(answer)] = str(value)
        separator = settings.list_separators.get(name) if name in settings.list_separators else None
        is_list = _is_list(settings, name, listed)
        unmapped: dict[str, list[int]] = {}

        def convert(cell: Any, row: int, lookup: dict[str, str] = lookup, other: str | None = other,
                    unmapped: dict[str, list[int]] = unmapped) -> Any:
            if cell is None:
                return None
            key = _answer_key(cell)
            if key in lookup:
                return lookup[key]
            if other is not None:
                return other
            if _numeric(cell) is not None:   # a number is a value already ({"3": ["up to 3"]} keeps the 2s)
                return cell
            unmapped.setdefault(str(cell), []).append(row)
            return cell

        rows = frame[ROW_COLUMN].tolist()
        if is_list:
            sep = separator or ";"
            frame[name] = [None if cell is None else sep.join(dict.fromkeys(
                convert(item.strip(), row) for item in str(cell).split(sep) if item.strip())) or None
                for cell, row in zip(frame[name].tolist(), rows, strict=True)]
        else:
            frame[name] = [convert(cell, row) for cell, row in zip(frame[name].tolist(), rows, strict=True)]
        reported[name] = set(unmapped)
        values = ", ".join(repr(str(v)) for v in mapping)
        for number, (answer, where) in enumerate(sorted(unmapped.items(), key=lambda a: a[1][0])):
            if number == 10:
                out.error(f"… and {len(unmapped) - 10} more answers rosters.values.{field_name} does not cover",
                          source, None, heading_of[name])
                break
            out.error(f"'{shorten(answer)}'{rows_text(where)} is an answer rosters.values.{field_name} does not "
                      f"cover; list it under one of {values} (or '*' for every other answer)", source, where[0],
                      heading_of[name], full=f"{answer!r}{rows_text(where, 1000)} is an answer "
                      f"rosters.values.{field_name} does not cover; list it under one of {values}")
    return reported


def _answer_key(value: Any) -> str:
    number = _numeric(value)
    return f"{number:g}" if number is not None else " ".join(str(value).split()).casefold()


def _numeric(value: Any) -> float | None:
    if value is None:
        return None
    text = str(value).strip().replace("\u2212", "-")
    return float(text) if _NUMBER.match(text) else None


def _numbers(values: pd.Series) -> pd.Series:
    """`_numeric` over a column (float64, NaN where not a number), once per distinct value."""
    import numpy as np
    import pandas as pd

    codes, uniques = pd.factorize(values.to_numpy(dtype=object))
    maybe = _MAYBE_NUMBER.match  # a number starts with a sign, a digit, a point or a space: test only those
    numbers = np.array([_numeric(u) if not isinstance(u, str) or maybe(u) else None for u in uniques] + [None],
                       dtype=np.float64)
    return pd.Series(numbers[codes], index=values.index)


_WITH_UNIT = re.compile(r"^\s*([+-]?\d+(?:[.,]\d+)?)\s*\+?\s*([A-Za-z]+(?:\(s\))?)\.?\s*$")
_UNITS = {"y": "year", "yr": "year", "year": "year", "mo": "month", "mth": "month", "month": "month",
          "w": "week", "wk": "week", "week": "week", "d": "day", "day": "day", "h": "hour", "hr": "hour",
          "hour": "hour", "min": "minute", "minute": "minute", "mentee": "mentee", "person": "person",
          "people": "person"}


def _read_units(values: pd.Series, parsed: pd.Series, bad: pd.Series) -> tuple[pd.Series, pd.Series, str | None]:
    """Cells written as a number and a unit ("12 years", "5 yrs", "4 year(s)", "3+ years") read as the number,
    when every such cell of the column has the same unit (a column mixing "3 years" and "6 months" stays as
    it was). Returns the numbers, the cells still bad, and the first such cell as written (None: none read)."""
    found: dict[Any, float] = {}
    units = set()
    for index in bad[bad].index:
        match = _WITH_UNIT.match(str(values[index]))
        if match is None:
            return parsed, bad, None
        word = match.group(2).lower().removesuffix("(s)")
        unit = _UNITS.get(word) or _UNITS.get(word.removesuffix("s"))
        if unit is None:
            return parsed, bad, None
        units.add(unit)
        found[index] = float(match.group(1).replace(",", "."))
    if len(units) != 1:
        return parsed, bad, None
    parsed = parsed.copy()
    parsed[list(found)] = list(found.values())
    return parsed, bad & ~bad.index.isin(list(found)), str(values[next(iter(found))])


def _convert_types(programme: Programme, settings: Any, frame: pd.DataFrame, heading_of: dict[str, str],
                   source: str, out: FindingCollector, role: str, listed: set[str],
                   reported: dict[str, set[str]] | None = None) -> dict[str, FieldType]:
    """Each column's type (declared, or numeric when every cell is a number); cells that do not fit are errors,
    except answers `rosters.values` already reported as not covered (`reported`: one error per answer)."""
    import numpy as np
    import pandas as pd

    declared = {snake_case(k): v for k, v in settings.types.items()}
    capacity = snake_case(programme.matching.capacity_column)
    if role in ("mentor", "participant") and capacity in frame.columns:
        declared.setdefault(capacity, FieldType.INTEGER)
    wanted = snake_case(programme.matching.mentors_wanted_column)
    if role in ("mentee", "participant") and wanted in frame.columns and not programme.is_peer:
        declared.setdefault(wanted, FieldType.INTEGER)
    for name in listed:
        declared.setdefault(name, FieldType.LIST)
    # answers mapped to values, and ranked values, are labels: text on every roster, even where they look
    # like numbers on one of them (the rank is the number)
    for name in [snake_case(k) for k in (*settings.values, *settings.ranks)]:
        declared.setdefault(name, FieldType.TEXT)
    types: dict[str, FieldType] = {}
    for name in [c for c in frame.columns if not c.startswith("_")]:
        values = frame[name]
        present = values.notna()
        kind = declared.get(name)
        if name in ("id", "name", "email") and kind is None:
            types[name] = FieldType.EMAIL if name == "email" else FieldType.TEXT
            continue
        if kind in (FieldType.TEXT, FieldType.LIST, FieldType.EMAIL):
            types[name] = kind
            continue
        parsed = _numbers(values)
        bad = present & parsed.isna()
        if bad.any() and (kind in (FieldType.NUMBER, FieldType.INTEGER) or kind is None):
            read = int(bad.sum())
            parsed, bad, example = _read_units(values, parsed, bad)
            if example is not None:
                cells = f"'{example}'" + (f" and {read - 1} more cell(s)" if read > 1 else "")
                out.warning(f"{cells} read as the number without its unit; write plain numbers to silence this",
                            source, row_at(frame, values.index[values == example][0]), heading_of[name])
        if reported and reported.get(name):  # its uncovered answers were reported once each by _map_values
            present = present & ~values.isin(list(reported[name]))
            bad = bad & present
        if kind in (FieldType.NUMBER, FieldType.INTEGER):
            if kind is FieldType.INTEGER:
                fractional = parsed.notna() & (parsed.fillna(0) % 1 != 0)
                bad = bad | fractional
            for index in list(frame.index[bad])[:_MAX_CELL_MESSAGES]:
                what = "a whole number" if kind is FieldType.INTEGER else "a number"
                out.error(f"'{values[index]}' is not {what} (the column is numeric"
                          f"{' because it holds capacities' if name == capacity else ''}); fix the cell or "
                          "leave it empty", source, row_at(frame, index), heading_of[name])
            if bad.sum() > _MAX_CELL_MESSAGES:
                out.error(f"… and {int(bad.sum()) - _MAX_CELL_MESSAGES} more non-numeric cells",
                          source, None, heading_of[name])
            if name == capacity:
                negative = parsed.notna() & (parsed < 0)
                for index in frame.index[negative]:
                    out.error(f"capacity {values[index]} is negative", source, row_at(frame, index),
                              heading_of[name])
                for index in frame.index[parsed.notna() & (parsed > MAX_CAPACITY)][:_MAX_CELL_MESSAGES]:
                    out.error(f"capacity {values[index]} is more than mentorctl's limit of {MAX_CAPACITY:,} mentees "
                              "per mentor", source, row_at(frame, index), heading_of[name])
            if name == wanted and role != "mentor":
                for index in frame.index[parsed.notna() & (parsed > MAX_CAPACITY)][:_MAX_CELL_MESSAGES]:
                    out.error(f"{values[index]} mentors wanted is more than mentorctl's limit of {MAX_CAPACITY:,}",
                              source, row_at(frame, index), heading_of[name])
            if name == wanted and role != "mentor":
                for index in frame.index[parsed.notna() & (parsed < 1)]:
                    out.error(f"{values[index]} mentors wanted: write at least 1 (or leave it empty for "
                              f"matching.mentors_per_mentee, {programme.matching.mentors_per_mentee})", source,
                              row_at(frame, index), heading_of[name])
            frame[name] = parsed.astype(np.float64)
            types[name] = kind
        elif kind is None and present.any() and not bad.any():
            frame[name] = parsed.astype(np.float64)
            types[name] = FieldType.NUMBER
        elif kind is FieldType.DATE:
            dates = pd.to_datetime(values, errors="coerce", format="mixed")
            for index in list(frame.index[present & dates.isna()])[:_MAX_CELL_MESSAGES]:
                out.error(f"'{values[index]}' is not a date (write YYYY-MM-DD)", source,
                          row_at(frame, index), heading_of[name])
            types[name] = kind
        elif kind is FieldType.BOOL:
            mapped = values.map(lambda v: _TRUTH.get(str(v).strip().lower()) if v is not None else None)
            for index in list(frame.index[present & mapped.isna()])[:_MAX_CELL_MESSAGES]:
                out.error(f"'{values[index]}' is not yes/no", source, row_at(frame, index),
                          heading_of[name])
            frame[name] = mapped.astype(object)
            types[name] = kind
        else:
            if kind is None and present.sum() >= 5 and (present & ~bad).sum() >= 0.8 * present.sum():
                index = frame.index[bad][0]
                out.warning(f"column looks numeric but '{values[index]}' (and {int(bad.sum()) - 1} other "
                            "cell(s)) is text, so the column is read as text; fix the cells or declare it "
                            "under `rosters.types`", source, row_at(frame, index), heading_of[name])
            types[name] = kind or FieldType.TEXT
    return types


def _add_ranks(settings: Any, frame: pd.DataFrame, heading_of: dict[str, str], source: str,
               out: FindingCollector, types: dict[str, FieldType], reported: dict[str, set[str]]) -> None:
    """For each `rosters.ranks` field, add `<field>_rank`: the value's 1-based position in the given order.
    A value not in the order is an error, once per distinct value with its rows."""
    import numpy as np

    for field_name, order in settings.ranks.items():
        name = snake_case(field_name)
        if name not in frame.columns:
            continue
        position = {_rank_key(v): i for i, v in enumerate(order, start=1)}
        values = frame[name]
        ranks = values.map(lambda v, lookup=position: None if v is None or v != v else lookup.get(_rank_key(v)))
        unknown = values.notna() & ranks.isna()
        rows: dict[str, list[int]] = {}
        for index in frame.index[unknown]:
            if str(values[index]) not in reported.get(name, ()):
                rows.setdefault(str(values[index]), []).append(row_at(frame, index))
        shown = ", ".join(map(str, order))
        for number, (value, where) in enumerate(rows.items()):
            if number == 10:
                out.error(f"… and {len(rows) - 10} more values not listed under `rosters.ranks.{field_name}`",
                          source, None, heading_of[name])
                break
            out.error(f"'{shorten(value)}'{rows_text(where)} is not one of the values listed under "
                      f"`rosters.ranks.{field_name}` ({shorten(shown, 120)}); add it there, or map the answer to "
                      f"one of them under `rosters.values.{field_name}`", source, where[0], heading_of[name],
                      full=f"{value!r}{rows_text(where, 1000)} is not one of the values listed under "
                      f"`rosters.ranks.{field_name}` ({shown})")
        frame[f"{name}_rank"] = ranks.astype(np.float64)
        types[f"{name}_rank"] = FieldType.NUMBER


def _rank_key(value: Any) -> str:
    """How rank values are compared: case-insensitive text, and 3 == 3.0 == "3"."""
    number = _numeric(value)
    return f"{number:g}" if number is not None else str(value).strip().lower()


def _check_ids(frame: pd.DataFrame, source: str, heading_of: dict[str, str], out: FindingCollector) -> None:
    import pandas as pd

    ids = frame["id"]
    for index in frame.index[ids.isna()]:
        out.error("empty id: every person needs a unique id", source, row_at(frame, index),
                  heading_of["id"])
    values = ids.tolist()
    if _stripped(values):
        text = ids.astype(object)  # text already trimmed (as tables.py gives it): nothing to do per id
    else:
        text = pd.Series([None if v is None or (isinstance(v, float) and v != v) else str(v).strip()
                          for v in values], index=frame.index, dtype=object)
    frame["id"] = text
    duplicated = text.notna() & text.duplicated(keep=False)
    for value, group in frame[duplicated].groupby(text[duplicated], sort=True):
        rows = ", ".join(str(r) for r in group[ROW_COLUMN].tolist())
        out.error(f"duplicate id '{value}' on rows {rows}: ids must be unique", source, int(group[ROW_COLUMN].iloc[0]),
                  heading_of["id"])
    folded = pd.Series(_folded(text.tolist()), index=frame.index, dtype=object)
    clash = folded.notna() & folded.duplicated(keep=False) & ~duplicated
    for _, group in frame[clash].groupby(folded[clash], sort=True):
        shown = " and ".join(f"'{i}' (row {r})" for i, r in zip(group["id"], group[ROW_COLUMN], strict=True))
        out.error(f"ids {shown} differ only in case or spacing; other files refer to people ignoring case and "
                  "spaces, so make them differ otherwise", source, int(group[ROW_COLUMN].iloc[0]), heading_of["id"])
    for index in frame.index[frame["name"].isna()]:
        out.warning("empty name", source, row_at(frame, index), heading_of["name"])


def _lines(values: list[Any]) -> str | None:
    """Text cells joined one per line (to run one regular expression over all of them); None when a cell is
    not text or holds a line break itself."""
    try:
        joined = "\n".join(values)   # (refuses anything but text, at C speed)
    except TypeError:
        return None
    return joined if joined.count("\n") == len(values) - 1 else None


def _folded(ids: list[Any]) -> list[str | None]:
    """Each id as references compare it: spaces collapsed, case folded (None stays None). Done on all of
    them at once when they are all text."""
    joined = _lines(ids)
    if joined is None or not ids:
        return [" ".join(v.split()).casefold() if isinstance(v, str) else None for v in ids]
    collapsed = _INNER_SPACE.sub(" ", joined).casefold().split("\n")
    out: list[str | None] = [*collapsed]
    return out


def _stripped(values: list[Any]) -> bool:
    """Whether the cells are all text that `strip` leaves as it is (no white space around any of them)."""
    joined = _lines(values)
    return joined is not None and "\n".join([v.strip() for v in values]) == joined


def _folded_case(values: list[Any]) -> list[str | None]:
    """Each text cell case-folded (None for any other cell), all at once when they are all text."""
    joined = _lines(values)
    if joined is None or not values:
        return [v.casefold() if isinstance(v, str) else None for v in values]
    folded: list[str | None] = [*joined.casefold().split("\n")]
    return folded if len(folded) == len(values) else [v.casefold() for v in values]


def _all_emails(values: list[Any]) -> bool:
    """Whether every cell is an email address (`is_email`), with one match of the pattern over all of them."""
    joined = _lines(values)
    return joined is not None and bool(values) and _EMAIL_LINES.fullmatch(joined) is not None


def _check_emails(frame: pd.DataFrame, source: str, heading_of: dict[str, str], out: FindingCollector,
                  require_email: bool) -> None:
    import pandas as pd

    report = out.sending_error if require_email else out.warning
    if "email" not in frame.columns:
        if require_email:
            out.sending_error("no email column: sending mail needs one (map it under `rosters.columns: "
                              "{email: ...}`)", source)
        return
    emails = [v.strip() if isinstance(v, str) else v for v in frame["email"].tolist()]
    frame["email"] = pd.Series(emails, index=frame.index, dtype=object)
    bad = [] if _all_emails(emails) else [(i, v) for i, v in zip(frame.index, emails, strict=True) if not is_email(v)]
    suffix = "" if require_email else " (needed before sending mail)"
    for index, value in bad[:_MAX_CELL_MESSAGES]:
        what = "no email address" if value is None else f"'{value}' is not an email address"
        report(f"{what}{suffix}", source, row_at(frame, index), heading_of["email"])
    if len(bad) > _MAX_CELL_MESSAGES:
        report(f"… and {len(bad) - _MAX_CELL_MESSAGES} more missing or invalid email addresses{suffix}",
               source, None, heading_of["email"])
    _check_same_email(frame, emails, {i for i, _ in bad}, source, out)


def _check_same_email(frame: pd.DataFrame, emails: list[Any], bad: set[Any], source: str,
                      out: FindingCollector) -> None:
    """Two rows of one roster with the same address (ignoring case) are one person who signed up twice (two
    form responses get two ids): they would be matched as two people. Only within one roster: the same
    person may well be both a mentor and a mentee. (The addresses are compared all at once; only the rows
    sharing one are looked at one by one.)"""
    import numpy as np
    import pandas as pd

    keys = _folded_case(emails)
    shared = pd.Series(keys, dtype=object).duplicated(keep=False).to_numpy() & pd.notna(keys)
    if not shared.any():
        return
    rows_of: dict[str, list[int]] = {}
    shown: dict[str, str] = {}
    numbers = frame[ROW_COLUMN].tolist()
    for k in np.flatnonzero(shared).tolist():
        index, row, value = frame.index[k], numbers[k], emails[k]
        if not isinstance(value, str) or (bad and index in bad):
            continue
        key = value.casefold()
        rows_of.setdefault(key, []).append(int(row))
        shown.setdefault(key, value)
    repeated = [(key, rows) for key, rows in rows_of.items() if len(rows) > 1]
    for key, rows in repeated[:_MAX_CELL_MESSAGES]:
        listed = ", ".join(str(r) for r in rows[:-1]) + f" and {rows[-1]}"
        out.error(f"rows {listed} have the same email {shown[key]} (one person signed up twice?): keep one row, "
                  "or give each their own address", source)
    if len(repeated) > _MAX_CELL_MESSAGES:
        out.error(f"… and {len(repeated) - _MAX_CELL_MESSAGES} more email addresses given on several rows", source)


def split_list(value: Any, separator: str = ";") -> list[str]:
    """A list field's items: split on the separator, trimmed, empty items dropped."""
    if value is None or (isinstance(value, float) and value != value):
        return []
    return [item.strip() for item in str(value).split(separator) if item.strip()]
