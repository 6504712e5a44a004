"""Steps of the user-system suite (features/user_system/): the party's own DCC user system is the system
under test, the embedded emulator its DCC and judge (duisconf.user_system). A step asks their system to
act through the target's driver, the judge sees what it sends, and every breach fails the scenario
naming the rule. Their system not acting at all is inconclusive (TargetTimeout), never a failure."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

import pytest
from pytest_bdd import given, parsers, then, when

from duisconf.errors import PreconditionNotMet
from duisconf.rules import load_catalogue
from duisconf.user_system.pytest_hooks import (  # noqa: F401  (hooks of this plugin)
    pytest_bdd_before_scenario, pytest_collection_modifyitems,
)

from .common import DEVICE, DEVICE_TYPES, ROLE_NAMES, ROLES, params_of, reference_identities
from .requests import WITH_PARAMS

_TYPES = "|".join(DEVICE_TYPES)
_TO = rf'to the (?:(?P<device>{_TYPES})|DCC for the (?P<for_device>{_TYPES})|DCC)'
_WHEN = r'(?: to execute in (?P<amount>\d+) (?P<unit>second|minute|hour|day)s?)?'
_UNITS = {"second": 1, "minute": 60, "hour": 3600, "day": 86400}


@dataclass
class UserSystemRun:
    """The session's hold on the party's system: its target, the judging emulator and the driver."""

    target: object
    judge: object
    driver: object


@dataclass
class UserSystemScenario:
    """What one scenario asked their system to do, and what it sent."""

    run: UserSystemRun
    scenario_id: str
    start: int = 0                        # the judge's first record of this scenario
    order: object | None = None
    records: list = field(default_factory=list)
    before_restart: dict[str, int] = field(default_factory=dict)  # originator -> highest counter seen before
    delivered: bytes | None = None        # the DCC message their system accepted, the base of forgeries
    delivery: object | None = None        # (how, the last rrs_check.Delivery, the body POSTed)
    about: object | None = None           # the RequestID whose responses and DCC alerts are checked next
    new_devices: dict[str, str] = field(default_factory=dict)  # "ESME" -> the EUI of the scenario's new ESME


@pytest.fixture(scope="session")
def user_system_run(request: pytest.FixtureRequest):
    from duisconf.errors import ConfigError
    from duisconf.targets import load_target
    from duisconf.user_system.drivers import driver_for
    from duisconf.user_system.judge import Judge

    try:
        target = load_target(request.config.getoption("--target"))
        if target.kind != "user-system":
            pytest.skip(f"user-system scenarios need a user-system target (target {target.name} is a {target.kind})")
        judge = Judge(target).start()
    except ConfigError as exc:  # a broken target file or judge set-up stops the run: no verdict to hide
        pytest.exit(f"duisconf: {exc}", returncode=4)
    results = getattr(request.config.option, "allure_report_dir", None)
    if results:  # the report and the evidence bundle name their system as the system under test
        from pathlib import Path

        from duisconf.user_system.evidence import write_environment

        write_environment(Path(results), target, judge.url, judge.emulator.schema.version)
    try:
        yield UserSystemRun(target, judge, driver_for(target.user_system.driver))
    finally:
        judge.stop()


@pytest.fixture
def user_system(user_system_run: UserSystemRun, request: pytest.FixtureRequest) -> UserSystemScenario:
    user_system_run.judge.reset()
    ident = next((v for k, v in request.node.user_properties if k == "scenario_id"), request.node.name)
    return UserSystemScenario(user_system_run, ident, user_system_run.judge.mark())


def _device(run: UserSystemRun, kind: str) -> str:
    return run.target.devices.get(kind) or reference_identities()["devices"][kind]


def _organisation(run: UserSystemRun, role: str) -> str:
    eui = run.target.users.get(ROLES[role])
    if not eui:
        raise PreconditionNotMet(f"the party's declaration names no organisation acting as {role} ({ROLES[role]})")
    return eui


def _fail_on(breaches: list) -> None:
    if breaches:
        raise AssertionError("the user's system broke " + "; ".join(
            f"rule {b.rule}: {b.detail}" for b in breaches))


def _judge(user_system: UserSystemScenario, extra: list | None = None) -> None:
    """The judge's breaches over what the last order caused; each request attached with its verdict per rule."""
    from duisconf.user_system.evidence import attach_requests

    order = user_system.order
    breaches = user_system.run.judge.breaches(order, user_system.records) + list(extra or [])
    attach_requests(user_system.records, breaches, critical=load_catalogue().srv(order.srv).critical,
                    cancellation=order.action == "cancel")
    _fail_on(breaches)


