"""`mentorctl validate`."""

from __future__ import annotations

from typing import Annotated

import typer

from mentorctl.cli.console import console, plain, print_findings, print_json
from mentorctl.cli.options import JsonOpt, ProgrammeArg, command_group
from mentorctl.errors import ExitCode

app = command_group()


@app.command()
def validate(
    programme: ProgrammeArg = ".",
    as_json: JsonOpt = False,
    for_sending: Annotated[bool, typer.Option("--for-sending",
                                              help="Treat missing or invalid emails as errors.")] = False,
) -> None:
    """Check programme.yaml, the rosters and the rules; report every problem at once.

    Exits 0 when valid (perhaps with warnings), 2 when something must be fixed.

    \b
    Example: mentorctl validate programmes/example
    """
    from rich.table import Table

    from mentorctl.validation import validate_programme

    report = validate_programme(programme, require_email=for_sending)
    if report.programme is not None:
        from mentorctl.errors import Finding, Location
        from mentorctl.matching.output import match_set_warnings

        report.findings.extend(Finding("warning", w, Location("out/")) for w in
                               match_set_warnings(report.programme.out_dir))
    if as_json:
        print_json(report.as_dict())
    else:
        print_findings(report.findings)
        summary = report.summary()
        if summary:
            table = Table(title=plain(summary.pop("name")), show_header=False, title_justify="left")
            for key, value in summary.items():
                table.add_row(key.replace("_", " "), plain(value))
            console.print(table)
        verdict = "[green]valid[/green]" if report.ok else "[red]not valid[/red]"
        console.print(f"{plain(report.path)}: {verdict} — {len(report.errors)} error(s), "
                      f"{len(report.warnings)} warning(s).")
    if not report.ok:
        raise typer.Exit(ExitCode.BAD_INPUT)
