"""DLMS content codec (duisconf.gbcs.dlms / axdr) against DCC's RTDS 4.5.0 and by construction.

The RTDS is the referee: every DLMS content it holds (389 access requests, 292 access responses, 62
data-notifications) decodes, round-trips byte for byte, and its 19 ESME protected-attribute parts
decrypt with the RTDS keystore and re-encrypt to the same bytes.
"""

from __future__ import annotations

import json
import math
import random
from collections import Counter

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from duisconf.errors import InvalidInput
from duisconf.gbcs import axdr, dlms
from duisconf.gbcs.frame import GeneralCiphering, GeneralSigning, decode
from duisconf.gbcs.message import payload_decryptor, payload_encryptor

from gbcs_data import rtds_keys, rtds_messages

# --------------------------------------------------------------------------------------------------
# RTDS access through the project's own frame layer and RTDS helpers (tests/gbcs_data.py)


def _signing(message: bytes) -> GeneralSigning:
    frame = decode(message)
    return frame.inner if isinstance(frame, GeneralCiphering) else frame


@pytest.fixture(scope="module")
def rtds() -> list[tuple[str, bytes, bytes]]:
    """(folder/file, whole message, DLMS content) for every RTDS message whose content is DLMS."""
    out = []
    for m in rtds_messages():
        content = _signing(m.data).content
        if content[:1] in (b"\xd9", b"\xda", b"\x0f"):
            out.append((m.name, m.data, content))
    return out


def _find(rtds, name: str) -> tuple[bytes, bytes]:
    (hit,) = [(m, c) for f, m, c in rtds if f.endswith(name)]
    return hit


def test_every_rtds_dlms_content_decodes_and_round_trips(rtds) -> None:
    kinds = Counter(c[0] for _, _, c in rtds)
    assert kinds == {0xD9: 389, 0xDA: 292, 0x0F: 62}
    for name, _, content in rtds:
        tree = dlms.decode(content)
        json.dumps(tree)  # plain JSON-ready data
        assert dlms.encode(tree) == content, name
        assert dlms.decode(dlms.encode(tree)) == tree, name


# --------------------------------------------------------------------------------------------------
# Real decryption: the codec's payload key (gbcs.message) with the RTDS keystore


def _decrypted(message: bytes, content: bytes):
    """(tree, encrypt) with every protected part decrypted by the RTDS keys, or None."""
    header = _signing(message).header
    tree = dlms.decode(content, decrypt=payload_decryptor(header, rtds_keys()))
    if not all(p["decrypted"] for p in _parts(tree)):
        return None
    return tree, payload_encryptor(header, rtds_keys())


def _parts(tree: dict) -> list[dict]:
    roots = [tree["body"]] if tree["apdu"] == "data-notification" else tree["data"]
    found = []

    def walk(node):
        if isinstance(node, dict):
            if node.get("encrypted"):
                found.append(node)
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(roots)
    return found


def test_rtds_protected_attributes_decrypt_decode_and_reencrypt(rtds) -> None:
    seen = Counter()
    for name, message, content in rtds:
        plain_tree = dlms.decode(content)
        parts = _parts(plain_tree)
        if not parts:
            continue
        assert all(p["decrypted"] is False and p["ciphertext"] == p["value"] for p in parts), name
        found = _decrypted(message, content)
        if found is None:
            pytest.fail(f"{name}: no RTDS key decrypts its protected attributes")
        tree, encrypt = found
        for part in _parts(tree):
            assert "data" in part and "error" not in part, name
            assert axdr.encode_data(part["data"]).hex() == part["plaintext"]
        assert dlms.encode(tree, encrypt=encrypt) == content, name
        assert dlms.encode(tree) == content, name  # unchanged data: recorded ciphertext written back
        seen[name.split("/")[0].split("_", 1)[1]] += 1
    # ESME responses of ECS17b/d/e, ECS19, ECS20b/c, ECS21a/b, ECS22b, ECS66 and the billing-data-log alert
    assert set(seen) == {"ECS17b", "ECS17d", "ECS17e", "ECS19", "ECS20b", "ECS20c", "ECS21a", "ECS21b", "ECS22b",
                         "ECS66", "ECS68"}
    assert sum(seen.values()) == 19


