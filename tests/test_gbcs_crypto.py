"""GBCS cryptography (duisconf.gbcs.crypto, keys): the GBCS §18.4 test vector and DCC's RTDS 4.5.0 as referees."""

from __future__ import annotations

import base64
import random
from http.server import BaseHTTPRequestHandler

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding

from duisconf.errors import ConfigError, InvalidInput, KeyMaterialMissing
from duisconf.gbcs import crypto
from duisconf.gbcs.crypto import DecryptionFailed, Usage
from duisconf.gbcs.frame import CRA, GeneralCiphering, GeneralSigning, GroupingHeader, decode
from duisconf.gbcs.keys import KeyChain, KeyDirectory, KeyRing, SmkiSource, Zaz1Source, for_target, smki_api_key
from duisconf.httpserver import BackgroundServer
from duisconf.gbcs.message import decode_message, payload_decryptor, payload_encryptor

from gbcs_data import RTDS_KEYSTORE, gbcs_use_case, rtds_keys, rtds_messages

# --------------------------------------------------------------------------------------------------
# GBCS §18.4 cryptographic test vectors (numbers as published in GBCS; read from HenryGiraldo/gbcs's tests).
# Only the public halves are kept here: the repository holds no private key material, so the vector's MAC
# (which needs a KA private key) is not recomputed here; the RTDS tests below verify 811 real MACs with the
# RTDS keystore read from ../shared at test time.

SUPPLIER_A = bytes.fromhex("123456789ABCDEF0")
DEVICE_A = bytes.fromhex("FFFFFFFFFFFFFFFE")
ACB = bytes.fromhex("90B3D51F30000002")
SUPPLIER_A_DS_PUBLIC = bytes.fromhex(
    "76628E1C84EF7935548AE5D62C7BB3AD28964CF794F0387A697EEC19CDD98F46"
    "0A4D5E19087EF7216ED89C29831A6EE838C8DE88EF34F11D3F41F36D80B2A5D5"
)
DEVICE_A_KA_PUBLIC = bytes.fromhex(
    "2DB45A3F21889438B42C8F464C75292BACF5FDDB5DA0B492501B299CBFE92D8F"
    "DB90FC8FF4026129838B1BCAD1402CAE47FE7D8084E409A41AFCE16D63579C5F"
)
# ECS04b Reset Meter Balance, Supplier A -> Device A, signed by Supplier A and MAC'd by the ACB.
ECS04B_VECTOR = bytes.fromhex(
    "DD00000000000081A91100000000DF0901000000000000000108123456789ABCDEF008FFFFFFFFFFFFFFFE000200B335D9"
    "2000000100030300700000130A00FF020300700000130A01FF020300700000130A02FF0203050000000005000000000500"
    "0000004059045AB0F554622B0360340B9D87B5A23ED5723B41DE3F206E58CDD10F915B9FE2E12E2DA3632478A8DF678E41"
    "8895869AC1E55318CCE04D120D2D6B44DC167B5D832D15B57A56D620F198B3"
)


def _public(raw: bytes) -> ec.EllipticCurvePublicKey:
    return ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), b"\x04" + raw)


def _vector_keys() -> KeyRing:
    return (
        KeyRing("§18.4")
        .add(SUPPLIER_A, "ds", public_key=_public(SUPPLIER_A_DS_PUBLIC))
        .add(DEVICE_A, "ka", public_key=_public(DEVICE_A_KA_PUBLIC))
    )


def test_section_18_4_vector_signature_verifies_and_the_mac_needs_a_private_key() -> None:
    frame = GeneralCiphering.decode(ECS04B_VECTOR)
    assert isinstance(frame.inner, GeneralSigning)
    assert crypto.signature_matches(frame.inner.signed_bytes(), frame.inner.signature, _public(SUPPLIER_A_DS_PUBLIC))
    decoded = decode_message(ECS04B_VECTOR, _vector_keys())
    assert (decoded.mac, decoded.signature) == ("no-key", "valid")
    assert frame.encode() == ECS04B_VECTOR  # the frame re-encodes byte for byte


