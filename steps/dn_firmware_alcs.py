"""Steps of the Firmware Management and ALCS design notes (design-notes §4.8, §4.9), in their words.

Firmware: a User distributes an image (11.1, or 11.4 for a PPMID) to a list of devices, activates it by its
hash (11.3, immediate or future-dated) and confirms the executing version with 11.2. The image of a
version is the suite's own bytes ("duisconf firmware <version>"), so the hash of 11.3 follows from the
version named in the scenario.

ALCS: switches are named by their index 1–5 (the XSD's range_1_5). The request templates fix index 1, so
the steps render the SRV as usual and then set the index the scenario names before signing (the same
request a User's system would build for that switch). The state a read reports is checked through DUIS
(7.7, 7.11, 7.14) and every failed check names the design-note rule that was broken.
"""

from __future__ import annotations

import base64
import hashlib
import re
import time
from collections.abc import Callable
from contextlib import contextmanager
from unittest import mock

from lxml import etree
from pytest_bdd import given, parsers, then, when

import duisconf.client
from duisconf.errors import PreconditionNotMet
from duisconf.duis.model import SR_NS
from duisconf.duis.parse import parse_xml
from duisconf.evidence import attach_inbound, attach_text

from .common import DEVICE, DEVICE_TYPES, ROLE_NAMES, ScenarioContext, acknowledged, control_of, device_of, record, user_eui
from .device_reads import DeviceReport, device_report, firmware_text
from .requests import execution_datetime

_SR = f"{{{SR_NS}}}"
_TYPES = "|".join(DEVICE_TYPES)
TO_EXECUTE = r'(?: to execute (?P<when>in \d+ (?:seconds?|minutes?|hours?|days?)|at "[^"]+"))?'
_ITEM = rf'(?:the )?(?:(?P<kind>{_TYPES})|device "(?P<eui>[0-9A-Fa-f-]+)")'


# -- shared helpers ------------------------------------------------------------------------------------
def _send(context: ScenarioContext, duis_scenario, role: str, srv: str, target: str | None, params: dict,
          edit: Callable[[etree._Element], None] | None = None, **options) -> None:
    """Send `srv` as DUIS says (critical ones through CV 4 -> CV 5); `edit` changes the body before signing."""
    duis = duis_scenario.session
    started = time.monotonic()
    with _edited_body(edit):
        exchange = duis.client.send(srv, originator=user_eui(context, duis, role), target=target,
                                    params=params or None, **options)
    record(context, duis, exchange, srv, target, started)


@contextmanager
def _edited_body(edit: Callable[[etree._Element], None] | None):
    if edit is None:
        yield
        return
    render = duisconf.client.render_request

    def rendered(srv: str, **options) -> bytes:
        root = parse_xml(render(srv, **options)).getroot()
        edit(root.find(f"{_SR}Body")[0])
        return etree.tostring(root, xml_declaration=True, encoding="UTF-8")

    with mock.patch.object(duisconf.client, "render_request", rendered):
        yield


def _read(context: ScenarioContext, duis_scenario, role: str, srv: str, device: str) -> DeviceReport:
    """Send a read SRV as `role` and return what the device reported in its asynchronous I0. A read is an
    observation: afterwards "that request" is still the scenario's last request, not the read."""
    target = device_of(context, duis_scenario, device)
    before = (context.exchange, context.srv, context.target, context.sent_at)
    try:
        return _read_reply(context, duis_scenario, role, srv, device, target)
    finally:
        if before[0] is not None:
            context.exchange, context.srv, context.target, context.sent_at = before


def _read_reply(context: ScenarioContext, duis_scenario, role: str, srv: str, device: str, target: str) -> DeviceReport:
    duis = duis_scenario.session
    _send(context, duis_scenario, role, srv, target, {})
    assert context.exchange.code == "I99", \
        f"SRV {srv} read by the {role}: acknowledgement {context.exchange.code}, expected I99"
    inbound = duis.receiver.response(context.request_id, duis.target.timeouts.on_demand, required=True)
    attach_inbound(inbound, f"SRV {srv} response for {context.request_id}", context.sent_at)
    context.inbound = inbound
    assert inbound.code == "I0", f"SRV {srv} read by the {role}: response {inbound.code}, expected I0"
    report = device_report(duis, inbound, srv=srv, exchange=context.exchange,
                           what=f"SRV {srv} read by the {role} from the {device}")
    attach_text(f"SRV {srv} reported by the {device}", report.summary())
    return report


def _numbers(text: str) -> list[int]:
    return [int(n) for n in re.findall(r"\d+", text)]


