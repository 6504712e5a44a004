"""rules/gbcs_use_cases.toml against DCC's own data: the gbcs-mapping-table and the RTDS 4.5.0 messages.

A mismatch names the message code and the field. The RTDS (GPL data) is read from ../shared/dcc-data at
test time; without it those tests skip and say so.
"""

from __future__ import annotations

import importlib.util
import json
import re
import sys
from pathlib import Path

import pytest

from duisconf import paths
from duisconf.errors import ConfigError, DataPackageMissing
from duisconf.gbcs import use_cases

ROOT = Path(__file__).resolve().parents[1]
RTDS = paths.PROJECT_ROOT.parent / "shared" / "dcc-data" / "gbcs-rtds" / "RTDS-4.5.0"

# Use cases of the mapping table with no GBCS message code in the catalogue: firmware distribution
# (CS05a/b/c) has none in gbcs-parser's table nor in the RTDS. New gaps must be looked at.
MAPPING_ONLY = {"CS05a", "CS05b", "CS05c"}

# RTDS messages filed under another use case's folder on purpose: the CS04B error case sends the
# CS04AC message code (0x000F) to a method-B device.
CROSS_FILED = {("8.8.2_CS04B", 0x000F)}


def load_tool():
    spec = importlib.util.spec_from_file_location("gbcs_use_cases_tool", ROOT / "tools" / "gbcs_use_cases.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses resolve annotations through the module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def tool():
    return load_tool()


@pytest.fixture(scope="module")
def mapping_rows() -> list[dict]:
    try:
        path = paths.package_file(paths.TEMPLATES_PACKAGE, "dist/gbcs-mapping-table.json")
    except DataPackageMissing as exc:
        pytest.skip(f"DCC's gbcs-mapping-table.json is absent: {exc}")
    return json.loads(path.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def rtds_messages(tool) -> list:
    if not RTDS.is_dir():
        pytest.skip(f"DCC's RTDS 4.5.0 is absent ({RTDS}): the GBCS catalogue checks need ../shared/dcc-data")
    return list(tool.rtds_messages(RTDS))


def test_committed_catalogue_is_what_the_tool_generates_now(tool, mapping_rows, rtds_messages):
    committed = (ROOT / "rules" / "gbcs_use_cases.toml").read_text(encoding="utf-8")
    assert committed == tool.render(tool.build()), "rules/gbcs_use_cases.toml is stale: run tools/gbcs_use_cases.py"


def test_known_codes_from_the_issue_and_gbcs():
    ecs17b = use_cases.lookup(0x0027)
    assert ecs17b is not None and ecs17b.name == "ECS17b" and ecs17b.message_code == "0x0027"
    assert ecs17b.encoding == "dlms" and ecs17b.response_encrypted and ecs17b.device_types == ("ESME",)
    assert use_cases.lookup(0x7777) is None
    assert [u.code for u in use_cases.by_name("CS02b")] == list(range(0x0100, 0x010A))
    assert use_cases.by_name("nope") == ()
    assert {u.name for u in use_cases.for_srv("11.3")} == {"CS06", "FDFAA"}
    activation_alert = use_cases.lookup(0x00CA)
    assert activation_alert.cra == ("alert",) and activation_alert.alert_of == ("CS06",)
    assert activation_alert.alert_codes == (0x8F66, 0x8F67)
    generic = use_cases.lookup(0x1000)
    assert generic.encoding is None and generic.encoding_for("alert") == ("dlms", "gbz")


def test_every_mapping_table_use_case_with_a_code_agrees(mapping_rows):
    mismatches = []
    names = {u.name for u in use_cases.all_use_cases()}
    for row in mapping_rows:
        name = (row.get("Use Case Title") or "").split(" ", 1)[0]
        if name not in names:
            continue
        title = row["Use Case Title"].split(" ", 1)[1].strip()
        refs = [r.strip() for r in str(row.get("Service Reference") or "").split(",")]
        refs = [r for r in refs if re.fullmatch(r"\d+(\.\d+)+", r)]
        kind = row.get("Message Type") or ""
        alert, command = kind.startswith("SME.A."), kind.startswith("SME.C.")
        for uc in use_cases.by_name(name):
            where = f"{uc.message_code} {name}"
            if " ".join(uc.title.split()) != " ".join(title.split()):
                mismatches.append(f"{where}: title {uc.title!r} != mapping table {title!r}")
            if alert and "alert" not in uc.cra:
                mismatches.append(f"{where}: cra {uc.cra} but the mapping table says alert ({row['Message Type']})")
            if command and not {"command", "response"} <= set(uc.cra):
                mismatches.append(f"{where}: cra {uc.cra} but the mapping table says {row['Message Type']}")
            for ref in refs:
                if not any(s == ref or s.startswith(ref + ".") for s in uc.srvs):
                    mismatches.append(f"{where}: srvs {uc.srvs} miss the mapping table's service reference {ref}")
    assert not mismatches, "\n".join(mismatches)


def test_mapping_table_use_cases_missing_from_the_catalogue_are_the_known_ones(mapping_rows):
    names = {u.name for u in use_cases.all_use_cases()}
    missing = {(row.get("Use Case Title") or "").split(" ", 1)[0] for row in mapping_rows} - names
    assert missing == MAPPING_ONLY, f"mapping-table use cases without a catalogue entry changed: {sorted(missing)}"


def test_every_rtds_message_matches_its_catalogue_entry(tool, rtds_messages):
    eui_types = tool.device_types_by_eui()
    mismatches = []
    for m in rtds_messages:
        uc = use_cases.lookup(m.message_code)
        where = f"0x{m.message_code:04X} ({m.folder}/{m.file})"
        if uc is None:
            mismatches.append(f"{where}: message code not in the catalogue")
            continue
        folder_use_case = tool.folder_use_case(m.folder_name, {u.name for u in use_cases.all_use_cases()})
        if folder_use_case not in (uc.name, *uc.alert_of) and (m.folder, m.message_code) not in CROSS_FILED:
            mismatches.append(f"{where}: name {uc.name} (alert_of {uc.alert_of}) but the folder is {folder_use_case}")
        if m.cra not in uc.cra:
            mismatches.append(f"{where}: cra {uc.cra} lacks {m.cra}")
        if m.encoding not in uc.encoding_for(m.cra):
            mismatches.append(f"{where}: encoding {uc.encoding_for(m.cra)} for {m.cra}, message is {m.encoding}")
        if m.srv and m.srv not in uc.srvs:
            mismatches.append(f"{where}: srvs {uc.srvs} lack the folder's SRV {m.srv}")
        if m.device in eui_types and eui_types[m.device] not in uc.device_types:
            mismatches.append(f"{where}: device_types {uc.device_types} lack {eui_types[m.device]}")
        if m.cra == "response" and m.encrypted and not uc.response_encrypted:
            mismatches.append(f"{where}: response_encrypted false but the response carries 31 00000000")
        if m.alert_code is not None and m.alert_code not in uc.alert_codes:
            mismatches.append(f"{where}: alert_codes {uc.alert_codes} lack 0x{m.alert_code:04X}")
    assert not mismatches, "\n".join(mismatches)


def test_catalogue_claims_are_backed_by_the_rtds(rtds_messages):
    by_code: dict[int, list] = {}
    for m in rtds_messages:
        by_code.setdefault(m.message_code, []).append(m)
    assert len(by_code) == 233, "RTDS 4.5.0 has 233 distinct message codes"
    mismatches = []
    for uc in use_cases.all_use_cases():
        seen = by_code.get(uc.code, [])
        if uc.in_rtds != bool(seen):
            mismatches.append(f"{uc.message_code} {uc.name}: in_rtds {uc.in_rtds}, RTDS has {len(seen)} message(s)")
        if uc.response_encrypted and not any(m.encrypted for m in seen if m.cra == "response"):
            mismatches.append(f"{uc.message_code} {uc.name}: response_encrypted but no RTDS response is encrypted")
        if seen and set(uc.cra) != {m.cra for m in seen}:
            mismatches.append(f"{uc.message_code} {uc.name}: cra {uc.cra}, RTDS has {sorted({m.cra for m in seen})}")
    assert not mismatches, "\n".join(mismatches)
    assert sum(m.encrypted for m in rtds_messages) == 48  # gbcs.md: 48 messages with encrypted parts
    assert sum(m.encoding == "asn1" for m in rtds_messages) == 178


def test_a_broken_catalogue_is_a_config_error_naming_the_entry(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    (tmp_path / "gbcs_use_cases.toml").write_text(
        '[[message]]\ncode = 0x0027\nname = "ECS17b"\ncra = ["command", "sideways"]\nencoding = "dlms"\n'
    )
    monkeypatch.setenv("DUISCONF_RULES", str(tmp_path))
    with pytest.raises(ConfigError, match=r"#1 \(ECS17b\): cra must list"):
        use_cases.lookup(0x0027)
    (tmp_path / "gbcs_use_cases.toml").write_text('[[message]]\ncode = 0x0027\nname = "X"\ncra = ["alert"]\n')
    with pytest.raises(ConfigError, match="missing field encoding"):
        use_cases.lookup(0x0027)
