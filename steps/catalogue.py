"""Steps the generated catalogue (features/catalogue/) needs beyond the generic library: putting a device
in a given SMI status (arranged on the emulator; inconclusive on a real kit), making sure a device is
unknown to the DCC (read with SRV 8.2, so it holds on any target), requests that break two neighbouring
access-control checks at once (their order), a refusal that names the access-control check
(rules/access_control.toml row) its expected code comes from, and what every positive case checks beyond
the response code: the GBCS framing of the device's response (its use case for the device type, the
request's counter, CRA response, a valid MAC or signature) and the SRV's effect read back with the read
SRV rules/effects.toml names (or, without one, the success the device's own response reports)."""

from __future__ import annotations

import time
from functools import lru_cache

from pytest_bdd import given, parsers, then, when

from duisconf.duis.model import SR_NS, normalise_eui
from duisconf.errors import PreconditionNotMet
from duisconf.evidence import attach_exchange, attach_inbound, attach_text

from .common import DEVICE, ROLE_NAMES, ScenarioContext, acknowledged, control_of, device_of, record, user_eui
from .device_reads import NotReported, device_report, firmware_text
from .requests import send, send_variant
from .responses import answered_by

_SR = f"{{{SR_NS}}}"


@given(parsers.re(rf'the {DEVICE} is in SMI status "(?P<status>[^"]+)"$'))
def device_in_status(context: ScenarioContext, duis_scenario, device: str, status: str) -> None:
    """What the DCC's inventory says of the device (a pre-notified meter, a decommissioned one …): only the
    embedded emulator can be put in that state on demand; on a real kit the scenario is inconclusive."""
    eui = device_of(context, duis_scenario, device)
    control = control_of(duis_scenario.session, f'putting the {device} in SMI status "{status}"')
    control.put_device(eui, status=status.replace(" ", ""))


@given(parsers.re(r'no device "(?P<eui>[0-9A-Fa-f-]+)" is in the inventory$'))
def device_unknown(context: ScenarioContext, duis_scenario, eui: str) -> None:
    """Checked with SRV 8.2 Read Inventory: the DCC must not know the device."""
    duis = duis_scenario.session
    eui = normalise_eui(eui)
    exchange = duis.client.send("8.2", originator=user_eui(context, duis, "Import Supplier"), params={"DeviceID": eui})
    attach_exchange(exchange, duis.base_url)
    known = exchange.code == "I0" and exchange.final.root.find(f".//{_SR}Device[{_SR}DeviceID='{eui}']") is not None
    if known:
        raise PreconditionNotMet(f"the target's inventory holds {eui}: the scenario needs an unknown device")


# -- breaking two neighbouring checks at once (the order of the checks) ----------------------------

def _add_unknown_element(root) -> None:
    """The same schema violation as the single-check step: an element DUIS does not define in the Header."""
    from lxml import etree

    etree.SubElement(root.find(f"{_SR}Header"), f"{_SR}NotInDUIS").text = "x"


@when(parsers.re(rf"the (?P<role>{ROLE_NAMES}) sends SRV (?P<srv>[0-9.]+) to the {DEVICE} with an element the schema "
                 rf"does not allow, signed with the key of the (?P<signer>{ROLE_NAMES})$"))
def sends_schema_violation_signed_by_another(context: ScenarioContext, duis_scenario, role: str, srv: str, device: str,
                                             signer: str) -> None:
    duis = duis_scenario.session
    signer_eui = user_eui(context, duis, signer)
    assert signer_eui != user_eui(context, duis, role), \
        f"the {signer} and the {role} are the same organisation on this target: pick another signer"
    send_variant(context, duis_scenario, role, srv, device_of(context, duis_scenario, device),
                 doctor=_add_unknown_element, signer=signer_eui)


@when(parsers.re(rf"the (?P<role>{ROLE_NAMES}) sends SRV (?P<srv>[0-9.]+) to the {DEVICE} again with the same counter "
                 r"to (?P<service>serviceS|serviceT|serviceD)$"))
def sends_replayed_counter_to_service(context: ScenarioContext, duis_scenario, role: str, srv: str, device: str,
                                      service: str) -> None:
    assert context.exchange is not None, "nothing was sent before: there is no counter to replay"
    send_variant(context, duis_scenario, role, srv, device_of(context, duis_scenario, device),
                 counter=context.exchange.request_id.counter, service=service)


@when(parsers.re(rf"the (?P<role>{ROLE_NAMES}) sends SRV (?P<srv>[0-9.]+) to the {DEVICE} as CommandVariant "
                 r"(?P<cv>[1-8]) to (?P<service>serviceS|serviceT|serviceD)$"))
