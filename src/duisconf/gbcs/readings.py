"""Readings: the named values a device reports in a GBCS response, read out of the decoded content.

A step asks "what meter balance did the meter report?" without knowing DLMS or ZigBee::

    values = read("ECS82", "response", content_tree)       # content_tree: dlms.decode / gbz.decode output
    values["meter_balance"]                                 # -> 250000
    readings_of(message)                                    # the same from a decoded GBCS message

Where each use case carries each reading is data (``data/readings.toml``): for ESME (DLMS) the position
in the access response's data list plus the COSEM class / OBIS / attribute found there (a DLMS response
carries no attribute descriptors, so the use case fixes the order; when the request specs are known —
echoed, or passed as ``request`` — the descriptor is checked); for GSME (GBZ) the ZCL cluster and
attribute, found by id. This module holds only the generic extraction and a few conversions:

==============  ====================================================================================
convert         value
==============  ====================================================================================
number          the element's number (or bool) as reported: amounts in the device's currency units
register        ``{"value", "raw", "scaler", "unit"}``: DLMS raw x 10^scaler with the scaler_unit's
                unit; ZCL raw x Multiplier / Divisor with UnitOfMeasure (scaler then None)
payment_mode    "Credit" | "Prepayment" (DLMS Account payment_mode 1 / 2; ZCL
                PaymentControlConfiguration bit 1 "prepayment enabled")
supply          "Enabled" | "Disabled" | "Armed" (DLMS disconnect control_state 1 / 0 / 2; ZCL
                SupplyStatus 2 ON / 0 OFF / 1 ARMED)
hex             octet string as lowercase hex (firmware versions are octet strings)
text            octet / visible / character string as text (Latin-1, trailing spaces kept)
date_time       ISO-8601 text of a DLMS date-time / ZCL UTCTime
device_log      EUIs of a CHF device log, ``"00-DB-12-34-56-78-90-A0"``
join_details    ``{EUI: DeviceType}`` of a CS07 device log (ASN.1 entries carry the device type)
plain           the element as plain JSON (structures/arrays as lists, dates/times as text)
==============  ====================================================================================

Errors (all :class:`~duisconf.errors.InvalidInput`): :class:`NotReported` when the use case does not carry
the reading, or this response does not (an error result / ZCL status, an encrypted part not decrypted),
naming the use case and the reading; a data file entry whose descriptor disagrees with the request specs
names both.

Keys the emulator's effects keep that no device response carries, so they are not readings here (the
steps check them the way a real device shows them, see steps/device_reads.py):

=============================  ====================================================================
key                            where the truth is instead
=============================  ====================================================================
read_at                        the GBCS grouping header date-time: ``readings_of`` adds ``read_at``
                               and ``read_at_clock_status`` (its COSEM clock status byte) when the
                               message has one; not in the content. In the RTDS, GSME reads
                               (GCS13a, GCS14, GCS60a) tagged RELIABLE_GPF carry status 0x00,
                               RELIABLE_GSME 0x04 (different clock base), UNRELIABLE 0x02 (doubtful)
answered_by, meter, set_by,    emulator bookkeeping: which emulated device answered, who sent the
request_id                     request — the DUIS header / GBCS originator of the message say it
                               (for GSME reads see ``read_at_clock_status`` above)
clock_adjusted, commissioned   the set-clock outcome: ECS70's access response results and the
                               Clock status it returns (index 4); GCS28's ``clock_status``
                               (deviceTimeStatus) beside ``clock``; alerts 8145 / 81C6 / 8F0C
accepted, rejected_with        a GSME says it in ``topup_result`` (CS01b, ZSE ResultType: 0 accepted);
                               an ESME (CS01a) answers only an action result; the refusal's alert
                               code (8F63 / 8F64 / 8F51 …) is a device alert, not the response
activated                      ``firmware_activation`` (CS06 / FDFAA activateImageResponseCode, 0 =
                               success); a future-dated CS06 answers only ``commandAccepted``
cancelled, key_ignored         a cancellation / CCS01 re-add answers with action / set results only
previous_version               alert 8F43's payload (not a response); before activation, 11.2
clock_offset_s                 emulator drift; compare ``clock`` (ECS70 / GCS28) with the request time
payment_mode / debt /          after a write (1.6, 2.3, 2.1, 1.5): not in the response; read back
prepay_configuration /         with 6.2.9 (ECS26j/GCS21j), 4.3 (ECS19/GCS14), 4.13 (ECS26a/GCS21b),
meter_balance after writes     4.18 (ECS82/GCS60); after a GSME top-up CS01b reports it
emergency_credit.active        no RTDS read carries it (ECS26j reports account status, not EC)
topup_floor, supplier,         set by 6.23 / 6.15.1 (CS02b) and 3.4 (ECS16 / GCS44) whose responses
supplier_name                  carry only results; no RTDS read reports the supplier's name or its
                               top-up floor; the supplier's identity is the DUIS / GBCS originator
tariff.set_by, prices.*.set_by the DUIS header of the request that set them (``request_id`` likewise)
alert_settings                 not mapped: ECS25r1 / ECS25r2 masks need GBCS's alert bit-position
                               table; GCS20r reports event id -> configuration bitmap
aux_schedule                   not mapped: 6.14.3 only writes; 7.14 ECS61d reads the Schedule mapped
                               as ``alc_schedule``
=============================  ====================================================================
"""

