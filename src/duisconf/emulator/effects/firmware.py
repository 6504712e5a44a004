"""Firmware Management (design-notes §4.8): distribution, activation and reading of device firmware.

SRVs: 11.1 Update Firmware (CV 8), 11.2 Read Firmware Version, 11.3 Activate Firmware (critical,
future-dated pattern Device), 11.4 Update PPMID Firmware (CV 8).

Device state: `device.firmware_version` (the executing version, also the SMI's DeviceFirmwareVersion)
and `device.data["firmware_images"]` = {hash: version}: the images distributed to the device, keyed by
the upper-case hex SHA-256 of the decoded FirmwareImage (32 bytes, the length of 11.3 FirmwareHash).

The effects' state (`outcome.state`; what of it a device reports goes through the GBCS reading slots,
rules/emulator_gbcs.toml, see duisconf.emulator.device_messages):
  11.2 response            {"firmware_version": "<executing version>"}
  11.3 response / 8F66     {"activated": true, "activation": "success", "firmware_version": "<new version>",
                            "firmware_hash": "<hash>"}
  11.3 wrong hash / 8F67   {"activated": false, "activation": "hashMismatch" (an image is held, another hash) or
                            "noImageHeld", "firmware_version": "<unchanged>", "firmware_hash": "<hash>"}
  device alert 8F72 / 8F1C {"firmware_version": "<distributed version>", "firmware_hash": "<hash>"}
  device alert 8F43        {"firmware_version": "<new version>", "previous_version": "<old version>"}

Confidence (design-notes tags):
  - 11.1 / 11.4 reply: I0 without payload when every device is valid; W110101 / W110401 with
    DSPUpdateFirmwareWarning / DSPUpdatePPMIDFirmwareWarning when any list is non-empty [I: the XSD has
    exactly one warning code per SRV and one warning payload per SRV; duis.md §4.1 classes W* as
    success with warning; design-notes §4.8 step 3]. Which devices fall in which list [U beyond the
    element names]: unknown EUI or another supplier's device -> InvalidDeviceIDList; SMI status other
    than Commissioned -> NotCommissionedDeviceIDList; a device type the SRV cannot update (11.1: CHF /
    GPF are DCC-managed, PPMID goes through 11.4, IHD out of scope per SECMP0007; 11.4: anything but a
    PPMID) -> NotApplicableFirmwareDeviceIDList.
  - Delivery DCC alerts [U]: N60 for ESME (and the electricity-side HCALCS), N61 for GSME, each with a
    CSPFirmwareDeliveryStatus payload (its CommsHubTransferStatus carries Success / Failure, so the two
    codes are read as split by meter type, not by outcome). SECMP0007 only says "ESME / GSME firmware
    delivered / failed"; confirm against the DUIS alert table.
  - 8F72 on successful verification, 8F43 on a change of executing version [V codes, GP; I sequence].
  - Simulated faults (a physical condition set on the inventory, like a battery-constrained GSME):
    device.data["firmware_fault"] = "transfer" -> CommsHubTransferStatus Failure and no image;
    "verification" -> delivered (Success) but the device raises 8F1C and discards the image [I].
  - Wrong hash [I]: the device refuses to activate and the version is unchanged. Future-dated: 8F67.
    Immediate: ResponseCode I0 with "activated": false in the device's GBCS response, because DUIS
    response codes report the DCC's processing (authorisation, validation, communications) and no public
    source names an E-code for a device refusing CS06; change REFUSED_IMMEDIATELY if the DUIS table says
    otherwise.
  - 11.4 activates the PPMID image in the same step (SECMP0007, CS05c) [V MP07]; no alert is sent: a
    PPMID's alerts reach Users as the PPMIDAlert DCC alert, whose N-code is in no public source (never
    guessed). The new version shows in 11.2 on the PPMID.
"""

from __future__ import annotations

import base64
import binascii
import hashlib

from lxml import etree

from ...duis.model import SR_NS, normalise_eui
from ...errors import InvalidInput
from ..access import DUISRequest
from ..behaviours import Outcome, dcc_alert_code, effect, non_device
from ..faults import misbehaviour
from ..responses import device_id_list, element, xml_datetime
from ..state import Device, Inventory

_SR = f"{{{SR_NS}}}"
REFUSED_IMMEDIATELY = "I0"   # response code of an immediate 11.3 whose hash matches no image (see above)
NOT_ACTIONED = "E21"         # never sent: any non-I0 code makes the server raise 8F67 for a future-dated 11.3
UPDATE_FIRMWARE_TYPES = frozenset({"ESME", "GSME", "HCALCS"})
UPDATE_PPMID_FIRMWARE_TYPES = frozenset({"PPMID"})
FIRMWARE_VERSION_NOT_UPDATED = misbehaviour(
    "firmware-version-not-updated",
    "11.3 activation reports success and 8F43 but the device keeps executing the old image, so 11.2 still "
    "reports the old version")
WARNING_LISTS = ("InvalidDeviceIDList", "NotCommissionedDeviceIDList", "NotApplicableFirmwareDeviceIDList")


def images(device: Device) -> dict[str, str]:
    """The images distributed to the device: upper-case hex SHA-256 -> FirmwareVersion."""
    return device.data.setdefault("firmware_images", {})


def image_hash(image: bytes) -> str:
    return hashlib.sha256(image).hexdigest().upper()


