"""Stable scenario IDs (duisconf.scenario_ids): every collected scenario has one, they are unique across
the whole features tree, they agree with the catalogue's own reading of its cases, and neither
reordering example rows nor adding scenarios or feature files changes the others' IDs or node ids."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from functools import lru_cache
from pathlib import Path

from duisconf.plan import read_cases
from duisconf.scenario_ids import scenario_id, slug

ROOT = Path(__file__).resolve().parents[1]

# Collects in a subprocess and writes [node id, scenario id] per item to argv[1].
_DUMP = """
import json, sys, pytest
from duisconf.scenario_ids import item_scenario_id
class Dump:
    def pytest_collection_finish(self, session):
        with open(sys.argv[1], "w") as out:
            json.dump([[item.nodeid, item_scenario_id(item)] for item in session.items], out)
sys.exit(pytest.main(sys.argv[2:] + ["--collect-only", "-q", "-p", "no:cacheprovider", "-p", "no:hypothesispytest",
                                     "-o", "addopts="], plugins=[Dump()]))
"""


def collect(cwd: Path, *args: str, scratch: Path) -> list[tuple[str, str | None]]:
    out = scratch / f"ids-{len(list(scratch.glob('ids-*')))}.json"
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT / "src"), os.environ.get("PYTHONPATH", "")]),
               DUISCONF_STATE_DIR=str(scratch / "state"))
    result = subprocess.run([sys.executable, "-c", _DUMP, str(out), *args], cwd=cwd, env=env,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0 and out.is_file(), (result.stdout + result.stderr)[-3000:]
    return [tuple(pair) for pair in json.loads(out.read_text())]


@lru_cache(maxsize=1)
def whole_tree() -> list[tuple[str, str | None]]:
    import tempfile

    with tempfile.TemporaryDirectory() as scratch:
        return collect(ROOT, "features/test_features.py", scratch=Path(scratch))


def test_every_scenario_of_the_tree_has_a_unique_id():
    items = whole_tree()
    assert len(items) > 2000
    missing = [node for node, ident in items if not ident]
    assert not missing, missing[:5]
    idents = [ident for _, ident in items]
    duplicates = sorted({i for i in idents if idents.count(i) > 1}) if len(set(idents)) != len(idents) else []
    assert not duplicates, duplicates[:5]
    for ident in idents:  # slug-safe: no spaces, no characters a shell or a file name trips on
        assert " " not in ident and all(c.isalnum() or c in "-._/:[]" for c in ident), ident


def test_the_catalogue_reading_names_the_same_ids():
    collected = {ident for _, ident in whole_tree() if ident.startswith("catalogue/")}
    assert collected == {case.scenario_id for case in read_cases()}


def test_an_id_is_the_feature_the_scenario_and_the_example_row():
    assert slug("SRV 4.1.1, Import Supplier") == "srv-4.1.1-import-supplier"
    assert (scenario_id("catalogue/section_04", "A request is refused with E2", {"srv": "4.1.1", "role": "Other User"})
            == "catalogue/section_04::a-request-is-refused-with-e2[4.1.1-other-user]")
    assert scenario_id("uept/signed_requests", "A signed read") == "uept/signed_requests::a-signed-read"


FEATURE = """\
Feature: Stable IDs
  Scenario: A plain scenario
    Given nothing

  Scenario Outline: Rows
    Given <a> and <b>

    Examples: first
      | a | b |
{rows}
"""
OTHER = """\
Feature: Another file
  Scenario: A plain scenario
    Given nothing
"""
INSERTED = """
  Scenario: An inserted scenario
    Given nothing
