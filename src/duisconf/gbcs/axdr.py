"""A-XDR data (DLMS ``Data`` CHOICE): every type GBCS's DLMS content can carry, decoded to JSON-ready nodes.

A node is a dict with ``type`` (the DLMS type name) and ``value``:

==================  =========================================================================
type (tag)          value
==================  =========================================================================
null-data (0)       None
array (1)           list of nodes
structure (2)       list of nodes
boolean (3)         bool (a byte other than 00/01 is kept in ``byte``)
bit-string (4)      str of "0"/"1", one per bit (non-zero padding bits kept in ``hex``)
double-long (5)     int (32-bit signed); double-long-unsigned (6), integer (15), long (16),
                    unsigned (17), long-unsigned (18), long64 (20), long64-unsigned (21),
                    enum (22), bcd (13): int
octet-string (9)    lowercase hex; readable extras beside it when the bytes fit: ``date_time``
                    (12 bytes), ``date`` (5), ``time`` (4), ``obis`` (6 bytes after a class id)
visible-string (10) str (bytes read as Latin-1, so any byte survives a round trip)
utf8-string (12)    str
compact-array (19)  list of nodes, plus ``type_description`` (see below)
float32 (23)        float (None when not finite), plus ``hex`` (always: the exact bits)
float64 (24)        likewise
date-time (25)      readable date-time text, plus ``hex`` (the 12 bytes); date (26): 5 bytes;
                    time (27): 4 bytes
dont-care (255)     None
==================  =========================================================================

A compact array's ``type_description`` is ``{"type": "<leaf type>"}``, ``{"type": "structure",
"elements": [td, ...]}`` or ``{"type": "array", "count": n, "element": td}``; its elements are plain
nodes (as above) laid out by that description.

Readable extras (``date_time``, ``obis``, names ...) are derived: :func:`encode_data` ignores them and
writes ``value`` (or ``hex`` for the types whose ``value`` is readable text). Lengths and counts use
A-XDR's BER-like length (``< 0x80`` one byte, else ``0x8N`` + N bytes); only the shortest form is
accepted, so ``encode(decode(b)) == b`` holds for every byte string the decoder accepts. Date-times are
rendered ISO-8601 when every field is specified (deviation 0x8000 "not specified" is written ``Z``:
GBCS date-times are UTC); fields left "not specified" (0xFF / 0xFFFF) appear as ``*``.
"""

from __future__ import annotations

import math
import struct
from typing import Any

from ..errors import InvalidInput
from . import cursor

MAX_DEPTH = 40  # nesting of arrays/structures; far beyond any GBCS object, stops recursion bombs

# tag -> (name, fixed size in bytes, struct format) for the fixed-size integer types
_INTS: dict[int, tuple[str, int, bool]] = {
    5: ("double-long", 4, True),
    6: ("double-long-unsigned", 4, False),
    13: ("bcd", 1, True),
    15: ("integer", 1, True),
    16: ("long", 2, True),
    17: ("unsigned", 1, False),
    18: ("long-unsigned", 2, False),
    20: ("long64", 8, True),
    21: ("long64-unsigned", 8, False),
    22: ("enum", 1, False),
}
_FLOATS = {23: ("float32", ">f"), 24: ("float64", ">d")}
_DATE_TIMES = {25: ("date-time", 12), 26: ("date", 5), 27: ("time", 4)}
_OTHER = {
    0: "null-data",
    1: "array",
    2: "structure",
    3: "boolean",
    4: "bit-string",
    9: "octet-string",
    10: "visible-string",
    12: "utf8-string",
    19: "compact-array",
    255: "dont-care",
}

TYPE_NAMES: dict[int, str] = {
    **_OTHER,
    **{t: v[0] for t, v in _INTS.items()},
    **{t: v[0] for t, v in _FLOATS.items()},
    **{t: v[0] for t, v in _DATE_TIMES.items()},
}
TYPE_TAGS: dict[str, int] = {name: tag for tag, name in TYPE_NAMES.items()}
# Types a compact array's type description may name (everything with a self-delimiting body).
_COMPACT_LEAVES = set(TYPE_TAGS) - {"array", "structure", "compact-array", "null-data", "dont-care"}


