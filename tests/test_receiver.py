"""The Receive Response Service against the emulator: correlation by RequestID under duplicate and
out-of-order delivery, unverifiable (including unsigned E-code) messages kept as findings and never
handed to a step, timeouts reported as timeouts, memory released once messages are handed over, and a
burst of 10,000 asynchronous POSTs from 32 senders received with none lost."""

from __future__ import annotations

import gc
import http.client
import threading
import time
import tracemalloc
import weakref

import pytest
import requests
from lxml import etree

from duisconf.duis.model import RequestID
from duisconf.emulator.responses import ResponseBuilder
from duisconf.emulator.server import DCCEmulator
from duisconf.keystore import zaz1
from duisconf.receiver import ReceiveResponseService, TargetTimeout
from duisconf.render import render_request
from duisconf.signing import sign

ESME, CHF = "00-DB-12-34-56-78-90-A0", "00-DB-12-34-56-78-90-A2"
USER = "90-B3-D5-1F-30-01-00-00"


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


# -- only DCC-signed messages are answers; what is handed over is released; bursts lose nothing ----

def dcc_response(request_id: str, code: str = "I0") -> bytes:
    """A DCC-signed device response, as the emulator (signing with DCC's key from DCC's package) sends it."""
    return ResponseBuilder(zaz1()).device_response(RequestID.parse(request_id), "4.1.1", None, code)


def without_signature(signed: bytes) -> bytes:
    root = etree.fromstring(signed)
    root.remove(root.find("{http://www.w3.org/2000/09/xmldsig#}Signature"))
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


def test_an_unsigned_error_response_is_a_finding_never_the_answer(receiver: ReceiveResponseService):
    waited, control = f"{USER}:{ESME}:{time.time_ns()}", f"{USER}:{ESME}:{time.time_ns() + 1}"
    assert requests.post(receiver.url, data=without_signature(dcc_response(waited, "E50")), timeout=5).status_code == 400
    with pytest.raises(TargetTimeout):
        receiver.response(waited, 0.3)
    (finding,) = receiver.findings
    assert "not signed" in finding.what and finding.inbound.request_id is None
    # the same message signed by the DCC is an answer: the refusal above is about the signature alone
    assert requests.post(receiver.url, data=dcc_response(control, "E50"), timeout=5).status_code == 204
    assert receiver.response(control, 5).code == "E50"


def test_claimed_and_drained_messages_are_released(receiver: ReceiveResponseService):
    ids = [f"{USER}:{ESME}:{time.time_ns() + n}" for n in range(3)]
    for request_id in ids:
        assert receiver.accept(dcc_response(request_id))
    claimed = weakref.ref(receiver.response(ids[0], 5))
    leftovers, _ = receiver.drain()
    drained = [weakref.ref(m) for m in leftovers]
    del leftovers
    gc.collect()
    assert claimed() is None, "the service still holds a message it handed to a step"
    assert [ref() for ref in drained] == [None, None], "the service still holds drained messages"
    assert receiver.messages() == [] and receiver.received == 3


def test_memory_stays_flat_across_many_claimed_messages(receiver: ReceiveResponseService):
    builder, base = ResponseBuilder(zaz1()), time.time_ns()

    def one(n: int) -> None:
        request_id = f"{USER}:{ESME}:{base + n}"
        assert receiver.accept(builder.device_response(RequestID.parse(request_id), "4.1.1", None))
        receiver.response(request_id, 1)

    one(0)
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for n in range(1, 1001):  # 1,000 bodies of ~1.6 kB: ~2 MB if they and their records were kept
            one(n)
        gc.collect()
        grown = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    print(f"{grown} bytes kept after 1,000 claimed messages")
    assert grown < 500_000, f"{grown} bytes kept after 1,000 claimed messages"


