"""`mentorctl match` and `mentorctl explain`."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from typer.core import TyperCommand

from mentorctl.cli.console import as_data, console, err_console, plain, print_findings, print_json
from mentorctl.cli.options import (
    ForceOpt,
    JsonOpt,
    MatchesOpt,
    OnOpt,
    OutOpt,
    ProgrammeArg,
    command_group,
    parse_day,
)

if TYPE_CHECKING:
    from mentorctl.matching.explain import Explanation
    from mentorctl.matching.summary import MatchSummary

app = command_group()


@app.command()
def match(
    programme: ProgrammeArg = ".",
    out: OutOpt = None,
    force: ForceOpt = False,
    keep: Annotated[Path | None, typer.Option("--keep", metavar="FILE", help="CSV of current pairs to keep (e.g. "
                                              "matches.csv minus ended pairs); only the others are matched.")
                    ] = None,
    workers: Annotated[int, typer.Option("--workers", metavar="N", min=1, help="CP-SAT worker threads (side "
                                         "constraints and peer programmes); 1 is reproducible.")] = 1,
    seed: Annotated[int | None, typer.Option("--seed", metavar="N", help="Solver seed (default matching.seed).")
                    ] = None,
    stable: Annotated[bool, typer.Option("--stable", help="Self-matching with mentors' rankings: a stable "
                                         "matching (deferred acceptance) instead of the rank-maximal one.")
                      ] = False,
    on: OnOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Match mentees with mentors as programme.yaml asks; write out/matches.csv, matches.xlsx,
    unmatched.csv, match-summary.json and matches.html (the matching on one page to review).

    Pairs follow every eligibility rule, capacity, pin, forbidden pair and history; the objective is
    optimal (min-cost flow, proven over every eligible pair) or, with side constraints, CP-SAT's status,
    bound and gap are shown. A matches file edited by hand is replaced only with --force (a backup of it
    is kept beside it).

    In a running programme (relationships.csv exists, welcome packs went out, or `design.intake: rolling`)
    current pairs are kept, ended pairs never repeat, and only newcomers and people marked for rematching
    are matched, the longest-waiting first; unmatched mentees join the waitlist. --on gives the day of
    this match.

    With --json the summary (as in match-summary.json) and the files written are printed as JSON.

    \b
    Example: mentorctl match programmes/example
    """
    from mentorctl.matching import solve, write_match_outputs
    from mentorctl.matching.html import write_matches_page
    from mentorctl.programme import load_programme
    from mentorctl.relationships import (
        Event,
        annotate_match,
        append_events,
        carried_waitlist,
        frozen_starts,
        is_running,
        load_lifecycle,
        match_events,
        match_plan,
        with_events,
    )
    from mentorctl.roster import load_participants

    prog = load_programme(programme)
    day = parse_day(on, "--on", prog)
    with _progress() as step:
        step("reading rosters", None, None)
        participants = load_participants(prog)
        print_findings(participants.warnings)
        from mentorctl.selfmatch.choose import match_on_picks, uses_picks

        life = load_lifecycle(prog, participants, day) if is_running(prog) else None
        carried: list[Event] = []  # pairs known only from matches.csv, people left unmatched: logged once it matched
        if life is not None:
            carried = [*frozen_starts(life), *carried_waitlist(life, (out or prog.out_dir) / "unmatched.csv")]
            life = with_events(life, carried)
        plan = match_plan(life) if life is not None else None
        for warning in life.warnings if life is not None else ():
            err_console.print(f"Warning: {warning}", markup=False, soft_wrap=True)
        if uses_picks(prog):  # self_matching.mode: mentee-prefers (see cli/selfmatch_cmd.py)
            outcome = match_on_picks(prog, participants, stable=True if stable else None, plan=plan)
            print_findings(outcome.findings)
            result = outcome.result
        else:
            result = solve(prog, participants, keep=keep, workers=workers, seed=seed, progress=step,
                           plan=plan)
        if life is not None and plan is not None:
            result = annotate_match(result, plan, day, prog)
        step("writing files", None, None)
        if carried:   # before matches.csv is rewritten, so that the pairs it alone knew outlive it
            life = append_events(prog, participants, carried, day)
        paths = write_match_outputs(result, out or prog.out_dir, force)
        if life is not None:
            waiting = result.unmatched.loc[result.unmatched["waitlist_position"].notna(), "participant_id"]
            append_events(prog, participants, match_events(life, result.pairs, waiting.tolist(), day), day,
                          matches=result.pairs)
        page = write_matches_page(prog, result, out or prog.out_dir)
    from mentorctl.errors import Finding

    print_findings(Finding("warning", w) for w in result.summary.warnings or ())
    if not as_json:
        _print_summary(result.summary)
        if result.summary.choices is not None:
            from mentorctl.cli.selfmatch_cmd import print_choice_summary

            print_choice_summary(result.summary.as_dict())
    for key in ("backup_matches", "backup_xlsx"):
        if key in paths:
            err_console.print(f"Kept your edited file as {paths[key]}", markup=False)
    if as_json:
        print_json({"summary": as_data(result.summary),
                    "files": {**{key: str(path) for key, path in paths.items()}, "html": str(page)}})
        return
    console.print(f"Wrote {paths['matches']}, {paths['xlsx'].name}, {paths['unmatched'].name}, "
                  f"{paths['summary'].name}, {page.name}", markup=False, soft_wrap=True)


class _ProgrammeThenId(TyperCommand):
    """`explain [PROGRAMME] ID`: the programme may be left out (the current folder), the id may not."""

    def collect_usage_pieces(self, ctx: Any) -> list[str]:
        return [self.options_metavar or "[OPTIONS]", "[PROGRAMME]", "ID"]