def test_ecs17b_register_values_read_through_items(rtds) -> None:
    """4.1.1 ECS17b: the request names what is protected; the decrypted response carries its values."""
    _, command = _find(rtds, "ECS17b_4.1.1_SINGLE_SUCCESS_COMMAND_GBCS.HEX")
    message, response = _find(rtds, "ECS17b_4.1.1_SINGLE_SUCCESS_RESPONSE_GBCS.HEX")
    request = dlms.decode(command)
    (spec,) = request["requests"]
    assert spec["service"] == "action" and spec["class_id"] == 30 and spec["class"] == "Data protection"
    assert spec["instance"] == "0-0:43.2.8.255" and spec["method_name"] == "get_protected_attributes"
    tree, _ = _decrypted(message, response)
    found = [i for i in dlms.items(tree, request) if i.protected]
    assert [(i.class_id, i.obis, i.attribute) for i in found] == [(1, "0-0:94.44.34.10", 2)]
    assert dlms.object_name(1, "0-0:94.44.34.10") == "Import register collection"
    values = found[0].data["value"]
    # active import 10 with scaler/unit {0, Wh (30)}, reactive import 10 with {0, varh (32)}
    assert [v["value"] for v in values[::2]] == [10, 10]
    assert [[e["value"] for e in v["value"]] for v in values[1::2]] == [[0, 30], [0, 32]]
    assert dlms.value_of(tree, "0-0:94.44.34.10", 2, request) is found[0].data


def test_ecs17a_register_value_and_scaler(rtds) -> None:
    _, command = _find(rtds, "ECS17a_4.2_SUCCESS_COMMAND_GBCS.HEX")
    _, response = _find(rtds, "ECS17a_4.2_SUCCESS_RESPONSE_GBCS.HEX")
    request, tree = dlms.decode(command), dlms.decode(response)
    assert request["requests"][0]["instance_name"] == "Active export register"
    assert request["requests"][1]["attribute_name"] == "scaler_unit"
    assert dlms.value_of(tree, "1-0:2.8.0.255", 2, request) == {"type": "double-long-unsigned", "value": 10}
    assert dlms.value_of(tree, "1-0:4.8.0.255", 2, request)["value"] == 20
    assert [i.result for i in dlms.items(tree, request)] == [0, 0, 0, 0]
    _, error = _find(rtds, "ECS17a_4.2_ERROR_RESPONSE_GBCS.HEX")
    assert [r["result_name"] for r in dlms.decode(error)["results"]][2:] == ["hardware-fault", "other-reason"]


def test_ecs70_clock(rtds) -> None:
    _, command = _find(rtds, "ECS70_6.11_SUCCESS_COMMAND_GBCS.HEX")
    _, response = _find(rtds, "ECS70_6.11_SUCCESS_RESPONSE_GBCS.HEX")
    request, tree = dlms.decode(command), dlms.decode(response)
    assert {(s["class"], s["instance"]) for s in request["requests"]} == {("Clock", "0-0:1.0.0.255")}
    assert [s.get("method_name") for s in request["requests"]][1:3] == ["preset_adjusting_time", "adjust_to_preset_time"]
    preset = request["data"][1]["value"]
    assert [p.get("date_time") for p in preset] == ["*-*-*T*:*:*Z", "2014-12-31T23:59:10Z", "2015-01-01T00:00:10Z"]
    time = dlms.value_of(tree, "0-0:1.0.0.255", 2, request)
    assert time == {"type": "octet-string", "value": "07df0101ff000000008000ff", "date_time": "2015-01-01T00:00:00Z"}


def test_alerts_are_named(rtds) -> None:
    _, content = _find(rtds, "ECS80_NA_8F36_ALERT_GBCS.HEX")
    tree = dlms.decode(content)
    assert tree["apdu"] == "data-notification"
    assert tree["alert"] == {
        "code": 0x8F36,
        "code_hex": "0x8F36",
        "name": "Supply Outage Restored - Outage >= 3 minutes",
        "time_stamp": "2015-01-01T00:00:00Z",
    }
    assert [e.get("date_time") for e in tree["body"]["value"][2:]] == ["2014-12-31T23:50:00Z", "2014-12-31T23:59:00Z"]
    alerts = [dlms.decode(c)["alert"] for _, _, c in rtds if c[0] == 0x0F]
    assert len(alerts) == 62 and Counter(a["code_hex"] for a in alerts)["0x8F66"] == 41  # future-dated alerts
    # the ALCS / supplier-defined alerts of ECS100..ECS200 have no name in the sources we may use
    assert {a["code_hex"] for a in alerts if a["name"] is None} == {"0x8F85", "0x8F86", "0x8F87", "0x8F88"}