from __future__ import annotations

import functools
import tomllib
from collections.abc import Mapping
from datetime import datetime, timezone
from decimal import Decimal
from importlib import resources
from typing import Any

from ..errors import InvalidInput
from .axdr import obis_text
from .frame import parse_cosem_datetime

PAYMENT_MODES_DLMS = {1: "Credit", 2: "Prepayment"}
SUPPLY_DLMS = {0: "Disabled", 1: "Enabled", 2: "Armed"}
SUPPLY_ZCL = {0: "Disabled", 1: "Armed", 2: "Enabled"}
_PREPAYMENT_ENABLED = 0x0002  # ZCL PaymentControlConfiguration bit 1
_DATA_PROTECTION_CLASS = 30
_CRA_NAMES = {1: "command", 2: "response", 3: "alert"}
_CLOCK_STATUS_BITS = {0x01: "invalid value", 0x02: "doubtful value", 0x04: "different clock base",
                      0x08: "invalid clock status", 0x80: "daylight saving active"}


class NotReported(InvalidInput):
    """The use case, or this particular response, does not report the reading asked for."""


class Readings(dict):
    """name -> value for one response; ``use_case`` says where they came from."""

    def __init__(self, use_case: str, values: Mapping[str, Any], reasons: Mapping[str, str] | None = None) -> None:
        super().__init__(values)
        self.use_case = use_case
        self.reasons = dict(reasons or {})  # mapped readings this response lacks -> why

    def __missing__(self, name: str) -> Any:
        if name in self.reasons:
            raise NotReported(self.reasons[name])
        raise NotReported(f"{self.use_case} does not report {name} "
                          f"(this response reports: {', '.join(sorted(self)) or 'nothing readable'})")


# --------------------------------------------------------------------------------------------------
# The table


@functools.cache
def table() -> dict[str, Any]:
    """``{"readings": {name: {"doc", "convert", use case: {"dlms"|"zcl": spec}}}, "units": {...}}``."""
    text = resources.files(__package__).joinpath("data/readings.toml").read_text(encoding="utf-8")
    data = tomllib.loads(text)
    units = {kind: {int(k): v for k, v in t.items()} for kind, t in data.get("units", {}).items()}
    return {"readings": data.get("readings", {}), "units": units}


def names_for(use_case: str) -> list[str]:
    """The readings the data file maps for ``use_case`` (sorted)."""
    return sorted(n for n, entry in table()["readings"].items() if isinstance(entry.get(use_case), dict))


