"""Where GBCS key material comes from: one interface in front of the ZAZ1 keystore, a key directory in
DCC's layout, and a DCC Boxed kit's SMKI interface.

A :class:`KeySource` answers, for an EUI and a usage (``"ka"`` key agreement, ``"ds"`` digital
signature), the public keys (from certificates, or from the private keys it holds) and the private
keys it has, best first. Suppliers have a second KA pair for prepayment (DCC's ``-pp`` files, ZAZ1's
``…PP-ka`` entries): ``prepayment=None`` gives both (ordinary first), True / False one of them. A
:class:`KeyChain` asks its sources in order and keeps every answer, so a caller can try each candidate
(a MAC or a GCM tag tells which one is right).

Private keys never appear in a repr or an error: errors name the EUI, the usage and the file.
"""

from __future__ import annotations

import base64
import re
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from xml.etree.ElementTree import Element, SubElement, tostring

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import load_der_private_key, load_pem_private_key

from .. import paths
from ..duis.model import normalise_eui
from ..errors import ConfigError, InvalidInput, KeyMaterialMissing
from .crypto import public_point

USAGES = ("ka", "ds")
_KEYSTORE_USAGE = {"ka": "keyAgreement", "ds": "digitalSignature"}
_XML_SIGNING_ROLES = (135, 137)  # XmlSign / DspXmlSign: DUIS XML keys, never GBCS ones


def eui_hex(eui: str | bytes) -> str:
    """16 lowercase hex digits for an EUI given as bytes, 'AA-BB-…' or plain hex."""
    if isinstance(eui, (bytes, bytearray)):
        if len(eui) != 8:
            raise InvalidInput(f"an EUI is 8 bytes, got {len(eui)}")
        return bytes(eui).hex()
    return normalise_eui(eui).replace("-", "").lower()


def eui_dashed(eui: str | bytes) -> str:
    """An EUI as DCC's SMKI writes it: a1-a2-…-a8 (lowercase hex pairs)."""
    h = eui_hex(eui)
    return "-".join(h[i : i + 2] for i in range(0, 16, 2))


def _check_usage(usage: str) -> None:
    if usage not in USAGES:
        raise InvalidInput(f"key usage must be 'ka' or 'ds', got {usage!r}")


def _ec_public(cert: x509.Certificate, where: str) -> ec.EllipticCurvePublicKey:
    key = cert.public_key()
    if not isinstance(key, ec.EllipticCurvePublicKey):
        raise KeyMaterialMissing(f"{where}: certificate key is not an EC key (GBCS uses P-256)")
    return key


class KeySource:
    """The interface: subclasses implement :meth:`certificates` and :meth:`private_keys`."""

    name = "key source"

    def certificates(self, eui: str | bytes, usage: str, *, prepayment: bool | None = None) -> list[x509.Certificate]:
        return []

    def private_keys(
        self, eui: str | bytes, usage: str, *, prepayment: bool | None = None
    ) -> list[ec.EllipticCurvePrivateKey]:
        return []

    # -- derived look-ups (the message layer uses these) --------------------------------------
    def public_keys(
        self, eui: str | bytes, usage: str, *, prepayment: bool | None = None
    ) -> list[ec.EllipticCurvePublicKey]:
        """Public keys from certificates, then from private keys held without a certificate; no duplicates."""
        out: list[ec.EllipticCurvePublicKey] = []
        seen: set[bytes] = set()
        candidates = [_ec_public(c, f"{self.name} {eui_dashed(eui)} {usage}")
                      for c in self.certificates(eui, usage, prepayment=prepayment)]
        candidates += [k.public_key() for k in self.private_keys(eui, usage, prepayment=prepayment)]
        for key in candidates:
            point = public_point(key)
            if point not in seen:
                seen.add(point)
                out.append(key)
        return out

    def ka_certificate(self, eui: str | bytes, *, prepayment: bool | None = None) -> x509.Certificate:
        return self._first(self.certificates(eui, "ka", prepayment=prepayment), eui, "KA certificate")

    def ds_certificate(self, eui: str | bytes) -> x509.Certificate:
        return self._first(self.certificates(eui, "ds"), eui, "DS certificate")

    def ka_private_key(self, eui: str | bytes, *, prepayment: bool | None = None) -> ec.EllipticCurvePrivateKey:
        return self._first(self.private_keys(eui, "ka", prepayment=prepayment), eui, "KA private key")

    def ds_private_key(self, eui: str | bytes) -> ec.EllipticCurvePrivateKey:
        return self._first(self.private_keys(eui, "ds"), eui, "DS private key")

    def _first(self, found: list, eui: str | bytes, what: str):  # noqa: ANN202
        if not found:
            raise KeyMaterialMissing(f"no {what} for {eui_dashed(eui)} in {self.name}")
        return found[0]

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name}>"


