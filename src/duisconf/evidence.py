"""Evidence for Allure: what each step sent and received, with timings, plus the run's environment and
the categories a reader sorts failures by.

Everything attached is a DUIS message as it travelled (signed XML carries certificates' serials, never
keys) or a summary we compose here; private key material is never attached (tests/test_evidence.py
scans a whole reports/ tree after a run to hold us to that).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import time
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from . import paths

if TYPE_CHECKING:
    from .accounting import Accounting
    from .client import Exchange
    from .receiver import Finding, Inbound


def _allure():
    try:
        import allure

        return allure
    except ImportError:  # evidence is best effort outside an Allure run
        return None


def attach_xml(name: str, xml: bytes) -> None:
    allure = _allure()
    if allure:
        allure.attach(xml, name=name, attachment_type=allure.attachment_type.XML)


def attach_text(name: str, text: str) -> None:
    allure = _allure()
    if allure:
        allure.attach(text, name=name, attachment_type=allure.attachment_type.TEXT)


def exchange_summary(exchange: Exchange, base_url: str) -> str:
    """One line per HTTP leg: what went where, what came back, how long it took."""
    lines = [f"SRV {exchange.srv}  RequestID {exchange.request_id}"]
    for leg in exchange.legs:
        lines.append(f"POST {base_url.rstrip('/')}/api/v1/{leg.service}  {len(leg.request)} B  ->  HTTP {leg.status}  "
                     f"{leg.code or '-'}  {len(leg.reply)} B  {leg.seconds * 1000:.1f} ms")
    return "\n".join(lines)


def attach_exchange(exchange: Exchange, base_url: str) -> None:
    """The rendered request, each signed request and synchronous reply, and the HTTP summary."""
    attach_xml(f"SRV {exchange.srv} rendered", exchange.rendered)
    for leg in exchange.legs:
        attach_xml(f"{leg.service} request (signed)", leg.request)
        attach_xml(f"{leg.service} reply {leg.code} ({leg.seconds * 1000:.1f} ms)", leg.reply)
    attach_text(f"SRV {exchange.srv} HTTP exchange", exchange_summary(exchange, base_url))


def attach_inbound(inbound: Inbound, what: str, since: float | None = None) -> None:
    """An asynchronous message as received, named with what it was and how long after the request."""
    after = f", {inbound.received_at - since:.3f} s after the request" if since is not None else ""
    attach_xml(f"{what} (#{inbound.seq}{after})", inbound.body)


def attach_findings(leftovers: list[Inbound], findings: list[Finding]) -> list[str]:
    """Messages no step claimed and findings (duplicates, unverifiable): recorded on the scenario."""
    lines = [f"unclaimed {m.kind} {m.alert_code or m.code or ''} RequestID {m.request_id} (#{m.seq})" for m in leftovers]
    lines += [f"finding: {f.what} (#{f.inbound.seq})" for f in findings]
    if lines:
        attach_text("Receive Response Service: unclaimed messages and findings", "\n".join(lines))
        for message in leftovers:
            attach_xml(f"unclaimed {message.kind} #{message.seq}", message.body)
        for finding in findings:
            attach_xml(f"finding #{finding.inbound.seq}", finding.inbound.body)
    return lines


def attach_json(name: str, document: str) -> None:
    allure = _allure()
    if allure:
        allure.attach(document, name=name, attachment_type=allure.attachment_type.JSON)


def attach_accounting(accounting: Accounting, leftovers: list[Inbound], findings: list[Finding]) -> list[str]:
    """The scenario's message accounting (a table and its JSON) and the bodies of the messages no step
    claimed; returns one line per message no step claimed, for the scenario's user properties."""
    attach_text("Message accounting", accounting.table())
    attach_json("Message accounting (JSON)", accounting.as_json())
    return attach_findings(leftovers, findings)


# -- the run's environment and categories ---------------------------------------------------------

CATEGORIES = [
    {"name": "Rejected by the target", "matchedStatuses": ["failed"],
     "messageRegex": r"(?s).*(rejected|answered E\d+|acknowledgement E\d+|expected [IEW]\d+).*"},
    {"name": "Required message not received", "matchedStatuses": ["failed", "broken"],
     "messageRegex": r"(?s).*(required message not received|RequiredMessageMissing|ReceivePathUnproven).*"},
    {"name": "Unexpected or untrusted message", "matchedStatuses": ["failed"],
     "messageRegex": r"(?s).*(unexpected message|UnexpectedMessages).*"},
    {"name": "Timeout (inconclusive)", "matchedStatuses": ["broken", "failed"],
     "messageRegex": r"(?s).*(no .* within|TargetTimeout|TargetUnavailable|no answer).*"},
    {"name": "Precondition not met (inconclusive)", "matchedStatuses": ["broken", "failed"],
     "messageRegex": r"(?s).*(PreconditionNotMet|LeaseUnavailable|stayed leased).*"},
    {"name": "Schema", "matchedStatuses": ["failed", "broken"], "messageRegex": r"(?s).*(SchemaInvalid|schema).*"},
    {"name": "Signature", "matchedStatuses": ["failed", "broken"], "messageRegex": r"(?s).*(SignatureInvalid|signature).*"},
    {"name": "Suite error", "matchedStatuses": ["broken"]},
]


def catalogue_version() -> str:
    """The SRV catalogue's identity in a report: the short hash of rules/srv_catalogue.toml."""
    data = (paths.rules_dir() / "srv_catalogue.toml").read_bytes()
    return hashlib.sha256(data).hexdigest()[:12]


