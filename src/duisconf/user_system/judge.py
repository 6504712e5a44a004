"""The emulated DCC as the judge of a party's DCC user system.

The embedded emulator listens as their DCC, trusting exactly their certificates: their XML signing
certificates verify their requests (DCC's signature profile, duisconf.signing), their GBCS digital-
signature certificates verify their signed pre-commands. It answers as the DCC does (the same access
control, responses and alerts POSTed to their Receive Response Service) and records every request their
system sends (`DCCEmulator.request_observers`). Each order a scenario places (duisconf.user_system.drivers)
is then judged over the requests it caused:

- every refusal by the emulator's access control is a breach named after its row in
  rules/access_control.toml (schema, signature, user, counter, url, command_variant, target, role,
  device_exists, device_type, smi_status, registration, precommand_signature);
- and the judge's own rules (JUDGE_RULES), which a DCC would not refuse but a conformant system keeps.

Originator counters must rise across restarts of their system *and* of this judge: the last counter
accepted from each of their originators is kept in the run's state (`CounterLedger`) and seeds the
emulator's replay check on start.
"""

from __future__ import annotations

import json
import os
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from cryptography import x509

from .. import paths
from ..duis.model import DCC_EUI, SR_NS, RequestID
from ..duis.parse import parse_xml
from ..duis.schema import Schema
from ..errors import ConfigError, DuisConfError, InvalidInput, KeyMaterialMissing, PreconditionNotMet
from ..gbcs.keys import KeyChain, KeySource, Zaz1Source, eui_hex
from ..keystore import Identity, Keystore, certificate_role, zaz1
from ..receiver import TargetTimeout
from ..render import CANCELLATION_DATETIME
from ..rules import load_catalogue
from ..targets import Target
from .drivers import Order

_SR = f"{{{SR_NS}}}"

# Rules the judge adds to the access-control rows (named in a breach, documented in docs/user-system.md).
JUDGE_RULES = {
    "request_id": "the RequestID's originator is not one of the party's organisations (or not the one asked)",
    "critical_flow": "a critical SRV's CV 4 transform was not followed by its CV 5/6 with the signed pre-command",
    "future_dated": "ExecutionDateTime missing, not the one asked for, or given when none was asked",
    "cancellation": "a cancellation not sent as the same SRV with ExecutionDateTime 3000-12-31T00:00:00Z",
    "ordered_request": "the request is not the one the scenario asked for (SRV, device, parameters), or none came",
    "utrn": "a 2.2 UTRN not made with the organisation's prepayment KA key for the device at the RequestID's counter "
            "(GBCS §14), not for the credit asked, or one it sent before",
}


SETTLE = 0.15  # seconds the judge keeps listening after an order is complete, for requests nobody asked for


def settle_seconds() -> float:
    """SETTLE, or DUISCONF_USER_SYSTEM_SETTLE: a system known to answer within milliseconds (the reference
    system in the tests) may be judged with less; a bad value is refused naming the variable."""
    text = os.environ.get("DUISCONF_USER_SYSTEM_SETTLE")
    if text is None:
        return SETTLE
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 <= value <= 60:
        raise ConfigError(f"DUISCONF_USER_SYSTEM_SETTLE={text!r}: give seconds between 0 and 60")
    return value


@dataclass(frozen=True)
class Breach:
    rule: str
    detail: str
    seq: int | None = None  # the recorded request it concerns (None: the order as a whole)

    def line(self) -> str:
        return f"rule {self.rule}: {self.detail}"


@dataclass
class Recorded:
    """One request their system POSTed to the emulated DCC, and what the DCC made of it."""

    seq: int
    at: float                       # time.monotonic()
    service: str
    raw: bytes = field(repr=False)
    request_id: RequestID | None
    cv: int | None
    srv: str | None
    body: object | None             # the sr:Body child as sent (lxml element), when it could be read
    admitted: bool
    rule: str | None = None         # the access-control row that refused it
    reason: str | None = None
    code: str | None = None         # the DUIS response code of the synchronous reply

    def body_text(self, name: str) -> str | None:
        if self.body is None:
            return None
        found = self.body.find(f".//{_SR}{name}")
        return None if found is None else (found.text or "").strip()

    def describe(self) -> str:
        return f"#{self.seq} SRV {self.srv} CV {self.cv} to {self.service} ({self.request_id}) -> {self.code}"