def place(user_system: UserSystemScenario, action: str, srv: str | None = None, device: str | None = None,
          originator: str | None = None, parameters: dict | None = None, execution_time: str | None = None,
          credit: int | None = None) -> None:
    """Ask their system to act, then collect what it sends (TargetTimeout when it sends nothing)."""
    from duisconf.user_system.drivers import Order

    run = user_system.run
    order = Order(action, uuid.uuid4().hex, user_system.scenario_id, srv, device, originator, parameters or {},
                  execution_time, credit)
    mark = run.judge.mark()
    run.driver.place(order)
    user_system.order = order
    user_system.records = run.judge.wait(order, mark, run.target.user_system.driver.timeout)
    admitted = [r.request_id for r in user_system.records if r.admitted and r.request_id is not None]
    user_system.about = admitted[-1] if admitted else None


@given("the user's system is connected to the emulated DCC")
def connected(user_system: UserSystemScenario) -> None:
    """The judge listens at its DCC address and their system is configured to send there (the target file)."""


@when(parsers.re(rf"the (?P<role>{ROLE_NAMES})'s system is asked to send SRV (?P<srv>[0-9.]+) {_TO}{WITH_PARAMS}{_WHEN}$"))
def asked_to_send(user_system: UserSystemScenario, role: str, srv: str, device: str | None, for_device: str | None,
                  params: str | None, amount: str | None, unit: str | None) -> None:
    run = user_system.run
    values = params_of(params)
    if for_device:
        values.setdefault("DeviceID", _device(run, for_device))
    when_text = None
    if amount:
        moment = datetime.now(timezone.utc) + timedelta(seconds=int(amount) * _UNITS[unit])
        when_text = moment.replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")
    place(user_system, "send", srv, _device(run, device) if device else None, _organisation(run, role), values, when_text)


@when(parsers.re(rf"the (?P<role>{ROLE_NAMES})'s system is asked to cancel the future-dated SRV (?P<srv>[0-9.]+) "
                 rf"for the {DEVICE}$"))
def asked_to_cancel(user_system: UserSystemScenario, role: str, srv: str, device: str) -> None:
    run = user_system.run
    place(user_system, "cancel", srv, _device(run, device), _organisation(run, role))


@when("the user's system is restarted")
def restarted(user_system: UserSystemScenario) -> None:
    from duisconf.user_system.drivers import Order

    for record in user_system.run.judge.since(user_system.start):
        if record.request_id is not None:
            eui = record.request_id.originator
            user_system.before_restart[eui] = max(user_system.before_restart.get(eui, -1), record.request_id.counter)
    user_system.run.driver.place(Order("restart", uuid.uuid4().hex, user_system.scenario_id))


@then("the DCC received it as asked, every rule kept")
def received_as_asked(user_system: UserSystemScenario) -> None:
    _judge(user_system)


@then("it went through the transform and the signed pre-command")
def critical_flow(user_system: UserSystemScenario) -> None:
    from duisconf.user_system.judge import Breach

    assert load_catalogue().srv(user_system.order.srv).critical, f"SRV {user_system.order.srv} is not critical"
    cvs = [(r.cv, r.admitted) for r in user_system.records]
    extra = []
    if (4, True) not in cvs or not ((5, True) in cvs or (6, True) in cvs):
        extra = [Breach("critical_flow", f"sent {cvs}: expected an admitted CV 4, then its CV 5/6")]
    _judge(user_system, extra)


def _main_request_id(user_system: UserSystemScenario):
    assert user_system.about is not None, "the user's system sent no request the DCC admitted"
    return user_system.about


@then("the user's system accepted the DCC's response")
def accepted_response(user_system: UserSystemScenario) -> None:
    _accepted(user_system, "response", None, f"the DCC's response to {_main_request_id(user_system)}")


