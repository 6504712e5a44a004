#!/usr/bin/env python3
"""Scaffold duisconf's request templates (templates/<SRV>.xml.j2) from the DUIS XSD.

A MAINTENANCE TOOL, not part of the runtime: its output is committed, reviewed and hand-tuned; the
renderer (duisconf.render) only reads the templates. Re-run it when the XSD changes, then check the
diff (hand-tuned templates are listed in HAND_TUNED and are never overwritten without --force).

How a template is made
 - The XSD gives the structure: element names and order, xs:sequence / xs:choice, minOccurs and
   maxOccurs, named and anonymous types, xs:extension bases (FutureDatedAbstractType gives the optional
   leading ExecutionDateTime, MandatoryFutureDatedAbstractType a mandatory one), simple-type facets.
 - SHAPES (below) says, per SRV, which optional elements and which xs:choice branches to emit. It holds
   element paths only (XSD facts). `derive` fills it in from the element paths of DCC's RTDS request
   templates (node_modules/@smartdcc/duis-templates, read at maintenance time only; no value or text
   of those files is used or copied).
 - Values are duisconf's own: DEFAULTS_BY_NAME, then a value valid for the simple type's facets
   (first enumeration value, minimum of a range, a length that fits, a hand-written value per pattern).
 - Every leaf whose element name occurs once in the template (or in mutually exclusive branches only)
   becomes a parameter `p.<ElementName> | default(<our value>)`. Optional leaves are emitted when given
   (or by default when the shape has them); passing None or "" omits them. Empty-typed optional
   elements (flags such as RMSVoltageCountersNotReset) take a boolean.
 - SRVs whose RTDS variants differ in choices or optional structure get SELECTORS: parameters that pick
   the branch (e.g. 1.6 PaymentMode=Credit|Prepayment, 8.11 RequestType=Add|Remove).

Usage
    .venv/bin/python tools/scaffold_templates.py derive      # refresh SHAPES from the RTDS element paths
    .venv/bin/python tools/scaffold_templates.py generate    # write templates/ (skips HAND_TUNED)
    .venv/bin/python tools/scaffold_templates.py generate --force 8.11
"""

from __future__ import annotations

import argparse
import ast
import pprint
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

from lxml import etree

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from duisconf import paths  # noqa: E402
from duisconf.duis.schema import load_schema  # noqa: E402

XS = "http://www.w3.org/2001/XMLSchema"
SR = "http://www.dccinterface.co.uk/ServiceUserGateway"
Q = {"xs": XS}
MARK_BEGIN = "# --- BEGIN " + "DERIVED SHAPES"
MARK_END = "# --- END " + "DERIVED SHAPES"

# Templates edited by hand after generation: `generate` leaves them alone unless --force names them.
HAND_TUNED: set[str] = set()

# Variants per SRV whose RTDS templates differ in choices / optional structure: (selector values, stem).
# The first entry is the default. The stem is used by `derive` only, to read the element paths.
VARIANT_STEMS: dict[str, list[tuple[dict[str, str], str]]] = {
    "8.11": [({"RequestType": "Add"}, "CCS01_8.11_SUCCESS"), ({"RequestType": "Remove"}, "CCS02_8.11_SUCCESS")],
    "1.1.1": [
        ({"Fuel": "Electricity", "TariffType": "TOUTariff"}, "ECS01a_1.1.1_IMMEDIATE_TOU_SUCCESS"),
        ({"Fuel": "Electricity", "TariffType": "BlockTariff"}, "ECS01a_1.1.1_IMMEDIATE_BLOCK_SUCCESS"),
        ({"Fuel": "Electricity", "TariffType": "HybridTariff"}, "ECS01a_1.1.1_FUTURE_DATED_TOU_BLOCK_SUCCESS"),
        ({"Fuel": "Gas", "TariffType": "TOUTariff"}, "GCS01a_1.1.1_IMMEDIATE_TOU_SUCCESS"),
        ({"Fuel": "Gas", "TariffType": "BlockTariff"}, "GCS01a_1.1.1_FUTURE_DATED_BLOCK_SUCCESS"),
    ],
    "1.2.1": [
        ({"Fuel": "Electricity", "TariffType": "TOUTariff"}, "ECS01b_1.2.1_IMMEDIATE_TOU_SUCCESS"),
        ({"Fuel": "Electricity", "TariffType": "BlockTariff"}, "ECS01b_1.2.1_IMMEDIATE_BLOCK_SUCCESS"),
        ({"Fuel": "Electricity", "TariffType": "HybridTariff"}, "ECS01b_1.2.1_FUTURE_DATED_TOU_BLOCK_SUCCESS"),
        ({"Fuel": "Gas", "TariffType": "TOUTariff"}, "GCS01b_1.2.1_IMMEDIATE_TOU_SUCCESS"),
        ({"Fuel": "Gas", "TariffType": "BlockTariff"}, "GCS01b_1.2.1_FUTURE_DATED_BLOCK_SUCCESS"),
    ],
    "1.5": [
        ({"PaymentMode": "Prepayment", "MeterBalanceAction": "AdjustMeterBalance"}, "ECS04a_1.5_SUCCESS"),
        ({"PaymentMode": "Prepayment", "MeterBalanceAction": "ResetMeterBalance"}, "GCS40b_1.5_SUCCESS"),
        ({"PaymentMode": "Credit", "MeterBalanceAction": "ResetMeterBalance"}, "ECS04b_1.5_SUCCESS"),
        ({"PaymentMode": "Credit", "MeterBalanceAction": "AdjustMeterBalance"}, "GCS40c_1.5_SUCCESS"),
    ],
    "1.6": [({"PaymentMode": "Credit"}, "ECS02_1.6_IMMEDIATE_SINGLE_SUCCESS"),
            ({"PaymentMode": "Prepayment"}, "ECS03_1.6_IMMEDIATE_SINGLE_SUCCESS")],
    "2.1": [({"Fuel": "Electricity"}, "ECS08_2.1_IMMEDIATE_SUCCESS"), ({"Fuel": "Gas"}, "GCS05_2.1_IMMEDIATE_SUCCESS")],
    "2.3": [({"Fuel": "Electricity"}, "ECS07_2.3_SUCCESS"), ({"Fuel": "Gas"}, "GCS04_2.3_SUCCESS")],
    "6.5": [({"VoltageSettings": "SinglePhaseVoltageSettings"}, "ECS29a_6.5_SUCCESS"),
            ({"VoltageSettings": "PolyPhaseVoltageSettings"}, "ECS29b_6.5_SUCCESS")],
    "6.8": [({"Fuel": "Electricity", "BillingPeriod": "Monthly"}, "ECS30_6.8_SUCCESS"),
            ({"Fuel": "Electricity", "BillingPeriod": "Quarterly"}, "ECS30a_6.8_SUCCESS"),
            ({"Fuel": "Gas"}, "GCS25_6.8_SUCCESS")],
    "6.20.1": [({"Fuel": "Electricity"}, "ECS39a_6.20.1_SINGLE_SUCCESS"), ({"Fuel": "Gas"}, "GCS41_6.20.1_SUCCESS")],
    "6.22": [
        ({"AlertSettings": "ElectricitySupplierHANAlertSettings"}, "ECS25a1_6.22_SUCCESS"),
        ({"AlertSettings": "ElectricitySupplierAlarmSettings"}, "ECS25a2_6.22_SUCCESS"),
        ({"AlertSettings": "ElectricitySupplierLoggingSettings"}, "ECS25a3_6.22_SUCCESS"),
        ({"AlertSettings": "ElectricitySupplierAlerts"}, "ECS25a_6.22_SUCCESS"),
        ({"AlertSettings": "ElectricityNetworkOperatorLoggingSettings"}, "ECS25b3_6.22_SUCCESS"),
        ({"AlertSettings": "ElectricityNetworkOperatorAlerts"}, "ECS25b_6.22_SUCCESS"),
        ({"AlertSettings": "GasSupplierAlertEventSettings"}, "GCS20_6.22_SUCCESS"),
    ],
    "4.14": [({}, "ECS21b_4.14_KRP_SUCCESS")],
    "4.17": [({}, "ECS66_4.17_SUCCESS")],
    "6.14.3": [({"SpecialDayYear": "NonSpecifiedYear"}, "ECS46d_6.14.3_IMMEDIATE_ALCS_SUCCESS"),
               ({"SpecialDayYear": "SpecifiedYear"}, "ECS46d_6.14.3_FUTURE_DATED_APC_OUTPUT_SUCCESS")],
    "6.15.1": [({}, "CS02bSupplierBySupplier_6.15.1_IMMEDIATE_SUCCESS")],
    "6.21": [({}, "CS02bSupplierBySupplierHandover_6.21_SUCCESS")],
    "8.9": [({}, "CS07_8.9_SUCCESS")],
    "3.3": [({}, "ECS15a_3.3_SUCCESS")],
    "7.13": [({}, "ECS47a_7.13_ALCS_ACTIVATE_SUCCESS")],
    "7.16": [({}, "ECS47e_7.16_APC_OUTPUT_SUCCESS")],
    "6.18.2": [({}, "ECS57_6.18.2_ALL_OPTIONALS_SUCCESS")],
    "6.7": [({}, "GCS24_6.7_SUCCESS")],
    "1.1.2": [({}, "ECS01c_1.1.2_IMMEDIATE_SUCCESS")],
    "1.2.2": [({}, "ECS01d_1.2.2_IMMEDIATE_SUCCESS")],
    "6.4.1": [({}, "ECS28a_6.4.1_IMMEDIATE_SUCCESS")],
    "6.14.2": [({}, "ECS46c_6.14.2_IMMEDIATE_SOME_OPTIONALS_SUCCESS")],
    "6.23": [({}, "CS02bSupplierByTransCoS_6.23_IMMEDIATE_SUCCESS")],
    "11.3": [({}, "CS06_11.3_IMMEDIATE_SUCCESS")],
    "4.1.1": [({}, "ECS17b_4.1.1_SINGLE_SUCCESS")],
}

