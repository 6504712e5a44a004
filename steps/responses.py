"""Steps that check what the target answered: the synchronous acknowledgement or rejection, asynchronous
responses correlated by RequestID, device and DCC alerts, silence, and what a device reported.
Every message a step claims is attached as evidence, with how long after the request it arrived."""

from __future__ import annotations

import json

from pytest_bdd import parsers, then

from duisconf.duis.model import SR_NS
from duisconf.evidence import attach_inbound, attach_text

from .common import DEVICE, ScenarioContext, acknowledged, device_of
from .device_reads import NotReported, command_outcome, device_report, firmware_text

_SR = f"{{{SR_NS}}}"


@then(parsers.re(r"the acknowledgement is (?P<code>[IEW]\d+)$"))
def acknowledgement_is(context: ScenarioContext, code: str) -> None:
    got = context.exchange.code
    assert got == code, f"SRV {context.srv}: acknowledgement {got}, expected {code}"


@then(parsers.re(r"the request is rejected with (?P<code>E\d+)$"))
def rejected_with(context: ScenarioContext, code: str) -> None:
    got = context.exchange.code
    assert got == code, f"SRV {context.srv}: expected rejection {code}, the target answered {got}"


@then(parsers.re(r"the (?:synchronous )?response is (?P<code>[IEW]\d+)(?: with (?P<payload>\w+))?$"))
def synchronous_response(context: ScenarioContext, code: str, payload: str | None) -> None:
    got = context.exchange.code
    assert got == code, f"SRV {context.srv}: synchronous response {got}, expected {code}"
    if payload:
        assert context.exchange.final.root.find(f".//{_SR}{payload}") is not None, \
            f"SRV {context.srv}: no {payload} in the synchronous response"


_TIMEOUT = r"(?: within the (?P<pattern>on-demand|future-dated|alert) timeout)?"


def _timeout(duis, pattern: str | None) -> float:
    return {"future-dated": duis.target.timeouts.future_dated, "alert": duis.target.timeouts.alert}.get(
        pattern or "", duis.target.timeouts.on_demand)


@then(parsers.re(rf"a response (?P<code>[IEW]\d+) arrives{_TIMEOUT}$"))
def response_arrives(context: ScenarioContext, duis_scenario, code: str, pattern: str | None) -> None:
    duis = duis_scenario.session
    inbound = duis.receiver.response(context.request_id, _timeout(duis, pattern),
                                     required=acknowledged(context.exchange))
    attach_inbound(inbound, f"response for {context.request_id}", context.sent_at)
    context.inbound = inbound
    assert inbound.code == code, f"SRV {context.srv}: asynchronous response {inbound.code}, expected {code}"
    assert inbound.response_id == str(context.exchange.request_id.swapped()).upper(), \
        f"SRV {context.srv}: ResponseID {inbound.response_id} does not swap the RequestID's originator and target"


_ORDINALS = {"first": 0, "second": 1, "third": 2}


@then(parsers.re(r"a response (?P<code>[IEW]\d+) arrives for the (?P<which>first|second|third) request$"))
def response_arrives_for(context: ScenarioContext, duis_scenario, code: str, which: str) -> None:
    """The response to one of several requests in flight at once: correlated by its RequestID, and its
    ResponseID swaps that request's originator and target (duis.md §3.4)."""
    duis = duis_scenario.session
    index = _ORDINALS[which]
    assert len(context.exchanges) > index, f"the scenario has sent {len(context.exchanges)} request(s), not a {which}"
    exchange = context.exchanges[index]
    request_id = str(exchange.request_id)
    inbound = duis.receiver.response(request_id, duis.target.timeouts.on_demand, required=acknowledged(exchange))
    attach_inbound(inbound, f"response for the {which} request {request_id}", context.sent_at)
    context.inbound = inbound
    assert inbound.code == code, f"SRV {exchange.srv} ({which} request): asynchronous response {inbound.code}, expected {code}"
    assert inbound.response_id == str(exchange.request_id.swapped()).upper(), \
        f"SRV {exchange.srv}: ResponseID {inbound.response_id} does not swap the {which} request's originator and target"


