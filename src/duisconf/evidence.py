"""Evidence for Allure: what each step sent and received, with timings, plus the run's environment and
the categories a reader sorts failures by.

Everything attached is a DUIS message as it travelled (signed XML carries certificates' serials, never
keys) or a summary we compose here; private key material is never attached (tests/test_evidence.py
scans a whole reports/ tree after a run to hold us to that).
"""

from __future__ import annotations

import hashlib
import json
import time
from pathlib import Path
from typing import TYPE_CHECKING

from . import paths

if TYPE_CHECKING:
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


# -- the run's environment and categories ---------------------------------------------------------

CATEGORIES = [
    {"name": "Rejected by the target", "matchedStatuses": ["failed"],
     "messageRegex": r"(?s).*(rejected|answered E\d+|acknowledgement E\d+|expected [IEW]\d+).*"},
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

def key_needles(keystore) -> list[tuple[bytes, str]]:
    """Byte strings whose presence in a report would leak a private key: any PEM private-key block, and
    for every key we hold, its raw scalar (binary, hex, base64) and its PKCS#8 DER (binary, base64)."""
    import base64

    from cryptography.hazmat.primitives import serialization

    header = b"-----BEGIN " + b"PRIVATE KEY-----"  # split so this file never holds the literal header
    needles = [(header, "a PEM private key block"), (header.replace(b"BEGIN ", b"BEGIN EC "), "a PEM EC private key block")]
    for identity in keystore.identities():
        if not identity.has_private_key:
            continue
        key = identity.private_key
        scalar = key.private_numbers().private_value.to_bytes((key.curve.key_size + 7) // 8, "big")
        der = key.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
        what = f"the private key of {identity.name}"
        needles += [(scalar, what), (scalar.hex().encode(), what), (scalar.hex().upper().encode(), what),
                    (base64.b64encode(scalar), what), (der, what), (base64.b64encode(der)[:64], what)]
    return needles


def key_material_in(directory: Path, keystore) -> list[str]:
    """Every file under `directory` that holds private key material, with what it holds."""
    needles = key_needles(keystore)
    found = []
    for path in sorted(p for p in Path(directory).rglob("*") if p.is_file()):
        data = path.read_bytes()
        found += [f"{path}: {what}" for needle, what in needles if needle in data]
    return found
