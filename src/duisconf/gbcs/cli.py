"""``duisconf gbcs decode``: read GBCS messages from files (or stdin) and say what they carry.

Input, per file: raw bytes, hex text (whitespace allowed), base64, or a DUIS XML message (its first
``GBCSPayload``, which is also where a ``PreCommand`` carries it). Output: a readable tree, or with
``--json`` one JSON object per input and line, in input order; an input that cannot be decoded still
gets its line (``{"file": …, "error": …}``). Exit 0 when every input decoded, 4 when one did not (and a
line on stderr naming the file and the byte offset), 11 with ``--strict`` when a MAC or signature is
invalid.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import json
import re
import sys
from pathlib import Path
from typing import Any, TextIO

from ..errors import DuisConfError, InvalidInput, SignatureInvalid
from .keys import KeyChain, KeyDirectory, KeySource, Zaz1Source
from .message import DecodedMessage, decode_message

_HEX_TEXT = re.compile(rb"^[0-9A-Fa-f\s]+$")
_BASE64_TEXT = re.compile(rb"^[A-Za-z0-9+/=\s]+$")


def read_input(data: bytes, source: str) -> bytes:
    """The GBCS bytes of one input: raw, hex text, base64, or DUIS XML carrying a GBCSPayload."""
    if data[:1] in (b"\xdd", b"\xdf"):
        return data
    text = data.strip()
    if not text:
        raise InvalidInput(f"{source}: empty input")
    if text.startswith(b"<"):
        return _from_duis_xml(text, source)
    if _HEX_TEXT.match(text):
        digits = b"".join(text.split())
        if len(digits) % 2 == 0:
            return bytes.fromhex(digits.decode())
    if _BASE64_TEXT.match(text):
        try:
            return base64.b64decode(b"".join(text.split()), validate=True)
        except binascii.Error as exc:
            raise InvalidInput(f"{source}: not valid base64 ({exc})") from None
    raise InvalidInput(f"{source}: neither GBCS bytes, hex, base64 nor DUIS XML at byte offset 0")


def _from_duis_xml(text: bytes, source: str) -> bytes:
    from ..duis.parse import parse_xml  # never resolves entities; refuses DOCTYPE

    root = parse_xml(text, source=source).getroot()
    for element in root.iter():
        if isinstance(element.tag, str) and element.tag.rsplit("}", 1)[-1] == "GBCSPayload":
            payload = "".join((element.text or "").split())
            try:
                return base64.b64decode(payload, validate=True)
            except binascii.Error as exc:
                raise InvalidInput(f"{source}: GBCSPayload is not valid base64 ({exc})") from None
    raise InvalidInput(f"{source}: DUIS XML without a GBCSPayload (nor a PreCommand carrying one)")


def key_source(directories: list[str]) -> KeySource:
    """The --keys directories (first wins), then the ZAZ1 keystore of DCC's installed package."""
    sources: list[KeySource] = [KeyDirectory(d) for d in directories]
    try:
        sources.append(Zaz1Source())
    except DuisConfError:
        pass  # DCC's keystore package absent: --keys alone
    return KeyChain(*sources)


# --------------------------------------------------------------------------------------------------
# Readable output


def render(decoded: DecodedMessage, source: str) -> str:
    """A human-readable tree: header, verdicts with their reasons, then the content."""
    lines = [f"{source}:"]
    header = decoded.header_json()
    lines.append(f"  {header['cra']} {header['message_code']} {header['use_case'] or '(use case unknown)'}"
                 f" ({decoded.encoding or 'content encoding unknown'})")
    for key, value in header.items():
        if key not in ("cra", "message_code", "use_case"):
            lines.append(f"  {key}: {value if value is not None else '-'}")
    lines.append(f"  {decoded.mac_reason}")
    lines.append(f"  {decoded.signature_reason}")
    if decoded.encrypted:
        state = "decrypted" if decoded.decrypted else "NOT decrypted"
        lines.append(f"  encrypted parts: {len(decoded.decrypted_hex) or 'some'} {state}")
        lines += [f"    {e}" for e in decoded.decryption_errors]
    lines.append(f"  content ({len(decoded.content_hex) // 2} bytes): {decoded.content_hex}")
    if decoded.content is not None:
        lines += _tree(decoded.content, "  ")
    return "\n".join(lines)


