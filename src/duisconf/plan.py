"""Which generated catalogue scenarios apply to a party, from its declaration — decided before any
traffic, the same way by `duisconf plan` and by the pytest run (duisconf.pytest_catalogue).

A catalogue case is one row of an Examples table in features/catalogue/*.feature; its row names the SRV,
the role that sends it and (for device SRVs) the device type it goes to, and its tags say which kind
of case it is (@positive, or @negative with @check-<access-control check>). The rules of applicability:

- the sending role must be declared;
- the SRV must be claimed — except for an ineligible-role case (@check-role), whose point is that the
  party cannot claim it: there, none of the roles the party holds with that EUI may be eligible for the
  SRV (the DCC checks every role of the organisation, so E2 would not be the answer);
- the device type the request goes to must be declared — except for a wrong-device-type case
  (@check-device_type), which uses whichever device of the wrong type the target holds.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from . import paths
from .declarations import Declaration
from .rules import Catalogue, load_catalogue

ROLE_CODES = {"Import Supplier": "IS", "Export Supplier": "ES", "Gas Supplier": "GS", "Electricity Distributor": "ED",
              "Gas Transporter": "GT", "Registered Supplier Agent": "RSA", "Other User": "OU"}
_TAG = re.compile(r"(?<!\S)@([^\s@#]+)")


def catalogue_dir() -> Path:
    return paths.PROJECT_ROOT / "features" / "catalogue"


@dataclass(frozen=True)
class Case:
    """One generated scenario: a row of an Examples table."""

    feature: str                 # file name, e.g. section_04.feature
    outline: str                 # Scenario Outline title
    tags: frozenset[str]         # the outline's and the Examples block's tags (without @)
    row: tuple[tuple[str, str], ...]

    @property
    def values(self) -> dict[str, str]:
        return dict(self.row)

    @property
    def srv(self) -> str:
        return self.values["srv"]

    @property
    def role(self) -> str:
        """The role code (IS, GS …) the row's role name stands for."""
        name = self.values["role"]
        return ROLE_CODES.get(name, name)

    @property
    def device(self) -> str | None:
        return self.values.get("device")

    @property
    def check(self) -> str | None:
        return next((t[len("check-"):] for t in self.tags if t.startswith("check-")), None)

    @property
    def ineligible_role(self) -> bool:
        """Sent by a role not eligible for the SRV: an ineligible-role case, or an order case that also
        breaks the role check (@order-role)."""
        return self.check == "role" or "order-role" in self.tags

    @property
    def ident(self) -> str:
        cells = ", ".join(v for _, v in self.row)
        return f"{self.feature}: {self.outline} [{cells}]"

    @property
    def scenario_id(self) -> str:
        """The scenario's stable ID, as the pytest run records it (duisconf.scenario_ids)."""
        from .scenario_ids import scenario_id

        return scenario_id(f"catalogue/{Path(self.feature).stem}", self.outline, self.values)


@dataclass(frozen=True)
class Decision:
    case: Case
    applicable: bool
    reason: str = ""


def decide(declaration: Declaration, case_or_row, tags: Iterable[str] = (), catalogue: Catalogue | None = None) -> Decision:
    """Applicability of one case (a Case, or a row dict plus its tags as the pytest run sees them)."""
    case = case_or_row if isinstance(case_or_row, Case) else Case("", "", frozenset(tags), tuple(case_or_row.items()))
    catalogue = catalogue or load_catalogue()
    role, srv, device = case.role, case.srv, case.device
    if not declaration.holds(role):
        return Decision(case, False, f"role {role} is not declared by {declaration.name}")
    rule = catalogue.srv(srv)
    if case.ineligible_role:
        eligible = sorted(declaration.organisation_roles(role) & set(rule.eligible_roles))
        if eligible:
            return Decision(case, False, f"the organisation acting as {role} also holds {', '.join(eligible)}, "
                                         f"eligible for SRV {srv}, so the DCC would not answer E2")
    elif srv not in declaration.claimed:
        return Decision(case, False, f"SRV {srv} is not claimed by {declaration.name}")
    if device and case.check != "device_type" and not declaration.has_device(device):
        return Decision(case, False, f"no {device} is declared by {declaration.name}")
    return Decision(case, True)


# -- reading the generated features ----------------------------------------------------------------

def _cells(line: str) -> list[str]:
    return [c.strip() for c in line.strip().strip("|").split("|")]


def read_cases(folder: Path | None = None) -> Iterator[Case]:
    """Every case in the generated feature files (their format is tools/generate_catalogue.py's)."""
    folder = folder or catalogue_dir()
    for path in sorted(folder.glob("*.feature")):
        feature_tags: set[str] = set()
        outline, outline_tags, block_tags, pending = "", set(), set(), set()
        header: list[str] | None = None
        seen_feature = False
        for raw in path.read_text(encoding="utf-8").splitlines():
            line = raw.split(" #", 1)[0].strip() if not raw.lstrip().startswith("|") else raw.strip()
            if not line or line.startswith("#"):
                continue
            if line.startswith("@"):
                pending |= set(_TAG.findall(line))
            elif line.startswith("Feature:"):
                feature_tags, pending, seen_feature = pending, set(), True
            elif line.startswith(("Scenario Outline:", "Scenario:")):
                outline, outline_tags, pending, header = line.split(":", 1)[1].strip(), pending, set(), None
            elif line.startswith("Examples"):
                block_tags, pending, header = pending, set(), None
            elif line.startswith("|") and seen_feature:
                cells = _cells(line)
                if header is None:
                    header = cells
                    continue
                yield Case(path.name, outline, frozenset(feature_tags | outline_tags | block_tags),
                           tuple(zip(header, cells, strict=True)))


