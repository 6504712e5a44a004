"""Write rules/gbcs_shapes.toml: the content shape of every GBCS use case, from DCC's RTDS 4.5.0.

    python tools/gbcs_shapes.py            # (re)write the file
    python tools/gbcs_shapes.py --check    # exit 1 when the committed file is stale

Reads ../shared/dcc-data/gbcs-rtds (GPL data: decoded with duisconf.gbcs and its keystore) and the RTDS
DUIS request templates of @smartdcc/duis-templates. Only facts are written: ids (DLMS class / OBIS /
attribute / method, ZCL cluster / command / attribute, alert codes, result and status codes), types,
lengths and field order. Every value becomes a placeholder (duisconf.gbcs.builder): a reading slot (where
data/readings.toml reads it), a DUIS slot (a command value equal to exactly one element of the paired
DUIS template), a header-derived value, or unnamed.
"""

from __future__ import annotations

import json
import re
import sys
from collections import defaultdict
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from duisconf import paths  # noqa: E402
from duisconf.gbcs import asn1, readings, zcl  # noqa: E402
from duisconf.gbcs.builder import FILL, SHAPES_FILE, duis_values  # noqa: E402
from duisconf.gbcs.keys import KeyDirectory  # noqa: E402
from duisconf.gbcs.message import decode_message  # noqa: E402

RTDS = paths.PROJECT_ROOT.parent / "shared" / "dcc-data" / "gbcs-rtds"
KINDS = ("COMMAND", "PRECOMMAND", "RESPONSE", "ALERT")
_CONTAINERS = ("structure", "array", "SEQUENCE", "SEQUENCE OF", "CHOICE")


def gbcs_use_case(folder_use_case: str) -> str:
    """The GBCS use case of an RTDS folder: 'CS02bSupplierBySupplier' -> 'CS02b', 'CS04ACCritical' ->
    'CS04AC', 'ECS25a1' -> 'ECS25a1', 'ECS47Activate' -> 'ECS47', 'FDRA-DLMS' unchanged."""
    m = re.match(r"^([A-Z]+\d+[a-z]?\d?)(.*)$", folder_use_case)
    if not m:
        return folder_use_case
    base, rest = m[1], re.sub(r"(Critical|NonCritical)$", "", m[2])
    if base[-1].isdigit() and re.fullmatch(r"A\d|AC|A|B|C", rest):
        return base + rest
    return base


def variant_of(path: Path, folder_use_case: str, use_case: str) -> tuple[str, str]:
    """(CRA kind, variant) from DCC's file name: ECS08_2.1_IMMEDIATE_SUCCESS_COMMAND_GBCS.HEX ->
    ("COMMAND", "immediate_success"); a folder suffix (Critical / NonCritical …) is prefixed."""
    words = path.stem.split("_")[2:]
    if words and words[-1] == "GBCS":
        words = words[:-1]
    kind = next(w for w in reversed(words) if w in KINDS)
    words.remove(kind)
    suffix = folder_use_case[len(use_case):]
    if suffix:
        words.insert(0, suffix)
    return kind, "_".join(w.lower() for w in words) or "default"


# --------------------------------------------------------------------------------------------------
# Values -> placeholders


