"""steps/device_reads.py: every response a step claims is checked for framing against its request, and a
step reads the device's result codes, never the DUIS response code alone."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from duisconf.duis.model import RequestID
from duisconf.emulator.identities import for_seed
from duisconf.gbcs import builder
from duisconf.gbcs.keys import KeyChain, Zaz1Source
from duisconf.payloads import decode_payload
from steps.device_reads import check_framing, command_outcome

ESME = "00-DB-12-34-56-78-90-A0"
SUPPLIER = "90-B3-D5-1F-30-01-00-00"
OTHER = "90-B3-D5-1F-30-03-00-00"
DEVICE_KEYS = KeyChain(for_seed().key_source(lambda eui: eui == ESME.replace("-", "").lower()), Zaz1Source())


def _decoded(use_case: str, *, recipient: str = SUPPLIER, counter: int = 1000, variant: str = "success",
             tamper: bool = False):
    data = builder.build_message(use_case, "response", originator=ESME, recipient=recipient, counter=counter,
                                 values={}, keys=DEVICE_KEYS, variant=variant)
    if tamper:
        data = data[:-1] + bytes([data[-1] ^ 1])  # the last MAC byte
    return decode_payload(data)


def _exchange(counter: int = 1000):
    return SimpleNamespace(request_id=RequestID(SUPPLIER, ESME, counter), srv="4.18")


def test_a_response_that_answers_its_request_passes():
    check_framing(_decoded("ECS82"), srv="4.18", what="4.18", exchange=_exchange())


@pytest.mark.parametrize(("decoded", "srv", "exchange", "named"), [
    (lambda: _decoded("ECS82", counter=999), "4.18", lambda: _exchange(), "originator counter 999"),
    (lambda: _decoded("ECS82", recipient=OTHER), "4.18", lambda: _exchange(), "is not the user that sent the request"),
    (lambda: _decoded("ECS82"), "7.4", lambda: _exchange(), "is not a use case of SRV 7.4"),
    (lambda: _decoded("ECS82", tamper=True), "4.18", lambda: _exchange(), "MAC invalid"),
])
def test_each_framing_fault_fails_naming_what_is_wrong(decoded, srv, exchange, named):
    with pytest.raises(AssertionError, match=named):
        check_framing(decoded(), srv=srv, what="the response", exchange=exchange())


def test_the_device_outcome_is_its_result_codes():
    assert command_outcome(_decoded("CS01a"))[0] is True
    ok, detail = command_outcome(_decoded("CS01a", variant="error"))
    assert ok is False and "result = 1" in detail
    assert command_outcome(_decoded("GCS28"))[0] is None  # answers with its time only: the alerts tell
