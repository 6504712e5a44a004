"""Installation and the Communications Hub: install & commission, No WAN, hub exchange and re-use.

SRVs: 8.2 Read Inventory, 8.11 Update HAN Device Log (more arrive with the device model).
"""

from __future__ import annotations

from lxml import etree

from ...duis.model import DCC_EUI, SR_NS, RequestID
from ..access import DUISRequest
from ..behaviours import Outcome, effect, non_device
from ..responses import element
from ..state import Device, Inventory

_SR = f"{{{SR_NS}}}"



@effect("8.11")
def update_han_device_log(request: DUISRequest, inventory: Inventory, outcome: Outcome) -> None:
    """Add / Remove a device on the CHF whitelist; CS14 alert 8F12 and DCC alert N24 follow."""
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
    outcome.alert(chf.eui, "8F12")
    outcome.dcc_alert("N24", element("UpdateHANDeviceLogResult", None,
                                     element("UpdateHANDeviceLogServiceRequestID", str(request.request_id))))


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
