"""`mentorctl report`."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Literal

import typer

from mentorctl.cli.console import console, err_console, plain
from mentorctl.cli.options import JsonOpt, OutOpt, ProgrammeArg, command_group
from mentorctl.errors import ExitCode

if TYPE_CHECKING:
    from mentorctl.report.build import Report


app = command_group()


@app.command()
def report(
    programme: ProgrammeArg = ".",
    period: Annotated[str | None, typer.Option(
        "--period", metavar="START..END",
        help="Only this window, e.g. 2026-01-01..2026-03-31 (either side may be left out). "
             "Default: the programme's start date to its end (or today, while it runs).")] = None,
    compare: Annotated[str | None, typer.Option(
        "--compare", metavar="OTHER_PROGRAMME",
        help="Another programme folder (e.g. last year's cohort) to show side by side.")] = None,
    activity: Annotated[list[str] | None, typer.Option(
        "--activity", metavar="FILE",
        help="Activity log to use instead of those in programme.yaml (repeat for several files).")] = None,
    out: OutOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Write the success report: report.html, report.xlsx, report.md and report.json.

    KPIs from the activity log, the matches and the rosters (plus the HR extract and survey when
    configured), each goal against its target with its trend, breakdowns by the `report_by` fields
    (groups under 5 people hidden) and data-quality notes naming every row that could not be read.

    With --json the report (the content of report.json) is printed on stdout as well.

    \b
    Example: mentorctl report programmes/example --period 2027-01-11..2027-04-30
    """
    from mentorctl import limits
    from mentorctl.errors import MentorctlError
    from mentorctl.programme import load_programme
    from mentorctl.report import build_report, default_period, parse_period
    from mentorctl.report.writers import check_out_dir, write_report

    loaded = load_programme(programme)
    try:
        chosen = parse_period(period, default_period(loaded))
    except ValueError as e:
        raise MentorctlError(f"{e}") from e
    shown = f"--period '{period}'" if period else f"the programme's dates ({chosen.start} to {chosen.end})"
    if not (limits.in_date_range(chosen.start) and limits.in_date_range(chosen.end)):
        raise MentorctlError(f"{shown}: outside the dates mentorctl works with ({limits.DATE_RANGE}); "
                             "give --period inside them")
    if (chosen.end - chosen.start).days > limits.MAX_PERIOD_DAYS:
        raise MentorctlError(f"{shown}: longer than mentorctl's limit of {limits.MAX_PERIOD_DAYS:,} days; "
                             "report a shorter window with --period")
    folder = check_out_dir(out or loaded.out_dir)      # before the work: --out may name a file
    paths = [_from_cwd(a) for a in activity] if activity else None
    result = build_report(loaded, period=chosen, activity_paths=paths, compare=compare)
    written = write_report(result, folder, programme=loaded)
    if as_json:   # the same document as report.json; the problems go to stderr as always
        import sys

        sys.stdout.write(written["json"].read_text(encoding="utf-8").rstrip("\n") + "\n")
        _print_problems(result)
        _fail_when_every_row_was_rejected(result)
        return
    _print_summary(result)
    _print_problems(result)
    html = written["html"]
    others = ", ".join(p.name for f, p in written.items() if f != "html")
    console.print(f"Report written to [bold]{plain(html)}[/bold] (also {plain(others)} in {plain(folder)}).")
    _fail_when_every_row_was_rejected(result)


def _fail_when_every_row_was_rejected(result: Report) -> None:
    """Exit 1 (the report is written, but without its activity) when not one row of the log could be used."""
    quality = result.data_quality
    if not quality.all_activity_rejected:
        return
    files = ", ".join(quality.log_sources)
    err_console.print(f"Error: all {quality.rows_read:,} row(s) of the activity log ({files}) were rejected, "
                      "so the report has no activity from it; fix what the lines above say (often the date "
                      "format) and run again.", markup=False, soft_wrap=True)
    raise typer.Exit(ExitCode.PARTIAL_FAILURE)


