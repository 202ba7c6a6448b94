"""`mentorctl remind`, `mentorctl schedule` and `mentorctl upcoming`: reminders from cron."""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Annotated, Any

import typer

from mentorctl.cli.console import console, err_console, plain, print_json
from mentorctl.cli.options import (
    CronAction,
    Delivery,
    JsonOpt,
    NowOpt,
    ProgrammeArg,
    RetryUnknownOpt,
    SendOpt,
    command_group,
    mailer_for,
    one_of,
    parse_now,
)
from mentorctl.errors import ExitCode
from mentorctl.limits import MAX_DAYS_AHEAD

if TYPE_CHECKING:
    from mentorctl.mail import Mailer
    from mentorctl.reminders import RemindResult

app = command_group()


def _when(moment: datetime) -> str:
    return f"{moment:%a %d %b %Y %H:%M}"


SUMMARY_ABOVE = 25  # more messages than this are summarised per reminder unless --details


@app.command()
def remind(
    programme: ProgrammeArg = ".",
    now: NowOpt = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Show what is due; send and record nothing "
                                          "(instead of --send or the outbox).")] = False,
    send: SendOpt = False,
    retry_unknown: RetryUnknownOpt = False,
    details: Annotated[bool, typer.Option(
        "--details", help=f"One row per message even when there are more than {SUMMARY_ABOVE}.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Send every reminder that fell due and was not yet sent to that person.

    After a gap (cron was down) each person gets only the latest due occurrence of each reminder, once.
    Without --send the reminders are written to out/outbox/; --dry-run only shows them. Exits 0 when done
    (also when nothing was due, or another run holds the lock), 1 when some sends failed (listed), 2 for a
    configuration error. A recipient without an email address is a warning ("skipped: no email address"),
    not a failure, in every mode. Run it from cron: see `mentorctl schedule`.

    \b
    Example: mentorctl remind programmes/example --now 2027-02-08T10:00 --dry-run

    \b
    Example: mentorctl remind programmes/example --dry-run --json (one object per message)
    """
    from rich.table import Table

    from mentorctl.errors import LockedError
    from mentorctl.programme import load_programme
    from mentorctl.reminders import run_reminders

    mode = one_of(Delivery.OUTBOX, dry_run=dry_run, send=send)
    prog = load_programme(programme)
    moment = parse_now(now, prog)
    mailer: Mailer | None = None if mode is Delivery.DRY_RUN else mailer_for(prog, send=mode is Delivery.SEND)
    try:
        result = run_reminders(prog, moment, mode=mode, mailer=mailer, retry_unknown=retry_unknown)
    except LockedError as e:
        err_console.print(str(e), markup=False)
        if as_json:
            print_json({"mode": mode.value, "locked": str(e), "messages": []})
        raise typer.Exit(ExitCode.OK) from None
    if as_json:
        print_json(_remind_data(result, prog.programme.timezone))
        _print_problems(result)
        if not result.ok:
            raise typer.Exit(ExitCode.PARTIAL_FAILURE)
        return

    verb = {Delivery.SEND: "sent", Delivery.OUTBOX: "written to out/outbox/", Delivery.DRY_RUN: "would send"}[mode]
    if len(result.rows) > SUMMARY_ABOVE and not details:
        table = Table(title=f"Reminders at {_when(result.now)} ({prog.programme.timezone}); "
                            "--details lists every message", title_justify="left")
        for column in ("Due", "Reminder", "Outcome", "Messages"):
            table.add_column(column, justify="right" if column == "Messages" else "left")
        groups = Counter((row.occurrence, row.reminder_id, row.outcome) for row in result.rows)
        for (occurrence, reminder_id, outcome), count in sorted(groups.items()):
            style = "red" if outcome in ("failed", "not attempted", "unknown") else None
            table.add_row(_when(occurrence), plain(reminder_id), plain(outcome), str(count), style=style)
        console.print(table)
    elif result.rows:
        table = Table(title=f"Reminders at {_when(result.now)} ({prog.programme.timezone})",
                      title_justify="left")
        for column in ("Due", "Reminder", "To", "Email", "Outcome"):
            table.add_column(column, overflow="fold", no_wrap=column == "Due",
                             max_width=32 if column == "Reminder" else None)
        for row in result.rows:
            outcome = row.outcome + (f": {row.detail}" if row.detail else "")
            style = "red" if row.outcome in ("failed", "not attempted", "unknown") else None
            table.add_row(_when(row.occurrence), plain(row.reminder_id), plain(row.name or row.recipient_id),
                          plain(row.email or "—"), plain(outcome), style=style)
        console.print(table)
    done = sum(1 for r in result.rows if r.outcome in ("sent", "written", "would send"))
    summary = f"{done} reminder(s) {verb}"
    if result.failed:
        summary += f", {len(result.failed)} failed"
    if result.no_address:
        summary += f", {len(result.no_address)} skipped (no email address)"
    if result.skipped:
        summary += f"; {result.skipped} older occurrence(s) skipped (catch-up sends only the latest)"
    console.print(summary + "." if result.rows or result.skipped else
                  f"Nothing due at {_when(result.now)} ({prog.programme.timezone}).")
    _print_problems(result)
    if not result.ok:
        raise typer.Exit(ExitCode.PARTIAL_FAILURE)


def _print_problems(result: RemindResult) -> None:
    if result.unknown:
        err_console.print(f"Warning: {len(result.unknown)} reminder(s) were interrupted by an earlier run and "
                          "may or may not have arrived; they are not re-sent (run with --retry-unknown to "
                          "send them again).", markup=False)
    if result.aborted:
        err_console.print(f"Error: sending stopped: {result.aborted}", markup=False)
    for row in result.no_address:
        err_console.print(f"Warning: {row.reminder_id} to {row.name or row.recipient_id} skipped: {row.detail}; "
                          "add an email address to the roster to reach them.", markup=False)
    for row in result.failed:
        err_console.print(f"Failed: {row.reminder_id} to {row.name} <{row.email or 'no email'}>: "
                          f"{row.detail or row.outcome}", markup=False)


def _remind_data(result: RemindResult, timezone: str) -> dict[str, Any]:
    """`remind --json`: one object per message with its outcome, and the totals."""
    return {
        "now": result.now.isoformat(), "timezone": timezone, "mode": str(result.mode),
        "messages": [{"due": row.occurrence.isoformat(), "reminder": row.reminder_id, "to": row.recipient_id,
                      "name": row.name, "email": row.email, "template": row.template, "outcome": row.outcome,
                      "detail": row.detail or None} for row in result.rows],
        "done": sum(1 for r in result.rows if r.outcome in ("sent", "written", "would send")),
        "failed": len(result.failed), "no_email": len(result.no_address), "older_skipped": result.skipped, "unconfirmed": list(result.unknown),
        "aborted": result.aborted, "ok": result.ok,
    }

@app.command()
def schedule(
    programme: ProgrammeArg = ".",
    install: Annotated[bool, typer.Option("--install", help="Add the line to your crontab (idempotent).")] = False,
    uninstall: Annotated[bool, typer.Option("--uninstall", help="Remove this programme's line.")] = False,
    print_line: Annotated[bool, typer.Option("--print", help="Print the crontab line (the default).")] = False,
    when: Annotated[str, typer.Option("--when", help="How often cron runs `remind` (a cron schedule in the "
                                                     "machine's time zone).")] = "*/15 * * * *",
    outbox: Annotated[bool, typer.Option("--outbox", help="Let cron write to out/outbox/ instead of sending "
                                                          "(the default when email.smtp is not set).")] = False,
) -> None:
    """Print, install or remove the crontab line that runs `mentorctl remind` for this programme.

    The line uses absolute paths, logs to PROGRAMME/logs/remind.log and ends with a comment
    `# mentorctl:<programme folder>`, so installing twice leaves one line. Reminder times are in the
    programme's time zone whatever the machine's; cron only decides how often `remind` checks.
    Set MENTORCTL_CRONTAB_FILE to edit a file instead of your crontab.

    \b
    Example: mentorctl schedule programmes/example --install
    """
    from mentorctl import crontab
    from mentorctl.programme import load_programme

    action = one_of(CronAction.PRINT, install=install, uninstall=uninstall, print=print_line)
    prog = load_programme(programme)
    folder = prog.base_dir
    smtp = prog.email.smtp if prog.email is not None else None
    send = not outbox and smtp is not None
    requests = prog.self_matching is not None and prog.self_matching.mode.value == "request"
    if action is CronAction.UNINSTALL:
        change = crontab.uninstall(folder)
        console.print(f"Removed from {change.where}:" if change.changed else
                      f"No mentorctl line for {folder} in {change.where}; nothing to remove.")
        if change.changed:
            console.print(change.line, markup=False, soft_wrap=True)
        return
    if action is CronAction.INSTALL:
        change = crontab.install(folder, when=when, send=send, requests=requests)
        console.print(f"Installed in {change.where}:" if change.changed else
                      f"Already installed in {change.where}:")
        console.print(change.line, markup=False, soft_wrap=True)
    else:
        console.print(crontab.crontab_line(folder, when=when, send=send, requests=requests), markup=False,
                      soft_wrap=True)
    if not send:
        err_console.print("Note: without email.smtp in programme.yaml (or with --outbox) cron writes reminders "
                          "to out/outbox/ instead of sending them.", markup=False)
    elif smtp is not None:
        names = [n for n in (smtp.username_env, smtp.password_env) if n]
        if names:
            err_console.print(
                f"Note: cron does not see your shell's variables. Give it {' and '.join(names)}: add "
                f"{' and '.join(f'{n}=…' for n in names)} lines above this one (crontab -e), readable only "
                "by you; see the README, 'Running reminders from cron'.", markup=False, soft_wrap=True)

@app.command()
def upcoming(
    programme: ProgrammeArg = ".",
    days: Annotated[int, typer.Option("--days", min=1, max=MAX_DAYS_AHEAD,
                                      help="How many days ahead to look.")] = 14,
    now: NowOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """List the reminders that will go out in the next N days, with how many people each reaches.

    \b
    Example: mentorctl upcoming programmes/example --days 30
    """
    from rich.table import Table

    from mentorctl.programme import Audience, load_programme
    from mentorctl.reminders import (
        Directory,
        inactive_pairs,
        load_activity_for,
        load_matches_for,
        programme_schedule,
        upcoming_reminders,
    )
    from mentorctl.roster import load_participants

    prog = load_programme(programme)
    start = parse_now(now, prog, date_is_start=True)   # `--now 2027-01-11`: from that day's first message
    end = start + timedelta(days=days)
    # from `start` itself (upcoming_reminders counts (start, end]): a message at that very minute is upcoming
    found = upcoming_reminders(prog, start - timedelta(microseconds=1), end, programme_schedule(prog))
    zone = prog.programme.timezone
    if not found and not as_json:
        console.print(f"No reminders between {_when(start)} and {_when(end)} ({zone}).")
        return
    rows: list[dict[str, Any]] = []
    if found:
        participants = load_participants(prog)
        directory = Directory(prog, participants, load_matches_for(prog, participants, start.date()))
        needs_activity = any(item.inactive_for is not None for _, item in found)
        activity = load_activity_for(prog, participants) if needs_activity else None
        for moment, item in found:
            row: dict[str, Any] = {"when": moment.isoformat(), "reminder": item.id, "to": item.to.value,
                                   "template": item.template, "recipients": None, "inactive_days": None}
            if not (item.to is Audience.PAIRS and directory.matches is None):   # else: no matches yet
                inactive = None
                if item.inactive_for is not None and directory.matches is not None:
                    inactive = inactive_pairs(prog, directory.matches, activity, start, item.inactive_for)
                row["recipients"] = len(directory.audience(item.to, inactive))
                if inactive is not None and item.inactive_for is not None:
                    row["inactive_days"] = item.inactive_for.days
            rows.append(row)
    if as_json:
        print_json({"from": start.isoformat(), "to": end.isoformat(), "timezone": zone, "reminders": rows})
        return
    table = Table(title=f"Reminders from {_when(start)} to {_when(end)} ({zone})", title_justify="left")
    narrow = console.width < 100  # an 80-column terminal or cron log: leave the template out
    columns = ["When", "Reminder", "To", "Recipients"] if narrow else ["When", "Reminder", "To", "Template",
                                                                        "Recipients"]
    for column in columns:
        table.add_column(column, overflow="fold", no_wrap=column == "When")
    for (moment, _), row in zip(found, rows, strict=True):
        count = "no matches yet" if row["recipients"] is None else str(row["recipients"])
        if row["inactive_days"] is not None:
            count += f" (inactive {row['inactive_days']}+ days)"
        cells = [_when(moment), plain(row["reminder"]), row["to"], plain(row["template"]), plain(count)]
        table.add_row(*(cells[:3] + cells[4:] if narrow else cells))
    console.print(table)
