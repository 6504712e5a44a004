"""The HTTP limits every duisconf server shares (httpserver.py), probed with raw sockets against the
four real servers — the Receive Response Service, the emulator's DUIS endpoints, its control plane and
its SMKI interface:
bad or missing body lengths are refused before the body is read, silent and dribbling connections are
closed, bursts wait in a deep listen backlog, and connection threads are bounded."""

from __future__ import annotations

import shutil
import socket
import subprocess
import threading
import time

import pytest

from duisconf.duis.schema import load_schema
from duisconf.emulator.server import DCCEmulator
from duisconf.httpserver import LISTEN_BACKLOG, BackgroundServer, LimitedHandler, PostOnlyHandler
from duisconf.keystore import zaz1
from duisconf.receiver import ReceiveResponseService
from duisconf.signing import response_trust


@pytest.fixture(scope="module")
def emulator():
    with DCCEmulator(port=0, control=True) as dcc:
        yield dcc


@pytest.fixture(scope="module")
def rrs():
    with ReceiveResponseService(response_trust(zaz1()), load_schema()) as service:
        yield service


# Each server and a path on it that takes a POSTed body.
SERVERS = {"receiver": "/duis", "emulator": "/api/v1/serviceS", "control": "/control/clock",
           "smki": "/services/certificatesearch"}


@pytest.fixture(params=list(SERVERS))
def target(request, emulator: DCCEmulator, rrs: ReceiveResponseService) -> tuple[int, str]:
    port = {"receiver": rrs.port, "smki": int(emulator.smki_url.rstrip("/").rsplit(":", 1)[1])}.get(request.param, emulator.port)
    return port, SERVERS[request.param]


@pytest.fixture
def short_timeouts(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every server's timeouts cut to fractions of a second, so a test can watch them fire."""
    monkeypatch.setattr(LimitedHandler, "request_timeout", 0.5)
    monkeypatch.setattr(LimitedHandler, "idle_timeout", 0.5)
    monkeypatch.setattr(LimitedHandler, "body_deadline", 1.0)


def connect(port: int) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=5)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


