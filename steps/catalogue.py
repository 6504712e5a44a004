"""Steps the generated catalogue (features/catalogue/) needs beyond the generic library: putting a device
in a given SMI status (arranged on the emulator; inconclusive on a real kit) and making sure a device
is unknown to the DCC (read with SRV 8.2, so it holds on any target)."""

from __future__ import annotations

from pytest_bdd import given, parsers

from duisconf.duis.model import SR_NS, normalise_eui
from duisconf.errors import PreconditionNotMet
from duisconf.evidence import attach_exchange

from .common import DEVICE, ScenarioContext, control_of, device_of, user_eui

_SR = f"{{{SR_NS}}}"


@given(parsers.re(rf'the {DEVICE} is in SMI status "(?P<status>[^"]+)"$'))
def device_in_status(context: ScenarioContext, duis_scenario, device: str, status: str) -> None:
    """What the DCC's inventory says of the device (a pre-notified meter, a decommissioned one …): only the
    embedded emulator can be put in that state on demand; on a real kit the scenario is inconclusive."""
    eui = device_of(context, duis_scenario, device)
    control = control_of(duis_scenario.session, f'putting the {device} in SMI status "{status}"')
    control.put_device(eui, status=status.replace(" ", ""))


@given(parsers.re(r'no device "(?P<eui>[0-9A-Fa-f-]+)" is in the inventory$'))
def device_unknown(context: ScenarioContext, duis_scenario, eui: str) -> None:
    """Checked with SRV 8.2 Read Inventory: the DCC must not know the device."""
    duis = duis_scenario.session
    eui = normalise_eui(eui)
    exchange = duis.client.send("8.2", originator=user_eui(context, duis, "Import Supplier"), params={"DeviceID": eui})
    attach_exchange(exchange, duis.base_url)
    known = exchange.code == "I0" and exchange.final.root.find(f".//{_SR}Device[{_SR}DeviceID='{eui}']") is not None
    if known:
        raise PreconditionNotMet(f"the target's inventory holds {eui}: the scenario needs an unknown device")