def use_cases_for(name: str) -> list[str]:
    """The use cases that carry reading ``name`` (sorted)."""
    entry = table()["readings"].get(name, {})
    return sorted(k for k, v in entry.items() if isinstance(v, dict))


def convert_for(name: str, use_case: str) -> str:
    """The conversion of reading ``name`` in ``use_case``: the use case's own ``convert`` when its entry
    has one (CS07's device log carries device types too), else the reading's."""
    entry = table()["readings"].get(name, {})
    where = entry.get(use_case)
    return (where or {}).get("convert") or entry.get("convert", "number")


# --------------------------------------------------------------------------------------------------
# Reading


def read(use_case: str, cra: str, content: dict[str, Any], *, request: dict[str, Any] | None = None) -> Readings:
    """Every reading the data file maps for ``use_case`` that this decoded response reports.

    ``content`` is the codec tree (dlms / gbz); ``request`` the decoded command, when known, lets the DLMS
    positions be checked against the request's attribute descriptors. A mapped reading this response
    does not carry (error result, encrypted part left encrypted) is left out: asking for it raises
    :class:`NotReported` with the reason.
    """
    if cra not in ("response", "alert"):
        raise InvalidInput(f"readings come from responses and alerts, not a {cra!r} ({use_case})")
    if not isinstance(content, dict) or content.get("kind") not in ("dlms", "gbz", "asn1"):
        raise InvalidInput(f"{use_case}: content is not a decoded GBCS content tree")
    values: dict[str, Any] = {}
    reasons: dict[str, str] = {}
    for name in names_for(use_case):
        try:
            values[name] = read_one(use_case, name, content, request=request)
        except NotReported as exc:
            reasons[name] = str(exc)
    return Readings(use_case, values, reasons)


def read_one(use_case: str, name: str, content: dict[str, Any], *, request: dict[str, Any] | None = None) -> Any:
    """One reading; :class:`NotReported` naming the use case and the reading when it is not there."""
    entry = table()["readings"].get(name)
    if entry is None:
        raise InvalidInput(f"unknown reading {name!r} (known: {', '.join(sorted(table()['readings']))})")
    where = entry.get(use_case)
    if not isinstance(where, dict):
        carriers = ", ".join(use_cases_for(name)) or "none"
        raise NotReported(f"{use_case} does not report {name} (use cases that do: {carriers})")
    convert = convert_for(name, use_case)
    kind = "dlms" if "dlms" in where else "asn1" if "asn1" in where else "gbz"
    if content.get("kind") != kind:
        raise InvalidInput(f"{use_case} {name}: expected {kind.upper()} content, got {content.get('kind')!r}")
    try:
        if kind == "dlms":
            return _read_dlms(use_case, name, where["dlms"], convert, content, request)
        if kind == "asn1":
            return _read_asn1(use_case, name, where["asn1"], convert, content)
        return _read_zcl(use_case, name, where["zcl"], convert, content)
    except (KeyError, IndexError, TypeError, ValueError, AttributeError, ArithmeticError) as exc:
        # a tree a codec would not produce (hand-built or edited): say so instead of a traceback
        raise NotReported(f"{use_case} {name}: the content does not have the shape GBCS gives this use case "
                          f"({type(exc).__name__}: {exc})") from None


def readings_of(message: Any, *, request: dict[str, Any] | None = None) -> Readings:
    """:func:`read` for a decoded GBCS message (any object with ``use_case``, ``cra`` or ``header.cra``,
    and ``content``); adds ``read_at`` from the grouping header date-time when the message has one."""
    header = getattr(message, "header", None)
    use_case = getattr(message, "use_case", None) or getattr(header, "use_case", None)
    cra = getattr(message, "cra", None) or getattr(header, "cra", None)
    if use_case is None or cra is None:
        raise InvalidInput("readings_of needs a message with a use case and a CRA flag")
    if isinstance(cra, int):  # frame.CRA (an IntEnum) or the bare flag
        cra = _CRA_NAMES.get(int(cra), str(cra))
    values = read(use_case, str(cra).lower(), getattr(message, "content", None), request=request)
    raw_time = getattr(header, "date_time", None) if header is not None else None
    stamp = _header_time(raw_time)
    if stamp is not None:
        values["read_at"] = stamp
    if isinstance(raw_time, (bytes, bytearray)) and len(raw_time) == 12 and raw_time[11] != 0xFF:
        values["read_at_clock_status"] = clock_status(raw_time[11])
    return values