@app.command(cls=_ProgrammeThenId)
def explain(
    first: Annotated[str | None, typer.Argument(
        metavar="PROGRAMME", show_default=False,
        help="Programme folder or its programme.yaml (default: the current folder).")] = None,
    person_id: Annotated[str | None, typer.Argument(
        metavar="ID", show_default=False, help="A mentee's, mentor's or peer's id.")] = None,
    matches: MatchesOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Explain a match: each scoring term, the best alternatives and why they were not chosen, what each
    eligibility rule removed, and for someone unmatched what would change it.

    \b
    Example: mentorctl explain programmes/example E0005

    \b
    Example: mentorctl explain E0005 --json (inside the programme folder)
    """
    from mentorctl.matches import read_matches
    from mentorctl.matching import explain as explain_person
    from mentorctl.programme import load_programme
    from mentorctl.roster import load_participants

    programme, person_id = (".", first) if person_id is None else (first or ".", person_id)  # `explain ID`
    if not person_id or (first == person_id and (Path(first).is_dir() or first.endswith((".yaml", ".yml")))):
        raise typer.BadParameter("give the id of a mentee, mentor or peer after the programme, e.g. "
                                 "mentorctl explain programmes/example E0005", param_hint="ID")
    prog = load_programme(programme)
    participants = load_participants(prog)
    path = matches or prog.out_dir / "matches.csv"
    frame = read_matches(prog, path) if path.exists() or matches else None
    result = explain_person(prog, participants, person_id, frame)
    if as_json:
        print_json({**_explanation_data(result), "matches_file": str(path) if frame is not None else None})
        return
    _print_explanation(result, frame is None)


def _explanation_data(result: Explanation) -> dict[str, Any]:
    """The explanation as plain data; each eligibility rule with the candidates it removes."""
    data = as_data(result)
    data["rule_removals"] = [{"rule": rule, "removes": count} for rule, count in result.rule_removals]
    return data


def _progress():
    """A context manager yielding step(message, done, total) that drives a Rich progress display (on a
    terminal: elsewhere a transient display shows nothing, so none is built)."""
    from contextlib import contextmanager, nullcontext

    if not err_console.is_terminal:
        return nullcontext(lambda message, done, total: None)

    from rich.progress import (
        BarColumn,
        Progress,
        SpinnerColumn,
        TaskProgressColumn,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    @contextmanager
    def manager():  # steps with a count (building candidate pairs) show a bar and the time left
        bar = Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), TaskProgressColumn(),
                       TimeElapsedColumn(), TextColumn("left"), TimeRemainingColumn(),
                       console=err_console, transient=True)
        task = bar.add_task("starting", total=None)
        with bar:
            def step(message: str, done: int | None, total: int | None) -> None:
                bar.update(task, description=message, completed=done or 0, total=total)
            yield step

    return manager()


def _print_summary(summary: MatchSummary) -> None:
    from rich.table import Table

    from mentorctl.matching.output import summary_rows

    status = summary.status
    colour = "green" if status == "OPTIMAL" else "yellow"
    table = Table(title=f"Matching: [{colour}]{status}[/{colour}]", show_header=False, title_justify="left")
    for item, value in summary_rows(summary):
        table.add_row(plain(item), plain(value))
    console.print(table)


def _print_explanation(result: Explanation, no_matches: bool) -> None:
    from rich.markup import escape
    from rich.table import Table

    title = f"{result.role} {result.person_id}" + (f" ({result.name})" if result.name else "")
    console.print(f"[bold]{escape(title)}[/bold]")
    if no_matches:
        console.print("No matches file yet: run `mentorctl match` first; showing eligibility only.")
    for note in result.notes:
        console.print(f"  {escape(note)}")
    if result.coverage and not no_matches:
        who = "people" if result.role == "participant" else "mentees"
        shown = ", ".join(f"{v} with {k}" for k, v in sorted(result.coverage.items(), key=lambda kv: -int(kv[0])))
        console.print(f"  Programme coverage ({who} by {'partners' if who == 'people' else 'mentors'}): {shown}",
                      markup=False)
    if result.role == "mentor":
        table = Table("mentee", "name", "score", title="Mentees", title_justify="left")
        for m in result.matched:
            table.add_row(plain(m.id), escape(m.name or ""), f"{m.score:g}")
        console.print(table)
        return
    if result.matched:
        for m in result.matched:
            console.print(f"Matched with {m.id} ({m.name or ''}): score {m.score:g}", markup=False)
            table = Table("term", "contribution")
            for term, value in m.terms.items():
                table.add_row(plain(term), f"{value:g}")
            console.print(table)
    else:
        console.print("[yellow]Not matched.[/yellow]")
    if result.alternatives:
        terms = list(result.alternatives[0].terms)
        table = Table("candidate", "name", "score", *map(plain, terms), "why not chosen", title="Best eligible alternatives",
                      title_justify="left")
        for a in result.alternatives:
            table.add_row(plain(a.id), escape(a.name or ""), f"{a.score:g}",
                          *(f"{a.terms[t]:g}" for t in terms), plain(a.why or ""))
        console.print(table)
    table = Table("eligibility rule", "candidates it removes", title=f"Eligibility: {result.eligible} of "
                  f"{result.candidates} candidates", title_justify="left")
    for rule, count in result.rule_removals:
        table.add_row(escape(rule), str(count))
    console.print(table)
    for suggestion in result.suggestions:
        console.print(f"  • {escape(suggestion)}")
