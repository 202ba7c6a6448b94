"""`mentorctl init`: scaffold a new programme folder from commented templates."""

from __future__ import annotations

import re
import shutil
from datetime import date, datetime, timedelta
from importlib.resources import files
from pathlib import Path

from mentorctl.errors import MentorctlError, OutputExistsError
from mentorctl.files import atomic_write_text
from mentorctl.programme import MentoringType

_DEFAULT_CAPACITY = {MentoringType.ONE_TO_ONE: 2, MentoringType.REVERSE: 1, MentoringType.PEER: 1,
                     MentoringType.GROUP: 6}


def scaffold_dir() -> Path:
    return Path(str(files("mentorctl") / "scaffold"))


def create_programme(name: str, kind: MentoringType = MentoringType.ONE_TO_ONE, directory: str | Path = "programmes",
                     *, force: bool = False, today: date | None = None) -> Path:
    """Create `directory/name/` with programme.yaml, example rosters and a templates/ folder; return it."""
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]*", name):
        raise MentorctlError(f"'{name}' is not a usable folder name; use letters, digits, '-', '_' or '.'")
    folder = Path(directory) / name
    target = folder / "programme.yaml"
    if target.exists() and not force:
        raise OutputExistsError(f"{folder} already holds a programme; nothing was changed. "
                                "Use --force to overwrite its programme.yaml and example rosters")
    from mentorctl.templating import render_plain_text

    # The local calendar date (tz-aware): the programme's own time zone is not chosen yet.
    start = (today or datetime.now().astimezone().date()) + timedelta(weeks=4)
    start -= timedelta(days=start.weekday())  # a Monday
    text = render_plain_text((scaffold_dir() / "programme.yaml.j2").read_text(encoding="utf-8"), dict(
        title=name.replace("-", " ").replace("_", " ").title(), type=kind.value, start_date=start.isoformat(),
        capacity=_DEFAULT_CAPACITY[kind], folder=str(folder)))
    folder.mkdir(parents=True, exist_ok=True)
    atomic_write_text(target, text)
    for roster in sorted((scaffold_dir() / kind.value).glob("*.csv")):  # example rosters that fit the type
        atomic_write_text(folder / roster.name, roster.read_text(encoding="utf-8"))
    _copy_templates(folder / "templates")
    return folder


def _copy_templates(destination: Path) -> None:
    """Copy the built-in templates for editing (never over a file the coordinator already has)."""
    destination.mkdir(parents=True, exist_ok=True)
    readme = destination / "README.md"
    if not readme.exists():
        atomic_write_text(readme, "Templates here override mentorctl's built-in ones with the same file name.\n"
                          "Edit them freely; delete one to go back to the built-in version.\n")
    from mentorctl.templating import builtin_templates_dir

    source = builtin_templates_dir()
    for template in sorted(source.rglob("*.j2")):
        relative = template.relative_to(source)
        if relative.name.startswith("report"):
            continue
        copy = destination / relative
        if not copy.exists():
            copy.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(template, copy)
