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
# - every attachment reference gets its own file, named by the hash of its content (Allure 3 links a
#   file to one reference only: a second reference to the same file shows as a missing attachment);
# - a scenario that did not pass or was not applicable is shown exactly as recorded;
# - in one that passed, or was not applicable, a request as rendered is dropped where the same step
#   holds it signed (the signed request contains it), and each step's remaining messages are shown as
#   one attachment, each part headed by its original name, with each signature in DUIS's fixed profile
#   written as its values only (in a lone XML message too), and a JSON copy ("X (JSON)") left out where
#   its text twin ("X") is there: every message is still there, at a fraction of the report's cost;
# - a generated catalogue scenario that passed (~1,500 in a full run, each a few formulaic steps) shows
#   its messages as one attachment, each part headed by its step and its name;
# - in one that passed or was not applicable, labels that only describe the test process (host, thread,
#   framework, language) are left out, so is the feature label where the suite label already names the
#   feature, so are its steps' parameters (the step's own text already says them); a generated
#   catalogue scenario leaves out its feature's description (the same text on every one of its ~2,000
#   scenarios; the feature file has it), and a not-applicable one its steps (none of them ran) and
#   the location of pytest's skip (its message says why).

_RENDERED, _SIGNED, _JSON = " rendered", "request (signed)", " (JSON)"
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


_DECLARATION = re.compile(rb"\A<\?xml version=['\"]1\.0['\"] encoding=['\"]UTF-8['\"](?: standalone=['\"]no['\"])?\?>\n?")


def _abbreviated(message: bytes) -> bytes:
    message = _DECLARATION.sub(b"", message)  # UTF-8 XML 1.0 either way
    return _PROFILE_SIGNATURE.sub(
        lambda m: b"<!-- ds:Signature in DUIS's profile: DigestValue " + m.group(1) + b" SignatureValue " + m.group(2)
        + b" X509IssuerName " + m.group(3) + b" X509SerialNumber " + m.group(4) + b" -->", message)


def _store(data: bytes, extension: str, out: Path, stored: set[str]) -> str:
    import hashlib

    digest = hashlib.sha256(data).hexdigest()[:16]
    name, copy = f"{digest}-attachment{extension}", 1
    while name in stored:  # the same evidence again (or a clash of digests): a file of its own (see above)
        copy += 1
        name = f"{digest}-{copy}-attachment{extension}"
    (out / name).write_bytes(data)
    stored.add(name)
    return name


def _parts(holder: dict, results: Path) -> list[tuple[str, Path]]:
    """A holder's attachments as (name, file), less a rendered request beside its signed copy and a JSON
    copy beside its text twin."""
    readable = [(a.get("name", ""), results / a["source"]) for a in holder.get("attachments") or []
                if (results / a.get("source", "")).is_file()]
    names = {name for name, _ in readable}
    signed = any(_SIGNED in name for name in names)
    return [(name, path) for name, path in readable
            if not (signed and name.endswith(_RENDERED)) and not (name.endswith(_JSON) and name[:-len(_JSON)] in names)]


def _merged(parts: list[tuple[str, Path]], out: Path, stored: set[str]) -> dict:
    body = b"".join(f"===== {name} =====\n".encode() + _abbreviated(path.read_bytes()).rstrip(b"\n") + b"\n\n"
                    for name, path in parts)
    # The parts' names head them inside; the link's name is short (it is written twice per link).
    return {"name": f"{len(parts)} messages and summaries", "type": "text/plain", "source": _store(body, ".txt", out, stored)}


def _attachments(holder: dict, results: Path, out: Path, stored: set[str], merge: bool) -> None:
    """Per step: as recorded, or (merge) the step's messages as one attachment."""
    if merge and len(parts := _parts(holder, results)) > 1:
        holder["attachments"] = [_merged(parts, out, stored)]
    else:
        for entry in holder.get("attachments") or []:
            path = results / entry.get("source", "")
            if path.is_file():
                data = path.read_bytes()
                entry["source"] = _store(_abbreviated(data) if merge else data, path.suffix, out, stored)
    for step in holder.get("steps") or []:
        _attachments(step, results, out, stored, merge)


def _attachments_as_one(result: dict, results: Path, out: Path, stored: set[str]) -> None:
    """The whole scenario's messages as one attachment, each part headed by its step and its name."""
    parts: list[tuple[str, Path]] = []
    holders = [("", result)]
    while holders:
        step_name, holder = holders.pop(0)
        parts += [(f"{step_name}: {name}" if step_name else name, path) for name, path in _parts(holder, results)]
        holder["attachments"] = []
        holders = [(step.get("name", ""), step) for step in holder.get("steps") or []] + holders
    if parts:
        result["attachments"] = [_merged(parts, out, stored)]


