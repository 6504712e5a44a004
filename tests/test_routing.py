"""The response router: one receive address for a real target, messages forwarded to the xdist worker
that owns them (by RequestID, else by leased device); nothing anyone owns is kept, never dropped. The
end-to-end test runs user-entry scenarios with -n 2 against an emulator posing as a DCC Boxed kit."""

from __future__ import annotations

import socket
import subprocess
import sys
import textwrap
from pathlib import Path

from duisconf.emulator.server import DCCEmulator
from duisconf.routing import ResponseRouter, RouterClient

ROOT = Path(__file__).resolve().parents[1]
ESME = "00-DB-12-34-56-78-90-A0"
REQUEST_ID = f"90-B3-D5-1F-30-01-00-00:{ESME}:1001"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_messages_go_to_the_owner_of_the_request_id_then_of_the_device():
    router = ResponseRouter("127.0.0.1", 0)
    router.register({"worker": "gw0", "request_id": REQUEST_ID.lower()})
    router.register({"worker": "gw1", "devices": [ESME]})
    response = f"<sr:Response><sr:Header><sr:RequestID>{REQUEST_ID}</sr:RequestID></sr:Header></sr:Response>".encode()
    alert = f"<sr:Response><sr:Header><sr:ResponseID>{ESME}:90-B3-D5-1F-30-01-00-00:7</sr:ResponseID></sr:Header></sr:Response>".encode()
    assert router.owner(response) == "gw0"
    assert router.owner(alert) == "gw1"
    router.register({"worker": "gw1", "released": [ESME]})
    assert router.owner(alert) is None


def test_unowned_messages_and_messages_for_a_dead_worker_are_kept():
    router = ResponseRouter("127.0.0.1", 0)
    router.register({"worker": "gw0", "url": f"http://127.0.0.1:{_free_port()}/duis", "devices": [ESME]})
    assert router.route(b"<nobody/>") == 204
    assert router.route(f"<x>{ESME}</x>".encode()) == 204  # gw0 is not listening any more
    assert router.unrouted == [b"<nobody/>", f"<x>{ESME}</x>".encode()]


def test_registration_is_loopback_json():
    router = ResponseRouter("127.0.0.1", 0).start()
    try:
        RouterClient(router.port, "gw3").expect(REQUEST_ID)
        assert router.request_ids == {REQUEST_ID: "gw3"}
    finally:
        router.stop()


def test_user_entry_scenarios_run_in_parallel_against_a_kit_with_one_receive_address(tmp_path: Path):
    port = _free_port()
    kit = DCCEmulator(port=0, receive_url=f"http://127.0.0.1:{port}/duis").start()
    try:
        target = tmp_path / "kit.toml"
        target.write_text(textwrap.dedent(f"""
            [target]
            name = "kit"
            kind = "dccboxed"
            base_url = "{kit.url}"
            [receiver]
            host = "127.0.0.1"
            port = {port}
            path = "/duis"
            public_url = "http://127.0.0.1:{port}/duis"
            [timeouts]
            on_demand = 10
            alert = 10
            quiet = 0.5
            lease = 20
            [users]
            IS = "90-B3-D5-1F-30-01-00-00"
            ED = "90-B3-D5-1F-30-02-00-00"
            OU = "00-DB-12-34-56-78-00-04"
            [devices]
            ESME = "00-DB-12-34-56-78-90-A0"
            CHF = "00-DB-12-34-56-78-90-A2"
        """))
        run = subprocess.run(
            [sys.executable, "-m", "pytest", "features/test_features.py", "-q", "-p", "no:cacheprovider",
             "-p", "no:hypothesispytest", "-n", "2", "--target", str(target), "-m", "uept",
             "-k", "signed_read_is or each_asynchronous or critical_command_goes or adding_a_device or read_inventory "
                   "or unsigned_request or replayed or not_eligible"],
            cwd=ROOT, capture_output=True, text=True, timeout=300)
        assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
        assert "failed" not in run.stdout and " passed" in run.stdout
    finally:
        kit.stop()
