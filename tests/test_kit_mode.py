"""Kit mode: the design-note and UEPT features against an emulator that poses as a DCC Boxed kit.

The emulator runs on its own (no control plane, so nothing the physical world does can be arranged), the
target file is of kind ``dccboxed`` with the kit's SMKI interface for device certificates and timeouts
scaled down, and the scenarios run as they would against a kit, with one receive address and ``-n 2``.
Every scenario must end pass, or inconclusive because a precondition only the physical world (or the
emulator's control plane) can arrange is missing — never fail or error. docs/kit-mode.md lists which
scenarios need the physical world and why.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import textwrap
import xml.etree.ElementTree as ET
from collections import Counter
from pathlib import Path

from duisconf.emulator.server import DCCEmulator

ROOT = Path(__file__).resolve().parents[1]
PRECONDITION = "PreconditionNotMet"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _kit_target(path: Path, kit: DCCEmulator, port: int) -> None:
    path.write_text(textwrap.dedent(f"""
        [target]
        name = "kit"
        kind = "dccboxed"
        base_url = "{kit.url}"
        [smki]
        base_url = "{kit.smki_url}"
        [receiver]
        host = "127.0.0.1"
        port = {port}
        path = "/duis"
        public_url = "http://127.0.0.1:{port}/duis"
        [timeouts]          # a kit's, scaled down: the emulator answers in milliseconds
        acknowledgement = 10
        on_demand = 5
        future_dated = 5
        alert = 3
        quiet = 0.3
        lease = 20
        [users]
        IS = "90-B3-D5-1F-30-01-00-00"
        GS = "90-B3-D5-1F-30-01-00-00"
        ES = "90-B3-D5-1F-30-01-00-00"
        ED = "90-B3-D5-1F-30-02-00-00"
        GT = "90-B3-D5-1F-30-02-00-00"
        OU = "00-DB-12-34-56-78-00-04"
        [devices]
        ESME = "00-DB-12-34-56-78-90-A0"
        GSME = "00-DB-12-34-56-78-90-A1"
        CHF = "00-DB-12-34-56-78-90-A2"
        GPF = "00-DB-12-34-56-78-90-A3"
        PPMID = "00-DB-12-34-56-78-90-A4"
        HCALCS = "00-DB-12-34-56-78-90-A5"
        IHD = "00-DB-12-34-56-78-90-A7"
    """))


def test_design_note_and_uept_scenarios_pass_or_are_inconclusive_on_a_kit(tmp_path: Path):
    port = _free_port()
    kit = DCCEmulator(port=0, receive_url=f"http://127.0.0.1:{port}/duis").start()  # no control plane
    try:
        assert kit.smki_url, "the kit's SMKI interface is not served"
        target, junit = tmp_path / "kit.toml", tmp_path / "junit.xml"
        _kit_target(target, kit, port)
        run = subprocess.run(
            [sys.executable, "-m", "pytest", "features/test_features.py", "-q", "-p", "no:cacheprovider",
             "-p", "no:hypothesispytest", "-n", "2", "--target", str(target), "-k", "design_notes or uept",
             f"--junitxml={junit}", "-o", "addopts="],
            cwd=ROOT, capture_output=True, text=True, timeout=600)
    finally:
        kit.stop()
    assert junit.exists(), run.stdout[-3000:] + run.stderr[-2000:]
    verdicts: Counter[str] = Counter()
    wrong = []
    for case in ET.parse(junit).iter("testcase"):
        props = {p.get("name"): p.get("value") for p in case.iter("property")}
        verdict = props.get("verdict")
        verdicts[verdict] += 1
        failure = case.find("failure")
        error = case.find("error")
        if error is not None:
            wrong.append(f"{case.get('name')}: error {(error.get('message') or '')[:400]}")
        elif verdict == "pass":
            assert failure is None
        elif verdict == "inconclusive" and failure is not None and PRECONDITION in (failure.get("message") or ""):
            continue
        else:
            message = (failure.get("message") or "")[:600] if failure is not None else ""
            wrong.append(f"{case.get('name')}: verdict {verdict}: {message}")
    print(f"kit mode: {dict(verdicts)}")
    assert not wrong, "\n".join(wrong)
    # the run covered the two feature folders and something really ran end to end on the kit
    assert sum(verdicts.values()) >= 90, verdicts
    assert verdicts["pass"] >= 20, verdicts
