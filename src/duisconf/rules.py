"""The SRV rules catalogue: what each of the 129 DUIS Service Reference Variants allows.

The data lives in rules/srv_catalogue.toml (see rules/README.md for sources and confidence); this module
only loads it, checks its shape, and answers questions about it. The emulator enforces these rules and
the suite generates scenarios from them, so a malformed file must fail loudly at load time, naming the
file, the SRV and the field, rather than surface later as a wrong verdict.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from . import paths
from .duis.model import service_reference
from .errors import ConfigError, InvalidInput

ROLES = ("IS", "ES", "GS", "ED", "GT", "RSA", "OU")
DEVICE_TYPES = ("ESME", "GSME", "CHF", "GPF", "PPMID", "IHD", "HCALCS", "CAD")
FUTURE_DATED_PATTERNS = ("Device", "DSP", "DSP & Device", "No")
COMMAND_VARIANTS = tuple(range(1, 9))  # CV 9 exists in the XSD but is internal to the DCC (duis.md §2.1)
CATALOGUE_FILE = "srv_catalogue.toml"
# the keys of one [[srv]] table (anything else is a typo worth reporting)
FIELDS = ("srv", "name", "critical", "on_demand", "future_dated", "dcc_scheduled", "non_device", "roles",
          "command_variants", "body", "device_types", "use_cases", "tags")


@dataclass(frozen=True)
class UseCase:
    """A GBCS use case an SRV is carried by, for one device type (e.g. ECS17b on the ESME)."""

    code: str
    message_code: int | None = None  # only where the reference states it
    device: str | None = None
    variant: str | None = None  # RTDS variant word, e.g. "SupplierBySupplier" for CS02b


@dataclass(frozen=True)
class SRVRule:
    srv: str
    sr: str  # derived from srv, never read from data (the matrix's SR column has a defect)
    name: str
    critical: bool
    on_demand: bool
    future_dated: str
    dcc_scheduled: bool
    non_device: bool
    eligible_roles: tuple[str, ...]
    command_variants: tuple[int, ...]
    body_element: str
    device_types: tuple[str, ...]
    use_cases: tuple[UseCase, ...]
    tags: tuple[str, ...]

    @property
    def default_cv(self) -> int:
        """The CV a plain request uses: 8 to the DCC, 4 (transform) for critical, else 1 (WAN)."""
        return 8 if self.non_device else 4 if self.critical else 1

    @property
    def is_device(self) -> bool:
        return not self.non_device

    @property
    def future_datable(self) -> bool:
        return self.future_dated != "No"

    def message_code(self, device_type: str | None = None) -> int | None:
        """GBCS message code of the first use case for `device_type` (else the first overall); None if unknown."""
        matching = [u for u in self.use_cases if u.device == device_type] if device_type else []
        chosen = matching or list(self.use_cases)
        return chosen[0].message_code if chosen else None


class Catalogue:
    """The SRV rules in catalogue (DUIS) order, looked up by SRV, tag, role or device type."""

    def __init__(self, rules: tuple[SRVRule, ...], source: Path):
        self.source = source
        self._rules = rules
        self._by_srv = {r.srv: r for r in rules}

    def srv(self, srv: str) -> SRVRule:
        try:
            return self._by_srv[srv]
        except KeyError:
            raise InvalidInput(
                f"unknown SRV {srv!r}: not one of the {len(self._rules)} DUIS service reference variants "
                f"(see rules/{CATALOGUE_FILE})"
            ) from None

    def all(self) -> tuple[SRVRule, ...]:
        return self._rules

    def with_tag(self, tag: str) -> tuple[SRVRule, ...]:
        return tuple(r for r in self._rules if tag in r.tags)

    def for_role(self, role: str) -> tuple[SRVRule, ...]:
        return tuple(r for r in self._rules if role in r.eligible_roles)

    def for_device(self, device_type: str) -> tuple[SRVRule, ...]:
        return tuple(r for r in self._rules if device_type in r.device_types)

    def __len__(self) -> int:
        return len(self._rules)

    def __contains__(self, srv: object) -> bool:
        return srv in self._by_srv

    def __iter__(self) -> Iterator[SRVRule]:
        return iter(self._rules)

    def __repr__(self) -> str:
        return f"Catalogue({len(self)} SRVs from {str(self.source)!r})"


# --- loading and validation -------------------------------------------------------------------------


class _Checker:
    """Reads one [[srv]] table; every complaint names the file, the SRV and the field."""

    def __init__(self, where: str, table: dict[str, Any]):
        self.where = where
        self.table = table

    def fail(self, field: str, problem: str) -> ConfigError:
        return ConfigError(f"{self.where}: field {field!r} {problem}")

    def get(self, field: str, kind: type, table: dict[str, Any] | None = None, *, label: str | None = None,
            required: bool = True) -> Any:
        """table[field] checked to be `kind`; `label` is how the field is named in errors (default: field)."""
        table = self.table if table is None else table
        label = label or field
        if field not in table:
            if required:
                raise self.fail(label, "is missing")
            return None
        value = table[field]
        # bool is a subclass of int in Python: `true` must not pass as a CV or message code.
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            raise self.fail(label, f"must be {kind.__name__}, got {type(value).__name__} {value!r}")
        return value

    def items(self, field: str, kind: type, allowed: tuple[Any, ...] | None, label: str) -> tuple[Any, ...]:
        values = self.get(field, list)
        for value in values:
            if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
                raise self.fail(field, f"must hold only {kind.__name__} values, got {value!r}")
            if allowed is not None and value not in allowed:
                expected = ", ".join(str(a) for a in allowed)
                raise self.fail(field, f"has unknown {label} {value!r} (expected {expected})")
        if len(set(values)) != len(values):
            raise self.fail(field, f"repeats a value: {values!r}")
        return tuple(values)

    def use_cases(self) -> tuple[UseCase, ...]:
        found = []
        for index, entry in enumerate(self.get("use_cases", list)):
            field = f"use_cases[{index}]"
            if not isinstance(entry, dict):
                raise self.fail(field, f"must be a table, got {entry!r}")
            unknown = sorted(set(entry) - {"code", "message_code", "device", "variant"})
            if unknown:
                raise self.fail(field, f"has unknown key(s) {unknown}")

            def sub(key: str, kind: type, required: bool = False) -> Any:
                return self.get(key, kind, entry, label=f"{field}.{key}", required=required)

            code, message_code, device = sub("code", str, True), sub("message_code", int), sub("device", str)
            if message_code is not None and not 0 <= message_code <= 0xFFFF:
                raise self.fail(f"{field}.message_code", f"must be in 0..0xFFFF, got {message_code}")
            if device is not None and device not in DEVICE_TYPES:
                expected = ", ".join(DEVICE_TYPES)
                raise self.fail(f"{field}.device", f"has unknown device type {device!r} (expected {expected})")
            found.append(UseCase(code, message_code, device, sub("variant", str)))
        return tuple(found)


def _rule(c: _Checker, srv: str) -> SRVRule:
    unknown = sorted(set(c.table) - set(FIELDS))
    if unknown:
        raise c.fail(unknown[0], f"is not a catalogue field (expected {', '.join(FIELDS)})")
    rule = SRVRule(
        srv=srv,
        sr=service_reference(srv),
        name=c.get("name", str),
        critical=c.get("critical", bool),
        on_demand=c.get("on_demand", bool),
        future_dated=c.get("future_dated", str),
        dcc_scheduled=c.get("dcc_scheduled", bool),
        non_device=c.get("non_device", bool),
        eligible_roles=c.items("roles", str, ROLES, "role"),
        command_variants=c.items("command_variants", int, COMMAND_VARIANTS, "CommandVariant"),
        body_element=c.get("body", str),
        device_types=c.items("device_types", str, DEVICE_TYPES, "device type"),
        use_cases=c.use_cases(),
        tags=c.items("tags", str, None, "tag"),
    )
    if rule.future_dated not in FUTURE_DATED_PATTERNS:
        expected = ", ".join(FUTURE_DATED_PATTERNS)
        raise c.fail("future_dated", f"has unknown pattern {rule.future_dated!r} (expected {expected})")
    if not rule.command_variants:
        raise c.fail("command_variants", "is empty (every SRV allows at least one CommandVariant)")
    # Device SRVs name the devices they reach; DCC-only ones must not (the emulator routes on this).
    if rule.is_device and not rule.device_types:
        raise c.fail("device_types", "is empty for a device SRV")
    if rule.non_device and rule.device_types:
        raise c.fail("device_types", "must be [] for a non-device SRV")
    return rule


def _parse(path: Path) -> Catalogue:
    shown = paths.shown(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{shown}: SRV catalogue not found (set DUISCONF_RULES to the rules folder)") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{shown}: not valid TOML: {exc}") from None
    tables = data.get("srv")
    if not isinstance(tables, list) or not tables:
        raise ConfigError(f"{shown}: expected a non-empty [[srv]] array of tables")
    rules: list[SRVRule] = []
    seen: set[str] = set()
    for index, table in enumerate(tables):
        if not isinstance(table, dict):
            raise ConfigError(f"{shown}: entry {index + 1}: [[srv]] must be a table")
        srv = table.get("srv")
        if not isinstance(srv, str) or not srv:
            raise ConfigError(f"{shown}: entry {index + 1}: field 'srv' is missing or not a string")
        if srv in seen:
            raise ConfigError(f"{shown}: SRV {srv}: field 'srv' is a duplicate (entry {index + 1})")
        seen.add(srv)
        rules.append(_rule(_Checker(f"{shown}: SRV {srv}", table), srv))
    return Catalogue(tuple(rules), path)


@lru_cache(maxsize=8)
def _load(path: Path) -> Catalogue:
    return _parse(path)


def load_catalogue(path: str | Path | None = None) -> Catalogue:
    """The catalogue at `path`, else rules_dir()/srv_catalogue.toml; parsed once per path."""
    chosen = Path(path) if path is not None else paths.rules_dir() / CATALOGUE_FILE
    return _load(chosen.expanduser().resolve())


__all__ = ["Catalogue", "SRVRule", "UseCase", "load_catalogue", "ROLES", "DEVICE_TYPES", "FUTURE_DATED_PATTERNS"]
