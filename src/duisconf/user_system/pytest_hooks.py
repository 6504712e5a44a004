"""pytest hooks of the user-system suite (loaded through steps/user_system.py).

features/user_system/ scenarios are tagged @user-system: they run only against a user-system target
and every other feature runs only against the other kinds, so `./dev suite` never sees them and a
user-system run never starts the emulator suite against a party's system. Deselected, not skipped:
a scenario that does not apply to this kind of target is not part of the run at all.
"""

from __future__ import annotations

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
