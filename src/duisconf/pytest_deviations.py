"""pytest wiring of the known-deviation register (duisconf.deviations).

The register is `--deviations FILE` (env DUISCONF_DEVIATIONS), else the declaration's
`deviations = "…"`; without either this plugin does nothing. Per listed scenario:
- it fails with verdict fail → reported xfailed ("known deviation <id>: reason (reference; expires …)"),
  the run does not fail; in Allure it stays failed, marked known (Allure 3: accepted), with the label
  `known_deviation`;
- it passes → it fails: "unexpected pass: remove the entry <id> from <register>";
- it is inconclusive or errors → it fails as usual: an entry excuses a fail verdict, nothing else.
At the end (the xdist controller): an expired entry, or one naming no scenario of the whole features
tree (not only the part this run collected), fails the run, named in the terminal summary, in
reports/deviations.json and as an Allure 3 global error.

Registered by the root conftest (pytest_plugins), after duisconf.pytest_catalogue (it reads the declaration).
"""

from __future__ import annotations

import json
import os
import time
import uuid
from pathlib import Path

import pytest

_WORKER = "workerinput"


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("duisconf", "DUIS conformance suite")
    group.addoption("--deviations", default=os.environ.get("DUISCONF_DEVIATIONS"), metavar="FILE",
                    help="known-deviation register (env DUISCONF_DEVIATIONS; default: the declaration's "
                         "`deviations = \"…\"`, else none); see docs/deviations.md")


class DeviationRun:
    """The register as this run applies it, and what became of each entry."""

    def __init__(self, register, today):
        self.register = register
        self.today = today
        self.expired = register.expired(today)
        self.active = {e.scenario: e for e in register.entries if e not in self.expired}
        self.outcomes: dict[str, str] = {}   # scenario ID → known deviation / unexpected pass / …
        self.seen: set[str] = set()          # every scenario ID reported in this run
        self.problems: list[str] = []


@pytest.hookimpl(trylast=True)  # after duisconf.pytest_catalogue has read the declaration
def pytest_configure(config: pytest.Config) -> None:
    from .deviations import load_register, register_path, utc_today
    from .errors import DuisConfError

    config._duisconf_deviations = None  # type: ignore[attr-defined]
    try:
        option = config.getoption("--deviations")
    except ValueError:
        return
    path = register_path(option, getattr(config, "_duisconf_declaration", None))
    if path is None:
        return
    try:
        register = load_register(path)
    except DuisConfError as exc:
        raise pytest.UsageError(f"duisconf: {exc}") from None
    config._duisconf_deviations = DeviationRun(register, utc_today())  # type: ignore[attr-defined]


def _run(config: pytest.Config) -> DeviationRun | None:
    return getattr(config, "_duisconf_deviations", None)


def _ident(properties) -> str | None:
    return next((v for k, v in properties if k == "scenario_id"), None)


@pytest.hookimpl(trylast=True)  # after allure-pytest-bdd has opened the scenario's result
def pytest_bdd_before_scenario(request, feature, scenario) -> None:
    run = _run(request.config)
    entry = run.active.get(_ident(request.node.user_properties)) if run else None
    if entry is None:
        return
    try:
        import allure

        allure.dynamic.label("known_deviation", entry.reference)
    except Exception:  # Allure not active for this run
        pass


@pytest.hookimpl(wrapper=True, trylast=True)  # inside Allure's wrapper: Allure sees the outcome we set
def pytest_runtest_makereport(item: pytest.Item, call):
    report = yield
    run = _run(item.config)
    if run is None or report.when != "call":
        return report
    ident = _ident(report.user_properties)
    entry = run.active.get(ident) if ident else None
    if entry is None:
        return report
    verdict = next((v for k, v in report.user_properties if k == "verdict"), None)
    if report.failed and verdict == "fail":
        report.outcome = "skipped"
        report.wasxfail = entry.describe()
        report.user_properties.append(("known_deviation", entry.reference))
    elif report.passed:
        report.outcome = "failed"
        # pytest's own words for a strict xfail that passed; Allure shows this line as the message
        report.longrepr = (f"[XPASS(strict)] unexpected pass: remove the entry {ident} from {run.register.name} "
                           f"(entry {entry.index}, {entry.reference})")
        report.user_properties.append(("unexpected_pass", entry.reference))
    elif report.failed:
        report.sections.append(("duisconf known deviation",
                                f"{run.register.name} entry {entry.index} excuses a fail verdict only; this scenario "
                                f"was {verdict or 'an error'}, so it counts"))
    return report


class _Collector:
    """Controller and single process alike: which scenario IDs ran, and what became of listed ones
    (pytest_runtest_logreport has no config argument: the hook lives on this object, registered per run)."""

    def __init__(self, run: DeviationRun):
        self.run = run

    @pytest.hookimpl
    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        ident = _ident(getattr(report, "user_properties", ()))
        if not ident:
            return
        self.run.seen.add(ident)
        if ident not in self.run.active or report.when not in ("setup", "call"):
            return
        props = dict(report.user_properties)
        if report.when == "call" and "known_deviation" in props:
            self.run.outcomes[ident] = "known deviation"
        elif report.when == "call" and "unexpected_pass" in props:
            self.run.outcomes[ident] = "unexpected pass"
        elif report.when == "call" and report.skipped:
            self.run.outcomes[ident] = "not applicable"
        elif report.failed:
            self.run.outcomes[ident] = f"failed ({props.get('verdict', 'error')}): not excused"


