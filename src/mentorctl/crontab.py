"""The crontab line that runs `mentorctl remind`, and installing or removing it idempotently.

One line per programme, marked with a trailing comment `# mentorctl:<absolute programme folder>`. The crontab
is read and written through a seam: `crontab -l` / `crontab -` by default, or the file named by the
environment variable `MENTORCTL_CRONTAB_FILE` (tests use a temporary file and never touch a real crontab).
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from mentorctl.errors import MentorctlError

CRONTAB_FILE_ENV = "MENTORCTL_CRONTAB_FILE"
MARKER = "# mentorctl:"
DEFAULT_WHEN = "*/15 * * * *"
LOG_FILE = "logs/remind.log"


class CrontabError(MentorctlError):
    """The crontab cannot be read or written."""


@dataclass(frozen=True)
class CrontabChange:
    """The outcome of install/uninstall: the programme's line and whether the crontab changed."""

    line: str
    changed: bool
    where: str


def marker_for(programme_dir: Path) -> str:
    """The comment ending the programme's line (with `%` escaped as in the line itself)."""
    return f"{MARKER}{Path(programme_dir).resolve()}".replace("%", "\\%")


def mentorctl_command() -> list[str]:
    """How cron should start mentorctl: the `mentorctl` script beside this Python, else `python -m mentorctl`."""
    script = Path(sys.executable).parent / "mentorctl"
    if script.is_file() and os.access(script, os.X_OK):
        return [str(script.absolute())]
    return [str(Path(sys.executable).absolute()), "-m", "mentorctl"]


def crontab_line(programme_dir: Path, *, when: str = DEFAULT_WHEN, send: bool = True, requests: bool = False) -> str:
    """The crontab line running `remind` for the programme, logging to `PROGRAMME/logs/remind.log`; with
    `requests` (self-matching in request mode) it then runs `mentorctl requests` too, into the same log.

    Paths are absolute and shell-quoted; `%` (special in crontab) is escaped."""
    from croniter import croniter

    if len(when.split()) != 5 or not croniter.is_valid(when):
        from mentorctl.errors import MentorctlError

        raise MentorctlError(f"--when '{when}' is not a cron schedule of five fields, e.g. '*/15 * * * *' "
                             "(every 15 minutes) or '0 8 * * *' (08:00 daily)")
    folder = Path(programme_dir).resolve()
    args = [*mentorctl_command(), "remind", str(folder)]
    if send:
        args.append("--send")
    command = " ".join(shlex.quote(a) for a in args)
    log = shlex.quote(str(folder / LOG_FILE))
    line = f"{when} {command} >> {log} 2>&1"
    if requests:
        second = [*mentorctl_command(), "requests", str(folder), *(["--send"] if send else [])]
        line += f"; {' '.join(shlex.quote(a) for a in second)} >> {log} 2>&1"
    return f"{line} ".replace("%", "\\%") + marker_for(folder)


def read_crontab() -> str:
    """The current crontab text ('' when there is none)."""
    file = os.environ.get(CRONTAB_FILE_ENV)
    if file:
        path = Path(file)
        return path.read_text(encoding="utf-8") if path.exists() else ""
    if shutil.which("crontab") is None:
        raise CrontabError("the `crontab` program is not installed; install cron, or add the line printed by "
                           "`mentorctl schedule --print` to your scheduler by hand")
    result = subprocess.run(["crontab", "-l"], capture_output=True, text=True, check=False)
    if result.returncode != 0:
        if "no crontab" in (result.stderr or "").lower():
            return ""
        raise CrontabError(f"`crontab -l` failed: {result.stderr.strip() or result.returncode}")
    return result.stdout


def write_crontab(text: str) -> None:
    """Replace the crontab with `text`."""
    file = os.environ.get(CRONTAB_FILE_ENV)
    if file:
        from mentorctl.files import atomic_write_text

        atomic_write_text(file, text)
        return
    result = subprocess.run(["crontab", "-"], input=text, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise CrontabError(f"`crontab -` refused the new crontab: {result.stderr.strip() or result.returncode}")


def _where() -> str:
    return os.environ.get(CRONTAB_FILE_ENV) or "your crontab"


def _without(text: str, marker: str) -> list[str]:
    return [line for line in text.splitlines() if not line.rstrip().endswith(marker)]


def install(programme_dir: Path, *, when: str = DEFAULT_WHEN, send: bool = True,
            requests: bool = False) -> CrontabChange:
    """Add (or replace) the programme's line; running it twice leaves one line. Creates `logs/`."""
    from croniter import croniter

    if not croniter.is_valid(when):
        raise CrontabError(f"'{when}' is not a cron schedule; write e.g. '*/15 * * * *'")
    folder = Path(programme_dir).resolve()
    (folder / "logs").mkdir(parents=True, exist_ok=True)
    line = crontab_line(folder, when=when, send=send, requests=requests)
    current = read_crontab()
    lines = _without(current, marker_for(folder))
    new = "\n".join([*lines, line]) + "\n"
    changed = new != (current if current.endswith("\n") or not current else current + "\n")
    if changed:
        write_crontab(new)
    return CrontabChange(line=line, changed=changed, where=_where())


def uninstall(programme_dir: Path) -> CrontabChange:
    """Remove the programme's line (if any); other lines are kept as they are."""
    folder = Path(programme_dir).resolve()
    current = read_crontab()
    marker = marker_for(folder)
    kept = _without(current, marker)
    removed = [line for line in current.splitlines() if line.rstrip().endswith(marker)]
    if removed:
        write_crontab("\n".join(kept) + "\n" if kept else "")
    return CrontabChange(line=removed[0] if removed else "", changed=bool(removed), where=_where())


def installed_line(programme_dir: Path) -> str | None:
    """The programme's line in the crontab, if installed."""
    marker = marker_for(Path(programme_dir))
    return next((line for line in read_crontab().splitlines() if line.rstrip().endswith(marker)), None)
