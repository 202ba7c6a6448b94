"""The one lock helper (files.exclusive_lock) and the send lock built on it (ledger.send_lock)."""

from __future__ import annotations

import os
from contextlib import ExitStack

import pytest

from mentorctl.errors import LockedError, SendBusyError
from mentorctl.files import exclusive_lock, lock_holder
from mentorctl.ledger import send_lock


def test_a_second_holder_is_refused_and_the_file_names_the_first(tmp_path):
    path = tmp_path / "state" / "x.lock"
    with exclusive_lock(path, owner="remind") as held:
        assert held and path.read_text() == f"remind {os.getpid()}\n"
        assert lock_holder(path) == ("remind", os.getpid())
        with exclusive_lock(path, wait=False) as second:
            assert second is False
        assert lock_holder(path) == ("remind", os.getpid())     # the refused one changed nothing
    assert path.read_text() == "" and lock_holder(path) is None  # emptied on release
    with exclusive_lock(path, wait=False) as again:
        assert again is True


def test_waiting_tries_once_a_second_and_gets_the_lock_when_it_is_released(tmp_path):
    path = tmp_path / "x.lock"
    first = ExitStack()
    first.enter_context(exclusive_lock(path, owner="packs --send"))
    sleeps: list[float] = []
    waits: list[str] = []

    def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        if len(sleeps) == 2:
            first.close()

    with exclusive_lock(path, wait=5, owner="second", on_wait=lambda: waits.append(str(lock_holder(path))),
                        sleep=sleep) as held:
        assert held and lock_holder(path) == ("second", os.getpid())
    assert sleeps == [1.0, 1.0]
    assert waits == [f"('packs --send', {os.getpid()})"]     # told once, with the holder still named


def test_waiting_gives_up_after_the_given_seconds(tmp_path):
    path = tmp_path / "x.lock"
    sleeps: list[float] = []
    with exclusive_lock(path), exclusive_lock(path, wait=3, sleep=sleeps.append) as held:
        assert held is False
    assert sleeps == [1.0, 1.0, 1.0]


def test_send_lock_messages_name_the_running_command(tmp_path):
    with send_lock(tmp_path, "packs --send"):
        refused = rf"another mentorctl packs --send is running for this programme \(pid {os.getpid()}\); this run sends"
        with pytest.raises(LockedError, match=refused), send_lock(tmp_path, "remind"):
            pass
        told: list[str] = []
        with pytest.raises(SendBusyError, match=r"and still sending after 2 s; nothing was sent"), \
                send_lock(tmp_path, "packs --send", wait_seconds=2, on_wait=told.append, sleep=lambda s: None):
            pass
        assert told == [f"another mentorctl packs --send is running for this programme (pid {os.getpid()}); "
                        "waiting for it to finish sending"]
    with send_lock(tmp_path, "remind") as path:
        assert path == tmp_path / "send.lock"
