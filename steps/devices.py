"""Preconditions in the design notes' words: who acts, which devices the scenario holds and in what state,
and time passing. Preconditions are checked through DUIS (8.2 Read Inventory) so they mean the same on
a DCC Boxed kit; where only the emulator can arrange something (time jumps), a real target makes the
scenario inconclusive rather than failed."""

from __future__ import annotations

import re
import time
from datetime import datetime, timedelta

from pytest_bdd import given, parsers, then, when

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


def let_time_pass(duis, seconds: float) -> None:
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
    let_time_pass(duis_scenario.session, int(amount) * _UNITS[unit])


@when("the execution date-time passes")
def execution_passes(context: ScenarioContext, duis_scenario) -> None:
    from .common import target_now

    assert context.execution, "no future-dated request has been sent in this scenario"
    due = datetime.fromisoformat(context.execution.replace("Z", "+00:00"))
    remaining = (due - target_now(duis_scenario.session)) + timedelta(seconds=1)
    let_time_pass(duis_scenario.session, max(remaining.total_seconds(), 0))


@then("nothing the future-dated request causes arrives before its execution date-time")
def nothing_before_execution(context: ScenarioContext, duis_scenario) -> None:
    """Target time runs on to one second before the future-dated request's ExecutionDateTime, and nothing
    that request causes arrives meanwhile: no future-dated alert or other message carrying its RequestID,
    and none of the alerts rules/expected_messages.toml pairs with its SRV (8F43 for 11.3, 8F70 for 6.23 …).
    The next step lets the execution date-time pass and waits for the outcome. On the emulator the
    virtual clock runs on (no real wait); a real target is watched in real time when that fits its
    future-dated timeout, otherwise the scenario is inconclusive."""
    from duisconf.accounting import load_expected
    from duisconf.evidence import attach_inbound

    from .common import target_now

    duis = duis_scenario.session
    pending = getattr(context, "pending", None)  # a supplier's future-dated request (steps/dn_supplier.py)
    request_id, execution = (pending[0], pending[1]) if pending else (context.request_id, context.execution)
    assert execution, "no future-dated request has been sent in this scenario"
    request_id = request_id.upper()
    srv = next(e.srv for e in context.exchanges if str(e.request_id).upper() == request_id)
    caused = {(row.kind, code) for row in load_expected() if srv in row.srvs for code in row.codes}
    due = datetime.fromisoformat(execution.replace("Z", "+00:00"))
    window = (due - target_now(duis)).total_seconds() - 1
    assert window > 0, f"the execution date-time {execution} of {request_id} has already passed"
    if duis.control is None and window > duis.target.timeouts.future_dated:
        control_of(duis, f"watching the {window:g} s before the execution date-time {execution}")

    def of_the_request(m) -> bool:
        return m.request_id == request_id or (m.kind, (m.alert_code or "").upper()) in caused

    early = duis.receiver.nothing_more(window, of_the_request, settle=duis.settle)
    for message in early:
        attach_inbound(message, f"early {message.kind}", context.sent_at)
    assert not early, (f"before the execution date-time {execution} of SRV {srv} {request_id}: " + "; ".join(
        f"{m.kind} {m.alert_code or m.code} for {m.request_id or m.source_device}" for m in early) +
        " arrived (a future-dated command is actioned at its ExecutionDateTime, duis.md §1.5)")
