"""The `mentorctl` command: a Typer app whose commands live at module level in one small module each.

`COMMANDS` lists them in the order help shows them, with the module that defines each and its line in
`mentorctl --help`. A command's module is imported only when that command runs, shows its help or completes
(Click's lazy subcommands), so `mentorctl --help` imports typer and this module only; heavy libraries
(pandas, ortools, jinja2, openpyxl, pydantic, Rich) are imported inside command bodies, and help is plain
text (`rich_markup_mode=None`, Click's formatter).
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator, Mapping
from typing import Annotated, Any, NoReturn

import typer
from typer.core import TyperGroup

from mentorctl.cli.console import HANDLED, exit_code_for, state
from mentorctl.errors import ExitCode

COMMANDS: tuple[tuple[str, str, str], ...] = (
    # name, module in mentorctl.cli, line in `mentorctl --help`
    ("init", "init_cmd", "Create a programme folder: programme.yaml, rosters, templates."),
    ("validate", "validate_cmd", "Check the programme, rosters and rules: every problem at once."),
    ("match", "match_cmd", "Pair mentees with mentors; write matches.csv, .xlsx and .html."),
    ("explain", "match_cmd", "Why a match, its best alternatives, what would help."),
    ("end", "relationships_cmd", "End a relationship; optionally rematch the mentee."),
    ("pause", "relationships_cmd", "Pause a relationship (no check-in reminders while paused)."),
    ("resume", "relationships_cmd", "Resume a paused relationship."),
    ("extend", "relationships_cmd", "Move a relationship's planned end."),
    ("packs", "packs_cmd", "Welcome packs and emails for every matched participant."),
    ("remind", "remind_cmd", "Send the reminders that fell due, never twice."),
    ("schedule", "remind_cmd", "Print or install the crontab line that runs `remind`."),
    ("upcoming", "remind_cmd", "What will go out in the next N days."),
    ("report", "report_cmd", "KPIs against the goals: report.html, .xlsx, .md and .json."),
    ("shortlist", "selfmatch_cmd", "Self-matching: a balanced shortlist of mentors per mentee."),
    ("requests", "selfmatch_cmd", "Self-matching by request: picks to mentors, answers, expiry."),
)
_MODULE = {name: module for name, module, _ in COMMANDS}


def command_names() -> list[str]:
    return [name for name, _, _ in COMMANDS]


def load_command(name: str) -> Any:
    """The Click command `name`, built by Typer from the module-level command of its module."""
    module = importlib.import_module(f"mentorctl.cli.{_MODULE[name]}")
    built = typer.main.get_command(module.app)
    return built.commands[name] if isinstance(built, TyperGroup) else built


class _LazyCommands(Mapping[str, Any]):
    """The group's commands by name: every name of `COMMANDS` is there, each built on first use."""

    def __init__(self) -> None:
        self._built: dict[str, Any] = {}

    def __getitem__(self, name: str) -> Any:
        if name not in _MODULE:
            raise KeyError(name)
        if name not in self._built:
            self._built[name] = load_command(name)
        return self._built[name]

    def __contains__(self, name: object) -> bool:
        return name in _MODULE

    def __iter__(self) -> Iterator[str]:
        return iter(command_names())

    def __len__(self) -> int:
        return len(_MODULE)


DEBUG = "--debug"
PYDANTIC_PREFIXES = ("Value error, ", "Assertion failed, ")


def strip_pydantic_prefix(message: str) -> str:
    """A pydantic message as a person reads it: without "Value error, " (pydantic's name for a ValueError)."""
    for prefix in PYDANTIC_PREFIXES:
        message = message.removeprefix(prefix)
    return message


