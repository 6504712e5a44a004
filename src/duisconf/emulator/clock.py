"""The emulator's virtual clock and job scheduler.

Future-dated commands (an ExecutionDateTime hours or days ahead, duis.md §1.5) and DCC schedules run
without real waiting: tests move virtual time forward with ``advance``/``set`` and every job that
became due runs, in due-time order, with ``now()`` reading the job's due time while it runs.

Modes
 - ``VirtualClock(start)``: frozen at ``start``; time moves only when ``advance``/``set`` moves it.
 - ``VirtualClock()``: follows real UTC time (offset 0); ``advance``/``set`` add to the offset. Jobs
   become due as real time passes too, so something must call ``tick()``: ``start_ticker()`` runs a
   background thread that sleeps until the next job is due (or a new job is scheduled) and ticks.

Rules
 - All times are timezone-aware and returned in UTC; a naive datetime is a ValueError.
 - Time never goes backwards: ``set`` to an earlier moment raises, a negative ``advance`` raises.
 - ``schedule`` never runs a job itself, even one already due: it runs at the next advance/set/tick.
 - Jobs run outside the clock's lock (a job may schedule further jobs, cancel jobs or read ``now()``),
   one at a time, in (due time, scheduling order). A job scheduled during an advance that is due
   within the advanced window runs in that same advance, in order. A job whose due time is already
   behind the clock runs with the clock reading the current time (never moving it back).
 - While an advance runs, ``now()`` (from any thread) reads the virtual instant being processed.
 - One advance/set/tick at a time (they serialise). Calling advance/set/tick from inside a job would
   deadlock the scheduler, so it raises RuntimeError instead.
 - A job's exception is caught, logged on ``duisconf.emulator`` and kept on ``job.error``; the other
   jobs still run.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

log = logging.getLogger("duisconf.emulator")

__all__ = ["Job", "VirtualClock"]


def _utc(moment: datetime, what: str) -> datetime:
    if not isinstance(moment, datetime):
        raise TypeError(f"{what} must be a datetime, not {type(moment).__name__}")
    if moment.tzinfo is None or moment.tzinfo.utcoffset(moment) is None:
        raise ValueError(f"{what} must be timezone-aware (UTC), got naive {moment.isoformat()}")
    return moment.astimezone(timezone.utc)


def _real_now() -> datetime:
    return datetime.now(timezone.utc)


@dataclass(eq=False)
class Job:
    """One scheduled action. ``status``: pending, running, done, failed or cancelled."""

    at: datetime
    key: str | None
    label: str
    action: Callable[[], None] = field(repr=False)
    seq: int = 0
    status: str = "pending"
    ran_at: datetime | None = None
    error: BaseException | None = None

    @property
    def pending(self) -> bool:
        return self.status == "pending"

    def describe(self) -> str:
        name = self.label or getattr(self.action, "__qualname__", repr(self.action))
        return f"job #{self.seq} {name!r}" + (f" (key {self.key!r})" if self.key is not None else "")


class VirtualClock:
    """Virtual UTC time plus a scheduler of jobs that run when time reaches them. Thread-safe."""

    def __init__(self, start: datetime | None = None):
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)  # notified when jobs or time change
        self._run_lock = threading.Lock()  # one advance/set/tick at a time
        self._running_thread: int | None = None  # thread currently running jobs
        self._frozen: datetime | None = None if start is None else _utc(start, "start")
        self._start = self._frozen
        self._offset = timedelta(0)  # real-time mode: virtual = real + offset
        self._pinned: datetime | None = None  # virtual instant while an advance processes jobs
        self._heap: list[tuple[datetime, int, Job]] = []
        self._seq = itertools.count(1)
        self._ticker: threading.Thread | None = None
        self._ticker_stop = threading.Event()

    # -- reading ------------------------------------------------------------------------------
    @property
    def real_time(self) -> bool:
        """True when the clock follows real UTC time (constructed without a start)."""
        return self._frozen is None

    def _now_locked(self) -> datetime:
        if self._pinned is not None:
            return self._pinned
        if self._frozen is not None:
            return self._frozen
        return _real_now() + self._offset

    def now(self) -> datetime:
        with self._lock:
            return self._now_locked()

    def _move_to_locked(self, moment: datetime) -> None:
        """Let the resting (unpinned) virtual time read at least ``moment``. In real-time mode the offset
        only grows: real time spent running jobs is not taken back."""
        if self._frozen is not None:
            self._frozen = max(self._frozen, moment)
        else:
            self._offset = max(self._offset, moment - _real_now())

    # -- moving time --------------------------------------------------------------------------
    def advance(self, delta: timedelta | float) -> list[Job]:
        """Move virtual time forward by ``delta`` (seconds if a number), running the jobs that fall due."""
        if isinstance(delta, bool) or not isinstance(delta, (timedelta, int, float)):
            raise TypeError(f"advance() takes a timedelta or seconds, not {type(delta).__name__}")
        if not isinstance(delta, timedelta):
            delta = timedelta(seconds=delta)
        if delta < timedelta(0):
            raise ValueError(f"cannot advance the clock by a negative amount ({delta})")
        return self._run_until(lambda now: now + delta)

    def set(self, moment: datetime) -> list[Job]:
        """Jump forward to ``moment`` (never backwards), running the jobs that fall due."""
        target = _utc(moment, "moment")

        def checked(now: datetime) -> datetime:
            if target < now:
                raise ValueError(f"cannot set the clock backwards: it reads {now.isoformat()}, "
                                 f"asked for {target.isoformat()}")
            return target

        return self._run_until(checked)

    def tick(self) -> list[Job]:
        """Run the jobs due at the current time (real-time mode: as real time has passed)."""
        return self._run_until(lambda now: now)

    def _run_until(self, target_of: Callable[[datetime], datetime]) -> list[Job]:
        me = threading.get_ident()
        if self._running_thread == me:
            raise RuntimeError("a clock job cannot advance, set or tick the clock it runs on")
        ran: list[Job] = []
        with self._run_lock:
            self._running_thread = me
            try:
                with self._lock:
                    start = self._now_locked()
                    target = target_of(start)  # may raise (set backwards) before anything changes
                    current = start
                while True:
                    with self._lock:
                        job = self._pop_due_locked(target)
                        if job is None:
                            self._pinned = None
                            self._move_to_locked(target)
                            self._changed.notify_all()
                            break
                        current = max(current, job.at)
                        self._pinned = current
                        job.status = "running"
                        job.ran_at = current
                    self._run_job(job)
                    ran.append(job)
            finally:
                with self._lock:
                    if self._pinned is not None:  # an exception escaped (should not happen): stay put
                        self._move_to_locked(self._pinned)
                        self._pinned = None
                self._running_thread = None
        return ran

    def _pop_due_locked(self, target: datetime) -> Job | None:
        while self._heap:
            at, _, job = self._heap[0]
            if job.status != "pending":  # cancelled: drop lazily
                heapq.heappop(self._heap)
                continue
            if at > target:
                return None
            heapq.heappop(self._heap)
            return job
        return None

    @staticmethod
    def _run_job(job: Job) -> None:
        try:
            job.action()
        except Exception as exc:  # a job's failure must not stop the others
            job.error = exc
            job.status = "failed"
            log.error("clock %s due %s failed: %s: %s", job.describe(), job.at.isoformat(),
                      type(exc).__name__, exc, exc_info=True)
        else:
            job.status = "done"
            log.debug("clock %s due %s ran", job.describe(), job.at.isoformat())

    # -- jobs ---------------------------------------------------------------------------------
    def schedule(self, at: datetime, action: Callable[[], None], *, key: str | None = None,
                 label: str = "") -> Job:
        """Run ``action`` when the clock reaches ``at``. A moment already past runs at the next
        advance/set/tick, never inside this call."""
        if not callable(action):
            raise TypeError("action must be callable")
        at = _utc(at, "at")
        with self._lock:
            job = Job(at=at, key=key, label=label, action=action, seq=next(self._seq))
            heapq.heappush(self._heap, (at, job.seq, job))
            self._changed.notify_all()
        log.debug("clock scheduled %s for %s", job.describe(), at.isoformat())
        return job

    def cancel(self, key: str) -> bool:
        """Cancel every pending job with ``key``; True if there was at least one."""
        found = False
        with self._lock:
            for _, _, job in self._heap:
                if job.key == key and job.status == "pending":
                    job.status = "cancelled"
                    found = True
            if found:
                self._heap = [entry for entry in self._heap if entry[2].status == "pending"]
                heapq.heapify(self._heap)
                self._changed.notify_all()
        if found:
            log.debug("clock cancelled jobs with key %r", key)
        return found

    def restart(self) -> None:
        """Back to where the clock began (real time, or the frozen start), nothing pending: the emulator's
        reset between scenarios, so a scenario that jumped months ahead leaves no trace for the next."""
        self.cancel_all()
        with self._lock:
            self._offset = timedelta(0)
            self._frozen = self._start
            self._changed.notify_all()

    def cancel_all(self) -> int:
        """Cancel every pending job (the emulator's reset between scenarios); returns how many."""
        with self._lock:
            pending = [job for _, _, job in self._heap if job.status == "pending"]
            for job in pending:
                job.status = "cancelled"
            self._heap = []
            self._changed.notify_all()
        return len(pending)

    def pending(self) -> list[Job]:
        """Jobs not yet run, by due time (then scheduling order)."""
        with self._lock:
            return [job for _, _, job in sorted(self._heap, key=lambda e: (e[0], e[1]))
                    if job.status == "pending"]

    def next_due(self) -> datetime | None:
        """Due time of the earliest pending job, or None."""
        with self._lock:
            due = [at for at, _, job in self._heap if job.status == "pending"]
        return min(due) if due else None

    # -- real-time mode -----------------------------------------------------------------------
    def start_ticker(self, max_sleep: float = 1.0) -> None:
        """Start a daemon thread that ticks whenever a job falls due (sleeping, not polling, in
        between; ``max_sleep`` bounds each sleep). Meant for real-time mode; harmless when frozen."""
        with self._lock:
            if self._ticker is not None and self._ticker.is_alive():
                return
            self._ticker_stop.clear()
            self._ticker = threading.Thread(target=self._tick_loop, args=(max_sleep,),
                                            name="duisconf-clock-ticker", daemon=True)
            self._ticker.start()

    def stop_ticker(self, timeout: float = 1.0) -> None:
        with self._lock:
            ticker, self._ticker = self._ticker, None
            self._ticker_stop.set()
            self._changed.notify_all()
        if ticker is not None and ticker is not threading.current_thread():
            ticker.join(timeout)

    def _tick_loop(self, max_sleep: float) -> None:
        while not self._ticker_stop.is_set():
            try:
                self.tick()
            except Exception:  # never let the ticker die silently
                log.exception("clock ticker failed")
            with self._lock:
                if self._ticker_stop.is_set():
                    return
                due = [at for at, _, job in self._heap if job.status == "pending"]
                wait = max_sleep
                if due:
                    wait = min(wait, max(0.0, (min(due) - self._now_locked()).total_seconds()))
                if wait > 0:
                    self._changed.wait(wait)
