"""Steps in the words of three design notes: Change of Supplier (§4.3), Prepayment Change of Supplier
(§4.4) and Time Management (§4.7).

Change of Supplier speaks of two parties, "the losing supplier" (the premises' supplier when the
scenario starts: the target's Import / Gas Supplier) and "the gaining supplier" (the reference
GITTESTSUPPLIER2, or the one a scenario names). Outcomes are observed through DUIS only: responses,
device alerts, DCC alerts addressed to each party, and reads. The control plane arranges only what the
world does: the registration data of a change of supplier, a UTRN the emulated meter accepts (its
encoding is duisconf's own, see effects/supplier.py), a drifting device clock, the calendar, and a
meter that an installer has just put on the SMHAN.

Assertion messages name the design-note rule they check, so a wrong target (or a misbehaving
emulator, tests/test_suite_negative_supplier.py) fails with the rule in the message.
"""

from __future__ import annotations

import time
import tomllib
from datetime import datetime, timedelta, timezone

from pytest_bdd import given, parsers, then, when

from duisconf import paths
from duisconf.duis.model import SR_NS, normalise_eui
from duisconf.evidence import attach_inbound, attach_text

from .common import (DEVICE, ROLE_NAMES, ScenarioContext, acknowledged, control_of, device_of, params_of, record,
                     reference_identities, target_now, user_eui)
from .device_reads import DeviceReport, NotReported, command_outcome, device_report
from .requests import TO_EXECUTE, TO_TARGET, WITH_PARAMS, addressing, execution_datetime, send

_SR = f"{{{SR_NS}}}"
_PARTY = r"(?P<party>gaining|losing)"
_FORMAT = "%Y-%m-%dT%H:%M:%SZ"


# -- the two suppliers of a change of supplier ------------------------------------------------------

def _supplier_role(device: str | None) -> str:
    return "Gas Supplier" if device in ("GSME", "GPF") else "Import Supplier"


def party_eui(context: ScenarioContext, duis, party: str) -> str:
    """The EUI of "the gaining supplier" or "the losing supplier" in this scenario."""
    chosen = getattr(context, "suppliers", {})
    if party == "gaining":
        return chosen.get("gaining") or normalise_eui(reference_identities()["suppliers"]["gaining"])
    return chosen.get("losing") or user_eui(context, duis, "Import Supplier")


@given(parsers.re(r'the gaining supplier is "(?P<eui>[0-9A-Fa-f-]+)"$'))
def gaining_supplier(context: ScenarioContext, eui: str) -> None:
    context.suppliers = {**getattr(context, "suppliers", {}), "gaining": normalise_eui(eui)}


@given(parsers.re(r"the registration data shows the gaining supplier for the (?P<devices>(?:ESME|GSME)(?: and the (?:ESME|GSME))?) "
                  r"from the supply start date$"))
def registered_from_ssd(context: ScenarioContext, duis_scenario, devices: str) -> None:
    """Registration (via the RDP / CSS) is the world's doing, not a DUIS message: arranged on the emulator;
    a Boxed kit needs its registration set up by hand (inconclusive here)."""
    duis = duis_scenario.session
    control = control_of(duis, "registration data naming the gaining supplier")
    gaining = party_eui(context, duis, "gaining")
    for kind in ("ESME", "GSME"):
        if kind in devices:
            control.put_device(device_of(context, duis_scenario, kind), incoming_supplier=gaining)
    attach_text("registration data", f"{devices}: gaining supplier {gaining} from the supply start date")


def send_as(context: ScenarioContext, duis_scenario, originator: str, srv: str, target: str | None, params: dict,
            **options) -> None:
    duis = duis_scenario.session
    started = time.monotonic()
    exchange = duis.client.send(srv, originator=originator, target=target, params=params or None, **options)
    record(context, duis, exchange, srv, target, started)


@when(parsers.re(rf"the {_PARTY} supplier sends SRV (?P<srv>[0-9.]+) {TO_TARGET}{WITH_PARAMS}{TO_EXECUTE}$"))
def party_sends(context: ScenarioContext, duis_scenario, party: str, srv: str, device: str | None, eui: str | None,
                for_device: str | None, params: str | None, when: str | None) -> None:
    values = params_of(params)
    target = addressing(context, duis_scenario, device, eui, for_device, values)
    context.execution = execution_datetime(duis_scenario.session, when)
    send_as(context, duis_scenario, party_eui(context, duis_scenario.session, party), srv, target, values,
            execution_datetime=context.execution)
    if context.execution and acknowledged(context.exchange):  # for "the supply start date arrives"
        context.pending = (context.request_id, context.execution, srv)