@then(parsers.re(r"a future-dated alert (?P<code>8F6[67]) arrives for that request$"))
def future_dated_alert_arrives(context: ScenarioContext, duis_scenario, code: str) -> None:
    """At the execution date-time the device reports 8F66 (actioned) or 8F67 (not actioned)."""
    duis = duis_scenario.session
    inbound = duis.receiver.response(context.request_id, duis.target.timeouts.future_dated,
                                     kinds=("future-dated-alert",), required=acknowledged(context.exchange))
    attach_inbound(inbound, f"future-dated alert for {context.request_id}", context.sent_at)
    context.inbound = inbound
    assert (inbound.alert_code or "").upper() == code, \
        f"SRV {context.srv}: future-dated alert {inbound.alert_code}, expected {code}"


def _report(context: ScenarioContext, duis_scenario):
    """The GBCS payload of the message the scenario claimed last, framing checked, as readings."""
    inbound = context.inbound
    assert inbound is not None, "no asynchronous response has been received yet in this scenario"
    if inbound.kind == "response":
        exchange = answered_by(context, inbound)
        return device_report(duis_scenario.session, inbound, srv=exchange.srv, exchange=exchange,
                             what=f"SRV {exchange.srv} response {inbound.response_id}")
    return device_report(duis_scenario.session, inbound, srv=context.srv, cra="alert",
                         what=f"{inbound.kind} {inbound.alert_code} for SRV {context.srv}")


def answered_by(context: ScenarioContext, inbound):
    """The scenario's request a response answers (its ResponseID swaps that RequestID)."""
    for exchange in reversed(context.exchanges):
        if str(exchange.request_id.swapped()).upper() == (inbound.response_id or "").upper():
            return exchange
    raise AssertionError(f"the response {inbound.response_id} answers no request of this scenario")


def _expected(text: str | None, literal: str | None):
    return text if text is not None else json.loads(literal)


def _reading(context: ScenarioContext, duis_scenario, key: str):
    """A reading of the claimed response's GBCS payload (attached as evidence); not reported is a fail."""
    report = _report(context, duis_scenario)
    try:
        value = report.readings[key]
    except NotReported as exc:
        raise AssertionError(f"SRV {context.srv}: {exc}") from None
    attach_text(f"SRV {context.srv} reading {key}", repr(value))
    return value


@then(parsers.re(r'the response reports (?P<key>[\w.]+) (?:"(?P<text>[^"]*)"|(?P<literal>true|false|-?\d+(?:\.\d+)?))$'))
def response_reports(context: ScenarioContext, duis_scenario, key: str, text: str | None, literal: str | None) -> None:
    """A value the device reported in its GBCS payload (a reading of duisconf.gbcs.readings; dotted names
    reach into readings with parts, e.g. prepay_configuration.MaxCreditThreshold)."""
    value = _reading(context, duis_scenario, key)
    if key == "firmware_version":
        value = firmware_text(value)
        _keep_firmware(context, value)
    expected = _expected(text, literal)
    if text is not None and not isinstance(value, str):
        value = json.dumps(value)
    assert value == expected, f"SRV {context.srv}: the response reports {key} = {value!r}, expected {expected!r}"


@then(parsers.re(r'the response reports an? (?P<key>[\w.]+)$'))
def response_reports_some(context: ScenarioContext, duis_scenario, key: str) -> None:
    """The device reported a value for the reading, whatever it is (reference data is not a fact to assert)."""
    value = _reading(context, duis_scenario, key)
    assert value not in (None, "", [], {}), f"SRV {context.srv}: the response reports an empty {key} ({value!r})"
    if key == "firmware_version":
        _keep_firmware(context, firmware_text(value))


