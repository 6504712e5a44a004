"""Installation and the Communications Hub: install & commission, No WAN, hub exchange and re-use, time.

Design notes (design-notes.md §4.1, §4.2, §4.5, §4.6, §4.7) in the emulator's terms. Conf tags as there:
V verified, I inferred, U unverified (kept explicit next to each rule below).

Non-device SRVs (CV 8, synchronous reply):
  12.2  Device Pre-notification  new EUI -> SMI record, status Pending (manufacturer, model, type, firmware,
        SMETS/CHTS version, ESMEVariant, AssociatedGPFDeviceID from the body) [I]. An EUI already in the SMI:
        same DeviceType -> I0, record unchanged; other DeviceType -> E11 [U, see `prenotify`].
  12.1  Request WAN Matrix  I0 + DSPWANMatrix [V shape]; premises listed in the inventory's
        `data["no_wan_coverage"]` (UPRNs or "PostCode|AddressIdentifier") get CoverageAvailability false [U].
  8.14.1 CH install success (SM WAN)  CHF and its GPF -> Commissioned, CHF `data["sm_wan"] = True` [U].
  8.14.2 CH install, no SM WAN  CHF and its GPF -> InstalledNotCommissioned, `data["sm_wan"] = False`:
        later device requests through that CHF get the asynchronous response code E20 [I from E20's meaning].
  8.14.3 / 8.14.4 fault / no-fault return  an installed CHF (and its GPF) -> Decommissioned with DCC alert
        DeviceStatusChangeEvent/CHFDecommissioning; a never-installed one -> Withdrawn, no alert [U].
  8.3   Decommission Device  -> Decommissioned; a meter raises DeviceStatusChangeEvent/
        MeterDecommissioningOrWithdrawal (MPxN + joined Type 1 devices) to the requester [I].
  8.4   Update Inventory  status (ExceptCH: non-hub devices; CH: CHF/GPF, else E11 [U]), details, MPxN,
        DeleteDevice (record removed; DeviceStatusChangeEvent/DeviceRemovedFromInventory) [I].
  8.2   Read Inventory  I0 + DSPInventory filtered by DeviceID or MPxN (up to 17 entries).
  A DeviceID in a non-device body that is not in the SMI -> E19 (rules/access_control.toml device_exists, V).

Device SRVs: `outcome.state` (what of it a device reports goes into its GBCS response through the reading
slots of rules/emulator_gbcs.toml; the rest is the emulator's own account, DCCEmulator.outcomes). Keys:
  8.11   {"device_log": [EUI…], "historic_log": [EUI…], "added"|"removed": EUI, "key_ignored": bool}
  8.12.1 / 8.12.2 {"device_log": [EUI…], "restored_from": old EUI}
  8.9    {"device_log": {EUI: type}, "historic_log": [EUI…]}  (meters: the devices joined to them)
  8.1.1  {"clock_adjusted": bool, "clock_offset_s": float, "commissioned": bool, "status": SMI status}
  6.11   {"clock_adjusted": bool, "clock_offset_s": float}   (offset = device clock - CurrentDateTime)
  8.7.x  {"joined": bool, "other": EUI, "joined_devices": [EUI…]}
  8.8.x  {"unjoined": bool, "other": EUI, "joined_devices": [EUI…]}
  A device request to a Pending / Whitelisted device (not on the SMHAN) -> asynchronous E21; through a
  hub installed without SM WAN -> asynchronous E20 (state {"status": …} / {"sm_wan": false}).
  Device alerts are the GBCS alerts of their use case (device_messages.py); the effect also records
  {"alert": code, …} with them (DCCEmulator.outcomes); 8F12 / 8071 add "device_log".
  Alerts: 8.11 8F12 + N24; 8.1.1 8145 (clock changed) or 81C6, then 8F69 (a GSME: 8071 from its GPF) and
  DeviceStatusChangeEvent/MeterIdentity to the network operator; 6.11 8145 / 81C6, or 8F0C for a step
  over 10 s (`_set_clock`); 8.7.x 8F49 / 8F48; 8.8.x 8F4B / 8F4A; 8.12.1 8F12 and 8.12.2 8071, each + DeviceLogRestored.

Physical step (not a DUIS message): `power_up(inventory, eui, now, install_code)` -> [(EUI, alert)]:
8183 from the CHF when the device joins its SMHAN (-> InstalledNotCommissioned), 8F48 when it cannot.

Registration data: a meter whitelisted (8.11 Add) without a network operator takes the one registered for
the hub's premises, so 8.1.1 can tell it DeviceStatusChangeEvent/MeterIdentity [I].

Misbehaviours (the suite's negative checks, tests/test_suite_negative_installation.py):
commission-without-clock-check (8.1.1), no-wan-requests-succeed (8.14.2), device-log-not-restored (8.12.1),
historic-log-not-kept (8.11 Remove).

Device data keys: CHF `sm_wan` (bool); any device `clock_offset_s` (device clock drift in seconds),
`install_code` (the code the device physically carries), `join_window` ({chf, install_code, opens,
closes, historic_key}), `joined` ({EUI: type}), `esme_variant`.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from lxml import etree

from ...duis.model import SR_NS, normalise_eui
from ..access import DUISRequest
from ..behaviours import Outcome, dcc_alert_code, effect, non_device
from ..faults import misbehaviour
from ..responses import element
from ..state import Device, Inventory

_SR = f"{{{SR_NS}}}"

# DCC alert code per DCCAlert payload type. N24 <-> UpdateHANDeviceLogResult is observed in DCC's test
# data (duis.md §5.1, V); the others: code not in public sources (conf U), chosen here and used consistently.
IN_SERVICE = ("InstalledNotCommissioned", "Commissioned")  # on the SMHAN (joined) [I]
METERS = ("ESME", "GSME")
TYPE1_NON_METERS = ("GPF", "PPMID", "HCALCS")

# Deliberately wrong models for the suite's own negative checks (tests/test_suite_negative_installation.py).
COMMISSION_WITHOUT_CLOCK_CHECK = misbehaviour(
    "commission-without-clock-check", "8.1.1 commissions the device although CurrentDateTime is outside its tolerance")
NO_WAN_REQUESTS_SUCCEED = misbehaviour(
    "no-wan-requests-succeed", "8.14.2 leaves the hub reachable: device requests through it succeed without SM WAN")
DEVICE_LOG_NOT_RESTORED = misbehaviour(
    "device-log-not-restored", "8.12.1 answers I0 and raises its alerts but the new CHF keeps only its own log")
HISTORIC_LOG_NOT_KEPT = misbehaviour(
    "historic-log-not-kept", "8.11 Remove drops the device without copying its link key to the CHF historic log")


def _text(request: DUISRequest, tag: str) -> str | None:
    return request.body.findtext(f".//{_SR}{tag}")


def _now(outcome: Outcome) -> datetime:
    return outcome.now or datetime.now(timezone.utc)


def _parse_datetime(text: str) -> datetime:
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def _status_change(device_eui: str, change: etree._Element) -> etree._Element:
    return element("DeviceStatusChangeEvent", None, element("DeviceID", device_eui),
                   element("DeviceStatusChange", None, change))


def _dcc_alert(outcome: Outcome, payload: etree._Element, recipient: str | None = None) -> None:
    outcome.dcc_alert(dcc_alert_code(etree.QName(payload).localname), payload, recipient)


def _hub_gpf(inventory: Inventory, chf: Device) -> Device | None:
    """The GPF of a Communications Hub: the GPF in the CHF's device log (or pointing at the CHF)."""
    for device in inventory.devices.values():
        if device.type == "GPF" and (device.eui in chf.device_log or device.chf == chf.eui):
            return device
    return None


