"""What happens once a request is admitted: the synchronous reply and the asynchronous messages.

Generic paths per CommandVariant (duis.md §3.4): CV 1/5 → I99, later the device response; CV 4 → I0 with
a pre-command; CV 2/6 → I0 with a LocalCommand; CV 8 → the non-device reply. SRV-specific device
effects (commissioning, device logs, credentials, firmware, prepayment …) are small functions
registered by SRV in `DEVICE_EFFECTS`; everything else about an SRV comes from the rules catalogue.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from lxml import etree

from .. import gbcs
from ..duis.model import DCC_EUI, SR_NS, RequestID, eui_bytes
from .access import DUISRequest
from .responses import element
from .state import Device, Inventory

_SR = f"{{{SR_NS}}}"
CANCELLATION = "3000-12-31"


@dataclass
class Outcome:
    """The asynchronous consequences of one admitted device request."""

    response_code: str = "I0"
    state: dict = field(default_factory=dict)  # what the device reports back (encoded into the GBCS content)
    device_alerts: list[tuple[str, str]] = field(default_factory=list)  # (device EUI, alert code)
    dcc_alerts: list[tuple[str, etree._Element]] = field(default_factory=list)  # (code, DCCAlert payload)


Effect = Callable[[DUISRequest, Inventory, Outcome], None]
DEVICE_EFFECTS: dict[str, Effect] = {}
NON_DEVICE_REPLIES: dict[str, Callable[[DUISRequest, Inventory], tuple[str, etree._Element | None, Outcome]]] = {}


def effect(srv: str) -> Callable[[Effect], Effect]:
    def register(function: Effect) -> Effect:
        DEVICE_EFFECTS[srv] = function
        return function
    return register


def non_device(srv: str):
    def register(function):
        NON_DEVICE_REPLIES[srv] = function
        return function
    return register


def content(state: dict) -> bytes:
    """The content of an emulated GBCS response: the device's reported state as compact JSON.

    Real devices answer with DLMS/ZigBee payloads whose semantics are out of scope (duis.md §10.5);
    the emulator's own content encoding is JSON so that the suite's decoder can read it back.
    """
    return json.dumps(state, sort_keys=True, separators=(",", ":"), default=str).encode()


def gbcs_frame(cra: gbcs.CRA, counter: int, originator: str, recipient: str, message_code: int, body: bytes,
               when: datetime | None = None) -> bytes:
    header = gbcs.GroupingHeader(cra=cra, originator_counter=counter, originator=eui_bytes(originator),
                                 recipient=eui_bytes(recipient), date_time=gbcs.cosem_datetime(when) if when else None,
                                 message_code=message_code)
    return gbcs.GeneralSigning(header=header, content=body, signature=None).encode()


def message_code(request: DUISRequest) -> int:
    """The GBCS message code of the SRV's use case for this device (0 where no public source gives it)."""
    device_type = request.device.type if request.device else None
    return request.rule.message_code(device_type) or 0


def precommand(request: DUISRequest) -> bytes:
    """The pre-command a transform returns: the GBCS command with a null signature, User as originator."""
    return gbcs_frame(gbcs.CRA.COMMAND, request.request_id.counter, request.request_id.originator,
                      request.request_id.target, message_code(request), etree.tostring(request.body, method="c14n"))


def run_device_effect(request: DUISRequest, inventory: Inventory) -> Outcome:
    outcome = Outcome()
    with inventory.lock:
        function = DEVICE_EFFECTS.get(request.srv)
        if function is not None:
            function(request, inventory, outcome)
        elif request.device is not None:
            outcome.state = {"srv": request.srv, "device": request.device.eui, "status": request.device.status}
    return outcome


def device_response_payload(request: DUISRequest, outcome: Outcome, when: datetime) -> bytes:
    return gbcs_frame(gbcs.CRA.RESPONSE, request.request_id.counter, request.request_id.target,
                      request.request_id.originator, message_code(request), content(outcome.state), when)


def alert_payload(device: str, recipient: str, code: str, counter: int, when: datetime) -> bytes:
    return gbcs_frame(gbcs.CRA.ALERT, counter, device, recipient, 0x1000, content({"alert": code}), when)


# -- effects used by the design-note flows (more arrive with the emulator's device model) ----------

@effect("8.11")
def update_han_device_log(request: DUISRequest, inventory: Inventory, outcome: Outcome) -> None:
    chf = request.device
    target = request.body.findtext(_SR + "DeviceID")
    kind = request.body.findtext(_SR + "RequestType")
    joined = inventory.device(target)
    if kind == "Add":
        chf.device_log[RequestID(target, DCC_EUI, 0).originator] = joined.type if joined else "unknown"
        if joined is not None and joined.status in ("Pending",):
            joined.status = "Whitelisted"
        if joined is not None:
            joined.chf = chf.eui
    else:
        eui = RequestID(target, DCC_EUI, 0).originator
        if chf.device_log.pop(eui, None) is not None:
            chf.historic_log.append(eui)
    outcome.state = {"device_log": sorted(chf.device_log)}
    outcome.device_alerts.append((chf.eui, "8F12"))
    outcome.dcc_alerts.append(("N24", element("UpdateHANDeviceLogResult", None,
                                              element("UpdateHANDeviceLogServiceRequestID", str(request.request_id)))))


@non_device("8.2")
def read_inventory(request: DUISRequest, inventory: Inventory):
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
        return "I0", None, Outcome()
    return "I0", element("DSPInventory", None, *devices), Outcome()


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
