"""What the emulated devices (and the DCC, for pre-commands) say in GBCS: real messages of each use case.

Every device response, device alert and future-dated alert is the GBCS message of its use case, built by
:mod:`duisconf.gbcs.builder` from the content shapes (``rules/gbcs_shapes.toml``):

* the use case: the SRV's use cases for the device type (``rules/srv_catalogue.toml``), the one with a
  shape for the message's CRA kind; the variant (``success`` / ``error`` / ``future_dated`` /
  ``cancellation`` …) from what the device did;
* the header: CRA flag, the command's counter repeated, device and user system titles, the device's clock
  as date-time, the message code of the shape; where the DCC is the device's remote party and acts for
  the user (``rules/emulator_gbcs.toml``), the response goes to the DCC's Access Control Broker with the
  user as supplementary remote party;
* the envelope: general ciphering with the MAC of the device's and the recipient's KA keys, or general
  signing with the device's ECDSA signature, as the shape says; protected parts encrypted;
* the content: the device's state through the reading slots (``[readings]`` of rules/emulator_gbcs.toml
  maps the effects' state names to the slot names).

Pre-commands are the GBCS command the device would execute, built from the request's values.
Keys: the devices' own (``identities``), the organisations' from the ZAZ1 keystore.
"""

from __future__ import annotations

import base64
import functools
import logging
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.serialization import Encoding
from lxml import etree

from .. import paths
from ..duis.model import DCC_EUI, eui_bytes
from ..errors import DuisConfError
from ..toml_file import read_toml
from ..gbcs import builder
from ..gbcs.frame import CRA, GroupingHeader, cosem_datetime
from ..gbcs.keys import KeyChain, KeySource, Zaz1Source, eui_hex
from ..gbcs.message import encode_message
from .faults import misbehaviour
from .identities import DeviceIdentities

log = logging.getLogger("duisconf.emulator")
# Deliberately wrong framing of a device's response (tests of the suite itself): the content is right, the
# grouping header is not what GBCS says a response to that command carries.
RESPONSE_COUNTER_WRONG = misbehaviour(
    "response-counter-wrong", "the device's GBCS response carries another originator counter than the command's")
RESPONSE_MESSAGE_CODE_WRONG = misbehaviour(
    "response-message-code-wrong",
    "the device's GBCS response carries the message code of another use case than the SRV's (content unchanged)")
RULES_FILE = "emulator_gbcs.toml"
ROLE_WORDS = {"IS": "supplier", "ES": "supplier", "GS": "supplier", "ED": "no", "GT": "no"}


@functools.cache
def rules() -> dict[str, Any]:
    path = paths.rules_dir() / RULES_FILE
    return read_toml(path, "emulator's GBCS rules")


# --------------------------------------------------------------------------------------------------
# Device state -> reading slots


def state_values(state: Mapping[str, Any]) -> dict[str, Any]:
    """The reading-slot values of an effect's state (only what a device reports; bookkeeping dropped)."""
    out: dict[str, Any] = {}
    as_octets = set(rules()["text_in_octets"]["readings"])
    for key, slot in rules()["readings"].items():
        value: Any = state
        for part in key.split("."):
            if not isinstance(value, Mapping) or part not in value:
                value = None
                break
            value = value[part]
        if value is None:
            continue
        if slot in as_octets and isinstance(value, str):
            value = value.encode("utf-8").hex()
        out[slot] = value
    for key, form in rules()["forms"].items():
        if key in state and state[key] is not None:
            converted = FORMS[form["convert"]](state[key])
            if converted is not None:
                out[form["slot"]] = converted
    return out


# The emulator keeps some state in its own form; a device reports it in the form of the reading
# (``[forms]`` of rules/emulator_gbcs.toml names the converter).
_SCRIPT_TABLE = "00000a0064ff"  # 0-0:10.0.100.255, the ALCS switching script table (COSEM logical name)


