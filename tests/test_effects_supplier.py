"""Supplier-owned behaviour on the emulated devices, observed through DUIS messages only:
Change of Supplier (6.23), credentials (6.15.1 / 6.21), prepayment and UTRNs, supply, tariff and identity."""

from __future__ import annotations

import itertools
from datetime import timedelta

import pytest

import emulator_harness
from duisconf.duis.parse import parse_xml
from duisconf.emulator.behaviours import dcc_alert_code
from duisconf.emulator.effects.supplier import register_change_of_supplier
from duisconf.emulator.identities import for_seed
from duisconf.gbcs import keys as gbcs_keys
from duisconf.gbcs import utrn as gbcs_utrn
from duisconf.keystore import zaz1
from duisconf.render import render_request
from duisconf.signing import sign
from emulator_harness import CHF, ESME, GSME, SR, START, SUPPLIER, SUPPLIER2, Exchange, Session

LATER = (START + timedelta(hours=6)).strftime("%Y-%m-%dT%H:%M:%SZ")
CANCEL = "3000-12-31T00:00:00Z"
FLOOR = 10 << 32  # the gaining supplier's SupplierPrepaymentTopUpFloorSeqNumber in these tests


def change_of_supplier(dcc: Session, target: str = ESME, floor: int = FLOOR, **options) -> Exchange:
    register_change_of_supplier(dcc.inventory, target, SUPPLIER2)
    params = {"SupplierPrepaymentTopUpFloorSeqNumber": str(floor), "SupplierFloorSeqNumber": "7"}
    return dcc.send("6.23", originator=SUPPLIER2, target=target, params=params, **options)


def make_utrn(supplier: str, device: str, counter: int, value: int) -> str:
    """A GBCS UTRN as the supplier's system makes it: its prepayment KA key (ZAZ1), the device's KA certificate."""
    devices = gbcs_keys.KeyChain(for_seed().key_source(lambda eui: eui.startswith("00db")), gbcs_keys.Zaz1Source())
    utrn = gbcs_utrn.make_utrn(supplier, device, counter, value, keys=devices)
    _UTRN_COUNTERS[utrn] = counter
    return utrn


_UTRN_COUNTERS: dict[str, int] = {}  # UTRN -> the counter it was made for (a GBCS UTRN keeps only 10 bits of it)


def top_up(dcc: Session, utrn: str, *, originator: str = SUPPLIER, target: str = ESME,
           counter: int | None = None) -> Exchange:
    """2.2 with the RequestID counter = the UTRN counter (low 32 bits zero, duis.md §1.3).

    The harness numbers requests itself, so this renders and posts the request directly and moves the
    harness's counter past the UTRN counter (counters must keep increasing per originator).
    """
    counter = counter if counter is not None else _UTRN_COUNTERS[utrn]
    xml = render_request("2.2", originator=originator, target=target, counter=counter, params={"UTRN": utrn})
    root = dcc._post("serviceS", sign(xml, zaz1()))
    emulator_harness._counters = itertools.count(max(counter, next(emulator_harness._counters)) + 1)
    return Exchange(root.findtext(f"{SR}Header/{SR}RequestID"), root)


def prepayment_mode(dcc: Session, originator: str = SUPPLIER) -> None:
    assert dcc.messages(dcc.send("1.6", originator=originator, target=ESME,
                                 params={"PaymentMode": "Prepayment"})).state["payment_mode"] == "Prepayment"


# -- Change of Supplier -------------------------------------------------------------------------
def test_6_23_without_registration_is_refused():
    with Session() as dcc:
        assert dcc.send("6.23", originator=SUPPLIER2, target=ESME).code == "E4"


