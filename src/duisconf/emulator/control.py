"""The emulator's control plane: provision users and devices, read device state, move the virtual
clock, switch faults and physical actions — for tests only, off unless the emulator is started with
`control=True` (CLI: `duisconf emulator --control`).

JSON over HTTP under /control/ on the emulator's own port:

  GET    /control/state                     clock, users, devices
  GET    /control/devices/{eui}             one device, its state included
  PUT    /control/devices/{eui}             create or update a device: {"type": "ESME", "status": …, "supplier": …}
  POST   /control/devices/{eui}/power-up    the device is powered up near its hub: {"install_code": "…"} (optional)
  PUT    /control/users/{eui}               create or update a user: {"roles": ["IS"], "receive_url": "http://…"}
  POST   /control/clock                     {"advance_seconds": 3600} or {"set": "2026-11-23T00:00:00Z"}
  GET    /control/pending?request_id=…&until=…  what is still to come: outbox messages not yet delivered and
                                            clock jobs due up to `until` (ISO; default: any), for one RequestID
                                            or all
  POST   /control/settle                    {"advance_seconds": 0.5, "timeout": 10}: let that much target time
                                            pass (the clock moves on, running what falls due), then wait only
                                            until the outbox has delivered what falls due in it
  GET    /control/faults · POST /control/faults {"kind": "latency", "seconds": 2, "srv": "4.1.1"} · DELETE /control/faults
  POST   /control/reset                     back to the reference inventory, no faults, nothing scheduled
  GET    /control/outbox                    what was sent where, delivered or dead (bodies left out)

The suite's steps use it through `EmulatorControl`, one client class; features never peek at state
they could not also observe through DUIS on a real kit.
"""

from __future__ import annotations

import json
from collections import deque
from dataclasses import asdict, fields
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

import requests

from ..duis.model import normalise_eui
from ..errors import DuisConfError, InvalidInput
from .faults import Fault
from .state import Device, User

if TYPE_CHECKING:
    from .server import DCCEmulator

MAX_BODY = 64 * 1024  # a control document is a few hundred bytes of JSON
DEVICE_FIELDS = {f.name for f in fields(Device)} - {"eui", "device_log", "historic_log"}


def _json_default(value: object) -> object:
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, (deque, set, frozenset)):
        return sorted(value) if isinstance(value, (set, frozenset)) else list(value)
    return str(value)


def device_json(device: Device) -> dict[str, Any]:
    return json.loads(json.dumps(asdict(device), default=_json_default))


def user_json(user: User) -> dict[str, Any]:
    return {"eui": user.eui, "roles": sorted(user.roles), "name": user.name, "receive_url": user.receive_url,
            "last_counter": user.last_counter}


def handle(emulator: DCCEmulator, method: str, path: str, body: bytes) -> tuple[int, dict | list]:
    """Route one control request; returns (HTTP status, JSON document). Errors name the bad field."""
    from urllib.parse import parse_qs

    try:
        payload = json.loads(body or b"{}")
    except ValueError as exc:
        return 400, {"error": f"body is not JSON: {exc}"}
    path, _, query = path.partition("?")
    parts = [p for p in path.split("/") if p][1:]  # drop "control"
    if method == "GET" and query:
        payload = {key: values[-1] for key, values in parse_qs(query).items()}
    try:
        return _route(emulator, method, parts, payload)
    except (DuisConfError, TypeError, ValueError) as exc:
        return 400, {"error": str(exc)}


