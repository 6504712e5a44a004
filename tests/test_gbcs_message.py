"""Whole GBCS messages (duisconf.gbcs.message): DCC's RTDS 4.5.0 decodes, re-encodes byte for byte, round trips."""

from __future__ import annotations

import json
import random
from functools import cache

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from gbcs_data import gbcs_use_case, rtds_keys, rtds_message, rtds_messages

from duisconf.errors import InvalidInput, KeyMaterialMissing
from duisconf.gbcs import CRA, GeneralCiphering, GeneralSigning, GroupingHeader
from duisconf.gbcs.keys import KeyChain, KeyRing
from duisconf.gbcs.message import DecodedMessage, decode_message, encode_message, sniff_encoding

JSON_KEYS = ["header", "mac", "signature", "encrypted", "decrypted", "content_hex", "decrypted_hex", "content"]


@cache
def _decoded_rtds() -> tuple[tuple[object, DecodedMessage], ...]:
    keys = rtds_keys()
    return tuple((m, decode_message(m.data, keys, use_case=gbcs_use_case(m.use_case))) for m in rtds_messages())


def _signing(decoded: DecodedMessage) -> GeneralSigning:
    frame = decoded.frame
    return frame.inner if isinstance(frame, GeneralCiphering) else frame  # type: ignore[return-value]


def test_every_rtds_message_decodes() -> None:
    decoded = _decoded_rtds()
    assert len(decoded) == 1275
    without_tree = []
    for m, d in decoded:
        out = d.to_json()
        assert list(out) == JSON_KEYS
        json.dumps(out)  # plain JSON data all the way down
        assert out["header"]["cra"] == {"COMMAND": "command", "PRECOMMAND": "command", "RESPONSE": "response",
                                        "ALERT": "alert"}[m.kind], m.name
        assert out["content_hex"] == _signing(d).content.hex()
        if d.content is None:
            without_tree.append(m.name)
        else:
            assert d.content["kind"] == d.encoding, m.name
    # Only contents the use-case catalogue must name (implicitly tagged ASN.1: 02 / 04 / 05 ...) may lack a
    # tree while the catalogue is not installed; DLMS, GBZ and DER SEQUENCEs are sniffed.
    assert all(sniff_encoding(bytes.fromhex(d.content_hex)) is None for m, d in decoded if d.content is None)
    assert len(without_tree) <= 32, without_tree


def test_ecs17b_response_header_json() -> None:
    m = rtds_message("ECS17b_4.1.1_SINGLE_SUCCESS_RESPONSE_GBCS.HEX")
    d = decode_message(m.data, rtds_keys())
    header = d.to_json()["header"]
    assert header["cra"] == "response"
    assert header["originator_counter"] == 1000  # the RTDS DUIS template's counter (dcc-data README)
    assert header["originator"] == "00db1234567890a0"
    assert header["recipient"] == "90b3d51f30010000"
    assert header["message_code"] == "0x0027"
    assert header["date_time"] == "2015-01-01T00:00:00Z"
    assert (d.mac, d.signature, d.encrypted, d.decrypted) == ("valid", "empty", True, True)
    assert len(d.decrypted_hex) == 1


def test_supplementary_fields_and_ka_certificate_in_the_header() -> None:
    d = decode_message(rtds_message("ECS21b_4.14_URP_SUCCESS_COMMAND_GBCS.HEX").data, rtds_keys())
    header = d.header_json()
    assert header["supplementary_remote_party_id"] == "90b3d51f30010000"
    assert header["supplementary_ka_certificate"].startswith("3082")
    alert = decode_message(rtds_message("ECS200_NA_8F88_ALERT_GBCS.HEX").data, rtds_keys()).header_json()
    assert alert["supplementary_remote_party_id"] == "90b3d51f30010008"
    assert "supplementary_remote_party_counter" not in alert


def test_all_48_encrypted_messages_decrypt() -> None:
    encrypted = [(m, d) for m, d in _decoded_rtds() if d.encrypted]
    assert len(encrypted) == 48, [m.name for m, _ in encrypted]
    assert all(d.decrypted and d.decrypted_hex and not d.decryption_errors for _, d in encrypted)
    assert {m.kind for m, _ in encrypted} <= {"RESPONSE", "ALERT"}


def test_without_keys_every_verdict_says_no_key_and_parts_stay_encrypted() -> None:
    m = rtds_message("ECS17b_4.1.1_SINGLE_SUCCESS_RESPONSE_GBCS.HEX")
    d = decode_message(m.data, None)
    assert (d.mac, d.encrypted, d.decrypted, d.decrypted_hex) == ("no-key", True, False, [])
    assert d.decryption_errors == ["decryption failed (no key source given)"]
    only_device = KeyChain(KeyRing("device only").add("00-DB-12-34-56-78-90-A0", "ka",
                                                       certificate=rtds_keys().ka_certificate("00db1234567890a0")))
    d = decode_message(m.data, only_device)
    assert d.mac_reason == "mac: no-key (no KA private key for 00-db-12-34-56-78-90-a0 or 90-b3-d5-1f-30-01-00-00)"


