"""XML signatures on DUIS messages, in the profile DCC's signing tool uses (duis.md §9).

Enveloped XML-DSig as the last child of the root; exclusive C14N; ECDSA-SHA256; one Reference URI=""
with SHA-256; KeyInfo holding only X509Data/X509IssuerSerial.

What is signed is what DCC's tool digests: the document as its schema-validating parser delivers it
(duis.md §9.3; found by experiment against the tool, tests/test_interop_java.py). Before signing, and
before checking a signature, `schema_normalise` (duisconf.duis.whitespace) therefore removes
whitespace-only text wherever the XSD gives an element element-only or empty content, between
children and as an element's only content alike (`<X>\n</X>` is signed as `<X/>`), keeps it in
simple-typed and mixed elements (a blank `sr:SeasonName`, `ds:SignatureMethod`), and collapses
simple-typed values and attributes whose type says so (`<sr:CommandVariant> 4 </…>` is 4). Comments are
never signed; processing instructions are, so signatures are checked on the bytes as received.

Signing composes lxml's exclusive C14N and cryptography's ECDSA directly: for the one fixed profile we
emit, that is far cheaper than signxml (which re-serialises and re-parses the document five times per
signature), and signing sits on every hot path (each emulator reply, each suite request).
Verification checks exactly that profile the same way, strictly: one ds:Signature, the last child of
the root; one Reference URI=""; only the enveloped and C14N transforms; ECDSA-SHA256 and SHA-256; the
certificate chosen by X509SerialNumber. signxml stays in the tests as a differential oracle
(tests/test_signing.py), and DCC's own Java validator is the referee (tests/test_interop_java.py).

Verification selects the certificate by X509SerialNumber from a trust set, accepts only
ECDSA-SHA256/SHA-256, and ignores validity dates by default: the ZAZ1 test certificates have expired
and DCC's own tool does not check them either (§9.6). A request's trust set holds only XML signing
certificates (`request_trust`): a GBCS signing key, even the originator's own, does not sign DUIS XML.
"""

from __future__ import annotations

import base64
import copy
import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timezone

from cryptography import x509
from lxml import etree
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature, encode_dss_signature

from .duis.model import DS_NS, SR_NS, RequestID
from .duis import whitespace
from .duis.parse import local_name, parse_xml
from .duis.schema import Schema, load_schema
from .errors import InvalidInput, KeyMaterialMissing, SignatureInvalid
from .keystore import Identity, Keystore

_DS = f"{{{DS_NS}}}"
EXC_C14N = "http://www.w3.org/2001/10/xml-exc-c14n#"
ECDSA_SHA256 = "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256"
ENVELOPED = "http://www.w3.org/2000/09/xmldsig#enveloped-signature"
SHA256 = "http://www.w3.org/2001/04/xmlenc#sha256"


def _as_tree(document: bytes | str | etree._ElementTree | etree._Element, source: str) -> etree._Element:
    if isinstance(document, etree._ElementTree):
        return document.getroot()
    if isinstance(document, etree._Element):
        return document
    return parse_xml(document, source=source, as_written=True).getroot()


def schema_normalise(root: etree._Element, schema: Schema | None = None) -> None:
    """Make `root` (in place) the document DCC's tool digests: its schema-validating parse (duisconf.duis.whitespace)."""
    whitespace.for_schema_file((schema or load_schema()).compiled_path).normalise(root)


def _c14n(element: etree._Element | etree._ElementTree, *, exclusive: bool) -> bytes:
    # Comments are never signed: URI="" excludes them, and so does plain (not #WithComments) C14N.
    # A whole document (ElementTree) includes processing instructions around the root, as URI="" does.
    return etree.tostring(element, method="c14n", exclusive=exclusive, with_comments=False)


def request_id_of(root: etree._Element) -> RequestID:
    found = root.find(f"{{{SR_NS}}}Header/{{{SR_NS}}}RequestID")
    if found is None or not (found.text or "").strip():
        raise InvalidInput("no sr:Header/sr:RequestID: cannot tell who the originator is")
    return RequestID.parse(found.text)


