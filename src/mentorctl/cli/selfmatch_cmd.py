"""`mentorctl shortlist` and `mentorctl requests`: self-matching (see README, "Self-matching")."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Annotated, Any

import typer

from mentorctl.cli.console import as_data, console, err_console, print_findings, print_json
from mentorctl.cli.options import (
    JsonOpt,
    NowOpt,
    ProgrammeArg,
    SendOpt,
    command_group,
    mailer_for,
    parse_now,
    write_outbox,
)
from mentorctl.errors import ExitCode

if TYPE_CHECKING:
    from datetime import datetime

    from rich.console import Console

    from mentorctl.mail import DeliveryReport, Mailer, OutgoingMessage
    from mentorctl.programme import Programme
    from mentorctl.roster import Participants
    from mentorctl.selfmatch.requests import RequestsStep
    from mentorctl.selfmatch.shortlists import Unsent

app = command_group()


@app.command()
def shortlist(
    programme: ProgrammeArg = ".",
    size: Annotated[int | None, typer.Option("--size", min=1, max=50, help="Mentors per shortlist (default "
                                             "self_matching.size, else 5).")] = None,
    exposure: Annotated[float | None, typer.Option("--exposure", min=1.0, help="A mentor is on at most exposure × "
                                                   "remaining capacity shortlists (default self_matching.exposure, "
                                                   "else 2).")] = None,
    now: NowOpt = None,
    send: SendOpt = False,
    as_json: JsonOpt = False,
) -> None:
    """Give every mentee a balanced shortlist of mentors to choose from, and email it to them.

    Shortlists are chosen together: as many mentees as possible get one, then as many entries as possible,
    then the best total score, with no mentor on more than exposure × remaining capacity shortlists. Writes
    out/shortlists.csv and .xlsx (mentee, rank, mentor, score, why), out/no-shortlist.csv (who got none and
    why) and one email per mentee into out/outbox/ (or sent with --send; each sent once, recorded in the
    ledger). In request mode, mentors already full and mentors a mentee was declined by are left out.
    In a running programme (relationships.csv exists, packs went out, or rolling intake) only the mentees
    `match` would match get a shortlist (newcomers, the waitlist, people marked for rematching), a mentor's
    room is their capacity minus their current pairs, and a pair that ended is never offered; --now gives the day.
    With --json: the summary, every shortlist entry, who has none and why, who was not emailed, the files
    written and what happened to each email.

    \b
    Example: mentorctl shortlist programmes/example --size 5
    """
    from mentorctl.matching.shortlist import build_shortlists
    from mentorctl.programme import load_programme
    from mentorctl.roster import load_participants
    from mentorctl.selfmatch.shortlists import (
        settings_of,
        shortlist_inputs,
        shortlist_messages,
        write_shortlist_outputs,
    )

    prog = load_programme(programme)
    settings = settings_of(prog)
    mailer = mailer_for(prog, send=send)
    participants = load_participants(prog, require_email=send)
    print_findings(participants.warnings)
    moment = parse_now(now, prog)   # dates in the emails, the funnel's start; the day of a running programme
    inputs = shortlist_inputs(prog, participants, moment.date())
    for warning in inputs.warnings:
        err_console.print(f"Warning: {warning}", markup=False, soft_wrap=True)
    result = build_shortlists(prog, participants, size=size or settings.size,
                              exposure=exposure if exposure is not None else settings.exposure,
                              taken=inputs.taken, exclude=inputs.exclude, only=inputs.only, plan=inputs.plan)
    messages = shortlist_messages(prog, participants, result.entries, result.terms, sending=send, now=moment)
    paths = write_shortlist_outputs(result, prog.out_dir)
    out = err_console if as_json else console   # with --json, stdout carries the JSON only
    s = result.summary
    out.print(f"Shortlisted {s.shortlisted} of {s.mentees} mentees: {s.entries} entries (up to {s.size} each), "
              f"{s.mentors_shown} mentors shown, at most {s.max_per_mentor} times each (exposure {s.exposure:g}).",
              markup=False, soft_wrap=True)
    out.print(f"Total score {s.total_score:g}; {s.optimality}.", markup=False, soft_wrap=True)
    if len(result.missing):
        err_console.print(f"Warning: {len(result.missing)} mentee(s) have no shortlist; reasons in "
                          f"{paths['missing']}", markup=False, soft_wrap=True)
    print_findings(u.finding() for u in messages.unsent)
    out.print(f"Wrote {paths['shortlists']}, {paths['xlsx'].name}, {paths['missing'].name}, "
              f"{paths['summary'].name}", markup=False, soft_wrap=True)
    if send and inputs.taken is not None:  # request mode: the state notes who was shortlisted when (for the funnel)
        from mentorctl.selfmatch.requests import load_state, record_shortlists, requests_lock, save_state

        with requests_lock(prog):
            ids = sorted(set(result.entries["mentee_id"]))
            save_state(prog, record_shortlists(load_state(prog), ids, moment))
    report = _deliver(prog, messages.outgoing, mailer, send, out)
    if messages.unsent:
        out.print(f"{len(messages.unsent)} shortlist(s) not emailed (no valid address: "
                  f"{', '.join(u.mentee_id for u in messages.unsent)}).", markup=False, soft_wrap=True)
    if as_json:
        print_json({"summary": as_data(s), "shortlists": _records(result.entries),
                    "without_shortlist": _records(result.missing), "not_emailed": [as_data(u) for u in messages.unsent],
                    "files": {key: str(path) for key, path in paths.items()}, "delivery": as_data(report)})
    if not report.ok:
        raise typer.Exit(ExitCode.PARTIAL_FAILURE)


def _records(frame: Any) -> list[dict[str, Any]]:
    """A table's rows as JSON-ready dicts (numbers stay numbers, empty cells None)."""
    import json

    return json.loads(frame.to_json(orient="records", force_ascii=False))