def test_every_rtds_message_reencodes_byte_for_byte() -> None:
    """encode_message(header, content tree or bytes, keys) gives DCC's bytes back: MACs, encrypted parts and all."""
    keys = rtds_keys()
    for m, d in _decoded_rtds():
        if d.mac == "no-key":
            continue  # PPMID <-> meter: no private key can recompute the MAC
        signing = _signing(d)
        kwargs = dict(signature=signing.signature, omit_signature_field=signing.signature_omitted,
                      envelope=d.mac != "absent", use_case=d.use_case)
        assert encode_message(signing.header, signing.content, keys, **kwargs) == m.data, m.name
        if d.content is not None:
            assert encode_message(signing.header, d.content, keys, **kwargs) == m.data, m.name


def test_encode_signed_command_with_mac_verifies() -> None:
    keys = KeyChain(rtds_keys())
    header = GroupingHeader(CRA.COMMAND, 0x1234, "90-B3-D5-1F-30-01-00-00", "00-DB-12-34-56-78-90-A0", None, 0x0027)
    original = decode_message(rtds_message("ECS17b_4.1.1_SINGLE_SUCCESS_COMMAND_GBCS.HEX").data, keys)
    data = encode_message(header, bytes.fromhex(original.content_hex), keys, sign=True)
    d = decode_message(data, keys)
    assert (d.mac, d.signature, d.header.originator_counter) == ("valid", "valid", 0x1234)
    assert d.content == original.content
    with pytest.raises(KeyMaterialMissing, match="no DS private key for 00-db-12-34-56-78-90-a0"):
        encode_message(GroupingHeader(CRA.RESPONSE, 1, "00-DB-12-34-56-78-90-A0", "90-B3-D5-1F-30-01-00-00", None, 0x27),
                       b"", keys, sign=True)


def test_emulated_device_response_round_trip_with_encryption() -> None:
    """A device with its own keys answers ECS17b: MAC'd, its protected attribute encrypted for the supplier."""
    device = "00-DB-00-00-00-00-00-01"
    ka, ds = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    device_keys = KeyRing("emulated ESME").add(device, "ka", private_key=ka).add(device, "ds", private_key=ds)
    supplier_side = KeyChain(rtds_keys(), KeyRing("ESME public").add(device, "ka", public_key=ka.public_key())
                             .add(device, "ds", public_key=ds.public_key()))
    template = decode_message(rtds_message("ECS17b_4.1.1_SINGLE_SUCCESS_RESPONSE_GBCS.HEX").data, rtds_keys())
    assert template.content is not None
    header = GroupingHeader(CRA.RESPONSE, 77, device, "90-B3-D5-1F-30-01-00-00", template.header.date_time, 0x0027)
    sender = KeyChain(device_keys, rtds_keys())  # the supplier's KA certificate comes from the RTDS keystore
    data = encode_message(header, template.content, sender, sign=True)
    d = decode_message(data, supplier_side)
    assert (d.mac, d.signature, d.encrypted, d.decrypted) == ("valid", "valid", True, True)
    assert d.decrypted_hex == template.decrypted_hex  # same plaintext, other key: other ciphertext
    assert d.content_hex != template.content_hex
    # Without the supplier's private key the part stays encrypted, with a reason.
    d = decode_message(data, KeyRing("public only").add(device, "ka", public_key=ka.public_key()))
    assert (d.encrypted, d.decrypted) == (True, False)
    assert d.decryption_errors[0].startswith("decryption failed (no-key")


def test_gbt_and_bad_inner_blocks_are_refused_clearly() -> None:
    with pytest.raises(InvalidInput, match=r"GBT segmentation is not supported\) at byte offset 1"):
        decode_message(b"\xdd\x01" + bytes(40), None)
    raw = GeneralCiphering(b"\xd9\x00").encode()
    with pytest.raises(InvalidInput, match="not a general-signing block"):
        decode_message(raw, None)


def test_fuzzed_rtds_frames_only_raise_invalid_input() -> None:
    """Seeded, bounded mutations of RTDS messages: either a decode or an InvalidInput naming a byte offset."""
    rng = random.Random(20261130)
    keys = rtds_keys()
    messages = rtds_messages()
    rejected = 0
    for _ in range(400):
        m = rng.choice(messages)
        data = bytearray(m.data)
        kind = rng.choice(["flip", "truncate", "insert", "delete", "content"])
        at = rng.randrange(len(data))
        if kind == "flip":
            data[at] ^= 1 << rng.randrange(8)
        elif kind == "truncate":
            del data[at:]
        elif kind == "insert":
            data[at:at] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 3)))
        elif kind == "delete":
            del data[at : at + rng.randint(1, 3)]
        else:  # change content bytes only, keeping the frame valid: exercises the codecs through the message layer
            signing = _signing(decode_message(m.data, None, use_case=gbcs_use_case(m.use_case)))
            content = bytearray(signing.content)
            if content:
                content[rng.randrange(len(content))] = rng.randrange(256)
            data = bytearray(GeneralSigning(signing.header, bytes(content), signing.signature,
                                            signing.signature_omitted).encode())
        try:
            decode_message(bytes(data), keys, use_case=gbcs_use_case(m.use_case))
        except InvalidInput as exc:
            assert "byte offset" in str(exc), str(exc)
            rejected += 1
    assert rejected > 50