def _accepted(user_system: UserSystemScenario, kind: str, code: str | None, what: str,
              naming: tuple[str, ...] = ()) -> None:
    """The emulated DCC delivered `what` (its outbox records of `kind` for the request in question) to
    their Receive Response Service, which took it; it becomes the base of the forgeries that follow. It must
    hold each of `naming` (the device that raised an alert, a DCC alert's payload)."""
    from duisconf.evidence import attach_text, attach_xml
    from duisconf.user_system.judge import Breach
    from duisconf.user_system.rrs_check import VALID_RULE

    run = user_system.run
    request_id = _main_request_id(user_system)
    organisations = run.target.user_system.organisations
    records = [r for r in run.judge.messages_for(request_id, kind, run.target.timeouts.on_demand, code)
               if r.recipient in organisations and all(text.encode() in r.body for text in naming)]
    if not records:
        raise AssertionError(f"the emulated DCC sent their system no {what} (a suite fault, not theirs)")
    record = records[0]
    attach_xml(f"to their Receive Response Service: {what}", record.body)
    taken = record.status == "delivered"
    attach_text(f"their answer: {what}", f"{record.describe()}: {record.status} {'; '.join(record.errors)}\n"
                                         f"{VALID_RULE}  {'kept' if taken else 'BROKEN'}\n")
    if not taken:
        _fail_on([Breach(VALID_RULE, f"{what} was not accepted by {run.target.user_system.receive_url}: "
                                     f"{'; '.join(record.errors) or record.status}")])
    user_system.delivered = record.body


@then(parsers.re(r"the user's system accepted DCC alert (?P<code>N\d+|AD1) for that request$"))
def accepted_dcc_alert(user_system: UserSystemScenario, code: str) -> None:
    _accepted(user_system, "dcc-alert", code, f"DCC alert {code} for {_main_request_id(user_system)}")


@then("its originator counters rose above every counter it used before the restart")
def counters_rose(user_system: UserSystemScenario) -> None:
    _judge(user_system)
    for record in user_system.records:
        before = user_system.before_restart.get(record.request_id.originator, -1)
        if record.cv not in (5, 6) and record.request_id.counter <= before:
            from duisconf.user_system.judge import Breach

            _fail_on([Breach("counter", f"{record.describe()}: counter {record.request_id.counter} after the restart "
                                        f"is not above {before}, used before it")])


@when(parsers.re(r"the DCC's (?:response|alert) is delivered again, (?P<how>signature broken|unknown certificate|"
                 r"schema-invalid|replayed|duplicated)$"))
def delivered_again(user_system: UserSystemScenario, how: str) -> None:
    from duisconf.keystore import zaz1
    from duisconf.duis.model import DCC_EUI
    from duisconf.user_system.rrs_check import deliver, forge

    assert user_system.delivered is not None, "no DCC message was accepted earlier in this scenario"
    forged = forge(user_system.delivered, how, zaz1().xml_signing_identity(DCC_EUI))
    user_system.delivery = (how, deliver(user_system.run.target.user_system.receive_url, forged, f"{how} message"), forged)


@when(parsers.re(rf"the DCC sends device alert (?P<code>[0-9A-F]{{4}}) from the {DEVICE} to the (?P<role>{ROLE_NAMES})$"))
def device_alert(user_system: UserSystemScenario, code: str, device: str, role: str) -> None:
    from duisconf.user_system.rrs_check import deliver

    run = user_system.run
    recipient, eui = _organisation(run, role), _device(run, device)
    counter, now = int(time.time() * 1000), datetime.now(timezone.utc)
    emulator = run.judge.emulator  # the device's own GBCS alert, MACed to their KA key
    body = emulator.builder.device_alert(eui, recipient, counter, code,
                                         emulator.device_messages.alert(eui, code, recipient, counter, now))
    user_system.delivery = ("valid", deliver(run.target.user_system.receive_url, body, f"device alert {code}"), body)


@then("the user's system refuses it")
def refuses(user_system: UserSystemScenario) -> None:
    from duisconf.user_system.evidence import attach_delivery
    from duisconf.user_system.rrs_check import FORGERIES, judge_forgery

    how, delivery, body = user_system.delivery
    breach = judge_forgery(how, delivery)
    attach_delivery(body, delivery, FORGERIES[how], breach)
    _fail_on([breach] if breach else [])


@then("the user's system accepts it")
def accepts(user_system: UserSystemScenario) -> None:
    from duisconf.user_system.evidence import attach_delivery
    from duisconf.user_system.rrs_check import VALID_RULE, judge_valid

    _, delivery, body = user_system.delivery
    breach = judge_valid(delivery)
    attach_delivery(body, delivery, VALID_RULE, breach)
    if breach is None:
        user_system.delivered = body  # taken: the base of the forgeries that follow
    _fail_on([breach] if breach else [])