def head(path: str, *headers: str) -> bytes:
    return (f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n" + "".join(f"{h}\r\n" for h in headers) + "\r\n").encode()


def read_response(sock: socket.socket, wait: float = 3.0) -> tuple[int, dict[str, str], bytes]:
    """One HTTP response (status, headers, body); fails the test if none arrives within `wait`."""
    sock.settimeout(wait)
    data = b""
    try:
        while b"\r\n\r\n" not in data:
            chunk = sock.recv(65536)
            if not chunk:
                pytest.fail(f"connection closed without a complete response (got {data[:80]!r})")
            data += chunk
    except TimeoutError:
        pytest.fail(f"no response within {wait} s (got {data[:80]!r})")
    header_block, body = data.split(b"\r\n\r\n", 1)
    lines = header_block.decode("latin-1").split("\r\n")
    headers = {k.strip().lower(): v.strip() for k, v in (line.split(":", 1) for line in lines[1:])}
    while len(body) < int(headers.get("content-length", 0)):
        body += sock.recv(65536)
    return int(lines[0].split()[1]), headers, body


def closed_within(sock: socket.socket, seconds: float) -> bool:
    """Whether the server closes the connection within `seconds` (nothing more is read from it)."""
    sock.settimeout(seconds)
    try:
        return sock.recv(65536) == b""
    except ConnectionResetError:
        return True
    except TimeoutError:
        return False


@pytest.mark.parametrize("headers, status", [
    (["Content-Length: -1"], 400),
    (["Content-Length: abc"], 400),
    (["Content-Length: 1e3"], 400),
    (["Content-Length: 10", "Content-Length: 20"], 400),
    (["Transfer-Encoding: chunked"], 411),
    (["Content-Length: 10", "Transfer-Encoding: chunked"], 411),
    (["Content-Length: 999999999"], 413),
])
def test_a_bad_body_length_is_refused_before_the_body_is_read(target: tuple[int, str], headers: list[str], status: int):
    port, path = target
    with connect(port) as sock:
        sock.sendall(head(path, *headers))  # no body follows: the answer must not wait for one
        got, response_headers, body = read_response(sock)
        assert got == status, body
        assert response_headers.get("connection") == "close"
        assert closed_within(sock, 2.0), "the unread body cannot be framed: the connection must close"


def test_a_negative_length_never_lets_a_large_body_in(target: tuple[int, str]):
    """Content-Length: -1 used to mean 'read until the client stops' (200 MB grew the emulator to 459 MB)."""
    port, path = target
    sent, block = 0, b"<" * (1 << 20)
    with connect(port) as sock:
        sock.sendall(head(path, "Content-Length: -1"))
        with pytest.raises(OSError):  # the server refuses and closes: sending soon fails
            while sent < 256 * len(block):
                sock.sendall(block)
                sent += len(block)
            sock.shutdown(socket.SHUT_WR)
            read_response(sock, wait=5)
    assert sent < 64 * len(block), f"{sent >> 20} MB went in before the server closed"


def test_expect_100_continue_is_not_invited_for_a_body_that_will_be_refused(rrs: ReceiveResponseService):
    with connect(rrs.port) as sock:
        sock.sendall(head("/duis", "Content-Length: 999999999", "Expect: 100-continue"))
        status, _, _ = read_response(sock)
        assert status == 413


def test_a_body_sent_to_a_wrong_path_is_not_taken_for_the_next_request(emulator: DCCEmulator):
    smuggled = b"GET /control/state HTTP/1.1\r\nHost: x\r\n\r\n"
    with connect(emulator.port) as sock:
        sock.sendall(head("/nowhere", f"Content-Length: {len(smuggled)}") + smuggled)
        status, headers, _ = read_response(sock)
        assert status == 404 and headers.get("connection") == "close"
        assert closed_within(sock, 2.0), "the unread body was served as a request"


def test_a_half_sent_body_then_silence_is_closed_within_the_request_timeout(target: tuple[int, str], short_timeouts):
    port, path = target
    with connect(port) as sock:
        sock.sendall(head(path, "Content-Length: 1000") + b"{" * 100)
        started = time.monotonic()
        assert closed_within(sock, 3.0), "a half-sent request held its connection open"
        assert time.monotonic() - started < 2.0


def test_a_dribbled_body_is_cut_off_at_the_body_deadline(rrs: ReceiveResponseService, short_timeouts):
    with connect(rrs.port) as sock:
        sock.sendall(head("/duis", "Content-Length: 1000"))
        started = time.monotonic()
        with pytest.raises(OSError):
            for _ in range(40):  # a byte every 0.1 s: never silent for request_timeout, but too slow
                sock.sendall(b"<")
                time.sleep(0.1)
                if closed_nonblocking(sock):
                    raise ConnectionResetError("closed")
        assert time.monotonic() - started < 2.0


def closed_nonblocking(sock: socket.socket) -> bool:
    sock.setblocking(False)
    try:
        return sock.recv(1) == b""
    except BlockingIOError:
        return False
    finally:
        sock.setblocking(True)


def test_idle_connections_are_closed(target: tuple[int, str], short_timeouts):
    port, path = target
    with connect(port) as sock:  # never says anything
        assert closed_within(sock, 3.0)
    with connect(port) as sock:  # one request, then idle on the kept-alive connection
        sock.sendall(head(path, "Content-Length: 0"))
        _, headers, _ = read_response(sock)
        assert headers.get("connection") != "close"
        assert closed_within(sock, 3.0)


def test_default_timeouts_are_finite_and_short():
    assert 0 < LimitedHandler.request_timeout <= 10
    assert 0 < LimitedHandler.idle_timeout <= 60
    assert 0 < LimitedHandler.body_deadline <= 60


@pytest.mark.skipif(shutil.which("ss") is None, reason="needs `ss` (iproute2) to read a listener's backlog")
def test_the_listen_backlog_the_kernel_applies_is_deep(emulator: DCCEmulator, rrs: ReceiveResponseService):
    somaxconn = int(open("/proc/sys/net/core/somaxconn").read())
    for port in (emulator.port, rrs.port):
        line = subprocess.run(["ss", "-ltnH", f"sport = :{port}"], capture_output=True, text=True, check=True).stdout
        backlog = int(line.split()[2])  # Send-Q of a listening socket is its backlog
        assert backlog == min(LISTEN_BACKLOG, somaxconn) >= 1024 or somaxconn < 1024


def test_connection_threads_are_bounded_and_a_burst_waits_in_the_backlog():
    release, busy = threading.Event(), []

    class Slow(PostOnlyHandler):
        def handle_post(self, path: str, body: bytes) -> int:
            busy.append(threading.current_thread().name)
            release.wait(10)
            return 204

    server = BackgroundServer(Slow, "127.0.0.1", 0, "slow", max_connections=4)
    port = server.start()
    baseline = threading.active_count()
    sockets = []
    try:
        for _ in range(4):  # every connection thread taken
            sock = connect(port)
            sock.sendall(head("/duis", "Content-Length: 0"))
            sockets.append(sock)
        deadline = time.monotonic() + 5
        while len(busy) < 4 and time.monotonic() < deadline:
            time.sleep(0.01)
        started = time.monotonic()
        for _ in range(400):  # a burst while no thread is free: each must still connect at once
            sock = connect(port)
            sock.sendall(head("/duis", "Content-Length: 0"))
            sockets.append(sock)
        burst = time.monotonic() - started
        time.sleep(0.2)
        threads = threading.active_count() - baseline
        release.set()
        statuses = [read_response(sock, wait=10)[0] for sock in sockets]
    finally:
        release.set()
        for sock in sockets:
            sock.close()
        server.stop()
    assert threads <= 4, f"{threads} connection threads for a limit of 4"
    assert burst < 1.0, f"400 connects took {burst:.2f} s (SYNs dropped by a shallow backlog retry after 1 s)"
    assert statuses == [204] * 404, "every queued connection is served once a thread is free"