class CounterLedger:
    """The last originator counter the judge accepted from each of their originators, kept on disk so
    a restart (of their system or of the judge) cannot go back unnoticed."""

    def __init__(self, path: Path):
        self.path = path
        self._lock = threading.Lock()
        try:
            self.last: dict[str, int] = {k: int(v) for k, v in json.loads(path.read_text()).items()} if path.exists() else {}
        except (OSError, ValueError, AttributeError) as exc:
            raise ConfigError(f"{path}: the judge's counter record is unreadable ({exc}); it must not be "
                              "guessed: delete it only if their system's counters may start afresh") from None

    def get(self, eui: str) -> int:
        return self.last.get(eui, -1)

    def raise_to(self, eui: str, counter: int) -> None:
        with self._lock:
            if counter <= self.last.get(eui, -1):
                return
            self.last[eui] = counter
            self.path.parent.mkdir(parents=True, exist_ok=True)
            scratch = self.path.with_suffix(".tmp")
            scratch.write_text(json.dumps(self.last, indent=1, sort_keys=True))
            os.replace(scratch, self.path)


def judge_keystore(target: Target) -> Keystore:
    """The DCC's keys (to sign its replies) and exactly the party's certificates for the party's EUIs:
    any ZAZ1 identity of the same EUI is left out, so only their own keys are trusted for them."""
    organisations = target.user_system.organisations

    class JudgeKeystore(Keystore):
        def gbcs_signing_identity(self, eui: str) -> Identity:
            # The DCC verifies pre-commands with the certificate only: no private key of theirs is held.
            from ..duis.model import normalise_eui

            found = gbcs.get(normalise_eui(eui))
            if found is None:
                return super().gbcs_signing_identity(eui)
            return found

    store = JudgeKeystore()
    for identity in zaz1().identities():
        if identity.eui not in organisations:
            store.add(identity)
    gbcs: dict[str, Identity] = {}
    for eui, organisation in organisations.items():
        store.add_pem(organisation.xml_signing_certificate, eui=eui, name=f"{eui} XML signing")
        cert = _certificate(organisation.gbcs_signing_certificate)
        role = certificate_role(cert)
        if role in (135, 137):
            raise ConfigError(f"{target.source}: [organisations.\"{eui}\"] gbcs_signing_certificate is an XML signing "
                              "certificate (OU 87/89); give the GBCS digital-signature certificate")
        # Not user-supplied: a GBCS key never signs DUIS XML, so it stays out of the request trust.
        gbcs[eui] = Identity(eui, f"{eui} GBCS DS", role, "digitalSignature", cert)
        store.add(gbcs[eui])
    return store


class PartyCertificates(KeySource):
    """The party's GBCS certificates as a gbcs.keys KeySource: DS, KA and a supplier's prepayment KA
    (`-pp`) per organisation, as the target file gives them. No private key: their system keeps those."""

    name = "the party's GBCS certificates"

    def __init__(self, organisations: dict):
        self._found: dict[tuple[str, str, bool], x509.Certificate] = {}
        for eui, organisation in organisations.items():
            for usage, prepayment, path in (("ds", False, organisation.gbcs_signing_certificate),
                                            ("ka", False, organisation.gbcs_key_agreement_certificate),
                                            ("ka", True, organisation.gbcs_prepayment_key_agreement_certificate)):
                if path is not None:
                    self._found[(eui_hex(eui), usage, prepayment)] = _certificate(path)

    def certificates(self, eui, usage, *, prepayment=None):  # noqa: ANN001, ANN201
        variants = (False, True) if prepayment is None else (prepayment,)
        return [c for v in variants if (c := self._found.get((eui_hex(eui), usage, v))) is not None]


class _OthersInZaz1(Zaz1Source):
    """ZAZ1's GBCS keys for every EUI but the party's: a ZAZ1 key of theirs would let the meter take a UTRN
    their system did not make with its own key."""

    def __init__(self, party: set[str]):
        super().__init__()
        self.party, self.name = party, "ZAZ1 keystore (the party's EUIs left out)"

    def certificates(self, eui, usage, *, prepayment=None):  # noqa: ANN001, ANN201
        return [] if eui_hex(eui) in self.party else super().certificates(eui, usage, prepayment=prepayment)

    def private_keys(self, eui, usage, *, prepayment=None):  # noqa: ANN001, ANN201
        return [] if eui_hex(eui) in self.party else super().private_keys(eui, usage, prepayment=prepayment)