# -- design-note flows: their system as the supplier or the network operator ------------------------

def _firmware_image(version: str) -> bytes:
    return f"duisconf user-system firmware {version}".encode()


@given(parsers.re(rf"the registration data shows the (?P<role>{ROLE_NAMES})'s organisation as the gaining supplier "
                  rf"for the {DEVICE} from the supply start date$"))
def registered_gaining(user_system: UserSystemScenario, role: str, device: str) -> None:
    """Registration (the RDP / CSS) is the world's doing, not a DUIS message: arranged on the emulated DCC,
    with the reference test supplier as the losing supplier."""
    from duisconf.evidence import attach_text

    run = user_system.run
    gaining, losing = _organisation(run, role), reference_identities()["users"]["IS"]
    run.judge.register_gaining_supplier(_device(run, device), gaining, losing)
    attach_text("registration data", f"{device}: supplier {losing} today, gaining supplier {gaining} from the SSD")


@then(parsers.re(rf"the emulated DCC registers the (?P<role>{ROLE_NAMES})'s organisation as the {DEVICE}'s supplier$"))
def registered_supplier_is(user_system: UserSystemScenario, role: str, device: str) -> None:
    run = user_system.run
    eui, record = _organisation(run, role), run.judge.device(_device(run, device))
    assert record.supplier == eui, (f"the {device}'s supplier is {record.supplier}, not {eui}: the change of "
                                    "supplier did not take effect (design notes §4.3 step 2)")


@when(parsers.re(rf'the (?P<role>{ROLE_NAMES})\'s system is asked to distribute firmware "(?P<version>[^"]+)" '
                 rf"to the {DEVICE}$"))
def asked_to_distribute(user_system: UserSystemScenario, role: str, version: str, device: str) -> None:
    """11.1 Update Firmware (to the DCC): the image, its version and the devices it is for."""
    import base64

    run = user_system.run
    place(user_system, "send", "11.1", None, _organisation(run, role),
          {"FirmwareImage": base64.b64encode(_firmware_image(version)).decode(), "FirmwareVersion": version,
           "DeviceIDList": _device(run, device)})


@when(parsers.re(rf'the (?P<role>{ROLE_NAMES})\'s system is asked to activate firmware "(?P<version>[^"]+)" '
                 rf"on the {DEVICE}$"))
def asked_to_activate(user_system: UserSystemScenario, role: str, version: str, device: str) -> None:
    """11.3 Activate Firmware (critical) by the SHA-256 hash of the image distributed."""
    import hashlib

    run = user_system.run
    place(user_system, "send", "11.3", _device(run, device), _organisation(run, role),
          {"FirmwareHash": hashlib.sha256(_firmware_image(version)).hexdigest().upper()})


@then(parsers.re(rf'the emulated {DEVICE} runs firmware "(?P<version>[^"]+)"$'))
def runs_firmware(user_system: UserSystemScenario, device: str, version: str) -> None:
    record = user_system.run.judge.device(_device(user_system.run, device))
    assert record.firmware_version == version, (f"the {device} runs firmware {record.firmware_version}, not {version}: "
                                                "the activation did not take effect (design notes §4.8 step 7)")


@when(parsers.re(r"the ESME's supplier commissions it with SRV 8\.1\.1$"))
def supplier_commissions(user_system: UserSystemScenario) -> None:
    """The other party of the flow: the reference test supplier (ZAZ1 keys) sends 8.1.1 through the same
    emulated DCC, its clock set to the DCC's now; the DCC then tells the network operator (their system)
    with a DCC alert."""
    from duisconf.evidence import attach_text

    run = user_system.run
    supplier = reference_identities()["users"]["IS"]
    now = run.judge.emulator.clock.now().replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")
    exchange = run.judge.act_as(supplier, "8.1.1", _device(run, "ESME"), {"CurrentDateTime": now})
    user_system.about = exchange.request_id
    attach_text("the supplier's request", f"8.1.1 to the ESME as {supplier}: RequestID {exchange.request_id}")


# -- prepayment (design notes §4.4 step 5): their system makes the UTRN ----------------------------------