def write_environment(results: Path, session) -> None:
    """environment.properties and categories.json in the Allure results directory."""
    results.mkdir(parents=True, exist_ok=True)
    target = session.target
    lines = {
        "target": target.name,
        "target.kind": target.kind,
        "target.base_url": session.base_url,
        "schema.version": session.schema.version,
        "catalogue.version": catalogue_version(),
        "receive.url": session.receiver.url,
        "run.started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    for kind, (model, firmware) in sorted(session.device_models().items()):
        lines[f"device.{kind}"] = f"{model} firmware {firmware}"
    text = "".join(f"{key}={value}\n" for key, value in lines.items())
    (results / "environment.properties").write_text(text, encoding="utf-8")
    (results / "categories.json").write_text(json.dumps(CATEGORIES, indent=2), encoding="utf-8")


# -- holding ourselves to "no private keys in the evidence" ---------------------------------------

# Any PEM private-key block: PKCS#8, EC, RSA, OpenSSH, and encrypted PKCS#8 (still a key to guard).
# Written as a pattern so that this file never holds a literal header itself.
_PEM_BLOCK = re.compile(rb"-----BEGIN ([A-Z0-9]+ )*PRIVATE KEY-----")
_SPACE = b" \t\n\r\f\v"
SCAN_CHUNK = 4 << 20          # files are read this much at a time
SCAN_OVERLAP = 4096           # kept between chunks: longer than any needle, even spread over lines
GZIP_LIMIT = 256 << 20        # decompressed bytes scanned per gzip file (a gzip bomb stops here)


def _integer_forms(value: int, size: int, what: str) -> list[tuple[bytes, str, str]]:
    """A private integer as it may be printed: raw bytes, hex (plain or colon-separated, any case, any
    line breaks, as `openssl ec -text` does), base64 of the bytes, and decimal."""
    import base64

    padded, minimal = value.to_bytes(size, "big"), value.to_bytes((value.bit_length() + 7) // 8, "big")
    # the minimal bytes are inside the padded ones, and a printer may drop leading zero bytes
    return [(minimal, what, "bytes"), (minimal.hex().encode(), what, "hex"), (base64.b64encode(padded), what, "text"),
            (str(value).encode(), what, "text")]


def private_key_needles(key, what: str) -> list[tuple[bytes, str, str]]:
    """(needle, what it reveals, how to look) for one private key: its PKCS#8 DER (binary, base64) and its
    private integers (EC scalar; RSA d, p, q) in every form `_integer_forms` lists."""
    import base64

    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec, rsa

    der = key.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
    needles = [(der, what, "bytes"), (base64.b64encode(der)[:64], what, "text")]
    if isinstance(key, ec.EllipticCurvePrivateKey):
        needles += _integer_forms(key.private_numbers().private_value, (key.curve.key_size + 7) // 8, what)
    elif isinstance(key, rsa.RSAPrivateKey):
        numbers = key.private_numbers()
        for value in (numbers.d, numbers.p, numbers.q):
            needles += _integer_forms(value, (value.bit_length() + 7) // 8, what)
    return needles


def key_needles(keystore, extra_keys: Sequence[tuple[object, str]] = ()) -> list[tuple[bytes, str, str]]:
    """Everything whose presence in a report would leak a private key we hold: every key of `keystore`
    and each (key, name) in `extra_keys` (a target's own key files). Matching known keys only keeps
    false positives at zero; PEM blocks are found whatever key they hold."""
    needles = []
    for identity in keystore.identities():
        if identity.has_private_key:
            needles += private_key_needles(identity.private_key, f"the private key of {identity.name}")
    for key, name in extra_keys:
        needles += private_key_needles(key, f"the private key in {name}")
    return needles


def _matches(window: bytes, needles: list[tuple[bytes, str, str]]) -> set[str]:
    found = set()
    for match in _PEM_BLOCK.finditer(window):
        found.add("an encrypted PEM private key block" if b"ENCRYPTED" in match.group(0) else "a PEM private key block")
    # Squashing keeps every occurrence a needle has in the window and joins the ones split over lines:
    # base64 or digits wrapped, hex as 00:a1:b2:... over indented lines in either case.
    haystacks = {"bytes": window, "text": window.translate(None, _SPACE),
                 "hex": window.translate(None, _SPACE + b":").lower()}
    for needle, what, how in needles:
        if what not in found and needle in haystacks[how]:
            found.add(what)
    return found


def _chunks(path: Path) -> Iterator[bytes]:
    with open(path, "rb") as handle:
        while chunk := handle.read(SCAN_CHUNK):
            yield chunk


def _gunzipped(path: Path, problems: list[str]) -> Iterator[bytes]:
    """The decompressed content of a gzip file, up to GZIP_LIMIT; anything not scanned is a problem."""
    import gzip
    import zlib

    total = 0
    try:
        with gzip.open(path, "rb") as handle:
            while chunk := handle.read(SCAN_CHUNK):
                total += len(chunk)
                if total > GZIP_LIMIT:
                    problems.append(f"gzip content larger than {GZIP_LIMIT >> 20} MiB: not scanned past that")
                    return
                yield chunk
    except (OSError, EOFError, zlib.error) as exc:
        problems.append(f"gzip content unreadable after {total} bytes ({exc})")


def _scan(chunks: Iterable[bytes], needles: list[tuple[bytes, str, str]]) -> set[str]:
    found, tail = set(), b""
    for chunk in chunks:
        window = tail + chunk
        found |= _matches(window, needles)
        tail = window[-SCAN_OVERLAP:]
    return found


def _files(root: Path, problems: list[str]) -> Iterator[Path]:
    """`root` if it is a file, else every file under it, following symbolic links once (no cycles);
    a directory that cannot be listed is a problem, never silently skipped."""
    if not root.is_dir():
        yield root
        return
    seen: set[tuple[int, int]] = set()

    def unlistable(error: OSError) -> None:
        problems.append(f"{error.filename}: not fully scanned: cannot list: {error.strerror}")

    for folder, dirs, names in os.walk(root, followlinks=True, onerror=unlistable):
        info = os.stat(folder)
        if (info.st_dev, info.st_ino) in seen:
            dirs[:] = []
            continue
        seen.add((info.st_dev, info.st_ino))
        dirs.sort()
        for name in sorted(names):
            path = Path(folder) / name
            if path.is_file():  # a dangling link holds nothing
                yield path


def key_material_in(paths: Path | Iterable[Path], keystore,
                    extra_keys: Sequence[tuple[object, str]] = ()) -> list[str]:
    """One line per file (given, or under a directory given) that holds private key material, saying
    what it holds; gzip files are scanned decompressed. A file that could not be scanned completely is
    listed too: the scan cannot vouch for it."""
    needles = key_needles(keystore, extra_keys)
    lines: list[str] = []
    for root in [paths] if isinstance(paths, (str, Path)) else paths:
        for path in _files(Path(root), lines):
            problems: list[str] = []
            try:
                found = _scan(_chunks(path), needles)
                with open(path, "rb") as handle:
                    gzipped = handle.read(2) == b"\x1f\x8b"
                if gzipped:
                    found |= {f"{what} (gzip content)" for what in _scan(_gunzipped(path, problems), needles)}
            except OSError as exc:
                found, problems = set(), [f"cannot read: {exc.strerror}"]
            lines += [f"{path}: {what}" for what in sorted(found)]
            lines += [f"{path}: not fully scanned: {problem}" for problem in problems]
    return lines