# -- 12.2 / 12.1: before the visit ----------------------------------------------------------------

@non_device("12.2")
def prenotify(request: DUISRequest, inventory: Inventory, outcome: Outcome):
    """Device Pre-notification: the SMI learns of a device, status Pending.

    An EUI already in the SMI: DUIS has SRV-specific codes E120201/E120203/E120204/E120207 whose meanings
    are not public, so none is used. The golden RTDS replay (tests/test_emulator_golden.py) pre-notifies the
    reference ESME and expects I0, so a re-notification of the same type is accepted without change;
    a different DeviceType for a known EUI is refused with E11 (plain code from access_control; conf U).
    """
    eui, kind = normalise_eui(_text(request, "DeviceID")), _text(request, "DeviceType")
    existing = inventory.device(eui)
    if existing is not None:
        return ("I0" if existing.type == kind else "E11"), None
    supplier = request.user.eui if request.user.roles & {"IS", "GS", "ES"} else None
    device = Device(eui, kind, status="Pending", manufacturer=_text(request, "DeviceManufacturer"),
                    model=_text(request, "DeviceModel"), supplier=supplier)
    device.firmware_version = _text(request, "FirmwareVersion") or device.firmware_version
    device.smets_chts_version = _text(request, "SMETSCHTSVersion") or device.smets_chts_version
    gpf = _text(request, "AssociatedGPFDeviceID")
    device.gpf = normalise_eui(gpf) if gpf else None
    if _text(request, "ESMEVariant"):
        device.data["esme_variant"] = _text(request, "ESMEVariant")
    inventory.add_device(device)
    return "I0", None


