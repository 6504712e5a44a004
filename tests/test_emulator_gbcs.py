"""The emulator speaks real GBCS: every SRV it answers, read back as a User's system reads a kit's devices —
device certificates from the emulator's SMKI interface, the organisations' keys from ZAZ1, the codec's
decode_message — with valid MACs and signatures, the use case's message code, and the DUIS header's parties
and counter; critical commands are the GBCS command, and a user who signs another command is refused."""

from __future__ import annotations

import base64
from datetime import timedelta

import pytest
from lxml import etree

from duisconf import gbcs
from duisconf.duis.model import DCC_EUI, eui_bytes
from duisconf.emulator.device_messages import choose_variant, use_case_for
from duisconf.gbcs import builder, message, readings
from duisconf.gbcs.keys import KeyChain, SmkiSource, Zaz1Source
from duisconf.keystore import zaz1
from duisconf.payloads import decode_payload, use_case_of
from duisconf.render import render_request
from duisconf.rules import load_catalogue
from duisconf.signing import sign
from emulator_harness import CHF, ESME, GSME, SR, SUPPLIER, Session, next_counter

ROLE_USERS = {"IS": SUPPLIER, "ES": SUPPLIER, "GS": SUPPLIER, "ED": "90-B3-D5-1F-30-02-00-00",
              "GT": "90-B3-D5-1F-30-02-00-00", "OU": "00-DB-12-34-56-78-00-04"}
DEVICES = {"ESME": ESME, "GSME": GSME, "CHF": CHF, "GPF": "00-DB-12-34-56-78-90-A3",
           "PPMID": "00-DB-12-34-56-78-90-A4", "HCALCS": "00-DB-12-34-56-78-90-A5"}
CRA_OF_KIND = {"response": gbcs.CRA.RESPONSE, "device-alert": gbcs.CRA.ALERT, "future-dated-alert": gbcs.CRA.ALERT}


@pytest.fixture(scope="module")
def dcc():
    with Session() as session:
        yield session


@pytest.fixture(scope="module")
def user_keys(dcc):
    """What a User's system has: certificates over the emulator's SMKI interface, its own keys from ZAZ1."""
    return KeyChain(SmkiSource(dcc.dcc.smki_url), Zaz1Source())


def _originator(rule) -> str | None:
    for role in ("IS", "ES", "GS", "ED", "GT", "OU"):
        if role in rule.eligible_roles:
            return ROLE_USERS[role]
    return None


def _check(root: etree._Element, kind: str, keys, request_id: str, rule, device_type: str) -> message.DecodedMessage:
    """Decode one delivered message's GBCSPayload and check its framing against the DUIS request."""
    raw = base64.b64decode(root.findtext(f".//{SR}GBCSPayload"))
    frame = gbcs.decode(raw)
    signing = frame.inner if isinstance(frame, gbcs.GeneralCiphering) else frame
    cra = CRA_OF_KIND[kind]
    if cra is gbcs.CRA.RESPONSE:
        use_case_hint = use_case_for(rule, device_type, "response")[0]
    else:
        use_case_hint = use_case_of(signing.header.message_code, "alert")
    decoded = message.decode_message(raw, keys, use_case=use_case_hint)
    header = decoded.header
    what = f"{rule.srv} {device_type} {kind} (0x{header.message_code:04X})"
    assert header.cra is cra, what
    assert header.message_code != 0, f"{what}: message code 0x0000"
    if isinstance(frame, gbcs.GeneralCiphering):
        assert decoded.mac == "valid", f"{what}: MAC {decoded.mac} ({decoded.mac_reason})"
    else:
        assert decoded.signature == "valid", f"{what}: signature {decoded.signature} ({decoded.signature_reason})"
    assert not decoded.decryption_errors, f"{what}: {decoded.decryption_errors}"
    originator, target, counter = request_id.split(":")
    if cra is gbcs.CRA.RESPONSE:
        assert header.originator == eui_bytes(target), what
        assert header.originator_counter == int(counter), f"{what}: the response repeats the command's counter"
        if header.supplementary_remote_party_id is not None:  # the DCC acted for the user
            assert header.recipient == eui_bytes(DCC_EUI), what
            assert header.supplementary_remote_party_id == eui_bytes(originator), what
            assert header.supplementary_remote_party_counter == int(counter), what
        else:
            assert header.recipient == eui_bytes(originator), what
        codes = {s["message_code"] for s in builder.shapes()["use_cases"][use_case_hint]["shapes"] if s["cra"] == "response"}
        assert header.message_code in codes, f"{what}: {use_case_hint} responses have {sorted(codes)}"
    if decoded.content is None and use_case_hint:
        # an encoding decode_message cannot sniff (ASN.1 not starting with a SEQUENCE) while the use-case
        # catalogue (gbcs/use_cases.py) is not there: decode with the use case's codec directly
        encoding = builder.shapes()["use_cases"][use_case_hint]["encoding"]
        decoded.content = message.codec(encoding).decode(signing.content, use_case=use_case_hint, cra=cra.name.lower())
    assert decoded.content is not None, f"{what}: content not decoded"
    return decoded


