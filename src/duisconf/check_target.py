"""`duisconf check-target NAME`: is a target ready for a run? Nothing state-changing is sent.

Checks, in order, each stopping the ones that depend on it: the target file is valid; the schema and
every configured user's signing key load; the DUIS endpoints answer a harmless non-device read (SRV 8.2
Read Inventory, CV 8: synchronous, DCC-signed, schema-valid); and the target can reach our Receive
Response Service (a harmless device read, SRV 4.1.1 to the first meter, whose asynchronous response
must arrive within the on-demand timeout).
"""

from __future__ import annotations

from dataclasses import dataclass

from .errors import DuisConfError


@dataclass
class Check:
    name: str
    ok: bool
    detail: str

    def line(self) -> str:
        return f"{'ok  ' if self.ok else 'FAIL'}  {self.name}: {self.detail}"


def check_target(name: str) -> list[Check]:
    from .targets import load_target

    checks: list[Check] = []
    try:
        target = load_target(name)
    except DuisConfError as exc:
        return [Check("target file", False, str(exc))]
    checks.append(Check("target file", True, f"{target.source} ({target.kind}"
                                               f"{', ' + target.base_url if target.base_url else ''})"))
    if target.kind == "user-system":  # the party's own system: the driver and its receive address
        from .user_system.readiness import user_system_checks

        return checks + user_system_checks(target)
    from .session import DUISSession

    try:
        session = DUISSession(name)
    except DuisConfError as exc:
        return checks + [Check("schema, keys and receiver", False, str(exc))]
    try:
        checks.append(Check("schema", True, f"DUIS {session.schema.version} ({session.schema.source.name})"))
        checks += _keys(session)
        if not all(c.ok for c in checks):
            return checks
        reachable = _inventory_read(session)
        checks.append(reachable)
        if reachable.ok:
            checks.append(_receive_address(session))
    finally:
        session.close()
    return checks


def _keys(session) -> list[Check]:
    checks = []
    for role, eui in sorted(session.target.users.items()):
        try:
            identity = session.keystore.xml_signing_identity(eui)
            checks.append(Check(f"signing key {role}", True, f"{eui} ({identity.name})"))
        except DuisConfError as exc:
            checks.append(Check(f"signing key {role}", False, str(exc)))
    return checks


def _inventory_read(session) -> Check:
    target = session.target
    device = next(iter(target.devices.values()), None)
    originator = target.users.get("IS") or next(iter(target.users.values()), None)
    if originator is None:
        return Check("DUIS endpoints", False, "the target file names no users: nothing can be sent")
    try:
        exchange = session.client.send("8.2", originator=originator, params={"DeviceID": device} if device else None)
    except DuisConfError as exc:
        return Check("DUIS endpoints", False, str(exc))
    leg = exchange.final
    return Check("DUIS endpoints", exchange.code in ("I0", "I99"),
                 f"SRV 8.2 Read Inventory -> HTTP {leg.status} {exchange.code}, DCC-signed and schema-valid, "
                 f"{leg.seconds * 1000:.0f} ms")


def _receive_address(session) -> Check:
    from .receiver import TargetTimeout

    target = session.target
    meter_kind = next((k for k in ("ESME", "GSME") if k in target.devices), None)
    role = {"ESME": "IS", "GSME": "GS"}.get(meter_kind or "", "IS")
    originator = target.users.get(role)
    if meter_kind is None or originator is None:
        return Check("receive address", False, "cannot test: the target file names no meter with its supplier")
    try:
        exchange = session.client.send("4.1.1", originator=originator, target=target.devices[meter_kind])
        if exchange.code != "I99":
            return Check("receive address", False, f"SRV 4.1.1 to the {meter_kind} was answered {exchange.code}, not I99")
        inbound = session.receiver.response(str(exchange.request_id), target.timeouts.on_demand)
    except TargetTimeout:
        # Something may have arrived but been refused (unsigned, untrusted signer, schema): say so, it is
        # a different fix from an unreachable address.
        refused = [f.what for f in session.receiver.findings]
        if refused:
            return Check("receive address", False, f"a message reached {session.receiver.url} but was refused: "
                                                   f"{refused[-1]}")
        return Check("receive address", False, f"no response reached {session.receiver.url} within "
                                               f"{target.timeouts.on_demand:g} s: is it reachable from the target?")
    except DuisConfError as exc:
        return Check("receive address", False, str(exc))
    return Check("receive address", True, f"the response to SRV 4.1.1 reached {session.receiver.url} ({inbound.code})")
