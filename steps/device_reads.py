"""What a device said, read the way a User's system reads it: the GBCSPayload of a DUIS response or alert,
decoded with the target's keys (its SMKI interface, the ZAZ1 organisations) and asked for named readings
(:mod:`duisconf.gbcs.readings`). The emulator and a real device behind a DCC Boxed kit are read alike.

Every message a step reads is also checked for framing (:func:`check_framing`): the message code is one of
the SRV's use cases, the CRA flag is right, the counter is the request's, the device is the originator
and the user (or the DCC's ACB acting for it) the recipient, and the MAC or signature is valid whenever
the keys are there. A failed check is a fail of the target naming what is wrong.
"""

from __future__ import annotations

import base64
import functools
from dataclasses import dataclass
from typing import Any

from duisconf.duis.model import DCC_EUI, SR_NS, normalise_eui
from duisconf.errors import InvalidInput
from duisconf.gbcs import keys as gbcs_keys
from duisconf.gbcs import message, readings, use_cases
from duisconf.gbcs.readings import NotReported

__all__ = ["DeviceReport", "NotReported", "check_framing", "command_outcome", "device_report", "firmware_text",
           "read_response", "target_keys"]

_SR = f"{{{SR_NS}}}"


@functools.lru_cache(maxsize=8)
def _keys_for(smki_base_url: str | None) -> gbcs_keys.KeySource:
    # one key source per SMKI interface, so certificates fetched once serve the whole run
    return gbcs_keys.for_target(_Target(smki_base_url))


@dataclass(frozen=True)
class _Target:
    smki_base_url: str | None


def target_keys(session) -> gbcs_keys.KeySource:
    """The target's key source (gbcs.keys.for_target): its SMKI interface, then the ZAZ1 organisations."""
    return _keys_for(getattr(session.target, "smki_base_url", None))


@dataclass
class DeviceReport:
    """One decoded GBCS message of a device and its readings (``readings[name]`` raises NotReported)."""

    decoded: message.DecodedMessage
    readings: readings.Readings

    def get(self, name: str, default: Any = None) -> Any:
        try:
            return self.readings[name]
        except NotReported:
            return default

    def summary(self) -> str:
        shown = {k: v for k, v in self.readings.items()}
        return f"{self.decoded.use_case} {self.decoded.header.cra.name.lower()}: {shown}"


def payload_of(inbound, what: str) -> bytes:
    text = inbound.root.findtext(f".//{_SR}GBCSPayload")
    assert text, f"{what}: the message carries no GBCSPayload"
    return base64.b64decode(text)


def device_report(session, inbound, *, srv: str, what: str, exchange=None, cra: str = "response") -> DeviceReport:
    """Decode the GBCSPayload of `inbound` (a DUIS response or alert) with the target's keys, check its
    framing against the request (`exchange`) and return the device's readings."""
    data = payload_of(inbound, what)
    srv_cases = use_cases.for_srv(srv)
    hint = srv_cases[0].name if len(srv_cases) == 1 else None
    try:
        decoded = message.decode_message(data, target_keys(session), use_case=hint)
    except InvalidInput as exc:  # a payload that is not GBCS is the target's fail, named
        raise AssertionError(f"{what}: the GBCSPayload does not decode as GBCS ({exc})") from None
    check_framing(decoded, srv=srv, what=what, exchange=exchange, cra=cra)
    try:
        values = readings.readings_of(decoded)
    except NotReported as exc:  # a use case with no readings mapped: the framing is still checked
        values = readings.Readings(decoded.use_case or "?", {}, {})
        values.reasons["*"] = str(exc)
    return DeviceReport(decoded, values)


