"""Safe parsing and schema loading: what a user feeding us hostile or odd files relies on."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import pytest

from duisconf.duis.parse import parse_xml
from duisconf.duis.schema import default_schema_path, load_schema
from duisconf.errors import ConfigError, InvalidInput, SchemaInvalid

REQUEST = b"""<?xml version="1.0"?>
<sr:Request xmlns:sr="http://www.dccinterface.co.uk/ServiceUserGateway" schemaVersion="5.1">
  <sr:Header>
    <sr:RequestID>90-B3-D5-1F-30-01-00-00:00-DB-12-34-56-78-90-A0:1000</sr:RequestID>
    <sr:CommandVariant>1</sr:CommandVariant>
    <sr:ServiceReference>4.1</sr:ServiceReference>
    <sr:ServiceReferenceVariant>4.1.1</sr:ServiceReferenceVariant>
  </sr:Header>
  <sr:Body><sr:ReadInstantaneousImportRegisters/></sr:Body>
</sr:Request>"""


def test_whitespace_only_text_is_dropped_when_parsing():
    root = parse_xml(REQUEST).getroot()
    assert all(e.text is None or e.text.strip() for e in root.iter())
    assert all(e.tail is None for e in root.iter())


@pytest.mark.parametrize(
    "hostile",
    [
        b'<!DOCTYPE r [<!ENTITY x "boom">]><r>&x;</r>',
        b'<!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]><r>&x;</r>',
        b'<!DOCTYPE r SYSTEM "http://example.invalid/evil.dtd"><r/>',
        b'<!DOCTYPE r [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">'
        b'<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;"><!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;">]><r>&d;&d;&d;</r>',
    ],
    ids=["internal-entity", "external-file-entity", "external-dtd", "entity-expansion"],
)
def test_any_doctype_is_refused_without_resolving_it(hostile: bytes):
    started = time.perf_counter()
    with pytest.raises(InvalidInput, match="DOCTYPE declarations are not allowed"):
        parse_xml(hostile, source="upload.xml")
    assert time.perf_counter() - started < 0.5  # nothing was expanded


def test_malformed_xml_names_the_source_and_the_problem():
    with pytest.raises(InvalidInput, match=r"^req\.xml: malformed XML: .*mismatch"):
        parse_xml(b"<a><b></a>", source="req.xml")


def test_default_schema_is_duis_5_1_from_the_signing_tool():
    schema = load_schema()
    assert schema.version == "5.1"
    assert len(schema.service_reference_variants) == 129
    assert {"I0", "I99", "E2", "E19"} <= set(schema.response_codes)
    assert " " not in default_schema_path().name


def test_schema_failure_names_line_and_reason():
    broken = REQUEST.replace(b"<sr:CommandVariant>1", b"<sr:CommandVariant>12")
    with pytest.raises(SchemaInvalid, match=r"^req\.xml: line 5: .*CommandVariant"):
        load_schema().validate(parse_xml(broken), source="req.xml")


def _publish_like_dcc(folder: Path, version: str, with_mmc: bool = True) -> Path:
    """Lay out the XSDs as DCC publishes them: spaces in the names, the DUIS file importing its MMC twin."""
    jar_dir = default_schema_path().parent
    folder.mkdir(parents=True, exist_ok=True)
    duis = (jar_dir / "DUIS_Schema_V5.1.xsd").read_text()
    duis = duis.replace('schemaLocation="MMC_Schema_V5.1.xsd"', f'schemaLocation="MMC Schema V{version}.xsd"')
    duis = duis.replace("DUIS XML Schema Version - Request           - 5.1", f"DUIS XML Schema Version - Request           - {version}")
    (folder / f"DUIS Schema V{version}.xsd").write_text(duis)
    if with_mmc:
        shutil.copy(jar_dir / "MMC_Schema_V5.1.xsd", folder / f"MMC Schema V{version}.xsd")
    return folder / f"DUIS Schema V{version}.xsd"


def test_user_schema_with_spaces_in_file_names_loads_and_validates(tmp_path: Path):
    main = _publish_like_dcc(tmp_path / "dcc schemas", "5.4")
    schema = load_schema(main)
    assert schema.version == "5.4"
    assert schema.source == main.resolve()
    schema.validate(parse_xml(REQUEST))


def test_user_schema_missing_its_mmc_twin_is_a_config_error_naming_it(tmp_path: Path):
    main = _publish_like_dcc(tmp_path / "lonely", "5.4", with_mmc=False)
    with pytest.raises(ConfigError, match=r"imports 'MMC Schema V5\.4\.xsd', which is not in"):
        load_schema(main)


def test_schema_importing_from_the_network_is_refused(tmp_path: Path):
    main = _publish_like_dcc(tmp_path / "net", "5.4")
    main.write_text(main.read_text().replace('schemaLocation="MMC Schema V5.4.xsd"', 'schemaLocation="http://example.invalid/mmc.xsd"'))
    with pytest.raises(ConfigError, match="from the network"):
        load_schema(main)


def test_missing_schema_file_is_a_config_error(tmp_path: Path):
    with pytest.raises(ConfigError, match="schema file not found"):
        load_schema(tmp_path / "nope.xsd")


def test_env_variable_selects_the_schema(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    main = _publish_like_dcc(tmp_path / "env", "5.3")
    monkeypatch.setenv("DUISCONF_SCHEMA", str(main))
    assert load_schema().version == "5.3"


def test_request_body_choice_is_read_from_the_schema():
    names = load_schema().body_elements()
    assert {"ReadInstantaneousImportRegisters", "UpdateHANDeviceLog", "SignedPreCommand"} <= set(names)
    assert len(names) == 130  # one per SRV plus SignedPreCommand (CV 5/6/7)
