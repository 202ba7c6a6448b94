"""The `mentorctl` command: one Typer app made of the commands of one small module each (`add_typer`).

Heavy libraries (pandas, ortools, jinja2, openpyxl, pydantic, Rich) are imported inside command bodies, and
help is plain text (`rich_markup_mode=None`, Click's formatter), so `mentorctl --help` stays fast.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer
from typer.core import TyperGroup

from mentorctl.cli import (
    init_cmd,
    match_cmd,
    packs_cmd,
    relationships_cmd,
    remind_cmd,
    report_cmd,
    selfmatch_cmd,
    validate_cmd,
)
from mentorctl.cli.console import HANDLED, exit_code_for, state
from mentorctl.errors import ExitCode

DEBUG = "--debug"


class MentorctlGroup(TyperGroup):
    """The `mentorctl` group: the one error path of every command, and `--debug` anywhere on the line."""

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
        and its exit code (`exit_code_for`); `--debug` re-raises domain errors with their traceback."""
        try:
            return super().invoke(ctx)
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
for commands in (init_cmd, validate_cmd, match_cmd, relationships_cmd, packs_cmd, remind_cmd, report_cmd,
                 selfmatch_cmd):
    app.add_typer(commands.app)


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
    """Console-script entry point (also `python -m mentorctl`)."""
    app(prog_name="mentorctl")
