"""A pytest plugin for tests/test_suite_negative_access.py, loaded only in its subprocess runs
(`-p access_misbehaviour`): it keeps a few applicable catalogue scenarios per access-control check, and
in each one switches on the misbehaviour (DUISCONF_ACCESS_MISBEHAVE = wrong-code | skipped | order) of
the check that scenario is about (its @check-<name> tag), so every scenario plays exactly one broken
rule. Each scenario's check and outcome go to the JSON file DUISCONF_ACCESS_REPORT."""

from __future__ import annotations

import json
import os

import pytest

KIND = os.environ.get("DUISCONF_ACCESS_MISBEHAVE", "")
PER_GROUP = 2  # scenarios kept per (check, order pair): two, so one odd case does not decide


def check_of(item: pytest.Item) -> tuple[str, str | None] | None:
    """(check, the neighbour an order case also breaks) of a catalogue refusal scenario, from its tags."""
    names = {mark.name for mark in item.iter_markers()}
    if "negative" not in names or "catalogue" not in names:
        return None
    check = next((n[len("check-"):] for n in names if n.startswith("check-")), None)
    after = next((n[len("order-"):] for n in names if n.startswith("order-")), None)
    return (check, after) if check else None


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(session: pytest.Session, config: pytest.Config, items: list[pytest.Item]) -> None:
    from duisconf.plan import decide

    declaration = config._duisconf_declaration
    kept, counts = [], {}
    for item in items:
        group = check_of(item)
        if group is None or counts.get(group, 0) >= PER_GROUP:
            continue
        row = dict(item.callspec.params.get("_pytest_bdd_example", {}) or {})
        if not decide(declaration, row, {m.name for m in item.iter_markers()}).applicable:
            continue
        counts[group] = counts.get(group, 0) + 1
        kept.append(item)
    config.hook.pytest_deselected(items=[i for i in items if i not in kept])
    items[:] = kept


@pytest.fixture(autouse=True)
def _access_misbehaviour(request: pytest.FixtureRequest):
    group = check_of(request.node)
    if KIND and group is not None:
        scenario = request.getfixturevalue("duis_scenario")  # its setup resets the emulator first
        from duisconf.emulator.access import check_misbehaviour

        scenario.session.emulator.faults.add({"kind": "misbehave", "rule": check_misbehaviour(group[0], KIND)})
    yield


_RESULTS: list[dict] = []


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.when == "call" or report.failed:
        _RESULTS.append({"nodeid": report.nodeid, "when": report.when, "outcome": report.outcome,
                         "message": str(report.longrepr) if report.failed else "",
                         "check": dict(report.user_properties).get("access_check")})


def pytest_runtest_setup(item: pytest.Item) -> None:
    group = check_of(item)
    if group is not None:
        item.user_properties.append(("access_check", group[0]))


def pytest_sessionfinish(session: pytest.Session) -> None:
    path = os.environ.get("DUISCONF_ACCESS_REPORT")
    if path:
        with open(path, "w", encoding="utf-8") as handle:
            json.dump(_RESULTS, handle, indent=1)