@non_device("12.1")
def request_wan_matrix(request: DUISRequest, inventory: Inventory, outcome: Outcome):
    """I0 + DSPWANMatrix: the SM WAN coverage answer for a premises (values are the emulator's own, U)."""
    uprn = _text(request, "UPRN")
    premises = uprn or f"{_text(request, 'PostCode')}|{_text(request, 'AddressIdentifier')}"
    settings = inventory.data
    covered = premises not in set(settings.get("no_wan_coverage", ()))
    echo = etree.fromstring(etree.tostring(request.body))
    echo.tag = _SR + "Request"
    matrix = element("DSPWANMatrix", None, echo, element("CSPRegion", settings.get("csp_region", "Central")),
                     element("CoverageAvailability", "true" if covered else "false"),
                     element("WANTechnology", "Cellular"),
                     element("ConnectivityLikelihood", "High" if covered else "Low"))
    return "I0", matrix


# -- 8.14.x: the Communications Hub status updates ------------------------------------------------

def _body_device(request: DUISRequest, inventory: Inventory) -> Device | None:
    eui = _text(request, "DeviceID")
    return inventory.device(eui) if eui else None


def _hub_devices(inventory: Inventory, chf: Device) -> list[Device]:
    """The CHF and, where known, the GPF of the same Communications Hub."""
    return [d for d in (chf, _hub_gpf(inventory, chf)) if d is not None]


@non_device("8.14.1", "8.14.2")
def ch_installed(request: DUISRequest, inventory: Inventory, outcome: Outcome):
    """8.14.1: hub in service with SM WAN -> Commissioned [U]; 8.14.2: installed and left without SM WAN ->
    InstalledNotCommissioned, requests through it fail with E20 until an 8.14.1 reports WAN [I, MP121]."""
    chf = _body_device(request, inventory)
    if chf is None or chf.type != "CHF":
        return ("E19" if chf is None else "E11"), None
    with_wan = request.srv == "8.14.1"
    for device in _hub_devices(inventory, chf):
        device.status = "Commissioned" if with_wan else "InstalledNotCommissioned"
        if with_wan:
            device.date_commissioned = _now(outcome).date()
    reachable = with_wan or inventory.misbehaving(NO_WAN_REQUESTS_SUCCEED, chf.eui)
    chf.data.update(sm_wan=reachable, install_type=_text(request, "CHFInstallType"),
                    location=_text(request, "CHFLocation"))
    chf.mpxn = _text(request, "MPxN") or chf.mpxn
    return "I0", None


