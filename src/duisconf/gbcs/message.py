"""A whole GBCS message, read and written in GBCS's order: frame, MAC, signature, decryption, content.

:func:`decode_message` never lets a key question become a crash: the MAC and the signature each get a
verdict (``valid`` / ``invalid`` / ``no-key`` / ``absent``, and ``empty`` for a null signature) with a
reason, and an encrypted part that cannot be decrypted stays in the tree, undecoded, with the reason.
Only malformed bytes raise :class:`~duisconf.errors.InvalidInput`, naming the field and the byte offset
within the whole message.

:func:`encode_message` builds what a device or the DCC sends: content (a tree for the content codec, or
bytes), encrypted parts, the signature and the MAC, from a :class:`GroupingHeader` and a key source.
"""

from __future__ import annotations

import functools
import importlib
import re
from dataclasses import dataclass, field
from typing import Any, Callable

from cryptography.hazmat.primitives.asymmetric import ec

from ..errors import DuisConfError, InvalidInput, KeyMaterialMissing
from . import crypto
from .crypto import DecryptionFailed, Usage
from .frame import (
    CRA,
    SECURITY_CONTROL,
    GeneralCiphering,
    GeneralSigning,
    GroupingHeader,
    decode,
    parse_cosem_datetime,
)
from .keys import KeySource, eui_dashed

ACB_EUI = "90-B3-D5-1F-30-00-00-02"  # the Access Control Broker of DCC's test PKI (reference/gbcs.md)
ENCODINGS = ("dlms", "gbz", "asn1")

MAC_VERDICTS = ("valid", "invalid", "no-key", "absent")
SIGNATURE_VERDICTS = ("valid", "invalid", "empty", "absent", "no-key")


# --------------------------------------------------------------------------------------------------
# Use case and content codec


@dataclass(frozen=True)
class UseCase:
    """What the message layer needs of a use case: its name and its content encoding."""

    name: str | None
    encoding: str | None


@functools.cache
def _optional_module(name: str):  # noqa: ANN202
    """A sibling module, or None while it is not installed (looked up once: a failed import is not cheap)."""
    try:
        return importlib.import_module(f"{__package__}.{name}")
    except ModuleNotFoundError as exc:
        if exc.name != f"{__package__}.{name}":
            raise  # the module exists but one of its own imports is missing: that is a real error
        return None


def use_case_of(message_code: int, content: bytes) -> UseCase:
    """The use case of a message code from the use-case catalogue; the encoding sniffed when it is silent."""
    name = encoding = None
    use_cases = _optional_module("use_cases")
    if use_cases is not None:
        try:
            found = use_cases.lookup(message_code)
        except (DuisConfError, KeyError, LookupError):
            found = None
        if found is not None:
            name, encoding = getattr(found, "name", None), getattr(found, "encoding", None)
    if encoding not in ENCODINGS:
        encoding = sniff_encoding(content)
    return UseCase(name, encoding)


def sniff_encoding(content: bytes) -> str | None:
    """The content encoding from its first bytes: D9 / DA / 0F DLMS, 01 09 GBZ, 30 ASN.1 DER."""
    if content[:1] in (b"\xd9", b"\xda", b"\x0f"):
        return "dlms"
    if content[:2] == b"\x01\x09":
        return "gbz"
    if content[:1] == b"\x30":
        return "asn1"
    return None


def codec(encoding: str):  # noqa: ANN201
    """The content codec module (dlms / gbz / asn1), or None while it is not installed."""
    if encoding not in ENCODINGS:
        return None
    return _optional_module(encoding)


_OFFSET = re.compile(r"byte offset (\d+)")


def _shift_offsets(message: str, by: int) -> str:
    """A codec's offsets are relative to the content: make them relative to the whole message."""
    return _OFFSET.sub(lambda m: f"byte offset {int(m[1]) + by}", message)


# --------------------------------------------------------------------------------------------------
# Key pairs