def test_change_of_supplier_moves_the_device_to_the_gaining_supplier():
    with Session() as dcc:
        exchange = change_of_supplier(dcc)
        assert exchange.code == "I99"
        messages = dcc.messages(exchange)
        assert messages.response_code == "I0"
        assert messages.state["supplier"] == SUPPLIER2 and messages.state["losing_supplier"] == SUPPLIER
        assert messages.state["topup_floor"] == FLOOR and messages.state["credentials"]["Supplier"]["floor"] == 7
        assert messages.device_alerts == ["8F70"]
        gaining = messages.dcc_alert(dcc_alert_code("ChangeOfSupplier"))
        assert gaining.findtext(f".//{SR}ChangeOfSupplierServiceRequestID") == exchange.request_id
        losing = messages.dcc_alert(dcc_alert_code("DeviceChangeOfSupplier"))
        assert losing.findtext(f".//{SR}DeviceChangeOfSupplier/{SR}DeviceID") == ESME
        assert losing.findtext(f".//{SR}DeviceType") == "ESME"
        assert losing.findtext(f"{SR}Header/{SR}ResponseID").split(":")[1] == SUPPLIER  # sent to the losing one
        assert gaining.findtext(f"{SR}Header/{SR}ResponseID").split(":")[1] == SUPPLIER2
        # afterwards: access control follows the new registration
        assert dcc.send("6.2.9", originator=SUPPLIER, target=ESME).code == "E4"
        assert dcc.send("6.2.9", originator=SUPPLIER2, target=ESME).code == "I99"
        assert dcc.send("6.23", originator=SUPPLIER2, target=ESME).code == "E4"  # no longer incoming


def test_future_dated_change_of_supplier_takes_effect_at_the_execution_time():
    with Session() as dcc:
        exchange = change_of_supplier(dcc, execution_datetime=LATER)
        assert exchange.code == "I99"
        assert dcc.messages(exchange).state == {"stored_until": LATER}
        assert dcc.send("6.2.9", originator=SUPPLIER, target=ESME).code == "I99"  # still the losing supplier's
        assert dcc.send("6.2.9", originator=SUPPLIER2, target=ESME).code == "E4"
        dcc.advance(timedelta(hours=6))
        messages = dcc.messages(exchange)
        assert messages.future_dated == ["8F66"] and "8F70" in messages.device_alerts
        assert dcc_alert_code("ChangeOfSupplier") in messages.dcc_alerts
        assert dcc.send("6.2.9", originator=SUPPLIER, target=ESME).code == "E4"
        assert dcc.send("6.2.9", originator=SUPPLIER2, target=ESME).code == "I99"


def test_cancelled_change_of_supplier_leaves_the_losing_supplier_in_place():
    with Session() as dcc:
        pending = change_of_supplier(dcc, execution_datetime=LATER)
        cancel = dcc.send("6.23", originator=SUPPLIER2, target=ESME, execution_datetime=CANCEL)
        assert dcc.messages(cancel).state == {"cancelled": True}
        dcc.advance(timedelta(days=1))
        messages = dcc.messages(pending)
        assert messages.future_dated == [] and messages.device_alerts == [] and messages.dcc_alerts == []
        assert dcc.send("6.2.9", originator=SUPPLIER, target=ESME).code == "I99"
        assert dcc.send("6.2.9", originator=SUPPLIER2, target=ESME).code == "E4"


def test_change_of_supplier_on_the_gas_meter():
    with Session() as dcc:
        messages = dcc.messages(change_of_supplier(dcc, target=GSME))
        assert messages.state["supplier"] == SUPPLIER2
        assert messages.dcc_alert(dcc_alert_code("DeviceChangeOfSupplier")).findtext(f".//{SR}DeviceType") == "GSME"


# -- credentials --------------------------------------------------------------------------------
@pytest.mark.parametrize("role", ["Supplier", "NetworkOperator"])
def test_6_15_1_stores_the_credentials_of_the_role(role):
    with Session() as dcc:
        params = {"RemotePartyRole": role, "RemotePartyFloorSeqNumber": "42",
                  "RemotePartyPrepaymentTopUpFloorSeqNumber": str(3 << 32)}
        messages = dcc.messages(dcc.send("6.15.1", target=ESME, params=params))
        assert messages.response_code == "I0" and messages.device_alerts == ["8F70"]
        assert messages.state["credentials"][role]["floor"] == 42
        assert "DigitalSigningCertificate" in messages.state["credentials"][role]["certificates"]
        assert messages.state["topup_floor"] == (3 << 32 if role == "Supplier" else 0)


def test_6_21_handover_stores_the_credentials():
    with Session() as dcc:
        messages = dcc.messages(dcc.send("6.21", target=ESME, params={"RemotePartyRole": "Supplier",
                                                                      "RemotePartyFloorSeqNumber": "5"}))
        assert messages.device_alerts == ["8F70"] and messages.state["credentials"]["Supplier"]["floor"] == 5