def sends_as_command_variant_to_service(context: ScenarioContext, duis_scenario, role: str, srv: str, device: str,
                                        cv: str, service: str) -> None:
    send_variant(context, duis_scenario, role, srv, device_of(context, duis_scenario, device), cv=int(cv), service=service)


@when(parsers.re(rf"the (?P<role>{ROLE_NAMES}) sends SRV (?P<srv>[0-9.]+) with the DCC's EUI as its target$"))
def sends_to_the_dcc_eui(context: ScenarioContext, duis_scenario, role: str, srv: str) -> None:
    """A device SRV addressed to the DCC itself (RequestID target = the DCC's EUI): the target check's case."""
    from duisconf.duis.model import DCC_EUI

    send_variant(context, duis_scenario, role, srv, DCC_EUI)


# -- the checks of the request itself: its bytes, its originator, its pre-command ------------------

@when(parsers.re(rf"the (?P<role>{ROLE_NAMES}) sends SRV (?P<srv>[0-9.]+) to the {DEVICE} as bytes that are not "
                 r"well-formed XML$"))
def sends_malformed(context: ScenarioContext, duis_scenario, role: str, srv: str, device: str) -> None:
    """The request rendered and signed as DUIS says, then cut off before its closing root tag: the body
    posted is no XML document at all (the well_formed check's case; the schema check cannot see it)."""
    from duisconf.client import SERVICE_FOR_CV, Exchange
    from duisconf.duis.parse import parse_xml
    from duisconf.render import render_request
    from duisconf.rules import load_catalogue
    from duisconf.signing import request_id_of, sign

    duis = duis_scenario.session
    originator, target = user_eui(context, duis, role), device_of(context, duis_scenario, device)
    cv = load_catalogue().srv(srv).default_cv
    started = time.monotonic()
    with duis.client.counters.reserve(originator) as counter:
        rendered = render_request(srv, originator=originator, target=target, counter=counter, command_variant=cv)
        signed = sign(rendered, duis.client.keystore)
        broken = signed[:signed.rindex(b"</")]
        exchange = Exchange(srv, request_id_of(parse_xml(rendered).getroot()), rendered)
        exchange.legs.append(duis.client.post(SERVICE_FOR_CV[cv], broken, exchange.request_id))
    record(context, duis, exchange, srv, target, started)


@when(parsers.re(rf"an organisation that is no DCC User sends SRV (?P<srv>[0-9.]+) to the {DEVICE} in place of the "
                 rf"(?P<role>{ROLE_NAMES})$"))
def stranger_sends(context: ScenarioContext, duis_scenario, srv: str, device: str, role: str) -> None:
    """The request the role would send, but from (RequestID originator) and signed with the XML signing
    key of an organisation of DCC's test PKI (the keystore) that is neither the DCC nor any user the
    target file names, e.g. ZAZ1's recovery or WAN provider: the signature verifies, the DCC must not
    know the originator as a DCC User (the user check's case)."""
    from duisconf.duis.model import DCC_EUI

    duis = duis_scenario.session
    user_eui(context, duis, role)  # the role the request is sent in place of is one the target has
    known = {normalise_eui(e) for e in (*duis.target.users.values(), *context.users.values(), DCC_EUI)}
    strangers = sorted({i.eui for i in duis.client.keystore.xml_signing_certificates()
                        if i.eui and i.has_private_key and normalise_eui(i.eui) not in known})
    if not strangers:
        raise PreconditionNotMet("the keystore holds the XML signing key of no organisation other than the DCC and "
                                 "the target's users: the scenario needs one the DCC does not know as a User")
    stranger, target = strangers[0], device_of(context, duis_scenario, device)
    started = time.monotonic()
    exchange = duis.client.send_variant(srv, originator=stranger, target=target, signer=stranger)
    record(context, duis, exchange, srv, target, started)


@when(parsers.re(rf"the (?P<role>{ROLE_NAMES}) sends SRV (?P<srv>[0-9.]+) to the {DEVICE} as a critical request with "
                 r"the pre-command returned unsigned$"))