# -- 11.1 / 11.4: distribution -------------------------------------------------------------------
def classify(request: DUISRequest, inventory: Inventory, applicable: frozenset[str]) -> tuple[list[Device], dict]:
    """Split DeviceIDList into the devices to update and the warning lists (element name -> EUIs)."""
    valid, warnings = [], {name: [] for name in WARNING_LISTS}
    for text in (request.body.findtext(_SR + "DeviceIDList") or "").split(","):
        try:
            eui = normalise_eui(text.strip())
        except InvalidInput:
            eui = text.strip()
        device = inventory.device(eui) if eui else None
        if device is None or device.supplier != request.user.eui:
            warnings["InvalidDeviceIDList"].append(eui)
        elif device.status != "Commissioned":
            warnings["NotCommissionedDeviceIDList"].append(device.eui)
        elif device.type not in applicable:
            warnings["NotApplicableFirmwareDeviceIDList"].append(device.eui)
        elif device not in valid:
            valid.append(device)
    return valid, warnings


def warning_payload(tag: str, warnings: dict) -> etree._Element | None:
    lists = [element(name, device_id_list(euis)) for name, euis in warnings.items() if euis]
    return element(tag, None, *lists) if lists else None


def firmware_image(request: DUISRequest) -> bytes:
    try:
        return base64.b64decode(request.body.findtext(_SR + "FirmwareImage") or "")
    except (binascii.Error, ValueError):  # the XSD already demands base64Binary
        return b""


def distribute(request: DUISRequest, device: Device, outcome: Outcome, image: bytes, version: str) -> None:
    """The CSP / CH deliver the image, the device verifies it (8F72) and keeps it for activation."""
    fault, digest = device.data.get("firmware_fault"), image_hash(image)
    code = dcc_alert_code("CSPFirmwareDeliveryStatus", device.type)
    if code is not None:
        outcome.dcc_alert(code, delivery_status(request, device, version, outcome, delivered=fault != "transfer"))
    if fault == "transfer":
        return
    if fault == "verification":
        outcome.alert(device.eui, "8F1C", firmware_version=version, firmware_hash=digest)
        return
    images(device)[digest] = version
    outcome.alert(device.eui, "8F72", firmware_version=version, firmware_hash=digest)


def delivery_status(request: DUISRequest, device: Device, version: str, outcome: Outcome,
                    delivered: bool = True) -> etree._Element:
    return element("CSPFirmwareDeliveryStatus", None,
                   element("UpdateFirmwareRequestID", str(request.request_id)),
                   element("CommsHubDeviceID", device.chf or device.eui),
                   element("TargetDeviceID", device.eui),
                   element("FirmwareVersion", version),
                   element("TimeStamp", xml_datetime(outcome.now)),
                   element("CommsHubTransferStatus", "Success" if delivered else "Failure"))


@non_device("11.1")
def update_firmware(request: DUISRequest, inventory: Inventory, outcome: Outcome):
    devices, warnings = classify(request, inventory, UPDATE_FIRMWARE_TYPES)
    image, version = firmware_image(request), request.body.findtext(_SR + "FirmwareVersion")
    for device in devices:
        distribute(request, device, outcome, image, version)
    payload = warning_payload("DSPUpdateFirmwareWarning", warnings)
    return ("W110101" if payload is not None else "I0"), payload


@non_device("11.4")
def update_ppmid_firmware(request: DUISRequest, inventory: Inventory, outcome: Outcome):
    """Distribution and activation in one step (SECMP0007): the PPMID runs the new version at once."""
    devices, warnings = classify(request, inventory, UPDATE_PPMID_FIRMWARE_TYPES)
    image, version = firmware_image(request), request.body.findtext(_SR + "FirmwareVersion")
    for device in devices:
        images(device)[image_hash(image)] = version
        device.firmware_version = version
    payload = warning_payload("DSPUpdatePPMIDFirmwareWarning", warnings)
    return ("W110401" if payload is not None else "I0"), payload


# -- 11.2 / 11.3: on the device -------------------------------------------------------------------
@effect("11.2")
def read_firmware_version(request: DUISRequest, inventory: Inventory, outcome: Outcome) -> None:
    outcome.state = {"firmware_version": request.device.firmware_version}


@effect("11.3")
def activate_firmware(request: DUISRequest, inventory: Inventory, outcome: Outcome) -> None:
    """Run the distributed image whose hash is FirmwareHash; refuse when none matches."""
    device = request.device
    digest = (request.body.findtext(_SR + "FirmwareHash") or "").strip().upper()
    version = images(device).get(digest)
    if version is None:
        outcome.response_code = NOT_ACTIONED if request.execution_datetime else REFUSED_IMMEDIATELY
        # CS06 activateImageResponseCode: hashMismatch (2) when the device holds an image whose hash is not
        # the command's, noImageHeld (1) when it holds none [I: GBCS ASN.1 ExecutionOutcome names]
        outcome.state = {"activated": False, "activation": "hashMismatch" if images(device) else "noImageHeld",
                         "firmware_version": device.firmware_version, "firmware_hash": digest}
        outcome.result = "error"
        return
    previous = device.firmware_version
    if not inventory.misbehaving(FIRMWARE_VERSION_NOT_UPDATED, device.eui):
        device.firmware_version = version
    outcome.state = {"activated": True, "activation": "success", "firmware_version": version, "firmware_hash": digest}
    outcome.alert(device.eui, "8F43", firmware_version=version, previous_version=previous)
