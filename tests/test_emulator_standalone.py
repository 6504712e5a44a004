"""The emulator as a standalone program (`duisconf emulator`) and its configuration file."""

from __future__ import annotations

import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from duisconf.emulator.config import load_config
from duisconf.errors import ConfigError
from duisconf.keystore import zaz1
from duisconf.render import render_request
from duisconf.signing import sign


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "emulator.toml"
    path.write_text(text)
    return path


@pytest.mark.parametrize("text, message", [
    ("[emulator]\nprot = 1\n", r"\[emulator\] unknown key 'prot'"),
    ("[emulator]\nport = 'x'\n", r"\[emulator\] port = 'x' has the wrong type"),
    ("[[users]]\neui = '90-B3-D5-1F-30-05-00-00'\nroles = ['XX']\n", r"\[\[users\]\] #1 roles has unknown role\(s\) XX"),
    ("[[devices]]\neui = 'nope'\ntype = 'ESME'\n", r"\[\[devices\]\] #1 eui = 'nope' is not an EUI-64"),
    ("[[devices]]\neui = '00-DB-12-34-56-78-90-C0'\ntype = 'TOASTER'\n", r"type = 'TOASTER'"),
    ("[emulator\n", "not valid TOML"),
])
def test_config_errors_name_the_file_entry_and_key(tmp_path: Path, text: str, message: str):
    path = write(tmp_path, text)
    with pytest.raises(ConfigError, match=message) as failure:
        load_config(path)
    assert str(path) in str(failure.value)


def test_config_adds_users_and_devices_to_the_reference_inventory(tmp_path: Path):
    config = load_config(write(tmp_path, """
[emulator]
port = 0
receive_url = "http://127.0.0.1:1880/smartdcc/duis"
[[users]]
eui = "90-B3-D5-1F-30-05-00-00"
roles = ["GS"]
[[devices]]
eui = "00-db-12-34-56-78-90-c0"
type = "GSME"
status = "Pending"
"""))
    inventory = config.inventory()
    assert inventory.user("90-B3-D5-1F-30-05-00-00").roles == {"GS"}
    assert inventory.device("00-DB-12-34-56-78-90-C0").status == "Pending"
    assert inventory.device("00-DB-12-34-56-78-90-A0") is not None, "the reference devices stay"


def test_standalone_emulator_serves_dcc_boxed_paths_and_stops_on_sigterm(tmp_path: Path):
    process = subprocess.Popen([sys.executable, "-m", "duisconf.cli", "emulator", "--port", "0",
                                "--receive-url", "http://127.0.0.1:9/unreachable"],
                               stderr=subprocess.PIPE, text=True)
    try:
        url = None
        deadline = time.monotonic() + 20
        while url is None and time.monotonic() < deadline:
            line = process.stderr.readline()
            match = re.search(r"DCC emulator on (http://[\d.:]+)/api", line)
            url = match.group(1) if match else None
        assert url, "the emulator did not say where it listens"
        request = sign(render_request("4.1.1", counter=int(time.time() * 1000)), zaz1())
        reply = requests.post(f"{url}/api/v1/serviceS", data=request, headers={"Content-Type": "application/xml"}, timeout=10)
        assert reply.status_code == 200 and b"<sr:ResponseCode>I99</sr:ResponseCode>" in reply.content
        # A malformed Content-Length is one line naming the field, never a traceback (it used to be one).
        host, port = url.split("//")[1].split(":")
        with socket.create_connection((host, int(port)), timeout=5) as sock:
            sock.sendall(b"POST /api/v1/serviceS HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n")
            answer = b""
            while chunk := sock.recv(4096):
                answer += chunk
        head, _, body = answer.partition(b"\r\n\r\n")
        assert head.split(b"\r\n")[0].split()[1:2] == [b"400"], f"no 400 answer: {answer!r}"
        assert body == b"Content-Length 'abc' is not one non-negative decimal number\n"
    finally:
        process.terminate()
        assert process.wait(timeout=10) == 0
    assert "Traceback" not in process.stderr.read()
