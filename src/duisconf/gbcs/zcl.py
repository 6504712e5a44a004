"""ZigBee Cluster Library pieces GBZ content is made of: data types, the name tables, command layouts.

``duisconf.gbcs.gbz`` frames GBZ components; this module reads and writes what is inside one: ZCL data
values (little-endian, ZCL data type ids), the global commands (read / write attributes, default
response …) and the Smart Energy cluster-specific commands whose layouts ``data/zcl.toml`` describes.

Every decoded value is ``{"type": <ZCL type name>, "value": …}``:

* integers, enumerations and bitmaps: ``value`` a JSON number;
* ``octet-string``: ``value`` lowercase hex (``text`` beside when every byte is printable ASCII, for
  reading only); a length byte 0xFF (ZCL's "invalid string") gives ``value`` None;
* ``character-string``: ``value`` text; bytes that are not UTF-8 keep ``hex`` beside (encode uses it);
* ``utc-time``: ``value`` ISO-8601 (``…Z``) and ``seconds`` since 2000-01-01 (what encode uses);
  0xFFFFFFFF ("not specified") has ``value`` None;
* ``date``, ``time-of-day``, floats: ``value`` readable or None, ``hex`` the raw bytes (encode uses it);
* ``bool``: ``value`` True/False, or None with ``raw`` for a byte other than 0 / 1.
"""

from __future__ import annotations

import functools
import struct
import tomllib
from datetime import date, datetime, timedelta, timezone
from importlib import resources
from typing import Any

from ..errors import InvalidInput
from . import cursor

ZCL_EPOCH = datetime(2000, 1, 1, tzinfo=timezone.utc)
UTC_NOT_SPECIFIED = 0xFFFFFFFF


# --------------------------------------------------------------------------------------------------
# Byte cursor


class Reader(cursor.Reader):
    """ZCL is little-endian."""

    byte_order = "little"
    default_what = "GBZ"


# --------------------------------------------------------------------------------------------------
# Name tables (data/zcl.toml)


def _int_keys(table: dict[str, Any]) -> dict[int, Any]:
    return {int(k, 0): v for k, v in table.items()}


@functools.cache
def tables() -> dict[str, Any]:
    """The ZCL tables with integer keys: clusters, global commands, status, alert codes …"""
    raw = tomllib.loads(resources.files(__package__).joinpath("data/zcl.toml").read_text(encoding="utf-8"))
    clusters = {}
    for cid, spec in _int_keys(raw["clusters"]).items():
        clusters[cid] = {
            "name": spec["name"],
            "attributes": _int_keys(spec.get("attributes", {})),
            "client": _int_keys(spec.get("client", {})),
            "server": _int_keys(spec.get("server", {})),
        }
    out = {k: _int_keys(v) for k, v in raw.items() if k != "clusters"}
    out["clusters"] = clusters
    return out


def cluster_name(cluster: int) -> str | None:
    spec = tables()["clusters"].get(cluster)
    return spec["name"] if spec else None


def attribute_name(cluster: int, attribute: int) -> str | None:
    spec = tables()["clusters"].get(cluster)
    return spec["attributes"].get(attribute) if spec else None


def command_spec(cluster: int, command: int, server_to_client: bool) -> dict[str, Any] | None:
    """The layout of a cluster-specific command (None when the table does not know it)."""
    spec = tables()["clusters"].get(cluster)
    return spec["server" if server_to_client else "client"].get(command) if spec else None


def global_command_name(command: int) -> str | None:
    return tables()["global_commands"].get(command)


def status_name(status: int) -> str | None:
    return tables()["status"].get(status)


def alert_name(code: int) -> str | None:
    return tables()["alert_codes"].get(code)


# --------------------------------------------------------------------------------------------------
# Data types (ZCL data type id -> name, length, kind)

