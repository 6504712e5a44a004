"""The DUIS client against the emulator: one call per service request (critical ones included),
counters that reach the DCC in order under concurrency, and a dead target reported as unreachable."""

from __future__ import annotations

import socket
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from duisconf.client import DUISClient, TargetReplyInvalid, TargetUnavailable
from duisconf.counters import CounterAuthority
from duisconf.duis.schema import load_schema
from duisconf.keystore import zaz1
from duisconf.signing import response_trust

SUPPLIER, OPERATOR = "90-B3-D5-1F-30-01-00-00", "90-B3-D5-1F-30-02-00-00"
ESME = "00-DB-12-34-56-78-90-A0"


def client_for(url: str, tmp_path: Path) -> DUISClient:
    return DUISClient(url, keystore=zaz1(), trust=response_trust(zaz1()), schema=load_schema(),
                      counters=CounterAuthority(tmp_path / "counters"), timeout=5)


def test_a_non_critical_request_is_acknowledged_then_answered(dcc, receiver, tmp_path: Path):
    exchange = client_for(dcc.url, tmp_path).send("4.1.1", originator=SUPPLIER, target=ESME)
    assert exchange.code == "I99" and len(exchange.legs) == 1
    assert receiver.response(str(exchange.request_id), 5).code == "I0"


def test_a_critical_request_is_one_call_through_transform_and_signed_precommand(dcc, receiver, tmp_path: Path):
    exchange = client_for(dcc.url, tmp_path).send("8.1.1", originator=SUPPLIER, target=ESME)
    assert [leg.service for leg in exchange.legs] == ["serviceT", "serviceS"]
    assert [leg.code for leg in exchange.legs] == ["I0", "I99"]
    assert receiver.response(str(exchange.request_id), 5).code == "I0"


def test_concurrent_senders_for_one_originator_never_trip_the_replay_check(dcc, receiver, tmp_path: Path):
    """Workers share one counter authority; reserve() keeps allocation and arrival in the same order."""
    client = client_for(dcc.url, tmp_path)
    with ThreadPoolExecutor(6) as pool:
        codes = list(pool.map(lambda _: client.send("11.2", originator=SUPPLIER, target=ESME).code, range(30)))
    assert codes == ["I99"] * 30


def test_a_dead_target_is_unavailable_not_failed(tmp_path: Path):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # nothing listens here once the probe is closed
    with pytest.raises(TargetUnavailable, match="no answer"):
        client_for(f"http://127.0.0.1:{port}", tmp_path).send("4.1.1", originator=SUPPLIER, target=ESME)


def test_a_reply_that_is_not_duis_is_reported(receiver, tmp_path: Path):
    # the receiver answers POSTs to unknown paths with an empty 404: not a DUIS reply
    with pytest.raises(TargetReplyInvalid, match="not a DUIS reply"):
        client_for(receiver.url.rsplit("/", 1)[0], tmp_path).send("4.1.1", originator=SUPPLIER, target=ESME)


def test_tls_verification_cannot_be_turned_off():
    """A target is verified against its CA or the default store; DUISClient refuses verify_tls=False."""
    from duisconf.errors import ConfigError

    with pytest.raises(ConfigError, match="TLS verification stays on"):
        DUISClient("https://127.0.0.1:1", keystore=None, trust=None, schema=None, counters=None, verify_tls=False)
