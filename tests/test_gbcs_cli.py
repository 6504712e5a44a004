"""``duisconf gbcs decode``: inputs in every spelling, one JSON line per input, exit codes 0 / 4 / 11."""

from __future__ import annotations

import base64
import json
import subprocess
import sys
from pathlib import Path

import pytest
from gbcs_data import RTDS_KEYSTORE, RTDS_ROOT, rtds_message

from duisconf import paths
from duisconf.cli import main

KEYS = ["--keys", str(RTDS_KEYSTORE)]
ECS17B = "ECS17b_4.1.1_SINGLE_SUCCESS_RESPONSE_GBCS.HEX"


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, list[str], str]:
    code = main(["gbcs", "decode", *argv])
    captured = capsys.readouterr()
    return code, captured.out.splitlines(), captured.err


def test_every_input_spelling_gives_the_same_message(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    m = rtds_message(ECS17B)
    spaced = tmp_path / "spaced.hex"
    spaced.write_text(" ".join(m.data[i : i + 4].hex().upper() for i in range(0, len(m.data), 4)) + "\n")
    (tmp_path / "b64.txt").write_text(base64.encodebytes(m.data).decode())  # wrapped at 76 columns
    (tmp_path / "raw.bin").write_bytes(m.data)
    (tmp_path / "response.xml").write_text(
        '<?xml version="1.0"?><sr:Response xmlns:sr="http://www.dccinterface.co.uk/ServiceUserGateway">'
        f"<sr:Body><sr:GBCSPayload>{base64.b64encode(m.data).decode()}</sr:GBCSPayload></sr:Body></sr:Response>"
    )
    files = [str(m.path), str(spaced), str(tmp_path / "b64.txt"), str(tmp_path / "raw.bin"), str(tmp_path / "response.xml")]
    code, lines, err = run([*KEYS, "--json", *files], capsys)
    assert (code, err) == (0, "")
    objects = [json.loads(line) for line in lines]
    assert [o["file"] for o in objects] == files  # in order, one line each
    first = {k: v for k, v in objects[0].items() if k != "file"}
    assert all({k: v for k, v in o.items() if k != "file"} == first for o in objects)
    assert list(first) == ["header", "mac", "signature", "encrypted", "decrypted", "content_hex", "decrypted_hex", "content"]
    assert first["header"]["message_code"] == "0x0027" and first["header"]["originator_counter"] == 1000
    assert (first["mac"], first["signature"], first["encrypted"], first["decrypted"]) == ("valid", "empty", True, True)
    assert first["content"]["kind"] == "dlms"


def test_precommand_in_duis_xml_and_readable_output(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    m = rtds_message("ECS04b_1.5_SUCCESS_PRECOMMAND_GBCS.HEX")
    xml = tmp_path / "precommand.xml"
    xml.write_text(
        '<sr:Response xmlns:sr="http://www.dccinterface.co.uk/ServiceUserGateway"><sr:Body><sr:PreCommand>'
        f"<sr:GBCSVersion>4.0</sr:GBCSVersion><sr:GBCSPayload>{base64.b64encode(m.data).decode()}</sr:GBCSPayload>"
        "</sr:PreCommand></sr:Body></sr:Response>"
    )
    code, lines, _ = run([*KEYS, str(xml)], capsys)
    text = "\n".join(lines)
    assert code == 0
    assert "command 0x00B3" in text and "signature: absent (no signature field)" in text
    assert "mac: absent (general signing only, no MAC envelope)" in text
    assert "content (" in text and "kind=\"dlms\"" in text


def test_undecodable_input_keeps_its_line_and_exits_4(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    m = rtds_message(ECS17B)
    broken = tmp_path / "broken.hex"
    broken.write_text(m.data[:40].hex())
    code, lines, err = run([*KEYS, "--json", str(m.path), str(broken), str(tmp_path / "missing.hex")], capsys)
    assert code == 4
    assert len(lines) == 3
    assert json.loads(lines[0])["mac"] == "valid"
    bad = json.loads(lines[1])
    assert set(bad) == {"file", "error"} and bad["file"] == str(broken)
    assert "byte offset" in bad["error"]
    assert "cannot read" in json.loads(lines[2])["error"]
    assert err.count("\n") == 2 and str(broken) in err.splitlines()[0] and "byte offset" in err.splitlines()[0]


def test_strict_exits_11_on_an_invalid_mac(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    m = rtds_message(ECS17B)
    tampered = tmp_path / "tampered.hex"
    data = bytearray(m.data)
    data[-1] ^= 1  # the last MAC byte
    tampered.write_text(data.hex())
    code, lines, _ = run([*KEYS, "--json", str(tampered)], capsys)
    assert code == 0 and json.loads(lines[0])["mac"] == "invalid"
    code, lines, err = run([*KEYS, "--json", "--strict", str(tampered)], capsys)
    assert code == 11 and "mac: invalid" in err


def test_without_keys_verdicts_say_no_key(capsys: pytest.CaptureFixture[str]) -> None:
    m = rtds_message(ECS17B)
    code, lines, _ = run(["--json", "--strict", str(m.path)], capsys)  # only ZAZ1: no ESME certificate
    out = json.loads(lines[0])
    assert code == 0
    assert (out["mac"], out["decrypted"]) == ("no-key", False)


def test_stdin_and_console_script(capsys: pytest.CaptureFixture[str]) -> None:
    m = rtds_message(ECS17B)
    proc = subprocess.run(
        [sys.executable, "-m", "duisconf.cli", "gbcs", "decode", *KEYS, "--json"],
        input=m.data.hex().encode(), capture_output=True, timeout=60,
        env={"PYTHONPATH": str(paths.PROJECT_ROOT / "src"), "PATH": "/usr/bin:/bin"},
    )
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert out["file"] == "-" and out["mac"] == "valid"
    assert b"Traceback" not in proc.stderr


def test_bad_acb_and_bad_keys_are_one_line_errors(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    m = rtds_message(ECS17B)
    assert main(["gbcs", "decode", "--acb", "nope", str(m.path)]) == 4
    assert "not an EUI-64" in capsys.readouterr().err
    assert main(["gbcs", "decode", "--keys", str(tmp_path / "none"), str(m.path)]) == 5
    assert "key directory not found" in capsys.readouterr().err
    assert RTDS_ROOT.is_dir()
