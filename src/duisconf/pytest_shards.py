"""Shards for CI fleets: `--shard I/N` runs the I-th of N parts of the selected scenarios.

The split is by stable scenario ID (duisconf.scenario_ids; the node id for a test that is no scenario),
never by collection order, so every machine of a fleet (and every xdist worker of one machine) makes the
same one. It is balanced by the last run's durations when known (`--shard-durations`, default
reports/durations.json: scenario ID -> seconds): longest first, each to the shard with the least work so
far. A duration is the time of a scenario's steps (the call; a setup also holds what the session starts
for its first scenario); one that did not run (not applicable) is recorded as 0 s, and an unknown one
counts as the median of the known ones that ran. The others are deselected, and the run says how many.
At the end of every run its scenarios' durations are written (`--durations-out`; a shard writes
durations-shard-I-of-N.json beside, never over, the file the other shards split by); `duisconf merge`
joins the shards' files into one durations.json (and their results, coverage and counters).
"""

from __future__ import annotations

import json
import statistics
from pathlib import Path

import pytest

from .errors import ConfigError

DURATIONS = "durations.json"


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("duisconf", "DUIS conformance suite")
    group.addoption("--shard", default=None, metavar="I/N",
                    help="run only shard I of N (1-based), split by stable scenario ID, balanced by --shard-durations")
    group.addoption("--shard-durations", default=None, metavar="FILE",
                    help="scenario ID -> seconds to balance --shard by (default reports/durations.json)")
    group.addoption("--durations-out", default=None, metavar="FILE",
                    help="where this run writes its scenarios' durations (default reports/durations.json; "
                         "for --shard I/N reports/durations-shard-I-of-N.json, so the shards of one run all "
                         "read the same file)")


def parse_shard(text: str) -> tuple[int, int]:
    """"2/4" -> (2, 4); anything else is a usage error naming the value."""
    index, sep, count = text.partition("/")
    try:
        i, n = int(index), int(count)
    except ValueError:
        i = n = 0
    if not sep or n < 1 or not 1 <= i <= n:
        raise ConfigError(f"--shard {text!r}: expected I/N with 1 <= I <= N, e.g. --shard 1/4")
    return i, n


def read_durations(path: Path) -> dict[str, float]:
    """The durations file, or {} when there is none yet."""
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        raise ConfigError(f"{path}: not a durations file (scenario ID -> seconds): {exc}") from None
    if not isinstance(document, dict):
        raise ConfigError(f"{path}: not a durations file: expected an object of scenario ID -> seconds")
    for ident, seconds in document.items():
        if not isinstance(seconds, (int, float)) or isinstance(seconds, bool) or seconds < 0:
            raise ConfigError(f"{path}: {ident}: {seconds!r} is not a number of seconds")
    return {ident: float(seconds) for ident, seconds in document.items()}


def split(keys: list[str], count: int, durations: dict[str, float]) -> tuple[dict[str, int], list[float]]:
    """Each key's shard (0-based) and each shard's expected seconds: greedy bin packing, longest first
    (ties by ID), each to the least loaded shard (ties to the lower index); an unknown key weighs the
    median of the known non-zero durations. Deterministic for the same keys and durations, whatever
    their order."""
    known = [durations[key] for key in keys if durations.get(key, 0.0) > 0.0]  # of the scenarios that ran
    fallback = statistics.median(known) if known else 1.0
    weight = {key: durations.get(key, fallback) for key in keys}
    loads = [0.0] * count
    shard_of: dict[str, int] = {}
    for key in sorted(weight, key=lambda k: (-weight[k], k)):
        chosen = min(range(count), key=lambda j: (loads[j], j))
        shard_of[key] = chosen
        loads[chosen] += weight[key]
    return shard_of, loads


def item_key(item: pytest.Item) -> str:
    from .scenario_ids import item_scenario_id

    return item_scenario_id(item) or item.nodeid


