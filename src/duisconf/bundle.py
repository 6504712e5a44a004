"""The signed evidence bundle: one archive a SEC party or a device maker hands to whoever must trust a run.

`make_bundle` packs a run's reports directory into a zip: every artefact (Allure results and
attachments, JUnit XML, coverage, counters, unrouted messages), the declaration and the deviations
file, plus `manifest.xml` and the signer's certificate. The manifest holds the SHA-256 of every
artefact, the product-combination fingerprint (target, DUIS schema, rules, suite version and commit,
device models and firmware as the run recorded them) and the verdicts per SRV × role and per design
note. It is signed with the user's own key as an enveloped XML signature in exactly DUIS's profile
(duisconf.signing: exclusive C14N, ECDSA-SHA256 over P-256, SHA-256 digests, X509IssuerSerial), so a
party verifies it with the tools and key it already uses for DUIS; CMS would need a second toolchain
and would sign an opaque blob where the manifest is a document people read.

A bundle is refused (BundleRefused, exit 13) while any scenario is not pass or not applicable — failed,
inconclusive, errored, skipped for another reason, or applicable by the declaration and never run —
unless it is a draft, which says so in its manifest and its file name. Nothing is signed before the
key scan (duisconf.evidence) has looked at every byte that goes in.

`verify_bundle` checks the signature first (a manifest that does not verify vouches for nothing,
SignatureInvalid, exit 11), then every artefact against it: changed, missing and added files are
named (exit 4).
"""

from __future__ import annotations

import hashlib
import json
import re
import subprocess
import time
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from lxml import etree

from . import __version__, paths
from .errors import ArtefactMismatch, BundleRefused, DuisConfError, InvalidInput, KeyMaterialFound, KeyMaterialMissing

NS = "urn:duisconf:evidence-bundle:1"
_N = f"{{{NS}}}"
MANIFEST = "manifest.xml"
SIGNER = "signer.pem"
ARTEFACTS = "artefacts/"
RESULTS = "allure-results"
# What of a reports directory is evidence of the run (html/ is derived from allure-results/, history.jsonl
# belongs to earlier runs too).
_REPORT_FILES = ("junit*.xml", "coverage.*", "counters.json", "deviations.toml", "deviations.json", "clauses.json",
                 "durations.json")
_REPORT_DIRS = (RESULTS, "unrouted")
_ZIP_TIME = (1980, 1, 1, 0, 0, 0)  # fixed: the same contents make the same archive bytes
NOT_RUN = "not run"
ACCEPTED = ("pass", "not applicable")


# -- the run's scenarios and their verdicts -----------------------------------------------------

@dataclass
class Scenario:
    """One scenario result as Allure recorded it, with the verdict duisconf gives it."""

    name: str
    full_name: str
    status: str
    verdict: str
    tags: frozenset[str]
    parameters: tuple[tuple[str, str], ...]
    message: str = ""
    source: str = ""

    @property
    def title(self) -> str:
        row = ", ".join(v for _, v in self.parameters)
        return f"{self.full_name}{f' [{row}]' if row else ''}"

    @property
    def srvs(self) -> list[str]:
        found = [t[4:] for t in self.tags if t.startswith("srv-")]
        row = dict(self.parameters).get("srv")
        return sorted(set(found) | ({row} if row and not found else set()))

    @property
    def roles(self) -> list[str]:
        from .plan import ROLE_CODES

        found = [t[5:] for t in self.tags if t.startswith("role-")]
        row = dict(self.parameters).get("role")
        return sorted(set(found) | ({ROLE_CODES.get(row, row)} if row and not found else set()))

    @property
    def design_notes(self) -> list[str]:
        return sorted(t for t in self.tags if t.startswith("dn-"))


