"""The duisconf pytest plugin (entry point `pytest11: duisconf`).

It stays inert in projects that do not ask for it (nothing starts until a step asks for the `duis`
fixture). It registers the feature tags as marks, adds `--target`, hosts the session's DUIS plumbing
(`duis`), gives each scenario its device leases and a clean emulator (`duis_scenario`), labels
verdicts, writes the Allure environment and categories, and counts verdicts at the end of the run.
"""

from __future__ import annotations

import atexit
import gc
import json
import os
import re
import time
from pathlib import Path

import pytest

_TAG = re.compile(r"(?<!\S)@([^\s@#]+)")


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("duisconf", "DUIS conformance suite")
    group.addoption("--target", default=os.environ.get("DUISCONF_TARGET", "emulator"),
                    help="target name (targets/NAME.toml) or path to a target file (default: emulator; env DUISCONF_TARGET)")


def feature_tags(base: Path) -> set[str]:
    """Every tag used in the feature files under `base` (@srv-8.11, @role-IS, @cv-4, @conf-I …)."""
    tags: set[str] = set()
    for feature in base.rglob("*.feature"):
        for line in feature.read_text(encoding="utf-8").splitlines():
            if line.lstrip().startswith("@"):
                tags.update(_TAG.findall(line.split("#", 1)[0]))
    return tags


def pytest_configure(config: pytest.Config) -> None:
    config._duisconf_counters_since = time.time()  # type: ignore[attr-defined]  # this run's counter files
    _start_router(config)
    from . import pytest_steplookup  # pytest-bdd's step lookup, done once per step and module (its docstring)

    if not config.pluginmanager.is_registered(pytest_steplookup):
        config.pluginmanager.register(pytest_steplookup, "duisconf-steplookup")
    # Tags such as @srv-8.11 become pytest marks; registering them lets --strict-markers accept them and
    # keeps pytest-bdd from warning about each one (tags on Examples tables bypass pytest_bdd_apply_tag).
    try:
        base = config.getini("bdd_features_base_dir") or "features"
    except ValueError:  # pytest-bdd not loaded
        return
    folder = Path(config.rootpath, base)
    if folder.is_dir():
        for tag in sorted(feature_tags(folder)):
            config.addinivalue_line("markers", f"{tag}: feature tag")


# -- targets and the session's DUIS plumbing ------------------------------------------------------

from .session import DUISSession  # noqa: E402  (re-exported: steps and tests name it from here)


# -- one receive address for all xdist workers on a real target (duisconf.routing) ----------------

def _router_wanted(config: pytest.Config) -> bool:
    return (not hasattr(config, "workerinput") and bool(getattr(config.option, "numprocesses", None))
            and not config.option.collectonly)


def _start_router(config: pytest.Config) -> None:
    """Before xdist starts its workers: on a real target, listen at the target's receive address and
    route to the workers (they inherit DUISCONF_ROUTER_PORT). The emulator needs no router."""
    if not _router_wanted(config):
        return
    from .errors import DuisConfError
    from .targets import load_target

    try:
        target = load_target(config.getoption("--target"))
    except DuisConfError:
        return  # reported by the `duis` fixture, with the file and the key, when a scenario needs it
    if target.kind in ("emulator", "user-system"):  # user-system: the emulated DCC posts to their own service
        return
    from .routing import ResponseRouter

    router = ResponseRouter(target.receiver.host, target.receiver.port, target.receiver.path).start()
    config._duisconf_router = router  # type: ignore[attr-defined]
    os.environ["DUISCONF_ROUTER_PORT"] = str(router.port)


def _skip_the_final_collection() -> None:
    # At exit CPython runs a full garbage collection over everything still alive, only to throw the whole
    # heap away: measured 0.6 s per test process after a catalogue run (xdist's controller waits for each
    # worker to exit, so it lengthened every run). Frozen objects are left out of it; nothing is lost:
    # atexit handlers and weakref finalizers (temporary directories) still run, memory goes back to the OS.
    gc.freeze()


