"""A threaded HTTP server running in the background: the emulator and the Receive Response Service
both serve this way (start/stop in milliseconds, one thread per connection, daemon threads)."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class BackgroundServer:
    def __init__(self, handler: type[BaseHTTPRequestHandler], host: str, port: int, name: str):
        self.handler, self.host, self.port, self.name = handler, host, port, name
        self._httpd: ThreadingHTTPServer | None = None

    def start(self) -> int:
        """Listen and serve; returns the port (useful when asked for port 0)."""
        self._httpd = ThreadingHTTPServer((self.host, self.port), self.handler)
        self._httpd.daemon_threads = True
        self.port = self._httpd.server_address[1]
        # A short poll keeps stop() (shutdown waits for the next poll) to tens of milliseconds, not 0.5 s.
        threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, name=self.name,
                         daemon=True).start()
        return self.port

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None

    @property
    def running(self) -> bool:
        return self._httpd is not None


class PostOnlyHandler(BaseHTTPRequestHandler):
    """A quiet keep-alive handler for services that take POSTed messages and answer with a bare status
    (the Receive Response Service and the response router). Subclasses implement `handle_post`."""

    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # see the emulator's handler: Nagle + delayed ACK cost ~40 ms a reply
    max_body = 4 * 1024 * 1024      # a DUIS message is kilobytes; refuse anything absurd before reading it

    def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
        length = int(self.headers.get("Content-Length") or 0)
        if length > self.max_body:
            return self.answer(413)
        self.answer(self.handle_post(self.path.split("?")[0], self.rfile.read(length)))

    def handle_post(self, path: str, body: bytes) -> int:
        raise NotImplementedError

    def answer(self, status: int) -> None:
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass
