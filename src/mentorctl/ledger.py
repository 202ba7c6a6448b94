"""The ledger: an embedded SQLite record of every message mentorctl sends (the only module with SQL).

One row per send key (e.g. `pack:welcome:<participant>:<content-hash>` or
`reminder:<id>:<occurrence>:<recipient>`), with status `sending`, `sent`, `failed` or `skipped` (decided
never to send, e.g. a reminder occurrence missed while cron was down).

Semantics: at most once. `begin(key)` atomically claims a key before the message goes out (a new key, or one
whose last attempt failed); `mark_sent` / `mark_failed` record the outcome. A row still `sending` means a run
stopped between claiming and recording (a crash, a lost connection): the message may or may not have left, so
it is NOT sent again automatically. `clear_unknown()` (the CLI's `--retry-unknown`) turns those rows into
`failed` so the next run retries them; `begin(..., resend=True)` (`--resend`) claims any key again on purpose.

Two runs at the same time are safe: claiming is a single atomic statement, so each key is claimed once.
And two runs never send at the same time: `packs --send` and `remind` both hold the programme's send lock
(`send_lock`, `.mentorctl/send.lock`) while they claim and send, so `--retry-unknown` can never take a message
that a live run is still sending for "unknown": a second `remind` says another run is sending and stops (cron
tries again), a second `packs --send` waits for the first to finish.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING

from mentorctl.errors import Location, LockedError, MentorctlError, SendBusyError

if TYPE_CHECKING:
    from mentorctl.programme import Programme

LEDGER_FILE = "ledger.sqlite"
SEND_LOCK_FILE = "send.lock"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS sends (
    key             TEXT PRIMARY KEY,
    kind            TEXT NOT NULL,
    recipient_id    TEXT NOT NULL,
    recipient_email TEXT,
    content_hash    TEXT,
    status          TEXT NOT NULL CHECK (status IN ('sending', 'sent', 'failed', 'skipped')),
    message_id      TEXT,
    error           TEXT,
    attempts        INTEGER NOT NULL DEFAULT 1,
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS sends_kind ON sends (kind);
CREATE INDEX IF NOT EXISTS sends_recipient ON sends (recipient_id);
"""


class SendStatus(StrEnum):
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"
    SKIPPED = "skipped"


@dataclass(frozen=True)
class SendRecord:
    """One row of the ledger."""

    key: str
    kind: str
    recipient_id: str
    recipient_email: str | None
    content_hash: str | None
    status: SendStatus
    message_id: str | None
    error: str | None
    attempts: int
    created_at: str
    updated_at: str


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


