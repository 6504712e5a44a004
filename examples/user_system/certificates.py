"""Throwaway certificates and keys for a test organisation: an XML signing pair (remote-party role
XmlSign, OU 87), a GBCS digital-signature pair and two GBCS key-agreement pairs, the ordinary one and a
supplier's prepayment one (DCC's `-pp`, which makes UTRNs) (role Supplier, OU 02), P-256, issued by a
self-made CA that no DCC knows. For trying the user-system target out, never for a real environment."""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta, timezone
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

# file stem -> (subject OU: remote-party role, two hex digits; key usage)
USAGES = {"xml": ("87", "sign"), "gbcs": ("02", "sign"), "ka": ("02", "agree"), "ka_pp": ("02", "agree")}


def _certificate(key: ec.EllipticCurvePrivateKey, subject: x509.Name, issuer: x509.Name,
                 issuer_key: ec.EllipticCurvePrivateKey, usage: str) -> x509.Certificate:
    sign, agree = usage == "sign", usage == "agree"
    now = datetime.now(timezone.utc)
    return (x509.CertificateBuilder().subject_name(subject).issuer_name(issuer).public_key(key.public_key())
            .serial_number(secrets.randbits(63) | 1 << 62).not_valid_before(now - timedelta(days=1))
            .not_valid_after(now + timedelta(days=365))
            .add_extension(x509.KeyUsage(sign, False, False, False, agree, False, False, False, False), critical=True)
            .sign(issuer_key, hashes.SHA256()))


def make_organisation(directory: Path, eui: str, name: str = "example user system") -> dict[str, Path]:
    """Write xml, gbcs (DS), ka and ka_pp (.pem certificate, .key PKCS#8 unencrypted) for `eui` into `directory`."""
    directory.mkdir(parents=True, exist_ok=True)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"{name} throwaway CA")])
    written: dict[str, Path] = {}
    for stem, (unit, usage) in USAGES.items():
        key = ec.generate_private_key(ec.SECP256R1())
        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"{name} {eui} {stem}"),
                             x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, unit)])
        cert = _certificate(key, subject, ca_name, ca_key, usage)
        (directory / f"{stem}.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        (directory / f"{stem}.key").write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                                                  serialization.PrivateFormat.PKCS8,
                                                                  serialization.NoEncryption()))
        written[f"{stem}_certificate"], written[f"{stem}_key"] = directory / f"{stem}.pem", directory / f"{stem}.key"
    return written
