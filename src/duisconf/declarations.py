"""A party's declaration (its PICS): which DCC User roles it holds, with which EUIs and keys, which SRVs
it claims, and which device types (models, firmware) it has. The suite reads it to decide which of the
generated catalogue scenarios apply, before any traffic.

    party = "GIT Test Supplier"
    deviations = "deviations.toml"   # optional: its known-deviation register (duisconf.deviations)
    [roles.IS]
    eui = "90-B3-D5-1F-30-01-00-00"
    key = "keys/is.key"              # optional, with certificate; relative to the declaration file
    certificate = "keys/is.pem"
    [srvs]
    claimed = "all-eligible"         # or ["4.1.1", "7.1", …]
    [[devices]]
    type = "ESME"
    models = [{ model = "EM-100", firmware = "2.3.1" }]

An incoherent declaration is refused with a ConfigError naming the file and the problem: an SRV
claimed without any of its eligible roles, an unknown SRV / role / device type, a bad EUI, a key file
that does not exist, a device type that no claimed SRV can address.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import paths
from .errors import ConfigError, InvalidInput
from .toml_file import read_toml
from .rules import DEVICE_TYPES, ROLES, Catalogue, load_catalogue

ALL_ELIGIBLE = "all-eligible"
_TOP = ("party", "kind", "roles", "srvs", "devices", "deviations")
_ROLE_KEYS = ("eui", "key", "certificate")
_DEVICE_KEYS = ("type", "models")
_MODEL_KEYS = ("model", "firmware")


@dataclass(frozen=True)
class RoleDeclaration:
    role: str
    eui: str
    key: Path | None = None
    certificate: Path | None = None


@dataclass(frozen=True)
class DeviceModel:
    model: str
    firmware: str | None = None


@dataclass(frozen=True)
class DeviceDeclaration:
    type: str
    models: tuple[DeviceModel, ...] = ()


@dataclass(frozen=True)
class Declaration:
    source: Path
    party: str
    kind: str
    roles: dict[str, RoleDeclaration]
    claimed: frozenset[str]              # SRVs, resolved ("all-eligible" expanded)
    claimed_all_eligible: bool
    devices: dict[str, DeviceDeclaration] = field(default_factory=dict)
    deviations: Path | None = None       # its known-deviation register, relative paths resolved

    @property
    def name(self) -> str:
        return paths.shown(self.source)

    def holds(self, role: str) -> bool:
        return role in self.roles

    def organisation_roles(self, role: str) -> frozenset[str]:
        """Every role declared with the same EUI as `role` (one organisation; the DCC checks them together)."""
        eui = self.roles[role].eui
        return frozenset(r for r, d in self.roles.items() if d.eui == eui)

    def has_device(self, device_type: str) -> bool:
        return device_type in self.devices


class _Reader:
    def __init__(self, path: Path):
        self.path = path
        self.shown = paths.shown(path)

    def fail(self, problem: str) -> ConfigError:
        return ConfigError(f"{self.shown}: {problem}")

    def unknown_keys(self, table: dict, allowed: tuple[str, ...], where: str) -> None:
        extra = sorted(set(table) - set(allowed))
        if extra:
            raise self.fail(f"{where}: unknown key {extra[0]!r} (expected {', '.join(allowed)})")


def _roles(r: _Reader, data: dict) -> dict[str, RoleDeclaration]:
    table = data.get("roles")
    if not isinstance(table, dict) or not table:
        raise r.fail("[roles] is missing or empty: declare at least one DCC User role, e.g. [roles.IS] eui = \"…\"")
    roles: dict[str, RoleDeclaration] = {}
    for role, entry in table.items():
        if role not in ROLES:
            raise r.fail(f"unknown role {role!r} in [roles] (expected one of {', '.join(ROLES)})")
        if not isinstance(entry, dict):
            raise r.fail(f"[roles.{role}] must be a table with eui = \"…\"")
        r.unknown_keys(entry, _ROLE_KEYS, f"[roles.{role}]")
        eui = entry.get("eui")
        if not isinstance(eui, str):
            raise r.fail(f"[roles.{role}] eui is missing (the EUI-64 of the organisation acting as {role})")
        from .duis.model import normalise_eui

        try:
            eui = normalise_eui(eui)
        except InvalidInput as exc:
            raise r.fail(f"[roles.{role}] bad EUI: {exc}") from None
        files: dict[str, Path | None] = {}
        for key in ("key", "certificate"):
            value = entry.get(key)
            if value is None:
                files[key] = None
                continue
            if not isinstance(value, str):
                raise r.fail(f"[roles.{role}] {key} must be a file path")
            found = (r.path.parent / value).expanduser()
            if not found.is_file():
                raise r.fail(f"[roles.{role}] {key} file {value!r} does not exist (paths are relative to the declaration)")
            files[key] = found
        if (files["key"] is None) != (files["certificate"] is None):
            raise r.fail(f"[roles.{role}] key and certificate go together")
        roles[role] = RoleDeclaration(role, eui, files["key"], files["certificate"])
    return roles


def _claimed(r: _Reader, data: dict, roles: dict[str, RoleDeclaration], catalogue: Catalogue) -> tuple[frozenset[str], bool]:
    table = data.get("srvs")
    if not isinstance(table, dict) or "claimed" not in table:
        raise r.fail('[srvs] claimed is missing: a list of SRVs, or "all-eligible"')
    r.unknown_keys(table, ("claimed",), "[srvs]")
    claimed = table["claimed"]
    if claimed == ALL_ELIGIBLE:
        return frozenset(rule.srv for rule in catalogue if set(rule.eligible_roles) & set(roles)), True
    if not isinstance(claimed, list) or not all(isinstance(s, str) for s in claimed):
        raise r.fail(f'[srvs] claimed must be a list of SRVs or "{ALL_ELIGIBLE}", got {claimed!r}')
    for srv in claimed:
        if srv not in catalogue:
            raise r.fail(f"claims unknown SRV {srv!r} (not one of the {len(catalogue)} DUIS SRVs in rules/srv_catalogue.toml)")
        rule = catalogue.srv(srv)
        if not set(rule.eligible_roles) & set(roles):
            eligible = ", ".join(rule.eligible_roles) or "no User role"
            raise r.fail(f"claims SRV {srv} but holds none of its eligible roles {eligible} "
                         f"(declared: {', '.join(roles)})")
    if len(set(claimed)) != len(claimed):
        raise r.fail(f"[srvs] claimed repeats an SRV: {sorted(s for s in claimed if claimed.count(s) > 1)[0]}")
    return frozenset(claimed), False


def _devices(r: _Reader, data: dict, claimed: frozenset[str], catalogue: Catalogue) -> dict[str, DeviceDeclaration]:
    entries = data.get("devices", [])
    if not isinstance(entries, list):
        raise r.fail("devices must be an array of tables ([[devices]] type = \"ESME\")")
    devices: dict[str, DeviceDeclaration] = {}
    for index, entry in enumerate(entries, 1):
        where = f"[[devices]] entry {index}"
        if not isinstance(entry, dict):
            raise r.fail(f"{where} must be a table")
        r.unknown_keys(entry, _DEVICE_KEYS, where)
        kind = entry.get("type")
        if kind not in DEVICE_TYPES:
            raise r.fail(f"{where}: unknown device type {kind!r} (expected one of {', '.join(DEVICE_TYPES)})")
        if kind in devices:
            raise r.fail(f"{where}: device type {kind} is declared twice")
        models = []
        for m_index, model in enumerate(entry.get("models", []), 1):
            if not isinstance(model, dict) or not isinstance(model.get("model"), str):
                raise r.fail(f"{where}: models[{m_index}] must be {{ model = \"…\", firmware = \"…\" }}")
            r.unknown_keys(model, _MODEL_KEYS, f"{where} models[{m_index}]")
            firmware = model.get("firmware")
            if firmware is not None and not isinstance(firmware, str):
                raise r.fail(f"{where}: models[{m_index}] firmware must be a string")
            models.append(DeviceModel(model["model"], firmware))
        if not any(kind in catalogue.srv(srv).device_types for srv in claimed):
            raise r.fail(f"declares device type {kind} but no claimed SRV can address a {kind}")
        devices[kind] = DeviceDeclaration(kind, tuple(models))
    return devices


def load_declaration(path: str | Path, catalogue: Catalogue | None = None) -> Declaration:
    """Read and check `path`; a ConfigError names the file and the first problem found."""
    path = Path(path).expanduser()
    reader = _Reader(path)
    data: dict[str, Any] = read_toml(path, "declaration", shown=reader.shown, missing="declaration not found")
    reader.unknown_keys(data, _TOP, "top level")
    party = data.get("party")
    if not isinstance(party, str) or not party.strip():
        raise reader.fail('party is missing: name the organisation, e.g. party = "GIT Test Supplier"')
    kind = data.get("kind", "")
    if not isinstance(kind, str):
        raise reader.fail("kind must be a string (supplier, network operator, device maker …)")
    catalogue = catalogue or load_catalogue()
    roles = _roles(reader, data)
    claimed, all_eligible = _claimed(reader, data, roles, catalogue)
    devices = _devices(reader, data, claimed, catalogue)
    return Declaration(path, party.strip(), kind, roles, claimed, all_eligible, devices, _deviations(reader, data))


def _deviations(r: _Reader, data: dict) -> Path | None:
    """The declaration's known-deviation register (top-level `deviations = "file"`), if it names one."""
    value = data.get("deviations")
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        raise r.fail("deviations must be the path of a deviation register (relative to the declaration)")
    found = (r.path.parent / value).expanduser()
    if not found.is_file():
        raise r.fail(f"deviations file {value!r} does not exist (paths are relative to the declaration)")
    return found


def default_declaration() -> Path:
    return paths.PROJECT_ROOT / "declarations" / "supplier.toml"


__all__ = ["Declaration", "RoleDeclaration", "DeviceDeclaration", "DeviceModel", "load_declaration",
           "default_declaration", "ALL_ELIGIBLE"]
