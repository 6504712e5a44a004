"""Write the rules-driven catalogue: features/catalogue/*.feature, generated from the rules and committed.

    python tools/generate_catalogue.py           # (re)write the files
    python tools/generate_catalogue.py --check   # exit 1 if the committed files are stale

Sources: rules/srv_catalogue.toml (roles, critical, CommandVariants, device types, future dating),
rules/access_control.toml (the checks, their DUIS codes and confidence), rules/device_status.toml (which
SMI status allows what). For every SRV × eligible role × device type of that role's fuel, the positive
case with its CommandVariant path (CV 1 → I99 + I0; critical CV 4 → CV 5; CV 8 → I0 at once), future
dated where the SRV's pattern allows (Device: 8F66 at the execution time; DSP: the DCC releases the
request then), with one cancellation per SRV; and negative cases from the same rules: ineligible role
(E2), wrong device type (E11), wrong CommandVariant (E12) or service (E13), unknown device (E19), device
in an SMI status that allows nothing (E5), replayed counter, another User's signature, schema violation,
a request addressed to the wrong kind of target (E12), a supplier that is not the device's registered one
(E4); once per section, a body that is not XML, an originator whose certificate verifies but that is no
DCC User, and a critical request whose pre-command comes back unsigned; and order cases: a request breaking two neighbouring checks of rules/access_control.toml that
answer different codes gets the first one's. Every refusal step names its check row, so a wrong code
fails naming the rule (tests/test_suite_negative_access.py plays each row wrong).

Beyond the response code, every positive case that gets a device's response checks its GBCS framing; a
state-changing SRV's positive case reads its effect back with the read SRV of rules/effects.toml (or,
without a row there, checks that the device's own response shows the command carried out); 11.3 is a
pair: activated by the distributed image's hash (code 0, 11.2 reads the version) or by a hash that matches
no distributed image (hashMismatch, 2). tests/test_suite_negative_effects.py plays these wrong.

Which scenarios apply to a party is decided at run time from its declaration (duisconf.plan), so the
files do not depend on any declaration. The rows carry the facts applicability needs: srv, role, device.
"""

from __future__ import annotations

import argparse
import sys
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from duisconf.rules import SRVRule, load_catalogue  # noqa: E402

OUT = ROOT / "features" / "catalogue"
RULES = ROOT / "rules"

ROLE_NAMES = {"IS": "Import Supplier", "ES": "Export Supplier", "GS": "Gas Supplier",
              "ED": "Electricity Distributor", "GT": "Gas Transporter", "RSA": "Registered Supplier Agent",
              "OU": "Other User"}
# The reference organisations (rules/reference_identities.toml): roles that share one EUI are checked
# together by the DCC (E2 only when none of the organisation's roles is eligible).
ORGANISATIONS = (("IS", "GS", "ES"), ("ED", "GT"), ("OU",))
ELECTRICITY_ROLES, GAS_ROLES = {"IS", "ES", "ED"}, {"GS", "GT"}
ELECTRICITY_DEVICES, GAS_DEVICES = {"ESME", "HCALCS"}, {"GSME", "GPF"}
# The device types a wrong-device-type case tries, in order (all in the reference inventory).
WRONG_DEVICE_ORDER = ("CHF", "ESME", "GSME", "GPF", "PPMID", "HCALCS", "IHD")
UNKNOWN_DEVICE = "00-DB-12-34-56-78-99-99"
EMPTY_STATUS = "Pending"  # rules/device_status.toml: allows no device SRV
FUTURE = "2 days"
# Silence after a cancelled request's execution time: the emulator releases held requests while its
# clock jumps and sends at once (latency 0), so a short wait shows nothing was released. On a real kit
# the two-day jump cannot be made and the scenario is inconclusive before it gets here.
QUIET_AFTER_CANCEL = "0.3"

# Known gaps: positive cases the generator leaves out because the reference inventory or the RTDS
# template defaults cannot make them pass as generated. Keyed (srv, role or "*", mode); mode is
# "plain", "future", "cancel" or "*". Keep this short and honest: each entry is a reason, not a verdict.
KNOWN_GAPS: dict[tuple[str, str, str], str] = {
    # The 5.1 template schedules 4.6.1 (Retrieve Import Daily Read Log), which only suppliers may send;
    # a schedule a network operator / other user may create needs parameters the template does not carry.
    ("5.1", "ED", "*"): "template schedules 4.6.1, an SRV only suppliers may send (E2 is right)",
    ("5.1", "GT", "*"): "template schedules 4.6.1, an SRV only suppliers may send (E2 is right)",
    ("5.1", "OU", "*"): "template schedules 4.6.1, an SRV only suppliers may send (E2 is right)",
    # 6.23 is sent by the gaining supplier once it is registered as the incoming supplier: needs a change
    # of supplier in progress (covered by the change-of-supplier design-note feature), E4 otherwise.
    ("6.23", "*", "*"): "needs a change of supplier in progress (incoming supplier registered); E4 otherwise",
    # 8.13 returns the device's response to a CV 2/6 local delivery: meaningless without one outstanding.
    ("8.13", "*", "*"): "needs an outstanding local delivery (CV 2/6) to return a response for",
    # Activating firmware no one distributed is not actioned (8F67): the firmware flow (11.1 then 11.3)
    # is a design-note feature; the catalogue's plain 11.3 case still runs.
    ("11.3", "*", "future"): "no firmware image distributed first, so the device reports 8F67 (not actioned)",
}