@when("the supply start date arrives")
def supply_start_date_arrives(context: ScenarioContext, duis_scenario) -> None:
    from .devices import let_time_pass

    pending = getattr(context, "pending", None)
    assert pending, "no future-dated request has been sent by a supplier in this scenario"
    due = datetime.strptime(pending[1], _FORMAT).replace(tzinfo=timezone.utc)
    remaining = (due - target_now(duis_scenario.session)).total_seconds() + 1
    let_time_pass(duis_scenario.session, max(remaining, 0))


@then(parsers.re(r"the future-dated SRV (?P<srv>[0-9.]+) is actioned with alert 8F66$"))
def pending_actioned(context: ScenarioContext, duis_scenario, srv: str) -> None:
    duis = duis_scenario.session
    pending = getattr(context, "pending", None)
    assert pending and pending[2] == srv, f"no future-dated SRV {srv} has been sent by a supplier in this scenario"
    inbound = duis.receiver.response(pending[0], duis.target.timeouts.future_dated, kinds=("future-dated-alert",),
                                     required=True)  # kept only once the target acknowledged it (party_sends)
    attach_inbound(inbound, f"future-dated alert for {pending[0]}", context.sent_at)
    assert (inbound.alert_code or "").upper() == "8F66", \
        f"the future-dated SRV {srv} ({pending[0]}) reports {inbound.alert_code}, expected 8F66 actioned at {pending[1]}"


@when(parsers.re(rf"the {_PARTY} supplier cancels the future-dated SRV (?P<srv>[0-9.]+) for the {DEVICE}$"))
def party_cancels(context: ScenarioContext, duis_scenario, party: str, srv: str, device: str) -> None:
    from duisconf.render import CANCELLATION_DATETIME

    target = device_of(context, duis_scenario, device)
    send_as(context, duis_scenario, party_eui(context, duis_scenario.session, party), srv, target, {},
            execution_datetime=CANCELLATION_DATETIME)


def _registration_code() -> str:
    with open(paths.rules_dir() / "access_control.toml", "rb") as handle:
        checks = tomllib.load(handle)["check"]
    return next(c["code"] for c in checks if c["name"] == "registration")


@then(parsers.re(rf"the DCC refuses the {_PARTY} supplier's request as it is not the registered supplier$"))
def refused_not_registered(context: ScenarioContext, party: str) -> None:
    code, got = _registration_code(), context.exchange.code
    if party == "losing":
        assert got == code, (f"the losing supplier's command was accepted after the change of supplier (6.23): "
                             f"SRV {context.srv} answered {got}, expected the registration refusal {code}")
    else:
        assert got == code, (f"a supplier that is not registered for the device was not refused (6.23 needs the "
                             f"registration): SRV {context.srv} answered {got}, expected {code}")


def _dcc_alert_code(payload: str) -> str:
    with open(paths.rules_dir() / "dcc_alert_codes.toml", "rb") as handle:
        return tomllib.load(handle)["payload"][payload]["code"]


@then(parsers.re(rf"the {_PARTY} supplier receives a DCC alert (?P<payload>ChangeOfSupplier|DeviceChangeOfSupplier) "
                 rf"(?:naming (?P<which>that|the future-dated) request|for the {DEVICE})$"))
