"""The emulator's outbound side: asynchronous responses and alerts POSTed to each User's Receive
Response Service, as DCC Boxed does (duis.md §3.4, §8.2-8.3).

Every message handed to ``Outbox.send`` gets an ``Outbound`` record that is kept for the life of the
outbox (``history()``): nothing is dropped silently. A message ends either "delivered" (the receiver
answered 2xx; Node-RED answers 204) or "dead" (no Receive Response Service configured, or
``max_attempts`` failed attempts); a message still waiting (for its delay, a retry, or a stopped
outbox) is "pending".

Delivery
 - ``POST <url>`` with ``Content-Type: application/xml`` and the signed DUIS XML as the body. A plain
   ``http://`` URL without user-info goes over one kept-alive ``http.client`` connection per worker and
   receiver (requests cost a third of the emulator's CPU per answered request); anything else (https,
   user-info) through one ``requests.Session`` per worker thread. 2xx is delivered; any other status
   (including 3xx -- redirects are not followed -- and 400, Node-RED's "validation failed") or a
   connection error/timeout is a failed attempt. The URL is resolved with ``resolve_url(recipient)``
   when the message is sent (None: dead at once) and again before every attempt, so a reconfigured
   Receive Response Service is picked up by retries. A URL without a scheme (DCC Boxed's GUI takes
   ``host:port/path``) gets ``http://``. Proxy environment variables are ignored (``trust_env`` off):
   the receiver is the tester's own endpoint, normally on loopback or the local network.
 - Retries: attempt n failed -> the next is due ``backoff * backoff_factor ** (n - 1)`` seconds later.
   After ``max_attempts`` the message is dead, logged at WARNING (recipient, kind, RequestID, last
   error) and listed by ``dead_letters()``.
 - Order: a scheduler (a heap keyed by due time, then send order) feeds the worker threads, which
   sleep on a condition until the next message is due -- no polling. At most one message per
   recipient is in flight at a time, so due messages for the same recipient are delivered in send
   order. A ``delay`` (real seconds before the first attempt; the emulator's device latency and
   out-of-order fault) reorders them on purpose; a retry's back-off can also let a later message
   overtake a failing one. Different recipients are delivered in parallel.
 - Fault hooks: ``send(..., copies=n)`` queues n identical messages (same body; the extra records carry
   ``copy_of``) -- the "duplicate response" fault. To "lose" a message, the emulator simply does not
   call ``send`` (and records that in its own fault log); to deliver late, it passes ``delay``.
 - ``stop()`` wakes idle workers and returns within its timeout even if a worker is in the middle of a
   POST (workers are daemon threads; an in-flight attempt finishes and is recorded). Messages not yet
   delivered stay "pending" and go out after the next ``start()``.

Logging (logger ``duisconf.emulator.delivery``): bodies are never logged; URLs are logged without
user-info or query strings.
"""

from __future__ import annotations

import heapq
import http.client
import itertools
import logging
import math
import select
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from urllib.parse import urlsplit, urlunsplit

import requests

log = logging.getLogger("duisconf.emulator.delivery")

__all__ = ["Outbound", "Outbox"]

PENDING, DELIVERED, DEAD = "pending", "delivered", "dead"


def _utc_now() -> datetime:
    return datetime.now(timezone.utc)


def _with_scheme(url: str) -> str:
    url = url.strip()
    return url if "://" in url else "http://" + url


def _safe_url(url: str | None) -> str:
    """The URL without user-info, query or fragment: safe to log."""
    if not url:
        return "<none>"
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        if parts.port is not None:
            host = f"{host}:{parts.port}"
        return urlunsplit((parts.scheme, host, parts.path, "", ""))
    except ValueError:
        return "<unparseable URL>"


def _recipient_key(recipient: str) -> str:
    return recipient.strip().upper().replace("-", "")


