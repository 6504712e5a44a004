"""The emulator's outbox against a real (loopback) Receive Response Service."""

from __future__ import annotations

import logging
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from duisconf.emulator.delivery import Outbound, Outbox

USER_A = "90-B3-D5-1F-30-01-00-00"
USER_B = "90-B3-D5-1F-30-01-00-02"


@dataclass
class Receiver:
    """A Receive Response Service: records every POST, answers from a script (default 204)."""

    url: str = ""
    received: list[dict] = field(default_factory=list)
    script: list[int] = field(default_factory=list)  # statuses to answer first, in order
    handler_delay: float = 0.0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def bodies(self) -> list[bytes]:
        with self.lock:
            return [r["body"] for r in self.received]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    rx = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 (http.server API)
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            if rx.handler_delay:
                time.sleep(rx.handler_delay)
            with rx.lock:
                status = rx.script.pop(0) if rx.script else 204
                rx.received.append({"path": self.path, "content_type": self.headers.get("Content-Type"),
                                    "body": body, "status": status})
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    rx.url = f"http://127.0.0.1:{server.server_address[1]}/smartdcc/duis"
    try:
        yield rx
    finally:
        server.shutdown()
        server.server_close()
        thread.join(2)


def closed_port_url() -> str:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/smartdcc/duis"


def body(n: int | str) -> bytes:
    return f'<sr:Response xmlns:sr="http://www.dccinterface.co.uk/ServiceUserGateway">{n}</sr:Response>'.encode()


@pytest.fixture
def outboxes() -> Iterator[list[Outbox]]:
    made: list[Outbox] = []
    yield made
    for box in made:
        box.stop(0.5)


def make(outboxes: list[Outbox], resolve, **kw) -> Outbox:
    kw.setdefault("backoff", 0.01)
    kw.setdefault("timeout", 2.0)
    box = Outbox(resolve, **kw)
    outboxes.append(box)
    return box


def test_messages_arrive_with_body_and_content_type(receiver, outboxes):
    box = make(outboxes, lambda eui: receiver.url)
    box.start()
    a = box.send((USER_A, body("a"), "response", f"{USER_A}:88-73-84-57-00-2F-96-1E:1"))
    b = box.send(Outbound(recipient=USER_B, body=body("b"), kind="device-alert", request_id=None))
    assert box.wait_idle(5)

    assert sorted(receiver.bodies()) == [body("a"), body("b")]
    for got in receiver.received:
        assert got["content_type"] == "application/xml"
        assert got["path"] == "/smartdcc/duis"
    assert [r.id for r in box.history()] == [a.id, b.id] and a.id < b.id
    for record in (a, b):
        assert record.status == "delivered" and record.attempts == 1 and record.last_error is None
        assert record.delivered_at is not None and record.delivered_at.tzinfo is not None
    assert box.dead_letters() == []


def test_receiver_failing_twice_gets_the_message_on_the_third_attempt(receiver, outboxes):
    receiver.script = [500, 500]
    box = make(outboxes, lambda eui: receiver.url, max_attempts=5, backoff=0.02, backoff_factor=2.0)
    box.start()
    started = time.monotonic()
    record = box.send((USER_A, body("retry"), "response", "rid-1"))
    assert box.wait_idle(5)
    elapsed = time.monotonic() - started

    assert [r["status"] for r in receiver.received] == [500, 500, 204]
    assert receiver.bodies() == [body("retry")] * 3
    assert record.status == "delivered" and record.attempts == 3
    assert record.errors == ["HTTP 500 Internal Server Error"] * 2
    assert elapsed >= 0.02 + 0.04  # backoff * factor^(n-1) between attempts


