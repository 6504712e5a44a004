"""ASN.1 DER content of GBCS messages: security credentials, joins, firmware, time and GPF device logs.

The ASN.1 module text is ``data/gbcs.asn`` (our transcription of GBCS Annex 3, checked against the RTDS),
compiled once by ``asn1tools``. The ASN.1 type of a payload is not in the bytes: it comes from the use
case and the CRA kind (``use_case="CS06", cra="alert"``), or from the message code through the use-case
catalogue. The decoded tree is plain JSON (gbcs.md): every element is ``{"type": <ASN.1 built-in type>,
"value": ...}``; INTEGER / ENUMERATED values are numbers with their ASN.1 name beside; OCTET STRING is
hex; BIT STRING is hex plus ``length`` in bits; GeneralizedTime is ISO-8601 UTC; CHOICE adds ``choice``;
certificates and certification requests are one hex string of their DER (a certificate adds the
``subject_eui`` it names, when it names one).

Lossless by construction: the decoder re-encodes what it read and refuses input it could not
reproduce, so ``encode(decode(b)) == b`` for everything ``decode`` accepts. One BER liberty is kept
because the RTDS devices use it: a length written in more octets than DER allows (``30 82 00 9F``).
The tree records those as ``long_lengths``: ``[[n, octets], ...]``, ``n`` counting TLVs in document
order from 0 (the payload itself), so ``encode`` writes them back the same way.
"""

from __future__ import annotations

import functools
import types
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, NoReturn

import asn1tools
from asn1tools.codecs import ber as ber_codec
from asn1tools.codecs import der as der_codec
from cryptography import x509
from cryptography.x509.oid import ExtensionOID

from ..errors import InvalidInput
from .use_cases import by_name, lookup

ASN1_PATH = Path(__file__).parent / "data" / "gbcs.asn"
_COMMON = "GBCSCommon"

# Use case -> ASN.1 module (data/gbcs.asn). The CRA kind picks CommandPayload / ResponsePayload /
# AlertPayload inside it. CS02f, CS02g and CS09 reuse the structures their RTDS messages carry.
MODULE_OF_USE_CASE: dict[str, str] = {
    "CS02a": "ProvideSecurityCredentialDetails",
    "CS02f": "ProvideSecurityCredentialDetails",
    "CS02b": "UpdateSecurityCredentials",
    "CS02g": "UpdateSecurityCredentials",
    "CS02c": "IssueSecurityCredentials",
    "CS02d": "UpdateDeviceCertificate",
    "CS02e": "ProvideDeviceCertificate",
    "CS03A1": "JoinDevice",
    "CS03A2": "JoinDevice",
    "CS03B": "JoinDevice",
    "CS03C": "JoinDevice",
    "CS04AC": "UnjoinDevice",
    "CS04B": "UnjoinDevice",
    "CS06": "ActivateFirmware",
    "CS07": "ReadDeviceJoinDetails",
    "GCS28": "SetTime",
    "GCS59": "GPFDeviceLogRestore",
    "GCS62": "GPFDeviceLogBackup",
    "CCS08": "FirmwareTransferAlert",
    "CS08": "ReadPPMIDHCALCSFirmwareVersion",
    "CS09": "ReadPPMIDHCALCSFirmwareVersion",
}

_PAYLOAD_OF_CRA = {"command": "CommandPayload", "response": "ResponsePayload", "alert": "AlertPayload"}

# Types shown as one DER hex string rather than their parts (see data/gbcs.asn).
_OPAQUE = {(_COMMON, "Certificate"): "Certificate", (_COMMON, "CertificationRequest"): "CertificationRequest"}

# X.509 KeyUsage bit names (RFC 5280), shown beside KeyUsage bit strings.
_KEY_USAGE_BITS = {0: "digitalSignature", 4: "keyAgreement", 5: "keyCertSign", 6: "cRLSign"}

_BUILTIN = {
    "SEQUENCE", "SEQUENCE OF", "CHOICE", "INTEGER", "ENUMERATED", "OCTET STRING", "BIT STRING",
    "GeneralizedTime", "NULL", "ANY", "OBJECT IDENTIFIER",
}  # fmt: skip