# kind: uint / int / enum / bitmap / data (fixed-length numbers), or a special codec below.
DATA_TYPES: dict[int, tuple[str, int, str]] = {
    0x08: ("data8", 1, "uint"), 0x09: ("data16", 2, "uint"), 0x0A: ("data24", 3, "uint"),
    0x0B: ("data32", 4, "uint"), 0x0C: ("data40", 5, "uint"), 0x0D: ("data48", 6, "uint"),
    0x0E: ("data56", 7, "uint"), 0x0F: ("data64", 8, "uint"),
    0x10: ("bool", 1, "bool"),
    0x18: ("bitmap8", 1, "uint"), 0x19: ("bitmap16", 2, "uint"), 0x1A: ("bitmap24", 3, "uint"),
    0x1B: ("bitmap32", 4, "uint"), 0x1C: ("bitmap40", 5, "uint"), 0x1D: ("bitmap48", 6, "uint"),
    0x1E: ("bitmap56", 7, "uint"), 0x1F: ("bitmap64", 8, "uint"),
    0x20: ("uint8", 1, "uint"), 0x21: ("uint16", 2, "uint"), 0x22: ("uint24", 3, "uint"),
    0x23: ("uint32", 4, "uint"), 0x24: ("uint40", 5, "uint"), 0x25: ("uint48", 6, "uint"),
    0x26: ("uint56", 7, "uint"), 0x27: ("uint64", 8, "uint"),
    0x28: ("int8", 1, "int"), 0x29: ("int16", 2, "int"), 0x2A: ("int24", 3, "int"),
    0x2B: ("int32", 4, "int"), 0x2C: ("int40", 5, "int"), 0x2D: ("int48", 6, "int"),
    0x2E: ("int56", 7, "int"), 0x2F: ("int64", 8, "int"),
    0x30: ("enum8", 1, "uint"), 0x31: ("enum16", 2, "uint"),
    0x38: ("float-semi", 2, "hex"), 0x39: ("float-single", 4, "float"), 0x3A: ("float-double", 8, "float"),
    0x41: ("octet-string", 1, "octets"), 0x42: ("character-string", 1, "chars"),
    0x43: ("long-octet-string", 2, "octets"), 0x44: ("long-character-string", 2, "chars"),
    0xE0: ("time-of-day", 4, "hex"), 0xE1: ("date", 4, "date"), 0xE2: ("utc-time", 4, "utc"),
    0xE8: ("cluster-id", 2, "uint"), 0xE9: ("attribute-id", 2, "uint"), 0xEA: ("bacnet-oid", 4, "uint"),
    0xF0: ("ieee-address", 8, "eui"), 0xF1: ("security-key", 16, "hex"),
}
TYPE_BY_NAME: dict[str, tuple[int, int, str]] = {name: (tid, size, kind) for tid, (name, size, kind) in DATA_TYPES.items()}


def _type(name: str) -> tuple[int, int, str]:
    try:
        return TYPE_BY_NAME[name]
    except KeyError:
        raise InvalidInput(f"unknown ZCL data type {name!r}") from None


def utc_element(seconds: int) -> dict[str, Any]:
    """A ZCL UTCTime (seconds since 2000-01-01 UTC) as a tree element."""
    iso = None if seconds == UTC_NOT_SPECIFIED else (ZCL_EPOCH + timedelta(seconds=seconds)).strftime("%Y-%m-%dT%H:%M:%SZ")
    return {"type": "utc-time", "value": iso, "seconds": seconds}


def utc_seconds(element: dict[str, Any], field: str) -> int:
    """The seconds of a utc-time element: ``seconds`` if given, else from the ISO ``value``."""
    if isinstance(element.get("seconds"), int):
        seconds = element["seconds"]
    elif element.get("value") is None:
        seconds = UTC_NOT_SPECIFIED
    else:
        try:
            dt = datetime.fromisoformat(str(element["value"]).replace("Z", "+00:00"))
        except ValueError:
            raise InvalidInput(f"{field}: {element['value']!r} is not an ISO-8601 date-time") from None
        if dt.tzinfo is None:
            dt = dt.replace(tzinfo=timezone.utc)
        seconds = int((dt - ZCL_EPOCH).total_seconds())
    if not 0 <= seconds <= 0xFFFFFFFF:
        raise InvalidInput(f"{field}: UTC time outside 2000-01-01 .. 2136-02-07")
    return seconds


def _date_value(raw: bytes) -> str | None:
    year, month, day, _weekday = raw
    if 0xFF in (year, month, day):
        return None
    try:
        return date(1900 + year, month, day).isoformat()
    except ValueError:
        return None