class KeyChain(KeySource):
    """Several sources asked in order; answers are concatenated (first source's first)."""

    def __init__(self, *sources: KeySource) -> None:
        self.sources = [s for s in sources if s is not None]
        self.name = " + ".join(s.name for s in self.sources) or "no key source"

    def certificates(self, eui, usage, *, prepayment=None):  # noqa: ANN001, ANN201
        return [c for s in self.sources for c in s.certificates(eui, usage, prepayment=prepayment)]

    def private_keys(self, eui, usage, *, prepayment=None):  # noqa: ANN001, ANN201
        return [k for s in self.sources for k in s.private_keys(eui, usage, prepayment=prepayment)]

    def public_keys(self, eui, usage, *, prepayment=None):  # noqa: ANN001, ANN201
        out, seen = [], set()
        for source in self.sources:
            for key in source.public_keys(eui, usage, prepayment=prepayment):
                if (point := public_point(key)) not in seen:
                    seen.add(point)
                    out.append(key)
        return out


class KeyRing(KeySource):
    """Key material held in memory (an emulated device's own keys, test vectors, a caller's keys)."""

    def __init__(self, name: str = "key ring") -> None:
        self.name = name
        self._certificates: dict[tuple[str, str], list[x509.Certificate]] = {}
        self._private: dict[tuple[str, str], list[ec.EllipticCurvePrivateKey]] = {}
        self._public: dict[tuple[str, str], list[ec.EllipticCurvePublicKey]] = {}

    def add(
        self,
        eui: str | bytes,
        usage: str,
        *,
        certificate: x509.Certificate | None = None,
        private_key: ec.EllipticCurvePrivateKey | None = None,
        public_key: ec.EllipticCurvePublicKey | None = None,
    ) -> KeyRing:
        _check_usage(usage)
        key = (eui_hex(eui), usage)
        if certificate is not None:
            self._certificates.setdefault(key, []).append(certificate)
        if private_key is not None:
            self._private.setdefault(key, []).append(private_key)
        if public_key is not None:
            self._public.setdefault(key, []).append(public_key)
        return self

    def certificates(self, eui, usage, *, prepayment=None):  # noqa: ANN001, ANN201
        return list(self._certificates.get((eui_hex(eui), usage), []))

    def private_keys(self, eui, usage, *, prepayment=None):  # noqa: ANN001, ANN201
        return list(self._private.get((eui_hex(eui), usage), []))

    def public_keys(self, eui, usage, *, prepayment=None):  # noqa: ANN001, ANN201
        found = super().public_keys(eui, usage, prepayment=prepayment)
        seen = {public_point(k) for k in found}
        return found + [k for k in self._public.get((eui_hex(eui), usage), []) if public_point(k) not in seen]


# --------------------------------------------------------------------------------------------------
# A key directory in DCC's layout: <eui>[-pp]-<ka|ds>.<pem|key>

_FILE_NAME = re.compile(r"^([0-9a-fA-F]{16})(-pp)?-(ka|ds)\.(pem|key)$")