def _route(emulator: DCCEmulator, method: str, parts: list[str], payload: dict) -> tuple[int, dict | list]:
    inventory = emulator.inventory
    match method, parts:
        case "GET", ["state"]:
            with inventory.lock:
                return 200, {"now": emulator.clock.now().isoformat(),
                             "users": [user_json(u) for u in inventory.users.values()],
                             "devices": [device_json(d) for d in inventory.devices.values()]}
        case "GET", ["devices", eui]:
            device = inventory.device(eui)
            return (200, device_json(device)) if device else (404, {"error": f"no device {eui}"})
        case "PUT", ["devices", eui]:
            return 200, device_json(_put_device(emulator, eui, payload))
        case "POST", ["devices", eui, "power-up"]:
            return 200, {"alerts": emulator.power_up(eui, payload.get("install_code"))}
        case "PUT", ["users", eui]:
            return 200, user_json(_put_user(emulator, eui, payload))
        case "POST", ["clock"]:
            if "advance_seconds" in payload:
                ran = emulator.clock.advance(float(payload["advance_seconds"]))
            elif "set" in payload:
                ran = emulator.clock.set(datetime.fromisoformat(str(payload["set"]).replace("Z", "+00:00")))
            else:
                raise InvalidInput("clock: give 'advance_seconds' or 'set'")
            return 200, {"now": emulator.clock.now().isoformat(), "jobs_run": len(ran)}
        case "GET", ["pending"]:
            return 200, pending(emulator, payload.get("request_id"), payload.get("until"))
        case "POST", ["settle"]:
            return 200, settle(emulator, _seconds(payload, "advance_seconds"),
                               _seconds(payload, "timeout", SETTLE_TIMEOUT))
        case "GET", ["faults"]:
            return 200, emulator.faults.rules()
        case "POST", ["faults"]:
            return 200, {"fault": emulator.faults.rules()[-1] if emulator.faults.add(Fault(**payload)) else None}
        case "DELETE", ["faults"]:
            emulator.faults.clear()
            return 200, {"faults": []}
        case "POST", ["reset"]:
            return 200, emulator.reset()
        case "GET", ["outbox"]:
            return 200, [_outbound_json(m) for m in emulator.outbox.history()]
    return 404, {"error": f"no control endpoint {method} /control/{'/'.join(parts)}"}


SETTLE_TIMEOUT = 10.0  # real seconds a settle may wait for the outbox (a delivery takes milliseconds)


def _seconds(payload: dict, name: str, default: float | None = None) -> float:
    value = payload.get(name, default)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
        raise InvalidInput(f"{name}: a number of seconds >= 0 is required, got {value!r}")
    return float(value)


def _outbound_json(message) -> dict:
    return {"id": message.id, "recipient": message.recipient, "kind": message.kind, "request_id": message.request_id,
            "status": message.status, "attempts": message.attempts, "last_error": message.last_error}


def pending(emulator: DCCEmulator, request_id: str | None = None, until: str | None = None) -> dict:
    """What the emulator still has to send, for one RequestID or all: outbox messages not yet delivered
    (waiting for their delay, a retry, or in flight) and clock jobs (future-dated commands, DCC schedules)
    due up to `until` (virtual time, ISO 8601; default: whenever). Jobs name their request in their label."""
    limit = datetime.fromisoformat(until.replace("Z", "+00:00")) if until else None
    if limit is not None and limit.tzinfo is None:
        raise InvalidInput(f"until: {until!r} needs a time zone (e.g. Z)")
    wanted = request_id.upper() if request_id else None
    jobs = [job for job in emulator.clock.pending()
            if (limit is None or job.at <= limit) and (wanted is None or wanted in (job.label or "").upper())]
    return {"now": emulator.clock.now().isoformat(),
            "outbox": [_outbound_json(m) for m in emulator.outbox.pending(request_id)],
            "jobs": [{"at": job.at.isoformat(), "label": job.label, "key": job.key} for job in jobs]}


def settle(emulator: DCCEmulator, seconds: float, timeout: float = SETTLE_TIMEOUT) -> dict:
    """Let `seconds` of target time pass without waiting for them: the virtual clock advances, running
    the jobs that fall due (their messages join the outbox), then we wait only until the outbox has
    delivered every message due within `seconds` (milliseconds on the emulator). Messages held back
    longer (a latency fault) stay pending and are reported."""
    ran = emulator.clock.advance(seconds)
    settled = emulator.outbox.settle(seconds, timeout)
    return {"now": emulator.clock.now().isoformat(), "jobs_run": len(ran), "settled": settled,
            "pending": [_outbound_json(m) for m in emulator.outbox.pending()]}


