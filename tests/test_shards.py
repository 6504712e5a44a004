"""Shards for CI fleets (duisconf.pytest_shards, duisconf.merge): a small subset run whole and as two
shards (side by side, as a fleet would, balanced by the whole run's durations) gives, once the shards are
merged, the same scenarios with the same outcomes in JUnit and Allure, the same catalogue coverage and
the same durations; merging a scenario twice is refused naming it."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from functools import lru_cache
from pathlib import Path

import pytest

from duisconf.duis.parse import parse_xml
from duisconf.errors import ConfigError, InvalidInput
from duisconf.merge import merge_shards, junit_case_key
from duisconf.pytest_shards import parse_shard, read_durations, split

ROOT = Path(__file__).resolve().parents[1]
SUBSET = ["features/uept", "features/design_notes/comms_hub_exchange.feature", "features/catalogue/section_12.feature"]


def test_a_shard_is_i_of_n():
    assert parse_shard("2/4") == (2, 4)
    for bad in ("0/2", "3/2", "1", "a/b", "1/0", "-1/2"):
        with pytest.raises(ConfigError, match="--shard"):
            parse_shard(bad)


def test_the_split_is_by_id_whatever_the_order_and_balanced_longest_first():
    keys = [f"f::s{i}" for i in range(10)]
    # s4 did not run last time (0 s, not applicable); the rest are unknown: the median of those that ran, 4.5
    durations = {"f::s0": 9.0, "f::s1": 5.0, "f::s2": 4.0, "f::s3": 1.0, "f::s4": 0.0}
    forward, loads = split(keys, 3, durations)
    backward, _ = split(list(reversed(keys)), 3, durations)
    assert forward == backward
    assert forward["f::s0"] == 0 and forward["f::s1"] != 0  # the longest alone first; the next elsewhere
    assert max(loads) - min(loads) <= 9.0  # never more apart than the longest scenario
    assert sorted(loads) == sorted([sum((durations.get(k, 4.5)) for k in keys if forward[k] == j) for j in range(3)])
    assert sum(loads) == 9 + 5 + 4 + 1 + 0 + 5 * 4.5
    counts, _ = split(keys, 3, {})  # nothing known: by count
    assert sorted(list(counts.values()).count(j) for j in range(3)) == [3, 3, 4]


def test_a_bad_durations_file_is_named(tmp_path):
    assert read_durations(tmp_path / "none.json") == {}
    (tmp_path / "d.json").write_text('{"f::s": "slow"}')
    with pytest.raises(ConfigError, match=r"d\.json: f::s: 'slow' is not a number of seconds"):
        read_durations(tmp_path / "d.json")


def _run(folder: Path, *extra: str) -> subprocess.Popen:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT / "src"), os.environ.get("PYTHONPATH", "")]),
               DUISCONF_STATE_DIR=str(folder / "state"))
    folder.mkdir(parents=True)
    return subprocess.Popen(
        [sys.executable, "-m", "pytest", *SUBSET, "-p", "no:cacheprovider", "-p", "no:hypothesispytest",
         "-o", "addopts=",
         "--alluredir", str(folder / "allure-results"), "--junitxml", str(folder / "junit.xml"), *extra],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def _finish(process: subprocess.Popen) -> str:
    output, _ = process.communicate(timeout=300)
    assert process.returncode == 0, output[-3000:]
    return output


@lru_cache(maxsize=1)
def runs(base: str) -> dict[str, str]:
    """The subset run whole, then as two shards side by side split by the whole run's durations; the
    shards merged with `duisconf merge`. Returns each run's terminal output."""
    scratch = Path(base)
    whole = _finish(_run(scratch / "whole", "--durations-out", str(scratch / "whole" / "durations.json")))
    durations = str(scratch / "whole" / "durations.json")
    shards = [_run(scratch / f"shard{i}", "--shard", f"{i}/2", "--shard-durations", durations,
                   "--durations-out", str(scratch / f"shard{i}" / f"durations-shard-{i}-of-2.json")) for i in (1, 2)]
    outputs = {"whole": whole, "shard1": _finish(shards[0]), "shard2": _finish(shards[1])}
    for i in (1, 2):  # a shard's reports folder as ./dev suite leaves it: coverage.json beside the results
        shutil.copy(scratch / f"shard{i}" / "allure-results" / "coverage.json", scratch / f"shard{i}" / "coverage.json")
    merge = subprocess.run([sys.executable, "-m", "duisconf.cli", "merge", str(scratch / "merged"),
                            str(scratch / "shard1"), str(scratch / "shard2")], cwd=ROOT, capture_output=True, text=True,
                           env=dict(os.environ, PYTHONPATH=str(ROOT / "src")), timeout=120)
    assert merge.returncode == 0, merge.stderr
    outputs["merge"] = merge.stderr
    return outputs


@pytest.fixture(scope="module")
def scratch(tmp_path_factory) -> Path:
    base = tmp_path_factory.mktemp("shards")
    runs(str(base))
    return base


