"""The HTTP servers duisconf hosts (the emulator, the Receive Response Service, the response router) and
the limits they share, kept here in one place:

- a request body is read only when its length is declared, non-negative and within the handler's
  `max_body`; otherwise the answer is 400 (bad Content-Length), 411 (Transfer-Encoding, no length) or
  413 (too large), sent *before* any of the body is read, and the connection is closed;
- a connection silent for `request_timeout` seconds before or in the middle of a request, or idle for
  `idle_timeout` seconds between keep-alive requests, is closed; a body must arrive within `body_deadline`;
- at most `max_connections` connections are served at once (one thread each); further connections wait
  in the listen backlog (`request_queue_size`, far above socketserver's default of 5, which drops
  connections under bursts) until a thread is free. While any wait, idle keep-alive connections are
  closed at once (HTTP lets a server close an idle persistent connection; clients reconnect), so idle
  clients never starve new ones.
"""

from __future__ import annotations

import re
import select
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

LISTEN_BACKLOG = 1024        # the kernel caps it at net.core.somaxconn (4096 on current Linux)
MAX_CONNECTIONS = 256        # connection threads per server
_DIGITS = re.compile(r"[0-9]+")


class BodyRefused(Exception):
    """A request whose body will not be read, and the HTTP status that says why."""

    def __init__(self, status: int, reason: str):
        super().__init__(reason)
        self.status, self.reason = status, reason


def body_length(handler: BaseHTTPRequestHandler, max_body: int) -> int:
    """The declared body length of the request being handled, checked against `max_body`
    (RFC 9112 §6.3: no Content-Length and no Transfer-Encoding means no body)."""
    if handler.headers.get_all("Transfer-Encoding"):
        # We do not decode chunked bodies: a DUIS client knows its message's length up front.
        raise BodyRefused(411, "send the body with a Content-Length (Transfer-Encoding is not accepted)")
    values = handler.headers.get_all("Content-Length") or []
    if not values:
        return 0
    declared = {value.strip() for value in values}
    if len(declared) != 1 or not _DIGITS.fullmatch(next(iter(declared))):
        shown = ", ".join(repr(value) for value in values)
        raise BodyRefused(400, f"Content-Length {shown} is not one non-negative decimal number")
    length = int(next(iter(declared)))
    if length > max_body:
        raise BodyRefused(413, f"Content-Length {length} is over this service's limit of {max_body} bytes")
    return length


def read_body(handler: BaseHTTPRequestHandler, max_body: int) -> bytes:
    """Read the request body: never more than `max_body` bytes, never longer than the handler's
    `body_deadline`. Raises BodyRefused (the caller answers with its status) when the declared length
    is missing, malformed or too large, before reading any of it."""
    length = body_length(handler, max_body)
    deadline = time.monotonic() + getattr(handler, "body_deadline", 30.0)
    silence = getattr(handler, "request_timeout", 5.0)
    chunks, remaining = [], length
    while remaining:
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError(f"body not complete within {handler.body_deadline:g} s")
        handler.connection.settimeout(min(silence, left))
        chunk = handler.rfile.read1(min(remaining, 1 << 16))
        if not chunk:  # the client closed before sending what it declared
            raise BodyRefused(400, f"body ended after {length - remaining} of {length} bytes")
        chunks.append(chunk)
        remaining -= len(chunk)
    handler.body_consumed = True
    return b"".join(chunks)


def _has_buffered(rfile: object, sock: socket.socket) -> bool:
    """Whether a BufferedReader over `sock` holds unread bytes, without waiting on the socket."""
    if not hasattr(rfile, "peek"):
        return False
    timeout = sock.gettimeout()
    sock.settimeout(0.0)  # a peek that would wait for the socket returns nothing instead
    try:
        return bool(rfile.peek(1))
    except (BlockingIOError, OSError):
        return False
    finally:
        sock.settimeout(timeout)


