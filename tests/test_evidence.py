"""Evidence from a real run of user-entry scenarios against the embedded emulator: every step's messages
and HTTP summaries are attached, the Allure environment and categories are written, JUnit XML is
produced, and nothing in the whole results tree is private key material (the scan can fail: a planted
key is found)."""

from __future__ import annotations

import gzip
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from duisconf import evidence
from duisconf.cli import main
from duisconf.evidence import key_material_in
from duisconf.keystore import zaz1

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def run(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("reports")
    completed = subprocess.run(
        [sys.executable, "-m", "pytest", "features/test_features.py", "-q", "-p", "no:cacheprovider",
         "-k", "signed_read_is_acknowledged or critical_command_goes or futuredated_tariff_is_answered or unsigned_request",
         "--alluredir", str(out / "allure-results"), "--junitxml", str(out / "junit.xml")],
        cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert completed.returncode == 0, completed.stdout[-3000:] + completed.stderr[-2000:]
    return out


def _results(run: Path) -> dict[str, dict]:
    return {r["name"]: r for r in (json.loads(p.read_text()) for p in (run / "allure-results").glob("*-result.json"))}


def _attachments(step_tree: dict) -> list[str]:
    names = [a["name"] for a in step_tree.get("attachments", [])]
    for step in step_tree.get("steps", []):
        names += _attachments(step)
    return names


def test_each_exchange_is_attached_with_its_timings(run: Path):
    results = _results(run)
    read = results["A signed read is acknowledged, then answered asynchronously"]
    names = _attachments(read)
    assert "SRV 4.1.1 rendered" in names
    assert "serviceS request (signed)" in names
    assert any(n.startswith("serviceS reply I99 (") and n.endswith(" ms)") for n in names)
    assert "SRV 4.1.1 HTTP exchange" in names
    assert any(n.startswith("response for ") and "s after the request" in n for n in names), names
    critical = _attachments(results["A critical command goes through the transform and the signed pre-command"])
    assert "serviceT request (signed)" in critical and "serviceS request (signed)" in critical
    future = _attachments(results["A future-dated tariff is answered at once and actioned at its execution date-time, not before"])
    assert any(n.startswith("future-dated alert for ") for n in future)


def test_the_http_summary_says_where_what_and_how_long(run: Path):
    summaries = [p.read_text() for p in (run / "allure-results").glob("*-attachment.txt")
                 if p.read_text().startswith("SRV 8.1.1")]
    assert summaries, "no HTTP summary for the critical SRV"
    lines = summaries[0].splitlines()
    assert "/api/v1/serviceT" in lines[1] and "HTTP 200" in lines[1] and lines[1].endswith(" ms")
    assert "/api/v1/serviceS" in lines[2] and " I99 " in lines[2]


def test_the_environment_and_categories_describe_the_run(run: Path):
    environment = dict(line.split("=", 1) for line in (run / "allure-results" / "environment.properties")
                       .read_text().splitlines())
    assert environment["target"] == "emulator" and environment["schema.version"] == "5.1"
    assert len(environment["catalogue.version"]) == 12
    assert "firmware" in environment["device.ESME"]
    categories = json.loads((run / "allure-results" / "categories.json").read_text())
    assert {"Rejected by the target", "Timeout (inconclusive)", "Schema", "Signature", "Suite error"} <= {c["name"] for c in categories}


def test_junit_xml_lists_the_scenarios(run: Path):
    junit = (run / "junit.xml").read_text()
    assert 'tests="4"' in junit and 'failures="0"' in junit


def test_no_private_key_material_anywhere_in_the_reports(run: Path):
    assert key_material_in(run, zaz1()) == []


def test_the_scan_finds_a_planted_key(tmp_path: Path):
    """The scan is not vacuous: a key in PEM, or only its hex scalar, inside an attachment is found."""
    identity = next(i for i in zaz1().identities() if i.has_private_key)
    key = identity.private_key
    (tmp_path / "a-attachment.txt").write_bytes(key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    (tmp_path / "b-attachment.xml").write_text(f"<x>{key.private_numbers().private_value:064x}</x>")
    found = key_material_in(tmp_path, zaz1())
    assert any("a-attachment.txt" in f and "PEM" in f for f in found)
    assert any("b-attachment.xml" in f and identity.name in f for f in found)


# -- the scan itself: every form a key we hold may take, and nothing else ----------------------------

def _zaz1_key():
    identity = next(i for i in zaz1().identities() if i.has_private_key)
    return identity, identity.private_key


def _pem(key, encryption=None) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             encryption or serialization.NoEncryption())


def _colon_hex(value: int) -> str:
    """As `openssl ec -text` prints a scalar: a leading 00 when the top bit is set, 15 bytes a line."""
    raw = value.to_bytes(32, "big")
    raw = b"\0" + raw if raw[0] & 0x80 else raw
    pairs = [f"{b:02x}" for b in raw]
    lines = [":".join(pairs[i:i + 15]) for i in range(0, len(pairs), 15)]
    return "priv:\n    " + ":\n    ".join(lines) + "\n"


def test_the_scan_finds_decimal_colon_hex_encrypted_and_gzipped_keys(tmp_path: Path):
    identity, key = _zaz1_key()
    scalar = key.private_numbers().private_value
    files = {
        "decimal.txt": f"private_value={scalar}\n".encode(),
        "colon.txt": _colon_hex(scalar).encode(),
        "upper.txt": _colon_hex(scalar).upper().encode(),
        "encrypted.pem": _pem(key, serialization.BestAvailableEncryption(b"secret")),
        "hex.txt.gz": gzip.compress(f"<x>{scalar:064x}</x>".encode()),
        "pem.gz": gzip.compress(b"x" * 100 + _pem(key)),
    }
    for name, data in files.items():
        (tmp_path / name).write_bytes(data)
    found = evidence.key_material_in(tmp_path, zaz1())
    for name in ("decimal.txt", "colon.txt", "upper.txt", "hex.txt.gz", "pem.gz"):
        assert any(f.startswith(str(tmp_path / name) + ":") and identity.name in f for f in found), (name, found)
    assert f"{tmp_path / 'encrypted.pem'}: an encrypted PEM private key block" in found
    assert any(f.startswith(str(tmp_path / "hex.txt.gz")) and "(gzip content)" in f for f in found)


@pytest.mark.skipif(shutil.which("openssl") is None, reason="no openssl command to print a key the way it does")
def test_the_scan_finds_a_key_as_openssl_prints_it(tmp_path: Path):
    identity, key = _zaz1_key()
    source = tmp_path / "key.pem"
    source.write_bytes(_pem(key))
    printed = subprocess.run(["openssl", "ec", "-in", str(source), "-text", "-noout"], capture_output=True, check=True)
    source.unlink()
    (tmp_path / "openssl.txt").write_bytes(printed.stdout)
    assert b"priv:" in printed.stdout
    found = evidence.key_material_in(tmp_path / "openssl.txt", zaz1())  # a file given directly
    assert found == [f"{tmp_path / 'openssl.txt'}: the private key of {identity.name}"]


def test_the_scan_does_not_flag_keys_it_does_not_know(tmp_path: Path):
    """Zero false positives: another key's scalar in decimal and colon-hex, and certificates, are not keys we hold."""
    stranger = ec.generate_private_key(ec.SECP256R1()).private_numbers().private_value
    (tmp_path / "numbers.txt").write_text(f"{stranger}\n{_colon_hex(stranger)}\n{stranger:064x}\n")
    identity, _ = _zaz1_key()
    (tmp_path / "cert.pem").write_bytes(identity.certificate.public_bytes(serialization.Encoding.PEM))
    (tmp_path / "cert.gz").write_bytes(gzip.compress(identity.certificate.public_bytes(serialization.Encoding.DER)))
    assert evidence.key_material_in(tmp_path, zaz1()) == []


def test_the_scan_follows_symlinked_directories_once(tmp_path: Path):
    _, key = _zaz1_key()
    real = tmp_path / "real"
    (real / "inner").mkdir(parents=True)
    (real / "inner" / "k.txt").write_text(f"{key.private_numbers().private_value}")
    (tmp_path / "tree").mkdir()
    (tmp_path / "tree" / "linked").symlink_to(real / "inner", target_is_directory=True)
    (real / "inner" / "loop").symlink_to(real, target_is_directory=True)  # a cycle must not hang the scan
    (tmp_path / "given").symlink_to(tmp_path / "tree", target_is_directory=True)
    found = evidence.key_material_in([tmp_path / "given"], zaz1())
    assert len(found) == 1 and found[0].startswith(str(tmp_path / "given" / "linked" / "k.txt")), found


def test_a_gzip_bomb_is_bounded_and_not_vouched_for(tmp_path: Path, monkeypatch):
    monkeypatch.setattr(evidence, "GZIP_LIMIT", 1 << 20)
    (tmp_path / "bomb.gz").write_bytes(gzip.compress(b"\0" * (3 << 20)))
    assert evidence.key_material_in(tmp_path, zaz1()) == [
        f"{tmp_path / 'bomb.gz'}: not fully scanned: gzip content larger than 1 MiB: not scanned past that"]


def test_scan_keys_command_line(tmp_path: Path, capsys):
    _, key = _zaz1_key()
    single = tmp_path / "single.txt"
    single.write_text(f"{key.private_numbers().private_value}")
    clean = tmp_path / "clean"
    clean.mkdir()
    (clean / "a.txt").write_text("nothing here")
    assert main(["scan-keys", str(clean)]) == 0
    assert main(["scan-keys", str(clean), str(single)]) == 12
    assert str(single) in capsys.readouterr().err
    assert main(["scan-keys", str(clean), str(tmp_path / "typo")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and str(tmp_path / "typo") in err[0] and "no such file" in err[0]
