"""Emulated devices' GBCS identities (duisconf.emulator.identities) and the emulator's SMKI interface
(duisconf.emulator.smki): reproducible from the seed, shaped like DCC's RTDS device certificates, read by
the codec's SMKI client and by DCC's own keystore client exactly as from a DCC Boxed kit."""

from __future__ import annotations

import base64
import json
import random
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from cryptography.x509.oid import SignatureAlgorithmOID
from gbcs_data import RTDS_KEYSTORE, rtds_keys, rtds_message

from duisconf import paths
from duisconf.emulator import identities
from duisconf.emulator.identities import DEFAULT_SEED, DeviceIdentities, device_eui, for_seed
from duisconf.emulator.server import DCCEmulator
from duisconf.emulator.smki import SmkiRepository, answer
from duisconf.emulator.state import Device, Inventory
from duisconf.errors import InvalidInput
from duisconf.gbcs import CRA, GroupingHeader
from duisconf.gbcs.keys import KeyChain, KeyRing, SmkiSource, Zaz1Source, smki_api_key
from duisconf.gbcs.message import decode_message, encode_message
from duisconf.keystore import zaz1

ESME = "00-DB-12-34-56-78-90-A0"     # an RTDS reference device the emulator holds
SUPPLIER = "90-B3-D5-1F-30-01-00-00"  # the ZAZ1 / RTDS import supplier
UNKNOWN = "00-DB-12-34-56-78-90-FF"


def _point(key: ec.EllipticCurvePrivateKey | ec.EllipticCurvePublicKey) -> bytes:
    public = key.public_key() if isinstance(key, ec.EllipticCurvePrivateKey) else key
    return public.public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)


@pytest.fixture(scope="module")
def dcc():
    with DCCEmulator(port=0) as emulator:
        yield emulator


def _post(dcc: DCCEmulator, service: str, body: str | bytes, *, apikey: str | None = "default") -> requests.Response:
    query = "" if apikey is None else f"?apikey={smki_api_key() if apikey == 'default' else apikey}"
    return requests.post(f"{dcc.smki_url}services/{service}{query}", data=body,
                         headers={"Content-Type": "application/xml"}, timeout=5)


# -- identities ------------------------------------------------------------------------------------


def test_keys_and_certificates_are_reproducible_from_the_seed() -> None:
    one, again, other = DeviceIdentities("seed one"), DeviceIdentities("seed one"), DeviceIdentities("seed two")
    for usage in ("ka", "ds"):
        assert _point(one.private_key(ESME, usage)) == _point(again.private_key(ESME, usage))
        assert one.certificate(ESME, usage).public_bytes(Encoding.DER) == \
            again.certificate(ESME, usage).public_bytes(Encoding.DER)  # deterministic ECDSA: same bytes
        assert _point(one.private_key(ESME, usage)) != _point(other.private_key(ESME, usage))
        assert one.certificate(ESME, usage).serial_number != other.certificate(ESME, usage).serial_number
    assert _point(one.private_key(ESME, "ka")) != _point(one.private_key(ESME, "ds"))
    assert _point(one.private_key(ESME, "ka")) != _point(one.private_key("00-DB-12-34-56-78-90-A1", "ka"))
    assert one.ca_certificate.public_bytes(Encoding.DER) == again.ca_certificate.public_bytes(Encoding.DER)
    # Any EUI spelling is the same device; the module-level helpers share one cache per seed.
    assert one.identity("00db1234567890a0", "ka") is one.identity(bytes.fromhex("00db1234567890a0"), "ka")
    assert for_seed() is for_seed(DEFAULT_SEED)
    assert identities.certificate(ESME, "ka") == for_seed().certificate(ESME, "ka")
    assert _point(identities.private_key(ESME, "ka")) == _point(for_seed().private_key(ESME, "ka"))
    with pytest.raises(InvalidInput, match="key usage must be 'ka' or 'ds'"):
        one.certificate(ESME, "xx")
    with pytest.raises(InvalidInput, match="not an EUI-64"):
        one.certificate("nope", "ka")
    with pytest.raises(InvalidInput, match="seed must not be empty"):
        DeviceIdentities("")


