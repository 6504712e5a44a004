"""Negative checks of the suite itself for the Change of Supplier, Prepayment CoS and Time Management
features: with a deliberately wrong emulator model switched on (DUISCONF_MISBEHAVE), the scenario that
covers the rule must FAIL with a message naming the broken rule, and pass without it. One scenario per
check, run in a subprocess so each stays fast."""

from __future__ import annotations

import pytest

from duisconf.emulator.faults import MISBEHAVIOURS
from suite_runs import assert_fails_naming, run_scenarios

CHECKS = [
    ("test_after_the_change_the_dcc_refuses_the_losing_suppliers_commands_to_both_meters",
     "losing-supplier-still-accepted",
     "the losing supplier's command was accepted after the change of supplier (6.23)"),
    ("test_after_the_change_the_losing_suppliers_utrns_are_no_longer_valid_on_the_meter",
     "old-utrn-accepted-after-cos",
     "applied a UTRN issued by the losing supplier after the change of supplier"),
    ("test_a_clock_within_tolerance_is_synchronised_and_stays_on_the_dccs_time",
     "clock-not-adjusted",
     "clock was not adjusted by the synchronisation within tolerance (6.11, alert 8145)"),
]




def test_the_misbehaviours_are_registered():
    import duisconf.emulator.behaviours  # noqa: F401  (loads the effects modules that register them)

    for _, rule, _ in CHECKS:
        assert rule in MISBEHAVIOURS, rule


@pytest.mark.parametrize(("scenario", "rule", "message"), CHECKS, ids=[rule for _, rule, _ in CHECKS])
def test_scenario_fails_naming_the_broken_rule(scenario: str, rule: str, message: str) -> None:
    assert_fails_naming(scenario, rule, message)


@pytest.mark.parametrize(("scenario", "rule", "message"), CHECKS[:1], ids=["baseline"])
def test_the_scenario_passes_with_a_correct_model(scenario: str, rule: str, message: str) -> None:
    result = run_scenarios(scenario, None)
    output = result.stdout + result.stderr
    assert "1 passed" in output and result.returncode == 0, output[-3000:]