# Our own default values, by DUIS element name (checked against the XSD by the tests).
ESME = "00-DB-12-34-56-78-90-A0"
GSME = "00-DB-12-34-56-78-90-A1"
CHF = "00-DB-12-34-56-78-90-A2"
GPF = "00-DB-12-34-56-78-90-A3"
PPMID = "00-DB-12-34-56-78-90-A4"
# A tiny base64 DER placeholder (SEQUENCE { INTEGER 1 }) that satisfies xs:base64Binary certificate types.
DER_PLACEHOLDER = "MAMCAQE="
DEFAULTS_BY_NAME: dict[str, str] = {
    "DeviceID": ESME,
    "OtherDeviceID": PPMID,
    "DeviceIDList": ESME,
    "OldCHFID": "00-DB-12-34-56-78-90-B2",
    "OldGPFID": "00-DB-12-34-56-78-90-B3",
    "AssociatedGPFDeviceID": GPF,
    "InstallCode": "00112233445566778899AABBCCDDEEFF",
    "JoinTimePeriod": "60",
    "UTRN": "73400000000000000001",
    "FirmwareImage": "ZHVpc2NvbmYgZmlybXdhcmUgaW1hZ2U=",
    "FirmwareVersion": "1.0.0",
    "FirmwareHash": "00112233445566778899AABBCCDDEEFF00112233445566778899AABBCCDDEEFF",
    "ImportMPxN": "1000000000001",
    "MPxN": "1000000000001",
    "ImportMPAN": "1000000000001",
    "SecondaryImportMPAN": "1000000000002",
    "ExportMPAN": "1000000000003",
    "ImportMPRN": "1000000001",
    "CurrentDateTime": "2025-01-01T00:00:00Z",
    "TolerancePeriod": "60",
    "ExecutionDateTime": "2030-01-01T00:00:00Z",
    "OriginalRequestID": f"90-B3-D5-1F-30-01-00-00:{ESME}:1000",
    "DeviceGBCSResponse": "3gAAAAAAAAAA",
    "PostCode": "AB1 2CD",
    "AddressIdentifier": "1",
    "UPRN": "100000000001",
    "DeviceManufacturer": "DUISCONF",
    "DeviceModel": "MODEL1",
    "SupplierName": "DUISCONF ENERGY",
    "UserRefID": "duisconf",
    "AdditionalInformation": "duisconf",
    "Message": "Hello from duisconf",
}
# Device-specific default DeviceID per SRV (the device named in a non-device or HAN body).
DEVICE_ID_BY_SRV = {"8.14.1": CHF, "8.14.2": CHF, "8.14.3": CHF, "8.14.4": CHF, "8.12.1": CHF}
DEVICE_LIST_BY_SRV = {"11.4": PPMID}

DATE = "2025-01-01"
TIME = "00:00:00"
DATETIME = "2025-01-01T00:00:00Z"
PATTERN_VALUES = {
    "[0-9]{20}": "73400000000000000001",
    "[ -~]+": "duisconf",
    "[0-9 ]+": "12345",
    "[0-9]{4}": "1234",
}
EUI_PATTERN_START = "[A-Fa-f0-9]{2}-[A-Fa-f0-9]{2}"


# --------------------------------------------------------------------------------------------- XSD model
@dataclass
class Simple:
    base: str  # xs builtin local name
    enums: list[str] = field(default_factory=list)
    facets: dict[str, str] = field(default_factory=dict)
    patterns: list[str] = field(default_factory=list)


@dataclass
class Elem:
    name: str
    min: int
    max: int | None
    simple: Simple | None = None  # simple content (also for simpleContent extensions)
    content: object = None  # Particle for complex content, or None (empty)
    attrs: list[tuple[str, Simple]] = field(default_factory=list)
    type_name: str | None = None

    @property
    def is_leaf(self) -> bool:
        return self.content is None

    @property
    def is_empty(self) -> bool:
        return self.content is None and self.simple is None


@dataclass
class Particle:
    kind: str  # seq | choice | elem
    min: int
    max: int | None
    items: list = field(default_factory=list)
    elem: Elem | None = None


class XsdModel:
    def __init__(self, path: Path):
        self.doc = etree.parse(str(path))
        self.complex = {e.get("name"): e for e in self.doc.getroot().findall(f"{{{XS}}}complexType")}
        self.simples = {e.get("name"): e for e in self.doc.getroot().findall(f"{{{XS}}}simpleType")}
        self.elements = {e.get("name"): e for e in self.doc.getroot().findall(f"{{{XS}}}element")}
        body = self.doc.xpath("//xs:complexType[@name='Request']//xs:element[@name='Body']", namespaces=Q)[0]
        self.body_choice = {e.get("name"): e for e in body.xpath("./xs:complexType/xs:choice/xs:element", namespaces=Q)}

    @staticmethod
    def _occurs(node, attr: str, default: int) -> int | None:
        value = node.get(attr)
        if value is None:
            return default
        return None if value == "unbounded" else int(value)

    def simple(self, type_ref: str | None, node=None) -> Simple:
        """Resolve a simple type (by QName or inline xs:simpleType node) to its builtin base and facets."""
        if node is None:
            prefix, _, local = type_ref.partition(":")
            if prefix == "xs":
                return Simple(local)
            node = self.simples[local]
        restriction = node.find(f"{{{XS}}}restriction")
        if restriction is None:
            raise ValueError(f"unsupported simpleType at line {node.sourceline}")
        base_ref = restriction.get("base")
        inner = restriction.find(f"{{{XS}}}simpleType")
        base = self.simple(None, inner) if inner is not None else self.simple(base_ref)
        result = Simple(base.base, list(base.enums), dict(base.facets), list(base.patterns))
        enums = [e.get("value") for e in restriction.findall(f"{{{XS}}}enumeration")]
        if enums:
            result.enums = enums
        for facet in restriction:
            tag = etree.QName(facet).localname if isinstance(facet.tag, str) else ""
            if tag in ("minInclusive", "maxInclusive", "minExclusive", "maxExclusive", "length", "minLength",
                       "maxLength", "totalDigits", "fractionDigits"):
                result.facets[tag] = facet.get("value")
            elif tag == "pattern":
                result.patterns = [facet.get("value")]
        return result

    def element(self, node) -> Elem:
        if node.get("ref"):
            local = node.get("ref").split(":")[1]
            target = self.elements[local]
            elem = self.element(target)
            elem.min = self._occurs(node, "minOccurs", 1)
            elem.max = self._occurs(node, "maxOccurs", 1)
            return elem
        elem = Elem(node.get("name"), self._occurs(node, "minOccurs", 1), self._occurs(node, "maxOccurs", 1))
        type_ref = node.get("type")
        if type_ref:
            prefix, _, local = type_ref.partition(":")
            if prefix == "xs" or local in self.simples:
                elem.simple = self.simple(type_ref)
            else:
                elem.type_name = local
                self._complex(self.complex[local], elem)
        else:
            inline_s = node.find(f"{{{XS}}}simpleType")
            inline_c = node.find(f"{{{XS}}}complexType")
            if inline_s is not None:
                elem.simple = self.simple(None, inline_s)
            elif inline_c is not None:
                self._complex(inline_c, elem)
            else:
                elem.simple = Simple("string")
        return elem

    def _attrs(self, node, elem: Elem) -> None:
        for attr in node.findall(f"{{{XS}}}attribute"):
            if attr.get("use") == "required":
                elem.attrs.append((attr.get("name"), self.simple(attr.get("type"))))

    def _complex(self, node, elem: Elem) -> None:
        """Fill elem's content from a complexType node (sequence/choice, complex/simple content)."""
        self._attrs(node, elem)
        cc = node.find(f"{{{XS}}}complexContent")
        sc = node.find(f"{{{XS}}}simpleContent")
        if sc is not None:
            ext = sc.find(f"{{{XS}}}extension")
            elem.simple = self.simple(ext.get("base"))
            self._attrs(ext, elem)
            return
        if cc is not None:
            ext = cc.find(f"{{{XS}}}extension")
            if ext is None:
                raise ValueError(f"unsupported complexContent at line {cc.sourceline}")
            base_local = ext.get("base").split(":")[1]
            base_elem = Elem("base", 1, 1)
            self._complex(self.complex[base_local], base_elem)
            own = self._particle_of(ext)
            items = [p for p in (base_elem.content, own) if p is not None]
            elem.attrs.extend(base_elem.attrs)
            self._attrs(ext, elem)
            elem.content = Particle("seq", 1, 1, items) if items else None
            return
        elem.content = self._particle_of(node)

    def _particle_of(self, node):
        for child in node:
            if not isinstance(child.tag, str):
                continue
            tag = etree.QName(child).localname
            if tag in ("sequence", "choice"):
                return self.particle(child)
        return None

    def particle(self, node) -> Particle:
        tag = etree.QName(node).localname
        if tag == "element":
            elem = self.element(node)
            return Particle("elem", elem.min, elem.max, elem=elem)
        kind = "seq" if tag == "sequence" else "choice"
        items = [self.particle(c) for c in node if isinstance(c.tag, str) and etree.QName(c).localname in
                 ("element", "sequence", "choice")]
        return Particle(kind, self._occurs(node, "minOccurs", 1), self._occurs(node, "maxOccurs", 1), items)

    def body(self, name: str) -> Elem:
        return self.element(self.body_choice[name])


# ------------------------------------------------------------------------------------------ default values
def _num(value: str) -> int:
    return int(value)


def simple_default(simple: Simple, name: str = "") -> str:
    if simple.enums:
        return simple.enums[0]
    f = simple.facets
    if simple.patterns:
        pattern = simple.patterns[0]
        if pattern in PATTERN_VALUES:
            return PATTERN_VALUES[pattern]
        if pattern.startswith(EUI_PATTERN_START) and ":" in pattern:
            return DEFAULTS_BY_NAME["OriginalRequestID"]
        if pattern.startswith(EUI_PATTERN_START) or pattern.startswith("(" + EUI_PATTERN_START):
            return ESME
        raise ValueError(f"no default for pattern {pattern!r} ({name})")
    base = simple.base
    if base in ("string", "token", "normalizedString"):
        length = int(f.get("length", f.get("minLength", 1)) or 1)
        maximum = int(f["maxLength"]) if "maxLength" in f else None
        text = "duisconf"
        if "length" in f or len(text) < length:
            text = ("duisconf" * 10)[:length] if length > 0 else text
        if maximum is not None and len(text) > maximum:
            text = text[:maximum]
        return text
    if base == "boolean":
        return "true"
    if base == "dateTime":
        return DATETIME
    if base == "date":
        return DATE
    if base == "time":
        return TIME
    if base == "hexBinary":
        length = int(f.get("length", f.get("minLength", 1)) or 1)
        return "00" * max(length, 1)
    if base == "base64Binary":
        return DER_PLACEHOLDER
    if base in ("decimal",):
        low = f.get("minInclusive")
        if low is not None:
            return low
        if "minExclusive" in f:
            return str(int(float(f["minExclusive"])) + 1)
        return "0"
    integer_min = {"positiveInteger": 1, "nonNegativeInteger": 0, "unsignedInt": 0, "unsignedShort": 0,
                   "unsignedLong": 0, "unsignedByte": 0, "int": 0, "integer": 0, "short": 0, "long": 0,
                   "byte": 0, "nonPositiveInteger": 0}
    if base in integer_min:
        low = int(f["minInclusive"]) if "minInclusive" in f else int(f["minExclusive"]) + 1 if "minExclusive" in f else None
        high = int(f["maxInclusive"]) if "maxInclusive" in f else int(f["maxExclusive"]) - 1 if "maxExclusive" in f else None
        value = 0 if base == "nonPositiveInteger" else 1
        if low is not None and value < low:
            value = low
        if high is not None and value > high:
            value = high
        return str(value)
    raise ValueError(f"no default for builtin {base} ({name})")


