"""Build the GBCS content a device (or the DCC, for commands) sends, from a use case's shape and named values.

A *shape* (``rules/gbcs_shapes.toml``, made by ``tools/gbcs_shapes.py`` from DCC's RTDS 4.5.0) is a content
tree of one use case, CRA kind and variant with the facts kept (DLMS class / OBIS / attribute and method
ids, ZCL cluster / command / attribute ids, result and status codes, A-XDR / ZCL / ASN.1 types, field
order) and every value replaced by a placeholder ``{"type": T, "$fill": name, ...}``:

* a named slot: a reading of ``data/readings.toml`` (``meter_balance``, ``supply`` …, the same names
  :func:`duisconf.gbcs.readings.read` returns, so building and reading are inverses), or a DUIS request
  value of a command (``[duis.<use case>]`` maps slot -> element path under the request body);
* a header value (``$derive``: originator, recipient, transaction id, the DLMS invoke id);
* unnamed (``$fill = ""``): a value nobody models yet; it gets the typed default.

:func:`build_content` fills a shape (missing named slots get the typed default and are listed in
``.defaulted``, never invented silently) and :func:`build_message` wraps it with
:func:`duisconf.gbcs.message.encode_message`.
"""

from __future__ import annotations

import copy
import functools
import re
from collections.abc import Mapping
from datetime import datetime, timezone
from typing import Any

from .. import paths
from ..errors import ConfigError, InvalidInput
from ..toml_file import read_toml
from . import readings as _readings
from .axdr import obis_bytes
from .frame import CRA, GroupingHeader, cosem_datetime

SHAPES_FILE = "gbcs_shapes.toml"
CRA_KINDS = ("command", "response", "alert")
FILL = "$fill"
_DLMS_INTS = ("integer", "long", "unsigned", "long-unsigned", "double-long", "double-long-unsigned",
              "long64", "long64-unsigned", "enum")
# COSEM date-time / date / time with every field "not specified" (Blue Book): the typed default of a date
_NOT_SPECIFIED = {"date_time": "ffffffffffffffffff8000ff", "date": "ffffffffff", "time": "ffffffff"}


# --------------------------------------------------------------------------------------------------
# The shapes file


