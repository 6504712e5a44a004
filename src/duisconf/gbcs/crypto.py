"""GBCS cryptography: key agreement, the KDF, the MAC, payload encryption and the grouping-header signature.

All of it as GBCS specifies and DCC's RTDS 4.5.0 proves (facts in reference/gbcs.md "Cryptography"):

* ECDH on P-256 between two Key Agreement (KA) keys gives Z; SHA-256(00000001 ‖ Z ‖ OtherInfo) cut to
  16 bytes is the AES-128 key. OtherInfo names the originator, the purpose (transaction-id usage byte),
  the originator counter and the recipient, so each message gets its own key.
* The MAC is an AES-128-GCM tag over no plaintext, cut to 12 bytes, with AAD ``11 00000000 00`` ‖ the
  general-signing APDU and IV = originator system title ‖ 00000000.
* Encrypted payload parts travel as ``31 00000000`` ‖ ciphertext ‖ 12-byte tag, AAD the single byte 31.
* The signature is ECDSA P-256 / SHA-256 over the general-signing APDU from the byte after DF to the end
  of the content, carried raw as r ‖ s.

Z is cached per key pair (an ECDH costs more than a whole warm decode): the cache is keyed by the two
public points, never by private key bytes; it is bounded, and nothing in it is ever printed.
"""

from __future__ import annotations

import enum
import hashlib
import hmac

from cryptography.exceptions import InvalidSignature, InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature, encode_dss_signature
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from ..errors import InvalidInput

# The KDF OtherInfo's AlgorithmID, seven bytes as GBCS writes them (checked against the RTDS).
ALGORITHM_ID = bytes.fromhex("60857406080300")
MAC_LENGTH = 12
TAG_LENGTH = 12
ENCRYPTED_PART_HEADER = bytes.fromhex("3100000000")  # security control 0x31 (encrypted) + invocation counter 0
MAC_SECURITY_HEADER = bytes.fromhex("1100000000")  # security control 0x11 (authenticated) + invocation counter 0
_PAYLOAD_AAD = b"\x31"
_IV_SUFFIX = bytes(4)


class Usage(enum.IntEnum):
    """The transaction-id byte OtherInfo carries: which key a message uses (GBCS KDF)."""

    COMMAND = 1
    RESPONSE = 2
    ALERT = 3
    PAYLOAD = 4  # encryption of payload parts (ESME protected attributes, GBZ components, alerts)


class DecryptionFailed(InvalidInput):
    """An encrypted payload part could not be decrypted: wrong key, corrupted ciphertext, or malformed."""


# --------------------------------------------------------------------------------------------------
# Key agreement and the KDF

_SHARED_SECRETS: dict[tuple[bytes, bytes], bytes] = {}
_SHARED_SECRETS_MAX = 4096  # plenty for a run; bounded so a long-lived process cannot grow it forever


_POINTS: dict[int, tuple[object, bytes]] = {}  # id(key) -> (key, point): the key is held, so its id stays its own


def public_point(key: ec.EllipticCurvePublicKey) -> bytes:
    """The uncompressed point 04 ‖ x ‖ y of a public key (the cache key and the RTDS's raw key form)."""
    known = _POINTS.get(id(key))
    if known is not None and known[0] is key:
        return known[1]
    point = key.public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)
    if len(_POINTS) >= _SHARED_SECRETS_MAX:
        _POINTS.clear()
    _POINTS[id(key)] = (key, point)
    return point


_OWN_POINTS: dict[int, tuple[object, bytes]] = {}  # id(private key) -> (key, its public point); no key bytes


def _own_point(private_key: ec.EllipticCurvePrivateKey) -> bytes:
    known = _OWN_POINTS.get(id(private_key))
    if known is not None and known[0] is private_key:
        return known[1]
    point = private_key.public_key().public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)
    if len(_OWN_POINTS) >= _SHARED_SECRETS_MAX:
        _OWN_POINTS.clear()
    _OWN_POINTS[id(private_key)] = (private_key, point)
    return point


def _check_p256(key: object, what: str) -> None:
    if not isinstance(key, (ec.EllipticCurvePrivateKey, ec.EllipticCurvePublicKey)) or not isinstance(
        key.curve, ec.SECP256R1
    ):
        raise InvalidInput(f"GBCS key agreement needs a P-256 {what} key")


def shared_secret(private_key: ec.EllipticCurvePrivateKey, peer: ec.EllipticCurvePublicKey) -> bytes:
    """Z: the ECDH shared secret of one party's KA private key and the other's KA public key (cached)."""
    _check_p256(private_key, "private")
    _check_p256(peer, "public")
    cache_key = (public_point(peer), _own_point(private_key))
    z = _SHARED_SECRETS.get(cache_key)
    if z is None:
        z = private_key.exchange(ec.ECDH(), peer)
        if len(_SHARED_SECRETS) >= _SHARED_SECRETS_MAX:
            _SHARED_SECRETS.clear()
        _SHARED_SECRETS[cache_key] = z
    return z


def clear_shared_secrets() -> None:
    """Forget every cached Z (for benchmarks of the cold path, and tests)."""
    _SHARED_SECRETS.clear()


def other_info(originator: bytes, usage: int, counter: int, recipient: bytes) -> bytes:
    """The 33-byte KDF OtherInfo: AlgorithmID ‖ originator title ‖ 09 ‖ usage ‖ counter ‖ recipient title."""
    if len(originator) != 8 or len(recipient) != 8:
        raise InvalidInput("OtherInfo needs 8-byte originator and recipient system titles")
    if not 0 <= counter < 2**64:
        raise InvalidInput(f"OtherInfo counter {counter} is outside 0..2^64-1")
    return ALGORITHM_ID + originator + bytes([0x09, usage]) + counter.to_bytes(8, "big") + recipient


