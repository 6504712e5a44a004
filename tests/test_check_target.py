"""`duisconf check-target`: a ready target passes every check; each way of not being ready is named."""

from __future__ import annotations

import socket
import textwrap

from duisconf.check_target import check_target
from duisconf.cli import main


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_the_embedded_emulator_is_ready(capsys):
    assert main(["check-target", "emulator"]) == 0
    out = capsys.readouterr().out
    for name in ("target file", "schema", "signing key IS", "DUIS endpoints", "receive address"):
        assert f"ok    {name}" in out


def test_a_broken_target_file_is_named_with_its_key(tmp_path, capsys):
    path = tmp_path / "broken.toml"
    path.write_text('[target]\nkind = "dccboxed"\n')
    assert main(["check-target", str(path)]) == 8
    out = capsys.readouterr().out
    assert "FAIL  target file" in out and "broken.toml" in out and "base_url" in out


def test_a_dead_target_fails_at_the_endpoints_and_goes_no_further(tmp_path):
    path = tmp_path / "dead.toml"
    path.write_text(textwrap.dedent(f"""
        [target]
        kind = "dccboxed"
        base_url = "http://127.0.0.1:{_free_port()}"
        [receiver]
        public_url = "http://127.0.0.1:9/duis"
        [users]
        IS = "90-B3-D5-1F-30-01-00-00"
        [devices]
        ESME = "00-DB-12-34-56-78-90-A0"
    """))
    checks = check_target(str(path))
    assert [c.name for c in checks][-1] == "DUIS endpoints"
    assert not checks[-1].ok and "no answer" in checks[-1].detail


def test_an_unreachable_receive_address_is_reported(tmp_path):
    """The emulator is told to post responses to a port nobody listens on: the read is acknowledged but
    its response never reaches us, which is exactly what a wrong public_url on a kit looks like."""
    path = tmp_path / "wrong-receive-url.toml"
    path.write_text(textwrap.dedent(f"""
        [target]
        kind = "emulator"
        [receiver]
        public_url = "http://127.0.0.1:{_free_port()}/duis"
        [timeouts]
        on_demand = 1
        [users]
        IS = "90-B3-D5-1F-30-01-00-00"
        [devices]
        ESME = "00-DB-12-34-56-78-90-A0"
    """))
    checks = {c.name: c for c in check_target(str(path))}
    assert checks["DUIS endpoints"].ok
    assert not checks["receive address"].ok and "reachable from the target" in checks["receive address"].detail