class Skeleton:
    """One message's shape; ``leaves`` pairs each unnamed placeholder with the value it replaced."""

    def __init__(self, header: Any) -> None:
        self.originator = header.originator.hex()
        self.recipient = header.recipient.hex()
        self.counter = header.originator_counter
        self.leaves: list[tuple[dict, Any]] = []

    def typed(self, node: dict) -> Any:
        kind = node["type"]
        if node.get("encrypted"):
            if not node.get("decrypted"):
                raise ValueError("an encrypted part could not be decrypted")
            return {"type": kind, "encrypted": True, "decrypted": True, "data": self.any(node["data"])}
        if kind in _CONTAINERS and "value" in node:
            value = node["value"]
            if kind == "CHOICE":
                return {"type": kind, "choice": node["choice"], "value": self.any(value)}
            if kind == "SEQUENCE":
                return {"type": kind, "value": {k: self.any(v) for k, v in value.items()}}
            out = [self.any(v) for v in value]
            if kind == "structure":
                self.descriptor_facts(value, out)
            return {"type": kind, "value": out}
        if "value" not in node:  # an A-XDR type description: all facts
            return node
        if "obis" in node or kind == "attribute-id" or "name" in node:
            return {k: v for k, v in node.items() if k not in ("hex",)}  # ids and named codes are facts
        return self.placeholder(node)

    def placeholder(self, node: dict) -> dict:
        kind, value = node["type"], node["value"]
        if kind in ("null-data", "NULL"):
            return {"type": kind, "value": None}
        p: dict[str, Any] = {"type": kind, FILL: ""}
        if kind in ("octet-string", "OCTET STRING") and isinstance(value, str):
            if value == self.originator:
                return {"type": kind, "$derive": "originator"}
            if value == self.recipient:
                return {"type": kind, "$derive": "recipient"}
            if len(value) == 18 and int(value[2:], 16) == self.counter:
                return {"type": kind, "$derive": "transaction_id", "prefix": value[:2]}
            p["$len"] = len(value) // 2
            for form in ("date_time", "date", "time"):
                if form in node and kind == "octet-string":
                    p["$form"] = form
        elif kind in ("Certificate", "CertificationRequest"):
            # no default can stand for a certificate or a CSR: the caller must give one
            p[FILL] = {"Certificate": "certificate", "CertificationRequest": "certification_request"}[kind]
            p["$len"] = len(value or "") // 2
        elif kind == "octet-string" and "hex" in node:
            p["$len"] = len(node.get("hex") or value or "") // 2
        elif kind == "BIT STRING":
            p["$len"] = node["length"]
        elif kind == "bit-string":
            p["$len"] = len(value)
        elif kind == "compact-array":
            p["type_description"] = node["type_description"]
        self.leaves.append((p, value if kind != "octet-string" or "date_time" not in node else node["date_time"]))
        return p

    @staticmethod
    def descriptor_facts(items: list[dict], out: list[Any]) -> None:
        """A COSEM attribute descriptor inside data (class long-unsigned, OBIS, attribute integer, data
        index long-unsigned) is ids, not values: keep them."""
        for i, item in enumerate(items):
            if "obis" not in item:
                continue
            if i > 0 and items[i - 1].get("type") == "long-unsigned":
                out[i - 1] = items[i - 1]
            if i + 1 < len(items) and items[i + 1].get("type") == "integer":
                out[i + 1] = items[i + 1]
                if i + 2 < len(items) and items[i + 2].get("type") == "long-unsigned":
                    out[i + 2] = items[i + 2]

    def any(self, node: Any) -> Any:
        if isinstance(node, list):
            return [self.any(v) for v in node]
        if isinstance(node, dict):
            if "type" in node:
                return self.typed(node)
            return {k: self.any(v) for k, v in node.items()}
        return node

    def top(self, tree: dict) -> dict:
        kind = tree["kind"]
        if kind == "dlms":
            out = {k: tree[k] for k in ("kind", "apdu") if k in tree}
            liip = tree["long_invoke_id_and_priority"]
            out["long_invoke_id_and_priority"] = {"$derive": "long_invoke_id", "flags": liip & ~0xFFFFFF}
            out["invoke_id"] = {"$derive": "invoke_id"}
            dt = tree.get("date_time")
            out["date_time"] = None if dt is None else _named(self.typed(dt), "date_time")
            for key in ("requests", "results"):
                if key in tree:
                    out[key] = tree[key]
            if "data" in tree:
                out["data"] = self.any(tree["data"])
            if "body" in tree:
                body = tree["body"]
                items = body.get("value") if body.get("type") == "structure" else None
                if items and items[0].get("type") == "long-unsigned" and "alert" in tree:
                    rest = [self.any(v) for v in items[1:]]
                    if rest and rest[0].get("$form") == "date_time":
                        rest[0][FILL] = "alert.time_stamp"
                    out["body"] = {"type": "structure", "value": [items[0], *rest]}
                else:
                    out["body"] = self.any(body)
            return out
        if kind == "gbz":
            out = {"kind": "gbz", "components": [self.component(c) for c in tree["components"]]}
            if "alert" in tree:
                alert = dict(tree["alert"])
                alert["time_stamp"] = _named(self.typed(alert["time_stamp"]), "alert.time_stamp")
                if "future_dated" in alert:
                    fd = dict(alert["future_dated"])
                    fd["originator_counter"] = _named(self.typed(fd["originator_counter"]),
                                                      "future_dated.originator_counter")
                    fd["message_code"] = fd["message_code"]  # the future-dated command's code: a fact
                    alert["future_dated"] = fd
                out = {"kind": "gbz", "alert": alert, "components": out["components"]}
            return out
        return {k: (self.any(v) if k == "value" else v) for k, v in tree.items()}

    def component(self, comp: dict) -> dict:
        out = {k: v for k, v in comp.items() if k not in ("payload", "from_date_time")}
        if "from_date_time" in comp:
            out["from_date_time"] = self.any(comp["from_date_time"])
        payload = comp["payload"]
        skel: dict[str, Any] = {}
        if payload.get("encrypted"):
            if not payload.get("decrypted"):
                raise ValueError("an encrypted GBZ component could not be decrypted")
            skel.update(encrypted=True, decrypted=True)
        for key, value in payload.items():
            if key in ("encrypted", "decrypted", "plaintext", "ciphertext"):
                continue
            if key == "attributes":
                skel[key] = [{k: (self.any(v) if k == "data" else v) for k, v in rec.items()} for rec in value]
            else:
                skel[key] = self.any(value)
        fields = payload.get("fields")
        if isinstance(fields, dict):
            # a count of a repeated group (number_of_samples …) is structure, as the group's length is
            lengths = {len(v) for v in fields.values() if isinstance(v, list)}
            for k, v in fields.items():
                if isinstance(v, dict) and isinstance(v.get("value"), int) and v["value"] in lengths:
                    skel["fields"][k] = v
            spec = zcl.command_spec(comp["cluster"], comp["command"], bool(comp.get("frame_control", 0) & 0x08))
            if spec and spec.get("switch") in fields:  # the field that chooses the layout is structure
                skel["fields"][spec["switch"]] = fields[spec["switch"]]
        out["payload"] = skel
        return out


