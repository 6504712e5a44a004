"""The signed evidence bundle (duisconf.bundle) on the reports of a real run: a few scenarios of the suite
run once per module in a subprocess against the embedded emulator, judged against a small declaration
(Gas Supplier, SRV 8.7.2, a GSME) so that its one applicable catalogue scenario, and two user-entry
scenarios, pass and the rest are not applicable."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from suite_runs import GAS_SUPPLIER_DECLARATION as DECLARATION
from duisconf import paths
from duisconf.bundle import MANIFEST, make_bundle, read_scenarios, verify_bundle
from duisconf.cli import main
from duisconf.errors import SignatureInvalid

SELECTION = "(srv-8.7.2 and catalogue) or (uept and srv-4.1.1 and role-IS and cv-1)"


def run_scenarios(base: Path, declaration: Path, selection: str = SELECTION) -> Path:
    """Run the selected scenarios of features/ like `./dev suite` does; returns the reports directory."""
    reports = base / "reports"
    env = {**os.environ, "PYTHONPATH": str(paths.PROJECT_ROOT / "src"), "DUISCONF_STATE_DIR": str(base / "state")}
    env.pop("DUISCONF_TARGET", None)
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "features", "-q", "-p", "no:hypothesispytest", "-p", "no:cacheprovider",
         "--declaration", str(declaration), "--alluredir", str(reports / "allure-results"),
         "--junitxml", str(reports / "junit.xml"), "-m", selection],
        cwd=paths.PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return reports


def make_identity(folder: Path, name: str = "Test Gas Supplier evidence") -> tuple[Path, Path, ec.EllipticCurvePrivateKey]:
    """An EC P-256 key (PKCS#8 PEM) and a self-signed certificate, as a party's own signing pair."""
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.now(timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - timedelta(days=1))
            .not_valid_after(now + timedelta(days=30)).sign(key, hashes.SHA256()))
    folder.mkdir(parents=True, exist_ok=True)
    key_path, cert_path = folder / "key.pem", folder / "cert.pem"
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return key_path, cert_path, key


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    base = tmp_path_factory.mktemp("bundle-run")
    declaration = base / "gas.toml"
    declaration.write_text(DECLARATION, encoding="utf-8")
    reports = run_scenarios(base, declaration)
    key, cert, private = make_identity(base / "keys")
    return {"reports": reports, "declaration": declaration, "key": key, "cert": cert, "private": private, "base": base}


@pytest.fixture
def issued(run, tmp_path):
    return make_bundle(run["reports"], run["declaration"], run["key"], run["cert"], out=tmp_path / "evidence.zip")


def rewrite(archive: Path, out: Path, *, change: dict[str, bytes] | None = None, drop: str | None = None,
            add: dict[str, bytes] | None = None) -> Path:
    """A copy of `archive` with entries changed, dropped or added (what someone tampering would do)."""
    with zipfile.ZipFile(archive) as source, zipfile.ZipFile(out, "w") as target:
        for info in source.infolist():
            if info.filename == drop:
                continue
            target.writestr(info, (change or {}).get(info.filename, source.read(info.filename)))
        for name, data in (add or {}).items():
            target.writestr(name, data)
    return out


def test_the_run_is_real_and_judged_by_the_declaration(run):
    scenarios = read_scenarios(run["reports"] / "allure-results")
    verdicts = sorted({s.verdict for s in scenarios})
    assert verdicts == ["not applicable", "pass"]
    assert any(s.full_name.startswith("uept/") for s in scenarios)
    applicable = [s for s in scenarios if s.verdict == "pass" and "catalogue" in s.tags]
    assert [dict(s.parameters) for s in applicable] == [{"srv": "8.7.2", "role": "Gas Supplier", "device": "GSME"}]


