"""Driving the embedded DCC in tests: send any SRV as a User would (the critical CV 4 → CV 5 path
included), then read what came back synchronously and what the DCC POSTed to the Receive Response
Service. Time is virtual: `advance()` runs future-dated commands without waiting.

    with Session() as dcc:
        exchange = dcc.send("8.1.1", target=ESME)          # transform, sign the pre-command, CV 5
        assert exchange.code == "I99"
        messages = dcc.messages(exchange)                   # response + alerts caused by that request
        assert messages.response_code == "I0" and "8F69" in messages.device_alerts
"""

from __future__ import annotations

import base64
import itertools
import threading
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from lxml import etree

from duisconf import gbcs
from duisconf.duis.model import SR_NS
from duisconf.duis.parse import parse_xml
from duisconf.duis.schema import load_schema
from duisconf.emulator.clock import VirtualClock
from duisconf.emulator.server import DCCEmulator
from duisconf.keystore import zaz1
from duisconf.errors import DuisConfError
from duisconf.payloads import payload_readings
from duisconf.render import render_request
from duisconf.signing import response_trust, sign, verify

SR = f"{{{SR_NS}}}"
SUPPLIER = "90-B3-D5-1F-30-01-00-00"
SUPPLIER2 = "90-B3-D5-1F-30-03-00-00"
OPERATOR = "90-B3-D5-1F-30-02-00-00"
OTHER_USER = "00-DB-12-34-56-78-00-04"
ESME, GSME, CHF, GPF, PPMID, HCALCS, IHD = (f"00-DB-12-34-56-78-90-A{n}" for n in (0, 1, 2, 3, 4, 5, 7))
START = datetime(2026, 11, 22, 10, 0, tzinfo=timezone.utc)
_counters = itertools.count(2_000_000_000_000)


def next_counter() -> int:
    """The harness's next RequestID counter. Tests call this rather than import `_counters`: a test that
    moves the counters past a UTRN boundary replaces the iterator, and an imported name would go stale."""
    return next(_counters)


def decode_state(root: etree._Element) -> dict:
    """The readings of a message's GBCSPayload (duisconf.payloads.payload_readings), {} when it has none."""
    text = root.findtext(f".//{SR}GBCSPayload")
    try:
        return dict(payload_readings(text)) if text else {}
    except DuisConfError:
        return {}


@dataclass
class Exchange:
    request_id: str
    sync: etree._Element                 # the final synchronous reply (CV 5's I99 for critical SRVs)
    transform: etree._Element | None = None

    @property
    def code(self) -> str:
        return self.sync.findtext(f"{SR}Header/{SR}ResponseCode")


@dataclass
class Messages:
    """Everything the DCC POSTed because of one request, verified and schema-checked."""

    roots: list[etree._Element] = field(default_factory=list)
    kinds: list[str] = field(default_factory=list)
    outcome: dict = field(default_factory=dict)  # the emulator's own account (DCCEmulator.outcomes)

    def _of(self, kind: str) -> list[etree._Element]:
        return [r for r, k in zip(self.roots, self.kinds) if k == kind]

    @property
    def response(self) -> etree._Element | None:
        found = self._of("response")
        return found[0] if found else None

    @property
    def response_code(self) -> str | None:
        return None if self.response is None else self.response.findtext(f"{SR}Header/{SR}ResponseCode")

    @property
    def state(self) -> dict:
        """What the emulated device did, as its effect recorded it (the emulator's model, not the wire)."""
        return self.outcome.get("state", {})

    @property
    def reported(self) -> dict:
        """What the device's GBCS response reports (its readings)."""
        return {} if self.response is None else decode_state(self.response)

    @property
    def device_alerts(self) -> list[str]:
        return [r.findtext(f".//{SR}AlertCode") for r in self._of("device-alert")]

    @property
    def dcc_alerts(self) -> list[str]:
        return [r.findtext(f".//{SR}DCCAlertCode") for r in self._of("dcc-alert")]

    def dcc_alert(self, code: str) -> etree._Element:
        return next(r for r in self._of("dcc-alert") if r.findtext(f".//{SR}DCCAlertCode") == code)

    def device_alert_state(self, code: str) -> dict:
        """What the effect recorded with the alert (the emulator's model; the GBCS alert carries its code)."""
        return next(state for c, state in self.outcome.get("alerts", []) if c == code)

    @property
    def scheduled(self) -> list[etree._Element]:
        return self._of("scheduled")

    @property
    def future_dated(self) -> list[str]:
        return [r.findtext(f".//{SR}FutureDatedAlertCode") for r in self._of("future-dated-alert")]


class _Sink(BaseHTTPRequestHandler):
    arrivals: list[bytes]

    def do_POST(self) -> None:  # noqa: N802
        self.arrivals.append(self.rfile.read(int(self.headers["Content-Length"])))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


