"""Which user-system scenarios apply to a party: its declaration (the SRVs it claims, the roles and device
types it declares) and its user-system target (the roles its organisations hold) decide, before any
traffic, as for the catalogue (duisconf.plan). A scenario that does not apply is reported NOT APPLICABLE
with the reason, never run and never failed.

- A generated obligation (features/user_system/catalogue_section_*.feature) is one Examples row naming
  srv, role and device: duisconf.plan.decide judges it as it judges a catalogue row.
- A hand-written scenario says what it needs in its tags: every @srv-… must be claimed and every @role-…
  declared (a design-note flow needs all of its steps' SRVs).
- Either way, every role it uses must be held by one of the organisations in the user-system target:
  the declaration may claim a role the system under test is not set up to play.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from ..declarations import Declaration
from ..plan import ROLE_CODES, decide
from ..rules import load_catalogue


@dataclass(frozen=True)
class Applicability:
    applicable: bool
    reason: str = ""
    srvs: tuple[str, ...] = ()
    roles: tuple[str, ...] = ()


def _tagged(tags: Iterable[str], prefix: str) -> list[str]:
    return sorted({t[len(prefix):] for t in tags if t.startswith(prefix)})


def applicability(declaration: Declaration, held_roles: Iterable[str], row: dict[str, str],
                  tags: Iterable[str]) -> Applicability:
    """Does the scenario (an Examples `row`, possibly empty, and its `tags` without @) apply?"""
    tags = set(tags)
    held = set(held_roles)
    if "srv" in row and "role" in row:
        srvs, roles = (row["srv"],), (ROLE_CODES.get(row["role"], row["role"]),)
        decision = decide(declaration, row, tags)
        if not decision.applicable:
            return Applicability(False, decision.reason, srvs, roles)
    else:
        srvs, roles = tuple(_tagged(tags, "srv-")), tuple(_tagged(tags, "role-"))
        catalogue = load_catalogue()
        for role in roles:
            if not declaration.holds(role):
                return Applicability(False, f"role {role} is not declared by {declaration.name}", srvs, roles)
        for srv in srvs:
            if srv in catalogue and srv not in declaration.claimed:
                return Applicability(False, f"SRV {srv} is not claimed by {declaration.name}", srvs, roles)
    missing = [role for role in roles if role not in held]
    if missing:
        return Applicability(False, f"no organisation of the user-system target holds role {', '.join(missing)}",
                             srvs, roles)
    return Applicability(True, "", srvs, roles)


__all__ = ["Applicability", "applicability"]
