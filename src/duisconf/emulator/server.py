"""The embedded DCC emulator's HTTP server: DCC Boxed's three endpoints on one port (default 8079).

Why a threaded stdlib server: DUIS clients (xdist workers) post concurrently, and each request costs a
few milliseconds of CPU (parse, validate, verify, sign) under the GIL either way; threads keep the code
synchronous and readable, start and stop in milliseconds, and need no extra dependency. Asynchronous
messages leave through the Outbox's own worker threads, so a slow Receive Response Service never holds
up a synchronous reply.
"""

from __future__ import annotations

import json
import logging
import threading
from datetime import datetime, timezone
from collections import OrderedDict
from dataclasses import dataclass

from ..duis.model import DCC_EUI, SR_NS, RequestID
from ..duis.schema import Schema, load_schema
from ..errors import ConfigError, DuisConfError
from ..gbcs.frame import CRA
from ..gbcs import builder
from ..httpserver import BackgroundServer, BodyRefused, LimitedHandler, read_body
from ..keystore import Keystore, zaz1
from ..rules import Catalogue, load_catalogue
from ..signing import request_trust
from . import behaviours, control
from .access import AccessControl, DUISRequest, Rejection
from .clock import VirtualClock
from .delivery import Outbox
from .device_messages import DeviceMessages
from .faults import Effects, FaultSwitchboard
from .identities import DEFAULT_SEED, for_seed
from .responses import ResponseBuilder
from .schedules import DCCSchedules
from .smki import DEFAULT_PORT as SMKI_PORT, SmkiRepository, SmkiServer
from .state import Inventory

log = logging.getLogger("duisconf.emulator")
PATHS = {"/api/v1/serviceS": "serviceS", "/api/v1/serviceT": "serviceT", "/api/v1/serviceD": "serviceD"}
MAX_BODY = 4 * 1024 * 1024  # a DUIS request is kilobytes; refuse anything absurd before reading it
# 8.13 naming no local command this user was given: an SRV-specific code of the E0813xx range, whose
# meaning is not in public sources (conf U) until DUIS is read.
UNKNOWN_LOCAL_COMMAND = "E081301"
# Response codes the DCC gives when the command never reached a device (no device, no WAN, no answer):
# such a response carries no GBCS payload.
DCC_ANSWERS = frozenset({"E19", "E20", "E21"})


@dataclass
class Reply:
    status: int
    body: bytes
    content_type: str = "application/xml"