@non_device("8.14.3", "8.14.4")
def ch_returned(request: DUISRequest, inventory: Inventory, outcome: Outcome):
    """Fault / no-fault return of a hub: Decommissioned if it was ever installed (DCC alert
    DeviceStatusChangeEvent/CHFDecommissioning, payload type V, trigger I), else Withdrawn [U]."""
    chf = _body_device(request, inventory)
    if chf is None or chf.type != "CHF":
        return ("E19" if chf is None else "E11"), None
    installed = chf.status in IN_SERVICE or "sm_wan" in chf.data
    for device in _hub_devices(inventory, chf):
        device.status = "Decommissioned" if installed else "Withdrawn"
    chf.data["returned"] = _text(request, "CHFFaultReturnType") or _text(request, "CHFNoFaultReturnType")
    if installed:
        _dcc_alert(outcome, _status_change(chf.eui, element("CHFDecommissioning")))
    return "I0", None


# -- 8.3 / 8.4: the Smart Metering Inventory ------------------------------------------------------

def _meter_mpxns(device: Device) -> etree._Element:
    return element("ImportMPxN", device.mpxn)


@non_device("8.3")
def decommission(request: DUISRequest, inventory: Inventory, outcome: Outcome):
    device = _body_device(request, inventory)
    if device is None:
        return "E19", None
    device.status = "Decommissioned"
    if device.type in METERS and device.mpxn:
        associated = [inventory.device(eui) for eui in device.data.get("joined", {})]
        type1 = [d for d in associated if d is not None and d.type in TYPE1_NON_METERS][:7]
        change = element("MeterDecommissioningOrWithdrawal", None,
                         element("MeterDecommissionOrWithdrawal", None, _meter_mpxns(device)),
                         *[element("AssociatedType1Device", None, element("DeviceID", d.eui),
                                   element("DeviceType", d.type)) for d in type1])
        _dcc_alert(outcome, _status_change(device.eui, change))
    return "I0", None


HUB_TYPES = ("CHF", "GPF")


@non_device("8.4")
def update_inventory(request: DUISRequest, inventory: Inventory, outcome: Outcome):
    """UpdateDeviceStatusExceptCH (non-hub devices) / UpdateDeviceStatusCH (CHF, GPF) set the status;
    UpdateDeviceDetails / UpdateMPxN edit the record; DeleteDevice removes it. Wrong hub-ness -> E11 [U]."""
    device = _body_device(request, inventory)
    if device is None:
        return "E19", None
    change = next(child for child in request.body if etree.QName(child).localname != "DeviceID")
    kind = etree.QName(change).localname
    if kind in ("UpdateDeviceStatusExceptCH", "UpdateDeviceStatusCH"):
        if (kind == "UpdateDeviceStatusCH") != (device.type in HUB_TYPES):
            return "E11", None
        device.status = change.text
    elif kind == "UpdateDeviceDetails":
        _update_details(device, change)
    elif kind == "UpdateMPxN":
        device.mpxn = change.findtext(_SR + "ImportMPxN") or device.mpxn
    else:  # DeleteDevice
        _delete(inventory, device)
        _dcc_alert(outcome, _status_change(device.eui, element("DeviceRemovedFromInventory")))
    return "I0", None


def _update_details(device: Device, change: etree._Element) -> None:
    fields = {"DeviceManufacturer": "manufacturer", "DeviceModel": "model", "SMETSCHTSVersion": "smets_chts_version",
              "FirmwareVersion": "firmware_version"}
    for tag, attribute in fields.items():
        value = change.findtext(_SR + tag)
        if value:
            setattr(device, attribute, value)
    if change.findtext(_SR + "ESMEVariant"):
        device.data["esme_variant"] = change.findtext(_SR + "ESMEVariant")


def _delete(inventory: Inventory, device: Device) -> None:
    inventory.devices.pop(device.eui, None)
    for other in inventory.devices.values():
        other.device_log.pop(device.eui, None)
        other.data.get("joined", {}).pop(device.eui, None)


