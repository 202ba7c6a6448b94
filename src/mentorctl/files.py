"""Writing outputs safely: atomically, protected against spreadsheet formula injection (CSV here; workbooks in
`xlsx.py`, through the same `neutralise_formula`), and never silently over a file the coordinator has edited.

Crash safety. Every output goes to a temporary file `.NAME.<pid>.<random>.tmp` beside it, is flushed to disk,
then renamed over NAME, so a reader sees the old file or the new one, never half of one. A run killed between
those steps leaves the temporary file behind; the next write into the same folder removes every such file
whose process is gone (`clean_stale_temporaries`). The manifest `.mentorctl-outputs.json` records, per file,
the digest of what mentorctl wrote and the id of the run that wrote it; `write_output` records the new digest
*before* the rename, so a kill between rename and record never makes a later run take mentorctl's own file
for one the coordinator edited. Files written by one run carry the same run id (`output_runs`), so a set of
outputs mixing two runs (a kill half-way through) can be recognised and reported."""

from __future__ import annotations

import errno
import fcntl
import hashlib
import json
import os
import re
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO, cast

from mentorctl.errors import OutputError, OutputExistsError

if TYPE_CHECKING:
    import pandas as pd

MANIFEST = ".mentorctl-outputs.json"
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "|", "%")
"""What a spreadsheet may run as a formula when a text cell starts with it (`neutralise_formula`)."""


def atomic_write_bytes(path: str | Path, data: bytes) -> Path:
    """Write `data` to a temporary file beside `path`, flush it to disk, then rename it over `path`."""
    target = Path(path)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        clean_stale_temporaries(target.parent)
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.{os.getpid()}.", suffix=TEMP_SUFFIX, dir=target.parent)
    except OSError as e:
        raise OutputError(f"cannot write {target}: {e.strerror or e}; choose a folder you can write to "
                          "(e.g. --out DIR)") from e
    try:
        os.fchmod(fd, _mode_for(target))  # mkstemp makes 0600; outputs should be as readable as any file
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target


TEMP_SUFFIX = ".tmp"
_TEMPORARY = re.compile(r"^\..+\.(\d+)\.[^.]+\.tmp$")


def clean_stale_temporaries(folder: str | Path) -> list[Path]:
    """Remove the temporary files an interrupted write left in `folder`: those named
    `.NAME.<pid>.<random>.tmp` whose process no longer runs. A live run's temporary file is kept."""
    where = Path(folder)
    removed = []
    try:
        names = os.listdir(where)
    except OSError:
        return []
    for name in names:
        match = _TEMPORARY.match(name)
        if match and not _alive(int(match.group(1))):
            try:
                (where / name).unlink()
                removed.append(where / name)
            except OSError:
                pass
    return removed


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError):
        return pid > 0
    return True


def new_run_id() -> str:
    """An id for one run's outputs: UTC time to the microsecond and a random part, e.g.
    `20270301T093000.250000Z-4f2a9c`. Ids sort by time (two runs in the same second included: the later run's
    files are told from an interrupted earlier one's by the larger id)."""
    import secrets

    return f"{datetime.now(UTC):%Y%m%dT%H%M%S.%fZ}-{secrets.token_hex(3)}"


def _mode_for(target: Path) -> int:
    """The permissions an output gets: those of the file it replaces, else 0666 less the umask."""
    try:
        return target.stat().st_mode & 0o777
    except OSError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask


@contextmanager
def exclusive_lock(path: str | Path, *, wait: bool | float = True, owner: str = "",
                   on_wait: Callable[[], None] | None = None,
                   sleep: Callable[[float], None] | None = None) -> Iterator[bool]:
    """Hold an exclusive `fcntl.flock` on `path` (created with its folder) for the block; yields whether it
    is held.

    `wait=True` queues behind another holder; `wait=False` (or 0) yields False at once when someone else holds
    it; a number of seconds tries again every second up to then (calling `on_wait()` once, before the first
    wait), then yields False. After False the block must not do the guarded work. The kernel releases the lock
    when the process ends, so a crashed run never leaves it stuck. While held, the file says who holds it
    (`<owner> <pid>`, for the message another run shows: `lock_holder`); it is emptied on release."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    with open(target, "a+", encoding="utf-8") as handle:
        if not _acquire(handle, wait, on_wait, sleep or time.sleep):
            yield False
            return
        try:
            handle.seek(0)
            handle.truncate()
            handle.write(f"{owner} {os.getpid()}\n".lstrip())
            handle.flush()
            yield True
        finally:
            handle.seek(0)
            handle.truncate()
            handle.flush()
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def _acquire(handle: TextIO, wait: bool | float, on_wait: Callable[[], None] | None,
             sleep: Callable[[float], None]) -> bool:
    if wait is True:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        return True
    waited = 0.0
    while not _try_flock(handle):
        if waited >= float(wait):
            return False
        if waited == 0 and on_wait is not None:
            on_wait()
        sleep(1.0)
        waited += 1.0
    return True


def _try_flock(handle: TextIO) -> bool:
    try:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as e:
        if e.errno in (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK):
            return False
        raise
    return True


def lock_holder(path: str | Path) -> tuple[str, int] | None:
    """(owner, pid) written by the current holder of an `exclusive_lock`, None when unknown."""
    try:
        owner, _, pid = Path(path).read_text(encoding="utf-8").strip().rpartition(" ")
    except OSError:
        return None
    return (owner, int(pid)) if owner and pid.isdigit() else None


def atomic_write_text(path: str | Path, text: str, encoding: str = "utf-8") -> Path:
    return atomic_write_bytes(path, text.encode(encoding))


# -- file names derived from roster values -------------------------------------------------------------------

MAX_STEM = 80
_WINDOWS_RESERVED = re.compile(r"(?i)^(con|prn|aux|nul|com[0-9]|lpt[0-9])(\..*)?$")


def safe_file_stem(text: str, fallback: str = "file", max_length: int = MAX_STEM) -> str:
    """A file name (without extension) made from any text, e.g. a roster id: accents dropped, every run of
    characters other than ASCII letters, digits, `_` and `-` becomes one `-` (so no `/`, `\\`, `..`, NUL,
    spaces), no leading or trailing `-`/`_`, Windows' reserved names (`CON`, `NUL`, `COM1`…) get a `_`, and
    at most `max_length` characters (a longer one is cut and ends with a hash of the whole text)."""
    import unicodedata

    ascii_text = unicodedata.normalize("NFKD", str(text)).encode("ascii", "ignore").decode("ascii")
    stem = re.sub(r"[^A-Za-z0-9_-]+", "-", ascii_text).strip("-_") or fallback
    if len(stem) > max_length:
        stem = stem[:max_length - 9].rstrip("-_") + "-" + _short_hash(str(text))
    if _WINDOWS_RESERVED.match(stem):
        stem += "_"
    return stem


def _short_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:8]


def unique_file_stems(texts: list[str], fallback: str = "file") -> dict[str, str]:
    """{text: stem}: `safe_file_stem` of each, made unique — when distinct texts give the same stem (ignoring
    case, as macOS and Windows do), each of them gets `-<hash of its text>` appended, so the names do not
    depend on the order of the rows."""
    return dedupe_stems({text: safe_file_stem(text, fallback) for text in dict.fromkeys(texts)})


def dedupe_stems(stems: Mapping[str, str]) -> dict[str, str]:
    """{key: stem} with every stem unique ignoring case: stems shared by several keys each get
    `-<hash of the key>` appended (the same names whatever the order of the keys)."""
    stems = dict(stems)
    by_stem: dict[str, list[str]] = {}
    for text, stem in stems.items():
        by_stem.setdefault(stem.casefold(), []).append(text)
    for clashing in (group for group in by_stem.values() if len(group) > 1):
        for text in clashing:
            stems[text] = f"{stems[text][:MAX_STEM - 9]}-{_short_hash(text)}"
    return stems


def path_inside(folder: str | Path, name: str) -> Path:
    """`folder / name`, refusing (OutputError) a name that would put the file anywhere but directly in
    `folder` (a path separator, `..`, NUL, an absolute path)."""
    base = Path(folder)
    if not name or name in (".", "..") or any(c in name for c in ("/", "\\", "\x00")) or Path(name).is_absolute():
        raise OutputError(f"refusing to write '{name}': a file name must not contain a path; this is a bug in "
                          "mentorctl, please report it")
    target = base / name
    if target.resolve().parent != base.resolve():
        raise OutputError(f"refusing to write {target}: it is outside {base}")
    return target


def neutralise_formula(value: Any) -> Any:
    """Prefix text that a spreadsheet would run as a formula (=, +, -, @ …) with a quote; numbers pass.

    The one formula neutraliser: CSV outputs here and every workbook cell (`xlsx.py`) go through it."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        try:
            float(value)
            return value
        except ValueError:
            return "'" + value
    return value


_FORMULA_AFTER_BREAK = re.compile("\n[" + re.escape("".join(FORMULA_STARTS)) + "]")