class KeyDirectory(KeySource):
    """Certificates (``.pem``) and PKCS#8 private keys (``.key``, PEM or DER) named as DCC names them.

    The RTDS keystore folder is one. Files are read when first asked for and then kept.
    """

    def __init__(self, directory: str | Path) -> None:
        self.directory = Path(directory)
        if not self.directory.is_dir():
            raise ConfigError(f"key directory not found: {self.directory}")
        self.name = f"key directory {self.directory}"
        self._files: dict[tuple[str, str, bool, str], Path] = {}
        for path in sorted(self.directory.iterdir()):
            m = _FILE_NAME.match(path.name)
            if m:
                self._files[(m[1].lower(), m[3], bool(m[2]), m[4])] = path
        self._loaded: dict[Path, object] = {}

    def _paths(self, eui: str | bytes, usage: str, prepayment: bool | None, kind: str) -> list[Path]:
        _check_usage(usage)
        h = eui_hex(eui)
        variants = (False, True) if prepayment is None else (prepayment,)
        return [p for v in variants if (p := self._files.get((h, usage, v, kind))) is not None]

    def _load(self, path: Path, loader):  # noqa: ANN001, ANN202
        if path not in self._loaded:
            self._loaded[path] = loader(path)
        return self._loaded[path]

    def certificates(self, eui, usage, *, prepayment=None):  # noqa: ANN001, ANN201
        return [self._load(p, _read_certificate) for p in self._paths(eui, usage, prepayment, "pem")]

    def private_keys(self, eui, usage, *, prepayment=None):  # noqa: ANN001, ANN201
        return [self._load(p, _read_private_key) for p in self._paths(eui, usage, prepayment, "key")]


def _read_certificate(path: Path) -> x509.Certificate:
    data = path.read_bytes()
    try:
        return x509.load_pem_x509_certificate(data) if b"-----BEGIN" in data else x509.load_der_x509_certificate(data)
    except ValueError as exc:
        raise KeyMaterialMissing(f"{path}: not an X.509 certificate ({exc})") from None


def _read_private_key(path: Path) -> ec.EllipticCurvePrivateKey:
    data = path.read_bytes()
    try:
        key = load_pem_private_key(data, None) if b"-----BEGIN" in data else load_der_private_key(data, None)
    except (ValueError, TypeError):
        raise KeyMaterialMissing(f"{path}: not an unencrypted PKCS#8 private key") from None  # never the bytes
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise KeyMaterialMissing(f"{path}: not an EC private key (GBCS uses P-256)")
    return key


# --------------------------------------------------------------------------------------------------
# The ZAZ1 keystore (organisations)


class Zaz1Source(KeySource):
    """The organisations' GBCS keys in DCC's ZAZ1 keystore (``duisconf.keystore``): no XML signing keys.

    ``Z1-`` entries come before ``Z1b-`` ones; a supplier's prepayment pair is the entry named ``…PP-ka``.
    """

    name = "ZAZ1 keystore"

    def __init__(self, store: object | None = None) -> None:
        if store is None:
            from ..keystore import zaz1

            store = zaz1()
        self.store = store

    def _identities(self, eui, usage, prepayment):  # noqa: ANN001, ANN202
        _check_usage(usage)
        try:
            found = self.store.find(eui=eui_dashed(eui).upper(), usage=_KEYSTORE_USAGE[usage])  # type: ignore[attr-defined]
        except InvalidInput:
            return []
        found = [i for i in found if i.role not in _XML_SIGNING_ROLES]
        if prepayment is not None:
            found = [i for i in found if ("PP-" in i.name) == prepayment]
        return sorted(found, key=lambda i: ("PP-" in i.name, not i.name.startswith("Z1-"), i.name))

    def certificates(self, eui, usage, *, prepayment=None):  # noqa: ANN001, ANN201
        return [i.certificate for i in self._identities(eui, usage, prepayment)]

    def private_keys(self, eui, usage, *, prepayment=None):  # noqa: ANN001, ANN201
        return [i.private_key for i in self._identities(eui, usage, prepayment) if i.has_private_key]


# --------------------------------------------------------------------------------------------------
# A DCC Boxed kit's SMKI interface (device and organisation certificates, no private keys)


@cache
def smki_api_key() -> str:
    """The fixed ``apikey`` query parameter DCC's keystore client sends, read from its installed source."""
    source = paths.package_file("@smartdcc/dccboxed-keystore", "dist/certificateSearch.js").read_text()
    m = re.search(r"apikey:\s*'([^']+)'", source)
    if not m:
        raise ConfigError("cannot find the SMKI apikey in @smartdcc/dccboxed-keystore's certificateSearch.js")
    return m[1]


def _xml_request(root: str, **fields: str) -> bytes:
    element = Element(root)
    for name, value in fields.items():
        SubElement(element, name).text = value
    return b'<?xml version="1.0" encoding="utf-8"?>' + tostring(element)


def _child_text(element, name: str) -> str | None:  # noqa: ANN001
    for child in element:
        if isinstance(child.tag, str) and child.tag.rsplit("}", 1)[-1] == name:
            return (child.text or "").strip()
    return None


