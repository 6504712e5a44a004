"""What a party's Receive Response Service accepts and refuses.

The emulated DCC POSTs to their service as a DCC does. Valid messages — signed by the DCC's XML signing
key as the emulator signs its replies, schema-valid, new — must be accepted (2xx). Forged or broken
ones must be refused (4xx; DCC Boxed's own receiver answers 204 and 400). Each forgery starts from a
message their system really received in the scenario, so only the one thing named is wrong:

| How (FORGERIES)        | What is wrong                                                    | Rule named          |
|------------------------|------------------------------------------------------------------|---------------------|
| signature broken       | a signed value changed after signing (digest mismatch)           | rrs_bad_signature   |
| unknown certificate    | re-signed by a key and certificate no DCC holds                  | rrs_unknown_certificate |
| schema-invalid         | an element the DUIS XSD does not allow, then validly signed      | rrs_schema_invalid  |
| replayed               | the same message re-signed by the DCC (new signature bytes)      | rrs_replayed        |
| duplicated             | the same bytes again                                             | rrs_duplicated      |

Not answering (no HTTP reply), a 5xx, or accepting a forgery is a breach naming its rule; a valid
message refused is a breach of `rrs_accepts_valid`.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

import requests
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from lxml import etree

from ..duis.model import DCC_EUI, SR_NS
from ..duis.parse import parse_xml
from ..errors import InvalidInput
from ..keystore import DSP_XML_SIGN, Identity
from ..signing import sign
from .judge import Breach

_SR = f"{{{SR_NS}}}"
_DS = "{http://www.w3.org/2000/09/xmldsig#}"
FORGERIES = {
    "signature broken": "rrs_bad_signature",
    "unknown certificate": "rrs_unknown_certificate",
    "schema-invalid": "rrs_schema_invalid",
    "replayed": "rrs_replayed",
    "duplicated": "rrs_duplicated",
}
VALID_RULE = "rrs_accepts_valid"


@dataclass(frozen=True)
class Delivery:
    """One POST to their Receive Response Service and its answer (status None: no answer)."""

    what: str
    status: int | None
    error: str | None = None

    @property
    def accepted(self) -> bool:
        return self.status is not None and 200 <= self.status < 300

    @property
    def refused(self) -> bool:
        return self.status is not None and 400 <= self.status < 500

    def describe(self) -> str:
        return f"{self.what}: " + (f"HTTP {self.status}" if self.status is not None else f"no answer ({self.error})")


def deliver(url: str, body: bytes, what: str, timeout: float = 10.0) -> Delivery:
    """POST `body` to their service as the DCC does (application/xml)."""
    try:
        answer = requests.post(url, data=body, headers={"Content-Type": "application/xml"}, timeout=timeout)
    except requests.RequestException as exc:
        return Delivery(what, None, type(exc).__name__)
    return Delivery(what, answer.status_code)


def _unsigned(message: bytes) -> etree._Element:
    root = parse_xml(message, source="DCC message").getroot()
    for signature in root.findall(f"{_DS}Signature"):
        root.remove(signature)
    return root


def forger_identity() -> Identity:
    """A key and certificate shaped like the DCC's XML signing one (DCC EUI, role DspXmlSign), known to no one."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "not the DCC"),
                      x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, "89")])
    now = datetime.now(timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(secrets.randbits(63) | 1 << 62).not_valid_before(now - timedelta(days=1))
            .not_valid_after(now + timedelta(days=30)).sign(key, hashes.SHA256()))
    return Identity(DCC_EUI, "forger", DSP_XML_SIGN, "digitalSignature", cert, lambda: key)


def forge(message: bytes, how: str, dcc: Identity) -> bytes:
    """`message` (a DCC-signed message their system took) made wrong in the one way `how` names."""
    if how == "duplicated":
        return message
    if how == "replayed":
        return sign(_unsigned(message), identity=dcc, source="DCC message")
    if how == "unknown certificate":
        return sign(_unsigned(message), identity=forger_identity(), source="DCC message")
    if how == "schema-invalid":
        root = _unsigned(message)
        etree.SubElement(root.find(f"{_SR}Header"), f"{_SR}NotADUISElement").text = "forged"
        return sign(root, identity=dcc, source="DCC message")
    if how == "signature broken":
        root = parse_xml(message, source="DCC message", as_written=True).getroot()
        stamp = root.find(f"{_SR}Header/{_SR}ResponseDateTime")
        if stamp is None or not stamp.text:
            raise InvalidInput("the DCC message has no ResponseDateTime to change")
        moment = datetime.fromisoformat(stamp.text.replace("Z", "+00:00")) + timedelta(seconds=1)
        stamp.text = moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
        return etree.tostring(root, xml_declaration=True, encoding="UTF-8")
    raise InvalidInput(f"unknown forgery {how!r} (expected one of {', '.join(FORGERIES)})")


def judge_forgery(how: str, delivery: Delivery) -> Breach | None:
    """A forgery must be refused with a 4xx."""
    if delivery.refused:
        return None
    rule = FORGERIES[how]
    if delivery.status is None:
        return Breach(rule, f"{delivery.describe()}: their Receive Response Service did not answer")
    if delivery.accepted:
        return Breach(rule, f"{delivery.describe()}: a {how} message was accepted; it must be refused (4xx)")
    return Breach(rule, f"{delivery.describe()}: a {how} message must be refused with a 4xx, not {delivery.status}")


def judge_valid(delivery: Delivery) -> Breach | None:
    """A valid DCC message must be accepted with a 2xx."""
    if delivery.accepted:
        return None
    return Breach(VALID_RULE, f"{delivery.describe()}: a valid, DCC-signed message must be accepted (2xx)")