def decode_value(r: Reader, type_name: str, field: str) -> dict[str, Any]:
    """Read one value of the named ZCL data type."""
    _tid, size, kind = _type(type_name)
    out: dict[str, Any] = {"type": type_name}
    if kind in ("uint", "int"):
        out["value"] = int.from_bytes(r.take(size, field), "little", signed=kind == "int")
    elif kind == "bool":
        b = r.take(1, field)[0]
        out["value"] = bool(b) if b in (0, 1) else None
        if b not in (0, 1):
            out["raw"] = b
    elif kind == "utc":
        return utc_element(r.uint(4, field))
    elif kind in ("octets", "chars"):
        invalid = 0xFF if size == 1 else 0xFFFF
        n = r.uint(size, f"{field} length")
        if n == invalid:
            out["value"] = None
            return out
        raw = r.take(n, field)
        if kind == "octets":
            out["value"] = raw.hex()
            if raw and all(0x20 <= b < 0x7F for b in raw):
                out["text"] = raw.decode("ascii")
        else:
            try:
                out["value"] = raw.decode("utf-8")
            except UnicodeDecodeError:
                out["value"] = raw.decode("latin-1")
                out["hex"] = raw.hex()
    elif kind == "date":
        raw = r.take(4, field)
        out["value"], out["hex"] = _date_value(raw), raw.hex()
    elif kind == "float":
        raw = r.take(size, field)
        out["value"] = struct.unpack("<f" if size == 4 else "<d", raw)[0]
        out["hex"] = raw.hex()
        if out["value"] != out["value"] or out["value"] in (float("inf"), float("-inf")):
            out["value"] = None  # JSON has no NaN / infinity; hex keeps the bytes
    elif kind == "eui":
        out["value"] = r.take(8, field)[::-1].hex()
    else:  # hex
        out["value"] = out["hex"] = r.take(size, field).hex()
        if type_name == "time-of-day":
            h, m, s, cs = bytes.fromhex(out["hex"])
            out["value"] = None if 0xFF in (h, m, s) else f"{h:02d}:{m:02d}:{s:02d}" + ("" if cs == 0xFF else f".{cs:02d}")
    return out


hex_bytes = cursor.hex_bytes


def encode_value(element: Any, type_name: str, field: str) -> bytes:
    """Write one value of the named ZCL data type (the inverse of :func:`decode_value`)."""
    _tid, size, kind = _type(type_name)
    if not isinstance(element, dict) or "value" not in element:
        raise InvalidInput(f"{field}: expected an object with 'type' and 'value', got {element!r}")
    value = element["value"]
    if kind in ("uint", "int"):
        if not isinstance(value, int) or isinstance(value, bool):
            raise InvalidInput(f"{field}: {type_name} value must be an integer, got {value!r}")
        try:
            return value.to_bytes(size, "little", signed=kind == "int")
        except OverflowError:
            raise InvalidInput(f"{field}: {value} does not fit {type_name}") from None
    if kind == "bool":
        if value is None and isinstance(element.get("raw"), int) and 0 <= element["raw"] <= 0xFF:
            return bytes([element["raw"]])
        if not isinstance(value, bool):
            raise InvalidInput(f"{field}: bool value must be true or false, got {value!r}")
        return bytes([int(value)])
    if kind == "utc":
        return utc_seconds(element, field).to_bytes(4, "little")
    if kind in ("octets", "chars"):
        invalid = 0xFF if size == 1 else 0xFFFF
        if value is None:
            return invalid.to_bytes(size, "little")
        if kind == "octets":
            raw = hex_bytes(value, field)
        elif "hex" in element:
            raw = hex_bytes(element["hex"], field)
        elif isinstance(value, str):
            raw = value.encode("utf-8")
        else:
            raise InvalidInput(f"{field}: character-string value must be text, got {value!r}")
        if len(raw) >= invalid:
            raise InvalidInput(f"{field}: {len(raw)} bytes is too long for {type_name}")
        return len(raw).to_bytes(size, "little") + raw
    if kind == "eui":
        return hex_bytes(value, field, 8)[::-1]
    if kind in ("date", "float", "hex"):
        if "hex" in element:
            return hex_bytes(element["hex"], field, size)
        if kind == "float" and isinstance(value, (int, float)) and not isinstance(value, bool):
            return struct.pack("<f" if size == 4 else "<d", value)
        if kind == "date" and isinstance(value, str):
            try:
                d = date.fromisoformat(value)
            except ValueError:
                raise InvalidInput(f"{field}: {value!r} is not an ISO date") from None
            if not 1900 <= d.year <= 2154:
                raise InvalidInput(f"{field}: year {d.year} outside ZCL's 1900..2154")
            return bytes([d.year - 1900, d.month, d.day, d.isoweekday()])
        return hex_bytes(value, field, size)
    raise InvalidInput(f"{field}: cannot encode {type_name}")  # pragma: no cover - table is closed


