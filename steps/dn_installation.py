"""Installation steps in the design notes' words: Install & Commission, No WAN, Communications Hub Exchange
and Re-use (design-notes.md §4.1, §4.2, §4.5, §4.6).

Everything a supplier does is a DUIS request (12.2, 8.14.x, 8.11, 8.1.1, 8.7.x/8.8.x, 8.12.x, 8.3); every
outcome is read back through DUIS (asynchronous responses, device and DCC alerts, 8.9 device logs, 8.2).
Only what a person or the outside world does is arranged on the emulator's control plane (a device powered
up near its hub, a new hub delivered by the DCC, registration data changing): on a real kit those steps
make the scenario inconclusive, never failed.

Devices are named as in the generic steps ("the ESME"); a scenario that brings in a new device of a type
makes it "the ESME" (or "the new ESME") from then on, and the one it replaces "the old ESME".
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import timedelta

import pytest
from pytest_bdd import given, parsers, then, when

from duisconf.duis.model import SR_NS, normalise_eui
from duisconf.errors import PreconditionNotMet
from duisconf.evidence import attach_exchange, attach_inbound, attach_text

from .device_reads import DeviceReport, NotReported, command_outcome, device_report
from .common import DEVICE_TYPES, ROLE_NAMES, ScenarioContext, acknowledged, control_of, device_of, record, target_now, user_eui

_SR = f"{{{SR_NS}}}"
_TYPES = "|".join(DEVICE_TYPES)
_DEV = rf"(?P<device>(?:old |new )?(?:{_TYPES}))"
_OTHER = rf"(?P<other>(?:old |new )?(?:{_TYPES}))"
INSTALL_CODE = "00112233445566778899AABBCCDDEEFF"  # the code the RTDS 8.11 template carries
WRONG_CODE = "FFEEDDCCBBAA99887766554433221100"
JOIN_TIME = 600          # seconds: long enough for a scenario, short enough to let it elapse
TOLERANCE = {"GSME": 3600}  # RTDS tolerance for GCS28; ECS70 uses 60 s
GAS = ("GSME", "GPF")


@dataclass
class Installation:
    """What the scenario's installation has done: devices replaced, install codes the devices carry."""

    old: dict[str, str] = field(default_factory=dict)     # device type -> EUI it replaced in this scenario
    codes: dict[str, str] = field(default_factory=dict)   # EUI -> install code the device physically carries


@pytest.fixture
def installation() -> Installation:
    return Installation()


def eui_of(context: ScenarioContext, duis_scenario, installation: Installation, phrase: str) -> str:
    """"ESME" / "new ESME" -> the scenario's current ESME; "old CHF" -> the CHF the new one replaced."""
    which, _, kind = phrase.strip().rpartition(" ")
    if which == "old":
        assert kind in installation.old, f"the scenario has no old {kind}: no new {kind} replaced one"
        return duis_scenario.device(installation.old[kind])
    return device_of(context, duis_scenario, kind)


def kind_of(phrase: str) -> str:
    return phrase.strip().rpartition(" ")[2]


def supplier_role(kind: str) -> str:
    return "Gas Supplier" if kind in GAS else "Import Supplier"


def _introduce(context: ScenarioContext, duis_scenario, installation: Installation, kind: str, eui: str) -> str:
    eui = normalise_eui(eui)
    previous = context.devices.get(kind) or duis_scenario.session.target.devices.get(kind)
    if previous and normalise_eui(previous) != eui:
        installation.old[kind] = normalise_eui(previous)
    context.devices[kind] = eui
    return duis_scenario.device(eui)


def _send(context, duis_scenario, role: str, srv: str, target: str | None, params: dict, keep: bool = True):
    duis = duis_scenario.session
    started = time.monotonic()
    exchange = duis.client.send(srv, originator=user_eui(context, duis, role), target=target, params=params)
    if keep:
        record(context, duis, exchange, srv, target, started)
    else:
        attach_exchange(exchange, duis.base_url)
    return exchange


