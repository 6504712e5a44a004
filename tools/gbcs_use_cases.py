"""Generate rules/gbcs_use_cases.toml: GBCS message code -> use case, CRA kinds, content encoding, devices.

Sources, all read when the tool runs (nothing of theirs is copied into the output but numbers, names
and flags):

* DCC's `dist/gbcs-mapping-table.json` in `@smartdcc/duis-templates` (node_modules): use-case names
  (short titles), message types (command/response or alert) and service references.
* The message-code numbers of DCC's gbcs-parser (`src/util.ts`, GPL-3.0, read for facts): transcribed
  below as `PARSER_CODES`, numbers and use-case names only.
* DCC's RTDS 4.5.0 (`../shared/dcc-data/gbcs-rtds/RTDS-4.5.0/<SRV>_<use case>/*.HEX`): for every message
  its message code (from the frame), CRA kind (file name), content encoding (first content bytes),
  payload encryption (the inner security header `31 00000000`), device (originator of a response or
  alert, recipient of a command, typed through rules/reference_identities.toml) and alert code (the
  four hex digits of an alert's file name).

    python tools/gbcs_use_cases.py           # rewrite rules/gbcs_use_cases.toml
    python tools/gbcs_use_cases.py --check   # exit 1 when the committed file is out of date
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import tomllib
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from duisconf import paths  # noqa: E402
from duisconf.gbcs import GeneralCiphering, GeneralSigning  # noqa: E402
from duisconf.gbcs import decode as decode_frame  # noqa: E402

OUTPUT = ROOT / "rules" / "gbcs_use_cases.toml"
RTDS = ROOT.parent / "shared" / "dcc-data" / "gbcs-rtds" / "RTDS-4.5.0"
MAPPING_TABLE = "dist/gbcs-mapping-table.json"

# gbcs-parser src/util.ts `messageCodes`: message code -> use-case name (the first word of its label).
# Labels without a use-case word (alerts that belong to no single use case) are named in ALERT_NAMES.
PARSER_CODES = """
0001 CCS01  0002 CCS02  0003 CCS03  0007 CS01a  0008 CS02a  000A CS02c  000B CS02d  000C CS02e
000D CS03A1 000E CS03B  000F CS04AC 0010 CS04B  0012 CS06   0013 CS07   0014 CS10a  0015 CS11
0018 CS14   0019 ECS01a 001A ECS02  001B ECS03  001C ECS04a 001D ECS05  001E ECS07  001F ECS08
0020 ECS09  0021 ECS10  0022 ECS12  0023 ECS14  0024 ECS15a 0025 ECS16  0026 ECS17a 0027 ECS17b
0028 ECS17c 0029 ECS17d 002A ECS17e 002B ECS18a 002C ECS18b 002D ECS19  002E ECS20a 002F ECS20b
0030 ECS20c 0033 ECS21a 0034 ECS21b 0035 ECS21c 0036 ECS22a 0037 ECS22b 0038 ECS22c 0039 ECS23
003A ECS24  003B ECS26a 003C ECS26b 003D ECS26c 003E ECS26d 003F ECS26e 0040 ECS26f 0042 ECS27
0043 ECS28a 0044 ECS28b 0045 ECS29a 0046 ECS30  0047 ECS34  0048 ECS35a 0049 ECS35b 004A ECS37
004B ECS38  004C ECS39a 004D ECS39b 004E ECS40  004F ECS42  0050 ECS43  0051 ECS44  0052 ECS45
0053 ECS46a 0054 ECS46c 0055 ECS47  0058 ECS50  0059 ECS52  005A ECS57  005E ECS61c 005F ECS62
0060 ECS66  0061 ECS68  0062 ECS70  0067 ECS80  0068 ECS81  0069 ECS82  006B GCS01a 006C GCS02
006D GCS03  006E GCS04  006F GCS05  0070 GCS06  0071 GCS07  0072 GCS09  0073 GCS11  0074 GCS13a
0075 GCS14  0076 GCS15c 0077 GCS16a 0078 GCS17  0079 GCS18  007B GCS21a 007C GCS23  007D GCS24
007E GCS25  007F GCS28  0080 GCS31  0081 GCS32  0082 GCS33  0083 GCS36  0084 GCS38  0085 GCS39
0086 GCS40a 0087 GCS41  0088 GCS44  0089 GCS46  008B GCS53  008C GCS59  008D GCS60  0090 PCS02
0092 ECS26i 0093 ECS35c 0094 ECS35d 0096 GCS16b 0097 CS01b  009B PCS01  009D GCS21d 009E GCS21e
009F GCS21f 00A0 GCS61  00A1 CS10b  00A2 ECS01b 00A3 GCS01b 00AB CS03A2 00AC ECS25a 00AD GCS20
00AE ECS29b 00AF CS03C  00B0 ECS25b 00B2 GCS62  00B3 ECS04b 00B4 GCS40b 00B5 GCS21b 00B6 GCS13c
00B7 ECS01c 00B8 GCS13b 00B9 ECS35e 00BA ECS35f 00BB ECS61a 00BC ECS23b 00BD ECS24b 00BE ECS26j
00BF GCS21j 00C0 GCS40c 00C1 ECS15c 00C2 GCS40d 00C3 GCS15b 00C4 GCS15d 00C5 GCS15e 00C6 ECS26k
00C7 ECS01d 00C9 ECS20d 00D1 ECS29c 00D2 ECS29d 00D3 ECS29e 00D4 ECS29f 00D7 ECS30a 00D8 GCS25a
00D9 ECS26l 00DA GCS21k 00DB ECS48  00DE ECS08a 00EA ECS25a1 00EB ECS25a2 00EC ECS25a3
00ED ECS25b3 00EE ECS25r1 00EF ECS25r2 00F1 GCS20r 00F9 ECS26m 00FA ECS26n 00FB GCS21m 00FC GCS24a
00FD ECS35g 00FE CCS07  0100 CS02b  0101 CS02b  0102 CS02b  0103 CS02b  0104 CS02b  0105 CS02b
0106 CS02b  0107 CS02b  0108 CS02b  0109 CS02b  010A DBCH01 010B DBCH02 010C DBCH03 010D DBCH04
010E DBCH05 010F CCS06  0110 DBCH06 0111 DBCH07 0112 DBCH08 0113 DBCH09 0114 DBCH10 0115 DBCH11
0116 PECS01 0117 PECS02 0118 PECS03 0119 HECS01 0128 CCS08  0129 CS08
"""

# Alert message codes that are no use case of their own. Names taken from the RTDS folder names where
# the RTDS has a folder for them (FDRA, GCA, GNCA, MIIWA); the others are duisconf's acronyms of the
# alert's name in the same style. Titles are short names, ours.
ALERT_NAMES = {
    0x00CA: ("FDFAA", "Future-dated firmware activation alert"),
    0x00CB: ("FDUSCA", "Future-dated update security credentials alert"),
    0x00CC: ("FDEIA-DLMS", "Future-dated execution of instruction alert (DLMS)"),
    0x00CD: ("FDEIA-ZigBee", "Future-dated execution of instruction alert (GBZ)"),
    0x00CE: ("FDRA-DLMS", "Firmware distribution receipt alert (ESME)"),
    0x00CF: ("FDRA-ZigBee", "Firmware distribution receipt alert (GSME)"),
    0x00D5: ("FDRPMA", "Failure to deliver remote party message to ESME alert"),
    0x00F0: ("MIIWA-DLMS", "Meter integrity issue warning alert (ESME)"),
    0x00F2: ("MIIWA-ZigBee", "Meter integrity issue warning alert (GSME)"),
    0x1000: ("GCA", "Generic critical alert"),
    0x1001: ("GNCA", "Generic non-critical alert"),
}

# Device types by use-case name prefix, for codes the RTDS has no message of (longest prefix wins).
PREFIX_DEVICES = {
    "ECS": ["ESME"], "PECS": ["ESME"], "HECS": ["ESME"], "GCS": ["GSME"], "PCS": ["GSME"],
    "CCS": ["CHF"], "DBCH": ["CHF"],
}  # fmt: skip
KIND_TO_CRA = {"COMMAND": "command", "PRECOMMAND": "command", "RESPONSE": "response", "ALERT": "alert"}
ENCRYPTED_HEADER = bytes.fromhex("3100000000")  # GBCS payload-encryption security header (gbcs.md)


def parser_codes() -> dict[int, str]:
    words = PARSER_CODES.split()
    return {int(code, 16): name for code, name in zip(words[::2], words[1::2])}


def content_encoding(content: bytes) -> str:
    """GBCS content encoding from the first bytes: DLMS (ACCESS D9/DA, data-notification 0F), GBZ, ASN.1."""
    if content[:1] in (b"\xd9", b"\xda", b"\x0f"):
        return "dlms"
    if content[:2] == b"\x01\x09":
        return "gbz"
    if content[:1] in (b"\x30", b"\x02", b"\x04", b"\x05"):  # SEQUENCE, INTEGER, OCTET STRING, NULL
        return "asn1"
    return "unknown"


@dataclass(frozen=True)
class RtdsMessage:
    folder: str
    file: str
    srv: str | None  # None for the NA_ folders
    folder_name: str  # the folder's use-case part, e.g. "CS02bSupplierBySupplier"
    kind: str  # COMMAND, PRECOMMAND, RESPONSE, ALERT (from the file name)
    message_code: int
    cra: str  # command, response, alert (from the frame's CRA flag)
    content: bytes
    device: str  # EUI as 16 lowercase hex digits
    alert_code: int | None

    @property
    def encoding(self) -> str:
        return content_encoding(self.content)

    @property
    def encrypted(self) -> bool:
        return ENCRYPTED_HEADER in self.content


def _signing(data: bytes) -> GeneralSigning:
    """The general-signing block of an RTDS message (frame.py reads every RTDS spelling)."""
    frame = decode_frame(data)
    return frame.inner if isinstance(frame, GeneralCiphering) else frame


def rtds_messages(root: Path = RTDS) -> Iterator[RtdsMessage]:
    for folder in sorted(p for p in root.iterdir() if p.is_dir()):
        srv, _, folder_name = folder.name.partition("_")
        for path in sorted(folder.glob("*.HEX")):
            data = bytes.fromhex("".join(path.read_text().split()))
            signing = _signing(data)
            h = signing.header
            cra_flag, code, originator, recipient, content = (
                int(h.cra), h.message_code, h.originator, h.recipient, signing.content
            )
            cra = {1: "command", 2: "response", 3: "alert"}[cra_flag]
            kind = path.stem.removesuffix("_GBCS").rsplit("_", 1)[1]
            alert = re.search(r"_([0-9A-F]{4})_", path.name) if kind == "ALERT" else None
            yield RtdsMessage(
                folder=folder.name,
                file=path.name,
                srv=None if srv == "NA" else srv,
                folder_name=folder_name,
                kind=kind,
                message_code=code,
                cra=cra,
                content=content,
                device=(recipient if cra == "command" else originator).hex(),
                alert_code=int(alert.group(1), 16) if alert else None,
            )


def mapping_table() -> list[dict]:
    return json.loads(paths.package_file(paths.TEMPLATES_PACKAGE, MAPPING_TABLE).read_text(encoding="utf-8"))


def mapping_row(rows: list[dict], name: str) -> dict | None:
    """The mapping-table row of a use case: its title starts with the name (ECS25a1 has its own row)."""
    return next((r for r in rows if (r.get("Use Case Title") or "").split(" ", 1)[0] == name), None)


def mapping_cra(row: dict) -> list[str]:
    """CRA kinds from the mapping table's message type: SME.A.* are alerts, everything else command+response."""
    kind = row.get("Message Type") or ""
    return ["alert"] if kind.startswith("SME.A.") else ["command", "response"]


