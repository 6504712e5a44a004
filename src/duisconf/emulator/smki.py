"""The emulator's SMKI interface: certificates served the way a DCC Boxed kit serves them (port 8083).

- ``POST /services/certificatesearch?apikey=…`` with ``<CertificateSearchRequest>`` naming
  ``CertificateSubjectAltName`` (a device EUI, ``a1-a2-…-a8``) or ``CertificateSubjectName`` (an
  organisation EUI); optional ``CertificateUsage`` / ``CertificateStatus`` / ``CertificateRole`` narrow
  the search. 200 with ``<CertificateSearchResponse>`` and one ``<Result>`` per certificate
  (``CertificateUsage`` DS/KA, ``CertificateStatus`` I, ``CertificateRole``, ``CertificateSerial`` hex).
- ``POST /services/retrievecertificate?apikey=…`` with ``<CertificateDataRequest><CertificateSerial>``:
  200 with ``<CertificateDataResponse><CertificateResponse><CertificateBody>`` (base64 DER) and the
  subject's EUI as ``CertificateSubjectAltName`` (device) or ``CertificateSubjectName`` (organisation),
  which is how DCC's keystore client tells the two apart.
- 402: nothing found. 401: invalid parameters — malformed XML, a DOCTYPE, an unknown element, an EUI not
  written ``a1-a2-…-a8``, a serial that is not hex, a missing or wrong ``apikey``.

Devices are the emulator inventory's (their certificates come from :mod:`.identities`, made when first
asked for); organisations are the ZAZ1 keystore's. Facts from DCC's keystore client
(``@smartdcc/dccboxed-keystore``: request and response element names, status codes, the apikey) and
reference/gbcs.md. No private key ever passes through here.
"""

from __future__ import annotations

import base64
import logging
import re
from xml.etree.ElementTree import Element, SubElement, tostring

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from ..duis.model import normalise_eui
from ..duis.parse import local_name, parse_xml
from ..errors import InvalidInput
from ..gbcs.keys import eui_dashed, smki_api_key
from ..httpserver import BackgroundServer, BodyRefused, LimitedHandler
from ..keystore import Keystore
from .identities import DeviceIdentities
from .state import Inventory

log = logging.getLogger("duisconf.emulator.smki")
DEFAULT_PORT = 8083           # a DCC Boxed kit's SMKI port
MAX_BODY = 64 * 1024          # a search request is a few hundred bytes
DEVICE_ROLE = 127             # "Other": device certificates carry no remote-party role
_USAGE = {"keyAgreement": "KA", "digitalSignature": "DS"}
_DASHED_EUI = re.compile(r"^[0-9A-Fa-f]{2}(-[0-9A-Fa-f]{2}){7}$")
_SEARCH_FIELDS = ("CertificateSubjectAltName", "CertificateSubjectName", "CertificateUsage", "CertificateStatus",
                  "CertificateRole")


class BadParameters(Exception):
    """Answered with HTTP 401, as a kit answers invalid search parameters."""


class SmkiRepository:
    """What the SMKI interface answers from: the inventory's devices and the keystore's organisations."""

    def __init__(self, identities: DeviceIdentities, inventory: Inventory, keystore: Keystore) -> None:
        self.identities, self.inventory, self.keystore = identities, inventory, keystore

    def _device_euis(self) -> list[str]:
        with self.inventory.lock:
            return list(self.inventory.devices)

    def search(self, fields: dict[str, str]) -> list[dict[str, str]]:
        """Results (element name -> text) for a CertificateSearchRequest's fields; [] when none match."""
        alt, subject = fields.get("CertificateSubjectAltName"), fields.get("CertificateSubjectName")
        if (alt is None) == (subject is None):
            raise BadParameters("name exactly one of CertificateSubjectAltName and CertificateSubjectName")
        eui = _eui(alt if alt is not None else subject)
        results = []
        if alt is not None:  # a device: its KA and DS certificates, when it is in the inventory
            if eui in self._device_euis():
                for usage in ("ds", "ka"):
                    results.append({"CertificateSubjectAltName": eui_dashed(eui), "CertificateUsage": usage.upper(),
                                    "CertificateStatus": "I", "CertificateRole": str(DEVICE_ROLE),
                                    "CertificateSerial": f"{self.identities.serial(eui, usage):x}"})
        else:  # an organisation: every certificate the keystore holds for it
            for identity in sorted(self.keystore.find(eui=eui), key=lambda i: (i.role, i.usage, i.name)):
                results.append({"CertificateSubjectName": eui_dashed(eui), "CertificateUsage": _USAGE[identity.usage],
                                "CertificateStatus": "I", "CertificateRole": str(identity.role),
                                "CertificateSerial": f"{identity.serial:x}"})
        for name in ("CertificateUsage", "CertificateStatus", "CertificateRole"):
            if name in fields:
                results = [r for r in results if r[name] == fields[name]]
        return results

    def retrieve(self, serial_text: str) -> tuple[x509.Certificate, str, str] | None:
        """(certificate, "CertificateSubjectAltName" | "CertificateSubjectName", dashed EUI) for a hex serial."""
        if not re.fullmatch(r"[0-9A-Fa-f]{1,40}", serial_text):
            raise BadParameters("CertificateSerial must be hexadecimal")
        serial = int(serial_text, 16)
        organisation = self.keystore.by_serial(serial)
        if organisation is not None and organisation.eui:
            return organisation.certificate, "CertificateSubjectName", eui_dashed(organisation.eui)
        for eui in self._device_euis():  # deriving a serial is cheap; the certificate is made only on a match
            for usage in ("ds", "ka"):
                if self.identities.serial(eui, usage) == serial:
                    return self.identities.certificate(eui, usage), "CertificateSubjectAltName", eui_dashed(eui)
        return None


