"""Supplier-owned device behaviour: Change of Supplier, credentials, prepayment, supply, tariff.

Design notes §4.3 (Change of Supplier) and §4.4 (Prepayment CoS). Device state lives in `device.data`;
each effect records its state in `outcome.state` with the keys listed here; what a device reports of it goes
into its GBCS response through the reading slots (rules/emulator_gbcs.toml, duisconf.emulator.device_messages).
Confidence tags as in design-notes.md: V / I / U.

Change of Supplier (6.23, pattern "DSP & Device") [I effect; U DCC alert codes]
    register_change_of_supplier(inventory, device, gaining) sets device.incoming_supplier, as the
    registration data would. When the device executes 6.23: supplier := gaining supplier,
    incoming_supplier := None, supplier credentials and top-up floor stored, used UTRNs forgotten.
    Response state: {"supplier", "losing_supplier", "credentials": {"Supplier": CRED}, "topup_floor"}.
    Alerts: device 8F70 to the gaining supplier; DCC alert ChangeOfSupplier(ChangeOfSupplierServiceRequestID
    = the 6.23 RequestID) to the gaining supplier; DCC alert ChangeOfSupplier/DeviceChangeOfSupplier
    (DeviceID, DeviceType, MPxNs/ImportMPxN) to the losing supplier. Codes: rules/dcc_alert_codes.toml.
    CRED = {"floor": int|None, "topup_floor": int|None, "certificates": [certificate element names]}.
6.15.1 Update Security Credentials (KRP), 6.21 Request Handover [I]
    credentials[RemotePartyRole] := CRED; for role Supplier a top-up floor also sets "topup_floor".
    Response state: {"credentials": {role: CRED}, "topup_floor"}; device alert 8F70.
Prepayment [U values; V SRVs / alert codes]
    Amounts are integers in the meter's currency sub-unit (pence), as given in the body.
    1.6  -> {"payment_mode": "Credit"|"Prepayment", "disablement_threshold"}
    1.5  -> {"meter_balance"} (AdjustMeterBalance adds, ResetMeterBalance sets 0)
    2.1  -> {"prepay_configuration": {DUIS element name: value}} (the thresholds / limits given)
    2.3  -> {"debt": {"TimeDebtRegister1", "TimeDebtRegister2", "PaymentDebtRegister", "DebtRecoveryPerPayment"}}
    2.5  -> {"emergency_credit": EC, "activated": bool}; 81AB when activated. Activation needs payment
            mode Prepayment and meter_balance < EmergencyCreditThreshold (default 100, conf U), not active yet;
            emergency credit balance := EmergencyCreditLimit (default 500, conf U).
            EC = {"active": bool, "balance": int}
    2.2  -> {"accepted": bool, "utrn_counter", "credited", "meter_balance", "rejected_with"}; see top_up_device.
    reads 4.3 / 4.18 / 4.14 -> {"payment_mode", "meter_balance", "emergency_credit": EC, "debt"}
          4.13 -> {"prepay_configuration", "payment_mode"}
          4.4.4 -> {"debt", "debt_payments": []}   (the emulator does not model debt collection)
          4.4.5 -> {"prepayment_credits": [{"utrn_counter", "credited", "at"}]}
          6.2.9 -> {"payment_mode"}
Supply [I]
    7.1 -> {"supply": "Enabled"}; 7.2 -> {"supply": "Disabled"}; 7.3 -> {"supply": "Armed"} + alert 8F32;
    7.4 -> {"supply"} (initially "Enabled").
Tariff and identity [I]
    1.1.1 -> {"tariff": {"season", "currency", "request_id", "set_by"}};
    1.2.1 -> {"prices": {"standing_charge", "currency", "request_id", "set_by"}};
    4.11.1 -> {"tariff", "prices"}; 3.4 -> {"supplier_name", "supplier_telephone"};
    6.2.4 -> {"device_id", "device_type", "manufacturer", "model", "firmware_version", "supplier_name"};
    6.2.7 -> {"mpxn"}.
Alert behaviour [I]
    6.22 -> {"alert_settings": {settings group: {alert element: value}}} (the groups given replace the stored
    ones); 6.2.10 -> the same.
Register reads, reliable / unreliable [I from RTDS tags]
    4.1.1 -> {"answered_by": "GSME"|"GPF"|"ESME", "meter", "read_at" (the answering device's clock, drift
    included), "import_register"}: a GPF answers from its copy of its GSME's registers.
Misbehaviours (negative checks of the suite): "losing-supplier-still-accepted" (access.py lets the
    losing supplier through after 6.23), "old-utrn-accepted-after-cos" (the losing supplier's UTRNs still credit).

UTRNs (2.2) as GBCS §14 makes them (duisconf.gbcs.utrn) [V format; I order of checks]:
    The meter checks the UTRN's authenticator with its own KA key and its current supplier's prepayment KA
    certificate at the command's counter (the RequestID counter: the DCC sends the UTRN in a GBCS command
    carrying it), then, in order:
      malformed, counter bits or authenticator wrong (another supplier, another device) -> 8F63 not authentic
      counter <= the current supplier's top-up floor, or used                     -> 8F51 duplicate
      value > MaxCreditThreshold (2.1)                                              -> 8F5B exceeds maximum credit
      meter balance + value > MaxMeterBalance (2.1)                                 -> 8F47 would exceed maximum balance
    A refused UTRN is not recorded as used and credits nothing; the response is the use case's error variant.
    So after 6.23 the losing supplier's UTRNs are rejected with 8F63, and counters at or below the
    gaining supplier's SupplierPrepaymentTopUpFloorSeqNumber with 8F51. A UTRN made for another device fails
    the authenticator like any other (8F63): the device cannot tell whom it was for.
"""

from __future__ import annotations

from datetime import timedelta

from lxml import etree

from ...duis.model import SR_NS, normalise_eui
from ...errors import InvalidInput
from ...gbcs import utrn as gbcs_utrn
from ..access import DUISRequest
from ..behaviours import Outcome, dcc_alert_code, effect
from ..faults import misbehaviour
from ..responses import element
from ..state import Device, Inventory

_SR = f"{{{SR_NS}}}"

# DCC alert codes for the Change of Supplier notifications.
# code not in public sources (conf U)

# Deliberately wrong models for the suite's own negative tests (tests/test_suite_negative_supplier.py).
LOSING_SUPPLIER_STILL_ACCEPTED = misbehaviour(
    "losing-supplier-still-accepted", "after 6.23 the DCC still accepts the losing supplier's commands (access.py)")
OLD_UTRN_ACCEPTED = misbehaviour(
    "old-utrn-accepted-after-cos", "after 6.23 the meter still credits UTRNs issued by the losing supplier")

EMERGENCY_CREDIT_THRESHOLD = 100  # default, pence (conf U: duisconf's choice)
EMERGENCY_CREDIT_LIMIT = 500      # default, pence (conf U: duisconf's choice)
LOW_32_BITS = (1 << 32) - 1


# -- helpers ------------------------------------------------------------------------------------
def _find(body: etree._Element, name: str) -> etree._Element | None:
    return body.find(f".//{_SR}{name}")


def _text(body: etree._Element, name: str) -> str | None:
    found = _find(body, name)
    return None if found is None or found.text is None else found.text.strip()


def _number(text: str | None, default: int | float | None = None) -> int | float | None:
    if text is None:
        return default
    try:
        return int(text)
    except ValueError:
        try:
            return float(text)
        except ValueError:
            return default


def _prepayment(device: Device) -> dict:
    """The device's prepayment state, created with credit-mode defaults on first use."""
    return device.data.setdefault("prepayment", {
        "payment_mode": "Credit", "meter_balance": 0, "disablement_threshold": None,
        "emergency_credit": {"active": False, "balance": 0}, "debt": {}, "configuration": {},
        "credits": [], "topup_floor": 0, "used_utrns": [],
    })