@app.command()
def requests(
    programme: ProgrammeArg = ".",
    now: NowOpt = None,
    send: SendOpt = False,
    as_json: JsonOpt = False,
) -> None:
    """Advance self-matching requests (self_matching.mode: request) and show where everyone is.

    Reads the mentees' picks (self_matching.choices) and the mentors' answers (self_matching.answers); sends
    each request to its mentor (all at once or one at a time, within the pending caps), reminds mentors after
    remind_after_days, expires requests after expire_after_days, matches a mentee with the first mentor who
    accepts within capacity and withdraws their other requests, and sends a fresh shortlist (without those
    mentors) to mentees whose requests all closed. Without --send it only previews: nothing is saved and the
    emails go to out/outbox/. With --send the state (.mentorctl/requests.json) is saved, out/requests.csv and
    out/matches.csv (accepted pairs) are written, and every email is sent once (ledger). In a running
    programme current pairs hold their places, ended pairs are never requested, and accepted pairs are
    logged in relationships.csv. `mentorctl schedule --install` runs this from cron too. --now tests expiry
    and reminders. With --json: what happened, every request, who is matched, the warnings and the emails.

    \b
    Example: mentorctl requests programmes/example --send
    """
    from mentorctl.programme import load_programme
    from mentorctl.roster import load_participants
    from mentorctl.selfmatch.requests import requests_lock, save_requests, step_requests

    prog = load_programme(programme)
    moment = parse_now(now, prog)
    mailer = mailer_for(prog, send=send)
    participants = load_participants(prog, require_email=send)
    print_findings(participants.warnings)
    out = err_console if as_json else console   # with --json, stdout carries the JSON only
    saved = None
    if not send:
        step = step_requests(prog, participants, now=moment)
        outgoing, unsent = _request_outgoing(prog, participants, step, send=False, now=moment)
    else:
        with requests_lock(prog):
            step = step_requests(prog, participants, now=moment)
            outgoing, unsent = _request_outgoing(prog, participants, step, send=True, now=moment)  # render first
            saved = save_requests(prog, participants, step)
        for warning in saved.warnings:
            err_console.print(f"Warning: {warning}", markup=False, soft_wrap=True)
    _show_requests(step, preview=not send, out=out)
    print_findings(u.finding() for u in unsent)   # fresh shortlists written but not emailed: no valid address
    report = _deliver(prog, outgoing, mailer, send, out)
    if as_json:
        print_json({"preview": not send, "events": list(step.advance.events),
                    "warnings": [f.as_dict() for f in step.findings], "counts": step.state.counts(),
                    "requests": [{"id": r.key, **as_data(r)} for r in step.state.requests],
                    "matched": step.matched(), "fresh_shortlists": list(step.advance.needs_shortlist),
                    "not_emailed": [as_data(u) for u in unsent],
                    "files": [str(p) for p in saved.paths] if saved is not None else [],
                    "delivery": as_data(report)})
    if not report.ok:
        raise typer.Exit(ExitCode.PARTIAL_FAILURE)


