"""GBCS framing carried base64 in DUIS ``GBCSPayload`` / ``PreCommand`` (duis.md §3.5, §10).

Two frame kinds, told apart by the first byte (duis.md §10.1):

* ``DF`` general signing: grouping header + content + signature (layout in duis.md §10.2);
* ``DD`` general ciphering: a MAC envelope around a general-signing block.

This is framing only: no MAC computation, no decryption, no DLMS / ZigBee semantics (duis.md §10.5).
The codec is lossless: ``decode(frame.encode()) == frame`` for every valid frame object and
``decode(data).encode() == data`` for every byte string the decoder accepts. To keep that promise the
decoder rejects non-canonical spellings (for instance a BER length in long form that fits the short
form) instead of silently normalising them. Every malformed input raises
:class:`~duisconf.errors.InvalidInput` naming the field and the byte offset.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature, encode_dss_signature

from ..duis.model import eui_bytes
from ..errors import InvalidInput
from .cursor import Reader

GENERAL_SIGNING_TAG = 0xDF
GENERAL_CIPHERING_TAG = 0xDD
SECURITY_CONTROL = 0x11  # duis.md §10.1: security header "11 00000000"
MAC_LENGTH = 12  # duis.md §10.1: 12-byte MAC (AES-GCM tag)
SIGNATURE_LENGTH = 64  # duis.md §10.2: "40 + 64-byte r‖s"
_MAX_COUNTER = 2**64 - 1
_MAX_BER = 0xFFFF  # we write/read BER lengths in at most two length octets (0x82 xx xx)

# duis.md §10.2 "Other-Information": BER length, then message code [+ supplementary fields]. The
# variants are told apart by the length alone (as DCC's parser does): 2, 10, 18, 26, or more than 26
# when a supplementary remote party KA certificate (DER) follows the counter (seen in ECS21b/CS02 commands).
_OTHER_INFO_PLAIN = 0x02  # message code only
_OTHER_INFO_PARTY_ID = 0x0A  # + supplementary remote party ID (8): e.g. the ECS200 alert of the RTDS
_OTHER_INFO_REMOTE_PARTY = 0x12  # + supplementary remote party counter (8)
_OTHER_INFO_FULL = 0x1A  # + supplementary originator counter (8)


class CRA(enum.IntEnum):
    """The CRA flag of the transaction ID (duis.md §10.2; XSD ``CRAFlag``)."""

    COMMAND = 1
    RESPONSE = 2
    ALERT = 3


# --------------------------------------------------------------------------------------------------
# Byte-level helpers


class _Reader(Reader):
    """The frame cursor: BER lengths as GBCS frames write them."""

    def ber_length(self, field: str) -> int:
        """A definite BER length in canonical (shortest) form: < 0x80, 0x81 xx (>= 0x80), 0x82 xx xx (>= 0x100)."""
        at, first = self.pos, self.byte(field)
        if first < 0x80:
            return first
        if first not in (0x81, 0x82):
            self.fail(f"unsupported BER length 0x{first:02X} for {field} (only short form, 0x81 and 0x82)", at)
        value = int.from_bytes(self.take(first - 0x80, field), "big")
        if value < (0x80 if first == 0x81 else 0x100):
            self.fail(f"non-canonical BER length for {field} ({value} in {first - 0x7F} bytes)", at)
        return value



def ber_length(n: int) -> bytes:
    """A definite BER length in its canonical (shortest) form, as GBCS frames carry them."""
    if n < 0x80:
        return bytes([n])
    if n <= 0xFF:
        return bytes([0x81, n])
    return bytes([0x82]) + n.to_bytes(2, "big")


def _as_bytes(value: object, length: int, field: str) -> bytes:
    """Coerce bytes / bytearray (or an EUI string for 8-byte identities) and check the length."""
    if isinstance(value, str) and length == 8:
        value = eui_bytes(value)
    if not isinstance(value, (bytes, bytearray)) or len(value) != length:
        raise InvalidInput(f"{field} must be {length} bytes, got {value!r}")
    return bytes(value)


def _check_counter(value: object, field: str) -> None:
    if not isinstance(value, int) or not 0 <= value <= _MAX_COUNTER:
        raise InvalidInput(f"{field} must be an integer in 0..2^64-1, got {value!r}")


# --------------------------------------------------------------------------------------------------
# COSEM date-time (the optional Date-Time of the grouping header, duis.md §10.2)
#
# The reference only says "length-prefixed date-time"; we take the 12-byte COSEM date-time of the
# DLMS Blue Book: year(2) month day weekday hour minute second hundredths deviation(2) clock-status.

_NOT_SPECIFIED_DEVIATION = 0x8000


def cosem_datetime(dt: datetime) -> bytes:
    """A datetime as a 12-byte COSEM date-time in UTC.

    Naive datetimes are taken as UTC; aware ones are converted. Deviation is written as 0x8000 (not
    specified) and clock status as 0x00: the reference does not say what GBCS puts there (our choice).
    """
    if dt.tzinfo is not None:
        dt = dt.astimezone(timezone.utc)
    return (
        dt.year.to_bytes(2, "big")
        + bytes([dt.month, dt.day, dt.isoweekday(), dt.hour, dt.minute, dt.second, dt.microsecond // 10_000])
        + _NOT_SPECIFIED_DEVIATION.to_bytes(2, "big")
        + b"\x00"
    )


def parse_cosem_datetime(raw: bytes | None) -> datetime | None:
    """A 12-byte COSEM date-time as an aware datetime, or None if absent or not naming one instant.

    None for ``raw=None`` (the header's absent date-time, so ``parse_cosem_datetime(h.date_time)``
    works), and when any of year, month, day, hour, minute, second is "not specified" (0xFFFF / 0xFF) or a
    special value (month / day 0xFD, 0xFE). Hundredths 0xFF count as 0. Weekday and clock status are
    ignored. Deviation 0x8000 means UTC; any other value is read, following the DLMS Blue Book, as
    minutes of local time ahead of UTC (the reference is silent; GBCS date-times are UTC in practice).
    """
    if raw is None:
        return None
    r = _Reader(raw, "COSEM date-time")
    if len(r.data) != 12:
        r.fail(f"expected 12 bytes, got {len(r.data)}", 0)
    year = int.from_bytes(r.data[0:2], "big")
    month, day, _weekday, hour, minute, second, hundredths = r.data[2:9]
    deviation = int.from_bytes(r.data[9:11], "big", signed=True)
    if year == 0xFFFF or month >= 0xFD or day >= 0xFD or 0xFF in (hour, minute, second):
        return None
    tz = timezone.utc
    if deviation != -0x8000:
        if not -720 <= deviation <= 720:
            r.fail(f"deviation {deviation} minutes is outside -720..720", 9)
        tz = timezone(timedelta(minutes=deviation))
    micro = 0 if hundredths == 0xFF else hundredths * 10_000
    try:
        return datetime(year, month, day, hour, minute, second, micro, tzinfo=tz)
    except ValueError as exc:
        r.fail(f"not a valid date-time ({exc})", 0)


# --------------------------------------------------------------------------------------------------
# General signing (duis.md §10.2)


@dataclass(frozen=True)
class GroupingHeader:
    """Everything between the ``DF`` tag and the content length (duis.md §10.2).

    ``originator`` / ``recipient`` / ``supplementary_remote_party_id`` accept an EUI string as well
    and are stored as 8 bytes. The supplementary fields come in the combinations GBCS allows: none,
    remote party ID alone, ID + counter, those two plus the supplementary originator counter, or
    ID + counter + the supplementary remote party's KA certificate (DER bytes, kept as carried).
    """

    cra: CRA
    originator_counter: int
    originator: bytes
    recipient: bytes
    date_time: bytes | None
    message_code: int
    supplementary_remote_party_id: bytes | None = None
    supplementary_remote_party_counter: int | None = None
    supplementary_originator_counter: int | None = None
    supplementary_ka_certificate: bytes | None = None

    def __post_init__(self) -> None:
        try:
            object.__setattr__(self, "cra", CRA(self.cra))
        except ValueError:
            raise InvalidInput(f"CRA flag must be 1 (command), 2 (response) or 3 (alert), got {self.cra!r}") from None
        _check_counter(self.originator_counter, "originator counter")
        object.__setattr__(self, "originator", _as_bytes(self.originator, 8, "originator system title"))
        object.__setattr__(self, "recipient", _as_bytes(self.recipient, 8, "recipient system title"))
        if self.date_time is not None:
            object.__setattr__(self, "date_time", _as_bytes(self.date_time, 12, "date-time"))
        if not isinstance(self.message_code, int) or not 0 <= self.message_code <= 0xFFFF:
            raise InvalidInput(f"message code must be in 0..0xFFFF, got {self.message_code!r}")
        srp_id, srp_counter = self.supplementary_remote_party_id, self.supplementary_remote_party_counter
        if srp_counter is not None and srp_id is None:
            raise InvalidInput("a supplementary remote party counter needs a supplementary remote party ID")
        if self.supplementary_originator_counter is not None and srp_counter is None:
            raise InvalidInput("a supplementary originator counter needs a supplementary remote party ID and counter")
        cert = self.supplementary_ka_certificate
        if cert is not None:
            if srp_counter is None:
                raise InvalidInput("a supplementary KA certificate needs a supplementary remote party ID and counter")
            if self.supplementary_originator_counter is not None:
                raise InvalidInput("other-information carries a supplementary originator counter or a KA certificate, not both")
            if not isinstance(cert, (bytes, bytearray)) or len(cert) <= 8 or cert[0] != 0x30:
                raise InvalidInput("supplementary KA certificate must be DER bytes (a SEQUENCE longer than 8 bytes)")
            object.__setattr__(self, "supplementary_ka_certificate", bytes(cert))
        if srp_id is not None:
            object.__setattr__(
                self, "supplementary_remote_party_id", _as_bytes(srp_id, 8, "supplementary remote party ID")
            )
        if srp_counter is not None:
            _check_counter(srp_counter, "supplementary remote party counter")
        if self.supplementary_originator_counter is not None:
            _check_counter(self.supplementary_originator_counter, "supplementary originator counter")
        if len(self.other_information()) > _MAX_BER:
            raise InvalidInput(f"other-information longer than {_MAX_BER} bytes")

    def other_information(self) -> bytes:
        """The other-information field's value (message code + supplementary fields), without its length."""
        other = self.message_code.to_bytes(2, "big")
        if self.supplementary_remote_party_id is not None:
            other += self.supplementary_remote_party_id
        if self.supplementary_remote_party_counter is not None:
            other += self.supplementary_remote_party_counter.to_bytes(8, "big")
        if self.supplementary_originator_counter is not None:
            other += self.supplementary_originator_counter.to_bytes(8, "big")
        if self.supplementary_ka_certificate is not None:
            other += self.supplementary_ka_certificate
        return other

    def encode(self) -> bytes:
        """The header bytes after ``DF`` (transaction ID … other-information)."""
        other = self.other_information()
        return (
            # Transaction ID: length 09 = CRA flag (1) + originator counter (8) (duis.md §10.2).
            bytes([0x09, self.cra])
            + self.originator_counter.to_bytes(8, "big")
            + b"\x08" + self.originator
            + b"\x08" + self.recipient
            + (b"\x00" if self.date_time is None else b"\x0c" + self.date_time)
            + ber_length(len(other)) + other
        )

    @classmethod
    def _read(cls, r: _Reader) -> GroupingHeader:
        r.expect(0x09, "transaction-id length")
        at, flag = r.pos, r.byte("CRA flag")
        if flag not in {c.value for c in CRA}:
            r.fail(f"bad CRA flag 0x{flag:02X} (expected 1 command, 2 response or 3 alert)", at)
        counter = int.from_bytes(r.take(8, "originator counter"), "big")
        r.expect(0x08, "originator system title length")
        originator = r.take(8, "originator system title")
        r.expect(0x08, "recipient system title length")
        recipient = r.take(8, "recipient system title")
        # Date-time: 00 = absent, else 0C + 12-byte COSEM date-time (duis.md §10.2; 0C inferred from COSEM).
        at, dt_len = r.pos, r.byte("date-time length")
        if dt_len not in (0x00, 0x0C):
            r.fail(f"bad date-time length 0x{dt_len:02X} (expected 0x00 absent or 0x0C)", at)
        date_time = r.take(12, "date-time") if dt_len else None
        at, info_len = r.pos, r.ber_length("other-information length")
        known = (_OTHER_INFO_PLAIN, _OTHER_INFO_PARTY_ID, _OTHER_INFO_REMOTE_PARTY, _OTHER_INFO_FULL)
        if info_len not in known and info_len <= _OTHER_INFO_FULL:
            r.fail(
                f"bad other-information length 0x{info_len:02X} (expected 0x02 message code, 0x0A with a "
                "supplementary remote party ID, 0x12 with its counter too, 0x1A with a supplementary originator "
                "counter too, or more than 0x1A with a supplementary KA certificate)",
                at,
            )
        message_code = int.from_bytes(r.take(2, "message code"), "big")
        srp_id = srp_counter = so_counter = cert = None
        if info_len >= _OTHER_INFO_PARTY_ID:
            srp_id = r.take(8, "supplementary remote party ID")
        if info_len >= _OTHER_INFO_REMOTE_PARTY:
            srp_counter = int.from_bytes(r.take(8, "supplementary remote party counter"), "big")
        if info_len == _OTHER_INFO_FULL:
            so_counter = int.from_bytes(r.take(8, "supplementary originator counter"), "big")
        elif info_len > _OTHER_INFO_FULL:
            at = r.pos
            cert = r.take(info_len - _OTHER_INFO_REMOTE_PARTY, "supplementary KA certificate")
            if cert[0] != 0x30:
                r.fail(f"supplementary KA certificate does not start with a DER SEQUENCE (0x{cert[0]:02X})", at)
        return cls(CRA(flag), counter, originator, recipient, date_time, message_code, srp_id, srp_counter, so_counter,
                   cert)


