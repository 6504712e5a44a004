"""The report people read: labels that group it (duisconf.pytest_report), the view it is drawn from, and
Allure 3's quality gate on the same verdicts as the bundle (allurerc.mjs), on a few real scenarios."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from suite_runs import GAS_SUPPLIER_DECLARATION as DECLARATION
from duisconf import paths
from duisconf.pytest_report import report_view

NPX = shutil.which("npx")
ALLURE = paths.PROJECT_ROOT / "node_modules" / ".bin" / "allure"


@pytest.fixture(scope="module")
def results(tmp_path_factory) -> Path:
    base = tmp_path_factory.mktemp("report-run")
    declaration = base / "gas.toml"
    declaration.write_text(DECLARATION, encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": str(paths.PROJECT_ROOT / "src"), "DUISCONF_STATE_DIR": str(base / "state")}
    env.pop("DUISCONF_TARGET", None)
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "features", "-q", "-p", "no:hypothesispytest", "-p", "no:cacheprovider",
         "--declaration", str(declaration), "--alluredir", str(base / "allure-results"),
         "-m", "(srv-8.7.2 and catalogue and role-GS) or (srv-8.7.2 and catalogue and role-OU and positive) "
               "or (uept and srv-8.1.1 and role-IS and cv-4)"],
        cwd=paths.PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return base / "allure-results"


def _results(folder: Path) -> list[dict]:
    return [json.loads(p.read_text(encoding="utf-8")) for p in sorted(folder.glob("*-result.json"))]


def _labels(result: dict, name: str) -> list[str]:
    return [l["value"] for l in result["labels"] if l["name"] == name]


def test_scenarios_are_grouped_by_area_feature_and_outline(results):
    found = _results(results)
    uept = [r for r in found if r["fullName"].startswith("uept/")]
    catalogue = [r for r in found if r["fullName"].startswith("catalogue/")]
    assert uept and catalogue
    assert {tuple(_labels(r, "parentSuite")) for r in uept} == {("User entry tests",)}
    assert {tuple(_labels(r, "parentSuite")) for r in catalogue} == {("Catalogue (generated from the rules)",)}
    assert {tuple(_labels(r, "suite")) for r in catalogue} == {("Catalogue, DUIS section 8: Installation, commissioning, "
                                                                "joins and inventory",)}
    assert all(_labels(r, "subSuite") for r in catalogue)  # each row under its Scenario Outline
    assert not any(_labels(r, "subSuite") for r in uept if not r.get("parameters"))  # a plain scenario is a leaf


def test_not_applicable_is_visible_as_such(results):
    skipped = [r for r in _results(results) if r["status"] == "skipped"]
    assert skipped
    for result in skipped:
        assert "not-applicable" in _labels(result, "tag")
        assert _labels(result, "verdict") == ["not applicable"]
        assert "not applicable:" in result["statusDetails"]["message"]


def test_steps_keep_parsed_values_not_fixture_reprs(results):
    names = {p["name"] for r in _results(results) for s in r.get("steps", []) for p in s.get("parameters", [])}
    assert {"role", "srv", "device"} <= names
    assert not names & {"context", "duis_scenario", "duis", "request"}


def test_the_environment_names_the_declaration(results):
    text = (results / "environment.properties").read_text(encoding="utf-8")
    assert "declaration.party=Test Gas Supplier\n" in text and "target=emulator\n" in text


def test_the_view_keeps_every_message_once_and_failures_as_recorded(results, tmp_path):
    source = tmp_path / "results"
    shutil.copytree(results, source)
    failed = next(p for p in sorted(source.glob("*-result.json")) if "uept/" in p.read_text(encoding="utf-8"))
    data = json.loads(failed.read_text(encoding="utf-8"))
    data["status"] = "failed"
    failed.write_text(json.dumps(data), encoding="utf-8")
    view = tmp_path / "view"
    figures = report_view(source, view)
    assert figures["shown as recorded"] == 1
    kept = json.loads((view / failed.name).read_text(encoding="utf-8"))
    step = next(s for s in kept["steps"] if len(s.get("attachments", [])) > 1)
    assert [a["name"] for a in step["attachments"]] == [
        a["name"] for a in next(s for s in data["steps"] if s["name"] == step["name"])["attachments"]]
    for path in sorted(source.glob("*-result.json")):
        if path == failed:
            continue
        original, shown = json.loads(path.read_text(encoding="utf-8")), json.loads((view / path.name).read_text(encoding="utf-8"))
        for before, after in zip(original.get("steps", []), shown.get("steps", [])):
            attachments = before.get("attachments", [])
            if len(attachments) < 2:
                continue
            assert len(after["attachments"]) == 1
            merged = (view / after["attachments"][0]["source"]).read_bytes()
            for attachment in attachments:
                if attachment["name"].endswith(" rendered"):
                    continue  # inside the signed request
                body = (source / attachment["source"]).read_bytes()
                assert body.split(b"<ds:Signature")[0].strip() in merged, attachment["name"]
    stored = [p for p in view.iterdir() if "-attachment" in p.name]
    assert len({p.read_bytes() for p in stored}) == len(stored)  # identical evidence stored once


@pytest.mark.skipif(NPX is None or not ALLURE.exists(), reason="Allure 3 (npm) is not installed: ./dev setup")
def test_the_quality_gate_follows_the_verdicts(results, tmp_path):
    def gate(folder: Path) -> subprocess.CompletedProcess:
        return subprocess.run([NPX, "--no-install", "allure", "quality-gate", str(folder), "--config", "allurerc.mjs"],
                              cwd=paths.PROJECT_ROOT, capture_output=True, text=True, timeout=120,
                              env={**os.environ, "DUISCONF_RESULTS": str(folder), "NO_COLOR": "1"})

    assert gate(results).returncode == 0  # passes and not applicable only
    broken = tmp_path / "results"
    shutil.copytree(results, broken)
    path = next(p for p in sorted(broken.glob("*-result.json")) if '"passed"' in p.read_text(encoding="utf-8"))
    data = json.loads(path.read_text(encoding="utf-8"))
    data["status"] = "broken"
    path.write_text(json.dumps(data), encoding="utf-8")
    done = gate(broken)
    assert done.returncode == 1
    assert "1 scenario(s) with a verdict other than pass or not applicable" in done.stdout + done.stderr
    assert data["fullName"] in done.stdout + done.stderr
