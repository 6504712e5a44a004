"""Reading what a device reported inside a DUIS GBCSPayload.

The emulator's devices answer with real GBCS (duisconf.emulator.device_messages), so what the suite reads
here is what it would read from a real device: the message is decoded with :mod:`duisconf.gbcs.message`
and its readings taken with :mod:`duisconf.gbcs.readings`.

:func:`reported_state` is the bridge for the steps that still ask for the emulator's old state names: it
returns the readings under those names (``rules/emulator_gbcs.toml`` ``[readings]``; dotted names nested,
``prepay_configuration.MaxMeterBalance`` -> ``{"prepay_configuration": {"MaxMeterBalance": …}}``), the
firmware version as text when its octets are printable, and ``read_at`` from the header date-time.
Emulator bookkeeping no device reports (``answered_by``, ``accepted``, ``set_by`` …) is not there any more.
"""

from __future__ import annotations

import base64
import functools
from typing import Any

from . import gbcs
from .errors import DuisConfError, InvalidInput
from .gbcs.keys import KeyChain, KeySource, Zaz1Source


def frame_of(payload: bytes | str) -> gbcs.GeneralSigning:
    """The general-signing block of a GBCSPayload (base64 text or bytes), unwrapping general ciphering."""
    raw = base64.b64decode(payload) if isinstance(payload, str) else payload
    frame = gbcs.decode(raw)
    if isinstance(frame, gbcs.GeneralCiphering):
        if not isinstance(frame.inner, gbcs.GeneralSigning):
            raise InvalidInput("general-ciphering frame without a general-signing block inside")
        return frame.inner
    return frame


@functools.cache
def _use_case_by_code() -> dict[tuple[int, str], str | None]:
    """(message code, CRA kind) -> the one use case the shapes give it (None where several share it)."""
    from .gbcs import builder

    found: dict[tuple[int, str], set[str]] = {}
    for use_case, entry in builder.shapes().get("use_cases", {}).items():
        for shape in entry["shapes"]:
            found.setdefault((shape["message_code"], shape["cra"]), set()).add(use_case)
    return {key: (next(iter(v)) if len(v) == 1 else None) for key, v in found.items()}


def use_case_of(message_code: int, cra: str) -> str | None:
    """The use case of a message code and CRA kind, when the content shapes give it one use case."""
    return _use_case_by_code().get((message_code, cra))


class _CertificatesOnly(KeySource):
    """A key source's certificates without its private keys (what a User's system has of a device)."""

    def __init__(self, inner: KeySource) -> None:
        self.inner, self.name = inner, f"certificates of {inner.name}"

    def certificates(self, eui, usage, *, prepayment=None):  # noqa: ANN001, ANN201
        return self.inner.certificates(eui, usage, prepayment=prepayment)

    def private_keys(self, eui, usage, *, prepayment=None):  # noqa: ANN001, ANN201
        return []


@functools.cache
def default_keys() -> KeySource:
    """The emulator target's keys as a User's system has them: the organisations' ZAZ1 keys and the
    emulated devices' certificates (the default identity seed; never their private keys)."""
    from .emulator.identities import for_seed

    zaz1 = Zaz1Source()
    devices = for_seed().key_source(lambda eui: not zaz1.certificates(eui, "ka") and not zaz1.certificates(eui, "ds"))
    return KeyChain(zaz1, _CertificatesOnly(devices))


def decode_payload(payload: bytes | str, keys: KeySource | None = None) -> gbcs.message.DecodedMessage:
    """A GBCSPayload decoded (MAC and signature verdicts, decrypted parts, content tree)."""
    from .gbcs import message

    raw = base64.b64decode(payload) if isinstance(payload, str) else bytes(payload)
    header = frame_of(raw).header
    use_case = use_case_of(header.message_code, header.cra.name.lower())
    decoded = message.decode_message(raw, keys if keys is not None else default_keys(), use_case=use_case)
    if decoded.content is None and use_case is not None:
        # an encoding decode_message cannot sniff from the first byte (ASN.1 not starting with a SEQUENCE)
        # while the use-case catalogue (gbcs/use_cases.py) is not installed: the shapes know it
        from .gbcs import builder

        encoding = builder.shapes()["use_cases"][use_case]["encoding"]
        decoded.content = message.codec(encoding).decode(frame_of(raw).content, use_case=use_case,
                                                         cra=header.cra.name.lower())
        decoded.encoding = encoding
    return decoded


def reported_state(payload: bytes | str, keys: KeySource | None = None) -> dict | None:
    """The readings a device reported, under the names the steps use; None when the payload is not a GBCS
    response or alert this suite can read (undecodable, or a use case with no readings mapped)."""
    from .emulator.device_messages import reading_names, text_in_octets
    from .gbcs import readings

    try:
        decoded = decode_payload(payload, keys)
        values = readings.readings_of(decoded)
    except DuisConfError:
        return None
    names, octets = reading_names(), text_in_octets()
    state: dict[str, Any] = {}
    for slot, value in values.items():
        if slot not in names and slot not in ("read_at", "read_at_clock_status"):
            continue  # a reading whose name means something else to the steps (e.g. switches)
        if slot in octets and isinstance(value, str):
            value = _printable(value)
        target = state
        parts = names.get(slot, slot).split(".")
        for part in parts[:-1]:
            target = target.setdefault(part, {})
        target[parts[-1]] = value
    return state


def _printable(hex_text: str) -> str:
    """Octets as text when they are printable ASCII (the emulator's firmware "1.0.0"), else the hex."""
    try:
        text = bytes.fromhex(hex_text).decode("ascii")
    except (ValueError, UnicodeDecodeError):
        return hex_text
    return text if text.isprintable() else hex_text
