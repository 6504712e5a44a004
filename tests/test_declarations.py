"""Declarations (PICS): the three examples load; incoherent ones are refused before any traffic, with a
message naming the file and the problem."""

from __future__ import annotations

from pathlib import Path

import pytest

from duisconf.declarations import ALL_ELIGIBLE, load_declaration
from duisconf.errors import ConfigError
from duisconf.paths import PROJECT_ROOT
from duisconf.rules import load_catalogue

EXAMPLES = PROJECT_ROOT / "declarations"
SUPPLIER_EUI = "90-B3-D5-1F-30-01-00-00"


def write(tmp_path: Path, body: str, name: str = "party.toml") -> Path:
    path = tmp_path / name
    path.write_text(body, encoding="utf-8")
    return path


def declaration(roles: str = f'[roles.IS]\neui = "{SUPPLIER_EUI}"\n', claimed: str = '"all-eligible"',
                devices: str = '[[devices]]\ntype = "ESME"\n', party: str = 'party = "Test party"\n') -> str:
    return f"{party}{roles}\n[srvs]\nclaimed = {claimed}\n\n{devices}"


@pytest.mark.parametrize("name", ["supplier", "network_operator", "device_maker"])
def test_the_examples_are_coherent(name: str):
    found = load_declaration(EXAMPLES / f"{name}.toml")
    assert found.party and found.roles and found.claimed and found.devices


def test_supplier_example_holds_is_and_gs_and_claims_every_srv_they_may_send():
    found = load_declaration(EXAMPLES / "supplier.toml")
    assert set(found.roles) == {"IS", "GS"} and found.claimed_all_eligible
    expected = {r.srv for r in load_catalogue() if {"IS", "GS"} & set(r.eligible_roles)}
    assert found.claimed == expected and "7.1" in found.claimed and "14.1" not in found.claimed
    assert found.organisation_roles("IS") == {"IS", "GS"}


def test_device_models_and_firmware_are_kept():
    found = load_declaration(EXAMPLES / "device_maker.toml")
    assert [m.model for m in found.devices["ESME"].models] == ["EM-100 single phase", "EM-300 polyphase"]
    assert found.devices["PPMID"].models[0].firmware == "1.4.0"


@pytest.mark.parametrize(("body", "problem"), [
    (declaration(roles=f'[roles.GS]\neui = "{SUPPLIER_EUI}"\n', claimed='["7.1"]',
                 devices='[[devices]]\ntype = "ESME"\n'),
     "claims SRV 7.1 but holds none of its eligible roles IS"),
    (declaration(claimed='["4.1.1", "99.9"]'), "claims unknown SRV '99.9'"),
    (declaration(roles=f'[roles.XX]\neui = "{SUPPLIER_EUI}"\n'), "unknown role 'XX'"),
    (declaration(roles='[roles.IS]\neui = "90-B3-D5"\n'), "[roles.IS] bad EUI"),
    (declaration(roles="[roles.IS]\n"), "[roles.IS] eui is missing"),
    (declaration(devices='[[devices]]\ntype = "IHD"\n'), "declares device type IHD but no claimed SRV can address a IHD"),
    (declaration(claimed='["7.1"]', devices='[[devices]]\ntype = "GSME"\n'),
     "declares device type GSME but no claimed SRV can address a GSME"),
    (declaration(devices='[[devices]]\ntype = "Toaster"\n'), "unknown device type 'Toaster'"),
    (declaration(party=""), "party is missing"),
    (declaration(claimed='"some"'), 'claimed must be a list of SRVs or "all-eligible"'),
    (declaration(roles=f'[roles.IS]\neui = "{SUPPLIER_EUI}"\nkey = "nowhere.key"\ncertificate = "nowhere.pem"\n'),
     "[roles.IS] key file 'nowhere.key' does not exist"),
    ("party = [", "not valid TOML"),
])
def test_incoherent_declarations_are_refused_naming_file_and_problem(tmp_path: Path, body: str, problem: str):
    path = write(tmp_path, body)
    with pytest.raises(ConfigError) as caught:
        load_declaration(path)
    message = str(caught.value)
    assert str(path) in message and problem in message, message


def test_a_missing_declaration_is_named(tmp_path: Path):
    with pytest.raises(ConfigError, match="nothing.toml: declaration not found"):
        load_declaration(tmp_path / "nothing.toml")


def test_a_listed_claim_is_kept_as_listed(tmp_path: Path):
    found = load_declaration(write(tmp_path, declaration(claimed='["4.1.1", "7.1"]')))
    assert found.claimed == {"4.1.1", "7.1"} and not found.claimed_all_eligible
    assert ALL_ELIGIBLE == "all-eligible"
