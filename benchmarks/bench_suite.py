"""Suite benchmark: the whole features tree (the generated catalogue plus the hand-written features)
against the embedded emulator with `-n 2`, wall time including start-up (interpreter, collection, one
emulator + Receive Response Service per worker). Goal from issue 6: ≥ 400 scenarios in ≤ 60 s.

    .venv/bin/python benchmarks/bench_suite.py [--declaration FILE] [--workers 2] [--durations 10]

Scenarios counted: every collected scenario (passed + failed + not applicable); the executed ones
(against the emulator) are reported apart, so not-applicable skips cannot flatter the figure.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
GOAL_SCENARIOS, GOAL_SECONDS = 400, 60.0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--declaration", help="declaration for the catalogue (default: declarations/supplier.toml)")
    parser.add_argument("--workers", default="2", help="pytest-xdist -n (default 2)")
    parser.add_argument("--durations", type=int, default=0, help="also show the N slowest scenarios")
    args = parser.parse_args(argv)

    command = [sys.executable, "-m", "pytest", "features/test_features.py", "-p", "no:cacheprovider", "-o", "addopts=",
               "-q", "-n", args.workers]
    if args.declaration:
        command += ["--declaration", args.declaration]
    if args.durations:
        command += [f"--durations={args.durations}"]
    started = time.monotonic()
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, env=dict(os.environ))
    wall = time.monotonic() - started
    tail = result.stdout.strip().splitlines()
    summary = next((line for line in reversed(tail)
                    if re.search(r"\d+ (passed|failed|skipped|not applicable)", line)), "")
    counts = {word: int(n) for n, word in
              re.findall(r"(\d+) (passed|failed|skipped|not applicable|error|errors|xfailed)", summary)}
    executed = counts.get("passed", 0) + counts.get("failed", 0) + counts.get("error", 0) + counts.get("errors", 0)
    # duisconf.pytest_subsets counts the scenarios the declaration rules out as "not applicable", not skipped.
    counts["skipped"] = counts.get("skipped", 0) + counts.get("not applicable", 0)
    total = executed + counts.get("skipped", 0)
    coverage = [line for line in tail if re.match(r"\s*[A-Z]{2,3}: \d+ SRVs applicable", line)]
    if args.durations:
        start = next((i for i, line in enumerate(tail) if "slowest" in line), None)
        if start is not None:
            print("\n".join(tail[start:start + args.durations + 1]))
    print("\n".join(coverage))
    print(f"pytest: {summary}")
    print(f"scenarios: {total} ({executed} executed against the emulator, {counts.get('skipped', 0)} not applicable)")
    print(f"wall time: {wall:.1f} s with -n {args.workers}, start-up included "
          f"({executed / wall:.1f} executed scenarios/s)")
    ok = total >= GOAL_SCENARIOS and wall <= GOAL_SECONDS and result.returncode == 0
    print(f"goal ≥ {GOAL_SCENARIOS} scenarios in ≤ {GOAL_SECONDS:.0f} s: {'met' if ok else 'NOT met'}"
          + ("" if result.returncode == 0 else f" (pytest exit {result.returncode})"))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