def mapping_srvs(row: dict) -> list[str]:
    """Service references of a mapping-table row that name SRVs ("7.9, 7.10"); "See GBCS", "N/A" name none."""
    refs = str(row.get("Service Reference") or "")
    return [r.strip() for r in refs.split(",") if re.fullmatch(r"\d+(\.\d+)+", r.strip())]


def device_types_by_eui() -> dict[str, str]:
    data = tomllib.loads((ROOT / "rules" / "reference_identities.toml").read_text(encoding="utf-8"))
    out = {eui.replace("-", "").lower(): kind for kind, eui in data["devices"].items()}
    out.update({eui.replace("-", "").lower(): kind for eui, kind in data.get("further_devices", {}).items()})
    return out


def folder_use_case(folder_name: str, known: set[str]) -> str:
    """The use case of an RTDS folder: the longest known name it starts with, else its leading code."""
    matches = [n for n in known if folder_name.startswith(n) and not folder_name[len(n) : len(n) + 1].islower()]
    if matches:
        return max(matches, key=len)
    found = re.match(r"[A-Z]+\d+[a-z]?", folder_name)
    return found.group(0) if found else folder_name


def build() -> list[dict]:
    rows = mapping_table()
    codes = parser_codes()
    known = set(codes.values()) | {r["Code"] for r in rows if r.get("Code")}
    for name, _ in ALERT_NAMES.values():
        known.add(name)
    eui_types = device_types_by_eui()

    seen: dict[int, list[RtdsMessage]] = defaultdict(list)
    for message in rtds_messages():
        seen[message.message_code].append(message)

    entries = []
    for code in sorted(set(codes) | set(ALERT_NAMES) | set(seen)):
        messages = seen.get(code, [])
        if code in ALERT_NAMES:
            name, title = ALERT_NAMES[code]
        elif code in codes:
            name, title = codes[code], ""
        else:
            name, title = folder_use_case(messages[0].folder_name, known), ""
        row = mapping_row(rows, name)
        if row is not None:
            title = row["Use Case Title"].split(" ", 1)[1].strip()
        entry: dict = {"code": code, "name": name, "title": " ".join(title.split())}

        srvs = {m.srv for m in messages if m.srv}
        if row is not None:
            srvs |= {s for s in mapping_srvs(row) if not any(t.startswith(s + ".") for t in srvs)}
        entry["srvs"] = sorted(srvs, key=lambda s: [int(p) for p in s.split(".")])

        cra = {m.cra for m in messages}
        if not messages and row is not None:
            cra = set(mapping_cra(row))
        elif not messages:
            cra = {"alert"} if code in ALERT_NAMES else {"command", "response"}
        entry["cra"] = [k for k in ("command", "response", "alert") if k in cra]

        by_cra: dict[str, set[str]] = defaultdict(set)
        for m in messages:
            by_cra[m.cra].add(m.encoding)
        if by_cra:
            values = {k: sorted(v) for k, v in by_cra.items()}
            distinct = {tuple(v) for v in values.values()}
            if len(distinct) == 1:
                only = next(iter(distinct))
                entry["encoding"] = only[0] if len(only) == 1 else list(only)
            else:
                entry["encoding"] = {k: (v[0] if len(v) == 1 else v) for k, v in sorted(values.items())}
        else:
            entry["encoding"] = "unknown"  # settled below from codes of the same use case, if any

        entry["response_encrypted"] = any(m.encrypted for m in messages if m.cra == "response")
        if any(m.encrypted for m in messages if m.cra == "alert"):
            entry["alert_encrypted"] = True

        devices = {eui_types[m.device] for m in messages if m.device in eui_types}
        if not devices:
            prefix = max((p for p in PREFIX_DEVICES if name.startswith(p)), key=len, default=None)
            devices = set(PREFIX_DEVICES.get(prefix, []))
        entry["device_types"] = sorted(devices)

        alerts = sorted({m.alert_code for m in messages if m.alert_code is not None})
        if alerts:
            entry["alert_codes"] = alerts
        alert_of = sorted(
            {folder_use_case(m.folder_name, known) for m in messages if m.cra == "alert"} - {name}
        )
        if alert_of:
            entry["alert_of"] = alert_of
        entry["in_rtds"] = bool(messages)
        entries.append(entry)
    # A code the RTDS has no message of takes the encoding of its use case's other codes (the CS02b
    # variants 0x0100 and 0x0101 share the UpdateSecurityCredentials payloads of 0x0102-0x0109).
    for entry in entries:
        if entry["encoding"] == "unknown":
            siblings = {json.dumps(e["encoding"]) for e in entries if e["name"] == entry["name"] and e["in_rtds"]}
            if len(siblings) == 1:
                entry["encoding"] = json.loads(siblings.pop())
    return entries


