"""A reference DCC user system: what a party's head-end must do, built on duisconf's own client.

It is the system under test of the user-system suite (features/user_system/), driven by the HTTP trigger
(docs/user-system.md): POST /trigger takes an order as JSON and sends the service request to its DCC
(the emulated one) with duisconf.client — signed with its own XML key, counters from a durable counter
authority, critical SRVs through CV 4, the pre-command signed with its GBCS key, and CV 5. POST /duis is
its Receive Response Service: schema-valid messages signed by a DCC certificate are accepted (204),
anything else refused (400), and a message it has already taken, byte for byte or re-signed, is refused
too (409). A top-up (2.2) carries a UTRN it makes itself (duisconf.gbcs.utrn) with its prepayment KA key
and the device's KA certificate, fetched from its DCC's SMKI interface (--smki-url), at a UTRN counter
that is also the RequestID's.

    python -m examples.user_system.reference --dcc-url http://127.0.0.1:8079 --eui 90-B3-D5-1F-30-0A-00-01 \\
        --certificates DIR --port 9100 [--smki-url http://127.0.0.1:8083/] [--variant NAME[,NAME…]]

Deliberately broken variants, each breaking one rule the suite checks (tests/test_user_system.py; several
may be combined with commas when the scenarios they break are apart):
reused-counter (counters restart from the same value after a restart), accepts-forged (its Receive
Response Service takes everything), wrong-precommand (signs a pre-command other than the transform's),
cv1-critical (sends critical SRVs as CommandVariant 1), refuses-dcc-alerts (its Receive Response Service
knows responses and device alerts only, and refuses every DCC alert), utrn-ordinary-key (makes UTRNs with its
ordinary KA key instead of the prepayment one), reused-utrn (a second top-up of a device re-sends the UTRN
of the first, with a new RequestID).
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import logging
import threading
from contextlib import contextmanager
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives.serialization import load_pem_private_key
from lxml import etree

from duisconf import gbcs
from duisconf.client import SERVICE_FOR_CV, DUISClient
from duisconf.counters import CounterAuthority
from duisconf.duis.model import SR_NS
from duisconf.duis.parse import parse_xml
from duisconf.duis.schema import load_schema
from duisconf.errors import DuisConfError
from duisconf.httpserver import BackgroundServer, PostOnlyHandler
from duisconf.keystore import Identity, Keystore, certificate_role, zaz1
from duisconf.render import CANCELLATION_DATETIME, render_request
from duisconf.rules import load_catalogue
from duisconf.signing import response_trust, sign, verify

VARIANTS = ("reused-counter", "accepts-forged", "wrong-precommand", "cv1-critical", "refuses-dcc-alerts",
            "utrn-ordinary-key", "reused-utrn")
log = logging.getLogger("reference-user-system")
_SR = f"{{{SR_NS}}}"


class ForgetfulCounters:
    """The reused-counter variant: counters kept only in memory, starting from the same value each start."""

    def __init__(self, start: int):
        self.start = self.next = start

    @contextmanager
    def reserve(self, originator: str, utrn: bool = False):
        value, self.next = self.next, self.next + 1
        yield value


class ReferenceUserSystem:
    def __init__(self, *, dcc_url: str, eui: str, certificates: dict[str, Path], state_dir: Path,
                 host: str = "127.0.0.1", port: int = 0, variant: str | None = None, smki_url: str | None = None):
        self.variants = frozenset(variant.split(",")) if variant else frozenset()
        unknown = self.variants - set(VARIANTS)
        if unknown:
            raise ValueError(f"unknown variant(s) {', '.join(sorted(unknown))} (expected one of {', '.join(VARIANTS)})")
        self.dcc_url, self.eui, self.variant = dcc_url, eui, variant
        self.host, self.port, self.state_dir = host, port, state_dir
        self.keystore = Keystore()
        self.keystore.add_pem(certificates["xml_certificate"], certificates["xml_key"], eui=eui, name="xml signing")
        gbcs_cert = x509.load_pem_x509_certificate(certificates["gbcs_certificate"].read_bytes())
        gbcs_key = certificates["gbcs_key"]
        self.keystore.add(Identity(eui, "gbcs signing", certificate_role(gbcs_cert), "digitalSignature", gbcs_cert,
                                   lambda: load_pem_private_key(gbcs_key.read_bytes(), None)))
        self.utrn_keys = self._utrn_keys(certificates, smki_url)
        self.last_utrn: dict[str, str] = {}  # device -> the UTRN last sent to it (the reused-utrn variant)
        self.schema = load_schema()
        self.trust = response_trust(zaz1())
        self.received: list[bytes] = []   # every message its Receive Response Service accepted
        self.taken: set[tuple] = set()    # what each accepted message was (a replay is one already taken)
        self.errors: list[str] = []
        self._lock = threading.Lock()
        self._forgetful_start = None
        self._server: BackgroundServer | None = None
        self.client = self._client()

    def _utrn_keys(self, certificates: dict[str, Path], smki_url: str | None):
        """Its prepayment KA private key (the ordinary one in the utrn-ordinary-key variant) and the devices'
        KA certificates from its DCC's SMKI interface; None when it has no prepayment key or no SMKI."""
        from duisconf.gbcs.keys import KeyChain, KeyRing, SmkiSource

        name = "ka_key" if "utrn-ordinary-key" in self.variants else "ka_pp_key"
        if not smki_url or not certificates.get(name) or not certificates[name].exists():
            return None
        own = KeyRing("its prepayment KA key").add(self.eui, "ka", private_key=load_pem_private_key(
            certificates[name].read_bytes(), None))
        return KeyChain(own, SmkiSource(smki_url))

    def _client(self) -> DUISClient:
        if "reused-counter" in self.variants:
            import time

            self._forgetful_start = self._forgetful_start or int(time.time() * 1000)
            counters = ForgetfulCounters(self._forgetful_start)
        else:
            counters = CounterAuthority(self.state_dir / "counters")
        return DUISClient(self.dcc_url, keystore=self.keystore, trust=self.trust, schema=self.schema,
                          counters=counters)  # type: ignore[arg-type]

    # -- lifecycle ------------------------------------------------------------------------------------
    def start(self) -> ReferenceUserSystem:
        system = self

        class Handler(PostOnlyHandler):
            def do_GET(self) -> None:  # noqa: N802  (check-target probes the trigger)
                self.send_reply(200 if self.path.split("?")[0] == "/trigger" else 404, b"ready\n", "text/plain")

            def handle_post(self, path: str, body: bytes) -> int:
                if path == "/trigger":
                    return system.trigger(body)
                if path == "/duis":
                    return system.receive(body)
                return 404

        self._server = BackgroundServer(Handler, self.host, self.port, "reference-user-system")
        self.port = self._server.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop()

    def __enter__(self) -> ReferenceUserSystem:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def trigger_url(self) -> str:
        return f"http://{self.host}:{self.port}/trigger"

    @property
    def receive_url(self) -> str:
        return f"http://{self.host}:{self.port}/duis"

    # -- the HTTP trigger -----------------------------------------------------------------------------
    def trigger(self, body: bytes) -> int:
        try:
            order = json.loads(body)
            action = order.get("action", "send")
        except (ValueError, AttributeError):
            return 400
        if action == "restart":
            self.client = self._client()  # a fresh process: only what is on disk survives
            return 204
        if action not in ("send", "cancel") or not order.get("srv"):
            return 400
        threading.Thread(target=self._send, args=(order,), daemon=True).start()
        return 202

    def _send(self, order: dict) -> None:
        srv, device = order["srv"], order.get("device") or None
        when = CANCELLATION_DATETIME if order.get("action") == "cancel" else order.get("execution_time")
        params = order.get("parameters") or None
        critical = load_catalogue().srv(srv).critical
        try:
            if srv == "2.2":
                self._top_up(device, int(order.get("credit") or 0))
            elif critical and "cv1-critical" in self.variants:
                self.client.send(srv, originator=self.eui, target=device, cv=1, params=params, execution_datetime=when)
            elif critical and "wrong-precommand" in self.variants:
                self._send_with_wrong_precommand(srv, device, params, when)
            else:
                self.client.send(srv, originator=self.eui, target=device, params=params, execution_datetime=when)
        except DuisConfError as exc:
            self.errors.append(f"{srv}: {exc}")

    def _top_up(self, device: str | None, credit: int) -> None:
        """2.2 Top Up Device: a UTRN of its own for `credit` pence, at a UTRN counter that is the RequestID's."""
        from duisconf.gbcs.utrn import make_utrn

        if self.utrn_keys is None:
            raise DuisConfError("no prepayment KA key or no SMKI interface: cannot make a UTRN")
        with self.client.counters.reserve(self.eui, utrn=True) as counter:
            utrn = self.last_utrn.get(device) if "reused-utrn" in self.variants else None
            utrn = utrn or make_utrn(self.eui, device, counter, credit, keys=self.utrn_keys)
            self.last_utrn[device] = utrn
            self.client.send_variant("2.2", originator=self.eui, target=device, params={"UTRN": utrn}, counter=counter)

    def _send_with_wrong_precommand(self, srv: str, device: str | None, params: dict | None, when: str | None) -> None:
        exchange = self.client.send(srv, originator=self.eui, target=device, params=params, execution_datetime=when,
                                    sign_precommand=False)
        text = exchange.final.root.findtext(f".//{_SR}PreCommand/{_SR}GBCSPayload")
        if not text:
            return
        precommand = bytearray(base64.b64decode(text))
        precommand[-2] ^= 0x01  # the last content byte (the null signature 00 follows): not the transform's command
        signed = gbcs.sign_precommand(bytes(precommand), self.keystore.gbcs_signing_identity(self.eui).private_key)
        root = parse_xml(render_request(srv, originator=self.eui, target=device, counter=exchange.request_id.counter,
                                        command_variant=5, execution_datetime=when, params=params)).getroot()
        body = root.find(f"{_SR}Body")
        body.remove(body[0])
        signed_precommand = etree.SubElement(body, f"{_SR}SignedPreCommand")
        if when:
            etree.SubElement(signed_precommand, f"{_SR}ExecutionDateTime").text = when
        etree.SubElement(signed_precommand, f"{_SR}GBCSPayload").text = base64.b64encode(signed).decode()
        self.client.post(SERVICE_FOR_CV[5], sign(root, self.keystore), exchange.request_id)

    # -- the Receive Response Service -----------------------------------------------------------------
    def receive(self, body: bytes) -> int:
        if "accepts-forged" in self.variants:
            self.received.append(body)
            return 204
        try:
            tree = parse_xml(body, source="inbound message")
            self.schema.validate(tree, source="inbound message")
            root = verify(tree, self.trust, source="inbound message", allow_unsigned_errors=False).root
        except DuisConfError as exc:
            log.info("refused: %s", exc)
            return 400
        if "refuses-dcc-alerts" in self.variants and root.find(f"{_SR}Body/{_SR}DCCAlertMessage") is not None:
            return 400
        header = root.find(f"{_SR}Header")
        content = etree.tostring(root.find(f"{_SR}Body"), method="c14n")
        what = (header.findtext(f"{_SR}RequestID"), header.findtext(f"{_SR}ResponseID"),
                header.findtext(f"{_SR}ResponseCode"), hashlib.sha256(content).hexdigest())
        with self._lock:
            if what in self.taken:
                return 409  # already processed: a duplicate or a replay
            self.taken.add(what)
            self.received.append(body)
        return 204


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dcc-url", required=True, help="the DCC's base URL (serviceS/T/D under /api/v1/)")
    parser.add_argument("--eui", required=True, help="this organisation's EUI")
    parser.add_argument("--certificates", type=Path, required=True,
                        help="directory with xml, gbcs, ka, ka_pp .pem/.key (examples/user_system/certificates.py)")
    parser.add_argument("--state", type=Path, default=Path("state/reference-user-system"), help="durable counters")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=9100)
    parser.add_argument("--smki-url", help="its DCC's SMKI interface (device certificates, for UTRNs)")
    parser.add_argument("--variant", help=f"broken on purpose, comma-separated: {', '.join(VARIANTS)}")
    args = parser.parse_args(argv)
    if args.variant and set(args.variant.split(",")) - set(VARIANTS):
        parser.error(f"--variant {args.variant}: expected one or more of {', '.join(VARIANTS)}")
    files = {f"{stem}_{part}": args.certificates / f"{stem}.{ext}"
             for stem in ("xml", "gbcs", "ka", "ka_pp") for part, ext in (("certificate", "pem"), ("key", "key"))}
    system = ReferenceUserSystem(dcc_url=args.dcc_url, eui=args.eui, certificates=files, state_dir=args.state,
                                 host=args.host, port=args.port, variant=args.variant, smki_url=args.smki_url).start()
    print(f"trigger {system.trigger_url}, Receive Response Service {system.receive_url}", flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        system.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