def clock_status(byte: int) -> dict[str, Any]:
    """A COSEM clock status byte with the names of its set bits (DLMS Blue Book, class 8)."""
    return {"value": byte, "flags": [n for bit, n in _CLOCK_STATUS_BITS.items() if byte & bit]}


def _header_time(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, datetime):
        return value.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    if isinstance(value, (bytes, bytearray)):
        return _header_time(parse_cosem_datetime(bytes(value)))
    return None


# --------------------------------------------------------------------------------------------------
# DLMS


def _read_dlms(use_case: str, name: str, spec: dict, convert: str, tree: dict, request: dict | None) -> Any:
    if tree.get("apdu") != "access-response":
        raise NotReported(f"{use_case} {name}: the content is a DLMS {tree.get('apdu')}, not an access response")
    indexes = spec["index"]
    if isinstance(indexes, list):
        obis = spec["obis"] if isinstance(spec["obis"], list) else [spec["obis"]] * len(indexes)
        return {str(n + 1): _read_dlms_at(use_case, name, {**spec, "index": i, "obis": o}, convert, tree, request)
                for n, (i, o) in enumerate(zip(indexes, obis))}
    return _read_dlms_at(use_case, name, spec, convert, tree, request)


def _read_dlms_at(use_case: str, name: str, spec: dict, convert: str, tree: dict, request: dict | None) -> Any:
    what = f"{use_case} {name}"
    index = spec["index"]
    data, results = tree.get("data") or [], tree.get("results") or []
    if index >= len(data):
        raise NotReported(f"{what}: the response has {len(data)} data item(s), the reading is item {index}")
    if index < len(results) and results[index].get("result") != 0:
        res = results[index]
        raise NotReported(f"{what}: the device answered {res.get('service')} result {res.get('result')} "
                          f"({res.get('result_name') or 'failure'}) for item {index}")
    _check_descriptor(what, spec, tree, request)
    node = data[index]
    if "protected" in spec:
        node = _protected(what, node, spec["protected"])
    value = _at_path(what, node, spec.get("path", []))
    if convert == "register":
        su = _at_path(what, node, spec["scaler_unit"])
        scaler, unit = (e.get("value") for e in su["value"])
        return _scaled(value["value"], scaler, table()["units"]["dlms"].get(unit, unit))
    return _convert(what, convert, value, "dlms")


def _check_descriptor(what: str, spec: dict, tree: dict, request: dict | None) -> None:
    """With the request specs known, the item at ``index`` must be the COSEM attribute the table names."""
    specs = tree.get("requests") or (request or {}).get("requests")
    if not specs:
        return
    index = spec["index"]
    if index >= len(specs):
        raise InvalidInput(f"{what}: the request has {len(specs)} attribute descriptor(s), "
                           f"the table names item {index}")
    got = specs[index]
    if "protected" in spec:
        # the item is a Data Protection get_protected_attributes; the table names the protected attribute
        if got.get("class_id") != _DATA_PROTECTION_CLASS:
            raise InvalidInput(f"{what}: request item {index} is class {got.get('class_id')} {got.get('instance')}, "
                               "not a Data Protection get_protected_attributes")
        named = _protected_descriptor(request, index, spec["protected"]) if request else None
        if named is None:
            return
    else:
        named = (got.get("class_id"), got.get("instance"), got.get("attribute", got.get("method")))
    wanted = (spec["class"], spec["obis"], spec["attribute"])
    if tuple(named) != wanted:
        raise InvalidInput(f"{what}: the table reads class {wanted[0]} {wanted[1]} attribute {wanted[2]} at item "
                           f"{index}, the request asks for class {named[0]} {named[1]} attribute {named[2]} there")


