"""The originator-counter authority: strictly increasing, durable, safe across threads, processes and SIGKILL."""

from __future__ import annotations

import os
import select
import signal
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from duisconf import counters
from duisconf.counters import CounterAuthority, default_authority
from duisconf.duis.model import MAX_COUNTER
from duisconf.errors import ConfigError, DuisConfError

SUPPLIER = "90-B3-D5-1F-30-01-00-00"
OTHER = "90-B3-D5-1F-30-02-00-00"

# Seeding the hwm far above the clock makes every allocation hwm + 1, so only the lock and the state
# file keep values unique and increasing; the clock cannot paper over a race.
FAR_FUTURE = time.time_ns() // 1_000_000 + 10**9

# A worker process: allocate N counters, one line per value, flushed so a SIGKILL loses at most the
# value being written.
WORKER = """
import sys
from pathlib import Path
from duisconf.counters import CounterAuthority
directory, originator, n, out = sys.argv[1:]
authority = CounterAuthority(Path(directory))
with open(out, "w") as f:
    for _ in range(int(n)):
        f.write(f"{authority.next(originator)}\\n")
        f.flush()
"""

# Holds reserve() and reports: the counter and the time just before it lets go.
HOLDER = """
import sys, time
from pathlib import Path
from duisconf.counters import CounterAuthority
directory, originator, hold = sys.argv[1:]
with CounterAuthority(Path(directory)).reserve(originator) as counter:
    print(counter, flush=True)
    time.sleep(float(hold))
    print(repr(time.time()), flush=True)
"""


def spawn(script: str, *args: object, **kwargs) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-c", script, *map(str, args)], text=True, **kwargs)


def lines(path: Path) -> list[int]:
    return [int(line) for line in path.read_text().splitlines()] if path.exists() else []


def increasing(values: list[int]) -> bool:
    return all(a < b for a, b in zip(values, values[1:]))


def test_sequential_allocations_strictly_increase_and_track_epoch_ms(tmp_path: Path):
    authority = CounterAuthority(tmp_path)
    before = time.time_ns() // 1_000_000
    values = [authority.next(SUPPLIER) for _ in range(20)]
    assert increasing(values)
    assert before <= values[0] <= time.time_ns() // 1_000_000 + 1000  # epoch ms, like DCC's tools
    assert authority.peek(SUPPLIER) == values[-1]


def test_originators_are_independent_and_spellings_share_one_counter(tmp_path: Path):
    authority = CounterAuthority(tmp_path)
    authority.observe(SUPPLIER, FAR_FUTURE)
    assert authority.peek(OTHER) is None
    assert authority.next(OTHER) < FAR_FUTURE  # not dragged up by the supplier's counter
    spellings = [SUPPLIER, "90-b3-d5-1f-30-01-00-00", "90B3D51F30010000", "90:b3:d5:1f:30:01:00:00"]
    assert [authority.next(s) for s in spellings] == [FAR_FUTURE + i for i in range(1, 5)]
    assert sorted(p.name for p in tmp_path.iterdir() if not p.name.endswith(".lock")) == [
        "90B3D51F30010000",
        "90B3D51F30020000",
        "originators",  # the registry of originators that have been given counters
    ]


def test_a_new_instance_continues_above_the_last_value(tmp_path: Path):
    first = CounterAuthority(tmp_path)
    first.observe(SUPPLIER, FAR_FUTURE)
    last = first.next(SUPPLIER)
    assert CounterAuthority(tmp_path).next(SUPPLIER) == last + 1


