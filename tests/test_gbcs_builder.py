"""duisconf.gbcs.builder against DCC's RTDS 4.5.0: built responses read back as the RTDS ones do, built
commands equal the RTDS commands, built messages carry valid MACs and decrypt.

The RTDS (GPL) is read at test time from ../shared; the committed rules/gbcs_shapes.toml holds no RTDS
values, only ids / types / order, and must not be stale against the RTDS.
"""

from __future__ import annotations

import importlib.util
import sys
import time
from functools import cache

import pytest

from duisconf import paths
from duisconf.errors import InvalidInput
from duisconf.gbcs import asn1, builder, dlms, gbz, readings
from duisconf.gbcs.message import decode_message, encode_message
from gbcs_data import RTDS_MESSAGES, rtds_keys, rtds_messages

spec = importlib.util.spec_from_file_location("gbcs_shapes", paths.PROJECT_ROOT / "tools" / "gbcs_shapes.py")
shapes_tool = importlib.util.module_from_spec(spec)
sys.modules.setdefault("gbcs_shapes", shapes_tool)
spec.loader.exec_module(shapes_tool)

CODECS = {"dlms": dlms, "gbz": gbz, "asn1": asn1}


@cache
def _decoded() -> list[tuple]:
    """(message, use case, kind, variant, decoded message, content tree) for every RTDS message."""
    keys = rtds_keys()
    out = []
    for m in rtds_messages():
        srv, folder_uc = m.folder.split("_", 1)
        uc = shapes_tool.gbcs_use_case(folder_uc)
        kind, variant = shapes_tool.variant_of(m.path, folder_uc, uc)
        if kind == "PRECOMMAND":
            continue
        decoded, tree, encoding = shapes_tool._rtds_tree(m.path, keys, uc)
        out.append((m, uc, kind.lower(), variant, decoded, tree, encoding))
    return out


def _decode_content(data: bytes, uc: str, keys) -> tuple:  # noqa: ANN001
    decoded = decode_message(data, keys, use_case=uc)
    tree = decoded.content
    if tree is None and decoded.content_hex:
        tree = asn1.decode(bytes.fromhex(decoded.content_hex), use_case=uc, cra=decoded.header.cra.name.lower())
    return decoded, tree


def test_committed_shapes_are_not_stale():
    if not RTDS_MESSAGES.is_dir():
        pytest.skip("DCC's RTDS data is absent: the staleness check runs where ../shared exists")
    assert not shapes_tool.stale(shapes_tool.generate()), \
        "rules/gbcs_shapes.toml is stale relative to the RTDS / readings.toml: run python tools/gbcs_shapes.py"


def test_shapes_hold_no_rtds_values():
    """No RTDS reading value survives in the file: every slot of a response is a placeholder."""
    text = (paths.rules_dir() / builder.SHAPES_FILE).read_text()
    for m, uc, cra, variant, decoded, tree, _ in _decoded():
        if cra != "response" or tree is None:
            continue
        for name, value in readings.read(uc, cra, tree).items():
            if isinstance(value, int) and not isinstance(value, bool) and value >= 1000:
                assert f"value = {value} " not in text, f"{m.name}: {name} = {value} is in the shapes file"


def test_every_response_reading_round_trips_and_keeps_the_rtds_structure():
    keys = rtds_keys()
    checked, timings, readings_seen, needs_certificate, no_key, encrypted = 0, [], set(), 0, 0, 0
    for m, uc, cra, variant, decoded, tree, encoding in _decoded():
        if cra not in ("response", "alert") or tree is None:
            continue
        values = dict(readings.read(uc, cra, tree))
        readings_seen |= set(values)
        started = time.perf_counter()
        try:
            builder.build_content(uc, cra, values, variant=variant)
        except InvalidInput as exc:
            assert "has no default" in str(exc)
            needs_certificate += 1
            continue
        if decoded.mac == "no-key":  # a PPMID <-> meter message: no device private key exists for it
            no_key += 1
            continue
        data = builder.build_message(
            uc, cra, originator=decoded.header.originator, recipient=decoded.header.recipient,
            counter=decoded.header.originator_counter, values=values, keys=keys, variant=variant,
            date_time=decoded.header.date_time,
        )
        timings.append(time.perf_counter() - started)
        back, back_tree = _decode_content(data, uc, keys)
        assert back.mac in ("valid", "absent"), f"{m.name}: {back.mac_reason}"
        if decoded.mac == "valid":
            assert back.mac == "valid", f"{m.name}: built message MAC {back.mac}"
        assert not back.decryption_errors, f"{m.name}: {back.decryption_errors}"
        assert back.encrypted == decoded.encrypted and back.decrypted == decoded.decrypted, m.name
        encrypted += back.encrypted
        assert back.header.message_code == decoded.header.message_code
        assert dict(readings.read(uc, cra, back_tree)) == values, f"{m.name}: readings differ"
        assert builder.structure_of(back_tree) == builder.structure_of(tree), f"{m.name}: structure differs"
        checked += 1
    assert checked >= 500 and encrypted >= 40
    mapped = {n for n in readings.table()["readings"]}
    assert mapped <= readings_seen, f"readings never built: {sorted(mapped - readings_seen)}"
    timings.sort()
    print(f"\n{checked} responses/alerts built ({needs_certificate} need a certificate and were not, {no_key} lack keys; {encrypted} encrypted and decrypted); build+encode+MAC median {timings[len(timings) // 2] * 1e3:.3f} ms, "
          f"p90 {timings[int(len(timings) * 0.9)] * 1e3:.3f} ms")