# Parameters that fit the reference inventory where the RTDS template default does not: the 8.12.1
# template's OldCHFID (…-90-B2) is no hub the reference inventory holds; …-90-95 is the old hub there.
PARAMETERS: dict[str, tuple[str, str]] = {
    "8.12.1": ("OldCHFID", "00-DB-12-34-56-78-90-95"),
}


# Every positive scenario that gets a device's response checks its GBCS framing (steps/catalogue.py).
FRAMING = "And the response is the GBCS response of its use case"
# A state-changing SRV with no read-back row (rules/effects.toml) checks its own response's content.
CARRIED_OUT = "And the device's response shows the command carried out"
# 11.3 Activate Firmware: an image distributed first (11.1), activated by its hash or by one that matches
# no distributed image (the pair of outlines "firmware-activated" / "firmware-mismatch").
FIRMWARE_VERSION = "2.0.0"


@dataclass(frozen=True)
class EffectRow:
    """One row of rules/effects.toml: how a User sees that a state-changing SRV did what it says."""

    srv: str
    read: str
    reading: str
    expected: str
    parameter: tuple[str, str] | None
    devices: tuple[str, ...]
    conf: str
    source: str


def load_effects(rules_dir: Path = RULES) -> tuple[dict[str, EffectRow], dict]:
    """(srv -> its read-back row, the [content] table) from rules/effects.toml."""
    path = rules_dir / "effects.toml"
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    from duisconf.render import template_parameters

    rows: dict[str, EffectRow] = {}
    for row in data.get("effect", []):
        srv = row["srv"]
        sent = dict(row.get("parameters", {}))
        if len(sent) > 1:
            raise SystemExit(f"{path}: effect {srv}: one parameter at most (the outline sends one)")
        if "value" in row:
            expected = str(row["value"])
        elif "parameter" in row:
            expected = sent.get(row["parameter"], template_parameters(srv).get(row["parameter"], ""))
            if expected == "":
                raise SystemExit(f"{path}: effect {srv}: template {srv} has no default for {row['parameter']}")
        else:
            raise SystemExit(f"{path}: effect {srv}: needs `value` or `parameter`")
        if row.get("conf") not in ("V", "I", "U"):
            raise SystemExit(f"{path}: effect {srv}: conf must be V, I or U")
        rows[srv] = EffectRow(srv, row["read"], row["reading"], str(expected), next(iter(sent.items()), None),
                              tuple(row.get("devices", ())), row["conf"], row["source"])
    return rows, data.get("content", {})


def known_gap(srv: str, role: str, mode: str) -> str | None:
    for key in ((srv, role, mode), (srv, role, "*"), (srv, "*", mode), (srv, "*", "*")):
        if key in KNOWN_GAPS:
            return KNOWN_GAPS[key]
    return None


SECTIONS = {
    "1": "Tariffs and pricing", "2": "Prepayment", "3": "Customer information and display",
    "4": "Reading the meter", "5": "DCC schedules", "6": "Device configuration and security credentials",
    "7": "Supply and auxiliary load control", "8": "Installation, commissioning, joins and inventory",
    "9": "Customer identification", "11": "Firmware", "12": "Communications hub and pre-notification",
    "14": "Network data",
}


# -- reading the rules --------------------------------------------------------------------------

def access_checks(rules_dir: Path = RULES) -> dict[str, dict]:
    data = tomllib.loads((rules_dir / "access_control.toml").read_text(encoding="utf-8"))
    return {check["name"]: check for check in data["check"]}


# That an SRV does NOT go to a device type is read from the absence of a template for it (and, for some
# rows, an inferred device type: see the "# why:" comments in rules/srv_catalogue.toml): inferred.
DEVICE_TYPES_CONF = "I"


def status_conf(rules_dir: Path = RULES) -> str:
    data = tomllib.loads((rules_dir / "device_status.toml").read_text(encoding="utf-8"))
    return data["status"][EMPTY_STATUS]["conf"]


def empty_status_allows_nothing(rules_dir: Path = RULES) -> None:
    data = tomllib.loads((rules_dir / "device_status.toml").read_text(encoding="utf-8"))
    allowed = data["status"][EMPTY_STATUS]["allow"]
    if allowed:
        raise SystemExit(f"rules/device_status.toml: {EMPTY_STATUS} now allows {allowed}; pick another status for E5")


def devices_for(rule: SRVRule, role: str) -> list[str]:
    """The SRV's device types that fit the role's fuel (all of them when none does)."""
    if role in ELECTRICITY_ROLES:
        fit = [d for d in rule.device_types if d not in GAS_DEVICES]
    elif role in GAS_ROLES:
        fit = [d for d in rule.device_types if d not in ELECTRICITY_DEVICES]
    else:
        fit = list(rule.device_types)
    return fit or list(rule.device_types)


def organisation_role(rule: SRVRule, organisation: tuple[str, ...]) -> str | None:
    """The organisation's first role eligible for the SRV (None: it holds none)."""
    return next((r for r in organisation if r in rule.eligible_roles), None)


def cv_tags(rule: SRVRule) -> list[str]:
    return ["@cv-8"] if rule.non_device else ["@cv-4", "@cv-5"] if rule.critical else ["@cv-1"]


# -- the Gherkin model --------------------------------------------------------------------------

@dataclass
class Block:
    """One Examples table: one SRV and one role, tagged so -m selects it."""

    title: str
    tags: list[str]
    rows: list[dict[str, str]]


@dataclass
class Outline:
    key: str
    title: str
    tags: list[str]
    steps: list[str]
    columns: list[str]
    description: str = ""
    blocks: list[Block] = field(default_factory=list)

    def add(self, rule: SRVRule, role: str, rows: list[dict[str, str]], extra_tags: list[str] = ()) -> None:
        tags = [f"@srv-{rule.srv}", f"@role-{role}", *extra_tags]
        self.blocks.append(Block(f"SRV {rule.srv} {rule.name}, {ROLE_NAMES[role]}", tags, rows))


