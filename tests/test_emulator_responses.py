"""The emulator's response builder: every message it can send is XSD-valid and DCC-signed."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from duisconf.duis.model import SR_NS, RequestID
from duisconf.duis.parse import parse_xml
from duisconf.duis.schema import load_schema
from duisconf.emulator.responses import ResponseBuilder, element, xml_datetime
from duisconf.keystore import zaz1
from duisconf.signing import response_trust, verify

RID = RequestID.parse("90-B3-D5-1F-30-01-00-00:00-DB-12-34-56-78-90-A0:1000")
SR = f"{{{SR_NS}}}"


@pytest.fixture(scope="module")
def builder() -> ResponseBuilder:
    return ResponseBuilder(zaz1(), clock=lambda: datetime(2026, 11, 22, 10, 0, 0, 123456, tzinfo=timezone.utc))


MESSAGES = {
    "ack": lambda b: b.acknowledgement(RID, "I99", "4.1.1"),
    "error": lambda b: b.acknowledgement(RID, "E19", "4.1.1"),
    "device-response": lambda b: b.device_response(RID, "4.1.1", b"\xdf\x09"),
    "precommand": lambda b: b.precommand(RID, "8.1.1", b"\xdf\x00"),
    "local-command": lambda b: b.local_command(RID, "4.1.1", b"\xdf\x00"),
    "non-device": lambda b: b.non_device(RID, "5.1", element("DSPScheduleID", 7)),
    "future-dated": lambda b: b.future_dated_alert(RID, "11.3", "8F66", b"\x01"),
    "device-alert": lambda b: b.device_alert("00-DB-12-34-56-78-90-A0", "90-B3-D5-1F-30-01-00-00", 5, "8f69", b"\x0f"),
    "dcc-alert": lambda b: b.dcc_alert("90-B3-D5-1F-30-01-00-00", 6, "N24", element(
        "UpdateHANDeviceLogResult", None, element("UpdateHANDeviceLogServiceRequestID", str(RID)))),
}


@pytest.mark.parametrize("kind", MESSAGES)
def test_every_message_is_schema_valid_and_signed_by_the_dcc(builder: ResponseBuilder, kind: str):
    message = MESSAGES[kind](builder)
    load_schema().validate(parse_xml(message), source=kind)
    assert verify(message, response_trust(zaz1())).signer.name == "dsp-xml-sign-90B3D51F30000002-ds"


def test_device_response_swaps_originator_and_target_and_keeps_the_counter(builder: ResponseBuilder):
    header = parse_xml(builder.device_response(RID, "4.1.1", b"\xdf")).getroot().find(SR + "Header")
    assert header.findtext(SR + "RequestID") == str(RID)
    assert header.findtext(SR + "ResponseID") == "00-DB-12-34-56-78-90-A0:90-B3-D5-1F-30-01-00-00:1000"
    assert header.findtext(SR + "ResponseDateTime") == "2026-11-22T10:00:00.123Z"


def test_acknowledgements_carry_no_response_id_and_alerts_no_request_id(builder: ResponseBuilder):
    ack = parse_xml(builder.acknowledgement(RID, "I99", "8.11")).getroot().find(SR + "Header")
    assert ack.find(SR + "ResponseID") is None and ack.findtext(SR + "ResponseCode") == "I99"
    alert = parse_xml(MESSAGES["device-alert"](builder)).getroot().find(SR + "Header")
    assert alert.find(SR + "RequestID") is None
    assert alert.findtext(SR + "ResponseID").startswith("00-DB-12-34-56-78-90-A0:")


def test_xml_datetime_is_utc_with_milliseconds():
    assert xml_datetime(datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=timezone.utc)) == "2026-01-02T03:04:05.678Z"