# --------------------------------------------------------------------------------------------------
# A-XDR types by construction (known encodings from the DLMS type tags)

_TYPES = [
    ("00", {"type": "null-data", "value": None}),
    ("0300", {"type": "boolean", "value": False}),
    ("0301", {"type": "boolean", "value": True}),
    ("03ff", {"type": "boolean", "value": True, "byte": 255}),
    ("040aa5c0", {"type": "bit-string", "value": "1010010111"}),
    ("0402c1", {"type": "bit-string", "value": "11", "hex": "c1"}),
    ("05ffffffff", {"type": "double-long", "value": -1}),
    ("06ffffffff", {"type": "double-long-unsigned", "value": 4294967295}),
    ("090401020304", {"type": "octet-string", "value": "01020304", "time": "01:02:03.04"}),
    ("090507df0101ff", {"type": "octet-string", "value": "07df0101ff", "date": "2015-01-01"}),
    ("090c07df0101ff0000000000b4ff",
     {"type": "octet-string", "value": "07df0101ff0000000000b4ff", "date_time": "2015-01-01T00:00:00+03:00"}),
    ("0a024142", {"type": "visible-string", "value": "AB"}),
    ("0c02c3a9", {"type": "utf8-string", "value": "é"}),
    ("0d99", {"type": "bcd", "value": -103}),
    ("0f80", {"type": "integer", "value": -128}),
    ("108000", {"type": "long", "value": -32768}),
    ("11ff", {"type": "unsigned", "value": 255}),
    ("12ffff", {"type": "long-unsigned", "value": 65535}),
    ("148000000000000000", {"type": "long64", "value": -(2**63)}),
    ("15ffffffffffffffff", {"type": "long64-unsigned", "value": 2**64 - 1}),
    ("161e", {"type": "enum", "value": 30}),
    ("173fc00000", {"type": "float32", "value": 1.5, "hex": "3fc00000"}),
    ("177fc00001", {"type": "float32", "value": None, "hex": "7fc00001"}),
    ("18bff0000000000000", {"type": "float64", "value": -1.0, "hex": "bff0000000000000"}),
    ("1907deffffff173200008000ff",
     {"type": "date-time", "value": "2014-*-*T23:50:00Z", "hex": "07deffffff173200008000ff"}),
    ("1affff0cfe07", {"type": "date", "value": "*-12-last", "hex": "ffff0cfe07"}),
    ("1b0c00ffff", {"type": "time", "value": "12:00:*", "hex": "0c00ffff"}),
    ("ff", {"type": "dont-care", "value": None}),
    ("0101020212000309060100010800ff",
     {"type": "array", "value": [{"type": "structure", "value": [
         {"type": "long-unsigned", "value": 3},
         {"type": "octet-string", "value": "0100010800ff", "obis": "1-0:1.8.0.255"}]}]}),
    ("1302021216" "03" "010200",
     {"type": "compact-array", "type_description": {"type": "structure", "elements": [
         {"type": "long-unsigned"}, {"type": "enum"}]},
      "value": [{"type": "structure", "value": [{"type": "long-unsigned", "value": 258},
                                                 {"type": "enum", "value": 0}]}]}),
]


@pytest.mark.parametrize("hex_bytes, node", _TYPES)
def test_axdr_types_decode_and_encode(hex_bytes: str, node: dict) -> None:
    r = axdr.Reader(bytes.fromhex(hex_bytes))
    assert axdr.decode_data(r) == node
    r.end("data")
    assert axdr.encode_data(node).hex() == hex_bytes


