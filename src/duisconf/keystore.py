"""ZAZ1 identities and user key material: who signs a request, which certificates a response may carry.

Sources, in order: `keystore.json` of @smartdcc/dccboxed-keystore (33 ZAZ1 organisation entries with
certificates and PKCS#8 keys), the certificates and keys inside DCC's signing tool jar (it also carries
the DSP signing certificate DCC Boxed used before 1.4.1), then PEM files the user adds for a real
environment. Private keys are loaded lazily and never appear in a repr, log line or error message.
"""

from __future__ import annotations

import json
import os
import zipfile
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import load_der_private_key, load_pem_private_key
from cryptography.x509.oid import NameOID

from . import paths
from .duis.model import DCC_EUI, normalise_eui
from .errors import ConfigError, InvalidInput, KeyMaterialMissing

# Remote-party role numbers (duis.md §7.2). Subject OU holds the role as two hex digits (87 = 135).
ROLE_NAMES = {
    0: "Root", 1: "Recovery", 2: "Supplier", 3: "NetworkOperator", 4: "AccessControlBroker",
    5: "TransitionalCoS", 6: "WANProvider", 7: "IssuingAuthority", 8: "LoadController",
    127: "Other", 135: "XmlSign", 137: "DspXmlSign",
}
XML_SIGN, DSP_XML_SIGN, ACB = 135, 137, 4
# ZAZ1 organisations without an XmlSign / DspXmlSign certificate sign DUIS XML with these role DS
# certificates: exactly the ones DCC's signing tool holds for XML besides the XmlSign ones (duis.md
# §9.2, its CertificateLibrary). Every other DS certificate is a GBCS key, which DCC refuses for XML:
# the load controller's Z1-loadController-ds and all "Z1b-" twins among them.
DCC_TOOL_ROLE_XML_SIGNERS = frozenset({"Z1-recovery-ds", "Z1-supplier2-ds", "Z1-transitionalCoS-ds", "Z1-wanProvider-ds"})
_X500_UNIQUE_ID = x509.ObjectIdentifier("2.5.4.45")


@dataclass(frozen=True)
class Identity:
    """One certificate (and, when we have it, its private key) of an organisation."""

    eui: str
    name: str
    role: int
    usage: str  # "digitalSignature" | "keyAgreement"
    certificate: x509.Certificate = field(repr=False, compare=False)
    _key_loader: object = field(default=None, repr=False, compare=False)
    user_supplied: bool = False  # the user's own material (add_pem): signs what the user says it signs

    @property
    def xml_signing(self) -> bool:
        """May this certificate sign DUIS XML, as DCC's tool judges it (duis.md §9.2)?"""
        if self.usage != "digitalSignature":
            return False
        return self.user_supplied or self.role in (XML_SIGN, DSP_XML_SIGN) or self.name in DCC_TOOL_ROLE_XML_SIGNERS

    @property
    def serial(self) -> int:
        return self.certificate.serial_number

    @property
    def issuer_name(self) -> str:
        """X509IssuerName as DCC's tool writes it: RFC 2253 order, e.g. CN=Z1,OU=07."""
        return self.certificate.issuer.rfc4514_string()

    @property
    def has_private_key(self) -> bool:
        return self._key_loader is not None

    @cached_property
    def private_key(self) -> ec.EllipticCurvePrivateKey:
        if self._key_loader is None:
            raise KeyMaterialMissing(f"no private key for {self.name} ({self.eui}, serial {self.serial})")
        key = self._key_loader()  # type: ignore[operator]
        if not isinstance(key, ec.EllipticCurvePrivateKey):
            raise KeyMaterialMissing(f"{self.name}: private key is not an EC key (DUIS signs with ECDSA P-256)")
        return key

    def __str__(self) -> str:
        return f"{self.name} ({ROLE_NAMES.get(self.role, self.role)}, {self.eui}, serial {self.serial})"


def certificate_eui(cert: x509.Certificate) -> str | None:
    """The EUI a ZAZ1 certificate is issued to (x500UniqueIdentifier, a BIT STRING of 8 bytes)."""
    for attribute in cert.subject.get_attributes_for_oid(_X500_UNIQUE_ID):
        value = attribute.value if isinstance(attribute.value, bytes) else str(attribute.value).encode()
        return normalise_eui(value[-8:].hex())
    return None


