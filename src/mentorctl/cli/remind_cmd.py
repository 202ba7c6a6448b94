"""`mentorctl remind`, `mentorctl schedule` and `mentorctl upcoming`: reminders from cron."""

from __future__ import annotations

from collections import Counter
from datetime import datetime, time, timedelta
from typing import TYPE_CHECKING, Annotated

import typer

from mentorctl.cli.console import console, err_console, handle_errors, plain
from mentorctl.limits import MAX_DAYS_AHEAD

if TYPE_CHECKING:
    from mentorctl.mail import Mailer
    from mentorctl.programme import Programme

ProgrammeArg = Annotated[str, typer.Argument(help="Programme folder or its programme.yaml.")]
NowOption = Annotated[str | None, typer.Option(
    "--now", metavar="ISO-DATETIME",
    help="Pretend it is this moment (e.g. 2027-03-01T09:30 or 2027-03-01 for the end of that day), in the "
         "programme's time zone unless an offset is given.")]


def parse_now(text: str | None, programme: Programme) -> datetime:
    """`--now`: an ISO date-time (naive = programme time zone), a date (= the end of that day), or now."""
    from mentorctl import limits
    from mentorctl.errors import MentorctlError
    from mentorctl.reminders import localize

    tz = programme.tz
    if not text:
        return datetime.now(tz)
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError as e:
        raise MentorctlError(f"--now '{text}' is not an ISO date or date-time that exists; write e.g. "
                             "2027-03-01T09:30") from e
    if not limits.in_date_range(moment.date()):
        raise MentorctlError(f"--now '{text}' is outside the dates mentorctl works with ({limits.DATE_RANGE})")
    try:
        if len(text.strip()) == 10:
            return localize(datetime.combine(moment.date(), time(23, 59, 59)), tz)
        return localize(moment, tz)
    except (ValueError, OverflowError) as e:
        raise MentorctlError(f"--now '{text}' cannot be placed in the programme's time zone ({e})") from e


def _when(moment: datetime) -> str:
    return f"{moment:%a %d %b %Y %H:%M}"


SUMMARY_ABOVE = 25  # more messages than this are summarised per reminder unless --details