def _switch_outputs(switches: Mapping[str, Any]) -> dict[str, bool]:
    """{n: {mode, until}} -> {n: output on?} (a switch on its schedule reports the output its calendar
    gives; the emulator's calendar does not switch outputs by itself, so off)."""
    return {str(n): isinstance(v, Mapping) and v.get("mode") == "on" for n, v in switches.items()}


def _boost_flags(boost: Any) -> dict[str, bool]:
    """[switch numbers] -> {"1".."5": associated with the boost button?}."""
    chosen = {int(n) for n in boost or []}
    return {str(n): n in chosen for n in range(1, 6)}


def _schedule_entries(entries: Any) -> list[list]:
    """The emulator's ALC schedule entries -> COSEM Schedule (class 10) entries, readings' plain form:
    index, enable, script logical name, script selector (2n-1 activate / 2n deactivate switch n),
    switch time, validity window, weekdays, special days, begin and end date."""
    out = []
    for index, entry in enumerate(entries or [], start=1):
        switch = int(entry.get("switch", 1)) if isinstance(entry, Mapping) else 1
        action = entry.get("action") if isinstance(entry, Mapping) else None
        time = (entry.get("switch_time") if isinstance(entry, Mapping) else None) or "00:00:00"
        selector = 2 * switch - (1 if action != "deactivate" else 0)
        out.append([index, True, _SCRIPT_TABLE, selector, str(time)[:8], 0xFFFF, "1111111", "0000",
                    "*-*-*", "*-*-*"])
    return out


ACTIVATION_CODES = {"success": 0, "noImageHeld": 1, "hashMismatch": 2, "activationFailure": 3}


def _activation_code(activation: Any) -> int | None:
    """CS06 activateImageResponseCode from the firmware effect's outcome name (gbcs.asn ExecutionOutcome):
    0 success; 1 noImageHeld (no image distributed); 2 hashMismatch (an image held, not the command's hash)."""
    if isinstance(activation, bool):  # the former form: activated or not
        return 0 if activation else 1
    return ACTIVATION_CODES.get(activation) if activation is not None else None


FORMS = {"switch_outputs": _switch_outputs, "boost_flags": _boost_flags, "schedule_entries": _schedule_entries,
         "activation_code": _activation_code}


# --------------------------------------------------------------------------------------------------
# Use cases and variants


def shape_key(use_case: str) -> str:
    """The shapes' name of a catalogue use case: the catalogue may add the RTDS folder's criticality suffix
    to the use case (CS03A2Non for the non-critical CS03A2 of a PPMID)."""
    table = builder.shapes().get("use_cases", {})
    if use_case in table:
        return use_case
    for suffix in ("NonCritical", "Critical", "Non"):  # only the criticality suffix, never another use case
        if use_case.endswith(suffix) and use_case[:-len(suffix)] in table:
            return use_case[:-len(suffix)]
    return use_case


def _shapes_of(use_case: str) -> list[dict]:
    entry = builder.shapes().get("use_cases", {}).get(shape_key(use_case))
    return entry["shapes"] if entry else []


@functools.lru_cache(maxsize=4096)
def use_case_for(rule: Any, device_type: str | None, cra: str, roles: frozenset[str] = frozenset()) -> tuple[str, str | None] | None:
    """(use case, catalogue variant) carrying this SRV on this device type that has a ``cra`` shape."""
    candidates = [u for u in rule.use_cases if u.device == device_type] or list(rule.use_cases)
    preferred = rules().get("preferred_use_case", {}).get(rule.srv, {}).get(device_type or "")
    if preferred:  # several use cases carry the SRV on this device: the one a device answers with [I]
        candidates.sort(key=lambda u: u.code != preferred)
    words = {ROLE_WORDS[r] for r in roles if r in ROLE_WORDS}
    with_shape = [u for u in candidates if any(s["cra"] == cra for s in _shapes_of(u.code))]
    if not with_shape:
        return None
    for u in with_shape:  # CS02b SupplierBySupplier vs NOByNO: the variant that starts with the user's role
        if u.variant and any(u.variant.lower().startswith(w) for w in words):
            return shape_key(u.code), u.variant
    first = with_shape[0]
    return shape_key(first.code), first.variant