def _reply_of(context, duis_scenario, exchange, srv: str, what: str) -> DeviceReport:
    """Wait for the asynchronous response to `exchange` and return what the device reported (GBCS)."""
    duis = duis_scenario.session
    assert exchange.code == "I99", f"SRV {srv} ({what}): acknowledgement {exchange.code}, expected I99"
    inbound = duis.receiver.response(str(exchange.request_id), duis.target.timeouts.on_demand, required=True)
    attach_inbound(inbound, f"response to SRV {srv} ({what})", time.monotonic())
    assert inbound.code == "I0", f"SRV {srv} ({what}) answered {inbound.code}, expected I0"
    return device_report(duis, inbound, srv=srv, exchange=exchange, what=f"SRV {srv} ({what})")


# -- Given: before the visit ------------------------------------------------------------------------

@given(parsers.re(rf'a new (?P<kind>{_TYPES}) "(?P<eui>[0-9A-Fa-f-]+)" is pre-notified by the (?P<role>{ROLE_NAMES})$'))
def prenotified(context: ScenarioContext, duis_scenario, installation: Installation, kind: str, eui: str,
                role: str) -> None:
    """SRV 12.2 Device Pre-notification: the SMI learns of the device, status Pending (§4.1 pre-conditions).
    A new GSME is associated with the scenario's GPF."""
    params = {"DeviceID": normalise_eui(eui), "DeviceType": kind}
    if kind == "GSME":
        params["AssociatedGPFDeviceID"] = device_of(context, duis_scenario, "GPF")
    eui = _introduce(context, duis_scenario, installation, kind, eui)
    installation.codes[eui] = INSTALL_CODE
    exchange = _send(context, duis_scenario, role, "12.2", None, params)
    assert exchange.code == "I0", f"SRV 12.2 Device Pre-notification of the {kind} {eui} answered {exchange.code}"


@given(parsers.re(r'the DCC has delivered a new Communications Hub, CHF "(?P<chf>[0-9A-Fa-f-]+)" with '
                  r'GPF "(?P<gpf>[0-9A-Fa-f-]+)", for the premises$'))
def hub_delivered(context: ScenarioContext, duis_scenario, installation: Installation, chf: str, gpf: str) -> None:
    """Communications Hubs come from the DCC, already in the SMI as Pending; the CHF and GPF are one unit.
    Only the emulator can be handed a new hub; a real kit would name one in its target file."""
    duis = duis_scenario.session
    control = control_of(duis, "a new Communications Hub delivered by the DCC")
    supplier, operator = user_eui(context, duis, "Import Supplier"), user_eui(context, duis, "Electricity Distributor")
    chf = _introduce(context, duis_scenario, installation, "CHF", chf)
    gpf = _introduce(context, duis_scenario, installation, "GPF", gpf)
    control.put_device(chf, type="CHF", status="Pending", supplier=supplier, network_operator=operator)
    control.put_device(gpf, type="GPF", status="Pending", supplier=supplier, network_operator=operator, chf=chf)


# -- When: the installer's visit ---------------------------------------------------------------------

@when(parsers.re(rf"the (?P<role>{ROLE_NAMES}) reports the (?P<device>(?:old |new )?CHF) installed "
                 r"(?P<wan>with|without) SM WAN(?P<replacement> as a replacement)?$"))
def hub_installed(context: ScenarioContext, duis_scenario, installation: Installation, role: str, device: str,
                  wan: str, replacement: str | None) -> None:
    """8.14.1 Install Success (SM WAN) or 8.14.2 Install No SM WAN ("install and leave"), CV 8."""
    chf = eui_of(context, duis_scenario, installation, device)
    if wan == "without":
        srv, kind = "8.14.2", "CHF Install - no SM WAN"
    else:
        srv, kind = "8.14.1", "Replacement CHF Install" if replacement else "New CHF Install"
    exchange = _send(context, duis_scenario, role, srv, None, {"DeviceID": chf, "CHFInstallType": kind})
    assert exchange.code == "I0", f"SRV {srv} for the CHF {chf} answered {exchange.code}, expected I0"


_CODE = r'(?: with (?P<code>its install code|a wrong install code|the install code it was given))?'


