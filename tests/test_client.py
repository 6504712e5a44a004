"""The DUIS client against the emulator: one call per service request (critical ones included),
counters that reach the DCC in order under concurrency, and a dead target reported as unreachable."""

from __future__ import annotations

import socket
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from duisconf.client import DUISClient, TargetReplyInvalid, TargetUnavailable
from duisconf.counters import CounterAuthority
from duisconf.duis.schema import load_schema
from duisconf.keystore import zaz1
from duisconf.signing import response_trust

SUPPLIER, OPERATOR = "90-B3-D5-1F-30-01-00-00", "90-B3-D5-1F-30-02-00-00"
ESME = "00-DB-12-34-56-78-90-A0"


_LOOPBACK = [False]


@pytest.fixture(params=["requests", "loopback"], autouse=True)
def transport(request: pytest.FixtureRequest):
    """Every test with both of the client's transports: requests (any target) and LoopbackHTTP (the
    embedded emulator in this process)."""
    _LOOPBACK[0] = request.param == "loopback"
    yield request.param
    _LOOPBACK[0] = False


def client_for(url: str, tmp_path: Path) -> DUISClient:
    return DUISClient(url, keystore=zaz1(), trust=response_trust(zaz1()), schema=load_schema(),
                      counters=CounterAuthority(tmp_path / "counters"), timeout=5, loopback=_LOOPBACK[0])


def test_a_non_critical_request_is_acknowledged_then_answered(dcc, receiver, tmp_path: Path):
    exchange = client_for(dcc.url, tmp_path).send("4.1.1", originator=SUPPLIER, target=ESME)
    assert exchange.code == "I99" and len(exchange.legs) == 1
    assert receiver.response(str(exchange.request_id), 5).code == "I0"


def test_a_critical_request_is_one_call_through_transform_and_signed_precommand(dcc, receiver, tmp_path: Path):
    exchange = client_for(dcc.url, tmp_path).send("8.1.1", originator=SUPPLIER, target=ESME)
    assert [leg.service for leg in exchange.legs] == ["serviceT", "serviceS"]
    assert [leg.code for leg in exchange.legs] == ["I0", "I99"]
    assert receiver.response(str(exchange.request_id), 5).code == "I0"


def test_concurrent_senders_for_one_originator_never_trip_the_replay_check(dcc, receiver, tmp_path: Path):
    """Workers share one counter authority; reserve() keeps allocation and arrival in the same order."""
    client = client_for(dcc.url, tmp_path)
    with ThreadPoolExecutor(6) as pool:
        codes = list(pool.map(lambda _: client.send("11.2", originator=SUPPLIER, target=ESME).code, range(30)))
    assert codes == ["I99"] * 30


def test_a_dead_target_is_unavailable_not_failed(tmp_path: Path):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # nothing listens here once the probe is closed
    with pytest.raises(TargetUnavailable, match="no answer"):
        client_for(f"http://127.0.0.1:{port}", tmp_path).send("4.1.1", originator=SUPPLIER, target=ESME)


def test_a_reply_that_is_not_duis_is_reported(receiver, tmp_path: Path):
    # the receiver answers POSTs to unknown paths with an empty 404: not a DUIS reply
    with pytest.raises(TargetReplyInvalid, match="not a DUIS reply"):
        client_for(receiver.url.rsplit("/", 1)[0], tmp_path).send("4.1.1", originator=SUPPLIER, target=ESME)


def test_tls_verification_cannot_be_turned_off():
    """A target is verified against its CA or the default store; DUISClient refuses verify_tls=False."""
    from duisconf.errors import ConfigError

    with pytest.raises(ConfigError, match="TLS verification stays on"):
        DUISClient("https://127.0.0.1:1", keystore=None, trust=None, schema=None, counters=None, verify_tls=False)


# -- LoopbackHTTP: kept-alive connections to a server in this process ---------------------------------------

class _Counting:
    """A tiny keep-alive server that answers every POST with a DUIS-looking body and counts the POSTs;
    `idle_timeout` and `hang_up` (close after reading the body, without answering) are configurable."""

    def __init__(self, idle_timeout: float = 30.0, hang_up: bool = False):
        from duisconf.httpserver import BackgroundServer, LimitedHandler

        counter = self
        self.posts = 0
        self.connections: set = set()

        class Handler(LimitedHandler):
            def do_POST(self):  # noqa: N802
                self.body()
                counter.posts += 1
                counter.connections.add(self.client_address)
                if hang_up:
                    self.close_connection = True
                    return
                self.send_reply(200, b"<reply/>", "application/xml")

            def log_message(self, *args):
                pass

        Handler.idle_timeout = idle_timeout
        self.server = BackgroundServer(Handler, "127.0.0.1", 0, "counting")
        self.url = f"http://127.0.0.1:{self.server.start()}"

    def close(self):
        self.server.stop()


def test_loopback_keeps_one_connection_alive_across_requests():
    from duisconf.client import LoopbackHTTP

    server = _Counting()
    try:
        loopback = LoopbackHTTP(server.url, timeout=5)
        answers = [loopback.post("/api/v1/serviceS", b"<r/>", "application/xml") for _ in range(5)]
        assert answers == [(200, "application/xml", b"<reply/>")] * 5
        assert server.posts == 5 and len(server.connections) == 1
    finally:
        server.close()


def test_loopback_replaces_a_connection_the_server_closed_while_idle():
    import time

    from duisconf.client import LoopbackHTTP

    server = _Counting(idle_timeout=0.1)
    try:
        loopback = LoopbackHTTP(server.url, timeout=5)
        loopback.post("/api/v1/serviceS", b"<r/>", "application/xml")
        time.sleep(0.4)  # the server hangs up the idle connection
        assert loopback.post("/api/v1/serviceS", b"<r/>", "application/xml")[0] == 200
        assert server.posts == 2 and len(server.connections) == 2
    finally:
        server.close()


def test_loopback_never_sends_a_post_twice_when_the_answer_does_not_come(tmp_path: Path):
    server = _Counting(hang_up=True)
    try:
        client = DUISClient(server.url, keystore=zaz1(), trust=response_trust(zaz1()), schema=load_schema(),
                            counters=CounterAuthority(tmp_path / "counters"), timeout=5, loopback=True)
        with pytest.raises(TargetUnavailable, match="no answer"):
            client.send("4.1.1", originator=SUPPLIER, target=ESME)
        assert server.posts == 1
    finally:
        server.close()


def test_loopback_is_only_for_a_server_on_this_host():
    from duisconf.client import LoopbackHTTP
    from duisconf.errors import ConfigError

    for url in ("https://127.0.0.1:8079", "http://dcc.example:8079", "http://127.0.0.1"):
        with pytest.raises(ConfigError, match="loopback"):
            LoopbackHTTP(url, timeout=5)
