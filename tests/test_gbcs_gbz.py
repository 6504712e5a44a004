"""GBZ content codec (duisconf.gbcs.gbz) against DCC's RTDS 4.5.0 messages.

The RTDS (../shared/dcc-data/gbcs-rtds, GPL data read at test time) is the referee: every GBZ content
in it must decode, name its clusters / attributes / commands, and round-trip byte for byte. Encrypted
components are opened with the RTDS keystore through the codec's payload key (duisconf.gbcs.message), so
the payload layouts are checked on real plaintexts too.
"""

from __future__ import annotations

import functools
import json
import random
from collections import Counter

import pytest

from duisconf.errors import InvalidInput
from duisconf.gbcs import gbz
from duisconf.gbcs.frame import GeneralCiphering, decode
from duisconf.gbcs.message import payload_decryptor, payload_encryptor

from gbcs_data import rtds_keys, rtds_messages

CRA = {1: "command", 2: "response", 3: "alert"}


# --------------------------------------------------------------------------------------------------
# RTDS access through the project's frame layer and RTDS helpers (tests/gbcs_data.py)


@functools.cache
def _rtds_gbz() -> list[tuple[str, dict]]:
    out = []
    for m in rtds_messages():
        frame = decode(m.data)
        signing = frame.inner if isinstance(frame, GeneralCiphering) else frame
        if signing.content[:2] == b"\x01\x09":
            header = signing.header
            out.append((m.name, {"cra": CRA[int(header.cra)], "message_code": header.message_code,
                                                 "content": signing.content, "header": header}))
    return out


def _context(msg: dict) -> dict:
    return {"cra": msg["cra"], "message_code": msg["message_code"]}


def _cipher(msg: dict):
    """The codec's payload decrypt/encrypt for the message (gbcs.message), with the RTDS keystore."""
    return payload_decryptor(msg["header"], rtds_keys()), payload_encryptor(msg["header"], rtds_keys())


def _fake_encrypt(plain: bytes) -> bytes:
    return b"\x31\x00\x00\x00\x00" + bytes(b ^ 0x5A for b in plain) + bytes(12)


def _fake_decrypt(blob: bytes) -> bytes:
    if blob[:5] != b"\x31\x00\x00\x00\x00" or blob[-12:] != bytes(12):
        raise ValueError("not ours")
    return bytes(b ^ 0x5A for b in blob[5:-12])


def _components(tree: dict):
    yield from tree["components"]


# --------------------------------------------------------------------------------------------------
# Every RTDS GBZ content


def test_every_rtds_gbz_content_decodes_and_round_trips():
    messages = _rtds_gbz()
    assert len(messages) == 354  # DCC's README: GBZ (profile 01 09) 354
    kinds = Counter()
    for name, msg in messages:
        content = msg["content"]
        tree = gbz.decode(content, **_context(msg))
        json.dumps(tree)
        assert gbz.encode(tree) == content, name
        assert gbz.decode(gbz.encode(tree), **_context(msg)) == tree, name
        assert gbz.decode(content) == tree, f"{name}: decoding without context differs"
        kinds[msg["cra"]] += 1
    assert kinds == {"command": 190, "response": 144, "alert": 20}


def test_no_plaintext_payload_is_left_raw():
    raw = Counter()
    for name, msg in _rtds_gbz():
        tree = gbz.decode(msg["content"], **_context(msg))
        if "alert" in tree:
            assert tree["alert"]["layout"] != "raw", (name, tree["alert"].get("error"))
        for comp in _components(tree):
            payload = comp["payload"]
            if "raw" in payload:
                raw[(comp["cluster"], comp["frame_control"], comp["command"], payload.get("error"))] += 1
    assert not raw


def test_encrypted_components_decrypt_decode_and_re_encrypt():
    decrypted = messages = 0
    for name, msg in _rtds_gbz():
        if b"\x31\x00\x00\x00\x00" not in msg["content"]:
            continue
        plain_tree = gbz.decode(msg["content"], **_context(msg))
        if not any(c["payload"].get("encrypted") for c in _components(plain_tree)):
            continue
        messages += 1
        decrypt, encrypt = _cipher(msg)
        tree = gbz.decode(msg["content"], decrypt=decrypt, **_context(msg))
        for comp in _components(tree):
            payload = comp["payload"]
            if payload.get("encrypted"):
                assert payload["decrypted"], name
                assert "raw" not in payload, (name, payload.get("error"))
                assert "sub_payload" not in payload.get("fields", {}), name
                decrypted += 1
        # AES-GCM with the same key and IV is deterministic: re-encrypting gives back the same bytes.
        assert gbz.encode(tree, encrypt=encrypt) == msg["content"], name
        assert gbz.decode(gbz.encode(tree, encrypt=encrypt), decrypt=decrypt, **_context(msg)) == tree
    assert (messages, decrypted) == (29, 44)  # GSME responses of GCS13-18, GCS61 and the GCS53 alert