def _toml_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{k} = {_toml_value(v)}" for k, v in value.items()) + " }"
    raise TypeError(value)


def render(entries: list[dict]) -> str:
    lines = [
        "# GBCS message codes: use case, CRA kinds, content encoding, payload encryption, device types.",
        "# Generated by tools/gbcs_use_cases.py from DCC's gbcs-mapping-table.json (@smartdcc/duis-templates),",
        "# gbcs-parser's message-code table and the RTDS 4.5.0 messages; do not edit by hand, rerun the tool.",
        "# tests/test_gbcs_use_cases.py checks every entry against the mapping table and every RTDS message.",
        "#",
        "# code                GBCS message code (grouping header other-information)",
        "# name                use case (CS02b has ten codes); alert codes of no single use case get a short",
        "#                     name (RTDS folders: FDRA GCA GNCA MIIWA; ours: FDFAA FDUSCA FDEIA FDRPMA)",
        "# title               the mapping table's use-case title without its code (empty where it has no row)",
        "# srvs                DUIS SRVs: RTDS folders, plus the mapping table's service references",
        "# cra                 CRA kinds carried: RTDS frames, else the mapping table's message type",
        "# encoding            content encoding (dlms, gbz, asn1): one for all kinds, a list (either, by device),",
        "#                     or a table per CRA kind; from the RTDS, else from the same use case's other",
        "#                     codes, else \"unknown\"",
        "# response_encrypted  an RTDS response carries GBCS payload encryption (31 00000000 ...)",
        "# alert_encrypted     an RTDS alert does",
        "# device_types        devices answering / alerting in the RTDS (rules/reference_identities.toml EUIs),",
        "#                     else by the use-case prefix (ECS ESME, GCS GSME, CCS/DBCH CHF, PCS GSME)",
        "# alert_codes         alert codes of the RTDS alerts of this code (from their file names)",
        "# alert_of            use cases whose RTDS folders carry this alert code",
        "# in_rtds             the RTDS 4.5.0 has messages of this code",
        "",
    ]
    for e in entries:
        lines.append("[[message]]")
        lines.append(f"code = 0x{e['code']:04X}")
        for key in ("name", "title", "srvs", "cra", "encoding", "response_encrypted", "alert_encrypted",
                    "device_types"):  # fmt: skip
            if key in e:
                lines.append(f"{key} = {_toml_value(e[key])}")
        if "alert_codes" in e:
            lines.append("alert_codes = [" + ", ".join(f"0x{a:04X}" for a in e["alert_codes"]) + "]")
        if "alert_of" in e:
            lines.append(f"alert_of = {_toml_value(e['alert_of'])}")
        lines.append(f"in_rtds = {_toml_value(e['in_rtds'])}")
        lines.append("")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--check", action="store_true", help="exit 1 when the committed file is out of date")
    args = parser.parse_args(argv)
    if not RTDS.is_dir():
        print(f"RTDS not found at {RTDS}", file=sys.stderr)
        return 2
    text = render(build())
    if args.check:
        current = OUTPUT.read_text(encoding="utf-8") if OUTPUT.exists() else ""
        if current != text:
            print(f"{OUTPUT.relative_to(ROOT)} is out of date: run python tools/gbcs_use_cases.py", file=sys.stderr)
            return 1
        return 0
    OUTPUT.write_text(text, encoding="utf-8")
    print(f"wrote {OUTPUT.relative_to(ROOT)} ({len(text.splitlines())} lines)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
