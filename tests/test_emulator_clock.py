"""The emulator's virtual clock: jobs run in due order at their due time, without real waiting."""

from __future__ import annotations

import logging
import threading
import time
from datetime import datetime, timedelta, timezone

import pytest

from duisconf.emulator.clock import VirtualClock

T0 = datetime(2030, 1, 1, 12, 0, tzinfo=timezone.utc)


def test_frozen_clock_reads_start_and_moves_only_when_advanced():
    clock = VirtualClock(T0)
    assert clock.now() == T0
    time.sleep(0.01)
    assert clock.now() == T0
    assert clock.advance(90) == []
    assert clock.now() == T0 + timedelta(seconds=90)
    clock.advance(timedelta(days=2))
    assert clock.now() == T0 + timedelta(days=2, seconds=90)


def test_real_time_clock_follows_utc_and_advances():
    clock = VirtualClock()
    before = datetime.now(timezone.utc)
    now = clock.now()
    assert now.tzinfo is not None and now.utcoffset() == timedelta(0)
    assert before <= now <= datetime.now(timezone.utc)
    clock.advance(timedelta(hours=3))
    assert clock.now() - datetime.now(timezone.utc) > timedelta(hours=2, minutes=59)


def test_advance_runs_due_jobs_in_order_with_now_at_each_due_time():
    clock = VirtualClock(T0)
    seen: list[tuple[str, datetime]] = []

    def record(name: str):
        return lambda: seen.append((name, clock.now()))

    clock.schedule(T0 + timedelta(hours=3), record("c"))
    clock.schedule(T0 + timedelta(hours=1), record("a1"))
    clock.schedule(T0 + timedelta(hours=1), record("a2"))  # tie: scheduling order
    clock.schedule(T0 + timedelta(hours=2), record("b"))
    clock.schedule(T0 + timedelta(days=1), record("late"))

    ran = clock.advance(timedelta(hours=5))

    assert seen == [("a1", T0 + timedelta(hours=1)), ("a2", T0 + timedelta(hours=1)),
                    ("b", T0 + timedelta(hours=2)), ("c", T0 + timedelta(hours=3))]
    assert [job.status for job in ran] == ["done"] * 4
    assert [job.at for job in ran] == [T0 + timedelta(hours=h) for h in (1, 1, 2, 3)]
    assert clock.now() == T0 + timedelta(hours=5)
    assert [job.at for job in clock.pending()] == [T0 + timedelta(days=1)]


def test_job_due_exactly_at_the_window_end_runs():
    clock = VirtualClock(T0)
    hits = []
    clock.schedule(T0 + timedelta(seconds=10), lambda: hits.append(1))
    clock.advance(9.999)
    assert hits == []
    clock.advance(0.001)
    assert hits == [1]


def test_schedule_in_the_past_waits_for_the_next_advance_and_keeps_time():
    clock = VirtualClock(T0)
    seen = []
    job = clock.schedule(T0 - timedelta(hours=1), lambda: seen.append(clock.now()))
    assert seen == [] and job.status == "pending"  # never re-entrantly inside schedule()
    assert clock.tick() == [job]
    assert seen == [T0]  # the clock does not go back for an overdue job
    assert job.status == "done"


def test_set_jumps_forward_and_refuses_to_go_backwards():
    clock = VirtualClock(T0)
    hits = []
    clock.schedule(T0 + timedelta(days=1), lambda: hits.append(clock.now()))
    later = T0 + timedelta(days=2)
    clock.set(later)
    assert hits == [T0 + timedelta(days=1)] and clock.now() == later
    with pytest.raises(ValueError) as info:
        clock.set(T0)
    assert later.isoformat() in str(info.value) and T0.isoformat() in str(info.value)
    assert clock.now() == later
    clock.set(later)  # same moment is not backwards


def test_negative_advance_and_naive_times_are_refused():
    clock = VirtualClock(T0)
    with pytest.raises(ValueError):
        clock.advance(-1)
    with pytest.raises(ValueError):
        clock.advance(timedelta(seconds=-1))
    with pytest.raises(ValueError):
        clock.schedule(datetime(2030, 1, 1), lambda: None)
    with pytest.raises(ValueError):
        VirtualClock(datetime(2030, 1, 1))
    assert clock.now() == T0


