"""The emulator's access control, one DUIS response code trigger at a time (rules/access_control.toml).

Requests go through `DCCEmulator.handle` exactly as the HTTP handler passes them, signed the way a User's
system signs them; replies are checked as a User's system would read them (schema, signature, code).
"""

from __future__ import annotations

import itertools

import pytest

from duisconf.duis.model import SR_NS
from duisconf.duis.parse import parse_xml
from duisconf.duis.schema import load_schema
from duisconf.emulator.server import DCCEmulator
from duisconf.keystore import zaz1
from duisconf.render import render_request
from duisconf.signing import response_trust, sign, verify

SUPPLIER, SUPPLIER2, OPERATOR = "90-B3-D5-1F-30-01-00-00", "90-B3-D5-1F-30-03-00-00", "90-B3-D5-1F-30-02-00-00"
ESME, GSME, CHF = "00-DB-12-34-56-78-90-A0", "00-DB-12-34-56-78-90-A1", "00-DB-12-34-56-78-90-A2"
SR = f"{{{SR_NS}}}"
_counter = itertools.count(1_000_000)


@pytest.fixture
def dcc() -> DCCEmulator:
    return DCCEmulator(port=0)  # handle() needs no listening socket


def request(srv: str, *, originator: str = SUPPLIER, target: str | None = None, cv: int | None = None,
            counter: int | None = None, signer: str | None = None, **params: str) -> bytes:
    xml = render_request(srv, originator=originator, target=target, command_variant=cv,
                         counter=counter if counter is not None else next(_counter), params=params)
    identity = zaz1().xml_signing_identity(signer or originator)
    return sign(xml, identity=identity)


def code_of(reply) -> str:
    return parse_xml(reply.body).getroot().findtext(f"{SR}Header/{SR}ResponseCode")


def answered(reply, code: str) -> None:
    assert code_of(reply) == code, reply.body.decode()[:600]
    load_schema().validate(parse_xml(reply.body), source="reply")


def test_well_formed_and_schema_failures_get_a_signed_e100_and_http_400(dcc: DCCEmulator):
    schema_invalid = request("4.1.1").replace(b"<sr:CommandVariant>1", b"<sr:CommandVariant>12")
    for raw in (b"<sr:Request", b'<!DOCTYPE r [<!ENTITY x "y">]><r>&x;</r>', schema_invalid):
        reply = dcc.handle("serviceS", raw)
        assert reply.status == 400 and code_of(reply) == "E100"
        assert verify(reply.body, response_trust(zaz1())).signed
    named = parse_xml(dcc.handle("serviceS", schema_invalid).body).getroot()
    assert named.findtext(f".//{SR}ServiceReferenceVariant") == "4.1.1", "the reply names the SRV it could read"


def test_unsigned_request_is_refused_with_e1(dcc: DCCEmulator):
    unsigned = render_request("4.1.1", counter=next(_counter))
    answered(dcc.handle("serviceS", unsigned), "E1")


def test_signature_by_someone_other_than_the_originator_is_refused_with_e1(dcc: DCCEmulator):
    answered(dcc.handle("serviceS", request("4.1.1", signer=SUPPLIER2)), "E1")


def test_an_unknown_user_is_refused_with_e1(dcc: DCCEmulator):
    del dcc.inventory.users[SUPPLIER]
    answered(dcc.handle("serviceS", request("4.1.1")), "E1")


def test_a_replayed_counter_is_refused(dcc: DCCEmulator):
    first = request("4.1.1", counter=5_000_000)
    answered(dcc.handle("serviceS", first), "I99")
    answered(dcc.handle("serviceS", first), "E1")
    answered(dcc.handle("serviceS", request("4.1.1", counter=4_999_999)), "E1")


def test_wrong_url_for_the_command_variant_is_e13(dcc: DCCEmulator):
    answered(dcc.handle("serviceT", request("4.1.1")), "E13")
    answered(dcc.handle("serviceS", request("8.2")), "E13")  # a non-device request (CV 8) to Send Command


def test_command_variant_not_permitted_for_the_srv_is_e12(dcc: DCCEmulator):
    answered(dcc.handle("serviceS", request("8.1.1", cv=1)), "E12")  # a critical SRV sent as CV 1
    answered(dcc.handle("serviceD", request("4.1.1", cv=8)), "E12")


def test_ineligible_role_is_e2(dcc: DCCEmulator):
    answered(dcc.handle("serviceT", request("8.1.1", originator=OPERATOR, target=ESME)), "E2")
    answered(dcc.handle("serviceS", request("6.5", originator=SUPPLIER, target=ESME)), "E2")


def test_unknown_device_is_e19(dcc: DCCEmulator):
    answered(dcc.handle("serviceS", request("4.1.1", target="00-DB-12-34-56-78-99-99")), "E19")


def test_srv_not_for_that_device_type_is_e11(dcc: DCCEmulator):
    answered(dcc.handle("serviceS", request("4.1.1", target=CHF)), "E11")


def test_device_in_the_wrong_smi_status_is_e5(dcc: DCCEmulator):
    dcc.inventory.device(ESME).status = "Decommissioned"
    answered(dcc.handle("serviceS", request("4.1.1")), "E5")


def test_a_supplier_not_registered_for_the_device_is_e4(dcc: DCCEmulator):
    answered(dcc.handle("serviceS", request("4.1.1", originator=SUPPLIER2, target=ESME)), "E4")
    dcc.inventory.device(ESME).supplier = SUPPLIER2
    answered(dcc.handle("serviceS", request("4.1.1", originator=SUPPLIER2, target=ESME)), "I99")


def test_every_reply_is_signed_by_the_dcc(dcc: DCCEmulator):
    reply = dcc.handle("serviceS", request("4.1.1"))
    assert verify(reply.body, response_trust(zaz1())).signer.name == "dsp-xml-sign-90B3D51F30000002-ds"


def test_read_inventory_answers_synchronously_with_the_device(dcc: DCCEmulator):
    reply = dcc.handle("serviceD", request("8.2", DeviceID=ESME))
    answered(reply, "I0")
    device = parse_xml(reply.body).getroot().find(f".//{SR}DSPInventory/{SR}Device")
    assert device.findtext(f"{SR}DeviceID") == ESME and device.findtext(f"{SR}DeviceStatus") == "Commissioned"