def test_processes_killed_mid_allocation_never_cause_duplicates_or_decreases(tmp_path: Path):
    state = tmp_path / "counters"
    CounterAuthority(state).observe(SUPPLIER, FAR_FUTURE)
    outs = [tmp_path / f"worker{i}.txt" for i in range(4)]
    workers = [spawn(WORKER, state, SUPPLIER, 200, out) for out in outs]
    try:
        victim, victim_out = workers[0], outs[0]
        deadline = time.monotonic() + 30
        while len(lines(victim_out)) < 40 and victim.poll() is None and time.monotonic() < deadline:
            time.sleep(0.005)
        assert victim.poll() is None, "the victim finished before it could be killed; raise its count"
        victim.send_signal(signal.SIGKILL)
        for worker in workers:
            worker.wait(timeout=60)
    finally:
        for worker in workers:
            if worker.poll() is None:
                worker.kill()
    assert victim.returncode == -signal.SIGKILL
    fresh_out = tmp_path / "fresh.txt"
    assert spawn(WORKER, state, SUPPLIER, 20, fresh_out).wait(timeout=60) == 0

    earlier = [lines(out) for out in outs]
    assert 40 <= len(earlier[0]) < 200 and all(len(v) == 200 for v in earlier[1:])
    fresh = lines(fresh_out)
    everything = [v for values in earlier for v in values] + fresh
    assert len(everything) == len(set(everything)), "a counter was handed out twice"
    assert all(increasing(values) for values in [*earlier, fresh])
    assert len(fresh) == 20 and min(fresh) > max(v for values in earlier for v in values)


def test_a_process_killed_while_holding_reserve_does_not_block_or_lower(tmp_path: Path):
    holder = spawn(HOLDER, tmp_path, SUPPLIER, 60, stdout=subprocess.PIPE)
    try:
        held = int(holder.stdout.readline())
        holder.send_signal(signal.SIGKILL)
        holder.wait(timeout=10)
    finally:
        holder.kill()
        holder.stdout.close()
    # A killed writer can also leave a half-written temp file behind; it must be ignored.
    (tmp_path / "90B3D51F30010000.tmp").write_text("garbage")
    start = time.monotonic()
    assert CounterAuthority(tmp_path).next(SUPPLIER) > held
    assert time.monotonic() - start < 5  # the kernel released the dead process's flock


@pytest.mark.parametrize("flock", ["real", "per-process"])
def test_concurrent_threads_get_unique_values(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, flock: str):
    if flock == "per-process":
        # Where flock is emulated with per-process POSIX locks (NFS), it does not separate threads;
        # model the worst case, no exclusion between threads at all: the thread lock must suffice.
        monkeypatch.setattr(counters.fcntl, "flock", lambda fd, op: None)
    # Two instances on one directory as well as many threads: all share one lock per originator.
    authorities = [CounterAuthority(tmp_path), CounterAuthority(tmp_path)]
    authorities[0].observe(SUPPLIER, FAR_FUTURE)

    def allocate(i: int) -> list[int]:
        return [authorities[i % 2].next(SUPPLIER) for _ in range(25)]

    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(allocate, range(8)))
    everything = [v for values in results for v in values]
    assert all(increasing(values) for values in results)
    assert sorted(everything) == list(range(FAR_FUTURE + 1, FAR_FUTURE + 201))


def test_utrn_counter_has_zero_low_bits_and_sits_between_plain_counters(tmp_path: Path):
    authority = CounterAuthority(tmp_path)
    before = authority.next(SUPPLIER)
    utrn = authority.next_utrn(SUPPLIER)
    assert utrn & 0xFFFFFFFF == 0 and utrn > before and utrn - before <= 2**32
    assert authority.next(SUPPLIER) == utrn + 1
    assert authority.next_utrn(SUPPLIER) == utrn + 2**32  # above utrn + 1, the last counter used
    with authority.reserve(SUPPLIER, utrn=True) as reserved:
        assert reserved == utrn + 2 * 2**32


def test_observe_raises_but_never_lowers(tmp_path: Path):
    authority = CounterAuthority(tmp_path)
    authority.observe(SUPPLIER, FAR_FUTURE)
    assert authority.peek(SUPPLIER) == FAR_FUTURE
    authority.observe(SUPPLIER, 1000)
    assert authority.peek(SUPPLIER) == FAR_FUTURE
    assert authority.next(SUPPLIER) == FAR_FUTURE + 1
    with pytest.raises(DuisConfError, match="outside"):
        authority.observe(SUPPLIER, MAX_COUNTER + 1)


