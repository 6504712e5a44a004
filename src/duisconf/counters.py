"""The originator-counter authority: one strictly increasing RequestID counter per business originator.

DUIS rejects a request whose counter is not above the last one the DCC saw from that originator, and a
DCC Boxed kit remembers that value across our runs. Every process that signs for an originator
(pytest-xdist workers, separate runs, the CLI) therefore takes its counters from here.

Design:
 - One state file per originator in ``state_dir()/counters`` (or a directory given to the constructor),
   named by the normalised EUI without dashes (``90B3D51F30010000``). It holds the high-water mark
   (hwm) as one decimal line: the highest counter ever handed out or observed.
 - Every read-modify-write happens under an exclusive ``flock`` on a separate ``<EUI>.lock`` file. The
   lock cannot live on the state file itself because ``os.replace`` gives the state file a new inode.
 - A new counter is ``max(hwm + 1, now in epoch ms)``: DCC's tools use epoch milliseconds, so our
   counters interleave sensibly with theirs, and ``hwm + 1`` keeps us increasing if the clock steps
   back or we allocate faster than one per millisecond.
 - The new value is written to ``<EUI>.tmp``, fsynced, ``os.replace``d over the state file, and the
   directory is fsynced -- all before the value is returned. A process SIGKILLed before the replace
   never returned the value to anyone; after it, the value is recorded. The kernel drops the flock
   of a killed process, so nobody waits forever. The fsyncs make the same hold for a power cut.
 - A state file we cannot parse (empty, garbage) is a ConfigError naming the file. Resetting it would
   risk reusing counters the kit has already seen; a human must decide what value to put there.
 - Threads: each acquisition opens a fresh lock-file descriptor, so flock excludes threads of one
   process as well as other processes (flock locks belong to the open file description). Because
   flock is emulated with per-process POSIX locks on some file systems (NFS), a module-wide
   ``threading.Lock`` per lock file is taken first as well. Re-entering the same originator from the
   thread that holds it would deadlock, so it raises instead.
 - fork(): a child inherits the lock descriptors (and thread locks) of parent threads it does not
   have, which would keep those originators locked for the child's lifetime; an at-fork hook drops them.
 - A UTRN counter can be up to 2^32 ms (~50 days) ahead of the clock, so after one, plain counters
   are ``hwm + 1`` and DCC's own epoch-ms counters for that originator are below ours for that long.

Special counters (DUIS §1.3, §9.4):
 - SRV 2.2 Top Up Device: the RequestID counter equals the UTRN counter, whose low 32 bits are zero;
   use ``next_utrn()`` (or ``reserve(..., utrn=True)``) and sign with the counter preserved.
 - CV 5, the signed follow-up of a critical CV 4 transform, reuses the CV 4 RequestID counter
   unchanged. That is not an allocation: pass the CV 4 counter through; nothing here is needed.

Sending order: the DCC checks counters in arrival order, so a caller that needs "allocated, then
sent" ordering across processes signs and POSTs inside ``with authority.reserve(originator) as c:``,
which holds the originator's lock until the block exits.
"""

from __future__ import annotations

import fcntl
import os
import re
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from . import paths
from .duis.model import MAX_COUNTER, normalise_eui
from .errors import ConfigError, DuisConfError

_STATE_RE = re.compile(rb"(0|[1-9][0-9]*)\n?")
UTRN_STEP = 1 << 32


