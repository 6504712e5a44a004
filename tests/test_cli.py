"""The command line as a user scripts it: XML on stdout, one-line reasons, distinct exit codes."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from duisconf.cli import main
from identities import self_signed

EXE = [sys.executable, "-m", "duisconf.cli"]


def run(*args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([*EXE, *args], input=stdin, capture_output=True, timeout=120)


def test_sign_then_verify_through_pipes(rtds):
    signed = run("sign", "-", stdin=rtds("CCS01_8.11_SUCCESS"))
    assert signed.returncode == 0, signed.stderr
    assert b"<ds:SignatureValue>" in signed.stdout
    verified = run("verify", "-", stdin=signed.stdout)
    assert verified.returncode == 0, verified.stderr
    assert b"signature verified: xml-sign-90B3D51F30010000-ds" in verified.stderr
    assert b"Signature" not in verified.stdout and b"UpdateHANDeviceLog" in verified.stdout


def test_sign_preserves_the_counter_unless_asked(rtds, tmp_path: Path):
    request = tmp_path / "req.xml"
    request.write_bytes(rtds("CCS01_8.11_SUCCESS"))
    assert b":1002</sr:RequestID>" in run("sign", str(request)).stdout
    renewed = run("sign", "--new-counter", str(request)).stdout
    assert b":1002</sr:RequestID>" not in renewed and b"<sr:RequestID>90-B3-D5-1F-30-01-00-00:00-DB-12-34-56-78-90-A2:" in renewed


def test_exit_codes_distinguish_the_failures(rtds, tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    good = rtds("CCS01_8.11_SUCCESS")
    cases = {
        "malformed": (b"<sr:Request", 4, "malformed XML"),
        "doctype": (b'<!DOCTYPE r [<!ENTITY x "y">]><r>&x;</r>', 4, "DOCTYPE"),
        "schema": (good.replace(b"<sr:RequestType>Add", b"<sr:RequestType>Append"), 10, "RequestType"),
        "key": (good.replace(b"90-B3-D5-1F-30-01-00-00:", b"11-22-33-44-55-66-77-88:"), 3, "no XML signing key"),
    }
    for name, (data, code, reason) in cases.items():
        path = tmp_path / f"{name}.xml"
        path.write_bytes(data)
        assert main(["sign", str(path)]) == code, name
        err = capsys.readouterr().err.strip()
        assert err.startswith("duisconf: ") and reason in err and "\n" not in err, (name, err)

    signed = run("sign", "-", stdin=good).stdout
    tampered = tmp_path / "tampered.xml"
    tampered.write_bytes(signed.replace(b">Add<", b">Remove<"))
    assert main(["verify", str(tampered)]) == 11
    assert "changed after signing" in capsys.readouterr().err
    assert main(["validate", str(tmp_path / "missing.xml")]) == 4
    assert "cannot read" in capsys.readouterr().err


def test_validate_reports_the_schema_used(rtds, tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    path = tmp_path / "ok.xml"
    path.write_bytes(rtds("ECS17b_4.1.1_SINGLE_SUCCESS"))
    assert main(["validate", str(path)]) == 0
    assert "valid against DUIS 5.1" in capsys.readouterr().err
    assert main(["validate", "--schema", str(tmp_path / "no.xsd"), str(path)]) == 5


def test_render_works_with_defaults_alone():
    rendered = run("render", "8.11", "--counter", "5")
    assert rendered.returncode == 0, rendered.stderr
    assert b"<sr:RequestID>90-B3-D5-1F-30-01-00-00:00-DB-12-34-56-78-90-A2:5</sr:RequestID>" in rendered.stdout
    assert b"<sr:UpdateHANDeviceLog>" in rendered.stdout


def test_render_sign_pipeline_verifies():
    rendered = run("render", "4.1.1", "--sign")
    assert rendered.returncode == 0, rendered.stderr
    assert run("verify", "-", stdin=rendered.stdout).returncode == 0


def test_render_rejects_unknown_srv_and_parameters():
    unknown = run("render", "9.9")
    assert unknown.returncode == 4 and b"unknown SRV '9.9'" in unknown.stderr
    bad = run("render", "8.11", "--param", "Colour=blue")
    assert bad.returncode == 4 and b"Colour" in bad.stderr
    invalid = run("render", "8.11", "--param", "RequestType=Append")
    assert invalid.returncode == 10 and b"RequestType" in invalid.stderr


def test_verify_trusts_extra_certificates_from_option_and_environment(tmp_path: Path):
    from duisconf.keystore import Keystore
    from duisconf.signing import sign

    cert, cert_path, key_path = self_signed(tmp_path, "kit")
    identity = Keystore().add_pem(cert_path, key_path)
    ack = (b'<sr:Response xmlns:sr="http://www.dccinterface.co.uk/ServiceUserGateway" schemaVersion="5.1"><sr:Header>'
           b"<sr:ResponseCode>I99</sr:ResponseCode><sr:ResponseDateTime>2026-11-22T10:00:00Z</sr:ResponseDateTime>"
           b"</sr:Header><sr:Body><sr:ResponseMessage><sr:ServiceReference>8.2</sr:ServiceReference>"
           b"<sr:ServiceReferenceVariant>8.2</sr:ServiceReferenceVariant></sr:ResponseMessage></sr:Body></sr:Response>")
    signed = tmp_path / "signed.xml"
    signed.write_bytes(sign(ack, identity=identity))
    refused = run("verify", str(signed))
    assert refused.returncode == 11 and b"not trusted" in refused.stderr
    assert run("verify", "--trust", str(cert_path), str(signed)).returncode == 0
    env = subprocess.run([*EXE, "verify", str(signed)], capture_output=True, timeout=60,
                         env={**__import__("os").environ, "DUISCONF_TRUST": str(cert_path)})
    assert env.returncode == 0, env.stderr


# -- bad files, ports and paths: one line naming what is wrong, a documented code, never a traceback --

BINARY = bytes(range(256)) * 4  # not UTF-8, not XML, not TOML


def _one_line(stderr: str, *needles: str) -> None:
    lines = stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in stderr, stderr
    for needle in needles:
        assert needle in lines[0], lines[0]


@pytest.mark.parametrize("argv, code, needle", [
    (["validate", "{xml}", "--schema", "{binary}"], 5, "not an XML schema"),
    (["emulator", "--config", "{binary}"], 5, "not UTF-8 text (byte 128)"),
    (["plan", "--declaration", "{binary}"], 5, "not UTF-8 text (byte 128)"),
    (["plan", "--declaration", "{directory}"], 5, "cannot read the declaration"),
])
def test_a_binary_or_unreadable_file_is_named_in_one_line(tmp_path: Path, capsys, argv, code, needle):
    binary = tmp_path / "binary.bin"
    binary.write_bytes(BINARY)
    (tmp_path / "x.xml").write_text("<x/>")
    values = {"binary": str(binary), "xml": str(tmp_path / "x.xml"), "directory": str(tmp_path)}
    named = values["directory"] if "{directory}" in argv else str(binary)
    assert main([a.format(**values) for a in argv]) == code
    _one_line(capsys.readouterr().err, named, needle)


def test_check_target_names_a_binary_target_file(tmp_path: Path, capsys):
    binary = tmp_path / "binary.toml"
    binary.write_bytes(BINARY)
    assert main(["check-target", str(binary)]) == 8
    captured = capsys.readouterr()
    assert captured.err == "" and "Traceback" not in captured.out
    assert captured.out.splitlines() == [f"FAIL  target file: {binary}: the target file is not UTF-8 text (byte 128); "
                                         "expected TOML"]


@pytest.mark.parametrize("port, needle", [("99999", "99999 is not a port (0-65535"), ("abc", "'abc' is not a port number")])
def test_an_impossible_emulator_port_is_a_usage_error(capsys, port, needle):
    with pytest.raises(SystemExit) as exited:
        main(["emulator", "--port", port])
    assert exited.value.code == 2
    _one_line(capsys.readouterr().err, "--port", needle)


def test_an_impossible_port_in_the_emulator_config_is_named(tmp_path: Path, capsys):
    config = tmp_path / "emulator.toml"
    config.write_text("[emulator]\nport = 70000\n")
    assert main(["emulator", "--config", str(config)]) == 5
    _one_line(capsys.readouterr().err, str(config), "[emulator] port = 70000: expected 0-65535")


def test_a_port_in_use_is_one_line():
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        completed = run("emulator", "--port", str(port))
    assert completed.returncode == 5
    _one_line(completed.stderr.decode(), f"cannot listen on 127.0.0.1:{port}", "in use")


def test_an_unusable_state_directory_is_one_line_not_a_traceback(tmp_path: Path):
    """Whatever layer notices first (the counter authority or the CLI), the user gets one line and exit 5."""
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    completed = subprocess.run([*EXE, "render", "4.1.1", "--sign"], capture_output=True, timeout=120,
                               env={**__import__("os").environ, "DUISCONF_STATE_DIR": str(blocker / "state")})
    assert completed.returncode == 5, completed.stderr
    _one_line(completed.stderr.decode(), str(blocker))


def test_a_bug_is_reported_as_an_internal_error_with_where(monkeypatch, capsys):
    import duisconf.cli as cli

    def broken(args):
        raise KeyError("oops")

    monkeypatch.setattr(cli, "cmd_validate", broken)
    monkeypatch.delenv("DUISCONF_DEBUG", raising=False)
    assert main(["validate", "-"]) == 1
    _one_line(capsys.readouterr().err, "internal error: KeyError", "test_cli.py:", "in broken", "please report")
    monkeypatch.setenv("DUISCONF_DEBUG", "1")
    with pytest.raises(KeyError):
        main(["validate", "-"])


def test_scan_keys_looks_for_a_targets_own_keys_when_asked(tmp_path: Path, capsys):
    """A DCC test environment's signing key and RSA TLS client key are not ZAZ1 keys: --target adds them."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    _, cert_path, key_path = self_signed(tmp_path, "own-signing")
    tls_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    (tmp_path / "tls.key").write_bytes(tls_key.private_bytes(serialization.Encoding.PEM,
                                                             serialization.PrivateFormat.TraditionalOpenSSL,
                                                             serialization.NoEncryption()))
    target = tmp_path / "env.toml"
    target.write_text(f"""[target]
kind = "dcc"
base_url = "https://dcc.example:443"
[receiver]
public_url = "http://192.0.2.1:8080/duis"
[tls]
ca = "{cert_path}"
client_certificate = "{cert_path}"
client_key = "tls.key"
[keys."11-22-33-44-55-66-77-88"]
certificate = "{cert_path}"
private_key = "{key_path}"
""")
    from cryptography.hazmat.primitives.serialization import load_pem_private_key

    own = load_pem_private_key(key_path.read_bytes(), None)
    reports = tmp_path / "reports"
    reports.mkdir()
    (reports / "a.txt").write_text(f"{own.private_numbers().private_value}")
    (reports / "b.txt").write_text(f"{tls_key.private_numbers().p:x}")
    assert main(["scan-keys", str(reports)]) == 0
    capsys.readouterr()
    assert main(["scan-keys", str(reports), "--target", str(target)]) == 12
    err = capsys.readouterr().err.splitlines()
    assert err == [f"{reports / 'a.txt'}: the private key in {key_path}",
                   f"{reports / 'b.txt'}: the private key in {tmp_path / 'tls.key'}"]
