"""The request state machine (`selfmatch.requests.advance`): caps, order, expiry, capacity under any order."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from mentorctl.programme import RequestSettings
from mentorctl.selfmatch.exports import Answer, Pick
from mentorctl.selfmatch.requests import RequestState, advance

T0 = datetime(2027, 2, 1, 9, tzinfo=UTC)


def picks(**by_mentee: str) -> list[Pick]:
    return [Pick(e, m, k + 1, 2, "c") for e, ms in by_mentee.items() for k, m in enumerate(ms.split())]


def answer(mentor: str, mentee: str, accept: bool, hours: float, row: int = 2) -> Answer:
    return Answer(mentor, mentee, accept, row, T0 + timedelta(hours=hours))


def status(state: RequestState) -> dict[str, str]:
    return {r.key: r.status for r in state.requests}


def test_in_order_sends_one_pick_at_a_time_and_the_next_after_a_decline():
    cfg = RequestSettings(send="in_order", remind_after_days=2, expire_after_days=5)
    first = advance(RequestState(), picks=picks(E1="M1 M2 M3"), answers=[], capacity={"M1": 1, "M2": 1, "M3": 1},
                    settings=cfg, now=T0)
    assert status(first.state) == {"E1:M1": "pending", "E1:M2": "waiting", "E1:M3": "waiting"}
    second = advance(first.state, picks=picks(E1="M1 M2 M3"), answers=[answer("M1", "E1", False, 1)],
                     capacity={"M1": 1, "M2": 1, "M3": 1}, settings=cfg, now=T0 + timedelta(hours=2))
    assert status(second.state) == {"E1:M1": "declined", "E1:M2": "pending", "E1:M3": "waiting"}
    # M2 never answers: expired after 5 days, then M3 is asked
    third = advance(second.state, picks=[], answers=[], capacity={"M1": 1, "M2": 1, "M3": 1}, settings=cfg,
                    now=T0 + timedelta(days=6))
    assert status(third.state) == {"E1:M1": "declined", "E1:M2": "expired", "E1:M3": "pending"}
    assert third.needs_shortlist == ()


def test_pending_caps_per_mentor_and_per_mentee():
    cfg = RequestSettings(max_pending_per_mentor=2, max_pending_per_mentee=1)
    out = advance(RequestState(), picks=picks(E1="M1 M2", E2="M1", E3="M1"), answers=[],
                  capacity={"M1": 3, "M2": 1}, settings=cfg, now=T0)
    assert status(out.state) == {"E1:M1": "pending", "E1:M2": "waiting", "E2:M1": "pending", "E3:M1": "waiting"}


def test_all_requests_closed_asks_for_a_fresh_shortlist_once():
    cfg = RequestSettings()
    out = advance(RequestState(), picks=picks(E1="M1"), answers=[], capacity={"M1": 1}, settings=cfg, now=T0)
    out = advance(out.state, picks=[], answers=[answer("M1", "E1", False, 1)], capacity={"M1": 1}, settings=cfg,
                  now=T0 + timedelta(hours=2))
    assert out.needs_shortlist == ("E1",)
    from mentorctl.selfmatch.requests import record_shortlists

    state = record_shortlists(out.state, ["E1"], T0)
    again = advance(state, picks=[], answers=[answer("M1", "E1", False, 1)], capacity={"M1": 1}, settings=cfg,
                    now=T0 + timedelta(hours=3))
    assert again.needs_shortlist == () and again.state.closed_pairs() == {("E1", "M1")}


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["M1", "M2"]), st.sampled_from(["E1", "E2", "E3", "E4"]), st.booleans(),
                          st.integers(1, 400)), max_size=16),
       st.integers(0, 2), st.integers(0, 2))
def test_no_mentor_over_capacity_whatever_the_order_of_answers(raw, cap1, cap2):
    cfg = RequestSettings(max_pending_per_mentor=10, remind_after_days=5, expire_after_days=10)
    capacity = {"M1": cap1, "M2": cap2}
    state = advance(RequestState(), picks=picks(E1="M1 M2", E2="M1 M2", E3="M2 M1", E4="M1"), answers=[],
                    capacity=capacity, settings=cfg, now=T0).state
    answers = [Answer(m, e, ok, row, T0 + timedelta(hours=h)) for row, (m, e, ok, h) in enumerate(raw, start=2)]
    answers.sort(key=lambda a: (a.submitted, a.row))
    # answers arrive over several runs, in any grouping
    for cut in range(0, len(answers) + 1, 3):
        state = advance(state, picks=[], answers=answers[:cut], capacity=capacity, settings=cfg,
                        now=T0 + timedelta(hours=cut * 30)).state
    state = advance(state, picks=[], answers=answers, capacity=capacity, settings=cfg,
                    now=T0 + timedelta(days=30)).state
    taken = state.taken()
    assert all(taken.get(m, 0) <= capacity[m] for m in capacity)
    matched = state.matched()
    assert all(len(v) == 1 for v in matched.values())          # one mentor per mentee
    for r in state.requests:                                    # a matched mentee has nothing open
        if r.mentee in matched:
            assert r.status in ("accepted", "withdrawn", "declined", "expired", "full")


def test_a_mentee_wanting_two_mentors_keeps_asking_until_two_accept():
    cfg = RequestSettings(send="in_order")
    capacity = {"M1": 1, "M2": 1, "M3": 1, "M4": 1}
    wants = {"E1": 2, "E2": 1}
    out = advance(RequestState(), picks=picks(E1="M1 M2 M3 M4", E2="M2"), answers=[], capacity=capacity,
                  settings=cfg, now=T0, demand=wants)
    assert status(out.state) == {"E1:M1": "pending", "E1:M2": "waiting", "E1:M3": "waiting", "E1:M4": "waiting",
                                 "E2:M2": "pending"}
    # M1 accepts E1: one of two; E1's next pick goes out (M2); M2 accepts E2 first, so E1's request finds M2 full
    out = advance(out.state, picks=[], answers=[answer("M1", "E1", True, 1), answer("M2", "E2", True, 2)],
                  capacity=capacity, settings=cfg, now=T0 + timedelta(hours=3), demand=wants)
    assert status(out.state) == {"E1:M1": "accepted", "E1:M2": "full", "E1:M3": "pending", "E1:M4": "waiting",
                                 "E2:M2": "accepted"}
    # M3 accepts: E1 has both mentors, the last pick is withdrawn; a late acceptance by M4 changes nothing
    out = advance(out.state, picks=[], answers=[answer("M3", "E1", True, 4)], capacity=capacity, settings=cfg,
                  now=T0 + timedelta(hours=5), demand=wants)
    assert status(out.state)["E1:M4"] == "withdrawn" and out.state.matched()["E1"] == ["M1", "M3"]
    assert out.needs_shortlist == ()
    late = advance(out.state, picks=[], answers=[answer("M4", "E1", True, 6, row=5)], capacity=capacity,
                   settings=cfg, now=T0 + timedelta(hours=7), demand=wants)
    assert late.state.matched()["E1"] == ["M1", "M3"] and len(late.findings) == 1


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["M1", "M2", "M3"]), st.sampled_from(["E1", "E2", "E3"]), st.booleans(),
                          st.integers(1, 400)), max_size=16),
       st.integers(0, 2), st.integers(0, 2), st.integers(1, 3))
def test_demand_is_filled_never_exceeded_and_no_mentor_over_capacity(raw, cap1, cap2, want):
    cfg = RequestSettings(max_pending_per_mentor=10, remind_after_days=5, expire_after_days=10)
    capacity = {"M1": cap1, "M2": cap2, "M3": 1}
    wants = {"E1": want, "E2": 2, "E3": 1}
    every = picks(E1="M1 M2 M3", E2="M1 M2 M3", E3="M3 M1")
    state = advance(RequestState(), picks=every, answers=[], capacity=capacity, settings=cfg, now=T0,
                    demand=wants).state
    answers = sorted((Answer(m, e, ok, row, T0 + timedelta(hours=h)) for row, (m, e, ok, h) in enumerate(raw, 2)),
                     key=lambda a: (a.submitted, a.row))
    for cut in range(0, len(answers) + 1, 3):
        state = advance(state, picks=[], answers=answers[:cut], capacity=capacity, settings=cfg,
                        now=T0 + timedelta(hours=cut * 30), demand=wants).state
    taken = state.taken()
    assert all(taken.get(m, 0) <= capacity[m] for m in capacity)
    for mentee, mentors in state.matched().items():
        assert len(mentors) <= wants[mentee]
        if len(mentors) < wants[mentee]:   # not yet filled: nothing was withdrawn for being matched
            assert not any(r.mentee == mentee and r.status == "withdrawn" for r in state.requests)
        else:
            assert not any(r.mentee == mentee and r.status in ("waiting", "pending") for r in state.requests)


def test_a_pair_asks_again_only_with_a_pick_made_after_its_request_was_withdrawn():
    from mentorctl.selfmatch.requests import Running

    cfg = RequestSettings(remind_after_days=2, expire_after_days=5)
    old = [Pick("E1", "M1", 1, 2, "c", T0), Pick("E1", "M2", 2, 2, "c", T0)]
    state = advance(RequestState(), picks=old, answers=[], capacity={"M1": 1, "M2": 1}, settings=cfg, now=T0).state
    state = advance(state, picks=old, answers=[answer("M1", "E1", True, 1)], capacity={"M1": 1, "M2": 1},
                    settings=cfg, now=T0 + timedelta(hours=2)).state
    assert status(state) == {"E1:M1": "accepted", "E1:M2": "withdrawn"}
    ended = Running(ended=frozenset({("E1", "M1")}))          # E1 – M1 ended since; E1 is matched again
    same_row = advance(state, picks=old, answers=[], capacity={"M1": 1, "M2": 1}, settings=cfg,
                       now=T0 + timedelta(days=3), running=ended)
    assert status(same_row.state) == status(state)           # the old pick is no new request
    new = [Pick("E1", "M2", 1, 3, "c", T0 + timedelta(days=2))]
    again = advance(state, picks=new, answers=[answer("M2", "E1", True, 1)], capacity={"M1": 1, "M2": 1},
                    settings=cfg, now=T0 + timedelta(days=3), running=ended)
    assert status(again.state) == {"E1:M1": "accepted", "E1:M2": "withdrawn", "E1:M2#2": "pending"}
    # M2's acceptance of the first request (submitted before the second was sent) never counts for the second
    assert [f.message for f in again.findings] == [
        "M2 accepted E1's request after E1 was already matched (it answers request E1:M2; the newer request is "
        "E1:M2#2); answer ignored"]