def outlines(checks: dict[str, dict], statuses_conf: str) -> dict[str, Outline]:
    def conf(name: str, *others: str) -> str:
        """The weakest confidence of the facts a case asserts: the check's code, and any rule it leans on."""
        return "@conf-" + max((checks[name]["conf"], *others), key="VIU".index)

    def code(name: str) -> str:
        return checks[name]["code"]

    def unverified(name: str) -> str:
        return f" ({code(name)} is best known, unverified)" if checks[name]["conf"] == "U" else ""

    def with_code(name: str) -> str:
        return unverified(name) or f" with {code(name)}"

    def refused(name: str) -> str:
        """The refusal step names the check row, so a wrong code fails naming the rule it comes from."""
        return f"Then the request is refused by the {name} check with {code(name)}"

    given = "Given a commissioned <device>"
    send = "When the <role> sends SRV <srv> to the <device>"
    order = list(checks)

    def device_given(name: str) -> list[str]:
        """The commissioned-device precondition only for checks the DCC makes once it looks at the device
        (rules/access_control.toml order); the earlier refusals do not depend on the device's state."""
        return [given] if order.index(name) > order.index("device_exists") else []
    items = [
        Outline("plain", "A non-critical request is acknowledged, then the device answers",
                ["@positive", "@cv-1", "@conf-I"],
                [given, send, "Then the acknowledgement is I99", "And a response I0 arrives", FRAMING],
                ["srv", "role", "device"]),
        Outline("plain-params", "A non-critical request with parameters that fit the devices is acknowledged, then the device answers",
                ["@positive", "@cv-1", "@conf-I"],
                [given, send + ' with <parameter> "<value>"', "Then the acknowledgement is I99", "And a response I0 arrives",
                 FRAMING],
                ["srv", "role", "device", "parameter", "value"]),
        Outline("critical", "A critical request takes the transform (CV 4 then CV 5), then the device answers",
                ["@positive", "@cv-4", "@cv-5", "@conf-I"],
                [given, send + " as a critical request", "Then the acknowledgement is I99", "And a response I0 arrives",
                 FRAMING],
                ["srv", "role", "device"]),
        Outline("dcc", "A request to the DCC is answered at once",
                ["@positive", "@cv-8", "@conf-I"],
                ["When the <role> sends SRV <srv> to the DCC", "Then the response is I0"],
                ["srv", "role"]),
        Outline("future-device", "A future-dated critical request is stored by the device and actioned at its time",
                ["@positive", "@future-dated", "@cv-4", "@cv-5", "@conf-I"],
                [given, send + f" as a critical request to execute in {FUTURE}", "Then the acknowledgement is I99",
                 "And a response I0 arrives", FRAMING, "When the execution date-time passes",
                 "Then a future-dated alert 8F66 arrives for that request"],
                ["srv", "role", "device"]),
        Outline("future-dsp", "A future-dated request is held by the DCC and released at its time",
                ["@positive", "@future-dated", "@cv-1", "@conf-I"],
                [given, send + f" to execute in {FUTURE}", "Then the acknowledgement is I99",
                 "When the execution date-time passes", "Then a response I0 arrives", FRAMING],
                ["srv", "role", "device"]),
        Outline("cancel-device", "A future-dated critical request cancelled before its time is never actioned",
                ["@positive", "@future-dated", "@cancellation", "@cv-4", "@cv-5", "@conf-I"],
                [given, send + f" as a critical request to execute in {FUTURE}", "Then the acknowledgement is I99",
                 "And a response I0 arrives", FRAMING, "When the <role> cancels the future-dated SRV <srv> for the <device>",
                 "Then the acknowledgement is I99", "And a response I0 arrives", FRAMING,
                 "When the execution date-time passes", f"Then no further message arrives within {QUIET_AFTER_CANCEL} seconds"],
                ["srv", "role", "device"]),
        Outline("cancel-dsp", "A future-dated request cancelled before its time is never released",
                ["@positive", "@future-dated", "@cancellation", "@cv-1", "@conf-I"],
                [given, send + f" to execute in {FUTURE}", "Then the acknowledgement is I99",
                 "When the <role> cancels the future-dated SRV <srv> for the <device>",
                 "Then the acknowledgement is I99", "And a response I0 arrives", FRAMING,
                 "When the execution date-time passes", f"Then no further message arrives within {QUIET_AFTER_CANCEL} seconds"],
                ["srv", "role", "device"]),
        # -- negative cases, one per access-control check ----------------------------------------
        Outline("role", f"A User none of whose roles is eligible is refused with {code('role')}",
                ["@negative", "@check-role", conf("role")],
                [*device_given("role"), send, refused("role")], ["srv", "role", "device"]),
        Outline("role-dcc", f"A User none of whose roles is eligible is refused by the DCC with {code('role')}",
                ["@negative", "@check-role", "@cv-8", conf("role")],
                ["When the <role> sends SRV <srv> to the DCC", refused("role")],
                ["srv", "role"]),
        Outline("device_type", f"An SRV sent to a type of device it is not for is refused with {code('device_type')}",
                ["@negative", "@check-device_type", conf("device_type", DEVICE_TYPES_CONF)],
                [*device_given("device_type"), send, refused("device_type")], ["srv", "role", "device"]),
        Outline("command_variant", f"An SRV sent as a CommandVariant it does not allow is refused with {code('command_variant')}",
                ["@negative", "@check-command_variant", conf("command_variant")],
                [*device_given("command_variant"), send + " as CommandVariant <cv>", refused("command_variant")],
                ["srv", "role", "device", "cv"]),
        Outline("command_variant-dcc", f"A request to the DCC sent as a device CommandVariant is refused with {code('command_variant')}",
                ["@negative", "@check-command_variant", conf("command_variant")],
                ["When the <role> sends SRV <srv> to the DCC as CommandVariant <cv>",
                 refused("command_variant")], ["srv", "role", "cv"]),
        Outline("url", f"A request posted to the wrong DUIS service is refused with {code('url')}",
                ["@negative", "@check-url", conf("url")],
                [*device_given("url"), send + " to <service>", refused("url")],
                ["srv", "role", "device", "service"]),
        Outline("url-dcc", f"A request to the DCC posted to the wrong DUIS service is refused with {code('url')}",
                ["@negative", "@check-url", conf("url")],
                ["When the <role> sends SRV <srv> to the DCC to <service>", refused("url")],
                ["srv", "role", "service"]),
        Outline("device_exists", f"A request to a device the DCC does not know is refused with {code('device_exists')}",
                ["@negative", "@check-device_exists", conf("device_exists")],
                [f'Given no device "{UNKNOWN_DEVICE}" is in the inventory',
                 f'When the <role> sends SRV <srv> to the device "{UNKNOWN_DEVICE}"',
                 refused("device_exists")], ["srv", "role"]),
        Outline("smi_status", f"A request to a device whose SMI status allows nothing is refused with {code('smi_status')}",
                ["@negative", "@check-smi_status", conf("smi_status", statuses_conf)],
                ['Given the <device> is in SMI status "<status>"', send,
                 refused("smi_status")], ["srv", "role", "device", "status"]),
        Outline("counter", f"A replayed originator counter is refused{unverified('counter')}",
                ["@negative", "@check-counter", conf("counter")],
                [*device_given("counter"), send, "And the <role> sends SRV <srv> to the <device> again with the same counter",
                 refused("counter")], ["srv", "role", "device"]),
        Outline("counter-dcc", f"A replayed originator counter is refused by the DCC{unverified('counter')}",
                ["@negative", "@check-counter", "@cv-8", conf("counter")],
                ["When the <role> sends SRV <srv> to the DCC", "And the <role> sends SRV <srv> to the DCC again with the same counter",
                 refused("counter")], ["srv", "role"]),
        Outline("signature", f"A request signed with another User's key is refused with {code('signature')}",
                ["@negative", "@check-signature", conf("signature")],
                [*device_given("signature"), send + " signed with the key of the <signer>", refused("signature")],
                ["srv", "role", "device", "signer"]),
        Outline("signature-dcc", f"A request to the DCC signed with another User's key is refused with {code('signature')}",
                ["@negative", "@check-signature", "@cv-8", conf("signature")],
                ["When the <role> sends SRV <srv> to the DCC signed with the key of the <signer>",
                 refused("signature")], ["srv", "role", "signer"]),
        Outline("schema", f"A request that breaks the DUIS schema is refused{unverified('schema')}",
                ["@negative", "@check-schema", conf("schema")],
                [*device_given("schema"), send + " with an element the schema does not allow", refused("schema")],
                ["srv", "role", "device"]),
        Outline("schema-dcc", f"A request to the DCC that breaks the DUIS schema is refused{unverified('schema')}",
                ["@negative", "@check-schema", "@cv-8", conf("schema")],
                ["When the <role> sends SRV <srv> to the DCC with an element the schema does not allow",
                 refused("schema")], ["srv", "role"]),
        Outline("target", f"A device SRV addressed to the DCC is refused{with_code('target')}",
                ["@negative", "@check-target", conf("target")],
                ["When the <role> sends SRV <srv> with the DCC's EUI as its target", refused("target")], ["srv", "role"]),
        Outline("target-dcc", f"A request for the DCC addressed to a device is refused{with_code('target')}",
                ["@negative", "@check-target", conf("target")],
                [send, refused("target")], ["srv", "role", "device"]),
        Outline("registration", f"A supplier that is not the device's registered supplier is refused{with_code('registration')}",
                ["@negative", "@check-registration", conf("registration")],
                [given, 'And the <role> is "<user>"', send, refused("registration")], ["srv", "role", "device", "user"]),
        Outline("well_formed", f"A request whose body is not well-formed XML is refused{unverified('well_formed')}",
                ["@negative", "@check-well_formed", conf("well_formed")],
                [*device_given("well_formed"), send + " as bytes that are not well-formed XML", refused("well_formed")],
                ["srv", "role", "device"]),
        Outline("user", f"A request signed by an organisation that is no DCC User is refused with {code('user')}",
                ["@negative", "@check-user", conf("user")],
                [*device_given("user"), "When an organisation that is no DCC User sends SRV <srv> to the <device> "
                                        "in place of the <role>", refused("user")],
                ["srv", "role", "device"]),
        Outline("precommand_signature", "A critical request whose pre-command comes back unsigned is refused"
                                        f"{with_code('precommand_signature')}",
                ["@negative", "@check-precommand_signature", "@cv-4", "@cv-5", conf("precommand_signature")],
                [*device_given("precommand_signature"), send + " as a critical request with the pre-command returned unsigned",
                 refused("precommand_signature")],
                ["srv", "role", "device"]),
    ]
    items += firmware_outlines()
    items += order_outlines(checks, conf, refused, given, send)
    return {o.key: o for o in items}


