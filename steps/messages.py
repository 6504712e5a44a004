"""Steps about preparing DUIS messages offline: render from the SRV's template, sign, validate, verify.

Nothing here needs a target: these steps prove a User can build the requests it claims before any traffic.
"""

from __future__ import annotations

import allure
from pytest_bdd import given, parsers, then, when

from duisconf.duis.model import RequestID
from duisconf.duis.parse import parse_xml
from duisconf.duis.schema import load_schema
from duisconf.errors import DuisConfError, SignatureInvalid
from duisconf.keystore import zaz1
from duisconf.render import render_request
from duisconf.signing import request_id_of, request_trust, sign, verify

from .common import ROLES, ScenarioContext, device_eui

ROLE_NAMES = "|".join(ROLES)


@given(parsers.re(rf'the (?P<role>{ROLE_NAMES}) "(?P<eui>[0-9A-Fa-f-]+)"'))
def given_user(context: ScenarioContext, role: str, eui: str) -> None:
    context.users[ROLES[role]] = eui


@when(parsers.re(rf"the (?P<role>{ROLE_NAMES}) prepares SRV (?P<srv>[0-9.]+) for (?P<device>the [A-Z]+)"))
def prepare_request(context: ScenarioContext, role: str, srv: str, device: str) -> None:
    context.srv, context.target = srv, device_eui(device)
    context.rendered = render_request(srv, originator=context.users[ROLES[role]], target=context.target)
    allure.attach(context.rendered, name=f"SRV {srv} rendered", attachment_type=allure.attachment_type.XML)
    context.signed = sign(context.rendered, zaz1())
    allure.attach(context.signed, name=f"SRV {srv} signed", attachment_type=allure.attachment_type.XML)


@when("the signed request is changed after signing")
def tamper(context: ScenarioContext) -> None:
    assert context.signed is not None
    root = parse_xml(context.signed).getroot()
    request_id = request_id_of(root)
    bumped = RequestID(request_id.originator, request_id.target, request_id.counter + 1)
    context.signed = context.signed.replace(str(request_id).encode(), str(bumped).encode())


@then("the request is valid against the DUIS schema")
def valid_against_schema(context: ScenarioContext) -> None:
    load_schema().validate(parse_xml(context.signed), source=f"signed SRV {context.srv}")


@then(parsers.re(rf"its signature verifies with the (?P<role>{ROLE_NAMES})'s certificate"))
def signature_verifies(context: ScenarioContext, role: str) -> None:
    verified = verify(context.signed, request_trust(zaz1()), source=f"SRV {context.srv}")
    assert verified.signer is not None
    assert verified.signer.eui == RequestID.parse(f"{context.users[ROLES[role]]}:{context.target}:0").originator, (
        f"signed by {verified.signer}, not by the {role}")


@then(parsers.re(rf"its RequestID names the (?P<role>{ROLE_NAMES}) and (?P<device>the [A-Z]+)"))
def request_id_names(context: ScenarioContext, role: str, device: str) -> None:
    request_id = request_id_of(parse_xml(context.signed).getroot())
    expected = RequestID(context.users[ROLES[role]], device_eui(device), request_id.counter)
    assert request_id == expected, f"RequestID {request_id}, expected {expected}"


@then(parsers.parse('the signature check refuses it because "{reason}"'))
def signature_refused(context: ScenarioContext, reason: str) -> None:
    try:
        verify(context.signed, request_trust(zaz1()), source=f"SRV {context.srv}")
    except SignatureInvalid as exc:
        assert reason in str(exc), f"refused for another reason: {exc}"
    else:
        raise AssertionError("a request changed after signing passed the signature check")


@when(parsers.re(rf"the (?P<role>{ROLE_NAMES}) prepares SRV (?P<srv>[0-9.]+) with (?P<name>\w+) \"(?P<value>[^\"]*)\""))
def prepare_with_value(context: ScenarioContext, role: str, srv: str, name: str, value: str) -> None:
    context.srv = srv
    try:
        rendered = render_request(srv, originator=context.users[ROLES[role]], params={name: value})
        load_schema().validate(parse_xml(rendered), source=f"SRV {srv}")
    except DuisConfError as exc:
        context.error = exc


@then(parsers.parse('preparing it fails naming "{field}"'))
def preparing_fails(context: ScenarioContext, field: str) -> None:
    assert context.error is not None, "the request was prepared although it is invalid"
    assert field in str(context.error), f"the error does not name {field}: {context.error}"