def _prepay_view(device: Device) -> dict:
    prepay = _prepayment(device)
    return {"payment_mode": prepay["payment_mode"], "meter_balance": prepay["meter_balance"],
            "emergency_credit": dict(prepay["emergency_credit"]), "debt": dict(prepay["debt"])}


def _credentials(device: Device) -> dict:
    return device.data.setdefault("credentials", {})


def _credential(body: etree._Element, floor: str, topup_floor: str, certificates: str) -> dict:
    holder = _find(body, certificates)
    names = [] if holder is None else [etree.QName(c).localname for c in holder.iter() if c is not holder
                                       and c.text and c.text.strip()]
    return {"floor": _number(_text(body, floor)), "topup_floor": _number(_text(body, topup_floor)),
            "certificates": names}


# -- Change of Supplier -------------------------------------------------------------------------
def register_change_of_supplier(inventory: Inventory, device_eui: str, gaining_eui: str) -> None:
    """Registration data: the gaining supplier becomes the device's incoming supplier (from the SSD)."""
    with inventory.lock:
        device = inventory.device(device_eui)
        if device is None:
            raise KeyError(f"no device {device_eui} in the inventory")
        device.incoming_supplier = normalise_eui(gaining_eui)


@effect("6.23")
def update_security_credentials_cos(request: DUISRequest, inventory: Inventory, outcome: Outcome) -> None:
    """6.23 executed on the device: the gaining supplier takes over (design notes §4.3 steps 2–5, §4.4 step 1)."""
    device, gaining = request.device, request.user.eui
    losing = device.supplier
    credential = _credential(request.body, "SupplierFloorSeqNumber", "SupplierPrepaymentTopUpFloorSeqNumber",
                             "SupplierReplacementCertificates")
    device.supplier, device.incoming_supplier = gaining, None
    device.data["losing_supplier"] = losing  # only the misbehaviours read it
    _credentials(device)["Supplier"] = credential
    prepay = _prepayment(device)
    if credential["topup_floor"] is not None:
        prepay["topup_floor"] = credential["topup_floor"]
    prepay["used_utrns"] = []  # the counters of the gaining supplier start afresh above its floor
    outcome.state = {"supplier": gaining, "losing_supplier": losing, "credentials": {"Supplier": credential},
                     "topup_floor": prepay["topup_floor"]}
    outcome.alert(device.eui, "8F70")
    notify_change_of_supplier(request, device, losing, outcome)


def notify_change_of_supplier(request: DUISRequest, device: Device, losing: str | None, outcome: Outcome) -> None:
    """DCC alerts: ChangeOfSupplier to the gaining supplier, DeviceChangeOfSupplier to the losing one."""
    outcome.dcc_alert(dcc_alert_code("ChangeOfSupplier"), element(
        "ChangeOfSupplier", None, element("ChangeOfSupplierServiceRequestID", str(request.request_id))))
    if losing and losing != request.user.eui:
        mpxn = _text(request.body, "ImportMPxN") or device.mpxn
        notice = element("DeviceChangeOfSupplier", None, element("DeviceID", device.eui),
                         element("DeviceType", device.type))
        if mpxn:
            notice.append(element("MPxNs", None, element("ImportMPxN", mpxn)))
            outcome.dcc_alert(dcc_alert_code("DeviceChangeOfSupplier"),
                              element("ChangeOfSupplier", None, notice), recipient=losing)


@effect("6.15.1", "6.21")
def update_security_credentials_krp(request: DUISRequest, inventory: Inventory, outcome: Outcome) -> None:
    """6.15.1 / 6.21: replace one remote party's credentials on the device."""
    device = request.device
    role = _text(request.body, "RemotePartyRole") or "Supplier"
    credential = _credential(request.body, "RemotePartyFloorSeqNumber", "RemotePartyPrepaymentTopUpFloorSeqNumber",
                             "ReplacementCertificates")
    _credentials(device)[role] = credential
    prepay = _prepayment(device)
    if role == "Supplier" and credential["topup_floor"] is not None:
        prepay["topup_floor"] = credential["topup_floor"]
    outcome.state = {"credentials": {role: credential}, "topup_floor": prepay["topup_floor"]}
    outcome.alert(device.eui, "8F70")


