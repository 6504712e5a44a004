"""Install & commission, No WAN, hub exchange / re-use and time management, observed through DUIS messages
(design-notes.md §4.1, §4.2, §4.5, §4.6, §4.7; the encoding of each reported state is in the docstring of
duisconf.emulator.effects.installation)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from emulator_harness import CHF, ESME, GPF, GSME, OPERATOR, PPMID, SR, START, SUPPLIER, Session

from duisconf.emulator.behaviours import dcc_alert_code
from duisconf.emulator.effects.installation import power_up
from duisconf.emulator.state import Device

NEW_ESME, NEW_CHF, NEW_GPF, NEW_PPMID = (f"00-DB-12-34-56-78-91-A{n}" for n in (0, 2, 3, 4))
CODE = "00112233445566778899AABBCCDDEEFF"
STATUS_CHANGE, LOG_RESTORED = dcc_alert_code("DeviceStatusChangeEvent"), dcc_alert_code("DeviceLogRestored")


def status(dcc: Session, eui: str) -> str | None:
    """The SMI status as a User reads it: 8.2 Read Inventory by DeviceID."""
    reply = dcc.send("8.2", params={"DeviceID": eui}).sync
    return reply.findtext(f".//{SR}DeviceStatus")


def prenotify(dcc: Session, eui: str, kind: str = "ESME", **params: str):
    return dcc.send("12.2", params={"DeviceID": eui, "DeviceType": kind, **params})


def whitelist(dcc: Session, eui: str, chf: str = CHF, code: str = CODE, period: int = 60, kind: str = "Add"):
    exchange = dcc.send("8.11", target=chf, params={"DeviceID": eui, "RequestType": kind, "InstallCode": code,
                                                     "JoinTimePeriod": str(period)})
    assert exchange.code == "I99"
    return dcc.messages(exchange)


def install_new_esme(dcc: Session) -> None:
    """Pre-notified, whitelisted on the reference hub and powered up: InstalledNotCommissioned."""
    assert prenotify(dcc, NEW_ESME).code == "I0"
    whitelist(dcc, NEW_ESME)
    assert power_up(dcc.inventory, NEW_ESME, dcc.clock.now()) == [(CHF, "8183")]


# -- 12.2 / 12.1 ---------------------------------------------------------------------------------

def test_prenotification_adds_a_pending_device_with_the_details_from_the_body():
    with Session() as dcc:
        assert prenotify(dcc, NEW_ESME, DeviceManufacturer="ACME", DeviceModel="M42", FirmwareVersion="0002012F").code == "I0"
        entry = dcc.send("8.2", params={"DeviceID": NEW_ESME}).sync
        assert entry.findtext(f".//{SR}DeviceStatus") == "Pending"
        assert entry.findtext(f".//{SR}DeviceManufacturer") == "ACME"
        assert entry.findtext(f".//{SR}DeviceModel") == "M42"
        assert entry.findtext(f".//{SR}DeviceFirmwareVersion") == "0002012F"


def test_prenotification_of_a_known_eui_changes_nothing_and_a_conflicting_type_is_refused():
    with Session() as dcc:
        assert prenotify(dcc, ESME, DeviceManufacturer="OTHER").code == "I0"
        assert dcc.send("8.2", params={"DeviceID": ESME}).sync.findtext(f".//{SR}DeviceManufacturer") == "duisconf"
        assert prenotify(dcc, ESME, "GSME").code == "E11"


def test_wan_matrix_reports_coverage_unless_the_premises_is_configured_without_it():
    with Session() as dcc:
        reply = dcc.send("12.1", params={"PostCode": "M22 0RR", "AddressIdentifier": "7"}).sync
        assert reply.findtext(f".//{SR}DSPWANMatrix/{SR}CoverageAvailability") == "true"
        assert reply.findtext(f".//{SR}DSPWANMatrix/{SR}Request/{SR}PartialAddress/{SR}PostCode") == "M22 0RR"
        dcc.inventory.data = {"no_wan_coverage": ["M22 0RR|7"]}
        reply = dcc.send("12.1", params={"PostCode": "M22 0RR", "AddressIdentifier": "7"}).sync
        assert reply.findtext(f".//{SR}CoverageAvailability") == "false"
        assert reply.findtext(f".//{SR}ConnectivityLikelihood") == "Low"


# -- 8.14.x ----------------------------------------------------------------------------------------

def add_new_hub(dcc: Session) -> None:
    assert prenotify(dcc, NEW_CHF, "CHF").code == "I0"
    assert prenotify(dcc, NEW_GPF, "GPF").code == "I0"
    dcc.inventory.device(NEW_CHF).device_log[dcc.inventory.device(NEW_GPF).eui] = "GPF"  # delivered as one hub
    dcc.inventory.device(NEW_GPF).chf = dcc.inventory.device(NEW_CHF).eui


def test_ch_install_success_brings_the_chf_and_its_gpf_into_service():
    with Session() as dcc:
        add_new_hub(dcc)
        assert dcc.send("8.14.1", params={"DeviceID": NEW_CHF}).code == "I0"
        assert status(dcc, NEW_CHF) == status(dcc, NEW_GPF) == "Commissioned"
        assert dcc.send("8.14.1", params={"DeviceID": "00-DB-12-34-56-78-99-99"}).code == "E19"


def test_ch_installed_without_wan_leaves_the_hub_installed_and_requests_through_it_fail_with_e20():
    with Session() as dcc:
        assert dcc.send("8.14.2", params={"DeviceID": CHF, "CHFInstallType": "CHF Install - no SM WAN"}).code == "I0"
        assert status(dcc, CHF) == status(dcc, GPF) == "InstalledNotCommissioned"
        to_hub = dcc.send("8.11", target=CHF, params={"DeviceID": NEW_ESME})
        assert to_hub.code == "I99" and dcc.messages(to_hub).response_code == "E20"
        through_hub = dcc.send("6.11", target=ESME, params={"CurrentDateTime": START.isoformat()})
        assert dcc.messages(through_hub).response_code == "E20"
        assert dcc.send("8.14.1", params={"DeviceID": CHF}).code == "I0"  # the WAN arrives
        assert dcc.messages(dcc.send("6.11", target=ESME, params={"CurrentDateTime": START.isoformat()})).response_code == "I0"


def test_fault_return_of_an_installed_hub_decommissions_it_with_a_dcc_alert():
    with Session() as dcc:
        exchange = dcc.send("8.14.3", params={"DeviceID": CHF})
        assert exchange.code == "I0"
        assert status(dcc, CHF) == status(dcc, GPF) == "Decommissioned"
        alert = dcc.messages(exchange).dcc_alert(STATUS_CHANGE)
        assert alert.findtext(f".//{SR}DeviceStatusChangeEvent/{SR}DeviceID") == CHF
        assert alert.find(f".//{SR}DeviceStatusChange/{SR}CHFDecommissioning") is not None


def test_no_fault_return_of_a_never_installed_hub_withdraws_it_silently():
    with Session() as dcc:
        add_new_hub(dcc)
        exchange = dcc.send("8.14.4", params={"DeviceID": NEW_CHF, "CHFNoFaultReturnType": "Lost or Stolen Hub"})
        assert exchange.code == "I0"
        assert status(dcc, NEW_CHF) == status(dcc, NEW_GPF) == "Withdrawn"
        assert dcc.messages(exchange).dcc_alerts == []


# -- 8.11 and the join window ------------------------------------------------------------------------

def test_add_whitelists_the_device_and_a_duplicate_add_ignores_the_key():
    with Session() as dcc:
        prenotify(dcc, NEW_ESME)
        first = whitelist(dcc, NEW_ESME)
        assert first.response_code == "I0" and first.state["key_ignored"] is False
        assert dcc.inventory.device(NEW_ESME).eui in first.state["device_log"]
        assert "8F12" in first.device_alerts and first.dcc_alerts == ["N24"]
        assert status(dcc, NEW_ESME) == "Whitelisted"
        again = whitelist(dcc, NEW_ESME, code="FF" * 16)
        assert again.response_code == "I0" and again.state["key_ignored"] is True
        assert power_up(dcc.inventory, NEW_ESME, dcc.clock.now()) == [(CHF, "8183")], "the first key still holds"


def test_power_up_joins_with_the_right_install_code_inside_the_window():
    with Session() as dcc:
        install_new_esme(dcc)
        assert status(dcc, NEW_ESME) == "InstalledNotCommissioned"


@pytest.mark.parametrize("case", ["wrong code", "window elapsed", "not whitelisted"])
def test_power_up_fails_with_8f48(case: str):
    with Session() as dcc:
        prenotify(dcc, NEW_ESME)
        if case != "not whitelisted":
            whitelist(dcc, NEW_ESME, period=60)
        if case == "wrong code":
            dcc.inventory.device(NEW_ESME).data["install_code"] = "AB" * 16  # the supplier sent another device's code
        if case == "window elapsed":
            dcc.advance(timedelta(seconds=61))
        assert [code for _, code in power_up(dcc.inventory, NEW_ESME, dcc.clock.now())] == ["8F48"]
        assert status(dcc, NEW_ESME) != "InstalledNotCommissioned"


def test_removed_device_goes_to_the_historic_log_and_rejoins_without_its_code_in_the_first_half():
    with Session() as dcc:
        removed = whitelist(dcc, ESME, kind="Remove")
        eui = dcc.inventory.device(ESME).eui
        assert removed.state["removed"] == eui and eui not in removed.state["device_log"]
        assert removed.state["historic_log"] == [eui]
        whitelist(dcc, ESME, period=100)
        wrong = "AB" * 16
        assert power_up(dcc.inventory, ESME, dcc.clock.now(), install_code=wrong) == [(CHF, "8183")]
        whitelist(dcc, ESME, kind="Remove")
        whitelist(dcc, ESME, period=100)
        dcc.advance(timedelta(seconds=51))  # second half: the install code is needed again
        assert power_up(dcc.inventory, ESME, dcc.clock.now(), install_code=wrong) == [(CHF, "8F48")]
        assert power_up(dcc.inventory, ESME, dcc.clock.now()) == [(CHF, "8183")]


def test_historic_log_keeps_fifteen_entries_oldest_overwritten():
    with Session() as dcc:
        chf = dcc.inventory.device(CHF)
        others = [f"00-DB-12-34-56-78-92-{n:02X}" for n in range(16)]
        for eui in others:
            chf.device_log[eui] = "IHD"
        for eui in others:
            last = whitelist(dcc, eui, kind="Remove")
        assert len(last.state["historic_log"]) == 15
        assert last.state["historic_log"][0] == others[1] and last.state["historic_log"][-1] == others[-1]
        dcc.inventory.add_device(Device(others[0], "IHD", status="Whitelisted", supplier=dcc.inventory.user(SUPPLIER).eui))
        whitelist(dcc, others[0])  # overwritten in the historic log: the install code is needed from the start
        assert power_up(dcc.inventory, others[0], dcc.clock.now(), install_code="AB" * 16) == [(CHF, "8F48")]


# -- 8.1.1 / 6.11 ------------------------------------------------------------------------------------

def test_commission_within_tolerance_sets_the_clock_and_commissions_the_meter():
    with Session() as dcc:
        install_new_esme(dcc)
        device = dcc.inventory.device(NEW_ESME)
        device.network_operator, device.data["clock_offset_s"] = dcc.inventory.user(OPERATOR).eui, 30.0
        exchange = dcc.send("8.1.1", target=NEW_ESME, params={"CurrentDateTime": START.isoformat(), "TolerancePeriod": "60"})
        messages = dcc.messages(exchange)
        assert messages.response_code == "I0" and messages.state["commissioned"] is True
        assert {"8145", "8F69"} <= set(messages.device_alerts)
        assert status(dcc, NEW_ESME) == "Commissioned"
        reply = dcc.send("8.2", params={"DeviceID": NEW_ESME}).sync
        assert reply.findtext(f".//{SR}DateCommissioned") == START.date().isoformat()
        identity = messages.dcc_alert(STATUS_CHANGE)
        assert identity.findtext(f".//{SR}MeterIdentity/{SR}MeterMPxNs/{SR}ImportMPxN") == "1000000000001"


def test_commission_outside_tolerance_leaves_the_clock_and_the_meter_uncommissioned():
    with Session() as dcc:
        install_new_esme(dcc)
        stale = (START - timedelta(hours=1)).isoformat()
        messages = dcc.messages(dcc.send("8.1.1", target=NEW_ESME, params={"CurrentDateTime": stale, "TolerancePeriod": "60"}))
        assert messages.state["commissioned"] is False and messages.state["clock_adjusted"] is False
        assert messages.device_alerts == ["81C6"]
        assert status(dcc, NEW_ESME) == "InstalledNotCommissioned"


def test_commission_before_the_device_joined_the_han_gets_no_response_e21():
    with Session() as dcc:
        prenotify(dcc, NEW_ESME)
        whitelist(dcc, NEW_ESME)
        messages = dcc.messages(dcc.send("8.1.1", target=NEW_ESME, params={"CurrentDateTime": START.isoformat()}))
        assert messages.response_code == "E21" and messages.device_alerts == []
        assert status(dcc, NEW_ESME) == "Whitelisted"


def test_synchronise_clock_adjusts_within_tolerance_and_refuses_outside():
    with Session() as dcc:
        dcc.inventory.device(ESME).data["clock_offset_s"] = -20.0
        too_far = dcc.messages(dcc.send("6.11", target=ESME, params={"CurrentDateTime": START.isoformat()}))
        assert too_far.device_alerts == ["8F0C"] and too_far.state["clock_adjusted"] is False, "a step over 10 s"
        dcc.inventory.device(ESME).data["clock_offset_s"] = -8.0
        within = dcc.messages(dcc.send("6.11", target=ESME, params={"CurrentDateTime": START.isoformat()}))
        assert within.device_alerts == ["8145"] and within.state["clock_adjusted"] is True
        assert dcc.inventory.device(ESME).data["clock_offset_s"] == 0.0
        stale = (START - timedelta(minutes=5)).isoformat()
        outside = dcc.messages(dcc.send("6.11", target=ESME, params={"CurrentDateTime": stale, "TolerancePeriod": "60"}))
        assert outside.device_alerts == ["81C6"] and outside.state["clock_adjusted"] is False


# -- 8.7.x / 8.8.x / 8.9 -------------------------------------------------------------------------------

def test_join_and_unjoin_record_the_pairing_and_raise_their_alerts():
    with Session() as dcc:
        joined = dcc.messages(dcc.send("8.7.1", target=ESME, params={"OtherDeviceID": PPMID}))
        assert joined.device_alerts == ["8F49"] and joined.state["joined"] is True
        log = dcc.messages(dcc.send("8.9", target=ESME)).state["device_log"]
        assert log == {dcc.inventory.device(PPMID).eui: "PPMID"}
        unknown = dcc.messages(dcc.send("8.7.2", target=GSME, params={"OtherDeviceID": "00-DB-12-34-56-78-99-99"}))
        assert unknown.device_alerts == ["8F48"] and unknown.state["joined"] is False
        assert dcc.messages(dcc.send("8.8.1", target=ESME, params={"OtherDeviceID": PPMID})).device_alerts == ["8F4B"]
        assert dcc.messages(dcc.send("8.8.2", target=GSME, params={"OtherDeviceID": PPMID})).device_alerts == ["8F4A"]


def test_read_device_log_of_the_chf_reports_its_log_and_historic_log():
    with Session() as dcc:
        whitelist(dcc, PPMID, kind="Remove")
        state = dcc.messages(dcc.send("8.9", target=CHF)).state
        assert dcc.inventory.device(ESME).eui in state["device_log"]
        assert state["historic_log"] == [dcc.inventory.device(PPMID).eui]


# -- 8.3 / 8.4 -------------------------------------------------------------------------------------

def test_decommission_raises_meter_decommissioning_with_the_joined_type1_devices():
    with Session() as dcc:
        dcc.messages(dcc.send("8.7.1", target=ESME, params={"OtherDeviceID": PPMID}))
        exchange = dcc.send("8.3", params={"DeviceID": ESME})
        assert exchange.code == "I0" and status(dcc, ESME) == "Decommissioned"
        alert = dcc.messages(exchange).dcc_alert(STATUS_CHANGE)
        assert alert.findtext(f".//{SR}MeterDecommissionOrWithdrawal/{SR}ImportMPxN") == "1312345678111"
        assert alert.findtext(f".//{SR}AssociatedType1Device/{SR}DeviceType") == "PPMID"
        assert dcc.send("8.3", params={"DeviceID": "00-DB-12-34-56-78-99-99"}).code == "E19"


def test_update_inventory_sets_statuses_by_kind_and_deletes_records():
    with Session() as dcc:
        prenotify(dcc, NEW_ESME)
        assert dcc.send("8.4", params={"DeviceID": NEW_ESME, "UpdateDeviceStatusExceptCH": "InstalledNotCommissioned"}).code == "I0"
        assert status(dcc, NEW_ESME) == "InstalledNotCommissioned"
        assert dcc.send("8.4", params={"DeviceID": NEW_ESME, "UpdateDeviceStatusCH": "Withdrawn"}).code == "E11"
        assert dcc.send("8.4", params={"DeviceID": CHF, "UpdateDeviceStatusCH": "Withdrawn"}).code == "I0"
        assert status(dcc, CHF) == "Withdrawn"
        deleted = dcc.send("8.4", params={"DeviceID": NEW_ESME})
        assert deleted.code == "I0" and status(dcc, NEW_ESME) is None
        assert dcc.messages(deleted).dcc_alert(STATUS_CHANGE).find(f".//{SR}DeviceRemovedFromInventory") is not None


# -- 8.12.x: hub exchange -------------------------------------------------------------------------

def test_restore_han_and_gpf_device_logs_move_the_devices_to_the_new_hub():
    with Session() as dcc:
        add_new_hub(dcc)
        assert dcc.send("8.14.1", params={"DeviceID": NEW_CHF, "CHFInstallType": "Replacement CHF Install"}).code == "I0"
        han = dcc.messages(dcc.send("8.12.1", target=NEW_CHF, params={"OldCHFID": CHF}))
        new_chf, new_gpf = dcc.inventory.device(NEW_CHF).eui, dcc.inventory.device(NEW_GPF).eui
        assert han.response_code == "I0" and han.device_alerts == ["8F12"]
        assert dcc.inventory.device(ESME).eui in han.state["device_log"]
        assert dcc.inventory.device(GPF).eui not in han.state["device_log"]
        assert dcc.inventory.device(ESME).chf == new_chf
        restored = han.dcc_alert(LOG_RESTORED)
        assert restored.findtext(f".//{SR}CHFDeviceLog/{SR}NewCHFDeviceID") == new_chf
        assert restored.findtext(f".//{SR}CHFDeviceLog/{SR}OldGPFDeviceID") == dcc.inventory.device(GPF).eui
        gas = dcc.messages(dcc.send("8.12.2", target=NEW_GPF, params={"OldGPFID": GPF}))
        assert gas.device_alerts == ["8071"] and dcc.inventory.device(GSME).gpf == new_gpf
        assert gas.dcc_alert(LOG_RESTORED).findtext(f".//{SR}GPFDeviceLog/{SR}NewGPFDeviceID") == new_gpf
        missing = dcc.messages(dcc.send("8.12.1", target=NEW_CHF, params={"OldCHFID": "00-DB-12-34-56-78-99-99"}))
        assert missing.response_code == "E19"


def test_read_inventory_by_mpxn_lists_the_meters_of_the_supply():
    with Session() as dcc:
        reply = dcc.send("8.2", params={"MPxN": "1312345678111"}).sync
        ids = {d.findtext(f"{SR}DeviceID") for d in reply.iter(f"{SR}Device")}
        assert ESME in ids and GSME not in ids


# -- design note §4.1 end to end -------------------------------------------------------------------

def test_install_and_commission_flow_new_hub_meter_and_ppmid():
    """12.2 → 12.1 → 8.14.1 → 8.11 → power-up → 8.1.1 → 8.11 PPMID → power-up → 8.7.1 (design-notes §4.1)."""
    with Session() as dcc:
        add_new_hub(dcc)
        for eui, kind in ((NEW_ESME, "ESME"), (NEW_PPMID, "PPMID")):
            assert prenotify(dcc, eui, kind).code == "I0"
        assert dcc.send("12.1", params={"UPRN": "100023336956"}).sync.findtext(f".//{SR}CoverageAvailability") == "true"
        assert dcc.send("8.14.1", params={"DeviceID": NEW_CHF}).code == "I0"
        assert whitelist(dcc, NEW_ESME, chf=NEW_CHF).dcc_alerts == ["N24"]
        chf = dcc.inventory.device(NEW_CHF).eui
        assert dcc.dcc.power_up(NEW_ESME) == [{"device": chf, "code": "8183"}]  # the emulator's physical step
        commissioned = dcc.messages(dcc.send("8.1.1", target=NEW_ESME, params={"CurrentDateTime": START.isoformat()}))
        assert "8F69" in commissioned.device_alerts and status(dcc, NEW_ESME) == "Commissioned"
        whitelist(dcc, NEW_PPMID, chf=NEW_CHF)
        assert dcc.dcc.power_up(NEW_PPMID) == [{"device": chf, "code": "8183"}]
        joined = dcc.messages(dcc.send("8.7.1", target=NEW_ESME, params={"OtherDeviceID": NEW_PPMID}))
        assert joined.device_alerts == ["8F49"] and status(dcc, NEW_PPMID) == "Commissioned"
        log = dcc.messages(dcc.send("8.9", target=NEW_CHF)).state["device_log"]
        assert set(log) == {dcc.inventory.device(e).eui for e in (NEW_GPF, NEW_ESME, NEW_PPMID)}


# -- registration data at whitelisting, and the misbehaviours of the suite's negative checks ---------

def test_a_whitelisted_meter_takes_the_network_operator_of_the_hub_and_gets_meter_identity_at_commissioning():
    with Session() as dcc:
        install_new_esme(dcc)
        assert dcc.inventory.device(NEW_ESME).network_operator == dcc.inventory.user(OPERATOR).eui
        messages = dcc.messages(dcc.send("8.1.1", target=NEW_ESME, params={"CurrentDateTime": START.isoformat()}))
        assert messages.dcc_alert(STATUS_CHANGE).find(f".//{SR}MeterIdentity") is not None


def misbehave(dcc: Session, rule: str) -> None:
    dcc.dcc.faults.add({"kind": "misbehave", "rule": rule})


def test_misbehaviour_commission_without_clock_check_commissions_outside_the_tolerance():
    with Session() as dcc:
        install_new_esme(dcc)
        misbehave(dcc, "commission-without-clock-check")
        stale = (START - timedelta(hours=2)).isoformat()
        messages = dcc.messages(dcc.send("8.1.1", target=NEW_ESME, params={"CurrentDateTime": stale}))
        assert messages.state["commissioned"] is True and status(dcc, NEW_ESME) == "Commissioned"


def test_misbehaviour_no_wan_requests_succeed_leaves_the_hub_reachable():
    with Session() as dcc:
        misbehave(dcc, "no-wan-requests-succeed")
        assert dcc.send("8.14.2", params={"DeviceID": CHF, "CHFInstallType": "CHF Install - no SM WAN"}).code == "I0"
        assert status(dcc, CHF) == "InstalledNotCommissioned"
        assert dcc.messages(dcc.send("11.2", target=CHF)).response_code == "I0"


def test_misbehaviour_device_log_not_restored_answers_but_moves_nothing():
    with Session() as dcc:
        add_new_hub(dcc)
        dcc.send("8.14.1", params={"DeviceID": NEW_CHF, "CHFInstallType": "Replacement CHF Install"})
        misbehave(dcc, "device-log-not-restored")
        han = dcc.messages(dcc.send("8.12.1", target=NEW_CHF, params={"OldCHFID": CHF}))
        assert han.response_code == "I0" and han.device_alerts == ["8F12"]
        assert dcc.inventory.device(ESME).eui not in han.state["device_log"]
        assert dcc.inventory.device(ESME).chf == dcc.inventory.device(CHF).eui


def test_misbehaviour_historic_log_not_kept_drops_the_removed_device():
    with Session() as dcc:
        misbehave(dcc, "historic-log-not-kept")
        removed = whitelist(dcc, ESME, kind="Remove")
        assert removed.state["removed"] == dcc.inventory.device(ESME).eui and removed.state["historic_log"] == []
