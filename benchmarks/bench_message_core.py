"""Message-core benchmark: medians for render, sign, verify and validate of an SRV 4.1.1 request.

Compares each median with the floors measured for DESIGN.md (sign ≈ 0.4 ms, verify ≈ 0.65 ms,
validate ≈ 13 µs) and with the issue's targets (render+sign+validate ≤ 1 ms, verify+validate ≤ 1 ms).
A script, not a timed test: timings on a shared machine vary, and a test must not flake.

    ./dev bench [--repeat N] [--json]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections.abc import Callable

from duisconf.duis.parse import parse_xml
from duisconf.duis.schema import load_schema
from duisconf.keystore import zaz1
from duisconf.render import render_request
from duisconf.signing import request_trust, sign, verify

FLOORS_MS = {"sign": 0.4, "verify": 0.65, "validate": 0.013}
TARGETS_MS = {"render+sign+validate": 1.0, "verify+validate": 1.0}


def measure(action: Callable[[], object], repeat: int) -> list[float]:
    for _ in range(min(50, repeat)):  # warm caches (templates, keys, schema)
        action()
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        action()
        samples.append((time.perf_counter() - started) * 1000)
    return samples


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=2000)
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args()

    keystore, schema = zaz1(), load_schema()
    trust = request_trust(keystore)
    originator, target = "90-B3-D5-1F-30-01-00-00", "00-DB-12-34-56-78-90-A0"

    def render() -> bytes:
        return render_request("4.1.1", originator=originator, target=target, counter=1000)

    rendered = render()
    tree = parse_xml(rendered)
    signed = sign(tree, keystore)
    signed_tree = parse_xml(signed)

    def render_sign_validate() -> None:
        document = parse_xml(sign(parse_xml(render()), keystore))
        schema.validate(document)

    def verify_validate() -> None:
        verified = verify(signed, trust)
        schema.validate(verified.root)

    cases = {
        "render": render,
        "sign": lambda: sign(parse_xml(rendered), keystore),
        "verify": lambda: verify(signed, trust),
        "validate": lambda: schema.validate(signed_tree),
        "render+sign+validate": render_sign_validate,
        "verify+validate": verify_validate,
    }
    results = {}
    for name, action in cases.items():
        samples = measure(action, args.repeat)
        results[name] = {"median_ms": statistics.median(samples), "p90_ms": statistics.quantiles(samples, n=10)[-1]}

    if args.json:
        json.dump(results, sys.stdout, indent=2)
        print()
        return 0
    print(f"SRV 4.1.1, {args.repeat} runs each, one core, DUIS {schema.version} schema")
    print(f"{'operation':<22}{'median':>10}{'p90':>10}   against")
    failed = False
    for name, figures in results.items():
        median = figures["median_ms"]
        note = ""
        if name in FLOORS_MS:
            note = f"floor {FLOORS_MS[name]:.3f} ms (×{median / FLOORS_MS[name]:.2f})"
        if name in TARGETS_MS:
            ok = median <= TARGETS_MS[name]
            failed |= not ok
            note = f"target ≤ {TARGETS_MS[name]:.1f} ms: {'met' if ok else 'MISSED'}"
        print(f"{name:<22}{median:>8.3f}ms{figures['p90_ms']:>8.3f}ms   {note}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
