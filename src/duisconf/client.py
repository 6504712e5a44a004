"""Sending DUIS requests to a target the way a User's system does, keeping everything as evidence.

`DUISClient.send` renders the SRV's request, takes the originator counter from the counter authority
and holds the originator's lock until the synchronous reply is in (the DCC checks counters in arrival
order, so parallel workers must not overtake each other), signs, POSTs to the service for the
CommandVariant, then checks the reply: schema, DCC signature, RequestID echo. A critical SRV is one
call: CV 4 to the Transform service, the pre-command signed with the originator's GBCS key, then CV 5
(or CV 6 for local delivery) with the same RequestID. A target that cannot be reached raises
TargetUnavailable: inconclusive, never a failure of the target.
"""

from __future__ import annotations

import base64
import http.client
import select
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from urllib.parse import urlsplit

import requests
from lxml import etree

from . import gbcs
from .counters import CounterAuthority
from .duis.model import SR_NS, RequestID
from .duis.parse import parse_xml
from .duis.schema import Schema
from .errors import ConfigError, DuisConfError
from .keystore import Keystore
from .render import render_request
from .signing import TrustStore, request_id_of, sign, verify

_SR = f"{{{SR_NS}}}"
SERVICE_FOR_CV = {1: "serviceS", 3: "serviceS", 5: "serviceS", 7: "serviceS", 4: "serviceT", 2: "serviceD", 6: "serviceD", 8: "serviceD"}


class TargetUnavailable(DuisConfError):
    """The target did not answer at the HTTP level (refused, reset, timed out): inconclusive."""


class TargetReplyInvalid(DuisConfError):
    """The target answered with something that is not a valid, DCC-signed DUIS reply to our request."""


@dataclass
class Leg:
    """One POST and its synchronous reply."""

    service: str
    request: bytes              # the signed request as sent
    status: int
    reply: bytes
    root: etree._Element        # the verified reply without its signature
    seconds: float

    @property
    def code(self) -> str:
        return self.root.findtext(f"{_SR}Header/{_SR}ResponseCode") or ""


@dataclass
class Exchange:
    """A service request and everything it produced synchronously (both legs for a critical SRV)."""

    srv: str
    request_id: RequestID
    rendered: bytes
    legs: list[Leg] = field(default_factory=list)

    @property
    def final(self) -> Leg:
        return self.legs[-1]

    @property
    def code(self) -> str:
        return self.final.code