# -- prepayment ---------------------------------------------------------------------------------
def test_payment_mode_balance_configuration_debt_and_reads():
    with Session() as dcc:
        assert dcc.messages(dcc.send("6.2.9", target=ESME)).state == {"payment_mode": "Credit"}
        prepayment_mode(dcc)
        assert dcc.messages(dcc.send("1.5", target=ESME, params={"AdjustMeterBalance": "250"})).state == {
            "meter_balance": 250}
        config = {"EmergencyCreditLimit": "700", "EmergencyCreditThreshold": "300", "LowCreditThreshold": "400",
                  "DebtRecoveryRateCap": "20", "MaxMeterBalance": "100000", "MaxCreditThreshold": "50000"}
        stored = dcc.messages(dcc.send("2.1", target=ESME, params=config)).state["prepay_configuration"]
        assert stored == {name: int(value) for name, value in config.items()}
        debt = {"TimeDebtRegister1": "1000", "TimeDebtRegister2": "0", "PaymentDebtRegister": "250",
                "DebtRecoveryPerPayment": "10"}
        assert dcc.messages(dcc.send("2.3", target=ESME, params=debt)).state["debt"]["PaymentDebtRegister"] == 250
        for srv in ("4.3", "4.18", "4.14"):
            state = dcc.messages(dcc.send(srv, target=ESME)).state
            assert state["payment_mode"] == "Prepayment" and state["meter_balance"] == 250, srv
            assert state["debt"]["TimeDebtRegister1"] == 1000 and state["emergency_credit"]["active"] is False
        assert dcc.messages(dcc.send("4.13", target=ESME)).state["prepay_configuration"]["EmergencyCreditLimit"] == 700
        assert dcc.messages(dcc.send("4.4.4", target=ESME)).state["debt"]["DebtRecoveryPerPayment"] == 10
        reset = dcc.send("1.5", target=ESME, params={"PaymentMode": "Credit", "MeterBalanceAction": "ResetMeterBalance"})
        assert dcc.messages(reset).state == {"meter_balance": 0}
        assert dcc.messages(dcc.send("1.6", target=ESME, params={"PaymentMode": "Credit"})).state["payment_mode"] == "Credit"


def test_future_dated_payment_mode_change_applies_at_the_execution_time():
    with Session() as dcc:
        pending = dcc.send("1.6", target=ESME, params={"PaymentMode": "Prepayment"}, execution_datetime=LATER)
        assert dcc.messages(pending).state == {"stored_until": LATER}
        assert dcc.messages(dcc.send("6.2.9", target=ESME)).state == {"payment_mode": "Credit"}
        dcc.advance(timedelta(hours=6))
        assert dcc.messages(pending).future_dated == ["8F66"]
        assert dcc.messages(dcc.send("6.2.9", target=ESME)).state == {"payment_mode": "Prepayment"}


def test_emergency_credit_only_below_the_threshold():
    with Session() as dcc:
        prepayment_mode(dcc)
        dcc.messages(dcc.send("2.1", target=ESME, params={"EmergencyCreditThreshold": "300",
                                                          "EmergencyCreditLimit": "700"}))
        dcc.messages(dcc.send("1.5", target=ESME, params={"AdjustMeterBalance": "500"}))
        above = dcc.messages(dcc.send("2.5", target=ESME))
        assert above.state == {"emergency_credit": {"active": False, "balance": 0}, "activated": False}
        assert above.device_alerts == []
        dcc.messages(dcc.send("1.5", target=ESME, params={"AdjustMeterBalance": "-400"}))
        below = dcc.messages(dcc.send("2.5", target=ESME))
        assert below.state == {"emergency_credit": {"active": True, "balance": 700}, "activated": True}
        assert below.device_alerts == ["81AB"]
        assert dcc.messages(dcc.send("4.18", target=ESME)).state["emergency_credit"]["active"] is True
        again = dcc.messages(dcc.send("2.5", target=ESME))
        assert again.state["activated"] is False and again.device_alerts == []


def test_top_up_credits_the_utrn_value_and_checks_its_counter():
    with Session() as dcc:
        prepayment_mode(dcc)
        counter = ((next(emulator_harness._counters) >> 32) + 1) << 32
        utrn = make_utrn(SUPPLIER, ESME, counter, 1500)
        first = dcc.messages(top_up(dcc, utrn))
        assert first.response_code == "I0" and first.device_alerts == []
        assert first.state == {"accepted": True, "utrn_counter": counter, "credited": 1500,
                               "meter_balance": 1500, "rejected_with": None}
        # a UTRN whose counter is not the RequestID counter → not authentic
        later = dcc.messages(top_up(dcc, make_utrn(SUPPLIER, ESME, counter + (1 << 32), 0),
                                    counter=counter + (2 << 32)))
        assert later.device_alerts == ["8F63"] and later.state["accepted"] is False
        credits = dcc.messages(dcc.send("4.4.5", target=ESME)).state["prepayment_credits"]
        assert [(c["utrn_counter"], c["credited"]) for c in credits] == [(counter, 1500)]


def test_utrn_for_another_device_is_refused():
    with Session() as dcc:
        counter = ((next(emulator_harness._counters) >> 32) + 1) << 32
        messages = dcc.messages(top_up(dcc, make_utrn(SUPPLIER, GSME, counter, 100)))
        # the authenticator covers the device's EUI: for the ESME it is simply not authentic
        assert messages.device_alerts == ["8F63"] and messages.state["rejected_with"] == "8F63"
        assert messages.state["meter_balance"] == 0


def test_after_change_of_supplier_only_the_gaining_suppliers_utrns_above_its_floor_count():
    with Session() as dcc:
        prepayment_mode(dcc)
        old_counter = ((next(emulator_harness._counters) >> 32) + 1) << 32
        losing_utrn = make_utrn(SUPPLIER, ESME, old_counter, 300)
        assert dcc.messages(top_up(dcc, losing_utrn)).state["accepted"] is True
        floor = old_counter + (10 << 32)  # above every counter sent so far, so only the device can refuse
        assert dcc.messages(change_of_supplier(dcc, floor=floor)).state["topup_floor"] == floor
        # the losing supplier can no longer send 2.2 at all (E4) …
        assert top_up(dcc, make_utrn(SUPPLIER, ESME, old_counter + (1 << 32), 300)).code == "E4"
        # … and its UTRNs carried to the device by the gaining supplier are not authentic any more
        carried = dcc.messages(top_up(dcc, make_utrn(SUPPLIER, ESME, old_counter + (2 << 32), 300),
                                      originator=SUPPLIER2))
        assert carried.device_alerts == ["8F63"]
        # the gaining supplier's UTRN at or below its floor → treated as used
        at_floor = dcc.messages(top_up(dcc, make_utrn(SUPPLIER2, ESME, floor, 300), originator=SUPPLIER2))
        assert at_floor.device_alerts == ["8F51"]
        fresh = dcc.messages(top_up(dcc, make_utrn(SUPPLIER2, ESME, floor + (1 << 32), 200), originator=SUPPLIER2))
        assert fresh.state["accepted"] is True and fresh.state["meter_balance"] == 500
        assert dcc.messages(dcc.send("4.3", originator=SUPPLIER2, target=ESME)).state["meter_balance"] == 500


def test_utrn_above_the_credit_limits_is_refused():
    with Session() as dcc:
        prepayment_mode(dcc)
        dcc.messages(dcc.send("2.1", target=ESME, params={"MaxCreditThreshold": "2000", "MaxMeterBalance": "3000"}))
        counter = ((next(emulator_harness._counters) >> 32) + 1) << 32
        too_much = dcc.messages(top_up(dcc, make_utrn(SUPPLIER, ESME, counter, 2500)))
        assert too_much.device_alerts == ["8F5B"] and too_much.state["meter_balance"] == 0
        ok = dcc.messages(top_up(dcc, make_utrn(SUPPLIER, ESME, counter + (1 << 32), 2000)))
        assert ok.state["accepted"] is True
        over = dcc.messages(top_up(dcc, make_utrn(SUPPLIER, ESME, counter + (2 << 32), 1500)))
        assert over.device_alerts == ["8F47"] and over.state["meter_balance"] == 2000


# -- supply -------------------------------------------------------------------------------------
def test_supply_disable_arm_enable_and_read():
    with Session() as dcc:
        assert dcc.messages(dcc.send("7.4", target=ESME)).state == {"supply": "Enabled"}
        assert dcc.messages(dcc.send("7.2", target=ESME)).state == {"supply": "Disabled"}
        armed = dcc.messages(dcc.send("7.3", target=ESME))
        assert armed.state == {"supply": "Armed"} and armed.device_alerts == ["8F32"]
        assert dcc.messages(dcc.send("7.4", target=ESME)).state == {"supply": "Armed"}
        assert dcc.messages(dcc.send("7.1", target=ESME)).state == {"supply": "Enabled"}
        assert dcc.send("7.1", target=GSME).code.startswith("E")  # Enable Supply is for the ESME only