def test_receiver_down_makes_the_message_dead_with_the_error_recorded(outboxes, caplog):
    url = closed_port_url()
    box = make(outboxes, lambda eui: url, max_attempts=3, backoff=0.01)
    box.start()
    with caplog.at_level(logging.WARNING, logger="duisconf.emulator"):
        record = box.send((USER_A, body("lost?"), "dcc-alert", "rid-down"))
        assert box.wait_idle(5)

    assert record.status == "dead" and record.attempts == 3
    assert "ConnectionError" in record.last_error
    assert len(record.errors) == 3
    assert box.dead_letters() == [record]
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any(USER_A in m and "dcc-alert" in m and "rid-down" in m and "ConnectionError" in m
               for m in warnings), warnings


def test_no_receive_response_service_is_dead_immediately(outboxes, caplog):
    box = make(outboxes, lambda eui: None)  # not even started
    with caplog.at_level(logging.WARNING, logger="duisconf.emulator"):
        record = box.send((USER_B, body("x"), "response", "rid-2"))
    assert record.status == "dead" and record.attempts == 0
    assert record.last_error == f"no Receive Response Service configured for {USER_B}"
    assert box.dead_letters() == [record] and box.history() == [record]
    assert box.wait_idle(0.01)
    assert any(USER_B in r.getMessage() and "rid-2" in r.getMessage() for r in caplog.records)


def test_copies_deliver_the_same_body_twice(receiver, outboxes):
    box = make(outboxes, lambda eui: receiver.url)
    box.start()
    first = box.send((USER_A, body("dup"), "response", "rid-3"), copies=2)
    assert box.wait_idle(5)
    assert receiver.bodies() == [body("dup"), body("dup")]
    history = box.history()
    assert len(history) == 2 and history[0] is first
    assert history[1].copy_of == first.id and history[1].request_id == "rid-3"
    assert all(r.status == "delivered" for r in history)


def test_delay_reorders_two_messages(receiver, outboxes):
    box = make(outboxes, lambda eui: receiver.url)
    box.start()
    late = box.send((USER_A, body("response"), "response", "rid-4"), delay=0.3)
    early = box.send((USER_A, body("alert"), "device-alert", "rid-4"))
    assert box.wait_idle(5)
    assert receiver.bodies() == [body("alert"), body("response")]
    assert late.id < early.id and late.delivered_at > early.delivered_at


def test_same_recipient_due_messages_arrive_in_send_order_despite_many_workers(receiver, outboxes):
    receiver.handler_delay = 0.002
    box = make(outboxes, lambda eui: receiver.url, workers=4)
    for n in range(20):  # queued before start: all due together
        box.send((USER_A, body(n), "response", None))
    box.start()
    assert box.wait_idle(5)
    assert receiver.bodies() == [body(n) for n in range(20)]


def test_stop_is_quick_and_keeps_pending_messages(receiver, outboxes):
    down = closed_port_url()
    urls = {USER_A: receiver.url, USER_B: down}
    box = make(outboxes, urls.get, max_attempts=5, backoff=30.0)
    t = time.monotonic()
    box.start()
    assert time.monotonic() - t < 0.5
    delayed = box.send((USER_A, body("later"), "response", "rid-5"), delay=30)
    retrying = box.send((USER_B, body("retry"), "response", "rid-6"))
    deadline = time.monotonic() + 5
    while retrying.attempts == 0 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert retrying.attempts == 1  # now waiting 30 s for its retry
    assert not box.wait_idle(0.05)

    t = time.monotonic()
    box.stop()
    assert time.monotonic() - t < 0.5
    assert [r.status for r in box.history()] == ["pending", "pending"]
    assert {delayed, retrying} == set(box.history()) and box.dead_letters() == []
    assert receiver.received == []


def test_stopped_outbox_delivers_after_restart(receiver, outboxes):
    box = make(outboxes, lambda eui: receiver.url)
    box.start()
    box.stop()
    record = box.send((USER_A, body("queued while stopped"), "response", None))
    assert not box.wait_idle(0.1) and record.status == "pending"
    box.start()
    assert box.wait_idle(5)
    assert record.status == "delivered" and receiver.bodies() == [body("queued while stopped")]