# --------------------------------------------------------------------------------------------------
# Command payloads described by the table


def _field_list(specs: list[str]) -> list[tuple[str, str]]:
    return [tuple(s.split(":", 1)) for s in specs]  # type: ignore[misc]


def _case(spec: dict[str, Any], fields: dict[str, Any]) -> tuple[list[tuple[str, str]] | None, dict | None]:
    """The extra fields and repeat a ``switch`` picks for the decoded fields so far (None: no case)."""
    selector = fields.get(spec["switch"], {}).get("value")
    for key, extra in spec.get("cases", {}).items():
        if int(key, 0) == selector:
            repeat = {int(k, 0): v for k, v in spec.get("case_repeat", {}).items()}.get(selector)
            return _field_list(extra), repeat
    return None, None


def _count(fields: dict[str, Any], name: str) -> int:
    value = fields.get(name, {}).get("value")
    if not isinstance(value, int):
        raise InvalidInput(f"count field {name!r} missing or not an integer")
    return value


def decode_fields(r: Reader, spec: dict[str, Any]) -> dict[str, Any]:
    """Decode a cluster-specific command payload laid out as ``spec`` says; it must use every byte."""
    fields: dict[str, Any] = {}
    for name, type_name in _field_list(spec["fields"]):
        fields[name] = decode_value(r, type_name, name)
    repeat = spec.get("repeat")
    if "switch" in spec:
        extra, repeat = _case(spec, fields)
        if extra is None:
            fields["sub_payload"] = {"type": "octet-string", "value": r.take(r.left(), "sub_payload").hex()}
        else:
            for name, type_name in extra:
                fields[name] = decode_value(r, type_name, name)
    if repeat:
        records = []
        members = _field_list(repeat["fields"])
        n = _count(fields, repeat["count"]) if "count" in repeat else None
        while (r.left() > 0) if n is None else (len(records) < n):
            records.append({name: decode_value(r, t, f"{repeat['name']}[{len(records)}].{name}") for name, t in members})
        fields[repeat["name"]] = records
    for name, type_name in _field_list(spec.get("optional", [])):
        if r.left() == 0:
            break
        fields[name] = decode_value(r, type_name, name)
    if r.left():
        r.fail(f"{r.left()} byte(s) left over after the last field")
    return fields


def encode_fields(fields: Any, spec: dict[str, Any], where: str) -> bytes:
    """Encode a cluster-specific command payload (inverse of :func:`decode_fields`)."""
    if not isinstance(fields, dict):
        raise InvalidInput(f"{where}: fields must be an object")

    def get(name: str) -> Any:
        if name not in fields:
            raise InvalidInput(f"{where}: missing field {name!r}")
        return fields[name]

    out = bytearray()
    for name, type_name in _field_list(spec["fields"]):
        out += encode_value(get(name), type_name, f"{where}.{name}")
    repeat = spec.get("repeat")
    if "switch" in spec:
        extra, repeat = _case(spec, fields)
        if extra is None:
            sub = get("sub_payload")
            out += hex_bytes(sub.get("value") if isinstance(sub, dict) else None, f"{where}.sub_payload")
        else:
            for name, type_name in extra:
                out += encode_value(get(name), type_name, f"{where}.{name}")
    if repeat:
        records = get(repeat["name"])
        if not isinstance(records, list):
            raise InvalidInput(f"{where}.{repeat['name']}: expected a list")
        if "count" in repeat and _count(fields, repeat["count"]) != len(records):
            raise InvalidInput(f"{where}: {repeat['count']} says {_count(fields, repeat['count'])}, {len(records)} given")
        for i, record in enumerate(records):
            if not isinstance(record, dict):
                raise InvalidInput(f"{where}.{repeat['name']}[{i}]: expected an object")
            for name, type_name in _field_list(repeat["fields"]):
                if name not in record:
                    raise InvalidInput(f"{where}.{repeat['name']}[{i}]: missing field {name!r}")
                out += encode_value(record[name], type_name, f"{where}.{repeat['name']}[{i}].{name}")
    present = True
    for name, type_name in _field_list(spec.get("optional", [])):
        if name not in fields:
            present = False
        elif not present:
            raise InvalidInput(f"{where}: optional field {name!r} given after an absent one")
        else:
            out += encode_value(fields[name], type_name, f"{where}.{name}")
    return bytes(out)