# -- 8.11: the CHF whitelist and the join window ------------------------------------------------

@effect("8.11")
def update_han_device_log(request: DUISRequest, inventory: Inventory, outcome: Outcome) -> None:
    """Add / Remove a device on the CHF whitelist (CCS01 / CCS02); CS14 alert 8F12 and DCC alert N24 follow."""
    chf = request.device
    eui = normalise_eui(_text(request, "DeviceID"))
    if _text(request, "RequestType") == "Add":
        outcome.state = _whitelist(request, inventory, chf, eui, _now(outcome))
    else:
        outcome.state = _remove_from_log(inventory, chf, eui)
    outcome.state.update(device_log=sorted(chf.device_log), historic_log=list(chf.historic_log))
    outcome.alert(chf.eui, "8F12", device_log=sorted(chf.device_log))
    _dcc_alert(outcome, element("UpdateHANDeviceLogResult", None,
                                element("UpdateHANDeviceLogServiceRequestID", str(request.request_id))))


def _whitelist(request: DUISRequest, inventory: Inventory, chf: Device, eui: str, now: datetime) -> dict:
    """CCS01: a device already in the log -> success, the new key ignored (V, GBCS CCS01 text)."""
    if eui in chf.device_log:
        return {"added": eui, "key_ignored": True}
    device = inventory.device(eui)
    chf.device_log[eui] = device.type if device else "unknown"
    if device is None:
        return {"added": eui, "key_ignored": False}
    device.chf = chf.eui
    if device.status == "Pending":
        device.status = "Whitelisted"  # [I]
    device.mpxn = _text(request, "ImportMPxN") or device.mpxn
    if device.type in METERS and device.network_operator is None:
        device.network_operator = chf.network_operator  # registration data of the premises the hub serves [I]
    period = timedelta(seconds=int(_text(request, "JoinTimePeriod")))
    device.data["join_window"] = {"chf": chf.eui, "install_code": (_text(request, "InstallCode") or "").upper(),
                                  "opens": now.isoformat(), "closes": (now + period).isoformat(),
                                  "historic_key": eui in chf.historic_log}
    return {"added": eui, "key_ignored": False}


def _remove_from_log(inventory: Inventory, chf: Device, eui: str) -> dict:
    """CCS02: the device leaves the log; its link key goes to the historic log (15, oldest overwritten)."""
    if chf.device_log.pop(eui, None) is None:
        return {"removed": None}
    if eui in chf.historic_log:
        chf.historic_log.remove(eui)
    if not inventory.misbehaving(HISTORIC_LOG_NOT_KEPT, chf.eui):
        chf.historic_log.append(eui)
    device = inventory.device(eui)
    if device is not None:
        device.data.pop("join_window", None)
        if device.chf == chf.eui:
            device.chf = None
    return {"removed": eui}


def power_up(inventory: Inventory, device_eui: str, now: datetime,
             install_code: str | None = None) -> list[tuple[str, str]]:
    """A physical step: the device is powered up near its hub and tries to join the SMHAN.

    It joins if whitelisted on a CHF whose join window is open and either the install code it carries
    matches the one the supplier sent, or (re-add of a device in the CHF historic log) it is the first half
    of the window and the historic link key is used (GBCS CCS01, V). Joined -> InstalledNotCommissioned and
    alert 8183 'device joined SMHAN' from the CHF; otherwise 8F48 'joining failed' [I triggers].
    `install_code` overrides the code the device carries (device.data["install_code"], default: the one the
    supplier sent). Returns [(raising device EUI, alert code)].
    """
    with inventory.lock:
        device = inventory.device(device_eui)
        window = device.data.get("join_window") if device is not None else None
        if window is None:
            return [(device.chf or device.eui, "8F48")] if device is not None else []
        if not _may_join(window, device, now, install_code):
            return [(window["chf"], "8F48")]
        device.data.pop("join_window")
        if device.status in ("Pending", "Whitelisted"):
            device.status = "InstalledNotCommissioned"
        return [(window["chf"], "8183")]


