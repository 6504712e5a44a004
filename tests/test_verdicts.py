"""Verdicts through a real pytest-bdd run: a timeout is inconclusive (never a plain failure), a broken
rule is fail, a suite fault is error; each is labelled in the Allure results and counted at the end."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from duisconf.client import TargetUnavailable
from duisconf.errors import ConfigError, SignatureInvalid
from duisconf.receiver import TargetTimeout
from duisconf.verdicts import verdict_of, worst

FEATURE = """Feature: verdicts
  Scenario: answered
    Given nothing
  Scenario: never answered
    Given the target never answers
  Scenario: broke a rule
    Given the target answers wrongly
  Scenario: suite fault
    Given the suite trips over itself
  Scenario: device busy
    Given the device stays leased elsewhere
"""

STEPS = """
from pytest_bdd import given, scenarios
from duisconf.receiver import TargetTimeout

scenarios("verdicts.feature")

@given("nothing")
def nothing():
    pass

@given("the target never answers")
def timeout():
    raise TargetTimeout("no response for RequestID x within 1 s")

@given("the target answers wrongly")
def wrong():
    assert "E2" == "I99", "expected I99"

@given("the device stays leased elsewhere")
def busy():
    from duisconf.leases import LeaseUnavailable
    raise LeaseUnavailable("device 00-DB-12-34-56-78-90-A0 of kit stayed leased for 1 s")

@given("the suite trips over itself")
def fault():
    raise KeyError("oops")
"""


def test_each_outcome_gets_its_verdict_in_allure_and_the_summary(tmp_path: Path):
    (tmp_path / "verdicts.feature").write_text(FEATURE)
    (tmp_path / "test_verdicts_run.py").write_text(STEPS)
    results = tmp_path / "allure"
    run = subprocess.run([sys.executable, "-m", "pytest", str(tmp_path), "-q", "-p", "no:cacheprovider",
                          "--rootdir", str(tmp_path), "--alluredir", str(results)],
                         capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert "1 pass, 1 fail, 2 inconclusive, 1 error" in run.stdout, run.stdout[-2000:]
    labelled = {}
    for path in results.glob("*-result.json"):
        result = json.loads(path.read_text())
        verdict = next(label["value"] for label in result["labels"] if label["name"] == "verdict")
        labelled[result["name"]] = (verdict, result["status"])
    assert labelled == {"answered": ("pass", "passed"), "never answered": ("inconclusive", "broken"),
                        "broke a rule": ("fail", "failed"), "suite fault": ("error", "broken"),
                        "device busy": ("inconclusive", "broken")}


def test_verdict_rules():
    assert verdict_of(TargetTimeout("t")) == verdict_of(TargetUnavailable("u")) == "inconclusive"
    assert verdict_of(AssertionError()) == verdict_of(SignatureInvalid("s")) == "fail"
    assert verdict_of(ConfigError("c")) == verdict_of(RuntimeError()) == "error"
    assert worst("pass", "inconclusive", "fail") == "fail" and worst("error", "fail") == "error"
