"""Negative checks of the suite itself for access control: every row of rules/access_control.toml played
wrong by the emulator (access.py: a wrong code, the check skipped, the check made after its neighbour)
must make at least one generated catalogue scenario FAIL with a message naming that row; with the model
right, the same scenarios pass. One subprocess run per way of playing wrong (the plugin
tests/access_misbehaviour.py switches on, in each scenario, the misbehaviour of the check it is about).

What a User cannot tell apart is derived from the rows, not listed by hand: two neighbouring checks that
answer the same code have no observable order. What the catalogue has no scenario for, what no single request can break
together, and which checks' failing requests the next check refuses too are listed in `NO_SCENARIO`,
`UNBREAKABLE_TOGETHER` and `REFUSED_BY_THE_NEXT`, each with its reason, and the test fails when that changes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from functools import lru_cache
from pathlib import Path

import pytest

from duisconf.emulator.access import MISBEHAVIOUR_KINDS, check_misbehaviour, load_checks, register_misbehaviours, swapped_pair
from duisconf.emulator.faults import MISBEHAVIOURS

ROOT = Path(__file__).resolve().parents[1]
CHECKS = load_checks()
ORDER = list(CHECKS)

# Checks the generated catalogue has no scenario for (so no misbehaviour of theirs can show), and why.
NO_SCENARIO: dict[str, str] = {}
# Checks whose every failing request the next check refuses too: skipping one shows only when that next
# check answers another code (derived below from the rows).
REFUSED_BY_THE_NEXT = {
    "well_formed": "a body that is not XML is no document, so the schema check refuses it too",
}
# Neighbours no single request can break together, so their order is not observable.
UNBREAKABLE_TOGETHER = {
    ("registration", "precommand_signature"): "a User not registered is refused at CV 4, before any pre-command",
}


def observable(check: str, kind: str) -> str | None:
    """None when a User can see this misbehaviour in the catalogue; else why not (derived from the rows)."""
    if kind == "order":
        first, then = swapped_pair(ORDER, check)
        if CHECKS[first].code == CHECKS[then].code:
            return f"{first} and {then} both answer {CHECKS[first].code}: their order cannot be seen"
        if (first, then) in UNBREAKABLE_TOGETHER:
            return UNBREAKABLE_TOGETHER[(first, then)]
        # the order shows in the first check's scenarios (each order case is tagged with it)
        check = first
    if kind == "skipped" and check in REFUSED_BY_THE_NEXT:
        following = ORDER[ORDER.index(check) + 1]
        if CHECKS[check].code == CHECKS[following].code:
            return f"{REFUSED_BY_THE_NEXT[check]}, with the same {CHECKS[check].code}: the skip cannot be seen"
    if check in NO_SCENARIO:
        return f"no catalogue scenario for {check}: {NO_SCENARIO[check]}"
    return None


@lru_cache(maxsize=None)
def run(kind: str) -> list[dict]:
    """One run of the kept catalogue refusal scenarios with `kind` played wrong ("" = the right model)."""
    import tempfile

    with tempfile.TemporaryDirectory() as scratch:
        report = Path(scratch, "report.json")
        env = {k: v for k, v in os.environ.items() if k not in ("DUISCONF_MISBEHAVE", "DUISCONF_DECLARATION")}
        env.update(DUISCONF_ACCESS_MISBEHAVE=kind, DUISCONF_ACCESS_REPORT=str(report),
                   DUISCONF_STATE_DIR=str(Path(scratch, "state")),  # fresh originator counters, no shared state
                   PYTHONPATH=os.pathsep.join([str(ROOT / "tests"), str(ROOT / "src"), env.get("PYTHONPATH", "")]))
        result = subprocess.run(
            [sys.executable, "-m", "pytest", "features/test_features.py", "-p", "access_misbehaviour",
             "-p", "no:cacheprovider", "-p", "no:hypothesispytest", "-q", "-o", "addopts=", "--tb=short"],
            cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
        assert report.is_file(), (result.stdout + result.stderr)[-3000:]
        return json.loads(report.read_text(encoding="utf-8"))


def test_every_check_row_has_its_misbehaviours_registered():
    names = register_misbehaviours(CHECKS)
    assert len(names) == len(CHECKS) * len(MISBEHAVIOUR_KINDS)
    for check in CHECKS:
        for kind in MISBEHAVIOUR_KINDS:
            assert check_misbehaviour(check, kind) in MISBEHAVIOURS


def test_with_the_model_right_the_same_scenarios_pass():
    results = run("")
    checks = {r["check"] for r in results}
    assert checks >= set(CHECKS) - set(NO_SCENARIO), f"no scenario kept for {sorted(set(CHECKS) - set(NO_SCENARIO) - checks)}"
    assert checks.isdisjoint(NO_SCENARIO), f"the catalogue now has scenarios for {sorted(checks & set(NO_SCENARIO))}: update NO_SCENARIO"
    failed = [f"{r['nodeid']}: {r['message'][-500:]}" for r in results if r["outcome"] != "passed"]
    assert not failed, "\n".join(failed)


@pytest.mark.parametrize("kind", MISBEHAVIOUR_KINDS)
def test_each_check_played_wrong_fails_a_scenario_naming_it(kind: str):
    results = run(kind)
    missing = []
    for check in CHECKS:
        reason = observable(check, kind)
        named = swapped_pair(ORDER, check)[0] if kind == "order" else check
        failing = [r for r in results if r["check"] == named and r["outcome"] == "failed"
                   and f"access-control check {named!r}" in r["message"]]
        if reason is None and not failing:
            ran = [f"{r['nodeid']} {r['outcome']}" for r in results if r["check"] == named]
            missing.append(f"{check_misbehaviour(check, kind)}: no scenario failed naming {named!r} (ran: {ran})")
        if kind == "skipped" and check in REFUSED_BY_THE_NEXT and reason is not None:
            seen = [r["nodeid"] for r in results if r["check"] == check and r["outcome"] == "failed"]
            if seen:
                missing.append(f"{check}: REFUSED_BY_THE_NEXT says a skip cannot be seen, but {seen} failed: update it")
    assert not missing, "\n".join(missing)