class MentorctlGroup(TyperGroup):
    """The `mentorctl` group: the commands of `COMMANDS`, loaded when used; the one error path of every
    command; `--debug` anywhere on the line."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.commands = _LazyCommands()  # type: ignore[assignment]

    def list_commands(self, ctx: Any) -> list[str]:
        return list(self.commands)

    def format_commands(self, ctx: Any, formatter: Any) -> None:
        """The commands' lines in `mentorctl --help`, without importing their modules."""
        with formatter.section("Commands"):
            formatter.write_dl([(name, line) for name, _, line in COMMANDS])

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        """`mentorctl validate X --debug` means `mentorctl --debug validate X` (not after a `--`); plain
        `mentorctl` prints the help on stdout and exits 2 (a usage error)."""
        if not args and not ctx.resilient_parsing:
            typer.echo(ctx.get_help())
            ctx.exit(ExitCode.BAD_INPUT)
        end = args.index("--") if "--" in args else len(args)
        if DEBUG in args[:end]:
            args = [DEBUG, *(a for a in args[:end] if a != DEBUG), *args[end:]]
        return super().parse_args(ctx, args)

    def invoke(self, ctx: Any) -> Any:
        """Run the command; a user's mistake (MentorctlError, OSError) or Ctrl-C becomes one line on stderr
        and its exit code (`exit_code_for`); `--debug` re-raises domain errors with their traceback. A bad
        option value stays Click's usage error (exit 2), without pydantic's "Value error, " prefix."""
        try:
            return super().invoke(ctx)
        except typer.BadParameter as error:
            # Typer converts option values through pydantic: its "Value error, " prefix means nothing here
            error.message = strip_pydantic_prefix(error.message)
            raise
        except HANDLED as error:
            if state.debug and not isinstance(error, KeyboardInterrupt):
                raise
            raise typer.Exit(exit_code_for(error)) from None


app = typer.Typer(
    name="mentorctl",
    cls=MentorctlGroup,
    help="Run a mentoring programme from a folder of plain files: define, validate, match, onboard, remind, "
    "report.\n\nStart with `mentorctl init NAME`, then `mentorctl validate programmes/NAME`. PROGRAMME is a "
    "programme folder or its programme.yaml (default: the current folder); `mentorctl COMMAND --help` shows "
    "every option with an example.",
    no_args_is_help=True,
    add_completion=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    context_settings={"max_content_width": 100},
)


def _version(value: bool) -> None:
    if value:
        from mentorctl import __version__

        typer.echo(f"mentorctl {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    debug: Annotated[bool, typer.Option(DEBUG, help="Show full tracebacks, also for input errors (before or after "
                                                    "the command).")] = False,
    version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True,
                                          help="Print the version and exit.")] = False,
) -> None:
    """mentorctl: mentoring programmes from plain files."""
    state.debug = debug
    if not debug:  # library warnings (pandas, openpyxl…) are for developers: never in a coordinator's terminal
        import warnings

        warnings.simplefilter("ignore")


def run() -> None:
    """Run the command line in this process (ends with SystemExit, as Click does)."""
    app(prog_name="mentorctl")


def console() -> None:
    """The `mentorctl` command (console script and `python -m mentorctl`): `run`, then end the process
    without tearing its modules down. By then every file is written (atomically, fsynced) and the ledger
    committed; the exit handlers still run and the output is flushed, and only the interpreter's teardown of
    pandas, numpy, pydantic … and of every object the command made is skipped: about 0.2 s of a 0.8 s
    1,000-mentee match, 0.4-0.6 s at 50,000. When a thread that is not a daemon is still running, the process
    ends the normal way, which waits for it."""
    try:
        run()
    except SystemExit as stop:
        _end(stop.code)
    _end(0)


def _end(code: object) -> NoReturn:
    import atexit
    import contextlib
    import os
    import sys
    import threading

    if code is None or isinstance(code, int):
        status = code or 0
    else:   # SystemExit("message"): the message on stderr, status 1 (as the interpreter does)
        print(code, file=sys.stderr)
        status = 1
    main = threading.main_thread()
    if any(t.is_alive() and not t.daemon for t in threading.enumerate() if t is not main):
        sys.exit(status)
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):   # a closed pipe or stream: nothing more can be written
            stream.flush()
    os._exit(status)