def _restore(node: Any) -> Any:
    """TOML has no null: the file writes None as ``{"$null" = true}``."""
    if isinstance(node, dict):
        if node == {"$null": True}:
            return None
        return {k: _restore(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_restore(v) for v in node]
    return node


@functools.cache
def shapes() -> dict[str, Any]:
    """The shapes file: ``{"use_cases": {uc: {"encoding", "shapes": [...]}}, "duis": {uc: {slot: path}}}``."""
    path = paths.rules_dir() / SHAPES_FILE
    return _restore(read_toml(path, "GBCS shapes file", missing="GBCS shapes file not found (run tools/gbcs_shapes.py)"))


def use_cases() -> list[str]:
    return sorted(shapes().get("use_cases", {}))


def variants(use_case: str, cra: str) -> list[str]:
    """The variants the shapes file has for a use case and CRA kind (e.g. ``success``, ``error``)."""
    entry = shapes().get("use_cases", {}).get(use_case)
    return [s["variant"] for s in (entry or {}).get("shapes", []) if s["cra"] == cra]


def shape_for(use_case: str, cra: str, variant: str = "success") -> dict[str, Any]:
    """The shape of ``use_case`` / ``cra`` / ``variant``: the exact variant name, else the shortest
    variant whose words include every word of ``variant`` (``success`` finds ``immediate_success``)."""
    entry = shapes().get("use_cases", {}).get(use_case)
    if entry is None:
        raise InvalidInput(f"no GBCS shape for use case {use_case!r} (known: {len(use_cases())} use cases, "
                           f"e.g. {', '.join(use_cases()[:5])})")
    if cra not in CRA_KINDS:
        raise InvalidInput(f"cra must be one of {', '.join(CRA_KINDS)}, got {cra!r}")
    candidates = [s for s in entry["shapes"] if s["cra"] == cra]
    if not candidates:
        raise InvalidInput(f"{use_case} has no {cra} shape (it has: "
                           f"{', '.join(sorted({s['cra'] for s in entry['shapes']}))})")
    for s in candidates:
        if s["variant"] == variant or variant in s.get("aliases", []):
            return s
    words = set(variant.lower().split("_"))
    matching = [s for s in candidates if words <= set(s["variant"].split("_"))]
    if not matching:
        raise InvalidInput(f"{use_case} {cra}: no variant {variant!r} (known: "
                           f"{', '.join(s['variant'] for s in candidates)})")
    return min(matching, key=lambda s: (len(s["variant"].split("_")), s["variant"]))


# --------------------------------------------------------------------------------------------------
# Building content


class BuiltContent(dict):
    """A content tree ready for the codec's encode; says which named slots got the typed default."""

    def __init__(self, tree: Mapping[str, Any], *, use_case: str, cra: str, variant: str, message_code: int,
                 encoding: str, defaulted: list[str], unmodelled: int) -> None:
        super().__init__(tree)
        self.use_case, self.cra, self.variant = use_case, cra, variant
        self.message_code, self.encoding = message_code, encoding
        self.defaulted = defaulted      # named slots not given: typed default used
        self.unmodelled = unmodelled    # values no slot names (typed default used)


def build_content(
    use_case: str,
    cra: str,
    values: Mapping[str, Any],
    *,
    variant: str = "success",
    request: Mapping[str, Any] | None = None,
    header: GroupingHeader | None = None,
) -> BuiltContent:
    """The content tree of a use case's ``cra`` message from named values.

    ``values``: reading names (``meter_balance``, ``supply``, ``import_register`` …) as
    :func:`duisconf.gbcs.readings.read` returns them, and command slot names. ``request``: the DUIS
    request's values (:func:`duis_values` of the XML, or a flat ``{element path: text}``); command
    slots mapped to a DUIS element take their value from it. ``header`` supplies the header-derived
    values (counter, originator, recipient); without it they get the typed default.
    """
    shape = shape_for(use_case, cra, variant)
    filler = _Filler(use_case, values, _duis_slots(use_case, request), header)
    tree = filler.fill(shape["tree"])  # fill builds new containers and never mutates the shape: no copy needed
    return BuiltContent(tree, use_case=use_case, cra=cra, variant=shape["variant"],
                        message_code=shape["message_code"], encoding=shape["encoding"],
                        defaulted=sorted(filler.defaulted), unmodelled=filler.unmodelled)


def _duis_slots(use_case: str, request: Mapping[str, Any] | None) -> dict[str, str]:
    if not request:
        return {}
    flat = request if all(isinstance(v, str) for v in request.values()) else _flatten(request)
    mapping = shapes().get("duis", {}).get(use_case, {})
    return {slot: flat[path] for slot, path in mapping.items() if path in flat}


def _flatten(node: Any, prefix: str = "") -> dict[str, str]:
    out: dict[str, str] = {}
    if isinstance(node, Mapping):
        for k, v in node.items():
            out.update(_flatten(v, f"{prefix}/{k}" if prefix else str(k)))
    elif isinstance(node, list):
        for i, v in enumerate(node, 1):
            out.update(_flatten(v, f"{prefix}[{i}]"))
    elif node is not None:
        out[prefix] = str(node)
    return out


def duis_values(xml: bytes | str) -> dict[str, str]:
    """``{element path: text}`` of a DUIS request's Body (paths below the service element, local names,
    ``[n]`` for repeated siblings), the form ``[duis]`` maps slots from."""
    from ..duis.parse import parse_xml

    root = parse_xml(xml.encode() if isinstance(xml, str) else xml)
    root = root.getroot() if hasattr(root, "getroot") else root
    body = next((e for e in root if _local(e.tag) == "Body"), None)
    if body is None or len(body) == 0:
        raise InvalidInput("DUIS request: no Body element with a service element in it")
    out: dict[str, str] = {}

    def walk(element: Any, prefix: str) -> None:
        names = [_local(c.tag) for c in element]
        seen: dict[str, int] = {}
        for child, name in zip(element, names):
            seen[name] = seen.get(name, 0) + 1
            step = name
            if child.get("index") is not None:
                step = f"{name}[{child.get('index')}]"
            elif names.count(name) > 1:
                step = f"{name}[{seen[name]}]"
            path = f"{prefix}/{step}" if prefix else step
            if len(child):
                walk(child, path)
            else:
                text = (child.text or "").strip()
                out[path] = text if text else f"<{name}/>"

    walk(body[0], "")
    return out


def _local(tag: Any) -> str:
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


class _Filler:
    def __init__(self, use_case: str, values: Mapping[str, Any], duis: dict[str, str],
                 header: GroupingHeader | None) -> None:
        self.use_case, self.values, self.duis, self.header = use_case, values, duis, header
        self.defaulted: set[str] = set()
        self.unmodelled = 0

    def fill(self, node: Any) -> Any:
        if isinstance(node, list):
            return [self.fill(v) for v in node]
        if not isinstance(node, dict):
            return node
        if "$derive" in node:
            return self.derive(node)
        if FILL in node:
            return self.slot(node)
        return {k: self.fill(v) for k, v in node.items()}

    # header-derived values
    def derive(self, node: dict) -> Any:
        what = node["$derive"]
        h = self.header
        if what == "invoke_id":
            return (h.originator_counter if h else 0) & 0xFFFFFF
        if what == "long_invoke_id":
            return node["flags"] | ((h.originator_counter if h else 0) & 0xFFFFFF)
        if h is None:
            value = "00" * node.get("$len", 8)
        elif what == "originator":
            value = h.originator.hex()
        elif what == "recipient":
            value = h.recipient.hex()
        elif what == "transaction_id":
            value = node["prefix"] + h.originator_counter.to_bytes(8, "big").hex()
        else:
            raise ConfigError(f"gbcs_shapes.toml: unknown derived value {what!r}")
        return {"type": node["type"], "value": value}

    def slot(self, node: dict) -> Any:
        name = node[FILL]
        if not name:
            self.unmodelled += 1
            return typed_default(node)
        reading = _readings.table()["readings"].get(name)
        if name in self.values:
            value = self.values[name]
        elif name in self.duis:
            return _from_duis(node, self.duis[name], f"{self.use_case} {name}")
        else:
            if node["type"] in ("Certificate", "CertificationRequest"):
                raise InvalidInput(f"{self.use_case}: the {name} slot has no default (give its DER as hex)")
            self.defaulted.add(name)
            if isinstance(node.get("value"), list) and node["value"]:  # a container slot: its own shape
                return {"type": node["type"], "value": self.fill(node["value"])}
            return typed_default(node)
        if node.get("$key") is not None:  # readings with a list of indexes are {"1": v, …}
            if not isinstance(value, Mapping) or node["$key"] not in value:
                self.defaulted.add(f"{name}.{node['$key']}")
                return typed_default(node)
            value = value[node["$key"]]
        convert = _readings.convert_for(name, self.use_case) if reading else "number"
        return to_element(node, value, convert, what=f"{self.use_case} {name}", filler=self)


# --------------------------------------------------------------------------------------------------
# Values to elements


def typed_default(node: dict) -> Any:
    """The element a placeholder becomes when nothing gives its value: zero, empty, or "not specified"."""
    kind = node["type"]
    form, length = node.get("$form"), node.get("$len", 0)
    out: dict[str, Any] = {"type": kind}
    if node.get("$part") == "scaler_unit":  # DLMS register scaler_unit: scaler 0, unit "count"... not known
        out["value"] = [{"type": "integer", "value": 0}, {"type": "enum", "value": 255}]
    elif kind in ("null-data", "NULL"):
        out["value"] = None
    elif kind == "boolean":
        out["value"] = False
    elif kind in ("structure", "array", "SEQUENCE OF"):
        out["value"] = []
    elif kind == "bit-string":
        out["value"] = "0" * length
    elif kind == "BIT STRING":
        out.update(value="00" * ((length + 7) // 8), length=length)  # length in bits
    elif kind in ("octet-string", "OCTET STRING", "Certificate", "CertificationRequest"):
        out["value"] = _NOT_SPECIFIED.get(form) or "00" * length
    elif kind in ("visible-string", "utf8-string", "character-string"):
        out["value"] = ""
    elif kind == "utc-time":
        out["value"] = None
    elif kind == "date":
        out.update(value=None, hex="ffffffff")
    elif kind == "GeneralizedTime":
        out["value"] = "2000-01-01T00:00:00Z"
    elif kind == "compact-array":
        out.update(type_description=node["type_description"], value=[])
    else:
        out["value"] = 0
    return out


def to_element(node: dict, value: Any, convert: str, *, what: str, filler: _Filler | None = None) -> dict:
    """The element for a reading's value: the inverse of the reading's conversion (readings.py)."""
    kind, part = node["type"], node.get("$part")
    zcl = kind in ("utc-time", "date", "character-string") or re.fullmatch(r"(u?int|enum|bitmap)\d+", kind) is not None
    try:
        if convert == "register":
            return _register_part(node, value, part, zcl)
        if convert == "device_log":
            entries = []
            for eui in value:
                entry = copy.deepcopy(node["$each"])
                entry["value"][0] = {"type": "octet-string", "value": eui.replace("-", "").lower()}
                entries.append((filler or _Filler("", {}, {}, None)).fill(entry))
            return {"type": kind, "value": entries}
        if convert == "join_details":  # ASN.1 SEQUENCE OF {deviceID, deviceType} (CS07)
            entries = []
            for eui, device_type in value.items():
                entry = copy.deepcopy(node["$each"])
                entry["value"]["deviceID"] = {"type": "OCTET STRING", "value": eui.replace("-", "").lower()}
                entry["value"]["deviceType"] = {"type": "INTEGER", "value": int(device_type)}
                entries.append((filler or _Filler("", {}, {}, None)).fill(entry))
            return {"type": kind, "value": entries}
        if convert == "plain":
            return _from_plain(node, value)
        if convert == "payment_mode":
            if zcl:
                return {"type": kind, "value": 0x0002 if value == "Prepayment" else 0}
            return {"type": kind, "value": {v: k for k, v in _readings.PAYMENT_MODES_DLMS.items()}[value]}
        if convert == "supply":
            states = _readings.SUPPLY_ZCL if zcl else _readings.SUPPLY_DLMS
            return {"type": kind, "value": {v: k for k, v in states.items()}[value]}
        if convert == "date_time":
            return _date_time_element(node, value)
        if convert in ("hex", "text"):
            return _string_element(node, value, convert)
        if kind == "boolean":
            return {"type": kind, "value": bool(value)}
        if kind in ("Certificate", "CertificationRequest", "octet-string", "OCTET STRING"):
            return {"type": kind, "value": bytes.fromhex(value).hex()}
        if isinstance(value, bool) or not isinstance(value, int):
            raise TypeError(f"expected an integer, got {type(value).__name__}")
        return {"type": kind, "value": value}
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise InvalidInput(f"{what}: cannot put {value!r} in a {kind} ({type(exc).__name__}: {exc})") from None


def _register_part(node: dict, value: Any, part: str | None, zcl: bool) -> dict:
    if not isinstance(value, Mapping):
        value = {"raw": value, "scaler": 0, "unit": None}
    kind = node["type"]
    if part in (None, "raw"):
        return {"type": kind, "value": int(value["raw"])}
    if part in ("multiplier", "divisor"):
        return {"type": kind, "value": int(value.get(part) or 1)}
    if part == "unit" and zcl:
        units = {v: k for k, v in _readings.table()["units"]["zcl"].items()}
        unit = value.get("unit")
        return {"type": kind, "value": units.get(unit, unit if isinstance(unit, int) else 0)}
    if part == "scaler_unit":  # DLMS {scaler integer, unit enum}
        units = {v: k for k, v in _readings.table()["units"]["dlms"].items()}
        unit = value.get("unit")
        return {"type": "structure", "value": [
            {"type": "integer", "value": int(value.get("scaler") or 0)},
            {"type": "enum", "value": units.get(unit, unit if isinstance(unit, int) else 255)}]}
    raise ValueError(f"unknown register part {part!r}")


def _string_element(node: dict, value: Any, convert: str) -> dict:
    kind = node["type"]
    if convert == "hex":
        raw = bytes.fromhex(value)
    else:
        if kind in ("visible-string", "utf8-string", "character-string"):
            return {"type": kind, "value": str(value)}
        raw = str(value).encode("latin-1")
    return {"type": kind, "value": raw.hex()}


def _parse_iso(text: str) -> datetime:
    dt = datetime.fromisoformat(str(text).replace("Z", "+00:00"))
    return dt if dt.tzinfo else dt.replace(tzinfo=timezone.utc)


def _date_time_element(node: dict, value: Any) -> dict:
    kind = node["type"]
    if kind == "utc-time":
        return {"type": kind, "value": _parse_iso(value).astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")}
    if kind == "GeneralizedTime":
        return {"type": kind, "value": value}
    dt = value if isinstance(value, datetime) else _parse_iso(value)
    return {"type": kind, "value": cosem_datetime(dt).hex()}


def _cosem_date(text: str) -> bytes:
    y, m, d = text.split("-")
    month = {"dst-end": 0xFD, "dst-begin": 0xFE}.get(m)
    day = {"2nd-last": 0xFD, "last": 0xFE}.get(d)
    return ((0xFFFF if y == "*" else int(y)).to_bytes(2, "big")
            + bytes([month or (0xFF if m == "*" else int(m)), day or (0xFF if d == "*" else int(d)), 0xFF]))


def _cosem_time(text: str) -> bytes:
    main, _, hundredths = text.partition(".")
    fields = [0xFF if f == "*" else int(f) for f in main.split(":")]
    return bytes(fields + [int(hundredths) if hundredths else 0])


def _from_plain(node: dict, value: Any) -> dict:
    """The inverse of readings' ``plain``: lists become structures / arrays shaped like the skeleton."""
    kind = node["type"]
    if kind in ("structure", "array"):
        children = node.get("value") or []
        each = node.get("$each")
        out = []
        for i, item in enumerate(value):
            skel = each if each is not None else (children[i] if i < len(children) else children[-1])
            out.append(_from_plain(skel, item))
        return {"type": kind, "value": out}
    if kind == "octet-string":
        form = node.get("$form") or ("obis" if "obis" in node else None)
        if value is None:
            return typed_default(node)
        if form == "date":
            return {"type": kind, "value": _cosem_date(value).hex()}
        if form == "time":
            return {"type": kind, "value": _cosem_time(value).hex()}
        if form == "obis":
            return {"type": kind, "value": obis_bytes(value).hex()}
        if form == "date_time":
            date, _, rest = value.partition("T")
            zone = "8000" if rest.endswith("Z") else None
            t = rest.rstrip("Z")
            if zone is None:
                raise ValueError(f"date-time {value!r} with a deviation is not supported here")
            return {"type": kind, "value": (_cosem_date(date) + _cosem_time(t)).hex() + zone + "ff"}
        return {"type": kind, "value": value}
    if kind == "boolean":
        return {"type": kind, "value": bool(value)}
    if kind == "null-data":
        return {"type": kind, "value": None}
    return {"type": kind, "value": value}


def _from_duis(node: dict, text: str, what: str) -> dict:
    """A command slot from the DUIS element's text: integers, booleans, date-times."""
    kind = node["type"]
    try:
        if kind in ("utc-time", "GeneralizedTime") or node.get("$form") == "date_time":
            return _date_time_element(node, text)
        if kind == "boolean":
            return {"type": kind, "value": text.strip().lower() in ("true", "1")}
        if kind in ("visible-string", "utf8-string", "character-string"):
            return {"type": kind, "value": text}
        if kind in ("octet-string", "OCTET STRING"):
            return {"type": kind, "value": text.replace("-", "").lower()}
        return {"type": kind, "value": int(text)}
    except (TypeError, ValueError) as exc:
        raise InvalidInput(f"{what}: DUIS value {text!r} does not fit a {kind} ({exc})") from None


# --------------------------------------------------------------------------------------------------
# Structure (facts only), for comparing a built message with a reference


def structure_of(tree: Any) -> Any:
    """The tree with values dropped: types, ids, names of fields and codes kept (what a shape fixes)."""
    if isinstance(tree, list):
        return [structure_of(v) for v in tree]
    if not isinstance(tree, dict):
        return tree
    out = {}
    for k, v in tree.items():
        if k in ("plaintext", "ciphertext", "hex", "seconds", "date", "time", "date_time", "text", "byte",
                 "invoke_id", "long_invoke_id_and_priority", "time_stamp") and not isinstance(v, (dict, list)):
            continue
        if k == "value" and "type" in tree and not isinstance(v, (dict, list)) and "name" not in tree \
                and "obis" not in tree and tree["type"] != "attribute-id":
            continue
        if k == "names" and tree.get("type") == "BIT STRING":  # the set bits' names: values
            continue
        if k == "value" and tree.get("type") in ("Certificate", "CertificationRequest", "compact-array"):
            continue
        out[k] = structure_of(v)
    return out


# --------------------------------------------------------------------------------------------------
# Whole messages


def build_message(
    use_case: str,
    cra: str,
    *,
    originator: str | bytes,
    recipient: str | bytes,
    counter: int,
    values: Mapping[str, Any] | None = None,
    keys: Any = None,
    variant: str = "success",
    request: Mapping[str, Any] | None = None,
    date_time: datetime | bytes | None = None,
    precommand: bool = False,
    supplementary_remote_party_id: str | bytes | None = None,
    supplementary_remote_party_counter: int | None = None,
    acb: str | None = None,
) -> bytes:
    """A whole GBCS message of the use case: header, content from ``values``, MAC and payload encryption.

    Responses and alerts are MAC'd with the device's and the remote party's KA keys, commands with the
    ACB's and the device's (:func:`duisconf.gbcs.message.mac_parties`); a pre-command (``precommand``)
    is the general-signing block alone without a signature field, as the DCC sends it in ``PreCommand``.
    Encrypted parts (``encrypted`` shapes) are encrypted with the payload key of the header's parties.
    """
    from ..duis.model import eui_bytes
    from .message import encode_message

    def eui(value: str | bytes | None) -> bytes | None:
        return value if isinstance(value, (bytes, type(None))) else eui_bytes(value)

    shape = shape_for(use_case, cra, variant)
    if isinstance(date_time, datetime):
        date_time = cosem_datetime(date_time)
    header = GroupingHeader(
        cra=CRA[cra.upper()], originator_counter=counter, originator=eui(originator), recipient=eui(recipient),
        date_time=date_time, message_code=shape["message_code"],
        supplementary_remote_party_id=eui(supplementary_remote_party_id),
        supplementary_remote_party_counter=supplementary_remote_party_counter,
    )
    content = build_content(use_case, cra, values or {}, variant=shape["variant"], request=request, header=header)
    if precommand:
        if cra != "command":
            raise InvalidInput(f"{use_case}: a pre-command is a command, not a {cra}")
        return encode_message(header, dict(content), keys, envelope=False, omit_signature_field=True,
                              use_case=use_case)
    return encode_message(header, dict(content), keys, acb=acb, use_case=use_case,
                          envelope=shape.get("envelope", True))


__all__ = [
    "BuiltContent",
    "build_content",
    "build_message",
    "duis_values",
    "shape_for",
    "shapes",
    "structure_of",
    "to_element",
    "typed_default",
    "use_cases",
    "variants",
]