def test_cancel_by_key():
    clock = VirtualClock(T0)
    hits = []
    clock.schedule(T0 + timedelta(hours=1), lambda: hits.append("x1"), key="req-1")
    clock.schedule(T0 + timedelta(hours=2), lambda: hits.append("x2"), key="req-1")
    clock.schedule(T0 + timedelta(hours=1), lambda: hits.append("y"), key="req-2")
    assert clock.cancel("req-1") is True
    assert clock.cancel("req-1") is False
    assert clock.cancel("unknown") is False
    assert [job.key for job in clock.pending()] == ["req-2"]
    clock.advance(timedelta(hours=3))
    assert hits == ["y"]


def test_job_may_cancel_a_later_job_in_the_same_window():
    clock = VirtualClock(T0)
    hits = []
    clock.schedule(T0 + timedelta(hours=1), lambda: clock.cancel("later"))
    clock.schedule(T0 + timedelta(hours=2), lambda: hits.append("later"), key="later")
    clock.advance(timedelta(hours=3))
    assert hits == []


def test_job_scheduled_inside_the_window_runs_in_the_same_advance_in_order():
    clock = VirtualClock(T0)
    seen: list[tuple[str, datetime]] = []

    def parent():
        seen.append(("parent", clock.now()))
        # due before "sibling": must run before it, within this advance
        clock.schedule(clock.now() + timedelta(minutes=30), lambda: seen.append(("child", clock.now())))
        clock.schedule(clock.now(), lambda: seen.append(("now", clock.now())))
        clock.schedule(clock.now() + timedelta(days=1), lambda: seen.append(("outside", clock.now())))

    clock.schedule(T0 + timedelta(hours=1), parent)
    clock.schedule(T0 + timedelta(hours=2), lambda: seen.append(("sibling", clock.now())))
    ran = clock.advance(timedelta(hours=4))

    hour = timedelta(hours=1)
    assert seen == [("parent", T0 + hour), ("now", T0 + hour), ("child", T0 + hour * 1.5),
                    ("sibling", T0 + 2 * hour)]
    assert len(ran) == 4
    assert [job.at for job in clock.pending()] == [T0 + hour + timedelta(days=1)]


def test_failing_job_is_recorded_logged_and_others_still_run(caplog):
    clock = VirtualClock(T0)
    hits = []

    def boom():
        raise RuntimeError("device exploded")

    clock.schedule(T0 + timedelta(seconds=1), lambda: hits.append(1))
    bad = clock.schedule(T0 + timedelta(seconds=2), boom, label="firmware activation")
    clock.schedule(T0 + timedelta(seconds=3), lambda: hits.append(3))
    with caplog.at_level(logging.ERROR, logger="duisconf.emulator"):
        ran = clock.advance(10)
    assert hits == [1, 3]
    assert len(ran) == 3
    assert bad.status == "failed"
    assert isinstance(bad.error, RuntimeError) and "device exploded" in str(bad.error)
    assert any("firmware activation" in r.getMessage() and r.name == "duisconf.emulator"
               for r in caplog.records)
    assert clock.now() == T0 + timedelta(seconds=10)


def test_job_cannot_advance_its_own_clock():
    clock = VirtualClock(T0)
    job = clock.schedule(T0, lambda: clock.advance(1))
    clock.tick()
    assert isinstance(job.error, RuntimeError)


def test_concurrent_schedule_while_advancing_loses_nothing():
    clock = VirtualClock(T0)
    threads_n, per_thread = 8, 250
    ran = []
    ran_lock = threading.Lock()
    go = threading.Barrier(threads_n + 1)

    def run(tag):
        def action():
            with ran_lock:
                ran.append(tag)
        return action

    def producer(n: int):
        go.wait()
        for i in range(per_thread):
            # spread over the next hour of virtual time; some already behind the advancing clock
            clock.schedule(clock.now() + timedelta(seconds=i % 7), run((n, i)), key=f"{n}-{i}")

    workers = [threading.Thread(target=producer, args=(n,)) for n in range(threads_n)]
    for w in workers:
        w.start()
    go.wait()
    total_ran = 0
    while any(w.is_alive() for w in workers):
        total_ran += len(clock.advance(1))
    for w in workers:
        w.join()
    total_ran += len(clock.advance(timedelta(hours=1)))

    expected = threads_n * per_thread
    assert total_ran == expected
    assert len(ran) == expected and len(set(ran)) == expected
    assert clock.pending() == []


def test_ticker_runs_due_jobs_in_real_time_mode():
    clock = VirtualClock()
    done = threading.Event()
    clock.start_ticker()
    try:
        start = time.monotonic()
        job = clock.schedule(clock.now() + timedelta(milliseconds=50), done.set)
        assert done.wait(2)
        assert time.monotonic() - start < 1.5
        assert job.status == "done" or done.is_set()
    finally:
        clock.stop_ticker()