def _named(node: Any, name: str) -> Any:
    if isinstance(node, dict) and FILL in node:
        node[FILL] = name
    return node


# --------------------------------------------------------------------------------------------------
# Reading slots (data/readings.toml) and DUIS slots (the paired request template)


def place_readings(use_case: str, tree: dict) -> list[str]:
    placed = []
    for name in readings.names_for(use_case):
        entry = readings.table()["readings"][name]
        spec = entry[use_case]
        convert = readings.convert_for(name, use_case)
        if "dlms" in spec:
            ok = _place_dlms(tree, name, spec["dlms"], convert)
        elif "asn1" in spec:
            ok = _place_asn1(tree, name, spec["asn1"], convert)
        else:
            ok = _place_zcl(tree, name, spec["zcl"], convert)
        if ok:
            placed.append(name)
    return placed


def _at(node: Any, steps: list[int]) -> Any:
    for step in steps:
        children = node.get("value") if isinstance(node, dict) else None
        if not isinstance(children, list) or step >= len(children):
            return None
        node = children[step]
    return node


def _mark(node: Any, name: str, convert: str, **extra: Any) -> bool:
    if not isinstance(node, dict) or node.get("type") in (None, "null-data"):
        return False
    if convert in ("device_log", "join_details", "plain") and node.get("type") in ("array", "structure",
                                                                                 "SEQUENCE OF"):
        each = node["value"][0] if node.get("type") in ("array", "SEQUENCE OF") and node.get("value") else None
        if convert in ("device_log", "join_details") and each is None:
            return False
        template = dict(node)
        node.clear()
        node.update({"type": template["type"], FILL: name, "value": template["value"] if each is None else []})
        if each is not None:
            node["$each"] = each
        return True
    if FILL not in node and "name" in node and isinstance(node.get("value"), int) and convert == "number":
        # a named code kept as a fact (ASN.1 INTEGER with its name) that is a reading: make it a slot
        kind = node["type"]
        node.clear()
        node.update({"type": kind, FILL: name})
        return True
    if FILL not in node:
        if node.get("type") == "structure" and extra.get("$part") == "scaler_unit":
            node.clear()
            node.update({"type": "structure", FILL: name, **extra})
            return True
        return False
    node[FILL] = name
    node.update(extra)
    return True