def verdict_of_result(result: dict) -> str:
    """duisconf's verdict for one Allure result: its `verdict` label (duisconf.pytest_plugin), made no
    better than its status says; a skip that is not "not applicable" did not run."""
    from .verdicts import ERROR, FAIL, NOT_APPLICABLE, PASS, worst

    label = next((l.get("value") for l in result.get("labels", []) if l.get("name") == "verdict"), None)
    message = (result.get("statusDetails") or {}).get("message") or ""
    status = result.get("status")
    if status == "skipped":
        return NOT_APPLICABLE if label == NOT_APPLICABLE or "not applicable:" in message else NOT_RUN
    by_status = {"passed": PASS, "failed": FAIL}.get(status, ERROR)
    if label is None:
        return by_status
    try:
        return worst(label, by_status)
    except ValueError:  # a verdict this version does not know: it is not a pass
        return label


def read_scenarios(results: Path) -> list[Scenario]:
    """Every *-result.json under `results`; a scenario run again (a retry) counts once, its last run."""
    latest: dict[str, tuple[int, Scenario]] = {}
    for path in sorted(results.glob("*-result.json")):
        try:
            data = json.loads(path.read_bytes())
        except (OSError, ValueError) as exc:
            raise InvalidInput(f"{path}: not an Allure result ({exc})") from None
        if not isinstance(data, dict) or "status" not in data:
            raise InvalidInput(f"{path}: not an Allure result (no status)")
        labels = data.get("labels", [])
        scenario = Scenario(
            name=str(data.get("name", "")), full_name=str(data.get("fullName") or data.get("name", "")),
            status=str(data.get("status")), verdict=verdict_of_result(data),
            tags=frozenset(l.get("value", "") for l in labels if l.get("name") == "tag"),
            parameters=tuple((str(p.get("name")), str(p.get("value"))) for p in data.get("parameters", [])),
            message=((data.get("statusDetails") or {}).get("message") or "").strip(), source=path.name)
        key = data.get("historyId") or path.name
        stop = int(data.get("stop") or 0)
        if key not in latest or stop >= latest[key][0]:
            latest[key] = (stop, scenario)
    return [s for _, s in sorted(latest.values(), key=lambda pair: pair[1].title)]


def not_run_applicable(scenarios: Sequence[Scenario], declaration) -> list[str]:
    """Catalogue scenarios the declaration makes applicable that have no result in the run."""
    from .plan import make_plan

    seen = {(s.full_name.split("/")[-1], frozenset(s.parameters)) for s in scenarios}
    missing = []
    for decision in make_plan(declaration).applicable:
        case = decision.case
        if (f"{case.feature}:{case.outline}", frozenset(case.row)) not in seen:
            missing.append(f"{NOT_RUN}: {case.ident}")
    return missing


def junit_without_result(report_dir: Path, scenarios: Sequence[Scenario]) -> list[str]:
    """Test cases pytest collected (JUnit XML) beyond those with an Allure result: a scenario whose setup
    failed before it started never gets one. Named when JUnit says it failed or errored."""
    from .duis.parse import parse_xml

    lines = []
    for path in sorted(report_dir.glob("junit*.xml")):
        try:
            cases = list(parse_xml(path.read_bytes(), source=str(path)).getroot().iter("testcase"))
        except DuisConfError:
            lines.append(f"{NOT_RUN}: {path.name} is not readable JUnit XML")
            continue
        if len(cases) > len(scenarios):
            bad = [f"{c.get('classname')}::{c.get('name')}" for c in cases
                   if c.find("error") is not None or c.find("failure") is not None]
            lines.append(f"{NOT_RUN}: {len(cases) - len(scenarios)} test case(s) in {path.name} have no Allure result"
                         + (f" (failed or errored there: {', '.join(bad[:10])}{' …' if len(bad) > 10 else ''})" if bad else ""))
    return lines