def _eui(text: str) -> str:
    if not _DASHED_EUI.match(text):
        raise BadParameters(f"an EUI is written a1-a2-a3-a4-a5-a6-a7-a8, got {text[:40]!r}")
    return normalise_eui(text)


def _fields(body: bytes, root_name: str, allowed: tuple[str, ...]) -> dict[str, str]:
    try:
        root = parse_xml(body, source="SMKI request").getroot()  # never resolves entities
    except InvalidInput as exc:
        raise BadParameters(str(exc)) from None
    if local_name(root) != root_name:
        raise BadParameters(f"expected a {root_name}, got {local_name(root)}")
    fields: dict[str, str] = {}
    for child in root:
        if not isinstance(child.tag, str):
            continue  # comments, processing instructions
        name = local_name(child)
        if name not in allowed or name in fields or len(child):
            raise BadParameters(f"unexpected or repeated element {name} in {root_name}")
        fields[name] = (child.text or "").strip()
    return fields


def _document(root_name: str, children: list[tuple[str, dict[str, str]]]) -> bytes:
    root = Element(root_name)
    for name, values in children:
        element = SubElement(root, name)
        for key, text in values.items():
            SubElement(element, key).text = text
    return b'<?xml version="1.0" encoding="UTF-8"?>' + tostring(root)


def answer(repository: SmkiRepository, path: str, query: str, body: bytes) -> tuple[int, bytes]:
    """(HTTP status, XML body) for one POST to the SMKI interface (usable without HTTP)."""
    service = {"/services/certificatesearch": "search", "/services/retrievecertificate": "retrieve"}.get(path)
    if service is None:
        return 404, b""
    try:
        if f"apikey={smki_api_key()}" not in query.split("&"):
            raise BadParameters("missing or wrong apikey")
        if service == "search":
            results = repository.search(_fields(body, "CertificateSearchRequest", _SEARCH_FIELDS))
            if not results:
                return 402, b""
            return 200, _document("CertificateSearchResponse", [("Result", r) for r in results])
        fields = _fields(body, "CertificateDataRequest", ("CertificateSerial",))
        found = repository.retrieve(fields.get("CertificateSerial", ""))
    except BadParameters as exc:
        log.info("SMKI %s: 401 (%s)", service, exc)
        return 401, b""
    if found is None:
        return 402, b""
    certificate, subject_element, eui = found
    der = base64.b64encode(certificate.public_bytes(Encoding.DER)).decode("ascii")
    return 200, _document("CertificateDataResponse",
                          [("CertificateResponse", {"CertificateBody": der, subject_element: eui})])


class _Handler(LimitedHandler):
    """Bodies are read under the same limits as every duisconf server (httpserver.read_body)."""

    repository: SmkiRepository
    max_body = MAX_BODY

    def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
        path, _, query = self.path.partition("?")
        try:
            body = self.body()
        except BodyRefused as refused:
            return self.refuse(refused)
        status, answer_body = answer(self.repository, path, query, body)
        self.send_reply(status, answer_body, "application/xml" if answer_body else None)

    def do_GET(self) -> None:  # noqa: N802
        self.send_reply(404 if self.path.partition("?")[0] not in ("/services/certificatesearch",
                                                                   "/services/retrievecertificate") else 405)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        log.debug("%s %s", self.address_string(), format % args)


class SmkiServer:
    """The SMKI interface on its own port beside the emulator's DUIS endpoints."""

    def __init__(self, repository: SmkiRepository, host: str = "127.0.0.1", port: int = DEFAULT_PORT) -> None:
        self.repository, self.host = repository, host
        self._server = BackgroundServer(type("SmkiHandler", (_Handler,), {"repository": repository}), host, port,
                                        "emulator-smki")

    def start(self) -> SmkiServer:
        self._server.start()
        return self

    def stop(self) -> None:
        self._server.stop()

    @property
    def url(self) -> str:
        """The base URL a kit's SMKI client is given (``gbcs.keys.SmkiSource``, ``[smki] base_url``)."""
        return f"http://{self.host}:{self._server.port}/"


__all__ = ["DEFAULT_PORT", "SmkiRepository", "SmkiServer", "answer"]