def party_receives_dcc_alert(context: ScenarioContext, duis_scenario, party: str, payload: str,
                             which: str | None, device: str | None) -> None:
    """The payload types are XSD facts; which code carries them and who receives which is best known
    (rules/dcc_alert_codes.toml, conf U)."""
    duis = duis_scenario.session
    code, recipient = _dcc_alert_code(payload), party_eui(context, duis, party).upper()

    if device:
        eui = device_of(context, duis_scenario, device).upper()
        what = f"naming the {device} {eui}"
    else:
        wanted = (context.pending[0] if which == "the future-dated" else context.request_id).upper()
        what = f"naming the 6.23 request {wanted}"

    def for_party(message) -> bool:
        if not (message.kind == "dcc-alert" and (message.alert_code or "").upper() == code.upper()
                and (message.response_id or "").split(":")[1:2] == [recipient]):
            return False
        if device:  # 6.23 notification to the losing supplier: which device changed hands
            return (message.root.findtext(f".//{_SR}DeviceChangeOfSupplier/{_SR}DeviceID") or "").upper() == eui
        return (message.root.findtext(f".//{_SR}ChangeOfSupplierServiceRequestID") or "").upper() == wanted

    alert = duis.receiver.claim(for_party, duis.target.timeouts.alert,
                                f"DCC alert {code} ({payload}) to the {party} supplier {recipient} {what}",
                                required=acknowledged(context.exchange))
    attach_inbound(alert, f"DCC alert {code} {payload} to the {party} supplier", context.sent_at)


@when(parsers.re(rf"the gaining supplier takes over the {DEVICE} with SRV 6.23"
                 rf"(?: setting its top-up floor to (?P<floor>\d+))?$"))
def takes_over(context: ScenarioContext, duis_scenario, device: str, floor: str | None) -> None:
    """The whole immediate change of supplier for one meter (design notes §4.3 steps 2–5): 6.23 is
    acknowledged, the device answers naming the gaining supplier, raises 8F70, and each party gets its
    DCC alert. Scenarios that are about what comes after use this one step."""
    duis = duis_scenario.session
    target = device_of(context, duis_scenario, device)
    gaining = party_eui(context, duis, "gaining")
    params = {"SupplierPrepaymentTopUpFloorSeqNumber": floor} if floor else {}
    send_as(context, duis_scenario, gaining, "6.23", target, params)
    assert context.exchange.code == "I99", \
        f"the gaining supplier's SRV 6.23 to the {device} was answered {context.exchange.code}, expected I99"
    report = _response_state(context, duis_scenario)  # framing: the device answers the gaining supplier
    ok, detail = command_outcome(report.decoded)
    assert ok, f"the {device} did not carry out the gaining supplier's SRV 6.23 (GBCS CS02b): {detail}"
    (alert,) = duis.receiver.alerts("8F70", 1, duis.target.timeouts.alert, device=target, required=True)
    attach_inbound(alert, "device alert 8F70", context.sent_at)
    # The DCC alerts of a change of supplier (codes and recipients best known, conf U) are not asserted
    # here: the message accounting holds them as expected-but-not-asserted (rules/expected_messages.toml,
    # 6.23), and scenarios tagged @conf-U assert them with the steps above.


# -- prepayment: UTRNs ---------------------------------------------------------------------------

@given(parsers.re(rf"the {_PARTY} supplier has put the {DEVICE} in prepayment mode$"))
def in_prepayment(context: ScenarioContext, duis_scenario, party: str, device: str) -> None:
    """SRV 1.6 Update Payment Mode (critical), carried out as the device's response says, then read back
    with SRV 6.2.9 Read Device Configuration (Payment Mode)."""
    supplier = party_eui(context, duis_scenario.session, party)
    target = device_of(context, duis_scenario, device)
    send_as(context, duis_scenario, supplier, "1.6", target, {"PaymentMode": "Prepayment"})
    ok, detail = command_outcome(_response_state(context, duis_scenario).decoded)
    assert ok, f"SRV 1.6 to Prepayment was not carried out by the {device}: {detail}"
    send_as(context, duis_scenario, supplier, "6.2.9", target, {})
    mode = _response_state(context, duis_scenario).get("payment_mode")
    assert mode == "Prepayment", f"after SRV 1.6 the {device} reports payment mode {mode!r} (SRV 6.2.9)"

@when(parsers.re(rf"the {_PARTY} supplier tops up the {DEVICE} with a UTRN for (?P<value>\d+) pence"
                 rf"(?: issued by the (?P<issuer>gaining|losing) supplier)?$"))