def test_every_device_srv_the_emulator_answers_decodes_with_valid_macs_and_signatures(dcc, user_keys, caplog):
    caplog.set_level("ERROR", logger="duisconf.emulator")
    answered, by_kind, not_sent = set(), {"response": 0, "device-alert": 0}, []
    for rule in load_catalogue().all():
        if rule.non_device:
            continue
        originator = _originator(rule)
        for device_type in rule.device_types:
            target = DEVICES.get(device_type)
            if originator is None or target is None or use_case_for(rule, device_type, "response") is None:
                not_sent.append(f"{rule.srv} {device_type}")
                continue
            exchange = dcc.send(rule.srv, originator=originator, target=target)
            if exchange.code != "I99":
                not_sent.append(f"{rule.srv} {device_type}: {exchange.code}")
                continue
            messages = dcc.messages(exchange)
            for root, kind in zip(messages.roots, messages.kinds):
                if root.findtext(f".//{SR}GBCSPayload") is None:
                    continue
                _check(root, kind, user_keys, exchange.request_id, rule, device_type)
                by_kind[kind] = by_kind.get(kind, 0) + 1
            answered.add((rule.srv, device_type))
            dcc.dcc.reset(settle=0.5)
    print(f"answered {len(answered)} SRV/device pairs, messages {by_kind}; not sent: {not_sent}")
    assert len(answered) >= 150, f"only {len(answered)} SRV/device pairs answered; not sent: {not_sent}"
    assert by_kind["response"] >= 150 and by_kind["device-alert"] >= 10, by_kind
    failures = [r.getMessage() for r in caplog.records if r.levelname == "ERROR"]
    assert not failures, f"the emulator fell back to non-GBCS content: {failures[:5]}"


def test_alerts_are_the_gbcs_alerts_of_their_use_case(dcc, user_keys):
    cases = [("8.11", CHF, "8F12", 0x0018), ("7.3", ESME, "8F32", 0x1000), ("6.11", ESME, "81C6", 0x1001)]
    for srv, target, code, message_code in cases:
        exchange = dcc.send(srv, target=target)
        messages = dcc.messages(exchange)
        alerts = [r for r, k in zip(messages.roots, messages.kinds)
                  if k == "device-alert" and r.findtext(f".//{SR}AlertCode") == code]
        assert alerts, f"{srv}: no alert {code} (got {messages.device_alerts})"
        raw = base64.b64decode(alerts[0].findtext(f".//{SR}GBCSPayload"))
        decoded = message.decode_message(raw, user_keys)
        assert decoded.header.message_code == message_code and decoded.header.cra is gbcs.CRA.ALERT
        assert decoded.mac == "valid" or decoded.signature == "valid", (decoded.mac, decoded.signature)
        if decoded.content["kind"] == "dlms":
            assert decoded.content["body"]["value"][0]["value"] == int(code, 16)