def _may_join(window: dict, device: Device, now: datetime, install_code: str | None) -> bool:
    opens, closes = _parse_datetime(window["opens"]), _parse_datetime(window["closes"])
    if not opens <= now <= closes:
        return False
    if window["historic_key"] and now <= opens + (closes - opens) / 2:
        return True
    carried = install_code or device.data.get("install_code") or window["install_code"]
    return carried.upper() == window["install_code"]


# -- 8.1.1 / 6.11: commissioning and the clock -----------------------------------------------------

SYNCHRONISE_MAX_STEP_S = 10  # 8F0C "clock not adjusted (adjustment > 10 s)" (duis.md §5.2) [V code, I trigger]
# Negative check of the suite (tests/test_suite_negative_supplier.py): a device that reports a 6.11
# synchronisation as done (8145) but keeps its drifted clock.
CLOCK_NOT_ADJUSTED = misbehaviour("clock-not-adjusted", "6.11 within tolerance reports 8145 but leaves the clock drifted")


def _set_clock(request: DUISRequest, outcome: Outcome, max_step_s: float | None = None,
               keep_clock: bool = False) -> tuple[bool, float]:
    """GBCS ECS70 / GCS28 set clock: the device adopts the time if CurrentDateTime is within TolerancePeriod
    of its own clock (8145), else leaves it (81C6) [V codes, I trigger]. A routine synchronisation (6.11)
    also refuses to step the clock by more than `max_step_s` (8F0C); commissioning (8.1.1) may step it
    as far as the tolerance allows (RTDS uses 60 s / 3600 s) [I]."""
    device = request.device
    offset = float(device.data.get("clock_offset_s", 0.0))
    device_clock = _now(outcome) + timedelta(seconds=offset)
    wanted = _parse_datetime(_text(request, "CurrentDateTime"))
    difference = (device_clock - wanted).total_seconds()
    if abs(difference) > int(_text(request, "TolerancePeriod")):
        outcome.alert(device.eui, "81C6", offset_s=difference)
        return False, difference
    if max_step_s is not None and abs(offset) > max_step_s:
        outcome.alert(device.eui, "8F0C", offset_s=offset)
        return False, difference
    if not keep_clock:  # keep_clock: the misbehaviour CLOCK_NOT_ADJUSTED
        device.data["clock_offset_s"] = 0.0
    if offset:
        outcome.alert(device.eui, "8145", adjusted_s=-offset)
    return True, difference


def _device_clock(request: DUISRequest, outcome: Outcome) -> str:
    """The device's clock now (its drift included): what ECS70 / GCS28 read back after setting it."""
    offset = float(request.device.data.get("clock_offset_s", 0.0))
    return (_now(outcome) + timedelta(seconds=offset)).strftime("%Y-%m-%dT%H:%M:%SZ")


@effect("6.11")
def synchronise_clock(request: DUISRequest, inventory: Inventory, outcome: Outcome) -> None:
    adjusted, difference = _set_clock(request, outcome, max_step_s=SYNCHRONISE_MAX_STEP_S,
                                      keep_clock=inventory.misbehaving(CLOCK_NOT_ADJUSTED, request.device.eui))
    outcome.state = {"clock_adjusted": adjusted, "clock_offset_s": difference, "clock": _device_clock(request, outcome)}
    if not adjusted:
        outcome.result = "error"