class DCCEmulator:
    """An in-process DCC: `with DCCEmulator(port=0) as dcc: ...` or `start()` / `stop()`."""

    def __init__(self, *, host: str = "127.0.0.1", port: int = 8079, inventory: Inventory | None = None,
                 keystore: Keystore | None = None, schema: Schema | None = None, catalogue: Catalogue | None = None,
                 receive_url: str | None = None, latency: float = 0.0, clock: VirtualClock | None = None,
                 control: bool = False, identity_seed: str = DEFAULT_SEED, smki_port: int | None = None):
        self.host, self.port = host, port
        # The SMKI interface beside the DUIS port: a kit's 8083, or any free port when DUIS takes any.
        self.smki_port = smki_port if smki_port is not None else (0 if port == 0 else SMKI_PORT)
        self.identities = for_seed(identity_seed)  # the devices' KA/DS keys and certificates
        self._smki: SmkiServer | None = None
        self.keystore = keystore or zaz1()
        self.schema = schema or load_schema()
        self.catalogue = catalogue or load_catalogue()
        self.inventory = inventory or Inventory.reference()
        self.device_messages = DeviceMessages(self.identities, self.inventory)  # what the devices say in GBCS
        self.inventory.keys = self.device_messages.keys
        self.default_receive_url = receive_url
        self.control_enabled = control
        self.latency = latency
        self.clock = clock or VirtualClock()
        self.builder = ResponseBuilder(self.keystore, clock=self.clock.now)
        self.access = AccessControl(self.inventory, self.catalogue, self.schema, request_trust(self.keystore), self.keystore)
        self.outbox = Outbox(self._receive_url, clock=self.clock.now)
        self.faults = FaultSwitchboard()
        self.inventory.misbehaving = self.faults.misbehaving
        self.schedules = DCCSchedules(self)
        self.local_commands: dict[str, DUISRequest] = {}  # CV 2/6 RequestID -> request, until its 8.13
        # The effects' own account of what they did, per RequestID (newest 4096): for the emulator's model tests
        # only. Devices report only what their GBCS messages carry; this is never sent anywhere.
        self.outcomes: OrderedDict[str, dict] = OrderedDict()
        self._alert_counter = 0
        self._counter_lock = threading.Lock()
        # Called with (service, raw body, admitted DUISRequest or None, Rejection or None, Reply) for every
        # DUIS POST: the user-system judge records what the system under test sent (duisconf.user_system).
        self.request_observers: list = []
        self._server: BackgroundServer | None = None

    # -- lifecycle ------------------------------------------------------------------------------
    def start(self) -> DCCEmulator:
        self._server = BackgroundServer(type("Handler", (_Handler,), {"emulator": self}), self.host, self.port, "dcc-emulator")
        self.port = self._server.start()
        try:
            self._smki = SmkiServer(SmkiRepository(self.identities, self.inventory, self.keystore), self.host,
                                    self.smki_port).start()
        except (OSError, OverflowError) as exc:
            self._server.stop()
            raise ConfigError(f"cannot listen for SMKI on {self.host}:{self.smki_port}: "
                              f"{getattr(exc, 'strerror', None) or exc} (set [emulator] smki_port)") from None
        self.outbox.start()
        # The GBCS content shapes take ~0.5 s to load once per process: load them now, not on the first request.
        threading.Thread(target=builder.shapes, name="gbcs-shapes", daemon=True).start()
        if self.clock.real_time:
            self.clock.start_ticker()  # scheduled work (future-dated, DCC schedules) runs as real time passes
        log.info("DCC emulator listening on %s", self.url)
        return self

    def stop(self) -> None:
        # Both servers wait for their next poll to shut down: in parallel, stopping costs one poll, not two.
        smki = threading.Thread(target=self._smki.stop) if self._smki is not None else None
        if smki is not None:
            smki.start()
        if self._server is not None:
            self._server.stop()
        if smki is not None:
            smki.join()
        self.clock.stop_ticker()
        self.outbox.stop()

    def __enter__(self) -> DCCEmulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def reset(self, settle: float = 2.0) -> dict:
        """Back to the reference inventory, no faults, nothing scheduled, the clock back to real time:
        the start of every scenario on the embedded target. Messages already queued are let out first (up
        to `settle` seconds) so they reach the scenario that caused them, not the next one."""
        settled = self.outbox.wait_idle(settle)
        self.faults.clear()
        cancelled = len(self.clock.pending())
        self.clock.restart()
        with self._counter_lock:
            self.local_commands.clear()
            self.outcomes.clear()
        with self.access._transforms_lock:
            self.access.transforms.clear()
        self.schedules.clear()
        self.inventory.restore(Inventory.reference())
        return {"settled": settled, "jobs_cancelled": cancelled}

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def smki_url(self) -> str | None:
        """The SMKI interface's base URL (as a kit's ``http://<kit>:8083/``), once started."""
        return self._smki.url if self._smki is not None else None

    def _receive_url(self, eui: str) -> str | None:
        user = self.inventory.user(eui)
        return (user.receive_url if user and user.receive_url else None) or self.default_receive_url

    def power_up(self, eui: str, install_code: str | None = None) -> list[dict]:
        """A physical action: the device is powered up near its hub (joins if whitelisted with a valid code)."""
        from .effects import installation

        if not hasattr(installation, "power_up"):
            return []
        with self.inventory.lock:
            alerts = installation.power_up(self.inventory, eui, self.clock.now(), install_code)
            device = self.inventory.device(eui)
            recipient = device.supplier if device else None
        sent = []
        for device_eui, code in alerts:
            if recipient:
                counter = self._next_alert_counter()
                body = self.builder.device_alert(device_eui, recipient, counter, code,
                                                 self._alert_payload(device_eui, code, recipient, counter,
                                                                     self.clock.now(), {}))
                self.outbox.send((recipient, body, "device-alert", None), delay=self.latency)
            sent.append({"device": device_eui, "code": code})
        return sent

    def _next_alert_counter(self) -> int:
        with self._counter_lock:
            self._alert_counter += 1
            return self._alert_counter

    # -- requests -------------------------------------------------------------------------------
    def handle(self, service: str, raw: bytes) -> Reply:
        """Answer one POST to serviceS / serviceT / serviceD (usable without HTTP, e.g. in tests)."""
        try:
            request = self.access.admit(service, raw)
        except Rejection as rejected:
            log.info("rejected %s: %s", rejected.request_id or "unparseable request", rejected)
            return self._observed(service, raw, None, rejected, self._rejection(rejected))
        try:
            reply = self._dispatch(request)
        except Exception:  # an emulator bug must not kill the server or hang the client
            log.exception("emulator failure on %s", request.request_id)
            reply = Reply(500, b"emulator internal error; see its log\n", "text/plain")
        return self._observed(service, raw, request, None, reply)

    def _observed(self, service: str, raw: bytes, request: DUISRequest | None, rejected: Rejection | None,
                  reply: Reply) -> Reply:
        for observer in list(self.request_observers):
            observer(service, raw, request, rejected, reply)
        return reply

    def _rejection(self, rejected: Rejection) -> Reply:
        # A DUIS reply must name an SRV; when the request named none we could read, 8.2 stands in.
        body = self.builder.acknowledgement(rejected.request_id, rejected.check.code, rejected.srv or "8.2")
        return Reply(rejected.check.http, body)

    def _dispatch(self, request: DUISRequest) -> Reply:
        cv = request.cv
        if cv == 4:
            gbcs_bytes = self.device_messages.precommand(request) or behaviours.precommand(request)
            self.access.record_transform(request, gbcs_bytes)
            return Reply(200, self.builder.precommand(request.request_id, request.srv, gbcs_bytes))
        if cv in (2, 6):  # for local delivery: the command itself; CV 6 carries the user's signed pre-command
            command = request.signed_precommand if cv == 6 else \
                self.device_messages.precommand(request) or behaviours.precommand(request)
            with self._counter_lock:
                self.local_commands[str(request.request_id)] = request  # awaiting its 8.13 return
            return Reply(200, self.builder.local_command(request.request_id, request.srv, command))
        if cv == 8:
            return self._non_device(request)
        # CV 1 / 5: acknowledge now, answer later (as the device would, after the WAN round trip)
        self._execute_later(request)
        return Reply(200, self.builder.acknowledgement(request.request_id, "I99", request.srv))

    def _return_local_command_response(self, request: DUISRequest) -> Reply:
        """8.13: the device's response to a command delivered locally (CV 2/6) comes back through the
        User. The DCC matches it to the local command it issued, the command's effect is applied (the
        device did execute it) and the response goes to the user as for a WAN delivery."""
        original_id = (request.body.findtext(f"{{{SR_NS}}}OriginalRequestID") or "").upper()
        with self._counter_lock:
            original = self.local_commands.pop(original_id, None)
        if original is None or original.user.eui != request.user.eui:
            return Reply(200, self.builder.non_device(request.request_id, request.srv, None, UNKNOWN_LOCAL_COMMAND))
        self._respond(original, behaviours.run_device_effect(original, self.inventory, self.clock.now()))
        return Reply(200, self.builder.non_device(request.request_id, request.srv, None, "I0"))

    def _non_device(self, request: DUISRequest) -> Reply:
        if request.srv == "8.13":
            return self._return_local_command_response(request)
        if request.srv in ("5.1", "5.2", "5.3"):  # DCC schedules are the DCC's own business
            code, payload = self.schedules.handle(request)
            return Reply(200, self.builder.non_device(request.request_id, request.srv, payload, code))
        code, payload, outcome = behaviours.run_non_device(request, self.inventory, self.clock.now())
        self._remember(request, outcome)
        self._send_alerts(request, outcome)
        return Reply(200, self.builder.non_device(request.request_id, request.srv, payload, code))

    def _execute_later(self, request: DUISRequest) -> None:
        """Run a CV 1/5 device request now, or hold it for its ExecutionDateTime (duis.md §1.5).

        Device pattern: the device stores the command and answers at once; at the execution time it
        raises a FutureDatedDeviceAlertMessage, 8F66 (actioned) or 8F67 (not actioned).
        DSP pattern: the DCC holds the request and releases it to the device at the execution time.
        Re-sending with ExecutionDateTime 3000-12-31 cancels what is pending for that SRV and device.
        """
        faults = self.faults.decide(request.srv, request.device.eui if request.device else None)
        if faults.failure_code:  # the WAN or the device fails: nothing reaches the device
            return self._respond(request, behaviours.Outcome(response_code=faults.failure_code), faults)
        when = request.execution_datetime
        pattern = request.rule.future_dated
        if not when or pattern == "No":
            return self._run_now(request, faults)
        key = f"{request.device.eui}:{request.srv}"
        if when.startswith(behaviours.CANCELLATION):
            cancelled = self.clock.cancel(key)
            return self._respond(request, behaviours.Outcome(state={"cancelled": cancelled}, timing="cancellation"), faults)
        at = _parse_datetime(when)
        if pattern in ("Device", "DSP & Device"):
            self._respond(request, behaviours.Outcome(state={"stored_until": when}, timing="future_dated"), faults)
            self.clock.schedule(at, lambda: self._run_future_dated(request), key=key, label=f"{request.request_id}")
        else:  # DSP: held by the DCC, then released to the device
            self.clock.schedule(at, lambda: self._run_now(request, faults), key=key, label=f"{request.request_id}")

    def _run_now(self, request: DUISRequest, faults: Effects) -> None:
        self._respond(request, behaviours.run_device_effect(request, self.inventory, self.clock.now()), faults)

    def _run_future_dated(self, request: DUISRequest) -> None:
        outcome = behaviours.run_device_effect(request, self.inventory, self.clock.now())
        self._remember(request, outcome)
        code = "8F66" if outcome.response_code == "I0" and outcome.result == "success" else "8F67"
        try:
            payload = self.device_messages.future_dated_alert(request, code, self.clock.now())
        except DuisConfError:  # an emulator defect: logged, and the alert still goes out (former content)
            log.exception("cannot build the GBCS future-dated alert %s of %s", code, request.request_id)
            payload = behaviours.gbcs_frame(CRA.ALERT, request.request_id.counter, request.request_id.target,
                                            request.request_id.originator, 0x00CC, behaviours.content(outcome.state),
                                            self.clock.now())
        body = self.builder.future_dated_alert(request.request_id, request.srv, code, payload)
        self.outbox.send((request.user.eui, body, "future-dated-alert", str(request.request_id)), delay=self.latency)
        self._send_alerts(request, outcome)

    def _remember(self, request: DUISRequest, outcome: behaviours.Outcome) -> None:
        with self._counter_lock:
            self.outcomes[str(request.request_id)] = {
                "state": outcome.state, "alerts": [(a.code, {"alert": a.code, **a.state}) for a in outcome.device_alerts]}
            while len(self.outcomes) > 4096:
                self.outcomes.popitem(last=False)

    def _respond(self, request: DUISRequest, outcome: behaviours.Outcome, faults: Effects | None = None) -> None:
        faults = faults or Effects()
        self._remember(request, outcome)
        delay = self.latency + faults.delay
        if not faults.drop_response:
            body = self.builder.device_response(request.request_id, request.srv,
                                                self._response_payload(request, outcome), outcome.response_code)
            self.outbox.send((request.user.eui, body, "response", str(request.request_id)),
                             delay=delay + faults.response_delay, copies=faults.response_copies)
        self._send_alerts(request, outcome, delay)

    def _alert_payload(self, device: str, code: str, recipient: str, counter: int, now: datetime,
                       state: dict) -> bytes:
        try:
            return self.device_messages.alert(device, code, recipient, counter, now, state)
        except DuisConfError:  # an emulator defect: logged, and the alert still goes out (former content)
            log.exception("cannot build the GBCS alert %s of %s", code, device)
            return behaviours.gbcs_frame(CRA.ALERT, counter, device, recipient, 0x1000,
                                         behaviours.content({"alert": code, **state}), now)

    def _response_payload(self, request: DUISRequest, outcome: behaviours.Outcome) -> bytes | None:
        """The device's GBCS response; none when the DCC answers for it (E20 / E21 …: it never got there)."""
        if outcome.response_code in DCC_ANSWERS:
            return None
        result = outcome.result if outcome.response_code == "I0" else "error"  # the device refused the command
        return self.device_messages.response(request, outcome.state, self.clock.now(), result=result,
                                             timing=outcome.timing)

    def _send_alerts(self, request: DUISRequest, outcome: behaviours.Outcome, delay: float | None = None) -> None:
        now, delay = self.clock.now(), self.latency if delay is None else delay
        for alert in outcome.device_alerts:
            recipient, counter = alert.recipient or request.user.eui, self._next_alert_counter()
            body = self.builder.device_alert(alert.device, recipient, counter, alert.code,
                                             self._alert_payload(alert.device, alert.code, recipient, counter, now,
                                                                 alert.state))
            self.outbox.send((recipient, body, "device-alert", str(request.request_id)), delay=delay)
        for alert in outcome.dcc_alerts:
            recipient = alert.recipient or request.user.eui
            body = self.builder.dcc_alert(recipient, self._next_alert_counter(), alert.code, alert.payload)
            self.outbox.send((recipient, body, "dcc-alert", str(request.request_id)), delay=delay)


