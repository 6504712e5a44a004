"""Future-dated requests on the emulator's virtual clock: Device pattern (stored, then 8F66/8F67),
DSP pattern (held by the DCC, then released), and cancellation with ExecutionDateTime 3000-12-31."""

from __future__ import annotations

from datetime import timedelta

import base64
import hashlib

from emulator_harness import ESME, START, Session

LATER = (START + timedelta(hours=6)).strftime("%Y-%m-%dT%H:%M:%SZ")


IMAGE = b"duisconf test firmware image 2.0"


def distribute(dcc: Session) -> str:
    """11.1 puts an image on the ESME; 11.3 activates it by its SHA-256."""
    sent = dcc.send("11.1", params={"FirmwareImage": base64.b64encode(IMAGE).decode(), "FirmwareVersion": "2.0",
                                    "DeviceIDList": ESME})
    assert sent.code == "I0"
    return hashlib.sha256(IMAGE).hexdigest().upper()


def test_device_pattern_is_stored_then_actioned_at_the_execution_time():
    with Session() as dcc:
        exchange = dcc.send("11.3", target=ESME, execution_datetime=LATER, params={"FirmwareHash": distribute(dcc)})
        assert exchange.code == "I99"
        stored = dcc.messages(exchange)
        assert stored.response_code == "I0" and stored.state == {"stored_until": LATER}
        assert stored.future_dated == []
        dcc.advance(timedelta(hours=5, minutes=59))
        assert dcc.messages(exchange).future_dated == []
        dcc.advance(timedelta(minutes=1))
        assert dcc.messages(exchange).future_dated == ["8F66"]


def test_dsp_pattern_is_held_by_the_dcc_and_released_at_the_execution_time():
    with Session() as dcc:
        exchange = dcc.send("4.1.1", target=ESME, execution_datetime=LATER)
        assert exchange.code == "I99"
        assert dcc.messages(exchange).response is None
        dcc.advance(timedelta(hours=6))
        assert dcc.messages(exchange).response_code == "I0"


def test_cancellation_removes_the_pending_command():
    with Session() as dcc:
        pending = dcc.send("11.3", target=ESME, execution_datetime=LATER, params={"FirmwareHash": distribute(dcc)})
        cancel = dcc.send("11.3", target=ESME, execution_datetime="3000-12-31T00:00:00Z")
        assert dcc.messages(cancel).state == {"cancelled": True}
        dcc.advance(timedelta(days=1))
        assert dcc.messages(pending).future_dated == []
        nothing_left = dcc.send("11.3", target=ESME, execution_datetime="3000-12-31T00:00:00Z")
        assert dcc.messages(nothing_left).state == {"cancelled": False}