class LimitedHandler(BaseHTTPRequestHandler):
    """The request handler every duisconf server builds on: HTTP/1.1 keep-alive with the limits above.
    Subclasses read bodies with `self.body()` and answer a BodyRefused with `self.refuse()`."""

    protocol_version = "HTTP/1.1"
    # Headers and body leave in separate writes; without TCP_NODELAY, Nagle's algorithm meets the
    # client's delayed ACK on keep-alive connections and every reply stalls ~40 ms (measured: 39 req/s).
    disable_nagle_algorithm = True
    max_body = 4 * 1024 * 1024   # a DUIS message is kilobytes; refuse anything absurd before reading it
    request_timeout = 5.0        # silence allowed before a new connection's request, or inside any request
    idle_timeout = 30.0          # silence allowed between requests on a keep-alive connection
    body_deadline = 30.0         # the whole body must arrive within this
    body_consumed = False        # set by read_body; an answer to a request whose body was left unread closes
    requests_begun = 0

    def setup(self) -> None:
        self.timeout = self.request_timeout  # StreamRequestHandler applies it to the new socket
        super().setup()

    def handle_one_request(self) -> None:
        if self.requests_begun and not self._await_next_request():
            self.close_connection = True
            return
        self.requests_begun += 1
        # A new connection must begin its request promptly; a kept-alive one has just shown it has.
        self.connection.settimeout(self.request_timeout)
        self.body_consumed = False
        super().handle_one_request()

    def _await_next_request(self) -> bool:
        """Between keep-alive requests: whether the client begins another within idle_timeout. Gives up
        early when the server signals that connections are waiting for a thread."""
        if _has_buffered(self.rfile, self.connection):
            return True  # a pipelined request is already buffered
        poller = select.poll()
        poller.register(self.connection, select.POLLIN | select.POLLPRI)
        saturated = getattr(self.server, "saturated_fd", None)
        if saturated is not None:
            poller.register(saturated, select.POLLIN)
        ready = {fd for fd, _ in poller.poll(self.idle_timeout * 1000)}
        return self.connection.fileno() in ready

    def handle_expect_100(self) -> bool:
        # Refuse a bad length before inviting the client to send the body.
        try:
            body_length(self, self.max_body)
        except BodyRefused as refused:
            self.refuse(refused)
            return False
        return super().handle_expect_100()

    def body(self) -> bytes:
        return read_body(self, self.max_body)

    def refuse(self, refused: BodyRefused) -> None:
        """Answer a request whose body was not read, and close: its unread bytes cannot be framed."""
        self.send_reply(refused.status, f"{refused.reason}\n".encode(), "text/plain", close=True)

    def _declares_body(self) -> bool:
        headers = getattr(self, "headers", None)
        if headers is None:
            return False
        return bool(headers.get_all("Transfer-Encoding")) or any(
            value.strip() != "0" for value in headers.get_all("Content-Length") or [])

    def send_reply(self, status: int, body: bytes = b"", content_type: str | None = None, *, close: bool = False) -> None:
        if not self.body_consumed and self._declares_body():
            close = True  # e.g. a 404 before reading: the unread body must not be taken for the next request
        if close:
            self.close_connection = True
        self.send_response(status)
        if content_type:
            self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        if close:
            self.send_header("Connection", "close")
        self.end_headers()
        if body:
            self.wfile.write(body)


class LimitedHTTPServer(ThreadingHTTPServer):
    """ThreadingHTTPServer with a deep listen backlog and a bounded number of connection threads."""

    request_queue_size = LISTEN_BACKLOG
    daemon_threads = True

    def __init__(self, address: tuple[str, int], handler: type[BaseHTTPRequestHandler],
                 max_connections: int = MAX_CONNECTIONS):
        self.slots = threading.BoundedSemaphore(max_connections)
        self.max_connections = max_connections
        self.stopping = threading.Event()
        # Level-triggered signal to idle keep-alive handlers: a byte is left here while connections wait.
        self._saturated_r, self._saturated_w = socket.socketpair()
        self._saturated_r.setblocking(False)
        self.saturated_fd = self._saturated_r.fileno()
        super().__init__(address, handler)

    def process_request(self, request: socket.socket, client_address: object) -> None:
        # Wait for a free thread before starting one; while waiting, no further connection is accepted
        # and new ones queue in the kernel's backlog. Polling keeps shutdown() able to end the wait.
        if not self.slots.acquire(blocking=False):
            self._saturated_w.send(b"!")  # idle keep-alive connections: make way
            try:
                while not self.slots.acquire(timeout=0.05):
                    if self.stopping.is_set():
                        self.shutdown_request(request)
                        return
            finally:
                try:
                    self._saturated_r.recv(4096)
                except BlockingIOError:
                    pass
        try:
            super().process_request(request, client_address)
        except BaseException:
            self.slots.release()
            raise

    def process_request_thread(self, request: socket.socket, client_address: object) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            self.slots.release()

    def server_close(self) -> None:
        super().server_close()
        self._saturated_r.close()
        self._saturated_w.close()


class BackgroundServer:
    """A LimitedHTTPServer serving from a daemon thread: starts and stops in milliseconds."""

    def __init__(self, handler: type[BaseHTTPRequestHandler], host: str, port: int, name: str,
                 max_connections: int = MAX_CONNECTIONS):
        self.handler, self.host, self.port, self.name = handler, host, port, name
        self.max_connections = max_connections
        self._httpd: LimitedHTTPServer | None = None

    def start(self) -> int:
        """Listen and serve; returns the port (useful when asked for port 0)."""
        self._httpd = LimitedHTTPServer((self.host, self.port), self.handler, self.max_connections)
        self.port = self._httpd.server_address[1]
        # A short poll keeps stop() (shutdown waits for the next poll) to tens of milliseconds, not 0.5 s.
        threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, name=self.name,
                         daemon=True).start()
        return self.port

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.stopping.set()
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None

    @property
    def running(self) -> bool:
        return self._httpd is not None

    @property
    def httpd(self) -> LimitedHTTPServer | None:
        return self._httpd


class PostOnlyHandler(LimitedHandler):
    """A quiet keep-alive handler for services that take POSTed messages and answer with a bare status
    (the Receive Response Service and the response router). Subclasses implement `handle_post`."""

    def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
        try:
            body = self.body()
        except BodyRefused as refused:
            return self.refuse(refused)
        self.answer(self.handle_post(self.path.split("?")[0], body))

    def handle_post(self, path: str, body: bytes) -> int:
        raise NotImplementedError

    def answer(self, status: int) -> None:
        self.send_reply(status)

    def log_message(self, *args: object) -> None:
        pass