class Session:
    """An emulator on a free port with a real Receive Response Service and a virtual clock at START."""

    def __init__(self, start: datetime = START, **emulator_options: object):
        self.arrivals: list[bytes] = []  # bodies in the order the Receive Response Service got them
        self.sink = ThreadingHTTPServer(("127.0.0.1", 0), type("Sink", (_Sink,), {"arrivals": self.arrivals}))
        threading.Thread(target=self.sink.serve_forever, daemon=True).start()
        self.clock = VirtualClock(start)
        self.dcc = DCCEmulator(port=0, receive_url=f"http://127.0.0.1:{self.sink.server_address[1]}/duis",
                               clock=self.clock, **emulator_options)
        self.inventory = self.dcc.inventory

    def __enter__(self) -> Session:
        self.dcc.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.dcc.stop()
        self.sink.shutdown()
        self.sink.server_close()

    def send_critical_locally(self, srv: str, **kwargs: object) -> Exchange:
        """A critical SRV for local delivery: CV 4 transform, then the signed pre-command as CV 6."""
        return self.send(srv, follow_up_cv=6, **kwargs)

    def send(self, srv: str, *, originator: str = SUPPLIER, target: str | None = None, cv: int | None = None,
             execution_datetime: str | datetime | None = None, params: dict | None = None,
             precommand_signer: str | None = None, follow_up_cv: int = 5, counter: int | None = None) -> Exchange:
        """Render, sign and send an SRV through the emulator's handler, as the User's system would.

        `counter` overrides the harness's increasing counter (2.2 needs the UTRN counter)."""
        counter = counter if counter is not None else next(_counters)
        xml = render_request(srv, originator=originator, target=target, command_variant=cv, counter=counter,
                             execution_datetime=execution_datetime, params=params)
        request = sign(xml, zaz1())
        cv = int(parse_xml(request).getroot().findtext(f"{SR}Header/{SR}CommandVariant"))
        service = {1: "serviceS", 2: "serviceD", 3: "serviceS", 4: "serviceT", 8: "serviceD"}.get(cv, "serviceS")
        first = self._post(service, request)
        request_id = first.findtext(f"{SR}Header/{SR}RequestID") or ""
        if cv != 4 or first.findtext(f"{SR}Header/{SR}ResponseCode") != "I0":
            return Exchange(request_id, first)
        precommand = base64.b64decode(first.findtext(f".//{SR}PreCommand/{SR}GBCSPayload"))
        key = zaz1().gbcs_signing_identity(precommand_signer or originator).private_key
        follow_up = render_request(srv, originator=originator, target=target, command_variant=follow_up_cv, counter=counter,
                                   execution_datetime=execution_datetime, params=params)
        root = parse_xml(follow_up).getroot()
        body = root.find(f"{SR}Body")
        body.remove(body[0])
        signed_precommand = etree.SubElement(body, f"{SR}SignedPreCommand")
        etree.SubElement(signed_precommand, f"{SR}GBCSPayload").text = base64.b64encode(
            gbcs.sign_precommand(precommand, key)).decode()
        service = "serviceD" if follow_up_cv == 6 else "serviceS"
        return Exchange(request_id, self._post(service, sign(root, zaz1())), first)

    def _post(self, service: str, request: bytes) -> etree._Element:
        reply = self.dcc.handle(service, request)
        root = parse_xml(reply.body).getroot()
        load_schema().validate(root.getroottree(), source=f"{service} reply")
        return root

    def messages(self, exchange: Exchange | str, timeout: float = 5.0) -> Messages:
        """What the DCC sent (and delivered) because of this request, once the outbox is idle."""
        request_id = exchange.request_id if isinstance(exchange, Exchange) else exchange
        assert self.dcc.outbox.wait_idle(timeout), "the emulator's outbox did not drain"
        found = Messages(outcome=self.dcc.outcomes.get(request_id, {}))
        for record in self.dcc.outbox.history():
            if record.request_id == request_id:
                assert record.status == "delivered", f"{record.kind} for {request_id} was not delivered: {record.last_error}"
                verified = verify(record.body, response_trust(zaz1()))
                load_schema().validate(parse_xml(record.body), source=record.kind)
                found.roots.append(verified.root)
                found.kinds.append(record.kind)
        return found

    def arrival_kinds(self, exchange: Exchange) -> list[str]:
        """Kinds of the messages for this request in the order the receiver got them."""
        kinds = {m.body: m.kind for m in self.dcc.outbox.history() if m.request_id == exchange.request_id}
        return [kinds[body] for body in self.arrivals if body in kinds]

    def advance(self, delta: timedelta | float) -> None:
        self.clock.advance(delta)