@functools.cache
def _compiled() -> asn1tools.compiler.Specification:
    spec = asn1tools.compile_files(str(ASN1_PATH), "der", numeric_enums=True)
    seen: set[int] = set()
    for module in spec.modules.values():
        for compiled in module.values():
            _guard_arrays(compiled.type, seen)
    return spec


def _guard_arrays(node: Any, seen: set[int]) -> None:
    """Make every SEQUENCE OF of our spec refuse elements that do not decode.

    asn1tools 0.169's DER SEQUENCE OF appends its "tag mismatch" marker without advancing and loops
    forever on such input (found by the fuzz test); only our compiled objects are changed.
    """
    if id(node) in seen:
        return
    seen.add(id(node))
    if isinstance(node, der_codec.SequenceOf):
        node.decode_content = types.MethodType(_checked_array_content, node)
    for child in (
        getattr(node, "element_type", None),
        getattr(node, "inner", None),
        *(getattr(node, "root_members", None) or []),
        *(getattr(node, "members", None) or []),
    ):
        if child is not None:
            _guard_arrays(child, seen)


def _checked_array_content(self: Any, data: bytes, offset: int, length: int) -> tuple[list, int]:
    decoded, end = [], offset + length
    while offset < end:
        element, after = self.element_type.decode(data, offset)
        if element is ber_codec.TAG_MISMATCH or after <= offset:
            raise asn1tools.DecodeError(f"{self.name}: element does not match its type", offset=offset)
        decoded.append(element)
        offset = after
    if offset != end:
        raise asn1tools.DecodeError(f"{self.name}: elements overrun the length", offset=offset)
    return decoded, offset


@functools.cache
def _parsed() -> dict:
    return asn1tools.parse_files(str(ASN1_PATH))


@functools.cache
def payload_types() -> tuple[str, ...]:
    """Every ``Module.Payload`` type the codec can decode (e.g. ``"JoinDevice.CommandPayload"``)."""
    return tuple(
        f"{module}.{name}"
        for module, spec in _parsed().items()
        for name in spec["types"]
        if name.endswith("Payload")
    )


def asn1_type_for(*, use_case: str | None = None, cra: str | None = None, message_code: int | None = None) -> str:
    """The ``Module.Payload`` type of a GBCS ASN.1 content, from its use case and CRA kind.

    ``message_code`` alone works too (through the use-case catalogue, rules/gbcs_use_cases.toml); an
    unknown combination raises InvalidInput naming what was given, never guesses.
    """
    if cra not in _PAYLOAD_OF_CRA:
        raise InvalidInput(f"ASN.1 content: cra must be one of command/response/alert, got {cra!r}")
    # The use case given first, then the catalogue's name for the message code, then the use cases an
    # alert code belongs to (0x00CA, the future-dated firmware activation alert, is CS06's).
    candidates = [use_case] if use_case else []
    for entry in by_name(use_case) if use_case else ():
        candidates += entry.alert_of
    if message_code is not None:
        found = lookup(message_code)
        if found is not None:
            candidates += [found.name, *found.alert_of]
    module = next((MODULE_OF_USE_CASE[c] for c in candidates if c in MODULE_OF_USE_CASE), None)
    if module is None:
        raise InvalidInput(
            f"ASN.1 content: no ASN.1 type known for use case {use_case!r} "
            f"(message code {_code(message_code)}); known: {', '.join(sorted(MODULE_OF_USE_CASE))}"
        )
    name = _PAYLOAD_OF_CRA[cra]
    if name not in _parsed()[module]["types"]:
        raise InvalidInput(f"ASN.1 content: use case {use_case!r} has no {cra} payload ({module} defines none)")
    return f"{module}.{name}"


def _code(message_code: int | None) -> str:
    return "unknown" if message_code is None else f"0x{message_code:04X}"


def _split(asn1_type: object) -> tuple[str, str]:
    if not isinstance(asn1_type, str) or asn1_type not in payload_types():
        raise InvalidInput(
            f"ASN.1 content: unknown asn1_type {asn1_type!r} (expected e.g. 'JoinDevice.CommandPayload')"
        )
    module, name = asn1_type.split(".", 1)
    return module, name


