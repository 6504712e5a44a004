"""Vocabulary shared by all steps: user roles as the design notes name them, device words, the scenario context."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from functools import lru_cache

import pytest

from duisconf import paths

# User roles as DUIS codes them, spelled as the SEC documents spell them.
ROLES = {
    "Import Supplier": "IS",
    "Export Supplier": "ES",
    "Gas Supplier": "GS",
    "Electricity Distributor": "ED",
    "Gas Transporter": "GT",
    "Registered Supplier Agent": "RSA",
    "Other User": "OU",
}


@lru_cache(maxsize=1)
def reference_identities() -> dict:
    with open(paths.rules_dir() / "reference_identities.toml", "rb") as handle:
        return tomllib.load(handle)


def device_eui(device: str) -> str:
    """The reference EUI of a device named by type ("ESME", "the CHF" …)."""
    kind = device.removeprefix("the ").strip()
    devices = reference_identities()["devices"]
    if kind not in devices:
        raise pytest.UsageError(f"unknown device {device!r}: expected one of {', '.join(devices)}")
    return devices[kind]


@dataclass
class ScenarioContext:
    """What one scenario has done so far: who acts, and the messages it produced."""

    users: dict[str, str] = field(default_factory=dict)  # role code -> EUI
    rendered: bytes | None = None
    signed: bytes | None = None
    srv: str | None = None
    target: str | None = None
    error: Exception | None = None
    exchange: object | None = None  # duisconf.client.Exchange of the last request sent


@pytest.fixture
def context() -> ScenarioContext:
    return ScenarioContext()