"""


def _tree(folder: Path, rows: list[str], extra: bool) -> Path:
    (folder / "features").mkdir(parents=True)
    text = FEATURE.format(rows="\n".join(f"      | {a} | {b} |" for a, b in (r.split() for r in rows)))
    if extra:  # a scenario inserted before the others, and a feature file whose title clashes
        text = text.replace("Feature: Stable IDs\n", "Feature: Stable IDs\n" + INSERTED)
        (folder / "features" / "aaa_first.feature").write_text(OTHER, encoding="utf-8")
    (folder / "features" / "stable.feature").write_text(text, encoding="utf-8")
    (folder / "test_bound.py").write_text(textwrap.dedent("""\
        from pathlib import Path
        from duisconf.scenario_ids import bind
        bind(globals(), Path(__file__).parent / "features")
        """), encoding="utf-8")
    return folder


def test_reordering_rows_and_adding_scenarios_changes_no_other_id(tmp_path: Path):
    before = dict(collect(_tree(tmp_path / "before", ["x 1", "y 2", "z 3"], extra=False), "test_bound.py",
                          scratch=tmp_path))
    after = dict(collect(_tree(tmp_path / "after", ["z 3", "x 1", "y 2", "w 4"], extra=True), "test_bound.py",
                         scratch=tmp_path))
    assert set(before.values()) == {"stable::a-plain-scenario", "stable::rows[x-1]", "stable::rows[y-2]", "stable::rows[z-3]"}
    assert set(before.items()) <= set(after.items())  # the same node ids, with the same scenario IDs
    assert set(after.values()) - set(before.values()) == {
        "stable::an-inserted-scenario", "stable::rows[w-4]", "aaa_first::a-plain-scenario"}
    assert len(set(after)) == len(after) == 7


def test_two_scenarios_with_one_title_in_a_feature_file_are_refused_naming_it(tmp_path: Path):
    import pytest

    from duisconf.errors import ConfigError
    from duisconf.scenario_ids import bind

    (tmp_path / "twice.feature").write_text(OTHER + "\n  Scenario: A plain scenario\n    Given something else\n",
                                            encoding="utf-8")
    with pytest.raises(ConfigError, match=r"twice.feature: more than one scenario titled 'A plain scenario'"):
        bind({}, tmp_path)


# -- parsed features kept between processes (scenario_ids.parsed_features) --------------------------------

_TAGS = """
import json, sys
from duisconf.scenario_ids import scenario_tags
print(json.dumps(sorted(scenario_tags(sys.argv[1]))))
"""


def _ids_in_a_fresh_process(features: Path, cache: Path) -> list[str]:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT / "src"), os.environ.get("PYTHONPATH", "")]),
               DUISCONF_CACHE=str(cache))
    done = subprocess.run([sys.executable, "-c", _TAGS, str(features)], env=env, capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout)


def test_features_edited_added_or_removed_after_caching_are_read_afresh(tmp_path: Path):
    features, cache = tmp_path / "features", tmp_path / "cache"
    (features / "a").mkdir(parents=True)
    (features / "a" / "one.feature").write_text("Feature: one\n  Scenario: first\n    Given a thing\n")
    assert _ids_in_a_fresh_process(features, cache) == ["a/one::first"]
    assert len(list((cache / "features").glob("*.pickle"))) == 1
    assert _ids_in_a_fresh_process(features, cache) == ["a/one::first"]  # read from the cache
    (features / "a" / "one.feature").write_text("Feature: one\n  Scenario: renamed\n    Given a thing\n")
    assert _ids_in_a_fresh_process(features, cache) == ["a/one::renamed"]
    (features / "two.feature").write_text("Feature: two\n  Scenario: second\n    Given a thing\n")
    assert _ids_in_a_fresh_process(features, cache) == ["a/one::renamed", "two::second"]
    (features / "a" / "one.feature").unlink()
    assert _ids_in_a_fresh_process(features, cache) == ["two::second"]


def test_a_feature_cache_that_cannot_be_written_or_read_only_costs_time(tmp_path: Path):
    features = tmp_path / "features"
    features.mkdir()
    (features / "one.feature").write_text("Feature: one\n  Scenario: first\n    Given a thing\n")
    blocked = tmp_path / "file-in-the-way"
    blocked.write_text("not a directory")
    assert _ids_in_a_fresh_process(features, blocked) == ["one::first"]
    cache = tmp_path / "cache"
    _ids_in_a_fresh_process(features, cache)
    for kept in (cache / "features").glob("*.pickle"):
        kept.write_bytes(b"garbage")  # damaged: parsed again
    assert _ids_in_a_fresh_process(features, cache) == ["one::first"]
    assert all(kept.read_bytes() != b"garbage" for kept in (cache / "features").glob("*.pickle"))  # and rewritten