# -- Firmware Management (§4.8) --------------------------------------------------------------------------
def firmware_image(version: str) -> bytes:
    return f"duisconf firmware {version}".encode()


def firmware_hash(version: str) -> str:
    return hashlib.sha256(firmware_image(version)).hexdigest().upper()


def _device_list(context: ScenarioContext, duis_scenario, text: str) -> list[str]:
    euis = []
    for match in re.finditer(_ITEM, text):
        kind, eui = match.group("kind"), match.group("eui")
        euis.append(device_of(context, duis_scenario, kind) if kind else eui.upper())
    assert euis, f"no device named in {text!r}"
    return euis


@when(parsers.re(rf'the (?P<role>{ROLE_NAMES}) distributes (?P<ppmid>PPMID )?firmware "(?P<version>[^"]+)" '
                 rf'to (?P<devices>.+)$'))
def distributes_firmware(context: ScenarioContext, duis_scenario, role: str, ppmid: str | None, version: str,
                         devices: str) -> None:
    """11.1 Update Firmware (11.4 for "PPMID firmware"): one image, one DeviceIDList, a synchronous reply."""
    euis = _device_list(context, duis_scenario, devices)
    srv = "11.4" if ppmid else "11.1"
    _send(context, duis_scenario, role, srv, None, {
        "FirmwareImage": base64.b64encode(firmware_image(version)).decode(), "FirmwareVersion": version,
        "DeviceIDList": ",".join(euis)})


@then(parsers.re(r'the firmware warning lists (?P<devices>.+?) as (?P<listed>InvalidDeviceIDList|'
                 r'NotCommissionedDeviceIDList|NotApplicableFirmwareDeviceIDList)$'))
def firmware_warning_lists(context: ScenarioContext, duis_scenario, devices: str, listed: str) -> None:
    euis = _device_list(context, duis_scenario, devices)
    root = context.exchange.final.root
    warning = root.find(f".//{_SR}DSPUpdateFirmwareWarning")
    if warning is None:
        warning = root.find(f".//{_SR}DSPUpdatePPMIDFirmwareWarning")
    assert warning is not None, f"SRV {context.srv}: the reply carries no firmware warning (code {context.exchange.code})"
    found = [e.strip().upper() for e in (warning.findtext(f"{_SR}{listed}") or "").split(",") if e.strip()]
    assert sorted(found) == sorted(euis), (
        f"SRV {context.srv}: {listed} holds {found}, expected {euis} (firmware-device-list-classification: "
        f"the DCC must list every device it will not update in its warning, design notes §4.8 step 3)")


@when(parsers.re(rf'the (?P<role>{ROLE_NAMES}) activates firmware "(?P<version>[^"]+)" on the {DEVICE}'
                 rf'(?P<wrong> with a hash that matches no distributed image)?{TO_EXECUTE}$'))
def activates_firmware(context: ScenarioContext, duis_scenario, role: str, version: str, device: str,
                       wrong: str | None, when: str | None) -> None:
    """11.3 Activate Firmware (critical: CV 4 -> signed pre-command -> CV 5), by the hash of the image."""
    digest = hashlib.sha256(b"not " + firmware_image(version)).hexdigest().upper() if wrong else firmware_hash(version)
    target = device_of(context, duis_scenario, device)
    context.execution = execution_datetime(duis_scenario.session, when)
    if not wrong:
        context.__dict__.setdefault("activated_firmware", set()).add(version)
    _send(context, duis_scenario, role, "11.3", target, {"FirmwareHash": digest},
          execution_datetime=context.execution)


def firmware_seen(context: ScenarioContext) -> dict[str, str]:
    """EUI -> the first firmware version this scenario read from the device (the device's own baseline:
    a version the suite did not set is never asserted as a fact)."""
    return context.__dict__.setdefault("firmware_seen", {})


@then(parsers.re(rf'the {DEVICE}\'s firmware version read by the (?P<role>{ROLE_NAMES}) is '
                 rf'(?:"(?P<version>[^"]+)"|(?P<same>the same as before)|reported)$'))
