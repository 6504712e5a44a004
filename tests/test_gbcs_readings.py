"""Readings (duisconf.gbcs.readings) out of DCC's RTDS 4.5.0 responses and a real DCC Boxed ESME.

The RTDS is the referee twice over: its commands say which COSEM attribute / ZCL attribute each use case
reads at each position (every entry of data/readings.toml is checked against them), and its responses
carry the values (each reading's value below was read by hand from the decoded tree of that message).
"""

from __future__ import annotations

import functools
from pathlib import Path
from types import SimpleNamespace

import pytest

from duisconf import paths
from duisconf.errors import InvalidInput
from duisconf.gbcs import decode as decode_frame
from duisconf.gbcs import dlms, readings
from duisconf.gbcs.keys import KeyDirectory, rtds_keystore
from duisconf.gbcs.message import DecodedMessage, decode_message
from duisconf.gbcs.readings import NotReported

DCC_DATA = paths.PROJECT_ROOT.parent / "shared" / "dcc-data"
RTDS = DCC_DATA / "gbcs-rtds"
SUITE = RTDS / "RTDS-4.5.0"
CRA = {1: "command", 2: "response", 3: "alert"}


def _suite() -> Path:
    if not SUITE.is_dir():
        pytest.skip(f"DCC's RTDS 4.5.0 is absent ({SUITE})")
    return SUITE


# --------------------------------------------------------------------------------------------------
# RTDS access through the package's own message layer (frame, MAC, decryption with the RTDS keystore)


@functools.cache
def _keys() -> KeyDirectory:
    return KeyDirectory(rtds_keystore())


@functools.cache
def _decoded(name: str, decrypt: bool = True) -> DecodedMessage:
    """One RTDS file, found by file name, decoded (and decrypted unless ``decrypt`` is False)."""
    (path,) = _suite().glob(f"*/{name}")
    use_case = path.parent.name.split("_", 1)[1]
    return decode_message(bytes.fromhex("".join(path.read_text().split())), _keys() if decrypt else None,
                          use_case=use_case)


def _message(name: str, decrypt: bool = True) -> tuple[object, dict]:
    """(grouping header, decoded content) of one RTDS file."""
    message = _decoded(name, decrypt)
    return message.header, message.content


def _use_case(name: str) -> str:
    return name.split("_", 1)[0]


def _read(name: str, **kw):
    header, tree = _message(name)
    return readings.read(_use_case(name), CRA[header.cra], tree, **kw)


# --------------------------------------------------------------------------------------------------
# Every reading from at least one RTDS response, value checked by hand in the decoded tree