# ----------------------------------------------------------------------------------------------- shapes
def rtds_paths(stem: str) -> tuple[str, str, set[str]]:
    """(srv, body element, element paths below the body element) of one RTDS request template."""
    path = paths.rtds_templates_dir() / f"{stem}_REQUEST_DUIS.XML"
    root = etree.parse(str(path)).getroot()
    srv = root.find(f".//{{{SR}}}ServiceReferenceVariant").text.strip()
    body = root.find(f"{{{SR}}}Body")
    top = next(c for c in body if isinstance(c.tag, str))
    found: set[str] = set()

    def walk(node, prefix):
        for child in node:
            if isinstance(child.tag, str) and etree.QName(child).namespace == SR:
                p = f"{prefix}/{etree.QName(child).localname}" if prefix else etree.QName(child).localname
                found.add(p)
                walk(child, p)

    walk(top, "")
    return srv, etree.QName(top).localname, found


def decisions_of(model: XsdModel, body: Elem, present: set[str]) -> list[str]:
    """The element paths in `present` whose inclusion is a decision (optional, or a choice branch)."""
    out: list[str] = []

    def visit_particle(part: Particle, prefix: str, optional: bool, in_choice: bool):
        if part.kind == "elem":
            visit_elem(part.elem, prefix, optional or part.min == 0, in_choice)
            return
        for item in part.items:
            visit_particle(item, prefix, optional or part.min == 0, in_choice or part.kind == "choice")

    def visit_elem(elem: Elem, prefix: str, optional: bool, in_choice: bool):
        path = f"{prefix}/{elem.name}" if prefix else elem.name
        if path not in present:
            return
        if optional or in_choice:
            out.append(path)
        if elem.content is not None:
            visit_particle(elem.content, path, False, False)

    if body.content is not None:
        visit_particle(body.content, "", False, False)
    return sorted(out)


def derive() -> None:
    schema = load_schema()
    model = XsdModel(schema.compiled_path)
    by_srv: dict[str, list[str]] = {}
    for f in sorted(paths.rtds_templates_dir().glob("*_REQUEST_DUIS.XML")):
        stem = f.name[: -len("_REQUEST_DUIS.XML")]
        srv, _, _ = rtds_paths(stem)
        by_srv.setdefault(srv, []).append(stem)
    shapes: dict[str, dict] = {}
    for srv in schema.service_reference_variants:
        variants = VARIANT_STEMS.get(srv) or [({}, by_srv[srv][0])]
        entry: dict = {"variants": []}
        for selectors, stem in variants:
            _, body_name, present = rtds_paths(stem)
            present.discard("ExecutionDateTime")
            entry["body"] = body_name
            entry["variants"].append({"select": selectors, "paths": decisions_of(model, model.body(body_name), present)})
        shapes[srv] = entry
    source = Path(__file__).read_text()
    start = source.index(MARK_BEGIN)
    end = source.index(MARK_END)
    block = MARK_BEGIN + " (tools/scaffold_templates.py derive; element paths only) ---\nSHAPES = " + \
        pprint.pformat(shapes, width=120, sort_dicts=False) + "\n"
    Path(__file__).write_text(source[:start] + block + source[end:])
    print(f"derived shapes for {len(shapes)} SRVs")