@when(parsers.re(rf"the (?P<role>{ROLE_NAMES})'s system is asked to top up the {DEVICE} with a UTRN for "
                 r"(?P<value>\d+) pence$"))
def asked_to_top_up(user_system: UserSystemScenario, role: str, device: str, value: str) -> None:
    """SRV 2.2 Top Up Device: their system makes the UTRN (GBCS §14) with its own prepayment KA key, at a UTRN
    counter that is also the RequestID's; the judge checks it as the meter does (rule utrn)."""
    run = user_system.run
    eui = _organisation(run, role)
    if run.target.user_system.organisations[eui].gbcs_prepayment_key_agreement_certificate is None:
        raise PreconditionNotMet(f"{run.target.source}: [organisations.\"{eui}\"] gives no "
                                 "gbcs_prepayment_key_agreement_certificate: the meter cannot check its UTRNs")
    place(user_system, "send", "2.2", _device(run, device), eui, credit=int(value))


@then(parsers.re(rf"the emulated {DEVICE} credits (?P<value>\d+) pence from the UTRN$"))
def credits_from_utrn(user_system: UserSystemScenario, device: str, value: str) -> None:
    """Read back from the emulated meter: the prepayment credit its 2.2 recorded at the UTRN's counter."""
    from duisconf.evidence import attach_text

    run = user_system.run
    request_id = _main_request_id(user_system)
    prepayment = run.judge.prepayment(_device(run, device))
    credit = next((c for c in prepayment.get("credits", []) if c["utrn_counter"] == request_id.counter), None)
    attach_text(f"the {device}'s prepayment credits", "\n".join(f"counter {c['utrn_counter']}: {c['credited']} pence"
                                                               for c in prepayment.get("credits", [])) or "none")
    assert credit is not None, (f"the {device} credited nothing from the UTRN of {request_id} (the meter refused "
                                "it: see rule utrn)")
    assert credit["credited"] == int(value), f"the {device} credited {credit['credited']} pence, not {value}"


@then(parsers.re(rf"the emulated {DEVICE}'s meter balance is (?P<value>\d+) pence$"))
def meter_balance(user_system: UserSystemScenario, device: str, value: str) -> None:
    balance = user_system.run.judge.prepayment(_device(user_system.run, device)).get("meter_balance", 0)
    assert balance == int(value), f"the {device}'s meter balance is {balance} pence, not {value}"


# -- install and commission (design notes §4.1): their system whitelists and commissions -----------------

INSTALL_CODE = "00112233445566778899AABBCCDDEEFF"  # the code the new device carries (RTDS 8.11 template's)
JOIN_TIME = "600"                                  # seconds the CHF's join window stays open
_NEW = rf"new (?P<device>{_TYPES})"


def _new_device(user_system: UserSystemScenario, device: str) -> str:
    assert device in user_system.new_devices, f"the scenario has no new {device}: none was pre-notified"
    return user_system.new_devices[device]


@given(parsers.re(rf'a {_NEW} "(?P<eui>[0-9A-Fa-f-]+)" is pre-notified, the (?P<role>{ROLE_NAMES})\'s organisation '
                  r"its supplier$"))
def new_device_prenotified(user_system: UserSystemScenario, device: str, eui: str, role: str) -> None:
    """Pre-notification (by the manufacturer, design notes §4.1 pre-conditions) is not their system's doing:
    the emulated DCC holds the device as Pending, their organisation its registered supplier."""
    from duisconf.duis.model import normalise_eui
    from duisconf.evidence import attach_text

    run = user_system.run
    eui, supplier = normalise_eui(eui), _organisation(run, role)
    operator = run.target.users.get("ED") or reference_identities()["users"]["ED"]
    run.judge.prenotify(eui, device, supplier, operator)
    user_system.new_devices[device] = eui
    attach_text("pre-notified", f"{device} {eui}: Pending, supplier {supplier}, install code {INSTALL_CODE}")


@when(parsers.re(rf"the (?P<role>{ROLE_NAMES})'s system is asked to add the {_NEW} to the CHF device log with its "
                 r"install code$"))
def asked_to_whitelist(user_system: UserSystemScenario, role: str, device: str) -> None:
    """8.11 Update HAN Device Log (Add) to the CHF: the device, its install code and the join time."""
    run = user_system.run
    place(user_system, "send", "8.11", _device(run, "CHF"), _organisation(run, role),
          {"DeviceID": _new_device(user_system, device), "RequestType": "Add", "InstallCode": INSTALL_CODE,
           "JoinTimePeriod": JOIN_TIME})


