"""Emulated devices' GBCS identities: a KA and a DS key pair per device, and certificates for them issued
by an emulator test CA in the shape of SMKI device certificates.

Everything derives from one seed (``[emulator] identity_seed``), so the same seed gives the same keys and
the same certificate bytes in every process (ECDSA signing is deterministic, RFC 6979), and a kit-style
client that cached a certificate from one run can still use it in the next.

Shape of a device certificate, as DCC's SMKI issues them (read from the RTDS device certificates):
empty subject; critical keyUsage, keyAgreement or digitalSignature only; an 8-byte subjectKeyIdentifier
(RFC 5280 method 2); a critical subjectAltName holding the EUI as a hardwareModuleName otherName; a
critical certificatePolicies with the SMKI device policy; an authorityKeyIdentifier; no expiry
(9999-12-31 23:59:59); ECDSA with SHA-256 on P-256. The issuer is our own CA, never a DCC one.

Private keys are for emulator code only (to MAC and sign what the devices send): nothing here logs,
serves or reprs them.
"""

from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass
from datetime import datetime, timezone
from functools import lru_cache
from typing import Callable

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from cryptography.x509.oid import NameOID

from ..errors import InvalidInput
from ..gbcs.keys import USAGES, KeySource, eui_hex

DEFAULT_SEED = "duisconf emulator identities"  # documented in docs/emulator.md; change it for other keys

# SMKI facts, read from the RTDS device certificates (DCC's gbcs-parser test data).
HARDWARE_MODULE_NAME = x509.ObjectIdentifier("1.3.6.1.5.5.7.8.4")      # id-on-hardwareModuleName (RFC 4108)
SMKI_HW_TYPE = x509.ObjectIdentifier("1.2.826.0.1.8641679.1.2.2.1")      # hwType in a device's hardwareModuleName
SMKI_DEVICE_POLICY = x509.ObjectIdentifier("1.2.826.0.1.1800000.1.2.1.4")  # the SMKI device certificate policy
CA_NAME = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "duisconf emulator device CA")])
NOT_BEFORE = datetime(2015, 1, 1, tzinfo=timezone.utc)  # fixed, so certificates are reproducible
NO_EXPIRY = datetime(9999, 12, 31, 23, 59, 59, tzinfo=timezone.utc)  # RFC 5280 §4.1.2.5, as SMKI device certs

_SALT = b"duisconf emulator identities v1"
_CURVE_ORDER = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551  # P-256 n
_KEY_USAGE = {
    "ka": x509.KeyUsage(False, False, False, False, True, False, False, False, False),
    "ds": x509.KeyUsage(True, False, False, False, False, False, False, False, False),
}


def _check_usage(usage: str) -> None:
    if usage not in USAGES:
        raise InvalidInput(f"key usage must be 'ka' or 'ds', got {usage!r}")


def _der(tag: int, body: bytes) -> bytes:
    if len(body) < 0x80:
        return bytes([tag, len(body)]) + body
    length = len(body).to_bytes((len(body).bit_length() + 7) // 8, "big")
    return bytes([tag, 0x80 | len(length)]) + length + body


def _der_oid(oid: x509.ObjectIdentifier) -> bytes:
    arcs = [int(a) for a in oid.dotted_string.split(".")]
    out = bytearray()
    for arc in [arcs[0] * 40 + arcs[1], *arcs[2:]]:
        chunk = [arc & 0x7F]
        while arc > 0x7F:
            arc >>= 7
            chunk.append(0x80 | (arc & 0x7F))
        out += bytes(reversed(chunk))
    return _der(0x06, bytes(out))


def hardware_module_name(eui: str | bytes) -> bytes:
    """DER of HardwareModuleName ::= SEQUENCE { hwType OID, hwSerialNum OCTET STRING (the 8-byte EUI) }."""
    return _der(0x30, _der_oid(SMKI_HW_TYPE) + _der(0x04, bytes.fromhex(eui_hex(eui))))


def key_identifier(key: ec.EllipticCurvePublicKey) -> bytes:
    """RFC 5280 §4.2.1.2 method 2 (what SMKI certificates carry): 0100 then the low 60 bits of SHA-1(key)."""
    digest = hashlib.sha1(key.public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)).digest()  # noqa: S324
    tail = digest[-8:]
    return bytes([0x40 | (tail[0] & 0x0F)]) + tail[1:]


