"""A DUIS GBCSPayload as GBCS: its frame, its use case, the decoded message and the device's readings.

Devices (the emulator's, and real ones behind a DCC) answer with GBCS, so a payload is read as GBCS and
nothing else: decoded with :mod:`duisconf.gbcs.message`, its readings taken with
:mod:`duisconf.gbcs.readings` under the reading names of ``gbcs/data/readings.toml``. Emulator
bookkeeping no device reports (``answered_by``, ``accepted``, ``set_by`` …) is not in a payload. The
feature steps read through ``steps/device_reads.py`` with the target's own keys; these helpers serve tools
and tests that hold a payload and the emulator target's keys (:func:`default_keys`).
"""

from __future__ import annotations

import base64
import functools

from . import gbcs
from .errors import InvalidInput
from .gbcs import readings
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


def payload_readings(payload: bytes | str, keys: KeySource | None = None) -> readings.Readings:
    """The readings of a GBCSPayload under the reading names (``readings[name]`` raises NotReported for
    one it lacks). A payload that is not GBCS, or a use case with no readings, raises InvalidInput."""
    return readings.readings_of(decode_payload(payload, keys))
