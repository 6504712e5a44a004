"""DLMS content of GBCS messages (ESME, CHF device logs): ACCESS request/response and data-notification.

GBCS carries three DLMS APDUs in the general-signing content; this module decodes each to a JSON-ready
tree and encodes the tree back, byte for byte (``encode(decode(b)) == b``, ``decode(encode(t)) == t``).

Tree shape (``kind`` is always ``"dlms"``; data nodes are :mod:`duisconf.gbcs.axdr` nodes)::

    {"kind": "dlms", "apdu": "access-request",            # D9: commands
     "long_invoke_id_and_priority": 536871913,            # the 4 bytes as one number
     "invoke_id": 1001,                                   # derived: its low 24 bits
     "date_time": None | <octet-string node>,             # 00 = absent, else 0C + 12 bytes
     "requests": [<request spec>, ...],                   # List of Access Request Specification
     "data": [<data node>, ...]}                          # List of Data (parallel to requests)

    {"kind": "dlms", "apdu": "access-response",           # DA: responses
     "long_invoke_id_and_priority": ..., "invoke_id": ..., "date_time": ...,
     "requests": None | [<request spec>, ...],            # the optional echo of the request specs
     "data": [<data node>, ...],                          # List of Access Response Data
     "results": [{"service": "get"|"set"|"action", "result": 0, "result_name": "success"}, ...]}

    {"kind": "dlms", "apdu": "data-notification",         # 0F: alerts
     "long_invoke_id_and_priority": ..., "invoke_id": ..., "date_time": ...,
     "body": <data node>,                                 # GBCS: structure {alert code, time stamp, ...}
     "alert": {"code": 36710, "code_hex": "0x8F66", "name": "...", "time_stamp": "2015-...Z"}}  # derived

A request spec is ``{"service": "get"|"set"|"action"|"get-with-selection"|"set-with-selection",
"class_id": 3, "class": "Register", "instance": "1-0:1.8.0.255", "instance_name": "...",
"attribute": 2, "attribute_name": "value"}`` (ACTION: ``method`` / ``method_name`` instead of the
attribute); with selection it adds ``access_selector`` (int) and ``access_parameters`` (data node).
OBIS codes are written ``A-B:C.D.E.F``. Names come from ``data/dlms.toml`` and are derived: the encoder
reads only the numbers (``class_id``, ``instance``, ``attribute``/``method``, ``result``, ...).

Encrypted parts: an ESME protected-attributes result (ECS17b/d/e, ECS19, ECS20b/c, ECS21a/b, ECS22b,
ECS66, and the billing-data-log alert) is a structure {protection parameters, protected attributes};
the protected attributes are an octet string holding ``31 00000000`` + ciphertext + 12-byte tag. That
octet string's node gets ``encrypted: true`` and ``ciphertext`` (its bytes), and, once ``decrypt(blob)``
succeeds, ``decrypted: true``, ``plaintext`` (hex) and ``data`` (the plaintext as an A-XDR data node).
The part is found by its shape (DLMS Data Protection's protection-parameters structure), not by message
code, so a reader of the RTDS and a reader of a real meter take the same path.

:func:`items` pairs request specs with their data and results so a step can ask "the value of
1-0:1.8.0.255 attribute 2"; for a data-protection ``get protected attributes`` it expands the
protected list into the individual attributes.
"""

from __future__ import annotations

import functools
import tomllib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from importlib import resources
from typing import Any

from ..errors import InvalidInput
from .axdr import Reader, decode_body, decode_data, encode_data, encode_length, obis_bytes, obis_text

ACCESS_REQUEST = 0xD9
ACCESS_RESPONSE = 0xDA
DATA_NOTIFICATION = 0x0F
APDU_NAMES = {ACCESS_REQUEST: "access-request", ACCESS_RESPONSE: "access-response", DATA_NOTIFICATION: "data-notification"}
APDU_TAGS = {v: k for k, v in APDU_NAMES.items()}

# Access-Request-Specification CHOICE (DLMS Green Book, ACCESS service)
_REQUEST_CHOICES = {1: "get", 2: "set", 3: "action", 4: "get-with-selection", 5: "set-with-selection"}
_REQUEST_TAGS = {v: k for k, v in _REQUEST_CHOICES.items()}
_RESPONSE_CHOICES = {1: "get", 2: "set", 3: "action"}
_RESPONSE_TAGS = {v: k for k, v in _RESPONSE_CHOICES.items()}