# -- Prepayment ---------------------------------------------------------------------------------
@effect("1.6")
def update_payment_mode(request: DUISRequest, inventory: Inventory, outcome: Outcome) -> None:
    prepay = _prepayment(request.device)
    if _find(request.body, "Prepayment") is not None:
        prepay["payment_mode"] = "Prepayment"
        prepay["disablement_threshold"] = _number(_text(request.body, "DisablementThreshold"))
    else:
        prepay["payment_mode"] = "Credit"
    outcome.state = {"payment_mode": prepay["payment_mode"], "disablement_threshold": prepay["disablement_threshold"]}


@effect("1.5")
def update_meter_balance(request: DUISRequest, inventory: Inventory, outcome: Outcome) -> None:
    prepay = _prepayment(request.device)
    if _find(request.body, "ResetMeterBalance") is not None:
        prepay["meter_balance"] = 0
    else:
        prepay["meter_balance"] += _number(_text(request.body, "AdjustMeterBalance"), 0)
    outcome.state = {"meter_balance": prepay["meter_balance"]}


def _update_registers(request: DUISRequest, table: str, names: tuple[str, ...]) -> dict:
    """Set the named prepayment registers the request carries; returns the table as it now stands."""
    registers = _prepayment(request.device)[table]
    for name in names:
        value = _number(_text(request.body, name))
        if value is not None:
            registers[name] = value
    return dict(registers)


@effect("2.1")
def update_prepay_configuration(request: DUISRequest, inventory: Inventory, outcome: Outcome) -> None:
    configuration = _update_registers(request, "configuration", (
        "DebtRecoveryRateCap", "EmergencyCreditLimit", "EmergencyCreditThreshold", "LowCreditThreshold",
        "MaxMeterBalance", "MaxCreditThreshold"))
    outcome.state = {"prepay_configuration": configuration}


@effect("2.3")
def update_debt(request: DUISRequest, inventory: Inventory, outcome: Outcome) -> None:
    outcome.state = {"debt": _update_registers(request, "debt", (
        "TimeDebtRegister1", "TimeDebtRegister2", "PaymentDebtRegister", "DebtRecoveryPerPayment"))}


@effect("2.5")
def activate_emergency_credit(request: DUISRequest, inventory: Inventory, outcome: Outcome) -> None:
    """Emergency credit is activated (81AB) only in prepayment mode below the threshold (conf U)."""
    device = request.device
    prepay = _prepayment(device)
    threshold = prepay["configuration"].get("EmergencyCreditThreshold", EMERGENCY_CREDIT_THRESHOLD)
    credit = prepay["emergency_credit"]
    activated = (prepay["payment_mode"] == "Prepayment" and prepay["meter_balance"] < threshold
                 and not credit["active"])
    if activated:
        credit["active"] = True
        credit["balance"] = prepay["configuration"].get("EmergencyCreditLimit", EMERGENCY_CREDIT_LIMIT)
        outcome.alert(device.eui, "81AB")
    outcome.state = {"emergency_credit": dict(credit), "activated": activated}


def check_utrn(device: Device, utrn: str, request_counter: int, keys: object,
               old_supplier_trusted: bool = False) -> tuple[str | None, int, int]:
    """(alert code if the device refuses it, UTRN counter, value in pence) for a UTRN on this device.
    `old_supplier_trusted`: the misbehaviour OLD_UTRN_ACCEPTED (the losing supplier's key still trusted)."""
    issuers = [device.supplier] if device.supplier else []
    if old_supplier_trusted and device.data.get("losing_supplier"):
        issuers.append(device.data["losing_supplier"])
    fields = None
    for issuer in issuers:
        try:
            fields, _ = gbcs_utrn.check_utrn(utrn, issuer, device.eui, keys, counter=request_counter)
            break
        except InvalidInput:  # malformed, or not authentic for this issuer and device
            continue
    if fields is None or request_counter & LOW_32_BITS:
        return "8F63", request_counter, 0
    counter, value = request_counter, fields.pennies
    prepay = _prepayment(device)
    if counter <= prepay["topup_floor"] or counter in prepay["used_utrns"]:
        return "8F51", counter, value
    limits = prepay["configuration"]
    if value > limits.get("MaxCreditThreshold", value):
        return "8F5B", counter, value
    if prepay["meter_balance"] + value > limits.get("MaxMeterBalance", prepay["meter_balance"] + value):
        return "8F47", counter, value
    return None, counter, value


