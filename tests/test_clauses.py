"""Clause traceability (duisconf.clauses, rules/clauses.toml): every tag that names a source maps to a
clause, every clause lists the scenarios that check it, a clause nothing checks says why, and
`duisconf coverage` reads a run's verdicts."""

from __future__ import annotations

import json
import subprocess
import sys
from functools import lru_cache
from pathlib import Path

import pytest

from duisconf.cli import main
from duisconf.clauses import CLAUSE_TAG, KNOWN, build, coverage, load_clauses, read_results
from duisconf.declarations import load_declaration
from duisconf.errors import ConfigError
from duisconf.scenario_ids import scenario_tags

ROOT = Path(__file__).resolve().parents[1]
SIGNED_READ = "uept/signed_requests::a-signed-read-is-acknowledged-then-answered-asynchronously"
UNSIGNED = "uept/refused_requests::an-unsigned-request-is-refused"


@lru_cache(maxsize=1)
def tree() -> dict[str, frozenset[str]]:
    return scenario_tags(ROOT / "features")


@lru_cache(maxsize=1)
def document() -> dict:
    return build(scenarios=tree())


def test_every_srv_dn_and_clause_tag_maps_to_a_clause():
    clauses = load_clauses()
    ids = {clause.id for clause in clauses}
    claimed = {tag for clause in clauses for tag in clause.tags}
    used = set().union(*tree().values())
    unmapped = sorted(tag for tag in used if tag.startswith(("srv-", "dn-", "check-")) and tag not in claimed)
    assert not unmapped, f"tags with no clause: {unmapped}"
    dangling = sorted(tag for tag in used if tag.startswith(CLAUSE_TAG) and tag[len(CLAUSE_TAG):] not in ids)
    assert not dangling, f"@clause- tags naming no clause: {dangling}"


def test_every_clause_lists_the_scenarios_that_carry_its_tags():
    rows = {row["id"]: row for row in document()["per_clause"]}
    assert SIGNED_READ in rows["srv-4.1.1"]["scenarios"]
    assert SIGNED_READ in rows["duis-acknowledge-then-respond"]["scenarios"]  # by its @clause- tag
    assert UNSIGNED in rows["duis-check-signature"]["scenarios"]              # by its @clause- tag
    assert any(s.startswith("catalogue/") for s in rows["duis-check-signature"]["scenarios"])  # by @check-signature
    # the design note's own flow, and the user-system flows where the party's system plays the supplier
    assert all(s.startswith(("design_notes/firmware_management::", "user_system/"))
               for s in rows["dn-firmware"]["scenarios"])
    assert any(s.startswith("design_notes/firmware_management::") for s in rows["dn-firmware"]["scenarios"])
    assert rows["gbcs-ECS70"]["scenarios"] and rows["gbcs-ECS70"]["source"] == "GBCS"
    clauses = {clause.id: clause for clause in load_clauses()}
    for row in rows.values():  # the lists are exactly the scenarios whose tags match
        clause = clauses[row["id"]]
        assert row["scenarios"] == sorted(i for i, tags in tree().items() if clause.covers(tags)), row["id"]


def test_a_clause_with_no_check_carries_a_reason_and_a_covered_one_none():
    clauses = {clause.id: clause for clause in load_clauses()}
    rows = document()["per_clause"]
    unchecked = [row for row in rows if not row["scenarios"]]
    assert {"duis-cv-3", "duis-cv-7", "ctsd-5.3"} <= {row["id"] for row in unchecked}
    for row in unchecked:
        assert clauses[row["id"]].why, f"{row['id']} has no check and no `why` in rules/clauses.toml"
    stale = [row["id"] for row in rows if row["scenarios"] and clauses[row["id"]].why]
    assert not stale, f"these clauses are checked now: remove their `why` from rules/clauses.toml: {stale}"


def test_a_declaration_rules_out_catalogue_scenarios():
    network_operator = build(declaration=load_declaration(ROOT / "declarations" / "network_operator.toml"),
                             scenarios=tree())
    rows = {row["id"]: row for row in network_operator["per_clause"]}
    commission = rows["srv-8.1.1"]  # a supplier's SRV: the catalogue's cases do not apply to a network operator
    assert commission["not_applicable"] and all(s.startswith("catalogue/") for s in commission["not_applicable"])


def test_the_clause_table_is_validated_on_load(tmp_path: Path):
    path = tmp_path / "clauses.toml"
    path.write_text('[[clause]]\nid = "x"\ntitle = "t"\nsource = "s"\nsection = "s"\ntags = []\nwhy = "w"\nsee = 1\n')
    with pytest.raises(ConfigError, match=r"clauses.toml: \[\[clause\]\] 1 \(x\): unknown key 'see'"):
        load_clauses(path)
    path.write_text('[why]\n"dn-alcs" = "w"\n')
    with pytest.raises(ConfigError, match="'dn-alcs' is not a derived clause"):
        load_clauses(path)


def test_coverage_counts_verdicts_and_marks_the_rest_not_run():
    clauses = [c for c in load_clauses() if c.id == "srv-4.1.1"]
    scenarios = {SIGNED_READ: {"srv-4.1.1"}, UNSIGNED: {"srv-4.1.1"}, "x::y": {"srv-4.1.1"}}
    row = coverage(clauses, scenarios, verdicts={SIGNED_READ: "pass", UNSIGNED: KNOWN})["per_clause"][0]
    assert row["verdicts"] == {KNOWN: 1, "not run": 1, "pass": 1}


def write_results(folder: Path) -> None:
    """A small Allure results folder as allure-pytest-bdd and the duisconf plugins write it."""
    folder.mkdir()
    rows = [(SIGNED_READ, "passed", {"verdict": "pass"}),
            (UNSIGNED, "failed", {"verdict": "fail", "known_deviation": "SMDA-246 tolerated issue 17"}),
            ("uept/refused_requests::a-request-to-a-device-the-dcc-does-not-know-is-refused", "failed", {"verdict": "fail"})]
    for number, (ident, status, labels) in enumerate(rows):
        result = {"name": ident, "status": status,
                  "labels": [{"name": "scenario_id", "value": ident}] + [{"name": k, "value": v} for k, v in labels.items()]}
        (folder / f"{number}-result.json").write_text(json.dumps(result), encoding="utf-8")


def test_duisconf_coverage_on_a_small_results_folder(tmp_path: Path, capsys):
    results = tmp_path / "allure-results"
    write_results(results)
    assert read_results(results)[UNSIGNED] == KNOWN
    assert main(["coverage", "--results", str(results), "--json"]) == 0
    rows = {row["id"]: row for row in json.loads(capsys.readouterr().out)["per_clause"]}
    assert rows["duis-check-device_exists"]["verdicts"]["fail"] == 1
    assert rows["duis-check-signature"]["verdicts"][KNOWN] == 1
    assert rows["duis-acknowledge-then-respond"]["verdicts"]["pass"] == 1
    assert main(["coverage", "--results", str(results)]) == 0
    text = capsys.readouterr().out
    assert "No check:" in text and "duis-cv-7  CommandVariant 7" in text and "why: DCC Boxed does not support CV 7" in text
    assert "1 known deviation" in text
    assert main(["coverage", "--results", str(tmp_path / "none")]) == 4
    assert "no such results folder" in capsys.readouterr().err


def test_the_command_is_registered_in_the_cli():
    run = subprocess.run([sys.executable, "-m", "duisconf.cli", "coverage", "--help"], cwd=ROOT,
                         capture_output=True, text=True, timeout=60)
    assert run.returncode == 0 and "--results DIR" in run.stdout and "--declaration FILE" in run.stdout