class Ledger:
    """The SQLite ledger at `path` (created with its folder when missing). Use as a context manager."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(self.path, timeout=30, isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.executescript(_SCHEMA)
        except (OSError, sqlite3.Error) as e:
            raise MentorctlError(f"cannot open the send ledger: {e}; check the folder is writable and the file "
                                 "is not damaged", location=Location(str(self.path))) from e

    @classmethod
    def for_programme(cls, programme: Programme) -> Ledger:
        """The programme's ledger: `<programme>/.mentorctl/ledger.sqlite`."""
        return cls(programme.state_dir / LEDGER_FILE)

    def __enter__(self) -> Ledger:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def close(self) -> None:
        self._db.close()

    def begin(self, key: str, *, kind: str, recipient_id: str, recipient_email: str | None = None,
              content_hash: str | None = None, resend: bool = False) -> bool:
        """Claim `key` for sending (status `sending`). True when claimed: the key is new, its last attempt
        failed, or `resend` is set. False when it is already sent or left `sending` by an earlier run."""
        now = _now()
        cursor = self._db.execute(
            """
            INSERT INTO sends (key, kind, recipient_id, recipient_email, content_hash, status,
                               message_id, error, attempts, created_at, updated_at)
            VALUES (:key, :kind, :rid, :email, :hash, 'sending', NULL, NULL, 1, :now, :now)
            ON CONFLICT (key) DO UPDATE SET
                status = 'sending', error = NULL, message_id = NULL, attempts = attempts + 1,
                recipient_email = excluded.recipient_email, content_hash = excluded.content_hash,
                updated_at = excluded.updated_at
            WHERE sends.status = 'failed' OR :resend
            """,
            {"key": key, "kind": kind, "rid": recipient_id, "email": recipient_email, "hash": content_hash,
             "now": now, "resend": int(resend)},
        )
        return cursor.rowcount == 1

    def mark_sent(self, key: str, message_id: str | None = None) -> None:
        """Record that the server accepted the message."""
        self._set(key, SendStatus.SENT, message_id=message_id, error=None)

    def mark_failed(self, key: str, error: str) -> None:
        """Record that the message was not sent (it will be retried by the next run)."""
        self._set(key, SendStatus.FAILED, message_id=None, error=error)

    def _set(self, key: str, status: SendStatus, *, message_id: str | None, error: str | None) -> None:
        cursor = self._db.execute(
            "UPDATE sends SET status = ?, message_id = ?, error = ?, updated_at = ? WHERE key = ?",
            (status.value, message_id, error, _now(), key))
        if cursor.rowcount != 1:
            raise KeyError(f"ledger has no send '{key}'; call begin() first")

    def mark_skipped(self, items: list[tuple[str, str, str]], reason: str = "skipped") -> int:
        """Record keys that must never be sent, as (key, kind, recipient_id); keys already in the ledger are
        left as they are. Returns how many rows were added."""
        now = _now()
        with self._db:
            self._db.execute("BEGIN IMMEDIATE")
            added = 0
            for key, kind, recipient_id in items:
                cursor = self._db.execute(
                    "INSERT OR IGNORE INTO sends (key, kind, recipient_id, status, error, attempts, created_at, "
                    "updated_at) VALUES (?, ?, ?, 'skipped', ?, 0, ?, ?)", (key, kind, recipient_id, reason, now, now))
                added += cursor.rowcount
        return added

    def status(self, key: str) -> SendStatus | None:
        """The key's status, or None when it was never claimed."""
        row = self._db.execute("SELECT status FROM sends WHERE key = ?", (key,)).fetchone()
        return SendStatus(row[0]) if row else None

    def statuses(self, keys: list[str]) -> dict[str, SendStatus]:
        """Statuses of many keys at once (keys never claimed are absent)."""
        found: dict[str, SendStatus] = {}
        for start in range(0, len(keys), 500):
            chunk = keys[start:start + 500]
            marks = ",".join("?" * len(chunk))
            for key, status in self._db.execute(f"SELECT key, status FROM sends WHERE key IN ({marks})", chunk):
                found[key] = SendStatus(status)
        return found

    def records(self, kind: str | None = None, *, status: SendStatus | None = None,
                recipient_id: str | None = None) -> list[SendRecord]:
        """Rows, oldest first; `kind` matches exactly or as a prefix ending in ':' (e.g. 'pack:')."""
        where, params = [], []
        if kind is not None:
            if kind.endswith(":"):
                where.append("kind LIKE ? ESCAPE '\\'")
                params.append(kind.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%")
            else:
                where.append("kind = ?")
                params.append(kind)
        if status is not None:
            where.append("status = ?")
            params.append(status.value)
        if recipient_id is not None:
            where.append("recipient_id = ?")
            params.append(recipient_id)
        sql = "SELECT key, kind, recipient_id, recipient_email, content_hash, status, message_id, error, " \
              "attempts, created_at, updated_at FROM sends"
        if where:
            sql += " WHERE " + " AND ".join(where)
        rows = self._db.execute(sql + " ORDER BY created_at, rowid", params).fetchall()
        return [SendRecord(key, kind, recipient_id, email, content_hash, SendStatus(status), message_id, error,
                           attempts, created_at, updated_at)
                for key, kind, recipient_id, email, content_hash, status, message_id, error, attempts, created_at,
                updated_at in rows]

    def clear_unknown(self, kind: str | None = None) -> int:
        """Turn rows left `sending` (outcome unknown) into `failed`, so the next run retries them.
        Returns how many rows changed. `kind` filters as in `records`."""
        keys = [r.key for r in self.records(kind, status=SendStatus.SENDING)]
        for key in keys:
            self.mark_failed(key, "outcome unknown (run interrupted); retried on request")
        return len(keys)


# -- the send lock ------------------------------------------------------------------------------------------

def _busy_message(path: Path) -> str:
    """"another mentorctl <command> is running for this programme (pid N)", from what the holder wrote."""
    from mentorctl.files import lock_holder

    holder = lock_holder(path)
    if holder is None:
        return "another mentorctl run is sending for this programme"
    return f"another mentorctl {holder[0]} is running for this programme (pid {holder[1]})"


@contextmanager
def send_lock(state_dir: str | Path, owner: str, *, wait_seconds: float = 0,
              on_wait: Callable[[str], None] | None = None,
              sleep: Callable[[float], None] | None = None) -> Iterator[Path]:
    """Hold the programme's send lock (`files.exclusive_lock` on `<state_dir>/send.lock`) for the block.

    `owner` names the command (`remind`, `packs --send`) for the message another run shows. When the lock is
    held: with `wait_seconds` 0, raise `LockedError` at once; else call `on_wait(message)` once and try again
    every second up to `wait_seconds`, then raise `SendBusyError`. The kernel releases the lock when the
    process ends, so a crashed run never leaves it stuck."""
    from mentorctl.files import exclusive_lock

    path = Path(state_dir) / SEND_LOCK_FILE

    def waiting() -> None:
        if on_wait is not None:
            on_wait(f"{_busy_message(path)}; waiting for it to finish sending")

    with exclusive_lock(path, wait=wait_seconds, owner=owner, on_wait=waiting, sleep=sleep) as held:
        if not held:
            busy = _busy_message(path)
            if wait_seconds:
                raise SendBusyError(f"{busy} and still sending after {int(wait_seconds)} s; nothing was sent "
                                    "by this run: try again when it has finished")
            raise LockedError(f"{busy}; this run sends nothing")
        yield path