def sends_with_unsigned_precommand(context: ScenarioContext, duis_scenario, role: str, srv: str, device: str) -> None:
    """The transform (CV 4) as DUIS says; then the CV 5 follow-up, its XML signed by the User, carries the
    pre-command exactly as the DCC returned it, with its null signature: not signed with the User's GBCS
    key (the precommand_signature check's case). A transform not answered I0 is left for the Then step."""
    from lxml import etree

    from duisconf.client import SERVICE_FOR_CV
    from duisconf.duis.parse import parse_xml
    from duisconf.render import render_request
    from duisconf.rules import load_catalogue
    from duisconf.signing import sign

    assert load_catalogue().srv(srv).critical, f"SRV {srv} is not a critical SRV in rules/srv_catalogue.toml"
    duis = duis_scenario.session
    originator, target = user_eui(context, duis, role), device_of(context, duis_scenario, device)
    started = time.monotonic()
    exchange = duis.client.send(srv, originator=originator, target=target, sign_precommand=False)
    precommand = exchange.final.root.findtext(f".//{_SR}PreCommand/{_SR}GBCSPayload") if exchange.code == "I0" else None
    if precommand:
        root = parse_xml(render_request(srv, originator=originator, target=target,
                                        counter=exchange.request_id.counter, command_variant=5)).getroot()
        body = root.find(f"{_SR}Body")
        body.remove(body[0])
        etree.SubElement(etree.SubElement(body, f"{_SR}SignedPreCommand"), f"{_SR}GBCSPayload").text = precommand
        exchange.legs.append(duis.client.post(SERVICE_FOR_CV[5], sign(root, duis.client.keystore), exchange.request_id))
    record(context, duis, exchange, srv, target, started)


# -- the refusal, named by its access-control check ------------------------------------------------

@lru_cache(maxsize=1)
def _check_codes() -> dict[str, str]:
    from duisconf.emulator.access import load_checks

    return {name: check.code for name, check in load_checks().items()}


@then(parsers.re(r"the request is refused by the (?P<check>\w+) check with (?P<code>E\d+)$"))
def refused_by_check(context: ScenarioContext, check: str, code: str) -> None:
    """The failure names the rules/access_control.toml row the expected code comes from, so a target (or a
    deliberately wrong emulator) that answers another code fails naming the rule it broke."""
    rows = _check_codes()
    assert rows.get(check) == code, (f"the scenario expects {code} from access-control check {check!r}, but "
                                     f"rules/access_control.toml has {rows.get(check, 'no such check')}: regenerate the catalogue")
    got = context.exchange.code
    assert got == code, (f"SRV {context.srv}: access-control check {check!r} (rules/access_control.toml) refuses with "
                         f"{code}; the target answered {got}")


# -- what a positive case checks beyond the response code ------------------------------------------

def _device_type(context: ScenarioContext, duis_scenario, eui: str) -> str | None:
    """The device type the scenario addressed as `eui` (its own devices, else the target file's)."""
    eui = eui.upper()
    for kind, known in (*context.devices.items(), *duis_scenario.session.target.devices.items()):
        if known and known.upper() == eui:
            return kind
    return None


def use_case_codes(srv: str, device_type: str | None) -> dict[int, str]:
    """GBCS message code -> use case name of the SRV's use cases for the device type (rules/srv_catalogue.toml
    use cases; their message codes from gbcs/use_cases.py and, as the RTDS spells them, the shapes of
    rules/gbcs_shapes.toml); all of the SRV's when none is for the type."""
    from duisconf.gbcs import builder, use_cases
    from duisconf.rules import load_catalogue

    known = use_cases.for_srv(srv)
    names = {u.code for u in load_catalogue().srv(srv).use_cases if u.device == device_type}
    for_type = {u.code: u.name for u in known if any(u.name.startswith(n) or n.startswith(u.name) for n in names)}
    for name in names:  # the RTDS's own messages of the use case (e.g. CS04B's error answers 0x000F)
        entry = builder.shapes().get("use_cases", {}).get(name, {})
        for shape in entry.get("shapes", ()):
            if shape["cra"] == "response":
                for_type.setdefault(shape["message_code"], name)
    return for_type or {u.code: u.name for u in known}


@then("the response is the GBCS response of its use case")
def gbcs_response_of_its_use_case(context: ScenarioContext, duis_scenario) -> None:
    """The device's response answers this request in GBCS: the message code of the SRV's use case for this
    device type, CRA response, the request's counter, the device as originator and the user (or the DCC
    for it) as recipient (steps/device_reads.check_framing), and a MAC or signature that verifies."""
    inbound = context.inbound
    assert inbound is not None and inbound.kind == "response", "claim the device's response first"
    exchange = answered_by(context, inbound)
    what = f"SRV {exchange.srv} response {inbound.response_id}"
    report = device_report(duis_scenario.session, inbound, srv=exchange.srv, exchange=exchange, what=what)
    decoded, header = report.decoded, report.decoded.header
    device_type = _device_type(context, duis_scenario, exchange.request_id.target)
    codes = use_case_codes(exchange.srv, device_type)
    if codes:
        assert header.message_code in codes, (
            f"{what}: GBCS message code 0x{header.message_code:04X} is not a use case of SRV {exchange.srv} for "
            f"the {device_type or 'device'} (expected {', '.join(f'0x{c:04X} {n}' for c, n in sorted(codes.items()))})")
    verified = "valid" in (decoded.mac, decoded.signature)
    assert verified, (f"{what}: neither a MAC nor a signature verifies ({decoded.mac_reason}; "
                      f"{decoded.signature_reason})")
    attach_text(f"SRV {exchange.srv} GBCS response", report.summary())


