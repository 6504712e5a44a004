"""Negative checks of the suite itself: with a deliberately wrong emulator model switched on
(DUISCONF_MISBEHAVE), the design-note scenario that covers the rule must FAIL, naming the broken rule.
One scenario per check, in a subprocess, so each stays fast."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def run_scenario(name: str, rule: str | None) -> subprocess.CompletedProcess:
    env = dict(os.environ)
    env.pop("DUISCONF_MISBEHAVE", None)
    if rule:
        env["DUISCONF_MISBEHAVE"] = rule
    return subprocess.run(
        [sys.executable, "-m", "pytest", "features/test_features.py", "-p", "no:cacheprovider", "-q",
         "-o", "addopts=", "-k", name],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)


@pytest.mark.parametrize(("scenario", "rule", "message"), [
    ("test_an_image_activated_at_once_becomes_the_version_the_meter_runs", "firmware-version-not-updated",
     "firmware-version-not-updated: after 11.3 Activate Firmware the device must execute the activated image"),
    ("test_boost_button_associations_are_added_and_removed_per_switch", "boost-ignored",
     "boost-ignored: 7.9 / 7.10 must add / remove the named switches on the boost button"),
])
def test_scenario_fails_naming_the_broken_rule(scenario: str, rule: str, message: str) -> None:
    result = run_scenario(scenario, rule)
    output = result.stdout + result.stderr
    assert "1 failed" in output and result.returncode != 0, output[-3000:]
    assert message in output, output[-3000:]