@effect("2.2")
def top_up_device(request: DUISRequest, inventory: Inventory, outcome: Outcome) -> None:
    device = request.device
    prepay = _prepayment(device)
    refused, counter, value = check_utrn(device, _text(request.body, "UTRN") or "", request.request_id.counter,
                                         inventory.keys, inventory.misbehaving(OLD_UTRN_ACCEPTED, device.eui))
    if refused:
        outcome.alert(device.eui, refused)
        outcome.result = "error"
        outcome.state = {"accepted": False, "utrn_counter": counter, "credited": 0,
                         "meter_balance": prepay["meter_balance"], "rejected_with": refused}
        return
    prepay["used_utrns"].append(counter)
    prepay["meter_balance"] += value
    prepay["credits"].append({"utrn_counter": counter, "credited": value,
                              "at": outcome.now.isoformat() if outcome.now else None})
    outcome.state = {"accepted": True, "utrn_counter": counter, "credited": value,
                     "meter_balance": prepay["meter_balance"], "rejected_with": None}


@effect("4.3", "4.18", "4.14")
def read_prepay_values(request: DUISRequest, inventory: Inventory, outcome: Outcome) -> None:
    outcome.state = _prepay_view(request.device)


@effect("4.13")
def read_prepayment_configuration(request: DUISRequest, inventory: Inventory, outcome: Outcome) -> None:
    prepay = _prepayment(request.device)
    outcome.state = {"prepay_configuration": dict(prepay["configuration"]), "payment_mode": prepay["payment_mode"]}


@effect("4.4.4")
def read_debt_payments_log(request: DUISRequest, inventory: Inventory, outcome: Outcome) -> None:
    outcome.state = {"debt": dict(_prepayment(request.device)["debt"]), "debt_payments": []}


@effect("4.4.5")
def read_prepayment_credits_log(request: DUISRequest, inventory: Inventory, outcome: Outcome) -> None:
    outcome.state = {"prepayment_credits": list(_prepayment(request.device)["credits"])}


@effect("6.2.9")
def read_payment_mode(request: DUISRequest, inventory: Inventory, outcome: Outcome) -> None:
    outcome.state = {"payment_mode": _prepayment(request.device)["payment_mode"]}


# -- Supply -------------------------------------------------------------------------------------
SUPPLY_ACTIONS = {"7.1": "Enabled", "7.2": "Disabled", "7.3": "Armed"}


@effect("7.1", "7.2", "7.3")
def update_supply(request: DUISRequest, inventory: Inventory, outcome: Outcome) -> None:
    device = request.device
    device.data["supply"] = SUPPLY_ACTIONS[request.srv]
    if request.srv == "7.3":
        outcome.alert(device.eui, "8F32")
    outcome.state = {"supply": device.data["supply"]}


@effect("7.4")
def read_supply_status(request: DUISRequest, inventory: Inventory, outcome: Outcome) -> None:
    outcome.state = {"supply": request.device.data.get("supply", "Enabled")}


# -- Tariff, supplier name, identity ------------------------------------------------------------
@effect("1.1.1")
def update_import_tariff(request: DUISRequest, inventory: Inventory, outcome: Outcome) -> None:
    tariff = {"season": _text(request.body, "SeasonName"), "currency": _text(request.body, "CurrencyUnits"),
              "request_id": str(request.request_id), "set_by": request.user.eui}
    request.device.data["tariff"] = tariff
    outcome.state = {"tariff": tariff}