def may_hold_formulas(values: Any) -> bool:
    """Whether some text cell of a column (a sequence of cells) starts like a formula (`FORMULA_STARTS`), so
    that `neutralise_formula` could change it. When every cell is text or missing, the column is joined
    one cell a line and searched for a line start at C speed; otherwise it is checked cell by cell."""
    import numpy as np
    import pandas as pd

    cells = np.asarray(values, dtype=object)
    texts = cells[~pd.isna(cells)].tolist() if len(cells) else []
    if pd.api.types.infer_dtype(texts, skipna=False) not in ("string", "empty"):
        return any(isinstance(v, str) and v.startswith(FORMULA_STARTS) for v in texts)
    joined = "\n" + "\n".join(texts)       # a cell holding a line break itself only adds false alarms
    return bool(_FORMULA_AFTER_BREAK.search(joined))


def _safe_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """`frame` with its text cells and headings neutralised: `frame` itself when no cell needs it, else a
    copy where only the columns that do were rewritten."""
    import pandas as pd

    changed = {}
    for position in range(frame.shape[1]):
        values = frame.iloc[:, position]
        if not (pd.api.types.is_numeric_dtype(values) or pd.api.types.is_bool_dtype(values)) \
                and may_hold_formulas(values.to_numpy(dtype=object)):
            changed[position] = values.map(neutralise_formula)
    headings = [neutralise_formula(str(c)) for c in frame.columns]
    if not changed and headings == [str(c) for c in frame.columns] and all(type(c) is str for c in frame.columns):
        return frame
    safe = frame.copy()
    for position, values in changed.items():
        safe.isetitem(position, cast(Any, values))   # (a Series: its dtype is kept)
    safe.columns = headings
    return safe


def neutralise_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of `frame` whose text cells cannot be interpreted as formulas."""
    safe = _safe_frame(frame)
    return safe.copy() if safe is frame else safe


def write_csv(frame: pd.DataFrame, path: str | Path) -> Path:
    """Write a DataFrame as UTF-8 CSV, formula-safe and atomic."""
    return atomic_write_bytes(path, csv_bytes(frame))


def csv_bytes(frame: pd.DataFrame) -> bytes:
    """A DataFrame as formula-safe UTF-8 CSV: the bytes `neutralise_frame(frame).to_csv(index=False)` gives,
    written column by column when no cell needs quoting (5 times faster than pandas' csv.writer at 50,000
    rows), else by pandas."""
    text = _plain_csv(frame)
    return (text if text is not None else _safe_frame(frame).to_csv(index=False)).encode("utf-8")


_NEEDS_QUOTES = ("\n", ",", '"', "\r")
"""Characters that make csv.writer quote a field (`\r` only on some Pythons)."""


def _plain_csv(frame: pd.DataFrame) -> str | None:
    """The CSV of a frame whose columns are all text (or missing), float64, int64 or bool and whose cells
    need no quoting, with text neutralised; None otherwise (pandas then writes it)."""
    headings = list(frame.columns)
    if not headings or not all(type(h) is str and not any(c in h for c in _NEEDS_QUOTES) for h in headings):
        return None
    columns = []
    for i in range(len(headings)):
        cells = _csv_cells(frame.iloc[:, i])
        if cells is None:
            return None
        columns.append(cells)
    if len(headings) == 1 and "" in [headings[0], *columns[0]]:   # a lone empty field is written as ""
        return None
    header = ",".join(neutralise_formula(h) for h in headings) + "\n"
    if not len(frame):
        return header
    return header + "\n".join(map(",".join, zip(*columns, strict=True))) + "\n"


def _csv_cells(values: pd.Series) -> list[str] | None:
    """A column's CSV fields as `neutralise_frame` and pandas write them (missing: empty; numbers as numpy
    prints them; text neutralised); None for a column of another kind or with a field to quote."""
    import numpy as np
    import pandas as pd

    dtype = values.dtype
    if dtype == np.float64:
        numbers = values.to_numpy()
        codes, uniques = pd.factorize(numbers.view(np.int64))   # each distinct value printed once
        floats = uniques.view(np.float64)
        shown = floats.astype(str).astype(object)
        shown[np.isnan(floats)] = ""
        return shown[codes].tolist() if len(numbers) else []
    if dtype == np.int64:
        return values.to_numpy().astype(str).tolist()
    if dtype == np.bool_:
        return np.where(values.to_numpy(), "True", "False").tolist()
    if not (isinstance(dtype, pd.StringDtype) or (isinstance(dtype, np.dtype) and dtype.kind == "O")):
        return None
    cells = values.to_numpy(dtype=object).copy()
    missing = pd.isna(cells)
    if pd.api.types.infer_dtype(cells[~missing], skipna=False) not in ("string", "empty"):
        return None
    cells[missing] = ""
    texts = cells.tolist()
    joined = "\n".join(texts)
    if texts and (joined.count("\n") != len(texts) - 1 or any(c in joined for c in _NEEDS_QUOTES[1:])):
        return None
    return [neutralise_formula(t) for t in texts] if _FORMULA_AFTER_BREAK.search("\n" + joined) else texts


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _manifest(folder: Path) -> dict[str, Any]:
    try:
        data = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _entry(manifest: Mapping[str, Any], name: str) -> dict[str, Any]:
    """A file's record: {"sha256": digest, "run": run id or None, "pending": [digests being written]}."""
    value = manifest.get(name)
    if isinstance(value, str):  # the manifest's first format: the digest alone
        return {"sha256": value}
    return dict(value) if isinstance(value, dict) else {}