# --------------------------------------------------------------------------------------------------
# Names and values


def _find(prefix: str) -> dict:
    for name, msg in _rtds_gbz():
        if name.split("/")[1].startswith(prefix):
            return msg
    raise AssertionError(f"no RTDS message {prefix}")


def test_metering_read_names_current_summation_delivered():
    msg = _find("GCS13a_4.1.1_SUCCESS_RELIABLE_GSME_RESPONSE")
    decrypt, _ = _cipher(msg)
    tree = gbz.decode(msg["content"], decrypt=decrypt, **_context(msg))
    comp = tree["components"][0]
    assert (comp["cluster_name"], comp["command_name"]) == ("Metering", "Read Attributes Response")
    values = {(c, a): v for c, a, v in gbz.attributes(tree)}
    assert values[("Metering", "CurrentSummationDelivered")] == {"type": "uint48", "value": 12345}
    assert values[("Metering", "Divisor")] == {"type": "uint24", "value": 1000}


def test_prepayment_configuration_and_snapshot_values():
    msg = _find("GCS21b_4.13_SUCCESS_RESPONSE")
    values = {a: v for c, a, v in gbz.attributes(gbz.decode(msg["content"], **_context(msg))) if c == "Prepayment"}
    assert values["CutOffValue"] == {"type": "int32", "value": -5000000}
    assert values["OverallDebtCap"] == {"type": "int32", "value": 1000000}

    msg = _find("GCS14_4.3_SUCCESS_RELIABLE_GSME_RESPONSE")
    decrypt, _ = _cipher(msg)
    tree = gbz.decode(msg["content"], decrypt=decrypt, **_context(msg))
    names = {a for c, a, v in gbz.attributes(tree)}
    assert {"CreditRemaining", "EmergencyCreditRemaining", "AccumulatedDebt"} <= names


def test_commands_are_named_with_fields():
    msg = _find("GCS44_3.4_ERROR_COMMAND")
    [(cluster, command, fields)] = list(gbz.commands(gbz.decode(msg["content"], **_context(msg))))
    assert (cluster, command) == ("Device Management", "Publish Change of Supplier")
    assert fields["proposed_provider_name"] == {"type": "octet-string", "value": "452d4f4e", "text": "E-ON"}

    msg = _find("GCS07_3.1_ERROR_COMMAND")
    [(cluster, command, fields)] = list(gbz.commands(gbz.decode(msg["content"], **_context(msg))))
    assert (cluster, command) == ("Messaging", "Display Message")
    assert fields["message"] == {"type": "character-string", "value": "Reset"}
    assert fields["start_time"] == {"type": "utc-time", "value": "2000-01-01T00:00:00Z", "seconds": 0}


def test_alerts_name_code_time_stamp_and_body():
    msg = _find("GCS01a_1.1.1_8F66_FUTURE_DATED_BLOCK_SUCCESS_ALERT_PUBLISH_BLOCK_THRESHOLDS")
    alert = gbz.decode(msg["content"], **_context(msg))["alert"]
    assert alert["code"] == {"type": "uint16", "value": 0x8F66, "name": "Future-date HAN Interface Command Successfully Actioned"}
    assert alert["time_stamp"] == {"type": "utc-time", "value": "2030-01-15T09:00:00Z", "seconds": 0x38818890}
    fd = alert["future_dated"]
    assert (fd["message_code"]["value"], fd["cluster_name"], fd["command_name"]) == (0x006B, "Price", "Publish Block Thresholds")

    msg = _find("MIIWA-ZigBee_NA_81A0_ALERT")
    alert = gbz.decode(msg["content"], **_context(msg))["alert"]
    assert alert["other_info"]["name"] == "Error Unexpected Hardware Reset"

    msg = _find("GCS53_NA_8F0A_ALERT")
    decrypt, _ = _cipher(msg)
    tree = gbz.decode(msg["content"], decrypt=decrypt, **_context(msg))
    assert tree["alert"]["code"]["name"] == "Billing Data Log Updated"
    [(cluster, command, fields)] = list(gbz.commands(tree))
    assert (cluster, command) == ("Metering", "Publish Snapshot")
    assert "current_summation_delivered" in fields


# --------------------------------------------------------------------------------------------------
# Encryption interface, hand-built trees, errors


