"""The plugin's --target option: a broken target file stops the run with a message naming it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_a_broken_target_stops_the_run_naming_file_and_key(tmp_path: Path):
    broken = tmp_path / "kit.toml"
    broken.write_text("[target]\nkind = 'dccboxed'\n")
    result = subprocess.run([sys.executable, "-m", "pytest", "features",
                             "-q", "-p", "no:cacheprovider", "--target", str(broken), "-k", "signed_read"],
                            cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode != 0
    assert f"{broken}: [target] base_url is required" in result.stdout + result.stderr


def test_emulator_sessions_leave_the_durable_counters_alone(tmp_path: Path, monkeypatch):
    """The embedded emulator remembers nothing between processes: its counters (even a 2.2's UTRN jump)
    come from a throwaway directory, never from the state a kit's replay check depends on."""
    from duisconf.session import DUISSession

    monkeypatch.setenv("DUISCONF_STATE_DIR", str(tmp_path / "state"))
    session = DUISSession("emulator")
    try:
        scratch = Path(session._scratch_counters.name)
        originator = session.target.users["IS"]
        for srv in ("4.1.1", "2.2"):
            exchange = session.client.send(srv, originator=originator, target=session.target.devices["ESME"])
            assert exchange.code in ("I0", "I99"), f"{srv}: {exchange.code}"
        assert any(scratch.iterdir()), "the session's counters were not kept in its own directory"
        assert not (tmp_path / "state" / "counters").exists() or not any((tmp_path / "state" / "counters").iterdir())
    finally:
        session.close()
    assert not scratch.exists(), "the throwaway counters outlived the session"
