"""A bounded fuzz run: malformed and mangled requests over HTTP never crash the emulator; every one
gets an HTTP answer, and a well-formed request is still served afterwards."""

from __future__ import annotations

import time

import pytest
import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from duisconf.emulator.server import DCCEmulator
from duisconf.keystore import zaz1
from duisconf.render import render_request
from duisconf.signing import sign

VALID = sign(render_request("8.11", counter=1_000), zaz1())


@pytest.fixture(scope="module")
def dcc():
    with DCCEmulator(port=0) as emulator:
        yield emulator


def mangle(data: bytes, position: int, action: str, noise: bytes) -> bytes:
    position %= len(data)
    if action == "flip":
        return data[:position] + bytes([data[position] ^ 0xFF]) + data[position + 1:]
    if action == "cut":
        return data[:position]
    if action == "insert":
        return data[:position] + noise + data[position:]
    return data[:position] + data[position + len(noise) + 1:]


MANGLED = st.builds(mangle, st.just(VALID), st.integers(0, len(VALID)), st.sampled_from(["flip", "cut", "insert", "drop"]),
                    st.binary(max_size=16))
HOSTILE = st.sampled_from([b"", b"<", b"\x00\xff", b'<!DOCTYPE x [<!ENTITY a "b">]><x>&a;</x>',
                           b"<sr:Request xmlns:sr='http://www.dccinterface.co.uk/ServiceUserGateway'/>",
                           b"<?xml version='1.0' encoding='UTF-16'?><a/>", b"<a>" * 5000])


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=st.one_of(MANGLED, HOSTILE, st.binary(max_size=300)),
       service=st.sampled_from(["serviceS", "serviceT", "serviceD"]))
def test_the_server_answers_every_malformed_request(dcc: DCCEmulator, body: bytes, service: str):
    reply = requests.post(f"{dcc.url}/api/v1/{service}", data=body, headers={"Content-Type": "application/xml"}, timeout=10)
    assert reply.status_code in (200, 400), reply.text[:300]
    assert reply.headers["Content-Type"] == "application/xml"


def test_still_serving_after_the_fuzz_run(dcc: DCCEmulator):
    fresh = sign(render_request("4.1.1", counter=int(time.time() * 1000) * 3), zaz1())
    reply = requests.post(f"{dcc.url}/api/v1/serviceS", data=fresh, timeout=10)
    assert reply.status_code == 200 and b">I99<" in reply.content
