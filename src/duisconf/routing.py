"""One Receive Response Service address, many xdist workers: the response router for real targets.

A DCC Boxed kit (or a DCC test environment) posts every response and alert to the one URL configured
for the User. With `-n auto` there are several worker processes, each waiting for its own messages. The
xdist controller therefore listens at the configured address and forwards each message, untouched, to
the worker that owns it; each worker runs its own Receive Response Service on a loopback port and does
the validating, verifying and correlating as it would alone. Ownership is registered by the workers:

  - a RequestID, just before the request is sent (responses, future-dated alerts, DCC alerts naming it);
  - a device EUI, while a scenario holds the device's lease (device alerts, DCC alerts naming the device).

A message nobody owns is kept by the router and reported at the end of the run (never dropped). The
embedded emulator needs none of this: every worker has its own emulator posting to its own receiver.

Registration is JSON over HTTP on the router's own port under /_duisconf/ (loopback only).
"""

from __future__ import annotations

import json
import re
import threading

import requests

from .httpserver import BackgroundServer, PostOnlyHandler

_REQUEST_ID = re.compile(rb"[0-9A-Fa-f]{2}(?:-[0-9A-Fa-f]{2}){7}:[0-9A-Fa-f]{2}(?:-[0-9A-Fa-f]{2}){7}:\d+")
_EUI = re.compile(rb"[0-9A-Fa-f]{2}(?:-[0-9A-Fa-f]{2}){7}")


class ResponseRouter:
    def __init__(self, host: str, port: int, path: str = "/duis"):
        self.host, self.port, self.path = host, port, path
        self.workers: dict[str, str] = {}          # worker id -> its receiver URL
        self.request_ids: dict[str, str] = {}      # RequestID (upper) -> worker id
        self.devices: dict[str, str] = {}          # device EUI (upper) -> worker id
        self.unrouted: list[bytes] = []
        self._lock = threading.Lock()
        self._session = requests.Session()
        self._session.trust_env = False
        self._server: BackgroundServer | None = None

    # -- ownership ------------------------------------------------------------------------------
    def owner(self, body: bytes) -> str | None:
        """The worker a message belongs to: by the RequestIDs it names, else by the devices it names."""
        with self._lock:
            for match in _REQUEST_ID.findall(body):
                worker = self.request_ids.get(match.decode().upper())
                if worker:
                    return worker
            for match in _EUI.findall(body):
                worker = self.devices.get(match.decode().upper())
                if worker:
                    return worker
        return None

    def route(self, body: bytes) -> int:
        worker = self.owner(body)
        url = self.workers.get(worker) if worker else None
        if url is None:
            with self._lock:
                self.unrouted.append(body)
            return 204  # accepted and kept: reported at the end of the run
        try:
            return self._session.post(url, data=body, headers={"Content-Type": "application/xml"}, timeout=10).status_code
        except requests.RequestException:
            with self._lock:
                self.unrouted.append(body)  # the worker is gone (crashed): keep the message
            return 204

    def register(self, document: dict) -> None:
        worker = str(document["worker"])
        with self._lock:
            if "url" in document:
                self.workers[worker] = str(document["url"])
            if "request_id" in document:
                self.request_ids[str(document["request_id"]).upper()] = worker
            for eui in document.get("devices", []):
                self.devices[str(eui).upper()] = worker
            for eui in document.get("released", []):
                if self.devices.get(str(eui).upper()) == worker:
                    del self.devices[str(eui).upper()]

    # -- lifecycle ------------------------------------------------------------------------------
    def start(self) -> ResponseRouter:
        router = self

        class Handler(PostOnlyHandler):
            def handle_post(self, path: str, body: bytes) -> int:
                if path == "/_duisconf/register" and self.client_address[0] in ("127.0.0.1", "::1"):
                    try:
                        router.register(json.loads(body))
                    except (ValueError, KeyError, TypeError):
                        return 400
                    return 204
                return router.route(body) if path == router.path else 404

        self._server = BackgroundServer(Handler, self.host, self.port, "response-router")
        self.port = self._server.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop()


class RouterClient:
    """A worker's side: tell the router where this worker listens and what it owns."""

    def __init__(self, router_port: int, worker: str):
        self.url = f"http://127.0.0.1:{router_port}/_duisconf/register"
        self.worker = worker
        self.session = requests.Session()
        self.session.trust_env = False

    def _post(self, document: dict) -> None:
        self.session.post(self.url, json={"worker": self.worker, **document}, timeout=5).raise_for_status()

    def announce(self, receiver_url: str) -> None:
        self._post({"url": receiver_url})

    def expect(self, request_id: str) -> None:
        self._post({"request_id": request_id})

    def hold(self, eui: str) -> None:
        self._post({"devices": [eui]})

    def release(self, euis: list[str]) -> None:
        if euis:
            self._post({"released": euis})