def one_line_config_error(result: subprocess.CompletedProcess[bytes], *needles: bytes) -> None:
    err = result.stderr.strip()
    assert result.returncode == 5, result.stderr
    assert err.startswith(b"duisconf: ") and b"\n" not in err and b"Traceback" not in err, err
    for needle in needles:
        assert needle in err, (needle, err)


@pytest.mark.parametrize("where", ["a file", "under /proc", "under /sys"])
def test_an_unwritable_state_directory_is_one_line_and_exit_5(rtds, tmp_path: Path, where: str):
    # Tests run as root, where chmod stops no write: a file in the way and kernel file systems do.
    state = {"a file": tmp_path / "state", "under /proc": Path("/proc/self/duisconf-state"),
             "under /sys": Path("/sys/kernel/duisconf-state")}[where]
    if where == "a file":
        state.write_text("not a directory")
    request = tmp_path / "req.xml"
    request.write_bytes(rtds("CCS01_8.11_SUCCESS"))
    env = {**os.environ, "DUISCONF_STATE_DIR": str(state)}
    for args in (["render", "4.1.1", "--sign"], ["render", "2.2"], ["sign", "--new-counter", str(request)]):
        result = subprocess.run([*EXE, *args], capture_output=True, timeout=120, env=env)
        one_line_config_error(result, str(state).encode())
        assert result.stdout == b""