def _place_dlms(tree: dict, name: str, spec: dict, convert: str) -> bool:
    if tree.get("kind") != "dlms" or "data" not in tree:
        return False
    indexes = spec["index"] if isinstance(spec["index"], list) else [spec["index"]]
    done = False
    for n, index in enumerate(indexes):
        key = {"$key": str(n + 1)} if isinstance(spec["index"], list) else {}
        if index >= len(tree["data"]) or (index < len(tree.get("results") or []) and tree["results"][index]["result"]):
            continue
        node = tree["data"][index]
        if "protected" in spec:
            part = node.get("value", [None])[-1] if node.get("type") == "structure" else None
            if not isinstance(part, dict) or not part.get("encrypted"):
                continue
            data = part["data"]
            node = _at(data, [spec["protected"]]) if data.get("type") in ("structure", "array") else data
        if convert == "register":
            _mark(_at(node, spec["scaler_unit"]), name, convert, **{"$part": "scaler_unit"})
            key = {"$part": "raw"}
        done |= _mark(_at(node, spec.get("path", [])), name, convert, **key)
    return done


def _place_asn1(tree: dict, name: str, spec: dict, convert: str) -> bool:
    if tree.get("kind") != "asn1":
        return False
    node = tree.get("value")
    for step in spec["path"]:
        if not isinstance(node, dict):
            return False
        value = node.get("value")
        if node.get("type") == "CHOICE":
            node = value if node.get("choice") == step else None
        elif isinstance(value, dict):
            node = value.get(step)
        elif isinstance(value, list) and isinstance(step, int) and step < len(value):
            node = value[step]
        else:
            return False
    return _mark(node, name, convert)


def _place_zcl(tree: dict, name: str, spec: dict, convert: str) -> bool:
    if tree.get("kind") != "gbz":
        return False
    if "field" in spec:  # a command's field
        for comp in tree["components"]:
            fields = comp["payload"].get("fields")
            if comp.get("cluster_name") == spec["cluster"] and comp.get("command_name") == spec["command"] \
                    and isinstance(fields, dict):
                return _mark(fields.get(spec["field"]), name, convert)
        return False
    records = {}
    for comp in tree["components"]:
        if comp.get("cluster_name") == spec["cluster"]:
            for rec in comp["payload"].get("attributes", []):
                records[rec["id"].get("name")] = rec.get("data")
    done = _mark(records.get(spec["attribute"]), name, convert, **({"$part": "raw"} if convert == "register" else {}))
    for part in ("multiplier", "divisor", "unit"):
        if part in spec and done:
            _mark(records.get(spec[part]), name, convert, **{"$part": part})
    return done


def _iso(text: str) -> str | None:
    try:
        dt = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=timezone.utc)
    return dt.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def place_duis(skeleton: Skeleton, template: dict[str, str]) -> dict[str, str]:
    """Name each unnamed command value that equals exactly one DUIS element's value (integers other than
    0 and 1, date-times): slot name = element path."""
    by_int: dict[int, list[str]] = defaultdict(list)
    by_time: dict[str, list[str]] = defaultdict(list)
    for path, text in template.items():
        if re.fullmatch(r"-?\d+", text):
            by_int[int(text)].append(path)
        elif "T" in text and (iso := _iso(text)):
            by_time[iso].append(path)
    mapping = {}
    for placeholder, value in skeleton.leaves:
        if placeholder[FILL]:
            continue
        found: list[str] = []
        if isinstance(value, int) and not isinstance(value, bool) and value not in (0, 1):
            found = by_int.get(value, [])
        elif isinstance(value, str) and "T" in value and (iso := _iso(value)):
            found = by_time.get(iso, [])
        if len(found) == 1:
            placeholder[FILL] = found[0]
            mapping[found[0]] = found[0]
    return mapping