@dataclass(frozen=True)
class DeviceIdentity:
    """One device's key pair for one usage and its certificate (the private key never in a repr)."""

    eui: str  # 16 lowercase hex digits
    usage: str
    certificate: x509.Certificate
    _private_key: ec.EllipticCurvePrivateKey

    @property
    def serial(self) -> int:
        return self.certificate.serial_number

    def __repr__(self) -> str:
        return f"<DeviceIdentity {self.eui} {self.usage} serial {self.serial:x}>"


class DeviceIdentities:
    """The identities of every device an emulator with this seed can hold; made when first asked, then kept."""

    def __init__(self, seed: str | bytes = DEFAULT_SEED) -> None:
        if isinstance(seed, str):
            seed = seed.encode("utf-8")
        if not seed:
            raise InvalidInput("the emulator identity seed must not be empty")
        self._seed = bytes(seed)
        self._lock = threading.Lock()
        self._made: dict[tuple[str, str], DeviceIdentity] = {}
        self._ca_key = self._private_key_for(b"ca")
        self.ca_certificate = self._make_ca_certificate()

    # -- derivation ------------------------------------------------------------------------------
    def _bytes(self, label: bytes, length: int) -> bytes:
        return HKDF(hashes.SHA256(), length, _SALT, label).derive(self._seed)

    def _private_key_for(self, label: bytes) -> ec.EllipticCurvePrivateKey:
        # 384 bits reduced into [1, n-1]: the bias is below 2^-128 (FIPS 186-5 A.2.1's method).
        scalar = int.from_bytes(self._bytes(b"key|" + label, 48), "big") % (_CURVE_ORDER - 1) + 1
        return ec.derive_private_key(scalar, ec.SECP256R1())

    def serial(self, eui: str | bytes, usage: str) -> int:
        """The certificate serial (16 bytes, positive) of a device's certificate: cheap, no key made."""
        _check_usage(usage)
        raw = self._bytes(b"serial|" + bytes.fromhex(eui_hex(eui)) + usage.encode(), 16)
        return int.from_bytes(bytes([0x40 | (raw[0] & 0x3F)]) + raw[1:], "big")

    def _make_ca_certificate(self) -> x509.Certificate:
        public = self._ca_key.public_key()
        serial = int.from_bytes(bytes([0x40]) + self._bytes(b"serial|ca", 15), "big")
        return (
            x509.CertificateBuilder()
            .subject_name(CA_NAME).issuer_name(CA_NAME)
            .public_key(public).serial_number(serial)
            .not_valid_before(NOT_BEFORE).not_valid_after(NO_EXPIRY)
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True)
            .add_extension(x509.SubjectKeyIdentifier(key_identifier(public)), critical=False)
            .sign(self._ca_key, hashes.SHA256(), ecdsa_deterministic=True)
        )

    def _make(self, eui: str, usage: str) -> DeviceIdentity:
        private = self._private_key_for(b"device|" + bytes.fromhex(eui) + b"|" + usage.encode())
        public = private.public_key()
        certificate = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([])).issuer_name(CA_NAME)
            .public_key(public).serial_number(self.serial(eui, usage))
            .not_valid_before(NOT_BEFORE).not_valid_after(NO_EXPIRY)
            # In the order and with the criticality of an SMKI device certificate.
            .add_extension(_KEY_USAGE[usage], critical=True)
            .add_extension(x509.SubjectKeyIdentifier(key_identifier(public)), critical=False)
            .add_extension(x509.SubjectAlternativeName(
                [x509.OtherName(HARDWARE_MODULE_NAME, hardware_module_name(eui))]), critical=True)
            .add_extension(x509.CertificatePolicies([x509.PolicyInformation(SMKI_DEVICE_POLICY, None)]), critical=True)
            .add_extension(x509.AuthorityKeyIdentifier(key_identifier(self._ca_key.public_key()), None, None),
                           critical=False)
            .sign(self._ca_key, hashes.SHA256(), ecdsa_deterministic=True)
        )
        return DeviceIdentity(eui, usage, certificate, private)

    # -- look-ups --------------------------------------------------------------------------------
    def identity(self, eui: str | bytes, usage: str) -> DeviceIdentity:
        _check_usage(usage)
        key = (eui_hex(eui), usage)
        with self._lock:  # made once per EUI and usage per process (about a millisecond each)
            found = self._made.get(key)
            if found is None:
                found = self._made[key] = self._make(*key)
            return found

    def certificate(self, eui: str | bytes, usage: str) -> x509.Certificate:
        return self.identity(eui, usage).certificate

    def private_key(self, eui: str | bytes, usage: str) -> ec.EllipticCurvePrivateKey:
        """The device's private key (emulator code only: to MAC and sign what the device sends)."""
        return self.identity(eui, usage)._private_key

    def key_source(self, is_device: Callable[[str], bool], name: str = "emulated devices") -> EmulatedDeviceKeys:
        """A gbcs.keys KeySource with the private keys and certificates of the EUIs `is_device` accepts
        (e.g. the inventory's devices), so organisations' EUIs never get device keys by accident."""
        return EmulatedDeviceKeys(self, is_device, name)

    def __repr__(self) -> str:
        fingerprint = self.ca_certificate.fingerprint(hashes.SHA256()).hex()[:16]
        return f"<DeviceIdentities CA {fingerprint}>"


