"""Stable scenario IDs: the feature file, the scenario and the example row, never the collection order.

    catalogue/section_04::a-non-critical-request-is-acknowledged-then-the-device-answers[4.1.1-import-supplier-esme]
    design_notes/change_of_supplier::after-the-change-the-dcc-refuses-the-losing-suppliers-commands-to-both-meters

pytest-bdd's `scenarios()` names each test after its scenario title alone and numbers clashes (`_1`, `_2`
…) in the order it meets them, so an ID moved when a feature file was added or renamed. `bind` names each
test after its title *and* its feature file instead, so the pytest node id is stable too; the example row
is pytest-bdd's parametrisation id (its values, not its position). The canonical `scenario_id` (slug
form, above) is what reports, deviation lists and shards use: recorded per test by the duisconf plugin as
the user property and Allure label `scenario_id` (JUnit XML carries user properties as properties).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path

from .errors import ConfigError

_SLUG = re.compile(r"[^a-z0-9.]+")
_SCENARIO_LINE = re.compile(r"^[ \t]*(?:Scenario(?: Outline| Template)?|Example):[ \t]*(.*?)[ \t]*$", re.MULTILINE)


def slug(text: str) -> str:
    """Lower case, every run of characters other than a-z 0-9 . as one '-'."""
    return _SLUG.sub("-", text.lower()).strip("-")


def feature_key(path: str | Path, base: str | Path) -> str:
    """The feature file relative to the features folder, without `.feature` (catalogue/section_04)."""
    return Path(path).resolve().relative_to(Path(base).resolve()).with_suffix("").as_posix()


def scenario_id(feature: str, scenario: str, example: Mapping[str, str] | None = None) -> str:
    """`<feature key>::<scenario slug>[<example values, slugged, joined by ->]` (no brackets for a Scenario)."""
    ident = f"{feature}::{slug(scenario)}"
    if example:
        ident += "[" + "-".join(slug(str(value)) for value in example.values()) + "]"
    return ident


def _python_name(text: str) -> str:
    """As pytest-bdd makes test names (so `-k test_<scenario title>` keeps selecting the scenario)."""
    return re.sub(r"^\d+_*", "", re.sub(r"\W", "", text.replace(" ", "_"))).lower()


def test_name(feature: str, scenario: str) -> str:
    """The bound test function's name: `test_<scenario title>__<feature key>`."""
    return f"test_{_python_name(scenario)}__{_python_name(feature.replace('/', '_'))}"


test_name.__test__ = False  # type: ignore[attr-defined]  # not a test, whatever pytest thinks of the name


def item_scenario_id(item) -> str | None:
    """The scenario ID of a collected pytest item bound by `bind` (None for any other test)."""
    bound = getattr(getattr(item, "function", None), "duisconf_scenario", None)
    if bound is None:
        return None
    params = getattr(getattr(item, "callspec", None), "params", {})
    return scenario_id(*bound, params.get("_pytest_bdd_example"))