@effect("1.2.1")
def update_price(request: DUISRequest, inventory: Inventory, outcome: Outcome) -> None:
    prices = {"standing_charge": _number(_text(request.body, "StandingCharge")),
              "currency": _text(request.body, "CurrencyUnits"),
              "request_id": str(request.request_id), "set_by": request.user.eui}
    request.device.data["prices"] = prices
    outcome.state = {"prices": prices}


@effect("4.11.1")
def read_tariff(request: DUISRequest, inventory: Inventory, outcome: Outcome) -> None:
    outcome.state = {"tariff": request.device.data.get("tariff"), "prices": request.device.data.get("prices")}


@effect("3.4")
def update_supplier_name(request: DUISRequest, inventory: Inventory, outcome: Outcome) -> None:
    data = request.device.data
    data["supplier_name"] = _text(request.body, "SupplierName")
    data["supplier_telephone"] = _text(request.body, "SupplierTelephoneNumber")
    outcome.state = {"supplier_name": data["supplier_name"], "supplier_telephone": data["supplier_telephone"]}


@effect("6.2.4")
def read_device_identity(request: DUISRequest, inventory: Inventory, outcome: Outcome) -> None:
    device = request.device
    outcome.state = {"device_id": device.eui, "device_type": device.type, "manufacturer": device.manufacturer,
                     "model": device.model, "firmware_version": device.firmware_version,
                     "supplier_name": device.data.get("supplier_name")}


@effect("6.2.7")
def read_mpxn(request: DUISRequest, inventory: Inventory, outcome: Outcome) -> None:
    outcome.state = {"mpxn": request.device.mpxn}


# -- Alert behaviour ----------------------------------------------------------------------------
@effect("6.22")
def configure_alert_behaviour(request: DUISRequest, inventory: Inventory, outcome: Outcome) -> None:
    """6.22: the alert settings given (e.g. ElectricitySupplierAlerts x810D = Enable) replace the stored ones
    for that settings group [I]; 6.2.10 reads them back."""
    settings = request.device.data.setdefault("alert_settings", {})
    for group in request.body:
        name = etree.QName(group).localname
        if name == "ExecutionDateTime":
            continue
        settings[name] = {etree.QName(e).localname: e.text.strip() for e in group.iter()
                          if e is not group and len(e) == 0 and e.text and e.text.strip()}
    outcome.state = {"alert_settings": settings}


@effect("6.2.10")
def read_alert_behaviour(request: DUISRequest, inventory: Inventory, outcome: Outcome) -> None:
    outcome.state = {"alert_settings": request.device.data.get("alert_settings", {})}


# -- Register reads: GSME "unreliable" (from the meter) vs GPF "reliable" (the GPF's copy) -----------
@effect("4.1.1")
def read_import_registers(request: DUISRequest, inventory: Inventory, outcome: Outcome) -> None:
    """4.1.1 Read Instantaneous Import Registers [I from the RTDS tags RELIABLE_GPF / RELIABLE_GSME /
    UNRELIABLE]: sent to the GSME the battery meter answers itself, stamped with its own clock (which may
    drift); sent to the GPF, the GPF answers from its copy of the gas registers, stamped with the GPF's
    clock (kept by the hub). `read_at` = the answering device's clock: the DCC's time + its
    `clock_offset_s` (installation.py's drift key)."""
    device = request.device
    offset = float(device.data.get("clock_offset_s", 0.0))
    read_at = None
    if outcome.now is not None:
        read_at = (outcome.now + timedelta(seconds=offset)).replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")
    meter = device.eui
    if device.type == "GPF":
        meter = next((d.eui for d in inventory.devices.values() if d.type == "GSME" and d.gpf == device.eui),
                     None)
    outcome.state = {"answered_by": device.type, "meter": meter, "read_at": read_at,
                     "import_register": device.data.get("import_register", 0)}
