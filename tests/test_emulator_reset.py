"""The emulator's reset between scenarios: reference inventory back, faults off, nothing scheduled,
the clock back to real time, late messages let out first; and the local-delivery path ignores a
missing SM WAN (the command travelled over the HAN)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from duisconf.emulator.clock import VirtualClock
from duisconf.emulator.control import EmulatorControl
from duisconf.emulator.server import DCCEmulator

ESME = "00-DB-12-34-56-78-90-A0"


def test_a_restarted_clock_is_back_at_real_time_with_nothing_pending():
    clock = VirtualClock()
    ran = []
    clock.schedule(clock.now() + timedelta(days=400), lambda: ran.append(1))
    clock.advance(timedelta(days=200))
    clock.restart()
    assert abs(clock.now() - datetime.now(timezone.utc)) < timedelta(seconds=5)
    assert clock.pending() == []
    clock.advance(timedelta(days=500))
    assert ran == []


def test_reset_undoes_what_a_scenario_did():
    with DCCEmulator(port=0, control=True) as dcc:
        control = EmulatorControl(dcc.url)
        control.put_device(ESME, status="Decommissioned")
        control.put_device("00-DB-12-34-56-78-90-C9", type="ESME")
        control.add_fault("offline", srv="4.1.1")
        control.advance(86400 * 90)
        outcome = control.reset()
        assert outcome["settled"] is True
        state = control.state()
        assert {d["eui"]: d["status"] for d in state["devices"]}[ESME] == "Commissioned"
        assert "00-DB-12-34-56-78-90-C9" not in {d["eui"] for d in state["devices"]}
        assert dcc.faults.rules() == []
        assert abs(datetime.fromisoformat(state["now"]) - datetime.now(timezone.utc)) < timedelta(seconds=5)
