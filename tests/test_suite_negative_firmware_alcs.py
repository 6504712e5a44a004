"""Negative checks of the suite itself: with a deliberately wrong emulator model switched on
(DUISCONF_MISBEHAVE), the design-note scenario that covers the rule must FAIL, naming the broken rule.
One scenario per check, in a subprocess, so each stays fast."""

from __future__ import annotations

import pytest

from suite_runs import assert_fails_naming




@pytest.mark.parametrize(("scenario", "rule", "message"), [
    ("test_an_image_activated_at_once_becomes_the_version_the_meter_runs", "firmware-version-not-updated",
     "firmware-version-not-updated: after 11.3 Activate Firmware the device must execute the activated image"),
    ("test_boost_button_associations_are_added_and_removed_per_switch", "boost-ignored",
     "boost-ignored: 7.9 / 7.10 must add / remove the named switches on the boost button"),
])
def test_scenario_fails_naming_the_broken_rule(scenario: str, rule: str, message: str) -> None:
    assert_fails_naming(scenario, rule, message)
