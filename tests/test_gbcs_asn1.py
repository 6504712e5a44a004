"""The GBCS ASN.1 content codec against DCC's RTDS 4.5.0: every ASN.1 payload decodes, names its fields,
and re-encodes byte for byte; malformed input is an InvalidInput with a byte offset, never a crash.

The RTDS (GPL data) is read from ../shared/dcc-data at test time; without it those tests skip.
"""

from __future__ import annotations

import importlib.util
import json
import random
import sys
from pathlib import Path

import pytest
from cryptography import x509

from duisconf import paths
from duisconf.errors import InvalidInput
from duisconf.gbcs import asn1, use_cases

ROOT = Path(__file__).resolve().parents[1]
RTDS = paths.PROJECT_ROOT.parent / "shared" / "dcc-data" / "gbcs-rtds" / "RTDS-4.5.0"


def _load_tool():
    spec = importlib.util.spec_from_file_location("gbcs_use_cases_tool", ROOT / "tools" / "gbcs_use_cases.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def asn1_messages() -> list:
    """(RTDS message, use case) for every RTDS message whose content is ASN.1."""
    if not RTDS.is_dir():
        pytest.skip(f"DCC's RTDS 4.5.0 is absent ({RTDS}): the ASN.1 codec checks need ../shared/dcc-data")
    out = []
    for m in _load_tool().rtds_messages(RTDS):
        if m.content[:1] in (b"\x30", b"\x02", b"\x04", b"\x05"):
            out.append((m, use_cases.lookup(m.message_code).name))
    return out


def _decode(m, use_case: str) -> dict:
    return asn1.decode(m.content, use_case=use_case, cra=m.cra, message_code=m.message_code)


def _one(asn1_messages, file_part: str):
    found = [(m, uc) for m, uc in asn1_messages if file_part in m.file]
    assert len(found) == 1, f"{file_part}: {len(found)} RTDS files"
    return _decode(*found[0])["value"]["value"]


def test_every_rtds_asn1_payload_decodes_and_reencodes_byte_exactly(asn1_messages):
    assert len(asn1_messages) == 178  # gbcs.md: 178 ASN.1 messages in RTDS 4.5.0
    types = set()
    for m, use_case in asn1_messages:
        tree = _decode(m, use_case)
        types.add(tree["asn1_type"])
        text = json.dumps(tree)  # plain JSON
        assert asn1.encode(json.loads(text)) == m.content, f"{m.folder}/{m.file}: re-encoding differs"
        assert asn1.decode(asn1.encode(tree), asn1_type=tree["asn1_type"]) == tree, f"{m.folder}/{m.file}"
    # Every payload type of data/gbcs.asn (29) is exercised by some RTDS message.
    assert types == set(asn1.payload_types()), sorted(set(asn1.payload_types()) - types)


def test_alert_codes_inside_asn1_alerts_match_the_rtds_file_names(asn1_messages):
    alerts = [(m, uc) for m, uc in asn1_messages if m.cra == "alert" and m.alert_code is not None]
    assert alerts
    for m, use_case in alerts:
        value = _decode(m, use_case)["value"]["value"]
        assert value["alertCode"] == {"type": "INTEGER", "value": m.alert_code}, f"{m.folder}/{m.file}"


def test_named_fields_of_joins_firmware_time_and_logs(asn1_messages):
    join = _one(asn1_messages, "CS03A1_8.7.1_ERROR_COMMAND")
    # rules/reference_identities.toml: 00-DB-12-34-56-78-90-9A is the PPMID the CS03A1 join names.
    assert join["otherDeviceEntityIdentifier"] == {"type": "OCTET STRING", "value": "00db12345678909a"}
    assert join["otherDeviceType"] == {"type": "INTEGER", "value": 5, "name": "type1PrepaymentInterfaceDevice"}
    assert join["joinMethodAndRole"]["name"] == "methodAInitiator"

    activate = _one(asn1_messages, "CS06_11.3_CANCELLATION_SUCCESS_COMMAND")
    assert activate["executionDateTime"] == {"type": "GeneralizedTime", "value": "9999-12-31T23:59:59Z"}
    assert len(bytes.fromhex(activate["manufacturerImageHash"]["value"])) == 32
    alert = _one(asn1_messages, "CS06_11.3_8F66_FUTURE_DATED_SUCCESS_ALERT")
    assert alert["executionDateTime"]["value"] == "2030-01-15T09:00:00Z"
    assert alert["executionOutcome"]["value"]["firmwareVersion"]["value"] == "0123abcf"
    accepted = _one(asn1_messages, "CS06_11.3_CANCELLATION_SUCCESS_RESPONSE")
    assert accepted == {"type": "NULL", "value": None}

    set_time = _one(asn1_messages, "GCS28_6.11_ERROR_COMMAND")
    assert set_time["validityIntervalStart"]["value"] == "2015-01-01T01:00:00Z"
    assert set_time["validityIntervalEnd"]["value"] == "2015-01-01T02:00:00Z"
    device_time = _one(asn1_messages, "GCS28_6.11_ERROR_RESPONSE")
    assert device_time["deviceTimeStatus"] == {"type": "INTEGER", "value": 2, "name": "unreliable"}

    backup = _one(asn1_messages, "GCS62_NA_8071_ALERT")
    entries = backup["deviceLogEntries"]["value"]
    assert entries[0]["value"]["deviceID"]["value"] == "0102030405060708"
    assert entries[0]["value"]["deviceType"]["name"] == "type2"

    transfer = _one(asn1_messages, "CCS08_NA_NA_ALERT")
    assert transfer["entityIdentifier"]["value"] == "00db1234567890a4"  # the RTDS PPMID
    assert transfer["responseCode"] == {"type": "INTEGER", "value": 0, "name": "success"}


def test_security_credentials_keep_certificates_whole(asn1_messages):
    m, _ = next((m, uc) for m, uc in asn1_messages if "CS02d_6.15.2_ERROR_COMMAND" in m.file)
    cert = asn1.decode(m.content, use_case="CS02d", cra="command")["value"]
    assert cert["type"] == "Certificate"
    parsed = x509.load_der_x509_certificate(bytes.fromhex(cert["value"]))  # the whole DER, parseable
    assert parsed.signature_hash_algorithm.name == "sha256"
    assert cert["subject_eui"] == m.device  # CS02d installs the device's own certificate

    m = next(m for m, _ in asn1_messages if "CS02bSupplierBySupplier_6.15.1_IMMEDIATE_SUCCESS_COMMAND" in m.file)
    update = asn1.decode(m.content, use_case="CS02b", cra="command")["value"]["value"]
    replacement = update["replacements"]["value"][0]["value"]["replacementCertificate"]
    assert replacement["subject_eui"] == "90b3d51f30010000"  # GITTESTSUPPLIER, rules/reference_identities.toml

    issue = _one(asn1_messages, "CS02c_6.17_ERROR_COMMAND")
    assert issue["keyUsage"] == {"type": "BIT STRING", "value": "08", "length": 5, "names": ["keyAgreement"]}
    request = asn1.decode(
        next(m for m, _ in asn1_messages if "CS02c_6.17_SUCCESS_RESPONSE" in m.file).content,
        use_case="CS02c",
        cra="response",
    )["value"]
    assert request["choice"] == "certificationRequest"
    x509.load_der_x509_csr(bytes.fromhex(request["value"]["value"]))

    details = _one(asn1_messages, "CS02aMAC_6.24.1_ERROR_RESPONSE")
    assert details[1]["value"]["statusCode"] == {"type": "ENUMERATED", "value": 25, "name": "trustAnchorNotFound"}


def test_long_form_lengths_of_rtds_devices_are_kept(asn1_messages):
    m, use_case = next((m, uc) for m, uc in asn1_messages if "CS02aMAC_6.24.1_SUCCESS_RESPONSE" in m.file)
    assert m.content[:4].hex() == "3082009f"  # a length DER would write 81 9f
    tree = _decode(m, use_case)
    assert tree["long_lengths"] == [[0, 2]]
    assert asn1.encode(tree) == m.content
    del tree["long_lengths"]
    assert asn1.encode(tree) == bytes.fromhex("30819f") + m.content[4:]


def test_encode_builds_a_payload_from_a_hand_written_tree():
    tree = {
        "kind": "asn1",
        "asn1_type": "SetTime.CommandPayload",
        "value": {
            "type": "SEQUENCE",
            "value": {
                "validityIntervalStart": {"type": "GeneralizedTime", "value": "2026-11-30T10:00:00Z"},
                "validityIntervalEnd": {"type": "GeneralizedTime", "value": "2026-11-30T10:05:00Z"},
            },
        },
    }
    der = asn1.encode(tree)
    assert der == bytes.fromhex("3022180f32303236313133303130303030305a180f32303236313133303130303530305a")
    assert asn1.decode(der, use_case="GCS28", cra="command") == tree
    unjoin = asn1.decode(bytes.fromhex("02 01 01"), use_case="CS04B", cra="response", decrypt=lambda b: b)
    assert unjoin["value"] == {"type": "INTEGER", "value": 1, "name": "notInDeviceLog"}


@pytest.mark.parametrize(
    ("tree_value", "message"),
    [
        ({"type": "SEQUENCE", "value": {}}, r"SetTime\.CommandPayload: missing mandatory member validityIntervalStart"),
        ({"type": "INTEGER", "value": 1}, r"SetTime\.CommandPayload: expected type 'SEQUENCE'"),
        (
            {"type": "SEQUENCE", "value": {"validityIntervalStart": {"type": "GeneralizedTime", "value": "soon"}}},
            r"validityIntervalStart: expected an ISO-8601 UTC time",
        ),
        ({"type": "SEQUENCE", "value": {"extra": {"type": "NULL", "value": None}}}, r"unknown member\(s\) extra"),
    ],
)
def test_bad_trees_name_the_element(tree_value, message):
    with pytest.raises(InvalidInput, match=message):
        asn1.encode({"kind": "asn1", "asn1_type": "SetTime.CommandPayload", "value": tree_value})


@pytest.mark.parametrize(
    ("hex_content", "offset"),
    [
        ("3003020105ff", 5),  # trailing byte after the payload
        ("300402020001", 1),  # INTEGER 00 01 is not minimal: not DER (the outer length differs first)
        ("3005020101", 2),  # length overruns the data
        ("", 0),
    ],
)
def test_malformed_der_names_the_byte_offset(hex_content, offset):
    with pytest.raises(InvalidInput, match=rf"at byte offset {offset}$"):
        asn1.decode(bytes.fromhex(hex_content), asn1_type="ReadDeviceJoinDetails.ResponsePayload")


def test_unknown_use_case_or_cra_is_refused_clearly():
    with pytest.raises(InvalidInput, match=r"no ASN\.1 type known for use case 'ECS17b' \(message code 0x0027\)"):
        asn1.decode(b"\x05\x00", use_case="ECS17b", cra="response", message_code=0x0027)
    with pytest.raises(InvalidInput, match="cra must be one of"):
        asn1.decode(b"\x05\x00", use_case="CS07")
    with pytest.raises(InvalidInput, match="has no alert payload"):
        asn1.decode(b"\x05\x00", use_case="CS07", cra="alert")
    # Alert codes that are no use case of their own find their payload through the catalogue.
    assert asn1.asn1_type_for(cra="alert", message_code=0x00CA) == "ActivateFirmware.AlertPayload"


def test_fuzz_gives_invalid_input_with_an_offset_never_another_exception(asn1_messages):
    rng = random.Random(20261130)
    types = asn1.payload_types()
    samples = [(m.content, asn1.asn1_type_for(use_case=uc, cra=m.cra)) for m, uc in asn1_messages]
    accepted = 0
    for _ in range(4000):
        content, asn1_type = rng.choice(samples)
        data = bytearray(content)
        op = rng.randrange(5)
        if op == 0:
            data[rng.randrange(len(data))] ^= 1 << rng.randrange(8)
        elif op == 1:
            del data[rng.randrange(len(data)) :]
        elif op == 2:
            data.insert(rng.randrange(len(data) + 1), rng.randrange(256))
        elif op == 3:
            data = bytearray(rng.randbytes(rng.randrange(48)))
        else:
            asn1_type = rng.choice(types)  # the right bytes read as the wrong type
        try:
            tree = asn1.decode(bytes(data), asn1_type=asn1_type)
        except InvalidInput as exc:
            assert "at byte offset" in str(exc), str(exc)
            continue
        accepted += 1
        assert asn1.encode(tree) == bytes(data)
    assert accepted  # some mutations stay valid DER and must round-trip too