def tops_up(context: ScenarioContext, duis_scenario, party: str, device: str, value: str, issuer: str | None) -> None:
    """SRV 2.2 Top Up Device: the RequestID counter is the UTRN counter (low 32 bits zero). The UTRN is
    made in the emulator's own encoding (a real UTRN carries a MAC only the supplier's system can make),
    so on a real target this step is inconclusive."""
    from duisconf.gbcs.keys import for_target
    from duisconf.gbcs.utrn import make_utrn

    duis = duis_scenario.session
    control_of(duis, "a UTRN the emulated meter accepts")
    sender = party_eui(context, duis, party)
    issued_by = party_eui(context, duis, issuer or party)
    target = device_of(context, duis_scenario, device)
    started = time.monotonic()
    with duis.client.counters.reserve(sender, utrn=True) as counter:
        utrn = make_utrn(issued_by, target, counter, int(value), keys=for_target(duis.target))
        exchange = duis.client.send_variant("2.2", originator=sender, target=target, params={"UTRN": utrn},
                                            counter=counter)
    attach_text("UTRN", f"{utrn}: {value} pence issued by the {issuer or party} supplier, counter {counter}")
    record(context, duis, exchange, "2.2", target, started)


def _response_state(context: ScenarioContext, duis_scenario) -> DeviceReport:
    duis = duis_scenario.session
    inbound = duis.receiver.response(context.request_id, duis.target.timeouts.on_demand,
                                     required=acknowledged(context.exchange))
    attach_inbound(inbound, f"response for {context.request_id}", context.sent_at)
    context.inbound = inbound
    return device_report(duis, inbound, srv=context.srv, exchange=context.exchange,
                         what=f"SRV {context.srv} response {inbound.response_id}")


def _top_up_outcome(context: ScenarioContext, duis_scenario) -> tuple[bool | None, str, DeviceReport]:
    report = _response_state(context, duis_scenario)
    ok, detail = command_outcome(report.decoded)
    return ok, detail, report


@then(parsers.re(rf"the {DEVICE} refuses the losing supplier's UTRN as not authentic$"))
def old_utrn_refused(context: ScenarioContext, duis_scenario, device: str) -> None:
    """The device's top-up response reports the UTRN not applied (its 8F63 alert is the next step)."""
    ok, detail, _ = _top_up_outcome(context, duis_scenario)
    assert ok is False, (
        f"the {device} applied a UTRN issued by the losing supplier after the change of supplier "
        f"(6.23 then 2.2; the old supplier's UTRNs must stop being valid): {detail}")


@then(parsers.re(rf"the {DEVICE} refuses the UTRN as (?P<why>[\w ]+)$"))
def utrn_refused(context: ScenarioContext, duis_scenario, device: str, why: str) -> None:
    """The device's top-up response reports the UTRN not applied (the alert saying why is its own step)."""
    ok, detail, _ = _top_up_outcome(context, duis_scenario)
    assert ok is False, f"the {device} applied a UTRN it should refuse as {why} (2.2): {detail}"


@then(parsers.re(rf"the {DEVICE} accepts the UTRN(?: and credits (?P<value>\d+) pence)?$"))
def utrn_accepted(context: ScenarioContext, duis_scenario, device: str, value: str | None) -> None:
    """The device's top-up response reports the UTRN applied; a GSME (CS01b) also says how much it
    credited (an ESME's CS01a answers with an action result only: its balance is read with 4.18)."""
    ok, detail, report = _top_up_outcome(context, duis_scenario)
    assert ok, f"the {device} refused the UTRN (2.2): {detail}"
    if value is not None:
        try:
            credited = report.readings["credited"]
        except NotReported as exc:
            raise AssertionError(f"the {device} accepted the UTRN but does not say how much it credited ({exc}); "
                                 f"read its balance instead") from None
        assert credited == int(value), f"the {device} credited {credited}, expected {value}"


# -- time management -----------------------------------------------------------------------------

@given(parsers.re(rf"the {DEVICE}'s clock has drifted (?P<seconds>\d+) seconds (?P<way>ahead|behind)$"))
def clock_drifted(context: ScenarioContext, duis_scenario, device: str, seconds: str, way: str) -> None:
    """A physical fact (a device clock running fast or slow), arranged on the emulator."""
    duis = duis_scenario.session
    control = control_of(duis, "a drifted device clock")
    eui = device_of(context, duis_scenario, device)
    data = dict(control.device(eui).get("data") or {})
    data["clock_offset_s"] = float(seconds) * (1 if way == "ahead" else -1)
    control.put_device(eui, data=data)


