"""What happens once a request is admitted: the synchronous reply and the asynchronous messages.

Generic paths per CommandVariant (duis.md §3.4): CV 1/5 → I99, later the device response; CV 4 → I0 with
a pre-command; CV 2/6 → I0 with a LocalCommand; CV 8 → the non-device reply. SRV-specific device
effects (commissioning, device logs, credentials, firmware, prepayment …) are small functions
registered by SRV in `DEVICE_EFFECTS`; everything else about an SRV comes from the rules catalogue.
"""

from __future__ import annotations

import json
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache

from lxml import etree

from .. import gbcs, paths
from ..duis.model import SR_NS, eui_bytes
from ..errors import ConfigError
from .access import DUISRequest
from .faults import misbehaviour
from .state import Device, Inventory

_SR = f"{{{SR_NS}}}"
CANCELLATION = "3000-12-31"


@dataclass
class DeviceAlert:
    device: str                    # the EUI raising it
    code: str                      # GBCS alert code, e.g. "8F69"
    recipient: str | None = None   # None = the user whose request caused it
    state: dict = field(default_factory=dict)  # reported in the alert's GBCS content


@dataclass
class DCCAlert:
    code: str                      # DCC alert code, e.g. "N24"
    payload: etree._Element        # the DCCAlert choice element, e.g. UpdateHANDeviceLogResult
    recipient: str | None = None   # None = the user whose request caused it


@dataclass
class Outcome:
    """The asynchronous consequences of one admitted request.

    For device requests `state` becomes the content of the device's GBCS response; alerts follow it.
    """

    response_code: str = "I0"
    state: dict = field(default_factory=dict)
    result: str = "success"        # what the device's GBCS response says: "success" or "error" (a refused command)
    timing: str = "immediate"      # "immediate", "future_dated" (stored for later) or "cancellation"
    now: datetime | None = None  # the moment the device executes the command (the emulator's virtual clock)
    device_alerts: list[DeviceAlert] = field(default_factory=list)
    dcc_alerts: list[DCCAlert] = field(default_factory=list)

    def alert(self, device: str, code: str, recipient: str | None = None, **state: object) -> None:
        self.device_alerts.append(DeviceAlert(device, code, recipient, dict(state)))

    def dcc_alert(self, code: str, payload: etree._Element, recipient: str | None = None) -> None:
        self.dcc_alerts.append(DCCAlert(code, payload, recipient))


Effect = Callable[[DUISRequest, Inventory, Outcome], None]
NonDeviceReply = Callable[[DUISRequest, Inventory, Outcome], tuple[str, etree._Element | None]]
DEVICE_EFFECTS: dict[str, Effect] = {}
NON_DEVICE_REPLIES: dict[str, NonDeviceReply] = {}


@lru_cache(maxsize=1)
def _dcc_alert_codes() -> dict:
    path = paths.rules_dir() / "dcc_alert_codes.toml"
    try:
        with open(path, "rb") as handle:
            return tomllib.load(handle)["payload"]
    except (OSError, KeyError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"{path}: {exc!r}") from None


def dcc_alert_code(payload_type: str, device_type: str | None = None) -> str | None:
    """The DCC alert code for a DCCAlert payload type (rules/dcc_alert_codes.toml); None if it has none."""
    row = _dcc_alert_codes().get(payload_type)
    if row is None:
        return None
    code = row["code"]
    return code.get(device_type) if isinstance(code, dict) else code


def effect(*srvs: str) -> Callable[[Effect], Effect]:
    """Register what a device SRV does to the device (runs under the inventory lock, when the device
    executes the command: at once, or at the ExecutionDateTime of a future-dated request)."""
    def register(function: Effect) -> Effect:
        for srv in srvs:
            DEVICE_EFFECTS[srv] = function
        return function
    return register


def non_device(*srvs: str) -> Callable[[NonDeviceReply], NonDeviceReply]:
    """Register a CV 8 reply: returns (response code, payload element or None); alerts go on the outcome."""
    def register(function: NonDeviceReply) -> NonDeviceReply:
        for srv in srvs:
            NON_DEVICE_REPLIES[srv] = function
        return function
    return register


def content(state: dict) -> bytes:
    """The emulator's former content encoding (compact JSON of a state): only DCC schedules (schedules.py)
    still use it; device responses and alerts are real GBCS (device_messages.py)."""
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
    """The former pre-command (the C14N of the request body in a GBCS frame): only for an SRV whose use case
    has no command shape; device_messages.DeviceMessages.precommand builds the real GBCS command."""
    return gbcs_frame(gbcs.CRA.COMMAND, request.request_id.counter, request.request_id.originator,
                      request.request_id.target, message_code(request), etree.tostring(request.body, method="c14n"))


NOT_ON_HAN = ("Pending", "Whitelisted")  # known to the SMI, not (yet) joined to any SMHAN [I]


def unreachable(inventory: Inventory, device: Device, *, over_han: bool = False) -> tuple[str, dict] | None:
    """Why the DCC cannot get a command to the device, as the asynchronous response code says it:
    E20 "cannot establish communications" behind a hub installed without SM WAN (8.14.2), E21 "no
    response from the Device" for a device not yet on the SMHAN (duis.md §4.2; triggers [I]).
    A command delivered locally (`over_han`: CV 2/6, returned with 8.13) never used the WAN, so only
    the SMHAN condition applies to it."""
    chf = device if device.type == "CHF" else inventory.device(device.chf) if device.chf else None
    if not over_han and chf is not None and chf.data.get("sm_wan") is False:
        return "E20", {"sm_wan": False}
    if device.status in NOT_ON_HAN:
        return "E21", {"status": device.status}
    return None


EFFECT_NOT_APPLIED = misbehaviour(
    "effect-not-applied",
    "the device acknowledges a command and answers it as done (I0, the response content of success) but its "
    "state stays as it was, so a read-back (rules/effects.toml) shows the old value")


def _kept(device: Device) -> dict:
    """A copy of everything an effect may change on the device (for EFFECT_NOT_APPLIED)."""
    import copy

    return copy.deepcopy(vars(device))


def run_device_effect(request: DUISRequest, inventory: Inventory, now: datetime | None = None) -> Outcome:
    outcome = Outcome(now=now)
    with inventory.lock:
        blocked = unreachable(inventory, request.device, over_han=request.cv in (2, 6)) \
            if request.device is not None else None
        if blocked is not None:  # the command never reaches the device: no effect, no alerts
            outcome.response_code, outcome.state = blocked
            return outcome
        function = DEVICE_EFFECTS.get(request.srv)
        if function is not None:
            device = request.device
            kept = _kept(device) if device is not None and inventory.misbehaving(EFFECT_NOT_APPLIED, device.eui) else None
            function(request, inventory, outcome)
            if kept is not None:  # answered as done, state put back: the misbehaviour a read-back must catch
                vars(device).clear()
                vars(device).update(kept)
        elif request.device is not None:
            outcome.state = {"srv": request.srv, "device": request.device.eui, "status": request.device.status}
    return outcome


def run_non_device(request: DUISRequest, inventory: Inventory,
                   now: datetime | None = None) -> tuple[str, etree._Element | None, Outcome]:
    outcome = Outcome(now=now)
    reply = NON_DEVICE_REPLIES.get(request.srv)
    if reply is None:
        return "I0", None, outcome
    with inventory.lock:
        code, payload = reply(request, inventory, outcome)
    return code, payload, outcome


from . import effects  # noqa: E402,F401  # registers the SRV effects