def _pairs(keys: KeySource, a: bytes, b: bytes) -> list[tuple[ec.EllipticCurvePrivateKey, ec.EllipticCurvePublicKey]]:
    """Every (private, public) KA pair that can agree a key between parties ``a`` and ``b``, either way round."""
    out = []
    for mine, theirs in ((a, b), (b, a)):
        privates = keys.private_keys(mine, "ka")
        if privates:
            publics = keys.public_keys(theirs, "ka")
            out += [(k, p) for k in privates for p in publics]
    return out


def _missing(keys: KeySource, a: bytes, b: bytes) -> str:
    """Which key material is missing for parties a and b (names EUIs, never key bytes)."""
    have_private = [x for x in (a, b) if keys.private_keys(x, "ka")]
    if not have_private:
        return f"no KA private key for {eui_dashed(a)} or {eui_dashed(b)}"
    other = [x for x in (a, b) if x not in have_private]
    return f"no KA certificate for {eui_dashed(other[0] if other else b)}"


def is_device(keys: KeySource | None, eui: bytes) -> bool:
    """True when the EUI's certificate is a device certificate (empty subject, identity in subjectAltName).

    Organisation (remote party) certificates name their role in the subject; GBCS device certificates
    carry an empty subject. Unknown EUIs count as remote parties.
    """
    if keys is None:
        return False
    certificates = keys.certificates(eui, "ka") or keys.certificates(eui, "ds")
    return any(len(c.subject) == 0 for c in certificates)


def mac_parties(header: GroupingHeader, acb: str | bytes | None = None, keys: KeySource | None = None) -> tuple[bytes, bytes]:
    """Whose KA keys MAC a message: a remote party's command the ACB and the device; otherwise (responses,
    alerts, device-to-device commands such as a PPMID's) the originator and the recipient."""
    if header.cra is CRA.COMMAND and not is_device(keys, header.originator):
        from ..duis.model import eui_bytes

        acb_bytes = acb if isinstance(acb, bytes) else eui_bytes(acb or ACB_EUI)
        return acb_bytes, header.recipient
    return header.originator, header.recipient


def payload_parameters(header: GroupingHeader) -> tuple[int, bytes]:
    """Counter and recipient of payload encryption: the supplementary ones when the header carries them."""
    counter = header.supplementary_originator_counter
    if counter is None:
        counter = header.originator_counter
    recipient = header.supplementary_remote_party_id or header.recipient
    return counter, recipient


# --------------------------------------------------------------------------------------------------
# Decoding


@dataclass
class DecodedMessage:
    """One GBCS message, decoded: the header, the verdicts, the content bytes and the content tree."""

    header: GroupingHeader
    use_case: str | None
    encoding: str | None
    mac: str
    mac_reason: str
    signature: str
    signature_reason: str
    content_hex: str
    content: Any
    encrypted: bool = False
    decrypted: bool = False
    decrypted_hex: list[str] = field(default_factory=list)
    decryption_errors: list[str] = field(default_factory=list)
    frame: GeneralSigning | GeneralCiphering | None = field(default=None, repr=False)

    def header_json(self) -> dict:
        h = self.header
        out: dict[str, Any] = {
            "cra": h.cra.name.lower(),
            "originator_counter": h.originator_counter,
            "originator": h.originator.hex(),
            "recipient": h.recipient.hex(),
            "message_code": f"0x{h.message_code:04X}",
            "use_case": self.use_case,
            "date_time": _iso(h.date_time),
        }
        if h.supplementary_remote_party_id is not None:
            out["supplementary_remote_party_id"] = h.supplementary_remote_party_id.hex()
        if h.supplementary_remote_party_counter is not None:
            out["supplementary_remote_party_counter"] = h.supplementary_remote_party_counter
        if h.supplementary_originator_counter is not None:
            out["supplementary_originator_counter"] = h.supplementary_originator_counter
        if h.supplementary_ka_certificate is not None:
            out["supplementary_ka_certificate"] = h.supplementary_ka_certificate.hex()
        return out

    def to_json(self) -> dict:
        """The ``duisconf gbcs decode --json`` object (issue 10's shape)."""
        return {
            "header": self.header_json(),
            "mac": self.mac,
            "signature": self.signature,
            "encrypted": self.encrypted,
            "decrypted": self.decrypted,
            "content_hex": self.content_hex,
            "decrypted_hex": list(self.decrypted_hex),
            "content": self.content,
        }