@functools.lru_cache(maxsize=4096)
def choose_variant(use_case: str, cra: str, *, result: str = "success", timing: str = "immediate",
                   catalogue_variant: str | None = None, alert_code: str | None = None) -> dict:
    """The shape closest to what happened: success or error, immediate / future-dated / cancellation.
    (The shape returned is shared: read it, never change it.)"""
    shapes = [s for s in _shapes_of(use_case) if s["cra"] == cra]
    if catalogue_variant:
        prefix = catalogue_variant.lower()
        own = [s for s in shapes if s["variant"].split("_")[0] == prefix]
        shapes = own or shapes
    if alert_code:
        own = [s for s in shapes if alert_code.lower() in s["variant"].split("_")]
        shapes = own or shapes

    def score(shape: dict) -> tuple:
        words = set(shape["variant"].split("_"))
        return (("error" in words) != (result == "error"),
                ("cancellation" in words) != (timing == "cancellation"),
                ("future" in words) != (timing == "future_dated"),
                "not" in words,  # not_found
                len(words), shape["variant"])

    return min(shapes, key=score)


@functools.lru_cache(maxsize=4096)
def placeholder_types(use_case: str, cra: str, variant: str) -> frozenset[str]:
    """The types of the named and unnamed slots of one shape (does it need a certificate?)."""
    shape = builder.shape_for(use_case, cra, variant)
    return frozenset(p.get("type") for p in _placeholders(shape["tree"]))


def _placeholders(node: Any) -> list[dict]:
    """Every ``$fill`` placeholder of a shape tree (to see which named slots it needs)."""
    if isinstance(node, list):
        return [p for v in node for p in _placeholders(v)]
    if not isinstance(node, dict):
        return []
    own = [node] if builder.FILL in node else []
    return own + [p for v in node.values() for p in _placeholders(v)]


# --------------------------------------------------------------------------------------------------
# Alert codes in built content


def set_alert_header(tree: dict, code: int, when: datetime, counter: int | None = None) -> None:
    """Put the alert code, its time stamp and (future-dated alerts) the command's counter in an alert's
    content: the DLMS data-notification's first two elements, the GBZ alert header, the ASN.1 alert payload's
    alertCode / …DateTime / originatorCounter."""
    iso = when.strftime("%Y-%m-%dT%H:%M:%SZ")
    kind = tree.get("kind")
    if kind == "dlms" and isinstance(tree.get("body"), dict):
        body = tree["body"]["value"]
        body[0] = {"type": "long-unsigned", "value": code}
        if len(body) > 1 and body[1].get("type") == "octet-string" and len(body[1].get("value") or "") == 24:
            body[1] = {"type": "octet-string", "value": cosem_datetime(when).hex()}
    elif kind == "gbz" and isinstance(tree.get("alert"), dict):
        alert = tree["alert"]
        alert["code"] = {"type": "uint16", "value": code}
        alert["time_stamp"] = {"type": "utc-time", "value": iso}
        if counter is not None and isinstance(alert.get("future_dated"), dict):
            alert["future_dated"]["originator_counter"] = {"type": "uint64", "value": counter}
    elif kind == "asn1" and isinstance(tree.get("value"), dict):
        fields = tree["value"].get("value", {})
        if "alertCode" in fields:
            fields["alertCode"] = {"type": "INTEGER", "value": code}
        for name in ("executionDateTime", "backupDateTime"):
            if name in fields:
                fields[name] = {"type": "GeneralizedTime", "value": iso}
        if counter is not None and "originatorCounter" in fields:
            fields["originatorCounter"] = {"type": "INTEGER", "value": counter}


