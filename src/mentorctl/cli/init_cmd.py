"""`mentorctl init`."""

from __future__ import annotations

import shlex
from typing import Annotated

import typer

from mentorctl.choices import MentoringType
from mentorctl.cli.console import console, plain
from mentorctl.cli.options import ForceOpt, command_group

app = command_group()


@app.command()
def init(
    name: Annotated[str, typer.Argument(metavar="NAME", help="Name of the programme folder to create.")],
    type: Annotated[MentoringType, typer.Option("--type", "-t", help="Mentoring type; sets the defaults.")]
    = MentoringType.ONE_TO_ONE,
    directory: Annotated[str, typer.Option("--dir", metavar="DIR", help="Where programme folders live.")]
    = "programmes",
    force: ForceOpt = False,
) -> None:
    """Create a programme folder: a commented programme.yaml, example rosters and templates.

    With --force an existing programme's files are overwritten.

    \b
    Example: mentorctl init graduates-2027 --type one-to-one
    """
    from mentorctl.scaffold import create_programme

    folder = create_programme(name, type, directory, force=force)
    console.print(f"Created [bold]{plain(folder)}[/bold] ({type.value} programme).")
    console.print("Next: edit programme.yaml and the rosters, then run "
                  f"[bold]mentorctl validate {shlex.quote(str(folder))}[/bold].")
