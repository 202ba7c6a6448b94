"""The `mentorctl` command: a Typer app whose commands live in one small module each.

Heavy libraries (pandas, ortools, jinja2, openpyxl) are imported inside command bodies, so `--help` is fast.
"""

from __future__ import annotations

import importlib
from typing import Annotated

import typer

from mentorctl.cli.console import HANDLED, exit_code_for, state

COMMAND_MODULES = ("init_cmd", "validate_cmd", "match_cmd", "relationships_cmd", "packs_cmd", "remind_cmd",
                   "report_cmd", "selfmatch_cmd")

app = typer.Typer(
    name="mentorctl",
    help="Run a mentoring programme from a folder of plain files: define, validate, match, onboard, remind, "
    "report.\n\nStart with `mentorctl init NAME`, then `mentorctl validate programmes/NAME`.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode="markdown",
)


def _version(value: bool) -> None:
    if value:
        from mentorctl import __version__

        typer.echo(f"mentorctl {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    debug: Annotated[bool, typer.Option("--debug", help="Show full tracebacks, also for input errors.")] = False,
    version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True,
                                          help="Print the version and exit.")] = False,
) -> None:
    """mentorctl: mentoring programmes from plain files."""
    state.debug = debug
    if not debug:  # library warnings (pandas, openpyxl…) are for developers: never in a coordinator's terminal
        import warnings

        warnings.simplefilter("ignore")


for _name in COMMAND_MODULES:
    importlib.import_module(f"mentorctl.cli.{_name}").register(app)


def run() -> None:
    """Console-script entry point."""
    try:
        app()
    except HANDLED as error:  # raised outside a command body (an option callback): the same one path
        if state.debug and not isinstance(error, KeyboardInterrupt):
            raise
        raise SystemExit(exit_code_for(error)) from None