def _parse_datetime(text: str) -> datetime:
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


class _Handler(LimitedHandler):
    """DUIS and control requests over HTTP; bodies are read (and refused) by httpserver's shared rules."""

    emulator: DCCEmulator
    max_body = MAX_BODY

    def _control(self) -> bool:
        if not self.path.startswith("/control/"):
            return False
        if not self.emulator.control_enabled:
            self._send(Reply(404, b"control plane disabled (start the emulator with control enabled)\n", "text/plain"))
            return True
        try:
            body = read_body(self, control.MAX_BODY)
        except BodyRefused as refused:
            self.refuse(refused)
            return True
        status, document = control.handle(self.emulator, self.command, self.path, body)
        self._send(Reply(status, json.dumps(document).encode(), "application/json"))
        return True

    def do_GET(self) -> None:  # noqa: N802
        if not self._control():
            self._send(Reply(404, b"DUIS services take POST\n", "text/plain"))

    do_PUT = do_DELETE = do_GET  # noqa: N815

    def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
        if self._control():
            return
        service = PATHS.get(self.path.split("?")[0])
        if service is None:
            return self._send(Reply(404, f"no DUIS service at {self.path} (use {', '.join(PATHS)})\n".encode(), "text/plain"))
        try:
            body = self.body()
        except BodyRefused as refused:
            return self.refuse(refused)
        self._send(self.emulator.handle(service, body))

    def _send(self, reply: Reply) -> None:
        self.send_reply(reply.status, reply.body, reply.content_type)

    def log_message(self, format: str, *args: object) -> None:  # route http.server's chatter to logging
        log.debug("%s %s", self.address_string(), format % args)


__all__ = ["DCCEmulator", "Reply", "DCC_EUI", "RequestID"]
