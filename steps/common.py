"""Vocabulary shared by all steps: user roles as the design notes name them, device words, the scenario
context, and the helpers every step module uses to name users and devices, send, and keep evidence."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from datetime import datetime, timezone
from functools import lru_cache

import pytest

from duisconf import paths
from duisconf.errors import PreconditionNotMet

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
ROLE_NAMES = "|".join(ROLES)
DEVICE_TYPES = ("ESME", "GSME", "CHF", "GPF", "PPMID", "IHD", "HCALCS", "CAD")
DEVICE = rf"(?P<device>{'|'.join(DEVICE_TYPES)})"


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
    """What one scenario has done so far: who acts, which devices it uses, and what it sent and got."""

    users: dict[str, str] = field(default_factory=dict)    # role code -> EUI (overrides the target file)
    devices: dict[str, str] = field(default_factory=dict)  # device type -> EUI (overrides the target file)
    rendered: bytes | None = None
    signed: bytes | None = None
    srv: str | None = None
    target: str | None = None
    error: Exception | None = None
    exchange: object | None = None      # duisconf.client.Exchange of the last request sent
    exchanges: list = field(default_factory=list)  # every Exchange, in order
    sent_at: float = 0.0                # time.monotonic() when the last request left
    inbound: object | None = None       # the last asynchronous message a step claimed
    execution: str | None = None        # ExecutionDateTime of the last future-dated request

    @property
    def request_id(self) -> str:
        assert self.exchange is not None, "no request has been sent in this scenario yet"
        return str(self.exchange.request_id)


def acknowledged(exchange) -> bool:
    """The target took the request on (I99, I0, or a success with a W warning): what DUIS or the design
    note says follows it is now required, and its absence a fail (docs/harness.md, "Verdicts")."""
    return exchange is not None and bool(exchange.legs) and exchange.code[:1] in ("I", "W")


@pytest.fixture
def context() -> ScenarioContext:
    return ScenarioContext()


# -- naming users and devices ---------------------------------------------------------------------

def user_eui(context: ScenarioContext, duis, role: str) -> str:
    """The EUI acting in `role` (a role name such as "Import Supplier"): the scenario's, else the target's."""
    code = ROLES[role]
    eui = context.users.get(code) or duis.target.users.get(code)
    if not eui:
        raise PreconditionNotMet(f"the target file names no {role} ({code}) in [users]")
    return eui


def device_of(context: ScenarioContext, duis_scenario, kind: str) -> str:
    """The EUI of the scenario's `kind` device (its own, else the target file's), leased for the scenario."""
    eui = context.devices.get(kind) or duis_scenario.session.target.devices.get(kind)
    if not eui:
        raise PreconditionNotMet(f"the target file names no {kind} in [devices]")
    return duis_scenario.device(eui)


def control_of(duis, purpose: str):
    """The emulator's control plane, for arranging a precondition only an emulator can arrange (a
    physical action, a clock, a fault). On a real target the scenario is inconclusive, not failed."""
    if duis.control is None:
        # what the scenario's requests caused is still in flight: let it arrive while this scenario owns it
        # (its accounting), so it never lands on the next scenario holding the same devices
        duis.receiver.nothing_more(duis.target.timeouts.quiet)
        raise PreconditionNotMet(f"{purpose} can only be arranged on the embedded emulator "
                                 f"(target {duis.target.name} is a {duis.target.kind})")
    return duis.control


def target_now(duis) -> datetime:
    """The target's idea of now: the emulator's virtual clock, or UTC for a real DCC."""
    if duis.control is not None:
        return datetime.fromisoformat(duis.control.state()["now"])
    return datetime.now(timezone.utc)


def params_of(text: str | None) -> dict[str, str]:
    """`Name "value" and Other "value"` -> {"Name": "value", "Other": "value"}."""
    import re

    if not text:
        return {}
    pairs = re.findall(r'(\w+) "([^"]*)"', text)
    rest = re.sub(r'(\w+) "([^"]*)"', "", text).replace(",", " ").replace(" and ", " ").strip()
    if rest:
        raise pytest.UsageError(f'cannot read parameters {text!r}: write Name "value" and Other "value"')
    return dict(pairs)


def record(context: ScenarioContext, duis, exchange, srv: str, target: str | None, started: float) -> None:
    """Keep the exchange as the scenario's last and attach it as evidence."""
    from duisconf.evidence import attach_exchange

    context.exchange, context.srv, context.target = exchange, srv, target
    context.exchanges.append(exchange)
    context.sent_at = started
    attach_exchange(exchange, duis.base_url)
