"""Reading reported state back from GBCS payloads (the emulator's documented JSON content)."""

import base64

from duisconf import gbcs
from duisconf.payloads import frame_of, reported_state

HEADER = gbcs.GroupingHeader(cra=gbcs.CRA.RESPONSE, originator_counter=7, originator=bytes(8), recipient=bytes(range(8)),
                             date_time=None, message_code=0x0059)


def test_json_content_is_read_back_from_base64_or_bytes():
    frame = gbcs.GeneralSigning(header=HEADER, content=b'{"firmware_version":"2.0"}', signature=None).encode()
    assert reported_state(base64.b64encode(frame).decode()) == {"firmware_version": "2.0"}
    assert reported_state(frame) == {"firmware_version": "2.0"}
    assert frame_of(frame).header.message_code == 0x0059


def test_real_device_content_is_not_mistaken_for_state():
    dlms = gbcs.GeneralSigning(header=HEADER, content=bytes.fromhex("da0001"), signature=None).encode()
    assert reported_state(dlms) is None
    wrapped = gbcs.GeneralCiphering(inner=gbcs.GeneralSigning.decode(dlms)).encode()
    assert reported_state(wrapped) is None
