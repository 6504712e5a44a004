"""The user-system suite: the reference user system (examples/user_system/) passes every scenario of
features/user_system/ against a user-system target made here with throwaway certificates, and each
deliberately broken variant fails the scenario that checks its rule, naming the rule. Plus the target
file's validation, the drivers, the judge's counter record across restarts, and check-target."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import textwrap
import time
import xml.etree.ElementTree as ET
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from duisconf.errors import ConfigError
from duisconf.receiver import TargetTimeout
from duisconf.targets import load_target
from duisconf.user_system.drivers import CommandLine, ManualPrompt, Order, driver_for
from duisconf.user_system.judge import Judge
from duisconf.verdicts import INCONCLUSIVE, verdict_of
from examples.user_system.certificates import make_organisation
from examples.user_system.reference import ReferenceUserSystem

ROOT = Path(__file__).resolve().parents[1]
EUI = "90-B3-D5-1F-30-0A-00-01"
ESME = "00-DB-12-34-56-78-90-A0"
SKIPPED = "skipped: "


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def certificates(tmp_path_factory) -> dict[str, Path]:
    return make_organisation(tmp_path_factory.mktemp("certs"), EUI)


def write_target(directory: Path, certificates: dict, *, dcc_port: int, system_port: int, driver: str | None = None,
                 extra: str = "") -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    driver = driver or f'kind = "http"\nurl = "http://127.0.0.1:{system_port}/trigger"\ntimeout = 5'
    path = directory / "my-system.toml"
    path.write_text(textwrap.dedent(f"""\
        [target]
        name = "reference-user-system"
        kind = "user-system"
        [emulator]
        port = {dcc_port}
        [user_system]
        receive_url = "http://127.0.0.1:{system_port}/duis"
        state = "state"
        [organisations."{EUI}"]
        roles = ["IS", "GS"]
        xml_signing_certificate = "{certificates['xml_certificate']}"
        gbcs_signing_certificate = "{certificates['gbcs_certificate']}"
        [timeouts]
        on_demand = 5
        """) + "[driver]\n" + driver + "\n" + extra)
    return path


@pytest.fixture(scope="module")
def suite(tmp_path_factory) -> Path:
    """A project root holding only the user-system features (the repository's conftest, step modules and
    binding module, its features/user_system files): collecting the whole catalogue costs seconds per run."""
    import shutil

    root = tmp_path_factory.mktemp("suite")
    (root / "pyproject.toml").write_text('[tool.pytest.ini_options]\ntestpaths = ["features"]\n'
                                         'pythonpath = ["."]\nbdd_features_base_dir = "features"\n')
    shutil.copy(ROOT / "conftest.py", root / "conftest.py")
    (root / "steps").symlink_to(ROOT / "steps", target_is_directory=True)
    shutil.copytree(ROOT / "features" / "user_system", root / "features" / "user_system")
    shutil.copy(ROOT / "features" / "test_features.py", root / "features" / "test_features.py")
    return root


def run_suite(tmp: Path, certificates: dict, variant: str | None, select: str | None = None, *,
              suite: Path = ROOT) -> dict[str, str]:
    """Run features/user_system against the reference system (or a variant) in a pytest subprocess from
    `suite` (a project root); returns scenario test name -> "" (passed) or its failure message."""
    dcc_port, system_port = _free_port(), _free_port()
    target = write_target(tmp, certificates, dcc_port=dcc_port, system_port=system_port)
    with ReferenceUserSystem(dcc_url=f"http://127.0.0.1:{dcc_port}", eui=EUI, certificates=certificates,
                             state_dir=tmp / "system-state", port=system_port, variant=variant):
        report = tmp / "junit.xml"
        command = [sys.executable, "-m", "pytest", "features/test_features.py", "-q", "-p", "no:cacheprovider",
                   "-p", "no:randomly", "--target", str(target), f"--junitxml={report}", "-o", "addopts="]
        if select:
            command += ["-k", select]
        env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), os.environ.get("PYTHONPATH", "")])}
        done = subprocess.run(command, cwd=suite, capture_output=True, text=True, timeout=120, env=env)
    if not report.exists():
        raise AssertionError(f"the suite did not run: {done.stdout[-2000:]}{done.stderr[-2000:]}")
    results = {}
    for case in ET.parse(report).getroot().iter("testcase"):
        failure, skipped = case.find("failure"), case.find("skipped")
        if failure is not None:
            results[case.get("name")] = failure.get("message") or "failed"
        elif skipped is not None:
            results[case.get("name")] = SKIPPED + (skipped.get("message") or "")
        else:
            results[case.get("name")] = ""
    return results


def test_the_reference_user_system_passes_the_whole_user_system_suite(tmp_path, certificates, suite):
    results = run_suite(tmp_path, certificates, None, suite=suite)
    assert len(results) == 13, results  # every scenario of features/user_system, and nothing else
    assert all("user_system" in name for name in results)
    failed = {name: message for name, message in results.items() if message}
    assert not failed, failed


# Each broken variant fails the scenario that checks its rule, with the rule named in the failure.
VARIANTS = {
    "reused-counter": ("user_system_counters", ["rule counter"]),
    "accepts-forged": ("user_system_receive_response_service and refuses",
                       ["rule rrs_bad_signature", "rule rrs_unknown_certificate", "rule rrs_schema_invalid",
                        "rule rrs_replayed", "rule rrs_duplicated"]),
    "wrong-precommand": ("user_system_critical_commands", ["rule precommand_signature"]),
    "cv1-critical": ("user_system_critical_commands", ["rule command_variant"]),
}


def test_each_broken_variant_fails_the_scenario_that_checks_its_rule_naming_it(tmp_path, certificates, suite):
    with ThreadPoolExecutor(2) as pool:  # two cores
        runs = {variant: pool.submit(run_suite, tmp_path / variant, certificates, variant, select, suite=suite)
                for variant, (select, _) in VARIANTS.items()}
        outcomes = {variant: future.result() for variant, future in runs.items()}
    for variant, (_, rules) in VARIANTS.items():
        results = outcomes[variant]
        assert results, f"{variant}: no scenario ran"
        messages = [m for m in results.values() if m]
        assert len(messages) == len(rules), (variant, results)
        for rule in rules:
            assert any(rule in message for message in messages), (variant, rule, messages)


# -- the target file ----------------------------------------------------------------------------------

def test_a_user_system_target_names_its_organisations_roles_and_driver(tmp_path, certificates):
    target = load_target(str(write_target(tmp_path, certificates, dcc_port=8079, system_port=9100)))
    assert target.kind == "user-system" and target.base_url is None
    assert target.users == {"IS": EUI, "GS": EUI}
    assert target.user_system.organisations[EUI].roles == ("IS", "GS")
    assert target.user_system.driver.kind == "http"
    assert target.user_system.receive_url == "http://127.0.0.1:9100/duis"


@pytest.mark.parametrize("change, named", [
    (lambda t: t.replace('receive_url = "http://127.0.0.1:9100/duis"\n', ""), "[user_system] receive_url is required"),
    (lambda t: t.replace('kind = "http"', 'kind = "carrier-pigeon"'), "[driver] kind = 'carrier-pigeon'"),
    (lambda t: t.replace('roles = ["IS", "GS"]', 'roles = ["XX"]'), "roles = ['XX']"),
    (lambda t: t.replace('kind = "http"', 'kind = "command"\ncommand = "send {srv} {colour}"'),
     "unknown placeholder(s) {colour}"),
    (lambda t: t.replace('kind = "http"', 'kind = "command"'), "[driver] command is required"),
    (lambda t: t.replace('kind = "user-system"', 'kind = "emulator"'), "[user_system] is only for kind"),
])
def test_a_broken_user_system_target_is_refused_naming_the_key(tmp_path, certificates, change, named):
    path = write_target(tmp_path, certificates, dcc_port=8079, system_port=9100)
    path.write_text(change(path.read_text()))
    with pytest.raises(ConfigError, match=None) as refused:
        load_target(str(path))
    assert named in str(refused.value) and "my-system.toml" in str(refused.value)


def test_a_private_key_given_as_a_certificate_is_refused(tmp_path, certificates):
    path = write_target(tmp_path, certificates, dcc_port=8079, system_port=9100)
    path.write_text(path.read_text().replace(str(certificates["gbcs_certificate"]), str(certificates["gbcs_key"])))
    with pytest.raises(ConfigError, match="gbcs_signing_certificate.*holds no PEM certificate"):
        load_target(str(path))


# -- drivers ------------------------------------------------------------------------------------------

def test_the_command_driver_passes_each_field_as_one_argument(tmp_path):
    out = tmp_path / "order.json"
    script = "import json, sys; json.dump(sys.argv[1:], open(sys.argv[1], 'w'))"
    driver = CommandLine(f'{sys.executable} -c "{script}" {out} {{srv}} {{device}} {{parameters}} {{execution_time}}')
    driver.place(Order("send", "ref-1", "x", "1.1.1", ESME, EUI, {"Note": "two words; $(rm -rf /)"},
                       "2030-01-01T00:00:00Z"))
    argv = json.loads(out.read_text())
    assert argv == [str(out), "1.1.1", ESME, json.dumps({"Note": "two words; $(rm -rf /)"}), "2030-01-01T00:00:00Z"]


def test_a_command_that_fails_is_inconclusive_not_a_failure():
    driver = CommandLine(f"{sys.executable} -c 'raise SystemExit(3)'")
    with pytest.raises(Exception) as raised:
        driver.place(Order("send", "ref-2", srv="4.1.1", device=ESME))
    assert verdict_of(raised.value) == INCONCLUSIVE and "exited 3" in str(raised.value)


def test_nobody_acting_on_a_manual_prompt_is_inconclusive(tmp_path, certificates):
    import io

    target = load_target(str(write_target(tmp_path, certificates, dcc_port=0, system_port=9,
                                          driver='kind = "manual"\ntimeout = 0.3')))
    prompt = io.StringIO()
    driver = ManualPrompt(0.3, stream=prompt)
    assert driver_for(target.user_system.driver).kind == "manual"
    order = Order("send", "ref-3", "manual::scenario", "4.1.1", ESME, EUI)
    with Judge(target) as judge:
        mark = judge.mark()
        driver.place(order)
        with pytest.raises(TargetTimeout) as raised:
            judge.wait(order, mark, 0.3)
    assert "please send SRV 4.1.1 to " + ESME in prompt.getvalue()
    assert verdict_of(raised.value) == INCONCLUSIVE


# -- the judge remembers counters across restarts ------------------------------------------------------

def test_the_judge_remembers_the_last_counter_across_its_own_restart(tmp_path, certificates):
    """A system that restarts its counters is caught even when the judge (a new run) restarted too."""
    dcc_port, system_port = _free_port(), _free_port()
    target = load_target(str(write_target(tmp_path, certificates, dcc_port=dcc_port, system_port=system_port)))
    order = Order("send", "ref-4", "x", "4.1.1", ESME, EUI)
    with ReferenceUserSystem(dcc_url=f"http://127.0.0.1:{dcc_port}", eui=EUI, certificates=certificates,
                             state_dir=tmp_path / "system", port=system_port, variant="reused-counter") as system:
        for expected in ([], ["counter"]):
            with Judge(target) as judge:  # a new judge each time: only its state directory remembers
                mark = judge.mark()
                system.trigger(json.dumps(order.as_json()).encode())
                records = judge.wait(order, mark, 5, settle=0.05)
                assert [b.rule for b in judge.breaches(order, records)] == expected
            system.trigger(b'{"action": "restart"}')
    assert json.loads((tmp_path / "state" / "counters.json").read_text())[EUI] > 0


# -- check-target --------------------------------------------------------------------------------------

def test_check_target_proves_the_driver_and_the_receive_address(tmp_path, certificates, capsys):
    from duisconf.cli import main

    dcc_port, system_port = _free_port(), _free_port()
    path = write_target(tmp_path, certificates, dcc_port=dcc_port, system_port=system_port)
    with ReferenceUserSystem(dcc_url=f"http://127.0.0.1:{dcc_port}", eui=EUI, certificates=certificates,
                             state_dir=tmp_path / "system", port=system_port):
        assert main(["check-target", str(path)]) == 0
    out = capsys.readouterr().out
    for name in ("target file", "emulated DCC", "driver (http)", "receive address"):
        assert f"ok    {name}" in out, out
    time.sleep(0.1)
    assert main(["check-target", str(path)]) == 8  # the system is gone: driver and receive address fail
    out = capsys.readouterr().out
    assert "FAIL  driver (http)" in out and "FAIL  receive address" in out