def device_key_source(target: Target, emulator) -> KeySource:
    """What the emulated devices use for GBCS (MACs, signatures, UTRN checks): the devices' own keys, the
    party's certificates for the party's EUIs, and ZAZ1's keys for every other organisation."""
    from ..emulator.device_messages import CachedKeys

    organisations = target.user_system.organisations
    devices = emulator.identities.key_source(lambda eui: emulator.inventory.device(eui) is not None)
    return CachedKeys(KeyChain(devices, PartyCertificates(organisations),
                               _OthersInZaz1({eui_hex(eui) for eui in organisations})))


def _certificate(path: Path) -> x509.Certificate:
    try:
        return x509.load_pem_x509_certificate(path.read_bytes())
    except (OSError, ValueError) as exc:
        raise ConfigError(f"{path}: not a PEM X.509 certificate: {exc}") from None


class Judge:
    """The emulated DCC their system talks to, recording and judging everything it sends."""

    def __init__(self, target: Target, schema: Schema | None = None):
        from ..emulator.server import DCCEmulator

        if target.user_system is None:
            raise ConfigError(f"{target.source}: not a user-system target (kind = {target.kind})")
        self.target, self.user_system = target, target.user_system
        self.catalogue = load_catalogue()
        state = self.user_system.state or paths.state_dir() / "user-system" / _safe(target.name)
        self.ledger = CounterLedger(Path(state) / "counters.json")
        self.keystore = judge_keystore(target)
        self.records: list[Recorded] = []
        self.acting_as: set[str] = set()  # the reference user the judge is sending as (not recorded)
        self.utrns: dict[str, int] = {}   # every UTRN their system sent -> the request (seq) that carried it
        self._cond = threading.Condition()
        self._state = Path(state)
        self.emulator = DCCEmulator(host=target.emulator_host, port=target.emulator_port,
                                    smki_port=self.user_system.smki_port, latency=target.emulator_latency,
                                    keystore=self.keystore, schema=schema, control=False)
        # The devices' GBCS keys: their own, exactly the party's certificates for the party's EUIs (the meter
        # MACs to their KA key and checks their UTRNs with their prepayment KA key), ZAZ1 for everyone else.
        keys = device_key_source(target, self.emulator)
        self.emulator.device_messages.keys = self.emulator.inventory.keys = keys
        self._provision()
        self.emulator.request_observers.append(self._record)

    # -- lifecycle ----------------------------------------------------------------------------------
    def start(self) -> Judge:
        self.emulator.start()
        return self

    def stop(self) -> None:
        self.emulator.stop()

    def __enter__(self) -> Judge:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        """The DCC base URL their system must be pointed at (serviceS/T/D under /api/v1/)."""
        return self.emulator.url

    def reset(self) -> None:
        """A scenario's start: the reference inventory with their organisations, nothing scheduled. The
        counters they used are remembered (a DCC never forgets them). Messages on their way out are let go
        for a moment; a message their service refused was judged when it was refused, and the DCC's retries of
        it (seconds of back-off) are not waited for: they carry their own RequestID, so no scenario mistakes them."""
        self.emulator.reset(settle=0.5)
        self._provision()

    def _provision(self) -> None:
        from ..emulator.state import User

        inventory = self.emulator.inventory
        with inventory.lock:
            for eui, organisation in self.user_system.organisations.items():
                inventory.add_user(User(eui, frozenset(organisation.roles), name=f"{self.target.name} {eui}",
                                        receive_url=self.user_system.receive_url, last_counter=self.ledger.get(eui)))
            role_holder = {role: eui for eui, o in self.user_system.organisations.items() for role in o.roles}
            for device in inventory.devices.values():  # their organisations are the registered parties
                if device.fuel == "gas":
                    supplier, operator = role_holder.get("GS"), role_holder.get("GT")
                else:
                    supplier, operator = role_holder.get("IS") or role_holder.get("ES"), role_holder.get("ED")
                device.supplier = supplier or device.supplier
                device.network_operator = operator or device.network_operator

    # -- recording ----------------------------------------------------------------------------------
    def _record(self, service: str, raw: bytes, request, rejected, reply) -> None:
        request_id = cv = srv = body = None
        if request is not None and request.request_id.originator in self.acting_as:
            return  # the judge playing another party of a design-note flow: not their system's request
        if request is not None:
            request_id, cv, srv, body = request.request_id, request.cv, request.srv, request.root.find(f"{_SR}Body")
        else:
            request_id, cv, srv, body = _read_header(raw)
            request_id = rejected.request_id or request_id
        if body is not None and len(body):
            body = body[0]
        code = None
        try:
            code = parse_xml(reply.body).getroot().findtext(f"{_SR}Header/{_SR}ResponseCode")
        except DuisConfError:
            pass
        if request_id is not None and request_id.originator in self.user_system.organisations:
            user = self.emulator.inventory.user(request_id.originator)
            if user is not None:  # whatever the emulator's counter check accepted is remembered
                self.ledger.raise_to(user.eui, user.last_counter)
        with self._cond:
            self.records.append(Recorded(len(self.records) + 1, time.monotonic(), service, raw, request_id, cv, srv,
                                         body, request is not None, rejected.check.name if rejected else None,
                                         rejected.reason if rejected else None, code))
            self._cond.notify_all()

    def mark(self) -> int:
        with self._cond:
            return len(self.records)

    def since(self, mark: int) -> list[Recorded]:
        with self._cond:
            return list(self.records[mark:])

    def wait(self, order: Order, mark: int, timeout: float, settle: float | None = None) -> list[Recorded]:
        """The requests `order` caused: waits until the order is complete (a request of its SRV refused,
        or admitted and, for a critical SRV's transform, its CV 5/6 follow-up in), then `settle` seconds
        (settle_seconds()) more for anything else it sends. Nothing at all within `timeout`: TargetTimeout (inconclusive)."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while not self._complete(order, self.records[mark:]):
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    if len(self.records) == mark:
                        raise TargetTimeout(f"the user's system sent no request within {timeout:g} s "
                                            f"when asked to {order.describe()}")
                    break  # something came, but not all: judged (critical_flow, ordered_request)
                self._cond.wait(remaining)
        time.sleep(settle_seconds() if settle is None else settle)
        return self.since(mark)

    def _complete(self, order: Order, records: list[Recorded]) -> bool:
        for record in records:
            if record.srv != order.srv:
                continue
            if not record.admitted or record.cv in (1, 2, 3, 5, 6, 7, 8):
                return True
            if record.cv == 4 and any(r.cv in (5, 6) and r.request_id == record.request_id for r in records):
                return True
        return False

    # -- judging ------------------------------------------------------------------------------------
    def breaches(self, order: Order, records: list[Recorded]) -> list[Breach]:
        """Every rule the requests `order` caused broke (empty: their system did as DUIS says)."""
        found = [Breach(r.rule, f"{r.describe()}: {r.reason}", r.seq) for r in records if r.rule]
        for record in records:
            if record.request_id is not None and record.request_id.originator not in self.user_system.organisations:
                found.append(Breach("request_id", f"{record.describe()}: originator {record.request_id.originator} "
                                                  "is not one of the party's organisations", record.seq))
        main = next((r for r in records if r.srv == order.srv and r.cv not in (5, 6, 7)), None)
        if main is None:
            sent = ", ".join(r.describe() for r in records) or "nothing"
            return found + [Breach("ordered_request", f"asked to {order.describe()}; it sent {sent}")]
        found += self._as_ordered(order, main)
        rule = self.catalogue.srv(order.srv)
        if rule.critical and main.admitted and main.cv == 4:
            follow_up = [r for r in records if r.cv in (5, 6) and r.request_id == main.request_id]
            if not follow_up:
                found.append(Breach("critical_flow", f"{main.describe()}: the transform's pre-command came back "
                                                     "with no CV 5/6 request carrying it signed", main.seq))
        for extra in records:
            if extra is not main and extra.request_id != main.request_id:
                found.append(Breach("ordered_request", f"{extra.describe()}: a request nobody asked for", extra.seq))
        if order.srv == "2.2" and main.request_id is not None:
            found += self._utrn(order, main)
        return found

    def _utrn(self, order: Order, main: Recorded) -> list[Breach]:
        """2.2 Top Up Device: the UTRN is their system's own (GBCS §14: the PTUT's authenticator with their
        prepayment KA key and the device's KA key, at the RequestID's counter, which DUIS makes the UTRN
        counter), for the credit asked, and never one sent before. Checked as the meter checks it, with the
        device's own key and the certificate from their target file."""
        from ..gbcs.utrn import check_utrn

        text, request_id = main.body_text("UTRN") or "", main.request_id
        found: list[str] = []
        seen = self.utrns.get(text)
        if seen is not None and seen != main.seq:
            found.append(f"UTRN {text} was sent before (request #{seen}): a UTRN is used once")
        self.utrns.setdefault(text, main.seq)
        if request_id.counter & 0xFFFFFFFF:
            found.append(f"RequestID counter {request_id.counter} is not a UTRN counter (its low 32 bits must be zero)")
        try:
            fields, _ = check_utrn(text, request_id.originator, request_id.target, self.emulator.inventory.keys,
                                   counter=request_id.counter)
        except KeyMaterialMissing:
            raise PreconditionNotMet(f"{self.target.source}: no gbcs_prepayment_key_agreement_certificate for "
                                     f"{request_id.originator}: nobody can check the UTRNs it makes") from None
        except InvalidInput as exc:
            found.append(f"UTRN {text!r} fails the meter's check: {exc}")
        else:
            if order.credit is not None and fields.pennies != order.credit:
                found.append(f"UTRN {text} credits {fields.pennies} pence, asked for {order.credit}")
        return [Breach("utrn", f"{main.describe()}: {detail}", main.seq) for detail in found]

    def _as_ordered(self, order: Order, main: Recorded) -> list[Breach]:
        found: list[Breach] = []
        rule = self.catalogue.srv(order.srv)
        expected_target = DCC_EUI if rule.non_device else order.device
        if main.request_id is not None:
            if expected_target and main.request_id.target != expected_target:
                found.append(Breach("ordered_request", f"{main.describe()}: addressed to {main.request_id.target}, "
                                                       f"asked for {expected_target}"))
            if order.originator and main.request_id.originator != order.originator:
                found.append(Breach("request_id", f"{main.describe()}: sent as {main.request_id.originator}, asked "
                                                  f"as {order.originator}"))
        for name, value in order.parameters.items():
            sent = main.body_text(name)
            if sent != value:
                found.append(Breach("ordered_request", f"{main.describe()}: {name} is {sent!r}, asked for {value!r}"))
        sent_time = main.body_text("ExecutionDateTime")
        if order.action == "cancel":
            if sent_time != CANCELLATION_DATETIME:
                found.append(Breach("cancellation", f"{main.describe()}: ExecutionDateTime {sent_time!r}; a cancellation "
                                                    f"re-sends the SRV with {CANCELLATION_DATETIME}"))
        elif order.execution_time and not _same_moment(sent_time, order.execution_time):
            found.append(Breach("future_dated", f"{main.describe()}: ExecutionDateTime {sent_time!r}, asked for "
                                                f"{order.execution_time}"))
        elif not order.execution_time and sent_time:
            found.append(Breach("future_dated", f"{main.describe()}: ExecutionDateTime {sent_time} on a request asked "
                                                "for now"))
        return [Breach(b.rule, b.detail, main.seq) for b in found]

    # -- the world around their system in a design-note flow ----------------------------------------
    def device(self, eui: str):
        """The emulated DCC's record of a device (its registered supplier, firmware version, status …)."""
        device = self.emulator.inventory.device(eui)
        if device is None:
            raise ConfigError(f"the emulated DCC holds no device {eui}")
        return device

    def prepayment(self, eui: str) -> dict:
        """The emulated meter's prepayment record (meter_balance, credits with their UTRN counters …), a copy."""
        import copy

        with self.emulator.inventory.lock:
            return copy.deepcopy(self.device(eui).data.get("prepayment", {}))

    def prenotify(self, device_eui: str, device_type: str, supplier: str, network_operator: str | None) -> None:
        """A device the manufacturer pre-notified (design notes §4.1 pre-conditions): in the SMI as Pending,
        `supplier` registered for it. The DCC's and the manufacturer's doing, not their system's."""
        from ..emulator.state import Device

        self.emulator.inventory.add_device(Device(device_eui, device_type, status="Pending", supplier=supplier,
                                                  network_operator=network_operator))

    def deliver_hub(self, chf: str, gpf: str, supplier: str, network_operator: str | None) -> None:
        """A new Communications Hub the DCC hands over for an exchange (design notes §4.5): its CHF and GPF,
        one unit, in the SMI as Pending, `supplier` registered for both. The DCC's doing, not their system's."""
        from ..emulator.state import Device

        self.emulator.inventory.add_device(Device(chf, "CHF", status="Pending", supplier=supplier,
                                                  network_operator=network_operator))
        self.emulator.inventory.add_device(Device(gpf, "GPF", status="Pending", supplier=supplier,
                                                  network_operator=network_operator, chf=chf))

    def drift_clock(self, device_eui: str, seconds: float) -> None:
        """A device clock running fast (+) or slow (-) by `seconds` (design notes §4.7): a physical fact."""
        with self.emulator.inventory.lock:
            self.device(device_eui).data["clock_offset_s"] = float(seconds)

    def clock_offset(self, device_eui: str) -> float:
        """How far the emulated device's clock is from the DCC's time now, in seconds."""
        with self.emulator.inventory.lock:
            return float(self.device(device_eui).data.get("clock_offset_s", 0.0))

    def power_up(self, device_eui: str, install_code: str) -> list[dict]:
        """The installer powers the device up near its hub: it joins the SMHAN if whitelisted with this code."""
        return self.emulator.power_up(device_eui, install_code)

    def register_gaining_supplier(self, device_eui: str, gaining: str, losing: str) -> None:
        """Registration data (the RDP / CSS, not a DUIS message): `losing` is the device's supplier today and
        `gaining` is registered from the supply start date, so the gaining supplier's 6.23 is admitted."""
        inventory = self.emulator.inventory
        with inventory.lock:
            device = self.device(device_eui)
            device.supplier, device.incoming_supplier = losing, gaining

    def act_as(self, originator: str, srv: str, target: str | None, params: dict | None = None):
        """Send `srv` as another DCC User of the reference identities (ZAZ1 keys, the suite's own client):
        what a supplier does in a flow where their system is the network operator. Never recorded as theirs."""
        from ..client import DUISClient
        from ..counters import CounterAuthority
        from ..signing import response_trust

        if originator in self.user_system.organisations:
            raise ConfigError(f"{originator} is one of the party's organisations: their system sends its requests")
        store = zaz1()
        client = DUISClient(self.url, keystore=store, trust=response_trust(store), schema=self.emulator.schema,
                            counters=CounterAuthority(self._state / "reference-counters"))
        self.acting_as.add(originator)
        try:
            return client.send(srv, originator=originator, target=target, params=params)
        finally:
            self.acting_as.discard(originator)

    def messages_for(self, request_id: RequestID | str, kind: str, timeout: float, code: str | None = None) -> list:
        """The emulator's outbox records of `kind` ("response", "dcc-alert", …) for `request_id`, with
        DCCAlertCode / AlertCode `code` when given, once each was delivered or failed an attempt."""
        deadline = time.monotonic() + timeout
        while True:
            found = [r for r in self.emulator.outbox.history()
                     if (r.request_id or "").upper() == str(request_id).upper() and r.kind == kind
                     and (code is None or _has_code(r.body, code))]
            if found and all(r.status != "pending" or r.errors for r in found):
                return found
            if time.monotonic() > deadline:
                return found
            time.sleep(0.02)

    # -- what their Receive Response Service made of the DCC's messages ------------------------------
    def deliveries(self, request_id: RequestID | str, timeout: float) -> list:
        """The emulator's outbox records for `request_id` once each was delivered or failed an attempt."""
        wanted = str(request_id).upper()
        deadline = time.monotonic() + timeout
        while True:
            records = [r for r in self.emulator.outbox.history() if (r.request_id or "").upper() == wanted]
            if records and all(r.status != "pending" or r.errors for r in records):
                return records
            if time.monotonic() > deadline:
                return records
            time.sleep(0.05)