@dataclass
class SmkiSource(KeySource):
    """Certificates ``In use`` from a DCC Boxed SMKI interface (default port 8083), cached per EUI and usage.

    ``certificatesearch`` by ``CertificateSubjectAltName`` (devices) or ``CertificateSubjectName``
    (organisations), then ``retrievecertificate`` by serial. HTTP 402 means "not found".
    """

    base_url: str
    timeout: float = 5.0
    subject: str = "CertificateSubjectAltName"
    _cache: dict = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        if not re.match(r"^https?://", self.base_url):
            raise ConfigError(f"SMKI base_url must be an http(s) URL, got {self.base_url!r}")
        self.base_url = self.base_url.rstrip("/") + "/"
        self.name = f"SMKI {self.base_url}"

    def _post(self, service: str, body: bytes) -> tuple[int, bytes]:
        url = f"{self.base_url}services/{service}?apikey={smki_api_key()}"
        request = urllib.request.Request(url, data=body, method="POST", headers={"Content-Type": "application/xml"})
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310 (configured URL)
                return response.status, response.read()
        except urllib.error.HTTPError as exc:
            return exc.code, b""
        except (urllib.error.URLError, OSError) as exc:
            raise ConfigError(f"{self.name}: {service} unreachable ({getattr(exc, 'reason', exc)})") from None

    def _parse(self, service: str, body: bytes):  # noqa: ANN202
        from ..duis.parse import parse_xml  # never resolves entities

        return parse_xml(body, source=f"{self.name} {service} answer").getroot()

    def search(self, eui: str | bytes, usage: str) -> list[str]:
        """Serials (hex) of the EUI's certificates ``In use`` with this usage."""
        _check_usage(usage)
        status, body = self._post(
            "certificatesearch", _xml_request("CertificateSearchRequest", **{self.subject: eui_dashed(eui)})
        )
        if status == 402:
            return []
        if status == 401:
            raise InvalidInput(f"{self.name}: certificatesearch rejected the parameters for {eui_dashed(eui)} (401)")
        if status != 200:
            raise ConfigError(f"{self.name}: certificatesearch answered HTTP {status}")
        root = self._parse("certificatesearch", body)
        serials = []
        for result in root.iter():
            if not isinstance(result.tag, str) or result.tag.rsplit("}", 1)[-1] != "Result":
                continue
            if _child_text(result, "CertificateUsage") == usage.upper() and _child_text(result, "CertificateStatus") == "I":
                serial = _child_text(result, "CertificateSerial")
                if serial:
                    serials.append(serial)
        return serials

    def retrieve(self, serial: str) -> x509.Certificate | None:
        status, body = self._post("retrievecertificate", _xml_request("CertificateDataRequest", CertificateSerial=serial))
        if status == 402:
            return None
        if status != 200:
            raise ConfigError(f"{self.name}: retrievecertificate {serial} answered HTTP {status}")
        root = self._parse("retrievecertificate", body)
        for element in root.iter():
            if isinstance(element.tag, str) and element.tag.rsplit("}", 1)[-1] == "CertificateBody" and element.text:
                try:
                    return x509.load_der_x509_certificate(base64.b64decode("".join(element.text.split())))
                except ValueError as exc:
                    raise InvalidInput(f"{self.name}: certificate {serial} is not DER X.509 ({exc})") from None
        return None

    def certificates(self, eui, usage, *, prepayment=None):  # noqa: ANN001, ANN201
        # SMKI holds device certificates by EUI; the prepayment variant is an organisation matter.
        key = (eui_hex(eui), usage)
        if key not in self._cache:
            self._cache[key] = [c for s in self.search(eui, usage) if (c := self.retrieve(s)) is not None]
        return list(self._cache[key])


def for_target(target: object) -> KeySource:
    """The key sources of a target: its kit's SMKI interface (``[smki] base_url``) when set, then ZAZ1."""
    url = getattr(target, "smki_base_url", None)
    return KeyChain(*([SmkiSource(url)] if url else []), Zaz1Source())


def rtds_keystore() -> Path:
    """The RTDS 4.5.0 keystore folder beside the project (tests, and ``--keys`` default suggestions)."""
    return paths.PROJECT_ROOT.parent / "shared" / "dcc-data" / "gbcs-rtds" / "keystore"