def test_commands_from_the_paired_duis_templates():
    """Each RTDS command with a paired RTDS DUIS request: built from the request's values, the content
    equals the RTDS command's byte for byte, or at least in structure; the exact ones are counted."""
    templates = shapes_tool._templates()
    if not templates:
        pytest.skip("@smartdcc/duis-templates is not installed")
    exact, same_structure, use_cases_exact, macs = 0, 0, set(), 0
    for m, uc, cra, variant, decoded, tree, encoding in _decoded():
        stem = m.path.name.removesuffix("_COMMAND_GBCS.HEX")
        if cra != "command" or stem not in templates or tree is None:
            continue
        request = builder.duis_values(templates[stem].read_bytes())
        try:
            content = builder.build_content(uc, "command", {}, variant=variant, request=request, header=decoded.header)
        except InvalidInput as exc:
            assert "has no default" in str(exc)  # a certificate the DUIS request carries: not mapped yet
            continue
        body = CODECS[content.encoding].encode(dict(content), use_case=uc, cra="command",
                                               message_code=decoded.header.message_code)
        rebuilt = CODECS[content.encoding].decode(body, use_case=uc, cra="command")
        assert builder.structure_of(rebuilt) == builder.structure_of(tree), f"{m.name}: structure differs"
        same_structure += 1
        if decoded.mac == "valid":
            data = builder.build_message(uc, "command", originator=decoded.header.originator,
                                         recipient=decoded.header.recipient, counter=decoded.header.originator_counter,
                                         keys=rtds_keys(), variant=variant, request=request)
            assert decode_message(data, rtds_keys(), use_case=uc).mac == "valid", f"{m.name}: ACB MAC"
            macs += 1
        if body.hex() == decoded.content_hex:
            exact += 1
            use_cases_exact.add(uc)
    assert same_structure >= 150
    print(f"\n{same_structure} RTDS commands with a DUIS template; {exact} byte-exact "
          f"({len(use_cases_exact)} use cases); {macs} ACB MACs valid")
    assert exact >= 50


def test_precommand_is_the_command_without_signature_field_and_envelope():
    keys = rtds_keys()
    rtds = next(m for m in rtds_messages() if m.path.name == "ECS02_1.6_IMMEDIATE_SINGLE_SUCCESS_PRECOMMAND_GBCS.HEX")
    decoded = decode_message(rtds.data, keys)
    built = builder.build_message(
        "ECS02", "command", originator=decoded.header.originator, recipient=decoded.header.recipient,
        counter=decoded.header.originator_counter, keys=keys, variant="immediate_single_success", precommand=True,
    )
    assert built[0] == 0xDF
    back = decode_message(built, keys)
    assert back.signature == "absent" and back.mac == "absent"
    assert builder.structure_of(back.content) == builder.structure_of(decoded.content)


def test_missing_slots_are_listed_not_invented():
    content = builder.build_content("ECS82", "response", {})
    assert content.defaulted == ["meter_balance"]
    assert content["data"][0] == {"type": "double-long", "value": 0}
    full = builder.build_content("ECS82", "response", {"meter_balance": 1234})
    assert full.defaulted == [] and readings.read("ECS82", "response", dict(full))["meter_balance"] == 1234


def test_bad_use_case_variant_and_value_are_named():
    with pytest.raises(InvalidInput, match="no GBCS shape for use case 'XYZ99'"):
        builder.build_content("XYZ99", "response", {})
    with pytest.raises(InvalidInput, match="no variant 'sideways'"):
        builder.build_content("ECS82", "response", {}, variant="sideways")
    with pytest.raises(InvalidInput, match="ECS45 supply"):
        builder.build_content("ECS45", "response", {"supply": "Sideways"})


def test_built_message_without_keys_says_which():
    from duisconf.errors import KeyMaterialMissing
    from duisconf.gbcs.keys import KeyRing

    with pytest.raises(KeyMaterialMissing, match="(?i)00-DB-12-34-56-78-90-A0|90-B3-D5-1F-30-01-00-00"):
        builder.build_message("ECS82", "response", originator="00-DB-12-34-56-78-90-A0",
                              recipient="90-B3-D5-1F-30-01-00-00", counter=1000, values={"meter_balance": 1},
                              keys=KeyRing())
    assert encode_message  # the builder goes through message.encode_message (imported there)