# -- the order of the checks: a request that fails two neighbouring checks gets the first one's code --
# Only pairs a User can tell apart (different codes) and can break together. Keyed by the pair; the
# steps break both checks at once.
ORDER_CASES: dict[tuple[str, str], tuple[list[str], list[str]]] = {
    ("schema", "signature"): (["<device>"], ["When the <role> sends SRV <srv> to the <device> with an element the schema "
                                             "does not allow, signed with the key of the <signer>"]),
    ("counter", "url"): (["<device>"], ["When the <role> sends SRV <srv> to the <device>",
                                        "And the <role> sends SRV <srv> to the <device> again with the same counter to <service>"]),
    ("url", "command_variant"): (["<device>"], ["When the <role> sends SRV <srv> to the <device> as CommandVariant <cv> to <service>"]),
    ("target", "role"): ([], ["When the <role> sends SRV <srv> with the DCC's EUI as its target"]),
    ("role", "device_exists"): ([], [f'Given no device "{UNKNOWN_DEVICE}" is in the inventory',
                                     f'When the <role> sends SRV <srv> to the device "{UNKNOWN_DEVICE}"']),
    ("device_type", "smi_status"): (["<device>"], ['Given the <device> is in SMI status "<status>"',
                                                   "When the <role> sends SRV <srv> to the <device>"]),
    ("smi_status", "registration"): (["<device>"], ['Given the <device> is in SMI status "<status>"', 'And the <role> is "<user>"',
                                                    "When the <role> sends SRV <srv> to the <device>"]),
}
ORDER_COLUMNS = {("schema", "signature"): ["signer"], ("counter", "url"): ["service"], ("url", "command_variant"): ["cv", "service"],
                 ("device_type", "smi_status"): ["status"], ("smi_status", "registration"): ["status", "user"]}


