"""Signing and verification in DCC's profile: what a DCC Boxed kit and a User's system rely on."""

from __future__ import annotations

import zipfile

import pytest
from lxml import etree

from duisconf import paths
from duisconf.duis.model import DS_NS, SR_NS
from duisconf.duis.parse import parse_xml
from duisconf.errors import KeyMaterialMissing, SignatureInvalid
from duisconf.keystore import Keystore, zaz1
from duisconf.signing import TrustStore, request_trust, response_trust, sign, verify
from identities import self_signed

DS = f"{{{DS_NS}}}"
SUPPLIER, SUPPLIER2, NETWORK_OPERATOR = "90-B3-D5-1F-30-01-00-00", "90-B3-D5-1F-30-03-00-00", "90-B3-D5-1F-30-02-00-00"


def _ack(code: str = "I99", signed_by: str | None = None) -> bytes:
    xml = f"""<sr:Response xmlns:sr="{SR_NS}" schemaVersion="5.1"><sr:Header>
      <sr:RequestID>90-B3-D5-1F-30-01-00-00:00-DB-12-34-56-78-90-A0:1000</sr:RequestID>
      <sr:ResponseCode>{code}</sr:ResponseCode><sr:ResponseDateTime>2026-11-22T10:00:00Z</sr:ResponseDateTime>
      </sr:Header><sr:Body><sr:ResponseMessage><sr:ServiceReference>4.1</sr:ServiceReference>
      <sr:ServiceReferenceVariant>4.1.1</sr:ServiceReferenceVariant></sr:ResponseMessage></sr:Body></sr:Response>""".encode()
    if signed_by is None:
        return xml
    identity = next(i for i in zaz1().dcc_response_certificates() if i.name == signed_by)
    return sign(xml, identity=identity)


def test_signature_follows_dccs_profile(rtds):
    signed = parse_xml(sign(rtds("CCS01_8.11_SUCCESS"), zaz1())).getroot()
    signature = signed[-1]
    assert signature.tag == f"{DS}Signature", "the signature is the last child of sr:Request"
    algorithms = {e.tag.split("}")[1]: e.get("Algorithm") for e in signature.iter() if e.get("Algorithm")}
    assert algorithms["CanonicalizationMethod"] == "http://www.w3.org/2001/10/xml-exc-c14n#"
    assert algorithms["SignatureMethod"] == "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256"
    assert algorithms["DigestMethod"] == "http://www.w3.org/2001/04/xmlenc#sha256"
    assert signature.find(f"{DS}SignedInfo/{DS}Reference").get("URI") == ""
    key_info = signature.find(f"{DS}KeyInfo")
    assert [e.tag.split("}")[1] for e in key_info.iter()] == [
        "KeyInfo", "X509Data", "X509IssuerSerial", "X509IssuerName", "X509SerialNumber"]
    assert key_info.findtext(f".//{DS}X509IssuerName") == "CN=Z1,OU=07"


def test_whitespace_only_text_is_removed_before_signing(rtds):
    indented = etree.fromstring(rtds("CCS01_8.11_SUCCESS"))  # parsed keeping the indentation
    assert any(e.tail and not e.tail.strip() for e in indented.iter())
    signed = etree.fromstring(sign(indented, zaz1()))
    assert not any(e.tail and not e.tail.strip() for e in signed.iter())
    assert not any(len(e) and e.text and not e.text.strip() for e in signed.iter())


@pytest.mark.parametrize(
    "originator, key_name",
    [(SUPPLIER, "xml-sign-90B3D51F30010000-ds"), (SUPPLIER2, "Z1-supplier2-ds"),
     (NETWORK_OPERATOR, "xml-sign-90B3D51F30020000-ds"), ("00-DB-12-34-56-78-00-04", "xml-sign-00DB123456780004-ds")],
)
def test_key_is_chosen_by_the_requestid_originator(rtds, originator: str, key_name: str):
    xml = rtds("ECS17b_4.1.1_SINGLE_SUCCESS").replace(SUPPLIER.encode(), originator.encode())
    verified = verify(sign(xml, zaz1()), request_trust(zaz1()))
    assert verified.signer.name == key_name


def test_unknown_originator_has_no_key(rtds):
    xml = rtds("ECS17b_4.1.1_SINGLE_SUCCESS").replace(SUPPLIER.encode(), b"11-22-33-44-55-66-77-88")
    with pytest.raises(KeyMaterialMissing, match="no XML signing key for originator 11-22-33-44-55-66-77-88"):
        sign(xml, zaz1())


