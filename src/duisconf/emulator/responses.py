"""Building the DCC's side of DUIS: signed, XSD-valid `sr:Response` messages.

Shapes follow the DUIS XSD `Response` type (duis.md §3): a header (RequestID, ResponseID, ResponseCode,
ResponseDateTime) and one body choice — ResponseMessage (SR, SRV, optional payload), DeviceAlertMessage
or DCCAlertMessage. Every message is signed by the DCC's XML signing identity, as DCC Boxed does.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Iterable
from datetime import datetime, timezone

from lxml import etree

from ..duis.model import DCC_EUI, SR_NS, RequestID, service_reference
from ..keystore import Identity, Keystore
from ..signing import sign

_SR = f"{{{SR_NS}}}"


def _utc_now() -> datetime:
    return datetime.now(timezone.utc)


def xml_datetime(moment: datetime) -> str:
    """xs:dateTime in UTC with milliseconds, as DCC Boxed writes it (2022-08-12T06:43:49.844Z)."""
    moment = moment.astimezone(timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def element(tag: str, text: object | None = None, *children: etree._Element) -> etree._Element:
    """An sr: element with optional text and children: the small DSL the emulator builds bodies with."""
    node = etree.Element(_SR + tag, nsmap={"sr": SR_NS})
    if text is not None:
        node.text = text if isinstance(text, str) else str(text)
    node.extend(children)
    return node


class ResponseBuilder:
    """Signed DUIS responses and alerts from the DCC identity."""

    def __init__(self, keystore: Keystore, *, signer: Identity | None = None, schema_version: str = "5.1",
                 clock: Callable[[], datetime] = _utc_now):
        self.signer = signer or keystore.xml_signing_identity(DCC_EUI)
        self.schema_version = schema_version
        self.clock = clock

    # -- envelope -----------------------------------------------------------------------------
    def _envelope(self, code: str, body: etree._Element, *, request_id: RequestID | None = None,
                  response_id: RequestID | None = None) -> bytes:
        root = etree.Element(_SR + "Response", nsmap={"sr": SR_NS}, schemaVersion=self.schema_version)
        header = etree.SubElement(root, _SR + "Header")
        if request_id is not None:
            etree.SubElement(header, _SR + "RequestID").text = str(request_id)
        if response_id is not None:
            etree.SubElement(header, _SR + "ResponseID").text = str(response_id)
        etree.SubElement(header, _SR + "ResponseCode").text = code
        etree.SubElement(header, _SR + "ResponseDateTime").text = xml_datetime(self.clock())
        etree.SubElement(root, _SR + "Body").append(body)
        return sign(root, identity=self.signer, source="response")

    @staticmethod
    def _message(srv: str, payload: etree._Element | None = None) -> etree._Element:
        message = element("ResponseMessage", None, element("ServiceReference", service_reference(srv)),
                          element("ServiceReferenceVariant", srv))
        if payload is not None:
            message.append(payload)
        return message

    # -- synchronous replies --------------------------------------------------------------------
    def acknowledgement(self, request_id: RequestID | None, code: str, srv: str) -> bytes:
        """I99 acknowledgement or an error code: body = SR + SRV only."""
        return self._envelope(code, self._message(srv), request_id=request_id)

    def precommand(self, request_id: RequestID, srv: str, gbcs: bytes, gbcs_version: str = "4.0") -> bytes:
        payload = element("PreCommand", None, element("GBCSVersion", gbcs_version),
                          element("GBCSPayload", base64.b64encode(gbcs).decode()))
        return self._envelope("I0", self._message(srv, payload), request_id=request_id)

    def local_command(self, request_id: RequestID, srv: str, gbcs: bytes) -> bytes:
        payload = element("LocalCommand", None, element("GBCSPayload", base64.b64encode(gbcs).decode()))
        return self._envelope("I0", self._message(srv, payload), request_id=request_id)

    def non_device(self, request_id: RequestID, srv: str, payload: etree._Element | None = None, code: str = "I0") -> bytes:
        """A CV 8 reply: I0 with DSP data (DSPInventory, DSPScheduleID, DSPWANMatrix…) or I99 without."""
        return self._envelope(code, self._message(srv, payload), request_id=request_id)

    # -- asynchronous messages ------------------------------------------------------------------
    def device_response(self, request_id: RequestID, srv: str, gbcs: bytes | None, code: str = "I0") -> bytes:
        """The device's reply: ResponseID swaps originator and target and keeps the counter."""
        payload = element("GBCSPayload", base64.b64encode(gbcs).decode()) if gbcs is not None else None
        return self._envelope(code, self._message(srv, payload), request_id=request_id, response_id=request_id.swapped())

    def scheduled_message(self, created_by: RequestID, srv: str, gbcs: bytes, schedule_id: int) -> bytes:
        """One run of a DCC schedule: the scheduled SRV's result and the DSPScheduleID it belongs to."""
        payload = element("DSPScheduledMessage", None, element("GBCSPayload", base64.b64encode(gbcs).decode()),
                          element("DSPScheduleID", schedule_id))
        return self._envelope("I0", self._message(srv, payload), request_id=created_by)

    def future_dated_alert(self, request_id: RequestID, srv: str, alert_code: str, gbcs: bytes,
                           instruction: int = 1, total: int = 1) -> bytes:
        """8F66 (actioned) / 8F67 (not actioned) for a Device-pattern future-dated command."""
        payload = element("FutureDatedDeviceAlertMessage", None, element("FutureDatedAlertCode", alert_code),
                          element("GBCSPayload", base64.b64encode(gbcs).decode()),
                          element("InstructionNumber", instruction), element("TotalCommandInstructions", total))
        return self._envelope("I0", self._message(srv, payload), request_id=request_id, response_id=request_id.swapped())

    def device_alert(self, device: str, recipient: str, counter: int, alert_code: str, gbcs: bytes,
                     code: str = "I0") -> bytes:
        """An unsolicited device alert (no RequestID): ResponseID = device:recipient:alert counter."""
        body = element("DeviceAlertMessage", None, element("AlertCode", alert_code.upper()),
                       element("GBCSPayload", base64.b64encode(gbcs).decode()))
        return self._envelope(code, body, response_id=RequestID(device, recipient, counter))

    def dcc_alert(self, recipient: str, counter: int, alert_code: str, payload: etree._Element,
                  request_id: RequestID | None = None) -> bytes:
        """A DCC alert (N24, N42 …) from the DCC to one user: ResponseID = DCC:recipient:counter."""
        body = element("DCCAlertMessage", None, element("DCCAlertCode", alert_code), element("DCCAlert", None, payload))
        return self._envelope("I0", body, request_id=request_id, response_id=RequestID(DCC_EUI, recipient, counter))


def device_id_list(euis: Iterable[str]) -> str:
    """DeviceIDList text: comma-separated EUIs."""
    return ",".join(euis)
