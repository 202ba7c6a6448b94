"""`mentorctl end`, `pause`, `resume` and `extend`: what happens to a pair, appended to relationships.csv.

With --json each prints one JSON document on stdout: the action, the pair as it stands after it (start,
planned end, status, end date and reason, pause), the log file and the log's warnings."""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING, Annotated

import typer

from mentorctl.cli.console import as_data, console, err_console, print_json
from mentorctl.cli.options import JsonOpt, OnOpt, ProgrammeArg, command_group, parse_day

if TYPE_CHECKING:
    from datetime import date

    from mentorctl.programme import Programme
    from mentorctl.relationships import Lifecycle
    from mentorctl.roster import Participants


class Reason(StrEnum):
    COMPLETED = "completed"
    MOVED_OR_LEFT = "moved-or-left"
    NOT_A_FIT = "not-a-fit"
    NO_SHOW = "no-show"
    OTHER = "other"


MenteeArg = Annotated[str, typer.Argument(metavar="MENTEE_ID", help="The mentee's id (any case).")]
MentorArg = Annotated[str, typer.Argument(metavar="MENTOR_ID", help="The mentor's id (any case).")]
NoteOpt = Annotated[str, typer.Option("--note", metavar="TEXT", help="Free text kept in the log.")]

app = command_group()


def _load(programme: str, on: str | None) -> tuple[Programme, Participants, date]:
    """The programme, its participants and the day an action takes effect (`--on`, else today)."""
    from mentorctl.programme import load_programme
    from mentorctl.roster import load_participants

    prog = load_programme(programme)
    participants = load_participants(prog)
    return prog, participants, parse_day(on, "--on", prog)


def _pause_or_resume(programme: str, mentee_id: str, mentor_id: str, note: str, on: str | None, *,
                     resume: bool, as_json: bool) -> None:
    from mentorctl.relationships import pause_pair

    prog, participants, day = _load(programme, on)
    life = pause_pair(prog, participants, mentee_id, mentor_id, on=day, resume=resume, note=note)
    _done(life, f"Resumed {mentee_id} – {mentor_id} on {day}" if resume else f"Paused {mentee_id} – {mentor_id} "
          f"from {day}", action="resume" if resume else "pause", pair=(mentee_id, mentor_id), as_json=as_json)


def _done(life: Lifecycle, what: str, *, action: str, pair: tuple[str, str], as_json: bool, **extra: object
          ) -> None:
    """Say what was recorded (on stderr with --json, which prints the pair after the action on stdout)."""
    from mentorctl.relationships import find_pair, log_path

    out = err_console if as_json else console
    out.print(f"{what}; recorded in {log_path(life.programme).name}.", markup=False, soft_wrap=True)
    for warning in life.warnings:
        err_console.print(f"Warning: {warning}", markup=False, soft_wrap=True)
    if as_json:
        print_json({"action": action, **extra, "relationship": as_data(find_pair(life, *pair)),
                    "log": str(log_path(life.programme)), "warnings": list(life.warnings)})


@app.command()
def end(
    programme: ProgrammeArg,
    mentee_id: MenteeArg,
    mentor_id: MentorArg,
    reason: Annotated[Reason, typer.Option("--reason", case_sensitive=False, help="Why the pair ends.")],
    note: NoteOpt = "",
    on: OnOpt = None,
    rematch: Annotated[bool, typer.Option("--rematch", help="Match the mentee again at the next "
                                          "`mentorctl match` (peers: both).")] = False,
    as_json: JsonOpt = False,
) -> None:
    """End a relationship: append an `end` row (and a `rematch` row with --rematch) to relationships.csv.

    The pair is never matched again; the next `mentorctl packs` sends both people the closure message.
    Nothing is written when the pair does not exist, has ended already, or DATE is before its start.

    \b
    Example: mentorctl end programmes/example E0012 M0003 --reason not-a-fit --rematch
    """
    from mentorctl.relationships import EndReason, end_pair

    prog, participants, day = _load(programme, on)
    life = end_pair(prog, participants, mentee_id, mentor_id, EndReason(reason.value), on=day, note=note,
                    rematch=rematch)
    _done(life, f"Ended {mentee_id} – {mentor_id} on {day} ({reason.value})"
          + ("; the mentee will be rematched" if rematch else ""), action="end", pair=(mentee_id, mentor_id),
          as_json=as_json, rematch=rematch)


@app.command()
def pause(
    programme: ProgrammeArg,
    mentee_id: MenteeArg,
    mentor_id: MentorArg,
    note: NoteOpt = "",
    on: OnOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Pause a relationship (no check-in reminders while paused); `mentorctl resume` ends the break.

    \b
    Example: mentorctl pause programmes/example E0012 M0003 --note "parental leave"
    """
    _pause_or_resume(programme, mentee_id, mentor_id, note, on, resume=False, as_json=as_json)


@app.command()
def resume(
    programme: ProgrammeArg,
    mentee_id: MenteeArg,
    mentor_id: MentorArg,
    note: NoteOpt = "",
    on: OnOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Resume a paused relationship.

    \b
    Example: mentorctl resume programmes/example E0012 M0003
    """
    _pause_or_resume(programme, mentee_id, mentor_id, note, on, resume=True, as_json=as_json)


@app.command()
def extend(
    programme: ProgrammeArg,
    mentee_id: MenteeArg,
    mentor_id: MentorArg,
    until: Annotated[str, typer.Option("--until", metavar="DATE", help="The new planned end, YYYY-MM-DD.")],
    note: NoteOpt = "",
    on: OnOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Extend a relationship beyond its planned end ("ending soon" notices follow the new date).

    \b
    Example: mentorctl extend programmes/example E0012 M0003 --until 2027-09-30
    """
    from mentorctl.packs import last_day
    from mentorctl.relationships import extend_pair

    prog, participants, day = _load(programme, on)
    last = parse_day(until, "--until", prog)
    _done(extend_pair(prog, participants, mentee_id, mentor_id, until=last, on=day, note=note),
          f"Extended {mentee_id} – {mentor_id} until {last}", action="extend", pair=(mentee_id, mentor_id),
          as_json=as_json)
    if last > last_day(prog):
        err_console.print(f"Warning: {last} is after the programme's last day ({last_day(prog)}): nothing is sent "
                          "after it (no check-ins, no \"ending soon\" notice); lengthen design.length_weeks to "
                          "keep the reminders going", markup=False, soft_wrap=True)
