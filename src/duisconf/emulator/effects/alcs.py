"""Auxiliary Load Control Switches and auxiliary controllers on the ESME (design-notes §4.9).

SRVs: 6.14.1 descriptions, 6.14.2 ALC scheduler, 6.14.3 auxiliary controller scheduler (both
future-dated, pattern Device: the server runs the effect at the ExecutionDateTime and reports 8F66),
7.5 Activate, 7.6 Deactivate, 7.8 Reset, 7.7 Read ALCS Data, 7.9 / 7.10 boost button add / remove,
7.11 Read Boost Button Details, 7.12 Set Randomised Offset Limit, 7.13 Set Auxiliary Controller State,
7.14 / 7.15 read auxiliary controller configuration / operational data. Who may send which, and to
which device, comes from the catalogue (reads: IS, ED, OU; writes: IS).

Device state: `device.data["alcs"]`, a dict whose keys are also the reported encoding. Switch and
controller numbers are JSON object keys "1" … "5" (the XSD's range_1_5 `index` /
`auxiliaryControllerN` attributes).

  "descriptions"   {"1": "<SwitchDescription>"}                           set by 6.14.1
  "alc_schedule"   [{"switch": 1, "action": "activate" | "deactivate", "switch_time": "HH:MM:SS",
                     "days": ["Monday", …], "special_days": [1, …]}]        set by 6.14.2
  "switch_types"   {"1": "ALCS" | "HCALCS <EUI>"}                          set by 6.14.2
  "special_days"   number of ALCSHCALCSSpecialDay entries                  set by 6.14.2
  "switches"       {"1": {"mode": "on" | "off" | "schedule", "until": "<UTC ISO time>" | null}}
                   7.5 on / 7.6 off for Duration minutes (0: until the next reset), 7.8 back to
                   "schedule"; an override whose "until" has passed reads as "schedule"
  "boost"          [switch numbers associated with the boost button]        7.9 / 7.10
  "randomised_offset_limit"   seconds (0–1799)                              7.12
  "aux_schedule"   [{"controller": 1, "level": 0-100, "input_from_controlled_load": bool,
                     "switch_time": "HH:MM:SS", "days": [...], "special_days": [1, …]}]   6.14.3
  "aux_special_days"  number of AuxiliaryControllerSpecialDayDefinition entries        6.14.3
  "aux_controllers" {"1": {"start": "<xs:dateTime>", "end": "<xs:dateTime>", "level": 0-100,
                     "input_from_controlled_load": bool}}                               7.13

The effect's state (`outcome.state`; what of it a device reports goes through the GBCS reading slots,
rules/emulator_gbcs.toml, see duisconf.emulator.device_messages):
  write SRVs      the keys they changed, e.g. 6.14.1 -> {"descriptions": {...}}
  7.7             {"descriptions", "switches", "alc_schedule", "switch_types", "boost"}
  7.11            {"boost": [...], "boost_events": []}  (no emulated button presses in ReadLogPeriod)
  7.14            {"aux_schedule", "aux_special_days", "randomised_offset_limit"}
  7.15            {"aux_controllers"}

Confidence: SRVs, roles, element names and ranges [V DP, XSD]; the state model, the Duration unit
(minutes), which data each read returns and "0 = until reset" [U: GBCS ECS46/47/61 not consulted];
the ALCSHCALCSConfigurationChange DCC alert is not raised (its code and recipients are unknown).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from lxml import etree

from ...duis.model import SR_NS
from ..access import DUISRequest
from ..behaviours import Outcome, effect
from ..faults import misbehaviour
from ..state import Inventory

_SR = f"{{{SR_NS}}}"
SWITCHES = tuple(str(n) for n in range(1, 6))
BOOST_IGNORED = misbehaviour(
    "boost-ignored", "7.9 / 7.10 are answered I0 but the ESME leaves its boost button associations unchanged")


def alcs(request: DUISRequest) -> dict:
    return request.device.data.setdefault("alcs", {
        "descriptions": {}, "alc_schedule": [], "switch_types": {}, "special_days": 0,
        "switches": {n: {"mode": "schedule", "until": None} for n in SWITCHES},
        "boost": [], "randomised_offset_limit": None,
        "aux_schedule": [], "aux_special_days": 0, "aux_controllers": {},
    })


def report(outcome: Outcome, state: dict, *keys: str) -> None:
    outcome.state = {key: state[key] for key in keys}


def _days(entry: etree._Element) -> list[str]:
    return [day.text for day in entry.iterfind(f"{_SR}DaysOfWeekApplicability//{_SR}DayOfWeekID")]


def _special(entry: etree._Element, attribute: str) -> list[int]:
    return [int(node.get(attribute)) for node in entry.iterfind(f"{_SR}SpecialDaysApplicability")]


# -- configuration (critical, IS) ------------------------------------------------------------------
@effect("6.14.1")
def update_alc_descriptions(request: DUISRequest, inventory: Inventory, outcome: Outcome) -> None:
    state = alcs(request)
    for node in request.body.iterfind(f"{_SR}ALCSHCALCSDescription"):
        state["descriptions"][node.get("index")] = node.findtext(f"{_SR}SwitchDescription")
    report(outcome, state, "descriptions")


@effect("6.14.2")
def update_alc_scheduler(request: DUISRequest, inventory: Inventory, outcome: Outcome) -> None:
    """Replace the switching schedule, its special days and the switch types."""
    state = alcs(request)
    state["alc_schedule"] = [alc_schedule_entry(entry)
                             for entry in request.body.iterfind(f"{_SR}ALCSHCALCSConnectionSchedule")]
    state["special_days"] = len(request.body.findall(f"{_SR}ALCSHCALCSSpecialDays/{_SR}ALCSHCALCSSpecialDay"))
    for node in request.body.iterfind(f"{_SR}SwitchTypeAndId"):
        hcalcs = node.findtext(f"{_SR}HCALCS")
        state["switch_types"][node.get("index")] = f"HCALCS {hcalcs}" if hcalcs else "ALCS"
    report(outcome, state, "alc_schedule", "special_days", "switch_types")


def alc_schedule_entry(entry: etree._Element) -> dict:
    switch = entry.find(f"{_SR}ActivateDeactivateSwitch")
    action = "activate" if switch.find(f"{_SR}ActivateSwitch") is not None else "deactivate"
    return {"switch": int(switch.get("index")), "action": action, "days": _days(entry),
            "special_days": _special(entry, "index"),
            "switch_time": entry.findtext(f"{_SR}ALCSScheduleDatesAndTime/{_SR}SwitchTime")}


@effect("6.14.3")
def update_auxiliary_controller_scheduler(request: DUISRequest, inventory: Inventory, outcome: Outcome) -> None:
    state = alcs(request)
    state["aux_schedule"] = [aux_schedule_entry(entry)
                             for entry in request.body.iterfind(f"{_SR}AuxiliaryControllerSchedule")]
    state["aux_special_days"] = len(request.body.findall(
        f"{_SR}AuxiliaryControllerSpecialDayDefinitions/{_SR}AuxiliaryControllerSpecialDayDefinition"))
    report(outcome, state, "aux_schedule", "aux_special_days")


def aux_schedule_entry(entry: etree._Element) -> dict:
    action = entry.find(f"{_SR}AuxiliaryControllerAction")
    return {"controller": int(action.get("auxiliaryControllerN")),
            "level": int(action.findtext(f"{_SR}CommandedStateLevel")),
            "input_from_controlled_load": action.find(f"{_SR}InputFromControlledLoad") is not None,
            "days": _days(entry), "special_days": _special(entry, "identifier"),
            "switch_time": entry.findtext(f"{_SR}AuxiliaryControllerSchedulePeriodAndTime/{_SR}SwitchTime")}


@effect("7.12")
def set_randomised_offset_limit(request: DUISRequest, inventory: Inventory, outcome: Outcome) -> None:
    state = alcs(request)
    state["randomised_offset_limit"] = int(request.body.findtext(f"{_SR}RandomisedOffsetLimit"))
    report(outcome, state, "randomised_offset_limit")


@effect("7.13")
def set_auxiliary_controller_state(request: DUISRequest, inventory: Inventory, outcome: Outcome) -> None:
    state, body = alcs(request), request.body
    state["aux_controllers"][body.get("auxiliaryControllerN")] = {
        "start": body.findtext(f"{_SR}StartDateTime"), "end": body.findtext(f"{_SR}EndDateTime"),
        "level": int(body.findtext(f"{_SR}CommandedStateLevel")),
        "input_from_controlled_load": body.find(f"{_SR}InputFromControlledLoad") is not None}
    report(outcome, state, "aux_controllers")


# -- manual switching (critical, IS) ---------------------------------------------------------------
def override(request: DUISRequest, outcome: Outcome, tag: str, mode: str) -> None:
    state, node = alcs(request), request.body.find(f"{_SR}{tag}")
    minutes = int(node.findtext(f"{_SR}Duration"))
    until = (outcome.now + timedelta(minutes=minutes)).isoformat() if minutes and outcome.now else None
    state["switches"][node.get("index")] = {"mode": mode, "until": until}
    outcome.state = {"switches": switches(state, outcome.now)}


@effect("7.5")
def activate_auxiliary_load(request: DUISRequest, inventory: Inventory, outcome: Outcome) -> None:
    override(request, outcome, "ActivateALCSHCALCS", "on")


@effect("7.6")
def deactivate_auxiliary_load(request: DUISRequest, inventory: Inventory, outcome: Outcome) -> None:
    override(request, outcome, "DeactivateALCSHCALCS", "off")


@effect("7.8")
def reset_auxiliary_load(request: DUISRequest, inventory: Inventory, outcome: Outcome) -> None:
    """Back to the schedule: the manual override ends."""
    state = alcs(request)
    state["switches"][request.body.find(f"{_SR}ResetALCSHCALCS").get("index")] = {"mode": "schedule", "until": None}
    outcome.state = {"switches": switches(state, outcome.now)}


def switches(state: dict, now: datetime | None) -> dict:
    """The switch modes as of `now`: an expired override is back on the schedule."""
    current = {}
    for number, switch in state["switches"].items():
        expired = switch["until"] and now and datetime.fromisoformat(switch["until"]) <= now
        current[number] = {"mode": "schedule", "until": None} if expired else dict(switch)
    return current


# -- boost button (non-critical, IS) -----------------------------------------------------------------
def boost(request: DUISRequest, inventory: Inventory, outcome: Outcome, tag: str, add: bool) -> None:
    state = alcs(request)
    chosen = {int(node.get("index")) for node in request.body.iterfind(f"{_SR}{tag}")
              if (node.text or "").strip() in ("true", "1")}
    if inventory.misbehaving(BOOST_IGNORED, request.device.eui):
        report(outcome, state, "boost")
        return
    state["boost"] = sorted(set(state["boost"]) | chosen if add else set(state["boost"]) - chosen)
    report(outcome, state, "boost")


@effect("7.9")
def add_auxiliary_load_to_boost_button(request: DUISRequest, inventory: Inventory, outcome: Outcome) -> None:
    boost(request, inventory, outcome, "AddToBoostButton", add=True)


@effect("7.10")
def remove_auxiliary_load_from_boost_button(request: DUISRequest, inventory: Inventory, outcome: Outcome) -> None:
    boost(request, inventory, outcome, "RemoveFromBoostButton", add=False)


# -- reads (IS, ED, OU) ------------------------------------------------------------------------------
@effect("7.7")
def read_alcs_data(request: DUISRequest, inventory: Inventory, outcome: Outcome) -> None:
    state = alcs(request)
    report(outcome, state, "descriptions", "alc_schedule", "switch_types", "boost")
    outcome.state["switches"] = switches(state, outcome.now)


@effect("7.11")
def read_boost_button_details(request: DUISRequest, inventory: Inventory, outcome: Outcome) -> None:
    report(outcome, alcs(request), "boost")
    outcome.state["boost_events"] = []


@effect("7.14")
def read_auxiliary_controller_configuration(request: DUISRequest, inventory: Inventory, outcome: Outcome) -> None:
    report(outcome, alcs(request), "aux_schedule", "aux_special_days", "randomised_offset_limit")


@effect("7.15")
def read_auxiliary_controller_operational_data(request: DUISRequest, inventory: Inventory, outcome: Outcome) -> None:
    report(outcome, alcs(request), "aux_controllers")
