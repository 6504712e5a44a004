"""Firmware Management on the emulator (design-notes §4.8), observed only through DUIS messages:
11.1 distribution with its warnings and alerts, 11.3 activation (immediate, future-dated, cancelled,
wrong hash), 11.2 reading the executing version, 11.4 PPMID update, HCALCS distribution."""

from __future__ import annotations

import base64
import hashlib
from datetime import timedelta

from emulator_harness import CHF, ESME, GSME, HCALCS, PPMID, SR, START, Session

IMAGE = b"duisconf test firmware 2.0"
HASH = hashlib.sha256(IMAGE).hexdigest().upper()
UNKNOWN = "00-DB-12-34-56-78-99-99"
LATER = (START + timedelta(hours=6)).strftime("%Y-%m-%dT%H:%M:%SZ")
CANCEL = "3000-12-31T00:00:00Z"


def update(dcc: Session, devices: str, version: str = "2.0.0", image: bytes = IMAGE, srv: str = "11.1"):
    return dcc.send(srv, params={"FirmwareImage": base64.b64encode(image).decode(), "FirmwareVersion": version,
                                 "DeviceIDList": devices})


def version_of(dcc: Session, device: str) -> str:
    return dcc.messages(dcc.send("11.2", target=device)).state["firmware_version"]


def warning_lists(reply) -> dict[str, str]:
    warning = reply.find(f".//{SR}DSPUpdateFirmwareWarning")
    if warning is None:
        warning = reply.find(f".//{SR}DSPUpdatePPMIDFirmwareWarning")
    return {} if warning is None else {child.tag.split("}")[1]: child.text for child in warning}


# -- 11.1 ---------------------------------------------------------------------------------------
def test_update_firmware_to_valid_devices_is_i0_without_warning_and_alerts_per_device():
    with Session() as dcc:
        exchange = update(dcc, f"{ESME},{GSME}")
        assert exchange.code == "I0" and warning_lists(exchange.sync) == {}
        messages = dcc.messages(exchange)
        assert messages.device_alerts == ["8F72", "8F72"]
        assert messages.device_alert_state("8F72") == {"alert": "8F72", "firmware_version": "2.0.0", "firmware_hash": HASH}
        assert sorted(messages.dcc_alerts) == ["N60", "N61"]
        status = messages.dcc_alert("N61").find(f".//{SR}CSPFirmwareDeliveryStatus")
        assert status.findtext(f"{SR}TargetDeviceID") == GSME
        assert status.findtext(f"{SR}CommsHubDeviceID") == CHF
        assert status.findtext(f"{SR}UpdateFirmwareRequestID") == exchange.request_id
        assert status.findtext(f"{SR}CommsHubTransferStatus") == "Success"
        assert version_of(dcc, ESME) == "1.0.0"  # distributed, not yet running


def test_update_firmware_lists_unknown_uncommissioned_and_inapplicable_devices_in_a_w110101_warning():
    with Session() as dcc:
        dcc.inventory.device(GSME).status = "InstalledNotCommissioned"
        exchange = update(dcc, f"{ESME},{UNKNOWN},{GSME},{CHF}")
        assert exchange.code == "W110101"
        assert warning_lists(exchange.sync) == {"InvalidDeviceIDList": UNKNOWN, "NotCommissionedDeviceIDList": GSME,
                                                "NotApplicableFirmwareDeviceIDList": CHF}
        messages = dcc.messages(exchange)
        assert messages.device_alerts == ["8F72"] and messages.dcc_alerts == ["N60"]


def test_another_suppliers_device_is_invalid_for_update_firmware():
    with Session() as dcc:
        dcc.inventory.device(ESME).supplier = "90-B3-D5-1F-30-03-00-00"
        exchange = update(dcc, ESME)
        assert exchange.code == "W110101" and warning_lists(exchange.sync) == {"InvalidDeviceIDList": ESME}
        assert dcc.messages(exchange).device_alerts == []


# -- 11.3 and 11.2 --------------------------------------------------------------------------------
def test_activation_of_a_distributed_image_changes_the_version_read_by_11_2():
    with Session() as dcc:
        assert version_of(dcc, ESME) == "1.0.0"
        update(dcc, ESME)
        exchange = dcc.send("11.3", target=ESME, params={"FirmwareHash": HASH})
        messages = dcc.messages(exchange)
        assert messages.response_code == "I0"
        assert messages.state == {"activated": True, "activation": "success", "firmware_version": "2.0.0", "firmware_hash": HASH}
        assert messages.device_alerts == ["8F43"]
        assert messages.device_alert_state("8F43")["previous_version"] == "1.0.0"
        assert version_of(dcc, ESME) == "2.0.0"


def test_activation_with_a_hash_never_distributed_leaves_the_version_unchanged():
    with Session() as dcc:
        exchange = dcc.send("11.3", target=ESME, params={"FirmwareHash": HASH})  # activate before distribution
        messages = dcc.messages(exchange)
        assert messages.response_code == "I0"
        assert messages.state == {"activated": False, "activation": "noImageHeld", "firmware_version": "1.0.0", "firmware_hash": HASH}
        assert messages.device_alerts == []
        assert version_of(dcc, ESME) == "1.0.0"


def test_future_dated_activation_runs_at_the_execution_time_with_8f66():
    with Session() as dcc:
        update(dcc, GSME, version="G2")
        exchange = dcc.send("11.3", target=GSME, params={"FirmwareHash": HASH}, execution_datetime=LATER)
        assert dcc.messages(exchange).state == {"stored_until": LATER}
        assert version_of(dcc, GSME) == "1.0.0"
        dcc.advance(timedelta(hours=6))
        messages = dcc.messages(exchange)
        assert messages.future_dated == ["8F66"] and messages.device_alerts == ["8F43"]
        assert version_of(dcc, GSME) == "G2"