@pytest.mark.parametrize(
    "tamper",
    [
        lambda x: x.replace(b"<sr:RequestType>Add", b"<sr:RequestType>Remove"),
        lambda x: x.replace(b'schemaVersion="5.4"', b'schemaVersion="5.3"'),
        lambda x: x.replace(b":1002<", b":1003<"),
        lambda x: x.replace(b"<sr:JoinTimePeriod>90</sr:JoinTimePeriod>", b""),
    ],
    ids=["text", "attribute", "counter", "removed-element"],
)
def test_tampering_with_any_signed_byte_is_detected(rtds, tamper):
    signed = sign(rtds("CCS01_8.11_SUCCESS"), zaz1())
    tampered = tamper(signed)
    assert tampered != signed
    with pytest.raises(SignatureInvalid, match="changed after signing"):
        verify(tampered, request_trust(zaz1()))


def test_a_forged_signature_value_is_detected(rtds):
    root = etree.fromstring(sign(rtds("CCS01_8.11_SUCCESS"), zaz1()))
    value = root.find(f".//{DS}SignatureValue")
    value.text = ("A" if value.text[0] != "A" else "B") + value.text[1:]
    with pytest.raises(SignatureInvalid, match="does not verify"):
        verify(root, request_trust(zaz1()))


def test_a_signature_by_anyone_else_is_refused_and_user_trust_admits_them(rtds, tmp_path):
    cert, cert_path, key_path = self_signed(tmp_path)
    store = Keystore()
    identity = store.add_pem(cert_path, key_path, eui=SUPPLIER)
    signed = sign(rtds("ECS17b_4.1.1_SINGLE_SUCCESS"), identity=identity)
    with pytest.raises(SignatureInvalid, match=rf"serial {cert.serial_number}, which is not trusted"):
        verify(signed, request_trust(zaz1()))
    assert verify(signed, request_trust(zaz1(), [cert])).signed


def test_private_keys_never_show_in_reprs_or_errors(tmp_path):
    cert, cert_path, key_path = self_signed(tmp_path)
    identity = Keystore().add_pem(cert_path, key_path)
    secret = key_path.read_text().splitlines()[1]
    assert secret not in repr(identity) and secret not in str(identity)
    broken = tmp_path / "broken.key"
    marker = "PRIVATE " + "KEY-----"  # spelled in two parts so the repository never holds a PEM key header
    broken.write_text(f"-----BEGIN {marker}\nnot a key\n-----END {marker}\n")
    with pytest.raises(KeyMaterialMissing) as failure:
        _ = Keystore().add_pem(cert_path, broken).private_key
    assert "not a key" not in str(failure.value)


def test_no_usable_serial_is_named(rtds):
    root = etree.fromstring(sign(rtds("CCS01_8.11_SUCCESS"), zaz1()))
    serial = root.find(f".//{DS}X509SerialNumber")
    serial.getparent().remove(serial)
    with pytest.raises(SignatureInvalid, match="no usable X509SerialNumber"):
        verify(root, request_trust(zaz1()))


def test_unsigned_messages_fail_but_unsigned_error_acknowledgements_are_tolerated():
    with pytest.raises(SignatureInvalid, match="not signed"):
        verify(_ack("I99"), response_trust(zaz1()))
    assert not verify(_ack("E65"), response_trust(zaz1())).signed
    with pytest.raises(SignatureInvalid, match="not signed"):
        verify(_ack("E65"), response_trust(zaz1()), allow_unsigned_errors=False)


def test_a_real_dcc_boxed_response_verifies():
    with zipfile.ZipFile(paths.signing_tool_jar()) as jar:
        boxed = jar.read("message.xml")  # a signed Boxed response shipped in DCC's tool
    verified = verify(boxed, response_trust(zaz1()))
    assert verified.signer.name == "Z1-accessControlBroker-ds"
    assert verified.root.find(f"{DS}Signature") is None


@pytest.mark.parametrize("signer", ["dsp-xml-sign-90B3D51F30000002-ds", "dsp-xml-sign-90B3D51F30000002-ds-pre-1.4.1",
                                    "Z1-accessControlBroker-ds"])