def _sync(context: ScenarioContext, duis_scenario, role: str, device: str, tolerance: int, age_s: float = 0) -> None:
    moment = target_now(duis_scenario.session) - timedelta(seconds=age_s)
    send(context, duis_scenario, role, "6.11", device_of(context, duis_scenario, device),
         {"CurrentDateTime": moment.strftime(_FORMAT), "TolerancePeriod": str(tolerance)})


@when(parsers.re(rf"the (?P<role>{ROLE_NAMES}) synchronises the {DEVICE}'s clock with a tolerance of "
                 rf"(?P<tolerance>\d+) seconds(?: using a time (?P<age>\d+) (?P<unit>seconds|minutes) old)?$"))
def synchronises(context: ScenarioContext, duis_scenario, role: str, device: str, tolerance: str,
                 age: str | None, unit: str | None) -> None:
    """SRV 6.11 Synchronise Clock (critical: CV 4 → signed pre-command → CV 5) with CurrentDateTime = the
    target's now, or a stale time stamp."""
    _sync(context, duis_scenario, role, device, int(tolerance),
          int(age or 0) * (60 if unit == "minutes" else 1))


@when(parsers.re(rf"the (?P<role>{ROLE_NAMES}) commissions the {DEVICE} with the DCC's time and a tolerance of "
                 rf"(?P<tolerance>\d+) seconds$"))
def commissions_on_dcc_time(context: ScenarioContext, duis_scenario, role: str, device: str, tolerance: str) -> None:
    """SRV 8.1.1 Commission Device carries the same clock-set payload as 6.11 (CurrentDateTime = now)."""
    now = target_now(duis_scenario.session)
    send(context, duis_scenario, role, "8.1.1", device_of(context, duis_scenario, device),
         {"CurrentDateTime": now.strftime(_FORMAT), "TolerancePeriod": tolerance})


@then(parsers.re(rf"a further synchronisation finds the {DEVICE}'s clock within (?P<limit>\d+) seconds of the "
                 rf"DCC's time$"))
def clock_now_agrees(context: ScenarioContext, duis_scenario, device: str, limit: str) -> None:
    """Observe the device's clock through DUIS: a further 6.11's response reports the device's clock
    (GBCS ECS70 Clock / GCS28 deviceTime), compared with the DCC's time."""
    role = _supplier_role(device)
    _sync(context, duis_scenario, role, device, 60)
    report = _response_state(context, duis_scenario)
    try:
        clock = report.readings["clock"]
    except NotReported as exc:
        raise AssertionError(f"the {device}'s further synchronisation (6.11) reports no clock: {exc}") from None
    device_time = datetime.fromisoformat(clock.replace("Z", "+00:00"))
    if device_time.tzinfo is None:
        device_time = device_time.replace(tzinfo=timezone.utc)
    offset = (device_time - target_now(duis_scenario.session)).total_seconds()
    attach_text("device clock", f"{clock}: {offset:+.0f} s from the DCC's time")
    assert abs(offset) <= int(limit) + 1, (
        f"the {device}'s clock was not adjusted by the synchronisation within tolerance (6.11, alert 8145): "
        f"a further 6.11 finds it {offset} s away from the DCC's time, expected within {limit} s")


def _next_bst_start(after: datetime) -> datetime:
    """01:00 UTC on the last Sunday of March: UK clocks go forward to British Summer Time."""
    year = after.year
    while True:
        last = datetime(year, 3, 31, 1, 0, tzinfo=timezone.utc)
        start = last - timedelta(days=(last.weekday() + 1) % 7)
        if start > after:
            return start
        year += 1


@given(parsers.re(r"the DCC's time is (?P<hours>\d+) hours? before the clocks go forward to British Summer Time$"))
def before_bst(context: ScenarioContext, duis_scenario, hours: str) -> None:
    duis = duis_scenario.session
    control = control_of(duis, "moving the DCC's calendar to a clock change")
    lead = timedelta(hours=int(hours))
    change = _next_bst_start(target_now(duis) + lead + timedelta(minutes=1))
    control.set_clock((change - lead).strftime(_FORMAT))
    context.bst_start = change
    attach_text("clock change", f"British Summer Time starts {change.strftime(_FORMAT)} (01:00 GMT → 02:00 BST)")


@when(parsers.re(rf"the (?P<role>{ROLE_NAMES}) sends SRV (?P<srv>[0-9.]+) to the {DEVICE}{WITH_PARAMS} to execute "
                 rf"(?P<minutes>\d+) minutes after the clocks go forward$"))