def _has_code(body: bytes, code: str) -> bool:
    try:
        root = parse_xml(body, source="DCC message").getroot()
    except DuisConfError:
        return False
    found = root.findtext(f".//{_SR}DCCAlertCode") or root.findtext(f".//{_SR}AlertCode") or ""
    return found.strip().upper() == code.upper()


def _read_header(raw: bytes):
    """RequestID, CommandVariant, SRV and sr:Body of a request the emulator refused, as far as readable."""
    try:
        root = parse_xml(raw, source="request").getroot()
    except DuisConfError:
        return None, None, None, None
    try:
        request_id = RequestID.parse(root.findtext(f"{_SR}Header/{_SR}RequestID") or "")
    except DuisConfError:
        request_id = None
    cv_text = root.findtext(f"{_SR}Header/{_SR}CommandVariant") or ""
    return (request_id, int(cv_text) if cv_text.strip().isdigit() else None,
            root.findtext(f"{_SR}Header/{_SR}ServiceReferenceVariant"), root.find(f"{_SR}Body"))


def _same_moment(sent: str | None, asked: str) -> bool:
    from datetime import datetime

    if not sent:
        return False
    try:
        return datetime.fromisoformat(sent.replace("Z", "+00:00")) == datetime.fromisoformat(asked.replace("Z", "+00:00"))
    except ValueError:
        return False


def _safe(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "-" for c in name) or "user-system"


__all__ = ["Breach", "CounterLedger", "Judge", "JUDGE_RULES", "PartyCertificates", "Recorded", "device_key_source",
           "judge_keystore"]