@when(parsers.re(rf"the (?P<role>{ROLE_NAMES}) (?P<action>adds|removes) the {_DEV} (?:to|from) the {_OTHER} "
                 rf"device log{_CODE}(?: and a join time of (?P<period>\d+) seconds)?$"))
def update_device_log(context: ScenarioContext, duis_scenario, installation: Installation, role: str,
                      action: str, device: str, other: str, code: str | None, period: str | None) -> None:
    """8.11 Update HAN Device Log (CCS01 Add with the install code / CCS02 Remove), CV 1, to the CHF.
    "a wrong install code": the supplier does not hold the code the device carries."""
    eui = eui_of(context, duis_scenario, installation, device)
    chf = eui_of(context, duis_scenario, installation, other)
    params = {"DeviceID": eui, "RequestType": "Add" if action == "adds" else "Remove"}
    if action == "adds":
        params["InstallCode"] = WRONG_CODE if code == "a wrong install code" else installation.codes.get(eui, INSTALL_CODE)
        params["JoinTimePeriod"] = period or str(JOIN_TIME)
    _send(context, duis_scenario, role, "8.11", chf, params)


@when(parsers.re(rf"the installer (?:powers up|power-cycles) the {_DEV} near the {_OTHER}$"))
def power_up(context: ScenarioContext, duis_scenario, installation: Installation, device: str, other: str) -> None:
    """A physical step: the device, carrying its own install code, tries to join the hub's SMHAN."""
    duis = duis_scenario.session
    control = control_of(duis, f"powering up the {device} near its hub")
    eui = eui_of(context, duis_scenario, installation, device)
    eui_of(context, duis_scenario, installation, other)
    alerts = control.power_up(eui, installation.codes.get(eui, INSTALL_CODE))
    duis_scenario.caused("power-up")  # its join alerts are expected (rules/expected_messages.toml)
    attach_text(f"installer powered up the {device}", f"{eui}: the hub raised {alerts}")


@when(parsers.re(rf"the (?P<role>{ROLE_NAMES}) commissions the {_DEV}(?: with a CurrentDateTime "
                 r"(?P<amount>\d+) (?P<unit>minute|hour)s? (?P<direction>behind|ahead))?$"))
def commission(context: ScenarioContext, duis_scenario, installation: Installation, role: str, device: str,
               amount: str | None, unit: str | None, direction: str | None) -> None:
    """8.1.1 Commission Device (critical: CV 4 -> signed pre-command -> CV 5): ECS70 / GCS28 set clock with
    the RTDS tolerance (60 s for an ESME, 3600 s for a GSME)."""
    duis = duis_scenario.session
    eui = eui_of(context, duis_scenario, installation, device)
    moment = target_now(duis)
    if amount:
        offset = timedelta(seconds=int(amount) * (60 if unit == "minute" else 3600))
        moment = moment - offset if direction == "behind" else moment + offset
    params = {"CurrentDateTime": moment.replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ"),
              "TolerancePeriod": str(TOLERANCE.get(kind_of(device), 60))}
    _send(context, duis_scenario, role, "8.1.1", eui, params)


@when(parsers.re(rf"the (?P<role>{ROLE_NAMES}) (?P<action>joins|unjoins) the {_OTHER} (?:to|from) the {_DEV}$"))
def join(context: ScenarioContext, duis_scenario, installation: Installation, role: str, action: str,
         other: str, device: str) -> None:
    """8.7.1 / 8.8.1 (critical; CS03A1 meter and Type 1 device) or 8.7.2 / 8.8.2 (non-critical; CS03B IHD),
    sent to the meter with the other device as OtherDeviceID."""
    target = eui_of(context, duis_scenario, installation, device)
    partner = eui_of(context, duis_scenario, installation, other)
    non_critical = kind_of(other) in ("IHD", "CAD")
    srv = ("8.7" if action == "joins" else "8.8") + (".2" if non_critical else ".1")
    _send(context, duis_scenario, role, srv, target, {"OtherDeviceID": partner})


