"""Shared fixtures for duisconf's own tests. Tests never touch the user's real state directory."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from duisconf import paths
from duisconf.duis.schema import load_schema
from duisconf.emulator.server import DCCEmulator
from duisconf.keystore import zaz1
from duisconf.receiver import ReceiveResponseService
from duisconf.signing import response_trust


@pytest.fixture(autouse=True)
def _isolated_state(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DUISCONF_STATE_DIR", str(tmp_path_factory.mktemp("state")))


@pytest.fixture(scope="session")
def rtds_dir() -> Path:
    return paths.rtds_templates_dir()


@pytest.fixture(scope="session")
def rtds(rtds_dir: Path):
    """Read one of DCC's RTDS request templates (GPL data, used as an oracle, never copied)."""

    def read(stem: str) -> bytes:
        return (rtds_dir / f"{stem}_REQUEST_DUIS.XML").read_bytes()

    return read


@pytest.fixture(scope="session")
def java() -> str:
    exe = shutil.which("java")
    if exe is None:
        pytest.skip("no Java runtime: DCC's signing tool (the interop oracle) cannot run here")
    return exe


@pytest.fixture(scope="session")
def dcc_tool(java: str):
    """DCC's signing tool run in batches in one JVM (tests/dcc_java.py), compiled once into the cache."""
    javac = shutil.which("javac")
    if javac is None:
        pytest.skip("no javac: the batch driver for DCC's signing tool (tests/java/BatchTool.java) cannot be built")
    from dcc_java import DCCTool

    return DCCTool.build(java, javac)


@pytest.fixture
def receiver():
    """A real Receive Response Service trusting DCC's response-signing certificates."""
    with ReceiveResponseService(response_trust(zaz1()), load_schema()) as service:
        yield service


@pytest.fixture
def dcc(receiver: ReceiveResponseService):
    """An embedded emulator that POSTs its asynchronous messages to `receiver`."""
    with DCCEmulator(port=0, receive_url=receiver.url) as emulator:
        yield emulator