def test_private_keys_never_appear_in_reprs() -> None:
    ids = DeviceIdentities("repr seed")
    secret = ids.private_key(ESME, "ka").private_numbers().private_value
    texts = [repr(ids), repr(ids.identity(ESME, "ka")), repr(ids.key_source(lambda eui: True))]
    for text in texts:
        assert f"{secret:x}" not in text.lower() and str(secret) not in text and "repr seed" not in text


def test_device_certificate_shape() -> None:
    """As an SMKI device certificate: empty subject, EUI in the SAN, one key usage, issued by our CA."""
    ids = DeviceIdentities("shape")
    for usage, wanted in (("ka", "key_agreement"), ("ds", "digital_signature")):
        cert = ids.certificate(ESME, usage)
        assert len(cert.subject) == 0 and cert.version is x509.Version.v3
        assert cert.issuer == ids.ca_certificate.subject
        assert cert.signature_algorithm_oid == SignatureAlgorithmOID.ECDSA_WITH_SHA256
        assert isinstance(cert.public_key().curve, ec.SECP256R1)
        assert _point(cert.public_key()) == _point(ids.private_key(ESME, usage))
        key_usage = cert.extensions.get_extension_for_class(x509.KeyUsage)
        assert key_usage.critical
        assert [f for f in ("digital_signature", "key_agreement", "key_cert_sign") if getattr(key_usage.value, f)] == [wanted]
        assert device_eui(cert) == "00db1234567890a0"
        cert.verify_directly_issued_by(ids.ca_certificate)  # the chain verifies
        aki = cert.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier).value.key_identifier
        assert aki == ids.ca_certificate.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value.digest
        assert cert.not_valid_after_utc.year == 9999
    # Another CA does not verify it.
    with pytest.raises(Exception):
        ids.certificate(ESME, "ka").verify_directly_issued_by(DeviceIdentities("other CA").ca_certificate)


def test_device_certificate_mirrors_an_rtds_device_certificate(tmp_path: Path) -> None:
    """Same extensions in the same order and criticality, same SAN bytes, policy and key identifier method
    as DCC's RTDS certificate for the same ESME; only the issuer (our CA), serial and key differ."""
    if not RTDS_KEYSTORE.is_dir():
        pytest.skip(f"DCC's RTDS keystore is absent ({RTDS_KEYSTORE}); runs where ../shared/dcc-data exists (CI)")
    ids = DeviceIdentities("rtds shape")
    for usage in ("ka", "ds"):
        rtds = x509.load_pem_x509_certificate((RTDS_KEYSTORE / f"00db1234567890a0-{usage}.pem").read_bytes())
        mine = ids.certificate(ESME, usage)
        assert [(e.oid, e.critical) for e in mine.extensions] == [(e.oid, e.critical) for e in rtds.extensions]
        for kind in (x509.KeyUsage, x509.SubjectAlternativeName, x509.CertificatePolicies):
            assert mine.extensions.get_extension_for_class(kind).value == rtds.extensions.get_extension_for_class(kind).value
        for cert in (rtds, mine):  # SKI: RFC 5280 method 2 on both (DCC's and ours)
            ski = cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value.digest
            assert ski == identities.key_identifier(cert.public_key())
        assert (mine.subject, mine.not_valid_after_utc, mine.signature_algorithm_oid) == \
            (rtds.subject, rtds.not_valid_after_utc, rtds.signature_algorithm_oid)
        assert mine.issuer != rtds.issuer and _point(mine.public_key()) != _point(rtds.public_key())
        assert device_eui(rtds) == device_eui(mine)
    if shutil.which("openssl"):  # an outside verifier agrees the chain holds
        (tmp_path / "ca.pem").write_bytes(ids.ca_certificate.public_bytes(Encoding.PEM))
        (tmp_path / "ka.pem").write_bytes(ids.certificate(ESME, "ka").public_bytes(Encoding.PEM))
        done = subprocess.run(["openssl", "verify", "-CAfile", str(tmp_path / "ca.pem"), str(tmp_path / "ka.pem")],
                              capture_output=True, text=True, timeout=30)
        assert done.returncode == 0 and ": OK" in done.stdout, done.stdout + done.stderr