def positive_outline(o: dict[str, Outline], base: str, kind: str, conf: str = "I",
                     with_parameter: bool = False) -> Outline:
    """The plain / critical positive outline, extended by what shows the SRV did it (built on first use):
    kind "content" (the device's response reports success) or "effect" (read back, rules/effects.toml)."""
    key = f"{base}-{kind}" + ("-params" if with_parameter else "") + ("" if conf == "I" else f"-conf-{conf}")
    if key in o:
        return o[key]
    critical = base == "critical"
    given, send = "Given a commissioned <device>", "When the <role> sends SRV <srv> to the <device>"
    if with_parameter:
        send += ' with <parameter> "<set>"'
    if critical:
        send += " as a critical request"
    tags = ["@positive", *(["@cv-4", "@cv-5"] if critical else ["@cv-1"])]
    lead = ("A critical request takes the transform (CV 4 then CV 5), then the device answers" if critical
            else "A non-critical request is acknowledged, then the device answers")
    steps = [given, send, "Then the acknowledgement is I99", "And a response I0 arrives", FRAMING]
    columns = ["srv", "role", "device", *(["parameter", "set"] if with_parameter else [])]
    if kind == "content":
        title, steps = f"{lead} that it carried the command out", [*steps, CARRIED_OUT]
    else:
        unverified = " (best known, unverified)" if conf == "U" else ""
        sets = " it sets" if with_parameter else ""
        title = f"{lead}, and reading the device back shows the value{sets}{unverified}"
        steps = [*steps, "When the <reader> reads the <device> back with SRV <read>",
                 'Then the device reports <reading> "<expected>"']
        columns += ["reader", "read", "reading", "expected"]
        tags.append("@effect")
    o[key] = Outline(key, title, [*tags, f"@conf-{conf}"], steps, columns)
    return o[key]


def firmware_outlines() -> list[Outline]:
    """11.3 Activate Firmware, as a pair: the image distributed (11.1) and activated by its hash is reported
    as activated and read back with 11.2; a hash that matches no distributed image is answered
    hashMismatch (CS06 activateImageResponseCode 2), not success, and the version stays as it was."""
    given = "Given a commissioned <device>"
    distribute = [f'When the <role> distributes firmware "{FIRMWARE_VERSION}" to the <device>', "Then the response is I0",
                  "And device alert 8F72 arrives from the <device>",
                  "And the <device>'s firmware version read by the <role> is reported"]
    activated = Outline(
        "firmware-activated", "An image distributed and activated by its hash becomes the version the device runs",
        ["@positive", "@effect", "@cv-4", "@cv-5", "@conf-I"],
        [given, *distribute, f'When the <role> activates firmware "{FIRMWARE_VERSION}" on the <device>',
         "Then the acknowledgement is I99", "And a response I0 arrives", FRAMING,
         "And the response reports firmware_activation 0", "And device alert 8F43 arrives from the <device>",
         "When the <role> reads the <device> back with SRV 11.2",
         f'Then the device reports firmware_version "{FIRMWARE_VERSION}"'],
        ["srv", "role", "device"])
    mismatch = Outline(
        "firmware-mismatch", "An activation by a hash that matches no distributed image is not answered as activated",
        ["@negative", "@effect", "@cv-4", "@cv-5", "@conf-I"],
        [given, *distribute,
         f'When the <role> activates firmware "{FIRMWARE_VERSION}" on the <device> with a hash that matches no distributed image',
         "Then the acknowledgement is I99", "And a response I0 arrives", FRAMING,
         "And the response reports firmware_activation 2", "And the device's response reports failure",
         "And the <device>'s firmware version read by the <role> is the same as before"],
        ["srv", "role", "device"])
    return [activated, mismatch]