@when(parsers.re(rf"the {_NEW} is powered up near the CHF by the installer$"))
def installer_powers_up(user_system: UserSystemScenario, device: str) -> None:
    """A physical step: the device, carrying its install code, tries to join the hub's SMHAN."""
    from duisconf.evidence import attach_text

    alerts = user_system.run.judge.power_up(_new_device(user_system, device), INSTALL_CODE)
    attach_text(f"installer powered up the new {device}", f"the hub raised {alerts}")


@when(parsers.re(rf"the (?P<role>{ROLE_NAMES})'s system is asked to commission the {_NEW}$"))
def asked_to_commission(user_system: UserSystemScenario, role: str, device: str) -> None:
    """8.1.1 Commission Device (critical) with the DCC's time now and the RTDS tolerance of 60 s."""
    run = user_system.run
    now = run.judge.emulator.clock.now().replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")
    place(user_system, "send", "8.1.1", _new_device(user_system, device), _organisation(run, role),
          {"CurrentDateTime": now, "TolerancePeriod": "60"})


@then(parsers.re(rf'the emulated DCC shows the {_NEW} as "(?P<status>[A-Za-z ]+)"$'))
def new_device_status(user_system: UserSystemScenario, device: str, status: str) -> None:
    record = user_system.run.judge.device(_new_device(user_system, device))
    wanted = status.replace(" ", "")
    assert record.status == wanted, f"the new {device}'s SMI status is {record.status}, not {wanted}"


# -- auxiliary load control switches (design notes §4.9) --------------------------------------------------

@then(parsers.re(rf'the emulated {DEVICE} holds the switch description "(?P<text>[^"]*)"$'))
def holds_switch_description(user_system: UserSystemScenario, device: str, text: str) -> None:
    """Read back from the emulated meter: the descriptions its ALCS hold, by switch."""
    record = user_system.run.judge.device(_device(user_system.run, device))
    descriptions = dict(record.data.get("alcs", {}).get("descriptions", {}))
    assert text in descriptions.values(), (f"the {device}'s switches are described {descriptions or 'not at all'}, "
                                           f"none as {text!r}: the 6.14.1 did not take effect")


# -- time management (design notes §4.7): their system synchronises a drifted meter clock ----------------

_STAMP = "%Y-%m-%dT%H:%M:%SZ"


@given(parsers.re(rf"the emulated {DEVICE}'s clock has drifted (?P<seconds>\d+) seconds (?P<way>ahead|behind)$"))
def clock_drifted(user_system: UserSystemScenario, device: str, seconds: str, way: str) -> None:
    """A physical fact (a meter clock running fast or slow), arranged on the emulated DCC."""
    from duisconf.evidence import attach_text

    offset = int(seconds) * (1 if way == "ahead" else -1)
    user_system.run.judge.drift_clock(_device(user_system.run, device), offset)
    attach_text("device clock", f"the {device}'s clock is {offset:+d} s from the DCC's time")


@when(parsers.re(rf"the (?P<role>{ROLE_NAMES})'s system is asked to synchronise the {DEVICE}'s clock with a "
                 r"tolerance of (?P<tolerance>\d+) seconds(?: using a time (?P<age>\d+) minutes old)?$"))
def asked_to_synchronise(user_system: UserSystemScenario, role: str, device: str, tolerance: str,
                         age: str | None) -> None:
    """6.11 Synchronise Clock (critical: CV 4, the signed pre-command, CV 5) with CurrentDateTime the DCC's
    now (or a time `age` minutes old: outside the tolerance) and the TolerancePeriod asked."""
    run = user_system.run
    moment = run.judge.emulator.clock.now() - timedelta(minutes=int(age or 0))
    place(user_system, "send", "6.11", _device(run, device), _organisation(run, role),
          {"CurrentDateTime": moment.replace(microsecond=0).strftime(_STAMP), "TolerancePeriod": tolerance})


@then(parsers.re(rf"the user's system accepted device alert (?P<code>[0-9A-F]{{4}}) from the "
                 rf"(?P<which>new |old )?{DEVICE} for that request$"))