# --- BEGIN DERIVED SHAPES (tools/scaffold_templates.py derive; element paths only) ---
SHAPES = {'1.1.1': {'variants': [{'select': {'Fuel': 'Electricity', 'TariffType': 'TOUTariff'},
                         'paths': ['ElecTariffElements',
                                   'ElecTariffElements/SpecialDays/SpecialDay',
                                   'ElecTariffElements/SpecialDays/SpecialDay/Date/DayOfMonth/SpecifiedDayOfMonth',
                                   'ElecTariffElements/SpecialDays/SpecialDay/Date/DayOfWeek/NonSpecifiedDayOfWeek',
                                   'ElecTariffElements/SpecialDays/SpecialDay/Date/Month/SpecifiedMonth',
                                   'ElecTariffElements/SpecialDays/SpecialDay/Date/Year/NonSpecifiedYear',
                                   'ElecTariffElements/SpecialDays/SpecialDay/Date/Year/SpecifiedYear',
                                   'ElecTariffElements/SwitchingTable/DayProfiles/DayProfile/ProfileSchedule/TOUTariffAction',
                                   'ElecTariffElements/SwitchingTable/Seasons/Season/SeasonStartDate/DayOfMonth/SpecifiedDayOfMonth',
                                   'ElecTariffElements/SwitchingTable/Seasons/Season/SeasonStartDate/DayOfWeek/NonSpecifiedDayOfWeek',
                                   'ElecTariffElements/SwitchingTable/Seasons/Season/SeasonStartDate/Month/SpecifiedMonth',
                                   'ElecTariffElements/SwitchingTable/Seasons/Season/SeasonStartDate/Year/SpecifiedYear',
                                   'PriceElements/ElectricityPriceElements',
                                   'PriceElements/ElectricityPriceElements/TOUTariff']},
                        {'select': {'Fuel': 'Electricity', 'TariffType': 'BlockTariff'},
                         'paths': ['ElecTariffElements',
                                   'ElecTariffElements/SwitchingTable/DayProfiles/DayProfile/ProfileSchedule/BlockTariffAction',
                                   'ElecTariffElements/SwitchingTable/Seasons/Season/SeasonStartDate/DayOfMonth/SpecifiedDayOfMonth',
                                   'ElecTariffElements/SwitchingTable/Seasons/Season/SeasonStartDate/DayOfWeek/NonSpecifiedDayOfWeek',
                                   'ElecTariffElements/SwitchingTable/Seasons/Season/SeasonStartDate/Month/SpecifiedMonth',
                                   'ElecTariffElements/SwitchingTable/Seasons/Season/SeasonStartDate/Year/SpecifiedYear',
                                   'PriceElements/ElectricityPriceElements',
                                   'PriceElements/ElectricityPriceElements/BlockTariff']},
                        {'select': {'Fuel': 'Electricity', 'TariffType': 'HybridTariff'},
                         'paths': ['ElecTariffElements',
                                   'ElecTariffElements/SpecialDays/SpecialDay',
                                   'ElecTariffElements/SpecialDays/SpecialDay/Date/DayOfMonth/SpecifiedDayOfMonth',
                                   'ElecTariffElements/SpecialDays/SpecialDay/Date/DayOfWeek/NonSpecifiedDayOfWeek',
                                   'ElecTariffElements/SpecialDays/SpecialDay/Date/Month/SpecifiedMonth',
                                   'ElecTariffElements/SpecialDays/SpecialDay/Date/Year/NonSpecifiedYear',
                                   'ElecTariffElements/SpecialDays/SpecialDay/Date/Year/SpecifiedYear',
                                   'ElecTariffElements/SwitchingTable/DayProfiles/DayProfile/ProfileSchedule/BlockTariffAction',
                                   'ElecTariffElements/SwitchingTable/DayProfiles/DayProfile/ProfileSchedule/TOUTariffAction',
                                   'ElecTariffElements/SwitchingTable/Seasons/Season/SeasonStartDate/DayOfMonth/SpecifiedDayOfMonth',
                                   'ElecTariffElements/SwitchingTable/Seasons/Season/SeasonStartDate/DayOfWeek/NonSpecifiedDayOfWeek',
                                   'ElecTariffElements/SwitchingTable/Seasons/Season/SeasonStartDate/Month/SpecifiedMonth',
                                   'ElecTariffElements/SwitchingTable/Seasons/Season/SeasonStartDate/Year/SpecifiedYear',
                                   'PriceElements/ElectricityPriceElements',
                                   'PriceElements/ElectricityPriceElements/HybridTariff']},
                        {'select': {'Fuel': 'Gas', 'TariffType': 'TOUTariff'},
                         'paths': ['GasTariffElements',
                                   'GasTariffElements/SpecialDays/SpecialDay',
                                   'GasTariffElements/SpecialDays/SpecialDay/Date/GasDayOfMonthWithWildcards/SpecifiedDayOfMonth',
                                   'GasTariffElements/SpecialDays/SpecialDay/Date/GasDayOfWeekWithWildcards/NonSpecifiedDayOfWeek',
                                   'GasTariffElements/SpecialDays/SpecialDay/Date/GasMonthWithWildcards/SpecifiedMonth',
                                   'GasTariffElements/SpecialDays/SpecialDay/Date/GasYearWithWildcards/SpecifiedYear',
                                   'GasTariffElements/SwitchingTable/DayProfiles/DayProfile/TOUTariffAction',
                                   'GasTariffElements/SwitchingTable/Seasons/Season/SeasonStartDate/GasDayOfMonthWithWildcards/SpecifiedDayOfMonth',
                                   'GasTariffElements/SwitchingTable/Seasons/Season/SeasonStartDate/GasDayOfWeekWithWildcards/NonSpecifiedDayOfWeek',
                                   'GasTariffElements/SwitchingTable/Seasons/Season/SeasonStartDate/GasMonthWithWildcards/SpecifiedMonth',
                                   'GasTariffElements/SwitchingTable/Seasons/Season/SeasonStartDate/GasYearWithWildcards/NonSpecifiedYear',
                                   'PriceElements/GasPriceElements',
                                   'PriceElements/GasPriceElements/TOUTariff']},
                        {'select': {'Fuel': 'Gas', 'TariffType': 'BlockTariff'},
                         'paths': ['GasTariffElements',
                                   'GasTariffElements/SwitchingTable/DayProfiles/DayProfile/BlockTariff',
                                   'GasTariffElements/SwitchingTable/Seasons/Season/SeasonStartDate/GasDayOfMonthWithWildcards/SpecifiedDayOfMonth',
                                   'GasTariffElements/SwitchingTable/Seasons/Season/SeasonStartDate/GasDayOfWeekWithWildcards/NonSpecifiedDayOfWeek',
                                   'GasTariffElements/SwitchingTable/Seasons/Season/SeasonStartDate/GasMonthWithWildcards/SpecifiedMonth',
                                   'GasTariffElements/SwitchingTable/Seasons/Season/SeasonStartDate/GasYearWithWildcards/NonSpecifiedYear',
                                   'PriceElements/GasPriceElements',
                                   'PriceElements/GasPriceElements/BlockTariff']}],
           'body': 'UpdateImportTariffPrimaryElement'},
 '1.1.2': {'variants': [{'select': {},
                         'paths': ['SpecialDays/SpecialDay',
                                   'SpecialDays/SpecialDay/Date/DayOfMonth/SpecifiedDayOfMonth',
                                   'SpecialDays/SpecialDay/Date/DayOfWeek/NonSpecifiedDayOfWeek',
                                   'SpecialDays/SpecialDay/Date/Month/SpecifiedMonth',
                                   'SpecialDays/SpecialDay/Date/Year/NonSpecifiedYear',
                                   'SpecialDays/SpecialDay/Date/Year/SpecifiedYear',
                                   'SwitchingTable/Seasons/Season/SeasonStartDate/DayOfMonth/SpecifiedDayOfMonth',
                                   'SwitchingTable/Seasons/Season/SeasonStartDate/DayOfWeek/NonSpecifiedDayOfWeek',
                                   'SwitchingTable/Seasons/Season/SeasonStartDate/Month/SpecifiedMonth',
                                   'SwitchingTable/Seasons/Season/SeasonStartDate/Year/SpecifiedYear']}],
           'body': 'UpdateImportTariffSecondaryElement'},
 '1.2.1': {'variants': [{'select': {'Fuel': 'Electricity', 'TariffType': 'TOUTariff'},
                         'paths': ['PriceElements/ElectricityPriceElements',
                                   'PriceElements/ElectricityPriceElements/TOUTariff']},
                        {'select': {'Fuel': 'Electricity', 'TariffType': 'BlockTariff'},
                         'paths': ['PriceElements/ElectricityPriceElements',
                                   'PriceElements/ElectricityPriceElements/BlockTariff']},
                        {'select': {'Fuel': 'Electricity', 'TariffType': 'HybridTariff'},
                         'paths': ['PriceElements/ElectricityPriceElements',
                                   'PriceElements/ElectricityPriceElements/HybridTariff']},
                        {'select': {'Fuel': 'Gas', 'TariffType': 'TOUTariff'},
                         'paths': ['PriceElements/GasPriceElements', 'PriceElements/GasPriceElements/TOUTariff']},
                        {'select': {'Fuel': 'Gas', 'TariffType': 'BlockTariff'},
                         'paths': ['PriceElements/GasPriceElements', 'PriceElements/GasPriceElements/BlockTariff']}],
           'body': 'UpdatePricePrimaryElement'},
 '1.2.2': {'variants': [{'select': {}, 'paths': []}], 'body': 'UpdatePriceSecondaryElement'},
 '1.5': {'variants': [{'select': {'PaymentMode': 'Prepayment', 'MeterBalanceAction': 'AdjustMeterBalance'},
                       'paths': ['PrepaymentMode', 'PrepaymentMode/AdjustMeterBalance']},
                      {'select': {'PaymentMode': 'Prepayment', 'MeterBalanceAction': 'ResetMeterBalance'},
                       'paths': ['PrepaymentMode', 'PrepaymentMode/ResetMeterBalance']},
                      {'select': {'PaymentMode': 'Credit', 'MeterBalanceAction': 'ResetMeterBalance'},
                       'paths': ['CreditMode', 'CreditMode/ResetMeterBalance']},
                      {'select': {'PaymentMode': 'Credit', 'MeterBalanceAction': 'AdjustMeterBalance'},
                       'paths': ['CreditMode', 'CreditMode/AdjustMeterBalance']}],
         'body': 'UpdateMeterBalance'},
 '1.6': {'variants': [{'select': {'PaymentMode': 'Credit'}, 'paths': ['Credit']},
                      {'select': {'PaymentMode': 'Prepayment'}, 'paths': ['Prepayment']}],
         'body': 'UpdatePaymentMode'},
 '1.7': {'variants': [{'select': {}, 'paths': []}], 'body': 'ResetTariffBlockCounterMatrix'},
 '2.1': {'variants': [{'select': {'Fuel': 'Electricity'},
                       'paths': ['UpdatePrepayConfigElectricity',
                                 'UpdatePrepayConfigElectricity/ElectricityNonDisablementCalendar/ElectricityNonDisablementSchedule/DaysOfWeekApplicability/DayOfWeekApplicability',
                                 'UpdatePrepayConfigElectricity/ElectricityNonDisablementCalendar/ElectricityNonDisablementSchedule/SpecialDaysApplicability/SpecialDayApplicability',
                                 'UpdatePrepayConfigElectricity/ElectricityNonDisablementCalendar/ElectricitySpecialDays/SpecialDay',
                                 'UpdatePrepayConfigElectricity/ElectricityNonDisablementCalendar/ElectricitySpecialDays/SpecialDay/Date/DayOfMonth/SpecifiedDayOfMonth',
                                 'UpdatePrepayConfigElectricity/ElectricityNonDisablementCalendar/ElectricitySpecialDays/SpecialDay/Date/DayOfWeek/NonSpecifiedDayOfWeek',
                                 'UpdatePrepayConfigElectricity/ElectricityNonDisablementCalendar/ElectricitySpecialDays/SpecialDay/Date/Month/SpecifiedMonth',
                                 'UpdatePrepayConfigElectricity/ElectricityNonDisablementCalendar/ElectricitySpecialDays/SpecialDay/Date/Year/NonSpecifiedYear']},
                      {'select': {'Fuel': 'Gas'},
                       'paths': ['UpdatePrepayConfigGas',
                                 'UpdatePrepayConfigGas/GasNonDisablementCalendar/SeasonProfiles/Season/SeasonStartDate/GasDayOfMonthWithWildcards/SpecifiedDayOfMonth',
                                 'UpdatePrepayConfigGas/GasNonDisablementCalendar/SeasonProfiles/Season/SeasonStartDate/GasDayOfWeekWithWildcards/NonSpecifiedDayOfWeek',
                                 'UpdatePrepayConfigGas/GasNonDisablementCalendar/SeasonProfiles/Season/SeasonStartDate/GasMonthWithWildcards/SpecifiedMonth',
                                 'UpdatePrepayConfigGas/GasNonDisablementCalendar/SeasonProfiles/Season/SeasonStartDate/GasYearWithWildcards/SpecifiedYear',
                                 'UpdatePrepayConfigGas/GasNonDisablementCalendar/SpecialDays/SpecialDay',
                                 'UpdatePrepayConfigGas/GasNonDisablementCalendar/SpecialDays/SpecialDay/Date/GasDayOfMonthWithWildcards/SpecifiedDayOfMonth',
                                 'UpdatePrepayConfigGas/GasNonDisablementCalendar/SpecialDays/SpecialDay/Date/GasDayOfWeekWithWildcards/NonSpecifiedDayOfWeek',
                                 'UpdatePrepayConfigGas/GasNonDisablementCalendar/SpecialDays/SpecialDay/Date/GasMonthWithWildcards/SpecifiedMonth',
                                 'UpdatePrepayConfigGas/GasNonDisablementCalendar/SpecialDays/SpecialDay/Date/GasYearWithWildcards/NonSpecifiedYear',
                                 'UpdatePrepayConfigGas/GasNonDisablementCalendar/SpecialDays/SpecialDay/Date/GasYearWithWildcards/SpecifiedYear']}],
         'body': 'UpdatePrepayConfiguration'},
 '2.2': {'variants': [{'select': {}, 'paths': []}], 'body': 'TopUpDevice'},
 '2.3': {'variants': [{'select': {'Fuel': 'Electricity'}, 'paths': ['ElecDebtRecovery1', 'ElecDebtRecovery2']},
                      {'select': {'Fuel': 'Gas'}, 'paths': ['GasDebtRecovery1', 'GasDebtRecovery2']}],
         'body': 'UpdateDebt'},
 '2.5': {'variants': [{'select': {}, 'paths': []}], 'body': 'ActivateEmergencyCredit'},
 '3.1': {'variants': [{'select': {}, 'paths': []}], 'body': 'DisplayMessage'},
 '3.2': {'variants': [{'select': {}, 'paths': []}], 'body': 'RestrictAccessForChangeOfTenancy'},
 '3.3': {'variants': [{'select': {}, 'paths': ['ESMEEventLogType']}], 'body': 'ClearEventLog'},
 '3.4': {'variants': [{'select': {}, 'paths': []}], 'body': 'UpdateSupplierName'},
 '3.5': {'variants': [{'select': {}, 'paths': []}], 'body': 'DisablePrivacyPIN'},
 '4.1.1': {'variants': [{'select': {}, 'paths': []}], 'body': 'ReadInstantaneousImportRegisters'},
 '4.1.2': {'variants': [{'select': {}, 'paths': []}], 'body': 'ReadInstantaneousImportTOUMatrices'},
 '4.1.3': {'variants': [{'select': {}, 'paths': []}], 'body': 'ReadInstantaneousImportTOUWithBlocksMatrices'},
 '4.1.4': {'variants': [{'select': {}, 'paths': []}], 'body': 'ReadInstantaneousImportBlockCounters'},
 '4.2': {'variants': [{'select': {}, 'paths': []}], 'body': 'ReadInstantaneousExportRegisters'},
 '4.3': {'variants': [{'select': {}, 'paths': []}], 'body': 'ReadInstantaneousPrepayValues'},
 '4.4.2': {'variants': [{'select': {}, 'paths': []}], 'body': 'RetrieveCoMOrTariffTriggeredBillingDataLog'},
 '4.4.3': {'variants': [{'select': {}, 'paths': []}], 'body': 'RetrieveBillingCalendarTriggeredBillingDataLog'},
 '4.4.4': {'variants': [{'select': {}, 'paths': []}], 'body': 'RetrieveBillingDataLogDebtPayments'},
 '4.4.5': {'variants': [{'select': {}, 'paths': []}], 'body': 'RetrieveBillingDataLogPrepaymentCredits'},
 '4.6.1': {'variants': [{'select': {}, 'paths': []}], 'body': 'RetrieveImportDailyReadLog'},
 '4.6.2': {'variants': [{'select': {}, 'paths': []}], 'body': 'RetrieveExportDailyReadLog'},
 '4.8.1': {'variants': [{'select': {}, 'paths': []}], 'body': 'ReadActiveImportProfileData'},
 '4.8.2': {'variants': [{'select': {}, 'paths': []}], 'body': 'ReadReactiveImportProfileData'},
 '4.8.3': {'variants': [{'select': {}, 'paths': []}], 'body': 'ReadExportProfileData'},
 '4.10': {'variants': [{'select': {}, 'paths': []}], 'body': 'ReadNetworkData'},
 '4.11.1': {'variants': [{'select': {}, 'paths': []}], 'body': 'ReadTariffPrimaryElement'},
 '4.11.2': {'variants': [{'select': {}, 'paths': []}], 'body': 'ReadTariffSecondaryElement'},
 '4.12.1': {'variants': [{'select': {}, 'paths': []}], 'body': 'ReadMaximumDemandImportRegisters'},
 '4.12.2': {'variants': [{'select': {}, 'paths': []}], 'body': 'ReadMaximumDemandExportRegisters'},
 '4.13': {'variants': [{'select': {}, 'paths': []}], 'body': 'ReadPrepaymentConfiguration'},
 '4.14': {'variants': [{'select': {}, 'paths': []}], 'body': 'ReadPrepaymentDailyReadLog'},
 '4.15': {'variants': [{'select': {}, 'paths': []}], 'body': 'ReadLoadLimitData'},
 '4.16': {'variants': [{'select': {}, 'paths': []}], 'body': 'ReadActivePowerImport'},
 '4.17': {'variants': [{'select': {}, 'paths': []}], 'body': 'RetrieveDailyConsumptionLog'},
 '4.18': {'variants': [{'select': {}, 'paths': []}], 'body': 'ReadMeterBalance'},
 '5.1': {'variants': [{'select': {}, 'paths': ['DSPRetrieveImportDailyReadLog']}], 'body': 'CreateSchedule'},
 '5.2': {'variants': [{'select': {}, 'paths': ['DSPScheduleID']}], 'body': 'ReadSchedule'},
 '5.3': {'variants': [{'select': {}, 'paths': ['DSPScheduleID']}], 'body': 'DeleteSchedule'},
 '6.2.1': {'variants': [{'select': {}, 'paths': []}], 'body': 'ReadDeviceConfigurationVoltage'},
 '6.2.2': {'variants': [{'select': {}, 'paths': []}], 'body': 'ReadDeviceConfigurationRandomisation'},
 '6.2.3': {'variants': [{'select': {}, 'paths': []}], 'body': 'ReadDeviceConfigurationBillingCalendar'},
 '6.2.4': {'variants': [{'select': {}, 'paths': []}], 'body': 'ReadDeviceConfigurationIdentityExcMPxN'},
 '6.2.5': {'variants': [{'select': {}, 'paths': []}], 'body': 'ReadDeviceConfigurationInstantaneousPowerThresholds'},
 '6.2.7': {'variants': [{'select': {}, 'paths': []}], 'body': 'ReadDeviceConfigurationMPxN'},
 '6.2.8': {'variants': [{'select': {}, 'paths': []}], 'body': 'ReadDeviceConfigurationGas'},
 '6.2.9': {'variants': [{'select': {}, 'paths': []}], 'body': 'ReadDeviceConfigurationPaymentMode'},
 '6.2.10': {'variants': [{'select': {}, 'paths': []}], 'body': 'ReadDeviceConfigurationEventAndAlertBehaviours'},
 '6.4.1': {'variants': [{'select': {}, 'paths': []}], 'body': 'UpdateDeviceConfigurationLoadLimitingGeneralSettings'},
 '6.4.2': {'variants': [{'select': {}, 'paths': []}], 'body': 'UpdateDeviceConfigurationLoadLimitingCounterReset'},
 '6.5': {'variants': [{'select': {'VoltageSettings': 'SinglePhaseVoltageSettings'},
                       'paths': ['SinglePhaseVoltageSettings']},
                      {'select': {'VoltageSettings': 'PolyPhaseVoltageSettings'},
                       'paths': ['PolyPhaseVoltageSettings']}],
         'body': 'UpdateDeviceConfigurationVoltage'},
 '6.6': {'variants': [{'select': {}, 'paths': []}], 'body': 'UpdateDeviceConfigurationGasConversion'},
 '6.7': {'variants': [{'select': {}, 'paths': ['UncontrolledGasFlowRate']}],
         'body': 'UpdateDeviceConfigurationGasFlow'},
 '6.8': {'variants': [{'select': {'Fuel': 'Electricity', 'BillingPeriod': 'Monthly'},
                       'paths': ['ElectricityBillingCalendar', 'ElectricityBillingCalendar/Monthly']},
                      {'select': {'Fuel': 'Electricity', 'BillingPeriod': 'Quarterly'},
                       'paths': ['ElectricityBillingCalendar', 'ElectricityBillingCalendar/Quarterly']},
                      {'select': {'Fuel': 'Gas'}, 'paths': ['GasBillingCalendar']}],
         'body': 'UpdateDeviceConfigurationBillingCalendar'},
 '6.11': {'variants': [{'select': {}, 'paths': []}], 'body': 'SynchroniseClock'},
 '6.12': {'variants': [{'select': {}, 'paths': []}], 'body': 'UpdateDeviceConfigurationInstantaneousPowerThreshold'},
 '6.13': {'variants': [{'select': {}, 'paths': []}], 'body': 'ReadEventOrSecurityLog'},
 '6.14.1': {'variants': [{'select': {}, 'paths': ['ALCSHCALCSDescription']}],
            'body': 'UpdateDeviceConfigurationALCDescriptions'},
 '6.14.2': {'variants': [{'select': {},
                          'paths': ['ALCSHCALCSConnectionSchedule/ALCSScheduleDatesAndTime/EndDate/DayOfMonth/NonSpecifiedDayOfMonth',
                                    'ALCSHCALCSConnectionSchedule/ALCSScheduleDatesAndTime/EndDate/DayOfMonth/SpecifiedDayOfMonth',
                                    'ALCSHCALCSConnectionSchedule/ALCSScheduleDatesAndTime/EndDate/DayOfWeek/NonSpecifiedDayOfWeek',
                                    'ALCSHCALCSConnectionSchedule/ALCSScheduleDatesAndTime/EndDate/Month/NonSpecifiedMonth',
                                    'ALCSHCALCSConnectionSchedule/ALCSScheduleDatesAndTime/EndDate/Month/SpecifiedMonth',
                                    'ALCSHCALCSConnectionSchedule/ALCSScheduleDatesAndTime/EndDate/Year/NonSpecifiedYear',
                                    'ALCSHCALCSConnectionSchedule/ALCSScheduleDatesAndTime/StartDate/DayOfMonth/NonSpecifiedDayOfMonth',
                                    'ALCSHCALCSConnectionSchedule/ALCSScheduleDatesAndTime/StartDate/DayOfMonth/SpecifiedDayOfMonth',
                                    'ALCSHCALCSConnectionSchedule/ALCSScheduleDatesAndTime/StartDate/DayOfWeek/NonSpecifiedDayOfWeek',
                                    'ALCSHCALCSConnectionSchedule/ALCSScheduleDatesAndTime/StartDate/Month/NonSpecifiedMonth',
                                    'ALCSHCALCSConnectionSchedule/ALCSScheduleDatesAndTime/StartDate/Month/SpecifiedMonth',
                                    'ALCSHCALCSConnectionSchedule/ALCSScheduleDatesAndTime/StartDate/Year/NonSpecifiedYear',
                                    'ALCSHCALCSConnectionSchedule/ActivateDeactivateSwitch/ActivateSwitch',
                                    'ALCSHCALCSConnectionSchedule/ActivateDeactivateSwitch/DeactivateSwitch',
                                    'ALCSHCALCSConnectionSchedule/DaysOfWeekApplicability',
                                    'ALCSHCALCSConnectionSchedule/DaysOfWeekApplicability/DayOfWeekApplicability',
                                    'ALCSHCALCSConnectionSchedule/SpecialDaysApplicability',
                                    'ALCSHCALCSSpecialDays/ALCSHCALCSSpecialDay',
                                    'ALCSHCALCSSpecialDays/ALCSHCALCSSpecialDay/DayOfMonth/SpecifiedDayOfMonth',
                                    'ALCSHCALCSSpecialDays/ALCSHCALCSSpecialDay/DayOfWeek/NonSpecifiedDayOfWeek',
                                    'ALCSHCALCSSpecialDays/ALCSHCALCSSpecialDay/Month/SpecifiedMonth',
                                    'ALCSHCALCSSpecialDays/ALCSHCALCSSpecialDay/Year/NonSpecifiedYear',
                                    'ALCSHCALCSSpecialDays/ALCSHCALCSSpecialDay/Year/SpecifiedYear',
                                    'SwitchTypeAndId',
                                    'SwitchTypeAndId/ALCS',
                                    'SwitchTypeAndId/HCALCS']}],
            'body': 'UpdateDeviceConfigurationALCScheduler'},
 '6.14.3': {'variants': [{'select': {'SpecialDayYear': 'NonSpecifiedYear'},
                          'paths': ['AuxiliaryControllerSchedule',
                                    'AuxiliaryControllerSchedule/AuxiliaryControllerSchedulePeriodAndTime/EndDate/DayOfMonth/SpecifiedDayOfMonth',
                                    'AuxiliaryControllerSchedule/AuxiliaryControllerSchedulePeriodAndTime/EndDate/DayOfWeek/NonSpecifiedDayOfWeek',
                                    'AuxiliaryControllerSchedule/AuxiliaryControllerSchedulePeriodAndTime/EndDate/Month/SpecifiedMonth',
                                    'AuxiliaryControllerSchedule/AuxiliaryControllerSchedulePeriodAndTime/EndDate/Year/SpecifiedYear',
                                    'AuxiliaryControllerSchedule/AuxiliaryControllerSchedulePeriodAndTime/StartDate/DayOfMonth/SpecifiedDayOfMonth',
                                    'AuxiliaryControllerSchedule/AuxiliaryControllerSchedulePeriodAndTime/StartDate/DayOfWeek/NonSpecifiedDayOfWeek',
                                    'AuxiliaryControllerSchedule/AuxiliaryControllerSchedulePeriodAndTime/StartDate/Month/SpecifiedMonth',
                                    'AuxiliaryControllerSchedule/AuxiliaryControllerSchedulePeriodAndTime/StartDate/Year/SpecifiedYear',
                                    'AuxiliaryControllerSchedule/DaysOfWeekApplicability',
                                    'AuxiliaryControllerSchedule/DaysOfWeekApplicability/DayOfWeekApplicability',
                                    'AuxiliaryControllerSchedule/SpecialDaysApplicability',
                                    'AuxiliaryControllerSpecialDayDefinitions/AuxiliaryControllerSpecialDayDefinition',
                                    'AuxiliaryControllerSpecialDayDefinitions/AuxiliaryControllerSpecialDayDefinition/DayOfMonth/SpecifiedDayOfMonth',
                                    'AuxiliaryControllerSpecialDayDefinitions/AuxiliaryControllerSpecialDayDefinition/DayOfWeek/NonSpecifiedDayOfWeek',
                                    'AuxiliaryControllerSpecialDayDefinitions/AuxiliaryControllerSpecialDayDefinition/Month/SpecifiedMonth',
                                    'AuxiliaryControllerSpecialDayDefinitions/AuxiliaryControllerSpecialDayDefinition/Year/NonSpecifiedYear']},
                         {'select': {'SpecialDayYear': 'SpecifiedYear'},
                          'paths': ['AuxiliaryControllerSchedule',
                                    'AuxiliaryControllerSchedule/AuxiliaryControllerSchedulePeriodAndTime/EndDate/DayOfMonth/SpecifiedDayOfMonth',
                                    'AuxiliaryControllerSchedule/AuxiliaryControllerSchedulePeriodAndTime/EndDate/DayOfWeek/NonSpecifiedDayOfWeek',
                                    'AuxiliaryControllerSchedule/AuxiliaryControllerSchedulePeriodAndTime/EndDate/Month/SpecifiedMonth',
                                    'AuxiliaryControllerSchedule/AuxiliaryControllerSchedulePeriodAndTime/EndDate/Year/SpecifiedYear',
                                    'AuxiliaryControllerSchedule/AuxiliaryControllerSchedulePeriodAndTime/StartDate/DayOfMonth/SpecifiedDayOfMonth',
                                    'AuxiliaryControllerSchedule/AuxiliaryControllerSchedulePeriodAndTime/StartDate/DayOfWeek/NonSpecifiedDayOfWeek',
                                    'AuxiliaryControllerSchedule/AuxiliaryControllerSchedulePeriodAndTime/StartDate/Month/SpecifiedMonth',
                                    'AuxiliaryControllerSchedule/AuxiliaryControllerSchedulePeriodAndTime/StartDate/Year/SpecifiedYear',
                                    'AuxiliaryControllerSchedule/DaysOfWeekApplicability',
                                    'AuxiliaryControllerSchedule/DaysOfWeekApplicability/DayOfWeekApplicability',
                                    'AuxiliaryControllerSchedule/SpecialDaysApplicability',
                                    'AuxiliaryControllerSpecialDayDefinitions/AuxiliaryControllerSpecialDayDefinition',
                                    'AuxiliaryControllerSpecialDayDefinitions/AuxiliaryControllerSpecialDayDefinition/DayOfMonth/SpecifiedDayOfMonth',
                                    'AuxiliaryControllerSpecialDayDefinitions/AuxiliaryControllerSpecialDayDefinition/DayOfWeek/NonSpecifiedDayOfWeek',
                                    'AuxiliaryControllerSpecialDayDefinitions/AuxiliaryControllerSpecialDayDefinition/Month/SpecifiedMonth',
                                    'AuxiliaryControllerSpecialDayDefinitions/AuxiliaryControllerSpecialDayDefinition/Year/NonSpecifiedYear',
                                    'AuxiliaryControllerSpecialDayDefinitions/AuxiliaryControllerSpecialDayDefinition/Year/SpecifiedYear']}],
            'body': 'UpdateDeviceConfigurationAuxiliaryControllerScheduler'},
 '6.15.1': {'variants': [{'select': {},
                          'paths': ['RemotePartyFloorSeqNumber',
                                    'RemotePartyPrepaymentTopUpFloorSeqNumber',
                                    'ReplacementCertificates/SupplierOrNetworkOperatorCertificates',
                                    'ReplacementCertificates/SupplierOrNetworkOperatorCertificates/DigitalSigningCertificate',
                                    'ReplacementCertificates/SupplierOrNetworkOperatorCertificates/KeyAgreementCertificate',
                                    'ReplacementCertificates/SupplierOrNetworkOperatorCertificates/KeyAgreementTopUpCertificate']}],
            'body': 'UpdateSecurityCredentialsKRP'},
 '6.15.2': {'variants': [{'select': {}, 'paths': []}], 'body': 'UpdateSecurityCredentialsDevice'},
 '6.17': {'variants': [{'select': {}, 'paths': []}], 'body': 'IssueSecurityCredentials'},
 '6.18.1': {'variants': [{'select': {}, 'paths': []}], 'body': 'SetMaximumDemandConfigurableTimePeriod'},
 '6.18.2': {'variants': [{'select': {},
                          'paths': ['MaxDemandActivePowerExportValue',
                                    'MaxDemandActivePowerImportValue',
                                    'MaxDemandConfigTimeActivePowerImportValue']}],
            'body': 'ResetMaximumDemandRegisters'},
 '6.20.1': {'variants': [{'select': {'Fuel': 'Electricity'}, 'paths': ['ImportMPANs']},
                         {'select': {'Fuel': 'Gas'}, 'paths': ['ImportMPRN']}],
            'body': 'SetDeviceConfigurationImportMPxN'},
 '6.20.2': {'variants': [{'select': {}, 'paths': []}], 'body': 'SetDeviceConfigurationExportMPAN'},
 '6.21': {'variants': [{'select': {},
                        'paths': ['RemotePartyFloorSeqNumber',
                                  'RemotePartyPrepaymentTopUpFloorSeqNumber',
                                  'ReplacementCertificates/KeyAgreementCertificate',
                                  'ReplacementCertificates/KeyAgreementTopUpCertificate']}],
          'body': 'RequestHandoverOfDCCControlledDevice'},
 '6.22': {'variants': [{'select': {'AlertSettings': 'ElectricitySupplierHANAlertSettings'},
                        'paths': ['ElectricitySupplierHANAlertSettings',
                                  'ElectricitySupplierHANAlertSettings/SupplierESMECommon',
                                  'ElectricitySupplierHANAlertSettings/SupplierESMECommon/x810D',
                                  'ElectricitySupplierHANAlertSettings/SupplierESMECommon/x8119',
                                  'ElectricitySupplierHANAlertSettings/SupplierESMECommon/x8168']},
                       {'select': {'AlertSettings': 'ElectricitySupplierAlarmSettings'},
                        'paths': ['ElectricitySupplierAlarmSettings',
                                  'ElectricitySupplierAlarmSettings/SupplierESMECommon',
                                  'ElectricitySupplierAlarmSettings/SupplierESMECommon/x8154',
                                  'ElectricitySupplierAlarmSettings/SupplierESMECommon/x8155',
                                  'ElectricitySupplierAlarmSettings/SupplierESMECommon/x8161',
                                  'ElectricitySupplierAlarmSettings/SupplierESMECommon/x8162']},
                       {'select': {'AlertSettings': 'ElectricitySupplierLoggingSettings'},
                        'paths': ['ElectricitySupplierLoggingSettings',
                                  'ElectricitySupplierLoggingSettings/SupplierESMECommon',
                                  'ElectricitySupplierLoggingSettings/SupplierESMECommon/x8145',
                                  'ElectricitySupplierLoggingSettings/SupplierESMECommon/x8154',
                                  'ElectricitySupplierLoggingSettings/SupplierESMECommon/x8155',
                                  'ElectricitySupplierLoggingSettings/SupplierESMECommon/x8161',
                                  'ElectricitySupplierLoggingSettings/SupplierESMECommon/x8162',
                                  'ElectricitySupplierLoggingSettings/SupplierESMECommon/x81C6']},
                       {'select': {'AlertSettings': 'ElectricitySupplierAlerts'},
                        'paths': ['ElectricitySupplierAlerts',
                                  'ElectricitySupplierAlerts/SupplierESMECommon',
                                  'ElectricitySupplierAlerts/SupplierESMECommon/x810D',
                                  'ElectricitySupplierAlerts/SupplierESMECommon/x810E',
                                  'ElectricitySupplierAlerts/SupplierESMEPolyPhase',
                                  'ElectricitySupplierAlerts/SupplierESMEPolyPhase/x81B7']},
                       {'select': {'AlertSettings': 'ElectricityNetworkOperatorLoggingSettings'},
                        'paths': ['ElectricityNetworkOperatorLoggingSettings',
                                  'ElectricityNetworkOperatorLoggingSettings/NetworkOperatorESMECommon',
                                  'ElectricityNetworkOperatorLoggingSettings/NetworkOperatorESMECommon/x8014',
                                  'ElectricityNetworkOperatorLoggingSettings/NetworkOperatorESMECommon/x8015']},
                       {'select': {'AlertSettings': 'ElectricityNetworkOperatorAlerts'},
                        'paths': ['ElectricityNetworkOperatorAlerts',
                                  'ElectricityNetworkOperatorAlerts/NetworkOperatorESMECommon',
                                  'ElectricityNetworkOperatorAlerts/NetworkOperatorESMECommon/x8014',
                                  'ElectricityNetworkOperatorAlerts/NetworkOperatorESMECommon/x8015',
                                  'ElectricityNetworkOperatorAlerts/NetworkOperatorESMEPolyPhase',
                                  'ElectricityNetworkOperatorAlerts/NetworkOperatorESMEPolyPhase/x8003']},
                       {'select': {'AlertSettings': 'GasSupplierAlertEventSettings'},
                        'paths': ['GasSupplierAlertEventSettings',
                                  'GasSupplierAlertEventSettings/x810E',
                                  'GasSupplierAlertEventSettings/x8161',
                                  'GasSupplierAlertEventSettings/x8162',
                                  'GasSupplierAlertEventSettings/x81AA',
                                  'GasSupplierAlertEventSettings/x81AB',
                                  'GasSupplierAlertEventSettings/x81BD',
                                  'GasSupplierAlertEventSettings/x81BE',
                                  'GasSupplierAlertEventSettings/x81BF',
                                  'GasSupplierAlertEventSettings/x81C0',
                                  'GasSupplierAlertEventSettings/x81C4',
                                  'GasSupplierAlertEventSettings/x81C6']}],
          'body': 'ConfigureAlertBehaviour'},
 '6.23': {'variants': [{'select': {},
                        'paths': ['SupplierPrepaymentTopUpFloorSeqNumber',
                                  'SupplierReplacementCertificates/KeyAgreementCertificate',
                                  'SupplierReplacementCertificates/KeyAgreementTopUpCertificate']}],
          'body': 'UpdateSecurityCredentialsCoS'},
 '6.24.1': {'variants': [{'select': {}, 'paths': []}], 'body': 'RetrieveDeviceSecurityCredentialsKRP'},
 '6.24.2': {'variants': [{'select': {}, 'paths': []}], 'body': 'RetrieveDeviceSecurityCredentialsDevice'},
 '6.25': {'variants': [{'select': {}, 'paths': []}], 'body': 'SetElectricitySupplyTamperState'},
 '6.26': {'variants': [{'select': {}, 'paths': []}],
          'body': 'UpdateDeviceConfigurationDailyResettingOfTariffBlockCounterMatrix'},
 '6.27': {'variants': [{'select': {}, 'paths': []}], 'body': 'UpdateDeviceConfigurationRMSVoltageCounterReset'},
 '6.28': {'variants': [{'select': {},
                        'paths': ['LowerBandSubGHzChannels0To26/Channel1',
                                  'LowerBandSubGHzChannels0To26/Channel2',
                                  'LowerBandSubGHzChannels27To34/Channel28',
                                  'LowerBandSubGHzChannels27To34/Channel29',
                                  'LowerBandSubGHzChannels35To61/Channel36',
                                  'LowerBandSubGHzChannels35To61/Channel37',
                                  'UpperBandSubGHzChannels0To26/Channel1',
                                  'UpperBandSubGHzChannels0To26/Channel2']}],
          'body': 'SetCHFSubGHzConfiguration'},
 '6.29': {'variants': [{'select': {}, 'paths': []}], 'body': 'RequestCHFSubGHzChannelScan'},
 '6.30': {'variants': [{'select': {}, 'paths': []}], 'body': 'ReadCHFSubGHzConfiguration'},
 '6.31': {'variants': [{'select': {}, 'paths': []}], 'body': 'ReadCHFSubGHzChannel'},
 '6.32': {'variants': [{'select': {}, 'paths': []}], 'body': 'ReadCHFSubGHzChannelLog'},
 '7.1': {'variants': [{'select': {}, 'paths': []}], 'body': 'EnableSupply'},
 '7.2': {'variants': [{'select': {}, 'paths': []}], 'body': 'DisableSupply'},
 '7.3': {'variants': [{'select': {}, 'paths': []}], 'body': 'ArmSupply'},
 '7.4': {'variants': [{'select': {}, 'paths': []}], 'body': 'ReadSupplyStatus'},
 '7.5': {'variants': [{'select': {}, 'paths': []}], 'body': 'ActivateAuxiliaryLoad'},
 '7.6': {'variants': [{'select': {}, 'paths': []}], 'body': 'DeactivateAuxiliaryLoad'},
 '7.7': {'variants': [{'select': {}, 'paths': []}], 'body': 'ReadALCSData'},
 '7.8': {'variants': [{'select': {}, 'paths': []}], 'body': 'ResetAuxiliaryLoad'},
 '7.9': {'variants': [{'select': {}, 'paths': []}], 'body': 'AddAuxiliaryLoadToBoostButton'},
 '7.10': {'variants': [{'select': {}, 'paths': []}], 'body': 'RemoveAuxiliaryLoadFromBoostButton'},
 '7.11': {'variants': [{'select': {}, 'paths': []}], 'body': 'ReadBoostButtonDetails'},
 '7.12': {'variants': [{'select': {}, 'paths': []}], 'body': 'SetRandomisedOffsetLimit'},
 '7.13': {'variants': [{'select': {}, 'paths': []}], 'body': 'SetAuxiliaryControllerState'},
 '7.14': {'variants': [{'select': {}, 'paths': []}], 'body': 'ReadAuxiliaryControllerConfigurationData'},
 '7.15': {'variants': [{'select': {}, 'paths': []}], 'body': 'ReadAuxiliaryControllerOperationalData'},
 '7.16': {'variants': [{'select': {}, 'paths': []}], 'body': 'LimitAPCLevel'},
 '8.1.1': {'variants': [{'select': {}, 'paths': []}], 'body': 'CommissionDeviceSynchroniseClock'},
 '8.2': {'variants': [{'select': {}, 'paths': ['DeviceID']}], 'body': 'ReadInventory'},
 '8.3': {'variants': [{'select': {}, 'paths': []}], 'body': 'DecommissionDevice'},
 '8.4': {'variants': [{'select': {}, 'paths': ['DeleteDevice']}], 'body': 'UpdateInventory'},
 '8.5': {'variants': [{'select': {}, 'paths': []}], 'body': 'ServiceOptOut'},
 '8.6': {'variants': [{'select': {}, 'paths': ['MPxNs/ExportMPAN', 'MPxNs/SecondaryImportMPAN']}],
         'body': 'ServiceOptIn'},
 '8.7.1': {'variants': [{'select': {}, 'paths': []}], 'body': 'JoinServiceCritical'},
 '8.7.2': {'variants': [{'select': {}, 'paths': []}], 'body': 'JoinServiceNonCritical'},
 '8.8.1': {'variants': [{'select': {}, 'paths': []}], 'body': 'UnjoinServiceCritical'},
 '8.8.2': {'variants': [{'select': {}, 'paths': []}], 'body': 'UnjoinServiceNonCritical'},
 '8.9': {'variants': [{'select': {}, 'paths': []}], 'body': 'ReadDeviceLog'},
 '8.11': {'variants': [{'select': {'RequestType': 'Add'},
                        'paths': ['AddDeviceToCHFWhitelist',
                                  'AddDeviceToCHFWhitelist/ImportMPxN',
                                  'AddDeviceToCHFWhitelist/SecondaryImportMPAN']},
                       {'select': {'RequestType': 'Remove'}, 'paths': []}],
          'body': 'UpdateHANDeviceLog'},
 '8.12.1': {'variants': [{'select': {}, 'paths': []}], 'body': 'RestoreHANDeviceLog'},
 '8.12.2': {'variants': [{'select': {}, 'paths': []}], 'body': 'RestoreGPFDeviceLog'},
 '8.13': {'variants': [{'select': {}, 'paths': ['OriginalRequestID']}], 'body': 'ReturnLocalCommandResponse'},
 '8.14.1': {'variants': [{'select': {}, 'paths': []}], 'body': 'CHFInstallSuccessSMWAN'},
 '8.14.2': {'variants': [{'select': {}, 'paths': []}], 'body': 'CHFInstallSuccessNoSMWAN'},
 '8.14.3': {'variants': [{'select': {}, 'paths': []}], 'body': 'CHFFaultReturn'},
 '8.14.4': {'variants': [{'select': {}, 'paths': []}], 'body': 'CHFNoFaultReturn'},
 '9.1': {'variants': [{'select': {}, 'paths': []}], 'body': 'RequestCustomerIdentificationNumber'},
 '11.1': {'variants': [{'select': {}, 'paths': []}], 'body': 'UpdateFirmware'},
 '11.2': {'variants': [{'select': {}, 'paths': []}], 'body': 'ReadFirmwareVersion'},
 '11.3': {'variants': [{'select': {}, 'paths': []}], 'body': 'ActivateFirmware'},
 '11.4': {'variants': [{'select': {}, 'paths': []}], 'body': 'UpdatePPMIDFirmware'},
 '12.1': {'variants': [{'select': {}, 'paths': ['PartialAddress']}], 'body': 'RequestWANMatrix'},
 '12.2': {'variants': [{'select': {}, 'paths': ['ESMEVariant', 'FirmwareVersion', 'SMETSCHTSVersion']}],
          'body': 'DevicePrenotification'},
 '14.1': {'variants': [{'select': {}, 'paths': []}], 'body': 'RecordNetworkDataGAS'}}