# -- the SMKI interface ----------------------------------------------------------------------------


def test_smki_search_and_retrieve_through_the_codecs_key_source(dcc: DCCEmulator) -> None:
    smki = SmkiSource(dcc.smki_url)
    assert smki.ka_certificate(ESME) == dcc.identities.certificate(ESME, "ka")
    assert smki.ds_certificate(bytes.fromhex("00db1234567890a0")) == dcc.identities.certificate(ESME, "ds")
    assert smki.certificates(UNKNOWN, "ka") == []  # 402: not a device of this emulator
    assert smki.private_keys(ESME, "ka") == []      # SMKI serves certificates only
    # Organisations by subject name, as on a kit: every ZAZ1 certificate of the supplier, KA and DS.
    organisations = SmkiSource(dcc.smki_url, subject="CertificateSubjectName")
    served = {c.serial_number for c in organisations.certificates(SUPPLIER, "ka")}
    assert served == {i.serial for i in zaz1().find(eui=SUPPLIER, usage="keyAgreement")} and len(served) == 4
    assert SmkiSource(dcc.smki_url).certificates(SUPPLIER, "ka") == []  # organisations have no device SAN
    assert organisations.certificates(ESME, "ka") == []


def test_smki_serves_the_inventory_as_it_is_now() -> None:
    inventory = Inventory.reference()
    repository = SmkiRepository(for_seed(), inventory, zaz1())
    search = f"<CertificateSearchRequest><CertificateSubjectAltName>{UNKNOWN.lower()}</CertificateSubjectAltName>" \
             "</CertificateSearchRequest>".encode()
    query = f"apikey={smki_api_key()}"
    assert answer(repository, "/services/certificatesearch", query, search)[0] == 402
    inventory.add_device(Device(UNKNOWN, "ESME"))
    status, body = answer(repository, "/services/certificatesearch", query, search)
    assert status == 200 and body.count(b"<Result>") == 2
    serial = re.findall(rb"<CertificateSerial>([0-9a-f]+)</CertificateSerial>", body)[0].decode()
    retrieve = f"<CertificateDataRequest><CertificateSerial>{serial.upper()}</CertificateSerial></CertificateDataRequest>"
    assert answer(repository, "/services/retrievecertificate", query, retrieve.encode())[0] == 200
    del inventory.devices[UNKNOWN]
    assert answer(repository, "/services/retrievecertificate", query, retrieve.encode())[0] == 402