def _protected_descriptor(request: dict, index: int, position: int) -> tuple[int, str, int] | None:
    # get_protected_attributes parameter: structure {array of {class_id, logical_name, attribute_index, …}, …}
    try:
        objects = request["data"][index]["value"][0]["value"]
        obj = objects[position]["value"]
        return obj[0]["value"], obis_text(bytes.fromhex(obj[1]["value"])), obj[2]["value"]
    except (KeyError, IndexError, TypeError, ValueError, InvalidInput):
        return None


def _protected(what: str, node: Any, position: int) -> Any:
    """The ``position``-th attribute of a decrypted protected-attributes result."""
    part = _find_encrypted(node)
    if part is None:
        raise NotReported(f"{what}: the response carries no protected attributes")
    if not part.get("decrypted") or "data" not in part:
        raise NotReported(f"{what}: the protected attributes are encrypted and were not decrypted "
                          "(decode the message with the recipient's key)")
    data = part["data"]
    values = data.get("value") if data.get("type") in ("structure", "array") else [data]
    if not isinstance(values, list) or position >= len(values):
        raise NotReported(f"{what}: the protected attributes hold {len(values or [])} value(s), "
                          f"the reading is value {position}")
    return values[position]


def _find_encrypted(node: Any) -> dict | None:
    if isinstance(node, dict):
        if node.get("encrypted"):
            return node
        children = node.get("value")
        if isinstance(children, list):
            for child in children:
                found = _find_encrypted(child)
                if found is not None:
                    return found
    return None


def _at_path(what: str, node: Any, path: list[int]) -> Any:
    for step in path:
        children = node.get("value") if isinstance(node, dict) else None
        if not isinstance(children, list) or step >= len(children):
            raise NotReported(f"{what}: the reported {node.get('type') if isinstance(node, dict) else node} "
                              f"has no element {step}")
        node = children[step]
    return node


# --------------------------------------------------------------------------------------------------
# ZCL


def _zcl_attributes(tree: dict, cluster: str) -> tuple[dict[str, dict], dict[str, str]]:
    """(attribute name -> element, attribute name -> why absent) for one cluster of a GBZ tree."""
    values: dict[str, dict] = {}
    absent: dict[str, str] = {}
    for comp in tree.get("components", []):
        if comp.get("cluster_name") != cluster:
            continue
        payload = comp.get("payload", {})
        if payload.get("encrypted") and not payload.get("decrypted"):
            absent["*"] = ("the component is encrypted and was not decrypted "
                           "(decode the message with the recipient's key)")
            continue
        for rec in payload.get("attributes", []):
            aid = rec.get("id", {})
            attr = aid.get("name") or f"0x{aid.get('value', 0):04X}"
            if "data" in rec:
                values[attr] = rec["data"]
            else:
                status = rec.get("status", {})
                absent[attr] = f"ZCL status {status.get('value')} ({status.get('name') or 'failure'})"
        if "fields" in payload and comp.get("command_name") == "Default Response":
            status = payload["fields"].get("status", {})
            absent.setdefault("*", f"a Default Response with status {status.get('value')} ({status.get('name')})")
    return values, absent