def pytest_unconfigure(config: pytest.Config) -> None:
    if not getattr(_skip_the_final_collection, "registered", False):
        atexit.register(_skip_the_final_collection)
        _skip_the_final_collection.registered = True  # type: ignore[attr-defined]
    router = getattr(config, "_duisconf_router", None)
    if router is None:
        return
    router.stop()
    os.environ.pop("DUISCONF_ROUTER_PORT", None)
    if router.unrouted:
        folder = Path(config.rootpath, "reports", "unrouted")
        folder.mkdir(parents=True, exist_ok=True)
        for number, body in enumerate(router.unrouted, 1):
            (folder / f"message-{number}.xml").write_bytes(body)
        print(f"duisconf: {len(router.unrouted)} message(s) from the target belonged to no scenario; kept in {folder}")


# -- stable scenario IDs (duisconf.scenario_ids) ----------------------------------------------------

def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every bound scenario carries its ID as the user property `scenario_id` (reports, JUnit XML, xdist)."""
    from .scenario_ids import item_scenario_id

    for item in items:
        ident = item_scenario_id(item)
        if ident and ("scenario_id", ident) not in item.user_properties:
            item.user_properties.append(("scenario_id", ident))


@pytest.hookimpl(trylast=True)  # after allure-pytest-bdd has opened the scenario's result
def pytest_bdd_before_scenario(request, feature, scenario) -> None:
    ident = next((v for k, v in request.node.user_properties if k == "scenario_id"), None)
    if ident:
        try:
            import allure

            allure.dynamic.label("scenario_id", ident)
        except Exception:  # Allure not active for this run
            pass


# -- verdicts -------------------------------------------------------------------------------------

def record_verdict(node: pytest.Item, verdict: str) -> None:
    """Keep the scenario's verdict on the item (primitives only: it crosses xdist) and label it in Allure."""
    from .verdicts import worst

    previous = next((v for k, v in node.user_properties if k == "verdict"), None)
    verdict = worst(previous, verdict) if previous else verdict
    node.user_properties[:] = [(k, v) for k, v in node.user_properties if k != "verdict"] + [("verdict", verdict)]
    try:
        import allure

        allure.dynamic.label("verdict", verdict)
    except Exception:  # Allure not active for this run
        pass


def pytest_bdd_step_error(request, feature, scenario, step, step_func, step_func_args, exception) -> None:
    from .verdicts import verdict_of

    record_verdict(request.node, verdict_of(exception))


class UnexpectedMessages(AssertionError):
    """The target sent this scenario a message that no step claimed and no rule expects, or one that
    failed its schema or signature check, or a duplicate (verdict: fail)."""


def pytest_bdd_after_scenario(request, feature, scenario) -> None:
    """Every scenario ends with an accounting of the messages it caused; anything unexpected fails it.
    Raised here (inside the test call), an unexpected message worsens an inconclusive verdict to fail;
    a scenario already failed or in error keeps its own exception, its accounting attached."""
    import sys

    node = request.node
    previous = next((v for k, v in node.user_properties if k == "verdict"), None)
    accounting = close_scenario(node)
    failing = sys.exc_info()[1]  # a step's exception on its way out (this hook runs in a `finally`)
    if accounting is not None and failing is not None and hasattr(failing, "add_note"):
        failing.add_note(f"DUIS message accounting: {accounting.line()}")  # shown with the failure message
    if accounting is not None and accounting.unexpected:
        record_verdict(node, "fail")
        if previous not in ("fail", "error"):
            raise UnexpectedMessages(
                f"unexpected message(s) from the target: {accounting.line()}: "
                + "; ".join(f"#{m.get('seq')} {m['kind']} {m.get('code') or '-'}"
                            + (f" from {m['device']}" if m.get("device") else "")
                            + f" RequestID {m.get('request_id') or '-'} ({m['because']})" for m in accounting.unexpected))
    if previous is None and not any(k == "verdict" for k, _ in node.user_properties):
        record_verdict(node, "pass")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """A failed scenario's report shows the counts of its message accounting."""
    outcome = yield
    report = outcome.get_result()
    scenario = item.stash.get(SCENARIO_KEY, None) if hasattr(item, "stash") else None
    if report.when == "call" and report.failed and scenario is not None and scenario.accounting is not None:
        report.sections.append(("DUIS message accounting", scenario.accounting.table()))


