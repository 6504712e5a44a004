"""How a run reads in the Allure report (loaded by the root conftest.py).

- Grouping: each scenario carries the labels parentSuite = its area (user entry tests, design notes,
  catalogue), suite = its feature, and subSuite = its Scenario Outline when it is one of an outline's
  rows; allurerc.mjs groups the Awesome tree by those three labels. They are set as `allure_label` marks
  at collection, so allure-pytest-bdd reads them when it opens the scenario's result, before anything
  (a not-applicable skip included) can end it.
- Not applicable: a scenario the declaration rules out also gets the tag `not-applicable`, beside the
  skip reason "not applicable: …" and the label verdict=not applicable, so a filter finds them all.
- Size: allure-pytest-bdd records every argument of a step function as a step parameter, fixtures
  included; the scenario context's repr carries every message of the exchange again in every step
  (43 MB of a 78 MB report). Only the values parsed from the step text stay; the messages themselves
  are attachments (duisconf.evidence).
"""

from __future__ import annotations

from pathlib import Path

import pytest

AREAS = {"uept": "User entry tests", "design_notes": "Design notes", "catalogue": "Catalogue (generated from the rules)"}
NOT_APPLICABLE_TAG = "not-applicable"
_PARSED = (str, int, float, bool, type(None))  # what a step parser yields; fixtures are anything else


def area_of(feature_file: str | Path) -> str:
    """The report's top level for a feature file: its folder under features/, in words."""
    folder = Path(feature_file).parent.name
    return AREAS.get(folder, folder.replace("_", " ").capitalize() or "Features")


def report_labels(feature_file: str, feature_name: str, outline: str | None) -> list[tuple[str, str]]:
    """(label, value) pairs placing one scenario in the report's tree."""
    labels = [("parentSuite", area_of(feature_file)), ("suite", feature_name or Path(feature_file).stem)]
    if outline:
        labels.append(("subSuite", outline))
    return labels


def pytest_collection_modifyitems(session, config, items) -> None:
    try:
        from pytest_bdd.scenario import scenario_wrapper_template_registry
    except ImportError:  # pytest-bdd absent or changed: the report stays ungrouped, the run goes on
        return
    for item in items:
        template = scenario_wrapper_template_registry.get(getattr(item, "obj", None)) if hasattr(item, "obj") else None
        if template is None:
            continue
        example = getattr(getattr(item, "callspec", None), "params", {}).get("_pytest_bdd_example")
        outline = template.name if template.templated and example else None
        for name, value in report_labels(template.feature.filename, template.feature.name, outline):
            item.add_marker(pytest.mark.allure_label(value, label_type=name))


def _lifecycle(config: pytest.Config):
    """allure-pytest-bdd's lifecycle (None when the run writes no Allure results)."""
    for plugin in config.pluginmanager.get_plugins():
        if type(plugin).__name__ == "PytestBDDListener" and hasattr(plugin, "lifecycle"):
            return plugin.lifecycle
    return None


@pytest.hookimpl(hookwrapper=True)
def pytest_bdd_before_step_call(request, feature, scenario, step, step_func, step_func_args):
    yield  # allure-pytest-bdd has now recorded every argument as a parameter
    fixtures = {name for name, value in step_func_args.items() if not isinstance(value, _PARSED)}
    lifecycle = _lifecycle(request.config) if fixtures else None
    if lifecycle is None:
        return
    from allure_pytest_bdd.steps import get_step_uuid

    with lifecycle.update_step(uuid=get_step_uuid(step)) as result:
        if result is not None:
            result.parameters = [p for p in result.parameters if p.name not in fixtures]


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if report.when == "call" and report.skipped and "not applicable:" in str(report.longrepr):
        try:
            import allure

            allure.dynamic.tag(NOT_APPLICABLE_TAG)
        except Exception:  # no Allure in this run
            pass


def pytest_sessionfinish(session, exitstatus) -> None:
    """The declaration the run was judged against goes into the Allure environment: the report is named
    after it (allurerc.mjs) and `duisconf bundle` checks it is the one it is given. The controller
    writes, once, after every worker has finished."""
    config = session.config
    results = getattr(config.option, "allure_report_dir", None)
    if hasattr(config, "workerinput") or not results:
        return
    from .declarations import default_declaration, load_declaration
    from .errors import DuisConfError

    chosen = config.getoption("--declaration", default=None)
    try:
        declaration = load_declaration(chosen or default_declaration())
    except DuisConfError:  # already refused at configure time by duisconf.pytest_catalogue
        return
    folder = Path(results)
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / "environment.properties").open("a", encoding="utf-8") as handle:
        handle.write(f"declaration={declaration.name}\ndeclaration.party={declaration.party}\n")
