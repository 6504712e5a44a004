"""Generate features/README.md, the index of the suite's feature files.

For every `.feature` under features/ (uept/, design_notes/, catalogue/ and any other folder): the feature
title, its source (the design note named by its `@dn-…` tag, with the note's full name, or the test
phase of `@uept`), each scenario with its SRVs (`@srv-…` tags at feature and scenario level), roles
(`@role-…`) and confidence (`@conf-…`), and counts per feature. The feature files under
features/catalogue/ are generated and large: for them the index lists each file with its scenario count
and the SRVs it covers instead of every scenario.

Feature files are read with the official Gherkin parser (gherkin-official, which pytest-bdd uses), not
with regular expressions.

    python tools/features_index.py           # rewrite features/README.md
    python tools/features_index.py --check   # exit 1 when features/README.md is out of date
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass, field
from pathlib import Path

from gherkin.parser import Parser
from gherkin.token_scanner import TokenScanner

ROOT = Path(__file__).resolve().parents[1]
FEATURES = ROOT / "features"
README = FEATURES / "README.md"
SUMMARISED = ("catalogue",)  # folders listed per file, not per scenario

# The nine SMIP design notes (/work/shared/reference/design-notes.md §4, SEC design-note index),
# by the `@dn-…` tags the feature files use (several spellings accepted).
DESIGN_NOTES = {
    "install-commission": "Install and Commission (SMETS2+, dual fuel, single CH) — design notes §4.1",
    "install-and-commission": "Install and Commission (SMETS2+, dual fuel, single CH) — design notes §4.1",
    "no-wan": "No Wireless Area Network (draft design note) — design notes §4.2",
    "change-of-supplier": "Change of Supplier (credit mode) — design notes §4.3",
    "cos": "Change of Supplier (credit mode) — design notes §4.3",
    "prepayment-cos": "Prepayment (Change of Supplier) — design notes §4.4",
    "prepayment-change-of-supplier": "Prepayment (Change of Supplier) — design notes §4.4",
    "comms-hub-exchange": "Communications Hub Exchange — design notes §4.5",
    "ch-exchange": "Communications Hub Exchange — design notes §4.5",
    "comms-hub-reuse": "Communications Hub Re-use — design notes §4.6",
    "ch-reuse": "Communications Hub Re-use — design notes §4.6",
    "time-management": "Time Management — design notes §4.7",
    "time": "Time Management — design notes §4.7",
    "firmware": "Firmware Management — design notes §4.8",
    "firmware-management": "Firmware Management — design notes §4.8",
    "alcs": "Auxiliary Load Control Switches (ALCS) — design notes §4.9",
}
OTHER_SOURCES = {
    "uept": "User Entry Process Tests (SEC Appendix R, Common Test Scenarios Document)",
    "catalogue": "SRV catalogue (DUIS request matrix and RTDS templates)",
}


@dataclass
class Scenario:
    name: str
    srvs: list[str]
    roles: list[str]
    conf: list[str]
    cases: int  # test cases pytest-bdd makes of it (the example rows of an outline)
    outline: bool


@dataclass
class Feature:
    path: str  # relative to features/
    title: str
    tags: list[str]
    scenarios: list[Scenario] = field(default_factory=list)

    @property
    def source(self) -> str:
        notes = [t[len("@dn-"):] for t in self.tags if t.startswith("@dn-")]
        if notes:
            return "; ".join(f"{DESIGN_NOTES.get(note, 'unknown design note')} (`@dn-{note}`)" for note in notes)
        for tag in self.tags:
            if tag[1:] in OTHER_SOURCES:
                return f"{OTHER_SOURCES[tag[1:]]} (`{tag}`)"
        folder = self.path.split("/")[0]
        return OTHER_SOURCES.get(folder, "—")

    @property
    def cases(self) -> int:
        return sum(s.cases for s in self.scenarios)

    def union(self, attribute: str) -> list[str]:
        values = {v for s in self.scenarios for v in getattr(s, attribute)}
        values |= set(_tagged(self.tags, attribute_prefix(attribute)))
        return sorted(values, key=srv_key if attribute == "srvs" else str)


def attribute_prefix(attribute: str) -> str:
    return {"srvs": "@srv-", "roles": "@role-", "conf": "@conf-"}[attribute]


def srv_key(srv: str) -> tuple:
    return tuple(int(p) if p.isdigit() else 0 for p in srv.split("."))


def _tagged(tags: list[str], prefix: str) -> list[str]:
    return [t[len(prefix):] for t in tags if t.startswith(prefix)]


def _weakest(levels: list[str]) -> list[str]:
    """A scenario's confidence is that of its weakest fact: U below I below V (a scenario tag overrides none)."""
    known = [level for level in ("U", "I", "V") if level in levels]
    return known[:1] or sorted(set(levels))


def _names(tags: list[dict]) -> list[str]:
    return [t["name"] for t in tags]


