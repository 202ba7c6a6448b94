"""How a file refers to a person: the one resolver every reader uses.

Pins, forbidden pairs, history, `--keep`, an edited matches.csv, activity logs, HR extracts, surveys and the
preference / "not wanted" lists in rosters all name people — by id, or (where a form has no ids) by name.
`Directory.resolve` matches either ignoring case and surrounding (and repeated inner) spaces: an exact id
(or email address, also in brackets after a name: `Ann Lee (M001)`), then a name exactly one person has. A name two people share is ambiguous (use the id); a text
that matches nobody gets a did-you-mean from the ids and names that look like it (rapidfuzz's Indel ratio,
at least 70 %; for the first `SUGGESTED` distinct unknown texts of a directory only, so that an HR extract of
a whole company — most of whom are simply not in the programme — costs milliseconds, not minutes).

Callers decide what an unresolved reference is: an error for pins and kept pairs, a warning for history,
forbidden pairs, preferences and activity (see `describe`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

SUGGESTED = 200
"""How many distinct unknown references of one directory get a did-you-mean (messages show the first few)."""

_BRACKETED = re.compile(r"[(\[<]([^()\[\]<>]+)[)\]>]\s*$")


def reference_key(value: Any) -> str:
    """How references are compared: trimmed, inner spaces collapsed, case-folded (`' hvf5HY '` → `hvf5hy`);
    numbers from spreadsheets lose a trailing `.0`."""
    if isinstance(value, float):
        if value != value:
            return ""
        if value.is_integer():
            value = int(value)
    return " ".join(str(value).split()).casefold()


def without_accents(text: str) -> str:
    """`text` with its accents dropped (`Müller` → `Muller`, `São` → `Sao`)."""
    import unicodedata

    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))


def name_key(value: Any) -> str:
    """`reference_key` without accents, for names typed on keyboards that lack them (`Hans Muller` is
    `Hans Müller`; `reference_key` already case-folds ß to ss)."""
    return without_accents(reference_key(value))


@dataclass(frozen=True)
class Resolution:
    """What one reference resolved to: `id` (the roster's own spelling) or None, and why not."""

    text: str
    id: str | None
    by: str | None = None                    # "id" | "name" when resolved
    ambiguous: tuple[str, ...] = ()          # ids of the people sharing the name
    suggestions: tuple[str, ...] = ()        # for a reference that matches nobody

    @property
    def ok(self) -> bool:
        return self.id is not None

    def describe(self, who: str = "person") -> str:
        """`'M0O1' matches no mentor (did you mean 'M001'?)`, or the ambiguity, for messages."""
        if self.ok:
            return f"'{self.text}' is {self.id}"
        if self.ambiguous:
            shown = ", ".join(self.ambiguous[:5]) + (" …" if len(self.ambiguous) > 5 else "")
            return f"'{self.text}' is the name of {len(self.ambiguous)} {who}s ({shown}); use the id"
        return f"'{self.text}' matches no {who}{self.did_you_mean}"

    @property
    def did_you_mean(self) -> str:
        """` (did you mean 'M001'?)` with the suggestions, or empty."""
        return f" (did you mean {' or '.join(repr(s) for s in self.suggestions)}?)" if self.suggestions else ""


@dataclass
class Directory:
    """The people of some rosters, found by id or name (see the module docstring)."""

    ids: dict[str, str] = field(default_factory=dict)          # key → id
    names: dict[str, list[str]] = field(default_factory=dict)  # key → ids of people with that name
    _folded: dict[str, list[str]] | None = field(default=None, repr=False)  # `names` by `name_key`, when asked
    shown: dict[str, str] = field(default_factory=dict)        # key → the id or name as written (suggestions)
    _cache: dict[str, Resolution] = field(default_factory=dict, repr=False)
    _suggested: int = field(default=0, repr=False)
    _choices: list[str] | None = field(default=None, repr=False)

    @classmethod
    def of_frames(cls, frames: Iterable[pd.DataFrame]) -> Directory:
        """From roster frames (columns `id` and, when present, `name`)."""
        import pandas as pd

        directory = cls()
        emails: dict[str, str] = {}
        for frame in frames:
            names = frame["name"].tolist() if "name" in frame.columns else [None] * len(frame)
            mails = frame["email"].tolist() if "email" in frame.columns else [None] * len(frame)
            for person_id, name, email in zip(frame["id"].tolist(), names, mails, strict=True):
                if person_id is None or (isinstance(person_id, float) and pd.isna(person_id)):
                    continue
                key = reference_key(person_id)
                if key in directory.ids:
                    continue
                directory.ids[key] = str(person_id)
                directory.shown.setdefault(key, str(person_id))
                if isinstance(name, str) and name.strip():
                    written = reference_key(name)
                    directory.names.setdefault(written, []).append(str(person_id))
                    directory.shown.setdefault(written, " ".join(name.split()))
                if isinstance(email, str) and "@" in email:
                    emails.setdefault(reference_key(email), str(person_id))
        for key, person_id in emails.items():  # an email address is as good as the id (ids win a clash)
            directory.ids.setdefault(key, person_id)
        return directory

    @property
    def folded(self) -> dict[str, list[str]]:
        """`names` keyed by `name_key` (accents dropped), built the first time a name is not found as written."""
        if self._folded is None:
            self._folded = {}
            for written, ids in self.names.items():
                self._folded.setdefault(name_key(written), []).extend(ids)
        return self._folded

    def resolve(self, text: Any) -> Resolution:
        """The person a reference means: an id (ignoring case and spaces), else a name only one person has."""
        key = reference_key(text)
        cached = self._cache.get(key)
        if cached is not None:
            return cached
        shown = " ".join(str(text).split())
        inner = _BRACKETED.search(key)  # a form's drop-down: "Ann Lee (M001)", "Ann Lee <ann@x.org>"
        if key in self.ids:
            found = Resolution(shown, self.ids[key], "id")
        elif inner and inner.group(1).strip() in self.ids:
            found = Resolution(shown, self.ids[inner.group(1).strip()], "id")
        elif len(self.names.get(key, ())) == 1:
            found = Resolution(shown, self.names[key][0], "name")
        elif key in self.names:
            found = Resolution(shown, None, ambiguous=tuple(self.names[key]))
        elif len(self.folded.get(name_key(key), ())) == 1:
            found = Resolution(shown, self.folded[name_key(key)][0], "name")
        elif name_key(key) in self.folded:
            found = Resolution(shown, None, ambiguous=tuple(self.folded[name_key(key)]))
        else:
            found = Resolution(shown, None, suggestions=self._suggest(key))
        self._cache[key] = found
        return found

    def _suggest(self, key: str) -> tuple[str, ...]:
        """The (at most two) ids or names closest to `key`, best first, for the first SUGGESTED unknown keys."""
        if not key or self._suggested >= SUGGESTED or not self.shown:
            return ()
        self._suggested += 1
        from rapidfuzz import fuzz, process

        if self._choices is None:
            self._choices = list(self.shown)
        close = process.extract(key, self._choices, scorer=fuzz.ratio, limit=2, score_cutoff=70,
                                processor=None)
        return tuple(self.shown[choice] for choice, _score, _index in close)

    def canonical(self, text: Any) -> str | None:
        """The roster id for a reference, or None."""
        return self.resolve(text).id


def summarise(problems: dict[str, list[int]], resolutions: dict[str, Resolution], who: str,
              shown: int = 5) -> str:
    """`2 reference(s) match no mentor: 'M0O1' (row 3; did you mean 'M001'?), …` — likely typos first."""
    ordered = sorted(problems, key=lambda t: (not resolutions[t].suggestions and not resolutions[t].ambiguous,
                                              problems[t][0]))
    parts = []
    for text in ordered[:shown]:
        rows = problems[text]
        where = f"row {rows[0]}" if len(rows) == 1 else f"rows {', '.join(map(str, rows[:4]))}" + (
            " …" if len(rows) > 4 else "")
        parts.append(f"{resolutions[text].describe(who)} ({where})")
    more = f"; and {len(ordered) - shown} more" if len(ordered) > shown else ""
    return "; ".join(parts) + more