def pytest_terminal_summary(terminalreporter, exitstatus, config) -> None:
    counts: dict[str, int] = {}
    for reports in terminalreporter.stats.values():
        for report in reports:
            if getattr(report, "when", None) != "call":
                continue
            verdict = next((v for k, v in getattr(report, "user_properties", []) if k == "verdict"), None)
            if verdict:
                counts[verdict] = counts.get(verdict, 0) + 1
    if counts:
        order = ("pass", "fail", "inconclusive", "error", "not applicable")
        terminalreporter.write_sep("-", "DUIS verdicts")
        terminalreporter.write_line(", ".join(f"{counts[v]} {v}" for v in order if v in counts))
    _report_counters(terminalreporter, config)


def _report_counters(terminalreporter, config: pytest.Config) -> None:
    """How far each originator this run used is ahead of the clock (each SRV 2.2 moves it one UTRN
    boundary, 2^32 ms), so a shared kit's users are warned; every originator's last counter goes to
    reports/counters.json, the values to resynchronise from. The xdist controller reports, once."""
    from . import paths
    from .counters import CounterAuthority
    from .errors import DuisConfError

    since = getattr(config, "_duisconf_counters_since", None)
    directory = paths.state_dir(create=False) / "counters"
    if hasattr(config, "workerinput") or since is None or not directory.is_dir():
        return
    authority = CounterAuthority(directory)
    try:
        used = authority.leads(since=since - 1.0)  # margin: file times come from a coarser clock
        everything = authority.leads()
    except DuisConfError as exc:
        used, everything = [], []
        terminalreporter.write_line(f"duisconf: {exc}")
    if not used:
        return
    terminalreporter.write_sep("-", "DUIS originator counters")
    for lead in used:
        terminalreporter.write_line(lead.line())
    report = {"written": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "state": str(directory),
              "used_this_run": [lead.originator for lead in used], "originators": [lead.as_json() for lead in everything]}
    folder = Path(config.rootpath, "reports")
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "counters.json").write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    results = getattr(config.option, "allure_report_dir", None)
    environment = Path(results, "environment.properties") if results else None
    if environment is not None and environment.is_file():
        with environment.open("a", encoding="utf-8") as f:
            for lead in used:
                f.write(f"counter.{lead.originator}={lead.line().split(': ', 1)[1]}\n")


@pytest.fixture(scope="session")
def duis(request: pytest.FixtureRequest):
    """The session's DUISSession for the target chosen with --target (default: the embedded emulator)."""
    from .errors import DuisConfError

    router_port = os.environ.get("DUISCONF_ROUTER_PORT")
    try:
        session = DUISSession(request.config.getoption("--target"), router_port=int(router_port) if router_port else None,
                              worker=os.environ.get("PYTEST_XDIST_WORKER", "main"))
    except DuisConfError as exc:
        pytest.exit(f"duisconf: {exc}", returncode=4)
    results = getattr(request.config.option, "allure_report_dir", None)
    if results and os.environ.get("PYTEST_XDIST_WORKER", "gw0") == "gw0":  # one writer per run
        from .evidence import write_environment

        write_environment(Path(results), session)
    yield session
    session.close()


SCENARIO_KEY = pytest.StashKey["ScenarioDUIS"]()