def certificate_role(cert: x509.Certificate) -> int:
    """Remote-party role from the subject OU: two hex digits in ZAZ1; pre-1.4.1 kits wrote "137"."""
    units = cert.subject.get_attributes_for_oid(NameOID.ORGANIZATIONAL_UNIT_NAME)
    if not units:
        return 127
    text = str(units[0].value)
    try:
        return int(text, 16) if len(text) == 2 else int(text)
    except ValueError:
        return 127


class Keystore:
    """Identities indexed by EUI and by certificate serial."""

    def __init__(self) -> None:
        self._by_serial: dict[int, Identity] = {}
        # Entries a source holds that cannot be used, with the reason (e.g. the MDR certificates in
        # keystore.json are not strict DER and cryptography refuses them).
        self.skipped: list[str] = []

    def __len__(self) -> int:
        return len(self._by_serial)

    def add(self, identity: Identity) -> None:
        known = self._by_serial.get(identity.serial)
        # Keep the first entry for a serial, but let a later source supply a key the first lacked.
        if known is None or (not known.has_private_key and identity.has_private_key):
            self._by_serial[identity.serial] = identity

    # -- sources ---------------------------------------------------------------------------------
    @classmethod
    def zaz1(cls, keystore_json: Path | None = None, jar: Path | None = None) -> Keystore:
        """All ZAZ1 material in DCC's packages (keystore.json first, then the signing tool jar)."""
        store = cls()
        store.load_keystore_json(keystore_json or paths.keystore_json())
        store.load_signing_tool_jar(jar or paths.signing_tool_jar())
        return store

    def load_keystore_json(self, path: Path) -> None:
        try:
            data = json.loads(path.read_text())
        except (OSError, ValueError) as exc:
            raise ConfigError(f"{path}: cannot read keystore: {exc}") from None
        for eui, usages in data.items():
            for usage, entries in usages.items():
                for serial, entry in entries.items():
                    try:
                        cert = x509.load_pem_x509_certificate(entry["certificate"].encode())
                    except ValueError as exc:
                        self.skipped.append(f"{path}: {entry.get('name', serial)}: unusable certificate ({exc})")
                        continue
                    pem = entry.get("privateKey")
                    loader = (lambda pem=pem: load_pem_private_key(pem.encode(), None)) if pem else None
                    self.add(Identity(normalise_eui(eui), entry.get("name", serial), int(entry.get("role", 127)),
                                      usage, cert, loader))

    def load_signing_tool_jar(self, jar: Path) -> None:
        with zipfile.ZipFile(jar) as archive:
            names = set(archive.namelist())
            for name in sorted(n for n in names if n.endswith(".pem") and not n.endswith(".key.pem")):
                cert = x509.load_pem_x509_certificate(archive.read(name))
                stem = name[: -len(".pem")]
                loader = None
                if f"{stem}.key" in names:
                    der = archive.read(f"{stem}.key")
                    loader = lambda der=der: load_der_private_key(der, None)  # noqa: E731
                eui = certificate_eui(cert) or ""
                self.add(Identity(eui, stem, certificate_role(cert), "digitalSignature", cert, loader))

    def add_pem(self, certificate: Path, private_key: Path | None = None, *, eui: str | None = None,
                name: str | None = None) -> Identity:
        """A user's own certificate (PEM) and optional PKCS#8 key (PEM or DER), e.g. for a DCC test environment."""
        try:
            cert = x509.load_pem_x509_certificate(Path(certificate).read_bytes())
        except (OSError, ValueError) as exc:
            raise ConfigError(f"{certificate}: not a PEM X.509 certificate: {exc}") from None
        loader: object = None
        if private_key is not None:
            key_path = Path(private_key)
            if not key_path.is_file():
                raise KeyMaterialMissing(f"private key file not found: {key_path}")

            def load_key(key_path: Path = key_path):  # the path, never the bytes, goes into messages
                data = key_path.read_bytes()
                try:
                    return load_pem_private_key(data, None) if b"-----BEGIN" in data else load_der_private_key(data, None)
                except ValueError:
                    raise KeyMaterialMissing(f"{key_path}: not an unencrypted PKCS#8 private key") from None

            loader = load_key
        owner = normalise_eui(eui) if eui else (certificate_eui(cert) or "")
        identity = Identity(owner, name or Path(certificate).stem, certificate_role(cert), "digitalSignature", cert, loader,
                            user_supplied=True)
        self._by_serial[identity.serial] = identity  # user material overrides a same-serial package entry
        return identity

    # -- look-ups -----------------------------------------------------------------------------
    def by_serial(self, serial: int) -> Identity | None:
        return self._by_serial.get(serial)

    def identities(self, eui: str | None = None) -> list[Identity]:
        wanted = normalise_eui(eui) if eui else None
        return [i for i in self._by_serial.values() if wanted is None or i.eui == wanted]

    def find(self, eui: str | None = None, role: int | str | None = None, usage: str | None = None) -> list[Identity]:
        """Identities by EUI, remote-party role (number or name, e.g. 2 or "Supplier") and usage."""
        if isinstance(role, str):
            by_name = {name.lower(): number for number, name in ROLE_NAMES.items()}
            if role.lower() not in by_name:
                raise InvalidInput(f"unknown remote-party role {role!r} (expected one of {', '.join(ROLE_NAMES.values())})")
            role = by_name[role.lower()]
        return [i for i in self.identities(eui)
                if (role is None or i.role == role) and (usage is None or i.usage == usage)]

    def xml_signing_identity(self, eui: str) -> Identity:
        """The key that signs DUIS XML for an originator (duis.md §9.2), as DCC's signing tool chooses it.

        The XmlSign (135) / DspXmlSign (137) entry where one exists (the current DSP key before the
        pre-1.4.1 one); otherwise the role DS key DCC's tool uses for XML (supplier 2, recovery,
        transitional CoS, WAN provider); or the user's own key (add_pem). Never a GBCS signing key:
        DCC rejects XML signed with one, so an organisation with only GBCS keys (the ZAZ1 load
        controller) has no XML signing key here.
        """
        candidates = [i for i in self.identities(eui) if i.xml_signing and i.has_private_key]
        if not candidates:
            gbcs_only = [i.name for i in self.identities(eui) if i.usage == "digitalSignature"]
            held = (f"; it holds only GBCS signing keys ({', '.join(sorted(gbcs_only))}), which DCC refuses for XML"
                    if gbcs_only else " (not a ZAZ1 identity in keystore.json)")
            raise KeyMaterialMissing(f"no XML signing key for originator {normalise_eui(eui)}{held}; "
                                     "give --key and --cert for your own")

        def rank(i: Identity) -> tuple[int, int, str]:
            return (0 if i.user_supplied else 1, 1 if "pre-1.4.1" in i.name else 0, i.name)

        return min(candidates, key=rank)

    def gbcs_signing_identity(self, eui: str) -> Identity:
        """The GBCS digital-signature key for pre-commands: never the XML signing key (duis.md §3.5)."""
        candidates = [
            i for i in self.identities(eui)
            if i.usage == "digitalSignature" and i.role not in (XML_SIGN, DSP_XML_SIGN) and i.has_private_key
        ]
        if not candidates:
            raise KeyMaterialMissing(f"no GBCS digital-signature key for {normalise_eui(eui)}")
        return min(candidates, key=lambda i: (0 if i.name.startswith("Z1-") else 1, i.name))

    def dcc_response_certificates(self) -> list[Identity]:
        """Certificates a DCC (or DCC Boxed) response may be signed with: DSP XML signing and ACB DS."""
        return [i for i in self.identities(DCC_EUI) if i.role in (DSP_XML_SIGN, ACB) and i.usage == "digitalSignature"]

    def xml_signing_certificates(self) -> list[Identity]:
        """Every certificate DUIS XML may be signed with (what DCC's tool looks a signature's serial up in)."""
        return [i for i in self._by_serial.values() if i.xml_signing]


@lru_cache(maxsize=1)
def zaz1() -> Keystore:
    """The ZAZ1 keystore from DCC's installed packages, loaded once per process."""
    return Keystore.zaz1()


def trusted_paths_from_env() -> list[Path]:
    """PEM certificates named by DUISCONF_TRUST (os.pathsep-separated)."""
    value = os.environ.get("DUISCONF_TRUST", "")
    return [Path(p) for p in value.split(os.pathsep) if p.strip()]


def load_certificate_file(path: Path) -> list[x509.Certificate]:
    try:
        return x509.load_pem_x509_certificates(Path(path).read_bytes())
    except (OSError, ValueError) as exc:
        raise InvalidInput(f"{path}: not a PEM certificate file: {exc}") from None