def _scenarios(children: list[dict], inherited: list[str]) -> list[Scenario]:
    found = []
    for child in children:
        if "rule" in child:
            rule = child["rule"]
            found += _scenarios(rule.get("children", []), inherited + _names(rule.get("tags", [])))
        elif "scenario" in child:
            node = child["scenario"]
            own = _names(node.get("tags", []))
            # tags on Examples blocks (an outline's SRVs and roles per block) count for the scenario too
            tags = inherited + own + [t for e in node.get("examples", []) for t in _names(e.get("tags", []))]
            rows = sum(len(e.get("tableBody", [])) for e in node.get("examples", []))
            outline = bool(node.get("examples"))
            found.append(Scenario(
                name=node["name"],
                srvs=sorted(set(_tagged(tags, "@srv-")), key=srv_key),
                roles=sorted(set(_tagged(tags, "@role-"))),
                conf=_weakest(_tagged(tags, "@conf-")),
                cases=rows if outline else 1, outline=outline))
    return found


def parse(path: Path, root: Path = FEATURES) -> Feature:
    document = Parser().parse(TokenScanner(path.read_text(encoding="utf-8")))
    node = document.get("feature") or {}
    tags = _names(node.get("tags", []))
    return Feature(path=path.relative_to(root).as_posix(), title=node.get("name", ""), tags=tags,
                   scenarios=_scenarios(node.get("children", []), tags))


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _list(values: list[str]) -> str:
    return ", ".join(values) if values else "—"


def render(root: Path = FEATURES) -> str:
    features = [parse(path, root) for path in sorted(root.rglob("*.feature"))]
    lines = [
        "# Feature index",
        "",
        "Generated by `tools/features_index.py` from the feature files (read with the Gherkin parser); do not",
        "edit by hand. After adding or changing a feature, run `python tools/features_index.py`",
        "(`tests/test_features_index.py` fails while this file is out of date).",
        "",
        "Sources: `@dn-…` names the SMIP design note a feature follows (design notes §4), `@uept` the User Entry",
        "Process Tests. Per scenario: the SRVs it sends (`@srv-…`), the user roles acting (`@role-…`) and the",
        "weakest confidence of the facts it asserts (`@conf-V` verified, `I` inferred, `U` unverified).",
        "",
        f"{len(features)} feature files, {sum(f.cases for f in features)} scenarios.",
        "",
        "| Feature file | Feature | Source | Scenarios | SRVs | Roles |",
        "|---|---|---|---|---|---|",
    ]
    for feature in features:
        summarised = feature.path.split("/")[0] in SUMMARISED
        link = f"`{feature.path}`" if summarised else f"[`{feature.path}`](#{_anchor(feature.path)})"
        lines.append(f"| {link} | {_cell(feature.title)} | {_cell(feature.source)} "
                     f"| {feature.cases} | {_list(feature.union('srvs'))} | {_list(feature.union('roles'))} |")
    folders: dict[str, list[Feature]] = {}
    for feature in features:
        folders.setdefault(feature.path.rsplit("/", 1)[0] if "/" in feature.path else ".", []).append(feature)
    for folder, members in folders.items():
        lines += ["", f"## {folder}/", ""]
        if folder.split("/")[0] in SUMMARISED:
            lines += ["Generated catalogue features: one line per file.", "",
                      "| Feature file | Feature | Scenarios | SRVs covered |", "|---|---|---|---|"]
            for feature in members:
                lines.append(f"| `{feature.path}` | {_cell(feature.title)} | {feature.cases} "
                             f"| {_list(feature.union('srvs'))} |")
            continue
        for feature in members:
            lines += _feature_section(feature)
    return "\n".join(lines) + "\n"


def _anchor(path: str) -> str:
    return "".join(c for c in path.lower() if c.isalnum() or c in "-_ ").replace(" ", "-")


def _feature_section(feature: Feature) -> list[str]:
    lines = [
        f"### {feature.path}",
        "",
        f"**{_cell(feature.title)}**",
        "",
        f"- Source: {feature.source}",
        f"- Scenarios: {feature.cases}; SRVs: {_list(feature.union('srvs'))}; roles: {_list(feature.union('roles'))}",
        "",
        "| # | Scenario | SRVs | Roles | Conf |",
        "|---|---|---|---|---|",
    ]
    for number, scenario in enumerate(feature.scenarios, 1):
        name = scenario.name + (f" (outline, {scenario.cases} examples)" if scenario.outline else "")
        lines.append(f"| {number} | {_cell(name)} | {_list(scenario.srvs)} | {_list(scenario.roles)} "
                     f"| {_list(scenario.conf)} |")
    lines.append("")
    return lines


def main(argv: list[str] | None = None) -> int:
    options = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    options.add_argument("--check", action="store_true", help="exit 1 if features/README.md is out of date")
    args = options.parse_args(argv)
    text = render()
    if args.check:
        current = README.read_text(encoding="utf-8") if README.exists() else ""
        if current != text:
            print("features/README.md is out of date: run `python tools/features_index.py`", file=sys.stderr)
            return 1
        return 0
    README.write_text(text, encoding="utf-8")
    print(f"wrote {README.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
