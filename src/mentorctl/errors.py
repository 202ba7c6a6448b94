"""Errors a user can cause, each with the exit code the CLI returns for it.

Exit codes (`ExitCode`, published in the README): 0 success; 1 the work ran but part of it failed (a send
refused); 2 bad input or usage; 3 infeasible (the input is valid but no matching satisfies its pins and
constraints); 130 interrupted (Ctrl-C).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum


class ExitCode(IntEnum):
    """What `mentorctl` exits with; the CLI uses these names, never the numbers."""

    OK = 0
    PARTIAL_FAILURE = 1   # the work ran but part of it failed (a send refused, listed)
    BAD_INPUT = 2         # bad input or usage (Typer's own usage errors exit 2 as well)
    INFEASIBLE = 3        # valid input, but no matching satisfies its pins and constraints
    INTERRUPTED = 130     # Ctrl-C (the shell's 128 + SIGINT); outputs are written atomically


@dataclass(frozen=True)
class Location:
    """Where in the user's files a problem is: file, and optionally row (1-based, as a spreadsheet shows it),
    column (a heading or field name) or line/column of a text file."""

    file: str | None = None
    row: int | None = None
    column: str | None = None
    line: int | None = None

    def __str__(self) -> str:
        parts = []
        if self.file:
            parts.append(self.file)
        if self.line is not None:
            parts.append(f"line {self.line}")
        if self.row is not None:
            parts.append(f"row {self.row}")
        if self.column is not None:
            parts.append(f"column {shorten(self.column)}")
        return ", ".join(parts)


def shorten(text: str, width: int = 48) -> str:
    """A long question heading cut to fit one terminal line (JSON output keeps the full text)."""
    text = " ".join(str(text).split())
    return text if len(text) <= width else text[: width - 1].rstrip() + "…"


class MentorctlError(Exception):
    """A problem the user can fix. The message says where, what, and what to do."""

    exit_code: ExitCode = ExitCode.BAD_INPUT

    def __init__(self, message: str, *, location: Location | None = None, details: list[str] | None = None):
        self.location = location
        self.details = list(details or [])
        self.plain_message = message
        super().__init__(self.render())

    def render(self) -> str:
        where = f"{self.location}: " if self.location and str(self.location) else ""
        text = f"{where}{self.plain_message}"
        if self.details:
            text += "\n" + "\n".join(f"  - {d}" for d in self.details)
        return text


class ProgrammeError(MentorctlError):
    """programme.yaml is missing, not YAML, or does not fit the schema."""


class RosterError(MentorctlError):
    """A roster (CSV/Excel) is missing, unreadable or has bad values."""


class RuleError(MentorctlError):
    """A matching rule expression cannot be parsed or names an unknown field."""


class TemplateError(MentorctlError):
    """A Jinja template has a syntax error or uses an undefined variable."""


class DeliveryError(MentorctlError):
    """Mail could not be delivered at all (server unreachable, login refused)."""

    exit_code = ExitCode.PARTIAL_FAILURE


class OutputExistsError(MentorctlError):
    """An output file exists and may hold the coordinator's edits; --force is needed to replace it."""


class OutputError(MentorctlError):
    """An output cannot be written (missing or read-only folder, disk full)."""


class LockedError(MentorctlError):
    """Another mentorctl run holds the programme's lock."""

    exit_code = ExitCode.OK


class SendBusyError(MentorctlError):
    """Another run kept the programme's send lock for longer than this run would wait: nothing was sent."""

    exit_code = ExitCode.PARTIAL_FAILURE


class InfeasibleError(MentorctlError):
    """The input is valid but no matching satisfies its pins and constraints."""

    exit_code = ExitCode.INFEASIBLE


@dataclass(frozen=True)
class Finding:
    """One problem found while validating: an error (blocks the command) or a warning (worth a look)."""

    level: str  # "error" | "warning"
    message: str
    location: Location | None = None
    full: str | None = None  # the message with long headings in full (validate --json), when it shortens them

    def __str__(self) -> str:
        where = f"{self.location}: " if self.location and str(self.location) else ""
        return f"{where}{self.message}"

    def as_dict(self) -> dict:
        loc = self.location or Location()
        return {"level": self.level, "message": self.full or self.message, "file": loc.file, "row": loc.row,
                "column": loc.column, "line": loc.line}


class ActivityError(MentorctlError):
    """An activity log, HR extract or survey export is missing, unreadable or lacks a required column."""
