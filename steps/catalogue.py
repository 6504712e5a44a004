"""Steps the generated catalogue (features/catalogue/) needs beyond the generic library: putting a device
in a given SMI status (arranged on the emulator; inconclusive on a real kit), making sure a device is
unknown to the DCC (read with SRV 8.2, so it holds on any target), requests that break two neighbouring
access-control checks at once (their order), and a refusal that names the access-control check
(rules/access_control.toml row) its expected code comes from."""

from __future__ import annotations

from functools import lru_cache

from pytest_bdd import given, parsers, then, when

from duisconf.duis.model import SR_NS, normalise_eui
from duisconf.errors import PreconditionNotMet
from duisconf.evidence import attach_exchange

from .common import DEVICE, ROLE_NAMES, ScenarioContext, control_of, device_of, user_eui
from .requests import send_variant

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


# -- breaking two neighbouring checks at once (the order of the checks) ----------------------------

def _add_unknown_element(root) -> None:
    """The same schema violation as the single-check step: an element DUIS does not define in the Header."""
    from lxml import etree

    etree.SubElement(root.find(f"{_SR}Header"), f"{_SR}NotInDUIS").text = "x"


@when(parsers.re(rf"the (?P<role>{ROLE_NAMES}) sends SRV (?P<srv>[0-9.]+) to the {DEVICE} with an element the schema "
                 rf"does not allow, signed with the key of the (?P<signer>{ROLE_NAMES})$"))
def sends_schema_violation_signed_by_another(context: ScenarioContext, duis_scenario, role: str, srv: str, device: str,
                                             signer: str) -> None:
    duis = duis_scenario.session
    signer_eui = user_eui(context, duis, signer)
    assert signer_eui != user_eui(context, duis, role), \
        f"the {signer} and the {role} are the same organisation on this target: pick another signer"
    send_variant(context, duis_scenario, role, srv, device_of(context, duis_scenario, device),
                 doctor=_add_unknown_element, signer=signer_eui)


@when(parsers.re(rf"the (?P<role>{ROLE_NAMES}) sends SRV (?P<srv>[0-9.]+) to the {DEVICE} again with the same counter "
                 r"to (?P<service>serviceS|serviceT|serviceD)$"))
def sends_replayed_counter_to_service(context: ScenarioContext, duis_scenario, role: str, srv: str, device: str,
                                      service: str) -> None:
    assert context.exchange is not None, "nothing was sent before: there is no counter to replay"
    send_variant(context, duis_scenario, role, srv, device_of(context, duis_scenario, device),
                 counter=context.exchange.request_id.counter, service=service)


@when(parsers.re(rf"the (?P<role>{ROLE_NAMES}) sends SRV (?P<srv>[0-9.]+) to the {DEVICE} as CommandVariant "
                 r"(?P<cv>[1-8]) to (?P<service>serviceS|serviceT|serviceD)$"))
def sends_as_command_variant_to_service(context: ScenarioContext, duis_scenario, role: str, srv: str, device: str,
                                        cv: str, service: str) -> None:
    send_variant(context, duis_scenario, role, srv, device_of(context, duis_scenario, device), cv=int(cv), service=service)


@when(parsers.re(rf"the (?P<role>{ROLE_NAMES}) sends SRV (?P<srv>[0-9.]+) with the DCC's EUI as its target$"))
def sends_to_the_dcc_eui(context: ScenarioContext, duis_scenario, role: str, srv: str) -> None:
    """A device SRV addressed to the DCC itself (RequestID target = the DCC's EUI): the target check's case."""
    from duisconf.duis.model import DCC_EUI

    send_variant(context, duis_scenario, role, srv, DCC_EUI)


# -- the refusal, named by its access-control check ------------------------------------------------

@lru_cache(maxsize=1)
def _check_codes() -> dict[str, str]:
    from duisconf.emulator.access import load_checks

    return {name: check.code for name, check in load_checks().items()}


@then(parsers.re(r"the request is refused by the (?P<check>\w+) check with (?P<code>E\d+)$"))
def refused_by_check(context: ScenarioContext, check: str, code: str) -> None:
    """The failure names the rules/access_control.toml row the expected code comes from, so a target (or a
    deliberately wrong emulator) that answers another code fails naming the rule it broke."""
    rows = _check_codes()
    assert rows.get(check) == code, (f"the scenario expects {code} from access-control check {check!r}, but "
                                     f"rules/access_control.toml has {rows.get(check, 'no such check')}: regenerate the catalogue")
    got = context.exchange.code
    assert got == code, (f"SRV {context.srv}: access-control check {check!r} (rules/access_control.toml) refuses with "
                         f"{code}; the target answered {got}")