EXPECTED = [
    # file, reading, value
    ("ECS17b_4.1.1_SINGLE_SUCCESS_RESPONSE_GBCS.HEX", "import_register",
     {"value": 10, "raw": 10, "scaler": 0, "unit": "Wh"}),
    ("GCS13a_4.1.1_SUCCESS_RELIABLE_GPF_RESPONSE_GBCS.HEX", "import_register",  # 12345 x 1 / 1000 m3
     {"value": 12.345, "raw": 12345, "scaler": None, "multiplier": 1, "divisor": 1000, "unit": "m3"}),
    ("ECS82_4.18_SUCCESS_RESPONSE_GBCS.HEX", "meter_balance", 250000),
    ("ECS19_4.3_SUCCESS_RESPONSE_GBCS.HEX", "meter_balance", 250000),
    ("GCS60_4.18_SUCCESS_RESPONSE_GBCS.HEX", "meter_balance", 2500000),
    ("GCS14_4.3_SUCCESS_RELIABLE_GSME_RESPONSE_GBCS.HEX", "meter_balance", 2500000),
    ("ECS19_4.3_SUCCESS_RESPONSE_GBCS.HEX", "emergency_credit.balance", 95000),
    ("GCS14_4.3_SUCCESS_RELIABLE_GSME_RESPONSE_GBCS.HEX", "emergency_credit.balance", 500000),
    ("ECS19_4.3_SUCCESS_RESPONSE_GBCS.HEX", "debt.AccumulatedDebtRegister", 187000),
    ("ECS19_4.3_SUCCESS_RESPONSE_GBCS.HEX", "debt.PaymentDebtRegister", 203000),
    ("ECS19_4.3_SUCCESS_RESPONSE_GBCS.HEX", "debt.TimeDebtRegister1", 243000),
    ("ECS19_4.3_SUCCESS_RESPONSE_GBCS.HEX", "debt.TimeDebtRegister2", 46000),
    ("GCS14_4.3_SUCCESS_RELIABLE_GSME_RESPONSE_GBCS.HEX", "debt.AccumulatedDebtRegister", 2500000),
    ("GCS14_4.3_SUCCESS_RELIABLE_GSME_RESPONSE_GBCS.HEX", "debt.TimeDebtRegister1", 5000),
    ("ECS26j_6.2.9_SUCCESS_RESPONSE_GBCS.HEX", "payment_mode", "Prepayment"),  # Account {2, 2}
    ("GCS21j_6.2.9_SUCCESS_RESPONSE_GBCS.HEX", "payment_mode", "Prepayment"),  # 0x0C97: bit 1 set
    ("ECS26a_4.13_SINGLE_SUCCESS_RESPONSE_GBCS.HEX", "prepay_configuration.MaxCreditThreshold", 5000000),
    ("ECS26a_4.13_SINGLE_SUCCESS_RESPONSE_GBCS.HEX", "prepay_configuration.MaxMeterBalance", 10000000),
    ("ECS26a_4.13_SINGLE_SUCCESS_RESPONSE_GBCS.HEX", "prepay_configuration.LowCreditThreshold", 500000),
    ("ECS26a_4.13_SINGLE_SUCCESS_RESPONSE_GBCS.HEX", "prepay_configuration.EmergencyCreditLimit", 2500000),
    ("ECS26a_4.13_SINGLE_SUCCESS_RESPONSE_GBCS.HEX", "prepay_configuration.EmergencyCreditThreshold", 100000),
    ("GCS21b_4.13_SUCCESS_RESPONSE_GBCS.HEX", "prepay_configuration.MaxCreditThreshold", 5000000),
    ("GCS21b_4.13_SUCCESS_RESPONSE_GBCS.HEX", "prepay_configuration.EmergencyCreditThreshold", 200000),
    ("GCS21b_4.13_SUCCESS_RESPONSE_GBCS.HEX", "prepay_configuration.EmergencyCreditLimit", 1000000),
    ("ECS24_4.11.1_SUCCESS_RESPONSE_GBCS.HEX", "prices.standing_charge", 20000),  # charge table [0]
    ("GCS21f_4.11.1_SUCCESS_RESPONSE_GBCS.HEX", "prices.standing_charge", 22465),
    ("ECS45_7.4_SUCCESS_RESPONSE_GBCS.HEX", "supply", "Enabled"),  # control_state 1 connected
    ("GCS33_7.4_SUCCESS_RESPONSE_GBCS.HEX", "supply", "Enabled"),  # SupplyStatus 2 ON
    ("ECS52_11.2_SUCCESS_RESPONSE_GBCS.HEX", "firmware_version", "0123abcd"),
    ("GCS38_11.2_SUCCESS_RESPONSE_GBCS.HEX", "firmware_version", "0123abcd"),
    ("ECS40_6.2.7_SINGLE_SUCCESS_RESPONSE_GBCS.HEX", "mpxn", "1312345678111"),
    ("GCS46_6.2.7_SUCCESS_RESPONSE_GBCS.HEX", "mpxn", "1000999888"),
    ("ECS26e_6.2.4_SUCCESS_RESPONSE_GBCS.HEX", "manufacturer", "CSW"),
    ("ECS26e_6.2.4_SUCCESS_RESPONSE_GBCS.HEX", "model", "B"),
    ("GCS21e_6.2.4_SUCCESS_RESPONSE_GBCS.HEX", "manufacturer", "Critical Software"),
    ("GCS21m_6.2.4_SUCCESS_RESPONSE_GBCS.HEX", "model", "12345678"),
    ("ECS70_6.11_SUCCESS_RESPONSE_GBCS.HEX", "clock", "2015-01-01T00:00:00Z"),
    ("CCS06_8.9_SUCCESS_RESPONSE_GBCS.HEX", "device_log", ["00-DB-12-34-56-78-90-A0", "00-DB-12-34-56-78-90-A1"]),
    ("CCS07_8.9_SUCCESS_RESPONSE_GBCS.HEX", "device_log", ["00-DB-12-34-56-78-90-A0", "00-DB-12-34-56-78-90-A1"]),
    ("ECS61a_7.7_ALL_OPTIONALS_SUCCESS_RESPONSE_GBCS.HEX", "descriptions",
     {"1": "ALCS_1_Description", "2": "HCALCS_2_Description", "3": "ALCS_3_Description",
      "4": "ALCS_4_Description", "5": "ALCS_5_Description"}),
    ("ECS61a_7.7_ALL_OPTIONALS_SUCCESS_RESPONSE_GBCS.HEX", "switches",
     {"1": True, "2": True, "3": True, "4": True, "5": True}),
    # first-pass use cases without a row before (every (reading, use case) pair now has one)
    ("ECS26i_6.2.4_SUCCESS_RESPONSE_GBCS.HEX", "manufacturer", "CSW"),
    ("ECS26m_6.2.4_SUCCESS_RESPONSE_GBCS.HEX", "manufacturer", "CSW "),  # 43535720: the space is the device's
    ("ECS26m_6.2.4_SUCCESS_RESPONSE_GBCS.HEX", "model", "B"),            # item 0, octet string 42
    ("ECS26n_6.2.4_SUCCESS_RESPONSE_GBCS.HEX", "manufacturer", "CSW "),
    ("ECS61d_7.14_SUCCESS_RESPONSE_GBCS.HEX", "descriptions",
     {"1": "ALCS_1_Description", "2": "HCALCS_2_Description", "3": "ALCS_3_Description",
      "4": "ALCS_4_Description", "5": "ALCS_5_Description"}),
    ("GCS14_4.3_SUCCESS_RELIABLE_GSME_RESPONSE_GBCS.HEX", "debt.PaymentDebtRegister", 5000),   # DebtAmount3
    ("GCS14_4.3_SUCCESS_RELIABLE_GSME_RESPONSE_GBCS.HEX", "debt.TimeDebtRegister2", 5000),     # DebtAmount2
    ("GCS21b_4.13_SUCCESS_RESPONSE_GBCS.HEX", "prepay_configuration.LowCreditThreshold", 500000),
    ("GCS21b_4.13_SUCCESS_RESPONSE_GBCS.HEX", "prepay_configuration.MaxMeterBalance", 10000000),
    # ModelIdentifier as the RTDS GSME holds it: "GFI" padded to 8, then the octets 00 DB 12 34 56 78 90 A1
    ("GCS21e_6.2.4_SUCCESS_RESPONSE_GBCS.HEX", "model", "GFI     " + bytes.fromhex("00db1234567890a1").decode("latin-1")),
    ("GCS21m_6.2.4_SUCCESS_RESPONSE_GBCS.HEX", "manufacturer", "1234"),
    ("GCS60a_4.18_SUCCESS_RELIABLE_GSME_RESPONSE_GBCS.HEX", "meter_balance", 2500000),
    # second pass: ASN.1 use cases, the GSME top-up answer, randomisation, boost, tariff, historic log
    ("CS07_8.9_SUCCESS_RESPONSE_GBCS.HEX", "device_log",  # deviceLogEntries {deviceID, deviceType}
     {"01-02-03-04-05-06-07-08": 3, "00-DB-12-34-56-78-90-99": 3, "00-DB-12-34-56-78-90-97": 5}),
    ("GCS28_6.11_SUCCESS_RESPONSE_GBCS.HEX", "clock", "2014-12-31T23:30:00Z"),   # deviceTime
    ("GCS28_6.11_SUCCESS_RESPONSE_GBCS.HEX", "clock_status", 0),                   # reliable
    ("GCS28_6.11_ERROR_RESPONSE_GBCS.HEX", "clock_status", 2),                     # unreliable
    ("CS08_11.2_SUCCESS_RESPONSE_GBCS.HEX", "firmware_version", "0123abcd"),
    ("CS06_11.3_IMMEDIATE_SUCCESS_RESPONSE_GBCS.HEX", "firmware_version", "0123abce"),
    ("CS06_11.3_IMMEDIATE_SUCCESS_RESPONSE_GBCS.HEX", "firmware_activation", 0),   # success
    ("CS06_11.3_IMMEDIATE_ERROR_RESPONSE_GBCS.HEX", "firmware_activation", 1),     # noImageHeld
    ("CS06_11.3_8F67_FUTURE_DATED_ERROR_ALERT_GBCS.HEX", "firmware_activation", 2),  # hashMismatch (FDFAA)
    ("CS06_11.3_8F66_FUTURE_DATED_SUCCESS_ALERT_GBCS.HEX", "firmware_version", "0123abcf"),
    ("CS01b_2.2_SUCCESS_RESPONSE_GBCS.HEX", "topup_result", 0),                    # accepted
    ("CS01b_2.2_ERROR_RESPONSE_GBCS.HEX", "topup_result", 1),
    ("CS01b_2.2_SUCCESS_RESPONSE_GBCS.HEX", "credited", 1250000),
    ("CS01b_2.2_SUCCESS_RESPONSE_GBCS.HEX", "meter_balance", 25144000),            # credit_remaining
    ("ECS26c_6.2.2_SUCCESS_RESPONSE_GBCS.HEX", "randomised_offset_limit", 1000),   # item 2, long-unsigned
    ("ECS61c_7.11_SUCCESS_RESPONSE_GBCS.HEX", "boost",                             # items 2-6, booleans
     {"1": True, "2": True, "3": True, "4": True, "5": True}),
    ("ECS24_4.11.1_SUCCESS_RESPONSE_GBCS.HEX", "tariff.season", "all"),            # season_profile_name 616c6c
    ("CCS07_8.9_SUCCESS_RESPONSE_GBCS.HEX", "historic_log", ["00-DB-12-34-56-78-90-A3", "00-DB-12-34-56-78-90-A4"]),
]