def test_an_exhausted_counter_is_an_error_not_a_wrap(tmp_path: Path):
    authority = CounterAuthority(tmp_path)
    authority.observe(SUPPLIER, MAX_COUNTER)
    with pytest.raises(DuisConfError, match="exhausted"):
        authority.next(SUPPLIER)
    with pytest.raises(DuisConfError, match="exhausted"):
        authority.next_utrn(SUPPLIER)
    assert authority.peek(SUPPLIER) == MAX_COUNTER


@pytest.mark.parametrize("content", [b"", b"garbage\n", b"-5\n", b"12 34\n", b"%d\n" % (MAX_COUNTER + 1)])
def test_a_corrupt_state_file_is_a_config_error_naming_the_file(tmp_path: Path, content: bytes):
    state = tmp_path / "90B3D51F30010000"
    state.write_bytes(content)
    authority = CounterAuthority(tmp_path)
    for call in (authority.next, authority.next_utrn, authority.peek, lambda o: authority.observe(o, 5)):
        with pytest.raises(ConfigError, match=str(state)):
            call(SUPPLIER)
    assert state.read_bytes() == content  # never silently reset


def test_reserve_makes_other_processes_wait_until_it_is_released(tmp_path: Path):
    holder = spawn(HOLDER, tmp_path, SUPPLIER, 1.5, stdout=subprocess.PIPE)
    try:
        held = int(holder.stdout.readline())
        value = CounterAuthority(tmp_path).next(SUPPLIER)  # another process: this test's
        returned_at = time.time()
        released_at = float(holder.stdout.readline())
        assert holder.wait(timeout=10) == 0
    finally:
        holder.kill()
        holder.stdout.close()
    assert value > held
    assert returned_at >= released_at, "next() returned while another process still held reserve()"


def test_reentering_an_originator_from_the_holding_thread_raises_instead_of_deadlocking(tmp_path: Path):
    authority = CounterAuthority(tmp_path)
    with authority.reserve(SUPPLIER) as counter:
        with pytest.raises(DuisConfError, match="already holds"):
            authority.next(SUPPLIER)
        assert authority.next(OTHER) > 0  # other originators are unaffected
    assert authority.next(SUPPLIER) > counter


def test_a_fork_while_another_thread_holds_a_lock_does_not_inherit_it(tmp_path: Path):
    authority = CounterAuthority(tmp_path)
    held, release = threading.Event(), threading.Event()

    def hold() -> None:
        with authority.reserve(SUPPLIER):
            held.set()
            release.wait(30)

    thread = threading.Thread(target=hold)
    thread.start()
    assert held.wait(10)
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # child: the holding thread does not exist here
        try:
            os.write(write_end, b"%d\n" % authority.next(SUPPLIER))
            time.sleep(3)  # stay alive: the parent must get the lock while we still run
        finally:
            os._exit(0)
    try:
        os.close(write_end)
        release.set()
        thread.join(10)
        # Without the after-fork hook the child would hang on the holder's thread lock / inherited flock.
        assert select.select([read_end], [], [], 10)[0], "the forked child deadlocked on an inherited lock"
        child_value = int(os.read(read_end, 100))
        start = time.monotonic()
        assert authority.next(SUPPLIER) > child_value
        assert time.monotonic() - start < 2, "the child kept the parent's flock alive"
    finally:
        os.close(read_end)
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)