def _read_zcl(use_case: str, name: str, spec: dict, convert: str, tree: dict) -> Any:
    what = f"{use_case} {name}"
    cluster = spec["cluster"]
    values, absent = _zcl_attributes(tree, cluster)

    def get(attr: str) -> dict:
        if attr in values:
            return values[attr]
        reason = absent.get(attr) or absent.get("*") or "the attribute is not in the response"
        raise NotReported(f"{what}: {cluster} {attr} not reported: {reason}")

    if "field" in spec:  # a ZCL command's field (e.g. Consumer Top Up Response), not an attribute
        return _convert(what, convert, _zcl_field(what, tree, spec), "zcl")
    element = get(spec["attribute"])
    if convert == "register":
        multiplier = get(spec["multiplier"])["value"] if "multiplier" in spec else 1
        divisor = get(spec["divisor"])["value"] if "divisor" in spec else 1
        unit = get(spec["unit"])["value"] & 0x7F if "unit" in spec else None
        raw = element["value"]
        if divisor == 0:
            raise NotReported(f"{what}: {cluster} {spec['divisor']} is 0")
        value = Decimal(raw) * multiplier / divisor
        return {"value": int(value) if value == value.to_integral_value() else float(value), "raw": raw,
                "scaler": None, "multiplier": multiplier, "divisor": divisor,
                "unit": table()["units"]["zcl"].get(unit, unit)}
    return _convert(what, convert, element, "zcl")


def _zcl_field(what: str, tree: dict, spec: dict) -> dict:
    """``spec["field"]`` of the cluster's ``spec["command"]``; with ``status``, that field must be 0."""
    for comp in tree.get("components", []):
        if comp.get("cluster_name") != spec["cluster"]:
            continue
        payload = comp.get("payload", {})
        if payload.get("encrypted") and not payload.get("decrypted"):
            raise NotReported(f"{what}: the component is encrypted and was not decrypted "
                              "(decode the message with the recipient's key)")
        fields = payload.get("fields")
        if comp.get("command_name") == "Default Response" and isinstance(fields, dict):
            status = fields.get("status", {})
            raise NotReported(f"{what}: a Default Response with status {status.get('value')} ({status.get('name')})")
        if comp.get("command_name") != spec["command"] or not isinstance(fields, dict):
            continue
        if "status" in spec and fields[spec["status"]]["value"] != 0:
            raise NotReported(f"{what}: the device answered {spec['command']} with {spec['status']} "
                              f"{fields[spec['status']]['value']}")
        return fields[spec["field"]]
    raise NotReported(f"{what}: the response has no {spec['cluster']} {spec['command']}")


# --------------------------------------------------------------------------------------------------
# ASN.1


def asn1_at(what: str, node: Any, path: list[str | int]) -> Any:
    """Follow ``path`` in an asn1.py tree: a name steps into a SEQUENCE field or the CHOICE alternative of
    that name, a number into a SEQUENCE OF element; the top ``{"kind": "asn1", "value": …}`` is skipped."""
    if isinstance(node, dict) and node.get("kind") == "asn1":
        node = node.get("value")
    for step in path:
        if not isinstance(node, dict):
            raise NotReported(f"{what}: no ASN.1 element at {step!r}")
        kind, value = node.get("type"), node.get("value")
        if kind == "CHOICE":
            if node.get("choice") != step:
                raise NotReported(f"{what}: the device answered {node.get('choice')}, not {step}")
            node = value
        elif kind == "SEQUENCE" and isinstance(value, dict):
            if step not in value:
                raise NotReported(f"{what}: the {step} field is absent from the response")
            node = value[step]
        elif kind == "SEQUENCE OF" and isinstance(value, list) and isinstance(step, int) and step < len(value):
            node = value[step]
        else:
            raise NotReported(f"{what}: the reported {kind} has no element {step!r}")
    return node


def _read_asn1(use_case: str, name: str, spec: dict, convert: str, tree: dict) -> Any:
    what = f"{use_case} {name}"
    if "status" in spec:  # a response code field: anything but 0 (success) means the value is not a reading
        status = asn1_at(what, tree, spec["status"])
        if status.get("value") != 0:
            raise NotReported(f"{what}: the device answered {spec['status'][-1]} {status.get('value')} "
                              f"({status.get('name') or 'failure'})")
    return _convert(what, convert, asn1_at(what, tree, spec["path"]), "asn1")


