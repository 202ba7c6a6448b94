"""`mentorctl shortlist` and `mentorctl requests`: self-matching (see README, "Self-matching")."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Annotated

import typer

from mentorctl.cli.console import console, err_console, handle_errors, mailer_for, print_findings

if TYPE_CHECKING:
    from mentorctl.mail import DeliveryReport, Mailer, OutgoingMessage
    from mentorctl.programme import Programme

ProgrammeArg = Annotated[str, typer.Argument(help="Programme folder or its programme.yaml.")]
SendOpt = Annotated[bool, typer.Option("--send", help="Send through the SMTP server in programme.yaml (default: "
                                                      "write .eml files to out/outbox/ for checking).")]


@handle_errors
def shortlist(
    programme: ProgrammeArg = ".",
    size: Annotated[int | None, typer.Option("--size", min=1, max=50, help="Mentors per shortlist (default "
                                             "self_matching.size, else 5).")] = None,
    exposure: Annotated[float | None, typer.Option("--exposure", min=1.0, help="A mentor is on at most exposure × "
                                                   "remaining capacity shortlists (default self_matching.exposure, "
                                                   "else 2).")] = None,
    send: SendOpt = False,
) -> None:
    """Give every mentee a balanced shortlist of mentors to choose from, and email it to them.

    Shortlists are chosen together: as many mentees as possible get one, then as many entries as possible,
    then the best total score, with no mentor on more than exposure × remaining capacity shortlists. Writes
    out/shortlists.csv and .xlsx (mentee, rank, mentor, score, why), out/no-shortlist.csv (who got none and
    why) and one email per mentee into out/outbox/ (or sent with --send; each sent once, recorded in the
    ledger). In request mode, mentors already full and mentors a mentee was declined by are left out.

    Example: mentorctl shortlist programmes/example --size 5
    """
    from mentorctl.matching.shortlist import build_shortlists
    from mentorctl.programme import load_programme
    from mentorctl.roster import load_participants
    from mentorctl.selfmatch.shortlists import settings_of, shortlist_messages, write_shortlist_outputs

    prog = load_programme(programme)
    settings = settings_of(prog)
    mailer = mailer_for(prog, send=send)
    participants = load_participants(prog, require_email=send)
    print_findings(participants.warnings)
    taken, exclude = _request_state(prog)
    result = build_shortlists(prog, participants, size=size or settings.size,
                              exposure=exposure if exposure is not None else settings.exposure,
                              taken=taken, exclude=exclude)
    messages = shortlist_messages(prog, participants, result.entries, result.terms, sending=send)
    paths = write_shortlist_outputs(result, prog.out_dir)
    s = result.summary
    console.print(f"Shortlisted {s.shortlisted} of {s.mentees} mentees: {s.entries} entries (up to {s.size} each), "
                  f"{s.mentors_shown} mentors shown, at most {s.max_per_mentor} times each (exposure {s.exposure:g}).",
                  markup=False, soft_wrap=True)
    console.print(f"Total score {s.total_score:g}; {s.optimality}.", markup=False, soft_wrap=True)
    if len(result.missing):
        err_console.print(f"Warning: {len(result.missing)} mentee(s) have no shortlist; reasons in "
                          f"{paths['missing']}", markup=False, soft_wrap=True)
    for person in messages.without_email:
        err_console.print(f"Warning: {person} has no email address; shortlist written, no email.", markup=False)
    console.print(f"Wrote {paths['shortlists']}, {paths['xlsx'].name}, {paths['missing'].name}, "
                  f"{paths['summary'].name}", markup=False, soft_wrap=True)
    report = _deliver(prog, messages.outgoing, mailer, send)
    if not report.ok:
        raise typer.Exit(1)


def _request_state(prog):  # noqa: ANN001, ANN202
    """Places taken and pairs to leave out, from the request state (request mode), else nothing."""
    from mentorctl.programme import SelfMatchingMode

    if prog.self_matching is None or prog.self_matching.mode is not SelfMatchingMode.REQUEST:
        return None, None
    return None, None  # request state: see `mentorctl requests` (next)


def _deliver(prog: Programme, outgoing: Sequence[OutgoingMessage], mailer: Mailer, send: bool) -> DeliveryReport:
    """Deliver through the ledger (or write the outbox) and print what happened."""
    from mentorctl.ledger import LEDGER_FILE, Ledger
    from mentorctl.mail import deliver

    path = prog.state_dir / LEDGER_FILE
    if not send:
        ledger = Ledger(path) if path.exists() else None
        try:
            report = deliver(outgoing, mailer, ledger)
        finally:
            if ledger is not None:
                ledger.close()
        console.print(f"Wrote {len(report.sent)} email(s) into {prog.out_dir / 'outbox'}"
                      + (f" ({report.already_sent_in_preview} already sent: --send skips them)"
                         if report.already_sent_in_preview else "") + ". Check them, then run again with --send.",
                      markup=False, soft_wrap=True)
        return report
    with Ledger(path) as ledger:
        report = deliver(outgoing, mailer, ledger)
    console.print(f"Sent {len(report.sent)} email(s); {len(report.skipped)} already sent earlier (skipped).",
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


def register(app: typer.Typer) -> None:
    """Add this module's commands to the app."""
    app.command()(shortlist)


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
