"""The committed catalogue (features/catalogue/) is what tools/generate_catalogue.py makes from the rules
today, and what it makes follows the rules."""

from __future__ import annotations

import importlib.util
import re
import sys
import tomllib

from duisconf.paths import PROJECT_ROOT
from duisconf.plan import read_cases
from duisconf.rules import load_catalogue

spec = importlib.util.spec_from_file_location("generate_catalogue", PROJECT_ROOT / "tools" / "generate_catalogue.py")
generator = importlib.util.module_from_spec(spec)
sys.modules.setdefault("generate_catalogue", generator)  # dataclasses look their module up by name
spec.loader.exec_module(generator)


def test_committed_catalogue_is_not_stale():
    stale = generator.stale(generator.generate())
    assert not stale, f"features/catalogue is stale relative to the rules ({', '.join(stale)}): " \
                      f"run `python tools/generate_catalogue.py`"


def test_positive_cases_send_only_as_eligible_roles_to_addressable_devices():
    catalogue = load_catalogue()
    for case in read_cases():
        rule = catalogue.srv(case.srv)
        if "positive" in case.tags:
            assert case.role in rule.eligible_roles, case.ident
            assert case.device is None or case.device in rule.device_types, case.ident
        elif case.check == "role":
            assert case.role not in rule.eligible_roles, case.ident
        elif case.check == "device_type":
            assert case.device not in rule.device_types, case.ident


def test_negative_cases_expect_the_codes_of_rules_access_control():
    checks = {c["name"]: c for c in tomllib.loads((PROJECT_ROOT / "rules" / "access_control.toml").read_text())["check"]}
    for path in (PROJECT_ROOT / "features" / "catalogue").glob("*.feature"):
        text = path.read_text()
        for check, code in re.findall(r"@check-(\w+) @conf-\w\n  Scenario Outline: .*\n(?:    .*\n)*?    Then the request is rejected with (E\d+)", text):
            assert checks[check]["code"] == code, (path.name, check)


def test_every_block_is_tagged_for_selection_and_confidence():
    for case in read_cases():
        assert {t for t in case.tags if t.startswith("srv-")} == {f"srv-{case.srv}"}, case.ident
        assert {t for t in case.tags if t.startswith("role-")} == {f"role-{case.role}"}, case.ident
        assert any(t.startswith("cv-") for t in case.tags) and any(t.startswith("conf-") for t in case.tags), case.ident


def test_known_gaps_stay_few_and_give_reasons():
    assert len(generator.KNOWN_GAPS) <= 10
    assert all(len(reason) > 20 for reason in generator.KNOWN_GAPS.values())


def test_unverified_codes_say_so_in_the_title():
    for path in (PROJECT_ROOT / "features" / "catalogue").glob("*.feature"):
        for title in re.findall(r"@conf-U\n  Scenario Outline: (.*)", path.read_text()):
            assert "best known, unverified" in title, title


def test_a_changed_rule_changes_the_generated_cases(tmp_path):
    """Rules-driven, not a folder of tests: make 6.5 (ED only) open to the IS as well and the IS's
    ineligible-role case for 6.5 gives way to positive ones; a different E-code for the url check shows
    in the scenarios' expectations."""
    import shutil

    rules = tmp_path / "rules"
    shutil.copytree(PROJECT_ROOT / "rules", rules)
    catalogue = rules / "srv_catalogue.toml"
    text = catalogue.read_text()
    start = text.index('srv = "6.5"')
    end = text.index("[[srv]]", start)
    catalogue.write_text(text[:start] + text[start:end].replace('roles = ["ED"]', 'roles = ["IS", "ED"]') + text[end:])
    access = rules / "access_control.toml"
    access.write_text(access.read_text().replace('code = "E13"', 'code = "E14"'))
    before, after = generator.generate()["section_06.feature"], generator.generate(rules)["section_06.feature"]
    assert "| 6.5 | Import Supplier | ESME   |" in before.split("refused with E2")[1].split("Scenario Outline")[0]
    # 6.5 changes the device's configuration: its positive cases check the content of the device's response
    assert "@srv-6.5 @role-IS" in after.split("answers that it carried the command out")[-1].split("Scenario Outline")[0]
    assert "refused with E13" in before and "refused with E13" not in after and "refused with E14" in after


def test_every_positive_device_case_checks_its_gbcs_framing():
    for path in (PROJECT_ROOT / "features" / "catalogue").glob("*.feature"):
        for outline in path.read_text().split("  Scenario Outline: ")[1:]:
            steps = outline.split("\n\n")[0]
            if "@positive" in path.read_text() and "a response I0 arrives" in steps:
                assert generator.FRAMING.split(" ", 1)[1] in steps, (path.name, steps.splitlines()[0])


def test_each_effect_row_reads_back_with_the_value_the_request_sets():
    """rules/effects.toml drives the read-backs: every row shows up as a read-back of its SRV, expecting the
    template default (or the parameter the scenario sends); a state-changing SRV without one checks its
    own response's content."""
    effects, content = generator.load_effects()
    text = "".join(p.read_text() for p in (PROJECT_ROOT / "features" / "catalogue").glob("*.feature"))
    for srv, row in effects.items():
        assert re.search(rf"\| {re.escape(srv)} +\|[^\n]*\| {re.escape(row.read)} +\| {re.escape(row.reading)} +\| "
                         rf"{re.escape(row.expected)} +\|", text), srv
    assert effects["7.2"].expected == "Disabled" and effects["2.1"].expected == "1"  # value / template default
    assert effects["1.6"].parameter == ("PaymentMode", "Prepayment") and effects["1.6"].expected == "Prepayment"
    assert any("@srv-3.4 @role-IS" in part.split("Scenario Outline")[0]
               for part in text.split("that it carried the command out")[1:])


def test_firmware_activation_pair_expects_success_and_hash_mismatch():
    text = (PROJECT_ROOT / "features" / "catalogue" / "section_11.feature").read_text()
    assert "And the response reports firmware_activation 0" in text
    assert "And the response reports firmware_activation 2" in text
    assert "with a hash that matches no distributed image" in text