class _PlainHTTP:
    """One worker's kept-alive connections to plain ``http://`` receivers (host, port -> connection)."""

    def __init__(self, timeout: float):
        self.timeout = timeout
        self._connections: dict[tuple[str, int], http.client.HTTPConnection] = {}

    def post(self, url: str, body: bytes) -> tuple[int, str] | None:
        """(status, reason) of POSTing `body` to `url`; None when the URL is not for this path."""
        parts = urlsplit(url)
        if parts.scheme.lower() != "http" or parts.username is not None or parts.password is not None \
                or not parts.hostname:
            return None
        key = (parts.hostname, parts.port or 80)
        connection = self._connections.get(key)
        if connection is not None and _dropped(connection):
            connection.close()  # the receiver closed the idle connection: open a fresh one, as urllib3 does
        if connection is None:
            connection = self._connections[key] = http.client.HTTPConnection(*key, timeout=self.timeout)
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        try:
            connection.request("POST", path, body=body, headers={"Content-Type": "application/xml"})
            response = connection.getresponse()
            response.read()  # drained, so the connection can carry the next message
        except BaseException:
            connection.close()
            raise
        if response.will_close:
            connection.close()
        return response.status, response.reason

    def close(self) -> None:
        for connection in self._connections.values():
            connection.close()
        self._connections.clear()


def _dropped(connection: http.client.HTTPConnection) -> bool:
    """Whether an idle kept-alive connection was closed by the peer (readable means EOF or junk)."""
    sock = connection.sock
    if sock is None:
        return False
    try:
        return bool(select.select([sock], [], [], 0)[0])
    except (OSError, ValueError):
        return True


@dataclass(eq=False)
class Outbound:
    """One message to deliver, and what happened to it. Fields after ``request_id`` are the
    outbox's; it updates them (under its lock) as delivery proceeds."""

    recipient: str  # the User's EUI
    body: bytes = field(repr=False)  # signed DUIS XML
    kind: str = "response"  # "response" | "device-alert" | "dcc-alert" | "future-dated-alert" | ...
    request_id: str | None = None
    id: int = 0  # assigned by the outbox, increasing
    attempts: int = 0
    last_error: str | None = None
    delivered_at: datetime | None = None
    status: str = PENDING  # "pending" | "delivered" | "dead"
    copy_of: int | None = None  # id of the original when this is an injected duplicate
    queued_at: datetime | None = None
    url: str | None = None  # the URL of the last attempt (as resolved)
    errors: list[str] = field(default_factory=list)  # one entry per failed attempt, in order

    def describe(self) -> str:
        rid = f" RequestID {self.request_id}" if self.request_id else ""
        dup = f" (copy of #{self.copy_of})" if self.copy_of is not None else ""
        return f"#{self.id} {self.kind} to {self.recipient}{rid}{dup}"


