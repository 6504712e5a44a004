"""DCC schedules (5.1 / 5.2 / 5.3) on the virtual clock: created, run at each period, read and deleted."""

from __future__ import annotations

from datetime import timedelta

from emulator_harness import ESME, OTHER_USER, SR, START, Session

DAILY_4_6_1 = {"ScheduleFrequency": "Daily", "ScheduleStartDate": START.date().isoformat(),
               "ScheduleExecutionStartTime": "12:00:00", "DSPScheduledServiceReference": "4.6",
               "DSPScheduledServiceReferenceVariant": "4.6.1", "DeviceID": ESME}


def test_a_daily_schedule_runs_each_day_until_deleted():
    with Session() as dcc:
        created = dcc.send("5.1", params=DAILY_4_6_1)
        assert created.code == "I0"
        schedule_id = created.sync.findtext(f".//{SR}DSPScheduleID")
        assert schedule_id
        dcc.advance(timedelta(hours=1))
        assert dcc.messages(created).scheduled == [], "first run is at 12:00"
        dcc.advance(timedelta(days=2, hours=2))
        runs = dcc.messages(created).scheduled
        assert len(runs) == 3 and {r.findtext(f".//{SR}DSPScheduleID") for r in runs} == {schedule_id}

        read = dcc.send("5.2", params={"DeviceID": ESME})
        assert read.code == "I0" and read.sync.findtext(f".//{SR}DSPSchedules/{SR}DSPScheduleID") == schedule_id
        assert read.sync.findtext(f".//{SR}DSPScheduleDetails/{SR}DSPScheduledServiceReferenceVariant") == "4.6.1"

        assert dcc.send("5.3", params={"DSPScheduleID": schedule_id}).code == "I0"
        dcc.advance(timedelta(days=3))
        assert len(dcc.messages(created).scheduled) == 3
        assert dcc.send("5.2", params={"DeviceID": ESME}).sync.find(f".//{SR}DSPSchedulesRead") is None


def test_only_dcc_schedulable_srvs_for_eligible_roles_can_be_scheduled():
    with Session() as dcc:
        not_schedulable = dict(DAILY_4_6_1, DSPScheduledServiceReference="4.1", DSPScheduledServiceReferenceVariant="4.1.1")
        # the XSD's DSPScheduledServiceReferenceVariant only lists DCC-schedulable SRVs: a schema failure
        assert dcc.send("5.1", params=not_schedulable).code == "E100"
        assert dcc.send("5.1", originator=OTHER_USER, params=DAILY_4_6_1).code == "E2"
        assert dcc.send("5.1", params=dict(DAILY_4_6_1, DeviceID="00-DB-12-34-56-78-99-99")).code == "E19"


def test_the_control_plane_names_the_pending_runs_of_a_schedule_by_its_5_1_request():
    from duisconf.emulator.control import pending

    with Session() as dcc:
        created = dcc.send("5.1", params=DAILY_4_6_1)
        (job,) = pending(dcc.dcc, request_id=created.request_id)["jobs"]
        assert job["at"] == START.replace(hour=12, minute=0, second=0).isoformat() and job["key"].startswith("schedule:")
        assert pending(dcc.dcc, request_id=created.request_id, until=START.replace(hour=11).isoformat())["jobs"] == []