@effect("8.1.1")
def commission_device(request: DUISRequest, inventory: Inventory, outcome: Outcome) -> None:
    """Set the clock; within tolerance -> Commissioned, alert 8F69, DeviceStatusChangeEvent/MeterIdentity to
    the network operator [I]. Outside tolerance the device stays uncommissioned; the response code stays I0
    (the device answered; no public source gives a failure code for it) and 81C6 tells why [U]."""
    device = request.device
    adjusted, difference = _set_clock(request, outcome)
    if not adjusted and inventory.misbehaving(COMMISSION_WITHOUT_CLOCK_CHECK, device.eui):
        adjusted = True  # the wrong model: commissioned with the clock left wrong
    if adjusted:
        device.status = "Commissioned"
        device.date_commissioned = _now(outcome).date()
        outcome.alert(device.eui, "8F69")
        if device.type == "GSME" and device.gpf:
            outcome.alert(device.gpf, "8071")  # GPF log alert at gas commissioning [I]
        if device.mpxn and device.network_operator:
            identity = element("MeterIdentity", None, element("MeterMPxNs", None, _meter_mpxns(device)))
            if device.data.get("esme_variant") and device.type == "ESME":
                identity.append(element("ESMEVariant", device.data["esme_variant"]))
            _dcc_alert(outcome, _status_change(device.eui, identity), device.network_operator)
    outcome.state = {"clock_adjusted": adjusted, "clock_offset_s": difference, "commissioned": adjusted,
                     "status": device.status, "clock": _device_clock(request, outcome)}
    if not adjusted:
        outcome.result = "error"


# -- 8.7.x / 8.8.x: joins between devices ---------------------------------------------------------

def _joined(device: Device) -> dict[str, str]:
    return device.data.setdefault("joined", {})


@effect("8.7.1", "8.7.2")
def join(request: DUISRequest, inventory: Inventory, outcome: Outcome) -> None:
    """Join OtherDeviceID to the target: both must be on the same CHF's SMHAN [I]; 8F49 / 8F48 [V codes].
    A PPMID / HCALCS / IHD on the HAN becomes Commissioned when joined to its meter [U]."""
    device = request.device
    other = inventory.device(_text(request, "OtherDeviceID") or "")
    ok = (other is not None and other.eui != device.eui and device.chf is not None
          and other.chf == device.chf and other.status in IN_SERVICE)
    if ok:
        _joined(device)[other.eui] = other.type
        _joined(other)[device.eui] = device.type
        if other.type in ("PPMID", "HCALCS", "IHD") and other.status == "InstalledNotCommissioned":
            other.status = "Commissioned"
    outcome.alert(device.eui, "8F49" if ok else "8F48")
    outcome.result = "success" if ok else "error"
    outcome.state = {"joined": ok, "other": _text(request, "OtherDeviceID"), "joined_devices": sorted(_joined(device))}


@effect("8.8.1", "8.8.2")
def unjoin(request: DUISRequest, inventory: Inventory, outcome: Outcome) -> None:
    """Unjoin OtherDeviceID: 8F4B when it was joined, 8F4A when it was not [V codes, I trigger]."""
    device = request.device
    eui = normalise_eui(_text(request, "OtherDeviceID"))
    ok = _joined(device).pop(eui, None) is not None
    other = inventory.device(eui)
    if other is not None:
        _joined(other).pop(device.eui, None)
    outcome.alert(device.eui, "8F4B" if ok else "8F4A")
    outcome.result = "success" if ok else "error"
    outcome.state = {"unjoined": ok, "other": eui, "joined_devices": sorted(_joined(device))}


# -- 8.9 / 8.12.x: reading and restoring device logs ----------------------------------------------

@effect("8.9")
def read_device_log(request: DUISRequest, inventory: Inventory, outcome: Outcome) -> None:
    device = request.device
    log = dict(device.device_log) if device.type in HUB_TYPES else dict(_joined(device))
    if device.type == "GPF":
        log.update({d.eui: d.type for d in inventory.devices.values() if d.gpf == device.eui})
    outcome.state = {"device_log": log, "historic_log": list(device.historic_log)}


def _restored(now: datetime, log: str, old_chf: str, new_chf: str, old_gpf: str, new_gpf: str) -> etree._Element:
    ids = element(log, None, element("OldCHFDeviceID", old_chf), element("NewCHFDeviceID", new_chf),
                  element("OldGPFDeviceID", old_gpf), element("NewGPFDeviceID", new_gpf))
    return element("DeviceLogRestored", None, element("RestoredDate", now.date().isoformat()), ids)


