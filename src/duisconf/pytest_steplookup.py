"""Step lookup remembered per collection node, for pytest-bdd's step execution.

For every step of every scenario pytest-bdd finds the step definitions that match it by going through
every registered fixture name and asking pytest which of that name's definitions the test item sees
(`pytest_bdd.scenario.find_fixturedefs_for_step`): ~75 names, each walking the item's parents. With
2,600 scenarios of 3-5 steps that was ~17 % of a serial catalogue run's time (cProfile, docs/harness.md
"Measured"), spent reaching the same answer again and again.

Which step definitions an item sees depends only on which are registered and on where the item sits in
the collection tree. Step definitions are registered as fixtures of a module, conftest or plugin, i.e.
at the item's parent or above, never at the item itself (pytest-bdd puts a definition on an item only
for the moment it resolves it, after the lookup). So the items of one parent see the same definitions:
they are listed once per parent, with pytest's own visibility rules and in pytest-bdd's order, and each
step then only runs pytest-bdd's filter over that list (its type, its parser matching the step's text),
once per distinct step text (the catalogue repeats its step texts across scenarios). The result is the
same list pytest-bdd's own function returns.

Forgotten whenever a definition could have been added: at the end of collection, when a plugin is
registered, and whenever the number of step definitions pytest-bdd knows changes.
"""

from __future__ import annotations

import pytest

_visible: dict[tuple, list] = {}   # (fixture manager, parent, definitions known) -> [(fixturedef, context)]
_matched: dict[tuple, list] = {}   # (that key, step type, step text) -> the fixturedefs matching the step
_original = None


def _lookup(step, fixturemanager, node):
    """pytest-bdd's find_fixturedefs_for_step, with the visible step definitions remembered per parent."""
    from pytest_bdd.steps import step_function_context_registry

    parent = getattr(node, "parent", None)
    if not isinstance(node, pytest.Item) or parent is None:
        return _original(step=step, fixturemanager=fixturemanager, node=node)
    key = (fixturemanager, parent, len(step_function_context_registry))
    found = _matched.get((key, step.type, step.name))
    if found is None:
        definitions = _visible.get(key)
        if definitions is None:
            definitions = _visible[key] = _step_definitions(fixturemanager, node)
        # From here as pytest-bdd does it: the definitions of this step's type whose parser matches its text.
        found = _matched[(key, step.type, step.name)] = [
            fixturedef for fixturedef, context in definitions
            if (context.type is None or context.type == step.type) and context.parser.is_matching(step.name)]
    return iter(found)


def _step_definitions(fixturemanager, node) -> list:
    """Every step definition `node` sees, with its context, in pytest-bdd's order (fixture names as
    registered, each name's definitions as pytest orders them for the node)."""
    from pytest_bdd.compat import get_fixture_names, getfixturedefs
    from pytest_bdd.steps import step_function_context_registry

    found = []
    for name in get_fixture_names(fixturemanager=fixturemanager):
        for fixturedef in getfixturedefs(fixturemanager, name, node) or []:
            context = step_function_context_registry.get(fixturedef.func)
            if context is not None:
                found.append((fixturedef, context))
    return found


def _scenario_module():
    # By module path: the package's attribute `scenario` is its scenario() function, not this module.
    import importlib

    return importlib.import_module("pytest_bdd.scenario")


def forget() -> None:
    _visible.clear()
    _matched.clear()


def install() -> bool:
    """Put the remembering lookup in front of pytest-bdd's; False (and nothing changed) when this
    pytest-bdd has no such function, so a future release is run as it comes."""
    global _original
    try:
        scenario = _scenario_module()
    except ImportError:
        return False
    current = getattr(scenario, "find_fixturedefs_for_step", None)
    if current is None:
        return False
    if current is not _lookup:
        _original = current
        scenario.find_fixturedefs_for_step = _lookup
    forget()
    return True


def uninstall() -> None:
    global _original
    scenario = _scenario_module()
    if _original is not None and getattr(scenario, "find_fixturedefs_for_step", None) is _lookup:
        scenario.find_fixturedefs_for_step = _original
    _original = None
    forget()


def pytest_configure(config: pytest.Config) -> None:
    install()


def pytest_unconfigure(config: pytest.Config) -> None:
    uninstall()


def pytest_collection_finish(session: pytest.Session) -> None:
    forget()


def pytest_plugin_registered(plugin, manager) -> None:
    forget()