@pytest.mark.parametrize(("name", "reading", "value"), EXPECTED, ids=[f"{n.split('_')[0]}-{r}" for n, r, _ in EXPECTED])
def test_rtds_response_reports_the_value_it_carries(name: str, reading: str, value) -> None:
    assert _read(name)[reading] == value
    header, tree = _message(name)
    assert readings.read_one(_use_case(name), reading, tree) == value


def test_every_reading_in_the_data_file_has_a_checked_rtds_value() -> None:
    """Every (reading, use case) pair of the data file: a row above (or, alc_schedule, the test below)."""
    checked = {(_decoded(n).use_case, r) for n, r, _ in EXPECTED}
    checked |= {("ECS61a", "alc_schedule"), ("ECS61d", "alc_schedule")}
    mapped = {(u, n) for n in readings.table()["readings"] for u in readings.use_cases_for(n)}
    assert mapped == checked, f"unchecked: {sorted(mapped - checked)}; not in the file: {sorted(checked - mapped)}"


def test_alc_schedule_entries_in_plain_form() -> None:
    schedule = _read("ECS61d_7.14_SUCCESS_RESPONSE_GBCS.HEX")["alc_schedule"]
    # Schedule (class 10) entry: index, enable, script OBIS, script selector, switch time, validity window,
    # exec weekdays, exec special days, begin date, end date
    assert schedule[0] == [1, True, "00000a0067ff", 8576, "09:00:00", 65535, "1111100", "111", "2015-06-21",
                           "2015-12-21"]
    assert [e[4] for e in schedule[:2]] == ["09:00:00", "09:30:00"]
    # ECS61a's first entry: script selector 0x0101, 07:00 every day, no special days, dates not specified
    assert _read("ECS61a_7.7_ALL_OPTIONALS_SUCCESS_RESPONSE_GBCS.HEX")["alc_schedule"][0] == \
        [1, True, "00000a0067ff", 257, "07:00:00", 65535, "1111111", "0000", "*-*-*", "*-*-*"]


