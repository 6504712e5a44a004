"""The known-deviation register: scenarios a product combination is known to fail, each with a reason,
a reference (a ticket, an SMDA tolerated issue) and an expiry date.

    [[deviation]]
    scenario = "uept/signed_requests::a-signed-read-is-acknowledged-then-answered-asynchronously"
    reason = "the meter answers 4.1.1 with the export register; fixed in firmware 2.4"
    reference = "SMDA-246 tolerated issue 17"
    expires = 2026-06-30

A listed scenario that fails (verdict fail) is a known deviation and does not fail the run; one that
passes fails it ("unexpected pass: remove the entry"); an entry past its expiry date, or naming no
scenario of the whole features tree, fails it too. The pytest side is duisconf.pytest_deviations.
A register that does not load (not TOML, an unknown key, a bad date, an ID listed twice) is refused
with a ConfigError naming the file and the entry.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from . import paths
from .errors import ConfigError
from .toml_file import read_toml

KEYS = ("scenario", "reason", "reference", "expires")


@dataclass(frozen=True)
class Deviation:
    scenario: str          # the stable scenario ID (duisconf.scenario_ids)
    reason: str
    reference: str
    expires: dt.date       # the last day the entry holds
    index: int             # its place in the file, 1-based, for messages

    def expired(self, today: dt.date) -> bool:
        return today > self.expires

    def describe(self) -> str:
        """One line for reports: what, why, where it is tracked, until when."""
        return f"known deviation {self.scenario}: {self.reason} ({self.reference}; expires {self.expires.isoformat()})"

    def as_json(self) -> dict:
        return {"scenario": self.scenario, "reason": self.reason, "reference": self.reference,
                "expires": self.expires.isoformat()}


@dataclass(frozen=True)
class Register:
    source: Path
    entries: tuple[Deviation, ...]

    @property
    def name(self) -> str:
        return paths.shown(self.source)

    def by_scenario(self) -> dict[str, Deviation]:
        return {entry.scenario: entry for entry in self.entries}

    def expired(self, today: dt.date | None = None) -> list[Deviation]:
        today = today or utc_today()
        return [entry for entry in self.entries if entry.expired(today)]

    def unknown(self, scenario_ids: Iterable[str]) -> list[Deviation]:
        """Entries naming a scenario that is not in `scenario_ids` (pass the whole tree's IDs)."""
        known = set(scenario_ids)
        return [entry for entry in self.entries if entry.scenario not in known]


def utc_today() -> dt.date:
    return dt.datetime.now(dt.timezone.utc).date()


def _date(value, where: str) -> dt.date:
    if isinstance(value, dt.datetime):  # a TOML date-time: an expiry is a day
        raise ConfigError(f"{where}: expires must be a date (YYYY-MM-DD), not a date-time")
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise ConfigError(f"{where}: expires {value!r} is not a date (YYYY-MM-DD)")


def load_register(path: str | Path) -> Register:
    """Read and check a register; the first problem is a ConfigError naming the file and the entry."""
    path = Path(path).expanduser()
    shown = paths.shown(path)
    data = read_toml(path, "deviation register", shown=shown, missing="deviation register not found")
    extra = sorted(set(data) - {"deviation"})
    if extra:
        raise ConfigError(f"{shown}: unknown top-level key {extra[0]!r} (a register holds [[deviation]] entries only)")
    rows = data.get("deviation", [])
    if not isinstance(rows, list):
        raise ConfigError(f"{shown}: deviation must be an array of tables ([[deviation]])")
    entries: list[Deviation] = []
    seen: dict[str, int] = {}
    for index, row in enumerate(rows, 1):
        where = f"{shown}: [[deviation]] entry {index}"
        if not isinstance(row, dict):
            raise ConfigError(f"{where} must be a table")
        if isinstance(row.get("scenario"), str):
            where += f" ({row['scenario']})"
        unknown = sorted(set(row) - set(KEYS))
        if unknown:
            raise ConfigError(f"{where}: unknown key {unknown[0]!r} (expected {', '.join(KEYS)})")
        missing = [key for key in KEYS if key not in row]
        if missing:
            raise ConfigError(f"{where}: {missing[0]} is missing (every entry has {', '.join(KEYS)})")
        for key in ("scenario", "reason", "reference"):
            if not isinstance(row[key], str) or not row[key].strip():
                raise ConfigError(f"{where}: {key} must be a non-empty string")
        scenario = row["scenario"].strip()
        if scenario in seen:
            raise ConfigError(f"{where}: scenario {scenario} is already listed by entry {seen[scenario]}")
        seen[scenario] = index
        entries.append(Deviation(scenario, row["reason"].strip(), row["reference"].strip(),
                                 _date(row["expires"], where), index))
    return Register(path, tuple(entries))


def register_path(option: str | None, declaration) -> Path | None:
    """The register for this run: --deviations FILE (or DUISCONF_DEVIATIONS) first, else the
    declaration's `deviations = "…"`; None when neither names one."""
    if option:
        return Path(option).expanduser()
    return getattr(declaration, "deviations", None)


__all__ = ["Deviation", "Register", "load_register", "register_path", "utc_today", "KEYS"]
