"""DCC schedules (SRVs 5.1 Create, 5.2 Read, 5.3 Delete Schedule) run on the emulator's virtual clock.

5.1 answers I0 with a DSPScheduleID; from ScheduleStartDate (at ScheduleExecutionStartTime, else
midnight UTC) the DCC runs the scheduled SRV against the device at each ScheduleFrequency and sends the
result to the user as a ResponseMessage carrying a DSPScheduledMessage (GBCSPayload + DSPScheduleID).
5.2 returns DSPSchedulesRead; 5.3 deletes and stops future runs. Each run's GBCSPayload is the device's real
GBCS response to the scheduled SRV (``device_messages``: the SRV's use case for the device type, the
device's state from the SRV's effect, MAC with the device's and the user's keys); its counter is the 5.1
request's plus the run number [U: which counter a DCC-scheduled command carries is not in the references].

Confidence: SRVs, bodies and payload shapes are XSD facts [V]; which SRVs may be scheduled is the
catalogue's "DCC Scheduled" flag [V DP]; the refusal codes below and the RequestID carried by scheduled
messages (the 5.1 request's, for correlation) are duisconf's choices [U] until DUIS prose is read.
"""

from __future__ import annotations

import copy
import dataclasses
import itertools
import logging
import threading
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from typing import TYPE_CHECKING

from lxml import etree

from ..duis.model import SR_NS, RequestID, normalise_eui
from ..errors import DuisConfError
from . import behaviours
from .access import DUISRequest

if TYPE_CHECKING:
    from .server import DCCEmulator

_SR = f"{{{SR_NS}}}"
log = logging.getLogger("duisconf.emulator")
NOT_SCHEDULABLE = "E12"      # [U] the scheduled SRV is not DCC-schedulable
NOT_ELIGIBLE = "E2"          # [I] the user's roles are not eligible for the scheduled SRV
UNKNOWN_DEVICE = "E19"       # [I] the DeviceID of the schedule is not in the inventory
MONTHS = {"Monthly": 1, "Quarterly": 3, "Half-Yearly": 6, "Yearly": 12}


@dataclass
class Schedule:
    id: int
    user: str
    device: str
    srv: str
    frequency: str
    details: etree._Element   # the CreateSchedule body, kept to answer 5.2 as DSPScheduleDetails
    created_by: RequestID
    runs: int = 0
    request: DUISRequest | None = None  # the 5.1 request (its user), to make each run's device request


def next_run(previous: datetime, frequency: str) -> datetime:
    if frequency == "Daily":
        return previous + timedelta(days=1)
    if frequency == "Weekly":
        return previous + timedelta(weeks=1)
    months = previous.month - 1 + MONTHS[frequency]
    year, month = previous.year + months // 12, months % 12 + 1
    return previous.replace(year=year, month=month, day=min(previous.day, 28))