def test_default_authority_uses_the_state_dir_and_is_shared(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("DUISCONF_STATE_DIR", str(tmp_path))
    assert default_authority() is default_authority()
    assert default_authority().directory == tmp_path / "counters"
    assert counters.default_authority().next(SUPPLIER) > 0
    assert (tmp_path / "counters" / "90B3D51F30010000").exists()


# -- a lost record is refused, never restarted from the clock (issue 12) ------------------------------

def used_authority(directory: Path) -> tuple[CounterAuthority, int]:
    """An authority whose SUPPLIER counter has been handed out far above the clock."""
    authority = CounterAuthority(directory)
    authority.observe(SUPPLIER, FAR_FUTURE)
    return authority, authority.next(SUPPLIER)


def test_a_deleted_state_file_of_a_used_originator_is_refused_until_a_floor_is_set(tmp_path: Path):
    authority, last = used_authority(tmp_path)
    state = tmp_path / "90B3D51F30010000"
    state.unlink()
    for fresh in (authority, CounterAuthority(tmp_path)):  # this process and the next run alike
        for call in (fresh.next, fresh.next_utrn, fresh.peek, lambda o: fresh.observe(o, 5)):
            with pytest.raises(ConfigError, match=f"{state} is missing.*set-floor {SUPPLIER} VALUE"):
                call(SUPPLIER)
    assert not state.exists()
    assert authority.set_floor(SUPPLIER, last) == last  # the documented way back
    assert authority.next(SUPPLIER) == last + 1
    assert authority.next(OTHER) < FAR_FUTURE  # a new originator still starts from the clock


@pytest.mark.parametrize("keep", [1, 5, 20, -1], ids=["1 byte", "5 bytes", "20 bytes", "all but the newline"])
def test_a_truncated_state_file_is_refused(tmp_path: Path, keep: int):
    authority, last = used_authority(tmp_path)
    state = tmp_path / "90B3D51F30010000"
    truncated = state.read_bytes()[:keep]
    state.write_bytes(truncated)
    with pytest.raises(ConfigError, match=f"{state} is unreadable.*set-floor"):
        authority.next(SUPPLIER)
    assert state.read_bytes() == truncated  # never silently reset


def test_a_garbled_digit_or_a_file_of_another_originator_is_refused(tmp_path: Path):
    authority, last = used_authority(tmp_path)
    authority.next(OTHER)
    state = tmp_path / "90B3D51F30010000"
    content = state.read_bytes()
    digit = content.index(b"=") + 9  # the 9th digit of the hwm
    state.write_bytes(content[:digit] + (b"0" if content[digit:digit + 1] != b"0" else b"1") + content[digit + 1:])
    with pytest.raises(ConfigError, match="checksum"):
        authority.next(SUPPLIER)
    state.write_bytes((tmp_path / "90B3D51F30020000").read_bytes())  # the other originator's (lower) record
    with pytest.raises(ConfigError, match=f"belongs to {OTHER}"):
        authority.next(SUPPLIER)


def test_a_deleted_registry_or_a_damaged_one_is_refused_for_a_lost_originator(tmp_path: Path):
    authority, _ = used_authority(tmp_path)
    authority.next(OTHER)
    registry, other_state = tmp_path / "originators", tmp_path / "90B3D51F30020000"
    assert SUPPLIER in registry.read_text() and OTHER in registry.read_text()
    registry.unlink()
    other_state.unlink()
    with pytest.raises(ConfigError, match="registry .* is missing"):
        CounterAuthority(tmp_path).next(OTHER)
    assert CounterAuthority(tmp_path).next(SUPPLIER) > FAR_FUTURE  # an intact record still works
    (tmp_path / "originators").write_bytes(b"# garbled\n")
    with pytest.raises(ConfigError, match="registry .* truncated or garbled"):
        CounterAuthority(tmp_path).next("90-B3-D5-1F-30-03-00-00")


def test_a_brand_new_machine_starts_from_the_clock_and_old_state_files_are_taken_in(tmp_path: Path):
    before = time.time_ns() // 1_000_000
    assert before <= CounterAuthority(tmp_path / "no" / "such" / "dir").next(SUPPLIER) < before + 60_000
    # A state file from before the checked format: read, registered, and converted on the next write.
    legacy = tmp_path / "legacy"
    legacy.mkdir()
    (legacy / "90B3D51F30020000").write_bytes(b"%d\n" % FAR_FUTURE)
    authority = CounterAuthority(legacy)
    assert authority.next(SUPPLIER) < FAR_FUTURE
    assert authority.next(OTHER) == FAR_FUTURE + 1
    assert (legacy / "90B3D51F30020000").read_bytes().startswith(b"hwm=%d " % (FAR_FUTURE + 1))
    assert OTHER in (legacy / "originators").read_text()


def test_set_floor_never_lowers_an_intact_record(tmp_path: Path):
    authority, last = used_authority(tmp_path)
    assert authority.set_floor(SUPPLIER, 1000) == last
    assert authority.set_floor(SUPPLIER, last + 100) == last + 100
    assert authority.next(SUPPLIER) == last + 101
    with pytest.raises(DuisConfError, match="floor"):
        authority.set_floor(SUPPLIER, -1)


# -- unwritable or full state: one-line ConfigError, no value handed out --------------------------------

def test_a_file_where_the_state_directory_should_be_is_a_config_error(tmp_path: Path):
    blocker = tmp_path / "blocker"
    blocker.write_text("not a directory")
    with pytest.raises(ConfigError, match=f"{blocker}: a file is in the way") as error:
        CounterAuthority(blocker)
    assert "\n" not in str(error.value)


def test_a_full_state_directory_is_a_config_error_and_hands_out_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    import errno

    authority, last = used_authority(tmp_path)

    def full(fd: int, data: bytes) -> int:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(counters.os, "write", full)
    with pytest.raises(ConfigError, match="No space left on device") as error:
        authority.next(SUPPLIER)
    assert "\n" not in str(error.value)
    monkeypatch.undo()
    assert authority.next(SUPPLIER) == last + 1  # the failed allocation was never recorded or returned


# -- SRV 2.2 moves the counter one UTRN boundary per top-up, and the lead is reported ------------------

def test_each_utrn_moves_the_counter_one_boundary_and_leads_report_it(tmp_path: Path):
    authority = CounterAuthority(tmp_path)
    start = time.time()
    authority.next(OTHER)
    utrns = [authority.next_utrn(SUPPLIER) for _ in range(3)]
    assert [u - utrns[0] for u in utrns] == [0, 2**32, 2 * 2**32]
    assert all(u & (2**32 - 1) == 0 for u in utrns)
    leads = {lead.originator: lead for lead in authority.leads()}
    days = 2**32 / counters.MS_PER_DAY  # 49.7
    assert 2 * days < leads[SUPPLIER].ahead_days <= 3 * days + 0.1
    assert "days ahead of the clock (SRV 2.2 UTRN boundaries" in leads[SUPPLIER].line()
    assert abs(leads[OTHER].ahead_ms) < 60_000 and "at the clock" in leads[OTHER].line()
    assert {lead.originator for lead in authority.leads(since=time.time() + 5)} == set()
    assert {lead.originator for lead in authority.leads(since=start - 1)} == {SUPPLIER, OTHER}


INNER_TEST = """
from duisconf.counters import default_authority

def test_topup():
    default_authority().next_utrn("90-B3-D5-1F-30-01-00-00")

def test_plain():
    default_authority().next("90-B3-D5-1F-30-02-00-00")
"""


def test_the_end_of_run_summary_reports_each_originator_once_under_xdist(tmp_path: Path):
    from duisconf import paths

    inner = tmp_path / "inner"
    inner.mkdir()
    (inner / "test_inner.py").write_text(INNER_TEST)
    env = {**os.environ, "DUISCONF_STATE_DIR": str(tmp_path / "state"),
           "PYTHONPATH": os.pathsep.join([str(paths.PROJECT_ROOT / "src"), os.environ.get("PYTHONPATH", "")])}
    run = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-n", "2", "-q", str(inner)],
                         cwd=inner, env=env, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stdout + run.stderr
    ahead = [line for line in run.stdout.splitlines() if "days ahead of the clock" in line]
    assert len(ahead) == 1 and ahead[0].startswith(f"{SUPPLIER}: counter "), run.stdout
    assert sum(f"{OTHER}: counter at the clock" in line for line in run.stdout.splitlines()) == 1
    report = __import__("json").loads((inner / "reports" / "counters.json").read_text())
    assert set(report["used_this_run"]) == {SUPPLIER, OTHER}
    by_eui = {entry["originator"]: entry for entry in report["originators"]}
    assert by_eui[SUPPLIER]["hwm"] % 2**32 == 0 and 0 < by_eui[SUPPLIER]["ahead_days"] <= 49.8



def test_a_first_registry_written_meanwhile_is_not_mistaken_for_a_deleted_one(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    # The race of two first uses: we find no registry, then another process writes its first registry and
    # state file before we look for checked state files. That is a fresh start, not a deleted registry.
    ours, theirs = CounterAuthority(tmp_path), CounterAuthority(tmp_path)
    read_registry = ours._read_registry
    raced = []

    def registry_then_race():
        found = read_registry()
        if not raced:
            raced.append(theirs.next(OTHER))
        return found

    monkeypatch.setattr(ours, "_read_registry", registry_then_race)
    assert ours.next(SUPPLIER) > 0 and raced
    assert SUPPLIER in (tmp_path / "originators").read_text()


# -- durable=False: a scratch authority (the session's throwaway directory on the embedded emulator) -------

SCRATCH_WORKER = WORKER.replace("CounterAuthority(Path(directory))", "CounterAuthority(Path(directory), durable=False)")


def test_durable_mode_syncs_every_write(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    synced = []
    real_fsync = os.fsync
    monkeypatch.setattr(counters.os, "fsync", lambda fd: (synced.append(fd), real_fsync(fd)))
    authority = CounterAuthority(tmp_path)
    authority.next(SUPPLIER)
    first = len(synced)  # the registry and the state file, each with its directory
    authority.next(SUPPLIER)
    assert first >= 4 and len(synced) - first == 2  # the state file and its directory, every time


def test_scratch_mode_never_syncs_nor_renames_state_and_keeps_every_guarantee(tmp_path: Path,
                                                                             monkeypatch: pytest.MonkeyPatch):
    def refuse(*args):
        raise AssertionError("a scratch authority must not fsync")

    monkeypatch.setattr(counters.os, "fsync", refuse)
    authority = CounterAuthority(tmp_path, durable=False)
    values = [authority.next(SUPPLIER) for _ in range(5)]
    renamed = []
    real_replace = os.replace
    monkeypatch.setattr(counters.os, "replace", lambda *a: (renamed.append(a), real_replace(*a)))
    values += [authority.next(SUPPLIER) for _ in range(20)]
    utrn = authority.next_utrn(SUPPLIER)
    assert renamed == []  # state written in place once the originator is registered
    assert increasing(values) and utrn > values[-1] and utrn & 0xFFFFFFFF == 0
    assert authority.peek(SUPPLIER) == utrn
    assert [lead.hwm for lead in authority.leads()] == [utrn]
    # The same checked record as the durable mode writes: a durable authority continues from it.
    assert (tmp_path / "90B3D51F30010000").read_bytes() == counters.record_bytes(SUPPLIER, utrn)
    monkeypatch.undo()
    assert CounterAuthority(tmp_path).next(SUPPLIER) == utrn + 1


def test_scratch_mode_cuts_a_longer_damaged_record_when_a_floor_is_set(tmp_path: Path):
    authority = CounterAuthority(tmp_path, durable=False)
    authority.next(SUPPLIER)
    state = tmp_path / "90B3D51F30010000"
    state.write_bytes(b"garbage " * 20 + b"\n")
    with pytest.raises(ConfigError, match="unreadable"):
        authority.next(SUPPLIER)
    assert authority.set_floor(SUPPLIER, FAR_FUTURE) == FAR_FUTURE
    assert state.read_bytes() == counters.record_bytes(SUPPLIER, FAR_FUTURE)
    assert authority.next(SUPPLIER) == FAR_FUTURE + 1


def test_scratch_mode_processes_and_threads_never_share_a_value(tmp_path: Path):
    CounterAuthority(tmp_path, durable=False).observe(SUPPLIER, FAR_FUTURE)
    outs = [tmp_path.parent / f"{tmp_path.name}-scratch{i}.txt" for i in range(3)]
    workers = [spawn(SCRATCH_WORKER, tmp_path, SUPPLIER, 150, out) for out in outs]
    authority = CounterAuthority(tmp_path, durable=False)
    with ThreadPoolExecutor(4) as pool:
        threaded = list(pool.map(lambda _: [authority.next(SUPPLIER) for _ in range(25)], range(4)))
    assert all(worker.wait(timeout=60) == 0 for worker in workers)
    runs = [lines(out) for out in outs] + threaded
    everything = [v for values in runs for v in values]
    assert all(increasing(values) for values in runs)
    assert sorted(everything) == list(range(FAR_FUTURE + 1, FAR_FUTURE + 1 + 3 * 150 + 100))
