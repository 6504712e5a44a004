"""Running part of the suite the pytest way (duisconf.pytest_subsets): a feature folder or file as a pytest
path collects exactly its scenarios (with the same node ids as the whole tree), tags select with -m
(Examples tags too, checked against the catalogue's own reading of its cases), -k selects on scenario
names, `./dev suite` lets a path replace features/ and -n N replace -n auto, and a scenario the
declaration rules out is reported as not applicable, not as a skip."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
from functools import lru_cache
from pathlib import Path

import pytest

from duisconf.declarations import default_declaration, load_declaration
from duisconf.plan import decide, read_cases
from duisconf.pytest_subsets import is_chosen, select_features

ROOT = Path(__file__).resolve().parents[1]
QUIET = ["-p", "no:cacheprovider", "-p", "no:hypothesispytest", "-o", "addopts="]

# Collects in a subprocess and writes [node id, scenario id] per item to argv[1].
_DUMP = """
import json, sys, pytest
from duisconf.scenario_ids import item_scenario_id
class Dump:
    def pytest_collection_finish(self, session):
        with open(sys.argv[1], "w") as out:
            json.dump([[item.nodeid, item_scenario_id(item)] for item in session.items], out)
sys.exit(pytest.main(sys.argv[2:] + ["--collect-only", "-q"], plugins=[Dump()]))
"""


def _env(scratch: Path) -> dict:
    return dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT / "src"), os.environ.get("PYTHONPATH", "")]),
                DUISCONF_STATE_DIR=str(scratch / "state"))


def collect(*args: str) -> dict[str, str]:
    """{scenario ID: node id} of what `pytest ARGS` collects."""
    with tempfile.TemporaryDirectory() as scratch:
        out = Path(scratch, "ids.json")
        result = subprocess.run([sys.executable, "-c", _DUMP, str(out), *args, *QUIET], cwd=ROOT,
                                env=_env(Path(scratch)), capture_output=True, text=True, timeout=120)
        assert result.returncode == 0 and out.is_file(), (result.stdout + result.stderr)[-3000:]
        return {ident: node for node, ident in json.loads(out.read_text())}


@lru_cache(maxsize=1)
def whole_tree() -> dict[str, str]:
    return collect("features")


def under(prefix: str) -> dict[str, str]:
    return {ident: node for ident, node in whole_tree().items() if ident.startswith(prefix)}


def test_a_feature_folder_collects_its_scenarios_with_their_usual_node_ids():
    chosen = collect("features/design_notes")
    assert len(chosen) > 50
    assert chosen == under("design_notes/")


def test_a_feature_file_and_a_folder_together_collect_both():
    chosen = collect("features/design_notes/firmware_management.feature", "features/uept")
    expected = {**under("design_notes/firmware_management::"), **under("uept/")}
    assert len(under("design_notes/firmware_management::")) >= 5
    assert chosen == expected


def test_a_node_id_under_a_feature_file_names_one_scenario():
    ident, node = next(iter(under("uept/signed_requests::").items()))
    test = node.split("::", 1)[1]
    assert collect(f"features/uept/signed_requests.feature::{test}") == {ident: node}


def test_feature_paths_become_the_binder_restricted_to_their_features_unless_another_path_takes_it_all():
    base = ROOT / "features"
    binder = str(base / "test_features.py")
    assert select_features(["features/uept", "tests", "features/design_notes/no_wan.feature::test_x"], ROOT, base) == (
        [binder, "tests", binder + "::test_x"], ["uept/", "design_notes/no_wan"])
    assert select_features(["design_notes"], base, base) == ([binder], ["design_notes/"])  # from another folder
    for whole in (["features/uept", "features"], ["features/uept", "."],
                  ["features/uept", "features/test_features.py"]):
        assert select_features(whole, ROOT, base)[1] is None, whole
    assert select_features(["features", "tests"], ROOT, base) == (["features", "tests"], None)
    assert is_chosen("uept/signed_requests", ["uept/"]) and not is_chosen("uept_more/x", ["uept/"])
    assert not is_chosen("design_notes/no_wan_2", ["design_notes/no_wan"])


def test_tags_select_with_m_including_the_tags_on_examples_blocks():
    assert collect("features/design_notes", "-m", "dn-firmware") == under("design_notes/firmware_management::")
    chosen = collect("features", "-m", "srv-8.11 and role-IS")
    # Reference: the catalogue's own reading of its Examples rows (srv and role are row values there).
    catalogue = {case.scenario_id for case in read_cases() if case.srv == "8.11" and case.role == "IS"}
    assert catalogue and {i for i in chosen if i.startswith("catalogue/")} == catalogue
    assert any(not i.startswith("catalogue/") for i in chosen)  # hand-written scenarios tagged so, too


def test_k_selects_on_scenario_names():
    chosen = collect("features/design_notes", "-k", "baseline_firmware")
    assert chosen and all(i.startswith("design_notes/firmware_management::") and "baseline-firmware" in i
                          for i in chosen)


def test_a_scenario_the_declaration_rules_out_is_not_applicable_not_skipped():
    with tempfile.TemporaryDirectory() as scratch:
        junit = Path(scratch, "junit.xml")
        result = subprocess.run([sys.executable, "-m", "pytest", "features/catalogue/section_12.feature", "-k", "12.1",
                                 "-rA", "--junitxml", str(junit),
                                 "--durations-out", str(Path(scratch, "durations.json")), *QUIET],
                                cwd=ROOT, env=_env(Path(scratch)), capture_output=True, text=True, timeout=180)
        output = result.stdout + result.stderr
        xml = junit.read_text(encoding="utf-8") if junit.is_file() else ""
    assert result.returncode == 0, output[-3000:]
    declaration = load_declaration(default_declaration())
    cases = [case for case in read_cases() if case.feature == "section_12.feature" and case.srv == "12.1"]
    ruled_out = sum(1 for case in cases if not decide(declaration, case).applicable)
    assert 0 < ruled_out < len(cases)
    final = output.strip().splitlines()[-1]
    assert re.search(rf"\b{len(cases) - ruled_out} passed\b", final) and f"{ruled_out} not applicable" in final, final
    assert "skipped" not in final, final
    assert re.search(r"^\S*\.feature|^features/test_features\.py [.N]+", output, re.MULTILINE), output[-2000:]
    assert f"{ruled_out} scenario(s) not applicable to the declaration" in output
    assert re.search(r"^NOT APPLICABLE \[\d+\] not applicable: role \w+ is not declared", output, re.MULTILINE)  # -rA
    assert xml.count('<skipped type="not applicable"') == ruled_out
    assert 'type="pytest.skip"' not in xml


def suite_defaults(*args: str) -> list[str]:
    """What `./dev suite ARGS` puts before the arguments (its shell function, run as the script has it)."""
    script = (ROOT / "dev").read_text(encoding="utf-8")
    function = re.search(r"^suite_defaults\(\) \{.*?^\}", script, re.MULTILINE | re.DOTALL)
    assert function, "dev has no suite_defaults function"
    result = subprocess.run(["bash", "-c", function.group(0) + '\nsuite_defaults "$@"', "dev", *args], cwd=ROOT,
                            capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stderr
    return result.stdout.split()


@pytest.mark.parametrize("args, defaults", [
    ((), ["features", "-n", "auto"]),
    (("-m", "dn-firmware", "-k", "features"), ["features", "-n", "auto"]),
    (("features/design_notes",), ["-n", "auto"]),
    (("features/uept/signed_requests.feature::test_x",), ["-n", "auto"]),
    (("-n", "2", "features/design_notes/firmware_management.feature"), []),
    (("-n4", "--shard", "1/2"), ["features"]),
    (("--declaration", "declarations/supplier.toml"), ["features", "-n", "auto"]),
])
def test_dev_suite_lets_a_path_replace_features_and_n_replace_auto(args, defaults):
    assert suite_defaults(*args) == defaults