def test_not_reported_when_the_device_answers_a_failure_code() -> None:
    """ASN.1 response codes and the ZSE top-up result gate the values that come with them."""
    with pytest.raises(NotReported, match=r"CS07 device_log: the device answered responseCode 1 \(readFailure\)"):
        _read("CS07_8.9_ERROR_RESPONSE_GBCS.HEX")["device_log"]
    with pytest.raises(NotReported, match=r"CS08 firmware_version: the device answered responseCode 1"):
        _read("CS08_11.2_ERROR_RESPONSE_GBCS.HEX")["firmware_version"]  # it still carries 00000000
    rejected = _read("CS01b_2.2_ERROR_RESPONSE_GBCS.HEX")
    with pytest.raises(NotReported, match="CS01b meter_balance: the device answered Consumer Top Up Response "
                                          "with result_type 1"):
        rejected["meter_balance"]  # the device reports -1 there
    with pytest.raises(NotReported, match="the device answered commandAccepted, not executionOutcome"):
        _read("CS06_11.3_FUTURE_DATED_SUCCESS_RESPONSE_GBCS.HEX")["firmware_activation"]


def test_readings_of_an_asn1_alert_by_its_own_use_case() -> None:
    """The future-dated activation outcome arrives as alert 8F67, use case FDFAA (not CS06)."""
    message = _decoded("CS06_11.3_8F67_FUTURE_DATED_ERROR_ALERT_GBCS.HEX")
    assert message.use_case == "FDFAA"
    values = readings.readings_of(message)
    assert values["firmware_activation"] == 2 and values["firmware_version"] == "0123abcf"


