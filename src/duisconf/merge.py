"""`duisconf merge OUT SHARD_DIR...`: the reports of the shards of one run (pytest --shard I/N) as one.

Each SHARD_DIR is a shard's reports folder as `./dev suite` leaves it: allure-results/, junit.xml,
coverage.json (or allure-results/coverage.json), counters.json, and its durations
(durations-shard-I-of-N.json, else durations.json). OUT gets the same layout: one Allure results folder
(to generate one report from), one JUnit testsuite, one catalogue coverage (an SRV's verdict per role is
the worst over every shard's applicable scenarios, as in one run), the originators' furthest counters and
one durations.json for the next split.

Shards of one run never share a scenario: a scenario ID met in two shards (they were split with different
durations files or selections) is an error naming it and both shards, as is one file name holding
different bytes in two shards, or shards run for different declarations.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from .errors import InvalidInput

RESULTS = "allure-results"
JUNIT = "junit.xml"
COVERAGE = "coverage.json"
COUNTERS = "counters.json"
DURATIONS = "durations.json"
_MERGED_HERE = {"coverage.json", "coverage.txt", "environment.properties", "categories.json"}


@dataclass
class Merged:
    """What `merge_shards` wrote, for its one-line account."""

    shards: int = 0
    results: int = 0
    testcases: int = 0
    roles: int = 0
    durations: int = 0
    written: list[str] = field(default_factory=list)

    def line(self, out: Path) -> str:
        parts = [f"{self.results} Allure results" if self.results else "",
                 f"{self.testcases} JUnit test cases" if self.testcases else "",
                 f"coverage for {self.roles} roles" if self.roles else "",
                 f"durations of {self.durations} scenarios" if self.durations else ""]
        return f"merged {self.shards} shards into {out}: " + ", ".join(p for p in parts if p)


def merge_shards(out: Path, shards: list[Path]) -> Merged:
    out, shards = Path(out), [Path(s) for s in shards]
    for shard in shards:
        if not shard.is_dir():
            raise InvalidInput(f"{shard}: not a folder (a shard's reports folder: {RESULTS}/, {JUNIT} …)")
        if not (shard / RESULTS).is_dir() and not (shard / JUNIT).is_file():
            raise InvalidInput(f"{shard}: holds neither {RESULTS}/ nor {JUNIT}: not a shard's reports folder")
        if shard.resolve() == out.resolve():
            raise InvalidInput(f"{out}: the output folder is also a shard: write the merge elsewhere")
    if len({s.resolve() for s in shards}) != len(shards):
        raise InvalidInput("the same shard folder is named twice")
    if (out / RESULTS).is_dir() and any((out / RESULTS).iterdir()):
        raise InvalidInput(f"{out / RESULTS}: not empty: merge into a new folder (old results would mix in)")
    out.mkdir(parents=True, exist_ok=True)
    merged = Merged(shards=len(shards))
    if any((s / RESULTS).is_dir() for s in shards):
        merged.results = merge_allure([s / RESULTS for s in shards if (s / RESULTS).is_dir()], out / RESULTS)
        merged.written.append(RESULTS)
    if any((s / JUNIT).is_file() for s in shards):
        merged.testcases = merge_junit([s / JUNIT for s in shards if (s / JUNIT).is_file()], out / JUNIT)
        merged.written.append(JUNIT)
    coverages = [c for c in (_coverage_file(s) for s in shards) if c is not None]
    if coverages:
        document = merge_coverage(coverages)
        write_coverage(document, [out] + ([out / RESULTS] if (out / RESULTS).is_dir() else []))
        merged.roles = len(document["srvs"])
        merged.written.append(COVERAGE)
    counters = [s / COUNTERS for s in shards if (s / COUNTERS).is_file()]
    if counters:
        _write_json(out / COUNTERS, merge_counters(counters))
        merged.written.append(COUNTERS)
    durations = [d for d in (_durations_file(s) for s in shards) if d is not None]
    if durations:
        document = merge_durations(durations)
        _write_json(out / DURATIONS, document)
        merged.durations = len(document)
        merged.written.append(DURATIONS)
    return merged


# -- Allure results ---------------------------------------------------------------------------------

def result_key(result: dict) -> str:
    """A result's scenario ID (its label), else Allure's history ID (a test that is no scenario)."""
    for label in result.get("labels", []):
        if label.get("name") == "scenario_id":
            return label["value"]
    return result.get("historyId") or result.get("fullName") or result.get("uuid", "?")


def merge_allure(folders: list[Path], out: Path) -> int:
    """Copy every shard's results into `out`; environment.properties and categories.json are joined,
    coverage is written by merge_coverage. Returns how many results."""
    out.mkdir(parents=True, exist_ok=True)
    owner: dict[str, Path] = {}
    environment: dict[str, list[str]] = {}
    categories: list[dict] = []
    count = 0
    for folder in folders:
        seen_here: set[str] = set()
        for path in sorted(folder.rglob("*")):
            if path.is_dir():
                continue
            relative = path.relative_to(folder)
            name = relative.as_posix()
            if name == "environment.properties":
                for key, value in _read_properties(path):
                    if value not in environment.setdefault(key, []):
                        environment[key].append(value)
                continue
            if name == "categories.json":
                for category in _read_json(path):
                    if category not in categories:
                        categories.append(category)
                continue
            if name in _MERGED_HERE:
                continue
            if name.endswith("-result.json"):
                key = result_key(_read_json(path))
                if key in owner and key not in seen_here:
                    raise InvalidInput(f"scenario {key} is in two shards, {owner[key].parent} and {folder.parent}: "
                                       "the shards of one run must be split with the same selection and durations")
                owner[key] = folder
                seen_here.add(key)
                count += 1
            target = out / relative
            if target.exists():
                if target.read_bytes() != path.read_bytes():
                    raise InvalidInput(f"{name}: in more than one shard with different contents "
                                       f"(the second is {path})")
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, target)
    if environment:
        # One value per key when the shards agree; where they differ (addresses, start times) all of them.
        lines = [f"{key}={', '.join(values)}" for key, values in environment.items()]
        (out / "environment.properties").write_text("\n".join(lines) + "\n", encoding="utf-8")
    if categories:
        _write_json(out / "categories.json", categories)
    return count


def _read_properties(path: Path) -> list[tuple[str, str]]:
    pairs = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.lstrip().startswith(("#", "!")) and "=" in line:
            key, value = line.split("=", 1)
            pairs.append((key.strip(), value.strip()))
    return pairs


# -- JUnit XML ---------------------------------------------------------------------------------------

def junit_case_key(case) -> str:
    """A test case's scenario ID (its property), else its class and name."""
    for prop in case.iterfind("properties/property"):
        if prop.get("name") == "scenario_id":
            return prop.get("value")
    return f"{case.get('classname', '')}::{case.get('name', '')}"