def _iso(raw: bytes | None) -> str | None:
    try:
        dt = parse_cosem_datetime(raw)
    except InvalidInput:
        return None
    return None if dt is None else dt.isoformat().replace("+00:00", "Z")


def _frame_parts(data: bytes) -> tuple[GeneralSigning, bytes | None, int, GeneralSigning | GeneralCiphering]:
    """The general-signing block, the MAC (or None) and the offset of the block within ``data``."""
    frame = decode(data)
    if isinstance(frame, GeneralCiphering):
        if not isinstance(frame.inner, GeneralSigning):
            raise InvalidInput("GBCS general ciphering: the ciphered content is not a general-signing block at byte offset 12")
        inner_len = len(frame.inner.encode())
        return frame.inner, frame.mac, len(data) - crypto.MAC_LENGTH - inner_len, frame
    return frame, None, 0, frame


def verify_mac(
    signing: GeneralSigning,
    mac: bytes | None,
    keys: KeySource | None,
    *,
    acb: str | bytes | None = None,
    security_header: bytes = crypto.MAC_SECURITY_HEADER,
) -> tuple[str, str]:
    """The MAC verdict and its reason."""
    if mac is None:
        return "absent", "mac: absent (general signing only, no MAC envelope)"
    if keys is None:
        return "no-key", "mac: no-key (no key source given)"
    header = signing.header
    a, b = mac_parties(header, acb, keys)
    pairs = _pairs(keys, a, b)
    if not pairs:
        return "no-key", f"mac: no-key ({_missing(keys, a, b)})"
    apdu = signing.encode()
    for private, public in pairs:
        key = crypto.derive_key(crypto.shared_secret(private, public), header.originator, header.cra,
                                header.originator_counter, header.recipient)
        if crypto.mac_matches(key, header.originator, apdu, mac, security_header):
            return "valid", "mac: valid"
    return "invalid", f"mac: invalid (tried {len(pairs)} key pair(s) of {eui_dashed(a)} and {eui_dashed(b)})"


def verify_signature(signing: GeneralSigning, keys: KeySource | None) -> tuple[str, str]:
    """The signature verdict and its reason."""
    if signing.signature is None:
        if signing.signature_omitted:
            return "absent", "signature: absent (no signature field)"
        return "empty", "signature: empty (null signature 00)"
    if keys is None:
        return "no-key", "signature: no-key (no key source given)"
    originator = signing.header.originator
    publics = keys.public_keys(originator, "ds")
    if not publics:
        return "no-key", f"signature: no-key (no DS certificate for {eui_dashed(originator)})"
    signed = signing.signed_bytes()
    if any(crypto.signature_matches(signed, signing.signature, p) for p in publics):
        return "valid", "signature: valid"
    return "invalid", f"signature: invalid (DS key of {eui_dashed(originator)})"


def payload_decryptor(header: GroupingHeader, keys: KeySource | None) -> Callable[[bytes], bytes]:
    """``decrypt(blob) -> plaintext`` for this message's encrypted parts; raises DecryptionFailed with the reason."""
    counter, recipient = payload_parameters(header)
    originator = header.originator
    aes_keys: list[bytes] | None = None

    def decrypt(blob: bytes) -> bytes:
        nonlocal aes_keys
        if keys is None:
            raise DecryptionFailed("decryption failed (no key source given)")
        if aes_keys is None:
            aes_keys = [
                crypto.derive_key(crypto.shared_secret(k, p), originator, Usage.PAYLOAD, counter, recipient)
                for k, p in _pairs(keys, originator, recipient)
            ]
        if not aes_keys:
            raise DecryptionFailed(f"decryption failed (no-key: {_missing(keys, originator, recipient)})")
        last: DecryptionFailed | None = None
        for key in aes_keys:
            try:
                return crypto.decrypt_part(key, originator, blob)
            except DecryptionFailed as exc:
                last = exc
        assert last is not None
        raise last

    return decrypt