@dataclass(frozen=True)
class GeneralSigning:
    """A general-signing block: ``DF`` + grouping header + BER length + content + signature.

    ``signature`` None is the null signature (a single ``00``); otherwise the 64-byte raw r‖s.
    ``signature_omitted`` marks a pre-command whose signature field is missing altogether, as DCC Boxed
    before 1.4.1 and every RTDS 4.5.0 pre-command write it (kept so that re-encoding is lossless).
    """

    header: GroupingHeader
    content: bytes
    signature: bytes | None = None
    signature_omitted: bool = False

    def __post_init__(self) -> None:
        if not isinstance(self.header, GroupingHeader):
            raise InvalidInput(f"header must be a GroupingHeader, got {type(self.header).__name__}")
        if not isinstance(self.content, (bytes, bytearray)) or len(self.content) > _MAX_BER:
            raise InvalidInput(f"content must be bytes, at most {_MAX_BER} of them")
        object.__setattr__(self, "content", bytes(self.content))
        if self.signature is not None:
            object.__setattr__(self, "signature", _as_bytes(self.signature, SIGNATURE_LENGTH, "signature"))
            if self.signature_omitted:
                raise InvalidInput("a signed block cannot have its signature field omitted")

    def _unsigned(self) -> bytes:
        """``DF`` … content: the frame without its signature field."""
        return bytes([GENERAL_SIGNING_TAG]) + self.header.encode() + ber_length(len(self.content)) + self.content

    @property
    def content_offset(self) -> int:
        """Where the content starts within this block's encoding (the ``DF`` is offset 0)."""
        return 1 + len(self.header.encode()) + len(ber_length(len(self.content)))

    def signed_bytes(self) -> bytes:
        """What the signature covers: everything after ``DF`` up to the signature length byte (duis.md §3.5)."""
        return self._unsigned()[1:]

    def encode(self) -> bytes:
        if self.signature_omitted:
            return self._unsigned()
        sig = b"\x00" if self.signature is None else bytes([SIGNATURE_LENGTH]) + self.signature
        return self._unsigned() + sig

    @classmethod
    def decode(cls, data: bytes) -> GeneralSigning:
        return cls._decode(_Reader(data, "GBCS general signing"))

    @classmethod
    def _decode(cls, r: _Reader) -> GeneralSigning:
        header, content = _read_unsigned(r)
        if r.pos == len(r.data):
            return cls(header, content, None, signature_omitted=True)
        at, sig_len = r.pos, r.byte("signature length")
        if sig_len not in (0x00, SIGNATURE_LENGTH):
            r.fail(f"bad signature length 0x{sig_len:02X} (expected 0x00 null or 0x40)", at)
        signature = r.take(SIGNATURE_LENGTH, "signature") if sig_len else None
        r.end("signature")
        return cls(header, content, signature)