@when(parsers.re(rf"the (?P<role>{ROLE_NAMES}) restores the (?P<log>HAN|GPF) device log of the old "
                 r"(?:CHF|GPF) onto the new (?:CHF|GPF)$"))
def restore_log(context: ScenarioContext, duis_scenario, installation: Installation, role: str, log: str) -> None:
    """8.12.1 Restore HAN Device Log (CCS03, to the new CHF, OldCHFID) / 8.12.2 Restore GPF Device Log
    (GCS59, to the new GPF, OldGPFID), CV 1."""
    kind = "CHF" if log == "HAN" else "GPF"
    new = eui_of(context, duis_scenario, installation, f"new {kind}")
    old = eui_of(context, duis_scenario, installation, f"old {kind}")
    srv, field_name = ("8.12.1", "OldCHFID") if kind == "CHF" else ("8.12.2", "OldGPFID")
    _send(context, duis_scenario, role, srv, new, {field_name: old})


@when(parsers.re(rf"the (?P<role>{ROLE_NAMES}) returns the {_DEV} (?P<fault>with|without) a fault"
                 r'(?: as "(?P<kind>[^"]+)")?$'))
def hub_returned(context: ScenarioContext, duis_scenario, installation: Installation, role: str, device: str,
                 fault: str, kind: str | None) -> None:
    """8.14.3 Fault Return / 8.14.4 No Fault Return of a Communications Hub, CV 8."""
    chf = eui_of(context, duis_scenario, installation, device)
    if fault == "with":
        srv = "8.14.3"
        params = {"DeviceID": chf, "CHFFaultReturnType": kind or "Fault identified post installation",
                  "OtherDeviceID": device_of(context, duis_scenario, "ESME")}
    else:
        srv, params = "8.14.4", {"DeviceID": chf, "CHFNoFaultReturnType": kind or "No Fault Return (general)"}
    exchange = _send(context, duis_scenario, role, srv, None, params)
    assert exchange.code == "I0", f"SRV {srv} for the CHF {chf} answered {exchange.code}, expected I0"


@when(parsers.re(rf"the (?P<role>{ROLE_NAMES}) decommissions the {_DEV}$"))
def decommission(context: ScenarioContext, duis_scenario, installation: Installation, role: str, device: str) -> None:
    """8.3 Decommission Device, CV 8."""
    eui = eui_of(context, duis_scenario, installation, device)
    exchange = _send(context, duis_scenario, role, "8.3", None, {"DeviceID": eui})
    assert exchange.code == "I0", f"SRV 8.3 Decommission Device for the {device} answered {exchange.code}"


@when(parsers.re(rf'the supply moves to the (?P<role>{ROLE_NAMES}) "(?P<eui>[0-9A-Fa-f-]+)" before the SM WAN '
                 r"arrives$"))
def change_of_supplier_before_wan(context: ScenarioContext, duis_scenario, installation: Installation, role: str,
                                  eui: str) -> None:
    """A change of supplier recorded in the registration data (outside DUIS): from now on the gaining
    supplier acts in `role` and is the registered supplier of the scenario's meters and hub. It never
    received the install codes the installing supplier used (design-notes §4.2, MP121)."""
    from .common import ROLES

    duis = duis_scenario.session
    control = control_of(duis, "a change of supplier in the registration data")
    gaining = normalise_eui(eui)
    for kind in ("ESME", "GSME", "CHF", "GPF"):
        if kind in context.devices:
            control.put_device(device_of(context, duis_scenario, kind), supplier=gaining)
    context.users[ROLES[role]] = gaining


@when(parsers.re(rf"the (?P<role>{ROLE_NAMES}) adds and removes (?P<count>\d+) other devices on the {_DEV} "
                 r"device log$"))
