"""The Receive Response Service against the emulator: correlation by RequestID under duplicate and
out-of-order delivery, unverifiable messages kept as findings, timeouts reported as timeouts."""

from __future__ import annotations

import time

import pytest
import requests

from duisconf.emulator.server import DCCEmulator
from duisconf.keystore import zaz1
from duisconf.receiver import ReceiveResponseService, TargetTimeout
from duisconf.render import render_request
from duisconf.signing import sign

ESME, CHF = "00-DB-12-34-56-78-90-A0", "00-DB-12-34-56-78-90-A2"


def send(dcc: DCCEmulator, srv: str, **params) -> str:
    xml = sign(render_request(srv, counter=int(time.time() * 1_000_000), params=params or None), zaz1())
    reply = dcc.handle("serviceS", xml)
    assert b">I99<" in reply.body
    return xml.split(b"<sr:RequestID>")[1].split(b"<")[0].decode()


def test_the_response_is_correlated_by_request_id(dcc: DCCEmulator, receiver: ReceiveResponseService):
    first, second = send(dcc, "4.1.1"), send(dcc, "11.2")
    assert receiver.response(second, 5).request_id == second.upper()
    assert receiver.response(first.lower(), 5).code == "I0", "RequestIDs compare case-insensitively"


def test_duplicates_become_findings_not_second_responses(dcc: DCCEmulator, receiver: ReceiveResponseService):
    dcc.faults.add({"kind": "duplicate", "srv": "4.1.1"})
    request_id = send(dcc, "4.1.1")
    receiver.response(request_id, 5)
    assert dcc.outbox.wait_idle(5)
    with pytest.raises(TargetTimeout):
        receiver.response(request_id, 0.3)
    assert [f.what for f in receiver.findings] == ["duplicate of message #1"]


def test_alerts_that_overtake_their_response_are_still_matched(dcc: DCCEmulator, receiver: ReceiveResponseService):
    dcc.faults.add({"kind": "reorder", "srv": "8.11", "seconds": 0.3})
    request_id = send(dcc, "8.11", DeviceID="00-DB-12-34-56-78-90-B5")
    (n24,) = receiver.alerts("N24", 1, 5)
    assert n24.root.findtext(".//{http://www.dccinterface.co.uk/ServiceUserGateway}UpdateHANDeviceLogServiceRequestID") == request_id
    assert receiver.alerts("8F12", 1, 5, device=CHF)[0].source_device == CHF
    assert receiver.response(request_id, 5).code == "I0"
    assert receiver.nothing_more(0.2) == []


def test_a_timeout_says_what_was_awaited(receiver: ReceiveResponseService):
    with pytest.raises(TargetTimeout, match=r"no response for RequestID 90-B3.*:42 within 0.2 s"):
        receiver.response("90-B3-D5-1F-30-01-00-00:00-DB-12-34-56-78-90-A0:42", 0.2)


def test_unverifiable_messages_are_refused_with_400_and_kept_as_findings(receiver: ReceiveResponseService):
    forged = sign(b'<sr:Response xmlns:sr="http://www.dccinterface.co.uk/ServiceUserGateway" schemaVersion="5.1">'
                  b"<sr:Header><sr:ResponseCode>I0</sr:ResponseCode><sr:ResponseDateTime>2026-11-22T10:00:00Z"
                  b"</sr:ResponseDateTime></sr:Header><sr:Body><sr:ResponseMessage><sr:ServiceReference>8.2"
                  b"</sr:ServiceReference><sr:ServiceReferenceVariant>8.2</sr:ServiceReferenceVariant>"
                  b"</sr:ResponseMessage></sr:Body></sr:Response>",
                  identity=zaz1().xml_signing_identity("90-B3-D5-1F-30-01-00-00"))
    for body in (b"<not-duis/>", b"<broken", forged):
        assert requests.post(receiver.url, data=body, timeout=5).status_code == 400
    problems = [f.what for f in receiver.findings]
    assert len(problems) == 3 and "not trusted" in problems[2]
    assert receiver.unclaimed() == []


def test_responses_arriving_out_of_order_reach_their_own_requests(dcc: DCCEmulator, receiver: ReceiveResponseService):
    dcc.faults.add({"kind": "latency", "srv": "4.1.1", "seconds": 0.4})
    slow, fast = send(dcc, "4.1.1"), send(dcc, "11.2")
    first_waited = receiver.response(slow, 5)
    second = receiver.response(fast, 5)
    assert second.seq < first_waited.seq, "the later request's response arrived first"
    assert (first_waited.request_id, second.request_id) == (slow.upper(), fast.upper())
