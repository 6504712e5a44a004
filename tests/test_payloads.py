"""payloads: what a device reported, read from its GBCS payload under the names the steps use."""

import base64

from duisconf import gbcs
from duisconf.emulator.identities import for_seed
from duisconf.gbcs import builder
from duisconf.gbcs.keys import KeyChain, Zaz1Source
from duisconf.payloads import decode_payload, frame_of, reported_state, use_case_of

ESME = "00-DB-12-34-56-78-90-A0"
SUPPLIER = "90-B3-D5-1F-30-01-00-00"
DEVICE_KEYS = KeyChain(for_seed().key_source(lambda eui: eui == ESME.replace("-", "").lower()), Zaz1Source())


def _response(use_case: str, values: dict) -> bytes:
    return builder.build_message(use_case, "response", originator=ESME, recipient=SUPPLIER, counter=1000,
                                 values=values, keys=DEVICE_KEYS)


def test_readings_come_back_under_the_steps_names_from_base64_or_bytes():
    firmware = _response("ECS52", {"firmware_version": b"1.0.0".hex()})
    assert frame_of(firmware).header.message_code == 0x0059
    assert reported_state(base64.b64encode(firmware).decode()) == {"firmware_version": "1.0.0"}
    assert reported_state(firmware) == {"firmware_version": "1.0.0"}
    prepay = _response("ECS26a", {"prepay_configuration.MaxMeterBalance": 3000,
                                  "prepay_configuration.LowCreditThreshold": 100})
    assert reported_state(prepay)["prepay_configuration"]["MaxMeterBalance"] == 3000
    assert reported_state(prepay)["prepay_configuration"]["LowCreditThreshold"] == 100


def test_encrypted_readings_are_decrypted_with_the_device_certificate_and_the_users_key():
    register = _response("ECS17b", {"import_register": 1234})
    decoded = decode_payload(register)  # default keys: ZAZ1 private keys, emulated devices' certificates only
    assert decoded.mac == "valid" and decoded.decrypted
    assert reported_state(register)["import_register"]["raw"] == 1234


def test_what_is_not_a_readable_gbcs_response_is_none():
    header = gbcs.GroupingHeader(cra=gbcs.CRA.RESPONSE, originator_counter=7, originator=bytes(8),
                                 recipient=bytes(range(8)), date_time=None, message_code=0x0059)
    old_json = gbcs.GeneralSigning(header=header, content=b'{"firmware_version":"2.0"}', signature=None).encode()
    assert reported_state(old_json) is None  # the emulator's former JSON content is not GBCS
    dlms = gbcs.GeneralSigning(header=header, content=bytes.fromhex("da0001"), signature=None).encode()
    assert reported_state(dlms) is None


def test_use_case_of_a_message_code():
    assert use_case_of(0x0059, "response") == "ECS52"
    assert use_case_of(0x1000, "alert") is None  # GCA-DLMS and GCA-ZigBee share it