# --------------------------------------------------------------------------------------------------
# Decode


def decode(
    content: bytes,
    *,
    decrypt: Callable[[bytes], bytes] | None = None,
    asn1_type: str | None = None,
    **context: Any,
) -> dict:
    """Decode one GBCS ASN.1 DER payload into a JSON-ready tree.

    ``asn1_type`` (``"Module.Payload"``) overrides the choice from ``use_case`` / ``cra`` /
    ``message_code``. ``decrypt`` is accepted for the common codec interface: GBCS ASN.1 payloads
    carry no encrypted parts. Malformed, trailing or non-canonical DER raises InvalidInput with the
    byte offset (relative to the content start).
    """
    if not isinstance(content, (bytes, bytearray)):
        raise InvalidInput(f"ASN.1 content must be bytes, got {type(content).__name__}")
    content = bytes(content)
    if asn1_type is None:
        asn1_type = asn1_type_for(
            use_case=context.get("use_case"), cra=context.get("cra"), message_code=context.get("message_code")
        )
    module, name = _split(asn1_type)
    compiled = _compiled().modules[module][name]
    try:
        value, length = compiled.decode_with_length(content)
    except asn1tools.Error as exc:
        offset = getattr(exc, "offset", None)
        raise InvalidInput(
            f"ASN.1 content ({asn1_type}): {_error_text(exc)} at byte offset {0 if offset is None else offset}"
        ) from None
    except (ValueError, TypeError, IndexError, OverflowError) as exc:
        # asn1tools raises plain Python errors on some malformed inputs.
        raise InvalidInput(f"ASN.1 content ({asn1_type}): malformed DER ({exc}) at byte offset 0") from None
    if length != len(content):
        raise InvalidInput(
            f"ASN.1 content ({asn1_type}): {len(content) - length} trailing byte(s) after the payload "
            f"at byte offset {length}"
        )
    try:
        tree = {"kind": "asn1", "asn1_type": asn1_type, "value": _to_json(value, {"type": name}, module, name)}
        long_lengths = [[n, octets] for n, octets in enumerate(_length_octets(content)) if octets]
        if long_lengths:
            tree["long_lengths"] = long_lengths
        again = encode(tree)
    except InvalidInput as exc:
        # Decoded but not writable back (e.g. a BIT STRING with more than 7 unused bits): refuse it.
        raise InvalidInput(f"ASN.1 content ({asn1_type}): not valid DER ({exc}) at byte offset 0") from None
    if again != content:
        at = next((i for i, (a, b) in enumerate(zip(again, content)) if a != b), min(len(again), len(content)))
        raise InvalidInput(f"ASN.1 content ({asn1_type}): not canonical DER (re-encoding differs) at byte offset {at}")
    return tree


def _error_text(exc: Exception) -> str:
    text = str(exc)
    cut = text.rfind(" (At offset:")
    return text[:cut] if cut >= 0 else text


def _resolve(typedef: dict, module: str) -> tuple[dict, str, str | None, dict]:
    """Follow type references to a built-in type: (definition, module, referenced name, named values)."""
    named = {}
    ref = None
    while typedef["type"] not in _BUILTIN:
        ref = typedef["type"]
        spec = _parsed()[module]
        if ref in spec["types"]:
            target = module
        else:
            target = next((m for m, names in spec.get("imports", {}).items() if ref in names), None)
            if target is None:  # pragma: no cover - the module text is ours and compiles
                raise InvalidInput(f"ASN.1 module: unresolved type {ref} in {module}")
        named = named or typedef.get("named-numbers", {})
        typedef, module = _parsed()[target]["types"][ref], target
        if (module, ref) in _OPAQUE:
            return typedef, module, ref, {}
    named = named or typedef.get("named-numbers") or dict(typedef.get("values", []) or [])
    return typedef, module, ref, named