def test_compact_array_with_array_type_and_several_elements() -> None:
    raw = bytes.fromhex("13" "01000211" "04" "01020304")  # array[2] of unsigned, two elements of 2 bytes
    node = axdr.decode_data(axdr.Reader(raw))
    assert node["type_description"] == {"type": "array", "count": 2, "element": {"type": "unsigned"}}
    assert [[e["value"] for e in a["value"]] for a in node["value"]] == [[1, 2], [3, 4]]
    assert axdr.encode_data(node) == raw
    bad = dict(node, value=[{"type": "array", "value": [{"type": "unsigned", "value": 1}]}])
    with pytest.raises(InvalidInput, match="type description"):
        axdr.encode_data(bad)


def test_long_lengths_and_canonical_form() -> None:
    raw = bytes.fromhex("0981c8") + bytes(200)
    assert axdr.encode_data(axdr.decode_data(axdr.Reader(raw))) == raw
    with pytest.raises(InvalidInput, match="non-canonical length .* at byte offset 1"):
        axdr.decode_data(axdr.Reader(bytes.fromhex("09810100")))


@pytest.mark.parametrize(
    "hex_bytes, message",
    [
        ("07", "unknown data type tag 0x07 at byte offset 0"),
        ("0c03c3a9e2", "not valid UTF-8 .* at byte offset 4"),
        ("0102ff", "array count 2 exceeds the 1 byte"),
        ("1204", "truncated long-unsigned .* at byte offset 1"),
        ("1301000011", "truncated compact-array contents length"),
        ("130200010100", "zero-length elements"),
        ("13020100", "not allowed in a compact-array type description"),
    ],
)
def test_axdr_errors_name_the_offset(hex_bytes: str, message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        r = axdr.Reader(bytes.fromhex(hex_bytes))
        axdr.decode_data(r)
        r.end("data")


def test_deep_nesting_is_refused_not_a_recursion_error() -> None:
    with pytest.raises(InvalidInput, match="nested deeper"):
        axdr.decode_data(axdr.Reader(b"\x01\x01" * 1000 + b"\x00"))


def test_float_values_round_trip_exactly() -> None:
    for value in (0.1, -0.0, 3.4e38, 1e-45):
        node = {"type": "float32", "value": value, "hex": "00"}
        decoded = axdr.decode_data(axdr.Reader(axdr.encode_data(node)))
        assert math.isclose(decoded["value"], value, rel_tol=1e-6, abs_tol=1e-45)
        assert axdr.encode_data(decoded) == axdr.encode_data(node)


# --------------------------------------------------------------------------------------------------
# APDUs by construction, protected parts with a fake cipher, bad trees


def _fake_encrypt(plain: bytes) -> bytes:
    return dlms.SECURITY_HEADER + bytes(b ^ 0x5A for b in plain) + bytes(12)


def _fake_decrypt(blob: bytes) -> bytes:
    if blob[:5] != dlms.SECURITY_HEADER or blob[-12:] != bytes(12):
        raise ValueError("tag mismatch")
    return bytes(b ^ 0x5A for b in blob[5:-12])


# protection parameters as the RTDS ECS17b response carries them (an array of one DLMS protection-parameters)
_PROTECTION = (
    "0101" "0202" "1602" "0205" "0909040000000000000001" "090800db1234567890a0" "090890b3d51f30010000" "0900"
    "0202" "1602" "0202" "090102" "0900"
)


def _protected_response(plain: bytes) -> bytes:
    blob = _fake_encrypt(plain)
    head = "da" "20000001" "00" "00" "01" "0202" + _PROTECTION
    return bytes.fromhex(head) + b"\x09" + axdr.encode_length(len(blob)) + blob + bytes.fromhex("01" "0300")


def test_protected_part_with_a_fake_cipher() -> None:
    plain = bytes.fromhex("020106000000ff")
    content = _protected_response(plain)
    undecrypted = dlms.decode(content)
    (part,) = _parts(undecrypted)
    assert part["decrypted"] is False and "data" not in part
    assert dlms.decode(content, decrypt=lambda b: (_ for _ in ()).throw(RuntimeError("no key"))) == undecrypted
    tree = dlms.decode(content, decrypt=_fake_decrypt)
    (part,) = _parts(tree)
    assert part["decrypted"] is True and part["plaintext"] == plain.hex()
    assert part["data"] == {"type": "structure", "value": [{"type": "double-long-unsigned", "value": 255}]}
    assert dlms.encode(tree, encrypt=_fake_encrypt) == content
    assert dlms.decode(dlms.encode(tree, encrypt=_fake_encrypt), decrypt=_fake_decrypt) == tree
    # an edited value needs encrypt(); with it, the new plaintext is what gets encrypted
    part["data"]["value"][0]["value"] = 256
    with pytest.raises(InvalidInput, match="needs encrypt"):
        dlms.encode(tree)
    edited = dlms.decode(dlms.encode(tree, encrypt=_fake_encrypt), decrypt=_fake_decrypt)
    assert _parts(edited)[0]["data"]["value"][0]["value"] == 256


def test_access_request_with_selection_round_trips() -> None:
    tree = {
        "kind": "dlms", "apdu": "access-request", "long_invoke_id_and_priority": 0x20000005,
        "date_time": {"type": "octet-string", "value": "07df0101ff000000008000ff"},
        "requests": [{"service": "get-with-selection", "class_id": 7, "instance": "0-0:99.98.0.255", "attribute": 2,
                      "access_selector": 2, "access_parameters": {"type": "structure", "value": [
                          {"type": "double-long-unsigned", "value": 1}, {"type": "double-long-unsigned", "value": 0}]}}],
        "data": [{"type": "null-data", "value": None}],
    }
    content = dlms.encode(tree)
    assert content.hex().startswith("d920000005" "0c07df0101ff000000008000ff" "01" "04" "0007" "0000636200ff" "02" "02")
    decoded = dlms.decode(content)
    assert decoded["requests"][0]["instance_name"] == "Event log" and decoded["invoke_id"] == 5
    assert dlms.encode(decoded) == content


@pytest.mark.parametrize(
    "tree, message",
    [
        ({"kind": "gbz"}, "kind 'dlms'"),
        ({"kind": "dlms", "apdu": "get-request"}, "unknown apdu"),
        ({"kind": "dlms", "apdu": "access-request", "long_invoke_id_and_priority": -1}, "long_invoke_id"),
        ({"kind": "dlms", "apdu": "access-request", "long_invoke_id_and_priority": 1, "requests": [
            {"service": "get", "class_id": 1, "instance": "1-0:1.8.0", "attribute": 2}], "data": []}, "OBIS code"),
        ({"kind": "dlms", "apdu": "access-request", "long_invoke_id_and_priority": 1, "requests": [],
          "data": [{"type": "unsigned", "value": 256}]}, "0..255"),
        ({"kind": "dlms", "apdu": "data-notification", "long_invoke_id_and_priority": 1}, "needs 'body'"),
    ],
)
def test_bad_trees_are_invalid_input(tree: dict, message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        dlms.encode(tree)


def test_bad_apdus_name_the_offset() -> None:
    with pytest.raises(InvalidInput, match="APDU tag 0xC0 .* at byte offset 0"):
        dlms.decode(b"\xc0\x01")
    with pytest.raises(InvalidInput, match="truncated long-invoke-id-and-priority .* at byte offset 1"):
        dlms.decode(b"\xd9\x20")
    with pytest.raises(InvalidInput, match="unknown access request specification choice 9 .* at byte offset 7"):
        dlms.decode(bytes.fromhex("d9200000010001090001"))
    with pytest.raises(InvalidInput, match="1 trailing byte"):
        dlms.decode(bytes.fromhex("0f2000000100" "00" "00"))


def test_fuzz_random_and_mutated_rtds_content(rtds) -> None:
    """Seeded, bounded: anything decode accepts round-trips; everything else is InvalidInput with an offset."""
    rng = random.Random(20240610)
    contents = [c for _, _, c in rtds]
    accepted = 0
    for i in range(3000):
        data = bytearray(rng.choice(contents))
        how = i % 4
        if how == 0:
            data[rng.randrange(len(data))] = rng.randrange(256)
        elif how == 1:
            del data[rng.randrange(len(data)) :]
        elif how == 2:
            data.insert(rng.randrange(len(data) + 1), rng.randrange(256))
        else:
            data = bytearray([rng.choice((0xD9, 0xDA, 0x0F))]) + rng.randbytes(rng.randrange(48))
        data = bytes(data)
        try:
            tree = dlms.decode(data, decrypt=_fake_decrypt)
        except InvalidInput as exc:
            assert "byte offset" in str(exc)
            continue
        accepted += 1
        assert dlms.encode(tree, encrypt=_fake_encrypt) == data
        assert dlms.decode(data) == dlms.decode(dlms.encode(dlms.decode(data)))
    assert 100 < accepted < 3000


# --------------------------------------------------------------------------------------------------
# Property: any tree of A-XDR nodes survives encode -> decode -> encode, inside an access request

_INT_RANGES = {
    "integer": (-128, 127), "unsigned": (0, 255), "long": (-(2**15), 2**15 - 1), "long-unsigned": (0, 2**16 - 1),
    "double-long": (-(2**31), 2**31 - 1), "double-long-unsigned": (0, 2**32 - 1), "enum": (0, 255),
    "long64": (-(2**63), 2**63 - 1), "long64-unsigned": (0, 2**64 - 1), "bcd": (-128, 127),
}
_leaves = st.one_of(
    *[st.builds(lambda t, v: {"type": t, "value": v}, st.just(t), st.integers(lo, hi)) for t, (lo, hi) in _INT_RANGES.items()],
    st.builds(lambda b: {"type": "octet-string", "value": b.hex()}, st.binary(max_size=140)),
    st.builds(lambda s: {"type": "visible-string", "value": s}, st.text(st.characters(max_codepoint=255), max_size=20)),
    st.builds(lambda s: {"type": "utf8-string", "value": s}, st.text(max_size=20)),
    st.builds(lambda b: {"type": "boolean", "value": b}, st.booleans()),
    st.builds(lambda s: {"type": "bit-string", "value": s}, st.text("01", max_size=30)),
    st.builds(lambda b: {"type": "float64", "value": None, "hex": b.hex()}, st.binary(min_size=8, max_size=8)),
    st.builds(lambda b: {"type": "date-time", "value": None, "hex": b.hex()}, st.binary(min_size=12, max_size=12)),
    st.just({"type": "null-data", "value": None}),
    st.just({"type": "dont-care", "value": None}),
)
_nodes = st.recursive(
    _leaves,
    lambda inner: st.builds(lambda t, v: {"type": t, "value": v}, st.sampled_from(["array", "structure"]),
                            st.lists(inner, max_size=5)),
    max_leaves=20,
)


@settings(max_examples=60, deadline=None)
@given(st.lists(_nodes, max_size=4), st.integers(0, 2**32 - 1))
def test_property_any_data_round_trips(data: list, invoke: int) -> None:
    tree = {"kind": "dlms", "apdu": "access-request", "long_invoke_id_and_priority": invoke, "date_time": None,
            "requests": [{"service": "set", "class_id": 1, "instance": "0-0:94.44.3.1", "attribute": 2}] * len(data),
            "data": data}
    content = dlms.encode(tree)
    decoded = dlms.decode(content)
    assert dlms.encode(decoded) == content
    assert dlms.decode(dlms.encode(decoded)) == decoded
    assert [n["type"] for n in decoded["data"]] == [n["type"] for n in data]


def test_fuzz_mutated_trees_encode_or_raise_invalid_input(rtds) -> None:
    """A hand-edited tree with a wrong key or type is a user error: InvalidInput, never a traceback."""
    rng = random.Random(7)
    junk = [None, -1, 2**70, "zz", [], {}, {"type": "structure"}, {"type": "octet-string", "value": 5}, True, 1.5]
    trees = [dlms.decode(c) for _, _, c in rtds[::5]]

    def nodes(node, out):
        if isinstance(node, dict):
            out.append(node)
            for v in node.values():
                nodes(v, out)
        elif isinstance(node, list):
            out.append(node)
            for v in node:
                nodes(v, out)
        return out

    rejected = 0
    for _ in range(1500):
        tree = json.loads(json.dumps(rng.choice(trees)))
        target = rng.choice(nodes(tree, []))
        if isinstance(target, dict) and target:
            key = rng.choice(sorted(target))
            if rng.random() < 0.3:
                del target[key]
            else:
                target[key] = rng.choice(junk)
        elif isinstance(target, list):
            target.append(rng.choice(junk)) if rng.random() < 0.5 or not target else target.pop()
        try:
            dlms.encode(tree)
        except InvalidInput:
            rejected += 1
    assert 300 < rejected < 1500  # the edits do hit fields the encoder reads