def firmware_version_is(context: ScenarioContext, duis_scenario, device: str, role: str, version: str | None,
                        same: str | None) -> None:
    """11.2 Read Firmware Version: the version the device is executing (design notes §4.8 steps 1 and 8).
    "is reported": the device reports one (kept as its baseline); "the same as before": the version this
    scenario read from it first; a quoted version: one the scenario distributed and activated."""
    activations = any(e.srv == "11.3" for e in context.exchanges)
    eui = device_of(context, duis_scenario, device)
    state = _read(context, duis_scenario, role, "11.2", device)
    got = firmware_text(state.get("firmware_version"))
    assert got not in (None, ""), f"the {device} reports no firmware version with SRV 11.2 ({state.summary()})"
    baseline = firmware_seen(context).setdefault(eui, got)
    if version is None and not same:
        return
    if same:
        version = baseline
    if version in context.__dict__.get("activated_firmware", ()):
        rule = ("firmware-version-not-updated: after 11.3 Activate Firmware the device must execute the activated "
                "image and 11.2 must report its version (design notes §4.8 steps 7-8)")
    elif activations:
        rule = ("firmware-version-changed-without-activation: an 11.3 that is refused (wrong hash, image not "
                "delivered), cancelled or not yet due must leave the executing version unchanged (design notes §4.8)")
    else:
        rule = "firmware-version: 11.2 must report the version the device executes (design notes §4.8 steps 1, 4)"
    assert got == version, f"the {device} reports firmware {got!r} with SRV 11.2, expected {version!r} ({rule})"


def _on_off(value) -> str:
    return {True: "on", False: "off"}.get(value, f"not reported ({value!r})")


# -- ALCS (§4.9) -----------------------------------------------------------------------------------------
def _set_index(tag: str, index: int) -> Callable[[etree._Element], None]:
    def edit(body: etree._Element) -> None:
        for node in body.iter(f"{_SR}{tag}"):
            node.set("index", str(index))
    return edit


def _choose(tag: str, chosen: set[int]) -> Callable[[etree._Element], None]:
    def edit(body: etree._Element) -> None:
        for node in body.iter(f"{_SR}{tag}"):
            node.text = "true" if int(node.get("index")) in chosen else "false"
    return edit


@when(parsers.re(rf'the (?P<role>{ROLE_NAMES}) describes switch (?P<index>[1-5]) of the {DEVICE} as "(?P<text>[^"]*)"$'))
def describes_switch(context: ScenarioContext, duis_scenario, role: str, index: str, device: str, text: str) -> None:
    """6.14.1 Update Device Configuration (Auxiliary Load Control Description), critical."""
    _send(context, duis_scenario, role, "6.14.1", device_of(context, duis_scenario, device),
          {"SwitchDescription": text}, _set_index("ALCSHCALCSDescription", int(index)))


_MANUAL = {"activates": ("7.5", "ActivateALCSHCALCS"), "deactivates": ("7.6", "DeactivateALCSHCALCS")}


@when(parsers.re(rf'the (?P<role>{ROLE_NAMES}) (?P<verb>activates|deactivates) switch (?P<index>[1-5]) of the '
                 rf'{DEVICE} (?:for (?P<minutes>\d+) minutes|until reset)$'))
def switches_manually(context: ScenarioContext, duis_scenario, role: str, verb: str, index: str, device: str,
                      minutes: str | None) -> None:
    """7.5 Activate / 7.6 Deactivate Auxiliary Load (critical): an override for Duration minutes (0: until 7.8)."""
    srv, tag = _MANUAL[verb]
    _send(context, duis_scenario, role, srv, device_of(context, duis_scenario, device),
          {"Duration": minutes or "0"}, _set_index(tag, int(index)))


@when(parsers.re(rf'the (?P<role>{ROLE_NAMES}) resets switch (?P<index>[1-5]) of the {DEVICE} to its schedule$'))
def resets_switch(context: ScenarioContext, duis_scenario, role: str, index: str, device: str) -> None:
    """7.8 Reset Auxiliary Load (critical): the manual override ends."""
    _send(context, duis_scenario, role, "7.8", device_of(context, duis_scenario, device), {},
          _set_index("ResetALCSHCALCS", int(index)))


@when(parsers.re(rf'the (?P<role>{ROLE_NAMES}) (?P<verb>adds|removes) switch(?:es)? (?P<indices>[1-5](?:(?:, | and )[1-5])*) '
                 rf'(?:to|from) the boost button of the {DEVICE}$'))
def boost_button(context: ScenarioContext, duis_scenario, role: str, verb: str, indices: str, device: str) -> None:
    """7.9 Add / 7.10 Remove Auxiliary Load to / from Boost Button (CV 1): true for the named switches only."""
    srv, tag = ("7.9", "AddToBoostButton") if verb == "adds" else ("7.10", "RemoveFromBoostButton")
    _send(context, duis_scenario, role, srv, device_of(context, duis_scenario, device), {},
          _choose(tag, set(_numbers(indices))))