def _to_json(value: Any, typedef: dict, module: str, path: str) -> dict:
    typedef, module, ref, named = _resolve(typedef, module)
    if (module, ref) in _OPAQUE:
        der = bytes(_compiled().modules[module][ref].encode(value))
        element = {"type": _OPAQUE[(module, ref)], "value": der.hex()}
        eui = subject_eui(der) if ref == "Certificate" else None
        if eui is not None:
            element["subject_eui"] = eui  # derived, for readers; encode ignores it
        return element
    kind = typedef["type"]
    if kind == "SEQUENCE":
        out = {}
        for member in typedef["members"]:
            if member is None or member["name"] not in value:
                continue
            out[member["name"]] = _to_json(value[member["name"]], member, module, f"{path}.{member['name']}")
        return {"type": "SEQUENCE", "value": out}
    if kind == "SEQUENCE OF":
        return {"type": "SEQUENCE OF", "value": [_to_json(v, typedef["element"], module, path) for v in value]}
    if kind == "CHOICE":
        choice, inner = value
        member = next(m for m in typedef["members"] if m and m["name"] == choice)
        return {"type": "CHOICE", "choice": choice, "value": _to_json(inner, member, module, f"{path}.{choice}")}
    if kind in ("INTEGER", "ENUMERATED"):
        element = {"type": kind, "value": int(value)}
        names = {v: k for k, v in named.items()}
        if int(value) in names:
            element["name"] = names[int(value)]
        return element
    if kind in ("OCTET STRING", "ANY"):
        return {"type": kind, "value": bytes(value).hex()}
    if kind == "BIT STRING":
        data, length = value
        element = {"type": "BIT STRING", "value": bytes(data).hex(), "length": length}
        if ref == "KeyUsage":
            bits = int.from_bytes(data, "big") if data else 0
            width = len(data) * 8
            element["names"] = [n for i, n in _KEY_USAGE_BITS.items() if i < length and bits >> (width - 1 - i) & 1]
        return element
    if kind == "GeneralizedTime":
        return {"type": "GeneralizedTime", "value": _iso(value)}
    if kind == "NULL":
        return {"type": "NULL", "value": None}
    raise InvalidInput(f"ASN.1 module: unsupported type {kind} at {path}")  # pragma: no cover


def subject_eui(der: bytes) -> str | None:
    """The Entity Identifier a GBCS certificate is issued to, as 16 lowercase hex digits, or None.

    Organisation certificates carry it in the subject's uniqueIdentifier (2.5.4.45, a BIT STRING of
    the 8 bytes); device certificates in the subjectAltName's hardwareModuleName (RFC 4108).
    """
    try:
        cert = x509.load_der_x509_certificate(der)
        for attribute in cert.subject.get_attributes_for_oid(_UNIQUE_IDENTIFIER):
            raw = attribute.value if isinstance(attribute.value, bytes) else b""
            if len(raw) == 9 and raw[0] == 0:  # BIT STRING: no unused bits, then the EUI
                return raw[1:].hex()
        names = cert.extensions.get_extension_for_oid(ExtensionOID.SUBJECT_ALTERNATIVE_NAME).value
        for name in names:
            if isinstance(name, x509.OtherName) and name.type_id == _HARDWARE_MODULE_NAME:
                serial = _compiled().modules[_COMMON]["HardwareModuleName"].decode(name.value)["hwSerialNum"]
                return bytes(serial).hex() if len(serial) == 8 else None
    except Exception:  # noqa: BLE001 - best effort: a certificate X.509 libraries refuse names no EUI
        return None
    return None


_UNIQUE_IDENTIFIER = x509.ObjectIdentifier("2.5.4.45")
_HARDWARE_MODULE_NAME = x509.ObjectIdentifier("1.3.6.1.5.5.7.8.4")


def _iso(value: datetime) -> str:
    # DER GeneralizedTime is always UTC ("Z"); asn1tools gives a naive datetime for it.
    if value.tzinfo is not None:
        value = value.astimezone(timezone.utc).replace(tzinfo=None)
    return value.isoformat() + "Z"


# --------------------------------------------------------------------------------------------------
# Encode


