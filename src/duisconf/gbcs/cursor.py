"""One byte cursor for every GBCS decoder (frames, A-XDR/DLMS, GBZ/ZCL): each error it raises names the
field and the absolute byte offset, so a bad message is located, never a bare IndexError."""

from __future__ import annotations

from typing import Any, NoReturn

from ..errors import InvalidInput


class Reader:
    """A cursor over `data`; `base` is the offset of `data[0]` in the whole message, `what` names the part."""

    byte_order = "big"  # DLMS and GBCS frames are big-endian; ZCL overrides it
    default_what = "GBCS message"

    def __init__(self, data: bytes, what: str | None = None, base: int = 0) -> None:
        self.data, self.what, self.base, self.pos = bytes(data), what or self.default_what, base, 0

    @property
    def offset(self) -> int:
        return self.base + self.pos

    def left(self) -> int:
        return len(self.data) - self.pos

    def fail(self, message: str, at: int | None = None) -> NoReturn:
        raise InvalidInput(f"{self.what}: {message} at byte offset {self.base + (self.pos if at is None else at)}")

    def take(self, n: int, field: str) -> bytes:
        if n > self.left():
            self.fail(f"truncated {field} (needs {n} byte(s), {self.left()} left)")
        out = self.data[self.pos : self.pos + n]
        self.pos += n
        return out

    def byte(self, field: str) -> int:
        return self.take(1, field)[0]

    def uint(self, n: int, field: str, order: str | None = None) -> int:
        return int.from_bytes(self.take(n, field), order or self.byte_order)  # type: ignore[arg-type]

    def expect(self, value: int, field: str) -> None:
        at, got = self.pos, self.byte(field)
        if got != value:
            self.fail(f"bad {field}: expected 0x{value:02X}, got 0x{got:02X}", at)

    def sub(self, n: int, field: str) -> Reader:
        """The next n bytes as their own reader of the same kind (offsets stay absolute)."""
        start = self.offset
        return type(self)(self.take(n, field), self.what, start)

    def end(self, after: str) -> None:
        if self.pos != len(self.data):
            self.fail(f"{len(self.data) - self.pos} trailing byte(s) after the {after}")


def hex_bytes(value: Any, field: str, size: int | None = None) -> bytes:
    """An octet string of a decoded tree (lowercase hex) back to bytes, naming the field when it is not."""
    try:
        raw = bytes.fromhex(value)
    except (TypeError, ValueError):
        raise InvalidInput(f"{field}: expected hex, got {value!r:.80}") from None
    if size is not None and len(raw) != size:
        raise InvalidInput(f"{field}: expected {size} byte(s) of hex, got {len(raw)}")
    return raw