# --------------------------------------------------------------------------------------------------
# Conversions


def _scaled(raw: int, scaler: int, unit: Any) -> dict[str, Any]:
    value = Decimal(raw).scaleb(scaler)
    return {"value": int(value) if scaler >= 0 else float(value), "raw": raw, "scaler": scaler, "unit": unit}


def _eui(hex_text: str) -> str:
    return "-".join(hex_text[i:i + 2] for i in range(0, len(hex_text), 2)).upper()


def _octets(what: str, node: dict) -> bytes:
    value = node.get("value")
    if node.get("type") in ("visible-string", "utf8-string", "character-string") and isinstance(value, str):
        return value.encode("latin-1", "replace")
    try:
        return bytes.fromhex(value)
    except (TypeError, ValueError):
        raise NotReported(f"{what}: expected an octet string, the device reported a {node.get('type')}") from None


def _plain(node: Any) -> Any:
    if isinstance(node, dict) and "type" in node:
        for readable in ("date_time", "date", "time", "obis"):
            if readable in node:
                return node[readable]
        value = node.get("value")
        return [_plain(v) for v in value] if isinstance(value, list) else value
    return node


def _convert(what: str, convert: str, node: dict, codec: str) -> Any:
    value = node.get("value")
    if convert == "number":
        if not isinstance(value, (int, float, bool)):
            raise NotReported(f"{what}: expected a number, the device reported a {node.get('type')}")
        return value
    if convert == "hex":
        return _octets(what, node).hex()
    if convert == "text":
        if isinstance(value, str) and node.get("type") != "octet-string":
            return value
        return _octets(what, node).decode("latin-1")
    if convert == "date_time":
        text = node.get("date_time") if codec == "dlms" else value
        if not isinstance(text, str):
            raise NotReported(f"{what}: the device reported no complete date-time ({node.get('type')} {value!r})")
        return text
    if convert == "payment_mode":
        if codec == "zcl":  # PaymentControlConfiguration bitmap
            return "Prepayment" if int(value) & _PREPAYMENT_ENABLED else "Credit"
        if value not in PAYMENT_MODES_DLMS:
            raise NotReported(f"{what}: payment mode {value!r} is neither credit (1) nor prepayment (2)")
        return PAYMENT_MODES_DLMS[value]
    if convert == "supply":
        states = SUPPLY_DLMS if codec == "dlms" else SUPPLY_ZCL
        if value not in states:
            raise NotReported(f"{what}: supply state {value!r} is not one GBCS defines ({sorted(states)})")
        return states[value]
    if convert == "device_log":
        if not isinstance(value, list):
            raise NotReported(f"{what}: expected an array of device log entries, got a {node.get('type')}")
        euis = []
        for entry in value:
            first = entry.get("value") if isinstance(entry, dict) else None
            # DLMS: structure {EUI, …}; ASN.1 (CS07): SEQUENCE {deviceID, deviceType}
            first = first.get("deviceID") if isinstance(first, dict) else (first or [None])[0]
            if not isinstance(first, dict) or first.get("type") not in ("octet-string", "OCTET STRING"):
                raise NotReported(f"{what}: a device log entry does not start with the device's EUI")
            euis.append(_eui(first["value"]))
        return euis
    if convert == "join_details":
        if not isinstance(value, list):
            raise NotReported(f"{what}: expected a SEQUENCE OF device log entries, got a {node.get('type')}")
        out = {}
        for entry in value:
            fields = entry.get("value") if isinstance(entry, dict) else None
            if not isinstance(fields, dict) or "deviceID" not in fields or "deviceType" not in fields:
                raise NotReported(f"{what}: a device log entry lacks deviceID / deviceType")
            out[_eui(_octets(what, fields["deviceID"]).hex())] = fields["deviceType"]["value"]
        return out
    if convert == "plain":
        return _plain(node)
    raise InvalidInput(f"{what}: unknown conversion {convert!r} in readings.toml")
