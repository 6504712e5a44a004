"""Evidence from a real run of user-entry scenarios against the embedded emulator: every step's messages
and HTTP summaries are attached, the Allure environment and categories are written, JUnit XML is
produced, and nothing in the whole results tree is private key material (the scan can fail: a planted
key is found)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization

from duisconf.evidence import key_material_in
from duisconf.keystore import zaz1

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def run(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("reports")
    completed = subprocess.run(
        [sys.executable, "-m", "pytest", "features/test_features.py", "-q", "-p", "no:cacheprovider",
         "-k", "signed_read_is_acknowledged or critical_command_goes or futuredated_tariff_is_stored or unsigned_request",
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
    future = _attachments(results["A future-dated tariff is stored by the meter and actioned at its execution date-time"])
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