def test_every_dcc_response_signing_certificate_is_trusted(signer: str):
    assert verify(_ack("I99", signed_by=signer), response_trust(zaz1())).signer.name == signer


def test_a_user_certificate_cannot_sign_a_dcc_response(rtds):
    xml = _ack("I99")
    forged = sign(xml, identity=zaz1().xml_signing_identity(SUPPLIER))
    with pytest.raises(SignatureInvalid, match="not trusted"):
        verify(forged, response_trust(zaz1()))


def test_validity_dates_are_ignored_by_default_and_checked_on_request():
    with zipfile.ZipFile(paths.signing_tool_jar()) as jar:
        boxed = jar.read("message.xml")
    verify(boxed, response_trust(zaz1()))  # Z1-accessControlBroker-ds expired 2025-10-29
    with pytest.raises(SignatureInvalid, match="outside its validity period"):
        verify(boxed, response_trust(zaz1()), check_validity=True)


def test_trust_store_counts_certificates():
    trust = response_trust(zaz1())
    names = {trust.get(i.serial).name for i in zaz1().dcc_response_certificates()}
    assert "dsp-xml-sign-90B3D51F30000002-ds-pre-1.4.1" in names
    assert len(TrustStore()) == 0


def test_identities_are_selectable_by_eui_role_and_usage():
    store = zaz1()
    suppliers = store.find(eui=SUPPLIER, role="Supplier", usage="keyAgreement")
    assert {i.name for i in suppliers} == {"Z1-supplier-ka", "Z1b-supplier-ka", "Z1-supplierPP-ka", "Z1b-supplierPP-ka"}
    assert [i.name for i in store.find(eui=SUPPLIER, role=135)] == ["xml-sign-90B3D51F30010000-ds"]
    assert store.gbcs_signing_identity(SUPPLIER).name == "Z1-supplier-ds"
    assert any("mdr" in reason for reason in store.skipped), "unusable entries are reported, not dropped silently"
    with pytest.raises(Exception, match="unknown remote-party role 'Plumber'"):
        store.find(role="Plumber")


def test_every_srv_signed_by_duisconf_verifies_with_signxml():
    """Our signer composes C14N and ECDSA itself; signxml, an independent implementation, checks it."""
    from duisconf.render import render_request
    from duisconf.rules import load_catalogue

    cert = zaz1().xml_signing_identity("90-B3-D5-1F-30-01-00-00").certificate
    failures = []
    for rule in load_catalogue().all():
        xml = render_request(rule.srv, originator="90-B3-D5-1F-30-01-00-00", counter=1)
        signed = sign(xml, zaz1())
        if not _signxml_accepts(signed, cert):
            failures.append(rule.srv)
    assert not failures, f"signxml refuses duisconf's signature for SRVs {failures}"


def _signxml_accepts(document: bytes, cert) -> bool:
    """signxml, the independent oracle, in DUIS's profile (validity dates out of the question)."""
    from signxml import DigestAlgorithm, SignatureMethod, XMLVerifier
    from signxml.verifier import SignatureConfiguration

    middle = cert.not_valid_before_utc + (cert.not_valid_after_utc - cert.not_valid_before_utc) / 2
    config = SignatureConfiguration(require_x509=True, signature_methods=frozenset({SignatureMethod.ECDSA_SHA256}),
                                    digest_algorithms=frozenset({DigestAlgorithm.SHA256}),
                                    ignore_ambiguous_key_info=True, verification_time=middle)
    try:
        XMLVerifier().verify(document, x509_cert=cert, expect_config=config)
        return True
    except Exception:
        return False


def _duisconf_accepts(document: bytes, trust) -> bool:
    try:
        verify(document, trust)
        return True
    except SignatureInvalid:
        return False


