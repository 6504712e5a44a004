"""Emulator configuration files (TOML): where to listen, where users receive, extra users and devices.

    [emulator]
    host = "127.0.0.1"          # default 127.0.0.1
    port = 8079                 # default 8079, DCC Boxed's port
    receive_url = "http://127.0.0.1:1880/smartdcc/duis"   # for every user without its own
    latency = 0.0               # seconds before asynchronous messages leave
    control = false             # the JSON control plane under /control/
    smki_port = 8083            # the SMKI interface (device certificates), DCC Boxed's port; 0 = any free
    identity_seed = "duisconf emulator identities"   # devices' KA/DS keys and certificates derive from it

    [[users]]                   # added to (or overriding) the RTDS reference users
    eui = "90-B3-D5-1F-30-01-00-00"
    roles = ["IS", "GS"]
    receive_url = "http://127.0.0.1:1880/smartdcc/duis"

    [[devices]]                 # added to (or overriding) the RTDS reference devices
    eui = "00-DB-12-34-56-78-90-C0"
    type = "ESME"
    status = "Commissioned"
    supplier = "90-B3-D5-1F-30-01-00-00"

Every error names the file, the entry and the key.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from pathlib import Path

from ..duis.model import normalise_eui
from ..errors import ConfigError, InvalidInput
from ..toml_file import read_toml
from .identities import DEFAULT_SEED
from .state import Device, Inventory, User

ROLES = {"IS", "ES", "GS", "ED", "GT", "RSA", "OU"}
DEVICE_TYPES = {"ESME", "GSME", "CHF", "GPF", "PPMID", "IHD", "HCALCS", "CAD"}
EMULATOR_KEYS = {"host": str, "port": int, "receive_url": str, "latency": (int, float), "control": bool,
                 "smki_port": int, "identity_seed": str}


@dataclass
class EmulatorConfig:
    host: str = "127.0.0.1"
    port: int = 8079
    receive_url: str | None = None
    latency: float = 0.0
    control: bool = False
    smki_port: int | None = None  # None: 8083, or any free port when port is 0
    identity_seed: str = DEFAULT_SEED
    users: list[User] = field(default_factory=list)
    devices: list[Device] = field(default_factory=list)

    def inventory(self) -> Inventory:
        inventory = Inventory.reference()
        for user in self.users:
            inventory.add_user(user)
        for device in self.devices:
            inventory.add_device(device)
        return inventory


def load_config(path: Path) -> EmulatorConfig:
    data = read_toml(path, "emulator configuration")
    unknown = set(data) - {"emulator", "users", "devices"}
    if unknown:
        raise ConfigError(f"{path}: unknown table(s) {', '.join(sorted(unknown))} (expected emulator, users, devices)")
    config = EmulatorConfig()
    for key, value in data.get("emulator", {}).items():
        expected = EMULATOR_KEYS.get(key)
        if expected is None:
            raise ConfigError(f"{path}: [emulator] unknown key '{key}' (expected {', '.join(EMULATOR_KEYS)})")
        if not isinstance(value, expected) or isinstance(value, bool) and expected is not bool:
            raise ConfigError(f"{path}: [emulator] {key} = {value!r} has the wrong type")
        if key in ("port", "smki_port") and not 0 <= value <= 65535:
            raise ConfigError(f"{path}: [emulator] {key} = {value}: expected 0-65535 (0 = any free port)")
        if key == "identity_seed" and not value:
            raise ConfigError(f"{path}: [emulator] identity_seed must not be empty")
        setattr(config, key, value)
    for n, entry in enumerate(data.get("users", []), 1):
        config.users.append(_user(path, n, entry))
    for n, entry in enumerate(data.get("devices", []), 1):
        config.devices.append(_device(path, n, entry))
    return config


def _eui(path: Path, where: str, key: str, value: object) -> str:
    try:
        return normalise_eui(str(value))
    except InvalidInput:
        raise ConfigError(f"{path}: {where} {key} = {value!r} is not an EUI-64 (e.g. 90-B3-D5-1F-30-01-00-00)") from None


def _user(path: Path, n: int, entry: dict) -> User:
    where = f"[[users]] #{n}"
    unknown = set(entry) - {"eui", "roles", "receive_url", "name"}
    if unknown or "eui" not in entry:
        raise ConfigError(f"{path}: {where} " + (f"unknown key(s) {', '.join(sorted(unknown))}" if unknown else "needs 'eui'"))
    roles = entry.get("roles", [])
    bad = [r for r in roles if r not in ROLES]
    if bad:
        raise ConfigError(f"{path}: {where} roles has unknown role(s) {', '.join(bad)} (expected {', '.join(sorted(ROLES))})")
    return User(_eui(path, where, "eui", entry["eui"]), frozenset(roles), entry.get("name", ""), entry.get("receive_url"))


def _device(path: Path, n: int, entry: dict) -> Device:
    where = f"[[devices]] #{n}"
    allowed = {f.name for f in fields(Device)} - {"device_log", "historic_log", "data", "date_commissioned"}
    unknown = set(entry) - allowed
    if unknown:
        raise ConfigError(f"{path}: {where} unknown key(s) {', '.join(sorted(unknown))}")
    for key in ("eui", "type"):
        if key not in entry:
            raise ConfigError(f"{path}: {where} needs '{key}'")
    if entry["type"] not in DEVICE_TYPES:
        raise ConfigError(f"{path}: {where} type = {entry['type']!r} (expected one of {', '.join(sorted(DEVICE_TYPES))})")
    values = dict(entry)
    for key in ("eui", "supplier", "incoming_supplier", "network_operator", "chf", "gpf"):
        if values.get(key):
            values[key] = _eui(path, where, key, values[key])
    return Device(**values)
