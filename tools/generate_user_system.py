"""Write the user-system obligations: features/user_system/catalogue_section_*.feature, generated from the
rules and committed (the catalogue's twin for a party's own DCC user system).

    python tools/generate_user_system.py           # (re)write the files
    python tools/generate_user_system.py --check   # exit 1 if the committed files are stale

In user-entry process testing the party's system is the system under test and the embedded emulator is
its DCC and judge (docs/user-system.md). For every SRV × eligible role, to the first device type of that
role's fuel the SRV addresses (rules/srv_catalogue.toml; the device type changes only the EUI addressed,
the catalogue varies it), the party's system is asked to send the SRV and must send it as DUIS says —
schema, signature, RequestID and a rising counter, the CommandVariant and service for the SRV (critical:
CV 4, then the transform's pre-command signed as CV 5), the request asked for — and its Receive Response
Service must take the DCC's response. Where the SRV may be future-dated, once per organisation (its first
eligible role, first device): sent with the ExecutionDateTime asked for, then cancelled (the SRV again
with ExecutionDateTime 3000-12-31T00:00:00Z). The positive cases the catalogue leaves out (its KNOWN_GAPS) are
left out here for the same reasons, and its PARAMETERS are used the same way.

Which scenarios apply to a party is decided at run time from its declaration and its user-system target
(duisconf.user_system.applicability), so the files depend on no declaration. The rows carry srv, role
and device, as the catalogue's do.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "tools"))

from generate_catalogue import (  # noqa: E402  (the catalogue's reading of the rules, shared)
    FUTURE, ORGANISATIONS, PARAMETERS, ROLE_NAMES, SECTIONS, Outline, devices_for, known_gap, organisation_role,
    section_of, table, write_or_check,
)
from generate_catalogue import stale as catalogue_stale  # noqa: E402

from duisconf.rules import SRVRule, load_catalogue  # noqa: E402

OUT = ROOT / "features" / "user_system"
PREFIX = "catalogue_section_"
RULES = ROOT / "rules"

CONNECTED = "Given the user's system is connected to the emulated DCC"
ASKED = "When the <role>'s system is asked to send SRV <srv> to the <device>"
KEPT = "Then the DCC received it as asked, every rule kept"
TAKEN = "And the user's system accepted the DCC's response"


def outlines() -> dict[str, Outline]:
    items = [
        Outline("plain", "The <role>'s system sends SRV <srv> to the <device> on CommandVariant 1 and takes the response",
                ["@cv-1", "@conf-I"], [CONNECTED, ASKED, KEPT, TAKEN], ["srv", "role", "device"]),
        Outline("plain-params", "The <role>'s system sends SRV <srv> with <parameter> \"<value>\" to the <device> and takes the response",
                ["@cv-1", "@conf-I"], [CONNECTED, ASKED + ' with <parameter> "<value>"', KEPT, TAKEN],
                ["srv", "role", "device", "parameter", "value"]),
        Outline("critical", "The <role>'s system sends critical SRV <srv> to the <device> through the transform and takes the response",
                ["@cv-4", "@cv-5", "@conf-I"],
                [CONNECTED, ASKED, "Then it went through the transform and the signed pre-command", TAKEN],
                ["srv", "role", "device"]),
        Outline("dcc", "The <role>'s system sends SRV <srv> to the DCC on CommandVariant 8",
                ["@cv-8", "@conf-I"], [CONNECTED, "When the <role>'s system is asked to send SRV <srv> to the DCC", KEPT],
                ["srv", "role"]),
        # Pattern Device: the DCC passes the request on at once and the device answers (then acts at its time).
        Outline("cancel-device", f"The <role>'s system sends SRV <srv> to the <device> future-dated by {FUTURE}, then cancels it",
                ["@future-dated", "@cancellation", "@conf-I"],
                [CONNECTED, f"{ASKED} to execute in {FUTURE}", KEPT, TAKEN,
                 "When the <role>'s system is asked to cancel the future-dated SRV <srv> for the <device>", KEPT, TAKEN],
                ["srv", "role", "device"]),
        # Pattern DSP: the DCC holds the request until its time; only the cancellation is answered now.
        Outline("cancel-dsp", f"The <role>'s system has the DCC hold SRV <srv> to the <device> for {FUTURE}, then cancels it",
                ["@future-dated", "@cancellation", "@conf-I"],
                [CONNECTED, f"{ASKED} to execute in {FUTURE}", KEPT,
                 "When the <role>'s system is asked to cancel the future-dated SRV <srv> for the <device>", KEPT, TAKEN],
                ["srv", "role", "device"]),
    ]
    return {o.key: o for o in items}


def cv_path(rule: SRVRule) -> list[str]:
    return ["@cv-8"] if rule.non_device else ["@cv-4", "@cv-5"] if rule.critical else ["@cv-1"]


def build(rules: list[SRVRule]) -> dict[str, Outline]:
    o = outlines()
    for rule in rules:
        for role in rule.eligible_roles:
            if known_gap(rule.srv, role, "plain"):
                continue
            if rule.non_device:
                o["dcc"].add(rule, role, [{"srv": rule.srv, "role": ROLE_NAMES[role]}])
                continue
            # one device: the device type changes only the EUI their system addresses (the catalogue varies it)
            rows = [{"srv": rule.srv, "role": ROLE_NAMES[role], "device": devices_for(rule, role)[0]}]
            if rule.srv in PARAMETERS:
                assert not rule.critical and not rule.future_datable, f"PARAMETERS for {rule.srv}: extend the outlines"
                parameter, value = PARAMETERS[rule.srv]
                o["plain-params"].add(rule, role, [{**row, "parameter": parameter, "value": value} for row in rows])
            else:
                o["critical" if rule.critical else "plain"].add(rule, role, rows)
        if rule.future_dated not in ("Device", "DSP"):
            continue
        # future-dated with the ExecutionDateTime asked for, then cancelled: once per organisation
        for role in filter(None, (organisation_role(rule, org) for org in ORGANISATIONS)):
            if not known_gap(rule.srv, role, "future") and not known_gap(rule.srv, role, "cancel"):
                row = {"srv": rule.srv, "role": ROLE_NAMES[role], "device": devices_for(rule, role)[0]}
                o["cancel-device" if rule.future_dated == "Device" else "cancel-dsp"].add(rule, role, [row], cv_path(rule))
    return o


HEADER = ("# GENERATED by tools/generate_user_system.py from rules/srv_catalogue.toml. Do not edit: change the\n"
          "# rules or the generator and run\n"
          "#   python tools/generate_user_system.py\n")


def render_feature(section: str, here: list[Outline]) -> str:
    srvs = sorted({b.tags[0][5:] for o in here for b in o.blocks}, key=lambda s: [int(p) for p in s.split(".")])
    lines = [HEADER.rstrip("\n"), "@user-system @uept @user-system-catalogue",
             f"Feature: The User's system sends the SRVs of DUIS section {section} as DUIS says: "
             f"{SECTIONS.get(section, 'other services')}",
             "  Generated from the SRV rules: the party's system, asked to send each SRV its declaration claims as",
             "  each role it holds, sends it as DUIS says (schema, its signature, RequestID and a rising counter,",
             "  the CommandVariant and service of the SRV, a critical SRV's signed pre-command, the request it was",
             "  asked for), future-dated and cancelled where the SRV allows, and its Receive Response Service takes",
             "  the DCC's response. Which of these apply is read from the declaration and the user-system target",
             "  at run time; the others are reported as not applicable.",
             f"  SRVs here: {', '.join(srvs)}.", ""]
    for outline in here:
        lines.append("  " + " ".join(outline.tags))
        lines.append(f"  Scenario Outline: {outline.title}")
        lines.extend(f"    {step}" for step in outline.steps)
        for block in outline.blocks:
            lines += ["", "    " + " ".join(block.tags), f"    Examples: {block.title}"]
            lines.extend(table(outline.columns, block.rows, "      "))
        lines.append("")
    return "\n".join(lines).rstrip("\n") + "\n"


def generate(rules_dir: Path = RULES) -> dict[str, str]:
    """File name -> content, for every section that has scenarios."""
    rules = list(load_catalogue(rules_dir / "srv_catalogue.toml"))
    files: dict[str, str] = {}
    for section in sorted({section_of(r.srv) for r in rules}, key=int):
        built = build([r for r in rules if section_of(r.srv) == section])
        here = [o for o in built.values() if o.blocks]
        if here:
            files[f"{PREFIX}{int(section):02d}.feature"] = render_feature(section, here)
    return files


def stale(files: dict[str, str]) -> list[str]:
    return catalogue_stale(files, OUT, f"{PREFIX}*.feature")


def main(argv: list[str] | None = None) -> int:
    return write_or_check(generate(), OUT, f"{PREFIX}*.feature", "generate_user_system.py", argv,
                          __doc__.split("\n\n")[0])


if __name__ == "__main__":
    sys.exit(main())
