"""The emulator's control plane and fault switchboard, driven over HTTP as the suite's steps drive them."""

from __future__ import annotations

import pytest
import requests

from duisconf.emulator.control import EmulatorControl
from duisconf.emulator.server import DCCEmulator
from duisconf.errors import InvalidInput
from emulator_harness import ESME, SUPPLIER, Session


@pytest.fixture
def session():
    with Session(control=True) as s:
        yield s


@pytest.fixture
def control(session: Session) -> EmulatorControl:
    return EmulatorControl(session.dcc.url)


def test_control_plane_is_off_unless_enabled():
    with DCCEmulator(port=0) as dcc:
        assert requests.get(f"{dcc.url}/control/state", timeout=5).status_code == 404


def test_devices_and_users_are_provisioned_and_read_back(control: EmulatorControl):
    control.put_device("00-DB-12-34-56-78-90-C0", type="ESME", status="Pending", supplier=SUPPLIER)
    device = control.device("00-db-12-34-56-78-90-c0")
    assert device["status"] == "Pending" and device["supplier"] == SUPPLIER
    control.put_user("90-B3-D5-1F-30-05-00-00", roles=["GS"], receive_url="http://127.0.0.1:9/duis")
    users = {u["eui"]: u for u in control.state()["users"]}
    assert users["90-B3-D5-1F-30-05-00-00"]["roles"] == ["GS"]


def test_bad_control_input_names_the_field(control: EmulatorControl):
    with pytest.raises(InvalidInput, match="'type' is required"):
        control.put_device("00-DB-12-34-56-78-90-C1", status="Pending")
    with pytest.raises(InvalidInput, match="unknown device field.*colour"):
        control.put_device(ESME, colour="blue")
    with pytest.raises(InvalidInput, match="unknown fault kind 'gremlins'"):
        control.add_fault("gremlins")


def test_an_oversized_control_document_is_refused_with_a_clear_error(control: EmulatorControl):
    """The control plane reads at most 64 kB (the HTTP limits shared by every server), and its client
    reports the plain-text refusal as an error naming the endpoint, not a JSON traceback."""
    with pytest.raises(InvalidInput, match=r"PUT /control/devices/.*: 413 Content-Length \d+ is over .* 65536 bytes"):
        control.put_device("00-DB-12-34-56-78-90-C2", type="ESME", name="x" * 70_000)


def test_clock_moves_only_forward(control: EmulatorControl):
    before = control.state()["now"]
    after = control.advance(3600)["now"]
    assert after > before
    with pytest.raises(InvalidInput, match="backwards|earlier|before"):
        control.set_clock("2020-01-01T00:00:00Z")


def test_an_e21_fault_answers_without_touching_the_device(session: Session, control: EmulatorControl):
    control.add_fault("offline", device=ESME)
    exchange = session.send("4.1.1", target=ESME)
    assert exchange.code == "I99"
    assert session.messages(exchange).response_code == "E21"
    control.clear_faults()
    assert session.messages(session.send("4.1.1", target=ESME)).response_code == "I0"


def test_an_e20_error_fault_for_one_srv(session: Session, control: EmulatorControl):
    control.add_fault("error", srv="11.2", code="E20", count=1)
    assert session.messages(session.send("11.2", target=ESME)).response_code == "E20"
    assert session.messages(session.send("11.2", target=ESME)).response_code == "I0", "count=1 applies once"


def test_lost_and_duplicated_responses(session: Session, control: EmulatorControl):
    control.add_fault("drop", srv="8.11", count=1)
    lost = session.send("8.11", params={"DeviceID": "00-DB-12-34-56-78-90-B1"})
    messages = session.messages(lost)
    assert messages.response is None and "N24" in messages.dcc_alerts, "alerts still arrive when the response is lost"
    control.add_fault("duplicate", srv="4.1.1", count=1)
    twice = session.messages(session.send("4.1.1", target=ESME))
    assert twice.kinds.count("response") == 2


def test_reorder_makes_alerts_overtake_the_response(session: Session, control: EmulatorControl):
    control.add_fault("reorder", srv="8.11", seconds=0.3)
    exchange = session.send("8.11", params={"DeviceID": "00-DB-12-34-56-78-90-B2"})
    session.messages(exchange)
    assert session.arrival_kinds(exchange) == ["device-alert", "dcc-alert", "response"]


def test_outbox_is_visible_without_bodies(session: Session, control: EmulatorControl):
    session.messages(session.send("4.1.1", target=ESME))
    listing = control.outbox()
    assert listing and {"recipient", "kind", "status", "request_id"} <= set(listing[-1])
    assert all("body" not in entry for entry in listing)


def test_settle_lets_target_time_pass_on_the_virtual_clock_without_sleeping(session: Session, control: EmulatorControl):
    """"Nothing further arrives within T" on the emulator: the clock moves T on, running what falls due,
    and the call returns as soon as the outbox has delivered it: no real-time wait for T itself."""
    import time
    from datetime import timedelta

    session.send("1.1.1", target=ESME, execution_datetime=session.clock.now() + timedelta(seconds=3600))
    assert session.dcc.outbox.wait_idle(5)
    before = len(session.arrivals)
    (job,) = control.pending()["jobs"]
    request_id = job["label"]
    assert control.pending(request_id=request_id, until=(session.clock.now() + timedelta(seconds=3599)).isoformat()) \
        == {"now": session.clock.now().isoformat(), "outbox": [], "jobs": []}, "nothing due before its execution time"
    assert control.pending(request_id=request_id, until=(session.clock.now() + timedelta(seconds=3600)).isoformat())["jobs"]
    started = time.monotonic()
    settled = control.settle(3600)
    assert time.monotonic() - started < 2.0, "an hour of target time passed in real time"
    assert settled["jobs_run"] == 1 and settled["settled"] and settled["pending"] == []
    assert len(session.arrivals) == before + 1 and b"8F66" in session.arrivals[-1]
    assert control.pending(request_id=request_id) == {"now": settled["now"], "outbox": [], "jobs": []}


def test_pending_and_settle_refuse_bad_input(control: EmulatorControl):
    with pytest.raises(InvalidInput, match="until: '2026-01-01T00:00:00' needs a time zone"):
        control.pending(until="2026-01-01T00:00:00")
    with pytest.raises(InvalidInput, match="advance_seconds: a number of seconds >= 0 is required"):
        control.settle(-1)