def accepted_device_alert(user_system: UserSystemScenario, code: str, which: str | None, device: str) -> None:
    """The device's alert the request caused (its outcome: 8145 adjusted, 81C6 outside the tolerance, 8F0C a
    step too large; 8F12 / 8071 a device log restored), sent on by the DCC and taken by their service."""
    eui = _new_device(user_system, device) if which == "new " else _device(user_system.run, device)
    _accepted(user_system, "device-alert", code, f"device alert {code} from the {which or ''}{device} {eui} "
                                                 f"for {_main_request_id(user_system)}", naming=(eui,))


@then(parsers.re(rf"the emulated {DEVICE}'s clock is within (?P<limit>\d+) seconds of the DCC's time$"))
def clock_on_dcc_time(user_system: UserSystemScenario, device: str, limit: str) -> None:
    offset = user_system.run.judge.clock_offset(_device(user_system.run, device))
    assert abs(offset) <= int(limit), (f"the {device}'s clock is {offset:+.0f} s from the DCC's time: the "
                                       "synchronisation (6.11, alert 8145) did not adjust it")


@then(parsers.re(rf"the emulated {DEVICE}'s clock is still (?P<seconds>\d+) seconds (?P<way>ahead of|behind) "
                 r"the DCC's time$"))
def clock_left_alone(user_system: UserSystemScenario, device: str, seconds: str, way: str) -> None:
    offset = user_system.run.judge.clock_offset(_device(user_system.run, device))
    wanted = int(seconds) * (1 if way == "ahead of" else -1)
    assert abs(offset - wanted) < 1, (f"the {device}'s clock is {offset:+.0f} s from the DCC's time, expected "
                                      f"{wanted:+d} s: a refused synchronisation must leave it alone")


# -- communications hub exchange (design notes §4.5): their system replaces the hub ---------------------

_WHICH_HUB = r"(?P<which>old|new) (?P<device>CHF|GPF)"


def _hub(user_system: UserSystemScenario, which: str, device: str) -> str:
    """The old hub is the reference premises' CHF / GPF; the new one the DCC handed over for the exchange."""
    return _new_device(user_system, device) if which == "new" else _device(user_system.run, device)


@given(parsers.re(r'the DCC has handed over a new Communications Hub for the exchange, CHF "(?P<chf>[0-9A-Fa-f-]+)" '
                  r'with GPF "(?P<gpf>[0-9A-Fa-f-]+)"$'))
def hub_handed_over(user_system: UserSystemScenario, chf: str, gpf: str) -> None:
    """Communications Hubs come from the DCC, in the SMI as Pending, CHF and GPF one unit: the DCC's doing,
    arranged on the emulated DCC, with their organisation the hub's supplier."""
    from duisconf.duis.model import normalise_eui
    from duisconf.evidence import attach_text

    run = user_system.run
    chf, gpf = normalise_eui(chf), normalise_eui(gpf)
    operator = run.target.users.get("ED") or reference_identities()["users"]["ED"]
    run.judge.deliver_hub(chf, gpf, _organisation(run, "Import Supplier"), operator)
    user_system.new_devices.update(CHF=chf, GPF=gpf)
    attach_text("new Communications Hub", f"CHF {chf} with GPF {gpf}: Pending, replacing CHF "
                                          f"{_device(run, 'CHF')} with GPF {_device(run, 'GPF')}")


@when(parsers.re(rf"the (?P<role>{ROLE_NAMES})'s system is asked to report the new CHF installed with SM WAN as a "
                 r"replacement$"))
def asked_to_report_installed(user_system: UserSystemScenario, role: str) -> None:
    """8.14.1 Communications Hub Status Update - Install Success (to the DCC), Replacement CHF Install."""
    run = user_system.run
    place(user_system, "send", "8.14.1", None, _organisation(run, role),
          {"DeviceID": _new_device(user_system, "CHF"), "CHFInstallType": "Replacement CHF Install"})


@when(parsers.re(rf"the (?P<role>{ROLE_NAMES})'s system is asked to restore the (?P<log>HAN|GPF) device log of the "
                 r"old (?:CHF|GPF) onto the new (?:CHF|GPF)$"))
def asked_to_restore(user_system: UserSystemScenario, role: str, log: str) -> None:
    """8.12.1 Restore HAN Device Log (CCS03, to the new CHF, OldCHFID) / 8.12.2 Restore GPF Device Log (GCS59,
    to the new GPF, OldGPFID)."""
    kind = "CHF" if log == "HAN" else "GPF"
    srv, name = ("8.12.1", "OldCHFID") if kind == "CHF" else ("8.12.2", "OldGPFID")
    place(user_system, "send", srv, _hub(user_system, "new", kind), _organisation(user_system.run, role),
          {name: _hub(user_system, "old", kind)})