def encode(tree: dict, *, encrypt: Callable[[bytes], bytes] | None = None, **context: Any) -> bytes:
    """Encode a tree from :func:`decode` (or built by hand in the same shape) back to DER.

    The ASN.1 type comes from the tree's ``asn1_type``; a wrong shape raises InvalidInput naming the
    path of the element (``JoinDevice.CommandPayload.otherDeviceType``).
    """
    if not isinstance(tree, dict) or tree.get("kind") != "asn1":
        raise InvalidInput("ASN.1 tree must be a dict with kind 'asn1'")
    module, name = _split(tree.get("asn1_type"))
    value = _from_json(tree.get("value"), {"type": name}, module, tree["asn1_type"])
    try:
        der = bytes(_compiled().modules[module][name].encode(value))
    except (asn1tools.Error, ValueError, TypeError, OverflowError) as exc:
        raise InvalidInput(f"ASN.1 tree ({tree['asn1_type']}): cannot encode ({exc})") from None
    long_lengths = tree.get("long_lengths", [])
    if not long_lengths:
        return der
    forms = {}
    for item in long_lengths if isinstance(long_lengths, list) else [None]:
        if (
            not isinstance(item, list)
            or len(item) != 2
            or not all(isinstance(x, int) and not isinstance(x, bool) for x in item)
            or not 1 <= item[1] <= 4
        ):
            raise InvalidInput(f"ASN.1 tree: long_lengths must be [[tlv index, 1..4 octets], ...], got {item!r:.80}")
        forms[item[0]] = item[1]
    return _relength(der, forms)


# --------------------------------------------------------------------------------------------------
# Length octets: the one place we look at TLVs ourselves, because asn1tools reads long-form lengths
# but always writes the shortest form. Tags here are single- or multi-byte identifier octets; only
# constructed TLVs whose contents split cleanly into TLVs are descended into (others stay opaque).


def _tlvs(data: bytes) -> list[tuple[bytes, int, int, int]] | None:
    """Split ``data`` into (identifier, extra length octets, start of contents, end) or None if it does not split."""
    out, i = [], 0
    while i < len(data):
        start = i
        i += 1
        if data[start] & 0x1F == 0x1F:
            while i < len(data) and data[i] & 0x80:
                i += 1
            i += 1
        if i >= len(data):
            return None
        ident, first = data[start:i], data[i]
        i += 1
        extra = 0
        if first & 0x80:
            extra = first & 0x7F
            if not 1 <= extra <= 4 or i + extra > len(data):
                return None
            length = int.from_bytes(data[i : i + extra], "big")
            i += extra
        else:
            length = first
        if i + length > len(data):
            return None
        minimal = 0 if length < 0x80 else (length.bit_length() + 7) // 8
        out.append((ident, extra if extra != minimal else 0, i, i + length))
        i += length
    return out


def _length_octets(data: bytes) -> list[int]:
    """For each TLV in document order: how many length octets it used beyond the shortest form, else 0."""
    out: list[int] = []

    def walk(chunk: bytes) -> None:
        for ident, extra, start, end in _tlvs(chunk) or []:
            out.append(extra)
            inner = chunk[start:end]
            if ident[0] & 0x20 and _tlvs(inner) is not None:
                walk(inner)

    walk(data)
    return out


def _relength(der: bytes, forms: dict[int, int]) -> bytes:
    """Rewrite ``der`` with the TLVs numbered in ``forms`` using that many length octets."""
    counter = iter(range(1 << 30))

    def build(chunk: bytes) -> bytes:
        out = bytearray()
        for ident, _extra, start, end in _tlvs(chunk) or []:
            n = next(counter)
            inner = chunk[start:end]
            if ident[0] & 0x20 and _tlvs(inner) is not None:
                inner = build(inner)
            octets = forms.get(n)
            if octets is None or len(inner) >= 1 << (8 * octets):
                out += ident + _short_length(len(inner)) + inner
            else:
                out += ident + bytes([0x80 | octets]) + len(inner).to_bytes(octets, "big") + inner
        return bytes(out)

    return build(der)