def test_smki_response_xml_and_status_codes(dcc: DCCEmulator) -> None:
    found = _post(dcc, "certificatesearch",
                  "<CertificateSearchRequest><CertificateSubjectAltName>00-db-12-34-56-78-90-a0"
                  "</CertificateSubjectAltName><CertificateUsage>KA</CertificateUsage></CertificateSearchRequest>")
    assert found.status_code == 200 and found.headers["Content-Type"] == "application/xml"
    assert found.text.count("<Result>") == 1 and "<CertificateUsage>KA</CertificateUsage>" in found.text
    assert "<CertificateStatus>I</CertificateStatus>" in found.text
    serial = f"{dcc.identities.serial(ESME, 'ka'):x}"
    assert f"<CertificateSerial>{serial}</CertificateSerial>" in found.text
    got = _post(dcc, "retrievecertificate",
                f"<CertificateDataRequest><CertificateSerial>{serial}</CertificateSerial></CertificateDataRequest>")
    assert got.status_code == 200 and "<CertificateSubjectAltName>00-db-12-34-56-78-90-a0<" in got.text
    org = zaz1().find(eui=SUPPLIER, usage="digitalSignature")[0]
    got = _post(dcc, "retrievecertificate",
                f"<CertificateDataRequest><CertificateSerial>{org.serial:X}</CertificateSerial></CertificateDataRequest>")
    assert got.status_code == 200 and "<CertificateSubjectName>90-b3-d5-1f-30-01-00-00<" in got.text

    search = "<CertificateSearchRequest><CertificateSubjectAltName>{}</CertificateSubjectAltName></CertificateSearchRequest>"
    cases = {
        # 402: valid parameters, nothing found
        search.format("00-db-12-34-56-78-90-ff"): ("certificatesearch", 402),
        "<CertificateDataRequest><CertificateSerial>1234</CertificateSerial></CertificateDataRequest>":
            ("retrievecertificate", 402),
        # 401: invalid parameters
        search.format("00db1234567890a0"): ("certificatesearch", 401),  # not a1-a2-…-a8
        "<CertificateSearchRequest/>": ("certificatesearch", 401),
        "<CertificateSearchRequest><CertificateSubjectAltName>00-db-12-34-56-78-90-a0</CertificateSubjectAltName>"
        "<CertificateSubjectName>00-db-12-34-56-78-90-a0</CertificateSubjectName></CertificateSearchRequest>":
            ("certificatesearch", 401),
        "<CertificateSearchRequest><Nonsense>1</Nonsense></CertificateSearchRequest>": ("certificatesearch", 401),
        "<CertificateSearchRequest><CertificateSubjectAltName>00-db": ("certificatesearch", 401),  # malformed
        '<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
        "<CertificateSearchRequest><CertificateSubjectAltName>&x;</CertificateSubjectAltName></CertificateSearchRequest>":
            ("certificatesearch", 401),  # entities are never resolved
        "<CertificateDataRequest><CertificateSerial>xyz</CertificateSerial></CertificateDataRequest>":
            ("retrievecertificate", 401),
        "<CertificateDataRequest/>": ("retrievecertificate", 401),
        "<CertificateSearchRequest/>#wrong-root": ("retrievecertificate", 401),
    }
    for body, (service, status) in cases.items():
        answered = _post(dcc, service, body.split("#")[0])
        assert answered.status_code == status, (body, answered.status_code)
        assert "root:" not in answered.text
    assert _post(dcc, "certificatesearch", search.format("00-db-12-34-56-78-90-a0"), apikey=None).status_code == 401
    assert _post(dcc, "certificatesearch", search.format("00-db-12-34-56-78-90-a0"), apikey="guess").status_code == 401
    assert requests.post(f"{dcc.smki_url}services/other", data=b"", timeout=5).status_code == 404
    assert requests.get(f"{dcc.smki_url}services/certificatesearch", timeout=5).status_code == 405