def _request_outgoing(prog: Programme, participants: Participants, step: RequestsStep, *, send: bool,
                      now: datetime) -> tuple[list[OutgoingMessage], list[Unsent]]:
    """The request emails and the fresh shortlists' emails; and the fresh shortlists that cannot be emailed."""
    from mentorctl.selfmatch.requests import request_messages
    from mentorctl.selfmatch.shortlists import shortlist_messages

    outgoing = request_messages(prog, participants, step.state, sending=send, now=now)
    if step.fresh is None or not len(step.fresh.entries):
        return outgoing, []
    fresh = shortlist_messages(prog, participants, step.fresh.entries, step.fresh.terms, now=now, sending=send)
    return outgoing + fresh.outgoing, fresh.unsent


def _show_requests(step: RequestsStep, *, preview: bool, out: Console) -> None:
    from rich.table import Table

    for line in step.advance.events:
        out.print(("Would: " if preview else "") + line, markup=False, soft_wrap=True)
    print_findings(step.findings)
    counts = step.state.counts()
    table = Table(title="Requests" + (" (preview: nothing saved)" if preview else ""), title_justify="left")
    table.add_column("status")
    table.add_column("requests", justify="right")
    for status, count in counts.items():
        table.add_row(status, str(count))
    out.print(table)
    matched = step.matched()
    out.print(f"Matched: {len(matched)} mentee(s).", markup=False)
    if step.fresh is not None:
        out.print(f"Fresh shortlists for {len(step.advance.needs_shortlist)} mentee(s) whose requests all "
                  f"closed: {', '.join(step.advance.needs_shortlist)}", markup=False, soft_wrap=True)


def _deliver(prog: Programme, outgoing: Sequence[OutgoingMessage], mailer: Mailer, send: bool,
             out: Console) -> DeliveryReport:
    """Deliver through the ledger (or write the outbox) and print what happened on `out`."""
    from mentorctl.ledger import LEDGER_FILE, Ledger
    from mentorctl.mail import deliver

    if not send:
        report = write_outbox(prog, outgoing, mailer)
        out.print(f"Wrote {len(report.sent)} email(s) into {prog.out_dir / 'outbox'}"
                  + (f" ({report.already_sent_in_preview} already sent: --send skips them)"
                     if report.already_sent_in_preview else "") + ". Check them, then run again with --send.",
                  markup=False, soft_wrap=True)
        return report
    with Ledger(prog.state_dir / LEDGER_FILE) as ledger:
        report = deliver(outgoing, mailer, ledger)
    out.print(f"Sent {len(report.sent)} email(s); {len(report.skipped)} already sent earlier (skipped).",
              markup=False)
    for failure in report.failed:
        err_console.print(f"Failed: {failure.recipient_id} <{failure.recipient}>: {failure.reason}", markup=False)
    if report.unknown:
        err_console.print(f"Warning: {len(report.unknown)} send(s) were interrupted earlier and may or may not "
                          "have arrived; they were not sent again.", markup=False)
    if report.aborted:
        err_console.print(f"Error: sending stopped: {report.aborted}. {len(report.not_attempted)} email(s) not "
                          "attempted; run again to send them.", markup=False)
    return report


def print_choice_summary(summary: dict) -> None:
    """How many got their first, second, … choice; blocking pairs when mentors ranked mentees."""
    choices = summary["choices"]
    ordinal = {"1": "first", "2": "second", "3": "third"}
    parts = [f"{count} their {ordinal.get(rank, rank + 'th')} choice" for rank, count in choices["by_rank"].items()]
    console.print(f"Choices: {', '.join(parts)}; {summary['unmatched']} matched with none of their picks "
                  "(reasons in unmatched.csv).", markup=False, soft_wrap=True)
    blocking = summary.get("blocking_pairs")
    if blocking is not None:
        if blocking:
            shown = ", ".join(f"{b['mentee_id']}–{b['mentor_id']}" for b in blocking[:10])
            err_console.print(f"Warning: {len(blocking)} blocking pair(s) (a mentee and a mentor who both prefer "
                              f"each other to their match): {shown}; `mentorctl match --stable` removes them.",
                              markup=False, soft_wrap=True)
        else:
            console.print("Stable: no mentee and mentor both prefer each other to their match.", markup=False)
