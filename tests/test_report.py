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


def _copied_with_status(results: Path, copy: Path, marked: str, status: str) -> tuple[Path, dict]:
    """`results` copied to `copy`, the first result whose text holds `marked` given `status`."""
    shutil.copytree(results, copy)
    path = next(p for p in sorted(copy.glob("*-result.json")) if marked in p.read_text(encoding="utf-8"))
    data = json.loads(path.read_text(encoding="utf-8"))
    data["status"] = status
    path.write_text(json.dumps(data), encoding="utf-8")
    return path, data


def _attachment_files(holder: dict) -> list[str]:
    found = [a["source"] for a in holder.get("attachments") or []]
    for step in holder.get("steps") or []:
        found += _attachment_files(step)
    return found


def _shown(body: bytes) -> bytes:
    """What of a recorded message the view must show: all but its XML declaration and signature."""
    body = body.split(b"<ds:Signature")[0].strip()
    return body.split(b"?>", 1)[1].strip() if body.startswith(b"<?xml") else body


def test_the_view_keeps_every_message_and_failures_as_recorded(results, tmp_path):
    source = tmp_path / "results"
    failed, data = _copied_with_status(results, source, "uept/", "failed")
    view = tmp_path / "view"
    figures = report_view(source, view)
    assert figures["shown as recorded"] == 1
    kept = json.loads((view / failed.name).read_text(encoding="utf-8"))
    step = next(s for s in kept["steps"] if len(s.get("attachments", [])) > 1)
    recorded = next(s for s in data["steps"] if s["name"] == step["name"])["attachments"]
    assert [a["name"] for a in step["attachments"]] == [a["name"] for a in recorded]
    assert [(view / a["source"]).read_bytes() for a in step["attachments"]] == [
        (source / a["source"]).read_bytes() for a in recorded]  # byte for byte
    merged_whole = 0
    for path in sorted(source.glob("*-result.json")):
        if path == failed:
            continue
        original, shown = json.loads(path.read_text(encoding="utf-8")), json.loads((view / path.name).read_text(encoding="utf-8"))
        text = b"".join((view / name).read_bytes() for name in _attachment_files(shown))
        merged_whole += original["fullName"].startswith("catalogue/") and original["status"] == "passed" and len(
            _attachment_files(shown)) == 1 < len(_attachment_files(original))
        names = [a["name"] for s in [original, *original.get("steps", [])] for a in s.get("attachments", [])]
        for name, file in zip(names, _attachment_files(original)):
            if name.endswith(" rendered") or (name.endswith(" (JSON)") and name[:-7] in names):
                continue  # inside the signed request / the text twin
            assert _shown((source / file).read_bytes()) in text, (original["fullName"], name)
    assert merged_whole  # a passed catalogue scenario: its messages as one attachment
    files = [name for p in view.glob("*-result.json") for name in _attachment_files(json.loads(p.read_text(encoding="utf-8")))]
    assert len(files) == len(set(files))  # each link its own file: Allure 3 links a file once only
    assert sorted(files) == sorted(p.name for p in view.iterdir() if "-attachment" in p.name)


@pytest.mark.skipif(NPX is None or not ALLURE.exists(), reason="Allure 3 (npm) is not installed: ./dev setup")
def test_allure_links_every_attachment_and_the_page_loads_what_is_left(results, tmp_path):
    """The HTML drawn from the view, twice over a kept history (what Allure 3 makes of it, not what we think)."""
    from duisconf.pytest_report import prune_unread, trim_history

    view, history, html = tmp_path / "view", tmp_path / "history.jsonl", tmp_path / "html"
    report_view(results, view)
    for run in range(2):
        shutil.rmtree(html, ignore_errors=True)
        done = subprocess.run(
            [NPX, "--no-install", "allure", "generate", str(view), "--config", "allurerc.mjs", "--output", str(html)],
            cwd=paths.PROJECT_ROOT, capture_output=True, text=True, timeout=180,
            env={**os.environ, "DUISCONF_RESULTS": str(results), "DUISCONF_HISTORY": str(history), "NO_COLOR": "1"})
        assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
        assert prune_unread(html) > 0
        assert trim_history(history) == run + 1
    shown = [json.loads(p.read_text(encoding="utf-8")) for p in (html / "data" / "test-results").glob("*.json")]
    links = []
    for result in shown:
        steps = list(result.get("steps") or [])
        while steps:
            step = steps.pop()
            links += [step["link"]] if "link" in step else []
            steps += step.get("steps") or []
    assert links and not [link["name"] for link in links if link.get("missed")]
    assert all((html / "data" / "attachments" / f"{link['id']}{link['ext']}").is_file() for link in links)
    assert all(result["history"] for result in shown)  # the first run, seen from the second
    kept = json.loads(history.read_text(encoding="utf-8").splitlines()[-1])
    assert not {"labels", "trace", "fullName", "message"} & {k for item in kept["testResults"].values() for k in item}
    # What the page loads is still there; the copies it never asks for are not.
    bundle = b"".join(p.read_bytes() for p in html.glob("app-*.js"))
    assert b"/tree.json" in bundle and (html / "widgets" / "default" / "tree.json").is_file()
    assert not (html / "widgets" / "tree.json").exists() and not (html / "data" / "history").exists()


@pytest.mark.skipif(NPX is None or not ALLURE.exists(), reason="Allure 3 (npm) is not installed: ./dev setup")
def test_the_quality_gate_follows_the_verdicts(results, tmp_path):
    def gate(folder: Path) -> subprocess.CompletedProcess:
        return subprocess.run([NPX, "--no-install", "allure", "quality-gate", str(folder), "--config", "allurerc.mjs"],
                              cwd=paths.PROJECT_ROOT, capture_output=True, text=True, timeout=120,
                              env={**os.environ, "DUISCONF_RESULTS": str(folder), "DUISCONF_HISTORY": "", "NO_COLOR": "1"})

    assert gate(results).returncode == 0  # passes and not applicable only
    broken = tmp_path / "results"
    _, data = _copied_with_status(results, broken, '"passed"', "broken")
    done = gate(broken)
    assert done.returncode == 1
    assert "1 scenario(s) with a verdict other than pass or not applicable" in done.stdout + done.stderr
    assert data["fullName"] in done.stdout + done.stderr