SECURITY_HEADER = b"\x31\x00\x00\x00\x00"  # gbcs.md: inner header of an encrypted part
_TAG_LENGTH = 12
DATA_PROTECTION_CLASS = 30
GET_PROTECTED_ATTRIBUTES = 1


# --------------------------------------------------------------------------------------------------
# Names (data/dlms.toml)


@functools.cache
def names() -> dict[str, Any]:
    """The COSEM name tables: classes (attributes, methods), objects by OBIS code, alerts, results."""
    text = resources.files(__package__).joinpath("data/dlms.toml").read_text(encoding="utf-8")
    data = tomllib.loads(text)
    classes = {int(k): v for k, v in data.get("classes", {}).items()}
    objects = {(int(c), obis): name for c, table in data.get("objects", {}).items() for obis, name in table.items()}
    alerts = {int(k, 16): v for k, v in data.get("alerts", {}).items()}
    results = {k: {int(n): v for n, v in table.items()} for k, table in data.get("results", {}).items()}
    return {"classes": classes, "objects": objects, "alerts": alerts, "results": results}


def class_name(class_id: int) -> str | None:
    entry = names()["classes"].get(class_id)
    return entry["name"] if entry else None


def object_name(class_id: int, obis: str) -> str | None:
    return names()["objects"].get((class_id, obis))


def attribute_name(class_id: int, attribute: int) -> str | None:
    if attribute == 1:
        return "logical_name"
    entry = names()["classes"].get(class_id)
    attrs = entry.get("attributes", []) if entry else []
    return attrs[attribute - 2] if 2 <= attribute < len(attrs) + 2 else None


def method_name(class_id: int, method: int) -> str | None:
    entry = names()["classes"].get(class_id)
    methods = entry.get("methods", []) if entry else []
    return methods[method - 1] if 1 <= method <= len(methods) else None


def alert_name(code: int) -> str | None:
    return names()["alerts"].get(code)


# --------------------------------------------------------------------------------------------------
# Decoding


def decode(content: bytes, *, decrypt: Callable[[bytes], bytes] | None = None, **context: Any) -> dict[str, Any]:
    """A GBCS DLMS content APDU (D9 / DA / 0F) as a tree (see the module docstring).

    ``decrypt(blob)`` is called for each protected-attributes part (blob from ``31`` through the tag);
    ``context`` (use_case, cra, message_code) is accepted for the common codec interface and not needed.
    """
    if not isinstance(content, (bytes, bytearray)):
        raise InvalidInput(f"DLMS content must be bytes, got {type(content).__name__}")
    r = Reader(content, "DLMS content")
    at, tag = 0, r.byte("APDU tag")
    apdu = APDU_NAMES.get(tag)
    if apdu is None:
        r.fail(
            f"APDU tag 0x{tag:02X} is not a DLMS access request (D9), access response (DA) "
            "or data-notification (0F)",
            at,
        )
    invoke = r.uint(4, "long-invoke-id-and-priority")
    tree: dict[str, Any] = {
        "kind": "dlms",
        "apdu": apdu,
        "long_invoke_id_and_priority": invoke,
        "invoke_id": invoke & 0xFFFFFF,
        "date_time": _decode_date_time(r),
    }
    if tag == ACCESS_REQUEST:
        tree["requests"] = _sequence(r, "access request specification", _decode_request_spec)
        tree["data"] = _sequence(r, "access request data", decode_data)
    elif tag == ACCESS_RESPONSE:
        at, present = r.pos, r.byte("access request specification presence")
        if present not in (0, 1):
            r.fail(f"bad optional-field flag 0x{present:02X} for the access request specification (00 or 01)", at)
        tree["requests"] = _sequence(r, "access request specification", _decode_request_spec) if present else None
        tree["data"] = _sequence(r, "access response data", decode_data)
        tree["results"] = _sequence(r, "access response specification", _decode_response_spec)
    else:
        tree["body"] = decode_data(r)
        alert = _alert_summary(tree["body"])
        if alert:
            tree["alert"] = alert
    r.end(apdu)
    _find_protected(tree, decrypt)
    return tree