def test_a_full_state_directory_is_one_line_and_exit_5(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]):
    import errno

    from duisconf import counters

    def full(fd: int, data: bytes) -> int:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(counters.os, "write", full)
    assert main(["render", "4.1.1", "--sign"]) == 5
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err.count("\n") == 1
    assert captured.err.startswith("duisconf: cannot write the counter state") and "No space left on device" in captured.err


def test_a_lost_counter_is_refused_until_set_floor(tmp_path: Path):
    env = {**os.environ, "DUISCONF_STATE_DIR": str(tmp_path)}

    def cli(*args: str) -> subprocess.CompletedProcess[bytes]:
        return subprocess.run([*EXE, *args], capture_output=True, timeout=120, env=env)

    first = cli("render", "2.2")  # a top-up: the counter jumps to the next UTRN boundary
    assert first.returncode == 0, first.stderr
    sent = int(first.stdout.split(b"<sr:RequestID>")[1].split(b"</sr:RequestID>")[0].rsplit(b":", 1)[1])
    shown = cli("counters", "show")
    assert shown.returncode == 0 and b"90-B3-D5-1F-30-01-00-00: counter " in shown.stdout
    assert b"days ahead of the clock" in shown.stdout or sent - time.time() * 1000 < 60_000
    (tmp_path / "counters" / "90B3D51F30010000").unlink()
    one_line_config_error(cli("render", "8.11"), b"is missing", b"counters set-floor 90-B3-D5-1F-30-01-00-00 VALUE")
    broken = cli("counters", "show")
    assert broken.returncode == 5 and b"90-B3-D5-1F-30-01-00-00: counter state file" in broken.stdout
    assert cli("counters", "set-floor", "90-B3-D5-1F-30-01-00-00", "x").returncode == 4
    assert cli("counters", "set-floor", "90-B3-D5-1F-30-01-00-00").returncode == 2
    assert cli("counters", "set-floor", "90-B3-D5-1F-30-01-00-00", str(sent)).returncode == 0
    after = cli("render", "8.11", "--sign")
    assert after.returncode == 0, after.stderr
    assert int(after.stdout.split(b"<sr:RequestID>")[1].split(b"</sr:RequestID>")[0].rsplit(b":", 1)[1]) == sent + 1