def test_fake_cipher_round_trip_and_failed_decryption_keeps_ciphertext():
    msg = _find("GCS13a_4.1.1_SUCCESS_RELIABLE_GSME_RESPONSE")
    decrypt, _ = _cipher(msg)
    tree = gbz.decode(msg["content"], decrypt=decrypt, **_context(msg))
    faked = gbz.encode(tree, encrypt=_fake_encrypt)
    assert faked != msg["content"]
    assert gbz.decode(faked, decrypt=_fake_decrypt, **_context(msg)) == tree

    failed = gbz.decode(msg["content"], decrypt=_fake_decrypt, **_context(msg))
    payload = failed["components"][0]["payload"]
    assert payload["encrypted"] is True and payload["decrypted"] is False
    assert payload["ciphertext"].startswith("3100000000")
    assert gbz.encode(failed) == msg["content"]
    with pytest.raises(InvalidInput, match="encrypt function"):
        gbz.encode(tree)


def test_hand_built_read_attributes_command_encodes_like_the_rtds():
    msg = _find("GCS13a_4.1.1_SUCCESS_RELIABLE_GSME_RESPONSE")
    # The same read (Divisor, Multiplier, UnitOfMeasure, CurrentSummationDelivered) as a command, by hand.
    tree = {
        "kind": "gbz",
        "components": [
            {
                "control": 0x01,
                "cluster": 0x0702,
                "frame_control": 0x00,
                "sequence": 0,
                "command": 0x00,
                "payload": {"attribute_ids": [{"type": "attribute-id", "value": v} for v in (0x0302, 0x0301, 0x0300, 0x0000)]},
            }
        ],
    }
    data = gbz.encode(tree)
    assert data == bytes.fromhex("0109 01 01 0702 000b 000000 0203 0103 0003 0000".replace(" ", ""))
    names = [a["name"] for a in gbz.decode(data)["components"][0]["payload"]["attribute_ids"]]
    assert names == ["Divisor", "Multiplier", "UnitOfMeasure", "CurrentSummationDelivered"]
    assert msg["content"][:3] == b"\x01\x09\x01"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ("0108 00", "profile id 0x0108 is not GBZ's 0x0109 at byte offset 0"),
        ("0109", "truncated component count .* at byte offset 2"),
        ("0109 01 00 0702 0010 00", "truncated component 1 body .* at byte offset 8"),
        ("0109 01 00 0702 0000", "truncated component 1 ZCL frame control .* at byte offset 8"),
        ("0109 00 00", "1 byte\\(s\\) after the last of 0 component\\(s\\) at byte offset 3"),
        ("0109 01 8f30 1c37", "truncated alert time stamp .* at byte offset 5"),
    ],
)
def test_malformed_envelopes_name_field_and_offset(data, message):
    with pytest.raises(InvalidInput, match=message):
        gbz.decode(bytes.fromhex(data.replace(" ", "")))


def test_payload_not_fitting_its_layout_is_kept_raw_with_the_reason():
    # Publish Conversion Factor (13 bytes) cut short by one byte.
    data = bytes.fromhex("0109 01 01 0700 000f 090002 804a371c 00000000 40e20100".replace(" ", ""))
    payload = gbz.decode(data)["components"][0]["payload"]
    assert payload["raw"]["value"] == "804a371c0000000040e20100"
    assert "conversion_factor_trailing_digit" in payload["error"] and "byte offset 23" in payload["error"]
    assert gbz.encode(gbz.decode(data)) == data


def test_seeded_fuzz_gives_invalid_input_or_a_lossless_tree():
    rng = random.Random(20240610)
    seeds = [m["content"] for _, m in _rtds_gbz()]
    accepted = rejected = 0
    for i in range(4000):
        base = bytearray(rng.choice(seeds))
        for _ in range(rng.randint(1, 4)):
            op = rng.random()
            if op < 0.5 and base:
                base[rng.randrange(len(base))] = rng.randrange(256)
            elif op < 0.75 and base:
                del base[rng.randrange(len(base)) :]
            else:
                base.insert(rng.randrange(len(base) + 1), rng.randrange(256))
        if i % 10 == 0:
            base = bytearray(b"\x01\x09" + rng.randbytes(rng.randrange(40)))
        data = bytes(base)
        try:
            tree = gbz.decode(data, decrypt=_fake_decrypt, cra=rng.choice([None, "command", "response", "alert"]))
        except InvalidInput as exc:
            assert "byte offset" in str(exc)
            rejected += 1
            continue
        json.dumps(tree)
        assert gbz.encode(tree, encrypt=_fake_encrypt) == data
        accepted += 1
    assert accepted > 500 and rejected > 500
