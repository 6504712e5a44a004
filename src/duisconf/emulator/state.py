"""What the embedded DCC knows: its users (DCC Users and their roles) and its Smart Metering Inventory.

One coarse re-entrant lock guards the whole state: every request touches users and devices together
and holds the lock for well under a millisecond, so finer locking would buy nothing but deadlocks.
"""

from __future__ import annotations

import threading
import tomllib
from collections import deque
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Callable

from .. import paths
from ..duis.model import normalise_eui
from ..errors import ConfigError

SUPPLIER_ROLES = frozenset({"IS", "ES", "GS"})
NETWORK_ROLES = frozenset({"ED", "GT"})
HISTORIC_LOG_SIZE = 15  # the CHF historic device log keeps 15 entries, oldest overwritten (GBCS CCS02)


@dataclass
class User:
    """A DCC User: an organisation EUI holding one or more user roles."""

    eui: str
    roles: frozenset[str]
    name: str = ""
    receive_url: str | None = None
    last_counter: int = -1  # highest originator counter accepted from this user


@dataclass
class Device:
    """One Smart Metering Inventory record plus the device state the design-note flows need."""

    eui: str
    type: str
    status: str = "Commissioned"
    manufacturer: str = "duisconf"
    model: str = "EMU-1"
    firmware_version: str = "1.0.0"
    smets_chts_version: str = "SMETS2"
    supplier: str | None = None          # registered supplier (IS for electricity, GS for gas)
    incoming_supplier: str | None = None  # registered from the supply start date (change of supplier)
    network_operator: str | None = None
    chf: str | None = None               # the CHF whose device log holds this device
    gpf: str | None = None               # for a GSME: its gas proxy function
    mpxn: str | None = None
    date_commissioned: date | None = None
    device_log: dict[str, str] = field(default_factory=dict)       # CHF/GPF: device EUI -> device type
    historic_log: deque[str] = field(default_factory=lambda: deque(maxlen=HISTORIC_LOG_SIZE))
    data: dict[str, Any] = field(default_factory=dict)             # domain state (balance, tariff …)

    @property
    def fuel(self) -> str:
        return "gas" if self.type in ("GSME", "GPF") else "electricity"


_parsed_identities: dict = {}


def _reference_identities(path) -> dict:
    """The parsed identities file, read again only when it changes: every scenario's reset rebuilds the
    reference inventory from it (read-only here), and parsing it each time was ~2 % of a suite run."""
    try:
        stat = path.stat()
        key = (str(path), stat.st_mtime_ns, stat.st_size)
        found = _parsed_identities.get(key)
        if found is None:
            with open(path, "rb") as handle:
                found = tomllib.load(handle)
            _parsed_identities.clear()  # one file at a time: a changed file's old content is dropped
            _parsed_identities[key] = found
        return found
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"{path}: {exc}") from None


class Inventory:
    """Users and devices of one emulated DCC."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.users: dict[str, User] = {}
        self.devices: dict[str, Device] = {}
        self.data: dict[str, Any] = {}  # DCC-side facts that belong to no device (e.g. premises without WAN coverage)
        # Wired by the emulator to its fault switchboard: effects ask `inventory.misbehaving("rule", eui)`
        # to play a deliberately wrong model (tests of the suite itself); always False otherwise.
        self.misbehaving: Callable[..., bool] = lambda rule, device=None: False
        # Wired by the emulator: the GBCS key source its devices use (their own KA/DS keys, the organisations'
        # certificates), e.g. for a meter to check a UTRN's authenticator (gbcs.utrn). None outside an emulator.
        self.keys: Any = None

    def add_user(self, user: User) -> User:
        with self.lock:
            user.eui = normalise_eui(user.eui)
            self.users[user.eui] = user
            return user

    def add_device(self, device: Device) -> Device:
        with self.lock:
            device.eui = normalise_eui(device.eui)
            self.devices[device.eui] = device
            if device.chf:
                chf = self.devices.get(normalise_eui(device.chf))
                if chf is not None:
                    chf.device_log[device.eui] = device.type
            return device

    def restore(self, other: Inventory) -> None:
        """Take over `other`'s users, devices and data in place (components keep their reference to us)."""
        with self.lock:
            self.users, self.devices, self.data = other.users, other.devices, other.data

    def user(self, eui: str) -> User | None:
        return self.users.get(normalise_eui(eui))

    def device(self, eui: str) -> Device | None:
        return self.devices.get(normalise_eui(eui))

    @classmethod
    def reference(cls) -> Inventory:
        """The RTDS reference identities, commissioned and joined (rules/reference_identities.toml)."""
        ids = _reference_identities(paths.rules_dir() / "reference_identities.toml")
        inventory = cls()
        roles_by_eui: dict[str, set[str]] = {}
        for role, eui in ids["users"].items():
            roles_by_eui.setdefault(normalise_eui(eui), set()).add(role)
        for eui in ids.get("suppliers", {}).values():
            roles_by_eui.setdefault(normalise_eui(eui), set())
        gaining = normalise_eui(ids["suppliers"]["gaining"])
        roles_by_eui[gaining] |= {"IS", "GS"}
        for eui, roles in roles_by_eui.items():
            inventory.add_user(User(eui, frozenset(roles)))

        supplier, operator = normalise_eui(ids["users"]["IS"]), normalise_eui(ids["users"]["ED"])
        devices = dict(ids["devices"])
        chf = devices["CHF"]
        inventory.add_device(Device(chf, "CHF", supplier=supplier, network_operator=operator, mpxn="1312345678111"))
        mpxn = {"ESME": "1312345678111", "GSME": "1234567890", "GPF": "1234567890"}
        for kind, eui in devices.items():
            if kind == "CHF":
                continue
            inventory.add_device(Device(eui, kind, supplier=supplier, network_operator=operator, chf=chf,
                                        gpf=devices["GPF"] if kind == "GSME" else None, mpxn=mpxn.get(kind),
                                        date_commissioned=date(2026, 1, 1)))
        for eui, kind in ids.get("further_devices", {}).items():
            hub = None if kind == "CHF" else chf  # a further CHF is a hub of its own (e.g. the one being replaced)
            inventory.add_device(Device(eui, kind, supplier=supplier, network_operator=operator, chf=hub,
                                        mpxn=mpxn.get(kind), date_commissioned=date(2026, 1, 1)))
        return inventory
