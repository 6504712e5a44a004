"""The originator-counter authority: one strictly increasing RequestID counter per business originator.

DUIS rejects a request whose counter is not above the last one the DCC saw from that originator, and a
DCC Boxed kit remembers that value across our runs. Every process that signs for an originator
(pytest-xdist workers, separate runs, the CLI) therefore takes its counters from here, and this module
never hands out a value at or below one it may already have handed out: when its record is gone or
damaged it refuses, and a human sets a floor (``duisconf counters set-floor ORIGINATOR VALUE``).

Design:
 - One state file per originator in ``state_dir()/counters`` (or a directory given to the constructor),
   named by the normalised EUI without dashes (``90B3D51F30010000``). It holds the high-water mark
   (hwm, the highest counter ever handed out or observed) as one checked line,
   ``hwm=1764489600000 originator=90-B3-D5-1F-30-01-00-00 crc32=0a1b2c3d``: a truncated, garbled or
   copied-from-another-originator file fails the check. (A file of one decimal line ending in a newline,
   the format before the check, is still read; the next write converts it.)
 - A registry, ``originators`` in the same directory (also ending in a crc32 line), lists every
   originator that has ever been given a counter. It is written durably before the originator's first
   state file, so a state file that is missing while the registry names the originator has been lost,
   not never written. A registry that is missing while checked state files exist has been deleted.
 - A fresh start needs no setup: no directory, or a directory with neither registry nor checked state
   files, means nothing has been sent from this machine, and counters start from the clock. Deleting the
   whole directory therefore looks fresh; do not, while a kit remembers the counters (the end-of-run
   report, ``reports/counters.json``, keeps the last values for a resynchronisation).
 - Every read-modify-write happens under an exclusive ``flock`` on a separate ``<EUI>.lock`` file (the
   registry: ``originators.lock``, taken only inside an originator's lock, so the order is fixed). The
   lock cannot live on the state file itself because ``os.replace`` gives the state file a new inode.
 - A new counter is ``max(hwm + 1, now in epoch ms)``: DCC's tools use epoch milliseconds, so our
   counters interleave sensibly with theirs, and ``hwm + 1`` keeps us increasing if the clock steps
   back or we allocate faster than one per millisecond.
 - The new value is written to ``<EUI>.tmp``, fsynced, ``os.replace``d over the state file, and the
   directory is fsynced -- all before the value is returned. A process SIGKILLed before the replace
   never returned the value to anyone; after it, the value is recorded. The kernel drops the flock
   of a killed process, so nobody waits forever. The fsyncs make the same hold for a power cut.
 - ``durable=False`` (a scratch authority, e.g. the throwaway directory of a session against the
   embedded emulator, which forgets every counter when it stops): a state file is rewritten in place
   (``pwrite``, ``ftruncate`` if it was longer: no temporary file, no rename, no fsync), the registry is replaced
   without fsync. On ext4 a rename over an existing file flushes the new data (``auto_da_alloc``), so
   the durable path costs about 1 ms per counter; this one a few microseconds. An in-place write never
   empties the file, and the readers that take no lock in durable mode (``peek``, ``leads``) take the
   originator's lock here, so nobody reads a half-written record. A crash or power cut may lose or
   tear the record: the check then refuses, as for any damaged record. Never for a kit or a DCC test
   environment, which remember counters across runs.
 - A state directory we cannot write (read-only, full, not a directory) is a one-line ConfigError
   naming the path, raised before any value is handed out.
 - Threads: each acquisition opens a fresh lock-file descriptor, so flock excludes threads of one
   process as well as other processes (flock locks belong to the open file description). Because
   flock is emulated with per-process POSIX locks on some file systems (NFS), a module-wide
   ``threading.Lock`` per lock file is taken first as well. Re-entering the same originator from the
   thread that holds it would deadlock, so it raises instead.
 - fork(): a child inherits the lock descriptors (and thread locks) of parent threads it does not
   have, which would keep those originators locked for the child's lifetime; an at-fork hook drops them.

Special counters (DUIS §1.3, §9.4):
 - SRV 2.2 Top Up Device: the RequestID counter equals the UTRN counter, whose low 32 bits are zero.
   The UTRN itself carries only bits 32-41 of that counter (GBCS §14: 10 bits beside the 13-bit value;
   the full counter enters the UTRN's MAC), so each top-up needs the next multiple of 2^32 ms (about
   49.7 days) above both the high-water mark and the clock: ``next_utrn()`` (or
   ``reserve(..., utrn=True)``). Every 2.2 therefore moves the originator's counter up one boundary: one
   top-up puts it up to 49.7 days ahead of the clock, and k top-ups in quick succession up to k x 49.7
   days. Until the clock catches up, plain counters are ``hwm + 1`` and any counter DCC's epoch-ms tools
   send for that originator to the same kit is refused as a replay. ``leads()`` reports how far ahead
   each originator is; the pytest plugin prints it at the end of a run.
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
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from . import paths
from .duis.model import MAX_COUNTER, normalise_eui
from .errors import ConfigError, DuisConfError

_RECORD_RE = re.compile(rb"(hwm=(0|[1-9][0-9]{0,19}) originator=([0-9A-F]{2}(?:-[0-9A-F]{2}){7})) crc32=([0-9a-f]{8})\n")
_LEGACY_RE = re.compile(rb"(0|[1-9][0-9]{0,19})\n")
_STATE_NAME_RE = re.compile(r"[0-9A-F]{16}")
_EUI_LINE_RE = re.compile(rb"[0-9A-F]{2}(?:-[0-9A-F]{2}){7}")
_REGISTRY_HEADER = b"# originators duisconf has sent counters for; checked, do not edit (see `duisconf counters`)\n"
REGISTRY = "originators"
UTRN_STEP = 1 << 32  # 2^32 ms, about 49.7 days: the distance between two SRV 2.2 UTRN counters
MS_PER_DAY = 86_400_000


def resync_hint(originator: str) -> str:
    """How to recover an originator whose counter record is lost: the one documented way."""
    return (f"set a floor with `duisconf counters set-floor {normalise_eui(originator)} VALUE`, VALUE at or above the "
            "last counter the DCC has seen from it (docs/harness.md, 'Originator counters')")


def _crc(data: bytes) -> bytes:
    return b"%08x" % zlib.crc32(data)


def record_bytes(originator: str, hwm: int) -> bytes:
    """The checked one-line state record for ``originator`` at high-water mark ``hwm``."""
    body = b"hwm=%d originator=%s" % (hwm, normalise_eui(originator).encode())
    return body + b" crc32=" + _crc(body) + b"\n"


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


def _unwritable(path: Path, exc: OSError) -> ConfigError:
    # One line naming the path and the system's reason (read-only, no space, not a directory ...).
    reason = "a file is in the way" if isinstance(exc, (FileExistsError, NotADirectoryError)) else exc.strerror or exc
    return ConfigError(f"cannot write the counter state {path}: {reason} "
                       "(the state directory must be writable and not full; DUISCONF_STATE_DIR moves it)")


@dataclass(frozen=True)
class CounterLead:
    """How far one originator's high-water mark is ahead of the wall clock (epoch ms), or why it is unknown."""

    originator: str
    hwm: int | None
    ahead_ms: int | None
    problem: str | None = None

    @property
    def ahead_days(self) -> float | None:
        return None if self.ahead_ms is None else round(self.ahead_ms / MS_PER_DAY, 1) + 0.0  # never -0.0

    def line(self) -> str:
        if self.problem:
            return f"{self.originator}: {self.problem}"
        if self.ahead_ms > 60_000:
            return (f"{self.originator}: counter {self.ahead_days:.1f} days ahead of the clock (SRV 2.2 UTRN "
                    f"boundaries; last {self.hwm}): a shared kit refuses lower counters from it until then")
        return f"{self.originator}: counter at the clock (last {self.hwm})"

    def as_json(self) -> dict:
        return {"originator": self.originator, "hwm": self.hwm, "ahead_ms": self.ahead_ms,
                "ahead_days": self.ahead_days, "problem": self.problem}


