"""`duisconf plan` and the applicability decision it shares with the pytest run: which generated scenarios
apply to a declaration, why the others do not, and the coverage gained or lost against another one."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from duisconf.cli import main
from duisconf.declarations import load_declaration
from duisconf.paths import PROJECT_ROOT
from duisconf.plan import decide, make_plan, read_cases

DECLARATIONS = PROJECT_ROOT / "declarations"
SUPPLIER, OPERATOR, MAKER = (DECLARATIONS / f"{n}.toml" for n in ("supplier", "network_operator", "device_maker"))


def test_every_generated_case_is_read_with_its_srv_role_and_kind():
    cases = list(read_cases())
    assert len(cases) > 1000
    assert all(c.srv and c.role in ("IS", "ES", "GS", "ED", "GT", "RSA", "OU") for c in cases)
    assert {c.check for c in cases} >= {None, "role", "device_type", "command_variant", "url", "device_exists",
                                         "smi_status", "counter", "signature", "schema"}
    assert all("catalogue" in c.tags and any(t.startswith("srv-") for t in c.tags) for c in cases)


def test_supplier_plan_runs_its_own_roles_and_says_why_not_the_others():
    plan = make_plan(load_declaration(SUPPLIER))
    assert {d.case.role for d in plan.applicable} == {"IS", "GS"}
    reasons = {d.reason for d in plan.not_applicable}
    assert "role ED is not declared by declarations/supplier.toml" in reasons
    assert all(d.reason for d in plan.not_applicable)
    assert ("IS", "7.1") in plan.coverage() and ("GS", "7.1") not in plan.coverage()


def test_an_undeclared_device_or_unclaimed_srv_is_not_applicable(tmp_path: Path):
    path = tmp_path / "narrow.toml"
    path.write_text('party = "Narrow"\n[roles.IS]\neui = "90-B3-D5-1F-30-01-00-00"\n[srvs]\nclaimed = ["4.1.1"]\n'
                    '[[devices]]\ntype = "ESME"\n', encoding="utf-8")
    narrow = load_declaration(path)
    row = {"srv": "7.1", "role": "Import Supplier", "device": "ESME"}
    assert decide(narrow, row, {"positive"}).reason.startswith("SRV 7.1 is not claimed")
    assert not decide(narrow, {"srv": "4.1.1", "role": "Import Supplier", "device": "GPF"}, {"positive"}).applicable
    assert decide(narrow, {"srv": "4.1.1", "role": "Import Supplier", "device": "ESME"}, {"positive"}).applicable
    # a wrong-device-type case goes to a device of the wrong type, declared or not
    assert decide(narrow, {"srv": "4.1.1", "role": "Import Supplier", "device": "CHF"}, {"check-device_type"}).applicable


def test_an_ineligible_role_case_applies_only_when_the_organisation_holds_no_eligible_role(tmp_path: Path):
    path = tmp_path / "is_es.toml"
    path.write_text('party = "IS and ES"\n[roles.IS]\neui = "90-B3-D5-1F-30-01-00-00"\n'
                    '[roles.ES]\neui = "90-B3-D5-1F-30-01-00-00"\n[srvs]\nclaimed = "all-eligible"\n'
                    '[[devices]]\ntype = "ESME"\n', encoding="utf-8")
    both = load_declaration(path)
    refused = decide(both, {"srv": "4.2", "role": "Import Supplier", "device": "ESME"}, {"check-role"})
    assert not refused.applicable and "also holds ES" in refused.reason
    assert decide(both, {"srv": "6.5", "role": "Import Supplier", "device": "ESME"}, {"check-role"}).applicable


def test_cli_plan_prints_applicable_and_not_applicable_with_reasons(capsys):
    assert main(["plan", "--declaration", str(SUPPLIER)]) == 0
    out = capsys.readouterr().out
    assert "APPLICABLE" in out and "NOT APPLICABLE" in out
    assert "not applicable: role ED is not declared by declarations/supplier.toml" in out
    assert "section_07.feature: A critical request takes the transform (CV 4 then CV 5), then the device answers, and reading the device back shows the value [7.1, Import Supplier, ESME, Import Supplier, 7.4, supply, Enabled]" in out


def test_cli_plan_against_shows_coverage_gained_and_lost(capsys):
    assert main(["plan", "--declaration", str(OPERATOR), "--against", str(SUPPLIER), "--summary"]) == 0
    out = capsys.readouterr().out
    diff = out[out.index("Coverage of declarations/network_operator.toml against declarations/supplier.toml"):]
    gained, lost = diff[diff.index("GAINED"):diff.index("LOST")], diff[diff.index("LOST"):]
    assert "ED: 4.1.1" in gained and "GT: 4.1.1" in gained and "14.1" in gained
    assert "IS: 1.1.1" in lost and "GS: 1.1.1" in lost
    assert main(["plan", "--declaration", str(MAKER), "--against", str(MAKER), "--summary"]) == 0
    same = capsys.readouterr().out
    assert "GAINED (0 role × SRV)" in same and "LOST (0 role × SRV)" in same


def test_cli_plan_refuses_an_incoherent_declaration_naming_it(tmp_path: Path, capsys):
    path = tmp_path / "bad.toml"
    path.write_text('party = "Bad"\n[roles.GS]\neui = "90-B3-D5-1F-30-01-00-00"\n[srvs]\nclaimed = ["7.1"]\n',
                    encoding="utf-8")
    assert main(["plan", "--declaration", str(path)]) == 5
    err = capsys.readouterr().err
    assert f"{path}: claims SRV 7.1 but holds none of its eligible roles IS" in err


def _run_features(*args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "DUISCONF_DECLARATION"}
    return subprocess.run([sys.executable, "-m", "pytest", "features/test_features.py", "-p", "no:cacheprovider",
                           "-o", "addopts=", "-q", "-rs", *args], cwd=PROJECT_ROOT, env=env,
                          capture_output=True, text=True, timeout=300)


def test_the_run_reports_not_applicable_scenarios_and_the_coverage(tmp_path: Path):
    result = _run_features("-m", "srv-6.5", "--declaration", str(OPERATOR), "--alluredir", str(tmp_path / "allure"))
    out = result.stdout
    assert result.returncode == 0, out[-3000:]
    assert "not applicable: role IS is not declared by declarations/network_operator.toml" in out
    assert "DUIS catalogue coverage" in out and " ED: 1 SRVs applicable: 1 passed" in out
    assert (tmp_path / "allure" / "coverage.json").is_file() and (tmp_path / "allure" / "coverage.txt").is_file()
    labelled = [p.read_text() for p in (tmp_path / "allure").glob("*-result.json")]
    assert any('"name": "verdict", "value": "not applicable"' in text for text in labelled)


def test_an_incoherent_declaration_stops_the_run_before_any_traffic(tmp_path: Path):
    path = tmp_path / "bad.toml"
    path.write_text('party = "Bad"\n[roles.IS]\neui = "nope"\n[srvs]\nclaimed = "all-eligible"\n', encoding="utf-8")
    result = _run_features("-m", "srv-6.5", "--declaration", str(path))
    assert result.returncode != 0
    assert f"{path}: [roles.IS] bad EUI" in result.stdout + result.stderr