class DCCSchedules:
    def __init__(self, emulator: DCCEmulator):
        self.emulator = emulator
        self.schedules: dict[int, Schedule] = {}
        self._ids = itertools.count(1)
        self._lock = threading.Lock()

    def clear(self) -> None:
        with self._lock:
            self.schedules.clear()

    def handle(self, request: DUISRequest) -> tuple[str, etree._Element | None]:
        return {"5.1": self.create, "5.2": self.read, "5.3": self.delete}[request.srv](request)

    def create(self, request: DUISRequest) -> tuple[str, etree._Element | None]:
        body = request.body
        srv = body.findtext(_SR + "DSPScheduledServiceReferenceVariant")
        device = normalise_eui(body.findtext(_SR + "DeviceID"))
        rule = self.emulator.catalogue.srv(srv)
        if not rule.dcc_scheduled:
            return NOT_SCHEDULABLE, None
        if not request.user.roles & set(rule.eligible_roles):
            return NOT_ELIGIBLE, None
        if self.emulator.inventory.device(device) is None:
            return UNKNOWN_DEVICE, None
        with self._lock:
            schedule = Schedule(next(self._ids), request.user.eui, device, srv, body.findtext(_SR + "ScheduleFrequency"),
                                copy.deepcopy(body), request.request_id, request=request)
            self.schedules[schedule.id] = schedule
        self._plan(schedule, self._first_run(body))
        return "I0", behaviours_element("DSPScheduleID", schedule.id)

    def _first_run(self, body: etree._Element) -> datetime:
        start = date.fromisoformat(body.findtext(_SR + "ScheduleStartDate")[:10])
        at_text = body.findtext(_SR + "ScheduleExecutionStartTime")
        at = time.fromisoformat(at_text[:8]) if at_text else time(0, 0)
        moment = datetime.combine(start, at, tzinfo=timezone.utc)
        now = self.emulator.clock.now()
        frequency = body.findtext(_SR + "ScheduleFrequency")
        while moment < now:  # a start date in the past: the next occurrence from now on
            moment = next_run(moment, frequency)
        return moment

    def _plan(self, schedule: Schedule, at: datetime) -> None:
        # the label names the 5.1 request, so the control plane can say what is pending for it
        self.emulator.clock.schedule(at, lambda: self._run(schedule, at), key=f"schedule:{schedule.id}",
                                     label=f"DCC schedule {schedule.id} ({schedule.srv}) of {schedule.created_by}")

    def _run(self, schedule: Schedule, at: datetime) -> None:
        if schedule.id not in self.schedules:
            return
        schedule.runs += 1
        gbcs_bytes = self._device_response(schedule, at)
        body = self.emulator.builder.scheduled_message(schedule.created_by, schedule.srv, gbcs_bytes, schedule.id)
        self.emulator.outbox.send((schedule.user, body, "scheduled", str(schedule.created_by)), delay=self.emulator.latency)
        self._plan(schedule, next_run(at, schedule.frequency))

    def _device_response(self, schedule: Schedule, at: datetime) -> bytes:
        """The device's GBCS response to this run of the scheduled SRV (its effect run on the device)."""
        emulator = self.emulator
        counter = schedule.created_by.counter + schedule.runs
        scheduled = dataclasses.replace(
            schedule.request, srv=schedule.srv, rule=emulator.catalogue.srv(schedule.srv),
            device=emulator.inventory.device(schedule.device),
            request_id=RequestID(schedule.user, schedule.device, counter))
        try:
            outcome = behaviours.run_device_effect(scheduled, emulator.inventory, at)
            state, result = outcome.state, outcome.result
        except (DuisConfError, ValueError, TypeError, AttributeError):  # the effect wants a body 5.1 lacks
            log.exception("DCC schedule %s: the effect of %s did not run", schedule.id, schedule.srv)
            state, result = {}, "success"
        built = emulator.device_messages.response(scheduled, state, at, result=result)
        if built is None:
            raise DuisConfError(f"DCC schedule {schedule.id}: no GBCS response for SRV {schedule.srv} on "
                                f"{schedule.device}")
        return built

    def _selected(self, request: DUISRequest) -> list[Schedule]:
        wanted_id = request.body.findtext(_SR + "DSPScheduleID")
        wanted_device = request.body.findtext(_SR + "DeviceID")
        with self._lock:
            return [s for s in self.schedules.values() if s.user == request.user.eui and
                    (wanted_id is None or s.id == int(wanted_id)) and
                    (wanted_device is None or s.device == normalise_eui(wanted_device))]

    def read(self, request: DUISRequest) -> tuple[str, etree._Element | None]:
        found = self._selected(request)[:99]
        if not found:
            return "I0", None
        entries = []
        for schedule in found:
            details = copy.deepcopy(schedule.details)
            details.tag = _SR + "DSPScheduleDetails"
            entries.append(behaviours_element("DSPSchedules", None, behaviours_element("DSPScheduleID", schedule.id), details))
        return "I0", behaviours_element("DSPSchedulesRead", None, *entries)

    def delete(self, request: DUISRequest) -> tuple[str, etree._Element | None]:
        for schedule in self._selected(request):
            with self._lock:
                self.schedules.pop(schedule.id, None)
            self.emulator.clock.cancel(f"schedule:{schedule.id}")
        return "I0", None


def behaviours_element(tag: str, text: object | None = None, *children: etree._Element) -> etree._Element:
    from .responses import element

    return element(tag, text, *children)
