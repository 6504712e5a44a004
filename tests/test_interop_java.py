"""Interoperability with DCC's own Java signing tool (tool.jar of @smartdcc/duis-sign-wrap), the referee.

Every SRV duisconf renders and signs, every reply and asynchronous message of the emulator, must pass
DCC's `Validate`; every RTDS template signed by DCC's `Sign` must pass the emulator's signature check;
requests signed the wrong way on purpose must be refused by both; and on a set of whitespace variants
DCC's verdict and `duisconf.signing.verify`'s must be the same. The tool runs in batches in one JVM
(tests/dcc_java.py). Skipped with a visible reason only when no Java runtime (or javac) exists.
"""

from __future__ import annotations

import re
from unittest import mock

import pytest
from lxml import etree

from duisconf import signing
from duisconf.duis.parse import parse_xml
from duisconf.emulator.access import Rejection
from duisconf.emulator.server import DCCEmulator
from duisconf.errors import KeyMaterialMissing, SignatureInvalid
from duisconf.keystore import zaz1
from duisconf.render import default_originator, default_target, render_request
from duisconf.rules import load_catalogue
from duisconf.signing import request_trust, sign, verify
from dcc_java import MISSING_KEY, SUCCESS, VALIDATION_FAIL
from emulator_harness import Session
from test_templates import SHAPE_ARGS

pytestmark = pytest.mark.java

SUPPLIER = "90-B3-D5-1F-30-01-00-00"
LOAD_CONTROLLER = "90-B3-D5-1F-30-01-00-08"
ROLE_USERS = {"IS": SUPPLIER, "GS": SUPPLIER, "ES": SUPPLIER, "ED": "90-B3-D5-1F-30-02-00-00",
              "GT": "90-B3-D5-1F-30-02-00-00", "OU": "00-DB-12-34-56-78-00-04"}  # RSA's MDR cannot sign
SERVICE = {1: "serviceS", 2: "serviceD", 3: "serviceS", 4: "serviceT", 5: "serviceS", 6: "serviceD", 8: "serviceD"}
_SRV_IN_STEM = re.compile(r"_(\d+(?:\.\d+)+)_")


def _failures(verdicts) -> list[str]:
    return [f"{name}: exit {v.code}: {v.said[-160:]}" for name, v in verdicts.items() if not v.passed]


def _admit(dcc: DCCEmulator, request: bytes) -> Rejection | None:
    """The emulator's access checks on one request: the Rejection, or None when admitted."""
    root = parse_xml(request).getroot()
    cv = int(root.findtext("{*}Header/{*}CommandVariant"))
    try:
        dcc.access.admit(SERVICE[cv], request)
    except Rejection as rejection:
        return rejection
    return None


def _signed_as_before(xml: bytes) -> bytes:
    """Signed as duisconf did before issue 12: blank text between elements dropped, blank leaf text kept."""
    tree = parse_xml(xml)  # drops whitespace between elements only
    with mock.patch.object(signing, "schema_normalise", lambda root, schema=None: None):
        return sign(tree.getroot(), zaz1())


# -- 1. everything duisconf signs passes DCC's Validate ---------------------------------------------------
def test_every_srv_rendered_and_signed_by_duisconf_passes_dccs_validate(dcc_tool):
    catalogue = load_catalogue()
    documents = {f"{rule.srv} default": sign(render_request(rule.srv), zaz1()) for rule in catalogue}
    # the catalogue features send each SRV from each role eligible for it
    for rule in catalogue:
        for role in rule.eligible_roles:
            if role in ROLE_USERS:
                documents[f"{rule.srv} from {role}"] = sign(render_request(rule.srv, originator=ROLE_USERS[role]), zaz1())
    # the parameter sets that reproduce each RTDS template's shape (tests/test_templates.py)
    for stem, args in SHAPE_ARGS.items():
        srv = _SRV_IN_STEM.search(f"_{stem}_").group(1)
        documents[f"{srv} as {stem}"] = sign(render_request(srv, **args), zaz1())
    assert len(catalogue) == 129 and len(documents) > 300
    verdicts = dcc_tool.validate(documents)
    assert not _failures(verdicts), "\n".join(_failures(verdicts))
    for name, document in documents.items():  # and our own verifier agrees
        assert verify(document, request_trust(zaz1()), source=name).signed