# --------------------------------------------------------------------------------------------------
# Generation


def _rtds_tree(path: Path, keys: KeyDirectory, use_case: str) -> tuple[Any, Any, str]:
    data = bytes.fromhex("".join(path.read_text().split()))
    m = decode_message(data, keys, use_case=use_case)
    content, encoding = m.content, m.encoding
    if content is None and m.content_hex:
        # ASN.1 content that does not start with a SEQUENCE: the use case names the type
        content = asn1.decode(bytes.fromhex(m.content_hex), use_case=use_case, cra=m.header.cra.name.lower())
        encoding = "asn1"
    return m, content, encoding


def _templates() -> dict[str, Path]:
    try:
        folder = paths.rtds_templates_dir()
    except Exception:  # noqa: BLE001 - no templates installed: no DUIS slots
        return {}
    return {p.name.removesuffix("_REQUEST_DUIS.XML"): p for p in folder.glob("*_REQUEST_DUIS.XML")}


def generate() -> str:
    keys = KeyDirectory(RTDS / "keystore")
    templates = _templates()
    use_cases: dict[str, dict] = {}
    duis: dict[str, dict[str, str]] = defaultdict(dict)
    skipped: list[str] = []
    for path in sorted((RTDS / "RTDS-4.5.0").glob("*/*.HEX")):
        srv, folder_uc = path.parent.name.split("_", 1)
        uc = gbcs_use_case(folder_uc)
        kind, variant = variant_of(path, folder_uc, uc)
        if kind == "PRECOMMAND":
            continue  # the command's content without signature field: built from the command shape
        message, tree, encoding = _rtds_tree(path, keys, uc)
        if tree is None:
            skipped.append(f"{path.name} (no content)")
            continue
        skel = Skeleton(message.header)
        try:
            shape_tree = skel.top(tree)
        except ValueError as exc:
            skipped.append(f"{path.name} ({exc})")
            continue
        cra = kind.lower()
        slots: list[str] = []
        if cra in ("response", "alert"):
            slots = place_readings(uc, shape_tree)
        stem = path.name.removesuffix("_COMMAND_GBCS.HEX")
        if cra == "command" and stem in templates:
            template_path = templates[stem]
            values = duis_values(template_path.read_bytes())
            request_id = values.get("", "")
            del request_id
            counter = _request_counter(template_path.read_bytes())
            if counter == message.header.originator_counter:
                mapping = place_duis(skel, values)
                duis[uc].update(mapping)
                slots = sorted(mapping)
        encrypted = '"encrypted": true' in json.dumps(shape_tree)
        entry = use_cases.setdefault(uc, {"encoding": encoding, "shapes": []})
        same = next((s for s in entry["shapes"] if s["cra"] == cra and s["tree"] == shape_tree
                     and s["envelope"] == (message.mac != "absent")
                     and s["message_code"] == message.header.message_code), None)
        if same is not None:
            same["aliases"].append(variant)
            same["rtds"].append(path.name)
            if srv not in same["srvs"]:
                same["srvs"].append(srv)
            continue
        entry["shapes"].append({
            "cra": cra, "variant": variant, "aliases": [], "srvs": [srv], "message_code": message.header.message_code,
            "encoding": encoding, "encrypted": encrypted, "envelope": message.mac != "absent", "slots": slots, "rtds": [path.name], "tree": shape_tree,
        })
    return render(use_cases, duis, skipped)


def _request_counter(xml: bytes) -> int | None:
    m = re.search(rb"<(?:\w+:)?RequestID>[^<]*:(\d+)</", xml)
    return int(m[1]) if m else None


# --------------------------------------------------------------------------------------------------
# TOML (tomllib reads it; written here to keep one shape a line)


def _key(k: str) -> str:
    return k if re.fullmatch(r"[A-Za-z0-9_-]+", k) else json.dumps(k)