def _put_device(emulator: DCCEmulator, eui: str, payload: dict) -> Device:
    unknown = set(payload) - DEVICE_FIELDS
    if unknown:
        raise InvalidInput(f"unknown device field(s) {', '.join(sorted(unknown))} (known: {', '.join(sorted(DEVICE_FIELDS))})")
    inventory = emulator.inventory
    with inventory.lock:
        device = inventory.device(eui)
        if device is None:
            if "type" not in payload:
                raise InvalidInput(f"new device {eui}: 'type' is required (ESME, GSME, CHF, GPF, PPMID, IHD, HCALCS, CAD)")
            return inventory.add_device(Device(eui=eui, **payload))
        for name, value in payload.items():
            if name in ("supplier", "incoming_supplier", "network_operator", "chf", "gpf") and value:
                value = normalise_eui(value)
            setattr(device, name, value)
        if payload.get("chf"):
            chf = inventory.device(payload["chf"])
            if chf is not None:
                chf.device_log[device.eui] = device.type
        return device


def _put_user(emulator: DCCEmulator, eui: str, payload: dict) -> User:
    unknown = set(payload) - {"roles", "receive_url", "name"}
    if unknown:
        raise InvalidInput(f"unknown user field(s) {', '.join(sorted(unknown))} (known: name, receive_url, roles)")
    inventory = emulator.inventory
    with inventory.lock:
        user = inventory.user(eui) or inventory.add_user(User(eui, frozenset()))
        if "roles" in payload:
            user.roles = frozenset(payload["roles"])
        if "receive_url" in payload:
            user.receive_url = payload["receive_url"]
        if "name" in payload:
            user.name = payload["name"]
        return user


class EmulatorControl:
    """The one client the suite's steps use to drive the emulator's control plane."""

    def __init__(self, base_url: str, timeout: float = 10.0):
        self.base = base_url.rstrip("/") + "/control"
        self.timeout = timeout
        self.session = requests.Session()
        self.session.trust_env = False  # loopback control traffic never goes through a proxy

    def _call(self, method: str, path: str, body: dict | None = None) -> Any:
        reply = self.session.request(method, f"{self.base}/{path}", json=body, timeout=self.timeout)
        if reply.status_code >= 400:
            try:  # the control plane answers JSON; the shared HTTP limits (e.g. 413) answer plain text
                reason = reply.json().get("error") if reply.content else ""
            except ValueError:
                reason = reply.text.strip()
            raise InvalidInput(f"emulator control {method} /control/{path}: {reply.status_code} {reason}")
        return reply.json()

    def state(self) -> dict:
        return self._call("GET", "state")

    def device(self, eui: str) -> dict:
        return self._call("GET", f"devices/{eui}")

    def put_device(self, eui: str, **fields: object) -> dict:
        return self._call("PUT", f"devices/{eui}", fields)

    def put_user(self, eui: str, **fields: object) -> dict:
        return self._call("PUT", f"users/{eui}", fields)

    def power_up(self, eui: str, install_code: str | None = None) -> list:
        return self._call("POST", f"devices/{eui}/power-up", {"install_code": install_code} if install_code else {})["alerts"]

    def advance(self, seconds: float) -> dict:
        return self._call("POST", "clock", {"advance_seconds": seconds})

    def set_clock(self, moment: str) -> dict:
        return self._call("POST", "clock", {"set": moment})

    def add_fault(self, kind: str, **rule: object) -> dict:
        return self._call("POST", "faults", {"kind": kind, **rule})

    def clear_faults(self) -> None:
        self._call("DELETE", "faults")

    def reset(self) -> dict:
        return self._call("POST", "reset")

    def outbox(self) -> list[dict]:
        return self._call("GET", "outbox")

    def pending(self, request_id: str | None = None, until: str | None = None) -> dict:
        from urllib.parse import urlencode

        query = urlencode({k: v for k, v in (("request_id", request_id), ("until", until)) if v})
        return self._call("GET", "pending" + (f"?{query}" if query else ""))

    def settle(self, seconds: float, timeout: float = SETTLE_TIMEOUT) -> dict:
        """Let `seconds` of target time pass on the emulator (see `settle` above); the HTTP call may take
        as long as the outbox needs, so its own timeout covers the settle's."""
        reply = self.session.post(f"{self.base}/settle", json={"advance_seconds": seconds, "timeout": timeout},
                                  timeout=self.timeout + timeout)
        if reply.status_code >= 400:
            raise InvalidInput(f"emulator control POST /control/settle: {reply.status_code} {reply.text.strip()}")
        return reply.json()