def churn_device_log(context: ScenarioContext, duis_scenario, installation: Installation, role: str, count: str,
                     device: str) -> None:
    """Later meter exchanges on the same hub: each other device is added (8.11 Add) and removed (8.11 Remove),
    one after the other; each removal takes a place in the CHF historic device log (15 places, CCS02)."""
    duis = duis_scenario.session
    chf = eui_of(context, duis_scenario, installation, device)
    for n in range(int(count)):
        other = f"00-DB-12-34-56-78-9E-{n:02X}"
        for action in ("Add", "Remove"):
            params = {"DeviceID": other, "RequestType": action}
            if action == "Add":
                params.update(InstallCode=INSTALL_CODE, JoinTimePeriod=str(JOIN_TIME))
            exchange = _send(context, duis_scenario, role, "8.11", chf, params, keep=False)
            _reply_of(context, duis_scenario, exchange, "8.11", f"{action} {other}")
            # CS14 from the CHF, and UpdateHANDeviceLogResult from the DCC naming this request
            duis.receiver.alerts("8F12", 1, duis.target.timeouts.alert, device=chf, required=True)
            request_id = str(exchange.request_id).upper()
            duis.receiver.claim(lambda m: m.kind == "dcc-alert" and (m.alert_code or "").upper() == "N24"
                                and any((e.text or "").strip().upper() == request_id for e in m.root.iter()),
                                duis.target.timeouts.alert, f"DCC alert N24 naming {request_id}", required=True)


# -- Then: what the devices and the DCC report --------------------------------------------------------

def _device_log(context, duis_scenario, installation, device: str) -> DeviceReport:
    """SRV 8.9 Read Device Log (CCS06 for a CHF): the log and, for a CHF, its historic log."""
    eui = eui_of(context, duis_scenario, installation, device)
    role = supplier_role(kind_of(device))
    exchange = _send(context, duis_scenario, role, "8.9", eui, {}, keep=False)
    return _reply_of(context, duis_scenario, exchange, "8.9", f"Read Device Log of the {device}")


def _log(report: DeviceReport, name: str) -> list[str]:
    """A device log reading as a list of EUIs (CS07 reports {EUI: device type})."""
    try:
        value = report.readings[name]
    except NotReported as exc:
        raise AssertionError(f"SRV 8.9: {exc}") from None
    return list(value)


def _lists(context, duis_scenario, installation, device: str, other: str) -> tuple[bool, str, list[str]]:
    """Whether the `device` device log (8.9) lists the `other` device: (listed, its EUI, the log)."""
    log = _log(_device_log(context, duis_scenario, installation, device), "device_log")
    wanted = eui_of(context, duis_scenario, installation, other)
    return wanted in log, wanted, log


@then(parsers.re(rf"the {_DEV} device log (?P<verb>lists|does not list) the {_OTHER}$"))
def device_log_lists(context: ScenarioContext, duis_scenario, installation: Installation, device: str,
                     verb: str, other: str) -> None:
    listed, wanted, log = _lists(context, duis_scenario, installation, device, other)
    assert listed == (verb == "lists"), (
        f"the {device} device log (read with SRV 8.9) {'does not list' if verb == 'lists' else 'still lists'} "
        f"the {other} {wanted}: it holds {sorted(log)}")


@given(parsers.re(rf"the {_DEV} device log (?P<verb>lists|does not list) the {_OTHER}$"))
def device_log_precondition(context: ScenarioContext, duis_scenario, installation: Installation, device: str,
                            verb: str, other: str) -> None:
    """The same reading as a precondition: on a kit the HAN is what earlier scenarios left (a meter
    removed from the CHF device log stays removed until an installer re-adds it), so a scenario that needs
    a device on the HAN, or not yet joined, says so and is inconclusive when the kit is otherwise."""
    listed, wanted, _ = _lists(context, duis_scenario, installation, device, other)
    if listed != (verb == "lists"):
        raise PreconditionNotMet(f"the {device} device log (SRV 8.9) {'does not list' if verb == 'lists' else 'lists'} "
                                 f"the {other} {wanted}; the scenario needs it {'listed' if verb == 'lists' else 'not listed'}")


@then(parsers.re(rf"the new CHF device log holds the (?P<devices>(?:{_TYPES})(?:(?:,| and) (?:{_TYPES}))*) "
                 r"restored from the old CHF$"))
