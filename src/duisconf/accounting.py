"""The accounting of the messages a scenario caused: every asynchronous message the target sent while the
scenario ran is claimed by a step, expected but not asserted, or unexpected (docs/harness.md, "Verdicts").

"Expected but not asserted" comes from two places:
 - DUIS itself (built in, conf V): an acknowledged request is answered once (duis.md §3.4); a future-dated
   request is actioned or not with one future-dated alert (duis.md §1.5); a DCC schedule sends one
   scheduled message per run to the user that created it;
 - rules/expected_messages.toml: per SRV (or physical action the scenario arranged), the device and DCC
   alerts a target may send as a consequence, each with its confidence and source.

Everything else the target sent is unexpected, and so is every receiver finding (a message that fails its
schema or signature check, a duplicate): both are a fail of the target.
"""

from __future__ import annotations

import json
import tomllib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from . import paths
from .errors import InvalidInput

KINDS = ("device-alert", "dcc-alert", "response", "future-dated-alert", "scheduled")
CONFIDENCES = ("V", "I", "U")


@dataclass(frozen=True)
class ExpectedMessage:
    """One row of rules/expected_messages.toml."""

    kind: str
    codes: frozenset[str]
    srvs: frozenset[str]
    action: str | None
    conf: str
    source: str

    def covers(self, message: dict, srvs: set[str], actions: set[str]) -> bool:
        return (message["kind"] == self.kind and (message.get("code") or "").upper() in self.codes
                and (bool(self.srvs & srvs) or (self.action is not None and self.action in actions)))


@lru_cache(maxsize=4)
def load_expected(path: str | Path | None = None) -> tuple[ExpectedMessage, ...]:
    """The declared rows; a malformed row is an InvalidInput naming the file, the row and the key."""
    path = Path(path) if path else paths.rules_dir() / "expected_messages.toml"
    try:
        with open(path, "rb") as handle:
            rows = tomllib.load(handle).get("expected", [])
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise InvalidInput(f"{path}: cannot read the expected messages: {exc}") from None
    found = []
    for number, row in enumerate(rows, 1):
        where = f"{path}: [[expected]] #{number}"
        if row.get("kind") not in KINDS:
            raise InvalidInput(f"{where}: kind {row.get('kind')!r}, expected one of {', '.join(KINDS)}")
        if row.get("conf") not in CONFIDENCES:
            raise InvalidInput(f"{where}: conf {row.get('conf')!r}, expected V, I or U")
        if not row.get("source"):
            raise InvalidInput(f"{where}: source is required (where the pairing comes from)")
        codes = row.get("code")
        codes = [codes] if isinstance(codes, str) else codes
        if not codes or not all(isinstance(c, str) and c for c in codes):
            raise InvalidInput(f"{where}: code must be a code or a list of codes")
        srvs, action = row.get("srv", []), row.get("action")
        if not srvs and not action:
            raise InvalidInput(f"{where}: give srv (a list of SRVs) or action (a physical action)")
        found.append(ExpectedMessage(row["kind"], frozenset(c.upper() for c in codes), frozenset(srvs), action,
                                     row["conf"], row["source"]))
    return tuple(found)


@dataclass
class Sent:
    """What the accounting needs of a request the scenario sent."""

    srv: str
    request_id: str
    code: str                 # the final synchronous code
    future_dated: bool = False

    @property
    def acknowledged(self) -> bool:
        """The target took the request on (I99, I0, or a success with a warning): something may follow."""
        return self.code[:1] in ("I", "W")

    @classmethod
    def of(cls, exchange) -> Sent:
        """From a duisconf.client.Exchange."""
        return cls(exchange.srv, str(exchange.request_id).upper(), exchange.code if exchange.legs else "",
                   b"ExecutionDateTime>" in exchange.rendered)