def test_duisconf_and_signxml_agree_on_valid_and_tampered_documents(rtds):
    with zipfile.ZipFile(paths.signing_tool_jar()) as jar:
        boxed = jar.read("message.xml")
    requests_trust, responses_trust = request_trust(zaz1()), response_trust(zaz1())
    signed = [(sign(rtds(stem), zaz1()), requests_trust) for stem in
              ("CCS01_8.11_SUCCESS", "ECS17b_4.1.1_SINGLE_SUCCESS", "CS02bSupplierByTransCoS_6.23_IMMEDIATE_SUCCESS")]
    signed.append((boxed, responses_trust))
    tamperings = [
        lambda x: x,
        lambda x: x.replace(b"</sr:RequestID>", b"1</sr:RequestID>", 1),
        lambda x: x.replace(b'schemaVersion="5', b'schemaVersion="4', 1),
        lambda x: x.replace(b"<ds:DigestValue>", b"<ds:DigestValue>AAAA", 1),
        lambda x: x.replace(b"<ds:SignatureValue>", b"<ds:SignatureValue>AAAA", 1),
        lambda x: x.replace(b"ecdsa-sha256", b"ecdsa-sha384", 1),
        lambda x: x.replace(b"xmlenc#sha256", b"xmldsig-more#sha384", 1),
    ]
    disagreements = []
    for n, (document, trust) in enumerate(signed):
        serial = int(document.split(b"X509SerialNumber>")[1].split(b"<")[0])
        cert = trust.get(serial).certificate
        for t, tamper in enumerate(tamperings):
            candidate = tamper(document)
            ours, theirs = _duisconf_accepts(candidate, trust), _signxml_accepts(candidate, cert)
            if ours != theirs:
                disagreements.append(f"document {n}, tampering {t}: duisconf {ours}, signxml {theirs}")
            if t == 0:
                assert ours, f"document {n} should verify"
            elif candidate != document:
                assert not ours, f"document {n}, tampering {t} was accepted"
    assert not disagreements, "\n".join(disagreements)


def test_signature_placement_and_reference_rules_are_enforced(rtds):
    root = etree.fromstring(sign(rtds("CCS01_8.11_SUCCESS"), zaz1()))
    signature = root[-1]
    root.insert(0, signature)  # a signature that is not the last child
    with pytest.raises(SignatureInvalid, match="must be the last child"):
        verify(root, request_trust(zaz1()))
    root = etree.fromstring(sign(rtds("CCS01_8.11_SUCCESS"), zaz1()))
    root[-1].find(f"{DS}SignedInfo/{DS}Reference").set("URI", "#body")
    with pytest.raises(SignatureInvalid, match='exactly one Reference with URI=""'):
        verify(root, request_trust(zaz1()))


# -- the schema-normalised document DCC's tool digests (duisconf.duis.whitespace; Java's verdicts in
# -- tests/test_interop_java.py) -------------------------------------------------------------------------
SR = f"{{{SR_NS}}}"


def _normalised(xml: bytes) -> etree._Element:
    from duisconf.signing import schema_normalise

    root = parse_xml(xml, as_written=True).getroot()
    schema_normalise(root)
    return root


def test_blank_text_in_element_only_content_goes_even_without_children():
    from duisconf.render import render_request

    rendered = render_request("4.13", counter=1000)
    assert b"<sr:ReadPrepaymentConfiguration>\n" in rendered  # the template leaves a blank line inside
    signed = sign(rendered, zaz1())
    assert b"<sr:ReadPrepaymentConfiguration/>" in signed  # as DCC's signer writes it
    assert b">\n" not in signed.split(b"?>", 1)[1]
    assert verify(signed, request_trust(zaz1())).signed


def test_blank_text_in_simple_and_mixed_content_is_kept_and_typed_values_are_collapsed():
    from duisconf.render import render_request

    xml = render_request("1.1.2", counter=1000).replace(b">duisconf</sr:SeasonName>", b">\t </sr:SeasonName>")
    xml = xml.replace(b"<sr:CommandVariant>4<", b"<sr:CommandVariant>\n 4 <").replace(b'schemaVersion="5.4"', b'schemaVersion=" 5.4 "')
    root = _normalised(xml)
    assert root.findtext(f".//{SR}SeasonName") == "\t "  # xs:string: whiteSpace preserve
    assert root.findtext(f"{SR}Header/{SR}CommandVariant") == "4"  # positiveInteger: collapse
    assert root.get("schemaVersion") == "5.4"  # xs:decimal attribute: collapse
    method = etree.fromstring(f'<ds:SignatureMethod xmlns:ds="{DS_NS}" Algorithm="x">\n</ds:SignatureMethod>'.encode())
    signed = _normalised(sign(render_request("4.13", counter=1001), zaz1()))
    signed.find(f"{DS}Signature/{DS}SignedInfo").replace(signed.find(f".//{DS}SignatureMethod"), method)
    from duisconf.signing import schema_normalise

    schema_normalise(signed)
    assert signed.find(f".//{DS}SignatureMethod").text == "\n"  # mixed content: kept (and signed)


