"""UTRNs (Unique Transaction Reference Numbers, SRV 2.2 Top Up Device) as GBCS §14 makes and checks them.

A UTRN is 20 decimal digits: the PPTD (Prepayment Token Decimal: a fixed base plus the 64-bit PTUT) and a
Verhoeff check digit computed with GBCS's own tables (§14.8; its inverse table differs from the usual one).

PTUT = high 32 bits ‖ low 32 bits:

* high: 7 zero bits, the low 10 bits of (UTRN counter >> 32), the value class (2 bits: 00 pennies,
  01 pounds) and the value (13 bits, 0 … 8191);
* low: the last 4 bytes of a 16-byte AES-128-GCM tag over no plaintext, keyed by the KDF (usage "command")
  of the supplier's *prepayment* KA key and the device's KA key, with IV = the supplier's system title ‖
  00000000 and AAD = ``11 00000000 00`` ‖ supplier EUI ‖ device EUI ‖ ``01`` ‖ the counter (8 bytes) ‖
  the high 32 bits.

Facts from DCC's gbcs-parser ``src/utrn.ts`` (GPL: read for facts; this code is our own). The counter's
low 32 bits are zero (duis.md §1.3); the device only sees 10 bits of the rest, so it recovers the counter
as the first one above its last known value that has those bits (:func:`counter_from`).
"""

from __future__ import annotations

from dataclasses import dataclass


from ..errors import InvalidInput, KeyMaterialMissing
from . import crypto
from .keys import KeySource, eui_dashed, eui_hex

BASE = 7394156990786306048  # PPTD = BASE + PTUT (GBCS §14)
MAX_VALUE = 8191            # 13 bits
VALUE_CLASSES = {"pennies": 0, "pounds": 1}
LOW_32_BITS = (1 << 32) - 1

# GBCS table 14.8a (permutation), 14.8b (multiplication), 14.8c (inverse)
_P = (
    (0, 1, 2, 3, 4, 5, 6, 7, 8, 9),
    (1, 5, 7, 6, 2, 8, 3, 0, 9, 4),
    (5, 8, 0, 3, 7, 9, 6, 1, 4, 2),
    (8, 9, 1, 6, 0, 4, 3, 5, 2, 7),
    (9, 4, 5, 3, 1, 2, 6, 8, 7, 0),
    (4, 2, 8, 6, 5, 7, 3, 9, 0, 1),
    (2, 7, 9, 3, 8, 0, 6, 4, 1, 5),
    (7, 0, 4, 6, 9, 1, 3, 2, 5, 8),
)
_D = (
    (0, 1, 2, 3, 4, 5, 6, 7, 8, 9),
    (1, 2, 3, 4, 0, 6, 7, 8, 9, 5),
    (2, 3, 4, 0, 1, 7, 8, 9, 5, 6),
    (3, 4, 0, 1, 2, 8, 9, 5, 6, 7),
    (4, 0, 1, 2, 3, 9, 5, 6, 7, 8),
    (5, 9, 8, 7, 6, 0, 4, 3, 2, 1),
    (6, 5, 9, 8, 7, 1, 0, 4, 3, 2),
    (7, 6, 5, 9, 8, 2, 1, 0, 4, 3),
    (8, 7, 6, 5, 9, 3, 2, 1, 0, 4),
    (9, 8, 7, 6, 5, 4, 3, 2, 1, 0),
)
_INVERSE = (1, 2, 6, 7, 5, 8, 3, 0, 9, 4)


def check_digit(digits: str) -> str:
    """GBCS §14.8's Verhoeff check digit of a string of decimal digits (the permutation starts at row 4)."""
    if not digits or not digits.isdigit() or not digits.isascii():
        raise InvalidInput(f"a UTRN check digit needs decimal digits, got {digits!r}")
    total, row = 0, 4
    for ch in digits:
        total = _D[total][_P[row][int(ch)]]
        row = (row + 1) % 8
    return str(_INVERSE[total])


def _high_dword(counter: int, value: int, value_class: str) -> int:
    if value_class not in VALUE_CLASSES:
        raise InvalidInput(f"UTRN value class must be one of {', '.join(VALUE_CLASSES)}, got {value_class!r}")
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_VALUE:
        raise InvalidInput(f"UTRN value must be an integer 0 … {MAX_VALUE}, got {value!r}")
    if not isinstance(counter, int) or not 0 <= counter < 1 << 64:
        raise InvalidInput(f"UTRN counter must be an unsigned 64-bit integer, got {counter!r}")
    return (((counter >> 32) & 0x3FF) << 15) | (VALUE_CLASSES[value_class] << 13) | value


def _authenticator(key: bytes, supplier: bytes, device: bytes, counter: int, high: int) -> int:
    data = supplier + device + b"\x01" + counter.to_bytes(8, "big") + high.to_bytes(4, "big")
    return int.from_bytes(crypto.gcm_tag(key, supplier, data)[-4:], "big")