def _decode_date_time(r: Reader) -> dict[str, Any] | None:
    at = r.pos
    length = r.length("date-time length")
    if length == 0:
        return None
    r.pos = at  # the same octet-string body as in data, without the tag
    return decode_body(r, "octet-string")


def _sequence(r: Reader, field: str, read: Callable[[Reader], Any]) -> list[Any]:
    at = r.pos
    count = r.length(f"{field} count")
    if count > r.left():
        r.fail(f"{field} count {count} exceeds the {r.left()} byte(s) left", at)
    return [read(r) for _ in range(count)]


def _decode_request_spec(r: Reader) -> dict[str, Any]:
    at, choice = r.pos, r.byte("access request specification choice")
    service = _REQUEST_CHOICES.get(choice)
    if service is None:
        r.fail(f"unknown access request specification choice {choice} (1 get .. 5 set-with-selection)", at)
    spec: dict[str, Any] = {"service": service}
    class_id = r.uint(2, "class id")
    obis = obis_text(r.take(6, "instance id"))
    spec.update(class_id=class_id, **{"class": class_name(class_id)})
    spec.update(instance=obis, instance_name=object_name(class_id, obis))
    if service == "action":
        spec["method"] = r.byte("method id")
        spec["method_name"] = method_name(class_id, spec["method"])
    else:
        spec["attribute"] = r.byte("attribute id")
        spec["attribute_name"] = attribute_name(class_id, spec["attribute"])
    if service.endswith("-with-selection"):
        spec["access_selector"] = r.byte("access selector")
        spec["access_parameters"] = decode_data(r)
    return spec


def _decode_response_spec(r: Reader) -> dict[str, Any]:
    at, choice = r.pos, r.byte("access response specification choice")
    service = _RESPONSE_CHOICES.get(choice)
    if service is None:
        r.fail(f"unknown access response specification choice {choice} (1 get, 2 set, 3 action)", at)
    result = r.byte(f"{service} result")
    table = names()["results"].get("action" if service == "action" else "data_access", {})
    return {"service": service, "result": result, "result_name": table.get(result)}


def _alert_summary(body: dict[str, Any]) -> dict[str, Any] | None:
    """GBCS alerts: a structure whose first element is the alert code, the second its time stamp."""
    items = body.get("value") if body["type"] == "structure" else None
    if not items or items[0]["type"] != "long-unsigned":
        return None
    code = items[0]["value"]
    alert: dict[str, Any] = {"code": code, "code_hex": f"0x{code:04X}", "name": alert_name(code)}
    if len(items) > 1 and items[1]["type"] == "octet-string":
        alert["time_stamp"] = items[1].get("date_time")
    return alert


# --------------------------------------------------------------------------------------------------
# Protected attributes (encrypted parts)


def _type(node: Any) -> Any:
    return node.get("type") if isinstance(node, dict) else None


def _children(node: Any) -> list[Any]:
    value = node.get("value") if isinstance(node, dict) else None
    return value if isinstance(value, list) else []


def _is_protection_parameters(node: Any) -> bool:
    """DLMS Data Protection protection_parameters: structure {protection_type enum, protection_options structure}."""
    items = _children(node)
    if _type(node) != "structure" or len(items) != 2:
        return False
    return _type(items[0]) == "enum" and _type(items[1]) == "structure" and len(_children(items[1])) == 5


def _is_protection_list(node: Any) -> bool:
    if _type(node) == "array":
        return bool(_children(node)) and all(_is_protection_parameters(p) for p in _children(node))
    return _is_protection_parameters(node)


def _protected_parts(node: Any) -> Iterator[dict[str, Any]]:
    """Every protected-attributes octet string in a data tree.

    GBCS writes them as two neighbours in a structure: the protection parameters (an array of DLMS
    protection-parameters structures) and then the octet string ``31 ...`` (ESME responses: the
    structure is the whole result; the billing-data-log alert: the alert body's last two elements).
    Malformed nodes are skipped here; the encoder reports them.
    """
    if _type(node) not in ("structure", "array", "compact-array"):
        return
    items = _children(node)
    for i, item in enumerate(items):
        if _is_protected_at(node, items, i):
            yield item
        else:
            yield from _protected_parts(item)


