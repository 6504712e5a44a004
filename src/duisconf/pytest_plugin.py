"""The duisconf pytest plugin (entry point `pytest11: duisconf`).

It stays inert in projects that do not ask for it. Target selection, the Receive Response Service and
evidence arrive with the harness; for now it registers the suite's feature tags as pytest marks.
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
        self.emulator = None
        base_url = self.target.base_url
        if self.target.kind == "emulator":
            from .emulator.server import DCCEmulator

            self.emulator = DCCEmulator(port=self.target.emulator_port, receive_url=self.receiver.url,
                                        latency=self.target.emulator_latency, schema=self.schema).start()
            base_url = self.emulator.url
        tls = (str(self.target.tls_client_certificate), str(self.target.tls_client_key)) \
            if self.target.tls_client_certificate and self.target.tls_client_key else None
        self.client = DUISClient(base_url, keystore=self.keystore, trust=response_trust(self.keystore),
                                 schema=self.schema, counters=default_authority(),
                                 timeout=self.target.timeouts.acknowledgement,
                                 verify_tls=str(self.target.tls_ca) if self.target.tls_ca else True,
                                 client_certificate=tls)

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
    yield session
    session.close()
