"""Steps that send service requests to the target: as DUIS says (one step for the whole critical CV 4 →
signed pre-command → CV 5 path), future-dated and cancelled, and the ways a User's system gets it wrong
(unsigned, signed by someone else, a replayed counter, a wrong CommandVariant or service, a schema
violation). What comes back is checked by steps/responses.py."""

from __future__ import annotations

import re
import time
from datetime import timedelta

from pytest_bdd import parsers, when

from duisconf.duis.model import SR_NS
from duisconf.render import CANCELLATION_DATETIME
from duisconf.rules import load_catalogue

from .common import DEVICE, DEVICE_TYPES, ROLE_NAMES, ScenarioContext, device_of, params_of, record, target_now, user_eui

_TYPES = "|".join(DEVICE_TYPES)
# "to the ESME" · "to the device "00-DB-…"" · "to the DCC" · "to the DCC for the GSME"
TO_TARGET = rf'to the (?:(?P<device>{_TYPES})|device "(?P<eui>[0-9A-Fa-f-]+)"|DCC(?: for the (?P<for_device>{_TYPES}))?)'
WITH_PARAMS = r'(?: with (?P<params>\w+ "[^"]*"(?:(?:,| and) \w+ "[^"]*")*))?'
TO_EXECUTE = r'(?: to execute (?P<when>in \d+ (?:seconds?|minutes?|hours?|days?)|at "[^"]+"))?'
_UNITS = {"second": 1, "minute": 60, "hour": 3600, "day": 86400}


def addressing(context: ScenarioContext, duis_scenario, device: str | None, eui: str | None,
                for_device: str | None, params: dict) -> str | None:
    """The request's target EUI (None: the DCC) and, for a non-device request, its DeviceID."""
    if device:
        return device_of(context, duis_scenario, device)
    if eui:
        return eui
    if for_device:
        params.setdefault("DeviceID", device_of(context, duis_scenario, for_device))
    return None


def execution_datetime(duis, when_text: str | None) -> str | None:
    if not when_text:
        return None
    if when_text.startswith("at "):
        return when_text[3:].strip('"')
    amount, unit = re.match(r"in (\d+) (\w+?)s?$", when_text).groups()
    moment = target_now(duis) + timedelta(seconds=int(amount) * _UNITS[unit])
    return moment.replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")


def send(context: ScenarioContext, duis_scenario, role: str, srv: str, target: str | None, params: dict,
         **options) -> None:
    duis = duis_scenario.session
    started = time.monotonic()
    exchange = duis.client.send(srv, originator=user_eui(context, duis, role), target=target, params=params or None,
                                **options)
    record(context, duis, exchange, srv, target, started)


@when(parsers.re(rf"the (?P<role>{ROLE_NAMES}) sends SRV (?P<srv>[0-9.]+) {TO_TARGET}{WITH_PARAMS}"
                 rf"(?P<critical> as a critical request)?{TO_EXECUTE}$"))
def sends(context: ScenarioContext, duis_scenario, role: str, srv: str, device: str | None, eui: str | None,
          for_device: str | None, params: str | None, critical: str | None, when: str | None) -> None:
    """The everyday step. A critical SRV always takes the CV 4 → signed pre-command → CV 5 path; saying
    "as a critical request" also asserts that the catalogue has the SRV as critical."""
    if critical:
        assert load_catalogue().srv(srv).critical, f"SRV {srv} is not a critical SRV in rules/srv_catalogue.toml"
    values = params_of(params)
    target = addressing(context, duis_scenario, device, eui, for_device, values)
    context.execution = execution_datetime(duis_scenario.session, when)
    send(context, duis_scenario, role, srv, target, values, execution_datetime=context.execution)


@when(parsers.re(rf"the (?P<role>{ROLE_NAMES}) sends SRV (?P<srv>[0-9.]+) {TO_TARGET}{WITH_PARAMS} for local delivery$"))
def sends_for_local_delivery(context: ScenarioContext, duis_scenario, role: str, srv: str, device: str | None,
                             eui: str | None, for_device: str | None, params: str | None) -> None:
    """CV 2 (non-critical) or CV 6 (critical, after the transform): the DCC hands the command back for
    delivery over the HAN by the installer; the device's response returns later through SRV 8.13."""
    values = params_of(params)
    target = addressing(context, duis_scenario, device, eui, for_device, values)
    critical = load_catalogue().srv(srv).critical
    send(context, duis_scenario, role, srv, target, values, **({"local_delivery": True} if critical else {"cv": 2}))


@when(parsers.re(rf"the (?P<role>{ROLE_NAMES}) cancels the future-dated SRV (?P<srv>[0-9.]+) for the {DEVICE}$"))
def cancels(context: ScenarioContext, duis_scenario, role: str, srv: str, device: str) -> None:
    """Cancellation is the same SRV re-sent with ExecutionDateTime 3000-12-31T00:00:00Z (duis.md §1.5)."""
    target = device_of(context, duis_scenario, device)
    send(context, duis_scenario, role, srv, target, {}, execution_datetime=CANCELLATION_DATETIME)


# -- a User's system getting it wrong ------------------------------------------------------------