def test_section_18_4_vector_any_wrong_signed_byte_fails_the_signature() -> None:
    keys = _vector_keys()
    for at in (20, 40, 80, len(ECS04B_VECTOR) - 90):
        bad = bytearray(ECS04B_VECTOR)
        bad[at] ^= 0x01
        try:
            decoded = decode_message(bytes(bad), keys)
        except InvalidInput:
            continue  # a framing byte: refused outright
        assert decoded.signature == "invalid", at


def test_sign_and_verify_round_trip() -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    assert len(crypto.public_point(key.public_key())) == 65
    sig = crypto.sign(b"signed bytes", key)
    assert len(sig) == 64
    assert crypto.signature_matches(b"signed bytes", sig, key.public_key())
    assert not crypto.signature_matches(b"signed bytez", sig, key.public_key())
    assert not crypto.signature_matches(b"signed bytes", sig[:-1], key.public_key())


# --------------------------------------------------------------------------------------------------
# Building blocks


def test_other_info_layout() -> None:
    info = crypto.other_info(bytes.fromhex("0011223344556677"), Usage.PAYLOAD, 0x3E8, bytes.fromhex("8899aabbccddeeff"))
    assert info.hex() == "60857406080300" "0011223344556677" "0904" "00000000000003e8" "8899aabbccddeeff"
    assert len(info) == 33
    with pytest.raises(InvalidInput):
        crypto.other_info(bytes(7), 1, 0, bytes(8))


def test_payload_encryption_round_trip_and_failures() -> None:
    key, title = bytes(range(16)), bytes.fromhex("00DB1234567890A0")
    blob = crypto.encrypt_part(key, title, b"protected attribute")
    assert blob[:5] == bytes.fromhex("3100000000") and len(blob) == 5 + 19 + 12
    assert crypto.decrypt_part(key, title, blob) == b"protected attribute"
    for bad, reason in [
        (blob[:-1] + bytes([blob[-1] ^ 1]), "GCM tag does not verify"),
        (b"\x30" + blob[1:], "security header 0x30"),
        (blob[:10], "shorter than header"),
        (blob[:1] + b"\x01" + blob[2:], "invocation counter"),
    ]:
        with pytest.raises(DecryptionFailed, match=f"decryption failed .*{reason}"):
            crypto.decrypt_part(key, title, bad)
    with pytest.raises(DecryptionFailed):
        crypto.decrypt_part(bytes(16), title, blob)
    assert issubclass(DecryptionFailed, InvalidInput)


def test_shared_secret_is_cached_per_key_pair() -> None:
    a, b = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    crypto.clear_shared_secrets()
    z = crypto.shared_secret(a, b.public_key())
    assert z == crypto.shared_secret(b, a.public_key())  # ECDH is symmetric
    assert len(crypto._SHARED_SECRETS) == 2  # one entry per (peer, own) direction, no private key held
    assert all(isinstance(k, tuple) and all(isinstance(p, bytes) for p in k) for k in crypto._SHARED_SECRETS)
    with pytest.raises(InvalidInput, match="P-256"):
        crypto.shared_secret(a, ec.generate_private_key(ec.SECP384R1()).public_key())


# --------------------------------------------------------------------------------------------------
# Key sources