def _read_unsigned(r: _Reader) -> tuple[GroupingHeader, bytes]:
    """Read ``DF`` + grouping header + content, stopping before the signature field."""
    r.expect(GENERAL_SIGNING_TAG, "general-signing tag")
    header = GroupingHeader._read(r)
    length = r.ber_length("content length")
    return header, r.take(length, "content")


# --------------------------------------------------------------------------------------------------
# General ciphering (duis.md §10.1)
#
# The reference describes only: "DD 00 …" (7 bytes) + BER length + 5-byte security header
# (11 00000000) + inner general-signing block + 12-byte MAC, and says DD with a non-zero second byte
# is GBT segmentation (unsupported). It does not name the six bytes after DD (in DLMS general-ciphering
# they would be the empty transaction-id, system titles, date-time, other-information and key-info),
# so we keep them raw in ``prefix`` and require only its first byte to be 00. We read the BER length
# as covering security header + inner + MAC (DLMS ciphered-content); this is our inference.


@dataclass(frozen=True)
class GeneralCiphering:
    """``DD`` + prefix (6) + BER length + ``11`` + invocation counter (4) + inner + MAC (12).

    ``inner`` is a :class:`GeneralSigning` when the inner block starts with ``DF``, else raw bytes (which
    therefore must not start with ``DF``). The MAC is opaque: nothing here computes or checks it.
    """

    inner: GeneralSigning | bytes
    mac: bytes = bytes(MAC_LENGTH)
    prefix: bytes = bytes(6)
    invocation_counter: int = 0

    def __post_init__(self) -> None:
        if isinstance(self.inner, (bytes, bytearray)):
            object.__setattr__(self, "inner", bytes(self.inner))
            if self.inner[:1] == bytes([GENERAL_SIGNING_TAG]):
                raise InvalidInput("raw inner content starting with 0xDF must be given as a GeneralSigning")
        elif not isinstance(self.inner, GeneralSigning):
            raise InvalidInput(f"inner must be GeneralSigning or bytes, got {type(self.inner).__name__}")
        object.__setattr__(self, "mac", _as_bytes(self.mac, MAC_LENGTH, "MAC"))
        object.__setattr__(self, "prefix", _as_bytes(self.prefix, 6, "general-ciphering prefix"))
        if self.prefix[0] != 0:
            raise InvalidInput("general-ciphering prefix must start with 00 (non-zero is GBT, duis.md §10.1)")
        if self.prefix != bytes(6):
            raise InvalidInput("general-ciphering prefix must be six 00 bytes (GBCS leaves those fields empty)")
        if not isinstance(self.invocation_counter, int) or not 0 <= self.invocation_counter <= 0xFFFFFFFF:
            raise InvalidInput(f"invocation counter must be in 0..2^32-1, got {self.invocation_counter!r}")
        if len(self._ciphered()) > _MAX_BER:
            raise InvalidInput(f"general-ciphering content longer than {_MAX_BER} bytes")

    def _ciphered(self) -> bytes:
        inner = self.inner.encode() if isinstance(self.inner, GeneralSigning) else self.inner
        return bytes([SECURITY_CONTROL]) + self.invocation_counter.to_bytes(4, "big") + inner + self.mac

    def encode(self) -> bytes:
        ciphered = self._ciphered()
        return bytes([GENERAL_CIPHERING_TAG]) + self.prefix + ber_length(len(ciphered)) + ciphered

    @classmethod
    def decode(cls, data: bytes) -> GeneralCiphering:
        r = _Reader(data, "GBCS general ciphering")
        r.expect(GENERAL_CIPHERING_TAG, "general-ciphering tag")
        at, prefix = r.pos, r.take(6, "general-ciphering prefix")
        if prefix[0] != 0:
            r.fail(f"second byte 0x{prefix[0]:02X} is not 00 (GBT segmentation is not supported)", at)
        for i, b in enumerate(prefix[1:], 1):
            if b:
                r.fail(f"general-ciphering field byte 0x{b:02X} is not 00 (GBCS leaves transaction id, system "
                       "titles, date-time, other information and key info empty)", at + i)
        at, length = r.pos, r.ber_length("ciphered-content length")
        if length < 5 + MAC_LENGTH:
            r.fail(f"ciphered-content length {length} is shorter than security header + MAC (17)", at)
        start = r.pos
        r.take(length, "ciphered content")
        r.end("MAC")
        c = _Reader(r.data[start : start + length], "GBCS general ciphering", start)
        c.expect(SECURITY_CONTROL, "security control byte")
        invocation = int.from_bytes(c.take(4, "security header"), "big")
        inner_raw = c.data[5:-MAC_LENGTH]
        inner: GeneralSigning | bytes = inner_raw
        if inner_raw[:1] == bytes([GENERAL_SIGNING_TAG]):
            # A DF inner block must decode fully: offsets reported relative to the outer frame.
            inner = GeneralSigning._decode(_Reader(inner_raw, "GBCS general signing (inner)", start + 5))
        return cls(inner, c.data[-MAC_LENGTH:], prefix, invocation)