def log_restored(context: ScenarioContext, duis_scenario, installation: Installation, devices: str) -> None:
    import re

    state = _device_log(context, duis_scenario, installation, "new CHF")
    missing = [kind for kind in re.findall("|".join(DEVICE_TYPES), devices)
               if device_of(context, duis_scenario, kind) not in _log(state, "device_log")]
    assert not missing, (f"the device log was not restored from the old CHF (8.12.1): the new CHF's log "
                         f"(SRV 8.9) lacks the {', '.join(missing)}; it holds {sorted(_log(state, 'device_log'))}")


@then(parsers.re(rf"the CHF historic device log (?P<verb>lists|does not list) the {_DEV}$"))
def historic_log_lists(context: ScenarioContext, duis_scenario, installation: Installation, verb: str,
                       device: str) -> None:
    state = _device_log(context, duis_scenario, installation, "CHF")
    wanted = eui_of(context, duis_scenario, installation, device)
    historic = _log(state, "historic_log")
    listed = wanted in historic
    if verb == "lists":
        assert listed, (f"the removed {device} {wanted} is not in the CHF historic device log (8.11 Remove, "
                        f"GBCS CCS02 keeps its link key there): it holds {historic}")
    else:
        assert not listed, (f"the {device} {wanted} is still in the CHF historic device log after "
                            f"{len(historic)} later removals (15 places, oldest overwritten)")


@then(parsers.re(rf"the {_DEV} stays uncommissioned because the time is outside its clock tolerance$"))
def refused_clock(context: ScenarioContext, duis_scenario, installation: Installation, device: str) -> None:
    """The 8.1.1 response (claimed by "a response I0 arrives"): the device reports the set-clock failed
    (GBCS ECS70 / GCS28 results), and the DCC's inventory (SRV 8.2) does not show it commissioned."""
    assert context.inbound is not None and context.srv == "8.1.1", "claim the 8.1.1 response first"
    report = device_report(duis_scenario.session, context.inbound, srv="8.1.1", exchange=context.exchange,
                           what=f"SRV 8.1.1 response for the {device}")
    ok, detail = command_outcome(report.decoded)
    attach_text("8.1.1 device outcome", detail)
    assert ok is False, (
        f"the {device} was commissioned although the CurrentDateTime was outside its clock tolerance "
        f"(8.1.1, GBCS ECS70 set clock: outside the tolerance the clock is not set, 81C6): its response "
        f"reports the set-clock carried out ({detail})")
    eui = eui_of(context, duis_scenario, installation, device)
    exchange = _send(context, duis_scenario, supplier_role(kind_of(device)), "8.2", None, {"DeviceID": eui}, keep=False)
    found = exchange.final.root.findtext(f".//{_SR}DeviceStatus")
    assert found != "Commissioned", (
        f"the {device} was commissioned although the CurrentDateTime was outside its clock tolerance "
        f"(8.1.1 then SRV 8.2 Read Inventory: {found})")


@then(parsers.re(r"the request fails because the hub has no SM WAN$"))
def fails_without_wan(context: ScenarioContext, duis_scenario) -> None:
    """Device requests through a hub installed without SM WAN cannot reach the device: asynchronous E20."""
    duis = duis_scenario.session
    assert context.exchange.code == "I99", f"SRV {context.srv}: acknowledgement {context.exchange.code}, expected I99"
    inbound = duis.receiver.response(context.request_id, duis.target.timeouts.on_demand, required=True)
    attach_inbound(inbound, f"response for {context.request_id}", context.sent_at)
    context.inbound = inbound
    assert inbound.code == "E20", (
        f"SRV {context.srv} through a hub installed without SM WAN (8.14.2) answered {inbound.code}, expected E20: "
        f"device requests must fail while there is no SM WAN (No WAN design note, install and leave)")


_DETAILS = "CHFDeviceLog|GPFDeviceLog|CHFDecommissioning|MeterIdentity|MeterDecommissioningOrWithdrawal|DeviceRemovedFromInventory"


@then(parsers.re(rf"a DCC alert (?P<payload>DeviceLogRestored|DeviceStatusChangeEvent) (?P<detail>{_DETAILS}) "
                 rf"arrives for the {_DEV}$"))