class EmulatedDeviceKeys(KeySource):
    """The emulated devices' keys as a :class:`~duisconf.gbcs.keys.KeySource` (for the emulator's own use)."""

    def __init__(self, identities: DeviceIdentities, is_device: Callable[[str], bool], name: str) -> None:
        self.identities, self.is_device, self.name = identities, is_device, name

    def _mine(self, eui: str | bytes, usage: str) -> DeviceIdentity | None:
        _check_usage(usage)
        h = eui_hex(eui)
        return self.identities.identity(h, usage) if self.is_device(h) else None

    def certificates(self, eui, usage, *, prepayment=None):  # noqa: ANN001, ANN201
        found = self._mine(eui, usage)
        return [found.certificate] if found and not prepayment else []

    def private_keys(self, eui, usage, *, prepayment=None):  # noqa: ANN001, ANN201
        found = self._mine(eui, usage)
        return [found._private_key] if found and not prepayment else []


def for_seed(seed: str | bytes = DEFAULT_SEED) -> DeviceIdentities:
    """The identities for a seed, shared by everything in this process that uses the same seed."""
    return _shared(seed.encode("utf-8") if isinstance(seed, str) else bytes(seed))


@lru_cache(maxsize=8)
def _shared(seed: bytes) -> DeviceIdentities:
    return DeviceIdentities(seed)


def certificate(eui: str | bytes, usage: str, seed: str | bytes = DEFAULT_SEED) -> x509.Certificate:
    return for_seed(seed).certificate(eui, usage)


def private_key(eui: str | bytes, usage: str, seed: str | bytes = DEFAULT_SEED) -> ec.EllipticCurvePrivateKey:
    """A device's private key for emulator code (never served, logged or reported)."""
    return for_seed(seed).private_key(eui, usage)


def device_eui(cert: x509.Certificate) -> str | None:
    """The EUI (16 lowercase hex digits) in a device certificate's hardwareModuleName, or None."""
    try:
        names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return None
    for name in names.get_values_for_type(x509.OtherName):
        if name.type_id == HARDWARE_MODULE_NAME and len(name.value) >= 10 and name.value[-10:-8] == b"\x04\x08":
            return name.value[-8:].hex()
    return None


__all__ = [
    "DEFAULT_SEED", "DeviceIdentities", "DeviceIdentity", "EmulatedDeviceKeys", "certificate", "device_eui",
    "for_seed", "hardware_module_name", "key_identifier", "private_key",
]