# --------------------------------------------------------------------------------------------------
# Reading


class Reader(cursor.Reader):
    """The A-XDR cursor: lengths and counts in their shortest form."""

    default_what = "DLMS content"

    def length(self, field: str) -> int:
        """An A-XDR length / count in its shortest form."""
        at, first = self.pos, self.byte(field)
        if first < 0x80:
            return first
        n = first & 0x7F
        if not 1 <= n <= 4:
            self.fail(f"unsupported length form 0x{first:02X} for {field}", at)
        value = self.uint(n, field)
        if value < 0x80 or value < 1 << (8 * (n - 1)):
            self.fail(f"non-canonical length for {field} ({value} in {n + 1} bytes)", at)
        return value


def encode_length(n: int) -> bytes:
    if n < 0:
        raise InvalidInput(f"length must not be negative, got {n}")
    if n < 0x80:
        return bytes([n])
    body = n.to_bytes((n.bit_length() + 7) // 8, "big")
    if len(body) > 4:
        raise InvalidInput(f"length {n} does not fit the A-XDR length form")
    return bytes([0x80 | len(body)]) + body


def decode_data(r: Reader, depth: int = 0) -> dict[str, Any]:
    """One tagged ``Data`` element at the reader's position."""
    if depth > MAX_DEPTH:
        r.fail(f"data nested deeper than {MAX_DEPTH} levels")
    at, tag = r.pos, r.byte("data type tag")
    name = TYPE_NAMES.get(tag)
    if name is None:
        r.fail(f"unknown data type tag 0x{tag:02X}", at)
    if tag in (1, 2):
        count = r.length(f"{name} count")
        if count > r.left() and count > 0:
            # every element takes at least its tag byte
            r.fail(f"{name} count {count} exceeds the {r.left()} byte(s) left", at + 1)
        items = [decode_data(r, depth + 1) for _ in range(count)]
        if tag == 2:
            _annotate_structure(items)
        return {"type": name, "value": items}
    if tag == 19:
        return _decode_compact_array(r, depth)
    return decode_body(r, name)


def decode_body(r: Reader, name: str) -> dict[str, Any]:
    """The body of a leaf type (no tag): shared by tagged data and compact-array contents."""
    tag = TYPE_TAGS[name]
    if tag in (0, 255):
        return {"type": name, "value": None}
    if tag in _INTS:
        _, size, signed = _INTS[tag]
        return {"type": name, "value": int.from_bytes(r.take(size, name), "big", signed=signed)}
    if tag == 3:
        b = r.byte(name)
        node: dict[str, Any] = {"type": name, "value": b != 0}
        if b not in (0, 1):
            node["byte"] = b
        return node
    if tag == 4:
        bits = r.length("bit-string length")
        raw = r.take((bits + 7) // 8, "bit-string")
        text = "".join(f"{b:08b}" for b in raw)
        node = {"type": name, "value": text[:bits]}
        if "1" in text[bits:]:
            node["hex"] = raw.hex()
        return node
    if tag in (9, 10, 12):
        raw = r.take(r.length(f"{name} length"), name)
        if tag == 9:
            node = {"type": name, "value": raw.hex()}
            _annotate_octets(node, raw)
            return node
        if tag == 10:
            return {"type": name, "value": raw.decode("latin-1")}
        try:
            return {"type": name, "value": raw.decode("utf-8")}
        except UnicodeDecodeError as exc:
            r.fail(f"utf8-string is not valid UTF-8 ({exc.reason})", r.pos - len(raw) + exc.start)
    if tag in _FLOATS:
        fmt = _FLOATS[tag][1]
        raw = r.take(struct.calcsize(fmt), name)
        value = struct.unpack(fmt, raw)[0]
        return {"type": name, "value": value if math.isfinite(value) else None, "hex": raw.hex()}
    if tag in _DATE_TIMES:
        raw = r.take(_DATE_TIMES[tag][1], name)
        return {"type": name, "value": _date_time_text(raw, name), "hex": raw.hex()}
    raise AssertionError(name)  # pragma: no cover - every tag is handled above


def _decode_type_description(r: Reader, depth: int) -> dict[str, Any]:
    if depth > MAX_DEPTH:
        r.fail(f"type description nested deeper than {MAX_DEPTH} levels")
    at, tag = r.pos, r.byte("type description tag")
    name = TYPE_NAMES.get(tag)
    if tag == 1:
        count = r.uint(2, "type description array count")
        return {"type": "array", "count": count, "element": _decode_type_description(r, depth + 1)}
    if tag == 2:
        count = r.length("type description structure count")
        if count > r.left():
            r.fail(f"structure count {count} exceeds the {r.left()} byte(s) left", at + 1)
        return {"type": "structure", "elements": [_decode_type_description(r, depth + 1) for _ in range(count)]}
    if name not in _COMPACT_LEAVES:
        r.fail(f"type 0x{tag:02X} is not allowed in a compact-array type description", at)
    return {"type": name}


def _decode_described(r: Reader, td: dict[str, Any]) -> dict[str, Any]:
    if td["type"] == "array":
        return {"type": "array", "value": [_decode_described(r, td["element"]) for _ in range(td["count"])]}
    if td["type"] == "structure":
        items = [_decode_described(r, t) for t in td["elements"]]
        _annotate_structure(items)
        return {"type": "structure", "value": items}
    return decode_body(r, td["type"])


def _decode_compact_array(r: Reader, depth: int) -> dict[str, Any]:
    td = _decode_type_description(r, depth + 1)
    length = r.length("compact-array contents length")
    start = r.pos
    contents = Reader(r.take(length, "compact-array contents"), r.what, r.base + start)
    values = []
    while contents.left():
        before = contents.pos
        values.append(_decode_described(contents, td))
        if contents.pos == before:
            contents.fail("compact-array type description describes zero-length elements")
    return {"type": "compact-array", "type_description": td, "value": values}


# --------------------------------------------------------------------------------------------------
# Readable extras (derived; never read back by the encoder)


def _annotate_octets(node: dict[str, Any], raw: bytes) -> None:
    kind = {12: "date-time", 5: "date", 4: "time"}.get(len(raw))
    if kind:
        text = _date_time_text(raw, kind)
        if text is not None:
            node[kind.replace("-", "_")] = text


def _annotate_structure(items: list[dict[str, Any]]) -> None:
    """A 6-byte octet string right after a long-unsigned is a COSEM logical name (class id, OBIS, ...)."""
    for prev, item in zip(items, items[1:]):
        if prev["type"] == "long-unsigned" and item["type"] == "octet-string" and len(item["value"]) == 12:
            item["obis"] = obis_text(bytes.fromhex(item["value"]))


def obis_text(raw: bytes) -> str:
    """An OBIS code (6 bytes) written ``A-B:C.D.E.F``."""
    a, b, c, d, e, f = raw
    return f"{a}-{b}:{c}.{d}.{e}.{f}"


def obis_bytes(text: str) -> bytes:
    """``A-B:C.D.E.F`` (or ``A.B.C.D.E.F``) back to 6 bytes; InvalidInput otherwise."""
    parts = text.replace("-", ".").replace(":", ".").split(".") if isinstance(text, str) else []
    try:
        values = [int(p, 10) for p in parts]
    except ValueError:
        values = []
    if len(values) != 6 or not all(0 <= v <= 255 for v in values):
        raise InvalidInput(f"OBIS code must look like 1-0:1.8.0.255, got {text!r}")
    return bytes(values)


_SPECIAL_MONTH = {0xFD: "dst-end", 0xFE: "dst-begin"}
_SPECIAL_DAY = {0xFD: "2nd-last", 0xFE: "last"}


def _date_text(raw: bytes) -> str | None:
    year = int.from_bytes(raw[0:2], "big")
    month, day, weekday = raw[2], raw[3], raw[4]
    if not (1 <= month <= 12 or month >= 0xFD) or not (1 <= day <= 31 or day >= 0xFD):
        return None
    if not (1 <= weekday <= 7 or weekday == 0xFF):
        return None
    y = "*" if year == 0xFFFF else f"{year:04d}"
    m = "*" if month == 0xFF else _SPECIAL_MONTH.get(month, f"{month:02d}")
    d = "*" if day == 0xFF else _SPECIAL_DAY.get(day, f"{day:02d}")
    return f"{y}-{m}-{d}"


def _time_text(raw: bytes) -> str | None:
    hour, minute, second, hundredths = raw
    limits = ((hour, 23), (minute, 59), (second, 59), (hundredths, 99))
    if any(v > top and v != 0xFF for v, top in limits):
        return None
    text = ":".join("*" if v == 0xFF else f"{v:02d}" for v in (hour, minute, second))
    if hundredths not in (0, 0xFF):
        text += f".{hundredths:02d}"
    return text


def _date_time_text(raw: bytes, kind: str) -> str | None:
    """Readable text for a COSEM date (5), time (4) or date-time (12 bytes); None if not one."""
    if kind == "date":
        return _date_text(raw)
    if kind == "time":
        return _time_text(raw)
    date, time = _date_text(raw[:5]), _time_text(raw[5:9])
    deviation = int.from_bytes(raw[9:11], "big", signed=True)
    if date is None or time is None:
        return None
    if deviation == -0x8000:
        zone = "Z"
    elif -720 <= deviation <= 720:
        # Same reading as frame.parse_cosem_datetime: minutes of local time ahead of UTC.
        sign = "+" if deviation >= 0 else "-"
        zone = f"{sign}{abs(deviation) // 60:02d}:{abs(deviation) % 60:02d}"
    else:
        return None
    return f"{date}T{time}{zone}"


# --------------------------------------------------------------------------------------------------
# Writing


def _field(node: Any, key: str, where: str) -> Any:
    if not isinstance(node, dict) or key not in node:
        raise InvalidInput(f"{where}: expected a data node with {key!r}, got {node!r:.80}")
    return node[key]


def _int_in(value: Any, size: int, signed: bool, where: str) -> int:
    lo, hi = (-(1 << (8 * size - 1)), (1 << (8 * size - 1)) - 1) if signed else (0, (1 << (8 * size)) - 1)
    if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
        raise InvalidInput(f"{where}: value must be an integer in {lo}..{hi}, got {value!r}")
    return value


_hex = cursor.hex_bytes


def encode_data(node: Any, where: str = "data") -> bytes:
    """A node (as :func:`decode_data` makes) back to tagged A-XDR bytes."""
    name = _field(node, "type", where)
    tag = TYPE_TAGS.get(name) if isinstance(name, str) else None
    if tag is None:
        raise InvalidInput(f"{where}: unknown data type {name!r}")
    if tag in (1, 2):
        items = _field(node, "value", where)
        if not isinstance(items, list):
            raise InvalidInput(f"{where}: {name} value must be a list")
        return bytes([tag]) + encode_length(len(items)) + b"".join(
            encode_data(item, f"{where}[{i}]") for i, item in enumerate(items)
        )
    if tag == 19:
        td = _field(node, "type_description", where)
        items = _field(node, "value", where)
        if not isinstance(items, list):
            raise InvalidInput(f"{where}: compact-array value must be a list")
        description = _encode_type_description(td, where)  # validates td before the elements use it
        body = b"".join(_encode_described(item, td, f"{where}[{i}]") for i, item in enumerate(items))
        return bytes([tag]) + description + encode_length(len(body)) + body
    return bytes([tag]) + encode_body(node, name, where)


def encode_body(node: dict[str, Any], name: str, where: str) -> bytes:
    tag = TYPE_TAGS[name]
    if tag in (0, 255):
        return b""
    if tag in _INTS:
        _, size, signed = _INTS[tag]
        return _int_in(_field(node, "value", where), size, signed, where).to_bytes(size, "big", signed=signed)
    if tag == 3:
        value = _field(node, "value", where)
        if not isinstance(value, bool):
            raise InvalidInput(f"{where}: boolean value must be true or false")
        b = _int_in(node.get("byte", 1 if value else 0), 1, False, where)
        if (b != 0) != value:
            raise InvalidInput(f"{where}: boolean byte {b} contradicts value {value}")
        return bytes([b])
    if tag == 4:
        bits = _field(node, "value", where)
        if not isinstance(bits, str) or set(bits) - {"0", "1"}:
            raise InvalidInput(f"{where}: bit-string value must be a string of 0 and 1")
        if "hex" in node:
            raw = _hex(node["hex"], where, (len(bits) + 7) // 8)
        else:
            padded = bits + "0" * (-len(bits) % 8)
            raw = bytes(int(padded[i : i + 8], 2) for i in range(0, len(padded), 8))
        return encode_length(len(bits)) + raw
    if tag in (9, 10, 12):
        value = _field(node, "value", where)
        if tag == 9:
            raw = _hex(value, where)
        elif not isinstance(value, str):
            raise InvalidInput(f"{where}: {name} value must be a string")
        else:
            try:
                raw = value.encode("latin-1" if tag == 10 else "utf-8")
            except UnicodeEncodeError:
                raise InvalidInput(f"{where}: visible-string holds a character beyond Latin-1") from None
        return encode_length(len(raw)) + raw
    if tag in _FLOATS:
        fmt = _FLOATS[tag][1]
        value = node.get("value")
        if value is None:
            return _hex(_field(node, "hex", where), where, struct.calcsize(fmt))
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise InvalidInput(f"{where}: {name} value must be a number")
        try:
            return struct.pack(fmt, value)
        except (OverflowError, struct.error):
            raise InvalidInput(f"{where}: {value!r} does not fit {name}") from None
    if tag in _DATE_TIMES:
        return _hex(_field(node, "hex", where), where, _DATE_TIMES[tag][1])
    raise AssertionError(name)  # pragma: no cover


def _encode_type_description(td: Any, where: str) -> bytes:
    name = _field(td, "type", f"{where} type description")
    if not isinstance(name, str):
        raise InvalidInput(f"{where}: type description type must be a string")
    if name == "array":
        count = _int_in(td.get("count"), 2, False, f"{where} type description count")
        return b"\x01" + count.to_bytes(2, "big") + _encode_type_description(td.get("element"), where)
    if name == "structure":
        elements = td.get("elements")
        if not isinstance(elements, list):
            raise InvalidInput(f"{where}: structure type description needs an 'elements' list")
        return b"\x02" + encode_length(len(elements)) + b"".join(_encode_type_description(t, where) for t in elements)
    if name not in _COMPACT_LEAVES:
        raise InvalidInput(f"{where}: type {name!r} is not allowed in a compact-array type description")
    return bytes([TYPE_TAGS[name]])


def _encode_described(node: Any, td: dict[str, Any], where: str) -> bytes:
    name = _field(node, "type", where)
    if name != td.get("type"):
        raise InvalidInput(f"{where}: element type {name!r} does not match the type description {td.get('type')!r}")
    if name in ("array", "structure"):
        items = _field(node, "value", where)
        expected = td["count"] if name == "array" else len(td["elements"])
        if not isinstance(items, list) or len(items) != expected:
            raise InvalidInput(f"{where}: {name} must have {expected} element(s) as its type description says")
        subs = [td["element"]] * expected if name == "array" else td["elements"]
        return b"".join(_encode_described(item, t, f"{where}[{i}]") for i, (item, t) in enumerate(zip(items, subs)))
    return encode_body(node, name, where)