def derive_key(z: bytes, originator: bytes, usage: int, counter: int, recipient: bytes) -> bytes:
    """The AES-128 key: the first 16 bytes of SHA-256(00000001 ‖ Z ‖ OtherInfo) (single-step KDF, one round)."""
    return hashlib.sha256(b"\x00\x00\x00\x01" + z + other_info(originator, usage, counter, recipient)).digest()[:16]


def _iv(originator: bytes) -> bytes:
    if len(originator) != 8:
        raise InvalidInput("the GCM IV needs an 8-byte originator system title")
    return originator + _IV_SUFFIX


# --------------------------------------------------------------------------------------------------
# MAC of the general-ciphering envelope


def compute_mac(
    key: bytes, originator: bytes, signing_apdu: bytes, security_header: bytes = MAC_SECURITY_HEADER
) -> bytes:
    """The 12-byte MAC of a general-signing APDU (DF … signature field) from ``originator``.

    AAD = the envelope's security header (``11 00000000`` in every GBCS message) ‖ 00 ‖ the APDU: taking
    the header from the frame means a tampered invocation counter fails too.
    """
    return gcm_tag(key, originator, signing_apdu, security_header)[:MAC_LENGTH]


def gcm_tag(key: bytes, originator: bytes, data: bytes, security_header: bytes = MAC_SECURITY_HEADER) -> bytes:
    """The whole 16-byte AES-GCM tag GBCS authenticates with (no plaintext; AAD = security header ‖ 00 ‖
    `data`; IV = the originator's title ‖ 00000000). A message MAC is its first 12 bytes, a UTRN's
    authenticator its last 4 (gbcs.utrn)."""
    # AESGCM's one-shot call (a third of the cost of a Cipher context here): no plaintext, so its output
    # is the tag alone.
    return AESGCM(key).encrypt(_iv(originator), b"", security_header + b"\x00" + data)


def mac_matches(
    key: bytes, originator: bytes, signing_apdu: bytes, mac: bytes, security_header: bytes = MAC_SECURITY_HEADER
) -> bool:
    """Constant-time check of a received MAC."""
    return hmac.compare_digest(compute_mac(key, originator, signing_apdu, security_header), mac)


# --------------------------------------------------------------------------------------------------
# Payload encryption (inner security header 31 00000000)


def encrypt_part(key: bytes, originator: bytes, plaintext: bytes) -> bytes:
    """``31 00000000`` ‖ AES-128-GCM ciphertext ‖ 12-byte tag: an encrypted part as GBCS carries it."""
    sealed = AESGCM(key).encrypt(_iv(originator), plaintext, _PAYLOAD_AAD)  # ciphertext ‖ 16-byte tag
    # A GCM tag cut to 12 bytes is the full tag's first 12 (NIST SP 800-38D §5.2.1.2).
    return ENCRYPTED_PART_HEADER + sealed[:-16] + sealed[-16:-16 + TAG_LENGTH]


def decrypt_part(key: bytes, originator: bytes, blob: bytes) -> bytes:
    """The plaintext of an encrypted part (``31 00000000`` ‖ ciphertext ‖ tag), or DecryptionFailed."""
    if len(blob) < len(ENCRYPTED_PART_HEADER) + TAG_LENGTH:
        raise DecryptionFailed(f"decryption failed (encrypted part of {len(blob)} bytes is shorter than header + tag)")
    if blob[:1] != b"\x31":
        raise DecryptionFailed(f"decryption failed (security header 0x{blob[0]:02X}, expected 0x31)")
    if blob[1:5] != bytes(4):
        raise DecryptionFailed(f"decryption failed (invocation counter {blob[1:5].hex()}, expected 00000000)")
    body, tag = blob[5:-TAG_LENGTH], blob[-TAG_LENGTH:]
    decryptor = Cipher(algorithms.AES(key), modes.GCM(_iv(originator), tag, min_tag_length=TAG_LENGTH)).decryptor()
    decryptor.authenticate_additional_data(_PAYLOAD_AAD)
    try:
        return decryptor.update(body) + decryptor.finalize()
    except InvalidTag:
        raise DecryptionFailed("decryption failed (GCM tag does not verify: wrong key or altered ciphertext)") from None


# --------------------------------------------------------------------------------------------------
# Signature of the general-signing block


def sign(signed_bytes: bytes, private_key: ec.EllipticCurvePrivateKey) -> bytes:
    """ECDSA P-256 / SHA-256 over the signed bytes, as the 64-byte r ‖ s GBCS carries."""
    _check_p256(private_key, "digital-signature private")
    r, s = decode_dss_signature(private_key.sign(signed_bytes, ec.ECDSA(hashes.SHA256())))
    return r.to_bytes(32, "big") + s.to_bytes(32, "big")


def signature_matches(signed_bytes: bytes, signature: bytes, public_key: ec.EllipticCurvePublicKey) -> bool:
    """True when the 64-byte r ‖ s is a valid ECDSA P-256 / SHA-256 signature by ``public_key``."""
    _check_p256(public_key, "digital-signature public")
    if len(signature) != 64:
        return False
    r, s = int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big")
    try:
        public_key.verify(encode_dss_signature(r, s), signed_bytes, ec.ECDSA(hashes.SHA256()))
    except (InvalidSignature, ValueError):
        return False
    return True