def order_outlines(checks: dict[str, dict], conf, refused, given: str, send: str) -> list[Outline]:
    order = list(checks)
    items = []
    for first, then in zip(order, order[1:]):
        if (first, then) not in ORDER_CASES:
            continue
        assert checks[first]["code"] != checks[then]["code"], f"{first}/{then} answer the same code: a User cannot see their order"
        devices, steps = ORDER_CASES[(first, then)]
        columns = ["srv", "role", *(["device"] if devices else []), *ORDER_COLUMNS.get((first, then), [])]
        tag = conf(first, checks[then]["conf"], "I")
        said = (f" ({checks[first]['code']} is best known, unverified)" if tag == "@conf-U"
                else f", {checks[first]['code']}")
        items.append(Outline(f"order-{first}", f"A request failing both the {first} and the {then} check is refused with "
                                               f"the {first} check's code{said}",
                             ["@negative", f"@check-{first}", f"@order-{then}", tag],
                             [*steps, refused(first)], columns))
    return items


def another_signer(role: str) -> str:
    """A role of another reference organisation (its key signs, the originator stays `role`)."""
    return "Electricity Distributor" if role in ("IS", "GS", "ES", "OU") else "Import Supplier"


def unregistered_supplier(rules_dir: Path = RULES) -> str:
    """A supplier User of the reference identities that is no device's registered supplier (the gaining
    supplier of a change of supplier, before the change)."""
    data = tomllib.loads((rules_dir / "reference_identities.toml").read_text(encoding="utf-8"))
    return data["suppliers"]["gaining"]


UNREGISTERED_ROLES = ("IS", "GS")  # the roles the unregistered supplier holds in the reference inventory


def reads(rule: SRVRule, content: dict) -> bool:
    """A read (framing only), or a request the device refuses as generated (rules/effects.toml [content])."""
    return rule.name.startswith(tuple(content.get("read_words", ("Read", "Retrieve")))) or \
        rule.srv in content.get("refused_as_sent", {})


def reader_for(role: str, read_rule: SRVRule) -> str | None:
    """Who reads the effect back: the role itself when eligible for the read SRV, else the first role of
    its organisation that is (the same organisation holds both keys on a reference target)."""
    if role in read_rule.eligible_roles:
        return role
    organisation = next((org for org in ORGANISATIONS if role in org), (role,))
    return next((r for r in organisation if r in read_rule.eligible_roles), None)


def add_positive(o: dict[str, Outline], rule: SRVRule, role: str, rows: list[dict[str, str]],
                 effects: dict[str, EffectRow], content: dict, catalogue) -> None:
    """A positive case: framing only for a read; a read-back where rules/effects.toml has a row for the
    SRV, the device type and a reader; else the content of the device's own response."""
    base = "critical" if rule.critical else "plain"
    if reads(rule, content):
        o[base].add(rule, role, rows)
        return
    row = effects.get(rule.srv)
    reader = reader_for(role, catalogue.srv(row.read)) if row else None
    shown = [r for r in rows if reader and r["device"] in row.devices and r["device"] in catalogue.srv(row.read).device_types]
    rest = [r for r in rows if r not in shown]
    if shown:
        conf = max(("I", row.conf), key="VIU".index)
        outline = positive_outline(o, base, "effect", conf, with_parameter=row.parameter is not None)
        extra = {"reader": ROLE_NAMES[reader], "read": row.read, "reading": row.reading, "expected": row.expected}
        if row.parameter is not None:
            extra.update(parameter=row.parameter[0], set=row.parameter[1])
        outline.add(rule, role, [{**r, **extra} for r in shown])
    if rest:
        positive_outline(o, base, "content").add(rule, role, rest)