def blocking(scenarios: Sequence[Scenario], declaration, report_dir: Path | None = None) -> list[str]:
    """Why a final bundle cannot be issued: one entry per scenario that is not pass or not applicable,
    per applicable catalogue scenario without a result, and for JUnit test cases without one."""
    lines = [f"{s.verdict}: {s.title}" for s in scenarios if s.verdict not in ACCEPTED]
    lines += not_run_applicable(scenarios, declaration)
    return lines + (junit_without_result(report_dir, scenarios) if report_dir is not None else [])


def verdict_summary(scenarios: Sequence[Scenario]) -> tuple[dict, dict]:
    """({(srv, role): counts}, {design note: counts}); counts are per verdict plus the overall verdict
    (the worst applicable one, or not applicable when none applied)."""
    per_service: dict[tuple[str, str], dict[str, int]] = {}
    per_note: dict[str, dict[str, int]] = {}
    for s in scenarios:
        for srv in s.srvs:
            for role in s.roles or ["-"]:
                counts = per_service.setdefault((srv, role), {})
                counts[s.verdict] = counts.get(s.verdict, 0) + 1
        for note in s.design_notes:
            counts = per_note.setdefault(note, {})
            counts[s.verdict] = counts.get(s.verdict, 0) + 1
    return per_service, per_note


def overall(counts: dict[str, int]) -> str:
    from .verdicts import ORDER

    applicable = [v for v in counts if v != "not applicable"]
    if not applicable:
        return "not applicable"
    rank = {v: i for i, v in enumerate(ORDER)}
    return max(applicable, key=lambda v: rank.get(v, len(ORDER)))  # unknown and "not run" rank worst


# -- the product combination ----------------------------------------------------------------------

def read_environment(results: Path) -> dict[str, str]:
    """The run's environment.properties (duisconf.evidence writes it; later lines win)."""
    path = results / "environment.properties"
    values: dict[str, str] = {}
    if path.is_file():
        for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
            key, sep, value = line.partition("=")
            if sep and key.strip() and not key.lstrip().startswith(("#", "!")):
                values[key.strip()] = value.strip()
    return values


def _sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def suite_commit() -> str:
    """The suite's git commit (with "+modified" when the checkout has changes), or "unknown"."""
    def git(*args: str) -> str:
        return subprocess.run(["git", "-C", str(paths.PROJECT_ROOT), *args], capture_output=True, text=True,
                              timeout=20, check=True).stdout.strip()

    try:
        commit = git("rev-parse", "HEAD")
        return commit + ("+modified" if git("status", "--porcelain", "--untracked-files=no") else "")
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def fingerprint(environment: dict[str, str]) -> dict:
    """What was tested with what: read from the run where it recorded it, hashed from the files here
    where it did not, and "not recorded" where neither is possible (never guessed)."""
    rules = sorted(paths.rules_dir().glob("*.toml"))
    catalogue = paths.rules_dir() / "srv_catalogue.toml"
    result = {
        "target": {"name": environment.get("target", "not recorded"), "kind": environment.get("target.kind", "not recorded"),
                   "base_url": environment.get("target.base_url", "not recorded")},
        "schema": _schema_fingerprint(environment),
        "catalogue": {"file": "rules/srv_catalogue.toml", "sha256": _sha256_file(catalogue) if catalogue.is_file() else "missing",
                      "run": environment.get("catalogue.version", "not recorded")},
        "rules": [(f"rules/{p.name}", _sha256_file(p)) for p in rules],
        "suite": {"version": __version__, "commit": suite_commit()},
        "devices": [],
        "comms_hub": environment.get("comms_hub.variant") or environment.get("chf.variant") or "not recorded",
        # a run against a user-system target: the party's own system was tested (duisconf.user_system.evidence)
        "system_under_test": {key[len("system_under_test"):].lstrip(".") or "name": value
                              for key, value in environment.items() if key.startswith("system_under_test")},
    }
    for key, value in sorted(environment.items()):
        if key.startswith("device."):
            model, sep, firmware = value.rpartition(" firmware ")
            result["devices"].append((key[len("device."):], model if sep else value, firmware if sep else "not recorded"))
    run_catalogue = result["catalogue"]["run"]
    if run_catalogue != "not recorded" and not result["catalogue"]["sha256"].startswith(run_catalogue):
        raise InvalidInput(f"the run used SRV catalogue {run_catalogue}, but rules/srv_catalogue.toml here is "
                           f"{result['catalogue']['sha256'][:12]}: bundle from the checkout that ran it")
    return result