@then(parsers.re(rf'the {DEVICE}\'s ALCS data read by the (?P<role>{ROLE_NAMES}) shows switch (?P<index>[1-5]) '
                 rf'(?:described as "(?P<description>[^"]*)"|(?P<mode>on|off|on its schedule))$'))
def alcs_data_shows_switch(context: ScenarioContext, duis_scenario, device: str, role: str, index: str,
                           description: str | None, mode: str | None) -> None:
    """7.7 Read ALCS Data (IS, ED, OU)."""
    state = _read(context, duis_scenario, role, "7.7", device)
    if description is not None:
        got = state.get("descriptions", {}).get(index)
        assert got == description, (
            f"7.7 reports switch {index} described as {got!r}, expected {description!r} (alcs-description-not-stored: "
            f"6.14.1 must store the switch description the device then reports, design notes §4.9 step 3)")
        return
    if mode == "on its schedule":  # the output the switch's calendar gives: off unless an entry switches it
        selectors = {entry[3] for entry in state.get("alc_schedule") or [] if isinstance(entry, list) and len(entry) > 3}
        if selectors & {2 * int(index) - 1, 2 * int(index)}:
            raise PreconditionNotMet(f"switch {index} has scheduled switchings: the output its schedule gives "
                                     f"now is not known to this step")
    wanted = mode == "on"
    got = (state.get("switches") or {}).get(index)
    assert got == wanted, (
        f"7.7 reports switch {index} output {_on_off(got)}, expected {mode} (alcs-manual-override: 7.5 / 7.6 override "
        f"the schedule for their Duration and 7.8 returns the switch to its schedule, design notes §4.9)")


@then(parsers.re(rf'the {DEVICE}\'s ALCS data read by the (?P<role>{ROLE_NAMES}) shows (?P<count>no|\d+) scheduled '
                 rf'switchings?$'))
def alcs_data_shows_schedule(context: ScenarioContext, duis_scenario, device: str, role: str, count: str) -> None:
    wanted, got = _schedule_counts(context, duis_scenario, device, role, count)
    assert got == wanted, (
        f"7.7 reports {got} scheduled switchings, expected {wanted} (alcs-schedule: 6.14.2 sets the switching "
        f"schedule, at once or at its ExecutionDateTime, and a cancelled one never applies; design notes §4.9 step 4)")


@then(parsers.re(rf'the {DEVICE}\'s boost button read by the (?P<role>{ROLE_NAMES}) controls '
                 rf'(?:no switch|switch(?:es)? (?P<indices>[1-5](?:(?:, | and )[1-5])*))$'))
def boost_button_controls(context: ScenarioContext, duis_scenario, device: str, role: str, indices: str | None) -> None:
    """7.11 Read Boost Button Details (IS, OU)."""
    wanted, got = _boost_switches(context, duis_scenario, device, role, indices)
    assert got == wanted, (
        f"7.11 reports the boost button controlling switches {got}, expected {wanted} (boost-ignored: 7.9 / 7.10 "
        f"must add / remove the named switches on the boost button, design notes §4.9 step 6)")


@then(parsers.re(rf'the {DEVICE}\'s randomisation configuration read by the (?P<role>{ROLE_NAMES}) shows a '
                 rf'randomised offset limit of (?P<seconds>\d+) seconds$'))
def randomised_offset_limit_is(context: ScenarioContext, duis_scenario, device: str, role: str, seconds: str) -> None:
    """6.2.2 Read Device Configuration (Randomisation) (IS, RSA, ED): GBCS ECS26c reports the randomised
    offset limit (7.14's ECS61d reads the auxiliary controller's calendar, not this)."""
    state = _read(context, duis_scenario, role, "6.2.2", device)
    got = state.get("randomised_offset_limit")
    assert got == int(seconds), (
        f"7.14 reports a randomised offset limit of {got!r}, expected {seconds} (alcs-randomisation: 7.12 sets the "
        f"randomised offset limit the device then applies, design notes §4.9 step 5)")


@then(parsers.re(rf'the {DEVICE} reports no firmware activation within the quiet time$'))
def no_activation(context: ScenarioContext, duis_scenario, device: str) -> None:
    """Neither an 8F43 (executing version changed) from the device nor any future-dated outcome alert."""
    duis = duis_scenario.session
    eui = device_of(context, duis_scenario, device).upper()
    extra = duis.receiver.nothing_more(duis.target.timeouts.quiet, lambda m: m.kind == "future-dated-alert" or (
        (m.alert_code or "").upper() == "8F43" and m.source_device == eui), settle=duis.settle)
    for message in extra:
        attach_inbound(message, f"unexpected {message.kind}", context.sent_at)
    assert not extra, ("the device reported an activation: " + "; ".join(
        f"{m.kind} {m.alert_code} for {m.request_id}" for m in extra) +
        " (cancelled-activation-ran: an 11.3 cancelled with ExecutionDateTime 3000-12-31 must never run, design notes §4.8)")