_issuer_names: dict = {}  # certificate -> its X509IssuerName (formatting the name each time was ~5 % of sign())


def _issuer_name(identity: Identity) -> str:
    certificate = identity.certificate
    issuer_name = _issuer_names.get(certificate)
    if issuer_name is None:
        issuer_name = _issuer_names[certificate] = identity.issuer_name
    return issuer_name


def _signature_element(parent: etree._Element, digest: str, value: str, issuer_name: str, serial: str) -> etree._Element:
    """DUIS's ds:Signature, appended to `parent`, built element by element."""
    signature = etree.SubElement(parent, f"{_DS}Signature", nsmap={"ds": DS_NS})
    signed_info = etree.SubElement(signature, f"{_DS}SignedInfo")
    etree.SubElement(signed_info, f"{_DS}CanonicalizationMethod", Algorithm=EXC_C14N)
    etree.SubElement(signed_info, f"{_DS}SignatureMethod", Algorithm=ECDSA_SHA256)
    reference = etree.SubElement(signed_info, f"{_DS}Reference", URI="")
    transforms = etree.SubElement(reference, f"{_DS}Transforms")
    etree.SubElement(transforms, f"{_DS}Transform", Algorithm=ENVELOPED)
    etree.SubElement(transforms, f"{_DS}Transform", Algorithm=EXC_C14N)
    etree.SubElement(reference, f"{_DS}DigestMethod", Algorithm=SHA256)
    etree.SubElement(reference, f"{_DS}DigestValue").text = digest
    etree.SubElement(signature, f"{_DS}SignatureValue").text = value
    issuer_serial = etree.SubElement(etree.SubElement(etree.SubElement(signature, f"{_DS}KeyInfo"), f"{_DS}X509Data"),
                                     f"{_DS}X509IssuerSerial")
    etree.SubElement(issuer_serial, f"{_DS}X509IssuerName").text = issuer_name
    etree.SubElement(issuer_serial, f"{_DS}X509SerialNumber").text = serial
    return signature


# The profile's Signature is fixed but for four values, so signing writes it from bytes lxml itself
# produced once (below) instead of building and serialising ~16 elements per signature (half the cost
# of an emulator reply's signature). Its SignedInfo's exclusive C14N is likewise fixed but for the
# digest. tests/test_signing.py holds both ways to the same bytes.
_HOLES = ("@DIGEST@", "@VALUE@", "@ISSUER@", "@SERIAL@")


def _written_signature(declared: bool) -> list[bytes]:
    """The serialised Signature split at its four values: `declared` when its parent does not bind ds."""
    parent = etree.Element("parent", nsmap=None if declared else {"ds": DS_NS})
    _signature_element(parent, *_HOLES)
    text = etree.tostring(parent)
    body = text[text.index(b">") + 1:text.rindex(b"</parent>")]
    pieces: list[bytes] = []
    for hole in _HOLES:
        before, body = body.split(hole.encode(), 1)
        pieces.append(before)
    return [*pieces, body]


def _signed_info_c14n() -> tuple[bytes, bytes]:
    signature = _signature_element(etree.Element("parent"), *_HOLES)
    head, tail = _c14n(signature[0], exclusive=True).split(_HOLES[0].encode())
    return head, tail


_WRITTEN = {True: _written_signature(True), False: _written_signature(False)}
_SIGNED_INFO = _signed_info_c14n()
_PLAIN_TEXT = frozenset("-=,. '()/:+_0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")


def _written_form(root: etree._Element, issuer_name: str) -> list[bytes] | None:
    """The written Signature for `root`, or None where only building it says how lxml writes it (a ds
    prefix or DS namespace of its own on the root, or an issuer name lxml would escape)."""
    nsmap = root.nsmap
    if any(uri == DS_NS for prefix, uri in nsmap.items() if prefix != "ds") or not set(issuer_name) <= _PLAIN_TEXT:
        return None
    bound = nsmap.get("ds")
    if bound not in (None, DS_NS):
        return None
    return _WRITTEN[bound is None]


