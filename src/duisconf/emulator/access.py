"""The embedded DCC's access control: the checks of rules/access_control.toml, in DUIS order.

`AccessControl.admit` either returns an admitted `DUISRequest` or raises `Rejection` carrying the
check that failed, its DUIS response code and a reason a tester can act on. The checks are generic;
what each SRV allows comes from the rules catalogue, the SMI status table and the inventory.
"""

from __future__ import annotations

import threading
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from lxml import etree

from .. import gbcs, paths
from ..duis.model import DCC_EUI, SR_NS, RequestID
from ..duis.parse import parse_xml
from ..duis.schema import Schema
from ..errors import ConfigError, InvalidInput, SchemaInvalid, SignatureInvalid
from ..keystore import Keystore
from ..rules import Catalogue, SRVRule
from ..signing import TrustStore, verify
from .faults import misbehaviour
from .state import NETWORK_ROLES, SUPPLIER_ROLES, Device, Inventory, User

_SR = f"{{{SR_NS}}}"
SERVICE_CVS = {"serviceS": frozenset({1, 3, 5, 7}), "serviceT": frozenset({4}), "serviceD": frozenset({2, 6, 8})}
UNSUPPORTED_CVS = frozenset({3, 7})  # DCC Boxed supports neither (duis.md §2.1)


@dataclass(frozen=True)
class Check:
    name: str
    code: str
    when: str
    conf: str
    http: int = 200


def load_checks(path: Path | None = None) -> dict[str, Check]:
    path = path or paths.rules_dir() / "access_control.toml"
    try:
        with open(path, "rb") as handle:
            rows = tomllib.load(handle)["check"]
        return {row["name"]: Check(row["name"], row["code"], row["when"], row["conf"], row.get("http", 200))
                for row in rows}
    except (OSError, KeyError, TypeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"{path}: {exc!r}") from None


def load_statuses(path: Path | None = None) -> dict[str, frozenset[str] | None]:
    """SMI status -> SRVs it allows (None = all)."""
    path = path or paths.rules_dir() / "device_status.toml"
    try:
        with open(path, "rb") as handle:
            table = tomllib.load(handle)["status"]
        return {status: None if row["allow"] == "*" else frozenset(row["allow"]) for status, row in table.items()}
    except (OSError, KeyError, TypeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"{path}: {exc!r}") from None


# -- the suite's own negative checks (tests/test_suite_negative_access.py) ---------------------------
# Every check row can be played wrong three ways, named after the row so a failing scenario names it:
#   access-<check>-wrong-code  the check answers another check's code
#   access-<check>-skipped     the check is not made (the request goes on to the next check)
#   access-<check>-order       the check and its neighbour in the table are made the other way round
MISBEHAVIOUR_KINDS = ("wrong-code", "skipped", "order")


def check_misbehaviour(check: str, kind: str) -> str:
    """The registered name of a misbehaviour of one access-control check."""
    return f"access-{check}-{kind}"


def wrong_code(checks: dict[str, Check], name: str) -> str:
    """The code a wrong-code misbehaviour answers: the next check's (in table order, wrapping) that differs."""
    order = list(checks)
    start = order.index(name)
    for other in order[start + 1:] + order[:start]:
        if checks[other].code != checks[name].code:
            return checks[other].code
    raise ConfigError(f"rules/access_control.toml: every check answers {checks[name].code}; no wrong code to play")


def swapped_pair(order: list[str], name: str) -> tuple[str, str]:
    """The adjacent checks an order misbehaviour of `name` swaps: it and the next (the last row: the previous)."""
    at = order.index(name)
    return (name, order[at + 1]) if at + 1 < len(order) else (order[at - 1], name)


def register_misbehaviours(checks: dict[str, Check]) -> list[str]:
    """Register the three misbehaviours of every check row; returns their names."""
    order = list(checks)
    names = []
    for name, check in checks.items():
        first, then = swapped_pair(order, name)
        names += [misbehaviour(check_misbehaviour(name, "wrong-code"),
                               f"the {name} check answers {wrong_code(checks, name)}, not {check.code}"),
                  misbehaviour(check_misbehaviour(name, "skipped"), f"the {name} check is not made"),
                  misbehaviour(check_misbehaviour(name, "order"), f"the {first} check is made after the {then} check")]
    return names


