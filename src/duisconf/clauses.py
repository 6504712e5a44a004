"""Clause traceability: which clause of which document each scenario checks, and which clauses nothing
checks, and why.

A clause is an SRV of DUIS, an access-control check, a GBCS use case, a design-note flow, a CommandVariant,
a heading of SEC Appendix R (the CTSD) … Hand-written clauses come from rules/clauses.toml; the SRV,
GBCS use-case and access-check families are derived from the rules they already live in
(srv_catalogue.toml, access_control.toml), so a new SRV row is a new clause without an edit here. A
scenario covers a clause when it carries one of the clause's tags, or the tag `@clause-<id>`.

`coverage(...)` joins clauses, the scenarios of the features tree (duisconf.scenario_ids.scenario_tags),
optionally a declaration (catalogue scenarios it makes not applicable do not count) and optionally the
verdicts of a run; `render(...)` prints it; `read_results(...)` reads verdicts from Allure results or
JUnit XML. Used by `duisconf coverage` and at the end of every run (duisconf.pytest_clauses).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from . import paths
from .errors import ConfigError, InvalidInput
from .toml_file import read_toml

CLAUSE_TAG = "clause-"
_KEYS = ("id", "title", "source", "section", "tags", "why")
_REQUIRED = ("id", "title", "source", "section", "tags")
KNOWN = "known deviation"


@dataclass(frozen=True)
class Clause:
    id: str
    title: str
    source: str
    section: str
    tags: tuple[str, ...]
    why: str | None = None      # why no scenario checks it (only for such clauses)

    def covers(self, tags: Iterable[str]) -> bool:
        tags = set(tags)
        return f"{CLAUSE_TAG}{self.id}" in tags or any(tag in tags for tag in self.tags)


def _derived() -> list[Clause]:
    """SRVs, GBCS use cases and access-control checks, from the rules that define them."""
    from .emulator.access import load_checks
    from .rules import load_catalogue

    clauses: list[Clause] = []
    carried: dict[str, list[tuple[str, str | None]]] = {}
    for rule in load_catalogue():
        clauses.append(Clause(f"srv-{rule.srv}", rule.name, "DUIS (SEC Appendix AD)",
                              f"Service Request {rule.sr}, SRV {rule.srv} (duis.md §6)", (f"srv-{rule.srv}",)))
        for use_case in rule.use_cases:
            carried.setdefault(use_case.code, []).append((rule.srv, use_case.device))
    for code in sorted(carried):
        srvs = sorted({srv for srv, _ in carried[code]}, key=lambda s: [int(p) for p in s.split(".")])
        devices = sorted({device for _, device in carried[code] if device})
        clauses.append(Clause(f"gbcs-{code}", f"GBCS use case {code}, carried by SRV {', '.join(srvs)}"
                              + (f" to the {', '.join(devices)}" if devices else ""), "GBCS",
                              f"use case {code} (rules/srv_catalogue.toml use_cases; duis.md §6, §10.3)",
                              tuple(f"srv-{srv}" for srv in srvs)))
    for check in load_checks().values():
        clauses.append(Clause(f"duis-check-{check.name}", f"refused with {check.code} when {check.when}",
                              "DUIS (SEC Appendix AD): request validation",
                              f"response code {check.code} (rules/access_control.toml; duis.md §4.2)",
                              (f"check-{check.name}", f"order-{check.name}")))
    return clauses


def load_clauses(path: str | Path | None = None) -> list[Clause]:
    """rules/clauses.toml and the derived families; a ConfigError names the file and the clause."""
    path = Path(path) if path else paths.rules_dir() / "clauses.toml"
    shown = paths.shown(path)
    data = read_toml(path, "clause table", shown=shown, missing="clause table not found")
    extra = sorted(set(data) - {"clause", "why"})
    if extra:
        raise ConfigError(f"{shown}: unknown top-level key {extra[0]!r} (expected [[clause]] and [why])")
    derived = {clause.id: clause for clause in _derived()}
    clauses: dict[str, Clause] = dict(derived)
    for index, row in enumerate(data.get("clause", []), 1):
        where = f"{shown}: [[clause]] {index}" + (f" ({row['id']})" if isinstance(row, dict) and "id" in row else "")
        if not isinstance(row, dict):
            raise ConfigError(f"{where} must be a table")
        unknown = sorted(set(row) - set(_KEYS))
        if unknown:
            raise ConfigError(f"{where}: unknown key {unknown[0]!r} (expected {', '.join(_KEYS)})")
        missing = [key for key in _REQUIRED if key not in row]
        if missing:
            raise ConfigError(f"{where}: {missing[0]} is missing")
        if not isinstance(row["tags"], list) or not all(isinstance(t, str) and not t.startswith("@") for t in row["tags"]):
            raise ConfigError(f"{where}: tags must be a list of tag names without '@'")
        if row["id"] in clauses:
            raise ConfigError(f"{where}: clause {row['id']} is defined twice")
        clauses[row["id"]] = Clause(row["id"], row["title"], row["source"], row["section"], tuple(row["tags"]),
                                    row.get("why"))
    for ident, why in data.get("why", {}).items():
        if ident not in derived:
            raise ConfigError(f"{shown}: [why] {ident!r} is not a derived clause (srv-…, gbcs-…, duis-check-…); "
                              f"give a [[clause]] its own why")
        clauses[ident] = Clause(**{**derived[ident].__dict__, "why": why})
    return list(clauses.values())


# -- verdicts of a run ------------------------------------------------------------------------------

def read_results(path: str | Path) -> dict[str, str]:
    """{scenario ID: verdict} from an Allure results folder (labels scenario_id, verdict, known_deviation)
    or a JUnit XML file (properties of the same names). A known deviation reads "known deviation"."""
    path = Path(path)
    verdicts: dict[str, str] = {}
    if path.is_dir():
        for result in sorted(path.glob("*-result.json")):
            try:
                data = json.loads(result.read_text(encoding="utf-8"))
            except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
                raise InvalidInput(f"{result}: not an Allure result: {exc}") from None
            labels = {label.get("name"): label.get("value") for label in data.get("labels", [])}
            ident = labels.get("scenario_id")
            if ident:
                verdicts[ident] = verdict_of_result(labels, data.get("status"))
        return verdicts
    if path.is_file():
        from .duis.parse import parse_xml

        try:
            root = parse_xml(path.read_bytes())
        except Exception as exc:  # noqa: BLE001  (whatever the parser says, the user gets one line)
            raise InvalidInput(f"{path}: not JUnit XML: {exc}") from None
        for case in root.iter("testcase"):
            props = {p.get("name"): p.get("value") for p in case.iter("property")}
            if props.get("scenario_id"):
                status = "failed" if case.find("failure") is not None or case.find("error") is not None else \
                         "skipped" if case.find("skipped") is not None else "passed"
                verdicts[props["scenario_id"]] = verdict_of_result(props, status)
        return verdicts
    raise InvalidInput(f"{path}: no such results folder or JUnit file")


def verdict_of_result(props: Mapping[str, str | None], status: str | None) -> str:
    if props.get("known_deviation"):
        return KNOWN
    if props.get("verdict"):
        return str(props["verdict"])
    return {"passed": "pass", "failed": "fail", "broken": "error", "skipped": "not applicable"}.get(status or "", "error")


# -- coverage -----------------------------------------------------------------------------------

def coverage(clauses: list[Clause], scenarios: Mapping[str, Iterable[str]], *, not_applicable: Iterable[str] = (),
             verdicts: Mapping[str, str] | None = None, declaration: str | None = None) -> dict:
    """Per clause: the scenarios covering it (applicable ones, and those the declaration rules out), and
    with verdicts the count per verdict ("not run" for a scenario without one)."""
    ruled_out = set(not_applicable)
    by_tag: dict[str, set[str]] = {}  # an index: 370 clauses × 2600 scenarios is slow to scan pairwise
    for ident, tags in scenarios.items():
        for tag in tags:
            by_tag.setdefault(tag, set()).add(ident)
    rows = []
    for clause in clauses:
        covering = sorted(set().union(*(by_tag.get(tag, ()) for tag in (*clause.tags, f"{CLAUSE_TAG}{clause.id}"))))
        applicable = [ident for ident in covering if ident not in ruled_out]
        row = {"id": clause.id, "title": clause.title, "source": clause.source, "section": clause.section,
               "tags": list(clause.tags), "scenarios": applicable,
               "not_applicable": [ident for ident in covering if ident in ruled_out]}
        if not covering:
            row["why"] = clause.why or "no scenario carries its tags, and no reason is recorded"
        elif not applicable:
            row["why"] = f"not applicable: the declaration rules out all {len(covering)} of its scenarios"
        if verdicts is not None:
            counts: dict[str, int] = {}
            for ident in applicable:
                verdict = verdicts.get(ident, "not run")
                counts[verdict] = counts.get(verdict, 0) + 1
            row["verdicts"] = dict(sorted(counts.items()))
        rows.append(row)
    checked = [row for row in rows if row["scenarios"]]
    return {"declaration": declaration, "clauses": len(rows), "checked": len(checked),
            "no_check": len(rows) - len(checked), "with_results": verdicts is not None, "per_clause": rows}


def render(document: dict, *, verbose: bool = False) -> str:
    """Text for people: a line per clause (sources grouped), its scenarios and verdicts, then the clauses
    nothing checks, each with why."""
    head = (f"Clause coverage{' for ' + document['declaration'] if document['declaration'] else ''}: "
            f"{document['clauses']} clauses, {document['checked']} checked, {document['no_check']} with no check")
    lines = [head]
    checked = [row for row in document["per_clause"] if row["scenarios"]]
    unchecked = [row for row in document["per_clause"] if not row["scenarios"]]
    for row in checked:
        detail = f"{len(row['scenarios'])} scenario{'s' if len(row['scenarios']) != 1 else ''}"
        if "verdicts" in row:
            detail += ": " + ", ".join(f"{n} {v}" for v, n in row["verdicts"].items())
        if row["not_applicable"]:
            detail += f" ({len(row['not_applicable'])} more not applicable)"
        lines += [f"{row['id']}  {row['title']}", f"    {row['source']}, {row['section']} · {detail}"]
        if verbose:
            lines += [f"      {ident}" for ident in row["scenarios"]]
    if unchecked:
        lines.append("")
        lines.append("No check:")
        for row in unchecked:
            lines += [f"{row['id']}  {row['title']}", f"    {row['source']}, {row['section']} · why: {row['why']}"]
    return "\n".join(lines) + "\n"


def features_dir() -> Path:
    return paths.PROJECT_ROOT / "features"


def build(*, declaration=None, verdicts: Mapping[str, str] | None = None,
          scenarios: Mapping[str, Iterable[str]] | None = None) -> dict:
    """The coverage document for the whole features tree (what `duisconf coverage` prints and runs write)."""
    from .scenario_ids import scenario_tags

    scenarios = scenarios if scenarios is not None else scenario_tags(features_dir())
    ruled_out: list[str] = []
    if declaration is not None:
        from .plan import make_plan

        ruled_out = [d.case.scenario_id for d in make_plan(declaration).not_applicable]
    return coverage(load_clauses(), scenarios, not_applicable=ruled_out, verdicts=verdicts,
                    declaration=declaration.name if declaration is not None else None)


__all__ = ["Clause", "load_clauses", "read_results", "verdict_of_result", "coverage", "render", "build", "CLAUSE_TAG", "KNOWN"]
