"""Evidence of a user-system run: the party's system is named as the system under test, and every request
it sent is kept with the judge's verdict on it, rule by rule.

- `environment_lines` / `write_environment`: the Allure environment of a run against a user-system target
  (duisconf.evidence.write_environment's counterpart, which needs a DUIS session this run has not):
  `system_under_test` and its organisations, receive address and driver, beside the emulated DCC that
  judged it. duisconf.bundle reads `system_under_test*` into the evidence bundle's fingerprint.
- `rule_verdicts`: for one recorded request, each rule the judge applies and what became of it: kept,
  broken (with why), not reached (the DCC stopped at an earlier access-control row) or not applicable.
- `attach_requests` / `attach_delivery`: the Allure attachments (the request as their system sent it, the
  verdict table; each message POSTed to their Receive Response Service and its answer).
"""

from __future__ import annotations

import time
import tomllib
from functools import lru_cache
from pathlib import Path

from .. import paths
from ..evidence import attach_text, attach_xml, catalogue_version
from .judge import JUDGE_RULES, Breach, Recorded

KEPT, BROKEN, NOT_REACHED, NOT_APPLICABLE = "kept", "BROKEN", "not reached", "not applicable"


@lru_cache(maxsize=1)
def access_rows() -> tuple[str, ...]:
    """The emulated DCC's checks, in the order it applies them (rules/access_control.toml)."""
    data = tomllib.loads((paths.rules_dir() / "access_control.toml").read_text(encoding="utf-8"))
    return tuple(check["name"] for check in data["check"])


def rule_verdicts(record: Recorded, breaches: list[Breach], *, critical: bool, cancellation: bool) -> list[tuple[str, str, str]]:
    """(rule, verdict, detail) for every rule applied to `record`, access-control rows first."""
    rows = []
    reached = True
    for name in access_rows():
        if not reached:
            rows.append((name, NOT_REACHED, ""))
        elif record.rule == name:
            rows.append((name, BROKEN, record.reason or ""))
            reached = False
        else:
            rows.append((name, KEPT, ""))
    mine = [b for b in breaches if b.seq == record.seq or b.seq is None]
    for name in JUDGE_RULES:
        broken = [b.detail for b in mine if b.rule == name]
        if broken:
            rows.append((name, BROKEN, "; ".join(broken)))
        elif ((name == "critical_flow" and not critical) or (name == "cancellation" and not cancellation)
              or (name == "utrn" and record.srv != "2.2")):
            rows.append((name, NOT_APPLICABLE, ""))
        else:
            rows.append((name, KEPT, ""))
    return rows


def verdict_table(record: Recorded, rows: list[tuple[str, str, str]]) -> str:
    width = max(len(name) for name, _, _ in rows)
    lines = [f"request {record.describe()}", f"received on {record.service}", ""]
    lines += [f"{name.ljust(width)}  {verdict}" + (f": {detail}" if detail else "") for name, verdict, detail in rows]
    return "\n".join(lines) + "\n"


def attach_requests(records: list[Recorded], breaches: list[Breach], *, critical: bool, cancellation: bool) -> None:
    """Each request their system sent for one order, as sent, and the judge's verdict per rule."""
    for record in records:
        attach_xml(f"their request #{record.seq}: SRV {record.srv} CV {record.cv} to {record.service}", record.raw)
        rows = rule_verdicts(record, breaches, critical=critical, cancellation=cancellation)
        attach_text(f"judge's verdict on request #{record.seq}", verdict_table(record, rows))
    unplaced = [b for b in breaches if b.seq is None]
    if unplaced and not records:
        attach_text("judge's verdict", "\n".join(b.line() for b in unplaced) + "\n")


def attach_delivery(body: bytes, delivery, rule: str, breach: Breach | None) -> None:
    """A message POSTed to their Receive Response Service, its answer, and the rule judged on it."""
    attach_xml(f"to their Receive Response Service: {delivery.what}", body)
    verdict = f"{BROKEN}: {breach.detail}" if breach else KEPT
    attach_text(f"their answer: {delivery.what}", f"{delivery.describe()}\n{rule}  {verdict}\n")


# -- the system under test in the run's environment ------------------------------------------------

def environment_lines(target, dcc_url: str) -> dict[str, str]:
    """environment.properties entries naming the party's system as the system under test."""
    us = target.user_system
    organisations = ", ".join(f"{eui} ({'/'.join(o.roles)})" for eui, o in us.organisations.items())
    driver = us.driver
    where = getattr(driver, "url", None) or getattr(driver, "command", None) or "a person at the terminal"
    return {
        "target": target.name,
        "target.kind": target.kind,
        "target.base_url": dcc_url,
        "system_under_test": f"{target.name}: the party's DCC user system (judged by the emulated DCC at {dcc_url})",
        "system_under_test.organisations": organisations,
        "system_under_test.receive_url": us.receive_url,
        "system_under_test.driver": f"{driver.kind} {where}",
        "catalogue.version": catalogue_version(),
        "run.started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }


def write_environment(results: Path, target, dcc_url: str, schema_version: str) -> None:
    """Appended (later lines win when read): the run's own plugins may write theirs first or after."""
    results.mkdir(parents=True, exist_ok=True)
    lines = {**environment_lines(target, dcc_url), "schema.version": schema_version}
    with (results / "environment.properties").open("a", encoding="utf-8") as handle:
        handle.write("".join(f"{key}={_one_line(value)}\n" for key, value in lines.items()))


def _one_line(value: object) -> str:
    return str(value).replace("\n", " ")


__all__ = ["access_rows", "attach_delivery", "attach_requests", "environment_lines", "rule_verdicts",
           "verdict_table", "write_environment"]