def sign(document: bytes | str | etree._ElementTree | etree._Element, keystore: Keystore | None = None, *,
         identity: Identity | None = None, source: str = "request", schema: Schema | None = None) -> bytes:
    """Sign a DUIS request (or response) and return the serialised signed XML.

    The key is `identity`, else the XML signing key of the RequestID originator in `keystore`.
    Any existing signature is replaced (DCC's tool does the same, with a warning). The counter is
    never touched: choose it before signing (duisconf.counters). An element or tree passed in is
    normalised in place (its whitespace, as DCC's tool reads it) but not given the signature.
    """
    root = _as_tree(document, source)
    if identity is None:
        if keystore is None:
            raise KeyMaterialMissing("no keystore and no identity given to sign with")
        identity = keystore.xml_signing_identity(request_id_of(root).originator)
    digest = _unsigned_digest(root, schema)
    issuer_name, serial = _issuer_name(identity), str(identity.serial)
    head, tail = _SIGNED_INFO
    value = _signature_value(identity, head + digest.encode() + tail)
    written = _written_form(root, issuer_name)
    if written is not None:
        text = _serialised(root)
        closing = text.rfind(b"</")  # the root's end tag (a root with no end tag is signed the built way)
        if closing > 0:
            values = (digest.encode(), value.encode(), issuer_name.encode(), serial.encode())
            signature = b"".join(piece + hole for piece, hole in zip(written, values)) + written[-1]
            return text[:closing] + signature + text[closing:]
    signature = _signature_element(root, digest, value, issuer_name, serial)
    try:
        return _serialised(root)
    finally:
        root.remove(signature)


def _unsigned_digest(root: etree._Element, schema: Schema | None = None) -> str:
    """Drop any signature, normalise as DCC's tool reads the document, and digest it (base64 SHA-256 of
    its exclusive C14N): what an enveloped signature covers."""
    for old in root.findall(f"{_DS}Signature"):
        root.remove(old)
    schema_normalise(root, schema)
    root.tail = None  # text after the root of an in-memory element is not part of the document we write
    return base64.b64encode(hashlib.sha256(_c14n(root.getroottree(), exclusive=True)).digest()).decode()


def _serialised(root: etree._Element) -> bytes:
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", standalone=False)


def _signature_value(identity: Identity, signed_info_c14n: bytes) -> str:
    """base64 of r ‖ s (32 bytes each), XML-DSig's ECDSA SignatureValue."""
    der = identity.private_key.sign(signed_info_c14n, ec.ECDSA(hashes.SHA256()))
    r, s = decode_dss_signature(der)
    return base64.b64encode(r.to_bytes(32, "big") + s.to_bytes(32, "big")).decode()


def sign_element_by_element(document: bytes, identity: Identity) -> bytes:
    """The same signature built as lxml elements and serialised whole: the reference the written form
    of `sign` is held to (tests/test_signing.py)."""
    root = _as_tree(document, "document")
    signature = _signature_element(root, _unsigned_digest(root), "", _issuer_name(identity), str(identity.serial))
    signature[1].text = _signature_value(identity, _c14n(signature[0], exclusive=True))
    return _serialised(root)


@dataclass(frozen=True)
class Verified:
    """The outcome of a successful verification: who signed, and the document without its signature."""

    root: etree._Element
    signer: Identity | None  # None only for a tolerated unsigned error acknowledgement

    @property
    def signed(self) -> bool:
        return self.signer is not None


class TrustStore:
    """Certificates a signature may be made with, indexed by serial number."""

    def __init__(self, identities: Iterable[Identity] = ()):
        self._by_serial: dict[int, Identity] = {}
        for identity in identities:
            self.add(identity)

    def add(self, identity: Identity) -> None:
        self._by_serial[identity.serial] = identity

    def add_certificate(self, cert: x509.Certificate, name: str) -> None:
        from .keystore import certificate_eui, certificate_role

        self.add(Identity(certificate_eui(cert) or "", name, certificate_role(cert), "digitalSignature", cert))

    def __contains__(self, serial: int) -> bool:
        return serial in self._by_serial

    def __len__(self) -> int:
        return len(self._by_serial)

    def get(self, serial: int) -> Identity | None:
        return self._by_serial.get(serial)