def test_smki_requests_fuzzed_never_crash() -> None:
    """Random and mutated requests get 200, 401 or 402: never an exception, never a 500."""
    repository = SmkiRepository(for_seed(), Inventory.reference(), zaz1())
    query = f"apikey={smki_api_key()}"
    seeds = [b"<CertificateSearchRequest><CertificateSubjectAltName>00-db-12-34-56-78-90-a0"
             b"</CertificateSubjectAltName></CertificateSearchRequest>",
             f"<CertificateDataRequest><CertificateSerial>{for_seed().serial(ESME, 'ds'):x}</CertificateSerial>"
             "</CertificateDataRequest>".encode()]
    rng = random.Random(11)
    for n in range(600):
        body = bytearray(rng.choice(seeds))
        for _ in range(rng.randint(1, 4)):
            at = rng.randrange(len(body))
            body[at:at + rng.randint(0, 3)] = bytes(rng.randrange(256) for _ in range(rng.randint(0, 3)))
        if n % 10 == 0:
            body = bytearray(rng.randbytes(rng.randint(0, 80)))
        for path in ("/services/certificatesearch", "/services/retrievecertificate"):
            status, _ = answer(repository, path, query, bytes(body))
            assert status in (200, 401, 402)


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed: DCC's keystore client cannot run")
def test_dccs_keystore_client_reads_the_emulator(dcc: DCCEmulator) -> None:
    """DCC's own SMKI client (@smartdcc/dccboxed-keystore's search/query) against the emulator: it parses our
    responses and our certificates (device metadata from the SAN, key usage; organisation role)."""
    client = paths.package_file("@smartdcc/dccboxed-keystore", "dist/certificateSearch.js")
    script = r"""
const { search } = require(process.argv[1]);
(async () => {
  const out = [];
  for (const [q, usage, role] of JSON.parse(process.argv[3])) {
    const sr = { q, CertificateUsage: usage, CertificateStatus: 'I' };
    if (role) sr.CertificateRole = role;
    out.push((await search(sr, process.argv[2])).map(({ meta, x509 }) => ({
      eui: meta.eui.toString(), serial: BigInt(meta.serial).toString(16), keyUsage: meta.keyUsage,
      role: meta.role ?? null, der: x509.raw.toString('base64') })));
  }
  console.log(JSON.stringify(out));
})().catch((e) => { console.error(e.message); process.exit(1); });
"""
    queries = [[{"CertificateSubjectAltName": "00-db-12-34-56-78-90-a0"}, "KA", None],
               [{"CertificateSubjectAltName": "00-db-12-34-56-78-90-a0"}, "DS", None],
               [{"CertificateSubjectAltName": "00-db-12-34-56-78-90-ff"}, "KA", None],
               [{"CertificateSubjectName": "90-b3-d5-1f-30-01-00-00"}, "DS", "2"]]
    done = subprocess.run(["node", "-e", script, str(client), dcc.smki_url, json.dumps(queries)],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    ka, ds, unknown, supplier = json.loads(done.stdout)
    for found, usage, bit in ((ka, "ka", 4), (ds, "ds", 0)):  # KeyUsage bit 4 keyAgreement, 0 digitalSignature
        cert = dcc.identities.certificate(ESME, usage)
        assert [(f["eui"], f["serial"], f["keyUsage"], f["role"]) for f in found] == \
            [("00db1234567890a0", f"{cert.serial_number:x}", [bit], None)]
        assert x509.load_der_x509_certificate(base64.b64decode(found[0]["der"])) == cert
    assert unknown == []
    wanted = {i.serial for i in zaz1().find(eui=SUPPLIER, role=2, usage="digitalSignature")}
    assert {int(f["serial"], 16) for f in supplier} == wanted and {f["role"] for f in supplier} == {2}


# -- end to end: a device's MAC checked with keys fetched the way the suite reads a kit --------------


def _device_response(dcc_identities: DeviceIdentities, content: bytes | dict, date_time: bytes | None = None) -> bytes:
    device = KeyRing("emulated ESME").add(ESME, "ka", private_key=dcc_identities.private_key(ESME, "ka"),
                                          certificate=dcc_identities.certificate(ESME, "ka"))
    header = GroupingHeader(CRA.RESPONSE, 0x0100_0000_0000_0042, ESME, SUPPLIER, date_time, 0x0027)
    return encode_message(header, content, KeyChain(device, Zaz1Source()))  # the supplier's ZAZ1 KA certificate


# A DLMS ACCESS response: long-invoke-id 0x20000042, no date-time, no request echo, one null datum,
# one ACTION result 1 (hardware fault).
ACCESS_RESPONSE = bytes.fromhex("da20000042" "00" "00" "0100" "010301")


def test_response_mac_verifies_with_keys_fetched_over_smki(dcc: DCCEmulator) -> None:
    data = _device_response(dcc.identities, ACCESS_RESPONSE)
    suite = KeyChain(SmkiSource(dcc.smki_url), Zaz1Source())  # what for_target gives on a kit
    assert decode_message(data, suite).mac == "valid"
    assert decode_message(data, Zaz1Source()).mac == "no-key"  # without SMKI the device's key is unknown
    # A device with another seed's key: the certificate the emulator serves does not match.
    assert decode_message(_device_response(DeviceIdentities("not the emulator's"), ACCESS_RESPONSE), suite).mac == "invalid"


def test_encrypted_response_decrypts_with_keys_fetched_over_smki(dcc: DCCEmulator) -> None:
    """DCC's RTDS ECS17b response re-sent by the emulated ESME: MAC'd and its protected attribute encrypted
    with the device's seeded KA key; the suite reads it with SMKI + ZAZ1 only."""
    template = decode_message(rtds_message("ECS17b_4.1.1_SINGLE_SUCCESS_RESPONSE_GBCS.HEX").data, rtds_keys())
    assert template.content is not None and template.decrypted
    data = _device_response(dcc.identities, template.content, template.header.date_time)
    decoded = decode_message(data, KeyChain(SmkiSource(dcc.smki_url), Zaz1Source()))
    assert (decoded.mac, decoded.encrypted, decoded.decrypted) == ("valid", True, True)
    assert decoded.decrypted_hex == template.decrypted_hex


# -- wiring: the session's emulator target, the standalone program and its configuration --------------


def test_session_target_reads_device_certificates_from_the_embedded_emulator() -> None:
    from duisconf.gbcs.keys import for_target
    from duisconf.session import DUISSession

    session = DUISSession("emulator")
    try:
        assert session.target.smki_base_url == session.emulator.smki_url
        keys = for_target(session.target)
        assert "SMKI http://127.0.0.1:" in keys.name
        assert keys.ka_certificate(ESME) == session.emulator.identities.certificate(ESME, "ka")
    finally:
        session.close()


def test_standalone_emulator_prints_its_smki_address_and_uses_the_configured_seed(tmp_path: Path) -> None:
    config = tmp_path / "emulator.toml"
    config.write_text('[emulator]\nport = 0\nsmki_port = 0\nidentity_seed = "kit seven"\n')
    process = subprocess.Popen([sys.executable, "-m", "duisconf.cli", "emulator", "--config", str(config)],
                               stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True)
    try:
        url, deadline = None, time.monotonic() + 30
        while url is None and time.monotonic() < deadline:
            line = process.stderr.readline()
            if not line:
                break
            if m := re.search(r"SMKI interface \(device certificates\) on (http://[\d.:]+/)services/", line):
                url = m[1]
        assert url, "duisconf emulator printed no SMKI address"
        assert SmkiSource(url).ka_certificate(ESME) == DeviceIdentities("kit seven").certificate(ESME, "ka")
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.mark.parametrize("text, message", [
    ('[emulator]\nidentity_seed = ""\n', r"\[emulator\] identity_seed must not be empty"),
    ("[emulator]\nidentity_seed = 7\n", r"\[emulator\] identity_seed = 7 has the wrong type"),
    ("[emulator]\nsmki_port = 70000\n", r"\[emulator\] smki_port = 70000: expected 0-65535"),
])
def test_identity_config_errors(tmp_path: Path, text: str, message: str) -> None:
    from duisconf.emulator.config import load_config
    from duisconf.errors import ConfigError

    path = tmp_path / "emulator.toml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=message):
        load_config(path)


def test_default_config_seed_is_the_documented_one() -> None:
    from duisconf.emulator.config import EmulatorConfig

    assert EmulatorConfig().identity_seed == DEFAULT_SEED == "duisconf emulator identities"
    assert DEFAULT_SEED in (paths.PROJECT_ROOT / "docs" / "emulator.md").read_text()


def test_smki_port_in_use_is_a_clear_error() -> None:
    import socket

    from duisconf.errors import ConfigError

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        emulator = DCCEmulator(port=0, smki_port=port)
        with pytest.raises(ConfigError, match=rf"cannot listen for SMKI on 127.0.0.1:{port}: .*smki_port"):
            emulator.start()
        with pytest.raises(requests.ConnectionError):  # the DUIS port was let go again
            requests.post(f"{emulator.url}/api/v1/serviceS", data=b"", timeout=2)
