"""Reading what a device reported inside a DUIS GBCSPayload.

Real devices answer with DLMS/ZigBee content whose semantics are outside this suite (duis.md §10.5);
the suite reads the GBCS framing (duisconf.gbcs) everywhere. The embedded emulator puts the device's
reported state in the content as compact UTF-8 JSON (keys documented per SRV in
duisconf.emulator.effects), so on the emulator the suite can also read values back — the same way a
User's system would decode a real payload.
"""

from __future__ import annotations

import base64
import json

from . import gbcs
from .errors import InvalidInput


def frame_of(payload: bytes | str) -> gbcs.GeneralSigning:
    """The general-signing block of a GBCSPayload (base64 text or bytes), unwrapping general ciphering."""
    raw = base64.b64decode(payload) if isinstance(payload, str) else payload
    frame = gbcs.decode(raw)
    if isinstance(frame, gbcs.GeneralCiphering):
        if not isinstance(frame.inner, gbcs.GeneralSigning):
            raise InvalidInput("general-ciphering frame without a general-signing block inside")
        return frame.inner
    return frame


def reported_state(payload: bytes | str) -> dict | None:
    """The device state the emulator reported, or None when the content is not the emulator's JSON."""
    content = frame_of(payload).content
    try:
        value = json.loads(content.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return None
    return value if isinstance(value, dict) else None