def _from_cwd(spec: str) -> str:
    """A --activity path is relative to where the command runs (an Excel `#Sheet` suffix is kept)."""
    file, hash_, sheet = spec.partition("#")
    return str(Path(file).expanduser().resolve()) + hash_ + sheet


def _print_summary(result: Report) -> None:
    from rich.markup import escape
    from rich.table import Table

    from mentorctl.report.writers import coverage_lines, kpi_rows, pace_text, target_text, with_unit

    console.print(f"[bold]{plain(result.programme)}[/bold] · {result.period.start:%d %b %Y} to "
                  f"{result.period.end:%d %b %Y} · {result.population:,} eligible, "
                  f"{result.participants:,} took part")
    console.print(f"[bold]{escape(result.verdict)}[/bold]", soft_wrap=True)
    for line in coverage_lines(result):
        console.print(escape(line), soft_wrap=True)
    if result.goals:
        met, _ = result.goals_met
        goals = Table(title=f"Goals: {met} of {len(result.goals)} met", title_justify="left")
        alignments: tuple[tuple[str, Literal["left", "right"]], ...] = (
            ("Goal", "left"), ("Value", "right"), ("Target", "right"), ("Status", "left"))
        for column, justify in alignments:
            goals.add_column(column, justify=justify)
        colours = {"met": "green", "on track": "green", "behind": "red", "missed": "red", "not met yet": "red"}
        for goal in result.goals:
            status = pace_text(goal.pace)
            colour = colours.get(goal.pace or "")
            goals.add_row(plain(goal.name), with_unit(goal.kpi or "", goal.value),
                          target_text(goal.kpi, goal.target, goal.direction),
                          f"[{colour}]{status}[/{colour}]" if colour else status)
        console.print(goals)
    kpis = Table(title="KPIs", title_justify="left")
    kpis.add_column("Area")
    kpis.add_column("Measure")
    kpis.add_column("Value", justify="right")
    if result.compare is not None:
        kpis.add_column(plain(result.compare.programme), justify="right")
    previous = None
    for row in kpi_rows(result):
        cells = [row["group"] if row["group"] != previous else "", row["label"], with_unit(row["name"], row["value"])]
        if result.compare is not None:
            cells.append(row["compare_text"])
        kpis.add_row(*map(plain, cells))
        previous = row["group"]
    console.print(kpis)


def _print_problems(result: Report, shown: int = 5) -> None:
    """Warnings, rows that could not be used and notes, on stderr (also with --json)."""
    from rich.markup import escape

    from mentorctl.report.writers import clean_text

    for warning in result.warnings:
        err_console.print(f"[yellow]Warning:[/yellow] {escape(warning)}", soft_wrap=True)
    for warning in result.relationships.warnings if result.relationships else ():   # survey answers → follow-ups
        err_console.print(f"[yellow]Warning:[/yellow] {escape(warning)}", soft_wrap=True)
    if result.is_empty:
        err_console.print("[yellow]Warning:[/yellow] no activity was recorded in this period.")

    quality = result.data_quality
    if quality.bad_rows:
        err_console.print(f"[yellow]Warning:[/yellow] {quality.bad_rows:,} row(s) could not be used; they are "
                          "counted in the report (Data quality) and listed in report.xlsx (Rejected rows):")
        for problem in quality.summary()[:shown]:
            rows = ", ".join(str(r) for r in problem["rows"])
            more = " …" if problem["count"] > len(problem["rows"]) else ""
            label = "row" if problem["count"] == 1 else "rows"
            example = clean_text(problem["example"])
            example = f" ('{example[:40]}{'…' if len(example) > 40 else ''}')" if example else ""
            err_console.print(f"  {problem['file']}, {label} {rows}{more}, column {problem['column']}{example}: "
                              f"{problem['problem']} ({problem['count']:,} row(s))", markup=False, soft_wrap=True)
    for note in quality.notes:
        if note.needs_attention:
            err_console.print(f"Note: {note.text}", markup=False, soft_wrap=True)
