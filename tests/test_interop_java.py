"""Interoperability with DCC's own Java signing tool (tool.jar of @smartdcc/duis-sign-wrap), the oracle.

Skipped with a visible reason only when no Java runtime exists.
"""

from __future__ import annotations

import subprocess

import pytest

from duisconf import paths
from duisconf.keystore import zaz1
from duisconf.signing import request_trust, sign, verify
from duisconf.errors import SignatureInvalid

pytestmark = pytest.mark.java

STEMS = ["CCS01_8.11_SUCCESS", "ECS17b_4.1.1_SINGLE_SUCCESS", "CS02bSupplierByTransCoS_6.23_IMMEDIATE_SUCCESS",
         "CS02bNOByNO_6.15.1_SUCCESS", "11.1_UPDATE_FIRMWARE", "CS01a_2.2_SUCCESS"]


def _tool(java: str, program: str, data: bytes, *args: str) -> subprocess.CompletedProcess[bytes]:
    command = [java, "-cp", str(paths.signing_tool_jar()), f"uk.co.smartdcc.boxed.xmldsig.{program}", *args, "-"]
    return subprocess.run(command, input=data, capture_output=True, timeout=60)


@pytest.mark.parametrize("stem", STEMS)
def test_dccs_validator_accepts_what_duisconf_signs(java: str, rtds, stem: str):
    result = _tool(java, "Validate", sign(rtds(stem), zaz1()))
    assert result.returncode == 0, result.stderr.decode()
    assert b"passed signature check" in result.stderr


@pytest.mark.parametrize("stem", STEMS)
def test_duisconf_verifies_what_dccs_tool_signs(java: str, rtds, stem: str):
    result = _tool(java, "Sign", rtds(stem), "--preserveCounter")
    assert result.returncode == 0, result.stderr.decode()
    verified = verify(result.stdout, request_trust(zaz1()))
    assert verified.signer is not None


def test_dccs_validator_rejects_a_tampered_duisconf_signature(java: str, rtds):
    tampered = sign(rtds("CCS01_8.11_SUCCESS"), zaz1()).replace(b">Add<", b">Remove<")
    assert _tool(java, "Validate", tampered).returncode != 0


def test_duisconf_rejects_a_tampered_java_signature(java: str, rtds):
    signed = _tool(java, "Sign", rtds("CCS01_8.11_SUCCESS"), "--preserveCounter").stdout
    with pytest.raises(SignatureInvalid, match="changed after signing"):
        verify(signed.replace(b">Add<", b">Remove<"), request_trust(zaz1()))