def merge_junit(files: list[Path], out: Path) -> int:
    """One <testsuites> holding one <testsuite> with every shard's test cases and totals counted again
    from them; its time is the shards' times added up (machine time, not the fleet's wall time)."""
    from lxml import etree

    from .duis.parse import parse_xml

    owner: dict[str, Path] = {}
    cases = []
    time = 0.0
    stamps, hosts, names = [], [], []
    for path in files:
        try:
            root = parse_xml(path.read_bytes(), source=str(path)).getroot()
        except OSError as exc:
            raise InvalidInput(f"{path}: cannot read: {exc.strerror}") from None
        suites = [root] if root.tag == "testsuite" else root.findall("testsuite")
        if root.tag not in ("testsuite", "testsuites"):
            raise InvalidInput(f"{path}: not JUnit XML (root element <{root.tag}>)")
        for suite in suites:
            try:
                time += float(suite.get("time", "0"))
            except ValueError:
                raise InvalidInput(f"{path}: testsuite time {suite.get('time')!r} is not a number") from None
            stamps += [suite.get("timestamp")] if suite.get("timestamp") else []
            hosts += [suite.get("hostname")] if suite.get("hostname") not in (None, *hosts) else []
            names += [suite.get("name")] if suite.get("name") not in (None, *names) else []
            for case in suite.iterfind("testcase"):
                key = junit_case_key(case)
                if key in owner:
                    raise InvalidInput(f"scenario {key} is in two shards' JUnit XML, {owner[key]} and {path}")
                owner[key] = path
                cases.append(case)
    suite = etree.Element("testsuite", name=", ".join(names) or "pytest")
    counts = {"errors": "error", "failures": "failure", "skipped": "skipped"}
    for attribute, tag in counts.items():
        suite.set(attribute, str(sum(1 for case in cases if case.find(tag) is not None)))
    suite.set("tests", str(len(cases)))
    suite.set("time", f"{time:.3f}")
    if stamps:
        suite.set("timestamp", min(stamps))
    if hosts:
        suite.set("hostname", ", ".join(hosts))
    suite.extend(cases)
    root = etree.Element("testsuites")
    root.append(suite)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(etree.tostring(root, xml_declaration=True, encoding="utf-8"))
    return len(cases)


# -- catalogue coverage, counters, durations --------------------------------------------------------

def _coverage_file(shard: Path) -> Path | None:
    for candidate in (shard / COVERAGE, shard / RESULTS / COVERAGE):
        if candidate.is_file():
            return candidate
    return None