def _tree(node: Any, indent: str, label: str = "content") -> list[str]:
    if isinstance(node, dict):
        scalar = {k: v for k, v in node.items() if not isinstance(v, (dict, list))}
        if "type" in scalar and "value" in scalar:
            extra = "".join(f" {k}={v}" for k, v in scalar.items() if k not in ("type", "value"))
            out = [f"{indent}{label}: {scalar['type']} {json.dumps(scalar['value'])}{extra}"]
        else:
            out = [f"{indent}{label}:" + "".join(f" {k}={json.dumps(v)}" for k, v in scalar.items())]
        for key, value in node.items():
            if isinstance(value, (dict, list)):
                out += _tree(value, indent + "  ", key)
        return out
    if isinstance(node, list):
        out = [f"{indent}{label}: [{len(node)}]"]
        for i, item in enumerate(node):
            out += _tree(item, indent + "  ", f"[{i}]")
        return out
    return [f"{indent}{label}: {json.dumps(node)}"]


# --------------------------------------------------------------------------------------------------
# The command


def _inputs(files: list[str]) -> list[tuple[str, bytes]]:
    out = []
    for name in files or ["-"]:
        if name == "-":
            out.append(("-", sys.stdin.buffer.read()))
            continue
        try:
            out.append((name, Path(name).read_bytes()))
        except OSError as exc:
            out.append((name, exc))  # type: ignore[arg-type]  # reported in order, as an undecodable input
    return out


def cmd_decode(args: argparse.Namespace, out: TextIO | None = None, err: TextIO | None = None) -> int:
    out, err = out or sys.stdout, err or sys.stderr
    keys = key_source(args.keys or [])
    if args.acb:
        from ..duis.model import normalise_eui

        normalise_eui(args.acb)  # a bad --acb is one error up front, not one per input
    status, bad_verdict = 0, False
    for name, data in _inputs(args.files):
        try:
            if isinstance(data, OSError):
                raise InvalidInput(f"{name}: cannot read ({data.strerror})")
            decoded = decode_message(read_input(data, name), keys, acb=args.acb)
        except InvalidInput as exc:
            message = str(exc) if str(exc).startswith(f"{name}:") else f"{name}: {exc}"
            print(f"duisconf: {message}", file=err)
            if args.json:
                print(json.dumps({"file": name, "error": message}), file=out)
            else:
                print(f"{name}: error: {message}", file=out)
            status = InvalidInput.exit_code
            continue
        if decoded.mac == "invalid" or decoded.signature == "invalid":
            bad_verdict = True
            if args.strict:
                print(f"duisconf: {name}: {decoded.mac_reason}; {decoded.signature_reason}", file=err)
        if args.json:
            print(json.dumps({"file": name, **decoded.to_json()}), file=out)
        else:
            print(render(decoded, name), file=out)
    if status:
        return status
    if args.strict and bad_verdict:
        return SignatureInvalid.exit_code
    return 0


def add_parser(commands: argparse._SubParsersAction, epilog: str | None = None) -> None:
    """Register ``gbcs decode`` under the main parser's sub-commands."""
    gbcs = commands.add_parser("gbcs", epilog=epilog, help="read GBCS device messages (decode)")
    actions = gbcs.add_subparsers(dest="gbcs_command", required=True, metavar="ACTION")
    decode = actions.add_parser(
        "decode", epilog=epilog,
        help="decode GBCS messages: frame, MAC and signature verdicts, decrypted parts, content tree",
    )
    decode.add_argument("files", nargs="*", metavar="FILE",
                        help="hex text, base64, raw bytes or DUIS XML (GBCSPayload / PreCommand); - or none for stdin")
    decode.add_argument("--keys", action="append", metavar="DIR",
                        help="key directory in DCC's layout <eui>[-pp]-<ka|ds>.<pem|key> (repeatable; "
                             "the ZAZ1 keystore is always asked after it)")
    decode.add_argument("--acb", metavar="EUI", help="Access Control Broker that MACs commands (default 90-B3-D5-1F-30-00-00-02)")
    decode.add_argument("--json", action="store_true", help="one JSON object per input, one per line, in order")
    decode.add_argument("--strict", action="store_true", help="exit 11 when a MAC or signature is invalid")
    decode.set_defaults(func=cmd_decode)