def register(app: typer.Typer) -> None:
    @app.command()
    @handle_errors
    def remind(
        programme: ProgrammeArg = ".",
        now: NowOption = None,
        dry_run: Annotated[bool, typer.Option("--dry-run", help="Show what is due; send and record nothing.")] = False,
        send: Annotated[bool, typer.Option("--send", help="Send through the SMTP server in programme.yaml "
                                                          "(default: write .eml files to out/outbox/).")] = False,
        retry_unknown: Annotated[bool, typer.Option(
            "--retry-unknown", help="Re-send reminders an interrupted run left unconfirmed (may duplicate).")] = False,
        details: Annotated[bool, typer.Option(
            "--details", help=f"One row per message even when there are more than {SUMMARY_ABOVE}.")] = False,
    ) -> None:
        """Send every reminder that fell due and was not yet sent to that person.

        After a gap (cron was down) each person gets only the latest due occurrence of each reminder, once.
        Exits 0 when done (also when nothing was due, or another run holds the lock), 1 when some sends
        failed (listed), 2 for a configuration error. Run it from cron: see `mentorctl schedule`.

        Example: mentorctl remind programmes/example --now 2027-02-08T10:00 --dry-run
        """
        from rich.table import Table

        from mentorctl.errors import LockedError, ProgrammeError
        from mentorctl.programme import load_programme
        from mentorctl.reminders import RunMode, run_reminders

        if dry_run and send:
            raise ProgrammeError("choose one of --dry-run and --send")
        prog = load_programme(programme)
        moment = parse_now(now, prog)
        mailer: Mailer | None = None
        mode = RunMode.DRY_RUN if dry_run else RunMode.SEND if send else RunMode.OUTBOX
        if mode == RunMode.SEND:
            from mentorctl.mail import SmtpMailer

            if prog.email is None or prog.email.smtp is None:
                raise ProgrammeError("--send needs email.smtp in programme.yaml (host, port, security); "
                                     "without --send, reminders are written to out/outbox/")
            mailer = SmtpMailer(prog.email.smtp)
        elif mode == RunMode.OUTBOX:
            from mentorctl.mail import OutboxMailer

            mailer = OutboxMailer(prog.out_dir / "outbox")
        try:
            result = run_reminders(prog, moment, mode=mode, mailer=mailer, retry_unknown=retry_unknown)
        except LockedError as e:
            err_console.print(str(e), markup=False)
            raise typer.Exit(0) from None

        verb = {RunMode.SEND: "sent", RunMode.OUTBOX: "written to out/outbox/", RunMode.DRY_RUN: "would send"}[mode]
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
        if result.skipped:
            summary += f"; {result.skipped} older occurrence(s) skipped (catch-up sends only the latest)"
        console.print(summary + "." if result.rows or result.skipped else
                      f"Nothing due at {_when(result.now)} ({prog.programme.timezone}).")
        if result.unknown:
            err_console.print(f"Warning: {len(result.unknown)} reminder(s) were interrupted by an earlier run and "
                              "may or may not have arrived; they are not re-sent (run with --retry-unknown to "
                              "send them again).", markup=False)
        if result.aborted:
            err_console.print(f"Error: sending stopped: {result.aborted}", markup=False)
        for row in result.failed:
            err_console.print(f"Failed: {row.reminder_id} to {row.name} <{row.email or 'no email'}>: "
                              f"{row.detail or row.outcome}", markup=False)
        if not result.ok:
            raise typer.Exit(1)

    @app.command()
    @handle_errors
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

        Example: mentorctl schedule programmes/example --install
        """
        from mentorctl import crontab
        from mentorctl.errors import MentorctlError
        from mentorctl.programme import load_programme

        if install + uninstall + print_line > 1:
            raise MentorctlError("choose one of --install, --uninstall and --print")
        prog = load_programme(programme)
        folder = prog.base_dir
        smtp = prog.email.smtp if prog.email is not None else None
        send = not outbox and smtp is not None
        requests = prog.self_matching is not None and prog.self_matching.mode.value == "request"
        if uninstall:
            change = crontab.uninstall(folder)
            console.print(f"Removed from {change.where}:" if change.changed else
                          f"No mentorctl line for {folder} in {change.where}; nothing to remove.")
            if change.changed:
                console.print(change.line, markup=False, soft_wrap=True)
            return
        if install:
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
    @handle_errors
    def upcoming(
        programme: ProgrammeArg = ".",
        days: Annotated[int, typer.Option("--days", min=1, max=MAX_DAYS_AHEAD,
                                          help="How many days ahead to look.")] = 14,
        now: NowOption = None,
    ) -> None:
        """List the reminders that will go out in the next N days, with how many people each reaches.

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
        start = parse_now(now, prog)
        end = start + timedelta(days=days)
        found = upcoming_reminders(prog, start, end, programme_schedule(prog))
        if not found:
            console.print(f"No reminders between {_when(start)} and {_when(end)} ({prog.programme.timezone}).")
            return
        participants = load_participants(prog)
        directory = Directory(prog, participants, load_matches_for(prog, participants, start.date()))
        needs_activity = any(item.inactive_for is not None for _, item in found)
        activity = load_activity_for(prog, participants) if needs_activity else None
        table = Table(title=f"Reminders from {_when(start)} to {_when(end)} ({prog.programme.timezone})",
                      title_justify="left")
        narrow = console.width < 100  # an 80-column terminal or cron log: leave the template out
        columns = ["When", "Reminder", "To", "Recipients"] if narrow else ["When", "Reminder", "To", "Template",
                                                                            "Recipients"]
        for column in columns:
            table.add_column(column, overflow="fold", no_wrap=column == "When")
        for moment, item in found:
            if item.to is Audience.PAIRS and directory.matches is None:
                count = "no matches yet"
            else:
                inactive = None
                if item.inactive_for is not None and directory.matches is not None:
                    inactive = inactive_pairs(prog, directory.matches, activity, start, item.inactive_for)
                count = str(len(directory.audience(item.to, inactive)))
                if inactive is not None and item.inactive_for is not None:
                    count += f" (inactive {item.inactive_for.days}+ days)"
            cells = [_when(moment), plain(item.id), item.to.value, plain(item.template), plain(count)]
            table.add_row(*(cells[:3] + cells[4:] if narrow else cells))
        console.print(table)
