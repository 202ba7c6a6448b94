"""Reading `out/matches.csv`: the file `mentorctl match` writes and the coordinator may edit before packs,
reminders and reports use it."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from mentorctl.errors import Location, RosterError
from mentorctl.programme import Programme

if TYPE_CHECKING:
    import pandas as pd

    from mentorctl.roster import Participants

MATCH_COLUMNS = ["mentee_id", "mentee_name", "mentee_email", "mentor_id", "mentor_name", "mentor_email", "score"]
REQUIRED = ("mentee_id", "mentor_id")


def default_matches_path(programme: Programme) -> Path:
    return programme.out_dir / "matches.csv"


def read_matches(programme: Programme, path: str | Path | None = None,
                 participants: Participants | None = None, *, unknown_ok: bool = False) -> pd.DataFrame:
    """Read and check a matches file; ids are text. With `participants`, every id or name becomes the roster's
    id, and one that means nobody is an error — unless `unknown_ok` (the relationships log: a person who left
    the roster is a warning there), when it is kept as written."""
    import pandas as pd

    from mentorctl.roster import row_at
    from mentorctl.tables import TableError, normalise_heading, read_table, split_sheet

    spec = str(path) if path else str(default_matches_path(programme))
    relative, sheet = split_sheet(spec)
    file = Path(relative)
    shown = spec
    if not file.exists():
        raise RosterError("no matches file; run `mentorctl match` first (or pass --matches FILE)",
                          location=Location(shown))
    # read like a roster: CSV in any common encoding and delimiter (as Excel saves it), or .xlsx
    try:
        table = read_table(file, sheet, shown)
    except TableError as e:
        raise RosterError(e.plain_message, location=Location(shown)) from e
    frame = table.frame.where(table.frame.notna(), "")
    frame["_row"] = table.rows
    rename = {c: normalise_heading(c) for c in frame.columns}
    wanted = {normalise_heading(c): c for c in MATCH_COLUMNS}
    frame = frame.rename(columns={c: wanted.get(n, c) for c, n in rename.items()})
    missing = [c for c in REQUIRED if c not in frame.columns]
    if missing:
        found_columns = ", ".join(c for c in frame.columns if c != "_row")
        raise RosterError(f"missing column(s) {', '.join(missing)}; columns found: {found_columns}",
                          location=Location(shown))
    for column in frame.columns.drop("_row"):
        frame[column] = frame[column].astype(object).map(lambda v: v.strip() if isinstance(v, str) else v)
    frame = frame[(frame["mentee_id"] != "") | (frame["mentor_id"] != "")].reset_index(drop=True)
    for column in REQUIRED:
        empty = frame.index[frame[column] == ""]
        if len(empty):
            raise RosterError(f"empty {column}; every row needs both ids (delete the row to drop a pair)",
                              location=Location(shown, row_at(frame, empty[0]), column))
    if "score" in frame.columns:
        frame["score"] = pd.to_numeric(frame["score"].replace("", None), errors="coerce")
    if participants is not None:  # first, so that two spellings of one pair are seen as the same pair
        _check_known(frame, participants, shown, unknown_ok)
    duplicated = frame.duplicated(["mentee_id", "mentor_id"], keep="first")
    if duplicated.any():
        row = int(frame.loc[duplicated, "_row"].iloc[0])
        raise RosterError("the same pair appears twice; delete one of the rows", location=Location(shown, row))
    return frame


def _check_known(frame: pd.DataFrame, participants: Participants, shown: str, unknown_ok: bool = False) -> None:
    """Every id must mean someone on the roster (by id or name, ignoring case and spaces: references.py); the
    columns then hold the roster's own ids, so `hvf5hy` in an edited file is the roster's `Hvf5hy` and
    `anna schmidt` her id. With `unknown_ok` an id that means nobody stays as written."""
    for column, role in (("mentor_id", "mentor"), ("mentee_id", "mentee")):
        resolved = {value: participants.resolve(value, role) for value in frame[column].unique()}
        unknown = frame[column].map(lambda v, r=resolved: not r[v].ok)
        if unknown_ok:
            frame[column] = frame[column].map(lambda v, r=resolved: r[v].id if r[v].ok else v)
            continue
        if unknown.any():
            first = frame[unknown].iloc[0]
            found = resolved[first[column]]
            what = (found.describe(role) if found.ambiguous else f"'{first[column]}' is not on the {role} roster"
                    + (f" (did you mean {' or '.join(repr(s) for s in found.suggestions)}?)"
                       if found.suggestions else ""))
            raise RosterError(f"{what} ({int(unknown.sum())} unknown {role} id(s) in all); fix the id or add the "
                              "person to the roster", location=Location(shown, int(first["_row"]), column))
        frame[column] = frame[column].map(lambda v, r=resolved: r[v].id)