def verify(document: bytes | str | etree._ElementTree | etree._Element, trust: TrustStore, *,
           source: str = "document", allow_unsigned_errors: bool = True,
           check_validity: bool = False, at: datetime | None = None, schema: Schema | None = None) -> Verified:
    """Verify the enveloped signature of a DUIS message against `trust`, as DCC's tool does.

    The signature is checked over the schema-normalised document (`schema_normalise`), as DCC's tool
    digests it, so both accept and refuse the same documents. Raises SignatureInvalid saying which of
    these it is: no signature; no usable X509SerialNumber; a serial nobody trusted; an algorithm outside
    the profile; a digest or signature mismatch (tampering); an expired certificate (only with
    check_validity). Unsigned `sr:Response` error acknowledgements (E-codes) are tolerated, as DCC
    Boxed sends some (duis.md §3.4). `document` itself is not changed.
    """
    root = _as_tree(document, source)
    signatures = root.findall(f"{_DS}Signature")
    if not signatures:
        if allow_unsigned_errors and local_name(root) == "Response" and _is_error_ack(root):
            return Verified(root, None)
        raise SignatureInvalid(f"{source}: not signed (no ds:Signature element)")
    if len(signatures) > 1:
        raise SignatureInvalid(f"{source}: {len(signatures)} ds:Signature elements; DUIS allows one")
    normalised = copy.deepcopy(root.getroottree()).getroot()  # the tree around the root too: its PIs are signed
    schema_normalise(normalised, schema)
    signature = normalised.findall(f"{_DS}Signature")[0]
    serials = signature.findall(f".//{_DS}X509SerialNumber")
    if len(serials) != 1 or not (serials[0].text or "").strip().isdigit():
        raise SignatureInvalid(f"{source}: the signature carries no usable X509SerialNumber (need exactly one, decimal)")
    serial = int(serials[0].text.strip())
    identity = trust.get(serial)
    if identity is None:
        raise SignatureInvalid(f"{source}: signed by certificate serial {serial}, which is not trusted")
    if check_validity:
        moment = at or datetime.now(timezone.utc)
        cert = identity.certificate
        if not cert.not_valid_before_utc <= moment <= cert.not_valid_after_utc:
            raise SignatureInvalid(f"{source}: signer {identity.name} is outside its validity period "
                                   f"({cert.not_valid_before_utc:%Y-%m-%d}..{cert.not_valid_after_utc:%Y-%m-%d})")
    return Verified(_check_profile(normalised, signature, identity, source), identity)


C14N_INCLUSIVE = "http://www.w3.org/TR/2001/REC-xml-c14n-20010315"
_TRANSFORMS = {ENVELOPED, EXC_C14N, C14N_INCLUSIVE}