def _key(keys: KeySource, supplier: bytes, device: bytes, counter: int) -> bytes:
    """The KDF key of the supplier's prepayment KA key and the device's KA key: the supplier's private key
    with the device's certificate (making), or the device's private key with the supplier's (checking)."""
    for privates, publics in ((lambda: keys.private_keys(supplier, "ka", prepayment=True), lambda: keys.public_keys(device, "ka")),
                              (lambda: keys.private_keys(device, "ka"), lambda: keys.public_keys(supplier, "ka", prepayment=True))):
        mine = privates()
        theirs = publics() if mine else []
        if mine and theirs:
            z = crypto.shared_secret(mine[0], theirs[0])
            return crypto.derive_key(z, supplier, crypto.Usage.COMMAND, counter, device)
    raise KeyMaterialMissing(f"cannot authenticate the UTRN: need supplier {eui_dashed(supplier)}'s prepayment KA "
                             f"private key and device {eui_dashed(device)}'s KA certificate, or the device's KA "
                             f"private key and the supplier's prepayment KA certificate")


def ptut(supplier: str | bytes, device: str | bytes, counter: int, value: int, keys: KeySource, *,
         value_class: str = "pennies") -> int:
    """The 64-bit Prepayment Top-Up Token (GBCS §14) for a supplier's top-up of ``value`` on a device."""
    s, d = bytes.fromhex(eui_hex(supplier)), bytes.fromhex(eui_hex(device))
    high = _high_dword(counter, value, value_class)
    key = _key(keys, s, d, counter)
    return (high << 32) | _authenticator(key, s, d, counter, high)


def make_utrn(supplier: str | bytes, device: str | bytes, counter: int, value: int, *, keys: KeySource,
              value_class: str = "pennies") -> str:
    """The 20-digit UTRN: PPTD (BASE + PTUT) and its check digit. ``keys`` must hold the supplier's
    prepayment KA private key and the device's KA certificate (the ZAZ1 keystore + the target's SMKI)."""
    pptd = str(BASE + ptut(supplier, device, counter, value, keys, value_class=value_class))
    return pptd + check_digit(pptd)


@dataclass(frozen=True)
class Utrn:
    """A UTRN taken apart: what its digits say before any key is used."""

    counter_bits: int   # the low 10 bits of (counter >> 32)
    value_class: str
    value: int
    authenticator: int  # the PTUT's low 32 bits

    @property
    def pennies(self) -> int:
        return self.value * (100 if self.value_class == "pounds" else 1)


def parse_utrn(utrn: str) -> Utrn:
    """The fields of a UTRN; InvalidInput naming what is wrong (length, digits, check digit, range)."""
    text = (utrn or "").strip()
    if len(text) != 20 or not text.isdigit() or not text.isascii():
        raise InvalidInput(f"a UTRN is 20 decimal digits, got {len(text)} characters")
    if check_digit(text[:19]) != text[19]:
        raise InvalidInput(f"UTRN check digit is {text[19]}, expected {check_digit(text[:19])}")
    token = int(text[:19]) - BASE
    if not 0 <= token < 1 << 64:
        raise InvalidInput("UTRN is below the PPTD base (not a GBCS UTRN)")
    high = token >> 32
    if high >> 25:
        raise InvalidInput("UTRN: the top 7 bits of the PTUT are not zero")
    classes = {v: k for k, v in VALUE_CLASSES.items()}
    value_class = classes.get((high >> 13) & 0x3)
    if value_class is None:
        raise InvalidInput(f"UTRN value class {(high >> 13) & 0x3} is not pennies (0) or pounds (1)")
    return Utrn((high >> 15) & 0x3FF, value_class, high & 0x1FFF, token & LOW_32_BITS)


def counter_from(bits: int, after: int) -> int:
    """The first UTRN counter (low 32 bits zero) above ``after`` whose bits 32–41 are ``bits``."""
    step = (after >> 32) + 1
    return (step + ((bits - step) % 1024)) << 32


def check_utrn(utrn: str, supplier: str | bytes, device: str | bytes, keys: KeySource, *,
               counter: int | None = None, after: int = 0) -> tuple[Utrn, int]:
    """A device's check: (fields, the full counter) when the UTRN is authentic for this supplier and device.

    ``counter``: the full UTRN counter when known; otherwise recovered from its 10 bits as the first one
    above ``after`` (the device's last known counter). Raises InvalidInput when the UTRN is malformed or
    its authenticator does not match (not from this supplier's prepayment key, or not for this device).
    """
    fields = parse_utrn(utrn)
    if counter is None:
        counter = counter_from(fields.counter_bits, after)
    elif (counter >> 32) & 0x3FF != fields.counter_bits:
        raise InvalidInput(f"UTRN counter bits {fields.counter_bits} do not match counter {counter}")
    s, d = bytes.fromhex(eui_hex(supplier)), bytes.fromhex(eui_hex(device))
    high = _high_dword(counter, fields.value, fields.value_class)
    key = _key(keys, s, d, counter)
    if _authenticator(key, s, d, counter, high) != fields.authenticator:
        raise InvalidInput(f"UTRN is not authentic for supplier {eui_dashed(supplier)} and device "
                           f"{eui_dashed(device)} at counter {counter}")
    return fields, counter


__all__ = ["BASE", "MAX_VALUE", "Utrn", "check_digit", "check_utrn", "counter_from", "make_utrn", "parse_utrn",
           "ptut"]
