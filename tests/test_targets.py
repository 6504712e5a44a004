"""Target files: the shipped ones load; broken ones fail naming the file, the key and what was expected."""

from __future__ import annotations

from pathlib import Path

import pytest

from duisconf.errors import ConfigError
from duisconf.targets import load_target


def test_shipped_targets_load():
    emulator = load_target("emulator")
    assert emulator.kind == "emulator" and emulator.users["IS"] == "90-B3-D5-1F-30-01-00-00"
    assert emulator.devices["CHF"] == "00-DB-12-34-56-78-90-A2" and emulator.timeouts.quiet == 0.5
    boxed = load_target("dccboxed")
    assert boxed.service_url("serviceS") == "http://dccboxed:8079/api/v1/serviceS"
    assert boxed.receiver.public_url == "http://192.168.0.5:8080/duis"


def test_the_example_test_environment_names_its_missing_files(tmp_path: Path):
    example = Path(__file__).resolve().parents[1] / "targets" / "dcc-test-env.toml.example"
    copy = tmp_path / "dcc-test-env.toml"
    copy.write_text(example.read_text())
    with pytest.raises(ConfigError, match=r"= 'secrets/[a-z-]+\.(pem|key)': no such file") as failure:
        load_target(str(copy))
    assert str(copy) in str(failure.value)


@pytest.mark.parametrize("text, message", [
    ("[target]\nkind = 'boxed'\n", r"\[target\] kind = 'boxed': expected one of emulator, dccboxed, dcc"),
    ("[target]\nkind = 'dccboxed'\n", r"\[target\] base_url is required"),
    ("[target]\nkind = 'dccboxed'\nbase_url = 'dccboxed:8079'\n", r"base_url = 'dccboxed:8079': expected an http\(s\) URL"),
    ("[target]\nkind = 'dccboxed'\nbase_url = 'http://kit:8079'\n", r"\[receiver\] public_url is required"),
    ("[timeouts]\non_demand = 'soon'\n", r"\[timeouts\] on_demand = 'soon': expected int or float"),
    ("[timeouts]\nquiet = 0\n", r"\[timeouts\] quiet must be positive"),
    ("[timeouts]\nondemand = 3\n", r"\[timeouts\] unknown key\(s\) ondemand"),
    ("[users]\nIS = 'not-an-eui'\n", r"\[users\] IS = 'not-an-eui': expected an EUI-64"),
    ("[devices]\nTOASTER = '00-DB-12-34-56-78-90-A0'\n", r"\[devices\] unknown key\(s\) TOASTER"),
    ("[keys.\"90-B3-D5-1F-30-01-00-00\"]\ncertificate = 'nope.pem'\nprivate_key = 'nope.key'\n", r"certificate = 'nope.pem': no such file"),
    ("[emulatr]\n", r"unknown table\(s\) emulatr"),
    ("[target\n", "not valid TOML"),
])
def test_errors_name_file_key_and_expectation(tmp_path: Path, text: str, message: str):
    path = tmp_path / "broken.toml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=message) as failure:
        load_target(str(path))
    assert str(path) in str(failure.value)


def test_unknown_target_names_the_known_ones():
    with pytest.raises(ConfigError, match=r"no target named 'boxd' \(known: dccboxed, emulator"):
        load_target("boxd")


def test_a_binary_target_file_is_a_config_error_naming_it(tmp_path: Path):
    path = tmp_path / "binary.toml"
    path.write_bytes(b"[target]\nname = '\xff\xfe'\n")
    with pytest.raises(ConfigError, match=r"not UTF-8 text \(byte 17\)") as failure:
        load_target(str(path))
    assert str(path) in str(failure.value)