def test_esme_and_gsme_prepayment_registers_agree_across_use_cases() -> None:
    """ECS19's first protected value is the meter balance: ECS82 of the same RTDS ESME reports it too."""
    assert _read("ECS19_4.3_SUCCESS_RESPONSE_GBCS.HEX")["meter_balance"] == \
        _read("ECS82_4.18_SUCCESS_RESPONSE_GBCS.HEX")["meter_balance"]
    assert _read("GCS14_4.3_SUCCESS_RELIABLE_GSME_RESPONSE_GBCS.HEX")["meter_balance"] == \
        _read("GCS60_4.18_SUCCESS_RESPONSE_GBCS.HEX")["meter_balance"]


# --------------------------------------------------------------------------------------------------
# The data file against the RTDS commands: each position / attribute is what the command asks for


_ALERT_HOME = {"FDFAA": "CS06"}  # alert use cases without an RTDS folder: the folder holding their alerts


def _folder_files(use_case: str) -> list[Path]:
    return sorted(p for p in _suite().glob("*/*.HEX") if p.parent.name.split("_", 1)[1] == use_case)


def _check_asn1_or_command_field(use_case: str, name: str, spec: dict) -> None:
    """An ASN.1 reading: its success messages are the use case's payload type; a ZCL command-field reading:
    the RTDS response is that command, with that field."""
    from duisconf.gbcs.asn1 import MODULE_OF_USE_CASE

    files = _folder_files(_ALERT_HOME.get(use_case, use_case))
    kind = "_ALERT_" if use_case in _ALERT_HOME else "_RESPONSE_"
    messages = [p for p in files if "SUCCESS" in p.name and kind in p.name]
    assert messages, f"no RTDS success message for {use_case}"
    trees = [_decoded(p.name) for p in messages]
    trees = [m.content for m in trees if m.use_case == use_case]
    if "asn1" in spec:
        module = MODULE_OF_USE_CASE[_ALERT_HOME.get(use_case, use_case)]
        assert all(t["asn1_type"].split(".")[0] == module for t in trees), (use_case, name)
    else:
        z = spec["zcl"]
        comps = [c for t in trees for c in t["components"] if c.get("command_name") == z["command"]]
        assert comps and all(z["field"] in c["payload"]["fields"] for c in comps), (use_case, name)
    assert any(name in readings.read(use_case, "alert" if use_case in _ALERT_HOME else "response", t)
               for t in trees), f"{use_case}: no RTDS success message reports {name}"


def test_every_table_entry_is_what_the_rtds_command_reads() -> None:
    checked = 0
    for name, entry in readings.table()["readings"].items():
        for use_case in readings.use_cases_for(name):
            spec = entry[use_case]
            if "asn1" in spec or "field" in spec.get("zcl", {}):
                _check_asn1_or_command_field(use_case, name, spec)
                checked += 1
                continue
            files = _folder_files(use_case)
            commands = [p for p in files if "_COMMAND_" in p.name]
            responses = [p for p in files if "_SUCCESS" in p.name and "_RESPONSE_" in p.name]
            assert commands and responses, f"no RTDS command/response for {use_case}"
            command = _message(commands[0].name)[1]
            spec = entry[use_case]
            if "zcl" in spec:
                asked = {(c["cluster_name"], a["name"]) for c in command["components"]
                         for a in c["payload"].get("attribute_ids", [])}
                z = spec["zcl"]
                wanted = {(z["cluster"], z[k]) for k in ("attribute", "multiplier", "divisor", "unit") if k in z}
                assert wanted <= asked, f"{use_case} {name}: {wanted - asked} not asked by {commands[0].name}"
            else:
                d = spec["dlms"]
                indexes = d["index"] if isinstance(d["index"], list) else [d["index"]]
                obis = d["obis"] if isinstance(d["obis"], list) else [d["obis"]] * len(indexes)
                for i, o in zip(indexes, obis):
                    req = command["requests"][i]
                    if "protected" in d:
                        header, response = _message(responses[0].name)
                        found = [it for it in dlms.items(response, command) if it.protected]
                        it = found[d["protected"]]
                        assert (it.class_id, it.obis, it.attribute) == (d["class"], o, d["attribute"]), (use_case, name)
                    else:
                        assert (req["class_id"], req["instance"], req.get("attribute", req.get("method"))) == \
                            (d["class"], o, d["attribute"]), f"{use_case} {name} item {i}: {req}"
            # and a success response of the use case yields it, with the request's descriptors checked
            yielded = [readings.read(use_case, "response", _message(p.name)[1],
                                     request=command if "dlms" in spec else None) for p in responses]
            assert any(name in r for r in yielded), f"{use_case}: no RTDS success response reports {name}"
            checked += 1
    assert checked == sum(len(readings.use_cases_for(n)) for n in readings.table()["readings"]) > 50


