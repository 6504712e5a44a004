"""pytest wiring of the rules-driven catalogue (features/catalogue/): the party's declaration decides, per
generated scenario, whether it applies (duisconf.plan); the ones that do not are reported NOT APPLICABLE
(a skip whose reason starts "not applicable:", and the Allure label verdict=not applicable), never
skipped silently. At the end of the run: SRVs applicable / passed / failed / inconclusive / not
applicable per role, in the terminal, in the Allure results (coverage.json, coverage.txt) and in
reports/coverage.txt.

Registered by features/conftest.py (pytest_plugins). Option --declaration FILE (env DUISCONF_DECLARATION;
default declarations/supplier.toml). xdist-safe: each scenario's SRV, role and verdict travel in
report.user_properties, which cross from the workers to the controller.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from .pytest_plugin import record_verdict

_KEY = "catalogue"


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("duisconf", "DUIS conformance suite")
    group.addoption("--declaration", default=os.environ.get("DUISCONF_DECLARATION"), metavar="FILE",
                    help="the party's declaration deciding which catalogue scenarios apply "
                         "(env DUISCONF_DECLARATION; default declarations/supplier.toml)")


def _declaration_path(config: pytest.Config) -> Path:
    from .declarations import default_declaration

    chosen = config.getoption("--declaration", default=None)
    return Path(chosen) if chosen else default_declaration()


def pytest_configure(config: pytest.Config) -> None:
    """The declaration is read (and an incoherent one refused) before any traffic."""
    from .declarations import load_declaration
    from .errors import DuisConfError

    try:
        config._duisconf_declaration = load_declaration(_declaration_path(config))  # type: ignore[attr-defined]
    except DuisConfError as exc:
        raise pytest.UsageError(f"duisconf: {exc}") from None


def _is_catalogue(feature) -> bool:
    return Path(feature.filename).parent.name == "catalogue"


@pytest.hookimpl(trylast=True)  # after allure-pytest-bdd has opened the scenario's result
def pytest_bdd_before_scenario(request, feature, scenario) -> None:
    if not _is_catalogue(feature):
        return
    from .plan import decide

    node = request.node
    row = dict(getattr(getattr(node, "callspec", None), "params", {}).get("_pytest_bdd_example", {}) or {})
    if "srv" not in row or "role" not in row:
        return
    tags = {m.name for m in node.iter_markers()} | set(scenario.tags) | set(feature.tags)
    decision = decide(request.config._duisconf_declaration, row, tags)
    node.user_properties.append((_KEY, json.dumps({"srv": decision.case.srv, "role": decision.case.role})))
    if not decision.applicable:
        record_verdict(node, "not applicable")
        pytest.skip(f"not applicable: {decision.reason}")


# -- coverage ------------------------------------------------------------------------------------

def coverage_of(reports) -> dict:
    """{role: {srv: verdict}} from call-phase reports; an SRV's verdict for a role is its worst applicable
    scenario's (fail > inconclusive > pass), or "not applicable" when none of its scenarios applies."""
    from .verdicts import worst

    per: dict[str, dict[str, list[str]]] = {}
    for report in reports:
        props = dict(getattr(report, "user_properties", []) or [])
        if _KEY not in props:
            continue
        which = json.loads(props[_KEY])
        verdict = props.get("verdict") or ("pass" if report.passed else "error" if report.failed else "not applicable")
        per.setdefault(which["role"], {}).setdefault(which["srv"], []).append(verdict)
    result: dict[str, dict[str, str]] = {}
    for role, srvs in per.items():
        result[role] = {}
        for srv, verdicts in srvs.items():
            applicable = [v for v in verdicts if v != "not applicable"]
            result[role][srv] = worst(*applicable) if applicable else "not applicable"
    return result


def summarise(coverage: dict) -> tuple[dict, list[str]]:
    order = ("pass", "fail", "inconclusive", "error")
    figures: dict[str, dict[str, int]] = {}
    lines = []
    for role in sorted(coverage):
        verdicts = list(coverage[role].values())
        counts = {v: verdicts.count(v) for v in (*order, "not applicable")}
        applicable = len(verdicts) - counts["not applicable"]
        figures[role] = {"applicable": applicable, "passed": counts["pass"], "failed": counts["fail"],
                         "inconclusive": counts["inconclusive"], "error": counts["error"],
                         "not applicable": counts["not applicable"]}
        lines.append(f"{role:>3}: {applicable} SRVs applicable: {counts['pass']} passed, {counts['fail']} failed, "
                     f"{counts['inconclusive']} inconclusive" + (f", {counts['error']} error" if counts["error"] else "")
                     + f"; {counts['not applicable']} not applicable")
    return figures, lines


def pytest_terminal_summary(terminalreporter, exitstatus, config) -> None:
    if hasattr(config, "workerinput"):
        return
    reports = [r for rs in terminalreporter.stats.values() for r in rs if getattr(r, "when", None) == "call"]
    coverage = coverage_of(reports)
    if not coverage:
        return
    declaration = config._duisconf_declaration
    figures, lines = summarise(coverage)
    title = f"DUIS catalogue coverage for {declaration.name} ({declaration.party}), SRVs per role"
    terminalreporter.write_sep("-", "DUIS catalogue coverage")
    terminalreporter.write_line(title)
    for line in lines:
        terminalreporter.write_line(line)
    text = title + "\n" + "\n".join(lines) + "\n"
    document = {"declaration": declaration.name, "party": declaration.party, "per_role": figures,
                "srvs": coverage}
    from . import paths

    targets = [Path(paths.PROJECT_ROOT, "reports")]
    results = getattr(config.option, "allure_report_dir", None)
    if results:
        targets.append(Path(results))
    for folder in targets:
        try:
            folder.mkdir(parents=True, exist_ok=True)
            (folder / "coverage.txt").write_text(text, encoding="utf-8")
            (folder / "coverage.json").write_text(json.dumps(document, indent=2, sort_keys=True), encoding="utf-8")
        except OSError as exc:
            terminalreporter.write_line(f"could not write coverage to {folder}: {exc}")
