"""DCC's RTDS 4.5.0 GBCS messages and keystore for the GBCS tests (GPL data, read at test time, never copied).

``rtds_messages()`` lists every message once per process; tests skip, saying so, when ../shared is absent.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pytest

from duisconf import paths

RTDS_ROOT = paths.PROJECT_ROOT.parent / "shared" / "dcc-data" / "gbcs-rtds"
RTDS_MESSAGES = RTDS_ROOT / "RTDS-4.5.0"
RTDS_KEYSTORE = RTDS_ROOT / "keystore"
ABSENT = f"DCC's RTDS data is absent ({RTDS_ROOT}); these tests run where ../shared/dcc-data exists (CI)"


@dataclass(frozen=True)
class RtdsMessage:
    path: Path
    data: bytes

    @property
    def folder(self) -> str:
        """The RTDS folder, '<SRV>_<use case>' (e.g. '4.1.1_ECS17b')."""
        return self.path.parent.name

    @property
    def use_case(self) -> str:
        return self.folder.split("_", 1)[1]

    @property
    def kind(self) -> str:
        """COMMAND, PRECOMMAND, RESPONSE or ALERT, from DCC's file name."""
        parts = self.path.stem.split("_")
        # The last of these words in the name (alerts may add what they are about: ..._ALERT_CURRENCY_UNIT).
        return next(p for p in reversed(parts) if p in ("COMMAND", "PRECOMMAND", "RESPONSE", "ALERT"))

    @property
    def name(self) -> str:
        return f"{self.folder}/{self.path.name}"


def read_hex(path: Path) -> bytes:
    return bytes.fromhex("".join(path.read_text().split()))


@cache
def _messages() -> tuple[RtdsMessage, ...]:
    return tuple(RtdsMessage(p, read_hex(p)) for p in sorted(RTDS_MESSAGES.glob("*/*.HEX")))


def rtds_messages() -> tuple[RtdsMessage, ...]:
    """Every RTDS 4.5.0 message, sorted by folder and file name; skips the test when the data is absent."""
    if not RTDS_MESSAGES.is_dir():
        pytest.skip(ABSENT)
    return _messages()


def rtds_message(name_glob: str) -> RtdsMessage:
    """The one RTDS message whose file name matches the glob (e.g. 'ECS17b_4.1.1_SINGLE_SUCCESS_RESPONSE*')."""
    found = [m for m in rtds_messages() if m.path.match(name_glob)]
    assert len(found) == 1, f"{name_glob}: {len(found)} matches"
    return found[0]


@cache
def _keys():  # noqa: ANN202
    from duisconf.gbcs.keys import KeyDirectory

    return KeyDirectory(RTDS_KEYSTORE)


def rtds_keys():  # noqa: ANN201
    """The RTDS keystore folder as a key source."""
    if not RTDS_KEYSTORE.is_dir():
        pytest.skip(ABSENT)
    return _keys()


_USE_CASE = __import__("re").compile(r"^([A-Z]{2,4}\d{2,3}(?:[a-z]|[A-Z]\d?(?![a-z]))?)")


def gbcs_use_case(folder_use_case: str) -> str:
    """The GBCS use case of an RTDS folder's name: 'CS02bSupplierBySupplier' -> 'CS02b', 'CS03A1' -> 'CS03A1'."""
    m = _USE_CASE.match(folder_use_case)
    return m[1] if m else folder_use_case