# --------------------------------------------------------------------------------------------------
# Not reported: clear errors naming the use case and the reading


def test_a_use_case_without_the_reading_says_so() -> None:
    _, tree = _message("ECS45_7.4_SUCCESS_RESPONSE_GBCS.HEX")
    with pytest.raises(NotReported, match=r"ECS45 does not report meter_balance \(use cases that do: "
                                          r"CS01b, ECS19, ECS82, GCS14, GCS60, GCS60a\)"):
        readings.read_one("ECS45", "meter_balance", tree)
    values = readings.read("ECS45", "response", tree)
    with pytest.raises(NotReported, match="ECS45 does not report meter_balance .*reports: supply"):
        values["meter_balance"]
    assert isinstance(NotReported("x"), InvalidInput)


def test_an_error_response_names_the_device_result() -> None:
    values = _read("ECS82_4.18_ERROR_RESPONSE_GBCS.HEX")
    assert "meter_balance" not in values
    with pytest.raises(NotReported, match=r"ECS82 meter_balance: the device answered get result 1 \(hardware-fault\)"):
        values["meter_balance"]
    with pytest.raises(NotReported, match=r"GCS38 firmware_version: Metering CurrentMeterID not reported: "
                                          r"ZCL status 192 \(Hardware Failure\)"):
        _read("GCS38_11.2_ERROR_RESPONSE_GBCS.HEX")["firmware_version"]
    with pytest.raises(NotReported, match="GCS60 meter_balance: Prepayment CreditRemaining not reported: a Default"):
        _read("GCS60_4.18_ERROR_RESPONSE_GBCS.HEX")["meter_balance"]


def test_encrypted_parts_left_encrypted_are_not_readings() -> None:
    _, esme = _message("ECS19_4.3_SUCCESS_RESPONSE_GBCS.HEX", False)
    with pytest.raises(NotReported, match="ECS19 meter_balance: the protected attributes are encrypted"):
        readings.read_one("ECS19", "meter_balance", esme)
    _, gsme = _message("GCS14_4.3_SUCCESS_RELIABLE_GSME_RESPONSE_GBCS.HEX", False)
    with pytest.raises(NotReported, match="GCS14 meter_balance: .*encrypted and was not decrypted"):
        readings.read_one("GCS14", "meter_balance", gsme)


def test_a_request_that_disagrees_with_the_table_is_named() -> None:
    """Given the wrong command as ``request``, the positional DLMS read refuses instead of misreading."""
    _, response = _message("ECS82_4.18_SUCCESS_RESPONSE_GBCS.HEX")
    _, other = _message("ECS45_7.4_SUCCESS_COMMAND_GBCS.HEX")
    with pytest.raises(InvalidInput, match=r"ECS82 meter_balance: the table reads class 112 0-0:19.10.0.255 "
                                           r"attribute 2 at item 0, the request asks for class 70 "
                                           r"0-0:96.3.10.255 attribute 3"):
        readings.read_one("ECS82", "meter_balance", response, request=other)


def test_bad_calls_are_invalid_input() -> None:
    _, tree = _message("ECS82_4.18_SUCCESS_RESPONSE_GBCS.HEX")
    with pytest.raises(InvalidInput, match="unknown reading 'balance'"):
        readings.read_one("ECS82", "balance", tree)
    with pytest.raises(InvalidInput, match="not a 'command'"):
        readings.read("ECS82", "command", tree)
    with pytest.raises(InvalidInput, match="expected GBZ content"):
        readings.read_one("GCS60", "meter_balance", tree)


# --------------------------------------------------------------------------------------------------
# Whole messages and real hardware


