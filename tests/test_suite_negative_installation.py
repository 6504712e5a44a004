"""Negative checks of the suite itself for the installation design notes (Install & Commission, No WAN,
CH Exchange, CH Re-use): with a deliberately wrong emulator model switched on (DUISCONF_MISBEHAVE), the
scenario that covers the rule must FAIL with a message naming the broken rule; without it, it passes.
One scenario per check, each in a subprocess (a few seconds each)."""

from __future__ import annotations

import pytest

from suite_runs import assert_fails_naming, run_scenarios

CHECKS = [
    ("test_commissioning_with_a_time_outside_the_clock_tolerance_leaves_the_esme_uncommissioned",
     "commission-without-clock-check",
     "the ESME was commissioned although the CurrentDateTime was outside its clock tolerance (8.1.1"),
    ("test_install_and_leave_the_hub_is_reported_without_sm_wan_and_the_esme_cannot_be_whitelisted",
     "no-wan-requests-succeed",
     "device requests must fail while there is no SM WAN"),
    ("test_the_new_chf_takes_over_the_old_chfs_device_log",
     "device-log-not-restored",
     "the device log was not restored from the old CHF (8.12.1)"),
    ("test_a_meter_removed_from_the_chf_device_log_is_kept_in_the_chf_historic_device_log",
     "historic-log-not-kept",
     "is not in the CHF historic device log (8.11 Remove, GBCS CCS02"),
]




@pytest.mark.parametrize(("scenario", "rule", "message"), CHECKS, ids=[rule for _, rule, _ in CHECKS])
def test_scenario_fails_naming_the_broken_rule(scenario: str, rule: str, message: str) -> None:
    assert_fails_naming(scenario, rule, message)


def test_the_same_scenarios_pass_with_the_right_model() -> None:
    """The control: the failures above come from the misbehaviour, not from the scenarios."""
    result = run_scenarios(" or ".join(scenario for scenario, _, _ in CHECKS), None)
    output = result.stdout + result.stderr
    assert result.returncode == 0 and f"{len(CHECKS)} passed" in output, output[-3000:]