def _check_profile(root: etree._Element, signature: etree._Element, identity: Identity, source: str) -> etree._Element:
    """Verify one enveloped signature in DUIS's profile; returns `root` (a normalised copy) without it."""
    def refuse(reason: str) -> SignatureInvalid:
        return SignatureInvalid(f"{source}: signature is not in the DUIS profile: {reason}")

    if signature is not root[-1]:
        raise refuse("ds:Signature must be the last child of the root element")
    signed_info = signature.find(f"{_DS}SignedInfo")
    if signed_info is None:
        raise refuse("no ds:SignedInfo")
    method = signed_info.find(f"{_DS}CanonicalizationMethod")
    if method is None or method.get("Algorithm") != EXC_C14N:
        raise refuse(f"CanonicalizationMethod {None if method is None else method.get('Algorithm')!r}, expected {EXC_C14N}")
    method = signed_info.find(f"{_DS}SignatureMethod")
    if method is None or method.get("Algorithm") != ECDSA_SHA256:
        raise refuse(f"SignatureMethod {None if method is None else method.get('Algorithm')!r}, expected {ECDSA_SHA256}")
    references = signed_info.findall(f"{_DS}Reference")
    if len(references) != 1 or references[0].get("URI") != "":
        raise refuse('exactly one Reference with URI="" (the whole document) is allowed')
    reference = references[0]
    transforms = [t.get("Algorithm") for t in reference.findall(f"{_DS}Transforms/{_DS}Transform")]
    if ENVELOPED not in transforms or not set(transforms) <= _TRANSFORMS:
        raise refuse(f"Reference transforms {transforms} (allowed: enveloped signature, then C14N)")
    digest_method = reference.find(f"{_DS}DigestMethod")
    if digest_method is None or digest_method.get("Algorithm") != SHA256:
        raise refuse(f"DigestMethod {None if digest_method is None else digest_method.get('Algorithm')!r}, expected {SHA256}")

    # SignedInfo is canonicalised where it stands (exclusive C14N: only the namespaces it uses).
    signed_info_c14n = _c14n(signed_info, exclusive=True)
    # The enveloped transform: the document as it was before the signature was appended. Without an
    # explicit C14N transform the node-set is canonicalised with inclusive C14N (XML-DSig §4.3.3.2),
    # which is what DCC's Java tool does.
    unsigned = root
    unsigned.remove(signature)
    exclusive = EXC_C14N in transforms
    digest = hashlib.sha256(_c14n(unsigned.getroottree(), exclusive=exclusive)).digest()
    try:
        claimed = base64.b64decode("".join((reference.findtext(f"{_DS}DigestValue") or "").split()), validate=True)
        value = base64.b64decode("".join((signature.findtext(f"{_DS}SignatureValue") or "").split()), validate=True)
    except ValueError:
        raise refuse("DigestValue or SignatureValue is not base64") from None
    if claimed != digest:
        raise SignatureInvalid(f"{source}: signature by {identity.name} does not verify: "
                               "the signed content was changed after signing (digest mismatch)")
    if len(value) != 64:
        raise refuse(f"SignatureValue is {len(value)} bytes; ECDSA P-256 r||s is 64")
    der = encode_dss_signature(int.from_bytes(value[:32], "big"), int.from_bytes(value[32:], "big"))
    public_key = identity.certificate.public_key()
    if not isinstance(public_key, ec.EllipticCurvePublicKey):
        raise refuse(f"certificate {identity.name} does not hold an EC key")
    try:
        public_key.verify(der, signed_info_c14n, ec.ECDSA(hashes.SHA256()))
    except InvalidSignature:
        raise SignatureInvalid(f"{source}: signature by {identity.name} does not verify: "
                               "the signature value does not match the signed information") from None
    return unsigned


def _is_error_ack(root: etree._Element) -> bool:
    code = root.findtext(f"{{{SR_NS}}}Header/{{{SR_NS}}}ResponseCode") or ""
    return code.startswith("E")


def response_trust(keystore: Keystore, extra: Iterable[x509.Certificate] = ()) -> TrustStore:
    """Every DCC response-signing certificate in DCC's packages, plus the user's additions."""
    trust = TrustStore(keystore.dcc_response_certificates())
    for n, cert in enumerate(extra):
        trust.add_certificate(cert, f"user-trusted-{n + 1}")
    return trust


def request_trust(keystore: Keystore, extra: Iterable[x509.Certificate] = ()) -> TrustStore:
    """What a DCC-side verifier of requests trusts: the XML signing certificates, as DCC's tool does.

    GBCS signing certificates are not among them, even of the same organisation: a request signed
    with one is refused. Whether the signer may send the request (is it the originator, a DCC User)
    is the access checks' business, not the signature's.
    """
    trust = TrustStore(keystore.xml_signing_certificates())
    for n, cert in enumerate(extra):
        trust.add_certificate(cert, f"user-trusted-{n + 1}")
    return trust
