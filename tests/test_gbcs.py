"""GBCS framing codec (duisconf.gbcs): duis.md §3.5, §10."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from duisconf.errors import InvalidInput
from duisconf.gbcs import (
    CRA,
    GeneralCiphering,
    GeneralSigning,
    GroupingHeader,
    cosem_datetime,
    decode,
    encode_signing,
    message_code_of,
    parse_cosem_datetime,
    sign_precommand,
    verify_precommand_signature,
)

# --------------------------------------------------------------------------------------------------
# Strategies

eui = st.binary(min_size=8, max_size=8)
counter = st.integers(0, 2**64 - 1)
# Content lengths around the BER boundaries (short form, 0x81 xx, 0x82 xx xx) plus anything up to 600.
content_len = st.sampled_from([0, 1, 127, 128, 255, 256, 300, 1000]) | st.integers(0, 600)
content = content_len.flatmap(lambda n: st.binary(min_size=n, max_size=n))


@st.composite
def headers(draw: st.DrawFn) -> GroupingHeader:
    supplementary = draw(st.sampled_from(["none", "id", "remote party", "full", "certificate"]))
    return GroupingHeader(
        cra=draw(st.sampled_from(CRA)),
        originator_counter=draw(counter),
        originator=draw(eui),
        recipient=draw(eui),
        date_time=draw(st.none() | st.binary(min_size=12, max_size=12)),
        message_code=draw(st.integers(0, 0xFFFF)),
        supplementary_remote_party_id=None if supplementary == "none" else draw(eui),
        supplementary_remote_party_counter=None if supplementary in ("none", "id") else draw(counter),
        supplementary_originator_counter=draw(counter) if supplementary == "full" else None,
        # A KA certificate makes the other-information long (BER 0x81 / 0x82 lengths).
        supplementary_ka_certificate=b"\x30" + draw(st.binary(min_size=8, max_size=400))
        if supplementary == "certificate" else None,
    )


signings = st.builds(
    GeneralSigning, header=headers(), content=content, signature=st.none() | st.binary(min_size=64, max_size=64)
) | st.builds(GeneralSigning, header=headers(), content=content, signature=st.none(), signature_omitted=st.just(True))
raw_inner = content.filter(lambda b: b[:1] != b"\xdf")
cipherings = st.builds(
    GeneralCiphering,
    inner=signings | raw_inner,
    mac=st.binary(min_size=12, max_size=12),
    prefix=st.just(bytes(6)),
    invocation_counter=st.integers(0, 2**32 - 1),
)
frames = signings | cipherings


def check_decoder(data: bytes) -> None:
    """The decoder either rejects with InvalidInput or accepts losslessly."""
    try:
        frame = decode(data)
    except InvalidInput as exc:
        assert "byte offset" in str(exc)
        return
    assert frame.encode() == data


# --------------------------------------------------------------------------------------------------
# Round trips and robustness


@given(signings)
def test_general_signing_round_trip(frame: GeneralSigning) -> None:
    data = frame.encode()
    assert data[0] == 0xDF
    assert GeneralSigning.decode(data) == frame
    assert decode(data) == frame
    assert encode_signing(frame) == data
    assert message_code_of(data) == frame.header.message_code
    # The signed bytes are the frame between DF and the signature length byte (duis.md §3.5).
    sig_field = 0 if frame.signature_omitted else 1 if frame.signature is None else 65
    assert frame.signed_bytes() == data[1 : len(data) - sig_field]


@given(cipherings)
def test_general_ciphering_round_trip(frame: GeneralCiphering) -> None:
    data = frame.encode()
    assert data[:2] == b"\xdd\x00"
    assert GeneralCiphering.decode(data) == frame
    assert decode(data) == frame
    assert data[-12:] == frame.mac
    if isinstance(frame.inner, GeneralSigning):
        assert message_code_of(data) == frame.inner.header.message_code
    else:
        with pytest.raises(InvalidInput, match="not a general-signing block"):
            message_code_of(data)


@settings(max_examples=300)
@given(
    st.binary(max_size=200)
    | st.binary(max_size=200).map(lambda b: b"\xdf\x09" + b)  # get past the first checks
    | st.binary(max_size=200).map(lambda b: b"\xdd\x00" + b)
)
def test_random_bytes_only_raise_invalid_input(data: bytes) -> None:
    check_decoder(data)


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(frames, st.data())
def test_mutated_frames_are_rejected_or_lossless(frame: GeneralSigning | GeneralCiphering, data: st.DataObject) -> None:
    good = frame.encode()
    kind = data.draw(st.sampled_from(["flip", "truncate", "append", "insert"]))
    i = data.draw(st.integers(0, len(good) - 1))
    if kind == "flip":
        mutated = good[:i] + bytes([good[i] ^ data.draw(st.integers(1, 255))]) + good[i + 1 :]
    elif kind == "truncate":
        mutated = good[:i]
    elif kind == "append":
        mutated = good + data.draw(st.binary(min_size=1, max_size=4))
    else:
        mutated = good[:i] + data.draw(st.binary(min_size=1, max_size=4)) + good[i:]
    check_decoder(mutated)
    if kind in ("truncate", "append"):
        # Only dropping a general-signing block's whole signature field (null or 64-byte), or adding the
        # null one to a block without it, yields a frame again (the omitted-signature spelling of a
        # pre-command); anything else is rejected.
        if isinstance(frame, GeneralSigning):
            field = 0 if frame.signature_omitted else 1 + (0 if frame.signature is None else 64)
            if (field and mutated == good[:-field]) or (not field and mutated == good + b"\x00"):
                decoded = decode(mutated)
                assert isinstance(decoded, GeneralSigning) and decoded.signature_omitted == bool(field)
                assert decoded.content == frame.content and decoded.header == frame.header
                return
        with pytest.raises(InvalidInput):
            decode(mutated)


# --------------------------------------------------------------------------------------------------
# Hand-built frames (duis.md §10.2)

ECS52_RESPONSE = bytes.fromhex(
    "DF"  # general-signing tag
    "09"  # transaction-id length: CRA flag + counter
    "02"  # CRA flag: response
    "0000000000000064"  # originator counter 100 (illustrative: the reference gives no counter here)
    "08" "BC33AC00FEFA553C"  # originator system title: the ESME
    "08" "90B3D51F30000002"  # recipient system title: the DCC (ACB)
    "0C" "07E8030F050C1E2D" "00" "8000" "00"  # date-time 2024-03-15 Fri(5) 12:30:45, .00, deviation n/s, status 00
    "12"  # other-information length 18: message code + supplementary remote party ID + counter
    "0059"  # message code: ECS52 Read Firmware Version (duis.md §10.3)
    "90B3D51F30010000"  # supplementary remote party ID: the supplier User
    "00000000000003E8"  # supplementary remote party counter 1000 (the User's DUIS counter, illustrative)
    "06" "DA0102030405"  # content: BER length 6 + placeholder bytes (a DLMS access response starts DA)
    "40" + "11" * 64  # signature: 40 + 64-byte r||s (placeholder bytes)
)

ECS17B_PRECOMMAND = bytes.fromhex(
    "DF"  # general-signing tag
    "09" "01"  # transaction-id length, CRA flag: command
    "00000000000003E8"  # originator counter 0x3E8 = 1000 (the RTDS template's RequestID counter)
    "08" "90B3D51F30010000"  # originator: the supplier User
    "08" "00DB1234567890A0"  # recipient: the ESME
    "00"  # date-time absent
    "02" "0027"  # other-information: message code only, ECS17b (duis.md §10.3)
    "05" "D901020300"  # content: placeholder DLMS access request (starts D9), ends in 00 on purpose
    "00"  # null signature, as a pre-command arrives (duis.md §3.5)
)


def test_hand_built_ecs52_response() -> None:
    frame = decode(ECS52_RESPONSE)
    assert isinstance(frame, GeneralSigning)
    h = frame.header
    assert h.cra is CRA.RESPONSE
    assert h.originator_counter == 100
    assert h.originator == bytes.fromhex("BC33AC00FEFA553C")
    assert h.recipient == bytes.fromhex("90B3D51F30000002")
    assert parse_cosem_datetime(h.date_time) == datetime(2024, 3, 15, 12, 30, 45, tzinfo=timezone.utc)
    assert h.message_code == 0x0059
    assert h.supplementary_remote_party_id == bytes.fromhex("90B3D51F30010000")
    assert h.supplementary_remote_party_counter == 1000
    assert h.supplementary_originator_counter is None
    assert frame.content == bytes.fromhex("DA0102030405")
    assert frame.signature == b"\x11" * 64
    assert frame.encode() == ECS52_RESPONSE
    assert message_code_of(ECS52_RESPONSE) == 0x0059


def test_hand_built_ecs17b_precommand_and_eui_strings() -> None:
    frame = decode(ECS17B_PRECOMMAND)
    expected = GeneralSigning(
        GroupingHeader(CRA.COMMAND, 1000, "90-B3-D5-1F-30-01-00-00", "00-DB-12-34-56-78-90-A0", None, 0x0027),
        bytes.fromhex("D901020300"),
        None,
    )
    assert frame == expected
    assert expected.encode() == ECS17B_PRECOMMAND


def test_ciphering_wraps_the_precommand() -> None:
    inner = GeneralSigning.decode(ECS17B_PRECOMMAND)
    data = GeneralCiphering(inner).encode()
    body = ECS17B_PRECOMMAND
    # DD + 6 zero bytes, BER length of security header + inner + MAC, 11 00000000, inner, 12-byte MAC.
    assert data == b"\xdd" + bytes(6) + bytes([5 + len(body) + 12]) + b"\x11" + bytes(4) + body + bytes(12)
    assert message_code_of(data) == 0x0027


# --------------------------------------------------------------------------------------------------
# Malformed input: what is wrong and where


def patched(at: int, new: bytes) -> bytes:
    """ECS17B_PRECOMMAND with the byte at ``at`` replaced by ``new``."""
    return ECS17B_PRECOMMAND[:at] + new + ECS17B_PRECOMMAND[at + 1 :]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "empty at byte offset 0"),
        (b"\x30\x00", "first byte 0x30 .* at byte offset 0"),
        (ECS17B_PRECOMMAND + b"\x00", "1 trailing byte.* at byte offset 40"),
        (ECS17B_PRECOMMAND[:18], "truncated originator system title .* at byte offset 12"),
        (patched(1, b"\x08"), "transaction-id length: expected 0x09, got 0x08 at byte offset 1"),
        (patched(2, b"\x04"), "bad CRA flag 0x04 .* at byte offset 2"),
        (patched(30, b"\x03"), "other-information length 0x03 .* at byte offset 30"),
        (patched(29, b"\x05"), "date-time length 0x05 .* at byte offset 29"),
        (patched(33, b"\x81\x05"), "non-canonical BER length .* at byte offset 33"),
        (patched(33, b"\x83"), "unsupported BER length 0x83 .* at byte offset 33"),
        (ECS17B_PRECOMMAND[:-1] + b"\x20", "bad signature length 0x20 .* at byte offset 39"),
        (ECS17B_PRECOMMAND[:-2], "truncated content .* at byte offset 34"),
        (patched(30, b"\x1b"), "truncated supplementary remote party ID .* at byte offset 33"),
        (b"\xdd\x01" + bytes(5) + b"\x11", "GBT segmentation .* at byte offset 1"),
        (b"\xdd" + bytes(6) + b"\x10" + bytes(16), "shorter than security header \\+ MAC .* at byte offset 7"),
        (b"\xdd" + bytes(6) + b"\x11\x31" + bytes(16), "security control byte: .* got 0x31 at byte offset 8"),
        (b"\xdd" + bytes(6) + b"\x11\x11" + bytes(16) + b"\x00", "trailing byte.* at byte offset 25"),
    ],
    ids=lambda v: "" if isinstance(v, bytes) else v.split(" at ")[0][:40],
)
def test_malformed_input_names_field_and_offset(data: bytes, message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        decode(data)


def test_inner_signing_errors_use_outer_offsets() -> None:
    broken = patched(2, b"\x07")  # CRA flag 7 at inner offset 2 = outer offset 13 + 2
    frame = b"\xdd" + bytes(6) + bytes([5 + len(broken) + 12]) + b"\x11" + bytes(4) + broken + bytes(12)
    with pytest.raises(InvalidInput, match="inner.*bad CRA flag 0x07 .* at byte offset 15"):
        decode(frame)


def test_constructors_reject_inconsistent_fields() -> None:
    base = dict(
        cra=CRA.ALERT, originator_counter=1, originator=bytes(8), recipient=bytes(8), date_time=None, message_code=1
    )
    with pytest.raises(InvalidInput, match="needs a supplementary remote party ID"):
        GroupingHeader(**base, supplementary_remote_party_counter=1)
    with pytest.raises(InvalidInput, match="not both"):
        GroupingHeader(**base, supplementary_remote_party_id=bytes(8), supplementary_remote_party_counter=1,
                       supplementary_originator_counter=2, supplementary_ka_certificate=b"\x30" + bytes(20))
    with pytest.raises(InvalidInput, match="DER"):
        GroupingHeader(**base, supplementary_remote_party_id=bytes(8), supplementary_remote_party_counter=1,
                       supplementary_ka_certificate=b"\x31" + bytes(20))
    with pytest.raises(InvalidInput, match="signature field omitted"):
        GeneralSigning(GroupingHeader(**base), b"", bytes(64), signature_omitted=True)
    with pytest.raises(InvalidInput, match="needs a supplementary remote party"):
        GroupingHeader(**base, supplementary_originator_counter=5)
    with pytest.raises(InvalidInput, match="CRA flag"):
        GroupingHeader(**{**base, "cra": 4})
    with pytest.raises(InvalidInput, match="2\\^64"):
        GroupingHeader(**{**base, "originator_counter": 2**64})
    with pytest.raises(InvalidInput, match="12 bytes"):
        GroupingHeader(**{**base, "date_time": bytes(11)})
    with pytest.raises(InvalidInput, match="64 bytes"):
        GeneralSigning(GroupingHeader(**base), b"", bytes(63))
    with pytest.raises(InvalidInput, match="0xDF"):
        GeneralCiphering(b"\xdf\x00")
    with pytest.raises(InvalidInput, match="GBT"):
        GeneralCiphering(b"", prefix=b"\x01" + bytes(5))


# --------------------------------------------------------------------------------------------------
# COSEM date-time


@given(st.datetimes(min_value=datetime(1990, 1, 1), max_value=datetime(2200, 1, 1)))
def test_cosem_datetime_round_trip(dt: datetime) -> None:
    raw = cosem_datetime(dt)
    assert len(raw) == 12
    assert raw[4] == dt.isoweekday()
    assert raw[9:] == b"\x80\x00\x00"
    expected = dt.replace(microsecond=dt.microsecond // 10_000 * 10_000, tzinfo=timezone.utc)
    assert parse_cosem_datetime(raw) == expected


def test_cosem_datetime_special_values() -> None:
    aware = datetime(2024, 3, 15, 13, 30, 45, tzinfo=timezone(timedelta(hours=1)))
    assert cosem_datetime(aware) == bytes.fromhex("07E8030F050C1E2D00800000")
    assert parse_cosem_datetime(bytes.fromhex("FFFF030F050C1E2D00800000")) is None
    assert parse_cosem_datetime(bytes.fromhex("07E8FE0F050C1E2D00800000")) is None
    assert parse_cosem_datetime(bytes.fromhex("07E8030F05FF1E2D00800000")) is None
    # Hundredths not specified count as 0; deviation 60 = local time one hour ahead of UTC.
    dt = parse_cosem_datetime(bytes.fromhex("07E8030F050D1E2DFF003C00"))
    assert dt == datetime(2024, 3, 15, 12, 30, 45, tzinfo=timezone.utc)
    with pytest.raises(InvalidInput, match="not a valid date-time"):
        parse_cosem_datetime(bytes.fromhex("07E8021E050C1E2D00800000"))  # 30 February
    assert parse_cosem_datetime(None) is None  # absent date-time in a grouping header
    with pytest.raises(InvalidInput, match="expected 12 bytes"):
        parse_cosem_datetime(bytes(11))


# --------------------------------------------------------------------------------------------------
# Pre-command signing (duis.md §3.5)


@pytest.fixture(scope="module")
def key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def test_sign_and_verify_precommand(key: ec.EllipticCurvePrivateKey) -> None:
    signed = sign_precommand(ECS17B_PRECOMMAND, key)
    assert signed[: len(ECS17B_PRECOMMAND) - 1] == ECS17B_PRECOMMAND[:-1]
    assert signed[len(ECS17B_PRECOMMAND) - 1] == 0x40
    assert len(signed) == len(ECS17B_PRECOMMAND) + 64
    frame = GeneralSigning.decode(signed)
    assert frame.header == GeneralSigning.decode(ECS17B_PRECOMMAND).header
    assert verify_precommand_signature(signed, key.public_key())
    # Any change to the signed bytes (here the counter, the content and the signature) breaks it.
    for i in (5, len(ECS17B_PRECOMMAND) - 3, len(signed) - 1):
        tampered = signed[:i] + bytes([signed[i] ^ 0x01]) + signed[i + 1 :]
        assert not verify_precommand_signature(tampered, key.public_key())
    other = ec.generate_private_key(ec.SECP256R1())
    assert not verify_precommand_signature(signed, other.public_key())
    assert not verify_precommand_signature(ECS17B_PRECOMMAND, key.public_key())  # null signature


def test_pre_141_precommand_without_null_signature(key: ec.EllipticCurvePrivateKey) -> None:
    # DCC Boxed before 1.4.1 omitted the trailing 00; the content here also ends in 00, which a naive
    # "drop the last byte" would eat.
    old = ECS17B_PRECOMMAND[:-1]
    signed = sign_precommand(old, key)
    assert signed[: len(old)] == old
    assert verify_precommand_signature(signed, key.public_key())
    assert GeneralSigning.decode(signed).signed_bytes() == GeneralSigning.decode(ECS17B_PRECOMMAND).signed_bytes()


def test_sign_precommand_rejects_bad_input(key: ec.EllipticCurvePrivateKey) -> None:
    signed = sign_precommand(ECS17B_PRECOMMAND, key)
    with pytest.raises(InvalidInput, match="already signed"):
        sign_precommand(signed, key)
    with pytest.raises(InvalidInput, match="expected 0xDF, got 0xDD"):
        sign_precommand(GeneralCiphering(GeneralSigning.decode(ECS17B_PRECOMMAND)).encode(), key)
    with pytest.raises(InvalidInput, match="P-256"):
        sign_precommand(ECS17B_PRECOMMAND, ec.generate_private_key(ec.SECP384R1()))


# --------------------------------------------------------------------------------------------------
# DCC's RTDS 4.5.0: every message frames, losslessly (the old framing refused 182 of them)


def test_every_rtds_message_frames_losslessly() -> None:
    from gbcs_data import rtds_messages

    variants = {"ka certificate": 0, "party id only": 0, "signature field omitted": 0}
    for m in rtds_messages():
        frame = decode(m.data)
        assert frame.encode() == m.data, m.name
        signing = frame.inner if isinstance(frame, GeneralCiphering) else frame
        assert isinstance(signing, GeneralSigning)
        h = signing.header
        variants["ka certificate"] += h.supplementary_ka_certificate is not None
        variants["party id only"] += h.supplementary_remote_party_id is not None and h.supplementary_remote_party_counter is None
        variants["signature field omitted"] += signing.signature_omitted
        assert signing.signature_omitted == (m.kind == "PRECOMMAND"), m.name
    assert variants == {"ka certificate": 3, "party id only": 1, "signature field omitted": 178}