class CounterAuthority:
    """Durable, cross-process, thread-safe originator counters kept in ``directory``; with ``durable=False``
    the same guarantees while the machine stays up, without syncing to disk (a scratch directory only)."""

    def __init__(self, directory: Path | None = None, *, durable: bool = True) -> None:
        self.durable = durable
        self.directory = Path(directory) if directory is not None else paths.state_dir() / "counters"
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise _unwritable(self.directory, exc) from None
        self.registry = self.directory / REGISTRY
        self._registered: set[str] = set()  # originators known to be in the registry (it only grows)

    # -- public API -----------------------------------------------------------------------------

    def next(self, originator: str) -> int:
        """Allocate and durably record the next counter for ``originator`` (any EUI spelling)."""
        with self.reserve(originator) as counter:
            return counter

    def next_utrn(self, originator: str) -> int:
        """Allocate a counter for SRV 2.2: the next multiple of 2^32 above the high-water mark and the clock.

        Each call moves the originator up to 2^32 ms (about 49.7 days) further ahead of the clock."""
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
            hwm = self._recorded(originator, state)
            if utrn:
                new = ((max(hwm or 0, _now_ms()) >> 32) + 1) << 32
            else:
                new = max((hwm or 0) + 1, _now_ms())
            if new > MAX_COUNTER:
                raise DuisConfError(f"originator counter for {normalise_eui(originator)} is exhausted (hwm {hwm}, {state})")
            self._write(originator, state, new)
            yield new

    def peek(self, originator: str) -> int | None:
        """The last recorded counter, or None if this originator has none. Allocates nothing."""
        # Durable: no lock needed, os.replace makes the state file switch atomically from old to new content.
        # Not durable: the file is rewritten in place, so read it under the lock.
        if self.durable:
            return self._recorded(originator, self._state_path(originator))
        with self._locked(originator) as state:
            return self._recorded(originator, state)

    def observe(self, originator: str, counter: int) -> None:
        """Raise the high-water mark to at least ``counter`` (a counter chosen elsewhere); never lower it."""
        if not 0 <= counter <= MAX_COUNTER:
            raise DuisConfError(f"originator counter {counter} is outside 0..2^64-1")
        with self._locked(originator) as state:
            hwm = self._recorded(originator, state)
            if hwm is None or counter > hwm:
                self._write(originator, state, counter)

    def set_floor(self, originator: str, floor: int) -> int:
        """Resynchronise: make the high-water mark at least ``floor``; the next counter is above it.

        The one way back from a missing or damaged record (the caller vouches that ``floor`` is at or above
        every counter the DCC has seen from ``originator``). An intact record is never lowered. Returns
        the high-water mark now recorded."""
        if isinstance(floor, bool) or not isinstance(floor, int) or not 0 <= floor <= MAX_COUNTER:
            raise DuisConfError(f"counter floor {floor!r} is not an integer in 0..2^64-1")
        with self._locked(originator) as state:
            try:
                hwm = self._recorded(originator, state)
            except ConfigError:
                hwm = None  # lost or damaged: the floor replaces it
            if hwm is not None and hwm >= floor:
                return hwm
            self._write(originator, state, floor)
            return floor

    def originators(self) -> list[str]:
        """Every originator with a state file or a registry entry here (normalised EUIs, sorted)."""
        found = {normalise_eui(p.name) for p in self._state_files()}
        found |= self._read_registry() or set()
        return sorted(found)

    def leads(self, since: float | None = None) -> list[CounterLead]:
        """How far each originator's counter is ahead of the clock; with ``since`` (epoch seconds) only
        the originators whose state file was written since then (this run's)."""
        now = _now_ms()
        if since is None:
            names = self.originators()
        else:
            names = [normalise_eui(p.name) for p in self._state_files() if self._mtime(p) >= since]
        leads = []
        for eui in names:
            try:
                hwm = self.peek(eui)
            except ConfigError as exc:
                leads.append(CounterLead(eui, None, None, problem=str(exc)))
                continue
            if hwm is not None:
                leads.append(CounterLead(eui, hwm, hwm - now))
        return leads

    # -- internals ------------------------------------------------------------------------------

    def _state_path(self, originator: str) -> Path:
        return self.directory / normalise_eui(originator).replace("-", "")

    def _state_files(self) -> list[Path]:
        try:
            return sorted(p for p in self.directory.iterdir() if _STATE_NAME_RE.fullmatch(p.name))
        except FileNotFoundError:
            return []

    @staticmethod
    def _mtime(path: Path) -> float:
        try:
            return path.stat().st_mtime
        except OSError:
            return 0.0

    @contextmanager
    def _locked(self, originator: str) -> Iterator[Path]:
        """Hold the thread lock, then the flock, for one originator; yield its state-file path."""
        state = self._state_path(originator)
        with self._lock(state.with_name(state.name + ".lock"), normalise_eui(originator)):
            yield state

    @contextmanager
    def _lock(self, lock_path: Path, what: str) -> Iterator[None]:
        tlock = _thread_lock(lock_path)
        if tlock.owner == threading.get_ident():
            raise DuisConfError(
                f"this thread already holds the counter lock for {what} "
                "(a counter call inside reserve() for the same originator would deadlock)"
            )
        with tlock.lock:
            tlock.owner = threading.get_ident()
            try:
                # A fresh descriptor per acquisition: flock on a shared one would not exclude our own threads.
                try:
                    fd = os.open(lock_path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
                except OSError as exc:
                    raise _unwritable(lock_path, exc) from None
                _held_fds[fd] = threading.get_ident()
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX)
                    yield
                finally:
                    _held_fds.pop(fd, None)
                    os.close(fd)  # closing our last reference releases the flock
            finally:
                tlock.owner = None

    def _recorded(self, originator: str, state: Path) -> int | None:
        """The originator's high-water mark, None on a fresh start; ConfigError when the record is lost."""
        hwm = self._read(state, normalise_eui(originator))
        if hwm is not None:
            return hwm
        registry = self._read_registry()
        eui = normalise_eui(originator)
        if registry is None and any(self._is_checked_record(p) for p in self._state_files()):
            # Read again: another process may have written its first registry and state file since.
            registry = self._read_registry()
            if registry is None:
                raise ConfigError(
                    f"counter registry {self.registry} is missing beside checked state files, so a lost state "
                    f"file for {eui} cannot be told from a new originator; refusing to start it from the clock: "
                    + resync_hint(eui))
        if registry is not None and eui in registry:
            raise ConfigError(
                f"counter state file {state} is missing, but {self.registry} records that counters were sent "
                f"for {eui}; refusing to restart from the clock, which could reuse a counter the DCC has seen: "
                + resync_hint(eui))
        return None

    @staticmethod
    def _is_checked_record(path: Path) -> bool:
        try:
            return path.read_bytes().startswith(b"hwm=")
        except OSError:
            return False

    @staticmethod
    def _read(state: Path, eui: str) -> int | None:
        try:
            content = state.read_bytes()
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise ConfigError(f"cannot read the counter state {state}: {exc.strerror or exc}") from None
        record, legacy = _RECORD_RE.fullmatch(content), _LEGACY_RE.fullmatch(content)
        if record:
            why = ("its checksum does not match" if _crc(record.group(1)) != record.group(4)
                   else f"it belongs to {record.group(3).decode()}" if record.group(3).decode() != eui else None)
            value = int(record.group(2))
        elif legacy:
            why, value = None, int(legacy.group(1))
        else:
            why, value = ("it is empty" if not content else f"it is truncated or garbled ({content[:40]!r})"), 0
        if why is None and value > MAX_COUNTER:
            why = f"{value} is above 2^64-1"
        if why:
            raise ConfigError(
                f"counter state file {state} is unreadable: {why}; refusing to guess, which could reuse a counter "
                f"the DCC has seen: " + resync_hint(eui))
        return value

    def _read_registry(self) -> set[str] | None:
        """The originators ever given a counter here, or None when there is no registry (a fresh start)."""
        try:
            content = self.registry.read_bytes()
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise ConfigError(f"cannot read the counter registry {self.registry}: {exc.strerror or exc}") from None
        body, sep, trailer = content.rpartition(b"crc32=")
        lines = body.split(b"\n")[:-1] if body.endswith(b"\n") else None
        if (not sep or lines is None or trailer != _crc(body) + b"\n" or not body.startswith(_REGISTRY_HEADER)
                or not all(_EUI_LINE_RE.fullmatch(line) for line in lines[1:])):
            raise ConfigError(
                f"counter registry {self.registry} is truncated or garbled; refusing to allocate: check each "
                f"originator with `duisconf counters show`, set a floor for any whose state is lost "
                f"(`duisconf counters set-floor ORIGINATOR VALUE`), then delete {self.registry} to rebuild it")
        return {line.decode() for line in lines[1:]}

    def _register(self, eui: str) -> None:
        # Durably before the originator's first state file: afterwards its loss is detectable.
        if eui in self._registered:
            return
        with self._lock(self.directory / (REGISTRY + ".lock"), "the registry"):
            known = self._read_registry()
            if known is None:  # the first registry here: also take in state files written before it
                known = {normalise_eui(p.name) for p in self._state_files()}
            if eui not in known:
                known.add(eui)
                body = _REGISTRY_HEADER + b"".join(b"%s\n" % e.encode() for e in sorted(known))
                self._replace(self.registry, body + b"crc32=" + _crc(body) + b"\n")
            self._registered |= known

    def _write(self, originator: str, state: Path, value: int) -> None:
        eui = normalise_eui(originator)
        self._register(eui)
        if self.durable:
            self._replace(state, record_bytes(eui, value))
        else:
            self._overwrite(state, record_bytes(eui, value))

    @staticmethod
    def _overwrite(path: Path, data: bytes) -> None:
        # Not durable: in place, under the originator's lock. Write before truncating, so the file is never
        # empty; a record only ever starts "hwm=", so a reader of another originator's files sees one too.
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_CLOEXEC, 0o644)
            try:
                if os.pwrite(fd, data, 0) != len(data):
                    raise OSError(0, "short write (is the file system full?)")
                if os.fstat(fd).st_size > len(data):  # only a longer old content needs cutting (ftruncate is slow)
                    os.ftruncate(fd, len(data))
            finally:
                os.close(fd)
        except OSError as exc:
            raise _unwritable(path, exc) from None

    def _replace(self, path: Path, data: bytes) -> None:
        # Only the lock holder writes, so one fixed temp name is enough; a stale one from a killed
        # process is truncated here and never read.
        tmp = path.with_name(path.name + ".tmp")
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o644)
            try:
                if os.write(fd, data) != len(data):
                    raise OSError(0, "short write (is the file system full?)")
                if self.durable:
                    os.fsync(fd)
            finally:
                os.close(fd)
            os.replace(tmp, path)
            if not self.durable:
                return
            # fsync the directory so the rename itself survives a power cut, not just the file data.
            dir_fd = os.open(self.directory, os.O_RDONLY | os.O_CLOEXEC)
            try:
                os.fsync(dir_fd)
            finally:
                os.close(dir_fd)
        except OSError as exc:
            raise _unwritable(path, exc) from None


_default: dict[Path, CounterAuthority] = {}
_default_guard = threading.Lock()


def default_authority() -> CounterAuthority:
    """The process-wide authority for ``state_dir()/counters`` (re-resolved, so DUISCONF_STATE_DIR is honoured)."""
    directory = paths.state_dir() / "counters"
    with _default_guard:
        if directory not in _default:
            _default[directory] = CounterAuthority(directory)
        return _default[directory]