def _short_length(n: int) -> bytes:
    if n < 0x80:
        return bytes([n])
    octets = (n.bit_length() + 7) // 8
    return bytes([0x80 | octets]) + n.to_bytes(octets, "big")


def _fail(path: str, message: str) -> NoReturn:
    raise InvalidInput(f"ASN.1 tree: {path}: {message}")


def _element(node: Any, kind: str, path: str) -> Any:
    if not isinstance(node, dict) or "value" not in node:
        _fail(path, f"expected an element {{'type': '{kind}', 'value': ...}}, got {node!r:.80}")
    if node.get("type") != kind:
        _fail(path, f"expected type {kind!r}, got {node.get('type')!r}")
    return node["value"]


def _hex(value: Any, path: str) -> bytes:
    if not isinstance(value, str):
        _fail(path, f"expected a hex string, got {value!r:.80}")
    try:
        return bytes.fromhex(value)
    except ValueError:
        _fail(path, f"not a hex string: {value!r:.80}")


def _from_json(node: Any, typedef: dict, module: str, path: str) -> Any:
    typedef, module, ref, _named = _resolve(typedef, module)
    if (module, ref) in _OPAQUE:
        der = _hex(_element(node, _OPAQUE[(module, ref)], path), path)
        try:
            value, length = _compiled().modules[module][ref].decode_with_length(der)
        except (asn1tools.Error, ValueError, TypeError, IndexError) as exc:
            _fail(path, f"not a DER {ref} ({_error_text(exc)})")
        if length != len(der):
            _fail(path, f"{len(der) - length} trailing byte(s) after the {ref}")
        return value
    kind = typedef["type"]
    value = _element(node, kind, path)
    if kind == "SEQUENCE":
        if not isinstance(value, dict):
            _fail(path, "SEQUENCE value must be an object of named members")
        members = [m for m in typedef["members"] if m]
        unknown = set(value) - {m["name"] for m in members}
        if unknown:
            _fail(path, f"unknown member(s) {', '.join(sorted(unknown))}")
        out = {}
        for member in members:
            name = member["name"]
            if name in value:
                out[name] = _from_json(value[name], member, module, f"{path}.{name}")
            elif not member.get("optional"):
                _fail(path, f"missing mandatory member {name}")
        return out
    if kind == "SEQUENCE OF":
        if not isinstance(value, list):
            _fail(path, "SEQUENCE OF value must be a list")
        return [_from_json(v, typedef["element"], module, f"{path}[{i}]") for i, v in enumerate(value)]
    if kind == "CHOICE":
        choice = node.get("choice")
        member = next((m for m in typedef["members"] if m and m["name"] == choice), None)
        if member is None:
            names = ", ".join(m["name"] for m in typedef["members"] if m)
            _fail(path, f"choice {choice!r} is not one of {names}")
        return (choice, _from_json(value, member, module, f"{path}.{choice}"))
    if kind in ("INTEGER", "ENUMERATED"):
        if not isinstance(value, int) or isinstance(value, bool):
            _fail(path, f"expected an integer, got {value!r:.80}")
        return value
    if kind in ("OCTET STRING", "ANY"):
        return _hex(value, path)
    if kind == "BIT STRING":
        data, length = _hex(value, path), node.get("length")
        if not isinstance(length, int) or isinstance(length, bool) or not 0 <= length <= 8 * len(data):
            _fail(path, f"BIT STRING needs 'length' in 0..{8 * len(data)} bits, got {length!r}")
        if len(data) != (length + 7) // 8:
            _fail(path, f"BIT STRING of {length} bits needs {(length + 7) // 8} byte(s), got {len(data)}")
        return (data, length)
    if kind == "GeneralizedTime":
        if not isinstance(value, str) or not value.endswith("Z"):
            _fail(path, f"expected an ISO-8601 UTC time ending in Z, got {value!r:.80}")
        try:
            return datetime.fromisoformat(value[:-1])
        except ValueError:
            _fail(path, f"not an ISO-8601 date-time: {value!r:.80}")
    if kind == "NULL":
        if value is not None:
            _fail(path, "NULL value must be null")
        return None
    _fail(path, f"unsupported type {kind}")  # pragma: no cover