def test_a_bundle_verifies_and_says_what_was_tested_with_what(run, issued, capsys):
    from lxml import etree

    assert not issued.draft and issued.path.name == "evidence.zip"
    result = verify_bundle(issued.path, run["cert"])
    assert result.ok and result.pinned and not result.draft
    files = [p for p in (run["reports"]).rglob("*") if p.is_file()
             if p.parent.name == "allure-results" or p.name == "junit.xml" or p.name == "counters.json"]
    assert result.artefacts == len(files) + 1  # and the declaration
    with zipfile.ZipFile(issued.path) as archive:
        root = etree.fromstring(archive.read(MANIFEST))
        names = archive.namelist()
    ns = {"b": "urn:duisconf:evidence-bundle:1"}
    assert root.get("status") == "final"
    assert root.find("b:ProductCombination/b:Target", ns).get("kind") == "emulator"
    assert root.find("b:ProductCombination/b:DuisSchema", ns).get("version") == "5.1"
    suite = root.find("b:ProductCombination/b:Suite", ns)
    assert suite.get("commit") != "" and suite.get("version")
    devices = root.findall("b:ProductCombination/b:Devices/b:Device", ns)
    assert {d.get("type") for d in devices} >= {"ESME", "GSME", "CHF"}  # as the run read them from the target
    service = root.find("b:Verdicts/b:Service[@srv='8.7.2'][@role='GS']", ns)
    assert service.get("verdict") == "pass"
    assert root.find("b:Verdicts/b:Service[@srv='8.7.2'][@role='OU']", ns).get("verdict") == "not applicable"
    assert root.find("b:Verdicts/b:Service[@srv='4.1.1'][@role='IS']", ns).get("verdict") == "pass"
    assert "declaration/gas.toml" in [a.get("path") for a in root.iter("{urn:duisconf:evidence-bundle:1}Artefact")]
    assert "artefacts/declaration/gas.toml" in names and "signer.pem" in names
    # the command line says the same
    assert main(["bundle", "verify", str(issued.path), "--cert", str(run["cert"])]) == 0
    assert "all" in capsys.readouterr().out


