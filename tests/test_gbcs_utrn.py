"""gbcs.utrn: UTRNs as GBCS §14 makes them, refereed by the UTRNs in DCC's duis-templates 2.2 requests
(made by DCC with the RTDS keystore's supplier prepayment keys)."""

from __future__ import annotations

import random

import pytest

from duisconf import paths
from duisconf.duis.parse import parse_xml
from duisconf.emulator.identities import for_seed
from duisconf.errors import InvalidInput, KeyMaterialMissing
from duisconf.gbcs import keys, utrn
from gbcs_data import ABSENT, RTDS_KEYSTORE

SUPPLIER = "90-B3-D5-1F-30-01-00-00"  # ZAZ1 import supplier (has a prepayment KA pair)
SUPPLIER2 = "90-B3-D5-1F-30-03-00-00"
ESME, GSME = "00-DB-12-34-56-78-90-A0", "00-DB-12-34-56-78-90-A1"


def _template_utrns() -> list[tuple[str, str, str, int]]:
    """(name, originator, target, counter, UTRN) of every 2.2 template of DCC's duis-templates."""
    out = []
    for path in sorted(paths.rtds_templates_dir().glob("*_2.2_*REQUEST_DUIS.XML")):
        root = parse_xml(path.read_bytes())
        ns = {"sr": "http://www.dccinterface.co.uk/ServiceUserGateway"}
        originator, target, counter = root.findtext(".//sr:RequestID", namespaces=ns).split(":")
        out.append((path.name, originator, target, int(counter), root.findtext(".//sr:UTRN", namespaces=ns)))
    return out


@pytest.fixture(scope="module")
def rtds_keys() -> keys.KeySource:
    if not RTDS_KEYSTORE.is_dir():
        pytest.skip(ABSENT)
    return keys.KeyChain(keys.KeyDirectory(RTDS_KEYSTORE), keys.Zaz1Source())


@pytest.fixture(scope="module")
def emulator_keys() -> keys.KeySource:
    devices = {keys.eui_hex(e) for e in (ESME, GSME)}
    return keys.KeyChain(for_seed().key_source(lambda h: h in devices), keys.Zaz1Source())


def test_dcc_template_utrns_are_made_byte_for_byte_and_check(rtds_keys):
    found = _template_utrns()
    assert len(found) >= 2, "duis-templates should carry the 2.2 templates (CS01a, CS01b)"
    for name, originator, target, counter, expected in found:
        fields = utrn.parse_utrn(expected)
        made = utrn.make_utrn(originator, target, counter, fields.value, keys=rtds_keys, value_class=fields.value_class)
        assert made == expected, name
        assert utrn.check_utrn(expected, originator, target, rtds_keys, counter=counter) == (fields, counter)
        # the device recovers the counter from its 10 bits and the last counter it knows
        assert utrn.check_utrn(expected, originator, target, rtds_keys, after=counter - (1 << 32))[1] == counter
        with pytest.raises(InvalidInput, match="not authentic"):
            utrn.check_utrn(expected, originator, target, rtds_keys, counter=counter + (1024 << 32))


def test_check_digit_is_gbcs_verhoeff():
    # the DCC templates' last digits are the check digits of the first 19
    for *_, expected in _template_utrns():
        assert utrn.check_digit(expected[:19]) == expected[19]
    rng = random.Random(14)
    for _ in range(200):  # Verhoeff catches every single-digit substitution and adjacent transposition
        digits = "".join(rng.choice("0123456789") for _ in range(19))
        good = digits + utrn.check_digit(digits)
        i = rng.randrange(20)
        wrong = good[:i] + str((int(good[i]) + rng.randrange(1, 10)) % 10) + good[i + 1:]
        assert utrn.check_digit(wrong[:19]) != wrong[19]
        j = rng.randrange(19)
        if good[j] != good[j + 1]:
            swapped = good[:j] + good[j + 1] + good[j] + good[j + 2:]
            assert utrn.check_digit(swapped[:19]) != swapped[19]


def test_emulated_device_checks_what_the_supplier_made(emulator_keys):
    counter = 7 << 32
    made = utrn.make_utrn(SUPPLIER, ESME, counter, 1500, keys=emulator_keys)
    assert len(made) == 20 and made.isdigit()
    fields, recovered = utrn.check_utrn(made, SUPPLIER, ESME, emulator_keys, after=6 << 32)
    assert (fields.value, fields.value_class, recovered) == (1500, "pennies", counter)
    with pytest.raises(InvalidInput, match="not authentic"):   # for another device
        utrn.check_utrn(made, SUPPLIER, GSME, emulator_keys, counter=counter)
    with pytest.raises(InvalidInput, match="not authentic"):   # another supplier's prepayment key
        utrn.check_utrn(made, SUPPLIER2, ESME, emulator_keys, counter=counter)
    tampered = made[:14] + str((int(made[14]) + 1) % 10) + made[15:19]
    with pytest.raises(InvalidInput):
        utrn.check_utrn(tampered + utrn.check_digit(tampered), SUPPLIER, ESME, emulator_keys, counter=counter)


def test_counter_recovery_and_bad_input():
    assert utrn.counter_from(5, 4 << 32) == 5 << 32
    assert utrn.counter_from(5, 5 << 32) == (5 + 1024) << 32
    assert utrn.counter_from(3, 1030 << 32) == 1027 + 1024 << 32
    for bad, why in (("123", "20 decimal digits"), ("7394614433204021731x", "20 decimal digits"),
                     ("73946144332040217316", "check digit"), ("0" * 19 + utrn.check_digit("0" * 19), "below")):
        with pytest.raises(InvalidInput, match=why):
            utrn.parse_utrn(bad)
    with pytest.raises(InvalidInput, match="0 … 8191"):
        utrn.make_utrn(SUPPLIER, ESME, 1 << 32, 8192, keys=keys.KeyRing())
    with pytest.raises(KeyMaterialMissing, match="prepayment KA"):
        utrn.make_utrn(SUPPLIER, ESME, 1 << 32, 10, keys=keys.KeyRing())