class _ThreadLock:
    """A per-lock-file threading.Lock that knows its owner, so re-entry fails loudly instead of hanging."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.owner: int | None = None


_thread_locks: dict[str, _ThreadLock] = {}
_thread_locks_guard = threading.Lock()
_held_fds: dict[int, int] = {}  # lock-file descriptor -> ident of the thread holding its flock


def _after_fork_in_child() -> None:
    # A forked child shares the parent's open file descriptions, so descriptors of locks held by other
    # parent threads (threads the child does not have) would keep those flocks held until the child
    # exits. Close them, and drop their thread locks for the same reason. Locks held by the forking
    # thread itself stay: that thread continues in the child and releases them normally.
    global _thread_locks, _thread_locks_guard, _default_guard
    me = threading.get_ident()
    for fd, owner in list(_held_fds.items()):
        if owner != me:
            os.close(fd)
            del _held_fds[fd]
    _thread_locks = {path: lock for path, lock in _thread_locks.items() if lock.owner == me}
    _thread_locks_guard, _default_guard = threading.Lock(), threading.Lock()


os.register_at_fork(after_in_child=_after_fork_in_child)


def _thread_lock(path: Path) -> _ThreadLock:
    # Shared by every CounterAuthority in the process, so two instances on one directory exclude too.
    with _thread_locks_guard:
        return _thread_locks.setdefault(str(path), _ThreadLock())


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


class CounterAuthority:
    """Durable, cross-process, thread-safe originator counters kept in ``directory``."""

    def __init__(self, directory: Path | None = None) -> None:
        self.directory = Path(directory) if directory is not None else paths.state_dir() / "counters"
        self.directory.mkdir(parents=True, exist_ok=True)

    # -- public API -----------------------------------------------------------------------------

    def next(self, originator: str) -> int:
        """Allocate and durably record the next counter for ``originator`` (any EUI spelling)."""
        with self.reserve(originator) as counter:
            return counter

    def next_utrn(self, originator: str) -> int:
        """Allocate a counter for SRV 2.2: low 32 bits zero, above every counter used so far."""
        with self.reserve(originator, utrn=True) as counter:
            return counter

    @contextmanager
    def reserve(self, originator: str, *, utrn: bool = False) -> Iterator[int]:
        """Allocate a counter and hold the originator's lock until the block exits.

        Sign and send inside the block to guarantee that no other process sends a higher counter for
        this originator first. The allocation is recorded on entry; if the block fails the counter is
        simply unused (gaps are allowed, reuse is not).
        """
        with self._locked(originator) as state:
            hwm = self._read(state)
            if utrn:
                new = ((max(hwm or 0, _now_ms()) >> 32) + 1) << 32
            else:
                new = max((hwm or 0) + 1, _now_ms())
            if new > MAX_COUNTER:
                raise DuisConfError(f"originator counter for {normalise_eui(originator)} is exhausted (hwm {hwm}, {state})")
            self._write(state, new)
            yield new

    def peek(self, originator: str) -> int | None:
        """The last recorded counter, or None if this originator has none. Allocates nothing."""
        # No lock needed: os.replace makes the state file switch atomically from old to new content.
        return self._read(self._state_path(originator))

    def observe(self, originator: str, counter: int) -> None:
        """Raise the high-water mark to at least ``counter`` (a counter chosen elsewhere); never lower it."""
        if not 0 <= counter <= MAX_COUNTER:
            raise DuisConfError(f"originator counter {counter} is outside 0..2^64-1")
        with self._locked(originator) as state:
            hwm = self._read(state)
            if hwm is None or counter > hwm:
                self._write(state, counter)

    # -- internals ------------------------------------------------------------------------------

    def _state_path(self, originator: str) -> Path:
        return self.directory / normalise_eui(originator).replace("-", "")

    @contextmanager
    def _locked(self, originator: str) -> Iterator[Path]:
        """Hold the thread lock, then the flock, for one originator; yield its state-file path."""
        state = self._state_path(originator)
        lock_path = state.with_name(state.name + ".lock")
        tlock = _thread_lock(lock_path)
        if tlock.owner == threading.get_ident():
            raise DuisConfError(
                f"this thread already holds the counter lock for {normalise_eui(originator)} "
                "(a counter call inside reserve() for the same originator would deadlock)"
            )
        with tlock.lock:
            tlock.owner = threading.get_ident()
            # A fresh descriptor per acquisition: flock on a shared one would not exclude our own threads.
            fd = os.open(lock_path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
            _held_fds[fd] = threading.get_ident()
            try:
                fcntl.flock(fd, fcntl.LOCK_EX)
                yield state
            finally:
                _held_fds.pop(fd, None)
                os.close(fd)  # closing our last reference releases the flock
                tlock.owner = None

    @staticmethod
    def _read(state: Path) -> int | None:
        try:
            content = state.read_bytes()
        except FileNotFoundError:
            return None
        match = _STATE_RE.fullmatch(content)
        if not match or int(match.group(1)) > MAX_COUNTER:
            raise ConfigError(
                f"counter state file {state} is unreadable ({content[:40]!r}); refusing to reset it, which "
                "could reuse counters the DCC has seen. Write the last counter used (one decimal line) or a "
                "higher one into it."
            )
        return int(match.group(1))

    def _write(self, state: Path, value: int) -> None:
        # Only the lock holder writes, so one fixed temp name is enough; a stale one from a killed
        # process is truncated here and never read.
        tmp = state.with_name(state.name + ".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o644)
        try:
            os.write(fd, b"%d\n" % value)
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, state)
        # fsync the directory so the rename itself survives a power cut, not just the file data.
        dir_fd = os.open(self.directory, os.O_RDONLY | os.O_CLOEXEC)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)


_default: dict[Path, CounterAuthority] = {}
_default_guard = threading.Lock()


def default_authority() -> CounterAuthority:
    """The process-wide authority for ``state_dir()/counters`` (re-resolved, so DUISCONF_STATE_DIR is honoured)."""
    directory = paths.state_dir() / "counters"
    with _default_guard:
        if directory not in _default:
            _default[directory] = CounterAuthority(directory)
        return _default[directory]
