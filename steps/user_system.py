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
from duisconf.user_system.pytest_hooks import pytest_collection_modifyitems  # noqa: F401  (a hook of this plugin)

from .common import DEVICE, DEVICE_TYPES, ROLE_NAMES, ROLES, params_of, reference_identities

_TYPES = "|".join(DEVICE_TYPES)
_TO = rf'to the (?:(?P<device>{_TYPES})|DCC for the (?P<for_device>{_TYPES}))'
_PARAMS = r'(?: with (?P<params>\w+ "[^"]*"(?:(?:,| and) \w+ "[^"]*")*))?'
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
    delivery: object | None = None        # the last rrs_check.Delivery


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


def place(user_system: UserSystemScenario, action: str, srv: str | None = None, device: str | None = None,
          originator: str | None = None, parameters: dict | None = None, execution_time: str | None = None) -> None:
    """Ask their system to act, then collect what it sends (TargetTimeout when it sends nothing)."""
    from duisconf.user_system.drivers import Order

    run = user_system.run
    order = Order(action, uuid.uuid4().hex, user_system.scenario_id, srv, device, originator, parameters or {},
                  execution_time)
    mark = run.judge.mark()
    run.driver.place(order)
    user_system.order = order
    user_system.records = run.judge.wait(order, mark, run.target.user_system.driver.timeout)


@given("the user's system is connected to the emulated DCC")
def connected(user_system: UserSystemScenario) -> None:
    """The judge listens at its DCC address and their system is configured to send there (the target file)."""


@when(parsers.re(rf"the (?P<role>{ROLE_NAMES})'s system is asked to send SRV (?P<srv>[0-9.]+) {_TO}{_PARAMS}{_WHEN}$"))
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
    _fail_on(user_system.run.judge.breaches(user_system.order, user_system.records))


@then("it went through the transform and the signed pre-command")
def critical_flow(user_system: UserSystemScenario) -> None:
    assert load_catalogue().srv(user_system.order.srv).critical, f"SRV {user_system.order.srv} is not critical"
    _fail_on(user_system.run.judge.breaches(user_system.order, user_system.records))
    cvs = [(r.cv, r.admitted) for r in user_system.records]
    if (4, True) not in cvs or not ((5, True) in cvs or (6, True) in cvs):
        from duisconf.user_system.judge import Breach

        _fail_on([Breach("critical_flow", f"sent {cvs}: expected an admitted CV 4, then its CV 5/6")])


def _main_request_id(user_system: UserSystemScenario):
    ids = [r.request_id for r in user_system.records if r.admitted and r.request_id is not None]
    assert ids, "the user's system sent no request the DCC admitted"
    return ids[-1]


@then("the user's system accepted the DCC's response")
def accepted_response(user_system: UserSystemScenario) -> None:
    from duisconf.user_system.judge import Breach
    from duisconf.user_system.rrs_check import VALID_RULE

    run = user_system.run
    request_id = _main_request_id(user_system)
    records = [r for r in run.judge.deliveries(request_id, run.target.timeouts.on_demand) if r.kind == "response"]
    if not records:
        raise AssertionError(f"the emulated DCC sent no response for {request_id} (a suite fault, not theirs)")
    record = records[0]
    if record.status != "delivered":
        _fail_on([Breach(VALID_RULE, f"the DCC's response to {request_id} was not accepted by "
                                     f"{run.target.user_system.receive_url}: {'; '.join(record.errors) or record.status}")])
    user_system.delivered = record.body


@then("its originator counters rose above every counter it used before the restart")
def counters_rose(user_system: UserSystemScenario) -> None:
    _fail_on(user_system.run.judge.breaches(user_system.order, user_system.records))
    for record in user_system.records:
        before = user_system.before_restart.get(record.request_id.originator, -1)
        if record.cv not in (5, 6) and record.request_id.counter <= before:
            from duisconf.user_system.judge import Breach

            _fail_on([Breach("counter", f"{record.describe()}: counter {record.request_id.counter} after the restart "
                                        f"is not above {before}, used before it")])


@when(parsers.re(r"the DCC's response is delivered again, (?P<how>signature broken|unknown certificate|schema-invalid|"
                 r"replayed|duplicated)$"))
def delivered_again(user_system: UserSystemScenario, how: str) -> None:
    from duisconf.keystore import zaz1
    from duisconf.duis.model import DCC_EUI
    from duisconf.user_system.rrs_check import deliver, forge

    assert user_system.delivered is not None, "no DCC response was accepted earlier in this scenario"
    forged = forge(user_system.delivered, how, zaz1().xml_signing_identity(DCC_EUI))
    user_system.delivery = (how, deliver(user_system.run.target.user_system.receive_url, forged, f"{how} response"))


@when(parsers.re(rf"the DCC sends device alert (?P<code>[0-9A-F]{{4}}) from the {DEVICE} to the (?P<role>{ROLE_NAMES})$"))
def device_alert(user_system: UserSystemScenario, code: str, device: str, role: str) -> None:
    from duisconf.emulator import behaviours
    from duisconf.user_system.rrs_check import deliver

    run = user_system.run
    recipient, eui = _organisation(run, role), _device(run, device)
    counter, now = int(time.time() * 1000), datetime.now(timezone.utc)
    body = run.judge.emulator.builder.device_alert(
        eui, recipient, counter, code, behaviours.alert_payload(behaviours.DeviceAlert(eui, code), recipient, counter, now))
    user_system.delivery = ("valid", deliver(run.target.user_system.receive_url, body, f"device alert {code}"))


@then("the user's system refuses it")
def refuses(user_system: UserSystemScenario) -> None:
    from duisconf.user_system.rrs_check import judge_forgery

    how, delivery = user_system.delivery
    breach = judge_forgery(how, delivery)
    _fail_on([breach] if breach else [])


@then("the user's system accepts it")
def accepts(user_system: UserSystemScenario) -> None:
    from duisconf.user_system.rrs_check import judge_valid

    _, delivery = user_system.delivery
    breach = judge_valid(delivery)
    _fail_on([breach] if breach else [])