@effect("8.12.1")
def restore_han_device_log(request: DUISRequest, inventory: Inventory, outcome: Outcome) -> None:
    """CCS03: the new CHF takes over the old CHF's device log (its own GPF kept, the old GPF dropped); the
    devices move to it; 8F12 and DCC alert DeviceLogRestored/CHFDeviceLog [V shapes, I trigger]. An unknown
    OldCHFID answers E19 asynchronously [U]."""
    new, old = request.device, inventory.device(_text(request, "OldCHFID"))
    if old is None:
        outcome.response_code, outcome.state = "E19", {"restored_from": None}
        return
    old_gpf, new_gpf = _hub_gpf(inventory, old), _hub_gpf(inventory, new)
    restored = {} if inventory.misbehaving(DEVICE_LOG_NOT_RESTORED, new.eui) else old.device_log
    for eui, kind in restored.items():
        if kind != "GPF":
            new.device_log[eui] = kind
            if (moved := inventory.device(eui)) is not None:
                moved.chf = new.eui
    outcome.state = {"device_log": sorted(new.device_log), "restored_from": old.eui}
    outcome.alert(new.eui, "8F12", device_log=sorted(new.device_log))
    if old_gpf is not None and new_gpf is not None:
        _dcc_alert(outcome, _restored(_now(outcome), "CHFDeviceLog", old.eui, new.eui, old_gpf.eui, new_gpf.eui))


@effect("8.12.2")
def restore_gpf_device_log(request: DUISRequest, inventory: Inventory, outcome: Outcome) -> None:
    """GCS59: the new GPF takes over the old GPF's device log; gas devices move to it; 8071 and DCC alert
    DeviceLogRestored/GPFDeviceLog [V shapes, I trigger]. Unknown OldGPFID -> asynchronous E19 [U]."""
    new, old = request.device, inventory.device(_text(request, "OldGPFID"))
    if old is None:
        outcome.response_code, outcome.state = "E19", {"restored_from": None}
        return
    new.device_log.update(old.device_log)
    for device in inventory.devices.values():
        if device.gpf == old.eui:
            device.gpf = new.eui
            new.device_log[device.eui] = device.type
    outcome.state = {"device_log": sorted(new.device_log), "restored_from": old.eui}
    outcome.alert(new.eui, "8071", device_log=sorted(new.device_log))
    if old.chf and new.chf:
        _dcc_alert(outcome, _restored(_now(outcome), "GPFDeviceLog", old.chf, new.chf, old.eui, new.eui))


# -- 8.2 Read Inventory ---------------------------------------------------------------------------

@non_device("8.2")
def read_inventory(request: DUISRequest, inventory: Inventory, outcome: Outcome):
    wanted = request.body.findtext(_SR + "DeviceID")
    mpxn = request.body.findtext(_SR + "MPxN")
    with inventory.lock:
        if wanted:
            found = [d for d in [inventory.device(wanted)] if d is not None]
        elif mpxn:
            found = [d for d in inventory.devices.values() if d.mpxn == mpxn]
        else:
            found = list(inventory.devices.values())[:17]
        devices = [_inventory_entry(d) for d in found[:17]]
    if not devices:
        return "I0", None
    return "I0", element("DSPInventory", None, *devices)


def _inventory_entry(device: Device) -> etree._Element:
    entry = element("Device", None, element("DeviceID", device.eui), element("DeviceType", device.type),
                    element("DeviceStatus", device.status), element("DeviceManufacturer", device.manufacturer),
                    element("DeviceModel", device.model), element("SMETSCHTSVersion", device.smets_chts_version),
                    element("DeviceFirmwareVersion", device.firmware_version))
    if device.date_commissioned:
        entry.append(element("DateCommissioned", device.date_commissioned.isoformat()))
    if device.mpxn and device.type in ("ESME", "GSME"):
        entry.append(element("ImportMPxN", device.mpxn))
    return entry
