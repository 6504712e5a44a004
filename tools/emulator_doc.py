"""Writes the generated parts of docs/emulator.md from rules/ (access-control checks, SMI status table).

    .venv/bin/python tools/emulator_doc.py          # rewrite docs/emulator.md in place
    .venv/bin/python tools/emulator_doc.py --check  # exit 1 if it is stale (the tests run this)
"""

from __future__ import annotations

import re
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "emulator.md"
START, END = "<!-- generated: checks -->", "<!-- end generated -->"


def generated() -> str:
    checks = tomllib.loads((ROOT / "rules" / "access_control.toml").read_text())["check"]
    statuses = tomllib.loads((ROOT / "rules" / "device_status.toml").read_text())["status"]
    lines = [START, "", "| # | Check | Refused when | Code | HTTP | Conf |", "|---|---|---|---|---|---|"]
    for n, check in enumerate(checks, 1):
        lines.append(f"| {n} | `{check['name']}` | {check['when']} | {check['code']} | {check.get('http', 200)} | {check['conf']} |")
    lines += ["", "| SMI status | Device SRVs allowed | Conf |", "|---|---|---|"]
    for status, row in statuses.items():
        allowed = "all" if row["allow"] == "*" else (", ".join(row["allow"]) or "none")
        lines.append(f"| {status} | {allowed} | {row['conf']} |")
    lines += ["", END]
    return "\n".join(lines)


def main() -> int:
    text = DOC.read_text()
    fresh = re.sub(re.escape(START) + ".*?" + re.escape(END), lambda _: generated(), text, flags=re.S)
    if "--check" in sys.argv:
        if fresh != text:
            print(f"{DOC} is stale: run .venv/bin/python tools/emulator_doc.py", file=sys.stderr)
            return 1
        return 0
    DOC.write_text(fresh)
    return 0


if __name__ == "__main__":
    sys.exit(main())
