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
                 participants: Participants | None = None) -> pd.DataFrame:
    """Read and check a matches file; ids are text; with `participants`, every id must be on a roster."""
    import pandas as pd

    from mentorctl.roster import normalise_heading

    file = Path(path) if path else default_matches_path(programme)
    shown = str(file)
    if not file.exists():
        raise RosterError("no matches file; run `mentorctl match` first (or pass --matches FILE)",
                          location=Location(shown))
    try:
        frame = pd.read_csv(file, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError) as e:
        raise RosterError(f"cannot read the matches file ({e}); it must be a UTF-8 CSV",
                          location=Location(shown)) from e
    rename = {c: normalise_heading(c) for c in frame.columns}
    wanted = {normalise_heading(c): c for c in MATCH_COLUMNS}
    frame = frame.rename(columns={c: wanted.get(n, c) for c, n in rename.items()})
    missing = [c for c in REQUIRED if c not in frame.columns]
    if missing:
        raise RosterError(f"missing column(s) {', '.join(missing)}; columns found: {', '.join(frame.columns)}",
                          location=Location(shown))
    for column in frame.columns:
        frame[column] = frame[column].astype(object).map(lambda v: v.strip() if isinstance(v, str) else v)
    frame = frame[(frame["mentee_id"] != "") | (frame["mentor_id"] != "")].reset_index(drop=True)
    frame["_row"] = frame.index + 2
    for column in REQUIRED:
        empty = frame.index[frame[column] == ""]
        if len(empty):
            raise RosterError(f"empty {column}; every row needs both ids (delete the row to drop a pair)",
                              location=Location(shown, int(frame.at[empty[0], "_row"]), column))
    if "score" in frame.columns:
        frame["score"] = pd.to_numeric(frame["score"].replace("", None), errors="coerce")
    duplicated = frame.duplicated(["mentee_id", "mentor_id"], keep="first")
    if duplicated.any():
        row = int(frame.loc[duplicated, "_row"].iloc[0])
        raise RosterError("the same pair appears twice; delete one of the rows", location=Location(shown, row))
    if participants is not None:
        _check_known(frame, participants, shown)
    return frame


def _check_known(frame: pd.DataFrame, participants: Participants, shown: str) -> None:
    mentors = set(participants.mentors.frame["id"]) if participants.mentors is not None else set()
    mentees = set(participants.mentees.frame["id"]) if participants.mentees is not None else set()
    for column, known, role in (("mentor_id", mentors, "mentor"), ("mentee_id", mentees, "mentee")):
        unknown = ~frame[column].isin(known)
        if unknown.any():
            first = frame[unknown].iloc[0]
            raise RosterError(f"'{first[column]}' is not on the {role} roster ({int(unknown.sum())} unknown "
                              f"{role} id(s) in all); fix the id or add the person to the roster",
                              location=Location(shown, int(first["_row"]), column))