def merge_coverage(files: list[Path]) -> dict:
    """The shards' coverage (pytest_catalogue's coverage.json) as one run's: per role and SRV the worst
    applicable verdict of every shard, "not applicable" where no shard found one applicable."""
    from .pytest_catalogue import summarise
    from .verdicts import worst

    first: tuple | None = None
    verdicts: dict[str, dict[str, list[str]]] = {}
    for path in files:
        document = _read_json(path)
        if not isinstance(document, dict) or not isinstance(document.get("srvs"), dict):
            raise InvalidInput(f"{path}: not a coverage file (no 'srvs' per role)")
        if first is None:
            first = (path, document.get("declaration"), document.get("party"))
        elif (document.get("declaration"), document.get("party")) != first[1:]:
            raise InvalidInput(f"{path}: coverage for declaration {document.get('declaration')!r}, but {first[0]} "
                               f"is for {first[1]!r}: shards of one run use one declaration")
        for role, srvs in document["srvs"].items():
            for srv, verdict in srvs.items():
                verdicts.setdefault(role, {}).setdefault(srv, []).append(verdict)
    coverage = {}
    for role, srvs in verdicts.items():
        coverage[role] = {}
        for srv, found in srvs.items():
            applicable = [v for v in found if v != "not applicable"]
            coverage[role][srv] = worst(*applicable) if applicable else "not applicable"
    figures, _ = summarise(coverage)
    assert first is not None  # files is never empty
    return {"declaration": first[1], "party": first[2], "per_role": figures, "srvs": coverage}


def write_coverage(document: dict, folders: list[Path]) -> None:
    """coverage.json and coverage.txt as pytest_catalogue writes them at the end of a run."""
    from .pytest_catalogue import summarise

    _, lines = summarise(document["srvs"])
    title = f"DUIS catalogue coverage for {document['declaration']} ({document['party']}), SRVs per role"
    for folder in folders:
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "coverage.txt").write_text(title + "\n" + "\n".join(lines) + "\n", encoding="utf-8")
        (folder / COVERAGE).write_text(json.dumps(document, indent=2, sort_keys=True), encoding="utf-8")


def merge_counters(files: list[Path]) -> dict:
    """Each originator's furthest counter over the shards (the value a shared kit must resynchronise from)."""
    written, states, used = [], [], set()
    originators: dict[str, dict] = {}
    for path in files:
        document = _read_json(path)
        if not isinstance(document, dict) or not isinstance(document.get("originators"), list):
            raise InvalidInput(f"{path}: not a counters file (no 'originators' list)")
        written.append(document.get("written", ""))
        if document.get("state") not in states:
            states.append(document.get("state"))
        used.update(document.get("used_this_run", []))
        for entry in document["originators"]:
            name = entry.get("originator")
            if name not in originators or (entry.get("hwm") or 0) > (originators[name].get("hwm") or 0):
                originators[name] = entry
    return {"written": max(written), "state": ", ".join(str(s) for s in states), "used_this_run": sorted(used),
            "originators": [originators[name] for name in sorted(originators)]}


def _durations_file(shard: Path) -> Path | None:
    """A shard's own durations: durations-shard-I-of-N.json (its durations.json may be the file it was
    split by), else durations.json."""
    own = sorted(shard.glob("durations-shard-*.json"))
    if len(own) > 1:
        raise InvalidInput(f"{shard}: more than one durations-shard-*.json ({', '.join(p.name for p in own)})")
    if own:
        return own[0]
    return shard / DURATIONS if (shard / DURATIONS).is_file() else None


def merge_durations(files: list[Path]) -> dict[str, float]:
    from .errors import ConfigError
    from .pytest_shards import read_durations

    merged: dict[str, float] = {}
    owner: dict[str, Path] = {}
    for path in files:
        try:
            durations = read_durations(path)
        except ConfigError as exc:
            raise InvalidInput(str(exc)) from None
        for ident, seconds in durations.items():
            if ident in owner:
                raise InvalidInput(f"scenario {ident} has a duration in two shards, {owner[ident]} and {path}")
            owner[ident] = path
            merged[ident] = seconds
    return dict(sorted(merged.items()))


def _read_json(path: Path):
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise InvalidInput(f"{path}: cannot read: {exc.strerror}") from None
    except ValueError as exc:
        raise InvalidInput(f"{path}: not JSON: {exc}") from None


def _write_json(path: Path, document) -> None:
    path.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")


# -- command line ----------------------------------------------------------------------------------

def add_parser(commands, epilog: str) -> None:
    merge = commands.add_parser(
        "merge", epilog=epilog,
        help="join the reports of the shards of one run (pytest --shard I/N): Allure results, JUnit XML, "
             "coverage, counters, durations")
    merge.add_argument("out", metavar="OUT", help="folder for the merged reports (its allure-results/ must be new)")
    merge.add_argument("shards", metavar="SHARD_DIR", nargs="+",
                       help="a shard's reports folder (allure-results/, junit.xml, coverage.json …)")
    merge.set_defaults(func=cmd_merge)


def cmd_merge(args) -> int:
    import sys

    merged = merge_shards(Path(args.out), [Path(s) for s in args.shards])
    print(merged.line(Path(args.out)), file=sys.stderr)
    return 0