def close_scenario(node: pytest.Item):
    """Once per scenario: let what the target still sends for it arrive, drain the receiver and account
    for every message (claimed, expected but not asserted, unexpected). The accounting is attached to
    the Allure result and kept on the item; returns it (None when the scenario never used the target)."""
    from .accounting import Sent, account
    from .evidence import attach_accounting
    from .receiver import summary

    scenario = node.stash.get(SCENARIO_KEY, None)
    if scenario is None or scenario.accounting is not None:
        return None if scenario is None else scenario.accounting
    duis = scenario.session
    if duis.emulator is not None:
        duis.emulator.outbox.wait_idle(1.0)  # bounded by actual delivery: milliseconds
    claimed, claimed_total = duis.receiver.claimed(), duis.receiver.claimed_total
    leftovers, findings = duis.receiver.drain()
    strays = []
    if duis.emulator is None:
        # On a real target a device alert may arrive late, during a later scenario. One that names none of
        # this scenario's requests and comes from a device this scenario does not hold is not its message:
        # kept as evidence, not counted against it. (On the emulator every scenario starts from a reset,
        # so every message in it is its own.)
        mine = {eui.upper() for eui in scenario.leases.held}
        strays = [m for m in leftovers if not m.request_id and m.source_device and m.source_device.upper() not in mine]
        leftovers = [m for m in leftovers if m not in strays]
    scenario.accounting = account(claimed, [summary(m) for m in leftovers],
                                  [(f.what, summary(f.inbound)) for f in findings],
                                  [Sent.of(e) for e in duis.client.take_sent()], scenario.actions,
                                  claimed_total=claimed_total)
    scenario.findings = attach_accounting(scenario.accounting, leftovers, findings)
    node.user_properties.append(("accounting", scenario.accounting.line()))
    for line in scenario.findings:
        node.user_properties.append(("finding", line))
    node.user_properties.append(("receive path", duis.receive_path))
    for message in strays:
        node.user_properties.append(("stray", f"{message.kind} {message.alert_code or ''} from {message.source_device}, "
                                              "a device this scenario does not hold (not counted against it)"))
    return scenario.accounting


class ScenarioDUIS:
    """One scenario's hold on the target: its device leases, the physical actions it arranged, and at its
    end the accounting of the messages it caused."""

    def __init__(self, session: DUISSession, leases):
        self.session, self.leases = session, leases
        self.findings: list[str] = []
        self.actions: set[str] = set()   # physical actions arranged (rules/expected_messages.toml `action`)
        self.accounting = None           # duisconf.accounting.Accounting, once the scenario has ended

    def caused(self, action: str) -> None:
        """The scenario arranged a physical action (e.g. "power-up") whose messages the rules expect."""
        self.actions.add(action)

    def device(self, eui: str) -> str:
        """Lease `eui` for this scenario (inconclusive if another scenario keeps it too long)."""
        held = self.leases.held
        eui = self.leases.acquire(eui)
        if self.session.router is not None and eui not in held:
            self.session.router.hold(eui)  # its alerts now reach this worker
        return eui


@pytest.fixture
def duis_scenario(duis: DUISSession, request: pytest.FixtureRequest):
    """Per scenario: on the emulator a clean reference inventory (faults off, nothing scheduled); on
    every target leases on the devices the scenario uses; at the end, messages no step claimed and the
    receiver's findings are attached to this scenario and kept in its user properties."""
    from . import paths
    from .leases import DeviceLeases

    if duis.emulator is not None:
        duis.emulator.reset()
        # The suite's own negative tests: play a deliberately wrong model in every scenario of this run.
        for rule in filter(None, os.environ.get("DUISCONF_MISBEHAVE", "").split(",")):
            duis.emulator.faults.add({"kind": "misbehave", "rule": rule.strip()})
    duis.receiver.drain()  # anything still arriving from before belongs to no scenario of ours
    duis.client.take_sent()
    leases = DeviceLeases(paths.state_dir(), duis.lease_namespace,
                          wait=float(os.environ.get("DUISCONF_LEASE_WAIT", duis.target.timeouts.lease)))
    scenario = ScenarioDUIS(duis, leases)
    request.node.stash[SCENARIO_KEY] = scenario
    try:
        yield scenario
        close_scenario(request.node)  # a test that is not a pytest-bdd scenario: accounted, not judged
    finally:
        if duis.router is not None:
            duis.router.release(leases.held)
        leases.release_all()
