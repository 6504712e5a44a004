"""The fault switchboard: misbehaviour switched on per SRV and/or device, for tests of the suite itself.

A fault rule matches requests by SRV and/or device EUI (absent = any) and says what goes wrong:

  latency    asynchronous messages leave `seconds` later (real time)
  drop       the asynchronous response is lost (alerts still arrive)
  duplicate  the asynchronous response arrives twice
  reorder    the response is held back `seconds` (default 0.3) so the alerts overtake it
  error      the device answers with `code` instead of acting (E20 cannot communicate, E21 no response)
  offline    the device does not answer: asynchronous E21
  no_wan     the hub has no SM WAN: asynchronous E20
  misbehave  a deliberately wrong device or DCC model, named by `rule` (see `MISBEHAVIOURS`): how the
             suite's own tests prove a feature fails, naming the broken rule, when the target is wrong

`count` limits how many requests a rule applies to (absent = every matching request).
"""

from __future__ import annotations

import threading
from dataclasses import asdict, dataclass

from ..duis.model import normalise_eui
from ..errors import InvalidInput

KINDS = ("latency", "drop", "duplicate", "reorder", "error", "offline", "no_wan", "misbehave")
# rule name -> what goes wrong; each effects module registers its own with `misbehaviour(...)`.
MISBEHAVIOURS: dict[str, str] = {}


def misbehaviour(rule: str, description: str) -> str:
    """Register a deliberately wrong behaviour a `misbehave` fault can switch on; returns the rule name."""
    MISBEHAVIOURS[rule] = description
    return rule
FAILURE_CODES = {"offline": "E21", "no_wan": "E20"}


@dataclass
class Fault:
    kind: str
    srv: str | None = None
    device: str | None = None
    seconds: float = 0.0
    code: str | None = None
    count: int | None = None
    rule: str | None = None
    applied: int = 0

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise InvalidInput(f"unknown fault kind {self.kind!r} (expected one of {', '.join(KINDS)})")
        if self.kind == "misbehave" and self.rule not in MISBEHAVIOURS:
            raise InvalidInput(f"unknown misbehaviour {self.rule!r} (known: {', '.join(sorted(MISBEHAVIOURS)) or 'none'})")
        if self.kind == "error" and self.code not in ("E20", "E21"):
            raise InvalidInput("an 'error' fault needs code E20 or E21")
        if self.device:
            self.device = normalise_eui(self.device)

    def matches(self, srv: str, device: str | None) -> bool:
        if self.count is not None and self.applied >= self.count:
            return False
        return (self.srv in (None, srv)) and (self.device is None or self.device == device)


@dataclass
class Effects:
    """What the switchboard decided for one request."""

    failure_code: str | None = None
    delay: float = 0.0
    response_delay: float = 0.0
    drop_response: bool = False
    response_copies: int = 1


class FaultSwitchboard:
    def __init__(self) -> None:
        self._rules: list[Fault] = []
        self._lock = threading.Lock()

    def add(self, fault: Fault | dict) -> Fault:
        rule = fault if isinstance(fault, Fault) else Fault(**fault)
        with self._lock:
            self._rules.append(rule)
        return rule

    def clear(self) -> None:
        with self._lock:
            self._rules.clear()

    def rules(self) -> list[dict]:
        with self._lock:
            return [asdict(rule) for rule in self._rules]

    def misbehaving(self, rule: str, device: str | None = None) -> bool:
        """Whether the misbehaviour `rule` is switched on (for `device`, when the fault names one)."""
        device = normalise_eui(device) if device else None
        with self._lock:
            return any(f.kind == "misbehave" and f.rule == rule and (f.device is None or f.device == device)
                       for f in self._rules)

    def decide(self, srv: str, device: str | None) -> Effects:
        effects = Effects()
        with self._lock:
            for rule in self._rules:
                if rule.kind == "misbehave" or not rule.matches(srv, device):
                    continue
                rule.applied += 1
                if rule.kind == "latency":
                    effects.delay += rule.seconds
                elif rule.kind == "drop":
                    effects.drop_response = True
                elif rule.kind == "duplicate":
                    effects.response_copies = 2
                elif rule.kind == "reorder":
                    effects.response_delay += rule.seconds or 0.3
                elif rule.kind == "error":
                    effects.failure_code = rule.code
                else:
                    effects.failure_code = FAILURE_CODES[rule.kind]
        return effects
