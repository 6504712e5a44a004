"""Steps that send service requests to the target and check what comes back, synchronously and
asynchronously. Outcomes are observed through DUIS only, so the same words hold on a DCC Boxed kit."""

from __future__ import annotations

import allure
from pytest_bdd import parsers, then, when

from duisconf.receiver import Inbound

from .common import ROLES, ScenarioContext

ROLE_NAMES = "|".join(ROLES)
DEVICE = r"(?P<device>ESME|GSME|CHF|GPF|PPMID|IHD|HCALCS|CAD)"


def _user(context: ScenarioContext, duis, role: str) -> str:
    code = ROLES[role]
    eui = context.users.get(code) or duis.target.users.get(code)
    assert eui, f"the target file names no {role} ({code}) in [users]"
    return eui


def _attach(name: str, xml: bytes) -> None:
    allure.attach(xml, name=name, attachment_type=allure.attachment_type.XML)


def _send(context: ScenarioContext, duis, role: str, srv: str, device: str | None, params: dict | None = None,
          eui: str | None = None) -> None:
    target = eui or (duis.target.devices.get(device) if device else None)
    assert device is None or target, f"the target file names no {device} in [devices]"
    exchange = duis.client.send(srv, originator=_user(context, duis, role), target=target, params=params)
    context.exchange, context.srv, context.target = exchange, srv, target
    _attach(f"SRV {srv} rendered", exchange.rendered)
    for leg in exchange.legs:
        _attach(f"{leg.service} request (signed)", leg.request)
        _attach(f"{leg.service} reply {leg.code} ({leg.seconds * 1000:.1f} ms)", leg.reply)


@when(parsers.re(rf"the (?P<role>{ROLE_NAMES}) sends SRV (?P<srv>[0-9.]+) to the {DEVICE}$"))
def send_to_device(context: ScenarioContext, duis, role: str, srv: str, device: str) -> None:
    _send(context, duis, role, srv, device)


@when(parsers.re(rf'the (?P<role>{ROLE_NAMES}) sends SRV (?P<srv>[0-9.]+) to the {DEVICE} with (?P<name>\w+) "(?P<value>[^"]*)"$'))
def send_to_device_with(context: ScenarioContext, duis, role: str, srv: str, device: str, name: str, value: str) -> None:
    _send(context, duis, role, srv, device, {name: value})


@when(parsers.re(rf'the (?P<role>{ROLE_NAMES}) sends SRV (?P<srv>[0-9.]+) to the device "(?P<eui>[0-9A-Fa-f-]+)"$'))
def send_to_eui(context: ScenarioContext, duis, role: str, srv: str, eui: str) -> None:
    _send(context, duis, role, srv, None, eui=eui)


@when(parsers.re(rf'the (?P<role>{ROLE_NAMES}) sends SRV (?P<srv>[0-9.]+) to the DCC(?: for the {DEVICE})?$'))
def send_to_dcc(context: ScenarioContext, duis, role: str, srv: str, device: str | None) -> None:
    params = {"DeviceID": duis.target.devices[device]} if device else None
    _send(context, duis, role, srv, None, params)


@then(parsers.re(r"the acknowledgement is (?P<code>[IEW]\d+)"))
def acknowledgement_is(context: ScenarioContext, code: str) -> None:
    assert context.exchange.code == code, f"SRV {context.srv}: acknowledgement {context.exchange.code}, expected {code}"


@then(parsers.re(r"the request is rejected with (?P<code>E\d+)"))
def rejected_with(context: ScenarioContext, code: str) -> None:
    got = context.exchange.code
    assert got == code, f"SRV {context.srv}: expected rejection {code}, the target answered {got}"


@then(parsers.re(r"the (?:synchronous )?response is (?P<code>[IEW]\d+)(?: with (?P<payload>\w+))?$"))
def synchronous_response(context: ScenarioContext, code: str, payload: str | None) -> None:
    from duisconf.duis.model import SR_NS

    assert context.exchange.code == code, f"SRV {context.srv}: synchronous {context.exchange.code}, expected {code}"
    if payload:
        assert context.exchange.final.root.find(f".//{{{SR_NS}}}{payload}") is not None, f"no {payload} in the reply"


def _received(inbound: Inbound, name: str) -> Inbound:
    _attach(name, inbound.body)
    return inbound


@then(parsers.re(r"a response (?P<code>[IEW]\d+) arrives within the on-demand timeout"))
def response_arrives(context: ScenarioContext, duis, code: str) -> None:
    inbound = _received(duis.receiver.response(str(context.exchange.request_id), duis.target.timeouts.on_demand),
                        f"asynchronous response for {context.exchange.request_id}")
    assert inbound.code == code, f"SRV {context.srv}: asynchronous response {inbound.code}, expected {code}"
    assert inbound.response_id == str(context.exchange.request_id.swapped()).upper(), "ResponseID must swap originator and target"


@then(parsers.re(r"DCC alert (?P<code>[A-Z]+\d+) arrives for that request"))
def dcc_alert_arrives(context: ScenarioContext, duis, code: str) -> None:
    from duisconf.duis.model import SR_NS

    (alert,) = duis.receiver.alerts(code, 1, duis.target.timeouts.alert)
    _received(alert, f"DCC alert {code}")
    named = {e.text.upper() for e in alert.root.iter(f"{{{SR_NS}}}*") if e.text and e.text.count(":") == 2}
    assert str(context.exchange.request_id).upper() in named, f"DCC alert {code} does not name {context.exchange.request_id}"


@then(parsers.re(rf"device alert (?P<code>[0-9A-F]{{4}}) arrives from the {DEVICE}"))
def device_alert_arrives(duis, code: str, device: str) -> None:
    (alert,) = duis.receiver.alerts(code, 1, duis.target.timeouts.alert, device=duis.target.devices[device])
    _received(alert, f"device alert {code}")
