"""Emulator benchmark: signed SRV 4.1.1 requests per second on one core, and the median full CV 1 round
trip (POST → I99 → asynchronous I0 at the Receive Response Service), with the devices' real GBCS (ECS17b:
encrypted register, MAC); plus the in-process cost of building that GBCS response.

The emulator runs standalone in its own process pinned to one CPU (`taskset`), the client and the
Receive Response Service in this process on another; requests are signed before timing starts.
Goals from issue 11: ≥ 600 requests/s, round trip ≤ 2 ms median (on an otherwise idle machine: other
load on the two cores moves both numbers by ±30 %).

    ./dev bench-emulator [--requests N]
"""

from __future__ import annotations

import argparse
import os
import queue
import shutil
import socket
import statistics
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import requests

from duisconf.httpserver import BackgroundServer, PostOnlyHandler
from duisconf.keystore import zaz1
from duisconf.render import render_request
from duisconf.signing import sign


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Receiver:
    def __init__(self) -> None:
        self.arrived: queue.Queue[float] = queue.Queue()
        arrived = self.arrived

        class Handler(PostOnlyHandler):
            def handle_post(self, path: str, body: bytes) -> int:
                arrived.put(time.perf_counter())
                return 204

        self.server = BackgroundServer(Handler, "127.0.0.1", 0, "bench-receiver")
        self.url = f"http://127.0.0.1:{self.server.start()}/duis"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=1000, help="requests for the throughput run")
    parser.add_argument("--round-trips", type=int, default=200)
    args = parser.parse_args()

    pin_server, pin_client = ([ "taskset", "-c", "0"], "1") if shutil.which("taskset") and os.cpu_count() and os.cpu_count() > 1 else ([], None)
    if pin_client:
        os.sched_setaffinity(0, {int(pin_client)})
    receiver = Receiver()
    port = free_port()
    server = subprocess.Popen([*pin_server, sys.executable, "-m", "duisconf.cli", "emulator", "--port", str(port),
                               "--receive-url", receiver.url], stderr=subprocess.PIPE, text=True)
    try:
        while "DCC emulator on" not in (server.stderr.readline() or "DCC emulator on"):
            pass
        threading.Thread(target=lambda: server.stderr.read(), daemon=True).start()  # keep its log pipe drained
        base = f"http://127.0.0.1:{port}/api/v1/serviceS"
        counter = int(time.time() * 1000) * 4
        total = args.requests + args.round_trips + 20
        print(f"signing {total} requests…", file=sys.stderr)
        signed = [sign(render_request("4.1.1", counter=counter + n), zaz1()) for n in range(20 + args.round_trips)]
        # Counters must reach the DCC in increasing order per originator, so the throughput run uses one
        # sequential stream per originator: the supplier (IS) and the network operator (ED) of the ESME.
        streams = [[sign(render_request("4.1.1", originator=originator, counter=counter + 10**6 + n), zaz1())
                    for n in range(args.requests // 2)]
                   for originator in ("90-B3-D5-1F-30-01-00-00", "90-B3-D5-1F-30-02-00-00")]
        session = requests.Session()
        for body in signed[:20]:  # warm up connections, caches and the server's schema
            session.post(base, data=body, timeout=10)
        for _ in range(20):
            receiver.arrived.get(timeout=10)

        # Round trip: one request at a time, POST until its asynchronous response arrives.
        trips = []
        for body in signed[20:20 + args.round_trips]:
            started = time.perf_counter()
            reply = session.post(base, data=body, timeout=10)
            assert b">I99<" in reply.content, reply.content[:300]
            trips.append((receiver.arrived.get(timeout=10) - started) * 1000)

        # Throughput: one client thread per originator keeps the one-core server busy; the clock stops
        # when every asynchronous response has arrived.
        def post_stream(stream: list[bytes]) -> list[bytes]:
            with requests.Session() as own:
                return [own.post(base, data=body, timeout=30).content for body in stream]

        cpu_before = _cpu_seconds(server.pid)
        started = time.perf_counter()
        with ThreadPoolExecutor(len(streams)) as pool:
            acks = [a for replies in pool.map(post_stream, streams) for a in replies]
        assert all(b">I99<" in a for a in acks), "some requests were refused"
        batch = acks
        for _ in batch:
            receiver.arrived.get(timeout=30)
        elapsed = time.perf_counter() - started
        cpu = _cpu_seconds(server.pid) - cpu_before
    finally:
        server.terminate()
        server.wait(timeout=10)

    gbcs_ms = gbcs_response_ms()
    rate = len(batch) / elapsed
    print(f"emulator on {'one pinned core' if pin_server else 'unpinned cores'}, SRV 4.1.1, signed before timing")
    print(f"throughput   {rate:8.1f} requests/s (acknowledged and answered asynchronously)   goal ≥ {GOAL_RATE}: "
          f"{'met' if rate >= GOAL_RATE else 'MISSED'}")
    if cpu_before >= 0:
        print(f"emulator CPU {cpu / len(batch) * 1000:8.3f} ms a request ({cpu / elapsed:.0%} of its core busy)")
    median = statistics.median(trips)
    print(f"round trip   {median:8.2f} ms median, p90 {statistics.quantiles(trips, n=10)[-1]:.2f} ms          "
          f"goal ≤ {GOAL_TRIP_MS} ms: {'met' if median <= GOAL_TRIP_MS else 'MISSED'}")
    print(f"GBCS         {gbcs_ms:8.3f} ms median to build the ECS17b response (content, encryption, MAC), warm keys")
    return 0 if rate >= GOAL_RATE and median <= GOAL_TRIP_MS else 1


GOAL_RATE, GOAL_TRIP_MS = 600, 2.0


def _cpu_seconds(pid: int) -> float:
    """User + system CPU of a process so far (Linux /proc; -1 elsewhere)."""
    try:
        fields = open(f"/proc/{pid}/stat", encoding="ascii").read().rsplit(")", 1)[1].split()
    except OSError:
        return -1.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def gbcs_response_ms(runs: int = 300) -> float:
    """Median time to build one device response as the emulator does (DeviceMessages.response), in process."""
    from types import SimpleNamespace

    from duisconf.duis.model import RequestID
    from duisconf.emulator.clock import VirtualClock
    from duisconf.emulator.device_messages import DeviceMessages
    from duisconf.emulator.identities import for_seed
    from duisconf.emulator.state import Inventory
    from duisconf.rules import load_catalogue

    inventory = Inventory.reference()
    messages = DeviceMessages(for_seed(), inventory)
    esme, supplier = "00-DB-12-34-56-78-90-A0", "90-B3-D5-1F-30-01-00-00"
    request = SimpleNamespace(device=inventory.device(esme), rule=load_catalogue().srv("4.1.1"),
                              user=inventory.user(supplier), request_id=RequestID(supplier, esme, 1 << 40), srv="4.1.1")
    now = VirtualClock().now()
    messages.response(request, {"import_register": 1}, now)  # shapes, keys, ECDH warm
    times = []
    for n in range(runs):
        started = time.perf_counter()
        messages.response(request, {"import_register": n}, now)
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


if __name__ == "__main__":
    sys.exit(main())