# -- tariff, supplier name, identity ------------------------------------------------------------
def test_tariff_and_price_are_read_back():
    with Session() as dcc:
        tariff = dcc.send("1.1.1", target=ESME, params={"SeasonName": "winter26"})
        assert tariff.code == "I99", tariff.transform
        assert dcc.messages(tariff).state["tariff"]["season"] == "winter26"
        price = dcc.send("1.2.1", target=ESME, params={"StandingCharge": "42"})
        assert dcc.messages(price).state["prices"]["standing_charge"] == 42
        read = dcc.messages(dcc.send("4.11.1", target=ESME)).state
        assert read["tariff"]["season"] == "winter26" and read["tariff"]["request_id"] == tariff.request_id
        assert read["prices"]["standing_charge"] == 42


def test_supplier_name_identity_and_mpxn():
    with Session() as dcc:
        named = dcc.send("3.4", target=ESME, params={"SupplierName": "GAINING ENERGY", "SupplierTelephoneNumber": "0800"})
        assert dcc.messages(named).state == {"supplier_name": "GAINING ENERGY", "supplier_telephone": "0800"}
        identity = dcc.messages(dcc.send("6.2.4", target=ESME)).state
        assert identity["device_id"] == ESME and identity["device_type"] == "ESME"
        assert identity["supplier_name"] == "GAINING ENERGY"
        assert dcc.messages(dcc.send("6.2.4", target=CHF)).state["device_type"] == "CHF"
        assert dcc.messages(dcc.send("6.2.7", target=ESME)).state == {"mpxn": "1312345678111"}


def test_harness_counter_helper_keeps_requests_increasing():
    root = parse_xml(render_request("2.2", originator=SUPPLIER, target=ESME, counter=5 << 32)).getroot()
    assert root.findtext(f"{SR}Header/{SR}RequestID").endswith(f":{5 << 32}")


# -- alert behaviour, reliable / unreliable register reads ----------------------------------------
def test_alert_behaviour_is_configured_and_read_back():
    with Session() as dcc:
        assert dcc.messages(dcc.send("6.2.10", target=ESME)).state == {"alert_settings": {}}
        configured = dcc.messages(dcc.send("6.22", target=ESME, params={"AlertSettings": "ElectricitySupplierAlerts",
                                                                        "x810D": "Enable"}))
        assert configured.state["alert_settings"]["ElectricitySupplierAlerts"]["x810D"] == "Enable"
        read = dcc.messages(dcc.send("6.2.10", target=ESME)).state
        assert read["alert_settings"]["ElectricitySupplierAlerts"]["x810D"] == "Enable"


def test_gas_registers_read_from_the_gsme_carry_its_own_clock_and_from_the_gpf_the_gpfs():
    from emulator_harness import GPF

    with Session() as dcc:
        dcc.inventory.device(GSME).data["clock_offset_s"] = 30.0
        direct = dcc.messages(dcc.send("4.1.1", target=GSME)).state
        assert direct["answered_by"] == "GSME" and direct["meter"] == GSME
        assert direct["read_at"] == (START + timedelta(seconds=30)).strftime("%Y-%m-%dT%H:%M:%SZ")
        copy = dcc.messages(dcc.send("4.1.1", target=GPF)).state
        assert copy["answered_by"] == "GPF" and copy["meter"] == GSME
        assert copy["read_at"] == START.strftime("%Y-%m-%dT%H:%M:%SZ")


# -- misbehaviours (the suite's negative checks) --------------------------------------------------
def test_misbehaviour_losing_supplier_still_accepted():
    with Session() as dcc:
        dcc.messages(change_of_supplier(dcc))
        assert dcc.send("6.2.9", originator=SUPPLIER, target=ESME).code == "E4"
        dcc.dcc.faults.add({"kind": "misbehave", "rule": "losing-supplier-still-accepted"})
        assert dcc.send("6.2.9", originator=SUPPLIER, target=ESME).code == "I99"


def test_misbehaviour_old_utrn_accepted_after_cos():
    with Session() as dcc:
        prepayment_mode(dcc)
        dcc.messages(change_of_supplier(dcc, floor=1))
        dcc.dcc.faults.add({"kind": "misbehave", "rule": "old-utrn-accepted-after-cos"})
        counter = ((next(emulator_harness._counters) >> 32) + 1) << 32
        carried = dcc.messages(top_up(dcc, make_utrn(SUPPLIER, ESME, counter, 300), originator=SUPPLIER2))
        assert carried.state["accepted"] is True and carried.device_alerts == []