@pytest.mark.parametrize(("name", "read_at", "status"), [
    ("GCS13a_4.1.1_SUCCESS_RELIABLE_GPF_RESPONSE_GBCS.HEX", "2015-01-01T00:00:00Z", {"value": 0, "flags": []}),
    ("GCS13a_4.1.1_SUCCESS_RELIABLE_GSME_RESPONSE_GBCS.HEX", "2015-01-01T00:00:00Z",
     {"value": 4, "flags": ["different clock base"]}),
    ("GCS13a_4.1.1_SUCCESS_UNRELIABLE_RESPONSE_GBCS.HEX", "2015-01-01T09:00:00Z",
     {"value": 2, "flags": ["doubtful value"]}),
])
def test_readings_of_a_decoded_message_adds_the_header_time(name: str, read_at: str, status: dict) -> None:
    header, tree = _message(name)
    values = readings.readings_of(SimpleNamespace(use_case="GCS13a", header=header, content=tree))
    assert values["import_register"]["value"] == 12.345
    assert values["read_at"] == read_at
    assert values["read_at_clock_status"] == status


def test_readings_of_without_a_header_time() -> None:
    header, tree = _message("ECS82_4.18_SUCCESS_RESPONSE_GBCS.HEX")
    assert header.date_time is None
    message = SimpleNamespace(use_case="ECS82", cra="response", header=header, content=tree)
    assert readings.readings_of(message) == {"meter_balance": 250000}
    with pytest.raises(InvalidInput, match="needs a message with a use case"):
        readings.readings_of(SimpleNamespace(content=tree))


def test_readings_of_a_decoded_message() -> None:
    """gcrypto's DecodedMessage as it comes: the ECS19 protected attributes decrypted with the RTDS keys."""
    message = _decoded("ECS19_4.3_SUCCESS_RESPONSE_GBCS.HEX")
    assert message.decrypted and message.use_case == "ECS19"
    values = readings.readings_of(message)
    assert values["meter_balance"] == 250000 and values["debt.TimeDebtRegister2"] == 46000
    assert values["read_at"] == "2015-01-01T00:00:00Z"


def test_firmware_version_of_a_real_dcc_boxed_esme() -> None:
    path = RTDS / "dccboxed" / "readfw-response.HEX"
    if not path.exists():
        pytest.skip(f"DCC Boxed recording absent ({path})")
    frame = decode_frame(bytes.fromhex("".join(path.read_text().split())))
    signing = getattr(frame, "inner", frame)
    assert signing.header.message_code == 0x0059  # ECS52
    tree = dlms.decode(signing.content)
    assert readings.read("ECS52", "response", tree)["firmware_version"] == "0c230000"


def test_docs_table_lists_the_data_file() -> None:
    doc = (paths.PROJECT_ROOT / "docs" / "gbcs.md").read_text(encoding="utf-8")
    rows = {}
    section = doc.split("## Readings", 1)[1].split("\n## ", 1)[0]  # up to the next section
    for line in section.splitlines():
        if line.startswith("| `"):
            name, esme, gsme = (c.strip() for c in line.strip("|").split("|"))
            rows[name.strip("`")] = sorted(u for u in (esme + ", " + gsme).split(", ") if u != "–")
    assert rows == {n: readings.use_cases_for(n) for n in readings.table()["readings"]}


def test_trees_of_the_wrong_shape_give_errors_not_tracebacks() -> None:
    """Bounded, seeded mutations of the decoded RTDS trees: every outcome is a value or a DuisConfError."""
    import copy
    import json
    import random

    from duisconf.errors import DuisConfError

    rng = random.Random(10)
    junk = [None, "x", -1, 10**30, [], {}, {"type": "structure", "value": []}, True, 1.5]
    names = sorted({n for n, _, _ in EXPECTED})
    for name in names:
        use_case = _use_case(name)
        _, tree = _message(name)
        for _ in range(40):
            mutated = copy.deepcopy(tree)
            nodes = []

            def walk(node):
                if isinstance(node, dict):
                    nodes.append(node)
                    for v in node.values():
                        walk(v)
                elif isinstance(node, list):
                    for v in node:
                        walk(v)

            walk(mutated)
            target = rng.choice(nodes)
            key = rng.choice(sorted(target))
            target[key] = rng.choice(junk)
            try:
                json.dumps(readings.read(use_case, "response", mutated), default=str)
            except DuisConfError:
                pass