# --------------------------------------------------------------------------------------------------
# Dispatch and convenience


def decode(data: bytes) -> GeneralSigning | GeneralCiphering:
    """Decode a GBCS frame, dispatching on the first byte (duis.md §10.1)."""
    if not data:
        raise InvalidInput("GBCS frame: empty at byte offset 0")
    if data[0] == GENERAL_SIGNING_TAG:
        return GeneralSigning.decode(data)
    if data[0] == GENERAL_CIPHERING_TAG:
        return GeneralCiphering.decode(data)
    raise InvalidInput(
        f"GBCS frame: first byte 0x{data[0]:02X} is neither 0xDF (general signing) "
        "nor 0xDD (general ciphering) at byte offset 0"
    )


def message_code_of(data: bytes) -> int:
    """The GBCS message code (duis.md §10.3) of a general-signing or general-ciphering frame."""
    frame = decode(data)
    if isinstance(frame, GeneralCiphering):
        if not isinstance(frame.inner, GeneralSigning):
            raise InvalidInput("GBCS general ciphering: inner content is not a general-signing block; no message code")
        frame = frame.inner
    return frame.header.message_code


def sign_precommand(precommand: bytes, private_key: ec.EllipticCurvePrivateKey) -> bytes:
    """Sign a DUIS pre-command (duis.md §3.5) with the originator's GBCS digital-signature key.

    The pre-command is a general-signing block ending with a null signature ``00``; DCC Boxed before
    1.4.1 left that byte out, so both forms are accepted. Unlike a plain "drop the last byte", we parse
    the frame to find where the content ends, so content that happens to end in 00 is safe. Returns
    the frame with ``40`` + raw r‖s (64 bytes, ECDSA-SHA256 over the bytes after ``DF``) appended.
    """
    if not isinstance(private_key, ec.EllipticCurvePrivateKey) or private_key.curve.key_size != 256:
        raise InvalidInput("GBCS signing needs an EC P-256 private key")
    r = _Reader(precommand, "GBCS pre-command")
    _read_unsigned(r)
    tail = r.data[r.pos :]
    if tail not in (b"", b"\x00"):
        r.fail("expected the null signature 00 (or nothing) after the content; is it already signed?")
    unsigned = r.data[: r.pos]
    der = private_key.sign(unsigned[1:], ec.ECDSA(hashes.SHA256()))
    rs = b"".join(n.to_bytes(32, "big") for n in decode_dss_signature(der))
    return unsigned + bytes([SIGNATURE_LENGTH]) + rs


def verify_precommand_signature(signed: bytes, public_key: ec.EllipticCurvePublicKey) -> bool:
    """True if the general-signing block carries a valid ECDSA-SHA256 r‖s signature by ``public_key``.

    A null signature gives False; a malformed frame raises InvalidInput (it is not a signature question).
    """
    frame = GeneralSigning.decode(signed)
    if frame.signature is None:
        return False
    r, s = int.from_bytes(frame.signature[:32], "big"), int.from_bytes(frame.signature[32:], "big")
    try:
        public_key.verify(encode_dss_signature(r, s), frame.signed_bytes(), ec.ECDSA(hashes.SHA256()))
    except InvalidSignature:
        return False
    return True


def encode_signing(
    header: GroupingHeader | GeneralSigning, content: bytes = b"", signature: bytes | None = None
) -> bytes:
    """Encode a general-signing block from its parts (or encode a ready :class:`GeneralSigning`)."""
    if isinstance(header, GeneralSigning):
        if content or signature is not None:
            raise InvalidInput("pass either a GeneralSigning or header + content + signature, not both")
        return header.encode()
    return GeneralSigning(header, content, signature).encode()