@dataclass
class Plan:
    declaration: Declaration
    decisions: list[Decision]

    @property
    def applicable(self) -> list[Decision]:
        return [d for d in self.decisions if d.applicable]

    @property
    def not_applicable(self) -> list[Decision]:
        return [d for d in self.decisions if not d.applicable]

    def coverage(self) -> set[tuple[str, str]]:
        """(role, SRV) pairs the party exercises: at least one applicable case that sends the SRV as an
        eligible role (ineligible-role E2 cases are counted apart: they test a refusal, not the SRV)."""
        return {(d.case.role, d.case.srv) for d in self.applicable if not d.case.ineligible_role}

    def refusals(self) -> set[tuple[str, str]]:
        """(role, SRV) pairs whose ineligible-role (E2) case applies."""
        return {(d.case.role, d.case.srv) for d in self.applicable if d.case.ineligible_role}


def make_plan(declaration: Declaration, folder: Path | None = None) -> Plan:
    catalogue = load_catalogue()
    return Plan(declaration, [decide(declaration, case, catalogue=catalogue) for case in read_cases(folder)])


def _srv_key(srv: str) -> list[int]:
    return [int(p) for p in srv.split(".")]


def render_plan(plan: Plan, *, verbose: bool = True) -> str:
    d = plan.declaration
    lines = [f"Declaration {d.name}: {d.party}",
             f"  roles: {', '.join(f'{r} {x.eui}' for r, x in d.roles.items())}",
             f"  SRVs claimed: {len(d.claimed)}{' (all eligible)' if d.claimed_all_eligible else ''}",
             f"  devices: {', '.join(d.devices) or 'none'}",
             f"{len(plan.applicable)} applicable scenarios, {len(plan.not_applicable)} not applicable "
             f"({len(plan.decisions)} generated)", ""]
    by_srv: dict[str, list[Decision]] = {}
    for decision in plan.applicable:
        by_srv.setdefault(decision.case.srv, []).append(decision)
    lines.append("APPLICABLE")
    for srv in sorted(by_srv, key=_srv_key):
        roles = sorted({x.case.role for x in by_srv[srv]})
        lines.append(f"  SRV {srv:7} {len(by_srv[srv]):3} scenarios  roles {', '.join(roles)}")
        if verbose:
            lines.extend(f"    {x.case.ident}" for x in by_srv[srv])
    lines.append("")
    lines.append("NOT APPLICABLE")
    reasons: dict[str, list[Decision]] = {}
    for decision in plan.not_applicable:
        reasons.setdefault(decision.reason, []).append(decision)
    for reason in sorted(reasons, key=lambda r: (-len(reasons[r]), r)):
        lines.append(f"  {len(reasons[reason]):4} × not applicable: {reason}")
        if verbose:
            lines.extend(f"    {x.case.ident}" for x in reasons[reason])
    return "\n".join(lines) + "\n"


def render_diff(plan: Plan, against: Plan) -> str:
    """Coverage gained and lost moving from `against` to `plan`: (role, SRV) pairs and scenario counts."""
    mine, theirs = plan.coverage(), against.coverage()
    cases_mine = {x.case.ident for x in plan.applicable}
    cases_theirs = {x.case.ident for x in against.applicable}
    lines = [f"Coverage of {plan.declaration.name} against {against.declaration.name} (role × SRV sent as an eligible role):",
             f"  scenarios: {len(cases_mine)} vs {len(cases_theirs)} "
             f"(+{len(cases_mine - cases_theirs)} gained, -{len(cases_theirs - cases_mine)} lost)"]
    for word, pairs in (("GAINED", mine - theirs), ("LOST", theirs - mine)):
        lines.append(f"{word} ({len(pairs)} role × SRV)")
        by_role: dict[str, list[str]] = {}
        for role, srv in pairs:
            by_role.setdefault(role, []).append(srv)
        for role in sorted(by_role):
            lines.append(f"  {role}: {', '.join(sorted(by_role[role], key=_srv_key))}")
    gained, lost = plan.refusals() - against.refusals(), against.refusals() - plan.refusals()
    lines.append(f"INELIGIBLE-ROLE (E2) CHECKS: +{len(gained)} gained, -{len(lost)} lost (role × SRV)")
    return "\n".join(lines) + "\n"


__all__ = ["Case", "Decision", "Plan", "decide", "read_cases", "make_plan", "render_plan", "render_diff", "ROLE_CODES"]