@dataclass
class Accounting:
    claimed: list[dict] = field(default_factory=list)
    expected: list[dict] = field(default_factory=list)     # each with "because"
    unexpected: list[dict] = field(default_factory=list)   # each with "because"
    claimed_total: int | None = None                       # when the receiver kept only the first summaries

    @property
    def counts(self) -> dict[str, int]:
        claimed = max(self.claimed_total or 0, len(self.claimed))
        return {"claimed": claimed, "expected but not asserted": len(self.expected),
                "unexpected": len(self.unexpected)}

    def line(self) -> str:
        return ", ".join(f"{n} {what}" for what, n in self.counts.items())

    def as_json(self) -> str:
        return json.dumps({"counts": self.counts, "claimed": self.claimed, "expected_not_asserted": self.expected,
                           "unexpected": self.unexpected}, indent=2)

    def table(self) -> str:
        """A plain-text table for the Allure attachment and the failure output."""
        rows = [("claimed", m, "a step asserted it") for m in self.claimed]
        rows += [("expected, not asserted", m, m["because"]) for m in self.expected]
        rows += [("UNEXPECTED", m, m["because"]) for m in self.unexpected]
        lines = [f"messages this scenario caused: {self.line()}"]
        for what, m, why in sorted(rows, key=lambda r: r[1].get("seq") or 0):
            origin = f" from {m['device']}" if m.get("device") else ""
            lines.append(f"  #{m.get('seq')} {m['kind']} {m.get('code') or '-'}{origin} RequestID "
                         f"{m.get('request_id') or '-'}: {what} ({why})")
        return "\n".join(lines)


def account(claimed: Sequence[dict], leftovers: Iterable[dict], findings: Iterable[tuple[str, dict]],
            sent: Sequence[Sent], actions: Iterable[str] = (), rules: Sequence[ExpectedMessage] | None = None,
            claimed_total: int | None = None) -> Accounting:
    """Sort what a scenario caused. `leftovers` are summaries of the messages no step claimed (in arrival
    order), `findings` (what, summary) pairs from the receiver, `sent` the requests the scenario sent."""
    rules = load_expected() if rules is None else rules
    actions = set(actions)
    acknowledged = [s for s in sent if s.acknowledged]
    by_id = {s.request_id: s for s in sent}
    srvs = {s.srv for s in acknowledged}
    # each acknowledged request owes one response, each future-dated one an outcome alert (unless claimed)
    owed = {("response", s.request_id) for s in acknowledged}
    owed |= {("future-dated-alert", s.request_id) for s in acknowledged if s.future_dated}
    for message in claimed:
        owed.discard((message["kind"], (message.get("request_id") or "").upper()))
    result = Accounting(claimed=list(claimed), claimed_total=claimed_total)
    for message in leftovers:
        rid = (message.get("request_id") or "").upper()
        key = (message["kind"], rid)
        if key in owed:
            owed.discard(key)
            why = ("DUIS: an acknowledged request is answered once (duis.md §3.4), conf V" if message["kind"] == "response"
                   else "DUIS: a future-dated request ends with one 8F66/8F67 alert (duis.md §1.5), conf V")
            result.expected.append({**message, "because": why})
            continue
        if message["kind"] == "scheduled" and rid in by_id and by_id[rid].srv == "5.1" and by_id[rid].acknowledged:
            result.expected.append({**message, "because": "DUIS: a DCC schedule sends a message per run, conf V"})
            continue
        rule = next((r for r in rules if r.covers(message, srvs, actions)), None)
        if rule is not None:
            matched = sorted(rule.srvs & srvs)
            cause = f"SRV {', '.join(matched)}" if matched else f"action {rule.action}"
            result.expected.append({**message, "because": f"rules/expected_messages.toml: {cause}, conf {rule.conf}: "
                                                          f"{rule.source}"})
            continue
        if message["kind"] in ("response", "future-dated-alert") and rid in by_id:
            why = (f"a second {message['kind']} for {rid}" if by_id[rid].acknowledged
                   else f"a {message['kind']} for {rid}, which the target refused ({by_id[rid].code})")
        elif message["kind"] in ("response", "future-dated-alert"):
            why = f"RequestID {rid or '-'} is no request this scenario sent"
        else:
            why = "no step asserted it and no rule expects it for the requests sent " + (
                f"(SRVs {', '.join(sorted(srvs))})" if srvs else "(no request acknowledged)")
        result.unexpected.append({**message, "because": why})
    for what, message in findings:
        result.unexpected.append({**message, "because": what})
    return result