class Rejection(Exception):
    """A request refused by one of the checks: answered with `check.code`."""

    def __init__(self, check: Check, reason: str, *, request_id: RequestID | None = None, srv: str | None = None):
        super().__init__(f"{check.code} ({check.name}): {reason}")
        self.check, self.reason, self.request_id, self.srv = check, reason, request_id, srv


@dataclass
class Transform:
    """An outstanding CV 4 transform: the pre-command handed out, awaiting its signed CV 5/6 follow-up."""

    request_id: RequestID
    srv: str
    body: etree._Element
    precommand: bytes


@dataclass
class DUISRequest:
    """An admitted request, with everything the behaviours need."""

    service: str
    root: etree._Element
    request_id: RequestID
    cv: int
    srv: str
    rule: SRVRule
    user: User
    device: Device | None
    body: etree._Element  # the single child of sr:Body
    transform: Transform | None = None  # set for CV 5/6
    signed_precommand: bytes | None = None
    execution_datetime: str | None = field(default=None)


class AccessControl:
    def __init__(self, inventory: Inventory, catalogue: Catalogue, schema: Schema, request_trust: TrustStore,
                 keystore: Keystore, checks: dict[str, Check] | None = None,
                 statuses: dict[str, frozenset[str] | None] | None = None):
        self.inventory, self.catalogue, self.schema = inventory, catalogue, schema
        self.trust, self.keystore = request_trust, keystore
        self.checks = checks or load_checks()
        self.statuses = statuses or load_statuses()
        self.transforms: dict[RequestID, Transform] = {}
        self._transforms_lock = threading.Lock()
        self._deferred = threading.local()  # a rejection an order misbehaviour holds back (per request thread)
        register_misbehaviours(self.checks)

    def reject(self, name: str, reason: str, **context) -> Rejection:
        check = self.checks[name]
        if self._misbehaving(name, "wrong-code"):
            check = Check(check.name, wrong_code(self.checks, name), check.when, check.conf, check.http)
        return Rejection(check, reason, **context)

    def refuse(self, name: str, reason: str, **context) -> None:
        """Check `name` failed: raise its rejection. Only the suite's negative tests change that: a skipped
        check lets the request go on; a check made after its neighbour is held back until that one is made."""
        rejection = self.reject(name, reason, **context)
        if self._misbehaving(name, "skipped"):
            return
        held = getattr(self._deferred, "rejection", None)
        if held is not None:
            self._deferred.rejection = None
            order = list(self.checks)
            raise rejection if order.index(name) == order.index(held.check.name) + 1 else held
        order = list(self.checks)
        if order.index(name) + 1 < len(order) and any(
                self._misbehaving(other, "order") and swapped_pair(order, other) == (name, order[order.index(name) + 1])
                for other in (name, order[order.index(name) + 1])):
            self._deferred.rejection = rejection
            return
        raise rejection

    def settle(self) -> None:
        """Raise a rejection an order misbehaviour held back (its neighbour did not fail)."""
        held = getattr(self._deferred, "rejection", None)
        self._deferred.rejection = None
        if held is not None:
            raise held

    def _misbehaving(self, check: str, kind: str) -> bool:
        return self.inventory.misbehaving(check_misbehaviour(check, kind))

    def admit(self, service: str, raw: bytes) -> DUISRequest:
        """The checks in table order; the first that fails answers (see `refuse`)."""
        self._deferred.rejection = None
        try:
            request = self._admit(service, raw)
        except Rejection:
            self._deferred.rejection = None
            raise
        self.settle()
        return request

    # -- the pipeline ---------------------------------------------------------------------------
    def _admit(self, service: str, raw: bytes) -> DUISRequest:
        try:
            tree = parse_xml(raw, source="request")
        except InvalidInput as exc:
            self.refuse("well_formed", str(exc))
            self.refuse("schema", f"not a document: {exc}")  # nothing further can be checked without one
            self.settle()
            raise self.reject("well_formed", str(exc)) from None
        root = tree.getroot()
        try:
            self.schema.validate(tree, source="request")
        except SchemaInvalid as exc:
            self.refuse("schema", str(exc), srv=self._readable_srv(root))
        if etree.QName(root).localname != "Request":
            raise self.reject("schema", f"expected sr:Request, got {etree.QName(root).localname}")
        header = root.find(_SR + "Header")
        request_id = RequestID.parse(header.findtext(_SR + "RequestID"))
        cv = int(header.findtext(_SR + "CommandVariant"))
        srv = header.findtext(_SR + "ServiceReferenceVariant")
        context = {"request_id": request_id, "srv": srv}

        try:
            # The bytes as received, as DCC's tool checks them (the parse above drops PIs, which are signed).
            verified = verify(raw, self.trust, source="request", allow_unsigned_errors=False, schema=self.schema)
        except SignatureInvalid as exc:
            raise self.reject("signature", str(exc), **context) from None
        if verified.signer.eui != request_id.originator:
            self.refuse("signature", f"signed by {verified.signer.name} of {verified.signer.eui or 'no EUI'}, "
                                     f"not by the originator {request_id.originator}", **context)
        with self.inventory.lock:
            user = self.inventory.user(request_id.originator)
            if user is None:
                self.refuse("user", f"{request_id.originator} is not a DCC User here", **context)
                user = User(request_id.originator, frozenset())  # only when the user check is played wrong
            transform = self._transform_for(request_id) if cv in (5, 6, 7) else None
            if transform is None:
                if request_id.counter <= user.last_counter:
                    self.refuse("counter", f"counter {request_id.counter} is not above {user.last_counter}, "
                                           f"the last one seen from {user.eui}", **context)
                user.last_counter = request_id.counter

        if cv not in SERVICE_CVS[service]:
            self.refuse("url", f"CommandVariant {cv} cannot be sent to {service} "
                               f"(it takes {', '.join(map(str, sorted(SERVICE_CVS[service])))})", **context)
        rule = self.catalogue.srv(srv)
        if cv not in rule.command_variants or cv in UNSUPPORTED_CVS:
            allowed = sorted(set(rule.command_variants) - UNSUPPORTED_CVS)
            self.refuse("command_variant", f"SRV {srv} cannot be sent as CommandVariant {cv} "
                                           f"(allowed here: {', '.join(map(str, allowed))})", **context)
        if rule.non_device != (request_id.target == DCC_EUI):
            expected = f"the DCC ({DCC_EUI})" if rule.non_device else "a device"
            self.refuse("target", f"SRV {srv} must be addressed to {expected}, not {request_id.target}", **context)
        if not user.roles & set(rule.eligible_roles):
            self.refuse("role", f"{user.eui} holds {', '.join(sorted(user.roles)) or 'no role'}; SRV {srv} is for "
                                f"{', '.join(rule.eligible_roles) or 'no User role'}", **context)

        body = root.find(_SR + "Body")[0]
        device = None
        if not rule.non_device:
            device = self._device_checks(rule, request_id, user, cv, context)
        request = DUISRequest(service, root, request_id, cv, srv, rule, user, device, body,
                              execution_datetime=body.findtext(_SR + "ExecutionDateTime"))
        if cv in (5, 6):
            if transform is None:
                raise self.reject("precommand_signature", f"no outstanding transform (CV 4) for {request_id}", **context)
            request.transform, request.signed_precommand = transform, self._check_precommand(transform, body, user, context)
            request.body = transform.body
            request.execution_datetime = body.findtext(_SR + "ExecutionDateTime") or transform.body.findtext(_SR + "ExecutionDateTime")
        return request

    def _readable_srv(self, root: etree._Element) -> str | None:
        """The SRV a schema-invalid request names, when it is one (so the error reply can say it)."""
        srv = (root.findtext(f"{_SR}Header/{_SR}ServiceReferenceVariant") or "").strip()
        return srv if srv in self.catalogue else None

    def _device_checks(self, rule: SRVRule, request_id: RequestID, user: User, cv: int, context: dict) -> Device:
        with self.inventory.lock:
            device = self.inventory.device(request_id.target)
            if device is None:
                self.refuse("device_exists", f"no device {request_id.target} in the inventory", **context)
                # only when the device_exists check is played wrong: an unknown device is of no type
                self.refuse("device_type", f"SRV {rule.srv} cannot be sent to {request_id.target}, of no known type", **context)
                self.settle()
                raise self.reject("device_exists", f"no device {request_id.target} in the inventory", **context)
            if device.type not in rule.device_types:
                self.refuse("device_type", f"SRV {rule.srv} cannot be sent to a {device.type} "
                                           f"(it is for {', '.join(rule.device_types)})", **context)
            allowed = self.statuses.get(device.status, frozenset())
            if cv not in (5, 6) and allowed is not None and rule.srv not in allowed:
                self.refuse("smi_status", f"{device.type} {device.eui} is {device.status}; "
                                          f"SRV {rule.srv} is not allowed in that SMI status", **context)
            acting = user.roles & set(rule.eligible_roles)
            if not self._registered(device, user, acting, rule.srv):
                self.refuse("registration", f"{user.eui} is not the registered "
                                            f"{self._registration_word(acting)} of {device.type} {device.eui}", **context)
            return device

    def _registered(self, device: Device, user: User, acting: set[str], srv: str) -> bool:
        if acting - SUPPLIER_ROLES - NETWORK_ROLES:
            return True  # OU / RSA act without a registration relationship
        if acting & SUPPLIER_ROLES:
            # 6.23 is sent by the gaining supplier, registered from the supply start date.
            supplier = device.incoming_supplier if srv == "6.23" else device.supplier
            if supplier == user.eui:
                return True
            # misbehaviour registered in effects/supplier.py (the suite's negative tests only)
            if (device.data.get("losing_supplier") == user.eui
                    and self.inventory.misbehaving("losing-supplier-still-accepted", device.eui)):
                return True
        return bool(acting & NETWORK_ROLES) and device.network_operator == user.eui

    @staticmethod
    def _registration_word(acting: set[str]) -> str:
        return "supplier" if acting & SUPPLIER_ROLES else "network operator"

    # -- transforms (critical commands) -----------------------------------------------------------
    def record_transform(self, request: DUISRequest, precommand: bytes) -> None:
        with self._transforms_lock:
            self.transforms[request.request_id] = Transform(request.request_id, request.srv, request.body, precommand)

    def _transform_for(self, request_id: RequestID) -> Transform | None:
        with self._transforms_lock:
            return self.transforms.get(request_id)

    def _check_precommand(self, transform: Transform, body: etree._Element, user: User, context: dict) -> bytes:
        signed, reason = self._precommand_fault(transform, body, user)
        if reason is not None:
            self.refuse("precommand_signature", reason, **context)
            signed = signed or transform.precommand  # only when the check is played wrong (skipped)
        with self._transforms_lock:
            self.transforms.pop(transform.request_id, None)
        return signed

    def _precommand_fault(self, transform: Transform, body: etree._Element, user: User) -> tuple[bytes | None, str | None]:
        """(the signed pre-command as received, what is wrong with it or None)."""
        import base64

        if etree.QName(body).localname != "SignedPreCommand":
            return None, "a CV 5/6 request must carry SignedPreCommand"
        try:
            signed = base64.b64decode(body.findtext(_SR + "GBCSPayload") or "", validate=True)
            frame = gbcs.GeneralSigning.decode(signed)
        except (ValueError, InvalidInput) as exc:
            return None, f"GBCSPayload is not a GBCS signed pre-command: {exc}"
        if frame.signature is None:
            return signed, "the pre-command is unsigned (null signature)"
        original = gbcs.GeneralSigning.decode(transform.precommand)
        if frame.header != original.header or frame.content != original.content:
            return signed, "the signed pre-command differs from the one the transform returned"
        try:
            key = self.keystore.gbcs_signing_identity(user.eui).certificate.public_key()
        except Exception as exc:  # no GBCS certificate known for this user
            return signed, str(exc)
        if not gbcs.verify_precommand_signature(signed, key):
            return signed, f"the pre-command signature is not by {user.eui}'s GBCS signing key"
        return signed, None