def test_future_dated_activation_with_a_wrong_hash_is_not_actioned_8f67():
    with Session() as dcc:
        update(dcc, ESME)
        wrong = hashlib.sha256(b"another image").hexdigest()
        exchange = dcc.send("11.3", target=ESME, params={"FirmwareHash": wrong}, execution_datetime=LATER)
        dcc.advance(timedelta(hours=6))
        messages = dcc.messages(exchange)
        assert messages.future_dated == ["8F67"] and messages.device_alerts == []
        assert version_of(dcc, ESME) == "1.0.0"


def test_cancelled_activation_never_runs():
    with Session() as dcc:
        update(dcc, ESME)
        pending = dcc.send("11.3", target=ESME, params={"FirmwareHash": HASH}, execution_datetime=LATER)
        cancel = dcc.send("11.3", target=ESME, params={"FirmwareHash": HASH}, execution_datetime=CANCEL)
        assert dcc.messages(cancel).state == {"cancelled": True}
        dcc.advance(timedelta(days=1))
        assert dcc.messages(pending).future_dated == [] and dcc.messages(pending).device_alerts == []
        assert version_of(dcc, ESME) == "1.0.0"


def test_read_firmware_version_by_other_user_and_network_operator():
    with Session() as dcc:
        for originator in ("00-DB-12-34-56-78-00-04", "90-B3-D5-1F-30-02-00-00"):
            exchange = dcc.send("11.2", target=ESME, originator=originator)
            assert exchange.code == "I99"
            assert dcc.messages(exchange).state == {"firmware_version": "1.0.0"}


# -- 11.4 and HCALCS ------------------------------------------------------------------------------
def test_update_ppmid_firmware_distributes_and_activates_in_one_step():
    with Session() as dcc:
        exchange = update(dcc, PPMID, version="P2", srv="11.4")
        assert exchange.code == "I0" and warning_lists(exchange.sync) == {}
        assert version_of(dcc, PPMID) == "P2"


def test_update_ppmid_firmware_rejects_meters_with_w110401():
    with Session() as dcc:
        exchange = update(dcc, f"{PPMID},{ESME}", version="P2", srv="11.4")
        assert exchange.code == "W110401"
        assert warning_lists(exchange.sync) == {"NotApplicableFirmwareDeviceIDList": ESME}
        assert version_of(dcc, ESME) == "1.0.0" and version_of(dcc, PPMID) == "P2"


def test_hcalcs_firmware_is_distributed_with_11_1_and_activated_with_11_3():
    with Session() as dcc:
        exchange = update(dcc, HCALCS, version="H2")
        assert exchange.code == "I0"
        assert dcc.messages(exchange).device_alerts == ["8F72"]
        activation = dcc.send("11.3", target=HCALCS, params={"FirmwareHash": HASH})
        assert activation.code == "I99"
        assert "8F43" in dcc.messages(activation).device_alerts
        assert version_of(dcc, HCALCS) == "H2"


def test_mixed_delivery_across_the_device_list_reports_each_outcome():
    with Session() as dcc:
        dcc.inventory.device(GSME).data["firmware_fault"] = "transfer"          # e.g. battery-constrained GSME
        dcc.inventory.device(HCALCS).data["firmware_fault"] = "verification"
        exchange = update(dcc, f"{ESME},{GSME},{HCALCS}")
        assert exchange.code == "I0"
        messages = dcc.messages(exchange)
        assert sorted(messages.device_alerts) == ["8F1C", "8F72"]
        transfer = {r.findtext(f".//{SR}TargetDeviceID"): r.findtext(f".//{SR}CommsHubTransferStatus")
                    for r in messages.roots if r.find(f".//{SR}CSPFirmwareDeliveryStatus") is not None}
        assert transfer == {ESME: "Success", GSME: "Failure", HCALCS: "Success"}
        activation = dcc.send("11.3", target=GSME, params={"FirmwareHash": HASH})  # the image never arrived
        assert dcc.messages(activation).state["activated"] is False


def test_read_inventory_shows_the_activated_version():
    with Session() as dcc:
        update(dcc, ESME)
        dcc.messages(dcc.send("11.3", target=ESME, params={"FirmwareHash": HASH}))
        inventory = dcc.send("8.2", params={"DeviceID": ESME}).sync
        assert inventory.findtext(f".//{SR}DeviceFirmwareVersion") == "2.0.0"


def test_activation_without_a_distributed_image_changes_nothing():
    with Session() as dcc:
        messages = dcc.messages(dcc.send("11.3", target=ESME))  # the template's own hash: never distributed
        assert messages.state["activated"] is False and version_of(dcc, ESME) == "1.0.0"

def test_misbehaviour_firmware_version_not_updated_keeps_the_old_version():
    """The suite's own negative check (tests/test_suite_negative_firmware_alcs.py) relies on this wrong model."""
    with Session() as dcc:
        dcc.dcc.faults.add({"kind": "misbehave", "rule": "firmware-version-not-updated"})
        update(dcc, ESME)
        messages = dcc.messages(dcc.send("11.3", target=ESME, params={"FirmwareHash": HASH}))
        assert messages.state["activated"] is True and messages.device_alerts == ["8F43"]
        assert version_of(dcc, ESME) == "1.0.0"