# names the decoders add beside ids and codes (the encoders never read them): not written
_DERIVED_NAMES = ("class", "instance_name", "attribute_name", "method_name", "cluster_name", "command_name",
                  "result_name", "code_hex")


def _value(v: Any) -> str:
    if v is None:
        return '{ "$null" = true }'
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, str):
        return json.dumps(v)
    if isinstance(v, list):
        return "[" + ", ".join(_value(x) for x in v) + "]"
    if isinstance(v, dict):
        v = {k: x for k, x in v.items() if k not in _DERIVED_NAMES}
        return "{ " + ", ".join(f"{_key(k)} = {_value(x)}" for k, x in v.items()) + " }" if v else "{}"
    raise TypeError(f"cannot write {type(v).__name__} to TOML")


HEADER = """\
# GBCS content shapes: per use case and CRA kind (and variant: success / error / future_dated …), the
# content tree with the facts kept and every value replaced by a placeholder. Generated by
# tools/gbcs_shapes.py from DCC's RTDS 4.5.0 (ids, types and field order only: no RTDS values); read by
# duisconf.gbcs.builder. Do not edit by hand: re-run the tool.
#
# Placeholders: {type, "$fill" = slot name or "" (unnamed: typed default), "$len" (octets), "$form"
# (date_time / date / time), "$part" (register: raw / scaler_unit / multiplier / divisor / unit), "$key"
# (readings with several indexes), "$each" (array entry template)}; envelope: general ciphering with a MAC; {"$derive" = originator | recipient |
# transaction_id | invoke_id | long_invoke_id} from the grouping header; {"$null" = true} is null.
# Slots: readings of src/duisconf/gbcs/data/readings.toml; DUIS element paths ([duis.<use case>]: slot ->
# element path below the request's service element); alert.time_stamp; future_dated.originator_counter.
"""


def render(use_cases: dict[str, dict], duis: dict[str, dict[str, str]], skipped: list[str]) -> str:
    out = [HEADER]
    if skipped:
        out.append("# RTDS messages without a shape: " + "; ".join(skipped) + "\n")
    for uc in sorted(use_cases):
        entry = use_cases[uc]
        out.append(f"\n[use_cases.{_key(uc)}]\nencoding = {_value(entry['encoding'])}\n")
        for s in entry["shapes"]:
            names = [s["variant"], *s["aliases"]]
            preferred = min(names, key=lambda n: ("success" not in n.split("_"), len(n.split("_")), n))
            s["variant"], s["aliases"] = preferred, [n for n in names if n != preferred]
        for s in sorted(entry["shapes"], key=lambda s: (("command", "response", "alert").index(s["cra"]), s["variant"])):
            out.append(f"\n[[use_cases.{_key(uc)}.shapes]]\n")
            for k in ("cra", "variant", "aliases", "srvs", "message_code", "encoding", "encrypted", "envelope", "slots",
                      "rtds"):
                out.append(f"{k} = {_value(s[k])}\n")
            out.append(f"tree = {_value(s['tree'])}\n")
    for uc in sorted(duis):
        if duis[uc]:
            out.append(f"\n[duis.{_key(uc)}]\n")
            for slot, path in sorted(duis[uc].items()):
                out.append(f"{_value(slot)} = {_value(path)}\n")
    return "".join(out)


def target() -> Path:
    return paths.PROJECT_ROOT / "rules" / SHAPES_FILE


def stale(text: str) -> bool:
    return not target().exists() or target().read_text(encoding="utf-8") != text


def main(argv: list[str]) -> int:
    if not (RTDS / "RTDS-4.5.0").is_dir():
        print(f"DCC's RTDS data is absent ({RTDS})", file=sys.stderr)
        return 2
    text = generate()
    if "--check" in argv:
        if stale(text):
            print(f"{target()} is stale: run python tools/gbcs_shapes.py", file=sys.stderr)
            return 1
        return 0
    target().write_text(text, encoding="utf-8")
    print(f"wrote {target()} ({len(text)} bytes)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
