"""The SRV catalogue (rules/srv_catalogue.toml) checked against DCC's own published data at test time.

The emulator enforces the catalogue and the suite generates scenarios from it, so a wrong row would make
both sides wrong together. These tests compare it with three independent DCC sources: the duis-parser
request matrix, the configured DUIS XSD, and the 297 RTDS request templates. Each data test collects
every mismatch first and fails once, naming the SRV and the field, so one run shows the whole damage.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from lxml import etree

from duisconf import paths
from duisconf.duis.model import NSMAP, service_reference
from duisconf.duis.schema import load_schema
from duisconf.errors import ConfigError, InvalidInput
from duisconf.rules import Catalogue, SRVRule, UseCase, load_catalogue

XS = {"xs": "http://www.w3.org/2001/XMLSchema"}
# RTDS device EUIs (duis.md §7.3): the last octet of 00-DB-12-34-56-78-90-Ax names the device type.
RTDS_DEVICES = {
    "00-DB-12-34-56-78-90-A0": "ESME",
    "00-DB-12-34-56-78-90-A1": "GSME",
    "00-DB-12-34-56-78-90-A2": "CHF",
    "00-DB-12-34-56-78-90-A3": "GPF",
    "00-DB-12-34-56-78-90-A4": "PPMID",
    "00-DB-12-34-56-78-90-A5": "HCALCS",
    "00-DB-12-34-56-78-90-A6": "ESME",  # an APC-capable ESME (6.14.3 templates)
}


@pytest.fixture(scope="module")
def cat() -> Catalogue:
    return load_catalogue()


@pytest.fixture(scope="module")
def matrix() -> list[dict]:
    return json.loads(paths.request_matrix_json().read_text(encoding="utf-8"))


def _fail_on(mismatches: list[str], what: str) -> None:
    if mismatches:
        pytest.fail(f"{len(mismatches)} {what}:\n  " + "\n  ".join(mismatches), pytrace=False)


# --- shape and counts (duis.md §6 "Counts") ----------------------------------------------------------


def test_catalogue_has_129_srvs_with_the_published_counts(cat: Catalogue) -> None:
    rules = cat.all()
    assert len(cat) == len(rules) == 129
    assert sum(r.critical for r in rules) == 37
    assert sum(r.non_device for r in rules) == 16
    patterns = {p: sum(r.future_dated == p for r in rules) for p in ("No", "DSP", "Device", "DSP & Device")}
    assert patterns == {"No": 72, "DSP": 45, "Device": 11, "DSP & Device": 1}
    assert [r.srv for r in cat.with_tag("FW")] == ["11.1", "11.2", "11.3", "11.4"]


def test_command_variants_follow_the_cv_rule(cat: Catalogue) -> None:
    # duis.md §2.2: critical device -> 4..7, non-critical device -> 1..3, non-device -> 8 only.
    wrong = []
    for r in cat:
        expected = (8,) if r.non_device else (4, 5, 6, 7) if r.critical else (1, 2, 3)
        if r.command_variants != expected:
            wrong.append(f"{r.srv} command_variants: {list(r.command_variants)} vs rule {list(expected)}")
    _fail_on(wrong, "SRVs break the CommandVariant rule")


def test_device_types_and_use_cases_agree(cat: Catalogue) -> None:
    wrong = []
    for r in cat:
        if r.non_device and (r.device_types or r.use_cases):
            wrong.append(f"{r.srv}: a non-device SRV must have no device types and no use cases")
        for u in r.use_cases:
            if u.device not in r.device_types:
                wrong.append(f"{r.srv} use case {u.code}: device {u.device} not in device_types {list(r.device_types)}")
    _fail_on(wrong, "inconsistencies")


# --- against DCC's request matrix (duis-parser dist/duis-request-matrix.json) ------------------------


def test_every_row_matches_dccs_request_matrix(cat: Catalogue, matrix: list[dict]) -> None:
    yes = {"Yes": True, "No": False}

    def words(text: str) -> str:  # the matrix keeps spreadsheet line breaks and double spaces in names
        return " ".join(text.split())

    by_srv = {row["Service Reference Variant"]: row for row in matrix}
    mismatches = []
    if [r.srv for r in cat] != [row["Service Reference Variant"] for row in matrix]:
        mismatches.append("order: catalogue SRVs are not in the matrix (DUIS) order")
    for srv in sorted(set(by_srv) - {r.srv for r in cat}):
        mismatches.append(f"{srv}: in the matrix, missing from the catalogue")
    for r in cat:
        row = by_srv.get(r.srv)
        if row is None:
            mismatches.append(f"{r.srv}: in the catalogue, not in the matrix")
            continue
        pairs = {
            "name": (r.name, words(row["Service Request Name"])),
            "critical": (r.critical, yes.get(row["Critical"])),
            "on_demand": (r.on_demand, yes.get(row["On Demand"])),
            "non_device": (r.non_device, yes.get(row["Non-Device Request"])),
            "future_dated": (r.future_dated, row["Future Dated Response Pattern"]),
            "dcc_scheduled": (r.dcc_scheduled, yes.get(row["DCC Scheduled"])),
        }
        for field, (ours, theirs) in pairs.items():
            if ours != theirs:
                mismatches.append(f"{r.srv} {field}: catalogue {ours!r} vs matrix {theirs!r}")
        if set(r.eligible_roles) != set(row["Eligible User Roles"]):
            theirs = row["Eligible User Roles"]
            mismatches.append(f"{r.srv} roles: catalogue {list(r.eligible_roles)} vs matrix {theirs}")
    _fail_on(mismatches, "differences from DCC's request matrix")


def test_derived_sr_differs_from_the_matrix_only_where_the_matrix_is_wrong(cat: Catalogue, matrix: list[dict]) -> None:
    # The matrix says SR "6.2" for 6.20.1 / 6.20.2 (duis.md §1.2). If DCC fixes it, this tells us.
    srv_sr = {row["Service Reference Variant"]: row["Service Reference"] for row in matrix}
    differ = {srv for srv, sr in srv_sr.items() if srv in cat and cat.srv(srv).sr != sr}
    assert differ == {"6.20.1", "6.20.2"}
    assert cat.srv("6.20.1").sr == "6.20"


# --- against the configured DUIS XSD -----------------------------------------------------------------


def test_srvs_equal_the_xsd_enumeration(cat: Catalogue) -> None:
    schema = load_schema()
    in_xsd, ours = set(schema.service_reference_variants), {r.srv for r in cat}
    problems = [f"{srv}: in the catalogue, missing from {schema}" for srv in sorted(ours - in_xsd)]
    problems += [f"{srv}: in {schema}, missing from the catalogue" for srv in sorted(in_xsd - ours)]
    srs = set(schema.enumeration("ServiceReference"))
    problems += [f"{r.srv}: derived SR {r.sr} is not in the XSD ServiceReference enumeration"
                 for r in cat if r.sr not in srs]
    _fail_on(problems, "SRV differences from the XSD")


def test_body_elements_are_request_body_choices_in_the_xsd(cat: Catalogue) -> None:
    # Read the XSD ourselves: the request's sr:Body is an xs:choice of one element per SRV (+ SignedPreCommand).
    doc = etree.parse(str(load_schema().compiled_path))
    body_choice = "//xs:complexType[@name='Request']//xs:element[@name='Body']//xs:choice/xs:element/@name"
    choices = set(doc.xpath(body_choice, namespaces=XS))
    assert len(choices) >= 130, "could not find the request Body choice in the XSD"
    missing = [f"{r.srv} body: {r.body_element!r} is not a request Body element in the XSD"
               for r in cat if r.body_element not in choices]
    _fail_on(missing, "body elements unknown to the XSD")


# --- against the RTDS request templates ---------------------------------------------------------------


def _templates() -> list[Path]:
    found = sorted(paths.rtds_templates_dir().glob("*_REQUEST_DUIS.XML"))
    assert len(found) >= 297, f"expected DCC's 297 RTDS templates, found {len(found)}"
    return found


def test_templates_agree_with_the_catalogue(cat: Catalogue) -> None:
    mismatches = []
    for path in _templates():
        doc = etree.parse(str(path))
        header = doc.find("sr:Header", NSMAP)
        srv = header.findtext("sr:ServiceReferenceVariant", namespaces=NSMAP)
        name = path.name
        if srv not in cat:
            mismatches.append(f"{name}: SRV {srv} is not in the catalogue")
            continue
        r = cat.srv(srv)
        body = etree.QName(doc.find("sr:Body", NSMAP)[0]).localname
        sr = header.findtext("sr:ServiceReference", namespaces=NSMAP)
        cv = int(header.findtext("sr:CommandVariant", namespaces=NSMAP))
        target = header.findtext("sr:RequestID", namespaces=NSMAP).split(":")[1].upper()
        if body != r.body_element:
            mismatches.append(f"{name}: {srv} body {body!r} vs catalogue {r.body_element!r}")
        if sr != r.sr:
            mismatches.append(f"{name}: {srv} ServiceReference {sr!r} vs derived SR {r.sr!r}")
        if cv not in r.command_variants:
            mismatches.append(f"{name}: {srv} CommandVariant {cv} not in {list(r.command_variants)}")
        if r.non_device:
            continue
        # Device templates target an RTDS device EUI; any other target names no type we know, so skip it.
        device = RTDS_DEVICES.get(target)
        if device is not None and device not in r.device_types:
            mismatches.append(f"{name}: {srv} targets a {device}, not in device_types {list(r.device_types)}")
        # The file name's leading token is the use case (+ variant word): the catalogue must list it for that device.
        token = name.split("_")[0]
        named = any(u.code + (u.variant or "") == token and u.device == device for u in r.use_cases)
        if device is not None and not named:
            mismatches.append(f"{name}: {srv} has no use case {token} for {device}")
    _fail_on(mismatches, "differences from DCC's RTDS templates")


# --- API behaviour ----------------------------------------------------------------------------------


def test_lookup_and_queries(cat: Catalogue) -> None:
    rule = cat.srv("8.11")
    assert isinstance(rule, SRVRule)
    assert (rule.sr, rule.body_element, rule.device_types) == ("8.11", "UpdateHANDeviceLog", ("CHF",))
    assert "8.11" in cat and "9.9" not in cat
    assert [r.srv for r in cat][:3] == ["1.1.1", "1.1.2", "1.2.1"]
    assert all("ED" in r.eligible_roles for r in cat.for_role("ED"))
    assert cat.srv("14.1") in cat.for_device("GSME") and cat.srv("8.2") not in cat.for_device("GSME")
    assert load_catalogue() is cat  # cached per path
    assert load_catalogue(paths.rules_dir() / "srv_catalogue.toml") is cat


def test_unknown_srv_names_it() -> None:
    with pytest.raises(InvalidInput, match=r"unknown SRV '9\.9'.*129 DUIS service reference variants"):
        load_catalogue().srv("9.9")


def test_default_cv_and_flags(cat: Catalogue) -> None:
    assert (cat.srv("4.1.1").default_cv, cat.srv("11.3").default_cv, cat.srv("8.2").default_cv) == (1, 4, 8)
    assert cat.srv("8.2").is_device is False and cat.srv("8.11").is_device is True
    assert cat.srv("11.3").future_datable and not cat.srv("8.2").future_datable


def test_message_codes(cat: Catalogue) -> None:
    read = cat.srv("4.1.1")
    assert read.message_code("ESME") == 0x0027
    assert read.message_code("GSME") == 0x0074
    assert read.message_code() == 0x0027  # first use case overall
    assert cat.srv("11.2").message_code("PPMID") == 0x0129
    assert cat.srv("6.15.1").use_cases[1] == UseCase("CS02b", 0x0102, "ESME", "SupplierBySupplier")
    assert cat.srv("1.1.1").message_code("ESME") is None  # the reference does not state ECS01a's code
    assert cat.srv("8.2").message_code() is None


# --- the loader rejects a broken catalogue -------------------------------------------------------------

GOOD = """
[[srv]]
srv = "8.11"
name = "Update HAN Device Log"
critical = false
on_demand = true
future_dated = "DSP"
dcc_scheduled = false
non_device = false
roles = ["IS", "GS", "OU"]
command_variants = [1, 2, 3]
body = "UpdateHANDeviceLog"
device_types = ["CHF"]
use_cases = [ { code = "CCS01", message_code = 0x0001, device = "CHF" } ]
tags = ["CH"]
"""


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "bad_catalogue.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_a_good_minimal_catalogue_loads(tmp_path: Path) -> None:
    cat = load_catalogue(_write(tmp_path, GOOD))
    assert len(cat) == 1 and cat.srv("8.11").message_code("CHF") == 0x0001


@pytest.mark.parametrize(
    ("text", "field", "says"),
    [
        (GOOD.replace('"GS", "OU"', '"GS", "XX"'), "roles", "unknown role 'XX' (expected IS, ES, GS, ED, GT, RSA, OU)"),
        (GOOD + GOOD, "srv", "duplicate"),
        (GOOD.replace('body = "UpdateHANDeviceLog"\n', ""), "body", "is missing"),
        (GOOD.replace("critical = false", 'critical = "no"'), "critical", "must be bool"),
        (GOOD.replace("[1, 2, 3]", "[1, true]"), "command_variants", "int"),
        (GOOD.replace("[1, 2, 3]", "[1, 9]"), "command_variants", "unknown CommandVariant 9"),
        (GOOD.replace('"DSP"', '"Later"'), "future_dated", "unknown pattern 'Later'"),
        (GOOD.replace('["CHF"]', '["TOASTER"]'), "device_types", "unknown device type 'TOASTER'"),
        (GOOD.replace('device = "CHF" }', 'device = "CHF", mc = 1 }'), "use_cases[0]", "unknown key"),
        (GOOD.replace("message_code = 0x0001", 'message_code = "1"'), "use_cases[0].message_code", "must be int"),
    ],
    ids=["unknown-role", "duplicate-srv", "missing-field", "wrong-type", "bool-as-cv", "cv-out-of-range",
         "fd-pattern", "device-type", "use-case-key", "use-case-type"],
)
def test_loader_rejects_a_broken_catalogue(tmp_path: Path, text: str, field: str, says: str) -> None:
    path = _write(tmp_path, text)
    with pytest.raises(ConfigError) as caught:
        load_catalogue(path)
    message = str(caught.value)
    assert str(path) in message or path.name in message, message
    assert "SRV 8.11" in message, message
    assert f"field '{field}'" in message, message
    assert says in message, message


def test_loader_rejects_invalid_toml_and_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_catalogue(_write(tmp_path, "[[srv]\n"))
    with pytest.raises(ConfigError, match="not found"):
        load_catalogue(tmp_path / "nowhere.toml")


def test_sr_is_derived_not_stored(cat: Catalogue) -> None:
    assert all(r.sr == service_reference(r.srv) for r in cat)
    assert not re.search(r"^\s*sr\s*=", (paths.rules_dir() / "srv_catalogue.toml").read_text(), re.M)
