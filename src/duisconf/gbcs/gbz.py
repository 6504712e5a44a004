"""GBZ: the ZigBee content of GBCS messages to and from gas meters (GSME) via the GPF.

``decode(content)`` turns the content of a general-signing block that starts with the GBZ profile id
``01 09`` into a JSON-ready tree; ``encode(tree)`` is its exact inverse (``encode(decode(b)) == b``,
``decode(encode(t)) == t``). ZCL values inside components are read by :mod:`duisconf.gbcs.zcl`.

Wire layout (multi-byte GBZ header fields big-endian, ZCL fields little-endian)::

    01 09  count  component*                       commands and responses
    01 09  count  alert-code(2) time-stamp(4) …   alerts (cra "alert"; the rest depends on the alert)
    component = control(1) cluster(2) length(2) body
    body      = [From-Date-Time(4) if control & 0x10 | additional header(2) if control & 0x02]
                frame-control(1) [manufacturer code(2) if frame-control & 0x04] sequence(1) command(1)
                payload | ciphered-length(2) 31 00000000 ciphertext tag(12)   (encrypted: control & 0x02)

Tree::

    {"kind": "gbz",
     "alert": {                                   # alerts only
        "code": {"type": "uint16", "value": 0x8F66, "name": "…"},
        "time_stamp": {"type": "utc-time", "value": "2015-01-01T00:00:00Z", "seconds": 473385600},
        "component_count": 1,                     # the count byte as sent
        "layout": "none" | "components" | "future-dated" | "firmware-distribution-receipt"
                  | "meter-integrity-issue" | "raw",
        "future_dated": {message_code, originator_counter, cluster, cluster_name, frame_control,
                         command, command_name},                      # layout future-dated
        "calculated_manufacturer_hash": {"type": "octet-string", …}, # firmware-distribution-receipt
        "other_info": {"type": "enum16", "value": 5, "name": "…"},    # meter-integrity-issue
        "raw": {"type": "octet-string", "value": hex}, "error": "…"},# raw (error: why not decoded)
     "components": [{
        "control": 0x01,              # extended header control: 0x01 last, 0x02 encrypted, 0x10 From-Date-Time
        "cluster": 0x0702, "cluster_name": "Metering",
        "from_date_time": {utc-time},                          # control & 0x10, not encrypted
        "additional_header": {"control": 0, "frame_counter": 0}, # control & 0x02
        "frame_control": 0x19,        # 0x03 frame type (0 global, 1 cluster), 0x04 manufacturer,
                                      # 0x08 server to client, 0x10 disable default response
        "manufacturer_code": 0x1234,  # frame_control & 0x04
        "sequence": 0, "command": 6, "command_name": "Publish Snapshot",
        "payload": <payload>}]}

    payload = {"fields": {name: element | [ {name: element} … ] …}}   cluster commands, default response
            | {"attribute_ids": [{"type": "attribute-id", "value": id, "name": "…"}]}    read attributes
            | {"attributes": [{"id": {…attribute-id…}, "status": {"type": "enum8", …}, "data": {…}}]}
                  read attributes response (status, and data when status is 0), write / report
                  attributes (id and data)
            | {"records": [{"status": {…}, "id": {…}}]}                  write attributes response
            | {"raw": {"type": "octet-string", "value": hex}, "error": "…"?}
                  payload whose layout we do not know (no error) or that does not fit its known layout
            | {"encrypted": true, "decrypted": false, "ciphertext": hex}   (blob from 31 through the tag)
            | {"encrypted": true, "decrypted": true, "plaintext": hex, …one of the above…}

Elements are ``{"type", "value", …}`` as :mod:`duisconf.gbcs.zcl` describes. The GBZ header times
(alert time stamp, From-Date-Time) are big-endian seconds since 2000-01-01 and read the same way.

Errors: a malformed envelope raises :class:`~duisconf.errors.InvalidInput` naming the field and the
byte offset from the start of the content; a payload that does not fit its command's layout is kept
raw with an ``error`` (so the rest of the message still reads).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from ..errors import InvalidInput
from . import zcl
from .zcl import Reader

PROFILE_ID = 0x0109

CONTROL_LAST = 0x01
CONTROL_ENCRYPTED = 0x02
CONTROL_FROM_DATE_TIME = 0x10

FC_FRAME_TYPE = 0x03
FC_MANUFACTURER = 0x04
FC_SERVER_TO_CLIENT = 0x08

# Which alert body follows the time stamp: by message code when the caller knows it, else by alert code.
_LAYOUT_BY_MESSAGE_CODE = {
    0x00CD: "future-dated",
    0x00CF: "firmware-distribution-receipt",
    0x008B: "components",
    0x00F2: "meter-integrity-issue",
}
_LAYOUT_BY_ALERT_CODE = {
    0x8F66: "future-dated",
    0x8F67: "future-dated",
    0x8F72: "firmware-distribution-receipt",
    0x8F0A: "components",
    0x81A0: "meter-integrity-issue",
}
_FUTURE_DATED_LENGTH = 14  # message code 2 + originator counter 8 + cluster 2 + frame control 1 + command 1

Decrypt = Callable[[bytes], bytes]
Encrypt = Callable[[bytes], bytes]


# --------------------------------------------------------------------------------------------------
# Decoding


def decode(content: bytes, *, decrypt: Decrypt | None = None, **context: Any) -> dict[str, Any]:
    """Decode GBZ content (see the module docstring for the tree).

    ``context`` may carry ``cra`` ("command" | "response" | "alert") and ``message_code``; without
    ``cra`` a byte >= 0x80 after the component count is read as an alert code (no control field has
    that bit).
    """
    r = Reader(content, "GBZ")
    profile = r.uint(2, "profile id", "big")
    if profile != PROFILE_ID:
        r.fail(f"profile id 0x{profile:04X} is not GBZ's 0x0109", 0)
    count = r.uint(1, "component count")
    cra = context.get("cra")
    is_alert = cra == "alert" if cra is not None else (r.left() > 0 and r.data[r.pos] >= 0x80)
    tree: dict[str, Any] = {"kind": "gbz"}
    if is_alert:
        tree["alert"], tree["components"] = _decode_alert(r, count, context.get("message_code"), decrypt)
        return tree
    tree["components"] = [_decode_component(r, decrypt, i) for i in range(count)]
    if r.left():
        r.fail(f"{r.left()} byte(s) after the last of {count} component(s)")
    return tree


def _decode_alert(r: Reader, count: int, message_code: Any, decrypt: Decrypt | None) -> tuple[dict, list]:
    code = r.uint(2, "alert code", "big")
    alert: dict[str, Any] = {
        "code": {"type": "uint16", "value": code, "name": zcl.alert_name(code)},
        "time_stamp": zcl.utc_element(r.uint(4, "alert time stamp", "big")),
        "component_count": count,
    }
    components: list[dict[str, Any]] = []
    if not r.left():
        alert["layout"] = "none"
        return alert, components
    layout = _LAYOUT_BY_MESSAGE_CODE.get(message_code) if isinstance(message_code, int) else None
    layout = layout or _LAYOUT_BY_ALERT_CODE.get(code)
    start = r.pos
    try:
        if layout == "future-dated":
            alert["future_dated"] = _decode_future_dated(r)
        elif layout == "firmware-distribution-receipt":
            tag, n = r.uint(1, "hash tag"), r.uint(1, "hash length")
            if tag != 0x09 or n >= 0x80:
                r.fail("calculated manufacturer hash is not a short DLMS octet string (09 len …)", start)
            alert["calculated_manufacturer_hash"] = {"type": "octet-string", "value": r.take(n, "hash").hex()}
        elif layout == "meter-integrity-issue":
            other = r.uint(2, "other info", "big")
            alert["other_info"] = {"type": "enum16", "value": other, "name": zcl.tables()["meter_integrity_issues"].get(other)}
        elif layout == "components":
            while r.left():
                components.append(_decode_component(r, decrypt, len(components)))
        else:
            r.fail(f"no known layout for the body of alert 0x{code:04X}")
        if r.left():
            r.fail(f"{r.left()} byte(s) after the alert body")
        alert["layout"] = layout
    except InvalidInput as exc:
        r.pos = start
        for key in ("future_dated", "calculated_manufacturer_hash", "other_info"):
            alert.pop(key, None)
        components = []
        alert.update(layout="raw", raw={"type": "octet-string", "value": r.take(r.left(), "alert body").hex()}, error=str(exc))
    return alert, components


def _decode_future_dated(r: Reader) -> dict[str, Any]:
    at = r.pos
    n = r.uint(1, "future-dated payload length")
    if n != _FUTURE_DATED_LENGTH or r.left() != n:
        r.fail(f"future-dated payload length {n} with {r.left()} byte(s) left (expected {_FUTURE_DATED_LENGTH})", at)
    message_code = r.uint(2, "message code", "big")
    counter = r.uint(8, "originator counter", "big")
    cluster = r.uint(2, "cluster id", "big")
    fc = r.uint(1, "frame control")
    command = r.uint(1, "command id")
    return {
        "message_code": {"type": "uint16", "value": message_code},
        "originator_counter": {"type": "uint64", "value": counter},
        "cluster": cluster,
        "cluster_name": zcl.cluster_name(cluster),
        "frame_control": fc,
        "command": command,
        "command_name": _command_name(cluster, fc, command),
    }


def _command_name(cluster: int, fc: int, command: int) -> str | None:
    frame_type = fc & FC_FRAME_TYPE
    if fc & FC_MANUFACTURER:
        return None
    if frame_type == 0:
        return zcl.global_command_name(command)
    if frame_type == 1:
        spec = zcl.command_spec(cluster, command, bool(fc & FC_SERVER_TO_CLIENT))
        return spec["name"] if spec else None
    return None


def _decode_component(r: Reader, decrypt: Decrypt | None, index: int) -> dict[str, Any]:
    where = f"component {index + 1}"
    control = r.uint(1, f"{where} control field")
    cluster = r.uint(2, f"{where} cluster id", "big")
    length = r.uint(2, f"{where} length", "big")
    body = r.sub(length, f"{where} body ({length} bytes)")
    comp: dict[str, Any] = {"control": control, "cluster": cluster, "cluster_name": zcl.cluster_name(cluster)}
    encrypted = bool(control & CONTROL_ENCRYPTED)
    if encrypted:
        comp["additional_header"] = {
            "control": body.uint(1, f"{where} additional header control"),
            "frame_counter": body.uint(1, f"{where} additional header frame counter"),
        }
    elif control & CONTROL_FROM_DATE_TIME:
        comp["from_date_time"] = zcl.utc_element(body.uint(4, f"{where} From Date Time", "big"))
    fc = body.uint(1, f"{where} ZCL frame control")
    comp["frame_control"] = fc
    if fc & FC_MANUFACTURER:
        comp["manufacturer_code"] = body.uint(2, f"{where} manufacturer code")
    comp["sequence"] = body.uint(1, f"{where} ZCL sequence number")
    command = body.uint(1, f"{where} ZCL command id")
    comp["command"] = command
    comp["command_name"] = _command_name(cluster, fc, command)
    if encrypted:
        n = body.uint(2, f"{where} ciphered information length", "big")
        blob = body.take(n, f"{where} ciphered information")
        if body.left():
            body.fail(f"{body.left()} byte(s) after the ciphered information of {where}")
        comp["payload"] = _decrypted_payload(blob, cluster, fc, command, decrypt, where)
    else:
        comp["payload"] = decode_payload(body, cluster, fc, command)
    return comp


def _decrypted_payload(blob: bytes, cluster: int, fc: int, command: int, decrypt: Decrypt | None, where: str) -> dict:
    if decrypt is not None:
        try:
            plaintext = bytes(decrypt(blob))
        except Exception:  # any failure of the caller's cipher leaves the part undecoded (gbcs.md)
            plaintext = None
        if plaintext is not None:
            inner = decode_payload(Reader(plaintext, f"GBZ {where} decrypted payload"), cluster, fc, command)
            return {"encrypted": True, "decrypted": True, "plaintext": plaintext.hex(), **inner}
    return {"encrypted": True, "decrypted": False, "ciphertext": blob.hex()}


def decode_payload(r: Reader, cluster: int, fc: int, command: int) -> dict[str, Any]:
    """A ZCL payload by frame type, direction, cluster and command; raw when unknown or not fitting."""
    start = r.pos
    try:
        out = _structured_payload(r, cluster, fc, command)
        if out is not None:
            if r.left():
                r.fail(f"{r.left()} byte(s) left over after the payload")
            return out
        error = None
    except InvalidInput as exc:
        error = str(exc)
    r.pos = start
    raw: dict[str, Any] = {"raw": {"type": "octet-string", "value": r.take(r.left(), "payload").hex()}}
    if error:
        raw["error"] = error
    return raw


def _attribute_id(r: Reader, cluster: int) -> dict[str, Any]:
    aid = r.uint(2, "attribute id")
    return {"type": "attribute-id", "value": aid, "name": zcl.attribute_name(cluster, aid)}


def _status(r: Reader) -> dict[str, Any]:
    status = r.uint(1, "status")
    return {"type": "enum8", "value": status, "name": zcl.status_name(status)}


def _typed_value(r: Reader, field: str) -> dict[str, Any]:
    at, tid = r.pos, r.uint(1, f"{field} data type")
    if tid not in zcl.DATA_TYPES:
        r.fail(f"unsupported ZCL data type 0x{tid:02X} for {field}", at)
    return zcl.decode_value(r, zcl.DATA_TYPES[tid][0], field)


def _structured_payload(r: Reader, cluster: int, fc: int, command: int) -> dict[str, Any] | None:
    frame_type = fc & FC_FRAME_TYPE
    if fc & FC_MANUFACTURER or frame_type > 1:
        return None
    if frame_type == 1:
        spec = zcl.command_spec(cluster, command, bool(fc & FC_SERVER_TO_CLIENT))
        if spec is None or "fields" not in spec:
            return None
        return {"fields": zcl.decode_fields(r, spec)}
    if command == 0x00:  # Read Attributes
        ids = []
        while r.left():
            ids.append(_attribute_id(r, cluster))
        return {"attribute_ids": ids}
    if command == 0x01:  # Read Attributes Response
        records = []
        while r.left():
            rec = {"id": _attribute_id(r, cluster), "status": _status(r)}
            if rec["status"]["value"] == 0:
                rec["data"] = _typed_value(r, f"attribute 0x{rec['id']['value']:04X}")
            records.append(rec)
        return {"attributes": records}
    if command in (0x02, 0x03, 0x05, 0x0A):  # Write Attributes (…Undivided, …No Response), Report Attributes
        records = []
        while r.left():
            rec = {"id": _attribute_id(r, cluster)}
            rec["data"] = _typed_value(r, f"attribute 0x{rec['id']['value']:04X}")
            records.append(rec)
        return {"attributes": records}
    if command == 0x04:  # Write Attributes Response: one Success, or status + id per failed attribute
        records = []
        while r.left():
            rec = {"status": _status(r)}
            if rec["status"]["value"] != 0:
                rec["id"] = _attribute_id(r, cluster)
            records.append(rec)
        return {"records": records}
    if command == 0x0B:  # Default Response
        cmd = r.uint(1, "default response command id")
        # The answered command is a cluster command that went the other way.
        spec = zcl.command_spec(cluster, cmd, not fc & FC_SERVER_TO_CLIENT)
        name = spec["name"] if spec else None
        return {"fields": {"command": {"type": "uint8", "value": cmd, "name": name}, "status": _status(r)}}
    return None


# --------------------------------------------------------------------------------------------------
# Encoding


def _int(obj: Any, key: str, lo: int, hi: int, where: str) -> int:
    value = obj.get(key) if isinstance(obj, dict) else None
    if not isinstance(value, int) or isinstance(value, bool) or not lo <= value <= hi:
        raise InvalidInput(f"{where}.{key}: expected an integer in {lo}..{hi}, got {value!r}")
    return value


def _element_int(obj: Any, key: str, bits: int, where: str) -> int:
    element = obj.get(key) if isinstance(obj, dict) else None
    return _int(element, "value", 0, 2**bits - 1, f"{where}.{key}")


def encode(tree: dict[str, Any], *, encrypt: Encrypt | None = None, **context: Any) -> bytes:
    """Encode a GBZ tree (the inverse of :func:`decode`). ``encrypt(plaintext) -> blob`` serves
    decrypted encrypted components; undecrypted ones are written back from their ciphertext."""
    if not isinstance(tree, dict) or tree.get("kind") != "gbz":
        raise InvalidInput("GBZ tree: expected an object with kind 'gbz'")
    components = tree.get("components", [])
    if not isinstance(components, list):
        raise InvalidInput("GBZ tree: components must be a list")
    out = bytearray(PROFILE_ID.to_bytes(2, "big"))
    alert = tree.get("alert")
    if alert is not None:
        out += _encode_alert(alert, components, encrypt)
        return bytes(out)
    if len(components) > 0xFF:
        raise InvalidInput(f"GBZ tree: {len(components)} components do not fit the count byte")
    out.append(len(components))
    for i, comp in enumerate(components):
        out += _encode_component(comp, encrypt, f"components[{i}]")
    return bytes(out)


def _encode_alert(alert: Any, components: list, encrypt: Encrypt | None) -> bytes:
    if not isinstance(alert, dict):
        raise InvalidInput("GBZ tree: alert must be an object")
    out = bytearray([_int(alert, "component_count", 0, 0xFF, "alert")])
    out += _element_int(alert, "code", 16, "alert").to_bytes(2, "big")
    out += zcl.utc_seconds(alert.get("time_stamp") or {}, "alert.time_stamp").to_bytes(4, "big")
    layout = alert.get("layout")
    if layout != "components" and components:
        raise InvalidInput(f"GBZ tree: alert layout {layout!r} carries no components")
    if layout == "none":
        pass
    elif layout == "future-dated":
        fd = alert.get("future_dated")
        w = "alert.future_dated"
        out.append(_FUTURE_DATED_LENGTH)
        out += _element_int(fd, "message_code", 16, w).to_bytes(2, "big")
        out += _element_int(fd, "originator_counter", 64, w).to_bytes(8, "big")
        out += _int(fd, "cluster", 0, 0xFFFF, w).to_bytes(2, "big")
        out += bytes([_int(fd, "frame_control", 0, 0xFF, w), _int(fd, "command", 0, 0xFF, w)])
    elif layout == "firmware-distribution-receipt":
        raw = zcl.encode_value(alert.get("calculated_manufacturer_hash"), "octet-string", "alert.calculated_manufacturer_hash")[1:]
        if len(raw) >= 0x80:
            raise InvalidInput("alert.calculated_manufacturer_hash: longer than 127 bytes")
        out += bytes([0x09, len(raw)]) + raw
    elif layout == "meter-integrity-issue":
        out += _element_int(alert, "other_info", 16, "alert").to_bytes(2, "big")
    elif layout == "components":
        for i, comp in enumerate(components):
            out += _encode_component(comp, encrypt, f"components[{i}]")
    elif layout == "raw":
        out += _raw(alert.get("raw"), "alert.raw")
    else:
        raise InvalidInput(f"alert.layout: unknown layout {layout!r}")
    return bytes(out)


def _encode_component(comp: Any, encrypt: Encrypt | None, where: str) -> bytes:
    if not isinstance(comp, dict):
        raise InvalidInput(f"{where}: expected an object")
    control = _int(comp, "control", 0, 0xFF, where)
    cluster = _int(comp, "cluster", 0, 0xFFFF, where)
    body = bytearray()
    encrypted = bool(control & CONTROL_ENCRYPTED)
    if encrypted:
        ah = comp.get("additional_header")
        w = f"{where}.additional_header"
        body += bytes([_int(ah, "control", 0, 0xFF, w), _int(ah, "frame_counter", 0, 0xFF, w)])
    elif control & CONTROL_FROM_DATE_TIME:
        body += zcl.utc_seconds(comp.get("from_date_time") or {}, f"{where}.from_date_time").to_bytes(4, "big")
    fc = _int(comp, "frame_control", 0, 0xFF, where)
    body.append(fc)
    if fc & FC_MANUFACTURER:
        body += _int(comp, "manufacturer_code", 0, 0xFFFF, where).to_bytes(2, "little")
    command = _int(comp, "command", 0, 0xFF, where)
    body += bytes([_int(comp, "sequence", 0, 0xFF, where), command])
    payload = comp.get("payload")
    if not isinstance(payload, dict):
        raise InvalidInput(f"{where}.payload: expected an object")
    if encrypted:
        if payload.get("encrypted") is not True:
            raise InvalidInput(f"{where}: control field says encrypted but the payload is not marked encrypted")
        if payload.get("decrypted"):
            if encrypt is None:
                raise InvalidInput(f"{where}: a decrypted payload needs an encrypt function to be written")
            blob = bytes(encrypt(encode_payload(payload, cluster, fc, command, f"{where}.payload")))
        else:
            blob = zcl.hex_bytes(payload.get("ciphertext"), f"{where}.payload.ciphertext")
        if len(blob) > 0xFFFF:
            raise InvalidInput(f"{where}: ciphered information longer than 65535 bytes")
        body += len(blob).to_bytes(2, "big") + blob
    else:
        if payload.get("encrypted"):
            raise InvalidInput(f"{where}: payload marked encrypted but the control field has no 0x02 bit")
        body += encode_payload(payload, cluster, fc, command, f"{where}.payload")
    if len(body) > 0xFFFF:
        raise InvalidInput(f"{where}: component body longer than 65535 bytes")
    return bytes([control]) + cluster.to_bytes(2, "big") + len(body).to_bytes(2, "big") + bytes(body)


def _raw(element: Any, where: str) -> bytes:
    return zcl.hex_bytes(element.get("value") if isinstance(element, dict) else None, where)


def _records(payload: dict, key: str, where: str) -> list:
    records = payload.get(key)
    if not isinstance(records, list) or not all(isinstance(x, dict) for x in records):
        raise InvalidInput(f"{where}.{key}: expected a list of objects")
    return records


def _typed_bytes(element: Any, where: str) -> bytes:
    type_name = element.get("type") if isinstance(element, dict) else None
    if type_name not in zcl.TYPE_BY_NAME:
        raise InvalidInput(f"{where}: unknown ZCL data type {type_name!r}")
    return bytes([zcl.TYPE_BY_NAME[type_name][0]]) + zcl.encode_value(element, type_name, where)


def encode_payload(payload: dict[str, Any], cluster: int, fc: int, command: int, where: str) -> bytes:
    """The bytes of a decoded payload (the inverse of :func:`decode_payload`)."""
    if "raw" in payload:
        return _raw(payload["raw"], f"{where}.raw")
    frame_type = fc & FC_FRAME_TYPE
    if frame_type == 1 and not fc & FC_MANUFACTURER:
        spec = zcl.command_spec(cluster, command, bool(fc & FC_SERVER_TO_CLIENT))
        if spec is None or "fields" not in spec:
            raise InvalidInput(f"{where}: command 0x{command:02X} of cluster 0x{cluster:04X} has no known layout; give 'raw'")
        return zcl.encode_fields(payload.get("fields"), spec, f"{where}.fields")
    if frame_type != 0 or fc & FC_MANUFACTURER:
        raise InvalidInput(f"{where}: frame control 0x{fc:02X} has no known payload layout; give 'raw'")
    out = bytearray()
    if command == 0x00:
        for i, aid in enumerate(_records(payload, "attribute_ids", where)):
            out += _element_int({"id": aid}, "id", 16, f"{where}.attribute_ids[{i}]").to_bytes(2, "little")
    elif command in (0x01, 0x02, 0x03, 0x05, 0x0A):
        for i, rec in enumerate(_records(payload, "attributes", where)):
            w = f"{where}.attributes[{i}]"
            out += _element_int(rec, "id", 16, w).to_bytes(2, "little")
            if command == 0x01:
                status = _element_int(rec, "status", 8, w)
                out.append(status)
                if status != 0:
                    if "data" in rec:
                        raise InvalidInput(f"{w}: data given with a non-zero status")
                    continue
            out += _typed_bytes(rec.get("data"), f"{w}.data")
    elif command == 0x04:
        for i, rec in enumerate(_records(payload, "records", where)):
            w = f"{where}.records[{i}]"
            status = _element_int(rec, "status", 8, w)
            out.append(status)
            if status != 0:
                out += _element_int(rec, "id", 16, w).to_bytes(2, "little")
    elif command == 0x0B:
        fields = payload.get("fields")
        out += bytes([_element_int(fields, "command", 8, f"{where}.fields"), _element_int(fields, "status", 8, f"{where}.fields")])
    else:
        raise InvalidInput(f"{where}: global command 0x{command:02X} has no known layout; give 'raw'")
    return bytes(out)


# --------------------------------------------------------------------------------------------------
# Reading helpers


def _payloads(tree: dict[str, Any]) -> Iterator[tuple[dict[str, Any], dict[str, Any]]]:
    for comp in tree.get("components", []):
        payload = comp.get("payload", {})
        if payload.get("encrypted") and not payload.get("decrypted"):
            continue
        yield comp, payload


def attributes(tree: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """(cluster name, attribute name, value element) for every attribute value a GBZ tree carries.

    Covers read-attributes responses (successful records), write and report attributes, in plain and
    decrypted components. Unnamed clusters / attributes come as "0x0702" / "0x0000".
    """
    for comp, payload in _payloads(tree):
        cluster = comp.get("cluster_name") or f"0x{comp.get('cluster', 0):04X}"
        for rec in payload.get("attributes", []):
            if "data" in rec:
                aid = rec["id"]
                yield cluster, aid.get("name") or f"0x{aid['value']:04X}", rec["data"]


def commands(tree: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """(cluster name, command name, fields) for every cluster-specific command and default response."""
    for comp, payload in _payloads(tree):
        if "fields" in payload:
            cluster = comp.get("cluster_name") or f"0x{comp.get('cluster', 0):04X}"
            yield cluster, comp.get("command_name") or f"0x{comp.get('command', 0):02X}", payload["fields"]