def _is_protected_at(node: Any, items: list[Any], i: int) -> bool:
    """Whether `items[i]`, a child of `node`, is a protected-attributes octet string (see above)."""
    item = items[i]
    return (_type(node) == "structure" and i > 0 and _type(item) == "octet-string"
            and _is_protection_list(items[i - 1])
            and bool(item.get("encrypted") or _looks_encrypted(item.get("value"))))


def _looks_encrypted(hex_value: Any) -> bool:
    return isinstance(hex_value, str) and hex_value.startswith(SECURITY_HEADER[:1].hex()) and len(hex_value) >= 2 * (len(SECURITY_HEADER) + _TAG_LENGTH)


def _data_roots(tree: dict[str, Any]) -> list[Any]:
    if tree.get("apdu") == "data-notification":
        return [tree.get("body")]
    data = tree.get("data")
    return list(data) if isinstance(data, list) else []


def _find_protected(tree: dict[str, Any], decrypt: Callable[[bytes], bytes] | None) -> None:
    for root in _data_roots(tree):
        for part in _protected_parts(root):
            blob = part["value"]
            part.update(encrypted=True, decrypted=False, ciphertext=blob)
            if decrypt is None:
                continue
            try:
                plain = decrypt(bytes.fromhex(blob))
            except Exception:  # noqa: BLE001 - any decryption failure leaves the part undecoded (gbcs.md)
                continue
            if not isinstance(plain, (bytes, bytearray)):
                continue
            part.update(decrypted=True, plaintext=bytes(plain).hex())
            pr = Reader(plain, "DLMS protected attributes (plaintext)")
            try:
                data = decode_data(pr)
                pr.end("protected attributes data")
            except InvalidInput as exc:
                part["error"] = str(exc)  # keep the plaintext; the tree stays lossless
                continue
            part["data"] = data


# --------------------------------------------------------------------------------------------------
# Encoding


def encode(tree: dict[str, Any], *, encrypt: Callable[[bytes], bytes] | None = None, **context: Any) -> bytes:
    """The exact inverse of :func:`decode`. Decrypted protected parts are re-encrypted with
    ``encrypt(plaintext) -> blob``; without ``encrypt`` their recorded ciphertext is written back as
    long as the data still matches the recorded plaintext."""
    if not isinstance(tree, dict) or tree.get("kind") != "dlms":
        raise InvalidInput("DLMS tree: expected a dict with kind 'dlms'")
    apdu = tree.get("apdu")
    tag = APDU_TAGS.get(apdu) if isinstance(apdu, str) else None
    if tag is None:
        raise InvalidInput(f"DLMS tree: unknown apdu {tree.get('apdu')!r}")
    invoke = tree.get("long_invoke_id_and_priority")
    if isinstance(invoke, bool) or not isinstance(invoke, int) or not 0 <= invoke <= 0xFFFFFFFF:
        raise InvalidInput(f"DLMS tree: long_invoke_id_and_priority must be in 0..2^32-1, got {invoke!r}")
    out = bytearray([tag]) + invoke.to_bytes(4, "big")
    dt = tree.get("date_time")
    if dt is None:
        out += b"\x00"
    else:
        raw = _octets(dt, "date_time")
        if not raw:
            raise InvalidInput("DLMS tree: an empty date_time is written as null")
        out += encode_length(len(raw)) + raw
    tree = _with_ciphertexts(tree, encrypt)
    if tag == ACCESS_REQUEST:
        out += _encode_list(tree, "requests", _encode_request_spec)
        out += _encode_list(tree, "data", encode_data)
    elif tag == ACCESS_RESPONSE:
        if tree.get("requests") is None:
            out += b"\x00"
        else:
            out += b"\x01" + _encode_list(tree, "requests", _encode_request_spec)
        out += _encode_list(tree, "data", encode_data)
        out += _encode_list(tree, "results", _encode_response_spec)
    else:
        if "body" not in tree:
            raise InvalidInput("DLMS tree: a data-notification needs 'body'")
        out += encode_data(tree["body"], "body")
    return bytes(out)


