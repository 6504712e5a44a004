"""ALCS and auxiliary controllers on the emulator (design-notes §4.9), observed only through DUIS
messages: configuration (6.14.x, 7.12, 7.13), manual switching (7.5 / 7.6 / 7.8), boost button
(7.9 / 7.10) and the reads (7.7, 7.11, 7.14, 7.15) by the supplier, the network operator and other users."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import contextmanager
from datetime import timedelta
from unittest import mock

from lxml import etree

import emulator_harness
from duisconf.duis.parse import parse_xml
from emulator_harness import ESME, GSME, OPERATOR, OTHER_USER, SR, START, Session

LATER = (START + timedelta(hours=6)).strftime("%Y-%m-%dT%H:%M:%SZ")
CANCEL = "3000-12-31T00:00:00Z"


@contextmanager
def edited_body(edit: Callable[[etree._Element], None]):
    """Render requests as usual, then let `edit` change the body (the templates fix the index attributes)."""
    render = emulator_harness.render_request

    def rendered(srv: str, **options: object) -> bytes:
        root = parse_xml(render(srv, **options)).getroot()
        edit(root.find(f"{SR}Body")[0])
        return etree.tostring(root, xml_declaration=True, encoding="UTF-8")

    with mock.patch.object(emulator_harness, "render_request", rendered):
        yield


def indexed(tag: str, index: int, attribute: str = "index") -> Callable[[etree._Element], None]:
    def edit(body: etree._Element) -> None:
        for node in body.iter(f"{SR}{tag}"):
            node.set(attribute, str(index))
    return edit


def send(dcc: Session, srv: str, edit: Callable[[etree._Element], None] | None = None, **options: object):
    if edit is None:
        return dcc.messages(dcc.send(srv, target=ESME, **options))
    with edited_body(edit):
        return dcc.messages(dcc.send(srv, target=ESME, **options))


def read(dcc: Session, srv: str, originator: str = emulator_harness.SUPPLIER, **options: object) -> dict:
    exchange = dcc.send(srv, target=ESME, originator=originator, **options)
    assert exchange.code == "I99", exchange.code
    return dcc.messages(exchange).state


def test_descriptions_are_stored_per_switch_and_read_by_7_7():
    with Session() as dcc:
        send(dcc, "6.14.1", params={"SwitchDescription": "immersion"})
        assert send(dcc, "6.14.1", indexed("ALCSHCALCSDescription", 4),
                    params={"SwitchDescription": "storage heater"}).state == {
            "descriptions": {"1": "immersion", "4": "storage heater"}}
        assert read(dcc, "7.7")["descriptions"] == {"1": "immersion", "4": "storage heater"}


def test_alc_schedule_is_stored_immediately_and_reported():
    with Session() as dcc:
        messages = send(dcc, "6.14.2")
        assert messages.response_code == "I0"
        assert messages.state["alc_schedule"][0] == {"switch": 1, "action": "activate", "days": ["Monday"],
                                                      "special_days": [1], "switch_time": "00:00:00"}
        assert messages.state["alc_schedule"][1]["action"] == "deactivate"
        assert messages.state["special_days"] == 2
        assert messages.state["switch_types"] == {"1": "ALCS", "2": f"HCALCS {ESME}"}
        assert len(read(dcc, "7.7")["alc_schedule"]) == 2


def test_future_dated_alc_schedule_applies_at_the_execution_time_and_can_be_cancelled():
    with Session() as dcc:
        exchange = dcc.send("6.14.2", target=ESME, execution_datetime=LATER)
        assert dcc.messages(exchange).state == {"stored_until": LATER}
        assert read(dcc, "7.7")["alc_schedule"] == []
        dcc.advance(timedelta(hours=6))
        assert dcc.messages(exchange).future_dated == ["8F66"]
        assert len(read(dcc, "7.7")["alc_schedule"]) == 2

    with Session() as dcc:
        pending = dcc.send("6.14.2", target=ESME, execution_datetime=LATER)
        assert dcc.messages(dcc.send("6.14.2", target=ESME, execution_datetime=CANCEL)).state == {"cancelled": True}
        dcc.advance(timedelta(days=1))
        assert dcc.messages(pending).future_dated == []
        assert read(dcc, "7.7")["alc_schedule"] == []


def test_auxiliary_controller_schedule_immediate_and_future_dated():
    with Session() as dcc:
        state = send(dcc, "6.14.3", params={"CommandedStateLevel": "40", "InputFromControlledLoad": True,
                                            "DayOfWeekID": "Friday", "SwitchTime": "07:30:00"}).state
        assert state == {"aux_schedule": [{"controller": 1, "level": 40, "input_from_controlled_load": True,
                                           "days": ["Friday"], "special_days": [1], "switch_time": "07:30:00"}],
                         "aux_special_days": 1}
        assert read(dcc, "7.14", originator=OPERATOR)["aux_schedule"] == state["aux_schedule"]

        exchange = dcc.send("6.14.3", target=ESME, params={"CommandedStateLevel": "100"}, execution_datetime=LATER)
        assert read(dcc, "7.14")["aux_schedule"][0]["level"] == 40
        dcc.advance(timedelta(hours=6))
        assert dcc.messages(exchange).future_dated == ["8F66"]
        assert read(dcc, "7.14")["aux_schedule"][0]["level"] == 100


def test_activate_for_a_duration_then_back_on_schedule_when_it_expires():
    with Session() as dcc:
        state = send(dcc, "7.5", indexed("ActivateALCSHCALCS", 3), params={"Duration": "30"}).state
        assert state["switches"]["3"] == {"mode": "on", "until": (START + timedelta(minutes=30)).isoformat()}
        assert read(dcc, "7.7")["switches"]["3"]["mode"] == "on"
        dcc.advance(timedelta(minutes=30))
        assert read(dcc, "7.7")["switches"]["3"] == {"mode": "schedule", "until": None}


def test_deactivate_then_reset_returns_the_switch_to_its_schedule():
    with Session() as dcc:
        assert send(dcc, "7.6", indexed("DeactivateALCSHCALCS", 2),
                    params={"Duration": "0"}).state["switches"]["2"] == {"mode": "off", "until": None}
        dcc.advance(timedelta(days=2))
        assert read(dcc, "7.7")["switches"]["2"]["mode"] == "off"  # 0: until reset
        assert send(dcc, "7.8", indexed("ResetALCSHCALCS", 2)).state["switches"]["2"] == {"mode": "schedule", "until": None}
        assert read(dcc, "7.7")["switches"]["2"]["mode"] == "schedule"


def test_boost_button_add_and_remove_are_read_by_7_11_for_supplier_and_other_user():
    with Session() as dcc:
        assert send(dcc, "7.9").state == {"boost": [1, 2, 3, 4, 5]}

        def only_switch_2(body: etree._Element) -> None:
            for node in body:
                if node.get("index"):
                    node.text = "true" if node.get("index") == "2" else "false"

        assert send(dcc, "7.10", only_switch_2).state == {"boost": [1, 3, 4, 5]}
        assert read(dcc, "7.11", originator=OTHER_USER) == {"boost": [1, 3, 4, 5], "boost_events": []}
        assert read(dcc, "7.7", originator=OTHER_USER)["boost"] == [1, 3, 4, 5]


def test_randomised_offset_limit_and_auxiliary_controller_state_are_read_back():
    with Session() as dcc:
        assert send(dcc, "7.12", params={"RandomisedOffsetLimit": "900"}).state == {"randomised_offset_limit": 900}
        assert read(dcc, "7.14", originator=OTHER_USER)["randomised_offset_limit"] == 900
        send(dcc, "7.13", indexed("SetAuxiliaryControllerState", 5, "auxiliaryControllerN"),
             params={"StartDateTime": "2026-11-22T12:00:00Z", "EndDateTime": "2026-11-22T14:00:00Z",
                     "CommandedStateLevel": "60"})
        expected = {"5": {"start": "2026-11-22T12:00:00Z", "end": "2026-11-22T14:00:00Z", "level": 60,
                          "input_from_controlled_load": False}}
        for originator in (emulator_harness.SUPPLIER, OPERATOR, OTHER_USER):
            assert read(dcc, "7.15", originator=originator) == {"aux_controllers": expected}


def test_reads_by_network_operator_and_other_user_see_the_same_alcs_data():
    with Session() as dcc:
        send(dcc, "6.14.1", params={"SwitchDescription": "heat pump"})
        by_supplier = read(dcc, "7.7")
        assert read(dcc, "7.7", originator=OPERATOR) == by_supplier == read(dcc, "7.7", originator=OTHER_USER)


def test_writes_by_non_suppliers_and_alcs_srvs_on_a_gas_meter_are_refused():
    with Session() as dcc:
        assert dcc.send("6.14.1", target=ESME, originator=OPERATOR).code == "E2"
        assert dcc.send("7.9", target=ESME, originator=OTHER_USER).code == "E2"
        assert dcc.send("7.7", target=GSME).code == "E11"
        assert read(dcc, "7.7")["descriptions"] == {}


def test_misbehaviour_boost_ignored_leaves_the_boost_button_unchanged():
    """The suite's own negative check (tests/test_suite_negative_firmware_alcs.py) relies on this wrong model."""
    with Session() as dcc:
        dcc.dcc.faults.add({"kind": "misbehave", "rule": "boost-ignored"})
        assert send(dcc, "7.9").response_code == "I0"
        assert read(dcc, "7.11") == {"boost": [], "boost_events": []}
