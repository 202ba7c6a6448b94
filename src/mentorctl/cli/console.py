"""Console helpers shared by every command: Rich consoles, the error handler, findings output."""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, TypeVar

import typer
from rich.console import Console
from rich.markup import escape

from mentorctl.errors import Finding, MentorctlError

if TYPE_CHECKING:
    from mentorctl.mail import Mailer
    from mentorctl.programme import Programme

console = Console(highlight=False)
err_console = Console(stderr=True, highlight=False)

F = TypeVar("F", bound=Callable[..., Any])


class _State:
    debug: bool = False


state = _State()


INTERRUPTED = 130  # the shell's code for a command ended by Ctrl-C (128 + SIGINT)
HANDLED = (MentorctlError, OSError, KeyboardInterrupt)
"""What the one error path turns into a line and an exit code; anything else is a bug (a traceback)."""


def report_error(error: MentorctlError) -> None:
    """Print a user error as `Error: …` (plain text, no markup) on stderr."""
    err_console.print(f"Error: {error}", markup=False, soft_wrap=True)


def exit_code_for(error: BaseException) -> int:
    """The one error path of the CLI: print one clear line for `error` on stderr and return its exit code.

    A MentorctlError prints its message (exit code from errors.py); an OSError (a path the user gave is
    missing, a folder, or not writable) prints the path and what is wrong (2); Ctrl-C prints `Interrupted.`
    (130; outputs are written atomically, so none is left half-written)."""
    if isinstance(error, KeyboardInterrupt):
        err_console.print("Interrupted.", markup=False)
        return INTERRUPTED
    if isinstance(error, MentorctlError):
        report_error(error)
        return int(error.exit_code)
    if isinstance(error, OSError):
        err_console.print(f"Error: {describe_os_error(error)}", markup=False, soft_wrap=True)
        return 2
    raise error


def handle_errors(func: F) -> F:
    """Run a command through the one error path (`exit_code_for`); `--debug` re-raises instead."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except HANDLED as error:
            if state.debug and not isinstance(error, KeyboardInterrupt):
                raise
            raise typer.Exit(exit_code_for(error)) from None

    return wrapper  # type: ignore[return-value]


def plain(value: Any) -> str:
    """A value from the user's files (a name, id, path, heading) made safe to print with Rich markup on:
    `[red]` or `[/x]` is shown as written, never interpreted."""
    return escape("" if value is None else str(value))


def describe_os_error(error: OSError) -> str:
    """`[Errno 20] Not a directory: 'x'` → `x: not a directory; check the path …`."""
    where = error.filename or ""
    what = (error.strerror or str(error)).lower()
    return (f"{where}: {what}; check the path (it must be a folder you can write to, or a file you can read)"
            if where else f"{what}; check the paths you gave")


def print_findings(findings: Iterable[Finding], stream: Console | None = None) -> None:
    """One line per finding: errors in red, warnings in yellow."""
    out = stream or err_console
    for finding in findings:
        style = "red" if finding.level == "error" else "yellow"
        label = "Error" if finding.level == "error" else "Warning"
        out.print(f"[{style}]{label}:[/{style}] ", end="")
        out.print(str(finding), markup=False, soft_wrap=True)


def is_interactive() -> bool:
    return sys.stderr.isatty()


def mailer_for(programme: Programme, *, send: bool) -> Mailer:
    """The SMTP mailer of programme.yaml (checking its credential variables first) with `send`, else the
    outbox (out/outbox/, a preview that never touches the ledger)."""
    from mentorctl.errors import ProgrammeError
    from mentorctl.mail import OutboxMailer, SmtpMailer

    if not send:
        return OutboxMailer(programme.out_dir / "outbox")
    if programme.email is None or programme.email.smtp is None:
        raise ProgrammeError("--send needs email: from and email: smtp (host, port, security) in programme.yaml; "
                             "without --send the emails are written to out/outbox/")
    return SmtpMailer(programme.email.smtp)
