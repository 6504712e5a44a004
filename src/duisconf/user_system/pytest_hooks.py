"""pytest hooks of the user-system suite (loaded through steps/user_system.py).

features/user_system/ scenarios are tagged @user-system: they run only against a user-system target
and every other feature runs only against the other kinds, so `./dev suite` never sees them and a
user-system run never starts the emulator suite against a party's system. Deselected, not skipped:
a scenario that does not apply to this kind of target is not part of the run at all.

Within a user-system run, the party's declaration (--declaration) and the target's organisations decide
which scenarios apply (duisconf.user_system.applicability); the others are NOT APPLICABLE, reported as
the catalogue's are (a skip whose reason starts "not applicable:", verdict label "not applicable"). A
generated obligation's SRV and role are recorded as a catalogue case's are, so the run's coverage
summary (duisconf.pytest_catalogue) counts the SRVs the party's system sent, per role.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

MARK = "user-system"


def target_kind(config: pytest.Config) -> str | None:
    from ..errors import DuisConfError
    from ..targets import load_target

    try:
        return load_target(config.getoption("--target")).kind
    except (DuisConfError, ValueError):
        return None  # reported by the fixture that needs the target, naming the file and key


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    features = [item for item in items if getattr(getattr(item, "function", None), "duisconf_scenario", None)]
    if not features:
        return
    user_system = target_kind(config) == "user-system"
    drop = [item for item in features if (item.get_closest_marker(MARK) is not None) != user_system]
    if drop:
        dropped = set(map(id, drop))
        config.hook.pytest_deselected(items=drop)
        items[:] = [item for item in items if id(item) not in dropped]


def _held_roles(config: pytest.Config) -> frozenset[str]:
    held = getattr(config, "_duisconf_user_system_roles", None)
    if held is None:
        from ..errors import DuisConfError
        from ..targets import load_target

        try:
            target = load_target(config.getoption("--target"))
            held = frozenset(r for o in target.user_system.organisations.values() for r in o.roles)
        except (DuisConfError, ValueError, AttributeError):
            held = frozenset()  # the session fixture reports the target's problem, naming it
        config._duisconf_user_system_roles = held  # type: ignore[attr-defined]
    return held


def _not_applicable(node: pytest.Item, reason: str) -> None:
    node.user_properties[:] = [(k, v) for k, v in node.user_properties if k != "verdict"] + [("verdict", "not applicable")]
    try:
        import allure

        allure.dynamic.label("verdict", "not applicable")
    except Exception:  # no Allure in this run
        pass
    pytest.skip(f"not applicable: {reason}")


@pytest.hookimpl(trylast=True)  # after allure-pytest-bdd has opened the scenario's result
def pytest_bdd_before_scenario(request, feature, scenario) -> None:
    if Path(feature.filename).parent.name != "user_system":
        return
    declaration = getattr(request.config, "_duisconf_declaration", None)
    if declaration is None:
        return
    from .applicability import applicability

    node = request.node
    row = dict(getattr(getattr(node, "callspec", None), "params", {}).get("_pytest_bdd_example", {}) or {})
    tags = {m.name for m in node.iter_markers()} | set(scenario.tags) | set(feature.tags)
    decided = applicability(declaration, _held_roles(request.config), row, tags)
    if "srv" in row and "role" in row:  # counted in the run's SRV coverage, as a catalogue case is
        node.user_properties.append(("catalogue", json.dumps({"srv": decided.srvs[0], "role": decided.roles[0]})))
    if not decided.applicable:
        _not_applicable(node, decided.reason)
