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