def test_key_directory_reads_dccs_layout() -> None:
    keys = rtds_keys()
    assert keys.ka_certificate("90-B3-D5-1F-30-01-00-00")  # ordinary supplier KA first
    assert len(keys.certificates("90b3d51f30010000", "ka")) == 2  # and the prepayment (-pp) one
    assert len(keys.certificates("90b3d51f30010000", "ka", prepayment=True)) == 1
    assert keys.ds_private_key(bytes.fromhex("90b3d51f30010000"))
    # A private key without a certificate still gives its public key (§18.4's Device A recipient keys).
    assert keys.public_keys("abababababababab", "ka")
    with pytest.raises(KeyMaterialMissing, match="no KA private key for 00-db-12-34-56-78-90-a0") as exc:
        keys.ka_private_key("00-DB-12-34-56-78-90-A0")
    assert "PRIVATE KEY" not in str(exc.value)
    assert "PRIVATE" not in repr(keys)


def test_zaz1_source_and_chain() -> None:
    zaz1 = Zaz1Source()
    assert zaz1.ka_private_key("90-B3-D5-1F-30-00-00-02")  # the ACB's KA pair of the test PKI
    assert len(zaz1.private_keys("90-B3-D5-1F-30-01-00-00", "ka", prepayment=True)) >= 1
    # XML signing keys are not GBCS keys.
    assert all(c.subject.rfc4514_string() for c in zaz1.certificates("90-B3-D5-1F-30-01-00-00", "ds"))
    chain = KeyChain(KeyRing("empty"), zaz1)
    assert chain.ka_private_key("90-B3-D5-1F-30-00-00-02")
    assert "ZAZ1" in chain.name


# --------------------------------------------------------------------------------------------------
# DCC's RTDS 4.5.0: every MAC the keystore can check, every signature, every encrypted part


def test_rtds_macs_verify() -> None:
    keys = rtds_keys()
    verdicts: dict[str, list[str]] = {}
    for m in rtds_messages():
        if m.data[0] != 0xDD:
            continue
        decoded = decode_message(m.data, keys, use_case=gbcs_use_case(m.use_case))
        verdicts.setdefault(decoded.mac, []).append(m.name)
        if decoded.mac == "no-key":
            assert decoded.mac_reason.startswith("mac: no-key (no KA private key for 00-db-12-34-56-78-90-a")
    assert len(verdicts["valid"]) == 811
    assert sorted(verdicts["no-key"]) == [
        "NA_PCS01/PCS01_NA_SUCCESS_COMMAND_GBCS.HEX", "NA_PCS01/PCS01_NA_SUCCESS_RESPONSE_GBCS.HEX",
        "NA_PCS02/PCS02_NA_SUCCESS_COMMAND_GBCS.HEX", "NA_PCS02/PCS02_NA_SUCCESS_RESPONSE_GBCS.HEX",
    ] or pytest.fail(f"no-key: {verdicts['no-key']}")
    assert set(verdicts) == {"valid", "no-key"}


def test_rtds_signatures_verify() -> None:
    keys = rtds_keys()
    counts: dict[str, int] = {}
    for m in rtds_messages():
        decoded = decode_message(m.data, keys, use_case=gbcs_use_case(m.use_case))
        counts[decoded.signature] = counts.get(decoded.signature, 0) + 1
        if m.kind == "PRECOMMAND":
            assert decoded.signature == "absent", m.name  # RTDS pre-commands carry no signature field
    assert counts == {"valid": 472, "empty": 625, "absent": 178}


def _encrypted_blobs(content: bytes) -> list[bytes]:
    """Encrypted parts found without a content codec: '31 00000000' preceded by the part's length
    (a DLMS octet-string length, short or BER 81/82, or a GBZ component's 2-byte length)."""
    found = []
    at = content.find(b"\x31\x00\x00\x00\x00")
    while at >= 0:
        lengths = {content[at - 1]} if at >= 1 else set()
        if at >= 2:
            lengths.add(int.from_bytes(content[at - 2 : at], "big"))
        found += [content[at : at + n] for n in sorted(lengths) if 17 <= n <= len(content) - at]
        at = content.find(b"\x31\x00\x00\x00\x00", at + 1)
    return found


def test_rtds_encrypted_parts_decrypt_and_reencrypt() -> None:
    """All 48 RTDS messages with encrypted parts decrypt (GCM tag verifies) and re-encrypt byte for byte."""
    keys = rtds_keys()
    decrypted = []
    for m in rtds_messages():
        signing = decode(m.data)
        signing = signing.inner if isinstance(signing, GeneralCiphering) else signing
        decrypt = payload_decryptor(signing.header, keys)
        for blob in _encrypted_blobs(signing.content):
            try:
                plaintext = decrypt(blob)
            except DecryptionFailed:
                continue  # a candidate length that is not a part
            decrypted.append(m.name)
            assert payload_encryptor(signing.header, keys)(plaintext) == blob, m.name
            break
    assert len(decrypted) == 48, decrypted


def test_decryption_without_keys_is_a_verdict() -> None:
    header = GroupingHeader(CRA.RESPONSE, 1, bytes(8), bytes.fromhex("90b3d51f30010000"), None, 0x27)
    with pytest.raises(DecryptionFailed, match="no key source"):
        payload_decryptor(header, None)(b"\x31" + bytes(20))
    with pytest.raises(DecryptionFailed, match="no-key: no KA private key for 00-00-00-00-00-00-00-00"):
        payload_decryptor(header, KeyRing())(b"\x31" + bytes(20))


def test_flipped_bit_in_a_macd_message_invalidates_the_mac() -> None:
    """Sampled bit flips over RTDS general-ciphering messages (seeded, bounded): never a valid MAC."""
    keys = rtds_keys()
    rng = random.Random(1018)
    macd = [m for m in rtds_messages() if m.data[0] == 0xDD and "PCS0" not in m.name]
    invalid = 0
    for m in rng.sample(macd, 40):
        for _ in range(5):
            bad = bytearray(m.data)
            at = rng.randrange(len(bad))
            bad[at] ^= 1 << rng.randrange(8)
            try:
                decoded = decode_message(bytes(bad), keys, use_case=gbcs_use_case(m.use_case))
            except InvalidInput as exc:
                assert "byte offset" in str(exc)
                continue
            # A flip in a party's system title names other (unknown) keys: no-key; anywhere else: invalid.
            assert decoded.mac in ("invalid", "no-key"), (m.name, at)
            invalid += decoded.mac == "invalid"
    assert invalid > 100


def test_rtds_keystore_unreadable_key_names_the_file(tmp_path) -> None:  # noqa: ANN001
    (tmp_path / "0011223344556677-ka.key").write_text("not a key\n")
    with pytest.raises(KeyMaterialMissing, match="0011223344556677-ka.key: not an unencrypted PKCS#8") as exc:
        KeyDirectory(tmp_path).ka_private_key("00-11-22-33-44-55-66-77")
    assert "not a key" not in str(exc.value)
    assert RTDS_KEYSTORE.name == "keystore"


# --------------------------------------------------------------------------------------------------
# SMKI: a loopback server answering as a DCC Boxed kit's SMKI interface does (facts in reference/gbcs.md)