def post_concurrently(url: str, bodies: list[bytes], senders: int) -> list[int | str]:
    """POST every body once from `senders` threads; returns the statuses (or the errors). Half the
    senders keep their connection alive, half connect anew for each message (as some adapters do: the
    burst of connections is what a shallow listen backlog drops). Bounded: every connection has a
    timeout and every thread is joined."""
    host_port = url.split("//")[1].split("/")[0]
    path = "/" + url.split("//")[1].split("/", 1)[1]
    statuses: list[int] = []
    lock = threading.Lock()

    def send(share: list[bytes], keep_alive: bool) -> None:
        connection = http.client.HTTPConnection(host_port, timeout=20)
        got: list[int | str] = []
        for body in share:
            try:
                connection.request("POST", path, body, {"Content-Type": "application/xml",
                                                        **({} if keep_alive else {"Connection": "close"})})
                response = connection.getresponse()
                response.read()
                got.append(response.status)
            except (OSError, http.client.HTTPException) as exc:
                got.append(repr(exc))
            if not keep_alive or not isinstance(got[-1], int):
                connection.close()
        connection.close()
        with lock:
            statuses.extend(got)

    threads = [threading.Thread(target=send, args=(bodies[n::senders], n % 2 == 0), daemon=True) for n in range(senders)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return statuses


LOAD_MESSAGES, LOAD_SENDERS = 10_000, 32


def test_a_burst_of_asynchronous_responses_from_32_senders_loses_none(receiver: ReceiveResponseService):
    builder, base = ResponseBuilder(zaz1()), time.time_ns()
    ids = [f"{USER}:{ESME}:{base + n}" for n in range(LOAD_MESSAGES)]
    bodies = [builder.device_response(RequestID.parse(request_id), "4.1.1", None) for request_id in ids]
    started = time.monotonic()
    statuses = post_concurrently(receiver.url, bodies, LOAD_SENDERS)
    seconds = time.monotonic() - started
    del bodies
    assert statuses.count(204) == LOAD_MESSAGES, {s: statuses.count(s) for s in set(statuses)}
    assert seconds < 25, f"{seconds:.1f} s: connections stalled (a dropped SYN is retried after 1 s)"
    assert receiver.received == LOAD_MESSAGES and receiver.findings == []
    for request_id in ids[:: LOAD_MESSAGES // 20]:  # a sample is claimed as a step would
        assert receiver.response(request_id, 1).request_id == request_id
    leftovers, _ = receiver.drain()
    assert {m.request_id for m in leftovers} | set(ids[:: LOAD_MESSAGES // 20]) == set(ids)
    print(f"{LOAD_MESSAGES} POSTs from {LOAD_SENDERS} senders in {seconds:.1f} s ({LOAD_MESSAGES / seconds:.0f}/s)")


def test_a_required_message_missing_is_a_fail_once_the_path_is_proven_and_an_error_before(
        dcc: DCCEmulator, receiver: ReceiveResponseService):
    from duisconf.receiver import ReceivePathUnproven, RequiredMessageMissing

    assert not receiver.proven
    with pytest.raises(ReceivePathUnproven, match="required message not received within 0.1 s.*receive path is unproven"):
        receiver.response("90-B3-D5-1F-30-01-00-00:00-DB-12-34-56-78-90-A0:1", 0.1, required=True)
    receiver.response(send(dcc, "4.1.1"), 5)
    assert receiver.proven and "message #1 (response)" in receiver.proven_by
    with pytest.raises(RequiredMessageMissing, match="required message not received within 0.1 s: alert 8F12"):
        receiver.alerts("8F12", 1, 0.1, required=True)
    with pytest.raises(TargetTimeout):  # not required (nothing acknowledged): still a plain timeout
        receiver.alerts("8F12", 1, 0.1)


def test_nothing_more_lets_the_target_say_when_time_has_passed(receiver: ReceiveResponseService):
    waited: list[float] = []
    started = time.monotonic()
    assert receiver.nothing_more(30.0, settle=waited.append) == []
    assert waited == [30.0] and time.monotonic() - started < 1.0
