"""The Receive Response Service a test run hosts: a real HTTP server the target POSTs asynchronous
responses, device alerts and DCC alerts to.

Every inbound message is schema-validated and signature-verified, then kept in arrival order. Waiting
steps claim what they wait for: "the response to this RequestID", "N alerts with code X", "nothing more
within T". A message that fails validation or verification, arrives twice, or is never claimed is not
dropped: it is a finding for the scenario to report. Only a message validly signed by a trusted DCC
certificate is ever handed to a step: an unsigned E-code response, which DCC Boxed may send as the
synchronous HTTP reply (duis.md §3.4, tolerated by the client), is a finding when POSTed here.
Correlation is on the full RequestID, compared case-insensitively (duis.md §3.4). A wait that runs out
raises TargetTimeout (inconclusive) — unless the step says the message is *required* (the target
acknowledged the request it belongs to): then it is RequiredMessageMissing, a fail of the target, once
this run has proven its own receive path (a validly signed message from the target has reached us), and
ReceivePathUnproven, an error of the suite's set-up, before that (docs/harness.md, "Verdicts").

Memory stays bounded over a long run: a message leaves the service when it is claimed or drained (the
step or the scenario's evidence holds it from then on); duplicates are recognised by a digest over a
bounded window of recent messages, not by keeping bodies.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from lxml import etree

from .duis.model import SR_NS
from .duis.parse import local_name, parse_xml
from .duis.schema import Schema
from .errors import DuisConfError
from .httpserver import BackgroundServer, PostOnlyHandler
from .signing import TrustStore, verify

_SR = f"{{{SR_NS}}}"
MAX_BODY = 4 * 1024 * 1024
DUPLICATE_WINDOW = 100_000            # digests of the most recent distinct messages (~15 MB at most)
FINDING_BODY_BUDGET = 64 * 1024 * 1024  # bodies of undrained findings kept; beyond it, only the finding
CLAIMED_KEPT = 256                     # summaries of claimed messages kept per scenario; beyond, only counted


class TargetTimeout(DuisConfError):
    """The target did not send what a step waited for within its timeout (verdict: inconclusive)."""


class RequiredMessageMissing(AssertionError):
    """A message DUIS or the design note requires, for a request the target acknowledged, did not arrive
    within the target's timeout, and this run's receive path is proven (verdict: fail)."""


class ReceivePathUnproven(DuisConfError):
    """A required message did not arrive, but no validly signed message from the target has reached this
    run yet: the fault may be ours (address, routing, trust), so this is an error, never a verdict on the
    target."""


@dataclass
class Inbound:
    """One message the target POSTed to us."""

    seq: int
    received_at: float              # time.monotonic()
    body: bytes
    root: etree._Element | None     # the verified document without its signature (None if unusable)
    problem: str | None = None      # why it could not be used (schema, signature, not DUIS)
    claimed: bool = False

    def _header(self, name: str) -> str | None:
        if self.root is None:
            return None
        text = self.root.findtext(f"{_SR}Header/{_SR}{name}")
        return text.upper() if text and name in ("RequestID", "ResponseID") else text

    @property
    def request_id(self) -> str | None:
        return self._header("RequestID")

    @property
    def response_id(self) -> str | None:
        return self._header("ResponseID")

    @property
    def code(self) -> str | None:
        return self._header("ResponseCode")

    @property
    def kind(self) -> str:
        if self.root is None:
            return "unusable"
        body = self.root.find(f"{_SR}Body")
        first = local_name(body[0]) if body is not None and len(body) else ""
        if first == "DeviceAlertMessage":
            return "device-alert"
        if first == "DCCAlertMessage":
            return "dcc-alert"
        if self.root.find(f".//{_SR}FutureDatedDeviceAlertMessage") is not None:
            return "future-dated-alert"
        if self.root.find(f".//{_SR}DSPScheduledMessage") is not None:
            return "scheduled"
        return "response"

    @property
    def alert_code(self) -> str | None:
        if self.root is None:
            return None
        return (self.root.findtext(f".//{_SR}AlertCode") or self.root.findtext(f".//{_SR}DCCAlertCode")
                or self.root.findtext(f".//{_SR}FutureDatedAlertCode"))

    @property
    def source_device(self) -> str | None:
        """For device alerts: the device EUI (first part of the ResponseID)."""
        return self.response_id.split(":")[0] if self.response_id else None


@dataclass
class Finding:
    """Something the target sent that no step asked for, or that could not be trusted."""

    what: str
    inbound: Inbound


def summary(message: Inbound) -> dict:
    """What the accounting keeps of a message: no body."""
    return {"seq": message.seq, "kind": message.kind, "code": message.alert_code or message.code,
            "request_id": message.request_id, "device": message.source_device if "alert" in message.kind else None}


class ReceiveResponseService:
    def __init__(self, trust: TrustStore, schema: Schema, *, host: str = "127.0.0.1", port: int = 0,
                 path: str = "/duis", public_url: str | None = None):
        self.trust, self.schema = trust, schema
        self.host, self.port, self.path = host, port, path
        self.public_url = public_url
        self._pending: dict[int, Inbound] = {}              # usable and unclaimed, by seq (arrival order)
        self._seen: OrderedDict[bytes, int] = OrderedDict()  # body digest -> seq, the last DUPLICATE_WINDOW
        self._finding_bytes = 0
        self.received = 0                                    # messages POSTed to us so far
        self.findings: list[Finding] = []
        self.proven_by: str | None = None                    # how the receive path was proven, once it is
        self._claimed: list[dict] = []                       # summaries of what steps claimed since the last drain
        self.claimed_total = 0                               # how many were claimed since the last drain
        self._cond = threading.Condition()
        self._server: BackgroundServer | None = None

    # -- lifecycle -------------------------------------------------------------------------------
    def start(self) -> ReceiveResponseService:
        service = self

        class Handler(PostOnlyHandler):
            max_body = MAX_BODY

            def handle_post(self, path: str, body: bytes) -> int:
                if path != service.path:
                    return 404
                return 204 if service.accept(body) else 400  # as DCC's Node-RED receiver answers

        self._server = BackgroundServer(Handler, self.host, self.port, "receive-response-service")
        self.port = self._server.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop()

    def __enter__(self) -> ReceiveResponseService:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        """The address the target must POST to."""
        host = "127.0.0.1" if self.host in ("0.0.0.0", "") else self.host
        return self.public_url or f"http://{host}:{self.port}{self.path}"

    # -- inbound -----------------------------------------------------------------------------------
    def accept(self, body: bytes) -> bool:
        """Validate, verify and keep one inbound message; returns whether it was usable."""
        root, problem = None, None
        try:
            tree = parse_xml(body, source="inbound message")
            self.schema.validate(tree, source="inbound message")
            # Unsigned E-code acknowledgements are tolerated only as the synchronous reply (client.py).
            root = verify(tree, self.trust, source="inbound message", allow_unsigned_errors=False).root
        except DuisConfError as exc:
            problem = str(exc)
        digest = hashlib.sha256(body).digest()
        with self._cond:
            self.received += 1
            message = Inbound(self.received, time.monotonic(), body, root, problem)
            if problem:
                self._add_finding(f"unverifiable message: {problem}", message)
            elif digest in self._seen:
                message.claimed = True  # a duplicate is reported, never handed to a step as new
                self._add_finding(f"duplicate of message #{self._seen[digest]}", message)
            else:
                if self.proven_by is None:
                    self.proven_by = f"message #{message.seq} ({message.kind}) received, valid and verified"
                self._seen[digest] = message.seq
                if len(self._seen) > DUPLICATE_WINDOW:
                    self._seen.popitem(last=False)
                self._pending[message.seq] = message
            self._cond.notify_all()
        return problem is None

    def _add_finding(self, what: str, message: Inbound) -> None:
        if self._finding_bytes + len(message.body) > FINDING_BODY_BUDGET:
            what += f" (body of {len(message.body)} bytes not kept: undrained findings over {FINDING_BODY_BUDGET} bytes)"
            message.body, message.root = b"", None
        self._finding_bytes += len(message.body)
        self.findings.append(Finding(what, message))

    @property
    def proven(self) -> bool:
        """This run's receive path works: a schema-valid message signed by a trusted DCC key reached us
        (or `prove` was told so, e.g. by check-target)."""
        return self.proven_by is not None

    def prove(self, how: str) -> None:
        with self._cond:
            self.proven_by = self.proven_by or how

    def messages(self) -> list[Inbound]:
        """What the service holds now, in arrival order: unclaimed usable messages and findings not yet
        drained (claimed and drained messages are released)."""
        with self._cond:
            held = list(self._pending.values()) + [f.inbound for f in self.findings]
            return sorted(held, key=lambda m: m.seq)

    # -- waiting -----------------------------------------------------------------------------------
    def claim(self, matches: Callable[[Inbound], bool], timeout: float, awaited: str, *,
              required: bool = False) -> Inbound:
        """The first unclaimed usable message that matches, waiting up to `timeout` seconds. It is
        handed over: the service keeps no reference to it (only a summary, for the scenario's accounting).
        `required`: the target acknowledged the request this message belongs to, so running out is
        RequiredMessageMissing (or ReceivePathUnproven), not a TargetTimeout."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for message in self._pending.values():
                    if matches(message):
                        message.claimed = True
                        del self._pending[message.seq]
                        self.claimed_total += 1
                        if len(self._claimed) < CLAIMED_KEPT:
                            self._claimed.append(summary(message))
                        return message
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise self._missing(awaited, timeout, required)
                self._cond.wait(remaining)

    def _missing(self, awaited: str, timeout: float, required: bool) -> Exception:
        if not required:
            return TargetTimeout(f"no {awaited} within {timeout:g} s")
        if self.proven_by is None:
            return ReceivePathUnproven(
                f"required message not received within {timeout:g} s: {awaited}; no valid message from the target "
                f"has reached {self.url} in this run, so the receive path is unproven (error, not a verdict)")
        return RequiredMessageMissing(f"required message not received within {timeout:g} s: {awaited} "
                                      f"(the target acknowledged the request; receive path proven by {self.proven_by})")

    def response(self, request_id: str, timeout: float, *, kinds: tuple[str, ...] = ("response",),
                 required: bool = False) -> Inbound:
        wanted = request_id.upper()
        return self.claim(lambda m: m.request_id == wanted and m.kind in kinds, timeout,
                          f"{'/'.join(kinds)} for RequestID {request_id}", required=required)

    def alerts(self, code: str, count: int, timeout: float, *, device: str | None = None,
               required: bool = False) -> list[Inbound]:
        wanted_device = device.upper() if device else None

        def matches(m: Inbound) -> bool:
            return (m.kind in ("device-alert", "dcc-alert") and (m.alert_code or "").upper() == code.upper()
                    and (wanted_device is None or m.source_device == wanted_device))

        return [self.claim(matches, timeout, f"alert {code}" + (f" from {device}" if device else ""),
                           required=required)
                for _ in range(count)]

    def nothing_more(self, within: float, matches: Callable[[Inbound], bool] = lambda m: True, *,
                     settle: Callable[[float], None] | None = None) -> list[Inbound]:
        """Every unclaimed usable message that matches once `within` seconds of target time have passed.
        `settle(within)` lets that time pass on a target that can say so (the emulator: its virtual
        clock moves on and its outbox delivers what falls due); without it, we wait in real time."""
        if settle is None:
            time.sleep(within)
        else:
            settle(within)
        with self._cond:
            return [m for m in self._pending.values() if matches(m)]

    def drain(self) -> tuple[list[Inbound], list[Finding]]:
        """Hand over, and forget, what is left: unclaimed usable messages and the findings so far. Called
        at the end of each scenario so leftovers are reported on the scenario that caused them."""
        with self._cond:
            leftovers = list(self._pending.values())
            for message in leftovers:
                message.claimed = True
            self._pending.clear()
            findings, self.findings, self._finding_bytes = self.findings, [], 0
            self._claimed, self.claimed_total = [], 0
            return leftovers, findings

    def claimed(self) -> list[dict]:
        """Summaries of the messages steps claimed since the last drain (for the scenario's accounting; the
        first CLAIMED_KEPT of them, `claimed_total` counts them all)."""
        with self._cond:
            return list(self._claimed)

    def unclaimed(self) -> list[Inbound]:
        with self._cond:
            return list(self._pending.values())