def _octets(node: Any, where: str) -> bytes:
    if not isinstance(node, dict) or node.get("type") != "octet-string":
        raise InvalidInput(f"DLMS tree: {where} must be an octet-string node")
    try:
        return bytes.fromhex(node["value"])
    except (KeyError, TypeError, ValueError):
        raise InvalidInput(f"DLMS tree: {where} value must be hex") from None


def _encode_list(tree: dict[str, Any], key: str, write: Callable[[Any, str], bytes]) -> bytes:
    items = tree.get(key)
    if not isinstance(items, list):
        raise InvalidInput(f"DLMS tree: {key!r} must be a list")
    return encode_length(len(items)) + b"".join(write(item, f"{key}[{i}]") for i, item in enumerate(items))


def _byte(value: Any, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 255:
        raise InvalidInput(f"DLMS tree: {where} must be an integer in 0..255, got {value!r}")
    return value


def _encode_request_spec(spec: Any, where: str) -> bytes:
    if not isinstance(spec, dict):
        raise InvalidInput(f"DLMS tree: {where} must be an object")
    service = spec.get("service")
    choice = _REQUEST_TAGS.get(service) if isinstance(service, str) else None
    if choice is None:
        raise InvalidInput(f"DLMS tree: {where}.service must be one of {sorted(_REQUEST_TAGS)}")
    class_id = spec.get("class_id")
    if isinstance(class_id, bool) or not isinstance(class_id, int) or not 0 <= class_id <= 0xFFFF:
        raise InvalidInput(f"DLMS tree: {where}.class_id must be in 0..65535, got {class_id!r}")
    out = bytes([choice]) + class_id.to_bytes(2, "big") + obis_bytes(spec.get("instance"))  # type: ignore[arg-type]
    key = "method" if spec["service"] == "action" else "attribute"
    out += bytes([_byte(spec.get(key), f"{where}.{key}")])
    if spec["service"].endswith("-with-selection"):
        out += bytes([_byte(spec.get("access_selector"), f"{where}.access_selector")])
        out += encode_data(spec.get("access_parameters"), f"{where}.access_parameters")
    return out


def _encode_response_spec(spec: Any, where: str) -> bytes:
    if not isinstance(spec, dict) or not isinstance(spec.get("service"), str) or spec["service"] not in _RESPONSE_TAGS:
        raise InvalidInput(f"DLMS tree: {where}.service must be one of {sorted(_RESPONSE_TAGS)}")
    return bytes([_RESPONSE_TAGS[spec["service"]], _byte(spec.get("result"), f"{where}.result")])


def _with_ciphertexts(tree: dict[str, Any], encrypt: Callable[[bytes], bytes] | None) -> dict[str, Any]:
    """The tree with each protected part's ``value`` the ciphertext to write: new dicts and lists along
    the paths to the parts only (the rest is shared, never changed), the tree itself untouched."""
    def ciphertext(part: dict[str, Any]) -> dict[str, Any]:
        if not part.get("decrypted"):
            return {**part, "value": part["ciphertext"]} if "ciphertext" in part else part
        if "data" in part:
            plain = encode_data(part["data"], "protected attributes data")
        else:
            plain = _hex_field(part, "plaintext")
        if encrypt is not None:
            blob = encrypt(plain)
            if not isinstance(blob, (bytes, bytearray)) or not bytes(blob).startswith(SECURITY_HEADER[:1]):
                raise InvalidInput("DLMS protected attributes: encrypt() must return 31 + header + ciphertext + tag")
            return {**part, "value": bytes(blob).hex()}
        if plain == _hex_field(part, "plaintext") and "ciphertext" in part:
            return {**part, "value": part["ciphertext"]}
        raise InvalidInput("DLMS protected attributes changed: encoding them needs encrypt()")

    def rewritten(node: Any) -> Any:  # as _protected_parts walks
        if _type(node) not in ("structure", "array", "compact-array"):
            return node
        items = _children(node)
        changed: list[Any] | None = None
        for i, item in enumerate(items):
            new = ciphertext(item) if _is_protected_at(node, items, i) else rewritten(item)
            if new is not item:
                if changed is None:
                    changed = list(items)
                changed[i] = new
        return node if changed is None else {**node, "value": changed}

    if tree.get("apdu") == "data-notification":
        body = rewritten(tree.get("body"))
        return tree if body is tree.get("body") else {**tree, "body": body}
    data = tree.get("data")
    if not isinstance(data, list):
        return tree
    roots = [rewritten(root) for root in data]
    return tree if all(new is old for new, old in zip(roots, data)) else {**tree, "data": roots}


def _hex_field(node: dict[str, Any], key: str) -> bytes:
    try:
        return bytes.fromhex(node[key])
    except (KeyError, TypeError, ValueError):
        raise InvalidInput(f"DLMS protected attributes: {key} must be hex") from None


# --------------------------------------------------------------------------------------------------
# Reading API


@dataclass(frozen=True)
class Item:
    """One COSEM attribute or method touched by an ACCESS request/response, with its data and result."""

    service: str
    class_id: int | None
    obis: str | None
    attribute: int | None  # attribute id (get/set) or method id (action)
    data: dict[str, Any] | None  # the data node (request: set value / action parameter; response: result data)
    result: int | None = None  # response only: data-access-result / action-result (0 = success)
    protected: bool = False  # True when the item was expanded from a get-protected-attributes result


def items(tree: dict[str, Any], request: dict[str, Any] | None = None) -> Iterator[Item]:
    """The (class id, OBIS, attribute/method, data) items of an ACCESS request or response.

    A response usually omits the request specs: pass the matching request (its decoded tree) as
    ``request``. For a Data Protection ``get_protected_attributes`` action whose result has been
    decrypted, the protected attributes are yielded one by one (their descriptors come from the
    request's action parameter), so "1-0:1.8.0.255 attribute 2" is found whether protected or not.
    """
    if tree.get("apdu") not in ("access-request", "access-response"):
        return
    specs = tree.get("requests") or (request or {}).get("requests") or []
    data = tree.get("data") or []
    results = tree.get("results") or []
    req_data = (request or {}).get("data") or (tree.get("data") if tree.get("apdu") == "access-request" else [])
    count = max(len(specs), len(data), len(results))
    for i in range(count):
        spec = specs[i] if i < len(specs) else {}
        node = data[i] if i < len(data) else None
        result = results[i]["result"] if i < len(results) else None
        service = spec.get("service") or (results[i]["service"] if i < len(results) else "unknown")
        yield Item(
            service,
            spec.get("class_id"),
            spec.get("instance"),
            spec.get("method", spec.get("attribute")),
            node,
            result,
        )
        if (
            tree.get("apdu") == "access-response"
            and spec.get("class_id") == DATA_PROTECTION_CLASS
            and spec.get("method") == GET_PROTECTED_ATTRIBUTES
        ):
            param = req_data[i] if i < len(req_data) else None
            yield from _protected_items(param, node)


def _protected_items(param: Any, result: Any) -> Iterator[Item]:
    """Pair the protected object list of the request with the decrypted values of the response."""
    descriptors = _protected_descriptors(param)
    values = _protected_values(result)
    if descriptors is None or values is None:
        return
    for desc, value in zip(descriptors, values):
        yield Item("get", desc[0], desc[1], desc[2], value, None, True)


def _protected_descriptors(param: Any) -> list[tuple[int, str, int]] | None:
    # action parameter: structure {array of {class_id, logical_name, attribute_index, data_index}, params}
    try:
        objects = param["value"][0]["value"]
        return [(o["value"][0]["value"], obis_text(bytes.fromhex(o["value"][1]["value"])), o["value"][2]["value"]) for o in objects]
    except (AttributeError, KeyError, IndexError, TypeError, ValueError, InvalidInput):
        return None


def _protected_values(result: Any) -> list[dict[str, Any]] | None:
    parts = list(_protected_parts(result)) if isinstance(result, dict) else []
    if len(parts) != 1 or "data" not in parts[0]:
        return None
    data = parts[0]["data"]
    return _children(data) if _type(data) in ("array", "structure") else [data]


def value_of(tree: dict[str, Any], obis: str, attribute: int, request: dict[str, Any] | None = None) -> Any:
    """The data node of the first item naming ``obis`` / ``attribute``, or None."""
    for item in items(tree, request):
        if item.obis == obis and item.attribute == attribute and item.service != "action":
            return item.data
    return None
