"""DUIS identifiers and namespaces (SEC Appendix AD, DUIS XSD)."""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

from ..errors import InvalidInput

SR_NS = "http://www.dccinterface.co.uk/ServiceUserGateway"
RA_NS = "http://www.dccinterface.co.uk/ResponseAndAlert"
DS_NS = "http://www.w3.org/2000/09/xmldsig#"
NSMAP = {"sr": SR_NS, "ra": RA_NS, "ds": DS_NS}

# The identity of the DCC (Access Control Broker in ZAZ1): target of every non-device request.
DCC_EUI = "90-B3-D5-1F-30-00-00-02"

_EUI = r"[0-9A-Fa-f]{2}(?:-[0-9A-Fa-f]{2}){7}"
EUI_RE = re.compile(rf"^{_EUI}$")
# XSD RequestIDType: originator:target:counter, counter 0 or without leading zeros.
REQUEST_ID_RE = re.compile(rf"^({_EUI}):({_EUI}):(0|[1-9][0-9]{{0,19}})$")
MAX_COUNTER = 2**64 - 1


@functools.lru_cache(maxsize=4096)  # a pure function called ~15 times per emulated request, with few distinct EUIs
def normalise_eui(value: str) -> str:
    """Any EUI-64 spelling (with or without dashes, any case) as DUIS writes it: 90-B3-D5-1F-30-01-00-00."""
    digits = value.replace("-", "").replace(":", "").strip()
    if not re.fullmatch(r"[0-9A-Fa-f]{16}", digits):
        raise InvalidInput(f"not an EUI-64: {value!r} (expected 8 hex octets, e.g. 90-B3-D5-1F-30-01-00-00)")
    digits = digits.upper()
    return "-".join(digits[i : i + 2] for i in range(0, 16, 2))


def eui_bytes(value: str) -> bytes:
    """The 8-byte system title / entity identifier for an EUI."""
    return bytes.fromhex(normalise_eui(value).replace("-", ""))


def service_reference(srv: str) -> str:
    """SR from SRV: drop the last component of a three-part SRV (6.20.1 → 6.20), otherwise SR = SRV."""
    parts = srv.split(".")
    return ".".join(parts[:2]) if len(parts) == 3 else srv


@dataclass(frozen=True, order=True)
class RequestID:
    """BusinessOriginatorID:BusinessTargetID:OriginatorCounter. EUIs are kept normalised (upper case)."""

    originator: str
    target: str
    counter: int

    def __post_init__(self) -> None:
        object.__setattr__(self, "originator", normalise_eui(self.originator))
        object.__setattr__(self, "target", normalise_eui(self.target))
        if not 0 <= self.counter <= MAX_COUNTER:
            raise InvalidInput(f"originator counter {self.counter} is outside 0..2^64-1")

    @classmethod
    def parse(cls, text: str) -> RequestID:
        match = REQUEST_ID_RE.match(text.strip())
        if not match:
            raise InvalidInput(
                f"malformed RequestID {text!r} (expected originatorEUI:targetEUI:counter, "
                "e.g. 90-B3-D5-1F-30-01-00-00:00-DB-12-34-56-78-90-A0:1000)"
            )
        counter = int(match.group(3))
        return cls(match.group(1), match.group(2), counter)

    def swapped(self) -> RequestID:
        """The ResponseID of a device response: target and originator swapped, same counter."""
        return RequestID(self.target, self.originator, self.counter)

    def __str__(self) -> str:
        return f"{self.originator}:{self.target}:{self.counter}"