def decode_message(
    data: bytes, keys: KeySource | None, *, acb: str | None = None, use_case: str | None = None
) -> DecodedMessage:
    """Decode a whole GBCS message (DD or DF), check MAC and signature, decrypt and decode its content.

    ``use_case`` (e.g. "CS02b", known to a caller from the DUIS SRV) is used when the use-case catalogue
    does not know the message code.
    """
    signing, mac, signing_at, frame = _frame_parts(bytes(data))
    header = signing.header
    security_header = crypto.MAC_SECURITY_HEADER
    if isinstance(frame, GeneralCiphering):
        security_header = bytes([SECURITY_CONTROL]) + frame.invocation_counter.to_bytes(4, "big")
    mac_verdict, mac_reason = verify_mac(signing, mac, keys, acb=acb, security_header=security_header)
    sig_verdict, sig_reason = verify_signature(signing, keys)
    found = use_case_of(header.message_code, signing.content)
    use_case_info = UseCase(found.name or use_case, found.encoding)

    decrypted_hex: list[str] = []
    errors: list[str] = []
    inner_decrypt = payload_decryptor(header, keys)

    def decrypt(blob: bytes) -> bytes:
        # The codecs call this once per encrypted part they find (gbcs.md interface): the calls are the count.
        try:
            plaintext = inner_decrypt(bytes(blob))
        except DecryptionFailed as exc:
            errors.append(str(exc))
            raise
        decrypted_hex.append(plaintext.hex())
        return plaintext

    content: Any = None
    module = codec(use_case_info.encoding) if use_case_info.encoding else None
    if module is not None:
        offset = signing_at + signing.content_offset
        what = f"{use_case_info.encoding} content of {use_case_info.name or f'message code 0x{header.message_code:04X}'}"
        try:
            content = module.decode(
                signing.content, decrypt=decrypt, use_case=use_case_info.name, cra=header.cra.name.lower(),
                message_code=header.message_code,
            )
        except InvalidInput as exc:
            raise InvalidInput(f"{what}: {_shift_offsets(str(exc), offset)}") from None
        except Exception as exc:  # noqa: BLE001 - a codec defect must still be a one-line verdict, not a traceback
            raise InvalidInput(
                f"{what}: the content codec failed ({type(exc).__name__}: {exc}) at byte offset {offset}"
            ) from exc
    attempts = len(decrypted_hex) + len(errors)
    return DecodedMessage(
        header=header,
        use_case=use_case_info.name,
        encoding=use_case_info.encoding,
        mac=mac_verdict,
        mac_reason=mac_reason,
        signature=sig_verdict,
        signature_reason=sig_reason,
        content_hex=signing.content.hex(),
        content=content,
        encrypted=attempts > 0,
        decrypted=attempts > 0 and not errors,
        decrypted_hex=decrypted_hex,
        decryption_errors=errors,
        frame=frame,
    )


# --------------------------------------------------------------------------------------------------
# Encoding


def payload_encryptor(header: GroupingHeader, keys: KeySource) -> Callable[[bytes], bytes]:
    """``encrypt(plaintext) -> blob`` (31 00000000 ‖ ciphertext ‖ tag) for this message's payload parts."""
    counter, recipient = payload_parameters(header)
    originator = header.originator
    pairs = _pairs(keys, originator, recipient)
    if not pairs:
        raise KeyMaterialMissing(f"cannot encrypt the payload: {_missing(keys, originator, recipient)}")
    private, public = pairs[0]
    key = crypto.derive_key(crypto.shared_secret(private, public), originator, Usage.PAYLOAD, counter, recipient)
    return lambda plaintext: crypto.encrypt_part(key, originator, bytes(plaintext))