def junit_outcomes(path: Path) -> dict[str, str]:
    """{scenario ID: outcome} from JUnit XML (one testsuite, as the merge writes it, or pytest's own)."""
    root = parse_xml(path.read_bytes(), source=str(path)).getroot()
    suites = root.findall("testsuite")
    assert len(suites) == 1
    outcomes = {}
    for case in suites[0].iterfind("testcase"):
        element = next((case.find(t) for t in ("failure", "error", "skipped") if case.find(t) is not None), None)
        outcomes[junit_case_key(case)] = "passed" if element is None else element.tag + ":" + element.get("type", "")
    assert len(outcomes) == len(suites[0].findall("testcase")), "a scenario twice in one JUnit file"
    return outcomes


def allure_outcomes(folder: Path) -> dict[str, str]:
    outcomes = {}
    for path in folder.glob("*-result.json"):
        result = json.loads(path.read_text(encoding="utf-8"))
        labels = {label["name"]: label["value"] for label in result["labels"]}
        assert labels["scenario_id"] not in outcomes
        outcomes[labels["scenario_id"]] = f"{result['status']}/{labels.get('verdict')}"
    return outcomes


def test_two_shards_merged_are_the_unsharded_run(scratch):
    whole, shard1, shard2 = (junit_outcomes(scratch / name / "junit.xml") for name in ("whole", "shard1", "shard2"))
    assert len(whole) > 50 and {o for o in whole.values()} >= {"passed", "skipped:not applicable"}
    assert shard1 and shard2 and not shard1.keys() & shard2.keys()  # each scenario in exactly one shard
    merged = junit_outcomes(scratch / "merged" / "junit.xml")
    assert merged == whole
    assert (allure_outcomes(scratch / "merged" / "allure-results")
            == allure_outcomes(scratch / "whole" / "allure-results"))
    suite = parse_xml((scratch / "merged" / "junit.xml").read_bytes()).getroot().find("testsuite")
    assert int(suite.get("tests")) == len(whole) and int(suite.get("skipped")) == list(whole.values()).count(
        "skipped:not applicable")
    coverage = json.loads((scratch / "merged" / "coverage.json").read_text())
    assert coverage == json.loads((scratch / "whole" / "allure-results" / "coverage.json").read_text())
    assert coverage["srvs"]  # section 12's SRVs, per role
    assert (json.loads((scratch / "merged" / "durations.json").read_text()).keys()
            == json.loads((scratch / "whole" / "durations.json").read_text()).keys() == whole.keys())


def test_each_shard_says_what_it_ran_and_how_it_was_split(scratch):
    outputs = runs(str(scratch))
    total = len(junit_outcomes(scratch / "whole" / "junit.xml"))
    for i in (1, 2):
        ran = len(junit_outcomes(scratch / f"shard{i}" / "junit.xml"))
        assert (f"shard {i}/2: {ran} of {total} selected tests, {total - ran} deselected (in the other shards)"
                in outputs[f"shard{i}"]), outputs[f"shard{i}"][-2000:]
        assert f"balanced by {total} durations from" in outputs[f"shard{i}"]
    assert f"merged 2 shards into {scratch / 'merged'}: " in outputs["merge"]
    expected = [float(re.search(rf"shard {i}/2: .*?expected ([\d.]+) s of", outputs[f"shard{i}"]).group(1))
                for i in (1, 2)]
    longest = max(json.loads((scratch / "whole" / "durations.json").read_text()).values())
    assert abs(expected[0] - expected[1]) <= longest + 0.1, expected  # balanced to within one scenario


def test_a_scenario_in_two_shards_is_refused_naming_it(scratch, tmp_path):
    shutil.copytree(scratch / "shard1", tmp_path / "again")
    with pytest.raises(InvalidInput, match="scenario .* is in two shards") as refused:
        merge_shards(tmp_path / "out", [scratch / "shard1", tmp_path / "again"])
    assert "shard1" in str(refused.value) and "again" in str(refused.value)
    (tmp_path / "again" / "allure-results").rename(tmp_path / "results-aside")  # JUnit says it too
    with pytest.raises(InvalidInput, match="is in two shards' JUnit XML"):
        merge_shards(tmp_path / "out2", [scratch / "shard1", tmp_path / "again"])
    # From the command line: one line naming a scenario of the shard, exit 4, no traceback.
    result = subprocess.run([sys.executable, "-m", "duisconf.cli", "merge", str(tmp_path / "out3"),
                             str(scratch / "shard1"), str(tmp_path / "again")],
                            cwd=ROOT, capture_output=True, text=True, timeout=60,
                            env=dict(os.environ, PYTHONPATH=str(ROOT / "src")))
    assert result.returncode == InvalidInput.exit_code and "Traceback" not in result.stderr
    named = result.stderr.split("scenario ", 1)[1].split(" is in two", 1)[0]
    assert named in junit_outcomes(scratch / "shard1" / "junit.xml")