def is_critical(code: int) -> bool:
    low, high = rules()["alerts"]["critical_range"]
    return low <= code <= high


# --------------------------------------------------------------------------------------------------
# The message factory


class CachedKeys(KeySource):
    """A key source whose look-ups are remembered: the emulator MACs every message with the same few keys,
    and a KeyChain look-up (ZAZ1 search, EUI spellings, certificate parsing) costs more than the MAC.
    Only found keys are kept, so a device added later still gets its own."""

    _LIMIT = 4096

    def __init__(self, inner: KeySource) -> None:
        self.inner, self.name = inner, inner.name
        self._cache: dict[tuple, list] = {}

    def _look(self, what: str, eui: str | bytes, usage: str, prepayment: bool | None) -> list:
        key = (what, eui if isinstance(eui, bytes) else eui_hex(eui), usage, prepayment)
        found = self._cache.get(key)
        if found is None:
            found = getattr(self.inner, what)(eui, usage, prepayment=prepayment)
            if found:
                if len(self._cache) >= self._LIMIT:
                    self._cache.clear()
                self._cache[key] = found
        return list(found)

    def certificates(self, eui, usage, *, prepayment=None):  # noqa: ANN001, ANN201
        return self._look("certificates", eui, usage, prepayment)

    def private_keys(self, eui, usage, *, prepayment=None):  # noqa: ANN001, ANN201
        return self._look("private_keys", eui, usage, prepayment)

    def public_keys(self, eui, usage, *, prepayment=None):  # noqa: ANN001, ANN201
        return self._look("public_keys", eui, usage, prepayment)