def _schema_fingerprint(environment: dict[str, str]) -> dict:
    """The DUIS schema of the run's target, hashed; its version must be the one the run recorded."""
    version = environment.get("schema.version", "not recorded")
    try:
        from .duis.schema import load_schema
        from .targets import load_target

        schema = load_schema(load_target(environment["target"]).schema) if "target" in environment else load_schema()
    except (DuisConfError, KeyError, OSError) as exc:
        return {"version": version, "file": "not available", "sha256": f"not available ({exc})"}
    source = schema.source if schema.source.is_file() else schema.compiled_path
    if version != "not recorded" and schema.version != version:
        raise InvalidInput(f"the run used DUIS schema {version}, but the target's schema here is {schema.version} "
                           f"({schema.source}): set DUISCONF_SCHEMA to the run's schema")
    return {"version": schema.version, "file": schema.source.name.split("!")[-1], "sha256": _sha256_file(source)}


# -- collecting and writing -----------------------------------------------------------------------

@dataclass
class Artefact:
    name: str          # path inside the archive, under artefacts/
    source: Path
    sha256: str = ""
    size: int = 0


def collect_artefacts(report_dir: Path, declaration: Path, deviations: Path | None) -> list[Artefact]:
    """Every file of the run's evidence under `report_dir`, and the declaration and deviations files."""
    found: list[Artefact] = []
    for pattern in _REPORT_FILES:
        found += [Artefact(f"reports/{p.name}", p) for p in sorted(report_dir.glob(pattern)) if p.is_file()]
    for folder in _REPORT_DIRS:
        base = report_dir / folder
        if base.is_dir():
            found += [Artefact(f"reports/{p.relative_to(report_dir).as_posix()}", p)
                      for p in sorted(base.rglob("*")) if p.is_file()]
    found.append(Artefact(f"declaration/{declaration.name}", declaration))
    if deviations is not None and not any(a.source.resolve() == deviations.resolve() for a in found):
        found.append(Artefact(f"deviations/{deviations.name}", deviations))
    for artefact in found:
        artefact.sha256, artefact.size = _sha256_file(artefact.source), artefact.source.stat().st_size
    return found


def _element(parent, element_name: str, **attributes) -> etree._Element:
    return etree.SubElement(parent, f"{_N}{element_name}", {k: str(v) for k, v in attributes.items() if v is not None})


