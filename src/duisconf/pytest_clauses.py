"""At the end of a run of the features: coverage per clause (duisconf.clauses) with this run's verdicts,
written to reports/clauses.json and to the Allure results as a global attachment ("Clause coverage",
shown on the report's front page by Allure 3), with one line in the terminal summary. A scenario this run
did not collect (a subset, a shard) reads "not run". Runs that execute no scenario write nothing.

Registered by the root conftest (pytest_plugins); the xdist controller (or the single process) writes.
"""

from __future__ import annotations

import json
import time
import uuid
from pathlib import Path

import pytest


class _Verdicts:
    """Each scenario's verdict as the reports tell it (they cross from xdist workers to the controller)."""

    def __init__(self):
        self.verdicts: dict[str, str] = {}

    @pytest.hookimpl
    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        from .clauses import verdict_of_result

        props = dict(getattr(report, "user_properties", ()) or ())
        ident = props.get("scenario_id")
        if not ident or report.when == "teardown" and report.passed:
            return
        if report.when == "setup" and report.passed:
            return
        status = "passed" if report.passed else "skipped" if report.skipped else "failed"
        verdict = verdict_of_result(props, status)
        previous = self.verdicts.get(ident)
        self.verdicts[ident] = verdict if previous in (None, "pass") else previous


def pytest_sessionstart(session: pytest.Session) -> None:
    if not hasattr(session.config, "workerinput"):
        session.config._duisconf_clause_verdicts = _Verdicts()  # type: ignore[attr-defined]
        session.config.pluginmanager.register(session.config._duisconf_clause_verdicts, "duisconf-clause-verdicts")


def pytest_sessionfinish(session: pytest.Session, exitstatus) -> None:
    config = session.config
    collector = getattr(config, "_duisconf_clause_verdicts", None)
    if collector is None or not collector.verdicts or hasattr(config, "workerinput"):
        return
    from . import paths
    from .clauses import build, render
    from .errors import DuisConfError

    try:
        document = build(declaration=getattr(config, "_duisconf_declaration", None), verdicts=collector.verdicts)
    except DuisConfError as exc:
        config._duisconf_clause_line = f"clause coverage not written: {exc}"  # type: ignore[attr-defined]
        return
    ran = sum(1 for row in document["per_clause"] if any(v != "not run" for v in row.get("verdicts", {})))
    config._duisconf_clause_line = (  # type: ignore[attr-defined]
        f"{document['clauses']} clauses: {document['checked']} with a check, {ran} checked by this run, "
        f"{document['no_check']} with no check (why: duisconf coverage); reports/clauses.json")
    folder = Path(paths.PROJECT_ROOT, "reports")
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "clauses.json").write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    results = getattr(config.option, "allure_report_dir", None)
    if results and Path(results).is_dir():
        name = uuid.uuid4().hex
        (Path(results) / f"{name}-attachment.txt").write_text(render(document), encoding="utf-8")
        (Path(results) / f"{name}-attachment.json").write_text(json.dumps(document), encoding="utf-8")
        now = int(time.time() * 1000)
        attachments = [{"name": "Clause coverage", "source": f"{name}-attachment.txt", "type": "text/plain", "timestamp": now},
                       {"name": "Clause coverage (JSON)", "source": f"{name}-attachment.json",
                        "type": "application/json", "timestamp": now}]
        (Path(results) / f"{name}-globals.json").write_text(json.dumps({"attachments": attachments}), encoding="utf-8")


def pytest_terminal_summary(terminalreporter, exitstatus, config: pytest.Config) -> None:
    line = getattr(config, "_duisconf_clause_line", None)
    if line and not hasattr(config, "workerinput"):
        terminalreporter.write_sep("-", "DUIS clause coverage")
        terminalreporter.write_line(line)