def build(rules: list[SRVRule], checks: dict[str, dict], statuses_conf: str,
          effects: dict[str, EffectRow] | None = None, content: dict | None = None,
          catalogue=None) -> dict[str, Outline]:
    o = outlines(checks, statuses_conf)
    effects, content = effects or {}, content or {}
    catalogue = catalogue or load_catalogue()
    stranger = unregistered_supplier()
    for rule in rules:
        add_target_and_registration(o, rule, stranger)
        add_order_cases(o, rule, stranger)
        add_request_level_cases(o, rule)
        # -- positive cases: every eligible role, every device type of its fuel
        for role in rule.eligible_roles:
            if rule.non_device:
                if not known_gap(rule.srv, role, "plain"):
                    o["dcc"].add(rule, role, [{"srv": rule.srv, "role": ROLE_NAMES[role]}])
                continue
            devices = devices_for(rule, role)
            rows = [{"srv": rule.srv, "role": ROLE_NAMES[role], "device": d} for d in devices]
            if not known_gap(rule.srv, role, "plain"):
                if rule.srv in PARAMETERS:
                    assert not rule.critical and not rule.future_datable, f"PARAMETERS for {rule.srv}: extend the outlines"
                    parameter, value = PARAMETERS[rule.srv]
                    o["plain-params"].add(rule, role, [{**row, "parameter": parameter, "value": value} for row in rows])
                elif rule.srv == "11.3":
                    for key in ("firmware-activated", "firmware-mismatch"):
                        o[key].add(rule, role, rows)
                else:
                    add_positive(o, rule, role, rows, effects, content, catalogue)
            if rule.future_datable and rule.future_dated in ("Device", "DSP") and not known_gap(rule.srv, role, "future"):
                o["future-device" if rule.future_dated == "Device" else "future-dsp"].add(rule, role, rows)
        # one cancellation per SRV and role (its first device)
        if rule.future_dated in ("Device", "DSP"):
            for role in filter(None, (organisation_role(rule, org) for org in ORGANISATIONS)):
                if not known_gap(rule.srv, role, "cancel"):
                    device = devices_for(rule, role)[0]
                    o["cancel-device" if rule.future_dated == "Device" else "cancel-dsp"].add(
                        rule, role, [{"srv": rule.srv, "role": ROLE_NAMES[role], "device": device}])
        # -- ineligible role: each reference organisation that holds no eligible role
        for organisation in ORGANISATIONS:
            if organisation_role(rule, organisation) is not None:
                continue
            role = organisation[0]
            if rule.non_device:
                o["role-dcc"].add(rule, role, [{"srv": rule.srv, "role": ROLE_NAMES[role]}], cv_tags(rule)[:1])
            else:
                o["role"].add(rule, role, [{"srv": rule.srv, "role": ROLE_NAMES[role], "device": rule.device_types[0]}],
                              cv_tags(rule)[:1])
        # -- the other checks: once per organisation that may send the SRV (its first eligible role)
        for organisation in ORGANISATIONS:
            role = organisation_role(rule, organisation)
            if role is None:
                continue
            name = ROLE_NAMES[role]
            first = cv_tags(rule)[:1]
            if rule.non_device:
                base = {"srv": rule.srv, "role": name}
                o["command_variant-dcc"].add(rule, role, [{**base, "cv": "1"}], ["@cv-1"])
                o["url-dcc"].add(rule, role, [{**base, "service": "serviceS"}], first)
                o["counter-dcc"].add(rule, role, [base], first)
                o["signature-dcc"].add(rule, role, [{**base, "signer": another_signer(role)}], first)
                o["schema-dcc"].add(rule, role, [base], first)
                continue
            device = devices_for(rule, role)[0]
            base = {"srv": rule.srv, "role": name, "device": device}
            wrong = next(d for d in WRONG_DEVICE_ORDER if d not in rule.device_types)
            o["device_type"].add(rule, role, [{**base, "device": wrong}], first)
            o["command_variant"].add(rule, role, [{**base, "cv": "1" if rule.critical else "4"}],
                                     ["@cv-1"] if rule.critical else ["@cv-4"])
            o["url"].add(rule, role, [{**base, "service": "serviceS" if rule.critical else "serviceT"}], first)
            o["device_exists"].add(rule, role, [{"srv": rule.srv, "role": name}], first)
            o["smi_status"].add(rule, role, [{**base, "status": EMPTY_STATUS}], first)
            o["counter"].add(rule, role, [base], first)
            o["signature"].add(rule, role, [{**base, "signer": another_signer(role)}], first)
            o["schema"].add(rule, role, [base], first)
    return o


def add_target_and_registration(o: dict[str, Outline], rule: SRVRule, stranger: str) -> None:
    """Once per SRV, by the first organisation that may send it: addressed to the wrong kind of target;
    sent by a supplier that is not the device's registered one."""
    role = next(filter(None, (organisation_role(rule, org) for org in ORGANISATIONS)), None)
    if role is None:
        return
    first = cv_tags(rule)[:1]
    if rule.non_device:
        o["target-dcc"].add(rule, role, [{"srv": rule.srv, "role": ROLE_NAMES[role], "device": "ESME"}], first)
        return
    o["target"].add(rule, role, [{"srv": rule.srv, "role": ROLE_NAMES[role]}], first)
    supplier = organisation_role(rule, ORGANISATIONS[0])
    if supplier in UNREGISTERED_ROLES and not known_gap(rule.srv, supplier, "registration"):
        row = {"srv": rule.srv, "role": ROLE_NAMES[supplier], "device": devices_for(rule, supplier)[0], "user": stranger}
        o["registration"].add(rule, supplier, [row], first)


def add_request_level_cases(o: dict[str, Outline], rule: SRVRule) -> None:
    """The checks of the request itself that need no SRV in particular (a body that is no XML, an originator
    that is no DCC User, a pre-command returned unsigned): once per section, for its first device SRV that
    fits (the critical one for the pre-command), sent by the first organisation that may send it."""
    role = next(filter(None, (organisation_role(rule, org) for org in ORGANISATIONS)), None)
    if rule.non_device or role is None:
        return
    row = {"srv": rule.srv, "role": ROLE_NAMES[role], "device": devices_for(rule, role)[0]}
    keys = ["well_formed", "user", *(["precommand_signature"] if rule.critical else [])]
    for key in keys:
        if not o[key].blocks:
            o[key].add(rule, role, [row], ["@cv-4"] if key == "precommand_signature" else cv_tags(rule)[:1])


def add_order_cases(o: dict[str, Outline], rule: SRVRule, stranger: str) -> None:
    """Each order case once per section: for the section's first SRV it fits."""
    if rule.non_device:
        return
    first = cv_tags(rule)[:1]
    eligible = next(filter(None, (organisation_role(rule, org) for org in ORGANISATIONS)), None)
    ineligible = [org[0] for org in ORGANISATIONS if organisation_role(rule, org) is None]
    supplier = organisation_role(rule, ORGANISATIONS[0])
    rows: dict[str, list[tuple[str, dict]]] = {}
    if eligible:
        base = {"srv": rule.srv, "role": ROLE_NAMES[eligible], "device": devices_for(rule, eligible)[0]}
        rows["order-schema"] = [(eligible, {**base, "signer": another_signer(eligible)})]
        rows["order-counter"] = [(eligible, {**base, "service": "serviceS" if rule.critical else "serviceT"})]
        rows["order-url"] = [(eligible, {**base, "cv": "1" if rule.critical else "4",
                                         "service": "serviceT" if rule.critical else "serviceS"})]
        wrong = next(d for d in WRONG_DEVICE_ORDER if d not in rule.device_types)
        rows["order-device_type"] = [(eligible, {**base, "device": wrong, "status": EMPTY_STATUS})]
    if ineligible:  # every organisation that may not send it (each party's declaration finds its own)
        rows["order-target"] = [(role, {"srv": rule.srv, "role": ROLE_NAMES[role]}) for role in ineligible]
        rows["order-role"] = [(role, {"srv": rule.srv, "role": ROLE_NAMES[role]}) for role in ineligible]
    if supplier in UNREGISTERED_ROLES and not known_gap(rule.srv, supplier, "registration"):
        rows["order-smi_status"] = [(supplier, {"srv": rule.srv, "role": ROLE_NAMES[supplier],
                                                "device": devices_for(rule, supplier)[0], "status": EMPTY_STATUS,
                                                "user": stranger})]
    for key, cases in rows.items():
        if key in o and not o[key].blocks:
            for role, row in cases:
                o[key].add(rule, role, [row], first)