def check_framing(decoded: message.DecodedMessage, *, srv: str, what: str, exchange=None,
                  cra: str = "response") -> None:
    """The GBCS header and envelope of a message a step claims (see the module docstring)."""
    header = decoded.header
    got_cra = header.cra.name.lower()
    assert got_cra == cra, f"{what}: GBCS CRA flag {got_cra}, expected {cra}"
    codes = {u.code: u.name for u in use_cases.for_srv(srv)}
    if codes and cra == "response":
        assert header.message_code in codes, (
            f"{what}: GBCS message code 0x{header.message_code:04X} is not a use case of SRV {srv} "
            f"(expected one of {', '.join(f'0x{c:04X} {n}' for c, n in sorted(codes.items()))})")
    if exchange is not None:
        request_id = exchange.request_id
        counters = {header.originator_counter, header.supplementary_remote_party_counter}
        assert request_id.counter in counters, (
            f"{what}: GBCS originator counter {header.originator_counter} is not the request's {request_id.counter}")
        originator = normalise_eui(header.originator.hex())
        assert originator == request_id.target, \
            f"{what}: GBCS originator {originator} is not the device the request went to ({request_id.target})"
        recipient = normalise_eui(header.recipient.hex())
        srp = header.supplementary_remote_party_id
        user = normalise_eui(srp.hex()) if srp is not None and recipient == normalise_eui(DCC_EUI) else recipient
        assert user == request_id.originator, (
            f"{what}: GBCS recipient {recipient}"
            + (f" (supplementary remote party {user})" if srp is not None else "")
            + f" is not the user that sent the request ({request_id.originator})")
    assert decoded.mac not in ("invalid",), f"{what}: GBCS MAC invalid ({decoded.mac_reason})"
    assert decoded.signature not in ("invalid",), f"{what}: GBCS signature invalid ({decoded.signature_reason})"
    assert decoded.mac != "absent" or decoded.signature != "absent" or got_cra == "command", \
        f"{what}: the GBCS message carries neither a MAC nor a signature"


def read_response(session, inbound, *, srv: str, exchange, what: str) -> DeviceReport:
    """The readings of a device's response to `exchange` (an Exchange of `srv`)."""
    return device_report(session, inbound, srv=srv, what=what, exchange=exchange)


def firmware_text(value: Any) -> Any:
    """A firmware version (an octet string, hex) as text when its octets are printable ASCII: how a version
    named in DUIS (FirmwareVersion "2.0.0") compares with the octets a device reports."""
    if not isinstance(value, str):
        return value
    try:
        text = bytes.fromhex(value).decode("ascii")
    except (ValueError, UnicodeDecodeError):
        return value
    return text if text and text.isprintable() else value


_RESULT_KEYS = ("result", "status", "result_type", "responseCode", "statusCode")


def _is_result(key: str) -> bool:
    return key in _RESULT_KEYS or key.endswith("ResponseCode")


def _results(node: Any, path: str = "") -> list[tuple[str, int, str | None]]:
    """Every result / status / response code in a decoded content tree: (where, code, name)."""
    found: list[tuple[str, int, str | None]] = []
    if isinstance(node, dict):
        for key, value in node.items():
            here = f"{path}.{key}" if path else key
            if _is_result(key) and isinstance(value, int) and not isinstance(value, bool):
                found.append((here, value, None))
            elif _is_result(key) and isinstance(value, dict) and isinstance(value.get("value"), int):
                found.append((here, value["value"], value.get("name")))
            else:
                found.extend(_results(value, here))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            found.extend(_results(value, f"{path}[{index}]"))
    return found


def command_outcome(decoded: message.DecodedMessage) -> tuple[bool | None, str]:
    """Did the device carry out the command? From its GBCS response: every DLMS access result 0, no ZCL
    status or ASN.1 response code other than success. None when the response carries no result at all
    (e.g. GCS28 answers with the device's time only: its alerts tell the outcome)."""
    if decoded.content is None:
        return None, f"{decoded.use_case}: content not decoded"
    results = _results(decoded.content)
    if not results:
        return None, f"{decoded.use_case}: the response carries no result code"
    failures = [f"{where} = {code}" + (f" ({name})" if name else "") for where, code, name in results if code != 0]
    if failures:
        return False, f"{decoded.use_case}: " + ", ".join(failures[:6])
    return True, f"{decoded.use_case}: {len(results)} result(s), every one success"