def _save_manifest(folder: Path, manifest: Mapping[str, Any]) -> None:
    atomic_write_text(folder / MANIFEST, json.dumps(manifest, indent=2, sort_keys=True))


def record_output(path: str | Path, run_id: str | None = None) -> None:
    """Remember the content mentorctl wrote to `path` (and the run that wrote it), so a later run can tell
    whether it was edited."""
    target = Path(path)
    manifest = _manifest(target.parent)
    manifest[target.name] = {"sha256": _digest(target), "run": run_id}
    _save_manifest(target.parent, manifest)


def write_output(path: str | Path, data: bytes, run_id: str | None = None) -> Path:
    """Write `data` atomically and record it as mentorctl's, crash-safely: the new digest is recorded as
    pending before the rename and as the file's own after it, so at every instant the manifest recognises
    what is on disk."""
    return write_outputs({path: data}, run_id)[0]


def write_outputs(outputs: Mapping[str | Path, bytes], run_id: str | None = None) -> list[Path]:
    """`write_output` for several files, written in order: every new digest is recorded as pending first,
    then each file is written atomically, then all of them are recorded as the files' own — the same
    guarantee with two manifest writes (per folder) instead of two per file."""
    targets = [(Path(path), data, hashlib.sha256(data).hexdigest()) for path, data in outputs.items()]
    folders = list(dict.fromkeys(target.parent for target, _, _ in targets))
    for folder in folders:
        manifest = _manifest(folder)
        for target, _, digest in targets:
            if target.parent == folder:
                entry = _entry(manifest, target.name)
                entry["pending"] = {**(entry.get("pending") or {}), digest: run_id}
                manifest[target.name] = entry
        _save_manifest(folder, manifest)
    for target, data, _ in targets:
        atomic_write_bytes(target, data)
    for folder in folders:
        manifest = _manifest(folder)
        for target, _, digest in targets:
            if target.parent == folder:
                manifest[target.name] = {"sha256": digest, "run": run_id}
        _save_manifest(folder, manifest)
    return [target for target, _, _ in targets]


def output_runs(folder: str | Path, names: list[str]) -> dict[str, str | None]:
    """The run id that wrote each of `names` in `folder` (None when unknown), for those that exist and are
    unchanged since mentorctl wrote them."""
    where = Path(folder)
    manifest = _manifest(where)
    runs: dict[str, str | None] = {}
    for name in names:
        if (where / name).exists() and not was_edited(where / name):
            entry = _entry(manifest, name)
            digest = _digest(where / name)
            runs[name] = entry.get("run") if entry.get("sha256") == digest else (entry.get("pending") or {}).get(digest)
    return runs


def was_edited(path: str | Path) -> bool:
    """True when `path` exists and differs from what mentorctl last wrote there, or was about to write there
    when a run was interrupted (or was not written by it at all)."""
    target = Path(path)
    if not target.exists():
        return False
    entry = _entry(_manifest(target.parent), target.name)
    digest = _digest(target)
    return digest != entry.get("sha256") and digest not in (entry.get("pending") or {})


def guard_output(path: str | Path, force: bool, now: datetime | None = None) -> Path | None:
    """Make sure writing `path` loses nothing.

    An absent file, or one unchanged since mentorctl wrote it, may be replaced. A file edited since (or not
    written by mentorctl) is refused unless `force`; with `force` it is first copied to a backup beside it,
    whose path is returned."""
    target = Path(path)
    if not was_edited(target):
        return None
    if not force:
        raise OutputExistsError(
            f"{target} was changed since mentorctl wrote it (edited by hand?); nothing was overwritten. "
            "Re-run with --force to replace it (the current file is then kept as a backup beside it), "
            "or write elsewhere with --out DIR")
    stamp = (now or datetime.now().astimezone()).strftime("%Y%m%d-%H%M%S")
    backup = target.with_name(f"{target.stem}.edited-{stamp}{target.suffix}")
    shutil.copy2(target, backup)
    return backup