# --- END DERIVED SHAPES


# -------------------------------------------------------------------------------------------- generation
def jstr(value: str) -> str:
    """A jinja string literal."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


@dataclass
class Leaf:
    name: str
    path: str
    default: str
    optional: bool
    flag: bool
    vset: frozenset  # variants in which the parent is present
    on: frozenset  # variants in which the leaf is emitted by default


class Generator:
    def __init__(self, model: XsdModel, srv: str, spec: dict):
        self.model = model
        self.srv = srv
        self.spec = spec
        self.variants = spec["variants"]
        self.all = frozenset(range(len(self.variants)))
        self.decisions = [set(v["paths"]) for v in self.variants]
        self.selectors: dict[str, list[str]] = {}
        for v in self.variants:
            for k, val in v["select"].items():
                self.selectors.setdefault(k, [])
                if val not in self.selectors[k]:
                    self.selectors[k].append(val)
        self.body = model.body(spec["body"])
        self.leaves: list[Leaf] = []
        self.uses_execution = False

    # -- conditions over variants
    def cond(self, inside: frozenset, parent: frozenset) -> str | None:
        if inside == parent:
            return None
        if not inside:
            return "false"
        for key in self.selectors:
            if all(key in self.variants[i]["select"] for i in parent):
                values = {self.variants[i]["select"][key] for i in inside}
                if {i for i in parent if self.variants[i]["select"][key] in values} == set(inside):
                    if len(values) == 1:
                        return f"sel_{key} == {jstr(next(iter(values)))}"
                    return f"sel_{key} in ({', '.join(jstr(v) for v in sorted(values))})"
        terms = []
        for i in sorted(inside):
            sel = self.variants[i]["select"]
            terms.append("(" + " and ".join(f"sel_{k} == {jstr(v)}" for k, v in sel.items()) + ")")
        return " or ".join(terms)

    # -- first pass: collect leaves (to know which names are unique parameters)
    def default_for(self, elem: Elem) -> str:
        name = elem.name
        if name == "DeviceID" and self.srv in DEVICE_ID_BY_SRV:
            return DEVICE_ID_BY_SRV[self.srv]
        if name == "DeviceIDList" and self.srv in DEVICE_LIST_BY_SRV:
            return DEVICE_LIST_BY_SRV[self.srv]
        if name in self.selectors and elem.simple and self.variants[0]["select"].get(name):
            return self.variants[0]["select"][name]
        if name in DEFAULTS_BY_NAME:
            value = DEFAULTS_BY_NAME[name]
            schema_ok = not elem.simple.enums or value in elem.simple.enums
            if schema_ok:
                return value
        return simple_default(elem.simple, name)

    def generate(self) -> str:
        self.lines: list[str] = []
        self.param_names: dict[str, list[Leaf]] = {}
        self._collect(self.body.content, self.spec["body"], self.all, collect=True)
        self.params = self._param_names()
        self.lines = []
        head = ["{% extends \"_request.xml.j2\" %}", "{% block body %}"]
        for key, values in self.selectors.items():
            head.append(f"{{%- set sel_{key} = p.{key} | default({jstr(self.variants[0]['select'][key])}) %}}")
            if key not in self.params:  # a pure selector: reject values we have no shape for
                allowed = ", ".join(jstr(v) for v in values)
                head.append(f"{{%- if sel_{key} not in ({allowed}) %}}{{{{ fail({jstr(f'{key} must be one of ' + ', '.join(values))}) }}}}{{% endif %}}")
        self.lines.append(f"<sr:{self.spec['body']}{self._attrs(self.body, 0)}>")
        self._emit_content(self.body.content, self.spec["body"], self.all, 1)
        self.lines.append(f"</sr:{self.spec['body']}>")
        if self.body.content is None:
            self.lines = [f"<sr:{self.spec['body']}{self._attrs(self.body, 0)}/>"]
        return "\n".join(head + self.lines + ["{% endblock %}", ""])

    def _param_names(self) -> set[str]:
        names = set()
        for name, leaves in self.param_names.items():
            defaults = {leaf.default for leaf in leaves}
            if len(defaults) > 1:
                continue
            # never two at once in one variant
            ok = True
            for v in self.all:
                if sum(1 for leaf in leaves if v in leaf.vset) > 1:
                    ok = False
            if ok:
                names.add(name)
        return names

    # walk helpers shared by both passes
    def _collect(self, part, prefix, vset, collect):
        if part is None:
            return
        self._walk(part, prefix, vset, False, 0, collect, 0)

    def _emit_content(self, part, prefix, vset, depth):
        if part is None:
            return
        self._walk(part, prefix, vset, False, depth, False, 0)

    @staticmethod
    def _rel(prefix: str, name: str) -> str:
        rel_prefix = prefix.split("/", 1)[1] if "/" in prefix else ""
        return f"{rel_prefix}/{name}" if rel_prefix else name

    def _selected(self, part: Particle, prefix: str, v: int) -> list[int]:
        """Indexes of the branches of a choice that variant v uses (RTDS shapes may use several, repeated)."""
        chosen = []
        for index, item in enumerate(part.items):
            if any(self._rel(prefix, n) in self.decisions[v] for n in self._top_names(item)):
                chosen.append(index)
        if not chosen and part.min > 0:
            chosen = [0]  # a required choice nobody recorded: our default is the first branch
        return chosen

    def _choice_branches(self, part: Particle, prefix: str, vset: frozenset, inst: int):
        result = [set() for _ in part.items]
        for v in vset:
            chosen = self._selected(part, prefix, v)
            if chosen:
                result[chosen[min(inst, len(chosen) - 1)]].add(v)
        return [(item, frozenset(s)) for item, s in zip(part.items, result)]

    def _top_names(self, part: Particle) -> list[str]:
        if part.kind == "elem":
            return [part.elem.name]
        return [n for item in part.items for n in self._top_names(item)]

    @staticmethod
    def _repeatable(elem: Elem) -> bool:
        return elem.max is None or elem.max > 1

    def _needed(self, part, prefix: str, v: int) -> int:
        """How many instances of the enclosing repeatable element variant v needs to show every chosen branch."""
        if part is None:
            return 1
        if part.kind == "elem":
            elem = part.elem
            if self._repeatable(elem) or elem.content is None:
                return 1
            rel = self._rel(prefix, elem.name)
            if part.min == 0 and rel not in self.decisions[v]:
                return 1
            return self._needed(elem.content, f"{prefix}/{elem.name}", v)
        if part.kind == "seq":
            return max([self._needed(i, prefix, v) for i in part.items] or [1])
        chosen = self._selected(part, prefix, v)
        inner = [self._needed(part.items[i], prefix, v) for i in chosen]
        return max([len(chosen)] + inner + [1])

    def _walk(self, part: Particle, prefix: str, vset: frozenset, optional: bool, depth: int, collect: bool, inst: int):
        if part.kind == "elem":
            self._elem(part.elem, prefix, vset, optional or part.min == 0, depth, collect, part.min, inst)
            return
        reps = max(part.min, 1)
        for r in range(reps):
            here = inst if reps == 1 else r
            if part.kind == "seq":
                for item in part.items:
                    self._walk(item, prefix, vset, optional or part.min == 0, depth, collect, here)
                continue
            branches = self._choice_branches(part, prefix, vset, here)
            if self._leaf_alternatives(part, prefix, vset, branches, depth, collect, here):
                continue
            for item, chosen in branches:
                if not chosen:
                    continue
                c = self.cond(chosen, vset)
                if c and not collect:
                    self.lines.append("  " * depth + f"{{% if {c} %}}")
                self._walk(item, prefix, chosen, False, depth, collect, here)
                if c and not collect:
                    self.lines.append("  " * depth + "{% endif %}")

    def _leaf_alternatives(self, part, prefix, vset, branches, depth, collect, inst) -> bool:
        """A choice every variant answers with the same branch: other single-leaf branches are chosen by
        giving their parameter (e.g. 6.7 UncontrolledGasFlowRateDecimal instead of UncontrolledGasFlowRate)."""
        used = [item for item, chosen in branches if chosen]
        if len(used) != 1 or next(c for _, c in branches if c) != vset:
            return False
        default = used[0]
        alternatives = [item for item, _ in branches if item is not default and item.kind == "elem"
                        and item.elem.content is None and not item.elem.is_empty and item.max == 1]
        if not alternatives:
            return False
        if collect:
            for item in alternatives:
                leaf = Leaf(item.elem.name, self._rel(prefix, item.elem.name), "", True, False, vset, frozenset())
                self.param_names.setdefault(item.elem.name, []).append(leaf)
                if inst > 0:
                    self.param_names[item.elem.name].append(leaf)
            self._walk(default, prefix, vset, False, depth, collect, inst)
            return True
        alternatives = [item for item in alternatives if item.elem.name in self.params]
        if not alternatives:
            return False
        pad = "  " * depth
        keyword = "if"
        for item in alternatives:
            name = item.elem.name
            self.lines.append(pad + f"{{% {keyword} p.{name} is defined and p.{name} | given %}}")
            self.lines.append(pad + f"<sr:{name}{self._attrs(item.elem, inst)}>{{{{ p.{name} }}}}</sr:{name}>")
            keyword = "elif"
        self.lines.append(pad + "{% else %}")
        self._walk(default, prefix, vset, False, depth, collect, inst)
        self.lines.append(pad + "{% endif %}")
        return True

    def _elem(self, elem: Elem, prefix: str, vset: frozenset, optional: bool, depth: int, collect: bool,
              min_occurs: int, inst: int):
        path = f"{prefix}/{elem.name}"
        rel = path.split("/", 1)[1]
        if elem.name == "ExecutionDateTime" and prefix == self.spec["body"]:
            if not collect:
                self.uses_execution = True
                pad = "  " * depth
                if optional:
                    self.lines.append(pad + "{% if execution_datetime %}")
                    self.lines.append(pad + "<sr:ExecutionDateTime>{{ execution_datetime }}</sr:ExecutionDateTime>")
                    self.lines.append(pad + "{% endif %}")
                else:
                    self.lines.append(pad + "<sr:ExecutionDateTime>{{ execution_datetime or "
                                      + jstr(DEFAULTS_BY_NAME["ExecutionDateTime"]) + " }}</sr:ExecutionDateTime>")
            return
        leafish = elem.content is None
        if optional and not leafish:
            inside = frozenset(v for v in vset if rel in self.decisions[v])
        else:
            inside = vset  # required, or an optional leaf controlled by its parameter
        if not inside:
            return
        pad = "  " * depth
        repeatable = self._repeatable(elem)
        if leafish:
            count = max(min_occurs, 1)
            flag = elem.is_empty
            on = frozenset(v for v in vset if (not optional) or rel in self.decisions[v])
            default = "" if flag else self.default_for(elem)
            leaf = Leaf(elem.name, rel, default, optional, flag, vset, on)
            if collect:
                self.param_names.setdefault(elem.name, []).extend([leaf] * (count if count > 1 or not repeatable else 1))
                if inst > 0:  # a leaf inside a repeated particle occurs more than once
                    self.param_names[elem.name].append(leaf)
                return
            self._emit_leaf(elem, leaf, pad, count, inst)
            return
        counts = {v: max(min_occurs, 1, self._needed(elem.content, path, v) if repeatable else 1) for v in inside}
        total = max(counts.values())
        c = self.cond(inside, vset)
        if c and not collect:
            self.lines.append(pad + f"{{% if {c} %}}")
        for i in range(total):
            present = frozenset(v for v in inside if counts[v] > i)
            ci = self.cond(present, inside)
            if ci and not collect:
                self.lines.append(pad + f"{{% if {ci} %}}")
            index = i if repeatable else inst
            if not collect:
                self.lines.append(pad + f"<sr:{elem.name}{self._attrs(elem, index)}>")
            self._walk(elem.content, path, present, False, depth + (0 if collect else 1), collect,
                       i if repeatable else inst)
            if not collect:
                self.lines.append(pad + f"</sr:{elem.name}>")
            if ci and not collect:
                self.lines.append(pad + "{% endif %}")
        if c and not collect:
            self.lines.append(pad + "{% endif %}")

    def _attrs(self, elem: Elem, index: int) -> str:
        parts = []
        for name, simple in elem.attrs:
            if name in ("index", "identifier", "auxiliaryControllerN"):
                high = int(simple.facets.get("maxInclusive", 1))
                parts.append(f' {name}="{index + 1 if index + 1 <= high else 1}"')
            else:
                parts.append(f' {name}="{simple_default(simple, name)}"')
        return "".join(parts)

    def _if(self, pad: str, test: str, tag: str) -> None:
        self.lines.extend([pad + f"{{% if {test} %}}", pad + tag, pad + "{% endif %}"])

    def _emit_leaf(self, elem: Elem, leaf: Leaf, pad: str, count: int, inst: int):
        name = elem.name
        is_param = name in self.params
        default_on = self.cond(leaf.on, leaf.vset)  # None: always, 'false': never
        if leaf.flag:
            tag = f"<sr:{name}{self._attrs(elem, inst)}/>"
            if not leaf.optional:
                self.lines.append(pad + tag)
                return
            if is_param:
                base = "true" if default_on is None else ("false" if default_on == "false" else f"({default_on})")
                self._if(pad, f"p.{name} | default({base}) | flag", tag)
            elif default_on != "false":
                if default_on:
                    self._if(pad, default_on, tag)
                else:
                    self.lines.append(pad + tag)
            return
        if is_param and leaf.optional and default_on == "false":
            value = f"{{{{ p.{name} }}}}"  # emitted only when given: no default to report
        elif is_param:
            value = f"{{{{ p.{name} | default({jstr(leaf.default)}) }}}}"
        else:
            value = leaf.default
        for i in range(count):
            tag = f"<sr:{name}{self._attrs(elem, i if count > 1 else inst)}>{value}</sr:{name}>"
            if not leaf.optional:
                self.lines.append(pad + tag)
            elif is_param:
                if default_on is None:
                    test = f"p.{name} is not defined or p.{name} | given"
                elif default_on == "false":
                    test = f"p.{name} is defined and p.{name} | given"
                else:
                    test = f"(p.{name} is defined and p.{name} | given) or (p.{name} is not defined and ({default_on}))"
                self._if(pad, test, tag)
            elif default_on != "false":
                if default_on:
                    self._if(pad, default_on, tag)
                else:
                    self.lines.append(pad + tag)


def generate(force: list[str], only: list[str]) -> None:
    schema = load_schema()
    model = XsdModel(schema.compiled_path)
    out_dir = ROOT / "templates"
    out_dir.mkdir(exist_ok=True)
    written = 0
    for srv, spec in SHAPES.items():
        if only and srv not in only:
            continue
        target = out_dir / f"{srv}.xml.j2"
        if srv in HAND_TUNED and srv not in force and target.exists():
            continue
        text = Generator(model, srv, spec).generate()
        header = (f"{{#- SRV {srv}: generated by tools/scaffold_templates.py from the DUIS XSD; values are duisconf's own. -#}}\n")
        target.write_text(header + text)
        written += 1
    print(f"wrote {written} templates to {out_dir}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("derive", help="refresh SHAPES from the element paths of the RTDS templates")
    gen = sub.add_parser("generate", help="write templates/<SRV>.xml.j2")
    gen.add_argument("srvs", nargs="*", help="only these SRVs")
    gen.add_argument("--force", action="store_true", help="also overwrite HAND_TUNED templates named")
    args = parser.parse_args(argv)
    if args.command == "derive":
        derive()
    else:
        generate(args.srvs if args.force else [], args.srvs)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