@when(parsers.re(rf"the (?P<reader>{ROLE_NAMES}) reads the {DEVICE} back with SRV (?P<read>[0-9.]+)$"))
def reads_back(context: ScenarioContext, duis_scenario, reader: str, device: str, read: str) -> None:
    """The read SRV that shows the last request's effect (rules/effects.toml), as any User would send it."""
    duis = duis_scenario.session
    changed = context.exchange
    assert changed is not None, "nothing was sent before: there is no effect to read back"
    context.__dict__["effect_of"] = changed.srv
    send(context, duis_scenario, reader, read, device_of(context, duis_scenario, device), {})
    what = f"SRV {read} reading back the effect of SRV {changed.srv}"
    assert context.exchange.code in ("I99", "I0"), f"{what}: acknowledgement {context.exchange.code}"
    inbound = duis.receiver.response(context.request_id, duis.target.timeouts.on_demand,
                                     required=acknowledged(context.exchange))
    attach_inbound(inbound, f"SRV {read} response for {context.request_id}", context.sent_at)
    context.inbound = inbound
    assert inbound.code == "I0", f"{what}: response {inbound.code}, expected I0"


def _reading(report, name: str):
    """The reading `name`; `name.part` reaches into a reading that is a table (boost.1)."""
    try:
        return report.readings[name]
    except NotReported:
        if "." not in name:
            raise
        whole, part = name.rsplit(".", 1)
        table = report.readings[whole]
        if not isinstance(table, dict) or part not in table:
            raise NotReported(f"{report.readings.use_case} reports {whole} = {table!r}, without {part!r}") from None
        return table[part]


def _same(got, expected: str) -> bool:
    if isinstance(got, bool):
        return str(got).lower() == expected.lower()
    if isinstance(got, (int, float)):
        try:
            return float(expected) == float(got)
        except ValueError:
            return False
    if isinstance(got, dict) and "value" in got:  # a register reading
        return _same(got["value"], expected)
    return firmware_text(got) == expected


@then(parsers.re(r'the device reports (?P<reading>[\w.]+) "(?P<expected>[^"]*)"$'))
def device_reports(context: ScenarioContext, duis_scenario, reading: str, expected: str) -> None:
    """The reading in the device's GBCS response to the read-back (framing checked) is the value the
    state-changing request set: the failure names the effect (rules/effects.toml row)."""
    inbound = context.inbound
    assert inbound is not None, "read the device back first"
    exchange = answered_by(context, inbound)
    effect = context.__dict__.get("effect_of", context.srv)
    what = f"the effect of SRV {effect} (rules/effects.toml) read back with SRV {exchange.srv}"
    report = device_report(duis_scenario.session, inbound, srv=exchange.srv, exchange=exchange, what=what)
    try:
        got = _reading(report, reading)
    except NotReported as exc:
        raise AssertionError(f"{what}: the device does not report {reading} ({exc}), expected {expected!r}") from None
    attach_text(f"SRV {exchange.srv} reading {reading}", repr(got))
    assert _same(got, expected), f"{what}: the device reports {reading} = {got!r}, expected {expected!r}"


@lru_cache(maxsize=1)
def _content_rules() -> dict:
    import tomllib

    from duisconf import paths

    with open(paths.rules_dir() / "effects.toml", "rb") as handle:
        return tomllib.load(handle).get("content", {})


@then("the device's response shows the command carried out")
def response_shows_carried_out(context: ScenarioContext, duis_scenario) -> None:
    """What the device says it did, from the content of its GBCS response: every DLMS access result, ZCL
    status and ASN.1 response code success. A use case whose response carries no result code at all
    (rules/effects.toml [content] no_result) shows it by carrying its content, decoded."""
    from .device_reads import command_outcome

    inbound = context.inbound
    assert inbound is not None and inbound.kind == "response", "claim the device's response first"
    exchange = answered_by(context, inbound)
    what = f"SRV {exchange.srv} response {inbound.response_id}"
    report = device_report(duis_scenario.session, inbound, srv=exchange.srv, exchange=exchange, what=what)
    ok, detail = command_outcome(report.decoded)
    attach_text(f"SRV {exchange.srv} device outcome", detail)
    assert ok is not False, f"{what}: the device reports it did not carry the command out ({detail})"
    if ok is None:
        use_case = report.decoded.use_case or ""
        assert use_case in _content_rules().get("no_result", ()) and report.decoded.content is not None, (
            f"{what}: the response carries no result code ({detail}) and {use_case or 'its use case'} is not "
            f"one rules/effects.toml [content] no_result lists")
