"""Negative checks of the suite itself for what the catalogue's positive scenarios check beyond response
codes: an emulator that answers I0 but does not apply the effect (misbehaviour "effect-not-applied") makes
the read-back scenarios (rules/effects.toml) fail naming the effect; one whose GBCS response carries a
wrong counter or message code makes the framing step fail naming what is wrong. With the model right,
the same scenarios pass. One subprocess run of a handful of generated catalogue scenarios per case."""

from __future__ import annotations

import re

import pytest
from suite_runs import run_scenarios

from duisconf.emulator import behaviours, device_messages
from duisconf.emulator.faults import MISBEHAVIOURS

# Read-backs whose value the reference device does not hold before the request (so "not applied" shows):
# 7.2 supply Disabled (ESME and GSME), 1.6 payment mode Prepayment, 7.12 randomised offset limit 7.
READ_BACKS = "reading_the_device_back and (7.2 or 1.6 or 7.12)"
READ_BACK_SRVS = ("7.2", "1.6", "7.12")
# Framing: a plain read answered by the ESME and a critical command answered by the GSME.
FRAMING = ("(the_device_answers__catalogue_section_07 and 7.4-Import) or "
           "(carried_the_command_out and 3.1-Gas)")


def _counts(output: str) -> tuple[int, int]:
    """(passed, failed) of pytest's own summary line (the last line saying "in <seconds>s")."""
    summary = next((line for line in reversed(output.splitlines()) if re.search(r" in [\d.]+s", line)), "")
    passed = re.search(r"(\d+) passed", summary)
    failed = re.search(r"(\d+) failed", summary)
    return int(passed.group(1)) if passed else 0, int(failed.group(1)) if failed else 0


def test_the_misbehaviours_are_registered():
    for rule in (behaviours.EFFECT_NOT_APPLIED, device_messages.RESPONSE_COUNTER_WRONG,
                 device_messages.RESPONSE_MESSAGE_CODE_WRONG):
        assert rule in MISBEHAVIOURS


@pytest.mark.parametrize("selection", [READ_BACKS, FRAMING], ids=["read-backs", "framing"])
def test_with_the_model_right_the_scenarios_pass(selection: str):
    result = run_scenarios(selection)
    output = result.stdout + result.stderr
    passed, failed = _counts(output)
    assert result.returncode == 0 and failed == 0 and passed >= 2, output[-3000:]


def test_an_effect_not_applied_fails_every_read_back_naming_the_effect():
    result = run_scenarios(READ_BACKS, behaviours.EFFECT_NOT_APPLIED)
    output = result.stdout + result.stderr
    passed, failed = _counts(output)
    assert passed == 0 and failed >= len(READ_BACK_SRVS), output[-3000:]
    for srv in READ_BACK_SRVS:
        assert f"the effect of SRV {srv} (rules/effects.toml) read back" in output, (srv, output[-3000:])


@pytest.mark.parametrize("rule, named", [
    (device_messages.RESPONSE_COUNTER_WRONG, "is not the request's"),
    (device_messages.RESPONSE_MESSAGE_CODE_WRONG, "GBCS message code"),
], ids=["counter", "message-code"])
def test_a_wrong_framing_fails_the_framing_step_naming_it(rule: str, named: str):
    result = run_scenarios(FRAMING, rule)
    output = result.stdout + result.stderr
    passed, failed = _counts(output)
    assert passed == 0 and failed >= 2, output[-3000:]
    assert named in output, output[-3000:]
