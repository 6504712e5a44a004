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

import re
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


# -- the report's view of the results (what `./dev suite` renders as HTML) -------------------------
#
# The HTML report of a full run must stay small enough to hand round (≤ 30 MB), and the raw results
# stay complete (they go into the evidence bundle). So the report is generated from a view of them:
# - every attachment is stored once under the hash of its content (identical evidence, once);
# - a scenario that did not pass or was not applicable is shown exactly as recorded;
# - in one that passed, or was not applicable, a request as rendered is dropped where the same step
#   holds it signed (the signed request contains it), and each step's remaining messages are shown as
#   one attachment, each part headed by its original name, with each signature in DUIS's fixed profile
#   written as its values only: every message is still there, at a fraction of the report's cost;
# - in one that passed or was not applicable, labels that only describe the test process (host, thread,
#   framework, language) are left out, so are its steps' parameters (the step's own text already says
#   them), and a generated catalogue scenario leaves out its feature's description (the same text on
#   every one of its ~2,000 scenarios; the feature file has it).

_RENDERED, _SIGNED = " rendered", "request (signed)"
# An enveloped signature in exactly DUIS's profile (duisconf.signing): only its values vary, so in a passed
# scenario's view it is written as those values (DigestValue, SignatureValue, issuer, serial); the
# profile's fixed text is restored by anyone who needs the bytes (they are in allure-results).
_PROFILE_SIGNATURE = re.compile(
    rb'<ds:Signature(?: xmlns:ds="http://www.w3.org/2000/09/xmldsig#")?><ds:SignedInfo>'
    rb'<ds:CanonicalizationMethod Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"/>'
    rb'<ds:SignatureMethod Algorithm="http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256"/>'
    rb'<ds:Reference URI=""><ds:Transforms>'
    rb'<ds:Transform Algorithm="http://www.w3.org/2000/09/xmldsig#enveloped-signature"/>'
    rb'<ds:Transform Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"/></ds:Transforms>'
    rb'<ds:DigestMethod Algorithm="http://www.w3.org/2001/04/xmlenc#sha256"/>'
    rb'<ds:DigestValue>([A-Za-z0-9+/=]*)</ds:DigestValue></ds:Reference></ds:SignedInfo>'
    rb'<ds:SignatureValue>([A-Za-z0-9+/=]*)</ds:SignatureValue><ds:KeyInfo><ds:X509Data><ds:X509IssuerSerial>'
    rb'<ds:X509IssuerName>([^<]*)</ds:X509IssuerName><ds:X509SerialNumber>(\d+)</ds:X509SerialNumber>'
    rb'</ds:X509IssuerSerial></ds:X509Data></ds:KeyInfo></ds:Signature>')


def _abbreviated(message: bytes) -> bytes:
    return _PROFILE_SIGNATURE.sub(
        lambda m: b"<!-- ds:Signature in DUIS's profile: DigestValue " + m.group(1) + b" SignatureValue " + m.group(2)
        + b" X509IssuerName " + m.group(3) + b" X509SerialNumber " + m.group(4) + b" -->", message)


def _store(data: bytes, extension: str, out: Path, stored: set[str]) -> str:
    import hashlib

    name = f"{hashlib.sha256(data).hexdigest()[:32]}-attachment{extension}"
    if name not in stored:
        (out / name).write_bytes(data)
        stored.add(name)
    return name


def _attachments(holder: dict, results: Path, out: Path, stored: set[str], merge: bool) -> None:
    entries = holder.get("attachments") or []
    readable = [(a, results / a["source"]) for a in entries if (results / a.get("source", "")).is_file()]
    if merge and len(readable) > 1:
        signed = any(_SIGNED in a.get("name", "") for a, _ in readable)
        parts = [(a, p) for a, p in readable if not (signed and a.get("name", "").endswith(_RENDERED))]
        body = b"".join(f"===== {a.get('name', '')} =====\n".encode() + _abbreviated(p.read_bytes()).rstrip(b"\n")
                        + b"\n\n" for a, p in parts)
        name = f"{len(parts)} messages and summaries: " + "; ".join(a.get("name", "") for a, _ in parts)
        holder["attachments"] = [{"name": name[:200], "type": "text/plain", "source": _store(body, ".txt", out, stored)}]
    else:
        for entry, path in readable:
            entry["source"] = _store(path.read_bytes(), path.suffix, out, stored)
    for step in holder.get("steps") or []:
        _attachments(step, results, out, stored, merge)


_PROCESS_LABELS = {"host", "thread", "framework", "language"}


def _slim(result: dict) -> None:
    """What a passed or not-applicable scenario's view leaves out (see above)."""
    result["labels"] = [label for label in result.get("labels") or [] if label.get("name") not in _PROCESS_LABELS]
    steps = list(result.get("steps") or [])
    while steps:
        step = steps.pop()
        step.pop("parameters", None)
        steps.extend(step.get("steps") or [])
    if str(result.get("fullName", "")).startswith("catalogue/"):
        result.pop("description", None)
        result.pop("descriptionHtml", None)


def report_view(results: Path, out: Path) -> dict[str, int]:
    """Write the report's view of the Allure `results` into `out` (replaced); returns its figures."""
    import json
    import shutil

    from .bundle import ACCEPTED, verdict_of_result

    results, out = Path(results), Path(out)
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    stored: set[str] = set()
    figures = {"scenarios": 0, "shown as recorded": 0}
    for path in sorted(results.iterdir()):
        if path.name.endswith(("-result.json", "-container.json")):
            data = json.loads(path.read_bytes())
            merge = path.name.endswith("-result.json") and verdict_of_result(data) in ACCEPTED
            figures["scenarios"] += path.name.endswith("-result.json")
            figures["shown as recorded"] += path.name.endswith("-result.json") and not merge
            _attachments(data, results, out, stored, merge)
            if merge:
                _slim(data)
            (out / path.name).write_text(json.dumps(data), encoding="utf-8")
        elif "-attachment" not in path.name and path.is_file():
            shutil.copy2(path, out / path.name)
    figures["attachments stored"] = len(stored)
    return figures


def main(argv: list[str] | None = None) -> int:
    """python -m duisconf.pytest_report view RESULTS OUT"""
    import sys

    args = sys.argv[1:] if argv is None else argv
    if len(args) != 3 or args[0] != "view":
        print("usage: python -m duisconf.pytest_report view RESULTS OUT", file=sys.stderr)
        return 2
    figures = report_view(Path(args[1]), Path(args[2]))
    print(", ".join(f"{v} {k}" for k, v in figures.items()), file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