def build_manifest(*, draft: bool, created: str, declaration, fingerprint_: dict, scenarios: Sequence[Scenario],
                   blockers: Sequence[str], artefacts: Sequence[Artefact]) -> etree._Element:
    root = etree.Element(f"{_N}EvidenceBundle", nsmap={None: NS})
    root.set("version", "1")
    root.set("status", "draft" if draft else "final")
    root.set("created", created)
    root.text = "\n"
    _element(root, "Declaration", file=f"declaration/{declaration.source.name}", name=declaration.name,
             party=declaration.party, kind=declaration.kind or None)
    combination = _element(root, "ProductCombination")
    fp = fingerprint_
    _element(combination, "Target", name=fp["target"]["name"], kind=fp["target"]["kind"], baseUrl=fp["target"]["base_url"])
    _element(combination, "DuisSchema", version=fp["schema"]["version"], file=fp["schema"]["file"], sha256=fp["schema"]["sha256"])
    _element(combination, "RulesCatalogue", file=fp["catalogue"]["file"], sha256=fp["catalogue"]["sha256"],
             recordedByRun=fp["catalogue"]["run"])
    rules = _element(combination, "Rules")
    for name, digest in fp["rules"]:
        _element(rules, "File", path=name, sha256=digest)
    _element(combination, "Suite", name="duisconf", version=fp["suite"]["version"], commit=fp["suite"]["commit"])
    devices = _element(combination, "Devices", recorded="true" if fp["devices"] else "false")
    for kind, model, firmware in fp["devices"]:
        _element(devices, "Device", type=kind, model=model, firmware=firmware)
    _element(combination, "CommsHub", variant=fp["comms_hub"])
    if fp.get("system_under_test"):
        sut = fp["system_under_test"]
        _element(combination, "SystemUnderTest", name=sut.get("name"), organisations=sut.get("organisations"),
                 receiveUrl=sut.get("receive_url"), driver=sut.get("driver"))

    verdicts = _element(root, "Verdicts")
    totals: dict[str, int] = {}
    for s in scenarios:
        totals[s.verdict] = totals.get(s.verdict, 0) + 1
    _element(verdicts, "Totals", scenarios=len(scenarios), **{v.replace(" ", "_"): n for v, n in sorted(totals.items())})
    per_service, per_note = verdict_summary(scenarios)
    for (srv, role), counts in sorted(per_service.items(), key=lambda kv: (_srv_key(kv[0][0]), kv[0][1])):
        _element(verdicts, "Service", srv=srv, role=role, verdict=overall(counts),
                 **{v.replace(" ", "_"): n for v, n in sorted(counts.items())})
    for note, counts in sorted(per_note.items()):
        _element(verdicts, "DesignNote", tag=note, verdict=overall(counts),
                 **{v.replace(" ", "_"): n for v, n in sorted(counts.items())})
    if blockers:
        unmet = _element(verdicts, "NotPassed", count=len(blockers))
        for line in blockers:
            _element(unmet, "Scenario").text = line

    listed = _element(root, "Artefacts", count=len(artefacts))
    for artefact in artefacts:
        _element(listed, "Artefact", path=artefact.name, size=artefact.size, sha256=artefact.sha256)
    for element in root.iter():  # one element per line: people read the manifest too
        if element is not root and len(element) == 0 and element.tail is None:
            element.tail = "\n"
        elif len(element):
            element.text, element.tail = "\n", "\n"
    return root


def _srv_key(srv: str) -> list[int]:
    return [int(p) if p.isdigit() else 0 for p in srv.split(".")]


def _signing_identity(key: Path, cert: Path):
    """The user's EC P-256 key and its certificate (checked to belong together)."""
    from cryptography.hazmat.primitives.asymmetric import ec

    from .keystore import Keystore

    identity = Keystore().add_pem(Path(cert), Path(key))
    private = identity.private_key
    if not isinstance(private, ec.EllipticCurvePrivateKey) or private.curve.name != "secp256r1":
        raise KeyMaterialMissing(f"{key}: not an EC P-256 private key (the bundle is signed in DUIS's ECDSA P-256 profile)")
    if private.public_key().public_numbers() != identity.certificate.public_key().public_numbers():
        raise InvalidInput(f"{key} does not belong to {cert}: the certificate holds another public key")
    return identity


def default_name(declaration, target: str, created: str, draft: bool) -> str:
    def slug(text: str) -> str:
        return re.sub(r"[^A-Za-z0-9.]+", "-", text).strip("-") or "unknown"

    stamp = created.replace("-", "").replace(":", "")
    return f"evidence-{slug(Path(declaration.name).stem)}-{slug(target)}-{stamp}{'-DRAFT' if draft else ''}.zip"


def _draft_name(out: Path) -> Path:
    if "draft" in out.name.lower():
        return out
    suffix = "".join(out.suffixes) or ".zip"
    return out.with_name(out.name[: len(out.name) - len(suffix)] + "-DRAFT" + suffix)


