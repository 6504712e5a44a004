"""TLS to a target, against a real TLS server on loopback that requires a client certificate.

Throwaway CAs and certificates are made here with `cryptography`. What must hold: the target file's
`[tls] ca` is the CA used even when REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE point at another CA; a server
whose certificate is not from that CA is refused; verification is on without `[tls] ca`; and the client
certificate named in the target file is the one presented. The client is built by DUISSession from the
target file, as in a run."""

from __future__ import annotations

import datetime
import ipaddress
import ssl
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from duisconf.client import TargetReplyInvalid, TargetUnavailable
from duisconf.errors import ConfigError
from duisconf.session import DUISSession


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _write(directory: Path, stem: str, key, certificate: x509.Certificate) -> tuple[Path, Path]:
    cert_path, key_path = directory / f"{stem}.pem", directory / f"{stem}.key"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


class CA:
    def __init__(self, directory: Path, name: str):
        self.key = ec.generate_private_key(ec.SECP256R1())
        now = datetime.datetime.now(datetime.timezone.utc)
        self.certificate = (
            x509.CertificateBuilder().subject_name(_name(name)).issuer_name(_name(name))
            .public_key(self.key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                         content_commitment=False, key_encipherment=False, data_encipherment=False,
                                         key_agreement=False, encipher_only=False, decipher_only=False), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(self.key.public_key()), critical=False)
            .sign(self.key, hashes.SHA256()))
        self.directory, self.name = directory, name
        self.path = directory / f"{name}.pem"
        self.path.write_bytes(self.certificate.public_bytes(serialization.Encoding.PEM))

    def issue(self, common_name: str, *, server: bool) -> tuple[Path, Path]:
        key = ec.generate_private_key(ec.SECP256R1())
        now = datetime.datetime.now(datetime.timezone.utc)
        builder = (
            x509.CertificateBuilder().subject_name(_name(common_name)).issuer_name(self.certificate.subject)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(self.key.public_key()), critical=False)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH if server
                                                  else ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False))
        if server:
            builder = builder.add_extension(
                x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        return _write(self.directory, f"{self.name}-{common_name}", key, builder.sign(self.key, hashes.SHA256()))


class TLSServer:
    """HTTPS on loopback that requires a client certificate from `client_ca` and records whose it was."""

    def __init__(self, certificate: tuple[Path, Path], client_ca: Path):
        peers = self.peers = []

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 (http.server's naming)
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                subject = dict(item[0] for item in self.connection.getpeercert()["subject"])
                peers.append(subject["commonName"])
                body = b"not a DUIS reply"
                self.send_response(200)
                self.send_header("Content-Type", "text/plain")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(*map(str, certificate))
        context.verify_mode = ssl.CERT_REQUIRED
        context.load_verify_locations(cafile=str(client_ca))
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.handle_error = lambda *args: None  # refused handshakes are the point of some tests
        self.httpd.socket = context.wrap_socket(self.httpd.socket, server_side=True)
        self.url = f"https://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> TLSServer:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture(scope="module")
def pki(tmp_path_factory) -> dict:
    directory = tmp_path_factory.mktemp("pki")
    target_ca, other_ca, client_ca = CA(directory, "target-ca"), CA(directory, "other-ca"), CA(directory, "dccki-ca")
    return {"directory": directory, "target_ca": target_ca.path, "other_ca": other_ca.path,
            "client_ca": client_ca.path,
            "server": target_ca.issue("dcc-gateway", server=True),
            "impostor": other_ca.issue("impostor", server=True),
            "client": client_ca.issue("our-dccki-client", server=False)}


@pytest.fixture(autouse=True)
def other_ca_in_the_environment(pki, monkeypatch, tmp_path):
    """Every test runs with the environment pointing requests at a different CA."""
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(pki["other_ca"]))
    monkeypatch.setenv("CURL_CA_BUNDLE", str(pki["other_ca"]))
    monkeypatch.setenv("DUISCONF_STATE_DIR", str(tmp_path / "state"))
    for proxy in ("HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(proxy, raising=False)


def _target(tmp_path: Path, url: str, *, ca: Path | None, client: tuple[Path, Path] | None) -> str:
    lines = ["[target]", 'kind = "dcc"', f'base_url = "{url}"', "[receiver]", 'host = "127.0.0.1"',
             "port = 0", 'public_url = "http://127.0.0.1:9/duis"', "[tls]"]
    if ca is not None:
        lines.append(f'ca = "{ca}"')
    if client is not None:
        lines += [f'client_certificate = "{client[0]}"', f'client_key = "{client[1]}"']
    path = tmp_path / "target.toml"
    path.write_text("\n".join(lines) + "\n")
    return str(path)


def _post(target: str) -> None:
    session = DUISSession(target)
    try:
        session.client.post("serviceS", b"<x/>")
    finally:
        session.close()


def test_the_target_ca_wins_over_the_environment_and_the_client_certificate_is_presented(pki, tmp_path):
    with TLSServer(pki["server"], pki["client_ca"]) as server:
        target = _target(tmp_path, server.url, ca=pki["target_ca"], client=pki["client"])
        # TLS held both ways: the plain-text reply is the first thing that is wrong.
        with pytest.raises(TargetReplyInvalid, match="Content-Type 'text/plain'"):
            _post(target)
    assert server.peers == ["our-dccki-client"]


def test_a_server_certificate_from_another_ca_is_refused(pki, tmp_path):
    with TLSServer(pki["impostor"], pki["client_ca"]) as server:  # the environment's CA signed this one
        target = _target(tmp_path, server.url, ca=pki["target_ca"], client=pki["client"])
        with pytest.raises(TargetUnavailable, match="CERTIFICATE_VERIFY_FAILED"):
            _post(target)
    assert server.peers == []


def test_without_a_client_certificate_the_server_refuses(pki, tmp_path):
    """The server really requires one: the test above is not passing by accident."""
    with TLSServer(pki["server"], pki["client_ca"]) as server:
        target = _target(tmp_path, server.url, ca=pki["target_ca"], client=None)
        with pytest.raises(TargetUnavailable):
            _post(target)
    assert server.peers == []


def test_verification_is_on_without_a_target_ca(pki, tmp_path, monkeypatch):
    monkeypatch.delenv("REQUESTS_CA_BUNDLE")
    monkeypatch.delenv("CURL_CA_BUNDLE")
    with TLSServer(pki["server"], pki["client_ca"]) as server:
        target = _target(tmp_path, server.url, ca=None, client=pki["client"])
        with pytest.raises(TargetUnavailable, match="CERTIFICATE_VERIFY_FAILED"):
            _post(target)
    assert server.peers == []


@pytest.mark.parametrize("change, message", [
    (lambda text, pki: text.replace("https://", "http://"), r"\[tls\] is given but \[target\] base_url is not an https"),
    (lambda text, pki: "\n".join(l for l in text.splitlines() if not l.startswith("client_key")),
     r"\[tls\] client_certificate and client_key go together"),
    (lambda text, pki: text.replace(str(pki["target_ca"]), str(pki["client"][1])),
     r"\[tls\] ca: .* holds no PEM certificate"),
])
def test_tls_mistakes_are_named_in_the_target_file(pki, tmp_path, change, message):
    from duisconf.targets import load_target

    path = Path(_target(tmp_path, "https://127.0.0.1:1", ca=pki["target_ca"], client=pki["client"]))
    path.write_text(change(path.read_text(), pki))
    with pytest.raises(ConfigError, match=message) as failure:
        load_target(str(path))
    assert str(path) in str(failure.value)
