"""Local-delivery CommandVariants: CV 2 (non-critical) and CV 6 (signed pre-command) return a
LocalCommand synchronously for a hand-held terminal; CV 3 and 7, which DCC Boxed does not support, are refused."""

from __future__ import annotations

import base64

from duisconf import gbcs
from emulator_harness import ESME, SR, Session


def local_command(exchange) -> gbcs.GeneralSigning:
    return gbcs.GeneralSigning.decode(base64.b64decode(exchange.sync.findtext(f".//{SR}LocalCommand/{SR}GBCSPayload")))


def test_cv2_returns_a_local_command_and_nothing_asynchronous():
    with Session() as dcc:
        exchange = dcc.send("4.1.1", target=ESME, cv=2)
        assert exchange.code == "I0"
        command = local_command(exchange)
        assert command.header.cra == gbcs.CRA.COMMAND and command.header.message_code == 0x0027
        assert dcc.messages(exchange).roots == []


def test_cv6_local_delivery_of_a_signed_precommand():
    with Session() as dcc:
        transform = dcc.send("8.1.1", target=ESME, cv=4)
        assert transform.code == "I99"  # the harness followed up with CV 5 over the WAN
        # now the same critical SRV for local delivery: CV 4 then CV 6 to the Non-Device service
        exchange = dcc.send_critical_locally("8.1.1", target=ESME)
        assert exchange.code == "I0"
        command = local_command(exchange)
        assert command.header.cra == gbcs.CRA.COMMAND and command.signature is not None, "CV 6 carries the signed command"


def test_cv3_and_cv7_are_not_supported():
    with Session() as dcc:
        assert dcc.send("4.1.1", target=ESME, cv=3).code == "E12"
        assert dcc.send("8.1.1", target=ESME, cv=4, follow_up_cv=7).code == "E12"


def test_return_local_command_response_completes_a_locally_delivered_command():
    with Session() as dcc:
        local = dcc.send("11.2", target=ESME, cv=2)
        assert local.code == "I0"
        device_response = base64.b64encode(local_command(local).encode()).decode()  # what the HHT brings back
        returned = dcc.send("8.13", params={"OriginalRequestID": local.request_id, "DeviceGBCSResponse": device_response})
        assert returned.code == "I0"
        messages = dcc.messages(local)
        assert messages.response_code == "I0" and messages.state["firmware_version"]
        assert dcc.send("8.13", params={"OriginalRequestID": local.request_id,
                                         "DeviceGBCSResponse": device_response}).code == "E081301", "only once"


def test_a_locally_delivered_command_does_not_need_the_sm_wan():
    """Behind a hub installed without SM WAN (8.14.2) a WAN request fails E20, but a command carried to
    the device over the HAN by the installer and returned with 8.13 takes effect."""
    with Session() as dcc:
        chf = dcc.dcc.inventory.device("00-DB-12-34-56-78-90-A2")
        chf.data["sm_wan"] = False
        assert dcc.messages(dcc.send("11.2", target=ESME)).response_code == "E20"
        local = dcc.send("11.2", target=ESME, cv=2)
        device_response = base64.b64encode(local_command(local).encode()).decode()
        assert dcc.send("8.13", params={"OriginalRequestID": local.request_id, "DeviceGBCSResponse": device_response}).code == "I0"
        assert dcc.messages(local).response_code == "I0"