def test_future_dated_command_raises_8f66_with_the_execution_alert_of_its_use_case(dcc, user_keys):
    later = dcc.clock.now() + timedelta(hours=1)
    exchange = dcc.send("1.6", target=ESME, execution_datetime=later, params={"PaymentMode": "Credit"})
    dcc.messages(exchange)
    dcc.advance(timedelta(hours=2))
    messages = dcc.messages(exchange)
    assert messages.future_dated == ["8F66"]
    root = next(r for r, k in zip(messages.roots, messages.kinds) if k == "future-dated-alert")
    raw = base64.b64decode(root.findtext(f".//{SR}GBCSPayload"))
    decoded = message.decode_message(raw, user_keys)
    assert decoded.header.message_code == 0x00CC and decoded.signature == "valid"
    assert decoded.content["body"]["value"][0]["value"] == 0x8F66


def _transform(dcc: Session, srv: str, params: dict, counter: int):
    xml = render_request(srv, originator=SUPPLIER, target=ESME, command_variant=4, counter=counter, params=params)
    reply = dcc._post("serviceT", sign(xml, zaz1()))
    return base64.b64decode(reply.findtext(f".//{SR}PreCommand/{SR}GBCSPayload"))


def _send_signed(dcc: Session, srv: str, params: dict, counter: int, precommand: bytes) -> str:
    root = etree.fromstring(render_request(srv, originator=SUPPLIER, target=ESME, command_variant=5, counter=counter,
                                           params=params))
    body = root.find(f"{SR}Body")
    body.remove(body[0])
    signed = etree.SubElement(body, f"{SR}SignedPreCommand")
    key = zaz1().gbcs_signing_identity(SUPPLIER).private_key
    etree.SubElement(signed, f"{SR}GBCSPayload").text = base64.b64encode(gbcs.sign_precommand(precommand, key)).decode()
    return dcc._post("serviceS", sign(root, zaz1())).findtext(f"{SR}Header/{SR}ResponseCode")


def test_the_precommand_is_the_gbcs_command_built_from_the_request(dcc):
    counter = next_counter()
    pre = _transform(dcc, "2.1", {"MaxMeterBalance": "123456"}, counter)
    frame = gbcs.GeneralSigning.decode(pre)
    assert pre[0] == 0xDF and frame.signature is None  # general signing, the null signature
    header = frame.header
    assert (header.cra, header.originator, header.recipient, header.originator_counter) == \
        (gbcs.CRA.COMMAND, eui_bytes(SUPPLIER), eui_bytes(ESME), counter)
    assert header.message_code == builder.shape_for("ECS08", "command", "success")["message_code"]
    decoded = message.decode_message(pre, None, use_case="ECS08")
    assert 123456 in _numbers(decoded.content), "the request's MaxMeterBalance is not in the command"
    other = _transform(dcc, "2.1", {"MaxMeterBalance": "654321"}, next_counter())
    assert gbcs.GeneralSigning.decode(other).content != frame.content


def _numbers(node) -> list:
    if isinstance(node, dict):
        return [v for value in node.values() for v in _numbers(value)]
    if isinstance(node, list):
        return [v for value in node for v in _numbers(value)]
    return [node] if isinstance(node, int) else []


def test_a_user_who_signs_another_command_is_refused(dcc):
    counter = next_counter()
    pre = _transform(dcc, "2.1", {"MaxMeterBalance": "123456"}, counter)
    # the user's system "corrects" the command before signing: another value, same header
    other = gbcs.GeneralSigning.decode(_transform(dcc, "2.1", {"MaxMeterBalance": "999999"}, next_counter()))
    original = gbcs.GeneralSigning.decode(pre)
    forged = gbcs.GeneralSigning(original.header, other.content, None).encode()
    assert _send_signed(dcc, "2.1", {"MaxMeterBalance": "123456"}, counter, forged) == "E1"
    # signed as issued, the same request goes through
    counter = next_counter()
    pre = _transform(dcc, "2.1", {"MaxMeterBalance": "123456"}, counter)
    assert _send_signed(dcc, "2.1", {"MaxMeterBalance": "123456"}, counter, pre) == "I99"