def _keep_firmware(context: ScenarioContext, version) -> None:
    """A firmware version read in a response is the device's baseline for "the same as before" (steps of
    dn_firmware_alcs): the first one read from each device counts."""
    exchange = answered_by(context, context.inbound)
    context.__dict__.setdefault("firmware_seen", {}).setdefault(exchange.request_id.target, version)


@then(parsers.re(r"the GBCS payload answers (?:that|the (?P<which>first|second|third)) request$"))
def payload_answers(context: ScenarioContext, duis_scenario, which: str | None) -> None:
    """The device's GBCS response is the answer to that request: a message code of the SRV's use cases,
    CRA response, the request's counter, the device as originator, the user (or the DCC acting for it) as
    recipient, a valid MAC or signature when the keys are there."""
    if which is not None:
        wanted = context.exchanges[_ORDINALS[which]]
        assert context.inbound is not None and answered_by(context, context.inbound) is wanted, \
            f"claim the response to the {which} request first"
    report = _report(context, duis_scenario)
    attach_text(f"SRV {context.srv} GBCS payload", report.summary())


@then(parsers.re(r"the device's response reports (?P<outcome>success|failure)$"))
def device_outcome(context: ScenarioContext, duis_scenario, outcome: str) -> None:
    """What the device says it did: the results of its GBCS response (DLMS access results, ZCL status,
    ASN.1 response codes), not the DUIS response code (I0 only says the device answered)."""
    report = _report(context, duis_scenario)
    ok, detail = command_outcome(report.decoded)
    attach_text(f"SRV {context.srv} device outcome", detail)
    assert ok is not None, f"SRV {context.srv}: the device's response carries no result this suite reads ({detail})"
    assert ok == (outcome == "success"), \
        f"SRV {context.srv}: the device reports {'success' if ok else 'failure'} ({detail}), expected {outcome}"


def named_in(inbound) -> set[str]:
    """Every RequestID or EUI-shaped value the message's body names (upper case)."""
    return {e.text.strip().upper() for e in inbound.root.iter(f"{_SR}*")
            if e.text and (e.text.count(":") == 2 or e.text.count("-") == 7)}


def _scenario_devices(context: ScenarioContext, duis_scenario) -> set[str]:
    """The devices this scenario holds (leased) or named, upper case."""
    return {e.upper() for e in duis_scenario.leases.held} | {e.upper() for e in context.devices.values()}


def _followed(inbound, context: ScenarioContext) -> None:
    """An alert a request caused cannot arrive before the request left."""
    assert inbound.received_at >= context.sent_at, \
        f"alert #{inbound.seq} arrived before SRV {context.srv} {context.request_id} was sent: it is not that request's"


@then(parsers.re(r"DCC alert (?P<code>[A-Z]+\d+) arrives(?P<for_request> for that request)?$"))
def dcc_alert_arrives(context: ScenarioContext, duis_scenario, code: str, for_request: str | None) -> None:
    """The alert must name the scenario's request ("for that request") or, at least, one of its devices: a
    DCC alert about someone else's device is not this one."""
    duis = duis_scenario.session
    request_id = context.request_id.upper()
    devices = _scenario_devices(context, duis_scenario)

    def ours(m) -> bool:
        if m.kind != "dcc-alert" or (m.alert_code or "").upper() != code.upper():
            return False
        named = named_in(m)
        return request_id in named if for_request else bool(named & (devices | {request_id}))

    awaited = f"DCC alert {code} naming " + (request_id if for_request else f"{request_id} or one of {sorted(devices)}")
    alert = duis.receiver.claim(ours, duis.target.timeouts.alert, awaited, required=acknowledged(context.exchange))
    attach_inbound(alert, f"DCC alert {code}", context.sent_at)
    _followed(alert, context)