def test_the_issue_12_srvs_signed_the_old_way_fail_dccs_validate(dcc_tool):
    """The referee is not blind: the 18 SRVs of issue 12, signed as before, are refused by DCC and by us."""
    srvs = ["4.1.1", "4.1.2", "4.1.3", "4.1.4", "4.2", "4.3", "4.12.1", "4.12.2", "4.13", "4.15", "4.18",
            "6.4.2", "6.27", "7.7", "7.14", "7.15", "8.9", "11.2"]
    old = {srv: _signed_as_before(render_request(srv)) for srv in srvs}
    verdicts = dcc_tool.validate(old)
    assert {srv: v.code for srv, v in verdicts.items()} == {srv: VALIDATION_FAIL for srv in srvs}
    for srv, document in old.items():
        with pytest.raises(SignatureInvalid, match="changed after signing"):
            verify(document, request_trust(zaz1()), source=srv)


def test_every_emulator_reply_and_message_passes_dccs_validate(dcc_tool):
    replies: dict[str, bytes] = {}
    with Session() as session:
        handle = session.dcc.handle

        def recording(service: str, request: bytes):
            reply = handle(service, request)
            replies[f"reply {len(replies) + 1} ({service}, {parse_xml(request).getroot().findtext('{*}Header/{*}ServiceReferenceVariant')})"] = reply.body
            return reply

        session.dcc.handle = recording
        for rule in load_catalogue():
            session.send(rule.srv, originator=default_originator(rule.srv), target=default_target(rule.srv))
        assert session.dcc.outbox.wait_idle(30), "the emulator's outbox did not drain"
        messages = {f"{record.kind} {n} for {record.request_id}": record.body
                    for n, record in enumerate(session.dcc.outbox.history())}
    assert len(replies) >= 129 and len(messages) >= 100
    verdicts = dcc_tool.validate({**replies, **messages})
    refused = [f"{name}: exit {v.code}: {v.said[-160:]}" for name, v in verdicts.items() if v.code != SUCCESS]
    assert not refused, "\n".join(refused)
    # DCC's tool passes unsigned responses unchecked; every signed one was checked and passed
    checked = [name for name, v in verdicts.items() if "passed signature check" in v.said]
    assert all(b"Signature" not in body for name, body in {**replies, **messages}.items() if name not in checked)
    assert len(checked) > 0.9 * len(verdicts)


# -- 2. what DCC's tool signs passes the emulator's signature check -----------------------------------------
def test_every_rtds_template_signed_by_dccs_tool_passes_the_emulators_signature_check(dcc_tool, rtds_dir):
    templates = {path.name: path.read_bytes() for path in sorted(rtds_dir.glob("*_REQUEST_DUIS.XML"))}
    assert len(templates) == 297
    signed = dcc_tool.sign(templates, preserve_counter=False)
    # DCC's tool holds no XML signing key for the load controller, the originator of the two 7.16 templates
    unsigned = {name: v.code for name, v in signed.items() if v.code != SUCCESS}
    assert unsigned == {name: MISSING_KEY for name in templates if "_7.16_" in name}
    dcc = DCCEmulator(port=0)
    refused = []
    for name, verdict in signed.items():
        if verdict.code == SUCCESS:
            rejection = _admit(dcc, verdict.output)
            if rejection is not None and rejection.check.name == "signature":
                refused.append(f"{name}: {rejection}")
            try:
                verify(verdict.output, request_trust(zaz1()), source=name)
            except SignatureInvalid as exc:
                refused.append(f"{name}: verify: {exc}")
    assert not refused, "\n".join(refused)


# -- 3. signed the wrong way on purpose: DCC refuses, and so do we ----------------------------------------
def _wrongly_signed() -> dict[str, bytes]:
    keystore = zaz1()
    four_13 = render_request("4.13", originator=SUPPLIER)
    seven_16 = render_request("7.16", originator=LOAD_CONTROLLER)
    return {
        # blank text inside an element with no children, signed as written (DCC digests it as <X/>)
        "blank leaf text signed": _signed_as_before(four_13),
        # the supplier's GBCS signing key, not its XML signing key
        "GBCS key of the originator": sign(four_13, identity=keystore.gbcs_signing_identity(SUPPLIER)),
        # the "Z1b-" twin of the network operator's GBCS key
        "Z1b GBCS key": sign(render_request("6.27"), identity=next(
            i for i in keystore.identities("90-B3-D5-1F-30-02-00-00") if i.name == "Z1b-networkOperator-ds")),
        # the load controller holds only a GBCS key
        "load controller's GBCS key": sign(seven_16, identity=keystore.gbcs_signing_identity(LOAD_CONTROLLER)),
    }