def mac_for(signing: GeneralSigning, keys: KeySource, *, acb: str | bytes | None = None) -> bytes:
    """The MAC of a general-signing block with the key pair its CRA calls for (first pair the source has)."""
    header = signing.header
    a, b = mac_parties(header, acb, keys)
    pairs = _pairs(keys, a, b)
    if not pairs:
        raise KeyMaterialMissing(f"cannot MAC the message: {_missing(keys, a, b)}")
    private, public = pairs[0]
    key = crypto.derive_key(crypto.shared_secret(private, public), header.originator, header.cra,
                            header.originator_counter, header.recipient)
    return crypto.compute_mac(key, header.originator, signing.encode())


def _on_first_use(header: GroupingHeader, keys: KeySource | None) -> Callable[[bytes], bytes]:
    """The payload encryptor, made (key agreement, KDF) when a codec first has a part to encrypt: looking
    for parts first walked the whole content tree, a quarter of building an emulator response."""
    made: Callable[[bytes], bytes] | None = None

    def encrypt(plaintext: bytes) -> bytes:
        nonlocal made
        if made is None:
            if keys is None:
                raise KeyMaterialMissing("cannot encrypt the payload: no key source given")
            made = payload_encryptor(header, keys)
        return made(plaintext)

    return encrypt


def encode_message(
    header: GroupingHeader,
    content: bytes | dict,
    keys: KeySource | None,
    *,
    sign: bool = False,
    envelope: bool = True,
    acb: str | None = None,
    use_case: str | None = None,
    omit_signature_field: bool = False,
    signature: bytes | None = None,
) -> bytes:
    """A GBCS message from a header and content (bytes as carried, or a content codec's tree).

    ``sign`` adds the originator's ECDSA signature (from its DS private key); ``signature`` puts a given
    r ‖ s (e.g. the user's, on a command the DCC forwards); otherwise the null signature (or no signature
    field at all with ``omit_signature_field``, as a pre-command). ``envelope`` wraps the
    block in general ciphering with the MAC of the key pair the CRA calls for: a response or an alert
    (device and recipient), a command (ACB and device). Encrypted parts of a tree are encrypted with the
    payload key. Missing key material raises KeyMaterialMissing naming the EUI.
    """
    if isinstance(content, dict):
        encoding = content.get("kind")
        module = codec(encoding) if isinstance(encoding, str) else None
        if module is None:
            raise InvalidInput(f"content tree kind {encoding!r}: no content codec for it (expected dlms, gbz or asn1)")
        encrypt = _on_first_use(header, keys)  # the codec asks only for parts to encrypt
        if use_case is None:
            use_case = use_case_of(header.message_code, b"").name
        body = module.encode(content, encrypt=encrypt, use_case=use_case, cra=header.cra.name.lower(),
                             message_code=header.message_code)
    elif isinstance(content, (bytes, bytearray)):
        body = bytes(content)
    else:
        raise InvalidInput(f"content must be bytes or a content tree, got {type(content).__name__}")

    if sign and signature is not None:
        raise InvalidInput("give sign=True or a signature, not both")
    if sign:
        if keys is None:
            raise KeyMaterialMissing("cannot sign: no key source given")
        unsigned = GeneralSigning(header, body)
        private = keys.ds_private_key(header.originator)
        signature = crypto.sign(unsigned.signed_bytes(), private)
    signing = GeneralSigning(header, body, signature, signature_omitted=omit_signature_field and signature is None)
    if not envelope:
        return signing.encode()
    if keys is None:
        raise KeyMaterialMissing("cannot MAC the message: no key source given")
    return GeneralCiphering(signing, mac_for(signing, keys, acb=acb)).encode()


__all__ = [
    "ACB_EUI",
    "DecodedMessage",
    "UseCase",
    "decode_message",
    "encode_message",
    "mac_for",
    "payload_decryptor",
    "payload_encryptor",
    "sniff_encoding",
    "use_case_of",
    "verify_mac",
    "verify_signature",
]
