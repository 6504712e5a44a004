"""Verdicts through a real pytest-bdd run: a timeout is inconclusive (never a plain failure), a broken
rule is fail, a suite fault is error; each is labelled in the Allure results and counted at the end.
Against the emulator: a required message missing after the acknowledgement is a fail once the receive
path is proven (an error before), a duplicate or a message nothing expects fails the scenario, a message
the rules expect but no step asserts does not, and every scenario carries its message accounting."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import os

from duisconf import paths
from duisconf.client import TargetUnavailable
from duisconf.errors import ConfigError, SignatureInvalid
from duisconf.receiver import ReceivePathUnproven, RequiredMessageMissing, TargetTimeout
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
                         capture_output=True, text=True, timeout=120, cwd=tmp_path, env=_env())
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


def test_a_missing_required_message_is_a_fail_only_once_the_receive_path_is_proven():
    assert verdict_of(RequiredMessageMissing("required message not received within 1 s")) == "fail"
    assert verdict_of(ReceivePathUnproven("required message not received; receive path unproven")) == "error"


def _env() -> dict:
    """The subprocess imports this worktree's duisconf, whatever the caller's PYTHONPATH (a relative
    `src` would not survive the change of directory)."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(paths.PROJECT_ROOT / "src"), str(paths.PROJECT_ROOT)])
    env.pop("DUISCONF_MISBEHAVE", None)
    return env


# -- against the emulator: the real steps, a target file with short timeouts -----------------------------

EMULATOR_CONFTEST = """
pytest_plugins = ["steps.common", "steps.requests", "steps.responses", "steps.devices"]

from pytest_bdd import given, when


@when("the target posts the future-dated alert for that request early")
def early(context, duis_scenario):
    import requests
    from duisconf.emulator.responses import ResponseBuilder
    session = duis_scenario.session
    body = ResponseBuilder(session.keystore).future_dated_alert(context.exchange.request_id, "1.1.1", "8F66", b"early")
    assert requests.post(session.receiver.url, data=body, timeout=5).status_code == 204

@given("the emulator drops the response to SRV 4.1.1")
def drops(duis_scenario):
    duis_scenario.session.control.add_fault("drop", srv="4.1.1")

@given("the emulator sends the response to SRV 4.1.1 twice")
def twice(duis_scenario):
    duis_scenario.session.control.add_fault("duplicate", srv="4.1.1")

@when("the target posts a message that is not DUIS")
def garbage(duis_scenario):
    import requests
    session = duis_scenario.session
    assert requests.post(session.receiver.url, data=b"<not-duis/>", timeout=5).status_code == 400


@when("the target posts a response to a request nobody sent")
def stray(duis_scenario):
    import requests
    from duisconf.duis.model import RequestID
    from duisconf.emulator.responses import ResponseBuilder
    session = duis_scenario.session
    stray_id = RequestID("90-B3-D5-1F-30-01-00-00", "00-DB-12-34-56-78-90-A0", 1)
    body = ResponseBuilder(session.keystore).acknowledgement(stray_id, "I0", "4.1.1")
    assert requests.post(session.receiver.url, data=body, timeout=5).status_code == 204
"""

SCENARIOS = {
    "proves the receive path": """
    When the Import Supplier sends SRV 4.1.1 to the ESME
    Then a response I0 arrives within the on-demand timeout""",
    "answered with alerts nobody asserts": """
    When the Import Supplier sends SRV 8.11 to the CHF with DeviceID "00-DB-12-34-56-78-90-C1"
    Then a response I0 arrives within the on-demand timeout""",
    "required response dropped": """
    Given the emulator drops the response to SRV 4.1.1
    When the Import Supplier sends SRV 4.1.1 to the ESME
    Then a response I0 arrives within the on-demand timeout""",
    "duplicate response": """
    Given the emulator sends the response to SRV 4.1.1 twice
    When the Import Supplier sends SRV 4.1.1 to the ESME
    Then a response I0 arrives within the on-demand timeout""",
    "stray response": """
    When the Import Supplier sends SRV 4.1.1 to the ESME
    And the target posts a response to a request nobody sent
    Then a response I0 arrives within the on-demand timeout""",
    "unverifiable message": """
    When the Import Supplier sends SRV 4.1.1 to the ESME
    And the target posts a message that is not DUIS
    Then a response I0 arrives within the on-demand timeout""",
    "future-dated actioned at its time": """
    When the Import Supplier sends SRV 1.1.1 to the ESME to execute in 2 days
    Then a response I0 arrives within the on-demand timeout
    And nothing the future-dated request causes arrives before its execution date-time
    When the execution date-time passes
    Then a future-dated alert 8F66 arrives for that request""",
    "future-dated actioned early": """
    When the Import Supplier sends SRV 1.1.1 to the ESME to execute in 2 days
    Then a response I0 arrives within the on-demand timeout
    When the target posts the future-dated alert for that request early
    Then nothing the future-dated request causes arrives before its execution date-time""",
}