def test_one_byte_changed_in_an_artefact_is_named(run, issued, tmp_path, capsys):
    with zipfile.ZipFile(issued.path) as archive:
        name = next(n for n in archive.namelist() if n.endswith("-result.json"))
        data = bytearray(archive.read(name))
    data[len(data) // 2] ^= 0x01
    tampered = rewrite(issued.path, tmp_path / "tampered.zip", change={name: bytes(data)})
    result = verify_bundle(tampered, run["cert"])
    assert result.changed == [name.removeprefix("artefacts/")] and not result.missing and not result.added
    assert main(["bundle", "verify", str(tampered)]) == 4
    assert f"changed: {name.removeprefix('artefacts/')}" in capsys.readouterr().err


def test_a_removed_and_an_added_file_are_named(run, issued, tmp_path, capsys):
    with zipfile.ZipFile(issued.path) as archive:
        name = next(n for n in archive.namelist() if n.endswith("-attachment.xml"))
    removed = rewrite(issued.path, tmp_path / "removed.zip", drop=name)
    assert verify_bundle(removed, run["cert"]).missing == [name.removeprefix("artefacts/")]
    added = rewrite(issued.path, tmp_path / "added.zip", add={"artefacts/reports/allure-results/extra-result.json": b"{}"})
    assert verify_bundle(added, run["cert"]).added == ["reports/allure-results/extra-result.json"]
    assert main(["bundle", "verify", str(added)]) == 4
    assert "added: reports/allure-results/extra-result.json" in capsys.readouterr().err


def test_a_changed_manifest_fails_the_signature(run, issued, tmp_path, capsys):
    with zipfile.ZipFile(issued.path) as archive:
        manifest = archive.read(MANIFEST)
    # claim a pass where the run was not applicable, and re-hash nothing: the signature must catch it
    forged = manifest.replace(b'role="OU" verdict="not applicable"', b'role="OU" verdict="pass"', 1)
    assert forged != manifest
    tampered = rewrite(issued.path, tmp_path / "forged.zip", change={MANIFEST: forged})
    with pytest.raises(SignatureInvalid, match="changed after signing"):
        verify_bundle(tampered, run["cert"])
    assert main(["bundle", "verify", str(tampered)]) == 11
    # and a bundle signed by someone else does not pass for the expected signer
    _, other_cert, _ = make_identity(tmp_path / "other", "Someone else")
    assert main(["bundle", "verify", str(issued.path), "--cert", str(other_cert)]) == 11
    assert "not trusted" in capsys.readouterr().err


def _with_result(reports: Path, tmp_path: Path, edit) -> Path:
    """A copy of the run's reports with one passing catalogue result edited by `edit` (or removed: None)."""
    copy = tmp_path / "reports"
    shutil.copytree(reports, copy)
    for path in sorted((copy / "allure-results").glob("*-result.json")):
        data = json.loads(path.read_text(encoding="utf-8"))
        if data["status"] == "passed" and data["fullName"].startswith("catalogue/"):
            if edit is None:
                path.unlink()
            else:
                edit(data)
                path.write_text(json.dumps(data), encoding="utf-8")
            return copy
    raise AssertionError("the run has no passing catalogue scenario")


def test_a_failed_scenario_refuses_the_bundle_unless_it_is_a_draft(run, tmp_path, capsys):
    def fail(data):
        data["status"] = "failed"
        data["statusDetails"] = {"message": "AssertionError: expected I99, got E11"}
        for label in data["labels"]:
            if label["name"] == "verdict":
                label["value"] = "fail"

    reports = _with_result(run["reports"], tmp_path, fail)
    args = ["bundle", str(reports), "--declaration", str(run["declaration"]), "--key", str(run["key"]),
            "--cert", str(run["cert"]), "--out", str(tmp_path / "evidence.zip")]
    assert main(args) == 13
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "refused" in err
    assert "fail: catalogue/section_08.feature:A non-critical request is acknowledged, then the device answers that it " \
           "carried the command out " \
           "[8.7.2, Gas Supplier, GSME]" in err
    assert not (tmp_path / "evidence.zip").exists()
    assert main(args + ["--draft"]) == 0
    draft = tmp_path / "evidence-DRAFT.zip"
    result = verify_bundle(draft, run["cert"])
    assert result.ok and result.draft
    with zipfile.ZipFile(draft) as archive:
        manifest = archive.read(MANIFEST).decode()
    assert 'status="draft"' in manifest and "<NotPassed count=\"1\">" in manifest


def test_an_applicable_scenario_that_did_not_run_refuses_the_bundle(run, tmp_path, capsys):
    reports = _with_result(run["reports"], tmp_path, None)
    assert main(["bundle", str(reports), "--declaration", str(run["declaration"]), "--key", str(run["key"]),
                 "--cert", str(run["cert"]), "--out", str(tmp_path / "e.zip")]) == 13
    err = capsys.readouterr().err
    assert "not run: section_08.feature: A non-critical request is acknowledged, then the device answers that it " \
           "carried the command out " \
           "[8.7.2, Gas Supplier, GSME]" in err
    assert "have no Allure result" in err  # JUnit XML saw it collected


def test_no_private_key_goes_into_the_bundle(run, issued, tmp_path, capsys):
    from duisconf.evidence import key_material_in
    from duisconf.keystore import zaz1

    unpacked = tmp_path / "unpacked"
    with zipfile.ZipFile(issued.path) as archive:
        archive.extractall(unpacked)
    assert key_material_in(unpacked, zaz1(), extra_keys=[(run["private"], "the signer's key")]) == []
    # a key that slipped into the reports stops the bundle before anything is written
    reports = tmp_path / "reports"
    shutil.copytree(run["reports"], reports)
    (reports / "allure-results" / "leak-attachment.txt").write_bytes(run["key"].read_bytes())
    assert main(["bundle", str(reports), "--declaration", str(run["declaration"]), "--key", str(run["key"]),
                 "--cert", str(run["cert"]), "--out", str(tmp_path / "leak.zip")]) == 12
    assert "leak-attachment.txt" in capsys.readouterr().err
    assert not (tmp_path / "leak.zip").exists()


def test_user_errors_are_one_line(run, tmp_path, capsys):
    _, other_cert, _ = make_identity(tmp_path / "other", "Someone else")
    assert main(["bundle", str(run["reports"]), "--declaration", str(run["declaration"]), "--key", str(run["key"]),
                 "--cert", str(other_cert)]) == 4
    assert "does not belong to" in capsys.readouterr().err
    assert main(["bundle", str(tmp_path), "--declaration", str(run["declaration"]), "--key", str(run["key"]),
                 "--cert", str(run["cert"])]) == 4
    assert "no allure-results/" in capsys.readouterr().err
    assert main(["bundle", "verify", str(run["declaration"])]) == 4
    assert "not a zip archive" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exit_:
        main(["bundle", str(run["reports"])])
    assert exit_.value.code == 2
    assert "--declaration, --key, --cert" in capsys.readouterr().err