def dcc_alert_payload(context: ScenarioContext, duis_scenario, installation: Installation, payload: str,
                      detail: str, device: str) -> None:
    """A DCC alert recognised by its payload type (the alert codes for these are not public: conf U); it
    must name the device (DeviceID, or NewCHFDeviceID / NewGPFDeviceID of a restore)."""
    duis = duis_scenario.session
    eui = eui_of(context, duis_scenario, installation, device).upper()

    def named(m) -> set[str]:
        return {(e.text or "").strip().upper() for e in m.root.iter(f"{_SR}DeviceID", f"{_SR}NewCHFDeviceID",
                                                                     f"{_SR}NewGPFDeviceID")}

    alert = duis.receiver.claim(
        lambda m: m.kind == "dcc-alert" and m.root.find(f".//{_SR}{payload}//{_SR}{detail}") is not None
        and eui in named(m),
        duis.target.timeouts.alert, f"DCC alert {payload}/{detail} naming the {device} {eui}",
        required=acknowledged(context.exchange))
    attach_inbound(alert, f"DCC alert {payload}/{detail}", context.sent_at)
    context.inbound = alert
    if payload == "DeviceLogRestored":
        kind = "CHF" if detail == "CHFDeviceLog" else "GPF"
        if kind in installation.old:
            old = alert.root.findtext(f".//{_SR}Old{kind}DeviceID")
            assert old == installation.old[kind], f"DCC alert DeviceLogRestored names old {kind} {old}, expected {installation.old[kind]}"


@then(parsers.re(rf"the DCC alert lists the {_DEV} as an associated Type 1 device$"))
def associated_type1(context: ScenarioContext, duis_scenario, installation: Installation, device: str) -> None:
    """MeterDecommissioningOrWithdrawal lists the Type 1 devices joined to the meter (8.3)."""
    eui = eui_of(context, duis_scenario, installation, device)
    alert = context.inbound  # the alert the previous step claimed (it has left the receiver)
    assert alert is not None and alert.kind == "dcc-alert" and \
        alert.root.find(f".//{_SR}MeterDecommissioningOrWithdrawal") is not None, \
        "no DCC alert MeterDecommissioningOrWithdrawal has been claimed by the step before this one"
    listed = {e.findtext(f"{_SR}DeviceID") for e in alert.root.iter(f"{_SR}AssociatedType1Device")}
    assert eui in listed, f"the MeterDecommissioningOrWithdrawal alert lists {sorted(listed)}, not the {device} {eui}"


@then(parsers.re(rf'the (?P<which>old|new) (?P<kind>{_TYPES})\'s SMI status is "(?P<status>[^"]+)"$'))
def old_or_new_status(context: ScenarioContext, duis_scenario, installation: Installation, which: str, kind: str,
                      status: str) -> None:
    """SRV 8.2 Read Inventory for the old or the new device of a type."""
    eui = eui_of(context, duis_scenario, installation, f"{which} {kind}")
    exchange = _send(context, duis_scenario, supplier_role(kind), "8.2", None, {"DeviceID": eui}, keep=False)
    assert exchange.code == "I0", f"SRV 8.2 Read Inventory for the {which} {kind} answered {exchange.code}"
    found = exchange.final.root.findtext(f".//{_SR}DeviceStatus")
    assert found == status.replace(" ", ""), \
        f"the {which} {kind}'s SMI status is {found!r} (read with SRV 8.2), expected {status.replace(' ', '')!r}"


@when(parsers.re(rf"the installing supplier hands over the {_DEV}'s install code \(MP121\)$"))
def install_code_handed_over(context: ScenarioContext, duis_scenario, installation: Installation, device: str) -> None:
    """Outside DUIS: after an SSI incident the installing supplier gives the gaining supplier the install
    code (MP121, within 5 working days). From here the acting supplier holds the code the device carries."""
    eui = eui_of(context, duis_scenario, installation, device)
    attach_text("install code handed over (MP121)", f"{device} {eui}: {installation.codes.get(eui, INSTALL_CODE)}")