def send_variant(context: ScenarioContext, duis_scenario, role: str, srv: str, target: str | None, **options) -> None:
    duis = duis_scenario.session
    started = time.monotonic()
    exchange = duis.client.send_variant(srv, originator=user_eui(context, duis, role), target=target, **options)
    record(context, duis, exchange, srv, target, started)


@when(parsers.re(rf"the (?P<role>{ROLE_NAMES}) sends SRV (?P<srv>[0-9.]+) {TO_TARGET} unsigned$"))
def sends_unsigned(context, duis_scenario, role, srv, device, eui, for_device) -> None:
    values: dict = {}
    target = addressing(context, duis_scenario, device, eui, for_device, values)
    send_variant(context, duis_scenario, role, srv, target, params=values or None, signed=False)


@when(parsers.re(rf"the (?P<role>{ROLE_NAMES}) sends SRV (?P<srv>[0-9.]+) {TO_TARGET} signed with the key of the "
                 rf"(?P<signer>{ROLE_NAMES})$"))
def sends_signed_by_another(context, duis_scenario, role, srv, device, eui, for_device, signer) -> None:
    values: dict = {}
    target = addressing(context, duis_scenario, device, eui, for_device, values)
    signer_eui = user_eui(context, duis_scenario.session, signer)
    assert signer_eui != user_eui(context, duis_scenario.session, role), \
        f"the {signer} and the {role} are the same organisation on this target: pick another signer"
    send_variant(context, duis_scenario, role, srv, target, params=values or None, signer=signer_eui)


@when(parsers.re(rf"the (?P<role>{ROLE_NAMES}) sends SRV (?P<srv>[0-9.]+) {TO_TARGET} again with the same counter$"))
def sends_replayed_counter(context, duis_scenario, role, srv, device, eui, for_device) -> None:
    assert context.exchange is not None, "nothing was sent before: there is no counter to replay"
    values: dict = {}
    target = addressing(context, duis_scenario, device, eui, for_device, values)
    send_variant(context, duis_scenario, role, srv, target, params=values or None,
                 counter=context.exchange.request_id.counter)


@when(parsers.re(rf"the (?P<role>{ROLE_NAMES}) sends SRV (?P<srv>[0-9.]+) {TO_TARGET} as CommandVariant (?P<cv>[1-8])$"))
def sends_as_command_variant(context, duis_scenario, role, srv, device, eui, for_device, cv) -> None:
    values: dict = {}
    target = addressing(context, duis_scenario, device, eui, for_device, values)
    send_variant(context, duis_scenario, role, srv, target, params=values or None, cv=int(cv))


@when(parsers.re(rf"the (?P<role>{ROLE_NAMES}) sends SRV (?P<srv>[0-9.]+) {TO_TARGET} to (?P<service>serviceS|serviceT|serviceD)$"))
def sends_to_service(context, duis_scenario, role, srv, device, eui, for_device, service) -> None:
    values: dict = {}
    target = addressing(context, duis_scenario, device, eui, for_device, values)
    send_variant(context, duis_scenario, role, srv, target, params=values or None, service=service)


@when(parsers.re(rf"the (?P<role>{ROLE_NAMES}) sends SRV (?P<srv>[0-9.]+) {TO_TARGET} with an element the schema does not allow$"))
def sends_schema_violation(context, duis_scenario, role, srv, device, eui, for_device) -> None:
    from lxml import etree

    def add_unknown_element(root) -> None:
        etree.SubElement(root.find(f"{{{SR_NS}}}Header"), f"{{{SR_NS}}}NotInDUIS").text = "x"

    values: dict = {}
    target = addressing(context, duis_scenario, device, eui, for_device, values)
    send_variant(context, duis_scenario, role, srv, target, params=values or None, doctor=add_unknown_element)


@when(parsers.re(rf"the installer delivers the command over the HAN and the (?P<role>{ROLE_NAMES}) returns the "
                 r"device's response with SRV 8\.13$"))
def returns_local_command_response(context: ScenarioContext, duis_scenario, role: str) -> None:
    """The hand-held terminal carries the LocalCommand of the last CV 2/6 request to the device; the
    User returns what the device answered with SRV 8.13 Return Local Command Response. The scenario
    then waits for the original request's response as usual. Only the emulator can stand in for the
    device here (its answer is the command echoed back); on a real target the installer must do it."""
    import base64

    from duisconf.evidence import attach_exchange

    from .common import control_of

    duis = duis_scenario.session
    control_of(duis, "a device response carried back from the premises by a hand-held terminal")
    local = context.exchange
    command = local.final.root.findtext(f".//{{{SR_NS}}}LocalCommand/{{{SR_NS}}}GBCSPayload") if local else None
    assert command, "the last request produced no LocalCommand to deliver (send it 'for local delivery' first)"
    returned = duis.client.send("8.13", originator=user_eui(context, duis, role),
                                params={"OriginalRequestID": str(local.request_id),
                                        "DeviceGBCSResponse": base64.b64encode(base64.b64decode(command)).decode()})
    attach_exchange(returned, duis.base_url)
    assert returned.code == "I0", f"SRV 8.13 returning the response to {local.request_id} answered {returned.code}"
    context.exchanges.append(returned)  # context.exchange stays the original: its response comes next