def durations_source(config: pytest.Config) -> Path:
    chosen = config.getoption("--shard-durations", default=None)
    return Path(chosen) if chosen else Path(config.rootpath, "reports", DURATIONS)


def durations_target(config: pytest.Config) -> Path:
    chosen = config.getoption("--durations-out", default=None)
    if chosen:
        return Path(chosen)
    shard = getattr(config, "_duisconf_shard", None)
    name = f"durations-shard-{shard[0]}-of-{shard[1]}.json" if shard else DURATIONS
    return Path(config.rootpath, "reports", name)


def pytest_configure(config: pytest.Config) -> None:
    config.pluginmanager.register(DurationRecorder(config), "duisconf-durations")
    text = config.getoption("--shard", default=None)
    if text:
        try:
            config._duisconf_shard = parse_shard(text)  # type: ignore[attr-defined]
        except ConfigError as exc:
            raise pytest.UsageError(f"duisconf: {exc}") from None


@pytest.hookimpl(trylast=True)  # after -m, -k and the other selections: the shards split what is left
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    shard = getattr(config, "_duisconf_shard", None)
    if shard is None:
        return
    index, count = shard
    source = durations_source(config)
    try:
        durations = read_durations(source)
    except ConfigError as exc:
        raise pytest.UsageError(f"duisconf: {exc}") from None
    keys = [item_key(item) for item in items]
    shard_of, loads = split(keys, count, durations)
    kept = [item for item, key in zip(items, keys) if shard_of[key] == index - 1]
    others = [item for item, key in zip(items, keys) if shard_of[key] != index - 1]
    known = sum(1 for key in set(keys) if key in durations)
    line = (f"shard {index}/{count}: {len(kept)} of {len(items)} selected tests, {len(others)} deselected "
            f"(in the other shards); expected {loads[index - 1]:.1f} s of {sum(loads):.1f} s"
            + (f", balanced by {known} durations from {source}" if known else ", no durations known: split by count"))
    config._duisconf_shard_line = line  # type: ignore[attr-defined]
    if hasattr(config, "workeroutput"):
        config.workeroutput["duisconf_shard"] = line  # type: ignore[attr-defined]
    if others:
        config.hook.pytest_deselected(items=others)
        items[:] = kept


def pytest_report_collectionfinish(config: pytest.Config, start_path, items) -> str | None:
    return getattr(config, "_duisconf_shard_line", None)


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node, error) -> None:
    """xdist: the controller collects nothing; it learns the split from its workers."""
    line = getattr(node, "workeroutput", {}).get("duisconf_shard")
    if line:
        node.config._duisconf_shard_line = line


def pytest_terminal_summary(terminalreporter, exitstatus, config: pytest.Config) -> None:
    line = getattr(config, "_duisconf_shard_line", None)
    if line and not hasattr(config, "workerinput"):
        terminalreporter.write_sep("-", "shard")
        terminalreporter.write_line(line)


class DurationRecorder:
    """Adds up each scenario's phases (on the xdist controller, from the workers' reports) and writes
    the durations file at the end of the run."""

    def __init__(self, config: pytest.Config):
        self.config = config
        self.durations: dict[str, float] = {}

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        # The steps' time (the call): a setup also holds whatever the session starts for its first
        # scenario (the emulator, a worker's plumbing), which says nothing about the scenario. A scenario
        # that did not run (not applicable, skipped) costs nothing: 0.
        ident = next((value for key, value in report.user_properties if key == "scenario_id"), None)
        if ident is not None and report.when == "call":
            self.durations[ident] = 0.0 if report.skipped else report.duration
        elif ident is not None and report.skipped:  # skipped at setup: no call report follows
            self.durations.setdefault(ident, 0.0)

    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        if hasattr(self.config, "workerinput") or not self.durations:
            return
        path = durations_target(self.config)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps({k: round(v, 3) for k, v in sorted(self.durations.items())}, indent=1) + "\n",
                            encoding="utf-8")
        except OSError as exc:
            session.config.get_terminal_writer().line(f"duisconf: could not write durations to {path}: {exc.strerror}")
