"""`mentorctl packs`: onboarding packs and welcome emails for every matched participant."""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import nullcontext
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from mentorctl.cli.console import console, err_console, is_interactive, print_json
from mentorctl.cli.options import (
    JsonOpt,
    MatchesOpt,
    OnOpt,
    ProgrammeArg,
    RetryUnknownOpt,
    SendOpt,
    command_group,
    mailer_for,
    parse_day,
    write_outbox,
)
from mentorctl.errors import ExitCode

if TYPE_CHECKING:
    from rich.console import Console

    from mentorctl.ledger import Ledger
    from mentorctl.mail import DeliveryReport, Mailer, OutgoingMessage
    from mentorctl.packs import Pack, PackSet


app = command_group()


@app.command()
def packs(
    programme: ProgrammeArg = ".",
    matches: MatchesOpt = None,
    only: Annotated[list[str] | None, typer.Option(
        "--only", metavar="ID", help="Only this participant (repeat for more).")] = None,
    send: SendOpt = False,
    resend: Annotated[bool, typer.Option(
        "--resend", help="With --send: send again to people who already received their pack.")] = False,
    retry_unknown: RetryUnknownOpt = False,
    on: OnOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Render onboarding packs and welcome emails for every matched participant; optionally send them.

    Writes out/packs/ID.html (print-friendly) and ID.md, and each welcome email (pack attached, kick-off
    invitation as .ics) as out/outbox/ID-welcome.eml. With --send the emails go through the SMTP
    server in programme.yaml, user name and password from the environment variables it names. Every
    send is recorded: a re-run sends only what is missing, and an edited matches.csv sends a new pack
    only to the people whose match changed. Everything is rendered before anything is sent.

    In a running programme (see `mentorctl match`) only newly matched or rematched people get a welcome
    pack, and both people of every ended pair get the closure message (templates/closure.md.j2), once.

    Exits 0 when done, 1 when some sends failed (listed), 2 for bad input or a template error.

    \b
    Example: mentorctl packs programmes/example (then check out/outbox/)

    \b
    Example: mentorctl packs programmes/example --send

    \b
    Example: mentorctl packs programmes/example --json (each pack, its files and what happened to its email)
    """
    from mentorctl.errors import Location, ProgrammeError, RosterError
    from mentorctl.ledger import LEDGER_FILE, Ledger
    from mentorctl.matches import read_matches
    from mentorctl.packs import build_packs, changed_packs, outgoing_messages, write_packs
    from mentorctl.programme import load_programme
    from mentorctl.relationship_mail import closure_messages, record_welcomed, welcome_selection
    from mentorctl.relationships import is_running, load_lifecycle
    from mentorctl.roster import load_participants

    if (resend or retry_unknown) and not send:
        raise ProgrammeError("--resend and --retry-unknown only make sense with --send")
    prog = load_programme(programme)
    mailer = mailer_for(prog, send=send)   # with --send: checks the credential variables before any work
    say = (err_console if as_json else console).print   # with --json, stdout carries the JSON only
    participants = load_participants(prog)   # no address: a warning, that pack is written and not emailed
    pairs = read_matches(prog, matches, participants=participants)
    if matches is None:
        from mentorctl.matching.output import match_set_warnings

        for warning in match_set_warnings(prog.out_dir):
            err_console.print(f"Warning: {warning}", markup=False, soft_wrap=True)
    ledger_path = prog.state_dir / LEDGER_FILE
    life = None
    newcomers: set[str] = set()
    if is_running(prog) and matches is None:   # welcome only the newly matched; closures for ended pairs
        life = load_lifecycle(prog, participants, parse_day(on, "--on", prog), pairs)
        with Ledger(ledger_path) if ledger_path.exists() else nullcontext() as known:
            pairs, selected = welcome_selection(prog, life, pairs, known)
        newcomers = set(selected)
    with console.status("Rendering packs…") if is_interactive() else nullcontext():
        rendered = build_packs(prog, participants, pairs, only=only)
    if rendered.excluded:   # never introduce someone the programme keeps out (no consent, say)
        more = f" ({len(rendered.excluded)} such pairs)" if len(rendered.excluded) > 1 else ""
        raise RosterError(f"{rendered.excluded[0]}{more}; remove the row (in a running programme: `mentorctl end`) "
                          "or change design.eligibility — no pack was written",
                          location=Location(str(matches or "out/matches.csv")))
    changed = changed_packs(prog, rendered.packs) if life is not None and not send else set()
    written = write_packs(prog, rendered.packs)
    outgoing = outgoing_messages(prog, rendered.packs, sending=send)
    if life is not None:   # a pack changed only by an ended pair is not a welcome: it stays unsent
        person_of = {p.key: p.person_id for p in rendered.packs}
        ended = {who for r in life.state.ended for who in r.key}
        with Ledger(ledger_path) if ledger_path.exists() else nullcontext() as known:
            sent_before = known.statuses([o.key for o in outgoing]) if known is not None else {}
        outgoing = [o for o in outgoing if person_of[o.key] in newcomers or o.key in sent_before
                    or person_of[o.key] not in ended]
        closures = closure_messages(prog, participants, life)
        # who this run welcomes: a welcome --send would send (not sent before); in a preview, only the packs
        # that changed since the last run (without a ledger, every pack is "not sent before")
        welcome = [o for o in outgoing if str(sent_before.get(o.key, "")) != "sent"
                   and (send or o.key in changed)]
        say(f"Running programme: {len(welcome)} newly matched or changed "
            f"{'person' if len(welcome) == 1 else 'people'} to welcome, "
            f"{len(closures)} closure message{_s(closures)} for ended pairs.")
        outgoing += closures
    say(f"Rendered {len(rendered.packs)} pack{_s(rendered.packs)} into {_shown(prog.out_dir / 'packs')} "
                  f"({len(written)} files).")
    for pair in rendered.broken_pairs:
        err_console.print(f"Warning: matches file {pair.message}.", markup=False)
    for what in rendered.over_capacity:
        err_console.print(f"Warning: matches file: {what}.", markup=False)
    for person in rendered.without_email:
        err_console.print(f"Warning: {person} has no email address; pack written, no email.", markup=False)
    for person, value in rendered.invalid_email:
        err_console.print(f"Warning: {person}: '{value}' is not an email address; pack written, no email.",
                          markup=False)

    unreachable = [*rendered.without_email, *(person for person, _ in rendered.invalid_email)]
    if send and rendered.packs and len(unreachable) == len(rendered.packs):
        example = next((f"{person}: '{value}' is not an email address" for person, value in rendered.invalid_email),
                       f"{unreachable[0]} has none")
        raise RosterError(f"nobody in the packs has a usable email address ({example}); check which column "
                          "`rosters.columns.email` maps — nothing was sent")
    if not send:
        report = write_outbox(prog, outgoing, mailer)
        say(f"Wrote {len(report.sent)} welcome email{_s(report.sent)} into {_shown(prog.out_dir / 'outbox')}.")
        if report.already_sent_in_preview:
            say(f"{report.already_sent_in_preview} of them were already sent; --send would skip them.")
        say("Check them, then run again with --send.")
        if as_json:
            print_json(_packs_data(rendered, written, report))
        return

    from mentorctl.ledger import send_lock

    # One sender at a time (packs and remind share the lock): what a live run is sending is never
    # "unknown" to this one, so --retry-unknown cannot send it twice.
    with send_lock(prog.state_dir, "packs --send", wait_seconds=SEND_LOCK_WAIT_SECONDS,
                   on_wait=lambda message: err_console.print(f"{message}…", markup=False)), \
            Ledger(ledger_path) as ledger:
        if retry_unknown:
            cleared = ledger.clear_unknown("pack:")
            if cleared:
                say(f"Retrying {cleared} unconfirmed send(s) from an interrupted run.")
        report = _deliver_with_progress(outgoing, mailer, ledger, resend=resend)
        record_welcomed(ledger, rendered.packs, report.sent)
    _summary(report, err_console if as_json else console)
    if unreachable:
        say(f"Not emailed ({len(unreachable)}, no usable address on the roster): {', '.join(unreachable[:10])}"
            + (" …" if len(unreachable) > 10 else "") + "; add the address and run again to send theirs.")
    if as_json:
        print_json(_packs_data(rendered, written, report))
    if not report.ok:
        raise typer.Exit(ExitCode.PARTIAL_FAILURE)


SEND_LOCK_WAIT_SECONDS = 600


def _deliver_with_progress(outgoing: Sequence[OutgoingMessage], mailer: Mailer, ledger: Ledger | None, *,
                           resend: bool) -> DeliveryReport:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    from mentorctl.mail import deliver

    columns = (TextColumn("Sending"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    with Progress(*columns, console=err_console, transient=True, disable=not is_interactive()) as progress:
        task = progress.add_task("send", total=len(outgoing))
        return deliver(outgoing, mailer, ledger, resend=resend,
                       on_progress=lambda done, total, item, outcome: progress.update(task, completed=done))


def _packs_data(rendered: PackSet, written: Sequence[Path], report: DeliveryReport) -> dict[str, Any]:
    """`packs --json`: each pack (who, for whom, its files), what happened to its welcome email, the totals."""
    outcome: dict[str, str] = {}
    for name, keys in (("sent", report.sent), ("already sent", report.skipped), ("unconfirmed", report.unknown),
                       ("not attempted", report.not_attempted)):
        outcome.update(dict.fromkeys(keys, name))
    failed = {f.recipient_id: f.reason for f in report.failed}
    stems: dict[str, list[str]] = {}
    for path in written:
        stems.setdefault(path.stem, []).append(str(path))

    def email_outcome(pack: Pack) -> str | None:
        if pack.key in outcome:
            return outcome[pack.key]
        return "failed" if pack.person_id in failed and pack.email else None

    return {
        "preview": report.preview,
        "packs": [{"id": p.person_id, "role": p.role, "name": p.name, "email": p.email,
                   "counterparts": list(p.counterpart_ids), "group": list(p.group_ids),
                   "files": stems.get(p.file_stem, []), "email_outcome": email_outcome(p),
                   "email_error": failed.get(p.person_id) if email_outcome(p) == "failed" else None}
                  for p in rendered.packs],
        "emails": {"sent": len(report.sent), "already_sent": len(report.skipped), "unconfirmed": len(report.unknown),
                   "failed": [{"id": f.recipient_id, "email": f.recipient, "reason": f.reason} for f in report.failed],
                   "not_attempted": len(report.not_attempted), "aborted": report.aborted,
                   "already_sent_in_preview": report.already_sent_in_preview},
        "without_email": list(rendered.without_email),
        "invalid_email": [{"id": person, "email": value} for person, value in rendered.invalid_email],
        "broken_pairs": [pair.message for pair in rendered.broken_pairs],
        "over_capacity": rendered.over_capacity,
    }


def _summary(report: DeliveryReport, out: Console) -> None:
    from rich.table import Table

    table = Table(title="Emails", title_justify="left")
    table.add_column("Outcome")
    table.add_column("Count", justify="right")
    rows = [("sent now", len(report.sent)), ("already sent (skipped)", len(report.skipped)),
            ("unconfirmed from an interrupted run", len(report.unknown)), ("failed", len(report.failed)),
            ("not attempted", len(report.not_attempted))]
    for label, count in rows:
        if count or label in ("sent now", "failed"):
            table.add_row(label, str(count))
    out.print(table)
    for failure in report.failed:
        err_console.print(f"Failed: {failure.recipient_id} <{failure.recipient}>: {failure.reason}", markup=False)
    if report.unknown:
        err_console.print(f"Warning: {len(report.unknown)} send(s) were interrupted earlier and may or may not "
                          "have arrived; they were not sent again. Use --retry-unknown to send them.",
                          markup=False)
    if report.aborted:
        err_console.print(f"Error: sending stopped: {report.aborted}. {len(report.not_attempted)} email(s) not "
                          "attempted; run again to send them.", markup=False)
    elif report.failed:
        err_console.print("Run again to retry the failed ones after fixing the addresses.", markup=False)


def _shown(path: str | Path) -> str:
    from mentorctl.cli.console import plain

    try:
        return plain(Path(path).relative_to(Path.cwd()))
    except ValueError:
        return plain(path)


def _s(items: object) -> str:
    """Plural ending for a count of `items`."""
    return "" if len(items) == 1 else "s"  # type: ignore[arg-type]