_PROCESS_LABELS = {"host", "thread", "framework", "language"}


def _slim(result: dict) -> None:
    """What a passed or not-applicable scenario's view leaves out (see above)."""
    labels = [label for label in result.get("labels") or [] if label.get("name") not in _PROCESS_LABELS]
    suites = {label.get("value") for label in labels if label.get("name") == "suite"}
    result["labels"] = [label for label in labels if not (label.get("name") == "feature" and label.get("value") in suites)]
    if result.get("status") == "skipped":
        result["steps"] = []  # not applicable: none of them ran; the feature file has them
        (result.get("statusDetails") or {}).pop("trace", None)  # pytest's skip location, not the reason
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
            if merge and data.get("status") == "passed" and str(data.get("fullName", "")).startswith("catalogue/"):
                _attachments_as_one(data, results, out, stored)
            else:
                _attachments(data, results, out, stored, merge)
            if merge:
                _slim(data)
            (out / path.name).write_text(json.dumps(data), encoding="utf-8")
        elif "-attachment" not in path.name and path.is_file():
            shutil.copy2(path, out / path.name)
    figures["attachments stored"] = len(stored)
    return figures


# Allure 3's Awesome report writes files its page never loads: the tree and the search index once more
# at the top of widgets/ (the page loads each environment's own, widgets/<env>/…: 4 MB of a full run),
# and every earlier run's whole history point under data/history/ (the page reads a scenario's history
# from the scenario itself). They are removed, but only while the page's own code names no such file,
# so a later Allure that reads them keeps them.
_UNREAD = (("widgets/tree.json", b"widgets/tree.json"), ("widgets/search-index.json", b"widgets/search-index.json"),
           ("data/history", b"history/"))


def prune_unread(html: Path) -> int:
    """Remove what of the generated report its page never loads (see above); returns the bytes removed."""
    import shutil

    html = Path(html)
    bundle = b"".join(p.read_bytes() for p in html.glob("app-*.js"))
    environments = [d for d in (html / "widgets").iterdir() if d.is_dir()] if (html / "widgets").is_dir() else []
    removed = 0
    for relative, named in _UNREAD:
        path = html / relative
        if not path.exists() or not bundle or named in bundle:
            continue
        if relative.startswith("widgets/") and not (
                environments and all((d / path.name).is_file() for d in environments)):
            continue  # no per-environment copy to stand in for it
        files = [path] if path.is_file() else [p for p in path.rglob("*") if p.is_file()]
        removed += sum(p.stat().st_size for p in files)
        shutil.rmtree(path) if path.is_dir() else path.unlink()
    return removed


# Allure 3 keeps, for each earlier run, every scenario's labels, names, message and stack trace in the
# history file, and writes them again into every scenario of the next report; the history the report
# shows (status, when, duration, link) needs none of them (Allure's own history item reads status, start,
# stop, duration and url). The file is trimmed after each report: a run kept costs ~0.8 MB of the report
# instead of ~4 MB.
_HISTORY_DROPPED = ("labels", "trace", "name", "fullName", "message")


def trim_history(path: Path) -> int:
    """Drop what the report never shows (see above) from every run in an Allure 3 history file; returns the
    runs kept."""
    import json

    path = Path(path)
    if not path.is_file():
        return 0
    points = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    for point in points:
        for item in (point.get("testResults") or {}).values():
            for key in _HISTORY_DROPPED:
                item.pop(key, None)
    staged = path.with_name(path.name + ".tmp")
    staged.write_text("".join(json.dumps(p, separators=(",", ":")) + "\n" for p in points), encoding="utf-8")
    staged.replace(path)  # never a half-written history
    return len(points)


def main(argv: list[str] | None = None) -> int:
    """python -m duisconf.pytest_report view RESULTS OUT | prune HTML_DIR | trim-history FILE"""
    import sys

    args = sys.argv[1:] if argv is None else argv
    if len(args) == 3 and args[0] == "view":
        figures = report_view(Path(args[1]), Path(args[2]))
        print(", ".join(f"{v} {k}" for k, v in figures.items()), file=sys.stderr)
        return 0
    if len(args) == 2 and args[0] == "prune":
        print(f"{prune_unread(Path(args[1])) / 1e6:.1f} MB the report's page never loads removed", file=sys.stderr)
        return 0
    if len(args) == 2 and args[0] == "trim-history":
        trim_history(Path(args[1]))
        return 0
    print("usage: python -m duisconf.pytest_report view RESULTS OUT | prune HTML_DIR | trim-history FILE",
          file=sys.stderr)
    return 2


if __name__ == "__main__":
    raise SystemExit(main())
