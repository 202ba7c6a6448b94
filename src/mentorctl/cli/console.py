"""Console helpers shared by every command: Rich consoles (made on first use), the one error path, findings
and JSON output."""

from __future__ import annotations

import sys
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from mentorctl.errors import ExitCode, Finding, MentorctlError

if TYPE_CHECKING:
    from rich.console import Console


class _LazyConsole:
    """A Rich console created on first use: `mentorctl --help` never imports Rich (it costs ~50 ms)."""

    def __init__(self, *, stderr: bool) -> None:
        self._stderr = stderr
        self._console: Console | None = None

    def get(self) -> Console:
        if self._console is None:
            from rich.console import Console

            self._console = Console(stderr=self._stderr, highlight=False)
        return self._console

    def __getattr__(self, name: str) -> Any:
        return getattr(self.get(), name)

    def __enter__(self) -> Console:   # Rich's Live (progress bars) enters its console
        return self.get().__enter__()

    def __exit__(self, *exc: object) -> None:
        self.get().__exit__(*exc)


console: Console = _LazyConsole(stderr=False)  # type: ignore[assignment]
err_console: Console = _LazyConsole(stderr=True)  # type: ignore[assignment]


class _State:
    debug: bool = False


state = _State()


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
        return ExitCode.INTERRUPTED
    if isinstance(error, MentorctlError):
        report_error(error)
        return int(error.exit_code)
    if isinstance(error, OSError):
        err_console.print(f"Error: {describe_os_error(error)}", markup=False, soft_wrap=True)
        return ExitCode.BAD_INPUT
    raise error


def plain(value: Any) -> str:
    """A value from the user's files (a name, id, path, heading) made safe to print with Rich markup on:
    `[red]` or `[/x]` is shown as written, never interpreted."""
    from rich.markup import escape

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


def print_json(data: Any) -> None:
    """Machine-readable output (`--json`): one JSON document on stdout; dates and paths as text."""
    import json

    sys.stdout.write(json.dumps(data, indent=2, ensure_ascii=False, default=str) + "\n")


def as_data(value: Any) -> Any:
    """A result as plain data for `--json`: its `as_dict()` when it has one, a dataclass field by field."""
    import dataclasses

    if hasattr(value, "as_dict"):
        return value.as_dict()
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    return value