def parsed_features(base: str | Path) -> list:
    """pytest-bdd's `get_features` for every feature file under `base`, parsed once per change of the files.

    Parsing the tree's ~2,600 scenarios with the gherkin parser takes ~0.6 s, and every test process (each
    xdist worker) and the clause and deviation reports do it. The parsed features are kept in the cache
    directory (duisconf.paths.cache_dir, safe to delete), named by a hash of every feature file's path and
    content and of the pytest-bdd, gherkin and Python versions, so an edited, added or removed file, or an
    upgrade, is parsed afresh. They are handed to pytest-bdd through its own per-process feature cache
    (`pytest_bdd.feature.features`, keyed by absolute file name), so `scenario()` finds them there too."""
    import glob
    import hashlib
    import os
    import pickle
    import sys
    from importlib import metadata

    from pytest_bdd import feature as bdd_feature

    base = Path(base).resolve()
    files = sorted(glob.iglob(os.path.join(str(base), "**", "*.feature"), recursive=True))
    key = hashlib.sha256()
    for package in ("pytest-bdd", "gherkin-official"):
        try:
            key.update(f"{package} {metadata.version(package)}\n".encode())
        except metadata.PackageNotFoundError:
            key.update(f"{package} ?\n".encode())
    key.update(sys.version.encode())
    try:
        for name in files:
            key.update(f"\n{os.path.abspath(name)}\n".encode())
            key.update(Path(name).read_bytes())
        folder = _features_cache_dir()
    except OSError:
        folder = None
    kept = folder / f"{key.hexdigest()[:32]}.pickle" if folder is not None else None
    wanted = [os.path.abspath(name) for name in files]
    write = False
    if kept is not None and not all(name in bdd_feature.features for name in wanted):
        try:
            with open(kept, "rb") as handle:
                loaded = pickle.load(handle)
            if not isinstance(loaded, dict) or set(loaded) != set(wanted):
                raise ValueError("not this tree's features")
            for name, parsed in loaded.items():
                bdd_feature.features.setdefault(name, parsed)
        except (OSError, EOFError, pickle.UnpicklingError, AttributeError, ImportError, TypeError, ValueError):
            write = True  # absent or damaged: parse, and keep the result
    features = bdd_feature.get_features([str(base)])
    if write:
        tmp = kept.with_name(f"{kept.name}.{os.getpid()}.tmp")
        try:
            with open(tmp, "wb") as handle:
                pickle.dump({name: bdd_feature.features[name] for name in wanted}, handle, protocol=pickle.HIGHEST_PROTOCOL)
            os.replace(tmp, kept)
        except (OSError, pickle.PicklingError, KeyError, RecursionError):
            tmp.unlink(missing_ok=True)
    return features


def _features_cache_dir() -> Path | None:
    from . import paths

    try:
        folder = paths.cache_dir() / "features"
        folder.mkdir(parents=True, exist_ok=True)
    except (OSError, ConfigError):
        return None
    return folder


def bind(namespace: dict, base: str | Path) -> int:
    """Bind every scenario of every feature file under `base` into `namespace` (a test module's globals)
    under its stable test name; returns how many. Two scenarios that would share a name are refused,
    naming both: an ID must say which scenario it is."""
    from pytest_bdd import scenario

    base = Path(base).resolve()
    bound: dict[str, str] = {}
    for feature in parsed_features(base):
        key = feature_key(feature.filename, base)
        titles = _SCENARIO_LINE.findall(Path(feature.filename).read_text(encoding="utf-8"))
        if len(titles) != len(feature.scenarios):  # pytest-bdd keeps one scenario per title, silently
            repeated = sorted({t for t in titles if titles.count(t) > 1})
            raise ConfigError(f"{feature.filename}: more than one scenario titled {', '.join(map(repr, repeated))}: "
                              f"retitle them (a scenario's ID is its title)")
        for name in feature.scenarios:
            test = test_name(key, name)
            if test in bound or test in namespace:
                raise ConfigError(f"{feature.filename}: scenario {name!r} has the same test name as "
                                  f"{bound.get(test, 'an existing test')!r}: retitle one of them")

            def _scenario() -> None:
                pass  # pragma: no cover  (pytest-bdd runs the steps)

            wrapper = scenario(feature.filename, name, features_base_dir=str(base))(_scenario)
            wrapper.duisconf_scenario = (key, name)
            namespace[test] = wrapper
            bound[test] = f"{key}: {name}"
    return len(bound)


def scenario_tags(base: str | Path) -> dict[str, frozenset[str]]:
    """Every scenario ID under `base` (each example row of an outline its own) with its tags: the
    feature's, the rule's, the scenario's and the Examples table's, without '@'. Parses the feature
    files only (about a second for the whole tree); nothing is collected or run."""
    base = Path(base).resolve()
    found: dict[str, frozenset[str]] = {}
    for feature in parsed_features(base):
        key = feature_key(feature.filename, base)
        for name, template in feature.scenarios.items():
            shared = set(feature.tags) | set(template.tags) | (template.rule.tags if template.rule else set())
            tables = [table for table in template.examples if table]
            if not tables:
                found[scenario_id(key, name)] = frozenset(shared)
            for table in tables:
                for row in table.as_contexts():
                    found[scenario_id(key, name, row)] = frozenset(shared | set(table.tags))
    return found


def all_scenario_ids(base: str | Path) -> frozenset[str]:
    """The IDs of every scenario under `base`, whatever part of the tree a run collects."""
    return frozenset(scenario_tags(base))