class _KitSmki(BaseHTTPRequestHandler):
    """certificatesearch by CertificateSubjectAltName, retrievecertificate by serial; 402 when unknown."""

    certificates: dict[str, dict[str, x509.Certificate]] = {}  # dashed EUI -> usage -> certificate
    seen: list[tuple[str, str, bytes]] = []

    def do_POST(self) -> None:  # noqa: N802
        body = self.rfile.read(int(self.headers["Content-Length"]))
        path, _, query = self.path.partition("?")
        self.seen.append((path, query, body))
        if query != f"apikey={smki_api_key()}":
            return self._answer(401, b"")
        text = body.decode()
        if path == "/services/certificatesearch":
            eui = text.split("<CertificateSubjectAltName>")[1].split("<")[0]
            found = self.certificates.get(eui)
            if not found:
                return self._answer(402, b"")
            results = "".join(
                f"<Result><CertificateUsage>{usage.upper()}</CertificateUsage><CertificateStatus>I</CertificateStatus>"
                f"<CertificateRole>127</CertificateRole><CertificateSerial>{cert.serial_number:x}</CertificateSerial></Result>"
                for usage, cert in found.items()
            )
            return self._answer(200, f"<CertificateSearchResponse>{results}</CertificateSearchResponse>".encode())
        if path == "/services/retrievecertificate":
            serial = int(text.split("<CertificateSerial>")[1].split("<")[0], 16)
            for eui, by_usage in self.certificates.items():
                for cert in by_usage.values():
                    if cert.serial_number == serial:
                        der = base64.b64encode(cert.public_bytes(Encoding.DER)).decode()
                        return self._answer(200, (
                            "<CertificateDataResponse><CertificateResponse>"
                            f"<CertificateBody>{der}</CertificateBody><CertificateSubjectAltName>{eui}"
                            "</CertificateSubjectAltName></CertificateResponse></CertificateDataResponse>").encode())
            return self._answer(402, b"")
        return self._answer(404, b"")

    def _answer(self, status: int, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/xml")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


def test_smki_source_fetches_device_certificates_from_a_kit() -> None:
    from gbcs_data import rtds_message

    keys = rtds_keys()
    esme = "00-db-12-34-56-78-90-a0"
    _KitSmki.certificates = {esme: {"ka": keys.ka_certificate(esme), "ds": keys.ds_certificate(esme)}}
    _KitSmki.seen = []
    server = BackgroundServer(_KitSmki, "127.0.0.1", 0, "smki-test")
    port = server.start()
    try:
        smki = SmkiSource(f"http://127.0.0.1:{port}")
        assert smki.ka_certificate(bytes.fromhex("00db1234567890a0")) == keys.ka_certificate(esme)
        assert smki.certificates("00-DB-12-34-56-78-90-FF", "ka") == []  # 402: not found
        with pytest.raises(KeyMaterialMissing, match="no KA certificate for 00-db-12-34-56-78-90-ff in SMKI"):
            smki.ka_certificate("00-DB-12-34-56-78-90-FF")
        asked = len(_KitSmki.seen)
        smki.ka_certificate(esme)
        assert len(_KitSmki.seen) == asked  # cached per EUI and usage
        assert b"<CertificateSubjectAltName>00-db-12-34-56-78-90-a0</CertificateSubjectAltName>" in _KitSmki.seen[0][2]
        # The device's certificate from the kit + the supplier's private key: the ECS17b response MAC verifies.
        supplier_only = KeyRing("supplier").add("90-B3-D5-1F-30-01-00-00", "ka",
                                               private_key=keys.ka_private_key("90-B3-D5-1F-30-01-00-00"))
        m = rtds_message("ECS17b_4.1.1_SINGLE_SUCCESS_RESPONSE_GBCS.HEX")
        assert decode_message(m.data, KeyChain(supplier_only, smki)).mac == "valid"
        assert decode_message(m.data, supplier_only).mac == "no-key"
    finally:
        server.stop()
    with pytest.raises(ConfigError, match="unreachable"):
        SmkiSource(f"http://127.0.0.1:{port}", timeout=0.5).certificates(esme, "ka")


def test_target_smki_base_url(tmp_path) -> None:  # noqa: ANN001
    from duisconf.targets import load_target

    path = tmp_path / "kit.toml"
    path.write_text('[target]\nkind = "emulator"\n[smki]\nbase_url = "http://dccboxed:8083/"\n')
    target = load_target(str(path))
    assert target.smki_base_url == "http://dccboxed:8083/"
    assert "SMKI http://dccboxed:8083/" in for_target(target).name
    path.write_text('[target]\nkind = "emulator"\n[smki]\nbase_url = "dccboxed"\n')
    with pytest.raises(ConfigError, match=r"\[smki\] base_url .* expected an http\(s\) URL"):
        load_target(str(path))