def test_wait_idle_waits_for_a_delayed_message(receiver, outboxes):
    box = make(outboxes, lambda eui: receiver.url)
    box.start()
    assert box.wait_idle(0.01)  # nothing queued
    record = box.send((USER_A, body("slow device"), "response", None), delay=0.2)
    assert not box.wait_idle(0.05)
    assert box.wait_idle(5)
    assert record.status == "delivered"


def test_retries_follow_a_reconfigured_receive_response_service(receiver, outboxes):
    urls = {USER_A: closed_port_url()}
    box = make(outboxes, lambda eui: urls.get(eui), max_attempts=10, backoff=0.05, backoff_factor=1.0)
    box.start()
    record = box.send((USER_A, body("moved"), "response", None))
    deadline = time.monotonic() + 5
    while record.attempts == 0 and time.monotonic() < deadline:
        time.sleep(0.01)
    urls[USER_A] = receiver.url.removeprefix("http://")  # Boxed's GUI form: host:port/path
    assert box.wait_idle(5)
    assert record.status == "delivered" and record.attempts >= 2
    assert receiver.bodies() == [body("moved")]


def test_bodies_are_never_logged(receiver, outboxes, caplog):
    secret = b"<sr:Response>BODY-MARKER-4f2a</sr:Response>"
    receiver.script = [500]
    box = make(outboxes, lambda eui: receiver.url, max_attempts=2)
    with caplog.at_level(logging.DEBUG, logger="duisconf.emulator"):
        box.start()
        box.send((USER_A, secret, "response", None))
        box.send((USER_B, secret, "response", None), copies=2)
        assert box.wait_idle(5)
        box.stop()
    assert caplog.records  # something was logged at DEBUG
    assert not any("BODY-MARKER" in r.getMessage() for r in caplog.records)


def test_bad_arguments_are_refused(outboxes):
    box = make(outboxes, lambda eui: "http://127.0.0.1:9/")
    with pytest.raises(TypeError):
        box.send((USER_A, "text, not bytes", "response", None))
    with pytest.raises(ValueError):
        box.send((USER_A, b"x", "response", None), delay=-1)
    with pytest.raises(ValueError):
        box.send((USER_A, b"x", "response", None), copies=0)
    record = box.send((USER_A, b"x", "response", None))
    with pytest.raises(ValueError):
        box.send(record)  # already queued
    assert box.history() == [record]


def test_pending_names_what_is_still_to_come_per_request(receiver, outboxes):
    box = make(outboxes, lambda eui: receiver.url)
    box.start()
    rid = f"{USER_A}:88-73-84-57-00-2F-96-1E:7"
    late = box.send((USER_A, body("late"), "response", rid), delay=30)
    soon = box.send((USER_B, body("soon"), "device-alert", None), delay=0.05)
    assert box.pending(rid.lower()) == [late]
    assert box.pending(within=1) == [soon]  # the late one is not due within a second
    assert set(box.pending()) == {late, soon}


def test_settle_waits_for_what_falls_due_in_the_window_and_no_longer(receiver, outboxes):
    """The emulator's "nothing further within T": a message due within T is waited for (as long as its
    delivery takes), one held back beyond T is not, and no time is spent when nothing is due."""
    box = make(outboxes, lambda eui: receiver.url)
    box.start()
    started = time.monotonic()
    assert box.settle(0.5, timeout=5) and time.monotonic() - started < 0.05  # nothing due: no wait at all
    box.send((USER_A, body("due"), "response", None), delay=0.1)
    box.send((USER_A, body("beyond"), "response", None), delay=30)
    started = time.monotonic()
    assert box.settle(0.5, timeout=5)
    spent = time.monotonic() - started
    assert 0.09 <= spent < 0.45, spent
    assert receiver.bodies() == [body("due")]
