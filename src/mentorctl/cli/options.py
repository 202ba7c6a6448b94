"""What the commands share, defined once: options and arguments as `Annotated` types, the choices that
mutually exclusive flags stand for, and the values they turn into (a moment, a day, a mailer).

Importing this module costs no more than typer: `mentorctl --help` reads these types but never runs a parser.
"""

from __future__ import annotations

from datetime import date, datetime, time
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, TypeVar

import typer

if TYPE_CHECKING:
    from collections.abc import Sequence

    from mentorctl.mail import DeliveryReport, Mailer, OutgoingMessage
    from mentorctl.programme import Programme


def command_group() -> typer.Typer:
    """The Typer app of one command module; `cli/main.py` adds each to the `mentorctl` app (`add_typer`)."""
    return typer.Typer(rich_markup_mode=None, add_completion=False)


# --- arguments and options ----------------------------------------------------------------------------------

ProgrammeArg = Annotated[str, typer.Argument(
    metavar="PROGRAMME", show_default=False,
    help="Programme folder or its programme.yaml (default: the current folder).")]
"""`PROGRAMME`: give it the default "." to make it optional."""

NowOpt = Annotated[str | None, typer.Option(
    "--now", metavar="ISO-DATETIME",
    help="Pretend it is this moment (e.g. 2027-03-01T09:30, or 2027-03-01 for the end of that day), in the "
         "programme's time zone unless an offset is given.")]

OnOpt = Annotated[str | None, typer.Option(
    "--on", metavar="DATE", help="The day this happens, YYYY-MM-DD (default: today in the programme's time zone).")]

OutOpt = Annotated[Path | None, typer.Option(
    "--out", metavar="DIR", help="Folder for the outputs (default: PROGRAMME/out).")]

MatchesOpt = Annotated[Path | None, typer.Option(
    "--matches", metavar="FILE", help="Matches CSV to use (default: PROGRAMME/out/matches.csv).")]

JsonOpt = Annotated[bool, typer.Option(
    "--json", help="Print the result as JSON on stdout, for scripts (messages and warnings stay on stderr).")]

SendOpt = Annotated[bool, typer.Option(
    "--send", help="Send through the SMTP server in programme.yaml (default: write .eml files to out/outbox/ for "
                   "checking).")]

RetryUnknownOpt = Annotated[bool, typer.Option(
    "--retry-unknown", help="With --send: send again what an interrupted run left unconfirmed (it may arrive "
                            "twice).")]

ForceOpt = Annotated[bool, typer.Option(
    "--force", help="Replace files that exist or were edited by hand.")]


# --- choices: what mutually exclusive flags stand for ------------------------------------------------------

class Delivery(StrEnum):
    """Where messages go: `--send` sends, `--dry-run` (remind) only shows, the default writes the outbox.
    The values are the reminders' run modes."""

    OUTBOX = "outbox"
    DRY_RUN = "dry-run"
    SEND = "send"


E = TypeVar("E", bound=StrEnum)


class CronAction(StrEnum):
    """`schedule --print | --install | --uninstall`."""

    PRINT = "print"
    INSTALL = "install"
    UNINSTALL = "uninstall"


def one_of(default: E, **flags: bool) -> E:
    """The choice that mutually exclusive flags stand for: `one_of(Delivery.OUTBOX, dry_run=…, send=…)` gives
    the member named by the flag given (`dry_run` → DRY_RUN), or `default`; two at once is a usage error."""
    from mentorctl.errors import MentorctlError

    given = [name for name, on in flags.items() if on]
    if len(given) > 1:
        shown = [f"--{name.replace('_', '-')}" for name in flags]
        raise MentorctlError(f"choose one of {', '.join(shown[:-1])} and {shown[-1]}")
    return type(default)[given[0].upper()] if given else default


# --- values ---------------------------------------------------------------------------------------------------

def parse_now(text: str | None, programme: Programme, *, date_is_start: bool = False) -> datetime:
    """`--now`: an ISO date-time (naive = programme time zone), a date (= the end of that day, or with
    `date_is_start` its start: a preview from a day includes that day), or now."""
    from mentorctl import limits
    from mentorctl.errors import MentorctlError
    from mentorctl.reminders import localize

    tz = programme.tz
    if not text:
        return datetime.now(tz)
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError as e:
        raise MentorctlError(f"--now '{text}' is not an ISO date or date-time that exists; write e.g. "
                             "2027-03-01T09:30") from e
    if not limits.in_date_range(moment.date()):
        raise MentorctlError(f"--now '{text}' is outside the dates mentorctl works with ({limits.DATE_RANGE})")
    try:
        if len(text.strip()) == 10:
            return localize(datetime.combine(moment.date(), time(0, 0) if date_is_start else time(23, 59, 59)), tz)
        return localize(moment, tz)
    except (ValueError, OverflowError) as e:
        raise MentorctlError(f"--now '{text}' cannot be placed in the programme's time zone ({e})") from e


def parse_day(text: str | None, option: str, programme: Programme) -> date:
    """A YYYY-MM-DD option (`--on`, `--until`), or today in the programme's time zone."""
    from mentorctl.errors import MentorctlError

    if text is None:
        return datetime.now(programme.tz).date()
    try:
        return date.fromisoformat(text.strip())
    except ValueError as e:
        raise MentorctlError(f"{option} '{text}' is not a date; write YYYY-MM-DD") from e


def mailer_for(programme: Programme, *, send: bool) -> Mailer:
    """The one mailer factory: with `--send` the SMTP mailer of programme.yaml (checking its credential
    variables before any work), else the outbox (out/outbox/, a preview that never records a send)."""
    from mentorctl.errors import ProgrammeError
    from mentorctl.mail import OutboxMailer, SmtpMailer

    if not send:
        return OutboxMailer(programme.out_dir / "outbox")
    if programme.email is None or programme.email.smtp is None:
        raise ProgrammeError("--send needs email: from and email: smtp (host, port, security) in programme.yaml; "
                             "without --send the emails are written to out/outbox/")
    return SmtpMailer(programme.email.smtp)


def write_outbox(programme: Programme, outgoing: Sequence[OutgoingMessage], mailer: Mailer) -> DeliveryReport:
    """Without `--send`: write every message through the outbox mailer; the ledger, when there is one, is only
    read (to count what `--send` would skip)."""
    from mentorctl.ledger import LEDGER_FILE, Ledger
    from mentorctl.mail import deliver

    path = programme.state_dir / LEDGER_FILE
    ledger = Ledger(path) if path.exists() else None
    try:
        return deliver(outgoing, mailer, ledger)
    finally:
        if ledger is not None:
            ledger.close()
