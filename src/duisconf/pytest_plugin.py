"""The duisconf pytest plugin (entry point `pytest11: duisconf`).

It stays inert in projects that do not ask for it (nothing starts until a step asks for the `duis`
fixture). It registers the feature tags as marks, adds `--target`, hosts the session's DUIS plumbing
(`duis`), gives each scenario its device leases and a clean emulator (`duis_scenario`), labels
verdicts, writes the Allure environment and categories, and counts verdicts at the end of the run.
"""

from __future__ import annotations

import os
import re
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

class DUISSession:
    """What one test process talks through: the target, its client, and our Receive Response Service.

    On the emulator target every process (each xdist worker) runs its own embedded emulator and
    receiver: nothing crosses between workers, so no routing is needed and scenario state never leaks.
    The counter authority is shared through its state directory, so counters stay unique per originator
    across workers and runs anyway.
    """

    def __init__(self, target_name: str):
        from .client import DUISClient
        from .counters import default_authority
        from .duis.schema import load_schema
        from .keystore import zaz1
        from .receiver import ReceiveResponseService
        from .signing import response_trust
        from .targets import load_target

        self.target = load_target(target_name)
        self.schema = load_schema(self.target.schema)
        self.keystore = zaz1()
        receiver = self.target.receiver
        self.receiver = ReceiveResponseService(response_trust(self.keystore), self.schema, host=receiver.host,
                                               port=receiver.port, path=receiver.path,
                                               public_url=receiver.public_url).start()
        self.emulator = self.control = None
        base_url = self.target.base_url
        if self.target.kind == "emulator":
            from .emulator.control import EmulatorControl
            from .emulator.server import DCCEmulator

            self.emulator = DCCEmulator(port=self.target.emulator_port, receive_url=self.receiver.url,
                                        latency=self.target.emulator_latency, schema=self.schema,
                                        control=True).start()
            base_url = self.emulator.url
            self.control = EmulatorControl(base_url)  # arranging preconditions only; outcomes are read via DUIS
        self.base_url = base_url
        tls = (str(self.target.tls_client_certificate), str(self.target.tls_client_key)) \
            if self.target.tls_client_certificate and self.target.tls_client_key else None
        self.client = DUISClient(base_url, keystore=self.keystore, trust=response_trust(self.keystore),
                                 schema=self.schema, counters=default_authority(),
                                 timeout=self.target.timeouts.acknowledgement,
                                 verify_tls=str(self.target.tls_ca) if self.target.tls_ca else True,
                                 client_certificate=tls)

    @property
    def lease_namespace(self) -> str:
        """Devices are exclusive per DCC: a kit's URL, or this process's own embedded emulator."""
        return f"emulator:{os.getpid()}:{self.base_url}" if self.emulator is not None else self.base_url

    def device_models(self) -> dict[str, tuple[str, str]]:
        """Device type -> (model, firmware) for the report's environment, from the emulator's inventory.
        A kit's figures are not known before the run: its scenarios read them with 8.2 / 11.2."""
        if self.emulator is not None:
            found: dict[str, tuple[str, str]] = {}
            for kind, eui in self.target.devices.items():
                device = self.emulator.inventory.device(eui)
                if device is not None:
                    found[kind] = (f"{device.manufacturer} {device.model}", device.firmware_version)
            return found
        return {}

    def close(self) -> None:
        if self.emulator is not None:
            self.emulator.stop()
        self.receiver.stop()


# -- verdicts -------------------------------------------------------------------------------------

def _record_verdict(node: pytest.Item, verdict: str) -> None:
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

    _record_verdict(request.node, verdict_of(exception))


def pytest_bdd_after_scenario(request, feature, scenario) -> None:
    if not any(k == "verdict" for k, _ in request.node.user_properties):
        _record_verdict(request.node, "pass")


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


@pytest.fixture(scope="session")
def duis(request: pytest.FixtureRequest):
    """The session's DUISSession for the target chosen with --target (default: the embedded emulator)."""
    from .errors import DuisConfError

    try:
        session = DUISSession(request.config.getoption("--target"))
    except DuisConfError as exc:
        pytest.exit(f"duisconf: {exc}", returncode=4)
    results = getattr(request.config.option, "allure_report_dir", None)
    if results and os.environ.get("PYTEST_XDIST_WORKER", "gw0") == "gw0":  # one writer per run
        from .evidence import write_environment

        write_environment(Path(results), session)
    yield session
    session.close()


class ScenarioDUIS:
    """One scenario's hold on the target: its device leases, and the messages left over at its end."""

    def __init__(self, session: DUISSession, leases):
        self.session, self.leases = session, leases
        self.findings: list[str] = []

    def device(self, eui: str) -> str:
        """Lease `eui` for this scenario (inconclusive if another scenario keeps it too long)."""
        return self.leases.acquire(eui)


@pytest.fixture
def duis_scenario(duis: DUISSession, request: pytest.FixtureRequest):
    """Per scenario: on the emulator a clean reference inventory (faults off, nothing scheduled); on
    every target leases on the devices the scenario uses; at the end, messages no step claimed and the
    receiver's findings are attached to this scenario and kept in its user properties."""
    from . import paths
    from .evidence import attach_findings
    from .leases import DeviceLeases

    if duis.emulator is not None:
        duis.emulator.reset()
        # The suite's own negative tests: play a deliberately wrong model in every scenario of this run.
        for rule in filter(None, os.environ.get("DUISCONF_MISBEHAVE", "").split(",")):
            duis.emulator.faults.add({"kind": "misbehave", "rule": rule.strip()})
    duis.receiver.drain()  # anything still arriving from before belongs to no scenario of ours
    leases = DeviceLeases(paths.state_dir(), duis.lease_namespace,
                          wait=float(os.environ.get("DUISCONF_LEASE_WAIT", duis.target.timeouts.lease)))
    scenario = ScenarioDUIS(duis, leases)
    try:
        yield scenario
        if duis.emulator is not None:
            duis.emulator.outbox.wait_idle(1.0)
        leftovers, findings = duis.receiver.drain()
        scenario.findings = attach_findings(leftovers, findings)
        for line in scenario.findings:
            request.node.user_properties.append(("finding", line))
    finally:
        leases.release_all()