@dataclass
class Issued:
    path: Path
    draft: bool
    artefacts: int
    blockers: list[str] = field(default_factory=list)


def make_bundle(report_dir: Path, declaration_path: Path, key: Path, cert: Path, *, out: Path | None = None,
                draft: bool = False, deviations: Path | None = None, extra_keys: Iterable[tuple[object, str]] = ()) -> Issued:
    """Write the signed evidence bundle of the run in `report_dir`; refuses (BundleRefused) a final bundle
    while a scenario is not pass or not applicable, and (KeyMaterialFound) anything holding a private key."""
    from .declarations import load_declaration
    from .evidence import key_material_in
    from .keystore import zaz1
    from .signing import sign

    report_dir = Path(report_dir)
    results = report_dir / RESULTS
    if not results.is_dir():
        raise InvalidInput(f"{report_dir}: no {RESULTS}/ directory: give the reports directory of a run (e.g. reports)")
    declaration = load_declaration(declaration_path)
    environment = read_environment(results)
    recorded = environment.get("declaration")
    if recorded and Path(recorded).name != declaration.source.name:
        raise InvalidInput(f"the run was judged against the declaration {recorded}, not {declaration.name}")
    scenarios = read_scenarios(results)
    if not scenarios:
        raise InvalidInput(f"{results}: no scenario results (*-result.json): nothing to vouch for")
    blockers = blocking(scenarios, declaration, report_dir)
    if blockers and not draft:
        shown = "; ".join(blockers[:25]) + (f"; and {len(blockers) - 25} more" if len(blockers) > 25 else "")
        raise BundleRefused(f"refused: {len(blockers)} applicable scenario(s) did not pass: {shown} "
                            "(--draft writes a bundle marked as a draft)")
    if deviations is None:
        deviations = next((p for p in (report_dir / "deviations.toml", paths.PROJECT_ROOT / "deviations.toml") if p.is_file()), None)
    identity = _signing_identity(key, cert)
    artefacts = collect_artefacts(report_dir, declaration.source, deviations)
    created = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    manifest = build_manifest(draft=draft, created=created, declaration=declaration, fingerprint_=fingerprint(environment),
                              scenarios=scenarios, blockers=blockers, artefacts=artefacts)
    unsigned = etree.tostring(manifest, xml_declaration=True, encoding="UTF-8")
    certificate_pem = _certificate_pem(identity.certificate)

    # Nothing is signed before every byte that goes in has been scanned: artefacts, manifest, certificate.
    import tempfile

    needles = [(identity.private_key, str(key)), *extra_keys]
    with tempfile.TemporaryDirectory(prefix="duisconf-bundle-") as scratch:
        (Path(scratch) / MANIFEST).write_bytes(unsigned)
        (Path(scratch) / SIGNER).write_bytes(certificate_pem)
        found = key_material_in([*(a.source for a in artefacts), Path(scratch)], zaz1(), extra_keys=needles)
    if found:
        raise KeyMaterialFound(f"private key material would go into the bundle: {'; '.join(found)}")

    signed = sign(manifest, identity=identity, source=MANIFEST)
    target = environment.get("target", "unknown-target")
    path = Path(out) if out else Path(default_name(declaration, target, created, draft))
    if draft:
        path = _draft_name(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        _store(archive, MANIFEST, signed)
        _store(archive, SIGNER, certificate_pem)
        for artefact in artefacts:
            _store(archive, ARTEFACTS + artefact.name, artefact.source.read_bytes())
    return Issued(path, draft, len(artefacts), blockers)


def _certificate_pem(certificate) -> bytes:
    from cryptography.hazmat.primitives.serialization import Encoding

    return certificate.public_bytes(Encoding.PEM)


def _store(archive: zipfile.ZipFile, name: str, data: bytes) -> None:
    info = zipfile.ZipInfo(name, date_time=_ZIP_TIME)
    info.compress_type = zipfile.ZIP_DEFLATED
    info.external_attr = 0o644 << 16
    archive.writestr(info, data)


# -- verifying ------------------------------------------------------------------------------------

@dataclass
class Verification:
    signer: str
    pinned: bool              # the certificate came from the user, not from the bundle
    draft: bool
    artefacts: int
    changed: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    added: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not (self.changed or self.missing or self.added)

    def problems(self) -> list[str]:
        return ([f"changed: {n}" for n in self.changed] + [f"missing: {n}" for n in self.missing]
                + [f"added: {n}" for n in self.added])


def _safe_name(name: str, archive: Path) -> str:
    pure = PurePosixPath(name)
    if pure.is_absolute() or ".." in pure.parts or "\\" in name:
        raise InvalidInput(f"{archive}: entry {name!r} is not a plain relative path")
    return name


def verify_bundle(archive_path: Path, cert: Path | None = None) -> Verification:
    """Check the manifest's signature, then every artefact against it. Raises SignatureInvalid when the
    signature does not verify; returns the differences otherwise (Verification.ok)."""
    from cryptography import x509

    from .keystore import Keystore
    from .signing import TrustStore, verify

    archive_path = Path(archive_path)
    try:
        archive = zipfile.ZipFile(archive_path)
    except (OSError, zipfile.BadZipFile) as exc:
        raise InvalidInput(f"{archive_path}: not a bundle (not a zip archive: {exc})") from None
    with archive:
        names = [_safe_name(info.filename, archive_path) for info in archive.infolist() if not info.is_dir()]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise InvalidInput(f"{archive_path}: entries stored more than once: {', '.join(duplicates)}")
        if MANIFEST not in names:
            raise InvalidInput(f"{archive_path}: no {MANIFEST}: not a duisconf evidence bundle")
        manifest_bytes = archive.read(MANIFEST)
        if cert is not None:
            identity = Keystore().add_pem(Path(cert))
        elif SIGNER in names:
            try:
                certificate = x509.load_pem_x509_certificate(archive.read(SIGNER))
            except ValueError:
                raise InvalidInput(f"{archive_path}: {SIGNER} is not a PEM certificate") from None
            trust = TrustStore()
            trust.add_certificate(certificate, "the bundle's signer.pem")
            identity = trust.get(certificate.serial_number)
        else:
            raise InvalidInput(f"{archive_path}: no {SIGNER}: give the signer's certificate with --cert")
        verified = verify(manifest_bytes, TrustStore([identity]), source=f"{archive_path.name}:{MANIFEST}",
                          allow_unsigned_errors=False)
        root = verified.root
        if root.tag != f"{_N}EvidenceBundle":
            raise InvalidInput(f"{archive_path}: {MANIFEST} is not an evidence bundle manifest")
        listed = {a.get("path"): a.get("sha256") for a in root.iter(f"{_N}Artefact")}
        present = {n[len(ARTEFACTS):]: n for n in names if n.startswith(ARTEFACTS)}
        result = Verification(signer=identity.certificate.subject.rfc4514_string() or identity.name, pinned=cert is not None,
                              draft=root.get("status") == "draft", artefacts=len(listed))
        for name, digest in sorted(listed.items()):
            if name not in present:
                result.missing.append(name)
            elif hashlib.sha256(archive.read(present[name])).hexdigest() != digest:
                result.changed.append(name)
        result.added = sorted(set(present) - set(listed)) + sorted(
            n for n in names if not n.startswith(ARTEFACTS) and n not in (MANIFEST, SIGNER))
    return result


def manifest_summary(archive_path: Path) -> str:
    """The manifest's Verdicts element as text (for people; verification is verify_bundle's job)."""
    with zipfile.ZipFile(archive_path) as archive:
        from .duis.parse import parse_xml

        root = parse_xml(archive.read(MANIFEST), source=MANIFEST).getroot()
    totals = root.find(f"{_N}Verdicts/{_N}Totals")
    return ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in (totals.attrib.items() if totals is not None else []))


