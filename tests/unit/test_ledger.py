"""The send ledger: claiming keys at most once, outcomes, unknown rows, concurrency."""

from __future__ import annotations

import sqlite3
import threading

from mentorctl.ledger import Ledger, SendStatus


def claim(ledger: Ledger, key: str, **kwargs: object) -> bool:
    return ledger.begin(key, kind="pack:welcome", recipient_id="p1", recipient_email="p1@example.org", **kwargs)


def test_new_key_is_claimed_once(tmp_path):
    with Ledger(tmp_path / "state" / "ledger.sqlite") as ledger:
        assert claim(ledger, "k1")
        assert ledger.status("k1") is SendStatus.SENDING
        assert not claim(ledger, "k1"), "a key left 'sending' may have gone out: never claim it twice"


def test_sent_key_is_not_claimed_again_unless_resend(tmp_path):
    with Ledger(tmp_path / "l.sqlite") as ledger:
        claim(ledger, "k1")
        ledger.mark_sent("k1", "<m1@example.org>")
        assert not claim(ledger, "k1")
        assert claim(ledger, "k1", resend=True)
        record = ledger.records()[0]
        assert record.status is SendStatus.SENDING and record.attempts == 2 and record.message_id is None


def test_failed_key_is_retried(tmp_path):
    with Ledger(tmp_path / "l.sqlite") as ledger:
        claim(ledger, "k1")
        ledger.mark_failed("k1", "550 no such user")
        assert ledger.records()[0].error == "550 no such user"
        assert claim(ledger, "k1")
        ledger.mark_sent("k1", "<m@x>")
        record = ledger.records()[0]
        assert record.status is SendStatus.SENT and record.error is None and record.message_id == "<m@x>"


def test_ledger_survives_reopening(tmp_path):
    path = tmp_path / "l.sqlite"
    with Ledger(path) as ledger:
        claim(ledger, "k1")
        ledger.mark_sent("k1")
    with Ledger(path) as ledger:
        assert ledger.status("k1") is SendStatus.SENT
        assert ledger.status("other") is None
    assert sqlite3.connect(path).execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_clear_unknown_makes_interrupted_sends_retryable(tmp_path):
    with Ledger(tmp_path / "l.sqlite") as ledger:
        claim(ledger, "k1")
        claim(ledger, "k2")
        ledger.mark_sent("k2")
        assert ledger.clear_unknown() == 1
        assert ledger.status("k1") is SendStatus.FAILED
        assert ledger.status("k2") is SendStatus.SENT
        assert claim(ledger, "k1")


def test_records_filter_by_kind_prefix_status_and_recipient(tmp_path):
    with Ledger(tmp_path / "l.sqlite") as ledger:
        ledger.begin("a", kind="pack:welcome", recipient_id="p1")
        ledger.begin("b", kind="reminder", recipient_id="p2")
        ledger.begin("c", kind="pack_other", recipient_id="p1")
        ledger.mark_sent("b")
        assert [r.key for r in ledger.records("pack:")] == ["a"]
        assert [r.key for r in ledger.records("reminder")] == ["b"]
        assert [r.key for r in ledger.records(status=SendStatus.SENT)] == ["b"]
        assert [r.key for r in ledger.records(recipient_id="p1")] == ["a", "c"]
        assert ledger.statuses(["a", "b", "zz"]) == {"a": SendStatus.SENDING, "b": SendStatus.SENT}


def test_concurrent_claims_give_each_key_to_one_caller(tmp_path):
    path = tmp_path / "l.sqlite"
    Ledger(path).close()
    wins: list[str] = []
    lock = threading.Lock()

    def worker(name: str) -> None:
        with Ledger(path) as ledger:
            for i in range(50):
                if ledger.begin(f"k{i}", kind="t", recipient_id="p"):
                    with lock:
                        wins.append(f"k{i}")

    threads = [threading.Thread(target=worker, args=(str(n),)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(wins) == sorted(f"k{i}" for i in range(50))


def test_skipped_keys_are_recorded_once_and_never_claimed(tmp_path):
    with Ledger(tmp_path / "l.sqlite") as ledger:
        claim(ledger, "sent-one")
        ledger.mark_sent("sent-one")
        added = ledger.mark_skipped([("old", "reminder:x", "p1"), ("sent-one", "reminder:x", "p1")])
        assert added == 1
        assert ledger.status("old") is SendStatus.SKIPPED and ledger.status("sent-one") is SendStatus.SENT
        assert not claim(ledger, "old")
        assert claim(ledger, "old", resend=True)