@then(parsers.re(rf"device alert (?P<code>[0-9A-F]{{4}}) arrives(?: from the {DEVICE})?$"))
def device_alert_arrives(context: ScenarioContext, duis_scenario, code: str, device: str | None) -> None:
    """From the named device, else from one of the scenario's devices, and after the request that caused it
    (a device alert carries no RequestID: its ResponseID names the device, duis.md §3.4)."""
    duis = duis_scenario.session
    if device:
        sources = {device_of(context, duis_scenario, device).upper()}
    else:
        sources = _scenario_devices(context, duis_scenario)

    def ours(m) -> bool:
        return (m.kind == "device-alert" and (m.alert_code or "").upper() == code.upper()
                and m.source_device in sources and m.received_at >= context.sent_at)

    awaited = f"device alert {code} from {' or '.join(sorted(sources)) or 'a device of this scenario'}"
    alert = duis.receiver.claim(ours, duis.target.timeouts.alert, awaited, required=acknowledged(context.exchange))
    attach_inbound(alert, f"device alert {code}", context.sent_at)
    context.inbound = alert


@then(parsers.re(r"(?P<count>\d+) (?P<kind>device|DCC) alerts (?P<code>[0-9A-Z]+) arrive$"))
def alerts_arrive(context: ScenarioContext, duis_scenario, count: str, kind: str, code: str) -> None:
    """Each from (device alerts) or naming (DCC alerts) one of the scenario's devices or requests (the
    alerts of several requests are counted together, so each need not follow the last request)."""
    duis = duis_scenario.session
    devices = _scenario_devices(context, duis_scenario)
    requests = {str(e.request_id).upper() for e in context.exchanges}
    wanted = "device-alert" if kind == "device" else "dcc-alert"

    def ours(m) -> bool:
        if m.kind != wanted or (m.alert_code or "").upper() != code.upper():
            return False
        return m.source_device in devices if kind == "device" else bool(named_in(m) & (devices | requests))

    for number in range(int(count)):
        alert = duis.receiver.claim(ours, duis.target.timeouts.alert,
                                    f"{kind} alert {code} #{number + 1} of {count} for a device of this scenario",
                                    required=acknowledged(context.exchange))
        attach_inbound(alert, f"{kind} alert {code}", context.sent_at)


@then(parsers.re(r"no further message arrives within (?:(?P<seconds>\d+(?:\.\d+)?) seconds?|the quiet time)$"))
def nothing_more(context: ScenarioContext, duis_scenario, seconds: str | None) -> None:
    duis = duis_scenario.session
    extra = duis.receiver.nothing_more(float(seconds) if seconds else duis.target.timeouts.quiet, settle=duis.settle)
    for message in extra:
        attach_inbound(message, f"unexpected {message.kind}", context.sent_at)
    assert not extra, "expected no further message, got: " + "; ".join(
        f"{m.kind} {m.alert_code or m.code} for {m.request_id}" for m in extra)


@then(parsers.re(rf'the {DEVICE}\'s SMI status is "(?P<status>[^"]+)"$'))
def smi_status_is(context: ScenarioContext, duis_scenario, device: str, status: str) -> None:
    """Read with SRV 8.2 Read Inventory (not the emulator's control plane), so it holds on a real DCC."""
    from .common import user_eui

    duis = duis_scenario.session
    eui = device_of(context, duis_scenario, device)
    role = "Gas Supplier" if device in ("GSME", "GPF") else "Import Supplier"
    exchange = duis.client.send("8.2", originator=user_eui(context, duis, role), params={"DeviceID": eui})
    from duisconf.evidence import attach_exchange

    attach_exchange(exchange, duis.base_url)
    assert exchange.code == "I0", f"SRV 8.2 Read Inventory for the {device} answered {exchange.code}"
    found = exchange.final.root.findtext(f".//{_SR}Device[{_SR}DeviceID='{eui}']/{_SR}DeviceStatus") \
        or exchange.final.root.findtext(f".//{_SR}DeviceStatus")
    wanted = status.replace(" ", "")
    attach_text(f"{device} SMI status", f"{eui}: {found}")
    assert found == wanted, f"the {device}'s SMI status is {found!r} (read with SRV 8.2), expected {wanted!r}"
