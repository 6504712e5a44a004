"""Device leases: a scenario holds the devices it uses exclusively, across every xdist worker and every
concurrent run on this machine, for as long as it runs.

One lock file per (inventory, device EUI) under the state directory, held with flock: the kernel drops
the lock when the holder exits, so a crashed worker never leaves a device locked. `--dist loadgroup`
cannot do this job on pytest 9.2 (DESIGN.md). The inventory namespace is the DCC the devices live in:
a kit's base URL, or one worker's embedded emulator (each has its own devices, so workers never wait on
each other there). A device that stays busy beyond the wait is a precondition not met: inconclusive.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import time
from pathlib import Path

from .duis.model import normalise_eui
from .errors import PreconditionNotMet


class LeaseUnavailable(PreconditionNotMet):
    """The device is held by another scenario for longer than we may wait: the scenario is inconclusive."""


class DeviceLeases:
    """The leases one scenario holds. `acquire` as devices come into use; `release_all` at the end."""

    def __init__(self, directory: Path, namespace: str, *, wait: float = 60.0, poll: float = 0.05):
        self.directory = Path(directory) / "leases" / hashlib.sha256(namespace.encode()).hexdigest()[:16]
        self.directory.mkdir(parents=True, exist_ok=True)
        self.namespace, self.wait, self.poll = namespace, wait, poll
        self._held: dict[str, int] = {}  # EUI -> open descriptor holding the lock

    @property
    def held(self) -> list[str]:
        return sorted(self._held)

    def acquire(self, eui: str, *, wait: float | None = None) -> str:
        """Hold `eui` exclusively (re-entrant for this scenario); LeaseUnavailable after `wait` seconds."""
        eui = normalise_eui(eui)
        if eui in self._held:
            return eui
        path = self.directory / f"{eui.replace('-', '')}.lock"
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        deadline = time.monotonic() + (self.wait if wait is None else wait)
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    holder = _read_holder(fd)
                    os.close(fd)
                    raise LeaseUnavailable(f"device {eui} of {self.namespace} stayed leased"
                                           f"{f' by {holder}' if holder else ''} for {self.wait if wait is None else wait:g} s") from None
                time.sleep(self.poll)
        holder = f"pid {os.getpid()} {os.environ.get('PYTEST_XDIST_WORKER', 'main')}".encode()
        # Written over the old holder, then cut to length: truncating to zero first makes ext4 flush the
        # file when it is closed (auto_da_alloc), 1-3 ms per lease, once per device per scenario.
        os.pwrite(fd, holder, 0)
        if os.fstat(fd).st_size > len(holder):
            os.ftruncate(fd, len(holder))
        self._held[eui] = fd
        return eui

    def release_all(self) -> None:
        for fd in self._held.values():
            try:
                fcntl.flock(fd, fcntl.LOCK_UN)
            finally:
                os.close(fd)
        self._held.clear()

    def __enter__(self) -> DeviceLeases:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release_all()


def _read_holder(fd: int) -> str:
    try:
        return os.pread(fd, 200, 0).decode(errors="replace").strip()
    except OSError:
        return ""