# -- command line ---------------------------------------------------------------------------------

def add_parser(commands, epilog: str | None = None) -> None:
    """`duisconf bundle REPORT_DIR …` and `duisconf bundle verify ARCHIVE`, under the main parser."""
    bundle = commands.add_parser(
        "bundle", epilog=epilog,
        help="write the signed evidence bundle of a run (refused, exit 13, while a scenario did not pass, "
             "unless --draft), or `bundle verify ARCHIVE` (exit 11 bad signature, 4 changed, missing or added files)")
    bundle.add_argument("report_dir", metavar="REPORT_DIR | verify", help="the run's reports directory (e.g. reports), "
                        "or the word verify followed by the archive")
    bundle.add_argument("archive", nargs="?", metavar="ARCHIVE", help="with verify: the bundle to check")
    bundle.add_argument("--declaration", metavar="FILE", help="the declaration the run was judged against")
    bundle.add_argument("--key", metavar="PEM", help="your EC P-256 private key (PKCS#8 PEM or DER), as for DUIS signing")
    bundle.add_argument("--cert", metavar="PEM", help="its certificate; with verify: the certificate the bundle "
                        "must be signed with (default: the one inside it, which proves integrity, not who signed)")
    bundle.add_argument("--out", metavar="FILE", help="archive to write (default evidence-<declaration>-<target>-<time>.zip)")
    bundle.add_argument("--draft", action="store_true", help="issue despite scenarios that did not pass, marked as a "
                        "draft in the manifest and the file name")
    bundle.add_argument("--deviations", metavar="FILE", help="the known-deviation register to include "
                        "(default: REPORT_DIR/deviations.toml, else ./deviations.toml of the project, if present)")
    bundle.set_defaults(func=cmd_bundle, parser=bundle)


