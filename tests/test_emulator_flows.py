"""The emulator's two-phase behaviour over real HTTP: requests POSTed to its DCC Boxed endpoints, and
asynchronous responses and alerts POSTed back to a real Receive Response Service."""

from __future__ import annotations

import base64
import itertools
import queue
import socket
import time

import pytest
import requests

from duisconf import gbcs
from duisconf.duis.model import SR_NS
from duisconf.duis.parse import parse_xml
from duisconf.duis.schema import load_schema
from duisconf.emulator.server import DCCEmulator
from duisconf.httpserver import BackgroundServer, PostOnlyHandler
from duisconf.keystore import zaz1
from duisconf.render import render_request
from duisconf.signing import response_trust, sign, verify

SUPPLIER, SUPPLIER2 = "90-B3-D5-1F-30-01-00-00", "90-B3-D5-1F-30-03-00-00"
ESME, CHF = "00-DB-12-34-56-78-90-A0", "00-DB-12-34-56-78-90-A2"
SR = f"{{{SR_NS}}}"
_counter = itertools.count(int(time.time() * 1000))


class Receiver:
    """A minimal Receive Response Service: verifies nothing itself, just collects what arrives."""

    def __init__(self) -> None:
        self.inbox: queue.Queue[bytes] = queue.Queue()
        inbox = self.inbox

        class Handler(PostOnlyHandler):
            def handle_post(self, path: str, body: bytes) -> int:
                inbox.put(body)
                return 204

        self.server = BackgroundServer(Handler, "127.0.0.1", 0, "test-receiver")
        self.url = f"http://127.0.0.1:{self.server.start()}/duis"

    def next(self, timeout: float = 5.0):
        body = self.inbox.get(timeout=timeout)
        verified = verify(body, response_trust(zaz1()))
        load_schema().validate(parse_xml(body))
        return verified.root


@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    r.server.stop()


@pytest.fixture
def dcc(receiver: Receiver):
    with DCCEmulator(port=0, receive_url=receiver.url) as emulator:
        yield emulator


def post(dcc: DCCEmulator, service: str, xml: bytes):
    reply = requests.post(f"{dcc.url}/api/v1/{service}", data=xml, headers={"Content-Type": "application/xml"}, timeout=10)
    assert reply.headers["Content-Type"] == "application/xml"
    return parse_xml(reply.content).getroot()


def header(root, name: str) -> str:
    return root.findtext(f"{SR}Header/{SR}{name}")


def signed(srv: str, **kwargs) -> bytes:
    xml = render_request(srv, counter=next(_counter), **kwargs)
    return sign(xml, zaz1())


def test_cv1_is_acknowledged_then_answered_asynchronously(dcc: DCCEmulator, receiver: Receiver):
    request = signed("4.1.1", target=ESME)
    ack = post(dcc, "serviceS", request)
    assert header(ack, "ResponseCode") == "I99"
    request_id = header(ack, "RequestID")
    response = receiver.next()
    assert header(response, "RequestID") == request_id
    originator, target, counter = request_id.split(":")
    assert header(response, "ResponseID") == f"{target}:{originator}:{counter}"
    assert header(response, "ResponseCode") == "I0"
    frame = gbcs.decode(base64.b64decode(response.findtext(f".//{SR}GBCSPayload")))
    assert isinstance(frame, gbcs.GeneralCiphering)  # ECS17b responses carry a MAC
    frame = frame.inner
    assert frame.header.cra == gbcs.CRA.RESPONSE
    assert frame.header.originator_counter == int(counter)
    assert frame.header.originator.hex().upper() == target.replace("-", "")
    assert frame.header.recipient.hex().upper() == originator.replace("-", "")
    assert frame.header.message_code == 0x0027  # ECS17b, the SRV's GBCS use case for an ESME


def test_critical_command_goes_through_transform_and_signed_precommand(dcc: DCCEmulator, receiver: Receiver):
    request = signed("8.1.1", target=ESME)
    transform = post(dcc, "serviceT", request)
    assert header(transform, "ResponseCode") == "I0"
    precommand = base64.b64decode(transform.findtext(f".//{SR}PreCommand/{SR}GBCSPayload"))
    assert gbcs.GeneralSigning.decode(precommand).signature is None
    request_id = header(transform, "RequestID")

    def follow_up(payload: bytes) -> bytes:
        xml = render_request("8.1.1", target=ESME, counter=int(request_id.rsplit(":", 1)[1]), command_variant=5)
        xml = xml.replace(b"</sr:Header>", b"</sr:Header>")  # header stays; the body becomes SignedPreCommand
        root = parse_xml(xml).getroot()
        body = root.find(f"{SR}Body")
        body.remove(body[0])
        signed_pre = body.makeelement(f"{SR}SignedPreCommand", nsmap={"sr": SR_NS})
        payload_element = signed_pre.makeelement(f"{SR}GBCSPayload", nsmap={"sr": SR_NS})
        payload_element.text = base64.b64encode(payload).decode()
        signed_pre.append(payload_element)
        body.append(signed_pre)
        return sign(root, zaz1())

    unsigned = post(dcc, "serviceS", follow_up(precommand))
    assert header(unsigned, "ResponseCode") == "E1"
    wrong_key = gbcs.sign_precommand(precommand, zaz1().gbcs_signing_identity(SUPPLIER2).private_key)
    assert header(post(dcc, "serviceS", follow_up(wrong_key)), "ResponseCode") == "E1"
    good = gbcs.sign_precommand(precommand, zaz1().gbcs_signing_identity(SUPPLIER).private_key)
    ack = post(dcc, "serviceS", follow_up(good))
    assert header(ack, "ResponseCode") == "I99" and header(ack, "RequestID") == request_id
    assert header(receiver.next(), "RequestID") == request_id
    replay = post(dcc, "serviceS", follow_up(good))
    assert header(replay, "ResponseCode") == "E1", "a CV 5 follow-up cannot be replayed"


def test_update_han_device_log_raises_dcc_alert_n24_with_the_request_id(dcc: DCCEmulator, receiver: Receiver):
    ack = post(dcc, "serviceS", signed("8.11", target=CHF, params={"DeviceID": "00-DB-12-34-56-78-90-B0"}))
    assert header(ack, "ResponseCode") == "I99"
    messages = [receiver.next() for _ in range(3)]
    codes = {m.findtext(f".//{SR}DCCAlertCode") or m.findtext(f".//{SR}AlertCode") or "response" for m in messages}
    assert codes == {"response", "8F12", "N24"}
    n24 = next(m for m in messages if m.findtext(f".//{SR}DCCAlertCode") == "N24")
    assert n24.findtext(f".//{SR}UpdateHANDeviceLogServiceRequestID") == header(ack, "RequestID")


def test_wrong_path_and_oversized_bodies_get_plain_http_errors(dcc: DCCEmulator):
    assert requests.post(f"{dcc.url}/api/v1/serviceX", data=b"<x/>", timeout=5).status_code == 404
    with socket.create_connection(("127.0.0.1", dcc.port), timeout=5) as raw:  # claim a body we never send
        raw.sendall(b"POST /api/v1/serviceS HTTP/1.1\r\nHost: x\r\nContent-Length: 100000000\r\n\r\n<x/>")
        assert raw.recv(64).startswith(b"HTTP/1.1 413")


def test_start_and_stop_take_well_under_a_second():
    started = time.perf_counter()
    emulator = DCCEmulator(port=0).start()
    emulator.stop()
    assert time.perf_counter() - started < 1.0