@when(parsers.re(rf"the (?P<role>{ROLE_NAMES})'s system is asked to send SRV (?P<srv>[0-9.]+) to the "
                 rf"{_WHICH_HUB}{WITH_PARAMS}$"))
def asked_to_send_to_hub(user_system: UserSystemScenario, role: str, srv: str, which: str, device: str,
                         params: str | None) -> None:
    place(user_system, "send", srv, _hub(user_system, which, device), _organisation(user_system.run, role),
          params_of(params))


@when(parsers.re(rf"the (?P<role>{ROLE_NAMES})'s system is asked to return the (?P<which>old|new) CHF "
                 r'(?P<fault>with|without) a fault as "(?P<kind>[^"]+)"$'))
def asked_to_return(user_system: UserSystemScenario, role: str, which: str, fault: str, kind: str) -> None:
    """8.14.3 Fault Return (with the meter it served as OtherDeviceID) / 8.14.4 No Fault Return, to the DCC."""
    chf = _hub(user_system, which, "CHF")
    if fault == "with":
        srv, values = "8.14.3", {"DeviceID": chf, "CHFFaultReturnType": kind,
                                 "OtherDeviceID": _device(user_system.run, "ESME")}
    else:
        srv, values = "8.14.4", {"DeviceID": chf, "CHFNoFaultReturnType": kind}
    place(user_system, "send", srv, None, _organisation(user_system.run, role), values)


@then(parsers.re(r"the user's system accepted DCC alert (?P<payload>DeviceLogRestored) (?P<detail>CHFDeviceLog|"
                 r"GPFDeviceLog) for that request$"))
def accepted_log_restored(user_system: UserSystemScenario, payload: str, detail: str) -> None:
    """The DCC alert telling the supplier the log was restored, recognised by its payload (its code is not
    public), naming the old and the new hub."""
    kind = "CHF" if detail == "CHFDeviceLog" else "GPF"
    _accepted(user_system, "dcc-alert", None, f"DCC alert {payload}/{detail} for {_main_request_id(user_system)}",
              naming=(f"{payload}>", f"{detail}>", _hub(user_system, "old", kind), _hub(user_system, "new", kind)))


@then(parsers.re(rf"the emulated {_WHICH_HUB}'s device log (?P<verb>lists|does not list) the "
                 rf"(?P<others>(?:{_TYPES})(?:(?:,| and) (?:{_TYPES}))*)$"))
def hub_log_lists(user_system: UserSystemScenario, which: str, device: str, verb: str, others: str) -> None:
    """Read back from the emulated hub: the devices its log holds after the restore."""
    import re

    run = user_system.run
    log = dict(run.judge.device(_hub(user_system, which, device)).device_log)
    wrong = [kind for kind in re.findall(_TYPES, others) if (_device(run, kind) in log) != (verb == "lists")]
    assert not wrong, (f"the {which} {device}'s device log {'lacks' if verb == 'lists' else 'still lists'} the "
                       f"{', '.join(wrong)}: it holds {sorted(log)} (the restore did not take effect)")


@then(parsers.re(r'the emulated DCC shows the old (?P<device>CHF|GPF) as "(?P<status>[A-Za-z ]+)"$'))
def old_hub_status(user_system: UserSystemScenario, device: str, status: str) -> None:
    record = user_system.run.judge.device(_hub(user_system, "old", device))
    wanted = status.replace(" ", "")
    assert record.status == wanted, f"the old {device}'s SMI status is {record.status}, not {wanted}"


@then(parsers.re(r"the DCC answered it (?P<code>[A-Z]\d+) at once$"))
def answered_at_once(user_system: UserSystemScenario, code: str) -> None:
    """A non-device request (CV 8) is answered in the HTTP reply itself, not through their Receive Response
    Service: the ResponseCode the DCC gave the request the order asked for."""
    main = [r for r in user_system.records if r.srv == user_system.order.srv]
    assert main, f"the user's system sent no SRV {user_system.order.srv}"
    assert main[0].code == code, f"the DCC answered {main[0].describe()} with {main[0].code}, not {code}"