def cmd_bundle(args) -> int:
    import sys

    if args.report_dir == "verify":
        if not args.archive:
            args.parser.error("bundle verify needs the ARCHIVE to check")
        result = verify_bundle(Path(args.archive), Path(args.cert) if args.cert else None)
        where = "" if result.pinned else " (certificate taken from the bundle: pass --cert to check who signed)"
        print(f"{args.archive}: signature verifies: signed by {result.signer}{where}", file=sys.stderr)
        for line in result.problems():
            print(f"{args.archive}: {line}", file=sys.stderr)
        if not result.ok:
            return ArtefactMismatch.exit_code
        print(f"{args.archive}: all {result.artefacts} artefacts match the signed manifest"
              f"{'; a DRAFT bundle' if result.draft else ''}; {manifest_summary(Path(args.archive))}")
        return 0
    if args.archive:
        args.parser.error(f"unexpected argument {args.archive!r} (to check a bundle: duisconf bundle verify ARCHIVE)")
    missing = [name for name in ("declaration", "key", "cert") if not getattr(args, name)]
    if missing:
        args.parser.error(f"writing a bundle needs {', '.join('--' + m for m in missing)}")
    issued = make_bundle(Path(args.report_dir), Path(args.declaration), Path(args.key), Path(args.cert),
                         out=Path(args.out) if args.out else None, draft=args.draft,
                         deviations=Path(args.deviations) if args.deviations else None)
    if issued.draft:
        print(f"DRAFT: {len(issued.blockers)} scenario(s) did not pass; listed in the manifest", file=sys.stderr)
    print(f"{issued.path}: {issued.artefacts} artefacts, signed{' (DRAFT)' if issued.draft else ''}")
    return 0


__all__ = ["make_bundle", "verify_bundle", "read_scenarios", "verdict_of_result", "blocking", "verdict_summary",
           "fingerprint", "collect_artefacts", "BundleRefused", "KeyMaterialFound", "ArtefactMismatch",
           "Issued", "Verification", "Scenario"]