def test_reads_carry_the_devices_state(dcc, user_keys):
    dcc.messages(dcc.send("1.5", target=ESME, params={"AdjustMeterBalance": "4321"}))
    messages = dcc.messages(dcc.send("4.18", target=ESME))
    raw = base64.b64decode(messages.response.findtext(f".//{SR}GBCSPayload"))
    assert readings.readings_of(decode_payload(raw, user_keys))["meter_balance"] == 4321
    messages = dcc.messages(dcc.send("11.2", target=ESME))
    raw = base64.b64decode(messages.response.findtext(f".//{SR}GBCSPayload"))
    version = readings.readings_of(decode_payload(raw, user_keys))["firmware_version"]
    assert bytes.fromhex(version).decode() == dcc.inventory.device(ESME).firmware_version


def test_message_codes_the_catalogue_sources_agree_with_the_shapes():
    """rules/srv_catalogue.toml's message codes (duis.md §10.3) are among the RTDS shapes' codes of that use case."""
    for rule in load_catalogue().all():
        for use_case in rule.use_cases:
            entry = builder.shapes()["use_cases"].get(use_case.code)
            if use_case.message_code and entry:
                assert use_case.message_code in {s["message_code"] for s in entry["shapes"]}, (rule.srv, use_case)


def test_variants_follow_what_the_device_did():
    assert "error" in choose_variant("CS01a", "response", result="error")["variant"]
    assert "cancellation" in choose_variant("ECS02", "response", timing="cancellation")["variant"]
    assert choose_variant("CS02b", "response", catalogue_variant="NOByNO")["variant"].startswith("nobyno")


def test_dcc_schedule_runs_carry_the_devices_gbcs_response(dcc, user_keys, caplog):
    """5.1: each run's DSPScheduledMessage carries the ESME's GBCS response to the scheduled SRV (4.6.1:
    its use case's message code, MAC valid with the device certificate from SMKI), never JSON content."""
    caplog.set_level("ERROR", logger="duisconf.emulator")
    rule = load_catalogue().srv("4.6.1")
    start = dcc.dcc.clock.now()
    created = dcc.send("5.1", params={
        "ScheduleFrequency": "Daily", "ScheduleStartDate": start.date().isoformat(),
        "ScheduleExecutionStartTime": "23:59:00", "DSPScheduledServiceReference": "4.6",
        "DSPScheduledServiceReferenceVariant": "4.6.1", "DeviceID": ESME})
    assert created.code == "I0"
    dcc.advance(timedelta(days=2))
    runs = dcc.messages(created).scheduled
    assert len(runs) >= 2
    counters = []
    for run in runs:
        raw = base64.b64decode(run.findtext(f".//{SR}DSPScheduledMessage/{SR}GBCSPayload"))
        hint = use_case_for(rule, "ESME", "response")[0]
        decoded = message.decode_message(raw, user_keys, use_case=hint)
        assert decoded.header.cra is gbcs.CRA.RESPONSE
        assert decoded.header.originator == eui_bytes(ESME) and decoded.header.recipient == eui_bytes(SUPPLIER)
        assert decoded.header.message_code in {u.code for u in gbcs.use_cases.for_srv("4.6.1")}
        assert decoded.mac == "valid", decoded.mac_reason
        assert decoded.content is not None and decoded.content["kind"] == "dlms"
        counters.append(decoded.header.originator_counter)
    assert counters == sorted(set(counters)), f"each run has its own, increasing counter: {counters}"
    assert not [r for r in caplog.records if r.levelname == "ERROR"]
    dcc.send("5.3", params={"DeviceID": ESME})