def sends_after_bst(context: ScenarioContext, duis_scenario, role: str, srv: str, device: str, params: str | None,
                    minutes: str) -> None:
    """DUIS date-times are UTC: 30 minutes after the change is 01:30Z, which is 02:30 BST."""
    assert getattr(context, "bst_start", None), "no clock change has been arranged in this scenario"
    context.execution = (context.bst_start + timedelta(minutes=int(minutes))).strftime(_FORMAT)
    send(context, duis_scenario, role, srv, device_of(context, duis_scenario, device), params_of(params),
         execution_datetime=context.execution)


@then(parsers.re(r"the command has not been actioned yet$"))
def not_actioned_yet(context: ScenarioContext, duis_scenario) -> None:
    duis = duis_scenario.session
    early = duis.receiver.nothing_more(1.0, lambda m: m.kind == "future-dated-alert"
                                       and m.request_id == context.request_id.upper(), settle=duis.settle)
    assert not early, (f"the future-dated {context.srv} was actioned before its ExecutionDateTime "
                       f"{context.execution} (UTC) — read as local time across the clock change?")


@then(parsers.re(r"the reading is stamped with the DCC's time within (?P<limit>\d+) seconds$"))
def reading_on_dcc_time(context: ScenarioContext, duis_scenario, limit: str) -> None:
    _reading_offset(context, duis_scenario, 0, int(limit))


@then(parsers.re(r"the reading is stamped (?P<seconds>\d+) seconds (?P<way>ahead of|behind) the DCC's time$"))
def reading_drifted(context: ScenarioContext, duis_scenario, seconds: str, way: str) -> None:
    _reading_offset(context, duis_scenario, int(seconds) * (1 if way == "ahead of" else -1), 2)


def _reading_offset(context: ScenarioContext, duis_scenario, expected: int, limit: int) -> None:
    assert context.inbound is not None, "claim the response first"
    state = device_report(duis_scenario.session, context.inbound, srv=context.srv, exchange=context.exchange,
                          what=f"SRV {context.srv} response").readings
    assert state.get("read_at"), f"SRV {context.srv}: the response reports no read time (GBCS header date-time)"
    read_at = datetime.fromisoformat(state["read_at"].replace("Z", "+00:00"))
    offset = (read_at - target_now(duis_scenario.session)).total_seconds()
    attach_text("reading time", f"read_at {state['read_at']}: {offset:+.0f} s from the DCC's time")
    assert abs(offset - expected) <= limit + 1, (
        f"the reading is stamped {offset:+.0f} s from the DCC's time, "
        f"expected {expected:+d} s (± {limit} s)")


@then(parsers.re(r"the reading comes from the (?P<source>GPF's copy of the gas registers|GSME itself)$"))
def reading_source(context: ScenarioContext, duis_scenario, source: str) -> None:
    """Who answered a gas read is in the GBCS header's date-time clock status: the GPF's copy is stamped
    on the hub's clock (status 0x00), the GSME's own answer on the meter's (0x04 "different clock base")."""
    assert context.inbound is not None, "claim the response first"
    state = device_report(duis_scenario.session, context.inbound, srv=context.srv, exchange=context.exchange,
                          what=f"SRV {context.srv} response").readings
    status = state.get("read_at_clock_status")
    assert status is not None, f"SRV {context.srv}: the response carries no GBCS date-time (no clock status)"
    own = bool((status["value"] if isinstance(status, dict) else int(status)) & 0x04)
    attach_text("clock status", repr(status))
    wanted = source == "GSME itself"
    assert own == wanted, (f"SRV {context.srv}: the reading's clock status {status!r} says it comes from the "
                           f"{'GSME itself' if own else 'GPF'}, expected the {source}")


@given(parsers.re(rf"the installer has just joined the {DEVICE} to the hub, not yet commissioned$"))
def joined_not_commissioned(context: ScenarioContext, duis_scenario, device: str) -> None:
    """The §4.1 install steps before 8.1.1 (8.11, power-up, join) belong to another note: arranged here."""
    duis = duis_scenario.session
    control = control_of(duis, "a meter installed and joined but not commissioned")
    control.put_device(device_of(context, duis_scenario, device), status="InstalledNotCommissioned")
