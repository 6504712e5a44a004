"""Device leases hold a device exclusively across processes (xdist workers), wait for a holder to
finish, make a scenario inconclusive when the device stays busy, and die with a crashed holder."""

from __future__ import annotations

import multiprocessing
import os
import signal
import time
from pathlib import Path

import pytest

from duisconf.leases import DeviceLeases, LeaseUnavailable
from duisconf.verdicts import verdict_of

ESME = "00-DB-12-34-56-78-90-A0"


def _hold(directory: str, namespace: str, ready, seconds: float) -> None:
    leases = DeviceLeases(Path(directory), namespace)
    leases.acquire(ESME)
    ready.set()
    time.sleep(seconds)
    leases.release_all()


def _holder(tmp_path: Path, seconds: float, namespace: str = "kit"):
    ready = multiprocessing.Event()
    process = multiprocessing.Process(target=_hold, args=(str(tmp_path), namespace, ready, seconds))
    process.start()
    assert ready.wait(10)
    return process


def test_a_busy_device_makes_the_scenario_inconclusive(tmp_path: Path):
    holder = _holder(tmp_path, 5)
    try:
        with pytest.raises(LeaseUnavailable, match=r"device 00-DB-12-34-56-78-90-A0 of kit stayed leased by pid \d+") as caught:
            DeviceLeases(tmp_path, "kit", wait=0.3).acquire(ESME)
        assert verdict_of(caught.value) == "inconclusive"
    finally:
        holder.terminate()
        holder.join()


def test_a_waiting_scenario_gets_the_device_when_the_holder_finishes(tmp_path: Path):
    holder = _holder(tmp_path, 0.5)
    started = time.monotonic()
    with DeviceLeases(tmp_path, "kit", wait=10) as leases:
        leases.acquire(ESME.lower().replace("-", ""))  # any spelling of the EUI is the same device
        waited = time.monotonic() - started
        assert leases.held == [ESME]
    holder.join()
    assert 0.2 < waited < 5


def test_a_crashed_holder_leaves_no_lock_behind(tmp_path: Path):
    holder = _holder(tmp_path, 60)
    os.kill(holder.pid, signal.SIGKILL)
    holder.join()
    with DeviceLeases(tmp_path, "kit", wait=1) as leases:
        assert leases.acquire(ESME) == ESME


def test_devices_of_different_dccs_do_not_contend(tmp_path: Path):
    holder = _holder(tmp_path, 5, namespace="emulator of worker gw0")
    try:
        with DeviceLeases(tmp_path, "emulator of worker gw1", wait=0.2) as leases:
            assert leases.acquire(ESME) == ESME
    finally:
        holder.terminate()
        holder.join()


def test_leases_are_reentrant_within_a_scenario(tmp_path: Path):
    with DeviceLeases(tmp_path, "kit", wait=0.2) as leases:
        leases.acquire(ESME)
        leases.acquire(ESME)
        assert leases.held == [ESME]