def _emulator_run(tmp_path: Path, names: list[str]) -> tuple[subprocess.CompletedProcess, dict]:
    """Run the named scenarios, in order, against an emulator target with 1 s timeouts."""
    target = (paths.PROJECT_ROOT / "targets" / "emulator.toml").read_text()
    for key in ("on_demand", "alert", "future_dated"):
        target = target.replace(f"\n{key} = ", f"\n{key} = 1 # ", 1)
    (tmp_path / "fast.toml").write_text(target)
    (tmp_path / "conftest.py").write_text(EMULATOR_CONFTEST)
    (tmp_path / "run.feature").write_text("Feature: verdicts on the emulator\n" + "".join(
        f"  Scenario: {name}{SCENARIOS[name]}\n" for name in names))
    (tmp_path / "test_run.py").write_text('from pytest_bdd import scenarios\nscenarios("run.feature")\n')
    results = tmp_path / "allure"
    run = subprocess.run([sys.executable, "-m", "pytest", str(tmp_path), "-q", "-p", "no:cacheprovider",
                          "-p", "no:hypothesispytest", "--rootdir", str(tmp_path), "--alluredir", str(results),
                          "--target", str(tmp_path / "fast.toml")],
                         capture_output=True, text=True, timeout=120, cwd=tmp_path, env=_env())
    labelled = {}
    for path in results.glob("*-result.json"):
        result = json.loads(path.read_text())
        verdict = next((label["value"] for label in result["labels"] if label["name"] == "verdict"), None)
        attachments = {a["name"]: results / a["source"] for a in result.get("attachments", [])}
        labelled[result["name"]] = (verdict, result["status"], attachments,
                                    result.get("statusDetails", {}).get("message", ""))
    return run, labelled


def test_on_the_emulator_missing_duplicate_and_stray_messages_fail_and_rule_expected_ones_pass(tmp_path: Path):
    run, labelled = _emulator_run(tmp_path, list(SCENARIOS))
    assert "3 pass, 5 fail" in run.stdout, run.stdout[-4000:]
    verdicts = {name: (v, status) for name, (v, status, *_) in labelled.items()}
    assert "DUIS message accounting: 0 claimed" in labelled["required response dropped"][3]  # Allure's message
    assert verdicts == {"proves the receive path": ("pass", "passed"),
                        "answered with alerts nobody asserts": ("pass", "passed"),
                        "required response dropped": ("fail", "failed"),
                        "duplicate response": ("fail", "failed"),
                        "stray response": ("fail", "failed"),
                        "future-dated actioned at its time": ("pass", "passed"),
                        "unverifiable message": ("fail", "failed"),
                        "future-dated actioned early": ("fail", "failed")}, run.stdout[-4000:]
    assert "unverifiable message: " in run.stdout
    assert "future-dated-alert 8F66 for" in run.stdout and "arrived (a future-dated command is actioned at its" in run.stdout
    assert "required message not received within 1 s: response for RequestID" in run.stdout
    assert "DUIS message accounting: 0 claimed, 0 expected but not asserted, 0 unexpected" in run.stdout
    assert "duplicate of message" in run.stdout and "is no request this scenario sent" in run.stdout
    # the counts are in the failure output, the accounting on every result
    assert "unexpected message(s) from the target: 1 claimed, 0 expected but not asserted, 1 unexpected" in run.stdout
    accounting = json.loads(labelled["answered with alerts nobody asserts"][2]["Message accounting (JSON)"].read_text())
    assert accounting["counts"] == {"claimed": 1, "expected but not asserted": 2, "unexpected": 0}
    assert {(m["kind"], m["code"]) for m in accounting["expected_not_asserted"]} == {("device-alert", "8F12"),
                                                                                    ("dcc-alert", "N24")}
    assert all("rules/expected_messages.toml" in m["because"] for m in accounting["expected_not_asserted"])


def test_a_missing_required_message_before_the_receive_path_is_proven_is_an_error(tmp_path: Path):
    run, labelled = _emulator_run(tmp_path, ["required response dropped"])
    assert "1 error" in run.stdout, run.stdout[-3000:]
    assert labelled["required response dropped"][:2] == ("error", "broken")
    assert "receive path is unproven" in run.stdout