# -- rendering ----------------------------------------------------------------------------------

HEADER = ("# GENERATED by tools/generate_catalogue.py from rules/srv_catalogue.toml, rules/access_control.toml,\n"
          "# rules/device_status.toml and rules/effects.toml. Do not edit: change the rules or the generator and run\n"
          "#   python tools/generate_catalogue.py\n")


def table(columns: list[str], rows: list[dict[str, str]], indent: str) -> list[str]:
    widths = [max(len(c), *(len(r[c]) for r in rows)) for c in columns]
    lines = [indent + "| " + " | ".join(c.ljust(w) for c, w in zip(columns, widths)) + " |"]
    for row in rows:
        lines.append(indent + "| " + " | ".join(row[c].ljust(w) for c, w in zip(columns, widths)) + " |")
    return lines


def render_feature(section: str, outlines_here: list[Outline]) -> str:
    srvs = sorted({b.tags[0][5:] for o in outlines_here for b in o.blocks}, key=lambda s: [int(p) for p in s.split(".")])
    lines = [HEADER.rstrip("\n"), "@catalogue",
             f"Feature: Catalogue, DUIS section {section}: {SECTIONS.get(section, 'other services')}",
             "  Generated from the SRV rules: each SRV, sent by each role eligible for it to each device type it",
             "  addresses, takes its CommandVariant path and is answered as the rules say; the same rules say how",
             "  each kind of wrong request is refused. Which of these apply to a party is read from its",
             "  declaration at run time (declarations/*.toml); the others are reported as not applicable.",
             f"  SRVs here: {', '.join(srvs)}.", ""]
    for outline in outlines_here:
        lines.append("  " + " ".join(outline.tags))
        lines.append(f"  Scenario Outline: {outline.title}")
        for step in outline.steps:
            lines.append(f"    {step}")
        for block in outline.blocks:
            lines.append("")
            lines.append("    " + " ".join(block.tags))
            lines.append(f"    Examples: {block.title}")
            lines.extend(table(outline.columns, block.rows, "      "))
        lines.append("")
    return "\n".join(lines).rstrip("\n") + "\n"


def section_of(srv: str) -> str:
    return srv.split(".")[0]


def generate(rules_dir: Path = RULES) -> dict[str, str]:
    """File name -> content, for every section that has scenarios (from the rules in `rules_dir`)."""
    empty_status_allows_nothing(rules_dir)
    catalogue = load_catalogue(rules_dir / "srv_catalogue.toml")
    rules = list(catalogue.all())
    effects, content = load_effects(rules_dir)
    checks = access_checks(rules_dir)
    statuses_conf = status_conf(rules_dir)
    files: dict[str, str] = {}
    for section in sorted({section_of(r.srv) for r in rules}, key=int):
        built = build([r for r in rules if section_of(r.srv) == section], checks, statuses_conf, effects, content,
                      catalogue)
        here = [o for o in built.values() if o.blocks]
        if here:
            files[f"section_{int(section):02d}.feature"] = render_feature(section, here)
    return files


def stale(files: dict[str, str], out: Path = OUT, pattern: str = "*.feature") -> list[str]:
    problems = [name for name, text in files.items()
                if not (out / name).is_file() or (out / name).read_text(encoding="utf-8") != text]
    problems += [p.name + " (no longer generated)" for p in out.glob(pattern) if p.name not in files]
    return problems


def write_or_check(files: dict[str, str], out: Path, pattern: str, script: str, argv: list[str] | None,
                   description: str) -> int:
    """The generators' command line: write `files` into `out` (removing generated files no longer made), or
    with --check exit 1 naming each stale one. Shared by this script and tools/generate_user_system.py."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--check", action="store_true", help="exit 1 if the committed files are stale")
    args = parser.parse_args(argv)
    where = out.relative_to(ROOT)
    if args.check:
        problems = stale(files, out, pattern)
        for name in problems:
            print(f"stale: {where}/{name}", file=sys.stderr)
        if problems:
            print(f"run `python tools/{script}`", file=sys.stderr)
        return 1 if problems else 0
    out.mkdir(parents=True, exist_ok=True)
    for old in out.glob(pattern):
        if old.name not in files:
            old.unlink()
    for name, text in files.items():
        (out / name).write_text(text, encoding="utf-8")
    scenarios = sum(text.count("\n      | ") - text.count("\n    Examples:") for text in files.values())
    print(f"wrote {len(files)} feature files, {scenarios} scenarios, to {where}")
    return 0


def main(argv: list[str] | None = None) -> int:
    return write_or_check(generate(), OUT, "*.feature", "generate_catalogue.py", argv, __doc__.split("\n\n")[0])


if __name__ == "__main__":
    sys.exit(main())
