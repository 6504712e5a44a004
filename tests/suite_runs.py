"""Running feature scenarios in a subprocess, optionally with a deliberately wrong emulator model
(DUISCONF_MISBEHAVE): the shared runner of the suite's own negative checks (tests/test_suite_negative_*)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# A small declaration (one gas supplier, one SRV) for tests that run a few real scenarios and read the results.
GAS_SUPPLIER_DECLARATION = """party = "Test Gas Supplier"
kind = "supplier"

[roles.GS]
eui = "90-B3-D5-1F-30-01-00-00"

[srvs]
claimed = ["8.7.2"]

[[devices]]
type = "GSME"
"""


def run_scenarios(selection: str, rule: str | None = None) -> subprocess.CompletedProcess:
    """Run the feature scenarios whose test names match `selection` (-k) against the emulator."""
    env = dict(os.environ)
    env.pop("DUISCONF_MISBEHAVE", None)
    if rule:
        env["DUISCONF_MISBEHAVE"] = rule
    return subprocess.run(
        [sys.executable, "-m", "pytest", "features/test_features.py", "-p", "no:cacheprovider",
         "-p", "no:hypothesispytest", "-q", "-o", "addopts=", "-k", selection],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)


def assert_fails_naming(scenario: str, rule: str, message: str) -> None:
    """With `rule` misbehaving, `scenario` fails and its output names the broken rule."""
    result = run_scenarios(scenario, rule)
    output = result.stdout + result.stderr
    assert "1 failed" in output and result.returncode != 0, output[-3000:]
    assert message in output, output[-3000:]
