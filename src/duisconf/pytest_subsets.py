"""Running part of the suite the pytest way: feature folders and files as paths, not-applicable as its own outcome.

Every scenario is bound in one module, `features/test_features.py` (pytest-bdd needs one), so a folder or a
`.feature` file given to pytest would collect nothing. This plugin reads such a path as "the scenarios of
these feature files": `pytest features/design_notes` and `pytest features/uept/signed_requests.feature`
collect the binder module restricted to those feature files (`file.feature::test_name` names one test of
it), so a scenario keeps the same node id, scenario ID, JUnit class and Allure history however it was
chosen. Paths combine with -m (feature, scenario and Examples tags are marks), -k and --shard.

A catalogue scenario the party's declaration rules out (duisconf.pytest_catalogue skips it with a reason
starting "not applicable:") is counted as "not applicable", in the progress line (letter N), the
verbose word, the final line and a count line, never among the skips.

Loaded from the root conftest's pytest_plugins. xdist workers get the invocation's own arguments and so
make the same selection.
"""

from __future__ import annotations

from pathlib import Path

import pytest

BINDER = "test_features.py"
NOT_APPLICABLE = "not applicable"
_REASON_PREFIX = "not applicable:"


def features_dir(config: pytest.Config) -> Path:
    try:
        base = config.getini("bdd_features_base_dir") or "features"
    except ValueError:  # pytest-bdd not loaded
        base = "features"
    return Path(config.rootpath, base).resolve()


def select_features(args: list[str], invocation_dir: Path, base: Path) -> tuple[list[str], list[str] | None]:
    """The collection arguments with every feature folder or `.feature` file under `base` replaced by the
    binder module, and the feature keys they chose (`design_notes/`, `uept/signed_requests`): None when
    no argument named one, or when another argument collects the whole binder anyway."""
    binder = base / BINDER
    if not binder.is_file():
        return list(args), None
    new: list[str] = []
    chosen: list[str] = []
    whole = False
    for arg in args:
        path_text, sep, rest = arg.partition("::")
        path = (invocation_dir / path_text).resolve() if path_text else None
        inside = path is not None and path != base and path.is_relative_to(base)
        if inside and path.is_dir():
            chosen.append(path.relative_to(base).as_posix() + "/")
        elif inside and path.suffix == ".feature" and path.is_file():
            chosen.append(path.relative_to(base).with_suffix("").as_posix())
        else:
            if path is not None and (path == binder and not sep or binder.is_relative_to(path) and path.is_dir()):
                whole = True
            new.append(arg)
            continue
        replacement = str(binder) + (sep + rest if sep else "")
        if replacement not in new:
            new.append(replacement)
    if not chosen or whole:
        return new, None
    return new, chosen


def is_chosen(feature_key: str, chosen: list[str]) -> bool:
    return any(feature_key == key or key.endswith("/") and feature_key.startswith(key) for key in chosen)


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    args, chosen = select_features(list(config.args), Path(config.invocation_params.dir), features_dir(config))
    config._duisconf_chosen_features = chosen  # type: ignore[attr-defined]
    config.pluginmanager.register(JUnitNotApplicable(config), "duisconf-junit-not-applicable")
    if chosen is not None:
        config.args[:] = args  # read by the session's collection, after pytest_configure


@pytest.hookimpl(tryfirst=True)
def pytest_pycollect_makeitem(collector, name, obj):
    """A bound scenario of a feature file no path chose is not collected at all (so pytest says
    "collected 11 items", not "2633 collected, 2622 deselected")."""
    chosen = getattr(collector.config, "_duisconf_chosen_features", None)
    bound = getattr(obj, "duisconf_scenario", None)
    if chosen is None or bound is None:
        return None
    return None if is_chosen(bound[0], chosen) else []


# -- not applicable as its own outcome ------------------------------------------------------------

def is_not_applicable(report) -> bool:
    """A skip of a scenario the declaration rules out (the reason pytest_catalogue gives it)."""
    if not getattr(report, "skipped", False) or not isinstance(report.longrepr, (tuple, list)):
        return False
    return str(report.longrepr[2]).removeprefix("Skipped: ").startswith(_REASON_PREFIX)


def pytest_report_teststatus(report, config):
    if is_not_applicable(report):
        return NOT_APPLICABLE, "N", ("NOT APPLICABLE", {"yellow": True})
    return None


class JUnitNotApplicable:
    """In JUnit XML the skip of a not-applicable scenario is typed "not applicable" (not "pytest.skip"),
    beside its property verdict=not applicable."""

    def __init__(self, config: pytest.Config):
        self.config = config

    @pytest.hookimpl(trylast=True)  # after pytest's junitxml has written the <skipped> element
    def pytest_runtest_logreport(self, report) -> None:
        if not is_not_applicable(report):
            return
        try:
            from _pytest.junitxml import xml_key
        except ImportError:  # pytest moved it: the verdict property still says it
            return
        xml = self.config.stash.get(xml_key, None)
        if xml is None:
            return
        for element in xml.node_reporter(report).nodes:
            if element.tag == "skipped":
                element.set("type", NOT_APPLICABLE)


def pytest_terminal_summary(terminalreporter, exitstatus, config) -> None:
    ruled_out = terminalreporter.stats.get(NOT_APPLICABLE, [])
    if not ruled_out:
        return
    terminalreporter.write_sep("-", "not applicable")
    terminalreporter.write_line(f"{len(ruled_out)} scenario(s) not applicable to the declaration (not run; "
                                "the verdict 'not applicable' in JUnit and Allure)")
    if "s" in getattr(terminalreporter, "reportchars", ""):  # -rs / -ra / -rA: the reasons, as for skips
        reasons: dict[str, int] = {}
        for report in ruled_out:
            reason = str(report.longrepr[2]).removeprefix("Skipped: ")
            reasons[reason] = reasons.get(reason, 0) + 1
        for reason, count in sorted(reasons.items()):
            terminalreporter.write_line(f"NOT APPLICABLE [{count}] {reason}")