class LoopbackHTTP:
    """Plain HTTP/1.1 keep-alive POSTs to a server in this process (the embedded emulator on 127.0.0.1).

    requests spends ~0.3 ms of Python on each request before and after the socket (environment, cookies,
    hooks, adapters, retries), more than the loopback round trip itself; over a suite run that was a
    quarter of the client's time. Here each POST is http.client on a kept-alive connection: the same
    request line, Content-Type and Content-Length, the same status, headers and body back. Nothing of
    requests' is needed on loopback: no proxy, no TLS, no redirects, no cookies.

    Connections are pooled for threads that send at once. A pooled connection the server closed while it
    was idle (its idle timeout, or making way for other clients) is noticed before it is used and
    replaced; once a request has been sent it is never sent again (a POST is not idempotent): a failure
    then is the caller's TargetUnavailable, as with requests."""

    def __init__(self, base_url: str, timeout: float):
        parts = urlsplit(base_url)
        if parts.scheme != "http" or parts.hostname not in ("127.0.0.1", "localhost", "::1") or parts.port is None:
            raise ConfigError(f"{base_url}: a loopback connection is for http://127.0.0.1:PORT (the embedded emulator)")
        self.host, self.port, self.prefix, self.timeout = parts.hostname, parts.port, parts.path.rstrip("/"), timeout
        self._idle: list[http.client.HTTPConnection] = []
        self._lock = threading.Lock()

    def _connection(self) -> http.client.HTTPConnection:
        with self._lock:
            while self._idle:
                connection = self._idle.pop()
                if connection.sock is not None and not select.select([connection.sock], [], [], 0)[0]:
                    return connection  # open and silent: the server has not closed it
                connection.close()  # readable while idle means closed (or garbage): not reusable
        return http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)

    def post(self, path: str, body: bytes, content_type: str) -> tuple[int, str | None, bytes]:
        """(status, Content-Type, body) of the reply; OSError or http.client.HTTPException when there is none."""
        connection = self._connection()
        try:
            connection.request("POST", self.prefix + path, body=body, headers={"Content-Type": content_type})
            response = connection.getresponse()
            reply = response.read()
        except BaseException:
            connection.close()
            raise
        if response.will_close:
            connection.close()
        else:
            with self._lock:
                self._idle.append(connection)
        return response.status, response.getheader("Content-Type"), reply

    def close(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, []
        for connection in idle:
            connection.close()


class DUISClient:
    def __init__(self, base_url: str, *, keystore: Keystore, trust: TrustStore, schema: Schema,
                 counters: CounterAuthority, timeout: float = 10.0, verify_tls: bool | str = True,
                 client_certificate: tuple[str, str] | None = None,
                 on_request_id: Callable[[str], None] | None = None, loopback: bool = False):
        """`loopback`: the target is an HTTP server in this process (the embedded emulator): requests go
        over LoopbackHTTP instead of requests (same bytes, less work per request)."""
        self.base_url = base_url.rstrip("/")
        self.on_request_id = on_request_id  # told each RequestID before it leaves (the response router)
        self.keystore, self.trust, self.schema, self.counters = keystore, trust, schema, counters
        self.timeout = timeout
        # `verify_tls` is a CA file (or directory) or True (requests' default bundle); never False here.
        # It goes with every request, not only on the Session: requests replaces a request's verify of
        # None or True by REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE before the Session's own is consulted
        # (Session.merge_environment_settings), so a Session-level CA would lose to the environment.
        # A path given per request is kept as is; proxies from the environment still apply.
        if verify_tls is False:
            raise ConfigError("TLS verification stays on: give the target a CA file ([tls] ca) instead")
        self.verify_tls = verify_tls
        self.session = requests.Session()
        self.session.verify = verify_tls
        if client_certificate:
            self.session.cert = client_certificate
        self.loopback = LoopbackHTTP(self.base_url, timeout) if loopback else None

    def send(self, srv: str, *, originator: str, target: str | None = None, cv: int | None = None,
             params: dict | None = None, execution_datetime: str | datetime | None = None,
             local_delivery: bool = False, sign_precommand: bool = True) -> Exchange:
        from .rules import load_catalogue

        rule = load_catalogue().srv(srv)
        cv = cv or rule.default_cv
        with self.counters.reserve(originator, utrn=(srv == "2.2")) as counter:
            rendered = render_request(srv, originator=originator, target=target, counter=counter, command_variant=cv,
                                      execution_datetime=execution_datetime, params=params)
            exchange = Exchange(srv, request_id_of(parse_xml(rendered).getroot()), rendered)
            exchange.legs.append(self.post(SERVICE_FOR_CV[cv], sign(rendered, self.keystore), exchange.request_id))
            if cv == 4 and exchange.code == "I0" and sign_precommand:
                follow_up = self._signed_precommand_request(exchange, originator, target, counter, params,
                                                            execution_datetime, 6 if local_delivery else 5)
                exchange.legs.append(self.post(SERVICE_FOR_CV[6 if local_delivery else 5], follow_up, exchange.request_id))
        return exchange

    def send_variant(self, srv: str, *, originator: str, target: str | None = None, cv: int | None = None,
                     params: dict | None = None, counter: int | None = None, service: str | None = None,
                     signer: str | None = None, signed: bool = True,
                     doctor: Callable[[etree._Element], None] | None = None) -> Exchange:
        """One leg of a request as a User's system might get it wrong, for negative scenarios: a chosen
        `counter` (a replay), CommandVariant `cv` or `service` (E12/E13), the XML signing key of another
        user `signer`, no signature at all, or `doctor` editing the rendered document before signing
        (a schema violation). Everything not chosen is done right."""
        from .rules import load_catalogue

        cv = cv or load_catalogue().srv(srv).default_cv

        def one_leg(count: int) -> Exchange:
            rendered = render_request(srv, originator=originator, target=target, counter=count, command_variant=cv,
                                      params=params)
            root = parse_xml(rendered).getroot()
            exchange = Exchange(srv, request_id_of(root), rendered)
            if doctor is not None:
                doctor(root)
            if not signed:
                body = etree.tostring(root, xml_declaration=True, encoding="UTF-8")
            else:
                identity = self.keystore.xml_signing_identity(signer) if signer else None
                body = sign(root, self.keystore, identity=identity)
            exchange.legs.append(self.post(service or SERVICE_FOR_CV[cv], body, exchange.request_id))
            return exchange

        if counter is not None:
            return one_leg(counter)
        with self.counters.reserve(originator, utrn=(srv == "2.2")) as allocated:
            return one_leg(allocated)

    def _signed_precommand_request(self, exchange: Exchange, originator: str, target: str | None, counter: int,
                                   params: dict | None, execution_datetime, cv: int) -> bytes:
        text = exchange.final.root.findtext(f".//{_SR}PreCommand/{_SR}GBCSPayload")
        if not text:
            raise TargetReplyInvalid(f"{exchange.srv}: the transform answered I0 without a PreCommand")
        key = self.keystore.gbcs_signing_identity(originator).private_key
        signed = gbcs.sign_precommand(base64.b64decode(text), key)
        xml = render_request(exchange.srv, originator=originator, target=target, counter=counter, command_variant=cv,
                             execution_datetime=execution_datetime, params=params)
        root = parse_xml(xml).getroot()
        body = root.find(f"{_SR}Body")
        body.remove(body[0])
        signed_precommand = etree.SubElement(body, f"{_SR}SignedPreCommand")
        if execution_datetime is not None:
            etree.SubElement(signed_precommand, f"{_SR}ExecutionDateTime").text = (
                execution_datetime if isinstance(execution_datetime, str) else execution_datetime.strftime("%Y-%m-%dT%H:%M:%SZ"))
        etree.SubElement(signed_precommand, f"{_SR}GBCSPayload").text = base64.b64encode(signed).decode()
        return sign(root, self.keystore)

    def post(self, service: str, signed: bytes, request_id: RequestID | None = None) -> Leg:
        url = f"{self.base_url}/api/v1/{service}"
        if self.on_request_id is not None and request_id is not None:
            self.on_request_id(str(request_id))
        started = time.perf_counter()
        if self.loopback is not None:
            try:
                status, content_type, content = self.loopback.post(f"/api/v1/{service}", signed, "application/xml")
            except (OSError, http.client.HTTPException) as exc:
                raise TargetUnavailable(f"{url}: no answer ({type(exc).__name__}: {exc})") from None
        else:
            try:
                reply = self.session.post(url, data=signed, headers={"Content-Type": "application/xml"},
                                          timeout=self.timeout, verify=self.verify_tls)
            except requests.RequestException as exc:
                raise TargetUnavailable(f"{url}: no answer ({type(exc).__name__}: {exc})") from None
            status, content_type, content = reply.status_code, reply.headers.get("Content-Type"), reply.content
        seconds = time.perf_counter() - started
        if not (content_type or "").startswith("application/xml"):
            raise TargetReplyInvalid(f"{url}: HTTP {status} with Content-Type "
                                     f"{content_type!r}, not a DUIS reply")
        tree = parse_xml(content, source=f"reply from {service}")
        self.schema.validate(tree, source=f"reply from {service}")
        root = verify(tree, self.trust, source=f"reply from {service}").root
        echoed = root.findtext(f"{_SR}Header/{_SR}RequestID")
        if request_id is not None and echoed is not None and RequestID.parse(echoed) != request_id:
            raise TargetReplyInvalid(f"{url}: the reply echoes RequestID {echoed}, not {request_id}")
        return Leg(service, signed, status, content, root, seconds)
