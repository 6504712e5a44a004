"""Preconditions in the design notes' words: who acts, which devices the scenario holds and in what state,
and time passing. Preconditions are checked through DUIS (8.2 Read Inventory) so they mean the same on
a DCC Boxed kit; where only the emulator can arrange something (time jumps), a real target makes the
scenario inconclusive rather than failed."""

from __future__ import annotations

import re
import time
from datetime import datetime, timedelta

from pytest_bdd import given, parsers, when

from duisconf.duis.model import SR_NS, normalise_eui
from duisconf.errors import PreconditionNotMet
from duisconf.evidence import attach_exchange

from .common import DEVICE, DEVICE_TYPES, ROLE_NAMES, ROLES, ScenarioContext, control_of, device_of, user_eui

_SR = f"{{{SR_NS}}}"
_UNITS = {"second": 1, "minute": 60, "hour": 3600, "day": 86400}


@given(parsers.re(rf'the (?P<role>{ROLE_NAMES}) is "(?P<eui>[0-9A-Fa-f-]+)"$'))
def acting_user(context: ScenarioContext, role: str, eui: str) -> None:
    context.users[ROLES[role]] = normalise_eui(eui)


@given(parsers.re(rf'the {DEVICE} is "(?P<eui>[0-9A-Fa-f-]+)"$'))
def named_device(context: ScenarioContext, device: str, eui: str) -> None:
    context.devices[device] = normalise_eui(eui)


def inventory_status(context: ScenarioContext, duis_scenario, kind: str) -> str | None:
    """The device's SMI status as SRV 8.2 reports it (None if the DCC does not know the device)."""
    duis = duis_scenario.session
    eui = device_of(context, duis_scenario, kind)
    role = "Gas Supplier" if kind in ("GSME", "GPF") else "Import Supplier"
    exchange = duis.client.send("8.2", originator=user_eui(context, duis, role), params={"DeviceID": eui})
    attach_exchange(exchange, duis.base_url)
    if exchange.code != "I0":
        return None
    return exchange.final.root.findtext(f".//{_SR}DeviceStatus")


@given(parsers.re(rf"an? (?P<status>commissioned|installed) (?P<devices>(?:{'|'.join(DEVICE_TYPES)})(?:(?:,| and) (?:{'|'.join(DEVICE_TYPES)}))*)$"))
def devices_in_status(context: ScenarioContext, duis_scenario, status: str, devices: str) -> None:
    """`a commissioned ESME and CHF`: the scenario leases each device and checks its SMI status with 8.2."""
    wanted = {"commissioned": "Commissioned", "installed": "InstalledNotCommissioned"}[status]
    for kind in re.findall("|".join(DEVICE_TYPES), devices):
        found = inventory_status(context, duis_scenario, kind)
        if found != wanted:
            raise PreconditionNotMet(f"the {kind} is {found or 'not in the inventory'} (SRV 8.2), "
                                     f"the scenario needs it {wanted}")


def _advance(duis, seconds: float) -> None:
    """Let `seconds` of target time pass: the emulator's clock jumps; a real target is waited for when
    the wait fits in its future-dated timeout, otherwise the scenario is inconclusive."""
    if duis.control is not None:
        duis.control.advance(seconds)
    elif seconds <= duis.target.timeouts.future_dated:
        time.sleep(seconds)
    else:
        control_of(duis, f"letting {seconds:g} s pass")


@when(parsers.re(r"(?P<amount>\d+) (?P<unit>second|minute|hour|day)s? pass(?:es)?$"))
def time_passes(duis_scenario, amount: str, unit: str) -> None:
    _advance(duis_scenario.session, int(amount) * _UNITS[unit])


@when("the execution date-time passes")
def execution_passes(context: ScenarioContext, duis_scenario) -> None:
    from .common import target_now

    assert context.execution, "no future-dated request has been sent in this scenario"
    due = datetime.fromisoformat(context.execution.replace("Z", "+00:00"))
    remaining = (due - target_now(duis_scenario.session)) + timedelta(seconds=1)
    _advance(duis_scenario.session, max(remaining.total_seconds(), 0))