def test_elements_the_schema_does_not_declare_are_left_alone():
    root = _normalised(b"<unknown>\n  <child> x </child>\n</unknown>")
    assert root.text == "\n  " and root[0].text == " x "


def test_a_gbcs_signing_key_of_the_originator_does_not_sign_xml():
    from duisconf.render import render_request

    gbcs_key = zaz1().gbcs_signing_identity(SUPPLIER)
    signed = sign(render_request("4.13", counter=1000), identity=gbcs_key)
    with pytest.raises(SignatureInvalid, match="not trusted"):
        verify(signed, request_trust(zaz1()))
    assert gbcs_key.serial not in request_trust(zaz1())
    names = {i.name for i in zaz1().xml_signing_certificates()}
    assert "Z1-supplier-ds" not in names and "Z1b-recovery-ds" not in names and "Z1-loadController-ds" not in names
    assert {"xml-sign-90B3D51F30010000-ds", "Z1-supplier2-ds", "dsp-xml-sign-90B3D51F30000002-ds"} <= names


def test_the_load_controller_has_no_xml_signing_key():
    with pytest.raises(KeyMaterialMissing, match="only GBCS signing keys"):
        zaz1().xml_signing_identity("90-B3-D5-1F-30-01-00-08")


def test_an_element_with_trailing_text_signs_what_is_written(rtds):
    """An in-memory root element with a tail (text after it) must not have that text digested: the
    serialised document never carries it, so the signature would not verify."""
    root = etree.fromstring(rtds("CCS01_8.11_SUCCESS"))
    root.tail = "\n  trailing text\n"
    verify(sign(root, zaz1()), request_trust(zaz1()))


def _value_blanked(signed: bytes) -> bytes:
    head, rest = signed.split(b"<ds:SignatureValue>", 1)
    return head + b"<ds:SignatureValue>" + rest.split(b"</ds:SignatureValue>", 1)[1]


@pytest.mark.parametrize("root_binds_ds", [False, True])
def test_the_written_signature_is_byte_for_byte_the_built_one(root_binds_ds: bool):
    """`sign` writes the Signature from bytes; lxml building it element by element is the reference.
    Every SRV as rendered, with the root binding ds or not, and the emulator's own replies."""
    from duisconf.emulator.responses import ResponseBuilder
    from duisconf.duis.model import RequestID
    from duisconf.render import render_request
    from duisconf.rules import load_catalogue
    from duisconf.signing import sign_element_by_element

    keystore = zaz1()
    identity = keystore.xml_signing_identity(SUPPLIER)
    documents = []
    for rule in load_catalogue().all():
        xml = render_request(rule.srv, originator=SUPPLIER, counter=1)
        root = parse_xml(xml).getroot()
        etree.cleanup_namespaces(root)  # an unsigned request uses no ds: its binding goes
        text = etree.tostring(root)
        if root_binds_ds:
            text = text.replace(b"<sr:Request ", f'<sr:Request xmlns:ds="{DS_NS}" '.encode(), 1)
        assert ("ds" in etree.fromstring(text).nsmap) == root_binds_ds
        documents.append(text)
    builder = ResponseBuilder(keystore)
    request_id = RequestID.parse(f"{SUPPLIER}:00-DB-12-34-56-78-90-A0:1000")
    documents += [builder.acknowledgement(request_id, "I99", "4.1.1"),
                  builder.device_response(request_id, "4.1.1", b"\x01" * 40)]
    assert len(documents) > 100
    for document in documents:
        written, built = sign(document, identity=identity), sign_element_by_element(document, identity)
        assert _value_blanked(written) == _value_blanked(built), document[:200]
        verify(written, request_trust(keystore))


def test_a_root_binding_ds_elsewhere_is_signed_the_built_way():
    """A root whose ds prefix (or another prefix) names something else: nothing written from bytes."""
    identity = zaz1().xml_signing_identity(SUPPLIER)
    for declaration in ('xmlns:ds="urn:not-dsig"', f'xmlns:dsig="{DS_NS}"'):
        xml = _ack().replace(b"<sr:Response ", f"<sr:Response {declaration} ".encode(), 1)
        from duisconf.signing import sign_element_by_element
        assert _value_blanked(sign(xml, identity=identity)) == _value_blanked(sign_element_by_element(xml, identity))