class Outbox:
    """Queue, deliver, retry and account for every outbound message. Thread-safe."""

    def __init__(self, resolve_url: Callable[[str], str | None], *, workers: int = 4,
                 max_attempts: int = 5, backoff: float = 0.2, backoff_factor: float = 2.0,
                 timeout: float = 5.0, clock: Callable[[], datetime] = _utc_now):
        if workers < 1:
            raise ValueError(f"workers must be at least 1, got {workers}")
        if max_attempts < 1:
            raise ValueError(f"max_attempts must be at least 1, got {max_attempts}")
        if backoff < 0 or backoff_factor < 1 or timeout <= 0:
            raise ValueError("need backoff >= 0, backoff_factor >= 1 and timeout > 0")
        self.resolve_url = resolve_url
        self.workers = workers
        self.max_attempts = max_attempts
        self.backoff = backoff
        self.backoff_factor = backoff_factor
        self.timeout = timeout
        self.clock = clock  # timestamps records (queued_at, delivered_at); e.g. VirtualClock.now
        self._cond = threading.Condition()
        self._records: list[Outbound] = []
        self._queue: list[tuple[float, int, Outbound]] = []  # heap: (due monotonic, id, record)
        self._busy: set[str] = set()  # recipients with a message in flight
        self._ids = itertools.count(1)
        self._threads: list[threading.Thread] = []
        self._generation = 0  # bumped by stop(); a worker of an older generation exits

    # -- lifecycle ----------------------------------------------------------------------------
    def start(self) -> None:
        """Start the worker threads (idempotent)."""
        with self._cond:
            if self._threads:
                return
            generation = self._generation
            self._threads = [
                threading.Thread(target=self._work, args=(generation,), daemon=True,
                                 name=f"duisconf-outbox-{n}")
                for n in range(self.workers)
            ]
            for thread in self._threads:
                thread.start()
        log.debug("outbox started with %d workers", self.workers)

    def stop(self, timeout: float = 2.0) -> None:
        """Stop the workers; pending messages stay pending (visible in ``history()``)."""
        with self._cond:
            threads, self._threads = self._threads, []
            self._generation += 1
            self._cond.notify_all()
        deadline = time.monotonic() + timeout
        for thread in threads:
            if thread is not threading.current_thread():
                thread.join(max(0.0, deadline - time.monotonic()))
        still = [t.name for t in threads if t.is_alive()]
        with self._cond:
            pending = sum(1 for r in self._records if r.status == PENDING)
        log.debug("outbox stopped; %d message(s) pending%s", pending,
                  f"; still finishing an attempt: {', '.join(still)}" if still else "")

    def __enter__(self) -> Outbox:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- queueing -----------------------------------------------------------------------------
    def send(self, message: Outbound | tuple[str, bytes, str, str | None], *, delay: float = 0.0,
             copies: int = 1) -> Outbound:
        """Queue ``message`` (an Outbound, or ``(recipient, body, kind, request_id)``) for delivery
        after ``delay`` real seconds; ``copies`` > 1 queues identical duplicates right behind it.
        Returns the (live) record of the first copy."""
        if isinstance(message, Outbound):
            first = message
        else:
            recipient, body, kind, request_id = message
            first = Outbound(recipient=recipient, body=body, kind=kind, request_id=request_id)
        if isinstance(first.body, (bytearray, memoryview)):
            first.body = bytes(first.body)
        if not isinstance(first.body, bytes):
            raise TypeError(f"an outbound body must be bytes, not {type(first.body).__name__}")
        if not isinstance(first.recipient, str) or not first.recipient.strip():
            raise ValueError("an outbound message needs a recipient EUI")
        if first.request_id is not None and not isinstance(first.request_id, str):
            first.request_id = str(first.request_id)
        if first.id:
            raise ValueError(f"message {first.describe()} has already been queued")
        if not isinstance(copies, int) or copies < 1:
            raise ValueError(f"copies must be a positive integer, got {copies!r}")
        if not math.isfinite(delay) or delay < 0:
            raise ValueError(f"delay must be a finite number of seconds >= 0, got {delay!r}")

        url, error = self._resolve(first.recipient)  # outside our lock: it calls back into the emulator
        now = self.clock()
        due = time.monotonic() + delay
        with self._cond:
            batch = [first] + [Outbound(recipient=first.recipient, body=first.body, kind=first.kind,
                                        request_id=first.request_id) for _ in range(copies - 1)]
            for record in batch:
                record.id = next(self._ids)
                record.copy_of = first.id if record is not first else None
                record.status, record.attempts, record.queued_at = PENDING, 0, now
                record.last_error, record.delivered_at, record.errors = None, None, []
                self._records.append(record)
                if url is None:
                    self._die_locked(record, error)
                else:
                    heapq.heappush(self._queue, (due, record.id, record))
            self._cond.notify_all()
        if url is not None:
            log.debug("queued %s (%d cop%s, delay %.3fs)", first.describe(), copies,
                      "y" if copies == 1 else "ies", delay)
        return first

    def _resolve(self, recipient: str) -> tuple[str | None, str]:
        try:
            url = self.resolve_url(recipient)
        except Exception as exc:
            return None, f"resolving the Receive Response Service for {recipient} failed: " \
                         f"{type(exc).__name__}: {exc}"
        if url is None or not str(url).strip():
            return None, f"no Receive Response Service configured for {recipient}"
        return _with_scheme(str(url)), ""

    # -- inspection ---------------------------------------------------------------------------
    def history(self) -> list[Outbound]:
        """Every message ever queued, in id order (delivered, pending and dead). Live records."""
        with self._cond:
            return list(self._records)

    def dead_letters(self) -> list[Outbound]:
        with self._cond:
            return [r for r in self._records if r.status == DEAD]

    def wait_idle(self, timeout: float) -> bool:
        """Wait until nothing is pending or in flight; False if that did not happen within ``timeout``
        (e.g. a delayed or retrying message, or a stopped outbox)."""
        with self._cond:
            return self._cond.wait_for(lambda: not self._queue and not self._busy, timeout)

    def pending(self, request_id: str | None = None, within: float | None = None) -> list[Outbound]:
        """Messages not yet delivered nor dead: queued (waiting for their delay or a retry) or in flight.
        `request_id`: only those sent for that request (case-insensitive). `within`: only those in flight
        or due within that many real seconds from now."""
        wanted = request_id.upper() if request_id else None
        with self._cond:
            queued = {record.id: due for due, _, record in self._queue}
            limit = None if within is None else time.monotonic() + within
            return [r for r in self._records if r.status == PENDING
                    and (wanted is None or (r.request_id or "").upper() == wanted)
                    and (limit is None or r.id not in queued or queued[r.id] <= limit)]

    def settle(self, within: float, timeout: float) -> bool:
        """Wait until nothing is in flight and nothing queued falls due within `within` real seconds of
        now: what would arrive in that window has arrived, and no more real time than its delivery took
        has been spent. False if that did not happen within `timeout` (e.g. a stopped outbox)."""
        limit = time.monotonic() + within

        def settled() -> bool:
            return not self._busy and not any(due <= limit for due, _, _ in self._queue)

        with self._cond:
            return self._cond.wait_for(settled, timeout)

    # -- workers ------------------------------------------------------------------------------
    def _take_locked(self, now: float) -> tuple[Outbound | None, float | None]:
        """The earliest due message whose recipient has nothing in flight, or how long to sleep."""
        skipped: list[tuple[float, int, Outbound]] = []
        taken: Outbound | None = None
        wait: float | None = None  # None: until notified
        while self._queue:
            due, _, record = self._queue[0]
            if due > now:
                wait = due - now
                break
            entry = heapq.heappop(self._queue)
            if _recipient_key(record.recipient) in self._busy:
                skipped.append(entry)  # keeps its place: same-recipient order is preserved
                continue
            taken = record
            break
        for entry in skipped:
            heapq.heappush(self._queue, entry)
        if taken is not None:
            self._busy.add(_recipient_key(taken.recipient))
        return taken, wait

    def _work(self, generation: int) -> None:
        session = requests.Session()
        session.trust_env = False
        plain = _PlainHTTP(self.timeout)  # this worker's kept-alive http:// connections
        try:
            while True:
                with self._cond:
                    while True:
                        if self._generation != generation:
                            return
                        record, wait = self._take_locked(time.monotonic())
                        if record is not None:
                            break
                        self._cond.wait(wait)
                self._attempt(session, record, plain)
        finally:
            plain.close()
            session.close()

    def _attempt(self, session: requests.Session, record: Outbound, plain: _PlainHTTP | None = None) -> None:
        url, error = self._resolve(record.recipient)
        ok = False
        status: int | None = None
        if url is not None:
            try:
                answer = plain.post(url, record.body) if plain is not None else None
                if answer is None:
                    response = session.post(url, data=record.body, timeout=self.timeout,
                                            headers={"Content-Type": "application/xml"},
                                            allow_redirects=False)
                    answer = response.status_code, response.reason
                    response.close()
                status, reason = answer
                ok = 200 <= status < 300
                if not ok:
                    error = f"HTTP {status} {reason or ''}".rstrip()
            except TimeoutError as exc:  # named as requests names it
                error = f"Timeout: {exc}"
            except (OSError, http.client.HTTPException) as exc:
                error = f"ConnectionError: {type(exc).__name__}: {exc}"
            except requests.RequestException as exc:
                error = f"{type(exc).__name__}: {exc}"
            except Exception as exc:  # a worker must survive anything one attempt throws
                error = f"{type(exc).__name__}: {exc}"
        delivered_at = self.clock() if ok else None
        with self._cond:
            self._busy.discard(_recipient_key(record.recipient))
            record.attempts += 1
            record.url = url
            if ok:
                record.status, record.delivered_at = DELIVERED, delivered_at
                log.debug("delivered %s to %s (HTTP %s, attempt %d)", record.describe(), _safe_url(url),
                          status, record.attempts)
            else:
                record.last_error = error
                record.errors.append(error)
                if url is None or record.attempts >= self.max_attempts:
                    self._die_locked(record, error)
                else:
                    retry_in = self.backoff * self.backoff_factor ** (record.attempts - 1)
                    heapq.heappush(self._queue, (time.monotonic() + retry_in, record.id, record))
                    log.debug("attempt %d of %s to %s failed (%s); retry in %.3fs", record.attempts,
                              record.describe(), _safe_url(url), error, retry_in)
            self._cond.notify_all()

    def _die_locked(self, record: Outbound, error: str) -> None:
        record.status = DEAD
        record.last_error = error
        if not record.errors or record.errors[-1] != error:
            record.errors.append(error)
        log.warning("undeliverable %s message %s for recipient %s (RequestID %s) after %d attempt(s): %s",
                    record.kind, f"#{record.id}", record.recipient, record.request_id or "-",
                    record.attempts, error)