class DeviceMessages:
    """Builds what the emulated devices send. One per emulator (its identities and inventory)."""

    def __init__(self, identities: DeviceIdentities, inventory: Any) -> None:
        self.inventory, self.identities = inventory, identities

        def is_device(eui_hex_text: str) -> bool:
            return inventory.device(eui_hex_text) is not None

        self.keys: KeySource = CachedKeys(KeyChain(identities.key_source(is_device), Zaz1Source()))

    # -- header helpers ---------------------------------------------------------------------------
    def device_clock(self, eui: str, now: datetime) -> datetime:
        device = self.inventory.device(eui)
        offset = float(device.data.get("clock_offset_s", 0.0)) if device is not None else 0.0
        return (now + timedelta(seconds=offset)).replace(microsecond=0)

    def _encode(self, use_case: str, cra: str, shape: dict, *, originator: str, recipient: str, counter: int,
                values: Mapping[str, Any], when: datetime | None, request: Mapping[str, str] | None = None,
                srp: tuple[str, int] | None = None, alert_code: int | None = None,
                fd_counter: int | None = None, clock_status: int = 0) -> bytes:
        date_time = cosem_datetime(when)[:-1] + bytes([clock_status]) if when is not None else None
        header = GroupingHeader(
            cra=CRA[cra.upper()], originator_counter=counter, originator=eui_bytes(originator),
            recipient=eui_bytes(recipient), date_time=date_time,
            message_code=shape["message_code"],
            supplementary_remote_party_id=eui_bytes(srp[0]) if srp else None,
            supplementary_remote_party_counter=srp[1] if srp else None)
        content = builder.build_content(use_case, cra, values, variant=shape["variant"], request=request,
                                        header=header)
        tree = dict(content)
        if alert_code is not None:
            set_alert_header(tree, alert_code, when, fd_counter)
        envelope = shape.get("envelope", True)
        # A general-signing block without an envelope is signed by the device (critical responses and alerts).
        return encode_message(header, tree, self.keys, sign=not envelope, envelope=envelope, use_case=use_case)

    # -- responses --------------------------------------------------------------------------------
    def response(self, request: Any, state: Mapping[str, Any], now: datetime, *, result: str = "success",
                 timing: str = "immediate") -> bytes | None:
        """The device's GBCS response to a request, or None when no use case of the SRV has a shape (or the
        request's values cannot be put in it: logged, never a crash of the emulator)."""
        try:
            return self._response(request, state, now, result, timing)
        except DuisConfError:
            log.exception("cannot build the GBCS response to %s", request.request_id)
            return None

    def _response(self, request: Any, state: Mapping[str, Any], now: datetime, result: str,
                  timing: str) -> bytes | None:
        device = request.device
        if device is None:
            return None
        found = use_case_for(request.rule, device.type, "response", request.user.roles)
        if found is None:
            log.warning("no GBCS response shape for SRV %s on a %s", request.srv, device.type)
            return None
        use_case, catalogue_variant = found
        shape = choose_variant(use_case, "response", result=result, timing=timing, catalogue_variant=catalogue_variant)
        user, counter = request.request_id.originator, request.request_id.counter
        recipient, srp = user, None
        srp_cases = rules()["supplementary_remote_party"]["use_cases"]
        named = {u.code for u in request.rule.use_cases if u.device == device.type}
        if use_case in srp_cases or any(s.startswith(n) for s in srp_cases for n in named if n != use_case) or \
                request.user.roles & set(rules()["supplementary_remote_party"]["unknown_remote_party_roles"]):
            recipient, srp = DCC_EUI, (user, counter)
        values = state_values(state)
        needs = placeholder_types(use_case, "response", shape["variant"])
        if "Certificate" in needs:  # e.g. CS02c/CS02d: the device's own certificate
            values["certificate"] = self.identities.certificate(device.eui, "ka").public_bytes(Encoding.DER).hex()
        if "CertificationRequest" in needs:  # CS02c: a PKCS#10 request signed with the device's key [I]
            values["certification_request"] = self.certification_request(device.eui)
        # A GSME read the meter answers itself is stamped with the meter's own clock: clock status "different
        # clock base" (0x04), as the RTDS's RELIABLE_GSME reads; the GPF's copy carries 0x00 [V RTDS].
        status = 0x04 if state.get("answered_by") == "GSME" else 0x00
        if self.inventory.misbehaving(RESPONSE_COUNTER_WRONG, device.eui):
            counter += 1
            srp = (srp[0], srp[1] + 1) if srp else None
        if self.inventory.misbehaving(RESPONSE_MESSAGE_CODE_WRONG, device.eui):
            shape = {**shape, "message_code": shape["message_code"] ^ 0x0800}
        return self._encode(use_case, "response", shape, originator=device.eui, recipient=recipient, counter=counter,
                            values=values, when=self.device_clock(device.eui, now), srp=srp, clock_status=status)

    def certification_request(self, eui: str) -> str:
        """DER (hex) of a PKCS#10 request for the device's KA key, empty subject, as a device generates one."""
        key = self.identities.private_key(eui, "ka")
        request = x509.CertificateSigningRequestBuilder().subject_name(x509.Name([])).sign(key, hashes.SHA256())
        return request.public_bytes(Encoding.DER).hex()

    # -- alerts -----------------------------------------------------------------------------------
    def alert_use_case(self, code: str, device_type: str) -> str:
        encoding = rules()["encoding_of_device"].get(device_type, "dlms")
        table = rules()["alerts"]
        own = table["own_use_case"].get(code.upper(), {})
        if encoding in own:
            return own[encoding]
        generic = table["generic_critical"] if is_critical(int(code, 16)) else table["generic_non_critical"]
        return generic[encoding]

    def alert(self, device_eui: str, code: str, recipient: str, counter: int, now: datetime,
              state: Mapping[str, Any] | None = None) -> bytes:
        """An unsolicited device alert: the alert's own use case, or the generic (non-)critical one."""
        device = self.inventory.device(device_eui)
        device_type = device.type if device is not None else "ESME"
        use_case = self.alert_use_case(code, device_type)
        shape = choose_variant(use_case, "alert", alert_code=code)
        when = self.device_clock(device_eui, now)
        return self._encode(use_case, "alert", shape, originator=device_eui, recipient=recipient, counter=counter,
                            values=state_values(state or {}), when=when, alert_code=int(code, 16))

    def future_dated_alert(self, request: Any, code: str, now: datetime) -> bytes:
        """8F66 / 8F67 at the execution time: the command's own future-dated alert shape, else the
        generic execution alert of the device's encoding."""
        device = request.device
        found = use_case_for(request.rule, device.type, "alert", request.user.roles)
        use_case, catalogue_variant = found if found else (None, None)
        if use_case is None or not any(code.lower() in s["variant"].split("_") or "8f66" in s["variant"]
                                       for s in _shapes_of(use_case) if s["cra"] == "alert"):
            encoding = rules()["encoding_of_device"].get(device.type, "dlms")
            use_case, catalogue_variant = rules()["future_dated"]["fallback"][encoding], None
        shape = choose_variant(use_case, "alert", result="error" if code.upper() == "8F67" else "success",
                               timing="future_dated", catalogue_variant=catalogue_variant, alert_code=code)
        when = self.device_clock(device.eui, now)
        return self._encode(use_case, "alert", shape, originator=device.eui, recipient=request.request_id.originator,
                            counter=request.request_id.counter, values={}, when=when, alert_code=int(code, 16),
                            fd_counter=request.request_id.counter)

    # -- pre-commands -----------------------------------------------------------------------------
    def precommand(self, request: Any) -> bytes | None:
        """The GBCS command a critical request becomes (CV 4): built from the request's values, the user as
        originator, general signing with a null signature (as DCC Boxed ≥ 1.4.1 hands it out). None when
        the use case has no command shape or the request's values do not fit it (logged)."""
        try:
            return self._precommand(request)
        except DuisConfError:
            log.exception("cannot build the GBCS pre-command of %s", request.request_id)
            return None

    def _precommand(self, request: Any) -> bytes | None:
        device = request.device
        if device is None:
            return None
        found = use_case_for(request.rule, device.type, "command", request.user.roles)
        if found is None:
            return None
        use_case, catalogue_variant = found
        execution = request.body.find(".//{*}ExecutionDateTime")
        timing = "future_dated" if execution is not None else "immediate"
        if execution is not None and (execution.text or "").startswith("3000-12-31"):
            timing = "cancellation"
        shape = choose_variant(use_case, "command", timing=timing, catalogue_variant=catalogue_variant)
        values = builder.duis_values(etree.tostring(request.root))
        certificates = request_certificates(request.body)
        if not certificates and "Certificate" in placeholder_types(use_case, "command", shape["variant"]):
            # the request names no usable certificate: the command carries the requester's own DS one [I]
            found = self.keys.certificates(eui_bytes(request.request_id.originator), "ds")
            certificates = [c.public_bytes(Encoding.DER).hex() for c in found[:1]]
        named = {"certificate": certificates[0]} if certificates else {}
        pre = builder.build_message(use_case, "command", originator=request.request_id.originator,
                                    recipient=device.eui, counter=request.request_id.counter, variant=shape["variant"],
                                    values=named, request=values, precommand=True)
        return pre + b"\x00"


def request_certificates(body: etree._Element) -> list[str]:
    """DER (hex) of the certificates a request carries (base64 in …Certificate elements), in document order."""
    out = []
    for element in body.iter():
        if isinstance(element.tag, str) and element.tag.endswith("Certificate") and element.text and element.text.strip():
            try:
                der = base64.b64decode(element.text.strip(), validate=True)
            except ValueError:
                continue
            try:
                x509.load_der_x509_certificate(der)
            except ValueError:
                continue  # not a certificate (e.g. a template's placeholder): nothing a device could install
            out.append(der.hex())
    return out


__all__ = ["DeviceMessages", "FORMS", "choose_variant", "is_critical", "rules", "set_alert_header", "state_values",
           "use_case_for"]