# -- arranged by the physical world or by industry data (emulator only; inconclusive on a real kit) -----------
@given(parsers.re(rf'the {DEVICE} cannot take a firmware image over the HAN$'))
def cannot_take_image(context: ScenarioContext, duis_scenario, device: str) -> None:
    """A physical condition (e.g. a battery-constrained GSME out of reach): the hub's transfer to it fails."""
    control = control_of(duis_scenario.session, "a device that cannot take a firmware image")
    control.put_device(device_of(context, duis_scenario, device), data={"firmware_fault": "transfer"})


@then(parsers.re(rf'DCC alert (?P<code>N\d+) reports the firmware delivery to the {DEVICE} as "(?P<status>Success|Failure)"$'))
def delivery_reported(context: ScenarioContext, duis_scenario, code: str, device: str, status: str) -> None:
    """CSPFirmwareDeliveryStatus: the hub's transfer of the image of "that request" to one device."""
    duis = duis_scenario.session
    eui = device_of(context, duis_scenario, device).upper()
    request_id = context.request_id.upper()

    def delivery_of(m) -> bool:  # this request's image, to this device
        report = m.root.find(f".//{_SR}CSPFirmwareDeliveryStatus") if m.kind == "dcc-alert" else None
        return ((m.alert_code or "").upper() == code and report is not None
                and (report.findtext(f"{_SR}UpdateFirmwareRequestID") or "").upper() == request_id
                and (report.findtext(f"{_SR}TargetDeviceID") or "").upper() == eui)

    alert = duis.receiver.claim(delivery_of, duis.target.timeouts.alert,
                                f"DCC alert {code} reporting the delivery of {request_id} to the {device} {eui}",
                                required=acknowledged(context.exchange))
    attach_inbound(alert, f"DCC alert {code}", context.sent_at)
    report = alert.root.find(f".//{_SR}CSPFirmwareDeliveryStatus")
    got = report.findtext(f"{_SR}CommsHubTransferStatus")
    assert got == status, (
        f"DCC alert {code} reports the delivery to the {device} as {got!r}, expected {status!r} (firmware-delivery-status: "
        f"the DCC must tell the Supplier whether each device received the image, design notes §4.8 step 4)")


# -- the same reads as preconditions: a kit keeps its devices' state between scenarios --------------------
def _schedule_counts(context, duis_scenario, device: str, role: str, count: str) -> tuple[int, int]:
    state = _read(context, duis_scenario, role, "7.7", device)
    return (0 if count == "no" else int(count)), len(state.get("alc_schedule") or [])


def _boost_switches(context, duis_scenario, device: str, role: str, indices: str | None) -> tuple[list, list | None]:
    flags = _read(context, duis_scenario, role, "7.11", device).get("boost") or {}
    return sorted(_numbers(indices or "")), (sorted(int(n) for n, on in flags.items() if on) if flags else None)


def _not_in_starting_state(what: str) -> PreconditionNotMet:
    """A device in another state (a kit keeps what earlier scenarios did) makes the scenario inconclusive,
    not failed: only a person, or a fresh kit, can put it back."""
    return PreconditionNotMet(f"the device is not in the state this scenario starts from: {what}")


@given(parsers.re(rf'the {DEVICE}\'s ALCS data read by the (?P<role>{ROLE_NAMES}) shows (?P<count>no|\d+) scheduled '
                  rf'switchings?$'))
def alcs_schedule_before(context: ScenarioContext, duis_scenario, device: str, role: str, count: str) -> None:
    wanted, got = _schedule_counts(context, duis_scenario, device, role, count)
    if got != wanted:
        raise _not_in_starting_state(f"7.7 reports {got} scheduled switchings, the scenario needs {wanted}")


@given(parsers.re(rf'the {DEVICE}\'s boost button read by the (?P<role>{ROLE_NAMES}) controls '
                  rf'(?:no switch|switch(?:es)? (?P<indices>[1-5](?:(?:, | and )[1-5])*))$'))
def boost_button_before(context: ScenarioContext, duis_scenario, device: str, role: str, indices: str | None) -> None:
    wanted, got = _boost_switches(context, duis_scenario, device, role, indices)
    if got != wanted:
        raise _not_in_starting_state(f"7.11 reports the boost button controlling {got}, the scenario needs {wanted}")