@pytest.hookimpl(trylast=True)
def pytest_sessionstart(session: pytest.Session) -> None:
    run = _run(session.config)
    if run is not None and not hasattr(session.config, _WORKER):
        session.config.pluginmanager.register(_Collector(run), "duisconf-deviations-collector")


def _features_dir(config: pytest.Config) -> Path:
    try:
        base = config.getini("bdd_features_base_dir") or "features"
    except ValueError:
        base = "features"
    return Path(config.rootpath, base)


def pytest_sessionfinish(session: pytest.Session, exitstatus) -> None:
    config = session.config
    run = _run(config)
    if run is None or hasattr(config, _WORKER):
        return
    from .scenario_ids import all_scenario_ids

    shown = run.register.name
    # Expired entries and entries naming no scenario fail the run here; an unexpected pass has already
    # failed its own test, and is listed with them.
    for entry in run.expired:
        run.problems.append(f"{shown}: entry {entry.index} ({entry.scenario}) expired on {entry.expires.isoformat()}: "
                            f"renew it (new date, reference) or remove it")
    unseen = [e for e in run.register.entries if e.scenario not in run.seen]
    if unseen:  # this run may be a subset or a shard: judge against the whole tree
        everything = all_scenario_ids(_features_dir(config))
        for entry in unseen:
            if entry.scenario not in everything:
                run.outcomes[entry.scenario] = "names no scenario"
                run.problems.append(f"{shown}: entry {entry.index} names no scenario: {entry.scenario} "
                                    f"(IDs: docs/harness.md \"Scenario IDs\")")
            else:
                run.outcomes.setdefault(entry.scenario, "expired" if entry in run.expired else "not run")
    if run.problems and session.exitstatus in (pytest.ExitCode.OK, pytest.ExitCode.NO_TESTS_COLLECTED):
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
    for entry in run.register.entries:
        if run.outcomes.get(entry.scenario) == "unexpected pass":
            run.problems.append(f"{shown}: unexpected pass: remove the entry {entry.scenario} (entry {entry.index})")
    document = {"register": shown, "checked_on": run.today.isoformat(), "problems": run.problems,
                "entries": [dict(e.as_json(), entry=e.index, outcome=run.outcomes.get(
                    e.scenario, "expired" if e in run.expired else "not run")) for e in run.register.entries]}
    _write_reports(config, document)
    results = getattr(config.option, "allure_report_dir", None)
    if results and Path(results).is_dir():
        _mark_known_in_allure(Path(results), run)
        _allure_globals(Path(results), document)


def _write_reports(config: pytest.Config, document: dict) -> None:
    from . import paths

    folder = Path(paths.PROJECT_ROOT, "reports")
    try:
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "deviations.json").write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    except OSError as exc:
        config._duisconf_deviations.problems.append(f"could not write {folder / 'deviations.json'}: {exc.strerror}")


def _mark_known_in_allure(results: Path, run: DeviationRun) -> None:
    """allure-pytest-bdd writes an xfailed scenario as skipped; a known deviation is a failure the party
    knows about: status failed with statusDetails.known (Allure 3 lists it as accepted, not as a new failure)."""
    if "known deviation" not in run.outcomes.values():
        return
    for path in results.glob("*-result.json"):
        text = path.read_text(encoding="utf-8")
        if '"known_deviation"' not in text:
            continue
        result = json.loads(text)
        details = result.get("statusDetails") or {}
        if result.get("status") != "skipped" or not str(details.get("message", "")).startswith("XFAIL known deviation"):
            continue
        details["message"] = details["message"][len("XFAIL "):]
        details["known"] = True
        result["status"], result["statusDetails"] = "failed", details
        path.write_text(json.dumps(result), encoding="utf-8")


def _allure_globals(results: Path, document: dict) -> None:
    """The register's outcome as an Allure 3 global attachment, and each problem as a global error."""
    name = uuid.uuid4().hex
    attachment = f"{name}-attachment.json"
    (results / attachment).write_text(json.dumps(document, indent=2), encoding="utf-8")
    now = int(time.time() * 1000)
    globals_ = {"attachments": [{"name": f"Known deviations ({document['register']})", "source": attachment,
                                 "type": "application/json", "timestamp": now}],
                "errors": [{"message": problem, "timestamp": now} for problem in document["problems"]]}
    (results / f"{name}-globals.json").write_text(json.dumps(globals_), encoding="utf-8")


def pytest_terminal_summary(terminalreporter, exitstatus, config: pytest.Config) -> None:
    run = _run(config)
    if run is None or hasattr(config, _WORKER):
        return
    terminalreporter.write_sep("-", f"DUIS known deviations ({run.register.name})")
    for entry in run.register.entries:
        outcome = run.outcomes.get(entry.scenario, "expired" if entry in run.expired else "not run")
        terminalreporter.write_line(f"{outcome}: {entry.scenario} ({entry.reference}; expires {entry.expires.isoformat()})")
    for problem in run.problems:
        terminalreporter.write_line(f"FAILS THE RUN: {problem}", red=True)