def test_requests_signed_the_wrong_way_are_refused_by_dccs_tool_and_by_the_emulator(dcc_tool):
    wrong = _wrongly_signed()
    verdicts = dcc_tool.validate(wrong)
    assert [name for name, v in verdicts.items() if v.passed] == []  # the referee refuses every one
    assert verdicts["blank leaf text signed"].code == VALIDATION_FAIL
    assert verdicts["GBCS key of the originator"].code == MISSING_KEY
    dcc = DCCEmulator(port=0)
    for name, document in wrong.items():
        with pytest.raises(SignatureInvalid):
            verify(document, request_trust(zaz1()), source=name)
        rejection = _admit(dcc, document)
        assert rejection is not None and rejection.check.name == "signature", f"{name}: {rejection}"
        assert rejection.check.code == "E1"


def test_no_xml_signing_key_for_an_organisation_with_only_gbcs_keys():
    with pytest.raises(KeyMaterialMissing, match="only GBCS signing keys.*Z1-loadController-ds"):
        zaz1().xml_signing_identity(LOAD_CONTROLLER)
    assert zaz1().xml_signing_identity("90-B3-D5-1F-30-03-00-00").name == "Z1-supplier2-ds"  # as DCC's tool


# -- 4. differential: DCC's verdict == ours, on whitespace and friends ------------------------------------
def _pretty(document: bytes) -> bytes:
    root = etree.fromstring(document)
    etree.indent(root, space="  ")
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


def test_whitespace_variants_get_the_same_verdict_from_dccs_tool_and_from_verify(dcc_tool):
    season = render_request("1.1.2", originator=SUPPLIER).replace(b">duisconf</sr:SeasonName>", b">  </sr:SeasonName>")
    originals = dcc_tool.sign({"4.13": render_request("4.13", originator=SUPPLIER), "1.1.2": season,
                               "4.13 with PI": render_request("4.13", originator=SUPPLIER).replace(b"<sr:Body>", b"<sr:Body><?duisconf x?>")})
    java, tariff, with_pi = (originals[k].output for k in ("4.13", "1.1.2", "4.13 with PI"))
    ours = sign(render_request("7.16", originator=SUPPLIER), zaz1())
    variants = {
        "as DCC signed it": java,
        "indented throughout": _pretty(java),
        "blank text inside an empty element-only element": java.replace(
            b"<sr:ReadPrepaymentConfiguration/>", b"<sr:ReadPrepaymentConfiguration>\n  </sr:ReadPrepaymentConfiguration>"),
        "CRLF between elements": java.replace(b"><", b">\r\n<"),
        "blank text inside ds:SignedInfo": java.replace(b"<ds:SignedInfo>", b"<ds:SignedInfo>\n  "),
        "blank text inside ds:KeyInfo (mixed, unsigned)": java.replace(b"<ds:KeyInfo>", b"<ds:KeyInfo>\n  "),
        "blank text inside ds:SignatureMethod (mixed, signed)": re.sub(
            rb"(<ds:SignatureMethod [^>]*?)/>", rb"\1>\n</ds:SignatureMethod>", java),
        "a comment added": java.replace(b"<sr:Body>", b"<sr:Body><!-- note -->"),
        "a processing instruction added": java.replace(b"<sr:Body>", b"<sr:Body><?duisconf x?>"),
        "a signed processing instruction kept": with_pi,
        "a signed processing instruction removed": with_pi.replace(b"<?duisconf x?>", b""),
        "spaces around the serial number": re.sub(rb"<ds:X509SerialNumber>(\d+)<", rb"<ds:X509SerialNumber> \1 <", java),
        "spaces around a CommandVariant (collapsed)": java.replace(b"<sr:CommandVariant>1<", b"<sr:CommandVariant>\n 1 <"),
        "spaces inside schemaVersion (collapsed)": java.replace(b'schemaVersion="5.4"', b'schemaVersion=" 5.4 "'),
        "blank xs:string value as signed": tariff,
        "blank xs:string value shortened": tariff.replace(b"<sr:SeasonName>  <", b"<sr:SeasonName> <"),
        "blank xs:string value emptied": tariff.replace(b"<sr:SeasonName>  </sr:SeasonName>", b"<sr:SeasonName></sr:SeasonName>"),
        "duisconf's, indented": _pretty(ours),
        "duisconf's, an integer attribute padded": ours.replace(b'auxiliaryControllerN="1"', b'auxiliaryControllerN=" 1 "'),
        "duisconf's, tampered": ours.replace(b"<sr:CommandedStateLevel>1<", b"<sr:CommandedStateLevel>2<"),
    }
    verdicts = dcc_tool.validate(variants)
    theirs = {name: verdicts[name].passed for name in variants}
    mine = {}
    for name, document in variants.items():
        try:
            mine[name] = verify(document, request_trust(zaz1()), source=name).signed
        except SignatureInvalid:
            mine[name] = False
    assert mine == theirs
    assert 5 <= sum(theirs.values()) <= len(theirs) - 5  # both kinds of verdict are exercised
